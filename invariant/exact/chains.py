"""Affine Gaussian recursions ``x⁺ = M x + m0 + N(0, Q)``: their invariant law, composition and
transient moments (docs/theory.md §2, §8); the chains themselves are built in
:mod:`invariant.exact.optimizers`."""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ..gaussian import sym as _sym


def discrete_stationary(M, m0, Q):
    """Invariant law ``N(m, P)`` of ``x⁺ = M x + m0 + N(0, Q)``.

    Parameters
    ----------
    M : ndarray, shape (d, d)
    m0 : ndarray, shape (d,)
    Q : ndarray, shape (d, d)

    Returns
    -------
    m : ndarray
        Solves ``(I − M) m = m0``.
    P : ndarray
        Solves ``M P Mᵀ − P + Q = 0`` (``scipy.linalg.solve_discrete_lyapunov``).  No time
        rescaling is involved: it is comparable directly with the SDE's stationary
        covariance (both are laws in state space; docs/theory.md §2 clock ``t = kη``).

    Raises
    ------
    ValueError
        If the spectral radius of ``M`` is ≥ 1 (no invariant law).
    """
    M = np.asarray(M, dtype=np.float64)
    m0 = np.asarray(m0, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    rho = float(np.max(np.abs(np.linalg.eigvals(M))))
    if not rho < 1:
        raise ValueError(f"spectral radius ρ(M) = {rho:.6g} ≥ 1: the chain has no invariant law")
    m = np.linalg.solve(np.eye(M.shape[0]) - M, m0)
    P = sla.solve_discrete_lyapunov(M, Q)
    return m, _sym(P)


def _compose(first, second):
    """Affine Gaussian map ``second ∘ first`` (each ``(M, m0, Q)``)."""
    M1, c1, Q1 = first
    M2, c2, Q2 = second
    return M2 @ M1, M2 @ c1 + c2, _sym(M2 @ Q1 @ M2.T + Q2)


def discrete_moments(M, m0, Q, mean0, cov0, k: int):
    """Mean and covariance after ``k`` steps of ``x⁺ = M x + m0 + N(0, Q)``.

    Parameters
    ----------
    M, m0, Q : ndarray
        The chain (:func:`discrete`).
    mean0 : ndarray, shape (d,)
    cov0 : ndarray, shape (d, d)
        Moments of ``x₀``.
    k : int
        Number of steps, ≥ 0.

    Returns
    -------
    mean : ndarray, shape (d,)
    cov : ndarray, shape (d, d)

    Notes
    -----
    Exact: the ``k``-step map is the ``k``-fold composition of the one-step affine Gaussian
    map, formed by repeated squaring (``O(log k)`` matrix products).
    """
    M = np.asarray(M, dtype=np.float64)
    m0 = np.asarray(m0, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    k = int(k)
    if k < 0:
        raise ValueError("k must be ≥ 0")
    d = M.shape[0]
    result = (np.eye(d), np.zeros(d), np.zeros((d, d)))
    power = (M, m0, _sym(Q))
    while k:
        if k & 1:
            result = _compose(result, power)
        k >>= 1
        if k:
            power = _compose(power, power)
    Mk, sk, Qk = result
    mean0 = np.asarray(mean0, dtype=np.float64)
    cov0 = np.asarray(cov0, dtype=np.float64)
    return Mk @ mean0 + sk, _sym(Mk @ cov0 @ Mk.T + Qk)
