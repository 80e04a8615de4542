"""C1–C4 in closed form for an affine drift ``b(x) = Ax + c`` with constant ``σσᵀ = D``
(``docs/theory.md §4``), and the test of whether a game's SDE is affine."""
from __future__ import annotations

import math

import numpy as np

from .. import exact
from ..schemes import Scheme
from .linalg import first_root, last_crossing, lyapunov_matrix, sphere_max, sym
from .lyapunov import choose
from .results import BoundedDiffusion, BoundedJacobian, Dissipativity, Ellipticity, Lyapunov, worst_point
from .shells import directions
from .text import fmt_vec


def affine_drift(game, scheme: Scheme):
    """The affine pieces ``(A, c, D, why)`` of the SDE, or None when it is not affine.

    ``b(x) = Ax + c`` and constant ``σσᵀ = D``.  A game declaring ``affine = True`` uses the
    closed forms of :mod:`invariant.exact`; any other game is tested numerically: ``A`` from
    unit central differences at 0 (exact for an affine map), then ``b(x) = Ax + c`` and
    ``D(x) = D(0)`` to 1e-9 relative at 12 points of radii 0.5 to 50.
    """
    if getattr(game, "affine", False):
        try:
            A, c = exact.drift(game, scheme.name, scheme.order, scheme.lr)
            D = exact.diffusion(game, scheme.lr, scheme.batch_size, batches=scheme.batches)
            return A, c, D, "affine drift and constant diffusion declared by the game"
        except (ValueError, KeyError):
            pass
    d = game.d
    x0 = np.zeros(d)
    try:
        c = scheme.drift(game, x0)
        D0 = sym(scheme.diffusion(game, x0))
        A = np.column_stack([(scheme.drift(game, e) - scheme.drift(game, -e)) / 2 for e in np.eye(d)])
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(c)) and np.all(np.isfinite(D0))):
            return None
        if not _affine_at(game, scheme, A, c, D0):
            return None
    except (FloatingPointError, ValueError, ZeroDivisionError):
        return None
    return A, c, D0, "affine drift and constant diffusion detected numerically (12 test points, 1e-9 relative)"


def _affine_at(game, scheme: Scheme, A, c, D0) -> bool:
    """``b(x) = Ax + c`` and ``σσᵀ(x) = D0`` to 1e-9 relative at 4 directions × radii 0.5, 5, 50."""
    nA = float(np.linalg.norm(A, 2))
    dirs = directions(game.d, 4, seed=12345, axes=False)
    for r in (0.5, 5.0, 50.0):
        for u in dirs:
            x = r * u
            b = scheme.drift(game, x)
            if np.linalg.norm(b - (A @ x + c)) > 1e-9 * (np.linalg.norm(b) + nA * r + np.linalg.norm(c)) + 1e-300:
                return False
            Dx = scheme.diffusion(game, x)
            if np.linalg.norm(Dx - D0) > 1e-9 * np.linalg.norm(D0) + 1e-300:
                return False
    return True


def exact_conditions(A, c, D, lyapunov: str = "auto"):
    """C1–C4 in closed form for ``b(x) = Ax + c``, constant ``σσᵀ = D`` (docs/theory.md §4).

    Parameters
    ----------
    A, c, D : ndarray
    lyapunov : {"auto", "norm2", "quadratic"}

    Returns
    -------
    (BoundedDiffusion, BoundedJacobian, Dissipativity, Ellipticity, Lyapunov)
        All with ``exact = True``.  C2: ``c = −λ_max(A_s)``, ``A_s = (A+Aᵀ)/2``; its ``R`` (for
        ``c/2``) from exact sphere maximisations; ``β = ¼cᵀ(−A_s − αI)⁻¹c`` with ``α = c/2``.
        C4, ``V = |x|²``: ``LV = 2xᵀA_sx + 2c·x + Tr D``, ``R*`` exact, ``a = −λ_max(A_s)``,
        ``β = Tr D + cᵀ(−2A_s − aI)⁻¹c``.  C4, quadratic ``V = (x−m)ᵀQ(x−m)``, ``Am + c = 0``,
        ``AᵀQ + QA = −I``: ``LV = −|x−m|² + Tr(QD)``, so ``R* = |m| + sqrt(1 + Tr(QD))``,
        ``a = 1/λ_max(Q)``, ``β = Tr(QD)``.
    """
    A = np.asarray(A, dtype=np.float64)
    off = np.asarray(c, dtype=np.float64)
    D = sym(np.asarray(D, dtype=np.float64))
    As = sym(A)
    w = np.linalg.eigvalsh(D)
    bd = BoundedDiffusion(True, float(w[-1]), 0.0, True, reason="σσᵀ is constant")
    bj = BoundedJacobian(True, float(np.linalg.norm(A, 2)), 0.0, True, reason="∇b = A is constant")
    cands = []
    if lyapunov in ("auto", "norm2"):
        cands.append(_norm2_exact(As, off, float(np.trace(D))))
    if lyapunov in ("auto", "quadratic"):
        cands.append(_quadratic_exact(A, off, D))
    return bd, bj, _dissipativity(A, As, off), _ellipticity(D, w), choose(cands)


