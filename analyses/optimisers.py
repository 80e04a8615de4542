"""Where does stochastic training settle, how wide and how fast, for each optimiser?

docs/theory.md §4b: the optimisers GANs are trained with (SGD, heavy-ball momentum,
extragradient, optimistic GDA, consensus optimisation, RMSProp, Adam) are each a Markov
chain on the parameters (and the optimiser's own state).  Claims from the literature on
game dynamics: on the unregularised bilinear game simultaneous SGDA spirals out, while
extragradient (EG), optimistic GDA (OGDA) and consensus optimisation settle; momentum can
hurt in games.  This script measures, per game and optimiser, the stationary spread, the
mixing rate and the divergences, at one learning rate per game shared by all optimisers.

Setup.  Every optimiser with simultaneous moves (``scheme = "sml"``, the one scheme all seven
admit) and the toolkit's default constants (momentum β = 0.9, consensus γ = 0.1, RMSProp
β₂ = 0.99, Adam β = (0.9, 0.999), eps = 1e-8), on three games, each from its config in
``data/`` with ``training.optimizer`` set in turn:
(a) ``data/bilinear_unregularised.toml``: g = θω (lam = gam = 0), unit noise, lr 0.1, N = 4;
(b) ``data/dirac_r1.toml``: Dirac-GAN, vanilla loss, R1 γ = 0.6, data and latent noise,
    lr 0.05, N = 4, run as the discrete chains (``dynamics = "sga"``);
(c) ``data/mlp_altd.toml``: one-hidden-layer tanh GAN (width 8, d = 50) on the two-mode
    mixture, lr 0.1, N = 64, fewer chains and a shorter run than the file's.

Method, per run (``invariant.engine.simulate``: the engine's chains, nothing else).
* Divergences: chains stopped by the escape test (|x| beyond ``escape_radius`` or NaN), out
  of all, with a Clopper–Pearson 95 % interval, and the SDE times t = lr·k at which they
  were caught.
* Spread: tr Cov of the stationary law over the live chains
  (``invariant.stationary.moments``), 95 % interval ± 1.96 × its MCSE across chains, and the
  moments verdict (settled / not settled / too short to tell).
* Mixing rate κ (per unit of t): ``invariant.mixing.autocorrelation_rate`` with its chain
  bootstrap interval and reliability flag; estimated only where the moments verdict is
  "settled" (κ is the rate of approach to an invariant law the chains must be shown at).
Verdicts (full run only).  An optimiser *diverges* on a game when the lower end of the
interval of the diverged fraction exceeds 1/2; it *settles* when no chain diverged, the
moments verdict is ``settled`` and κ is reliable with an interval above 0; otherwise
"not shown".  Spreads of settled optimisers are compared with SGD's (when SGD settles) by
z = Δ tr Cov / √(MCSE² + MCSE²), a difference claimed at |z| > 3.

Writes ``OUT/optimisers.json`` (every number, package version and commit) and
``OUT/optimisers.png`` (per game: tr Cov, diverged fraction and κ per optimiser, with their
intervals); prints the conclusion.
Run: ``python analyses/optimisers.py [--out DIR] [--quick]``.
"""
from __future__ import annotations

import time

import numpy as np
from scipy import stats

from _common import ROOT, finish, save, start  # noqa: E402  (puts the package on the path)

from invariant import config, engine, mixing, stationary  # noqa: E402
from invariant.optimizers import OPTIMIZERS  # noqa: E402

LABEL = {"sgd": "SGDA", "momentum": "momentum", "extragradient": "EG", "optimistic": "OGDA",
         "consensus": "consensus", "rmsprop": "RMSProp", "adam": "Adam"}
# game → (config in data/, [simulation] of the full run, of the quick run); few chunks: a
# chunk is a parallel launch of the kernel, and on a loaded machine each costs tens of ms
GAMES = {
    "bilinear (unregularised)": ("bilinear_unregularised.toml",
                                 {"chains": 64, "t_end": 2000.0, "t_burn": 100.0, "keep_draws": 2000, "chunks": 20},
                                 {"chains": 8, "t_end": 100.0, "t_burn": 10.0, "keep_draws": 200, "chunks": 4}),
    "Dirac-GAN + R1": ("dirac_r1.toml",
                       {"chains": 64, "t_end": 1000.0, "t_burn": 40.0, "keep_draws": 2000, "chunks": 20},
                       {"chains": 8, "t_end": 100.0, "t_burn": 10.0, "keep_draws": 200, "chunks": 4}),
    "mlp": ("mlp_altd.toml",
            {"chains": 16, "t_end": 400.0, "t_burn": 100.0, "keep_draws": 1000, "chunks": 20},
            {"chains": 4, "t_end": 40.0, "t_burn": 10.0, "keep_draws": 100, "chunks": 4}),
}
Z_DIFF = 3.0
N_BOOT = 50


