"""Text of the conditions: vectors and numbers in reasons, and the table ``invariant check`` prints."""
from __future__ import annotations

import math

import numpy as np

from .results import Conditions


def fmt_vec(v) -> str:
    """A short ``(v1, v2, …)`` for a reason; round-off zeros print as 0, long vectors abridged."""
    v = np.asarray(v, dtype=float).ravel()
    big = float(np.max(np.abs(v))) if v.size else 0.0
    v = np.where(np.abs(v) <= 1e-12 * max(big, 1.0), 0.0, v) + 0.0
    if v.size > 6:
        return "(" + ", ".join(f"{t:.3g}" for t in v[:5]) + f", … {v.size} entries, |x| = {np.linalg.norm(v):.3g})"
    return "(" + ", ".join(f"{t:.3g}" for t in v) + ")"


def vname(v: str) -> str:
    """How a Lyapunov candidate ``V`` is named in reasons and in the table."""
    return {"norm2": "V = |x|²", "quadratic": "quadratic V"}.get(v, f"V = {v}")


def _f(x, fmt=".4g") -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return format(x + 0.0, fmt)


def _yes(holds: bool) -> str:
    return "yes" if holds else "NO"


def _method_line(c: Conditions) -> str:
    s = c.searched
    if c.exact:
        return "exact (docs/theory.md §4 closed forms): " + s.why
    return (f"numerical search: {s.radii.get('count')} shells |x| = {_f(s.radii.get('min'), '.3g')}…{_f(s.radii.get('max'), '.3g')}, "
            f"{s.directions} directions (±axes on {s.axes or 'no shell'}), {s.starts} local optimisations, "
            f"{s.evaluations} evaluations, {s.seconds:.2f} s")


def _condition_lines(c: Conditions) -> list[str]:
    """One line per condition C1–C4 (and per other ``V`` tried)."""
    d, e, b, j, ly = c.dissipativity, c.ellipticity, c.bounded_diffusion, c.bounded_jacobian, c.lyapunov
    ge, le = ("=", "=") if c.exact else ("≥", "≤")  # a search bounds a sup from below, an inf from above
    lines = [f"  {'C1 bounded σσᵀ':<28} {_yes(b.holds):<6} sup ‖σσᵀ‖ {ge} {_f(b.sup_norm)}"
             + ("" if b.holds else f": {b.reason}"),
             f"  {'C1 bounded ∇b':<28} {_yes(j.holds):<6} sup ‖∇b‖ {ge} {_f(j.sup_norm)}"
             + ("" if j.holds else f": {j.reason}")]
    if d.holds:
        c2 = (f"c = {_f(d.c)}; x·b ≤ −{_f(d.c_at_R)}|x|² for |x| ≥ R = {_f(d.R)}; "
              f"weak: α = {_f(d.alpha)}, β = {_f(d.beta)}")
    else:
        c2 = f"c = {_f(d.c)}: {d.reason}"
    lines.append(f"  {'C2 dissipativity':<28} {_yes(d.holds):<6} {c2}")
    lines.append(f"  {'C3 uniform ellipticity':<28} {_yes(e.holds):<6} inf λ_min(σσᵀ) {le} {_f(e.lambda_min)}"
                 + ("" if e.holds else f": {e.reason}"))
    lab = f"C4 Lyapunov ({vname(ly.V).replace('V = ', '')})"
    if ly.holds:
        c4 = f"LV ≤ −1 for |x| ≥ R* = {_f(ly.R_star)}; LV ≤ −aV + β with a = {_f(ly.a)}, β = {_f(ly.beta)}"
    else:
        c4 = ly.reason
    lines.append(f"  {lab:<28} {_yes(ly.holds):<6} {c4}")
    for cand in ly.candidates:
        if cand["V"] != ly.V:
            lines.append(f"  {'   also tried ' + vname(cand['V']).replace('V = ', ''):<28} {_yes(cand['holds']):<6} {cand['reason']}")
    return lines + _degenerate_lines(c)


def _holds3(h) -> str:
    return "—" if h is None else _yes(h)


def hormander_summary(h) -> str:
    """The constants of a :class:`~invariant.conditions.Hormander` result, in a few words."""
    if h.method == "kalman":
        return f"Kalman rank {h.rank} of {h.depth + 1}, s_min = {_f(h.s_min, '.3g')} (tolerance {_f(h.tolerance, '.2g')})"
    if h.method == "brackets":
        tol = h.tolerance.get(str(h.depth)) if isinstance(h.tolerance, dict) else h.tolerance
        return (f"brackets to depth {h.depth} at {h.points} searched points, min s_d = {_f(h.s_min, '.3g')} "
                f"(tolerance {_f(tol, '.2g')})")
    return h.reason


def reach_summary(r) -> str:
    """A :class:`~invariant.conditions.Reachability` result in a few words."""
    if r.holds and r.exact:
        return f"(A, σ) controllable and A stable: x* = {fmt_vec(r.x_star)} is reached from everywhere"
    if r.holds:
        f = r.flows
        return (f"noise-free flows from {f['points']} points in |x| ≤ {f['radius']:.3g} enter the basin of "
                f"x* = {fmt_vec(r.x_star)}, locally controllable there")
    return r.reason


def _degenerate_lines(c: Conditions) -> list[str]:
    """Hörmander's condition and reachability (docs/theory.md §4.4), shown where C3 fails."""
    h, r = c.hormander, c.reachability
    if h is None or h.method == "ellipticity":
        return []
    hc = hormander_summary(h) + ("" if h.holds or h.method == "none" else f": {h.reason}")
    lines = [f"  {'Hörmander (' + h.method + ')':<28} {_holds3(h.holds):<6} {hc}"]
    if r is not None:
        lines.append(f"  {'reachability':<28} {_holds3(r.holds):<6} {r.reason}")
    return lines


def format_report(c: Conditions) -> str:
    """A readable table of C1–C4, the local analysis and the verdict (``invariant check``)."""
    lines = [
        f"{c.game} game, {c.scheme} lr={c.lr:g} N={c.batch_size}, SDE {c.sde} (order {c.order})",
        f"  method: {_method_line(c)}",
        f"  {'condition':<28} {'holds':<6} constants",
        *_condition_lines(c),
    ]
    if "Monte Carlo" in c.searched.sigma:
        lines.append(f"  Σ: {c.searched.sigma} — λ_min and sup ‖σσᵀ‖ carry its sampling error")
    if c.local is not None:
        lines.append(f"  local: {c.local.summary}")
        if c.local.step_map is not None:
            lines.append(f"  one-step map: {c.local.step_map['description']}")
    for n in c.notes:
        lines.append(f"  note: {n}")
    lines.append(f"verdict: {c.verdict} — {c.reason}")
    return "\n".join(lines)
