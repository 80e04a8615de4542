"""Per-chain scratch of the CPU kernels for large states, d > STACK_D_MAX (docs/kernels.md).

Heap vectors of the run's dimension: one module serves every large d.
"""
# <header>
import numpy as np
from numba import njit

from invariant.engine.templates._stub import MOMENTS, N_PROJ, N_S, Q_TRI

# </header>


@njit(cache=True, inline="always")
def _dims(d, dth):
    return d, dth


@njit(cache=True, inline="always")
def _vec(d):
    return np.empty(d)


@njit(cache=True, inline="always")
def _tri(d):
    # the second-moment sums MOMENTS tracks (invariant.moments.tracked_size)
    if MOMENTS == 0:
        return np.empty(d * (d + 1) // 2)
    return np.empty(d + N_PROJ * (N_PROJ + 1) // 2)


@njit(cache=True, inline="always")
def _tri_queue(d):
    return np.empty((Q_TRI, d))


@njit(cache=True, inline="always")
def _svec(d):
    # the optimiser's state: N_S vectors of length d (one entry when it has none)
    return np.empty(max(1, N_S * d))


@njit(cache=True, inline="always")
def _flow_work(d):
    # three rows of scratch for the SDE drift's central difference (FLOW_B1)
    return np.empty((3, d))
