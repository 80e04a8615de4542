"""Section 7: mixed strategies — the conditional laws θ | ω and ω | θ (docs/theory.md §7)."""
from __future__ import annotations

import numpy as np

from .. import strategies
from . import html as H
from . import style
from .context import RunContext, Unavailable
from .fmt import finite, greek, num, pm

ID, TITLE = "strategies", "7. Mixed strategies"

SLICES = (-1.0, 0.0, 1.0)  # conditioning values: the other player's mean ± these many sd along its first coordinate
WHICH = (("theta_given_omega", "θ | ω", "omega"), ("omega_given_theta", "ω | θ", "theta"))


def section(ctx: RunContext) -> str:
    sec = ctx.get("strategies")
    gone = H.unavailable(sec, "theta_given_omega", "The mixed strategies were not analysed for this run (summary.json "
                         "has no strategies section).", "mixed strategies")
    if gone:
        return gone
    names = ctx.names
    body = ""
    for key, label, _ in WHICH:
        c = sec.get(key)
        if not isinstance(c, dict):
            continue
        body += _table(c, label, names, key)
    body += "<h3>Conditional densities on slices</h3>" + _densities(ctx, sec)
    return body


def _table(c, label, names, key) -> str:
    th = [n for n in names if not n.startswith("omega")]
    om = [n for n in names if n.startswith("omega")]
    target, given = (th, om) if key == "theta_given_omega" else (om, th)
    if c.get("skipped"):
        return H.missing(f"{label}: skipped ({c['skipped']}).")
    at = c.get("at") or []
    k = min(len(target), 6)
    mean, mse = c.get("mean") or [], c.get("mean_se") or [None] * len(target)
    cov, cse = c.get("cov") or [], c.get("cov_se") or []
    exm, exc = c.get("exact_mean"), c.get("exact_cov")
    rows = []
    for i in range(k):
        row = [greek(target[i]), pm(mean[i], mse[i]), pm(cov[i][i], cse[i][i] if cse else None, 3)]
        rows.append(row + ([num(exm[i]), num(exc[i][i], 3)] if exm and exc else []))
    at_s = ", ".join(f"{greek(n)} = {num(v, 3)}" for n, v in list(zip(given, at))[:4]) + (" …" if len(at) > 4 else "")
    out = (f"<p><b>{label}</b> at the stationary mean ({H.esc(at_s)}), method <code>{H.esc(c.get('method'))}</code>"
           + (f", bandwidth {num(c.get('bandwidth'), 3)}" if finite(c.get("bandwidth")) else "")
           + f", {num(c.get('n_local'), 4)} effective draws:</p>")
    head = ["coordinate", "conditional mean ± s.e.", "conditional variance ± s.e."]
    out += H.table(head + (["exact mean", "exact variance"] if exm and exc else []), rows)
    return out


def _densities(ctx: RunContext, sec: dict) -> str:
    try:
        r = ctx.result
        ctx.live_draws()
    except Unavailable as exc:
        return H.missing(f"No conditional densities: {exc}.")
    game = r.game
    marg = sec.get("marginals") or {}
    panels = []
    notes = []
    for key, label, given in WHICH:
        mg = marg.get(given) or {}
        m, P = mg.get("mean"), mg.get("cov")
        if P is None and mg.get("variance") is not None:  # the full covariance was not tracked
            P = np.diag(np.asarray(mg["variance"], dtype=float))
        gdim = game.d_omega if given == "omega" else game.d_theta
        if gdim > strategies.LOCAL_MAX_DIM:
            notes.append(f"{label}: the conditioning player has {gdim} coordinates; kernel conditional densities "
                         f"need ≤ {strategies.LOCAL_MAX_DIM} (the table above gives the linear conditional law).")
            continue
        if m is None or P is None:
            notes.append(f"{label}: no stationary moments of {given} in summary.json to place the slices.")
            continue
        m = np.asarray(m, dtype=float)
        sd = float(np.sqrt(max(np.asarray(P, dtype=float)[0, 0], 0.0)))
        curves = []
        for s in SLICES:
            at = m.copy()
            at[0] += s * sd
            cd = ctx.cached(("cd", key, s), lambda at=at, key=key: strategies.conditional_density(
                r, key, at=at, gridsize=96, max_points=2000))
            curves.append((s, at, cd))
        panels.append((key, label, given, curves))
    if not panels:
        return "".join(H.missing(n) for n in notes) or H.missing("No conditional densities.")
    with style.theme():
        fig, axes = style.figure(1, len(panels), height=3.2)
        cols = style.colors(len(SLICES))
        for ax, (_key, _label, given, curves) in zip(axes[0], panels):
            gname = greek(game.param_names[0 if given == "theta" else game.d_theta])
            for (s, at, cd), col in zip(curves, cols):
                ax.plot(cd.grids[0], cd.kde[0], color=col, lw=1.5,
                        label=f"{gname} = {at[0]:.3g} (" + ("mean" if s == 0 else f"mean {'+' if s > 0 else '−'} {abs(s):g} sd") + ")")
                if cd.residual:
                    ax.plot(cd.grids[0], cd.residual[0], ":", color=col, lw=1.2)
            ax.set_xlabel(greek(cd.names[0]))
            ax.set_ylabel("conditional density")
            ax.set_title(f"{greek(cd.names[0])} given {gname}" + (" (other coordinates at their means)" if
                                                                   (game.d_omega if given == "omega" else game.d_theta) > 1 else ""))
            ax.legend(loc="upper right", fontsize=7)
        uri = style.encode(fig)
    cap = ("Conditional kernel density estimates (solid; statsmodels KDEMultivariateConditional) and local regression "
           "plus residual law (dotted), on slices of the other player at its stationary mean and ± 1 sd.")
    return H.figure(uri, cap) + "".join(H.missing(n) for n in notes)