def _dissipativity(A, As, off) -> Dissipativity:
    """C2: ``c = −λ_max(A_s)``; ``R`` for ``c/2`` and the weak form's ``β`` with ``α = c/2``."""
    d = A.shape[0]
    lmax = float(np.linalg.eigvalsh(As)[-1])
    cc = -lmax
    top = np.linalg.eigh(As)[1][:, -1]
    if not cc > 1e-12 * max(float(np.max(np.abs(A))), 1e-300):
        return Dissipativity(False, cc, None, None, None, None, 0.0, True, worst=[worst_point(top, lmax)],
                             reason=f"λ_max((A+Aᵀ)/2) = {lmax:.4g} ≥ 0: x·b/|x|² → {lmax:.4g} along its eigenvector")
    alpha = cc / 2
    B = As + alpha * np.eye(d)
    R = 0.0 if np.linalg.norm(off) == 0 else 1.0 / first_root(lambda t: sphere_max(B, t * off)[0])
    beta = float(0.25 * off @ np.linalg.solve(-B, off))
    u = sphere_max(B, off / R)[1] if R > 0 else top
    return Dissipativity(True, cc, R, alpha, alpha, beta, 0.0, True, worst=[worst_point(R * u if R > 0 else u, lmax)],
                         reason=f"c = −λ_max((A+Aᵀ)/2) = {cc:.4g} > 0")


def _ellipticity(D, w) -> Ellipticity:
    """C3: ``λ_min(D) > 0`` (relative to ``λ_max``), else the direction without noise."""
    lmin = float(w[0])
    tolD = 1e-12 * max(float(w[-1]), 1e-300)
    return Ellipticity(lmin > tolD, lmin, 0.0, True, worst=[worst_point(np.zeros(D.shape[0]), lmin)],
                       reason=(f"λ_min(σσᵀ) = {lmin:.4g} > 0" if lmin > tolD else
                               f"σσᵀ is singular (λ_min = {lmin:.3g}): no noise along {fmt_vec(np.linalg.eigh(D)[1][:, 0])}"))


def _norm2_exact(As, off, trD) -> Lyapunov:
    """C4 with ``V = |x|²``: ``R*`` the last zero of ``max_{|x|=r} LV + 1`` (exact), ``a = −λ_max(A_s)``."""
    d = As.shape[0]
    lmax = float(np.linalg.eigvalsh(As)[-1])
    if not lmax < 0:
        return Lyapunov(False, "norm2", None, None, None, True,
                        reason=f"LV = 2x·b + Tr σσᵀ ≥ Tr σσᵀ > −1 along ± the top eigenvector of (A+Aᵀ)/2 "
                               f"(eigenvalue {lmax:.3g} ≥ 0: C2 fails)")
    k = 0.5 * (trD + 1.0)
    nl = -lmax
    hi = (np.linalg.norm(off) + math.sqrt(float(off @ off) + 4 * nl * k)) / (2 * nl) * (1 + 1e-9) + 1e-300

    def excess(r):  # max over |x| = r of (LV + 1)/2
        return k if r == 0 else r * r * sphere_max(As, off / r)[0] + k

    Rs = last_crossing(excess, hi)
    a = nl
    beta = trD + float(off @ np.linalg.solve(-(2 * As + a * np.eye(d)), off))
    u = sphere_max(As, off / Rs)[1] if Rs > 0 else np.linalg.eigh(As)[1][:, -1]
    return Lyapunov(True, "norm2", Rs, a, beta, True, worst=[worst_point(Rs * u, -1.0)],
                    reason=f"LV = 2x·b + Tr σσᵀ ≤ −1 for |x| ≥ R* = {Rs:.4g}")


def _quadratic_exact(A, off, D) -> Lyapunov:
    """C4 with ``V = (x−m)ᵀQ(x−m)``, ``AᵀQ + QA = −I``: ``LV = −|x−m|² + Tr(QD)``."""
    Q = lyapunov_matrix(A)
    if Q is None:
        alpha_A = exact.spectral_abscissa(A)
        if abs(alpha_A) <= 1e-12 * max(float(np.max(np.abs(A))), 1e-300):
            alpha_A = 0.0  # round-off of a centre or a zero eigenvalue
        return Lyapunov(False, "quadratic", None, None, None, True,
                        reason=f"the drift matrix is not Hurwitz (spectral abscissa α(A) = {alpha_A:.4g} ≥ 0): "
                               f"no quadratic V, and no invariant law")
    m = np.linalg.solve(A, -off)
    tQD = float(np.sum(Q * D))
    Rs = float(np.linalg.norm(m) + math.sqrt(1.0 + tQD))
    a = 1.0 / float(np.linalg.eigvalsh(Q)[-1])
    um = m / np.linalg.norm(m) if np.linalg.norm(m) > 0 else np.eye(A.shape[0])[0]
    return Lyapunov(True, "quadratic", Rs, a, tQD, True, Q=Q.tolist(), centre=m.tolist(),
                    worst=[worst_point(m + math.sqrt(1.0 + tQD) * um, -1.0)],
                    reason=f"V = (x−m)ᵀQ(x−m), AᵀQ + QA = −I: LV = −|x−m|² + Tr(Qσσᵀ) ≤ −1 for |x| ≥ R* = {Rs:.4g}")
