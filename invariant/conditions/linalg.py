"""Linear algebra of the conditions: the Lyapunov equation, the trust-region maximum over a
sphere, radii where a monotone quantity crosses zero and the Kalman rank condition
(``docs/theory.md §4``)."""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla
from scipy import optimize

from ..exact import spectral_abscissa
from ..gaussian import sym

__all__ = ["sym", "lyapunov_matrix", "sphere_max", "last_crossing", "first_root", "controllable"]


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


def controllable(A, D) -> bool:
    """Kalman rank condition ``rank[D, AD, …, A^{d−1}D] = d`` (the noise ``D`` reaches every
    direction through the linear drift ``A``: hypoellipticity of the linearisation)."""
    K = np.hstack([np.linalg.matrix_power(A, k) @ D for k in range(A.shape[0])])
    sv = np.linalg.svd(K, compute_uv=False)
    return bool(sv[-1] > 1e-10 * max(sv[0], 1e-300))
