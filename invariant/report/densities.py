"""Section 4: the stationary law — moments, marginals, joint density of the first θ and ω
coordinates, and the Fokker–Planck reference of a 2-D game."""
from __future__ import annotations

import numpy as np

from .. import fokker_planck, stationary
from . import html as H
from . import style
from .context import RunContext, Unavailable
from .fmt import count, finite, greek, num, pm
from .traces import shown_coordinates

ID, TITLE = "stationary", "4. Stationary law"

MAX_MARGINALS = 8


def section(ctx: RunContext) -> str:
    st = ctx.get("stationary")
    body = ""
    if isinstance(st, dict) and "mean" in st:
        body += _moments(ctx, st)
    else:
        body += H.missing("The stationary moments were not computed (summary.json has no stationary section).")
    try:
        ctx.live_draws()
    except Unavailable as exc:
        return body + H.missing(f"No densities: {exc}.")
    if ctx.get("stationary", "verdict") == "not settled":
        body += H.warn("The chains have not settled: the densities below describe the kept draws, not an invariant law.")
    body += "<h3>Marginal densities</h3>" + _marginals(ctx)
    body += "<h3>Joint density of the first θ and ω coordinates</h3>" + _joint(ctx)
    return body


def _moments(ctx, st) -> str:
    names = ctx.names
    mean, se = st.get("mean") or [], st.get("mean_mcse") or [None] * len(names)
    cov, cse = st.get("cov") or [], st.get("cov_mcse") or []
    # the variances: the covariance's diagonal, or tracked apart (simulation.moments)
    var_ = st.get("variance") or [row[i] for i, row in enumerate(cov)]
    vse = st.get("variance_mcse") or [row[i] for i, row in enumerate(cse)]
    ess, rhat = st.get("ess") or [None] * len(names), st.get("rhat") or [None] * len(names)
    tone = "yes" if st.get("verdict") == "settled" else "no"
    trc = (f'tr Cov = {H.esc(pm(st.get("trace_cov"), st.get("trace_cov_mcse")))}; '
           if finite(st.get("trace_cov")) else "")
    verdict = (f'<p>{trc}<b class="{tone}">{H.esc(st.get("verdict", ""))}</b>: {H.esc(st.get("settled_reason", ""))}</p>')
    if not any(finite(v) for v in mean):
        return H.missing("No stationary moments: no live chain contributed post-burn-in steps.") + verdict
    rows = []
    k = min(len(names), 12)
    for i in range(k):
        v = var_[i] if i < len(var_) else None
        sd = np.sqrt(v) if finite(v) and v >= 0 else float("nan")
        var = pm(v, vse[i] if i < len(vse) else None, 3) if v is not None else "—"
        rows.append([greek(names[i]), pm(mean[i], se[i]), var, num(sd, 3), count(ess[i]), num(rhat[i], 4)])
    out = H.table(["coordinate", "mean ± MCSE", "variance ± MCSE", "sd", "ESS", "R-hat"], rows)
    if k < len(names):
        out += f'<p class="sub">First {k} of {len(names)} coordinates; summary.json has them all.</p>'
    return out + _tracked(st) + verdict


def _tracked(st) -> str:
    """A line on the second moments the run tracked (simulation.moments), unless the full covariance."""
    mode = st.get("moments", "full")
    if mode == "full":
        return ""
    pc = st.get("projection_cov") or []
    more = (f"; the covariance of {len(pc)} fixed projections P x is in summary.json (projection_cov)"
            if mode == "projections" else "")
    return (f'<p class="sub">The run tracked moments = “{H.esc(mode)}”: per-coordinate variances, not the '
            f'full covariance{H.esc(more)}.</p>')


