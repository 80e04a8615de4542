"""The fixed part of a ``formula`` game's kernel module (invariant.games.formula_game).

The kernels themselves (``loss``, ``grad``, ``hvp``, ``noise``, ``batch_grad``,
``sample_grads``, ``sigma``) are the sympy expressions of the game printed by
``invariant.games.formula_code`` after this template's body; they call the helpers below.
Helpers take scalars and use numpy's error model, so LLVM inlines them (as the Dirac-GAN's
do, invariant.games.dirac); kernels allocate nothing and those that do not draw are compiled
without the NRT.
"""
# <header>
import numpy as np
from numba import njit

# </header>

_helper = njit(cache=True, error_model="numpy")
_kernel = njit(cache=True, _nrt=False)
# the kernels that draw keep the NRT: called from Python with a numpy Generator, its
# integers() allocates (the chain loops rebind every kernel from its Python source anyway)
_sampler = njit(cache=True)


@_helper
def _sigmoid(t):
    # σ(t) from one exp of a non-positive argument: no overflow, accurate in both tails
    e = np.exp(-abs(t))
    r = 1.0 / (1.0 + e)
    if t >= 0.0:
        return r
    return e * r


@_helper
def _logsigmoid(t):
    # log σ(t) = −log(1 + e^{−t}), stable for both signs
    if t >= 0.0:
        return -np.log1p(np.exp(-t))
    return t - np.log1p(np.exp(t))


@_helper
def _softplus(t):
    # log(1 + e^t) = −log σ(−t)
    return -_logsigmoid(-t)


@njit(cache=True, inline="always")
def _pick(rng, cum, n):
    # index of a finite law's value: the first i with u < cum[i] (cum[n − 1] = 1)
    u = rng.random()
    i = 0
    while i < n - 1 and u >= cum[i]:
        i += 1
    return i
