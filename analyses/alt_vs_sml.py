"""Does the game term (the order-2 drift b1) make alternating training differ from simultaneous?

docs/theory.md §3: to first order in η every scheme (SML, ALT-D, ALT-G) has the same SDE, the
SML-SDE ``dX = b0 dt + σ dW``; the schemes differ at order η through ``b1``, whose
scheme-dependent part is the *game term* ``(−∇²_{θω}g ∇_ω g, 0)`` (ALT-D) or
``(0, −∇²_{ωθ}g ∇_θ g)`` (ALT-G).  Claim: this term changes both the trajectories and the
invariant measure, by a relative amount O(η).

Setup and method.

* **Trajectories** — Dirac-GAN (vanilla loss, no regulariser, point-mass data and latent,
  s = s_z = 0; docs/theory.md §8: b0 is a rotation with eigenvalues ±i/2), started at
  (θ, ψ) = (1, 0), η = 0.1: the deterministic SML, ALT-D and ALT-G maps
  (``Scheme.step`` with exact gradients) against the ODEs of their SDE drifts
  ``x' = b0`` and ``x' = b0 + η b1`` (``Scheme.drift``, scipy RK45 at 1e-10).  The radius
  |x| at t = T measures the drift each scheme adds to the rotation.
* **Invariant measure, exact** — the embedded default bilinear example (2×2, λ = 0.3,
  γ = 0.5, N = 4; ``invariant/default.toml``): stationary covariance ``P`` of the SML-SDE
  (order 1), the order-2 SML-SDE and the ALT-SDEs (``invariant.exact.stationary``) and of
  the discrete SML / ALT-D / ALT-G chains (``exact.discrete_stationary``) over
  η ∈ {0.0125 … 0.2}; the slope of log |tr P_ALT − tr P_SML| on log η with its 95 %
  interval (OLS t-interval; exact numbers, so the interval only reflects curvature).
* **Invariant measure, simulated** — the discrete chains themselves
  (``invariant.engine.simulate``, dynamics ``sga``, 64 chains, t = 400 after a burn-in of 50)
  at η ∈ {0.05, 0.1, 0.2}: tr Cov with its MCSE (spread of per-chain covariances,
  ``invariant.stationary.moments``), z-scores of tr Cov(ALT) − tr Cov(SML) against 0 (what
  the order-1 SDE predicts) and of each run against its exact law.

Writes ``OUT/alt_vs_sml.json`` and ``OUT/alt_vs_sml.png``; prints the conclusion.
Run: ``python analyses/alt_vs_sml.py [--out DIR] [--quick]``.
"""
from __future__ import annotations

import json
import time

import numpy as np
from scipy import stats
from scipy.integrate import solve_ivp

from _common import finish, save, start  # noqa: E402  (puts the package on the path)

from invariant import config, engine, exact, stationary  # noqa: E402
from invariant.schemes import Scheme  # noqa: E402

SCHEMES = ("sml", "alt-d", "alt-g")
SDES = (("sml-1", "sml", 1), ("sml-2", "sml", 2), ("alt-d-2", "alt-d", 2), ("alt-g-2", "alt-g", 2))
Z_SIGNIFICANT = 3.0


def fit_slope(x, y, level=0.95):
    """OLS slope of log y on log x with a t-interval."""
    lx, ly = np.log(x), np.log(y)
    r = stats.linregress(lx, ly)
    h = stats.t.ppf(0.5 + level / 2, len(lx) - 2) * r.stderr if len(lx) > 2 else float("nan")
    return {"slope": float(r.slope), "interval": [float(r.slope - h), float(r.slope + h)]}


# --------------------------------------------------------------------------- trajectories
def dirac_trajectories(lr, T):
    cfg = config.from_dict({"game": {"name": "dirac", "loss": "vanilla", "regularizer": "none", "s": 0.0, "s_z": 0.0},
                            "training": {"lr": lr}})
    game = cfg.game
    x0 = np.array([1.0, 0.0])
    k = int(round(T / lr))
    out = {"lr": lr, "T": T, "x0": x0.tolist(), "maps": {}, "odes": {}}
    for s in SCHEMES:
        sch = Scheme(s, lr, 1, 2)
        xs = [x0]
        for _ in range(k):
            xs.append(sch.step(game, xs[-1]))
        xs = np.array(xs)
        out["maps"][s] = {"t": (lr * np.arange(k + 1)).tolist(), "x": xs.tolist(), "radius_T": float(np.hypot(*xs[-1]))}
    for name, s, order in SDES:
        sch = Scheme(s, lr, 1, order)
        sol = solve_ivp(lambda t, x, sch=sch: sch.drift(game, x), (0, T), x0, rtol=1e-10, atol=1e-12,
                        t_eval=np.linspace(0, T, 600))
        out["odes"][name] = {"t": sol.t.tolist(), "x": sol.y.T.tolist(), "radius_T": float(np.hypot(*sol.y[:, -1]))}
    return out


