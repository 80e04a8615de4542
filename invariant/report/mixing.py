"""Section 5: the mixing rate κ by every method, and the relaxation experiment's curves."""
from __future__ import annotations

import matplotlib.ticker as mticker
import numpy as np

from . import html as H
from . import style
from .context import RunContext, Unavailable
from .fmt import count, finite, greek, interval, num

ID, TITLE = "mixing", "5. Mixing rate κ"

_LABEL = {"autocorrelation": "autocorrelation decay", "relaxation": "relaxation of dispersed starts",
          "spectral": "EDMD spectral (λ₂)", "fokker_planck": "Fokker–Planck gap (reference)"}


def section(ctx: RunContext) -> str:
    mix = ctx.get("mixing")
    gone = H.unavailable(mix, "rate", "The mixing rate was not estimated for this run (summary.json has no mixing "
                         "section).", "mixing rate")
    if gone:
        return gone
    lvl = mix.get("level", 0.95)
    body = (f'<p>Headline: <b>κ = {H.esc(num(mix["rate"]))}</b> {H.esc(interval(mix.get("rate_interval")))} '
            f'per unit of SDE time ({H.esc(mix.get("method"))}, {lvl:.0%} bootstrap interval over chains'
            f'{"" if mix.get("reliable", True) else "; flagged unreliable"}).')
    ex = mix.get("exact") or {}
    if finite(ex.get("sde")):
        body += f' Exact for this affine game: κ = {H.esc(num(ex["sde"]))} (simulated chain: {H.esc(num(ex.get("simulated")))}).'
    body += "</p>"
    if mix.get("disagreement"):
        body += H.warn("Methods disagree (non-overlapping intervals): " + "; ".join(mix.get("disagreements") or []))
    else:
        body += '<p class="sub">No disagreement: every pair of intervals overlaps.</p>'
    if mix.get("warning"):
        body += H.warn(mix["warning"])
    rows = []
    for k, e in (mix.get("methods") or {}).items():
        if not isinstance(e, dict):
            continue
        head = "★ " if k == mix.get("method") else ""
        rows.append([head + _LABEL.get(k, k), num(e.get("rate")), interval(e.get("interval")),
                     H.yes_no(e.get("reliable"), "yes", "no") if e.get("reliable") is not None else "—",
                     num(e.get("chain_rate")) if "chain_rate" in e else "—", H.Note(e.get("note", ""))])
    if rows:
        body += H.table(["method", "κ", f"{lvl:.0%} interval", "reliable", "chain's κ", "how"], rows, left=(0, 3, 5))
    obs = mix.get("observables") or {}
    if obs:
        from .traces import shown_coordinates

        names = list(obs)
        coords = [n for n in names if n in ctx.names]
        pick = [coords[i] for i in shown_coordinates(coords, 6)] + [n for n in names if n not in ctx.names]
        orows = [[greek(n), num(obs[n].get("iat"), 3), num(obs[n].get("iat_draws"), 3),
                  "yes" if obs[n].get("reliable") else "no", count(obs[n].get("ess_bulk")), num(obs[n].get("rhat"), 4),
                  num(obs[n].get("rate"), 3)] for n in pick]
        body += "<h3>Integrated autocorrelation times</h3>"
        body += H.table(["observable", "τ (SDE time)", "τ (draws)", "n ≥ 50 τ", "ESS (bulk)", "R-hat", "own decay rate"], orows)
        if len(pick) < len(names):
            body += f'<p class="sub">{len(pick)} of {len(names)} observables; summary.json has them all.</p>'
    body += "<h3>Relaxation from dispersed starts</h3>" + _relaxation(ctx, mix)
    return body


def _relaxation(ctx: RunContext, mix: dict) -> str:
    from .. import mixing

    rel = (mix.get("methods") or {}).get("relaxation")
    runs = ctx.relaxation_runs()
    if not runs:
        return H.missing("The relaxation experiment was not run ([mixing] relaxation = true runs it; "
                         "its runs are saved in DIR/relaxation/).")
    try:
        r = ctx.result
        ctx.live_draws()
    except Unavailable as exc:
        return H.missing(f"No relaxation curves: {exc}.")
    rate = rel.get("chain_rate", rel.get("rate")) if isinstance(rel, dict) else None
    window = rel.get("window") if isinstance(rel, dict) else None
    c = ctx.cached("relax", lambda: mixing.relaxation_distance(runs, r, rate, window))
    t = c["t"]
    with style.theme():
        fig, axes = style.figure(1, 2, height=3.3)
        ax = axes[0, 0]
        d, se = c["distance"], c["distance_se"]
        ax.fill_between(t, np.clip(d - 2 * se, d * 1e-3, None), d + 2 * se, color="C0", alpha=0.2, lw=0)
        ax.plot(t, d, color="C0", lw=1.4, label="mean error (pairs' half-differences, in sd)")
        if "model" in c:
            ax.plot(t, c["model"], "--", color="C3", lw=1.8, zorder=4, label=f"A e^(−κt), κ = {rate:.3g}")
        if window:
            ax.axvspan(window[0], window[1], color="C3", alpha=0.06, lw=0, label="fit window")
        ax.set_yscale("log")
        pos = d[d > 0]
        if pos.size:
            ax.set_ylim(max(pos.min(), pos.max() * 1e-6) * 0.5, pos.max() * 2)
        ax.set_xlabel("SDE time t since the start")
        ax.set_ylabel("distance to the stationary mean")
        ax.legend(loc="lower left", fontsize=7)
        ax.set_title(f"{len(runs)} ensembles, mean error")
        ax = axes[0, 1]
        ax.plot(t, c["w1"], color="C2", lw=1.3, label="Σ W1 of the marginals")
        ax.axhline(c["w1_floor"], color="C2", ls=":", lw=1, label="W1 noise floor")
        ax.plot(t, c["cov_error"], color="C4", lw=1.3, label="‖Cov_t − P‖/‖P‖ (mean over starts)")
        ax.set_yscale("log")
        plain = mticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_locator(mticker.LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_xlabel("SDE time t since the start")
        ax.set_ylabel("distance")
        ax.legend(loc="upper right", fontsize=7)
        ax.set_title("law: W1 and covariance error")
        uri = style.encode(fig)
    cap = ("Ensembles started at ± relaxation_spread stationary sd along the principal axes (antithetic pairs with "
           "common noise). Left: size of the pairs' mean half-differences (coordinates in stationary sd) with ± 2 s.e.; "
           "dashed: e^(−κt) with the relaxation estimate's κ of the simulated chain, matched over the fit window.")
    if isinstance(rel, dict) and finite(rel.get("w1_rate")):
        cap += f" The log-linear W1 rate is {num(rel['w1_rate'], 3)}."
    return H.figure(uri, cap)
