"""PCG64 streams drawn inside the chain loops: numpy's ``Generator(PCG64)``, inlined.

Numba's ``numpy.random.Generator`` draws through the bit generator's function pointer, an
opaque call per draw.  All vector registers are caller-saved, so around every such call the
chain loop spills and reloads each floating-point value it keeps live (state, constants,
accumulators); in a 2-D Euler–Maruyama step that traffic costs as much as the engine's own
work.  Here a stream's six words live in the chain loop's stack frame (:func:`slot`), the
128-bit LCG step, the ziggurat and Lemire's bounded integers are plain numba code inlined
into the loop, and LLVM keeps the words in registers: the loop makes no call per draw.

The draws are bit-identical to numpy's for the same state (tested):
``rng.standard_normal()``, ``rng.random()`` and ``rng.integers(lo, hi)`` — the three draws
a game kernel may make (:mod:`invariant.games.base`) — equal
``numpy.random.Generator(PCG64)``'s, including the buffered 32-bit half-words PCG64 keeps for
small integer ranges.  A stream is stored as six ``uint64`` words (:data:`WORDS`): the
128-bit state and increment (high, low) and the half-word buffer (``has_uint32``,
``uinteger``).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.typing import signature
from numba.extending import intrinsic, models, overload_method, register_model
from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r

WORDS = 6  # state (high, low), increment (high, low), has_uint32, uinteger
_MASK64 = (1 << 64) - 1


class Stream(types.Type):
    """A PCG64 stream whose words live in the calling function's stack frame."""

    def __init__(self):
        super().__init__(name="PCG64Stream")


stream = Stream()


@register_model(Stream)
class _StreamModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.PointerType(ir.IntType(64)))


@intrinsic
def slot(typingctx):
    """Room for one stream in the calling function's stack frame (allocated once, in its
    entry block, however often the call runs; it must not outlive the function)."""

    def codegen(context, builder, sig, args):
        return cgutils.alloca_once(builder, ir.IntType(64), size=WORDS)

    return signature(stream), codegen


