"""Mixing-rate estimators (invariant.mixing, MATH.md §4) against exact Ornstein–Uhlenbeck
references: closed-form autocorrelations ``e^{At}P``, exactly sampled OU paths, and engine
runs of bilinear games (complex eigenvalues; non-normal drift).  Statistical checks are
z-scores with standard errors from the estimators' own bootstrap intervals."""
import json

import numpy as np
import pytest
from scipy.linalg import expm

from invariant import cli, config, engine, exact, mixing
from invariant.errors import ConfigError
from conftest import make_config

Z_MAX = 3.3  # two-sided 0.1 % per comparison
DEFAULT_GAME = {"name": "bilinear", "C": [[1.0, 0.4], [-0.3, 0.8]], "lam": 0.3, "gam": 0.5,
                "Sigma_theta": [[1.0, 0.0], [0.0, 0.5]], "Sigma_omega": [[0.8, 0.1], [0.1, 0.6]]}
NONNORMAL = {"name": "bilinear", "C": [[0.6]], "lam": -0.2, "gam": 1.2}  # C2 fails, α(A) < 0
GAMES = {
    "complex": (DEFAULT_GAME, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4}),
    "nonnormal": (NONNORMAL, {"scheme": "sml", "lr": 0.05, "batch_size": 1}),
}


def _ou(name):
    game, training = GAMES[name]
    cfg = make_config(game, training)
    sch = cfg.scheme
    A, c = exact.drift(cfg.game, sch.name, sch.order, sch.lr)
    D = exact.diffusion(cfg.game, sch.lr, sch.batch_size)
    m, P = exact.stationary(A, c, D)
    return cfg, A, m, P


def ou_paths(A, m, P, dt, chains, n, seed):
    """Stationary OU paths sampled exactly at spacing dt: x⁺ = m + e^{A dt}(x − m) + N(0, P − MPMᵀ)."""
    rng = np.random.default_rng(seed)
    M = expm(A * dt)
    L = np.linalg.cholesky(P - M @ P @ M.T)
    Lp = np.linalg.cholesky(P)
    x = np.empty((chains, n, len(m)))
    x[:, 0] = m + rng.standard_normal((chains, len(m))) @ Lp.T
    for k in range(1, n):
        x[:, k] = m + (x[:, k - 1] - m) @ M.T + rng.standard_normal((chains, len(m))) @ L.T
    return x


def _z(est, interval, truth):
    se = (interval[1] - interval[0]) / (2 * 1.96)
    return (est - truth) / se


# --------------------------------------------------------------------------- decay fit
@pytest.mark.parametrize("name", ["complex", "nonnormal"])
def test_decay_fit_recovers_the_eigenvalues_from_the_exact_autocorrelation(name):
    # C(t) = e^{At}P: every entry is a sum of e^{λ_k t} over the d eigenvalues of A
    _, A, m, P = _ou(name)
    d = len(m)
    dt = 0.1
    t = dt * np.arange(80)
    C = np.array([expm(A * s) @ P for s in t])  # (L, d, d)
    curves = C.reshape(len(t), -1).T
    fit = mixing.fit_decay(curves, dt, order=d)
    for lam in np.linalg.eigvals(A):
        assert np.min(np.abs(fit.poles - lam)) < 1e-7
    assert fit.rate == pytest.approx(exact.mixing_rate(A), rel=1e-8)
    # a single coordinate's autocorrelation ρ_ii(t) = [e^{At}P]_ii / P_ii
    rho = C[:, 0, 0] / P[0, 0]
    assert mixing.fit_decay(rho, dt, order=d).rate == pytest.approx(exact.mixing_rate(A), rel=1e-7)


def test_decay_fit_follows_an_oscillating_tail_with_one_pair():
    # e^{−κt}cos(ωt + φ) plus a faster mode: the 2-pole tail fit of method 1 finds κ, ω
    dt, t = 0.2, 0.2 * np.arange(60)
    y = np.exp(-0.3 * t) * np.cos(1.1 * t + 0.4)
    fit = mixing.fit_decay(y[None, 10:], dt, order=2)
    assert fit.rate == pytest.approx(0.3, rel=1e-9) and fit.frequency == pytest.approx(1.1, rel=1e-9)
    assert not fit.growing
    grow = mixing.fit_decay(np.exp(0.05 * t) * np.cos(t), dt, order=2)
    assert grow.growing and np.isnan(grow.rate)


def test_em_correction_inverts_the_euler_maruyama_rate():
    lam = complex(-0.4, 1.1)
    h = 0.05
    chain = -np.log(abs(1 + h * lam)) / h
    w = np.angle(1 + h * lam) / h
    assert mixing.em_correction(chain, w, h) == pytest.approx(0.4, rel=1e-12)


