"""The fixed part of a ``formula`` game's kernel module (invariant.games.formula_game).

The kernels themselves (``loss``, ``grad``, ``hvp``, ``noise``, ``batch_grad``,
``sample_grads``, ``sigma``) are the sympy expressions of the game printed by
``invariant.games.formula_code`` after this template's body; they call the helpers below.
Helpers take scalars and use numpy's error model, so LLVM inlines them; the logistic ones
are the Dirac-GAN's (invariant.games.dirac).  Kernels allocate nothing, and those that do not
draw are compiled without the NRT.
"""
# <header>
from numba import njit

from invariant.games.dirac import _logsig, _sigpair

# </header>

_helper = njit(cache=True, error_model="numpy")
_kernel = njit(cache=True, _nrt=False)
# the kernels that draw keep the NRT: called from Python with a numpy Generator, its
# integers() allocates (the chain loops rebind every kernel from its Python source anyway)
_sampler = njit(cache=True)


@_helper
def _sigmoid(t):
    # σ(t) = 1/(1 + e^{−t}), by the Dirac-GAN's pair (one exp, no overflow)
    return _sigpair(t)[0]


_logsigmoid = _logsig  # log σ(t) = −log(1 + e^{−t}), stable for both signs


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
