"""Is there a best noise level: too little leaves oscillation, too much prevents recovery?

Wang, Hu & Lu ("A solvable high-dimensional model of GAN", NeurIPS 2019; docs/theory.md §8.4) find, for a solvable GAN model, that
the level of the *background noise* of the data decides whether training converges: too
strong and the feature is not recovered, too weak and the training oscillates.  docs/theory.md §8
also names η/N, the minibatch-noise level of the SDE, as the knob.  This script sweeps both
on the Dirac-GAN, whose gradient flow without noise is a pure rotation (docs/theory.md §8).

Setup.  Dirac-GAN, vanilla loss, no regulariser, data N(0, s²) and generator noise s_z = s
(the data's background noise and the matching latent noise), ALT-D training (the discrete
chains themselves, ``invariant.engine.simulate`` with dynamics ``sga``).
* Sweep 1 — background noise s ∈ {0.35 … 2.83} (a factor √2 apart) at lr = 0.05, N = 4.
  Near the equilibrium (0, 0) the drift's Jacobian is ``[[0, 1/2], [−1/2, −a]]`` with
  ``a = (s² + s_z²)/4`` (``game.hessian``): complex eigenvalues (rotation at frequency
  ``sqrt(1/4 − a²/4)``, damping a/2) for a < 1, real ones for a > 1, where the slow one
  ``−a/2 + sqrt(a²/4 − 1/4)`` tends to 0 like ``1/(4a)``: the local mixing rate κ is largest
  at a = 1 (s = √2) and small at both ends.
* Sweep 2 — minibatch noise η/N at s = 1: lr = 0.05, N ∈ {1, 2, 4, 16, 64}.

Measures, per setting (32 chains each):
* recovery — from (θ, ψ) = (1.5, 0), the distance of the mean E x(t) to the equilibrium and
  the root-mean-square distance sqrt(E|x(t) − x*|²) at t = T = 25 (mean over chains, standard
  errors from the chains);
* long-run law — a second run started at the equilibrium, t = 400 after 50 of burn-in:
  tr Cov with its MCSE (``invariant.stationary.moments``), and the decay rate κ and rotation
  frequency of the autocorrelations (``invariant.mixing.autocorrelation_rate`` on 800 kept
  draws per chain, 95 % interval from 50 chain-bootstrap replicas), against the linearised values; residual oscillation as the
  number of radians turned per decay time, frequency/κ, with a 95 % interval from 200
  chain-bootstrap replicas of the same fit (ν and κ refitted together).
A U-shape in s is "shown" when the RMS distance at T at both ends of the sweep exceeds that
at its minimum by more than 3 combined standard errors.

Writes ``OUT/noise_sweep.json`` and ``OUT/noise_sweep.png``; prints the conclusion.
Run: ``python analyses/noise_sweep.py [--out DIR] [--quick]``.
"""
from __future__ import annotations

import time

import numpy as np

from _common import finish, save, start  # noqa: E402  (puts the package on the path)

from invariant import config, engine, mixing, stationary  # noqa: E402

T_RECOVER = 25.0
Z = 3.0


def table(s, lr, N, chains, transient, seed):
    sim = ({"t_end": T_RECOVER + 5.0, "t_burn": 0.25, "x0": [1.5, 0.0], "init_scale": 0.0, "keep_draws": 600} if transient
           else {"t_end": 400.0, "t_burn": 50.0, "x0": [0.0, 0.0], "init_scale": 0.0, "keep_draws": 800})
    return {"game": {"name": "dirac", "loss": "vanilla", "regularizer": "none", "mu": 0.0, "s": s, "s_z": s},
            "training": {"scheme": "alt-d", "lr": lr, "batch_size": N},
            "simulation": {"dynamics": "sga", "chains": chains, "seed": seed, "escape_radius": 1e3, **sim}}


def linear(cfg):
    g = cfg.game
    J = np.diag([-1.0, 1.0]) @ np.asarray(g.hessian(np.zeros(2)))
    ev = np.linalg.eigvals(J)
    return {"jacobian": J.tolist(), "kappa": float(-ev.real.max()), "frequency": float(np.abs(ev.imag).max())}


