"""Does stochastic GAN training on a ring of 8 Gaussians settle to a law that covers the modes,
and which losses, optimisers and noise levels collapse?

docs/theory.md §7: the long-run generated law ``∫ (G_θ)_# N(0, I) μ_θ(dθ)`` is a mixed strategy
over the generator's stationary law μ_θ; it may cover modes that no single generator covers
(mode hopping), or collapse.  Claim examined: on ``ring8`` (Metz et al.'s 8 Gaussians on a circle
of radius 2, sd 0.02) the mode coverage of the long-run law differs between training set-ups.

Setup.  The general ``mlp`` game (``invariant/games/mlp_deep.py``): generator and discriminator
each two hidden layers of 16 ReLU units (d = 691), latent dimension 2, ALT-D SGA with N = 64
unless said otherwise, 8 chains from the game's seeded initialisation spread by
``init_scale``, iterations fixed across set-ups (20 000; quick: 1500), the second half kept:

* ``vanilla`` — the minimax loss, SGDA lr 0.05;
* ``non-saturating`` — SGDA lr 0.05;
* ``wgan-gp`` — Wasserstein loss with the gradient penalty γ = 1, SGDA lr 0.02;
* ``ns-adam`` — non-saturating, Adam (lr 1e-3, β₁ 0.5, β₂ 0.999);
* ``ns-noisy`` — non-saturating, SGDA lr 0.2, N = 8 (lr/N 200× larger: more noise);
* ``ns-quiet`` — non-saturating, SGDA lr 0.01, N = 256 (lr/N 1/40 of the base).

Method.  ``invariant.strategies.generated_modes`` (``invariant.modes``): modes covered (a mode is
covered when ≥ 0.8 % of the samples are high-quality samples near it, within 3 sd), the
high-quality fraction, the KL of the mode histogram to the data's, and mode hops per unit time,
each with a chain-bootstrap standard error, from 2000 generator draws × 64 latents.  Verdict:
the set-ups with the most and the fewest modes covered differ when
``|Δ| > 3·SE(Δ)``; else "not shown".

Writes ``OUT/mode_collapse.json`` (with the package version and commit) and
``OUT/mode_collapse.png`` (the data and each set-up's long-run generated density), prints the
table and, except in ``--quick`` mode (a smoke test), the verdict.
Run: ``python analyses/mode_collapse.py [--out DIR] [--quick]``.
"""
from __future__ import annotations

import numpy as np

from _common import finish, save, start  # noqa: E402  (puts the package on the path)

from invariant import config, engine, strategies  # noqa: E402

NETS = {"generator": {"depth": 2, "width": 16, "activation": "relu"},
        "discriminator": {"depth": 2, "width": 16, "activation": "relu"}}
BASE = {"name": "mlp", "data": "ring8", "latent_dim": 2, **NETS}
SETUPS = {
    "vanilla": ({"loss": "vanilla"}, {"lr": 0.05, "batch_size": 64}),
    "non-saturating": ({"loss": "non-saturating"}, {"lr": 0.05, "batch_size": 64}),
    "wgan-gp": ({"loss": "wgan", "regularizer": "gradient-penalty", "gamma": 1.0}, {"lr": 0.02, "batch_size": 64}),
    "ns-adam": ({"loss": "non-saturating"}, {"lr": 1e-3, "batch_size": 64, "optimizer": "adam", "beta1": 0.5,
                                             "beta2": 0.999}),
    "ns-noisy": ({"loss": "non-saturating"}, {"lr": 0.2, "batch_size": 8}),
    "ns-quiet": ({"loss": "non-saturating"}, {"lr": 0.01, "batch_size": 256}),
}
KEYS = ("modes_covered", "high_quality_fraction", "mode_kl", "mode_hops_per_unit_time")
Z = 3.0


def setup_config(name: str, iterations: int, chains: int, seed: int):
    game, training = SETUPS[name]
    t_end = iterations * training["lr"]  # SGD and Adam: SDE time advances by lr per iteration
    return config.from_dict({
        "game": {**BASE, **game},
        "training": {"scheme": "alt-d", **training},
        "simulation": {"dynamics": "sga", "chains": chains, "t_end": t_end, "t_burn": t_end / 2,
                       "seed": seed, "keep_draws": 200, "keep_chains": chains, "chunks": 4},
    })


def measure(name: str, iterations: int, chains: int, seed: int):
    cfg = setup_config(name, iterations, chains, seed)
    result = engine.simulate(cfg)
    modes = strategies.generated_modes(result, n_theta=2000, n_z=64, n_boot=200, seed=seed)
    row = {k: modes[k] for k in KEYS} | {f"{k}_se": modes[f"{k}_se"] for k in KEYS}
    row.update(n_modes=modes["n_modes"], diverged=result.n_diverged, lr=cfg.scheme.lr,
               batch_size=cfg.scheme.batch_size, optimizer=cfg.scheme.optimizer.name, d=cfg.game.d)
    return row, _samples(result)