def table(game: str, optimizer: str, quick: bool) -> dict:
    """The run's config: the game's file with the optimiser and the run's length set."""
    path, full, short = GAMES[game]
    t = config.read_table(ROOT / "data" / path)
    t["training"] = {**t["training"], "scheme": "sml", "optimizer": optimizer}
    t["simulation"] = {**t["simulation"], "dynamics": "sga", **(short if quick else full)}
    return t


def divergences(r) -> dict:
    n, k = r.config.chains, r.n_diverged
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    t = np.sort(r.div_step[~r.alive] * r.config.step_time)
    return {"diverged": k, "chains": n, "fraction": k / n, "fraction_interval": [ci.low, ci.high],
            "times": t.tolist(), "median_time": float(np.median(t)) if k else None}


def spread(r) -> dict:
    if r.kept_alive.sum() < 2:
        return {"trace_cov": float("nan"), "trace_cov_mcse": float("nan"), "interval": [float("nan")] * 2,
                "verdict": "not settled", "reason": "fewer than two live chains kept"}
    mo = stationary.moments(r)
    h = 1.96 * mo.trace_cov_mcse
    return {"trace_cov": mo.trace_cov, "trace_cov_mcse": mo.trace_cov_mcse,
            "interval": [mo.trace_cov - h, mo.trace_cov + h], "verdict": mo.verdict, "reason": mo.reason}


def rate(r, moments_verdict: str) -> dict:
    # κ is the rate at which the chains approach their invariant law: estimated only where the
    # moments show them settled (the decay fit of a drifting or too short chain is unreliable
    # and can take minutes)
    why = ("fewer than two live chains kept" if r.kept_alive.sum() < 2 else
           f"not estimated: moments {moments_verdict}" if moments_verdict != "settled" else None)
    if why:
        return {"rate": float("nan"), "interval": [float("nan")] * 2, "reliable": False, "note": why}
    est, _ = mixing.autocorrelation_rate(r, n_boot=N_BOOT)
    return {"rate": est.rate, "interval": list(est.interval), "reliable": bool(est.reliable), "note": est.note}


def run_one(game: str, optimizer: str, quick: bool) -> dict:
    t0 = time.perf_counter()
    tab = table(game, optimizer, quick)
    r = engine.simulate(config.from_dict(tab))
    sp = spread(r)
    out = {"config": r.config.resolved, "divergences": divergences(r), "spread": sp, "kappa": rate(r, sp["verdict"]),
           "compile_seconds": r.compile_seconds, "run_seconds": r.wall_seconds}
    out["seconds"] = time.perf_counter() - t0
    dv, sp, ka = out["divergences"], out["spread"], out["kappa"]
    when = f" (median t {dv['median_time']:.3g})" if dv["diverged"] else ""
    print(f"  {game:26s} {LABEL[optimizer]:10s} diverged {dv['diverged']:3d}/{dv['chains']:<3d}"
          f"{when:22s} tr Cov {sp['trace_cov']:9.3g} "
          f"± {sp['trace_cov_mcse']:8.2g} ({sp['verdict']}); κ {ka['rate']:8.3g} "
          f"[{ka['interval'][0]:.3g}, {ka['interval'][1]:.3g}]{'' if ka['reliable'] else ' (unreliable)'}"
          f"  ({out['seconds']:.0f} s)", flush=True)
    return out


def verdict(res: dict) -> str:
    dv, sp, ka = res["divergences"], res["spread"], res["kappa"]
    if dv["fraction_interval"][0] > 0.5:
        return "diverges"
    if dv["diverged"] == 0 and sp["verdict"] == "settled" and ka["reliable"] and ka["interval"][0] > 0:
        return "settles"
    return "not shown"


def compare_spread(a: dict, b: dict) -> float:
    """z of tr Cov(a) − tr Cov(b)."""
    se = np.hypot(a["spread"]["trace_cov_mcse"], b["spread"]["trace_cov_mcse"])
    return float((a["spread"]["trace_cov"] - b["spread"]["trace_cov"]) / se) if se > 0 else float("nan")


def versus_sgd(r: dict, sgd: dict) -> tuple[str, bool]:
    """How a settled optimiser's spread and κ compare with settled SGDA's, and whether it is
    shown worse (wider at |z| > Z_DIFF, or slower with disjoint κ intervals)."""
    z = compare_spread(r, sgd)
    ratio = r["spread"]["trace_cov"] / sgd["spread"]["trace_cov"]
    text = (f"tr Cov {ratio:.2g}× SGDA's (z = {z:.1f})" if abs(z) > Z_DIFF
            else f"tr Cov not shown to differ from SGDA's (z = {z:.1f})")
    (lo, hi), (slo, shi) = r["kappa"]["interval"], sgd["kappa"]["interval"]
    slower, faster = hi < slo, lo > shi
    text += ", κ " + ("slower than" if slower else "faster than" if faster else "not shown to differ from") + " SGDA's"
    return text, bool(z > Z_DIFF or slower)


