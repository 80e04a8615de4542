"""Reachability of a stable equilibrium under degenerate noise (``docs/theory.md §4.4``).

Uniqueness by hypoellipticity needs a point ``x*`` that the control system
``ẋ = b(x) + σ(x)u`` can reach from every ``x``.  For an affine drift this is exact
(:func:`exact_reachability`).  Otherwise (:func:`search_reachability`) the argument has
three links, each checked numerically:

1. C4 with a convex ``V`` (``|x|²`` or the quadratic ``V``): ``∇V·b ≤ LV ≤ −1`` outside
   ``|x| ≤ R*``, so every noise-free path enters the compact set ``K = {V ≤ max_{|x|≤R*} V}``
   and stays there;
2. the noise-free flow ``ẋ = b(x)`` from the searched points in ``K`` enters a neighbourhood
   ``N`` of the stable equilibrium ``x*``: an ellipsoid of ``V_Q = (x − x*)ᵀQ(x − x*)``,
   ``AᵀQ + QA = −I`` at ``x*``, on whose sampled shells ``V_Q`` decreases along ``b``;
3. Kalman's rank condition for the linearisation at ``x*`` (local controllability): from
   near ``x*`` the noise steers onto ``x*``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from ..exact import spectral_abscissa
from .linalg import kalman, lyapunov_matrix, psd_sqrt
from .results import Local, Lyapunov, Reachability, worst_point
from .shells import Problem, directions
from .text import fmt_vec

FLOW_POINTS = 160
"""Most flows integrated (evenly spread over the searched points in ``K``, extra points first)."""

FLOW_EVALS = 60_000
"""Budget of drift evaluations for all flows; starts left over are reported as not shown.
The flows also stop at the third that fails to enter: the link is then not shown."""

LADDER = np.geomspace(1e-5, 1e2, 22)
"""Radii (× ``max(1, |x*|)``) of the shells around ``x*`` on which ``V_Q`` must decrease."""

FD_JACOBIAN_ERR = 1e-8
"""Relative error allowed in a central-difference Jacobian (Kalman's tolerance at ``x*``)."""


def exact_reachability(A, c, D) -> Reachability:
    """``b = Ax + c``, constant ``σσᵀ = D``: reachable iff ``(A, σ)`` is controllable (then every
    point is reachable from every point) and ``α(A) < 0`` (the stable equilibrium ``m``)."""
    A = np.asarray(A, dtype=np.float64)
    k = kalman(A, psd_sqrt(D))
    alpha = spectral_abscissa(A)
    m = np.linalg.lstsq(A, -np.asarray(c, dtype=np.float64), rcond=None)[0]
    holds = k.controllable and alpha < 0
    if holds:
        reason = (f"(A, σ) is controllable (Kalman) and α(A) = {alpha:.4g} < 0: the control system reaches every "
                  f"point from every point, and the noise-free flow converges to x* = {fmt_vec(m)}")
    elif not k.controllable:
        reason = f"(A, σ) is not controllable (Kalman rank {k.rank} < {A.shape[0]}): the noise cannot steer every direction"
    else:
        reason = f"α(A) = {alpha:.4g} ≥ 0: no stable equilibrium to reach"
    return Reachability(bool(holds), m.tolist(), k.controllable, k.s_min, k.tolerance, exact=True, reason=reason)


def not_examined(reason: str) -> Reachability:
    return Reachability(None, reason=reason)


def search_reachability(prob: Problem, loc: Local | None, ly: Lyapunov, starts, seed: int = 0) -> Reachability:
    """The three links of the module docstring, from the searched points ``starts`` (the
    extra points first).  Says which link fails, or why it was not examined."""
    if loc is None:
        return not_examined("the local analysis was not run: no stable equilibrium to reach")
    if not ly.holds:
        return not_examined("C4 fails: no bounded set that every noise-free path enters")
    if ly.V not in ("norm2", "quadratic"):
        return not_examined(f"V = {ly.V} is a user function, not known to be convex: link 1 (every noise-free "
                            "path enters a compact set) does not follow from C4")
    eq = next((e for e in loc.equilibria_b if e.kind == "contraction"), None)
    if eq is None:
        return Reachability(False, reason="no stable equilibrium of b found: nothing to reach")
    xs, A = np.asarray(eq.x), np.asarray(eq.jacobian)
    k = kalman(A, prob.factor(xs), rel_err=FD_JACOBIAN_ERR)
    out = Reachability(False, xs.tolist(), k.controllable, k.s_min, k.tolerance)
    if not k.controllable:
        out.reason = (f"the linearisation at x* = {fmt_vec(xs)} is not controllable (Kalman rank {k.rank} < {prob.d}): "
                      "no local controllability")
        return out
    Q = lyapunov_matrix(A)
    rho = _neighbourhood(prob, xs, Q, seed)
    if rho is None:
        out.reason = (f"at the stable equilibrium x* = {fmt_vec(xs)}, V_Q does not decrease along b on the sampled "
                      f"shell |x − x*| = {LADDER[0] * max(1.0, np.linalg.norm(xs)):.2g}: no neighbourhood found")
        return out
    level = float(np.linalg.eigvalsh(Q)[0]) * rho * rho
    out.neighbourhood = {"level": level, "radius": rho}
    RK = _compact_radius(ly)
    inside = [x for x in starts if np.linalg.norm(x) <= RK]
    out.flows, out.worst = _flows(prob, inside, xs, Q, level, _t_max(eq.rate, RK, rho))
    out.flows["radius"] = RK
    f = out.flows
    out.holds = f["entered"] == f["points"] and not f["out_of_budget"]
    if out.holds:
        out.reason = (f"the noise-free flow from all {f['points']} searched points in |x| ≤ {RK:.3g} (which C4 makes "
                      f"every path enter) enters the ellipsoid N ⊂ {{|x − x*| ≤ {rho:.3g}}}, where V_Q decreases, by "
                      f"t = {f['longest']:.3g}; locally controllable at x* = {fmt_vec(xs)} (Kalman, s_min = {k.s_min:.3g})")
    elif f["failed"] == 0:
        out.reason = (f"the evaluation budget ({FLOW_EVALS}) was spent after {f['entered']} of the {f['points']} "
                      f"noise-free flows from |x| ≤ {RK:.3g} had entered N around x* = {fmt_vec(xs)}")
    else:
        w = out.worst[0]
        stays = np.linalg.norm(prob.b(np.asarray(w["x"]))) <= 1e-9 * max(1.0, w["r"])
        out.reason = (f"{f['failed']} of the {f['points']} noise-free flows from |x| ≤ {RK:.3g} did not enter "
                      f"N ⊂ {{|x − x*| ≤ {rho:.3g}}} (x* = {fmt_vec(xs)}) by t = {f['t_max']:.3g}"
                      + (" (stopped at the third)" if f["failed"] >= 3 else "")
                      + f", e.g. from {fmt_vec(w['x'])}" + (" (a zero of b: the flow stays there)" if stays else ""))
    return out


def _neighbourhood(prob: Problem, xs, Q, seed: int):
    """Largest ladder radius ``ρ`` with ``2(x − x*)ᵀQ b(x) ≤ −½|x − x*|²`` (half the linear decay)
    on every sampled shell ``|x − x*| = ρ' ≤ ρ``; None when the smallest fails."""
    dirs = directions(prob.d, 32, seed + 11, axes=True)
    good = None
    with np.errstate(all="ignore"):
        for rho in LADDER * max(1.0, float(np.linalg.norm(xs))):
            Y = rho * dirs
            ok = all(2 * y @ Q @ prob.b(xs + y) <= -0.5 * rho * rho for y in Y)
            if not ok:
                break
            good = float(rho)
    return good


def _compact_radius(ly: Lyapunov) -> float:
    """Radius of a ball holding ``K = {V ≤ max_{|x|≤R*} V}`` (link 1)."""
    Rs = float(ly.R_star)
    if ly.V == "norm2":
        return Rs
    Q, m = np.asarray(ly.Q), np.asarray(ly.centre)
    w = np.linalg.eigvalsh(Q)
    M = w[-1] * (Rs + np.linalg.norm(m)) ** 2
    return float(np.linalg.norm(m) + math.sqrt(M / w[0]))


def _t_max(rate: float, RK: float, rho: float) -> float:
    """Time allowed per flow: 50 local relaxation times per e-fold from ``RK`` down to ``ρ``."""
    return 50.0 * (1.0 + math.log1p(RK / rho)) / max(rate, 1e-12)


class _Spent(Exception):
    pass


def _flows(prob: Problem, starts, xs, Q, level: float, T: float):
    """Integrate ``ẋ = b(x)`` (LSODA: stiff or not) from up to ``FLOW_POINTS`` starts until ``V_Q ≤ level``.

    A start at another zero of ``b`` fails at once (the noise-free flow stays there); the
    flows stop at the third failure or when ``FLOW_EVALS`` drift evaluations are spent.
    """
    if len(starts) > FLOW_POINTS:
        starts = [starts[i] for i in np.unique(np.linspace(0, len(starts) - 1, FLOW_POINTS).round().astype(int))]
    e0 = prob.evals

    def vq(t, y):
        dy = y - xs
        return float(dy @ Q @ dy) - level

    def rhs(t, y):
        if prob.evals - e0 > FLOW_EVALS:
            raise _Spent
        return prob.b(y)

    vq.terminal, vq.direction = True, -1
    entered, longest, worst, spent = 0, 0.0, [], False
    for x0 in np.asarray(starts, dtype=np.float64):
        if len(worst) >= 3:
            break
        if vq(0.0, x0) <= 0:
            entered += 1
            continue
        if np.linalg.norm(prob.b(x0)) <= 1e-9 * max(1.0, float(np.linalg.norm(x0))):
            worst.append(worst_point(x0, vq(0.0, x0) + level))  # a zero of b outside N: the flow stays
            continue
        try:
            with np.errstate(all="ignore"):
                sol = solve_ivp(rhs, (0.0, T), x0, method="LSODA", rtol=1e-6,
                                atol=1e-9 * max(1.0, float(np.linalg.norm(x0))), events=vq)
        except _Spent:
            spent = True
            break
        if sol.t_events[0].size:
            entered += 1
            longest = max(longest, float(sol.t_events[0][0]))
        else:
            worst.append(worst_point(x0, vq(0.0, sol.y[:, -1]) + level))
    flows = {"points": len(starts), "entered": entered, "failed": len(worst), "t_max": T, "longest": longest,
             "evaluations": prob.evals - e0, "out_of_budget": spent,
             "method": "scipy solve_ivp LSODA (rtol 1e-6) until (x − x*)ᵀQ(x − x*) ≤ level"}
    return flows, worst