def _samples(result, n: int = 4000, seed: int = 1) -> np.ndarray:
    """Samples of the long-run generated law for the figure: kept generator draws × latents."""
    game = result.game
    theta = result.draws[result.kept_alive][:, :, : game.d_theta].reshape(-1, game.d_theta)
    theta = theta[np.all(np.isfinite(theta), axis=1)]
    rng = np.random.default_rng(seed)
    pick = theta[rng.integers(0, len(theta), n // 8)]
    z = rng.standard_normal((len(pick), 8, game.latent_dim))
    return np.asarray(game.generate(pick, z)).reshape(-1, game.dataset.dim)


def verdict(rows: dict) -> tuple[str, dict]:
    """The most- and least-covering set-ups and whether they differ beyond ``Z`` standard errors."""
    ok = {k: r for k, r in rows.items() if np.isfinite(r["modes_covered_se"])}
    hi = max(ok, key=lambda k: ok[k]["modes_covered"])
    lo = min(ok, key=lambda k: ok[k]["modes_covered"])
    diff = ok[hi]["modes_covered"] - ok[lo]["modes_covered"]
    se = float(np.hypot(ok[hi]["modes_covered_se"], ok[lo]["modes_covered_se"]))
    z = diff / se if se > 0 else float("inf") if diff > 0 else 0.0
    shown = z > Z
    text = (f"{hi} covers {ok[hi]['modes_covered']:.2f} ± {ok[hi]['modes_covered_se']:.2f} of 8 modes, {lo} "
            f"{ok[lo]['modes_covered']:.2f} ± {ok[lo]['modes_covered_se']:.2f}: difference {diff:.2f} ± {se:.2f} "
            f"(z = {z:.1f}) — {'shown' if shown else 'not shown'}")
    return text, {"most": hi, "fewest": lo, "difference": diff, "se": se, "z": z, "shown": bool(shown)}


def plot(data: np.ndarray, modes: np.ndarray, samples: dict, rows: dict, path) -> None:
    import matplotlib.pyplot as plt

    n = len(samples) + 1
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.9), sharex=True, sharey=True)
    lim = (-3.0, 3.0)
    panels = [("data (ring8)", data, None)] + [(k, v, rows[k]) for k, v in samples.items()]
    for ax, (title, y, row) in zip(axes, panels, strict=True):
        ax.hist2d(y[:, 0], y[:, 1], bins=80, range=[lim, lim], cmap="magma", density=True,
                  vmax=None, cmin=1e-9)
        ax.scatter(modes[:, 0], modes[:, 1], s=12, facecolors="none", edgecolors="c", linewidths=0.8)
        if row is not None:
            title += f"\n{row['modes_covered']:.1f} ± {row['modes_covered_se']:.1f} modes"
        ax.set_title(title, fontsize=8)
        ax.set_aspect("equal")
    axes[0].set_ylabel("y₂")
    for ax in axes:
        ax.set_xlabel("y₁")
    fig.suptitle("long-run generated law on ring8 (mode centres circled)", fontsize=9)
    save(fig, path)


def main(argv=None) -> dict:
    args, out, t0 = start(__doc__, argv)
    quick = args.quick
    iterations, chains = (1500, 4) if quick else (20000, 8)
    rows, samples = {}, {}
    for i, name in enumerate(SETUPS):
        rows[name], samples[name] = measure(name, iterations, chains, seed=100 + i)
        r = rows[name]
        print(f"{name:<15} modes {r['modes_covered']:.2f} ± {r['modes_covered_se']:.2f}, high quality "
              f"{r['high_quality_fraction']:.3f} ± {r['high_quality_fraction_se']:.3f}, KL {r['mode_kl']:.3f} ± "
              f"{r['mode_kl_se']:.3f}, hops/t {r['mode_hops_per_unit_time']:.3f} ± "
              f"{r['mode_hops_per_unit_time_se']:.3f}, diverged {r['diverged']}", flush=True)
    game = setup_config("vanilla", iterations, chains, 0).game
    res = {"iterations": iterations, "chains": chains, "nets": NETS,
           "setups": {k: {"game": SETUPS[k][0], "training": SETUPS[k][1]} for k in SETUPS}, "results": rows}
    lines = []
    if not quick:  # a smoke test draws no verdict (finish prints the smoke-test line)
        text, res["verdict"] = verdict(rows)
        lines.append(text)
        res["conclusion"] = lines
    plot(game.dataset.samples, game.dataset.modes, samples, rows, out / "mode_collapse.png")
    return finish(out, "mode_collapse", res, lines, t0, quick)


if __name__ == "__main__":
    main()