# --------------------------------------------------------------------------- integrated time
def test_integrated_time_matches_the_exact_ou_value():
    _, A, m, P = _ou("complex")
    dt = 0.35
    x = ou_paths(A, m, P, dt, 64, 1000, seed=1)
    # τ = 2∫ρ = 2[(−A)⁻¹P]_ii / P_ii in time; discrete τ·Δ is its trapezoid rule
    ks = np.arange(2000)
    for i in range(len(m)):
        rho = np.array([(expm(A * k * dt) @ P)[i, i] for k in ks[:200]]) / P[i, i]
        tau_exact = (1 + 2 * rho[1:].sum()) * dt
        # standard error from eight independent groups of chains
        groups = [mixing.integrated_time(x[j::8, :, i], dt).tau_time for j in range(8)]
        it = mixing.integrated_time(x[:, :, i], dt)
        se = np.std(groups, ddof=1) / np.sqrt(8)
        print(f"coordinate {i}: τ = {it.tau_time:.4f} ± {se:.4f} (exact {tau_exact:.4f}), window {it.window}")
        assert abs(it.tau_time - tau_exact) < Z_MAX * se + 0.02 * tau_exact  # + Sokal's truncation bias
        assert it.reliable


def test_integrated_time_flags_short_chains():
    _, A, m, P = _ou("nonnormal")
    x = ou_paths(A, m, P, 1.0, 16, 200, seed=2)  # τ ≈ 10 draws: 200 draws < 50 τ
    it = mixing.integrated_time(x[:, :, 0], 1.0)
    assert not it.reliable and it.tau > 4


# --------------------------------------------------------------------------- estimators on exact paths
@pytest.mark.parametrize("name", ["complex", "nonnormal"])
def test_autocorrelation_and_spectral_estimators_on_exact_paths(name):
    _, A, m, P = _ou(name)
    kappa = exact.mixing_rate(A)
    # about 140 decay times per chain for either game (the non-normal one mixes 3× slower)
    n = int(round(140 / kappa / 0.35))
    x = ou_paths(A, m, P, 0.35, 64, n, seed=3)
    rate, interval, fit, info = mixing.acf_rate(x, 0.35, rng=np.random.default_rng(0))
    z = _z(rate, interval, kappa)
    print(f"{name}: κ = {kappa:.4f}; autocorrelation {rate:.4f} [{interval[0]:.4f}, {interval[1]:.4f}] (z = {z:+.2f})")
    assert abs(z) < Z_MAX
    if interval[1] - interval[0] < 0.2 * kappa:  # precise enough to be held to 10 %
        assert abs(rate / kappa - 1) < 0.1
    k = max(1, round(1 / rate / 0.35))
    r2, iv2, lam2, _, _ = mixing.edmd_rate(x, 0.35, k, mixing.default_degree(len(m)), rng=np.random.default_rng(1))
    z2 = _z(r2, iv2, kappa)
    print(f"{name}: spectral {r2:.4f} [{iv2[0]:.4f}, {iv2[1]:.4f}] (z = {z2:+.2f})")
    assert abs(z2) < Z_MAX and abs(r2 / kappa - 1) < 0.1


# --------------------------------------------------------------------------- engine runs
@pytest.fixture(scope="module", params=["complex", "nonnormal"])
def analysed(request):
    game, training = GAMES[request.param]
    base = make_config(game, training, {"chains": 64, "t_end": 400.0, "t_burn": 50.0, "seed": 5})
    cfg = config.from_dict({**base.resolved, "mixing": {"relaxation": True, "relaxation_t_end": 40.0}})
    r = engine.simulate(cfg)
    m, P = r.pooled_moments()
    runs = mixing.relaxation_run(cfg, None, m, P)
    return request.param, r, runs, mixing.analyse(r, runs)


def test_every_method_estimates_the_exact_rate(analysed):
    """MATH.md §4: κ = −α(A); within 10 % and within the estimators' own errors."""
    name, r, runs, mix = analysed
    kappa = mix.exact["sde"]
    assert kappa == pytest.approx(mixing.exact_rate(r)["sde"])
    print(f"{name}: exact κ = {kappa:.4f} (Euler–Maruyama chain {mix.exact['simulated']:.4f})")
    for k in ("autocorrelation", "spectral", "relaxation"):
        e = mix.estimates[k]
        z = _z(e.rate, e.interval, kappa) if e.width > 0 else 0.0
        print(f"  {k}: {e.rate:.4f} [{e.interval[0]:.4f}, {e.interval[1]:.4f}] (z = {z:+.2f}); {e.note}")
        assert e.reliable
        if e.width < 0.2 * kappa:  # precise enough (±10 %) to be held to the 10 % target
            assert abs(e.rate / kappa - 1) < 0.1
        if e.width > 1e-3 * kappa:
            assert abs(z) < Z_MAX
        else:
            # coupled antithetic pairs of an OU process relax with no noise: exact to the fit
            assert e.rate == pytest.approx(kappa, rel=2e-3)
    assert mix.headline.reliable and abs(mix.rate / kappa - 1) < 0.1


