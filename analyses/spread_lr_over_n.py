"""Is the stationary spread of GAN training set by the ratio lr/N alone?

docs/theory.md §3: the diffusion is ``σσᵀ = (η/N) Σ``, so to first order the invariant measure
depends on the learning rate η and the batch size N only through η/N; near a stable
equilibrium its covariance is O(η/N).  Claim: tr Cov of the long-run law collapses onto one
curve of η/N, ∝ (η/N)^1.

Setup.  Dirac-GAN (vanilla loss, R1 γ = 0.6, data N(0, 1), generator noise s_z = 1:
``data/dirac_r1.toml``), the discrete ALT-D training itself (``invariant.engine.simulate``,
dynamics ``sga``) on a 4 × 3 grid lr ∈ {0.025, 0.05, 0.1, 0.2} × N ∈ {2, 4, 8}; 32 chains
each, t = 300 of SDE time (cumulative lr) after 40 of burn-in, started at the equilibrium.

Method.  tr Cov with its MCSE (spread of per-chain time covariances across the independent
chains; ``invariant.stationary.moments``).  Fit ``log tr Cov = log a + p log(η/N)`` by
weighted least squares (weights from the MCSEs) with a 95 % interval for p (t-interval with
the residual scale; and the χ²/dof of the fit, which measures the collapse).  Pairs of grid
points with the same η/N (e.g. (0.025, 2), (0.05, 4), (0.1, 8)) are compared directly with
z-scores: order-2 effects (b1 = O(η) at fixed η/N) show up as systematic differences at
large η.

Writes ``OUT/spread_lr_over_n.json`` and ``OUT/spread_lr_over_n.png``; prints the conclusion.
Run: ``python analyses/spread_lr_over_n.py [--out DIR] [--quick]``.
"""
from __future__ import annotations

import itertools
import time

import numpy as np
from scipy import stats

from _common import ROOT, finish, save, start  # noqa: E402  (puts the package on the path)

from invariant import config, engine, stationary  # noqa: E402

Z_SIGNIFICANT = 3.0


def _wls(X, y, se):
    """Weighted least squares of log y on the columns of X (weights 1/var of log y): the
    coefficients, their standard errors (inflated when the points scatter more than their
    errors), χ² and its degrees of freedom."""
    ly = np.log(y)
    W = np.diag((y / se) ** 2)  # 1 / var(log y)
    cov = np.linalg.inv(X.T @ W @ X)
    beta = cov @ X.T @ W @ ly
    res = ly - X @ beta
    dof = len(ly) - X.shape[1]
    chi2 = float(res @ W @ res)
    return beta, np.sqrt(np.diag(cov) * max(1.0, chi2 / dof)), chi2, dof


def wls_slope(x, y, se, level=0.95):
    """Weighted least squares of log y on log x (weights 1/var of log y) with a t-interval."""
    lx = np.log(x)
    beta, se_b, chi2, dof = _wls(np.stack([np.ones_like(lx), lx], 1), y, se)
    h = stats.t.ppf(0.5 + level / 2, dof) * se_b[1]
    return {"p": float(beta[1]), "p_se": float(se_b[1]), "interval": [float(beta[1] - h), float(beta[1] + h)],
            "log_a": float(beta[0]), "chi2_per_dof": chi2 / dof, "dof": dof,
            "chi2_p_value": float(stats.chi2.sf(chi2, dof))}


def wls_lr_correction(x, lr, y, se, level=0.95):
    """``log tr Cov = log a + p log(η/N) + q η``: the first-order collapse plus an O(η) relative
    correction at fixed η/N (the order-2 drift b1).  Returns p and q with t-intervals."""
    beta, se_b, chi2, dof = _wls(np.stack([np.ones_like(x), np.log(x), lr], 1), y, se)
    t = stats.t.ppf(0.5 + level / 2, dof)
    return {"p": float(beta[1]), "p_interval": [float(beta[1] - t * se_b[1]), float(beta[1] + t * se_b[1])],
            "q": float(beta[2]), "q_se": float(se_b[2]), "q_interval": [float(beta[2] - t * se_b[2]), float(beta[2] + t * se_b[2])],
            "q_z": float(beta[2] / se_b[2]), "chi2_per_dof": chi2 / dof, "dof": dof}


