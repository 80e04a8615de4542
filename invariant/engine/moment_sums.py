"""Means and covariances from the engine's per-chain shifted sums (:mod:`invariant.options.moments`).

A chain's ``n`` booked states ``x_t`` enter as ``y_t = x_t − shift``: ``s1 = Σ y`` and
second-moment sums of ``y`` (``Σ y yᵀ``, ``Σ y_i²`` or ``Σ z zᵀ`` with ``z = P y``).  For
any linear feature ``u`` of the state (``x``, one coordinate, ``P x``) with sums ``a = Σ u``
and ``S = Σ u uᵀ`` of its shifted values, the chain's time covariance is
``(S − a aᵀ/n)/(n − 1)``, and pooling chains adds the spread of their means (the
total-variance decomposition, docs/theory.md §4).  ``outer`` is ``a aᵀ`` for a matrix of
sums, ``a ∘ a`` for the per-coordinate squares: one definition serves both.
"""
from __future__ import annotations

import numpy as np


def outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a bᵀ`` for each row pair of (chains, m) arrays: (chains, m, m)."""
    return a[:, :, None] * b[:, None, :]


def square(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a ∘ b``: the diagonal of :func:`outer`."""
    return a * b


def unpack(packed: np.ndarray, m: int) -> np.ndarray:
    """(chains, m, m) symmetric matrices from their packed upper triangles (chains, m(m+1)/2)."""
    iu = np.triu_indices(m)
    S = np.zeros((packed.shape[0], m, m))
    S[:, iu[0], iu[1]] = packed
    return S + np.transpose(S, (0, 2, 1)) - S * np.eye(m)


def chain_cov(n: np.ndarray, s1: np.ndarray, S2: np.ndarray, prod=outer) -> np.ndarray:
    """Each chain's time covariance (or variances, ``prod=square``) from its sums; ``n`` is
    floored at 2 (a chain with fewer samples has none, and is left out by the callers)."""
    n = np.maximum(n, 2).reshape((-1,) + (1,) * (S2.ndim - 1))
    return (S2 - prod(s1, s1) / n) / (n - 1)


def pooled(n: np.ndarray, means: np.ndarray, covs: np.ndarray, prod=outer) -> tuple:
    """Mean and covariance (or variances, ``prod=square``) of the chains' samples together:
    within-chain scatter plus the spread of the chain means."""
    n = n.astype(float)
    m = (n[:, None] * means).sum(0) / n.sum()
    dev = means - m
    w = (slice(None),) + (None,) * (covs.ndim - 1)
    scatter = ((n - 1)[w] * covs).sum(0) + (n[w] * prod(dev, dev)).sum(0)
    return m, scatter / (n.sum() - 1)
