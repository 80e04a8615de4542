"""Section 8: the long-run generated distribution against the data (docs/theory.md §7)."""
from __future__ import annotations

import numpy as np

from .. import stationary, strategies
from . import html as H
from . import style
from .context import RunContext, Unavailable
from .fmt import num, pm

ID, TITLE = "generated", "8. Generated vs data distribution"


def section(ctx: RunContext) -> str:
    sec = ctx.get("strategies")
    gen = sec.get("generated") if isinstance(sec, dict) else None
    try:
        r = ctx.result
        has = strategies.has_generator(r.game)
    except Unavailable:
        r, has = None, gen is not None
    if not has:
        return H.missing("This game has no generator of data: there is no generated distribution to compare.")
    if not isinstance(gen, dict):
        return H.missing("The generated distribution was not compared with the data for this run "
                         "(summary.json has no strategies.generated).")
    rows = [["long-run generated law ∫(G_θ)#N(0,1) μ_θ(dθ)", pm(gen.get("w1"), gen.get("w1_se"), 3),
             pm(gen.get("ks"), gen.get("ks_se"), 3)],
            ["pure strategy G_θ̄ (θ at its stationary mean)", num(gen.get("w1_mean_theta"), 3), num(gen.get("ks_mean_theta"), 3)],
            [f"noise floor ({gen.get('n_data')}-point sample of the generated law)", num(gen.get("w1_floor"), 3),
             num(gen.get("ks_floor"), 3)]]
    body = H.table(["law vs data", "W1 ± s.e.", "KS ± s.e."], rows)
    halves = gen.get("w1_halves") or []
    if len(halves) == 2:
        body += (f'<p class="sub">W1 to the data from the first / second half of the kept draws: {num(halves[0], 3)} / '
                 f'{num(halves[1], 3)}; between the halves {num(gen.get("w1_between_halves"), 3)}. One-sample KS test of '
                 f'the data against the generated law: p = {num(gen.get("ks_p_value"), 3)}. Data mean ± sd '
                 f'{num(gen.get("data_mean"), 3)} ± {num(gen.get("data_std"), 3)}, generated '
                 f'{num(gen.get("generated_mean"), 3)} ± {num(gen.get("generated_std"), 3)}.</p>')
    if r is None:
        return body + H.missing("No figure: the kept draws are not available.")
    try:
        ctx.live_draws()
    except Unavailable as exc:
        return body + H.missing(f"No figure: {exc}.")
    y = ctx.cached("generated", lambda: strategies.generated_samples(r)).ravel()
    data = np.asarray(r.game.data[:, 0], dtype=float)
    with style.theme():
        fig, ax = style.figure(1, 1, height=3.2)
        ax = ax[0, 0]
        lo, hi = np.percentile(np.concatenate([y, data]), [0.2, 99.8])
        pad = 0.1 * (hi - lo)
        bins = np.linspace(lo - pad, hi + pad, 70)
        ax.hist(data, bins=bins, density=True, color="0.55", alpha=0.45, label=f"data ({len(data)} points)")
        ax.hist(y, bins=bins, density=True, histtype="step", color="C0", lw=1.2,
                label=f"generated ({len(y)} samples of G_θ(z), θ ~ μ_θ)")
        # the toolkit's one 1-D KDE (Silverman bandwidth), as in the stationary marginals
        grid, dens, _ = stationary.kde_1d(y, grid=np.linspace(bins[0], bins[-1], 400))
        ax.plot(grid, dens, color="C0", lw=1.8, label="generated, KDE")
        ax.set_xlim(bins[0], bins[-1])
        ax.set_xlabel("sample value y")
        ax.set_ylabel("density")
        ax.legend(loc="upper right", fontsize=7.5)
        ax.set_title(f"Long-run generated law vs data: W1 = {pm(gen.get('w1'), gen.get('w1_se'), 3)}")
        uri = style.encode(fig)
    return body + H.figure(uri, "The generated law mixes the generator over the invariant measure of its parameters "
                                "(kept draws of θ pushed through latents z ~ N(0, 1)).")