# --------------------------------------------------------------------------- exact laws
def exact_laws(cfg, lrs):
    game, N = cfg.game, cfg.scheme.batch_size
    rows = []
    for lr in lrs:
        D = exact.diffusion(game, lr, N)
        row = {"lr": lr, "sde": {}, "discrete": {}}
        for name, s, order in SDES:
            A, c = exact.drift(game, s, order, lr)
            m, P = exact.stationary(A, c, D)
            row["sde"][name] = {"trace_cov": float(np.trace(P)), "cov": P.tolist(), "mixing_rate": exact.mixing_rate(A)}
        for s in SCHEMES:
            m, P = exact.discrete_stationary(*exact.discrete(game, s, lr, N))
            row["discrete"][s] = {"trace_cov": float(np.trace(P)), "cov": P.tolist()}
        rows.append(row)
    return rows


def simulate_chains(table, lrs, chains, t_end):
    rows = []
    for lr in lrs:
        row = {"lr": lr, "runs": {}}
        for s in SCHEMES:
            t0 = time.perf_counter()
            tab = json.loads(json.dumps(table))
            tab["training"].update({"scheme": s, "lr": lr})
            tab["simulation"] = {"dynamics": "sga", "chains": chains, "t_end": t_end, "t_burn": 50.0, "seed": 4242}
            cfg = config.from_dict(tab)
            r = engine.simulate(cfg)
            mo = stationary.moments(r)
            _, P_ex = exact.discrete_stationary(*exact.discrete(cfg.game, s, lr, cfg.scheme.batch_size))
            tr, se = mo.trace_cov, mo.trace_cov_mcse
            row["runs"][s] = {"trace_cov": tr, "trace_cov_mcse": se, "exact_trace_cov": float(np.trace(P_ex)),
                              "z_vs_exact": float((tr - np.trace(P_ex)) / se), "verdict": mo.verdict,
                              "diverged": r.n_diverged, "seconds": time.perf_counter() - t0}
        for s in ("alt-d", "alt-g"):
            a, b = row["runs"][s], row["runs"]["sml"]
            diff = a["trace_cov"] - b["trace_cov"]
            se = float(np.hypot(a["trace_cov_mcse"], b["trace_cov_mcse"]))
            row[f"{s}_minus_sml"] = {"diff": diff, "se": se, "z": diff / se,
                                     "relative": diff / b["trace_cov"],
                                     "exact_diff": a["exact_trace_cov"] - b["exact_trace_cov"]}
        rows.append(row)
        print(f"  simulated lr = {lr:g}: tr Cov SML {row['runs']['sml']['trace_cov']:.4g} ± {row['runs']['sml']['trace_cov_mcse']:.2g}, "
              f"ALT-D {row['runs']['alt-d']['trace_cov']:.4g} ± {row['runs']['alt-d']['trace_cov_mcse']:.2g} "
              f"(z = {row['alt-d_minus_sml']['z']:.1f}), ALT-G {row['runs']['alt-g']['trace_cov']:.4g} "
              f"± {row['runs']['alt-g']['trace_cov_mcse']:.2g} (z = {row['alt-g_minus_sml']['z']:.1f})", flush=True)
    return rows


# --------------------------------------------------------------------------- figure
def _lr_ticks(ax, lrs):
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(lrs)
    ax.set_xticklabels([f"{v:g}" for v in lrs])
    ax.xaxis.set_minor_formatter(NullFormatter())