def _marginals(ctx) -> str:
    r = ctx.result
    dens = ctx.cached("marginals", lambda: stationary.marginals(r))
    names = list(r.game.param_names)
    idx = shown_coordinates(names, MAX_MARGINALS)
    fp = _fp(ctx)
    with style.theme():
        n = len(idx)
        cols = min(n, 4)
        rows = (n + cols - 1) // cols
        fig, axes = style.figure(rows, cols, height=2.4 * rows + 0.3)
        for k, i in enumerate(idx):
            ax = axes[k // cols, k % cols]
            d = dens[i]
            ax.stairs(d.hist, d.edges, fill=True, color="C0", alpha=0.3, label="histogram")
            ax.plot(d.grid, d.density, color="C0", lw=1.5, label="KDE")
            if fp is not None and i < 2:
                xg, pg = fp.marginal(i)
                ax.plot(xg, pg, "--", color="C3", lw=1.3, label="Fokker–Planck")
            ax.set_xlabel(greek(d.name))
            ax.set_title(f"n_eff ≈ {d.n_eff:.3g}", fontsize=8.5, color="0.35")
            if k % cols == 0:
                ax.set_ylabel("density")
        for k in range(n, rows * cols):
            axes[k // cols, k % cols].set_visible(False)
        axes[0, 0].legend(loc="upper left", fontsize=7)
        uri = style.encode(fig)
    cap = ("Kept draws of the live chains: density histogram (Freedman–Diaconis bins for the effective sample "
           "size) and Gaussian KDE (Silverman bandwidth, effective n).")
    if n < len(names):
        cap += f" {n} of {len(names)} coordinates."
    return H.figure(uri, cap)


def _fp(ctx):
    """The Fokker–Planck solution of a 2-D game when the run computed one, else None."""
    sec = ctx.get("stationary", "fokker_planck")
    if not isinstance(sec, dict) or "gap" not in sec:
        return None

    def solve():
        g = sec.get("grid") or [128, 128]
        return fokker_planck.from_run(ctx.result, (int(g[0]), int(g[1])), gap=False)

    try:
        return ctx.cached("fp", solve)
    except Exception:  # noqa: BLE001 — the joint-density text says so
        return None


def _joint(ctx) -> str:
    r = ctx.result
    game = r.game
    i, j = 0, game.d_theta
    names = list(game.param_names)
    sec = ctx.get("stationary", "fokker_planck")
    fp = _fp(ctx)
    grid = (fp.x, fp.y) if fp is not None else None
    dens = ctx.cached("joint", lambda: stationary.joint_density(r, i, j, grid=grid))
    with style.theme():
        fig, axes = style.figure(1, 2, height=4.2, width=style.WIDTH)
        ax = axes[0, 0]
        X, Y = np.meshgrid(dens.x, dens.y, indexing="ij")
        top = float(np.nanmax(dens.density))
        cs = ax.contourf(X, Y, dens.density, levels=np.linspace(0.02 * top, top, 13), cmap="mako_r")
        fig.colorbar(cs, ax=ax, label="density")
        if fp is not None:
            levels = _levels(fp.density)
            ax.contour(*np.meshgrid(fp.x, fp.y, indexing="ij"), fp.density, levels=levels, colors="C1",
                       linewidths=1.1, linestyles="--")
            ax.plot([], [], "--", color="C1", label="Fokker–Planck: 50, 90, 99 % regions")
            ax.legend(loc="upper right", fontsize=7)
        ax.set_xlabel(greek(names[i]))
        ax.set_ylabel(greek(names[j]))
        ax.set_title("KDE of the draws" + (" and Fokker–Planck contours" if fp is not None else ""))
        ax = axes[0, 1]
        ax.pcolormesh(dens.edges_x, dens.edges_y, np.ma.masked_equal(dens.hist.T, 0), cmap="mako_r", shading="flat")
        ax.set_xlim(axes[0, 0].get_xlim())
        ax.set_ylim(axes[0, 0].get_ylim())
        ax.set_xlabel(greek(names[i]))
        ax.set_ylabel(greek(names[j]))
        ax.set_title("2-D histogram of the draws")
        uri = style.encode(fig)
    cap = f"Joint law of ({greek(names[i])}, {greek(names[j])}) under the invariant measure: Gaussian KDE (Scott's rule, n_eff ≈ {dens.n_eff:.3g})."
    if fp is not None:
        cap += (" Dashed: Fokker–Planck contours, the stationary density of the SDE solved on the grid "
                "(regions holding 50, 90 and 99 % of its mass).")
    out = H.figure(uri, cap)
    if isinstance(sec, dict) and "gap" in sec:
        rows = [["spectral gap (κ reference)", pm(sec.get("gap"), sec.get("gap_error"))],
                ["grid", f"{sec['grid'][0]} × {sec['grid'][1]} (density change vs half grid: L1 {num(sec.get('density_error'), 3)})"],
                ["L1 draws ↔ FP (binned)", f"{num(sec.get('l1'), 3)} (noise floor {num(sec.get('l1_noise'), 3)}, 99 %: {num(sec.get('l1_noise_q99'), 3)})"],
                ["χ² test", f"χ² = {num(sec.get('chi2'), 4)} on {sec.get('dof')} dof, p = {num(sec.get('p_value'), 3)}"],
                ["L1 KDE ↔ FP", num(sec.get("l1_kde"), 3)]]
        out += H.table(None, rows, cls="kv")
        if fp is None:
            out += H.missing("The Fokker–Planck density could not be re-solved for the contours.")
    elif isinstance(sec, dict):
        out += H.missing(f"Fokker–Planck reference: {sec.get('skipped') or sec.get('error') or 'not computed'}.")
    elif game.d == 2:
        out += H.missing("Fokker–Planck reference: not run for this 2-D game (mixing.fokker_planck = false or an older run).")
    else:
        out += '<p class="sub">The Fokker–Planck reference is solved for 2-D games only.</p>'
    return out


def _levels(p) -> list:
    """Density levels enclosing 99, 90 and 50 % of a gridded density's mass (for contours)."""
    v = np.sort(p.ravel())[::-1]
    c = np.cumsum(v)
    c /= c[-1]
    return sorted({float(v[min(np.searchsorted(c, q), len(v) - 1)]) for q in (0.99, 0.9, 0.5)})