def figure(rows, fit, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    Ns = sorted({r["batch_size"] for r in rows})
    lrs = sorted({r["lr"] for r in rows})
    pal = dict(zip(Ns, sns.color_palette("tab10", len(Ns))))
    mk = dict(zip(lrs, "osD^v<>"))
    ax = axes[0]
    for r in rows:
        ax.errorbar(r["lr_over_N"], r["trace_cov"], yerr=2 * r["trace_cov_mcse"], fmt=mk[r["lr"]], color=pal[r["batch_size"]],
                    mfc="none", capsize=2, ms=6)
    xs = np.geomspace(min(r["lr_over_N"] for r in rows) / 1.3, max(r["lr_over_N"] for r in rows) * 1.3, 50)
    ax.plot(xs, np.exp(fit["log_a"]) * xs ** fit["p"], "k--", lw=1,
            label=f"fit: tr Cov ∝ (lr/N)^{fit['p']:.3f} [{fit['interval'][0]:.3f}, {fit['interval'][1]:.3f}]")
    for N in Ns:
        ax.plot([], [], "o", color=pal[N], label=f"batch_size N = {N}")
    for lr in lrs:
        ax.plot([], [], mk[lr], color="gray", mfc="none", label=f"lr = {lr:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lr / batch_size")
    ax.set_ylabel("tr Cov(theta, psi) (± 2 MCSE)")
    ax.set_title("Dirac-GAN + R1, ALT-D chains: stationary spread")
    ax.legend(fontsize=7)
    ax = axes[1]
    for r in rows:
        ax.errorbar(r["lr_over_N"], r["trace_cov"] / r["lr_over_N"], yerr=2 * r["trace_cov_mcse"] / r["lr_over_N"],
                    fmt=mk[r["lr"]], color=pal[r["batch_size"]], mfc="none", capsize=2, ms=6)
        ax.annotate(f"{r['lr']:g}", (r["lr_over_N"], r["trace_cov"] / r["lr_over_N"]), fontsize=6,
                    xytext=(4, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("lr / batch_size")
    ax.set_ylabel("tr Cov / (lr/N)")
    ax.set_title("collapse check: constant if the spread depends on lr/N only (labels: lr)")
    save(fig, path)


def main(argv=None):
    args, out, t0 = start(__doc__, argv)
    lrs = [0.05, 0.1] if args.quick else [0.025, 0.05, 0.1, 0.2]
    Ns = [2, 4] if args.quick else [2, 4, 8]
    chains, t_end = (8, 80.0) if args.quick else (32, 300.0)
    base = config.load(ROOT / "data" / "dirac_r1.toml")
    rows = []
    for lr, N in itertools.product(lrs, Ns):
        t1 = time.perf_counter()
        table = {"game": base.resolved["game"], "training": {"scheme": "alt-d", "lr": lr, "batch_size": N},
                 "simulation": {"dynamics": "sga", "chains": chains, "t_end": t_end, "t_burn": 40.0, "seed": 77,
                                "x0": [0.0, 0.0], "init_scale": 0.0}}
        r = engine.simulate(config.from_dict(table))
        mo = stationary.moments(r)
        rows.append({"lr": lr, "batch_size": N, "lr_over_N": lr / N, "trace_cov": mo.trace_cov,
                     "trace_cov_mcse": mo.trace_cov_mcse, "cov": mo.cov.tolist(), "cov_mcse": mo.cov_mcse.tolist(),
                     "verdict": mo.verdict, "reason": mo.reason, "diverged": r.n_diverged,
                     "seconds": time.perf_counter() - t1})
        print(f"  lr = {lr:<6g} N = {N}: lr/N = {lr / N:.4g}, tr Cov = {mo.trace_cov:.4g} ± {mo.trace_cov_mcse:.2g} "
              f"({mo.verdict}; {time.perf_counter() - t1:.1f} s)", flush=True)
    x = np.array([r["lr_over_N"] for r in rows])
    y = np.array([r["trace_cov"] for r in rows])
    se = np.array([r["trace_cov_mcse"] for r in rows])
    fit = wls_slope(x, y, se)
    fit2 = wls_lr_correction(x, np.array([r["lr"] for r in rows]), y, se) if len(rows) >= 5 else None
    small = x <= np.median(x)
    fit_small = wls_slope(x[small], y[small], se[small]) if small.sum() >= 4 else None
    # same lr/N, different (lr, N)
    pairs = []
    for a, b in itertools.combinations(rows, 2):
        if np.isclose(a["lr_over_N"], b["lr_over_N"]):
            lo, hi = (a, b) if a["lr"] < b["lr"] else (b, a)
            d = hi["trace_cov"] - lo["trace_cov"]
            s = float(np.hypot(hi["trace_cov_mcse"], lo["trace_cov_mcse"]))
            pairs.append({"lr_over_N": a["lr_over_N"], "small": [lo["lr"], lo["batch_size"]],
                          "large": [hi["lr"], hi["batch_size"]], "diff": d, "se": s, "z": d / s,
                          "relative": d / lo["trace_cov"]})
    figure(rows, fit, out / "spread_lr_over_n.png")

    lines = []
    covers1 = fit["interval"][0] <= 1.0 <= fit["interval"][1]
    lines.append(
        f"tr Cov ∝ (lr/N)^p with p = {fit['p']:.3f} [{fit['interval'][0]:.3f}, {fit['interval'][1]:.3f}] (95 %, "
        f"{len(rows)} runs, lr/N from {x.min():.3g} to {x.max():.3g}); the interval "
        + ("covers 1" if covers1 else "excludes 1")
        + f"; χ²/dof = {fit['chi2_per_dof']:.2f} (p = {fit['chi2_p_value']:.2g})"
        + (f"; on the smaller half of lr/N p = {fit_small['p']:.3f} [{fit_small['interval'][0]:.3f}, {fit_small['interval'][1]:.3f}], "
           f"χ²/dof = {fit_small['chi2_per_dof']:.2f}" if fit_small else "") + ".")
    if fit2:
        q_shown = fit2["q_interval"][0] > 0 or fit2["q_interval"][1] < 0
        lines.append(
            f"With an O(lr) correction at fixed lr/N, log tr Cov = log a + p log(lr/N) + q lr: p = {fit2['p']:.3f} "
            f"[{fit2['p_interval'][0]:.3f}, {fit2['p_interval'][1]:.3f}], q = {fit2['q']:.3g} [{fit2['q_interval'][0]:.3g}, "
            f"{fit2['q_interval'][1]:.3g}] per unit lr (z = {fit2['q_z']:.1f}; a relative {100 * fit2['q'] * max(r['lr'] for r in rows):+.1f} % at "
            f"lr = {max(r['lr'] for r in rows):g}), χ²/dof = {fit2['chi2_per_dof']:.2f}: the lr-dependence beyond lr/N is "
            + ("shown." if q_shown else "not shown."))
    if pairs:
        sig = [p for p in pairs if abs(p["z"]) > Z_SIGNIFICANT]
        lines.append("Same lr/N, different (lr, N): " + "; ".join(
            f"lr/N = {p['lr_over_N']:.4g}: ({p['large'][0]:g}, {p['large'][1]}) − ({p['small'][0]:g}, {p['small'][1]}) = "
            f"{100 * p['relative']:+.1f} % (z = {p['z']:.1f})" for p in pairs) + ".")
        q_shown = bool(fit2) and (fit2["q_interval"][0] > 0 or fit2["q_interval"][1] < 0)
        collapse = not sig and fit["chi2_per_dof"] < 2 and not q_shown
        p_final = fit2 if q_shown else {"p": fit["p"], "p_interval": fit["interval"]}
        covers1 = p_final["p_interval"][0] <= 1.0 <= p_final["p_interval"][1]
        lines.append(
            "Verdict: " + ("the spread collapses onto one curve of lr/N within the MCSEs" if collapse else
                           f"the spread is set by lr/N to first order (no same-lr/N pair differs at |z| > {Z_SIGNIFICANT:g}), with a small "
                           f"O(lr) excess at fixed lr/N ({100 * fit2['q'] * max(r['lr'] for r in rows):+.1f} % at lr = {max(r['lr'] for r in rows):g}, z = {fit2['q_z']:.1f})"
                           if (q_shown and not sig) else
                           f"the spread depends on lr/N to first order, but the collapse is not exact: {len(sig)} of {len(pairs)} "
                           f"same-lr/N pairs differ at |z| > {Z_SIGNIFICANT:g} (largest lr: order-2 terms, b1 = O(lr) at fixed lr/N)"
                           if sig else f"the collapse is not shown cleanly (χ²/dof = {fit['chi2_per_dof']:.2f})")
            + (f"; the exponent p = {p_final['p']:.3f} [{p_final['p_interval'][0]:.3f}, {p_final['p_interval'][1]:.3f}] is consistent with 1."
               if covers1 else f"; the exponent p = {p_final['p']:.3f} [{p_final['p_interval'][0]:.3f}, {p_final['p_interval'][1]:.3f}] is not 1 at 95 %."))
    res = {"setting": {"game": base.resolved["game"], "scheme": "alt-d", "dynamics": "sga", "chains": chains, "t_end": t_end,
                       "t_burn": 40.0}, "runs": rows, "fit": fit, "fit_with_lr_correction": fit2, "fit_small_half": fit_small, "same_ratio_pairs": pairs,
           "conclusion": lines}
    return finish(out, "spread_lr_over_n", res, lines, t0, args.quick)


if __name__ == "__main__":
    main()