def test_relaxation_curves_decay(analysed):
    name, r, runs, mix = analysed
    rel = mix.relaxation
    assert rel.mean_error.shape == (len(runs), len(rel.t), r.game.d)
    w = rel.w1.sum(axis=(0, 2))
    floor = rel.w1_floor.sum() * len(runs)  # W1 of ensemble-sized stationary samples
    print(f"{name}: summed W1 {w[0]:.3f} at t = {rel.t[0]:.2f} → {w[-1]:.3f} at t = {rel.t[-1]:.1f} (floor {floor:.3f})")
    assert w[0] > 4 * floor and w[-1] < 1.5 * floor
    assert rel.cov_error[:, -1].max() < rel.cov_error[:, 0].min()
    # antithetic pairs share their noise: the half-difference is far less noisy than either mean
    assert np.all(rel.pair_error_se[:, 1:] < 0.2 * rel.mean_error_se[::2, 1:] + 1e-12)


def test_summary_section_has_the_design_fields(analysed):
    name, r, _, mix = analysed
    s = mixing.summary_section(mix)
    json.dumps(s)  # plain JSON
    for key in ("rate", "rate_interval", "method", "iat", "ess", "rhat", "disagreement", "methods"):
        assert key in s
    assert s["method"] in s["methods"] and len(s["rate_interval"]) == 2
    assert set(s["observables"]) == set(r.game.param_names) | {"g", "|x|²"}
    assert s["rhat"] < 1.05
    # emcee's rule: the non-normal game mixes 3× slower, and its 350 time units span fewer
    # than 50 integrated times of its slowest observable
    n = r.draws.shape[1]
    worst = max(v["iat_draws"] for v in s["observables"].values())
    assert s["iat_reliable"] == (n >= 50 * worst) and s["iat_reliable"] == (name == "complex")


def test_disagreement_is_flagged():
    a = mixing.RateEstimate("autocorrelation", 0.40, (0.38, 0.42))
    b = mixing.RateEstimate("spectral", 0.30, (0.29, 0.31))
    c = mixing.RateEstimate("relaxation", 0.41, (0.40, 0.43))
    flag, pairs = mixing.compare({"autocorrelation": a, "spectral": b, "relaxation": c})
    assert flag and len(pairs) == 2 and all("spectral" in p for p in pairs)
    assert not mixing.compare({"autocorrelation": a, "relaxation": c})[0]


# --------------------------------------------------------------------------- config and CLI
@pytest.mark.parametrize("key,value", [
    ("relaxation", "yes"), ("relaxation_t_end", -1.0), ("relaxation_t_end", 0.01), ("relaxation_spread", 0.0),
    ("relaxation_starts", 0), ("relaxation_chains", 1), ("lag", 0.0), ("degree", 9), ("bootstrap", 5),
    ("level", 1.0), ("fokker_planck", 1), ("fp_grid", 8), ("nosuchkey", 1),
])
def test_bad_mixing_keys_name_the_field(key, value):
    with pytest.raises(ConfigError) as err:
        config.from_dict({"game": DEFAULT_GAME, "mixing": {key: value}})
    assert err.value.field == f"mixing.{key}"


def test_cli_run_writes_mixing_and_strategies_and_reuses_relaxation_on_resume(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[game]\nname = "bilinear"\nC = [[1.0]]\nlam = 0.3\ngam = 0.5\n'
        '[training]\nscheme = "alt-d"\nlr = 0.05\nbatch_size = 4\n'
        '[simulation]\nchains = 16\nt_end = 100.0\nt_burn = 10.0\nseed = 3\n'
        '[mixing]\nrelaxation = true\nrelaxation_t_end = 20.0\nrelaxation_chains = 16\nbootstrap = 50\nfp_grid = 48\n'
    )
    out = tmp_path / "out"
    assert cli.main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert set(s["mixing"]["methods"]) == {"autocorrelation", "spectral", "relaxation", "fokker_planck"}
    assert s["mixing"]["exact"]["sde"] == pytest.approx(0.40425, rel=1e-4)
    assert {"theta_given_omega", "omega_given_theta"} <= set(s["strategies"])
    assert s["stationary"]["fokker_planck"]["grid"] == [48, 48]
    starts = sorted(p.name for p in (out / "relaxation").iterdir() if p.is_dir())
    assert starts == ["start0", "start1", "start2", "start3"]
    stamp = (out / "relaxation" / "start0" / "checkpoint.npz").stat().st_mtime_ns
    assert cli.main(["run", "--resume", str(out), "--no-progress"]) == 0
    assert (out / "relaxation" / "start0" / "checkpoint.npz").stat().st_mtime_ns == stamp  # reused, not rerun
    s2 = json.loads((out / "summary.json").read_text())
    assert s2["mixing"]["methods"]["relaxation"]["rate"] == s["mixing"]["methods"]["relaxation"]["rate"]
    assert "mixing rate κ" in capsys.readouterr().out