def describe(o: str, r: dict, sgd: dict) -> tuple[str, bool]:
    """The optimiser's line on one game, and whether it is shown worse than SGDA there."""
    dv, sp, ka, v = r["divergences"], r["spread"], r["kappa"], r["verdict"]
    if v == "diverges":
        return (f"{LABEL[o]} diverges ({dv['diverged']}/{dv['chains']} chains, median t = {dv['median_time']:.3g})",
                sgd["verdict"] != "diverges")
    if v == "settles":
        vs, worse = versus_sgd(r, sgd) if sgd["verdict"] == "settles" and o != "sgd" else ("", False)
        return (f"{LABEL[o]} settles (tr Cov {sp['trace_cov']:.3g} [{sp['interval'][0]:.3g}, {sp['interval'][1]:.3g}], "
                f"κ {ka['rate']:.3g} [{ka['interval'][0]:.3g}, {ka['interval'][1]:.3g}]{'; ' + vs if vs else ''})", worse)
    return (f"{LABEL[o]}: not shown ({dv['diverged']}/{dv['chains']} diverged, moments {sp['verdict']}, "
            f"tr Cov {sp['trace_cov']:.3g}, κ {'reliable' if ka['reliable'] else 'unreliable'})", False)


def conclusions(results: dict) -> list[str]:
    lines, hurts = [], []
    for game, by_opt in results.items():
        for r in by_opt.values():
            r["verdict"] = verdict(r)
        parts = []
        for o, r in by_opt.items():
            text, worse = describe(o, r, by_opt["sgd"])
            parts.append(text)
            if o == "momentum" and worse:
                hurts.append(f"{game} ({text})")
        lines.append(f"{game}: " + "; ".join(parts) + ".")
    bil = {o: r["verdict"] for o, r in results.get("bilinear (unregularised)", {}).items()}
    if bil:
        claim = bil.get("sgd") == "diverges" and all(bil.get(o) == "settles" for o in ("extragradient", "optimistic",
                                                                                      "consensus"))
        lines.append("Verdict (bilinear claim): " + (
            "shown — SGDA diverges on the unregularised bilinear game while EG, OGDA and consensus settle."
            if claim else "not shown in full — " + ", ".join(f"{LABEL[o]} {bil.get(o)}" for o in
                                                             ("sgd", "extragradient", "optimistic", "consensus")) + "."))
    lines.append("Verdict (momentum β = 0.9 at SGDA's lr): " + (
        "shown to hurt on " + "; ".join(hurts) + "." if hurts else
        "not shown to hurt (it diverges nowhere SGDA does not, and is nowhere shown wider or slower)."))
    return lines


def figure(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    games = list(results)
    fig, axes = plt.subplots(len(games), 3, figsize=(13, 3.2 * len(games)), squeeze=False)
    pal = dict(zip(OPTIMIZERS, sns.color_palette("tab10", len(OPTIMIZERS)), strict=True))
    xs = np.arange(len(OPTIMIZERS))
    for i, game in enumerate(games):
        by = results[game]
        panels = [("spread", "tr Cov (stationary, 95 %)", "trace_cov", "interval", True),
                  ("divergences", "diverged fraction (95 %)", "fraction", "fraction_interval", False),
                  ("kappa", "κ (per unit t, 95 %)", "rate", "interval", True)]
        for j, (key, ylabel, val, iv, logy) in enumerate(panels):
            ax = axes[i, j]
            for x, o in zip(xs, OPTIMIZERS, strict=True):
                r = by[o][key]
                y, (lo, hi) = r[val], r[iv]
                if not np.isfinite(y):
                    ax.text(x, 0.5, "n/a", transform=ax.get_xaxis_transform(), ha="center", va="center",
                            color="grey", fontsize=7, rotation=90)
                    continue
                weak = (key == "spread" and r["verdict"] != "settled") or (key == "kappa" and not r["reliable"])
                lo = max(lo, y * 1e-3) if logy else lo
                ax.errorbar([x], [y], yerr=[[max(y - lo, 0)], [max(hi - y, 0)]], fmt="o", capsize=3, color=pal[o],
                            mfc="white" if weak else pal[o], ms=6)
            ax.set_xticks(xs, [LABEL[o] for o in OPTIMIZERS], rotation=30, ha="right")
            if logy:
                ax.set_yscale("log")
            else:
                ax.set_ylim(-0.05, 1.05)
            ax.set_ylabel(ylabel)
            if j == 0:
                ax.set_title(f"{game}: lr {by['sgd']['config']['training']['lr']}, N "
                             f"{by['sgd']['config']['training']['batch_size']}", loc="left")
    fig.suptitle("Optimisers at matched lr (simultaneous moves; hollow: not settled / κ unreliable)")
    save(fig, path)


def main(argv=None):
    args, out, t0 = start(__doc__, argv)
    results = {}
    for game in GAMES:
        results[game] = {o: run_one(game, o, args.quick) for o in OPTIMIZERS}
    figure(results, out / "optimisers.png")
    lines = [] if args.quick else conclusions(results)
    res = {"settings": {g: {"config": v[0], "simulation": v[2] if args.quick else v[1]} for g, v in GAMES.items()},
           "results": results, "conclusion": lines}
    return finish(out, "optimisers", res, lines, t0, args.quick)


if __name__ == "__main__":
    main()
