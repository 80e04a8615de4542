"""Section 5: the mixing rate κ by every method, and the relaxation experiment's curves."""
from __future__ import annotations

import matplotlib.ticker as mticker
import numpy as np

from ..mixing import relaxation_curves, scaled_errors
from . import html as H
from . import style
from .context import RunContext, Unavailable
from .fmt import count, finite, greek, interval, num
from .traces import shown_coordinates

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


def relaxation_distance(runs, stationary, rate: float | None = None, window=None) -> dict:
    """Distance of the relaxation ensembles' laws to the stationary law against SDE time.

    ``distance`` is the size of the pairs' half-differences of means (unpaired starts: mean
    errors), coordinates scaled by the stationary standard deviations — the curves
    :func:`invariant.mixing.relaxation_rate` fits (:func:`invariant.mixing.scaled_errors`) —
    with its standard error; ``w1`` the summed W1 of the marginals with its noise floor,
    ``cov_error`` the mean relative covariance error.  Given a rate κ (e.g.
    ``mixing.methods.relaxation.rate``) and the fit window, ``model`` is ``A e^{−κt}`` with
    ``A`` matched to ``distance`` over the window (least squares in log).

    Parameters
    ----------
    runs : list of RunResult
        :func:`invariant.mixing.load_relaxation`.
    stationary : RunResult
    rate : float, optional
    window : (float, float), optional
        Default: all times.

    Returns
    -------
    dict
        ``t``, ``distance``, ``distance_se``, ``w1``, ``w1_floor``, ``cov_error`` and, with a
        rate, ``model``.
    """
    curves = relaxation_curves(runs, stationary)
    t = curves.t
    blocks = scaled_errors(runs, stationary, len(t))
    mc = np.concatenate([b.mean(0) for b in blocks], axis=1)  # (n_t, curves)
    se = np.concatenate([b.std(0, ddof=1) / np.sqrt(max(b.shape[0], 1)) if b.shape[0] > 1
                         else np.full(b.shape[1:], np.nan) for b in blocks], axis=1)
    dist = np.sqrt(np.sum(mc**2, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        dist_se = np.sqrt(np.sum((mc * se) ** 2, axis=1)) / np.where(dist > 0, dist, np.nan)
    out = {"t": t, "distance": dist, "distance_se": dist_se, "w1": curves.w1.sum(axis=(0, 2)),
           "w1_floor": float(curves.w1_floor.sum() * len(runs)), "cov_error": curves.cov_error.mean(0)}
    if rate is not None and np.isfinite(rate):
        lo, hi = (t[0], t[-1]) if window is None else window
        sel = (t >= lo) & (t <= hi) & (dist > 0)
        if np.any(sel):
            logA = float(np.mean(np.log(dist[sel]) + rate * t[sel]))
            out["model"] = np.exp(logA - rate * t)
    return out


def _relaxation(ctx: RunContext, mix: dict) -> str:
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
    c = ctx.cached("relax", lambda: relaxation_distance(runs, r, rate, window))
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