def turning(result, n_boot: int = 200, level: float = 0.95) -> tuple:
    """Radians turned per decay time, ν/κ, with a chain-bootstrap interval.

    The autocorrelation fit of ``mixing.autocorrelation_rate`` (same curves, window and one
    damped oscillation) is redone on chain-bootstrap replicas, ν and κ from the same replica,
    so the interval carries both and their correlation.  ``(None, (nan, nan))`` without a
    fitted rotation.
    """
    from invariant.diagnostics import chain_bootstrap, percentile_interval
    from invariant.mixing.acf import coordinate_acfs
    from invariant.mixing.draws import draw_spacing
    from invariant.mixing.pencil import fit_decay

    x = result.draws[result.kept_alive]
    per_chain, _, _, (i0, L) = coordinate_acfs(x)
    pc, dt = per_chain[:, :, i0:L], draw_spacing(result)

    def ratio(idx):
        f = fit_decay(pc[idx].mean(0), dt, order=2)
        return f.frequency / f.rate if f.frequency and f.rate > 0 else float("nan")

    full = ratio(np.arange(pc.shape[0]))
    if not np.isfinite(full):
        return None, (float("nan"), float("nan"))
    reps = chain_bootstrap(ratio, pc.shape[0], n_boot, np.random.default_rng(0))
    return full, percentile_interval(reps, level)[0]


def one(s, lr, N, chains, seed):
    t0 = time.perf_counter()
    cfg = config.from_dict(table(s, lr, N, chains, True, seed))
    r = engine.simulate(cfg)
    x = r.draws[r.kept_alive]  # (C, n, 2)
    t = r.draw_t
    j = int(np.argmin(np.abs(t - T_RECOVER)))
    xT = x[:, j]
    C = len(xT)
    mean_T = xT.mean(0)
    bias = float(np.linalg.norm(mean_T))
    bias_se = float(np.sqrt(np.sum(xT.var(0, ddof=1)) / C))
    d2 = np.sum(xT**2, axis=1)
    rms = float(np.sqrt(d2.mean()))
    rms_se = float(d2.std(ddof=1) / np.sqrt(C) / (2 * rms))
    curve = np.sqrt(np.mean(np.sum(x**2, axis=-1), axis=0))
    cfg2 = config.from_dict(table(s, lr, N, chains, False, seed + 1))
    r2 = engine.simulate(cfg2)
    mo = stationary.moments(r2)
    est, _ = mixing.autocorrelation_rate(r2, n_boot=50)  # (its cost grows fast with kept draws and replicas)
    lin = linear(cfg2)
    freq = est.details.get("frequency") if est.details else None
    out = {"s": s, "lr": lr, "batch_size": N, "lr_over_N": lr / N, "a": (2 * s * s) / 4, "linear": lin,
           "recovery": {"T": float(t[j]), "mean_distance": bias, "mean_distance_se": bias_se, "rms_distance": rms,
                        "rms_distance_se": rms_se, "curve_t": t.tolist(), "curve_rms": curve.tolist(),
                        "diverged": r.n_diverged},
           "longrun": {"trace_cov": mo.trace_cov, "trace_cov_mcse": mo.trace_cov_mcse, "mean": mo.mean.tolist(),
                       "mean_mcse": mo.mean_mcse.tolist(), "verdict": mo.verdict, "reason": mo.reason,
                       "linear_trace_cov": lr / N,  # (η/2N)·I for the linearised OU law
                       "kappa": est.rate, "kappa_interval": list(est.interval), "kappa_reliable": est.reliable,
                       "kappa_note": est.note, "frequency": float(freq) if freq is not None else None,
                       "diverged": r2.n_diverged},
           "seconds": time.perf_counter() - t0}
    rad, rad_iv = turning(r2)
    out["longrun"]["radians_per_decay_time"] = rad
    out["longrun"]["radians_per_decay_time_interval"] = list(rad_iv)
    print(f"  s = {s:<5.3g} lr/N = {lr / N:<8.4g} RMS distance at T = {rms:.3g} ± {rms_se:.2g}, |E x(T)| = {bias:.3g} ± {bias_se:.2g}; "
          f"tr Cov = {mo.trace_cov:.3g} ± {mo.trace_cov_mcse:.2g} ({mo.verdict}); κ = {est.rate:.3g} "
          f"[{est.interval[0]:.3g}, {est.interval[1]:.3g}] (linear {lin['kappa']:.3g}), frequency {freq if freq is not None else float('nan'):.3g} "
          f"(linear {lin['frequency']:.3g}), {rad if rad else float('nan'):.2g} [{rad_iv[0]:.2g}, {rad_iv[1]:.2g}] rad per decay time "
          f"({out['seconds']:.0f} s)", flush=True)
    return out


