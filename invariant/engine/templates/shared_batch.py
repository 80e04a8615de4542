"""Shared minibatches (``[training] batches = "shared"``, docs/theory.md §2): both players'
gradients from one minibatch, as one backward pass of an autograd loss gives them.

Rendered only into the modules of shared-batch runs, where ``_batch_grad`` and ``_noise`` are
bound to the stand-ins below (:func:`invariant.engine.render.game_bindings`), so that the
steps of ``step.py`` run unchanged: every SML step asks for θ's gradient first and ω's next
at the same point, and the first call now fills both blocks.
"""
# <header>
import numpy as np
from numba import njit

from invariant.engine.templates._stub import _sample_grads, _shared_batch_grad, _shared_noise

# </header>


@njit(cache=True, inline="always")
def _batch_shared(x, p, data, rng, batch_size, player, out):
    # player 0's call (always first, at the same x) fills both blocks; player 1's keeps them
    if player == 0:
        _shared_batch_grad(x, p, data, rng, batch_size, out)


@njit(cache=True, inline="always")
def _noise_shared(x, p, data, rng, out):
    # the joint factor's draw with the ω block negated: the noise of (−∇θĝ, +∇ωĝ), whose
    # cross block is −Σθω
    _shared_noise(x, p, data, rng, out)
    for i in range(int(p[0]), x.shape[0]):
        out[i] = -out[i]


@njit(cache=True)
def _shared_from_samples(x, p, data, rng, batch_size, out):
    # a game without shared_batch_grad: the mean of batch_size rows of its per-sample
    # gradients (one allocation per call: slower, the same law)
    d = x.shape[0]
    row = np.empty((1, d))
    for i in range(d):
        out[i] = 0.0
    for _ in range(batch_size):
        _sample_grads(x, p, data, rng, row)
        for i in range(d):
            out[i] += row[0, i]
    for i in range(d):
        out[i] /= batch_size
