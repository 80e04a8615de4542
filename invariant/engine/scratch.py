"""Stack vectors and borrowed generators: what keeps a chain's step out of memory.

A chain's state and its per-step work vectors live in ``alloca``'d memory of a
compile-time length ``D`` (:func:`stack_ptr` wrapped by ``numba.carray``).  Once the game's
kernels are inlined into the chain loop and the loops over ``range(D)`` unrolled, LLVM
promotes such memory to registers, as a loop written by hand with one scalar per
coordinate would have it; heap arrays (``np.empty``) stay in memory, one load and one store
per coordinate and step.  In a 2-D Euler–Maruyama loop without statistics (measured on this
project's machine, single thread) heap vectors ran at 0.55× a hand-written register loop,
heap vectors of compile-time length at 0.72×, stack vectors at ≈ 1×.
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

STACK_D_MAX = 8
"""Largest state dimension whose kernels are specialised with stack vectors; larger
states use heap vectors (their loops are long enough that registers would not hold them)."""


@intrinsic
def stack_ptr(typingctx, size):
    """Pointer to ``size`` float64s in the calling function's stack frame (``size`` literal).

    The memory is allocated once in the function's entry block, so calling this inside a
    loop reuses the same slots; it lives as long as the function and must not escape it.
    """
    if not isinstance(size, types.IntegerLiteral):
        return None
    n = size.literal_value

    def codegen(context, builder, sig, args):
        return cgutils.alloca_once(builder, context.get_value_type(types.float64), size=n)

    return types.CPointer(types.float64)(size), codegen


@intrinsic
def borrowed(typingctx, rng):
    """The generator ``rng`` without its reference count (a borrowed reference).

    Handing a ``numpy.random.Generator`` to an inlined function makes numba count a
    reference to it on every call: an atomic increment per step, which costs as much as the
    rest of a 2-D Euler–Maruyama step.  The copy returned draws from the same bit generator
    (the same stream and state) but has a null meminfo, so its reference counting is a
    no-op; the caller must keep ``rng`` itself alive (the run's list of generators does).
    """
    if not isinstance(rng, types.NumPyRandomGeneratorType):
        return None

    def codegen(context, builder, sig, args):
        gen = cgutils.create_struct_proxy(sig.args[0])(context, builder, value=args[0])
        gen.meminfo = ir.Constant(gen.meminfo.type, None)
        gen.parent = ir.Constant(gen.parent.type, None)
        return gen._getvalue()

    return rng(rng), codegen
