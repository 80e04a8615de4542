"""Linear algebra of the conditions: the Lyapunov equation, the trust-region maximum over a
sphere, radii where a monotone quantity crosses zero and the Kalman rank condition
(``docs/theory.md §4``)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy import optimize

from ..exact import spectral_abscissa
from ..gaussian import sym

__all__ = ["sym", "lyapunov_matrix", "sphere_max", "last_crossing", "first_root", "psd_sqrt", "Kalman", "kalman",
           "controllable"]


def lyapunov_matrix(A) -> np.ndarray | None:
    """``Q`` solving ``AᵀQ + QA = −I`` (docs/theory.md §4's automatic quadratic ``V``).

    Returns None unless ``A`` is Hurwitz (``max Re λ(A) < 0``), the case where ``Q`` is
    positive definite and ``V(y) = yᵀQy`` gives ``dV/dt = −|y|²`` along ``y' = Ay``.
    """
    A = np.asarray(A, dtype=np.float64)
    if not spectral_abscissa(A) < 0:
        return None
    Q = sym(sla.solve_continuous_lyapunov(A.T, -np.eye(A.shape[0])))
    if np.linalg.eigvalsh(Q)[0] <= 0:
        return None
    return Q


def sphere_max(B, g) -> tuple[float, np.ndarray]:
    """``max_{|u|=1} uᵀBu + g·u`` and its maximiser (the trust-region subproblem).

    Exact: from the eigen-decomposition of the symmetric ``B`` and the secular equation
    ``Σ g̃_i² / (4(μ − λ_i)²) = 1``, ``μ > λ_max``, including the "hard case".
    """
    B = sym(np.asarray(B, dtype=np.float64))
    g = np.asarray(g, dtype=np.float64)
    lam, V = np.linalg.eigh(B)
    gt = V.T @ g
    lmax = lam[-1]
    gn = float(np.linalg.norm(g))
    scale = max(float(np.max(np.abs(lam))), gn, 1e-300)
    if gn <= 1e-15 * scale:
        return float(lmax), V[:, -1].copy()
    top = np.abs(lam - lmax) <= 1e-12 * scale
    gap = lmax - lam
    if np.all(np.abs(gt[top]) <= 1e-13 * gn):
        u = np.zeros_like(gt)
        u[~top] = gt[~top] / (2 * gap[~top])
        s2 = float(u @ u)
        if s2 <= 1.0:  # hard case: μ = λ_max, fill the rest of the unit norm along the top space
            u[np.argmax(top)] = math.sqrt(1.0 - s2)
            return float(lam @ u**2 + gt @ u), V @ u

    def phi(s):
        return float(np.sum(gt**2 / (4 * (s + gap) ** 2)) - 1.0)

    lo, hi = 1e-14 * scale, gn / 2 + 1e-14 * scale
    s = lo if phi(lo) <= 0 else optimize.brentq(phi, lo, hi, xtol=1e-15 * scale, rtol=1e-14, maxiter=500)
    u = gt / (2 * (s + gap))
    u /= np.linalg.norm(u)
    return float(lam @ u**2 + gt @ u), V @ u


def last_crossing(F, hi: float) -> float:
    """For ``F(r) > 0`` exactly on ``[0, R)`` with ``F(hi) ≤ 0``: return ``R`` (bisection)."""
    lo = 0.0
    if F(hi) > 0:
        return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if F(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return hi


def first_root(T) -> float:
    """Smallest ``t > 0`` with ``T(t) = 0`` for a continuous nondecreasing ``T`` with ``T(0) < 0``."""
    hi = 1.0
    while T(hi) <= 0:
        hi *= 2
        if hi > 1e300:
            return math.inf
    return optimize.brentq(T, 0.0, hi, xtol=1e-300, rtol=1e-13, maxiter=500)


def psd_sqrt(D, rel: float = 1e-12) -> np.ndarray:
    """The symmetric square root ``σ = V diag(√w) Vᵀ`` of a positive semi-definite ``D = σσᵀ``.

    Eigenvalues below ``rel·λ_max`` (round-off of a singular ``D``) are set to 0, so the
    directions without noise get exact zeros.  Unlike a Cholesky factor it is defined for a
    singular ``D`` and varies smoothly with ``D`` (no pivoting, no sign choice), so it can be
    differentiated by finite differences (docs/theory.md §4.4).
    """
    w, V = np.linalg.eigh(sym(np.asarray(D, dtype=np.float64)))
    top = float(w[-1]) if w.size else 0.0
    w = np.where(w > rel * max(top, 0.0), w, 0.0)
    return sym((V * np.sqrt(w)) @ V.T)


@dataclass
class Kalman:
    """Kalman's rank condition for ``(A, σ)`` (docs/theory.md §4.4).

    Attributes
    ----------
    rank : int
        Numerical rank of ``K = [σ̂, Âσ̂, …, Â^{d−1}σ̂]`` with ``Â = A/‖A‖₂``, ``σ̂ = σ/‖σ‖₂``
        (scaling the pair does not change the rank, and keeps every block of norm ≤ 1).
    s_min : float
        ``s_d(K)/s_1(K)``: the ``d``-th singular value relative to the largest (0 when ``K``
        has fewer than ``d`` columns or ``σ = 0``).
    tolerance : float
        ``s_i/s_1 > tolerance`` counts towards the rank: ``(d·max(K.shape) + d)·ε`` for the
        round-off of the powers (as numpy's ``matrix_rank``, times the ``d`` products), plus
        ``d·rel_err`` for inputs known only to a relative error ``rel_err``.
    d : int
    """

    rank: int
    s_min: float
    tolerance: float
    d: int

    @property
    def controllable(self) -> bool:
        return self.rank == self.d


def kalman(A, S, rel_err: float = 0.0) -> Kalman:
    """Kalman's rank of ``[S, AS, …, A^{d−1}S]`` (``S`` the noise columns, ``d × m``), decided
    on the normalised pair with an explicit tolerance (:class:`Kalman`)."""
    A = np.asarray(A, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64).reshape(A.shape[0], -1)
    d = A.shape[0]
    nA, nS = float(np.linalg.norm(A, 2)), float(np.linalg.norm(S, 2))
    Ah = A / nA if nA > 0 else A
    if d * d * S.shape[1] > KALMAN_DENSE_MAX:
        return _kalman_krylov(Ah, S / nS if nS > 0 else S, rel_err)
    blocks = [S / nS if nS > 0 else S]
    for _ in range(d - 1):
        blocks.append(Ah @ blocks[-1])
    K = np.hstack(blocks)
    tol = (d * max(K.shape) + d) * np.finfo(float).eps + d * rel_err
    sv = np.linalg.svd(K, compute_uv=False)
    if nS == 0 or sv[0] == 0:
        return Kalman(0, 0.0, tol, d)
    rel = sv / sv[0]
    return Kalman(int(np.sum(rel > tol)), float(rel[d - 1]) if rel.size >= d else 0.0, tol, d)


KALMAN_DENSE_MAX = 2**24
"""Entries of ``[S, AS, …, A^{d−1}S]`` above which :func:`kalman` grows the Krylov space instead
(a 1213-parameter GAN's matrix would hold 1.8e9)."""


def _kalman_krylov(Ah, Sh, rel_err: float) -> Kalman:
    """:func:`kalman` for large ``d``: an orthonormal basis of ``span[S, AS, A²S, …]`` grown one
    power at a time (only the directions each power adds are multiplied again), stopped when
    a power adds none; O(d²) memory.  A direction counts when its part outside the basis
    exceeds the dense test's tolerance relative to the largest column; ``s_min`` is the
    smallest such relative part (0 unless the rank is ``d``)."""
    d = Ah.shape[0]
    tol = (d * d + d) * np.finfo(float).eps + d * rel_err
    scale = float(np.linalg.norm(Sh, 2))
    if scale == 0.0:
        return Kalman(0, 0.0, tol, d)
    Q = np.zeros((d, 0))
    new, s_min = Sh, 1.0
    for _ in range(d):
        new = new - Q @ (Q.T @ new)
        U, sv, _ = np.linalg.svd(new, full_matrices=False)
        keep = sv / scale > tol
        if not keep.any():
            break
        s_min = min(s_min, float(sv[keep][-1] / scale))
        Q = np.hstack([Q, U[:, keep]])
        if Q.shape[1] >= d:
            break
        new = Ah @ U[:, keep] * sv[keep]
    rank = min(Q.shape[1], d)
    return Kalman(rank, s_min if rank == d else 0.0, tol, d)


def controllable(A, D) -> bool:
    """Kalman rank condition ``rank[σ, Aσ, …, A^{d−1}σ] = d`` with ``σ = D^{1/2}`` (the noise
    reaches every direction through the linear drift ``A``: hypoellipticity of the
    linearisation), decided by :func:`kalman`."""
    return kalman(A, psd_sqrt(D)).controllable
