"""Hörmander's bracket condition for degenerate noise (``docs/theory.md §4.4``).

The noise columns ``σ_j`` and their brackets with the drift must span ``R^d`` at every ``x``.
For an affine drift ``b = Ax + c`` and constant ``σ`` this is Kalman's rank condition on
``[σ, Aσ, …, A^{d−1}σ]``, decided exactly (:func:`exact_hormander`).  Otherwise the brackets
``ad_b^k σ_j`` (``ad_b V = [V, b] = (∇b)V − (∇V)b``) are computed at the points the C1–C4 search
visits (:func:`search_hormander`): ``(∇b)V`` from the game's Hessian–vector products (and a
central difference of ``b1`` at order 2), ``(∇V)b`` by a central difference of ``V`` along ``b`` (``V = σ_j`` is the symmetric square root of
``σσᵀ(x)``, so state-dependent noise contributes its own derivative).
"""
from __future__ import annotations

import numpy as np

from .linalg import kalman, psd_sqrt
from .results import Hormander, worst_point
from .shells import Problem
from .text import fmt_vec

MAX_DEPTH = 3
"""Deepest bracket ``ad_b^k σ`` searched (each level nests one more finite difference)."""

STEPS = (0.0, 6e-6, 3e-4, 5e-3)
"""Central-difference step of level ``k`` along ``b/|b|``, relative to ``max(1, |x|)``: about
the cube root of the error of level ``k − 1`` (ε, then ≈ 4e-11, 1e-7), which balances it
against the ``O(h²)`` truncation."""

TOL = (1e-8, 1e-7, 1e-5, 1e-3)
"""Rank threshold at depth ``k``: a column is kept when its norm exceeds ``TOL[k]`` times the
terms it was computed from, and the unit columns span when ``s_d > TOL[k]``; each is about
100 times the finite-difference error of that level (``STEPS``)."""


def exact_hormander(A, D) -> Hormander:
    """Kalman's rank condition for ``b = Ax + c`` and constant ``σσᵀ = D`` (``σ = D^{1/2}``)."""
    A = np.asarray(A, dtype=np.float64)
    k = kalman(A, psd_sqrt(D))
    d = A.shape[0]
    if k.controllable:
        reason = (f"rank[σ, Aσ, …, A^{d - 1}σ] = {d}: smallest relative singular value {k.s_min:.3g} "
                  f"> tolerance {k.tolerance:.2g}")
    else:
        reason = (f"rank[σ, Aσ, …, A^{d - 1}σ] = {k.rank} < {d} (relative singular values ≤ tolerance "
                  f"{k.tolerance:.2g}): the drift does not carry the noise into every direction")
    return Hormander(k.controllable, "kalman", k.s_min, k.tolerance, d - 1, k.rank, 1, True, reason=reason)


def _level(prob: Problem, x, k: int, V=None):
    """``(ad_b^k σ_j(x) as columns, the size (Frobenius) of the terms they were computed from)``;
    ``V`` is level ``k − 1`` at ``x`` when already known."""
    if k == 0:
        S = prob.factor(x)
        return S, float(np.sqrt(np.sum(S * S)))
    if V is None:
        V = _level(prob, x, k - 1)[0]
    b = prob.b(x)
    nb = float(np.linalg.norm(b))
    JV = np.zeros_like(V)
    for j in np.nonzero(np.any(V != 0, axis=0))[0]:
        JV[:, j] = prob.jvp(x, V[:, j])
    DV = np.zeros_like(V)
    if nb > 0:
        h = STEPS[k] * max(1.0, float(np.linalg.norm(x)))
        u = b / nb
        DV = (_level(prob, x + h * u, k - 1)[0] - _level(prob, x - h * u, k - 1)[0]) * (nb / (2 * h))
    return JV - DV, float(np.sqrt(max(np.sum(JV * JV), np.sum(DV * DV))))  # Frobenius: a scale, no SVD


def bracket_span(prob: Problem, x, depth: int) -> tuple[float, int]:
    """``(s, k)``: the ``d``-th singular value ``s`` of the unit columns of ``σ_j, ad_b σ_j, …,
    ad_b^k σ_j`` at ``x``, for the first ``k ≤ depth`` where ``s > TOL[k]`` (else ``k = depth``).

    Columns below ``TOL[k]`` times the terms they came from are round-off (a zero bracket)
    and are dropped before normalising.
    """
    d = prob.d
    cols = []
    s = 0.0
    with np.errstate(all="ignore"):
        C = None
        for k in range(depth + 1):
            C, scale = _level(prob, np.asarray(x, dtype=np.float64), k, C)
            if not np.all(np.isfinite(C)):
                return 0.0, k
            n = np.sqrt(np.sum(C * C, axis=0))
            keep = n > TOL[k] * scale
            cols.append(C[:, keep] / n[keep])
            M = np.hstack(cols)
            s = float(np.linalg.svd(M, compute_uv=False)[d - 1]) if M.shape[1] >= d else 0.0
            if s > TOL[k]:
                return s, k
    return s, depth


def search_hormander(prob: Problem, radii, X, evaluated, extra=()) -> Hormander:
    """Hörmander's condition at every searched point (``X[evaluated]``) and the ``extra`` points.

    Brackets up to depth ``min(d − 1, MAX_DEPTH)`` (:func:`bracket_span`), stopping at each
    point at the first depth that spans.  Mixed brackets ``[σ_k, ad_b^j σ_i]`` are not formed:
    where the drift brackets do not span, the condition is reported as failing there.
    """
    depth = min(prob.d - 1, MAX_DEPTH)
    pts = list(X[evaluated]) + [np.asarray(p, dtype=np.float64) for p in extra]
    res = [bracket_span(prob, x, depth) for x in pts]
    s = np.array([r[0] for r in res])
    ks = np.array([r[1] for r in res])
    ok = s > np.asarray(TOL)[ks]
    n_shell = int(np.count_nonzero(evaluated))
    shell_min = np.full(radii.size, np.inf)
    np.minimum.at(shell_min, np.nonzero(evaluated)[0], s[:n_shell])
    order = np.argsort(np.where(ok, s, -1.0))[:3]
    worst = [dict(worst_point(pts[i], s[i]), depth=int(ks[i])) for i in order]
    tol = {str(k): TOL[k] for k in range(depth + 1)}
    holds = bool(np.all(ok))
    i0 = int(order[0])
    if holds:
        reason = (f"σ and its brackets with b up to depth {int(ks.max())} span R^d at all {len(pts)} searched points "
                  f"(smallest relative singular value {s[i0]:.3g} at x = {fmt_vec(pts[i0])}, depth {int(ks[i0])})")
    else:
        reason = (f"the brackets up to depth {depth} do not span R^d at {int(np.count_nonzero(~ok))} of "
                  f"{len(pts)} searched points, e.g. x = {fmt_vec(pts[i0])} (relative singular value "
                  f"{s[i0]:.3g} ≤ {TOL[int(ks[i0])]:.0e}); mixed brackets [σ_k, ·] were not tried")
    return Hormander(holds, "brackets", float(s.min()), tol, int(ks.max()), None, len(pts), False, worst=worst,
                     profile={"r": radii.tolist(), "min_s": shell_min.tolist()}, reason=reason)
