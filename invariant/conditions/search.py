"""C1–C4 by an honest numerical search over the unbounded domain (``docs/theory.md §4``).

Geometric shells of radii ``radius_min … radius_max`` around the origin, quasi-random
(scrambled Sobol) directions plus the coordinate axes (:func:`~.shells.sample`), and local
optimisation (L-BFGS-B on the sphere, finite-difference gradients) from the worst samples
(:class:`~.shells.Refiner`).  One function per condition reads its constants off the
outermost shells and their trend over the last decade of radii: a quantity still decaying to
0, or still growing, at the search bound is reported as failing the condition.
"""
from __future__ import annotations

import time

import numpy as np

from ..options.conditions import SMALL_D, budget, validate_options
from ..schemes import Scheme
from .lyapunov import norm2, search_lyapunov
from .results import BoundedDiffusion, BoundedJacobian, Dissipativity, Ellipticity, Searched, worst_point
from .shells import (TREND, Grid, Problem, Refiner, directions, erratic, sample, sigma_source,
                     slope, tail_start, top)
from .text import fmt_vec


def search_conditions(game, scheme: Scheme, options: dict | None = None, quantities=None, affine=None,
                      extra_points=()):
    """C1–C4 by an honest numerical search (see the module docstring).

    Parameters
    ----------
    game : Game
    scheme : Scheme
        Its ``drift`` and ``diffusion`` are the SDE's ``b`` and ``σσᵀ``.
    options : dict, optional
        The ``[conditions]`` options (:data:`~invariant.options.conditions.DEFAULTS`).
    quantities : list, optional
        Candidate Lyapunov functions (default ``[|x|²]``).
    affine : tuple, optional
        ``(A, c, D)``: search the exact affine coefficients instead of the game's.
    extra_points : sequence of arrays
        Points added to the search (equilibria, the initial state).

    Returns
    -------
    (BoundedDiffusion, BoundedJacobian, Dissipativity, Ellipticity, list[Lyapunov], Searched)
    """
    opts = budget(validate_options(options), game.d)
    t0 = time.perf_counter()
    prob = Problem(game, scheme, affine)
    quantities = [norm2()] if quantities is None else list(quantities)
    g = sample(prob, opts, quantities, extra_points)
    ref = Refiner.for_budget(opts, len(quantities))
    diss = search_dissipativity(g, prob, ref)
    ell = search_ellipticity(g, prob, ref)
    bd = search_bounded_diffusion(g, prob, ref)
    bj, jac = search_bounded_jacobian(g, prob, opts["seed"])
    lyaps = [search_lyapunov(g, k, V, prob, ref) for k, V in enumerate(quantities)]
    searched = Searched(
        method="search", why="",
        radii={"min": float(g.radii[0]), "max": float(g.radii[-1]), "count": int(g.radii.size), "centre": "origin"},
        directions=int(g.X.shape[1]), axes=g.axes, seed=int(opts["seed"]),
        local=(f"L-BFGS-B over the direction on the shell of each start (finite-difference gradients), "
               f"≤ {ref.per_start} evaluations per start, from the {ref.starts} worst samples per condition; "
               f"‖∇b‖: {jac}"),
        starts=ref.n_starts, local_evals=ref.n_local, evaluations=prob.evals,
        seconds=time.perf_counter() - t0,
        sigma=sigma_source(game) if affine is None else "constant (exact affine coefficients)",
    )
    return bd, bj, diss, ell, lyaps, searched


