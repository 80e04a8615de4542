"""The discrete SGA chains on an affine game as exact affine Gaussian recursions
(docs/theory.md §2, §8)."""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ..gaussian import sym as _sym
from .affine import _positive, _scheme, _signs, affine_parts


def discrete(game, scheme: str, lr: float, batch_size: int):
    """The SGA chain of docs/theory.md §2 as an exact affine Gaussian recursion.

    ``x⁺ = M x + m0 + ε``, ``ε ~ N(0, Q)`` independent of ``x``.

    Parameters
    ----------
    game : Game
        An affine game.
    scheme : {"sml", "alt-d", "alt-g"}
        SML: both players step from ``(θ, ω)``.  ALT-D: ``ω`` first, then ``θ`` with the
        gradient at ``(θ, ω⁺)``.  ALT-G: ``θ`` first, then ``ω`` at ``(θ⁺, ω)``.
    lr : float
        Learning rate η.
    batch_size : int
        Minibatch size N; a minibatch-mean gradient is ``∇g + N(0, Σ/N)``, independent for
        the two players.

    Returns
    -------
    M : ndarray, shape (d, d)
    m0 : ndarray, shape (d,)
    Q : ndarray, shape (d, d)

    Notes
    -----
    A half-update of player ``p`` is ``x ↦ U_p x + u_p + η S Π_p ξ_p`` with
    ``U_p = I + η S Π_p H``, ``u_p = η S Π_p f`` (``Π_p`` the projector on ``p``'s block).
    The chain composes the two half-maps in the scheme's order, so in ALT the first
    mover's noise reaches the second mover through ``U``:
    ALT-D ``Q = η² (U_θ Σ̃_ω U_θᵀ + Σ̃_θ)/N``, ALT-G ``Q = η² (U_ω Σ̃_θ U_ωᵀ + Σ̃_ω)/N``
    (``Σ̃_p = Π_p Σ Π_p``), SML ``Q = η² Σ/N``.
    """
    scheme = _scheme(scheme)
    lr = _positive(lr, "lr")
    N = _positive(batch_size, "batch_size")
    H, f, Sigma = affine_parts(game)
    d, dt = game.d, game.d_theta
    s = _signs(game)
    I = np.eye(d)
    proj_t = np.zeros(d)
    proj_t[:dt] = 1.0
    proj_o = 1.0 - proj_t
    St = np.diag(proj_t) @ Sigma @ np.diag(proj_t) / N  # embedded Σ_θ/N
    So = np.diag(proj_o) @ Sigma @ np.diag(proj_o) / N
    if scheme == "sml":
        M = I + lr * s[:, None] * H
        m0 = lr * s * f
        Q = lr * lr * (St + So)
        return M, m0, _sym(Q)
    # half-maps (sign S is −1 on θ, +1 on ω; the noise sign drops out of covariances)
    Ut = I - lr * proj_t[:, None] * H
    ut = -lr * proj_t * f
    Uo = I + lr * proj_o[:, None] * H
    uo = lr * proj_o * f
    if scheme == "alt-d":  # ω first, then θ
        M = Ut @ Uo
        m0 = Ut @ uo + ut
        Q = lr * lr * (Ut @ So @ Ut.T + St)
    else:  # alt-g: θ first, then ω
        M = Uo @ Ut
        m0 = Uo @ ut + uo
        Q = lr * lr * (Uo @ St @ Uo.T + So)
    return M, m0, _sym(Q)


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
