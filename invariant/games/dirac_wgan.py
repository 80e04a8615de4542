"""Kernels of the Dirac-GAN with the WGAN loss (``invariant.games.dirac``, ``loss = "wgan"``).

``ĝ = ψ y − ψ u`` plus the regulariser, with ``y ~ N(mu, s²)`` and ``u = θ + s_z z``
(docs/theory.md §1): everything is in closed form, ``∇_θ ĝ = −ψ`` carries no noise and
``Σ_ψ = s² + s_z²``.  The constants ``p`` are packed exactly as in
:mod:`invariant.games.dirac` (the quadrature entries go unused).  A module of its own, so
that the chain loops compiled for it carry no branch on the loss: with the loss tested
at run time the 2-D Euler–Maruyama step ran about 10 % slower.
"""
from __future__ import annotations

import numpy as np

from .dirac import _kernel, _reg_dpsi, _reg_dpsi2, _reg_value


@_kernel
def loss(x, p, data):
    th = x[0]
    ps = x[1]
    return _reg_value(th, ps, p[3], p[4], p[5], p[6]) + ps * (p[7] - th)


@_kernel
def generator_loss(x, p, data):
    """The generator's loss: ``g`` (the wgan loss is zero-sum)."""
    return loss(x, p, data)


@_kernel
def grad(x, p, data, out):
    th = x[0]
    ps = x[1]
    out[0] = -ps + p[4] * th
    out[1] = p[7] - th + _reg_dpsi(ps, p[3], p[5], p[6])


@_kernel
def hvp(x, p, data, v, out):
    out[0] = p[4] * v[0] - v[1]
    out[1] = -v[0] + _reg_dpsi2(x[1], p[3], p[5], p[6]) * v[1]


@_kernel
def sigma_diag(x, p):
    """``(Σ_θ(x), Σ_ψ(x)) = (0, s² + s_z²)``."""
    return 0.0, p[8] * p[8] + p[9] * p[9]


@_kernel
def sigma_cross(x, p):
    """``Σ_θψ = 0``: ``∇θĝ = −ψ`` carries no sample."""
    return 0.0


@_kernel
def noise(x, p, data, rng, out):
    # L = diag(0, p[10]) with p[10] = sqrt(s² + s_z²): one normal per step
    out[0] = 0.0
    out[1] = p[10] * rng.standard_normal()


@_kernel
def batch_grad(x, p, data, rng, batch_size, player, out):
    th = x[0]
    ps = x[1]
    if player == 0:
        out[0] = -ps + p[4] * th
    else:
        # the batch mean of y − u is exactly N(mu − θ, (s² + s_z²)/N): one draw stands for
        # the whole batch
        out[1] = (p[7] - th + p[10] * rng.standard_normal() / np.sqrt(batch_size)
                  + _reg_dpsi(ps, p[3], p[5], p[6]))


@_kernel
def shared_batch_grad(x, p, data, rng, batch_size, out):
    # ∇θĝ = −ψ carries no sample: one minibatch or two, the same law (Σ_θψ = 0)
    batch_grad(x, p, data, rng, batch_size, 0, out)
    batch_grad(x, p, data, rng, batch_size, 1, out)


@_kernel
def shared_noise(x, p, data, rng, out):
    # Σ_θψ = 0: the joint factor is the plain one
    noise(x, p, data, rng, out)


@_kernel
def sample_grads(x, p, data, rng, out):
    th = x[0]
    ps = x[1]
    gt = -ps + p[4] * th
    gp = _reg_dpsi(ps, p[3], p[5], p[6])
    # a row is one sample (y, z)'s gradients of both players (the shared-batch law;
    # training with independent batches draws each player's samples apart)
    for k in range(out.shape[0]):
        y = p[7] + p[8] * rng.standard_normal()
        u = th + p[9] * rng.standard_normal()
        out[k, 0] = gt
        out[k, 1] = y - u + gp