def figure(sweep_s, sweep_n, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    pal = sns.color_palette("viridis", len(sweep_s))
    ax = axes[0, 0]
    for r, c in zip(sweep_s, pal):
        ax.plot(r["recovery"]["curve_t"], r["recovery"]["curve_rms"], color=c, label=f"s = s_z = {r['s']:.3g}")
    ax.axvline(T_RECOVER, color="k", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("t (lr × iterations)")
    ax.set_ylabel("sqrt(E|x(t) − x*|²)")
    ax.set_title("recovery from (theta, psi) = (1.5, 0); lr = 0.05, N = 4")
    ax.legend(fontsize=7)
    s = np.array([r["s"] for r in sweep_s])
    ax = axes[0, 1]
    ax.errorbar(s, [r["recovery"]["rms_distance"] for r in sweep_s], yerr=[2 * r["recovery"]["rms_distance_se"] for r in sweep_s],
                fmt="o-", capsize=2, label=f"RMS distance at t = {T_RECOVER:g}")
    ax.errorbar(s, [r["recovery"]["mean_distance"] for r in sweep_s], yerr=[2 * r["recovery"]["mean_distance_se"] for r in sweep_s],
                fmt="s--", capsize=2, label=f"|E x(t) − x*| at t = {T_RECOVER:g}")
    ax.plot(s, [np.sqrt(r["longrun"]["trace_cov"]) for r in sweep_s], "^:", label="long-run sqrt(tr Cov)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("background noise s = s_z")
    ax.set_ylabel("distance to equilibrium (± 2 SE)")
    ax.set_title("trade-off in the data/latent noise")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    k = np.array([r["longrun"]["kappa"] for r in sweep_s])
    ki = np.array([r["longrun"]["kappa_interval"] for r in sweep_s])
    ax.errorbar(s, k, yerr=[np.clip(k - ki[:, 0], 0, None), np.clip(ki[:, 1] - k, 0, None)], fmt="o", capsize=2,
                label="kappa (autocorrelation fit, 95 %)")
    ss = np.geomspace(s.min(), s.max(), 200)
    a = ss**2 / 2
    kl = np.where(a < 1, a / 2, a / 2 - np.sqrt(np.maximum(a**2 / 4 - 0.25, 0)))
    fl = np.sqrt(np.maximum(0.25 - a**2 / 4, 0))
    ax.plot(ss, kl, "k-", lw=1, label="kappa, linearised drift")
    ax.plot(ss, fl, "k--", lw=1, label="rotation frequency, linearised")
    ax.plot(s, [r["longrun"]["frequency"] if r["longrun"]["frequency"] is not None else np.nan for r in sweep_s], "s",
            mfc="none", label="rotation frequency (fit)")
    ax.set_xscale("log")
    ax.set_xlabel("background noise s = s_z")
    ax.set_ylabel("per unit t")
    ax.set_title("mixing rate and residual rotation")
    ax.legend(fontsize=7)
    # sweep 2
    x = np.array([r["lr_over_N"] for r in sweep_n])
    ax = axes[1, 0]
    ax.errorbar(x, [r["longrun"]["trace_cov"] for r in sweep_n], yerr=[2 * r["longrun"]["trace_cov_mcse"] for r in sweep_n],
                fmt="o", capsize=2, label="long-run tr Cov (± 2 MCSE)")
    ax.plot(x, x, "k--", lw=1, label="linearised: lr/N")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lr / batch_size (s = 1)")
    ax.set_ylabel("tr Cov(theta, psi)")
    ax.set_title("minibatch noise: long-run spread")
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    ax.errorbar(x, [r["recovery"]["rms_distance"] for r in sweep_n], yerr=[2 * r["recovery"]["rms_distance_se"] for r in sweep_n],
                fmt="o-", capsize=2, label=f"RMS distance at t = {T_RECOVER:g}")
    ax.errorbar(x, [r["recovery"]["mean_distance"] for r in sweep_n], yerr=[2 * r["recovery"]["mean_distance_se"] for r in sweep_n],
                fmt="s--", capsize=2, label=f"|E x(t) − x*| at t = {T_RECOVER:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lr / batch_size (s = 1)")
    ax.set_ylabel("distance to equilibrium (± 2 SE)")
    ax.set_title("minibatch noise: recovery")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    k = np.array([r["longrun"]["kappa"] for r in sweep_n])
    ki = np.array([r["longrun"]["kappa_interval"] for r in sweep_n])
    ax.errorbar(x, k, yerr=[np.clip(k - ki[:, 0], 0, None), np.clip(ki[:, 1] - k, 0, None)], fmt="o", capsize=2, label="kappa (fit, 95 %)")
    ax.axhline(sweep_n[0]["linear"]["kappa"], color="k", lw=1, label="kappa, linearised")
    ax.set_xscale("log")
    ax.set_xlabel("lr / batch_size (s = 1)")
    ax.set_ylabel("kappa")
    ax.set_title("minibatch noise: mixing rate")
    ax.legend(fontsize=7)
    save(fig, path)


def main(argv=None):
    args, out, t0 = start(__doc__, argv)
    chains = 8 if args.quick else 32
    s_values = [0.5, 1.41, 2.83] if args.quick else [0.354, 0.5, 0.707, 1.0, 1.414, 2.0, 2.83]
    n_values = [1, 16] if args.quick else [1, 2, 4, 16, 64]
    print("sweep 1: background noise s = s_z (lr = 0.05, N = 4)", flush=True)
    sweep_s = [one(s, 0.05, 4, chains, 100 + i) for i, s in enumerate(s_values)]
    print("sweep 2: minibatch noise lr/N (s = 1, lr = 0.05)", flush=True)
    sweep_n = [one(1.0, 0.05, N, chains, 200 + i) for i, N in enumerate(n_values)]
    figure(sweep_s, sweep_n, out / "noise_sweep.png")

    lines = []
    rms = np.array([r["recovery"]["rms_distance"] for r in sweep_s])
    se = np.array([r["recovery"]["rms_distance_se"] for r in sweep_s])
    i = int(np.argmin(rms))
    z_lo = (rms[0] - rms[i]) / np.hypot(se[0], se[i]) if i > 0 else 0.0
    z_hi = (rms[-1] - rms[i]) / np.hypot(se[-1], se[i]) if i < len(rms) - 1 else 0.0
    u_shape = z_lo > Z and z_hi > Z
    s0, sm, s1 = sweep_s[0], sweep_s[i], sweep_s[-1]

    def kap(r):
        lr_ = r["longrun"]
        return f"κ = {lr_['kappa']:.3g} [{lr_['kappa_interval'][0]:.3g}, {lr_['kappa_interval'][1]:.3g}] (linear {r['linear']['kappa']:.3g})"

    def rot(r):
        f = r["longrun"]["frequency"]
        lo, hi = r["longrun"]["radians_per_decay_time_interval"]
        return (f"rotation {f:.3g} rad per unit t, {r['longrun']['radians_per_decay_time']:.2g} [{lo:.2g}, {hi:.2g}] rad per "
                f"decay time" if f and r["longrun"]["radians_per_decay_time"] else "no rotation fitted") + \
            f" (linear {r['linear']['frequency']:.3g})"

    lines.append(
        f"Background noise s = s_z, lr = 0.05, N = 4: the RMS distance to the equilibrium at t = {T_RECOVER:g} is "
        f"{rms[0]:.3g} ± {se[0]:.2g} at s = {s0['s']:.3g}, {rms[i]:.3g} ± {se[i]:.2g} at s = {sm['s']:.3g} (minimum), "
        f"{rms[-1]:.3g} ± {se[-1]:.2g} at s = {s1['s']:.3g} (z = {z_lo:.1f} and {z_hi:.1f} above the minimum): "
        + ("a U-shape — " if u_shape else "no U-shape shown at |z| > 3 — ")
        + f"low noise: {kap(s0)}, {rot(s0)}; best: {kap(sm)}, {rot(sm)}; high noise: {kap(s1)}, {rot(s1)}.")
    tr = np.array([r["longrun"]["trace_cov"] for r in sweep_s])
    trse = np.array([r["longrun"]["trace_cov_mcse"] for r in sweep_s])
    z_tr = (tr.max() - tr.min()) / np.hypot(trse[np.argmax(tr)], trse[np.argmin(tr)])
    lines.append(f"Long-run spread over the s sweep: tr Cov from {tr.min():.3g} to {tr.max():.3g} (largest difference z = {z_tr:.1f}; "
                 f"linearised law: lr/N = {0.05 / 4:g} whatever s): the background noise sets how fast and how the chains relax, "
                 + ("not the width of the long-run law." if z_tr < Z else "and also changes the long-run width beyond the linear law."))
    x = np.array([r["lr_over_N"] for r in sweep_n])
    trn = np.array([r["longrun"]["trace_cov"] for r in sweep_n])
    rmsn = np.array([r["recovery"]["rms_distance"] for r in sweep_n])
    rmsn_se = np.array([r["recovery"]["rms_distance_se"] for r in sweep_n])
    slope = float(np.polyfit(np.log(x), np.log(trn), 1)[0])
    order = np.argsort(x)
    dz = np.diff(rmsn[order]) / np.hypot(rmsn_se[order][1:], rmsn_se[order][:-1])
    mono = bool(np.all(dz > -Z))
    kn = [r["longrun"]["kappa"] for r in sweep_n]
    ki = np.array([r["longrun"]["kappa_interval"] for r in sweep_n])
    n_cover = int(sum(lo <= sweep_n[0]["linear"]["kappa"] <= hi for lo, hi in ki))
    # homogeneity of the κ estimates (half-widths of the 95 % intervals as 1.96 SE)
    from scipy import stats as _st

    kse = (ki[:, 1] - ki[:, 0]) / (2 * 1.96)
    wk = 1 / kse**2
    kbar = float(np.sum(wk * kn) / np.sum(wk))
    p_kappa = float(_st.chi2.sf(np.sum(wk * (np.array(kn) - kbar) ** 2), len(kn) - 1))
    kappa_trend = p_kappa < 0.01
    lines.append(f"Minibatch noise lr/N from {x.min():.3g} to {x.max():.3g} at s = 1: long-run tr Cov {trn[order][0]:.3g} → {trn[order][-1]:.3g} "
                 f"(log-log slope {slope:.2f}), RMS distance at t = {T_RECOVER:g} {rmsn[order][0]:.3g} → {rmsn[order][-1]:.3g}"
                 + (" without a significant decrease anywhere" if mono else " with a significant dip") +
                 f", κ from {min(kn):.3g} to {max(kn):.3g} (linear {sweep_n[0]['linear']['kappa']:.3g}; {n_cover} of {len(sweep_n)} 95 % "
                 f"intervals cover it, κ spread across lr/N {'not ' if not kappa_trend else ''}significant by a χ² test, p = {p_kappa:.2g}): "
                 + ("on the Dirac-GAN lr/N widens the law without changing how fast or how it relaxes, so in lr/N there is no optimum "
                    "below the largest tolerable noise — the trade-off lives in the data/latent noise." if mono and not kappa_trend else
                    "lr/N changes more than the width here; see the figure."))
    def turns(r):  # ν/κ with its 95 % interval
        v, (lo, hi) = r["longrun"]["radians_per_decay_time"], r["longrun"]["radians_per_decay_time_interval"]
        return f"turn {v:.2g} [{lo:.2g}, {hi:.2g}] rad per decay time" if v else "do not rotate (none fitted)"

    near_opt = abs(np.log(sm["s"] / np.sqrt(2))) <= np.log(np.sqrt(2)) + 1e-9
    lines.append("Verdict: " + (
        f"U-shape shown (z = {z_lo:.1f}, {z_hi:.1f}): at low background noise the chains {turns(s0)} "
        f"(residual oscillation; {kap(s0)}), at high noise they {turns(s1)} and relax slowly ({kap(s1)}); the best "
        f"s ≈ {sm['s']:.3g} " + ("lies within a grid step of" if near_opt else "is away from")
        + " the linearised optimum s = √2 (a = 1)"
        + (", while the long-run width stays set by lr/N." if z_tr < Z else
           f"; the long-run width also varies with s (by {100 * (tr.max() / tr.min() - 1):.0f} %, z = {z_tr:.1f}), much less than with lr/N.")
        if u_shape else
        f"the trade-off in s is not shown with these intervals (z = {z_lo:.1f}, {z_hi:.1f} at the ends)."))
    res = {"T_recover": T_RECOVER, "sweep_background_noise": sweep_s, "sweep_lr_over_N": sweep_n, "u_shape": {
        "argmin_s": sm["s"], "z_low_end": float(z_lo), "z_high_end": float(z_hi), "shown": bool(u_shape)},
        "conclusion": lines}
    return finish(out, "noise_sweep", res, lines, t0, args.quick)


if __name__ == "__main__":
    main()
