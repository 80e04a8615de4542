"""Does FDR learning-rate scheduling beat a fixed learning rate at equal iterations?

Compares, on the Dirac-GAN (vanilla loss, R1 γ = 0.6, data N(0, 1), latent noise 1; ALT-D,
η₀ = 0.2, N = 4, started at (θ, ψ) = (1.5, 1)) and on the ``mlp`` game
(``data/mlp_altd.toml``: width 8, weight decay 0.001, ALT-D, η₀ = 0.1, N = 64), the schedules
of ``invariant.schedule`` (docs/theory.md §6):

* ``fixed``         η₀ throughout;
* ``fdr``           the FDR scheduler: summed applied-gradient ratio R over a half-running
                    window, decay η ← η/2 once |R − 1| + 2·SE(R) < 0.1;
* ``yaida``         the published FDR scheduler for SGD (Yaida 2019) transcribed to games:
                    η ← η/10 once |R − 1| < 1 %, no standard error;
* ``step``          η halved every quarter of the budget;
* ``inverse-time``  η_k = η₀/(1 + k/t0), t0 = budget/20.

Every schedule runs the same seeds (run c starts at the same point and draws the same
minibatches: common random numbers, so differences between schedules are paired).
Metrics against iterations: the distance to the equilibrium (0, 0) for the Dirac-GAN, the
Wasserstein-1 distance between the generated law (4000 fixed latents) and the data for the
mlp.  "At equal iterations" compares the metric averaged over the last 10 % of the budget;
intervals are 95 % Student-t intervals over seeds (paired for the differences).

Writes ``OUT/fdr_schedule.json`` (all numbers) and ``OUT/fdr_schedule.png``, and prints the
conclusion.  Run: ``python analyses/fdr_schedule.py [--out DIR] [--quick]`` (about 3–5 min on
2 cores; ``--quick`` is a smoke test).
"""
from __future__ import annotations

import time

import numpy as np
from scipy import stats

from _common import ROOT, finish, save, start  # noqa: E402  (puts the package on the path)

from invariant import config, schedule  # noqa: E402
from invariant.games import mlp  # noqa: E402

POLICIES = {
    "fixed": {"kind": "fixed"},
    "fdr": {"kind": "fdr"},
    "yaida": {"kind": "yaida"},
    "step": {"kind": "step"},
    "inverse-time": {"kind": "inverse-time"},
}


def _ci(x, level=0.95):
    x = np.asarray(x, float)
    n = len(x)
    m = float(x.mean())
    h = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return m, [m - h, m + h]


def dirac_setup(seeds):
    table = {
        "game": {"name": "dirac", "loss": "vanilla", "regularizer": "r1", "gamma": 0.6, "mu": 0.0, "s": 1.0, "s_z": 1.0},
        "training": {"scheme": "alt-d", "lr": 0.2, "batch_size": 4},
        "simulation": {"dynamics": "sga", "chains": seeds, "t_end": 1000.0, "seed": 101, "x0": [1.5, 1.0],
                       "init_scale": 0.0},
    }
    cfg = config.from_dict(table)
    eq = np.array([0.0, 0.0])  # (mu, 0): the equilibrium of b0 for every regulariser

    def metric(X):  # (chains, n_rec, d) -> (chains, n_rec)
        return np.sqrt(np.sum((X - eq) ** 2, axis=-1))

    return cfg, metric, "distance to equilibrium |x − x*|"


def mlp_setup(seeds):
    cfg = config.load(ROOT / "data" / "mlp_altd.toml", {"simulation.chains": seeds, "simulation.seed": 202})
    from scipy.stats import wasserstein_distance

    data = np.sort(cfg.game.data[:, 0])
    z = np.random.default_rng(7).standard_normal(4000)
    dth = cfg.game.d_theta

    def metric(X):
        out = np.empty(X.shape[:2])
        for c in range(X.shape[0]):
            ys = mlp.generate(cfg.game, X[c, :, :dth], z)  # (n_rec, 4000)
            for j in range(X.shape[1]):
                out[c, j] = wasserstein_distance(ys[j], data)
        return out

    return cfg, metric, "W1(generated, data)"


def run_game(name, cfg, metric, label, iterations, policies=POLICIES):
    res = {"label": label, "iterations": iterations, "lr0": cfg.scheme.lr, "seeds": cfg.chains, "policies": {}}
    curves = {}
    for pol, table in policies.items():
        t0 = time.perf_counter()
        opts = schedule.validate_options(table, cfg.scheme.lr)
        r = schedule.train(cfg, opts, iterations=iterations)
        m = metric(r.X)  # (seeds, n_rec)
        tail = r.iterations >= 0.9 * iterations
        final = m[:, tail].mean(axis=1)
        mean, ci = _ci(final)
        ch = [c[c[:, 8] > 0] for c in r.checks]
        dec_se = np.concatenate([c[:, 7] for c in ch]) if any(len(c) for c in ch) else np.array([])
        first = [float(c[0, 0]) for c in ch if len(c)]
        res["policies"][pol] = {
            "options": opts.resolve(cfg.scheme.lr, iterations).as_dict(),
            "final_metric_per_seed": final.tolist(),
            "final_metric": mean,
            "final_metric_ci": ci,
            "final_lr_median": float(np.median(r.final_lr)),
            "decays_median": float(np.median(r.decays)),
            "first_decay_iteration_median": float(np.median(first)) if first else None,
            "se_of_R_at_decisions_median": float(np.median(dec_se)) if dec_se.size else None,
            "cumulative_lr_median": float(np.median(r.t[:, -1])),
            # the summed FDR ratio of the last check (half-running window) and its standard error
            "final_ratio_median": float(np.median([c[-1, 6] for c in r.checks if len(c)])),
            "final_ratio_se_median": float(np.median([c[-1, 7] for c in r.checks if len(c)])),
            "wall_seconds": time.perf_counter() - t0,
        }
        curves[pol] = (r.iterations, m, r.lr)
        print(f"  {name:6s} {pol:13s} final {label} = {mean:.4g} [{ci[0]:.4g}, {ci[1]:.4g}]  "
              f"decays {np.median(r.decays):.0f}, final lr {np.median(r.final_lr):.3g}  "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)
    base = np.array(res["policies"]["fixed"]["final_metric_per_seed"])
    for pol in policies:
        if pol == "fixed":
            continue
        diff = np.array(res["policies"][pol]["final_metric_per_seed"]) - base
        mean, ci = _ci(diff)
        res["policies"][pol]["minus_fixed"] = {"mean": mean, "ci": ci,
                                               "ratio": res["policies"][pol]["final_metric"] / res["policies"]["fixed"]["final_metric"]}
    f = np.array(res["policies"]["fdr"]["final_metric_per_seed"])
    for pol in ("yaida", "step", "inverse-time"):
        diff = f - np.array(res["policies"][pol]["final_metric_per_seed"])
        mean, ci = _ci(diff)
        res["policies"]["fdr"][f"minus_{pol}"] = {"mean": mean, "ci": ci}
    return res, curves