def figure(traj, ex, sim, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    col = dict(zip(SCHEMES, sns.color_palette("tab10", 3)))
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    ax = axes[0]
    for s in SCHEMES:
        x = np.array(traj["maps"][s]["x"])
        ax.plot(x[:, 0], x[:, 1], ".", ms=2, color=col[s], label=f"{s.upper()} map (lr = {traj['lr']:g})")
    for name, style in (("sml-1", "k-"), ("sml-2", "--"), ("alt-d-2", ":")):
        x = np.array(traj["odes"][name]["x"])
        c = "k" if name == "sml-1" else col["sml" if name == "sml-2" else "alt-d"]
        ax.plot(x[:, 0], x[:, 1], style[-1] if name == "sml-1" else style, color=c, lw=1.2,
                label={"sml-1": "ODE x' = b0", "sml-2": "ODE b0 + lr b1 (SML)", "alt-d-2": "ODE b0 + lr b1 (ALT-D)"}[name])
    ax.set_xlabel("theta")
    ax.set_ylabel("psi (omega)")
    ax.set_aspect("equal")
    ax.set_title(f"Dirac-GAN (s = s_z = 0), deterministic, t ≤ {traj['T']:g}")
    ax.legend(fontsize=7, loc="upper right")

    ax = axes[1]
    lrs = np.array([r["lr"] for r in ex])
    for name, s, order in SDES:
        ax.plot(lrs, [r["sde"][name]["trace_cov"] / r["lr"] for r in ex], "-", lw=1.2,
                color="k" if name == "sml-1" else col[s], alpha=0.6 if order == 2 else 1,
                label=f"SDE {name} (exact)")
    for s in SCHEMES:
        ax.plot(lrs, [r["discrete"][s]["trace_cov"] / r["lr"] for r in ex], "o--", ms=3, color=col[s],
                label=f"{s.upper()} chain (exact)")
        sl = np.array([r["lr"] for r in sim])
        y = np.array([r["runs"][s]["trace_cov"] for r in sim]) / sl
        e = 2 * np.array([r["runs"][s]["trace_cov_mcse"] for r in sim]) / sl
        ax.errorbar(sl * (1 + 0.03 * (SCHEMES.index(s) - 1)), y, yerr=e, fmt="s", ms=5, mfc="none", color=col[s],
                    capsize=2, label=f"{s.upper()} chain (simulated ± 2 MCSE)")
    _lr_ticks(ax, lrs)
    ax.set_xlabel("lr")
    ax.set_ylabel("tr Cov(theta, omega) / lr")
    ax.set_title("bilinear default example: stationary spread")
    ax.legend(fontsize=6)

    ax = axes[2]
    for s in ("alt-d", "alt-g"):
        ax.plot(lrs, [abs(r["sde"][f"{s}-2"]["trace_cov"] - r["sde"]["sml-2"]["trace_cov"]) for r in ex], "-",
                color=col[s], label=f"|tr P {s.upper()}-SDE − tr P SML-SDE (order 2)| (exact)")
        ax.plot(lrs, [abs(r["discrete"][s]["trace_cov"] - r["discrete"]["sml"]["trace_cov"]) for r in ex], "o--",
                ms=3, color=col[s], label=f"|tr P {s.upper()} − tr P SML| chains (exact)")
        sl = np.array([r["lr"] for r in sim])
        d = np.array([abs(r[f"{s}_minus_sml"]["diff"]) for r in sim])
        e = 2 * np.array([r[f"{s}_minus_sml"]["se"] for r in sim])
        ax.errorbar(sl, d, yerr=np.minimum(e, 0.95 * d), fmt="s", mfc="none", color=col[s], capsize=2,
                    label=f"simulated chains ± 2 se ({s.upper()})")
    ax.set_yscale("log")
    _lr_ticks(ax, lrs)
    ax.set_xlabel("lr")
    ax.set_ylabel("|difference in tr Cov|")
    ax.set_title("game term: ALT vs SML")
    ax.legend(fontsize=6)
    save(fig, path)


def main(argv=None):
    args, out, t0 = start(__doc__, argv)

    traj = dirac_trajectories(0.1, 40.0 if args.quick else 80.0)
    base = config.load(None)
    table = {"game": base.resolved["game"], "training": dict(base.resolved["training"])}
    lrs = [0.0125, 0.025, 0.05, 0.1, 0.2]
    ex = exact_laws(base, lrs)
    sim = simulate_chains(table, [0.1] if args.quick else [0.05, 0.1, 0.2], 16 if args.quick else 64,
                          100.0 if args.quick else 400.0)

    res = {"trajectories": traj, "exact": ex, "simulated": sim, "fits": {}}
    for s in ("alt-d", "alt-g"):
        res["fits"][s] = {
            # the game term alone: ALT-SDE against the order-2 SML-SDE (same order, b1 differs by it)
            "sde_abs_diff": fit_slope(lrs, [abs(r["sde"][f"{s}-2"]["trace_cov"] - r["sde"]["sml-2"]["trace_cov"]) for r in ex]),
            "sde_rel_diff": fit_slope(lrs, [abs(r["sde"][f"{s}-2"]["trace_cov"] / r["sde"]["sml-2"]["trace_cov"] - 1) for r in ex]),
            "chain_abs_diff": fit_slope(lrs, [abs(r["discrete"][s]["trace_cov"] - r["discrete"]["sml"]["trace_cov"]) for r in ex]),
        }
    figure(traj, ex, sim, out / "alt_vs_sml.png")

    # ---- conclusion, computed from the numbers
    lines = []
    rm = {s: traj["maps"][s]["radius_T"] for s in SCHEMES}
    ro = {n: traj["odes"][n]["radius_T"] for n, _, _ in SDES}
    lines.append(
        f"Trajectories (Dirac-GAN, s = s_z = 0, lr = {traj['lr']:g}, from |x| = 1): at t = {traj['T']:g} the SML map has "
        f"|x| = {rm['sml']:.3g} (order-2 ODE b0 + lr b1: {ro['sml-2']:.3g}), ALT-D {rm['alt-d']:.3g} (ODE {ro['alt-d-2']:.3g}), "
        f"ALT-G {rm['alt-g']:.3g} (ODE {ro['alt-g-2']:.3g}), the gradient flow b0 {ro['sml-1']:.3g}: "
        + ("SML spirals out while the alternating maps stay near the b0 orbit — the game term cancels SML's outward drift."
           if rm["sml"] > 1.5 * max(rm["alt-d"], rm["alt-g"]) else
           "the schemes' radii do not separate clearly at this horizon."))
    r_mid = next(r for r in ex if r["lr"] == 0.05)
    for s in ("alt-d", "alt-g"):
        f = res["fits"][s]
        lines.append(
            f"Exact (bilinear default, N = 4): at lr = 0.05 tr P of the {s.upper()}-SDE is {r_mid['sde'][f'{s}-2']['trace_cov']:.5g} vs "
            f"order-2 SML-SDE {r_mid['sde']['sml-2']['trace_cov']:.5g} ({100 * (r_mid['sde'][f'{s}-2']['trace_cov'] / r_mid['sde']['sml-2']['trace_cov'] - 1):+.2f} %, "
            f"the game term alone; chains {s.upper()} {r_mid['discrete'][s]['trace_cov']:.5g} vs SML {r_mid['discrete']['sml']['trace_cov']:.5g}: "
            f"{100 * (r_mid['discrete'][s]['trace_cov'] / r_mid['discrete']['sml']['trace_cov'] - 1):+.2f} %; order-1 SML-SDE {r_mid['sde']['sml-1']['trace_cov']:.5g} for all); "
            f"|difference| scales as lr^{f['sde_abs_diff']['slope']:.2f} [{f['sde_abs_diff']['interval'][0]:.2f}, {f['sde_abs_diff']['interval'][1]:.2f}] "
            f"(relative lr^{f['sde_rel_diff']['slope']:.2f}); for the chains lr^{f['chain_abs_diff']['slope']:.2f} "
            f"[{f['chain_abs_diff']['interval'][0]:.2f}, {f['chain_abs_diff']['interval'][1]:.2f}] (expected 2: P = O(lr), game term O(lr) relative).")
    for r in sim:
        parts = []
        for s in ("alt-d", "alt-g"):
            d = r[f"{s}_minus_sml"]
            shown = abs(d["z"]) > Z_SIGNIFICANT
            parts.append(f"{s.upper()} − SML = {d['diff']:.3g} ± {d['se']:.2g} (z = {d['z']:.1f}, {100 * d['relative']:+.1f} %; exact {d['exact_diff']:.3g}): "
                         + ("differs" if shown else "difference not shown"))
        zx = max(abs(r["runs"][s]["z_vs_exact"]) for s in SCHEMES)
        lines.append(f"Simulated chains, lr = {r['lr']:g}: " + "; ".join(parts)
                     + f"; every run within |z| = {zx:.1f} of its exact law.")
    shown = [r["lr"] for r in sim if all(abs(r[f"{s}_minus_sml"]["z"]) > Z_SIGNIFICANT for s in ("alt-d", "alt-g"))]
    lines.append("Verdict: the exact OU laws show the game term changing the invariant measure by a relative O(lr); "
                 + (f"the simulated chains show it at lr ∈ {{{', '.join(f'{v:g}' for v in shown)}}} (|z| > {Z_SIGNIFICANT:g} "
                    "for both ALT-D and ALT-G), which an order-1 SDE (one law for all schemes) cannot describe."
                    if shown else f"the simulated chains do not show it at these run lengths (|z| ≤ {Z_SIGNIFICANT:g})."))
    res["conclusion"] = lines
    # the trajectories are long lists: keep them, they are the figure's data
    return finish(out, "alt_vs_sml", res, lines, t0, args.quick)


if __name__ == "__main__":
    main()
