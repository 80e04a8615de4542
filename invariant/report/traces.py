"""Section 3: traces of the kept draws and their autocorrelations against t."""
from __future__ import annotations

import numpy as np

from ..mixing import coordinate_acfs, draw_spacing, fit_decay, live_draws
from . import html as H
from . import style
from .context import RunContext, Unavailable
from .fmt import greek, interval, num

ID, TITLE = "traces", "3. Traces and autocorrelations"

MAX_COORDS = 4   # panels (coordinates) shown
MAX_CHAINS = 3   # chains drawn per trace panel


def shown_coordinates(names: list, k: int = MAX_COORDS) -> list:
    """Indices of the coordinates to plot: all for small d, else θ's and ω's first ones."""
    if len(names) <= k:
        return list(range(len(names)))
    th = [i for i, n in enumerate(names) if not n.startswith("omega")]
    om = [i for i, n in enumerate(names) if n.startswith("omega")]
    half = k // 2
    pick = th[:half] + om[: k - min(half, len(th))]
    pick += [i for i in th[half:] if len(pick) < k]
    return sorted(pick[:k])


def section(ctx: RunContext) -> str:
    try:
        r = ctx.result
    except Unavailable as exc:
        return H.missing(f"No traces: {exc}.")
    if r.draws.shape[1] == 0:
        return H.missing("No traces: the run kept no draws (t_end ≤ t_burn or keep_draws = 0).")
    names = list(r.game.param_names)
    idx = shown_coordinates(names)
    t = r.draw_t
    x = r.draws
    ok = np.any(np.isfinite(x[:, :, 0]), axis=1)
    if not np.any(ok):
        return H.missing("No traces: every kept chain stopped before the burn-in ended, so no draws were kept.")
    chains = np.flatnonzero(ok)[:MAX_CHAINS]
    body = ""
    with style.theme():
        fig, axes = style.figure(len(idx), 1, height=1.7 * len(idx) + 0.5, sharex=True)
        cols = style.colors(len(chains))
        for a, i in zip(axes[:, 0], idx):
            for c, col in zip(chains, cols):
                a.plot(t, x[c, :, i], lw=0.55, color=col, alpha=0.85, label=f"chain {c}")
                if r.div_step[c] >= 0:
                    last = np.flatnonzero(np.isfinite(x[c, :, i]))
                    if last.size:
                        a.plot(t[last[-1]], x[c, last[-1], i], "x", color="crimson", ms=7, mew=2, clip_on=False, zorder=5)
            a.set_ylabel(greek(names[i]))
            a.margins(y=0.12)
        axes[0, 0].legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(chains), fontsize=7.5, frameon=False,
                          borderaxespad=0.1)
        axes[0, 0].set_title(f"Kept draws of {len(chains)} chains after burn-in (t_burn = {num(r.config.t_burn)})", loc="left")
        axes[-1, 0].set_xlabel("SDE time t (cumulative learning rate)")
        uri = style.encode(fig)
    cap = "Thinned draws kept by the engine."
    if np.any(r.div_step[chains] >= 0):
        cap += " ✗ marks the last kept draw of a chain that was stopped (diverged)."
    if len(idx) < len(names):
        cap += f" First {len(idx)} of {len(names)} coordinates."
    body += H.figure(uri, cap)
    body += "<h3>Autocorrelation against lag</h3>"
    if ctx.get("stationary", "verdict") == "not settled" and np.any(r.alive):
        body += H.warn("The chains have not settled (" + str(ctx.get("stationary", "settled_reason", default="")) +
                       "): autocorrelations about the common mean then mostly show the chains' different levels.")
    body += _acf(ctx, r, names, idx)
    return body