@intrinsic
def _word(typingctx, s, k):
    if not isinstance(s, Stream) or not isinstance(k, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        ptr, i = args
        return builder.load(builder.gep(ptr, [i]))

    return types.uint64(s, k), codegen


@intrinsic
def _set(typingctx, s, k, v):
    if not isinstance(s, Stream) or not isinstance(k, types.Integer) or not isinstance(v, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        ptr, i, val = args
        builder.store(context.cast(builder, val, sig.args[2], types.uint64), builder.gep(ptr, [i]))
        return context.get_dummy_value()

    return types.none(s, k, v), codegen


@intrinsic
def _mulhi(typingctx, a, b):
    # high 64 bits of the 128-bit product of two uint64s
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, sig, args):
        i128 = ir.IntType(128)
        p = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        return builder.trunc(builder.lshr(p, ir.Constant(i128, 64)), ir.IntType(64))

    return sig, codegen


@njit(cache=True, inline="always")
def load(s, streams, c):
    """Copy stream ``streams[c]`` into ``s``."""
    for k in range(WORDS):
        _set(s, k, streams[c, k])


@njit(cache=True, inline="always")
def store(s, streams, c):
    """Copy ``s`` back into ``streams[c]``."""
    for k in range(WORDS):
        streams[c, k] = _word(s, k)


@njit(cache=True, inline="always")
def copy(dst, src):
    """Set stream ``dst`` to the state of ``src``."""
    for k in range(WORDS):
        _set(dst, k, _word(src, k))


_MUL_HI = np.uint64(2549297995355413924)  # PCG's default 128-bit multiplier
_MUL_LO = np.uint64(4865540595714422341)
_U0 = np.uint64(0)
_U1 = np.uint64(1)


@njit(cache=True, inline="always")
def next_uint64(s):
    """Advance the 128-bit LCG, then its XSL-RR output (numpy's ``pcg64_next64``)."""
    sh = _word(s, 0)
    sl = _word(s, 1)
    lo = sl * _MUL_LO
    hi = _mulhi(sl, _MUL_LO) + sl * _MUL_HI + sh * _MUL_LO
    nl = lo + _word(s, 3)
    nh = hi + _word(s, 2) + np.uint64(nl < lo)  # the carry (branch-free)
    _set(s, 0, nh)
    _set(s, 1, nl)
    x = nh ^ nl
    rot = nh >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@njit(cache=True, inline="always")
def next_uint32(s):
    # PCG64 hands out both halves of a 64-bit draw, the high one kept for the next call
    if _word(s, 4) != _U0:
        _set(s, 4, _U0)
        return _word(s, 5)
    r = next_uint64(s)
    _set(s, 4, _U1)
    _set(s, 5, r >> np.uint64(32))
    return r & np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def next_double(s):
    return np.float64(next_uint64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _ziggurat_point(r):
    # a draw's layer idx, magnitude rabs and candidate x (numpy's random_standard_normal)
    idx = r & np.uint64(0xFF)
    r >>= np.uint64(8)
    rabs = (r >> _U1) & np.uint64(0x000FFFFFFFFFFFFF)
    # the sign bit as a factor ±1 (exact, and no branch)
    x = np.float64(rabs) * wi_double[idx] * (1.0 - 2.0 * np.float64(r & _U1))
    return idx, rabs, x


@njit(cache=True)
def _normal_tail(sh, sl, ih, il, idx, rabs, x):
    # the ziggurat after its first test failed (about 1 % of draws), out of line so that the
    # chain loops inline only the common path; returns the normal and the new state words
    s = slot()
    _set(s, 0, sh)
    _set(s, 1, sl)
    _set(s, 2, ih)
    _set(s, 3, il)
    while True:
        if idx == _U0:
            while True:
                xx = -ziggurat_nor_inv_r * np.log1p(-next_double(s))
                yy = -np.log1p(-next_double(s))
                if yy + yy > xx * xx:
                    z = ziggurat_nor_r + xx
                    if (rabs >> np.uint64(8)) & _U1:
                        z = -z
                    return z, _word(s, 0), _word(s, 1)
        elif (fi_double[idx - _U1] - fi_double[idx]) * next_double(s) + fi_double[idx] < np.exp(-0.5 * x * x):
            return x, _word(s, 0), _word(s, 1)
        idx, rabs, x = _ziggurat_point(next_uint64(s))
        if rabs < ki_double[idx]:
            return x, _word(s, 0), _word(s, 1)


@njit(cache=True, inline="always")
def _lemire32(s, rng):
    # an integer in [0, rng] for rng < 2³² − 1 (numpy's buffered_bounded_lemire_uint32)
    excl = rng + _U1
    m = next_uint32(s) * excl
    left = m & np.uint64(0xFFFFFFFF)
    if left < excl:
        threshold = (np.uint64(0xFFFFFFFF) - rng) % excl
        while left < threshold:
            m = next_uint32(s) * excl
            left = m & np.uint64(0xFFFFFFFF)
    return m >> np.uint64(32)


@njit(cache=True, inline="always")
def _lemire64(s, rng):
    # an integer in [0, rng] for 2³² ≤ rng < 2⁶⁴ − 1 (numpy's bounded_lemire_uint64)
    excl = rng + _U1
    x = next_uint64(s)
    left = x * excl
    if left < excl:
        threshold = (np.uint64(0xFFFFFFFFFFFFFFFF) - rng) % excl
        while left < threshold:
            x = next_uint64(s)
            left = x * excl
    return _mulhi(x, excl)


@njit(cache=True, inline="always")
def _bounded(s, rng):
    # an integer in [0, rng], as numpy's random_bounded_uint64_fill draws it
    if rng == _U0:
        return _U0
    if rng <= np.uint64(0xFFFFFFFF):
        if rng == np.uint64(0xFFFFFFFF):
            return next_uint32(s)
        return _lemire32(s, rng)
    if rng == np.uint64(0xFFFFFFFFFFFFFFFF):
        return next_uint64(s)
    return _lemire64(s, rng)


@overload_method(Stream, "standard_normal")
def _standard_normal(s):
    def impl(s):
        # numpy's ziggurat: 99 % of draws return at the first test
        idx, rabs, x = _ziggurat_point(next_uint64(s))
        if not rabs < ki_double[idx]:
            x, sh, sl = _normal_tail(_word(s, 0), _word(s, 1), _word(s, 2), _word(s, 3), idx, rabs, x)
            _set(s, 0, sh)
            _set(s, 1, sl)
        return x

    return impl


@overload_method(Stream, "random")
def _random(s):
    def impl(s):
        return next_double(s)

    return impl


@overload_method(Stream, "integers")
def _integers(s, low, high):
    if not isinstance(low, types.Integer) or not isinstance(high, types.Integer):
        return None

    def impl(s, low, high):
        if high <= low:
            raise ValueError("integers: high <= low")
        lo = np.int64(low)
        return lo + np.int64(_bounded(s, np.uint64(np.int64(high) - lo - 1)))

    return impl


# ------------------------------------------------------------------ numpy side
def words(state: dict) -> np.ndarray:
    """The six words of a ``PCG64`` bit generator's ``state`` dict."""
    if state.get("bit_generator") != "PCG64":
        raise ValueError(f"a PCG64 state is needed, got {state.get('bit_generator')}")
    st, inc = int(state["state"]["state"]), int(state["state"]["inc"])
    return np.array([st >> 64, st & _MASK64, inc >> 64, inc & _MASK64,
                     int(state["has_uint32"]), int(state["uinteger"])], dtype=np.uint64)


def state(w) -> dict:
    """``PCG64``'s ``state`` dict of the six words ``w`` (the inverse of :func:`words`)."""
    w = [int(v) for v in w]
    return {"bit_generator": "PCG64", "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
            "has_uint32": w[4], "uinteger": w[5]}


def generators(seq: np.random.SeedSequence, n: int) -> list:
    """numpy generators of ``seq``'s first ``n`` children: stream ``c`` depends only on (``seq``, ``c``)."""
    return [np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(n)]


def streams(gens) -> np.ndarray:
    """The ``(len(gens), WORDS)`` words of numpy ``Generator(PCG64)``s, in order."""
    out = np.empty((len(gens), WORDS), dtype=np.uint64)
    for c, g in enumerate(gens):
        out[c] = words(g.bit_generator.state)
    return out


def generator(w) -> np.random.Generator:
    """A numpy ``Generator(PCG64)`` in the state of the words ``w``."""
    bg = np.random.PCG64()
    bg.state = state(w)
    return np.random.Generator(bg)