def figure(all_curves, results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    games = list(all_curves)
    fig, axes = plt.subplots(2, len(games), figsize=(6 * len(games), 7), sharex="col",
                             gridspec_kw={"height_ratios": [2, 1]})
    colors = dict(zip(POLICIES, sns.color_palette("tab10", len(POLICIES))))
    for j, g in enumerate(games):
        ax, axl = axes[0, j], axes[1, j]
        for pol, (its, m, lr) in all_curves[g].items():
            x = np.maximum(its, 1)
            # geometric mean and its 95 % interval (the metrics are positive and span decades)
            lm = np.log(m)
            mu = lm.mean(0)
            h = stats.t.ppf(0.975, m.shape[0] - 1) * lm.std(0, ddof=1) / np.sqrt(m.shape[0])
            ax.plot(x, np.exp(mu), color=colors[pol], label=pol, lw=1.4)
            ax.fill_between(x, np.exp(mu - h), np.exp(mu + h), color=colors[pol], alpha=0.2, lw=0)
            axl.plot(x, np.median(lr, axis=0), color=colors[pol], lw=1.4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{g}: {results[g]['label']}\n(geometric mean, 95 % CI over {results[g]['seeds']} seeds)")
        ax.set_ylabel(results[g]["label"])
        axl.set_yscale("log")
        axl.set_xlabel("iteration")
        axl.set_ylabel("learning rate (median)")
        ax.legend(loc="lower left" if g == "dirac" else "upper right", fontsize=8)
    save(fig, path)


def main(argv=None):
    args, out, t0 = start(__doc__, argv)
    setups = {
        "dirac": (dirac_setup(16 if not args.quick else 4), 100_000 if not args.quick else 5_000),
        "mlp": (mlp_setup(12 if not args.quick else 2), 60_000 if not args.quick else 2_000),
    }
    results, curves = {}, {}
    for g, ((cfg, metric, label), iters) in setups.items():
        print(f"{g}: {cfg.game.name} game, {cfg.scheme.name} η₀ = {cfg.scheme.lr:g}, N = {cfg.scheme.batch_size}, "
              f"{cfg.chains} seeds × {iters} iterations", flush=True)
        results[g], curves[g] = run_game(g, cfg, metric, label, iters)
    figure(curves, results, out / "fdr_schedule.png")
    lines = []
    for g, r in results.items():
        p = r["policies"]
        d = p["fdr"]["minus_fixed"]
        verdict = ("beats" if d["ci"][1] < 0 else "loses to" if d["ci"][0] > 0 else "does not differ significantly from")
        lines.append(
            f"{g}: at {r['iterations']} iterations FDR scheduling {verdict} fixed lr: {r['label']} "
            f"{p['fdr']['final_metric']:.4g} [{p['fdr']['final_metric_ci'][0]:.4g}, {p['fdr']['final_metric_ci'][1]:.4g}] vs "
            f"{p['fixed']['final_metric']:.4g} [{p['fixed']['final_metric_ci'][0]:.4g}, {p['fixed']['final_metric_ci'][1]:.4g}] "
            f"(paired difference {d['mean']:.3g} [{d['ci'][0]:.3g}, {d['ci'][1]:.3g}], ratio {d['ratio']:.3g}); "
            f"FDR decays {p['fdr']['decays_median']:.0f}× (first at iteration "
            f"{p['fdr']['first_decay_iteration_median'] if p['fdr']['first_decay_iteration_median'] is not None else '—'}"
            f"; its last ratio R = {p['fdr']['final_ratio_median']:.3g} ± {p['fdr']['final_ratio_se_median']:.2g}); "
            + ", ".join(f"{k} {p[k]['final_metric']:.4g} (FDR − {k}: {p['fdr'][f'minus_{k}']['mean']:.3g} "
                        f"[{p['fdr'][f'minus_{k}']['ci'][0]:.3g}, {p['fdr'][f'minus_{k}']['ci'][1]:.3g}])"
                        for k in ("yaida", "step", "inverse-time"))
            + (f"; Yaida's rule decided with SE(R) ≈ {p['yaida']['se_of_R_at_decisions_median']:.3g} ≫ its 1 % tolerance"
               if p["yaida"]["se_of_R_at_decisions_median"] is not None and p["yaida"]["se_of_R_at_decisions_median"] > 0.01
               else "")
        )
    results["conclusion"] = lines
    return finish(out, "fdr_schedule", results, lines, t0, args.quick)


if __name__ == "__main__":
    main()