def acf_curves(result, order: int = 2, head: float = 0.5) -> dict:
    """The autocorrelation functions behind :func:`invariant.mixing.autocorrelation_rate`,
    with its fit.

    The chain-averaged autocorrelations of every coordinate against lag in SDE time, their
    standard errors, and the shared damped oscillation of :func:`invariant.mixing.acf_rate`
    (same window, same order; no bootstrap) evaluated on its window.  Rates here are those
    of the chain that was simulated (for an SDE run, the Euler–Maruyama chain;
    :func:`invariant.mixing.em_correction` maps them to the SDE).

    Parameters
    ----------
    result : RunResult
    order, head
        As in :func:`invariant.mixing.acf_rate`.

    Returns
    -------
    dict
        ``names`` (coordinates), ``lag`` (n,), ``rho``, ``se`` (d, n), ``fit_lag`` (m,),
        ``fit`` (d, m), ``rate``, ``frequency``, ``window`` ([start, end] in SDE time).

    Raises
    ------
    ValueError
        With fewer than two live kept chains or 16 draws.
    """
    x = live_draws(result)
    dt = draw_spacing(result)
    if x.shape[0] < 2 or x.shape[1] < 16:
        raise ValueError("fewer than two live kept chains or 16 draws")
    _, rho, se, (i0, L) = coordinate_acfs(x, head)
    fit = fit_decay(rho[:, i0:L], dt, order=order)
    k = np.arange(L - i0)
    with np.errstate(all="ignore"):
        fitted = (fit.amplitudes @ np.exp(np.outer(fit.poles, k * dt))).real
    return {"names": list(result.game.param_names), "lag": np.arange(x.shape[1]) * dt, "rho": rho, "se": se,
            "fit_lag": (i0 + k) * dt, "fit": fitted, "rate": fit.rate, "frequency": fit.frequency,
            "window": [i0 * dt, (L - 1) * dt]}


def _acf(ctx: RunContext, r, names, idx) -> str:
    try:
        ctx.live_draws()
        a = ctx.cached("acf", lambda: acf_curves(r))
    except (Unavailable, ValueError) as exc:
        return H.missing(f"No autocorrelations: {exc}.")
    lag = a["lag"]
    wend = a["window"][1]
    tmax = float(min(lag[-1], max(3.0 * wend, 5.0 / a["rate"] if np.isfinite(a["rate"]) and a["rate"] > 0 else lag[-1])))
    m = lag <= tmax
    fm = a["fit_lag"] <= tmax
    with style.theme():
        n = len(idx)
        cols = min(n, 2)
        rows = (n + cols - 1) // cols
        fig, axes = style.figure(rows, cols, height=2.5 * rows + 0.3, sharex=True, sharey=True)
        for k, i in enumerate(idx):
            ax = axes[k // cols, k % cols]
            ax.axhline(0, color="0.5", lw=0.8)
            ax.fill_between(lag[m], a["rho"][i, m] - 2 * a["se"][i, m], a["rho"][i, m] + 2 * a["se"][i, m],
                            color="C0", alpha=0.2, lw=0, label="± 2 s.e. (across chains)")
            ax.plot(lag[m], a["rho"][i, m], color="C0", lw=1.3, label="autocorrelation")
            if np.isfinite(a["rate"]):
                ax.plot(a["fit_lag"][fm], a["fit"][i, fm], "--", color="C3", lw=1.5,
                        label=f"fitted e^(−κt)cos(ωt+φ), κ = {a['rate']:.3g}")
            ax.axvspan(a["window"][0], min(wend, tmax), color="C3", alpha=0.06, lw=0)
            ax.set_title(greek(names[i]))
            ax.set_ylim(min(-0.3, float(np.nanmin(a["rho"][idx][:, m])) - 0.1), 1.05)
        for k in range(n, rows * cols):
            axes[k // cols, k % cols].set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel("lag in SDE time t")
        for ax in axes[:, 0]:
            ax.set_ylabel("autocorrelation ρ(t)")
        axes[0, 0].legend(loc="upper right")
        uri = style.encode(fig)
    mix = ctx.get("mixing", "methods", "autocorrelation") or {}
    cap = ("Chain-averaged autocorrelation of each coordinate; dashed: the damped oscillation fitted jointly "
           f"to all coordinates over the shaded window (t ∈ [{a['window'][0]:.3g}, {wend:.3g}]), the autocorrelation "
           "estimate of κ (rate of the simulated chain).")
    if mix.get("rate") is not None:
        cap += f" summary.json: κ = {num(mix.get('rate'))} {interval(mix.get('interval'))} for the SDE."
    return H.figure(uri, cap)