# --------------------------------------------------------------------------- C2
def search_dissipativity(g: Grid, prob: Problem, ref: Refiner) -> Dissipativity:
    """C2: ``c = −limsup x·b/|x|²`` read off the outer shells, with ``R`` for ``c/2`` and the weak form.

    Refinement starts from the worst samples on the outer shells and anywhere.  A maximum
    of ``x·b/|x|²`` still fading to 0 at the search bound (log-log slope below ``−TREND``)
    fails C2; a superlinear one states the ``c`` that holds from the first shell ``≥ 1``.
    """
    q, radii, tail = g.ratio, g.radii, g.tail
    half = max(1, ref.starts // 2 + ref.starts % 2)
    ref.improve(prob.ratio, top(q.values, half, g.tail_mask), q)
    ref.improve(prob.ratio, top(q.values, ref.starts - half), q)
    qmax = q.values.max(axis=1)
    c = float(-qmax[tail].max())
    growth = slope(radii, -qmax) if np.all(qmax[g.decade] < 0) else None
    finite_q = np.abs(qmax[np.isfinite(qmax)])
    negligible = finite_q.size > 0 and bool(np.all(np.abs(qmax[tail]) <= 1e-9 * max(finite_q.max(), 1e-300)))
    fading = negligible or (growth is not None and growth < -TREND)
    worst = [worst_point(q.point(i, j), q.values[i, j]) for (i, j) in top(q.values, 3, g.tail_mask)]
    profile = g.profile("max_ratio", qmax)
    if not (np.isfinite(c) and c > 0 and not fading):
        reason = _not_dissipative(g, qmax, c, growth, negligible, fading)
        return Dissipativity(False, 0.0 if fading else c, None, None, None, None, growth, False,
                             worst=worst, profile=profile, reason=reason)
    superlinear = growth is not None and growth > TREND
    if superlinear:
        # any c works for R large enough: state the c that holds from R = the first shell
        # >= 1 beyond which x·b < 0 on every searched shell
        k = max(tail_start(qmax < 0), int(np.searchsorted(radii, 1.0)))
        k = min(k, radii.size - 1)
        R = float(radii[k])
        c = c_at = float(-qmax[k:].max())
        reason = (f"superlinear dissipation (max x·b/|x|² on the shells ∝ −|x|^{growth:.2f}): "
                  f"x·b ≤ −{c:.4g}|x|² on every shell from R = {R:.4g}, larger c from larger R")
    else:
        k = min(tail_start(qmax <= -c / 2), radii.size - 1)  # the last shell passes: the tail's max is −c
        R = float(radii[k])
        c_at = c / 2
        reason = f"x·b ≤ −{c:.4g}|x|² on the outer shells, ≤ −{c_at:.4g}|x|² on every shell from R = {R:.4g}"
    alpha = min(c_at if superlinear else c / 2, c / 2)
    beta = float(max(0.0, np.max((q.values + alpha) * radii[:, None] ** 2)))
    return Dissipativity(True, c, R, c_at, alpha, beta, growth, False, worst=worst, profile=profile, reason=reason)


def _not_dissipative(g: Grid, qmax, c, growth, negligible, fading) -> str:
    """Why C2 fails: the dissipation fades away at large ``|x|``, or ``x·b/|x|² ≥ 0`` out there."""
    radii, tail = g.radii, g.tail
    if negligible:
        reason = (f"x·b/|x|² → 0 at large |x| (|max| ≤ {np.abs(qmax[tail]).max() + 0.0:.3g} on the outer shells: "
                  "the drift vanishes or saturates there): no uniform c > 0")
    elif fading:
        reason = (f"x·b/|x|² → 0 at large |x| (its max on the shells ∝ |x|^{growth:.2f}, "
                  f"{qmax[-1]:.3g} at |x| = {radii[-1]:.3g}): no uniform c > 0")
    else:
        reason = f"x·b/|x|² reaches {-c:.4g} ≥ 0 at |x| ≈ {radii[int(np.argmax(np.where(tail, qmax, -np.inf)))]:.3g}"
    wi = top(g.ratio.values, 1, g.tail_mask)
    if wi:
        reason += f" (worst direction {fmt_vec(g.ratio.point(*wi[0]) / radii[wi[0][0]])})"
    return reason


# --------------------------------------------------------------------------- C3
def search_ellipticity(g: Grid, prob: Problem, ref: Refiner) -> Ellipticity:
    """C3: the smallest ``λ_min(σσᵀ)`` found, failing if it still decays at the search bound."""
    lmin, radii = g.lam_min, g.radii
    ref.improve(prob.lam_min, top(lmin.values, ref.starts, largest=False), lmin, largest=False)
    shell_min = lmin.values.min(axis=1)
    ex_min = min(g.extra, key=lambda t: t[1])
    lam_min = float(min(shell_min.min(), ex_min[1]))
    ref_scale = float(np.nanmedian(np.where(np.isfinite(g.lam_max.values), g.lam_max.values, np.nan)))
    ref_scale = ref_scale if np.isfinite(ref_scale) and ref_scale > 0 else 1.0
    positive = lam_min > 1e-9 * ref_scale
    g3 = slope(radii, shell_min)
    decaying = g3 is not None and g3 < -TREND
    rough = erratic(radii, shell_min)
    holds = positive and not decaying and not rough
    if holds:
        reason = f"λ_min(σσᵀ) ≥ {lam_min:.4g} over the search"
    elif rough and positive and not decaying:
        reason = "inconclusive: the shell minima of λ_min jump by more than 10× between shells (under-sampled)"
    elif decaying and positive:
        reason = f"λ_min(σσᵀ) still decays at the search bound (∝ |x|^{g3:.2f}): infimum 0"
    else:
        wi = np.unravel_index(np.argmin(lmin.values), lmin.values.shape)
        xw = ex_min[0] if ex_min[1] <= lmin.values[wi] else lmin.point(*wi)
        reason = f"σσᵀ degenerate: λ_min = {lam_min:.3g} at x = {fmt_vec(xw)}"
    worst = [worst_point(lmin.point(i, j), lmin.values[i, j]) for (i, j) in top(lmin.values, 3, largest=False)]
    if ex_min[1] <= lam_min:
        worst.insert(0, worst_point(ex_min[0], ex_min[1]))
    return Ellipticity(bool(holds), lam_min, g3, False, worst=worst, profile=g.profile("min_lambda", shell_min),
                       reason=reason)


# --------------------------------------------------------------------------- C1
def _sup_trend(radii, maxima, sup) -> tuple[bool, float | None, bool]:
    """``(bounded, growth, erratic)`` of shell maxima: bounded unless still growing at the
    search bound (log-log slope ``≥ TREND``) or too erratic to tell."""
    growth = slope(radii, maxima)
    rough = erratic(radii, maxima)
    return bool(np.isfinite(sup) and (growth is None or growth < TREND) and not rough), growth, rough


def _sup_reason(bounded, growth, rough, sup, norm: str, grows: str, under: str = "") -> str:
    """Reason for a searched C1 bound on ``norm`` (``grows``: the figures after a growth exponent)."""
    if bounded:
        return f"sup {norm} = {sup:.4g} (flat at the search bound)"
    if rough and (growth is None or growth < TREND):
        return f"inconclusive: the shell maxima of {norm} jump by more than 10× between shells{under}"
    return f"{norm} grows like |x|^{growth:.2f} ({grows})"


def search_bounded_diffusion(g: Grid, prob: Problem, ref: Refiner) -> BoundedDiffusion:
    """C1 for ``σσᵀ``: the largest ``‖σσᵀ‖`` found (shells, refinement, extra points)."""
    lmax, radii = g.lam_max, g.radii
    ref.improve(prob.lam_max, top(lmax.values, ref.starts, g.tail_mask), lmax)
    shell_max = lmax.values.max(axis=1)
    sup = float(max(shell_max.max(), max(t[2] for t in g.extra)))
    bounded, growth, rough = _sup_trend(radii, shell_max, sup)
    if shell_max[-1] == 0:
        growth, bounded, rough = 0.0, True, False
    reason = _sup_reason(bounded, growth, rough, sup, "‖σσᵀ‖", f"max {shell_max[-1]:.3g} at |x| = {radii[-1]:.3g}",
                         " (under-sampled)")
    return BoundedDiffusion(bounded, sup, growth, False,
                            worst=[worst_point(lmax.point(i, j), lmax.values[i, j]) for (i, j) in top(lmax.values, 3)],
                            profile=g.profile("max_norm", shell_max), reason=reason)


def _jacobian_norm(prob: Problem, x, probes) -> float:
    """``‖∇b(x)‖₂`` by central differences, or (``probes``: unit directions ``v_k``) the lower
    bound ``max_k |∇b v_k|`` by forward differences; ``inf`` where not finite."""
    with np.errstate(all="ignore"):
        if probes is None:
            J = prob.jacobian(x, central=True)
            return float(np.linalg.norm(J, 2)) if np.all(np.isfinite(J)) else np.inf
        h = 1e-6 * max(1.0, float(np.linalg.norm(x)))
        bx = prob.b(x)
        v = max(float(np.linalg.norm(prob.b(x + h * p) - bx)) / h for p in probes)
        return v if np.isfinite(v) else np.inf


def search_bounded_jacobian(g: Grid, prob: Problem, seed: int) -> tuple[BoundedJacobian, str]:
    """C1 for ``∇b``, and how it was probed.

    Central-difference Jacobians at the 2 points per shell where ``b`` varies most
    (``d <= SMALL_D``); above, a lower bound ``max_k |∇b v_k|`` over 4 random unit ``v_k``
    (forward differences) at 1 point per shell.
    """
    radii, X, ns, d = g.radii, g.X, g.radii.size, prob.d
    small = d <= SMALL_D
    per_shell = 2 if small else 1
    probes = None if small else directions(d, 4, seed + 7, axes=False)
    jn = np.zeros(ns)
    worst = []
    for i in range(ns):
        for j in np.argsort(-np.where(np.isfinite(g.spread[i]), g.spread[i], -np.inf))[:per_shell]:
            v = _jacobian_norm(prob, X[i, j], probes)
            if v >= jn[i]:
                jn[i] = v
                if i >= ns - 3:
                    worst.append(worst_point(X[i, j], v))
    sup = float(max(jn.max(), _jacobian_norm(prob, np.zeros(d), probes)))
    bounded, growth, rough = _sup_trend(radii, jn, sup)
    reason = _sup_reason(bounded, growth, rough, sup, "‖∇b‖", f"{jn[-1]:.3g} at |x| = {radii[-1]:.3g}")
    how = ("central-difference Jacobians (spectral norm) at the 2 points per shell where b varies most" if small
           else "lower bound max_k |∇b v_k| from 4 random directional derivatives at 1 point per shell")
    return BoundedJacobian(bounded, sup, growth, False, worst=worst[-3:], profile=g.profile("max_norm", jn),
                           reason=reason), how
