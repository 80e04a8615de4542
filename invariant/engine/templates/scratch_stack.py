"""Per-chain scratch of the CPU kernels for small states, d <= STACK_D_MAX (docs/kernels.md).

Vectors of the compile-time length D on the stack (:mod:`invariant.engine.scratch`): loops
over them unroll and the vectors live in registers.
"""
# <header>
from numba import carray, njit

from invariant.engine.scratch import stack_ptr
from invariant.engine.templates._stub import D_FLOW, D_S, D_THETA, D_TRI, D

# </header>


@njit(cache=True, inline="always")
def _dims(d, dth):
    # compile-time dimensions: loops over them unroll, and vectors indexed by constants
    # live in registers
    return D, D_THETA


@njit(cache=True, inline="always")
def _vec(d):
    # a length-D vector on the stack: promoted to registers once the loops are unrolled
    return carray(stack_ptr(D), D)


@njit(cache=True, inline="always")
def _tri(d):
    return carray(stack_ptr(D_TRI), D_TRI)


@njit(cache=True, inline="always")
def _tri_queue(d):
    return carray(stack_ptr(D), (1, D))


@njit(cache=True, inline="always")
def _svec(d):
    # the optimiser's state: N_S vectors of length D (one entry when it has none)
    return carray(stack_ptr(D_S), D_S)


@njit(cache=True, inline="always")
def _flow_work(d):
    # three rows of scratch for the SDE drift's central difference (FLOW_B1)
    return carray(stack_ptr(D_FLOW), (3, D))
