"""Mixing-rate estimators (invariant.mixing, docs/theory.md §4) against exact Ornstein–Uhlenbeck
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


def em_paths(A, m, D, h, thin, chains, n, seed):
    """Euler–Maruyama chains ``x⁺ = x + h(A(x − m)) + √h N(0, D)`` kept every ``thin`` steps,
    sampled exactly (a linear Gaussian chain: ``F = I + hA``, kept map ``F^thin``, noise
    ``Σ_{j<thin} F^j hD F^jᵀ``) and started from the chain's own stationary law."""
    from scipy.linalg import solve_discrete_lyapunov

    rng = np.random.default_rng(seed)
    F = np.eye(len(m)) + h * A
    M = np.linalg.matrix_power(F, thin)
    Fj = [np.linalg.matrix_power(F, j) for j in range(thin)]
    L = np.linalg.cholesky(sum(f @ (h * D) @ f.T for f in Fj))
    Lp = np.linalg.cholesky(solve_discrete_lyapunov(F, h * D))
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
    # about 140 decay times per chain and seven draws per decay time for either game (the
    # non-normal one mixes 3× slower)
    dt = 0.35 * round(0.4 / kappa)
    n = int(round(140 / kappa / dt))
    x = ou_paths(A, m, P, dt, 64, n, seed=3)
    rate, interval, fit, info = mixing.acf_rate(x, dt, rng=np.random.default_rng(0))
    z = _z(rate, interval, kappa)
    print(f"{name}: κ = {kappa:.4f}; autocorrelation {rate:.4f} [{interval[0]:.4f}, {interval[1]:.4f}] (z = {z:+.2f})")
    assert abs(z) < Z_MAX
    if interval[1] - interval[0] < 0.2 * kappa:  # precise enough to be held to 10 %
        assert abs(rate / kappa - 1) < 0.1
    k = max(1, round(1 / rate / dt))
    r2, iv2, lam2, _, _ = mixing.edmd_rate(x, dt, k, mixing.default_degree(len(m)), rng=np.random.default_rng(1))
    z2 = _z(r2, iv2, kappa)
    print(f"{name}: spectral {r2:.4f} [{iv2[0]:.4f}, {iv2[1]:.4f}] (z = {z2:+.2f})")
    assert abs(z2) < Z_MAX and abs(r2 / kappa - 1) < 0.1


# --------------------------------------------------------------------------- coverage across seeds
N_SEEDS = 20


def _min_covered(n, level=0.95, alpha=0.01):
    """Fewest of ``n`` independent intervals at ``level`` that must cover: a one-sided binomial
    test at ``alpha`` (for n = 20: at least 16; an honest 95 % interval covers fewer in 0.26 %
    of seed sets)."""
    from scipy.stats import binom

    return int(binom.ppf(alpha, n, level))


@pytest.mark.statistical
@pytest.mark.parametrize("name", ["complex", "nonnormal"])
def test_intervals_cover_the_exact_rate_across_seeds(name):
    """The issue's acceptance, as a coverage count: over N_SEEDS independent sets of exact OU
    paths (64 chains over 350 time units, the engine test's run), each method's 95 %
    interval covers κ = −α(A) at least as often as a binomial test at 1 % allows, and its
    width matches the scatter of the estimates across seeds (so it does not cover by being
    wide).  The spectral lag is set as :func:`mixing.analyse` sets it (≈ 1/κ̂ of method 1).
    Before the spectral bootstrap followed its mode (replicas re-selected max|λ|), its
    interval on the complex game covered in 53 of 60 such seeds (17 of these 20) and sat
    below the estimate, which the midpoint check catches."""
    from scipy.stats import chi2

    _, A, m, P = _ou(name)
    kappa = exact.mixing_rate(A)
    # 64 chains over 350 time units, about seven draws per decay time (κΔ ≈ 0.14)
    d, dt = len(m), 0.35 * round(0.4 / kappa)
    n = int(round(350 / dt))
    res = {"autocorrelation": [], "spectral": []}
    for seed in range(N_SEEDS):
        x = ou_paths(A, m, P, dt, 64, n, seed=100 + seed)
        rate, iv, _, _ = mixing.acf_rate(x, dt, rng=np.random.default_rng(seed))
        res["autocorrelation"].append((rate, *iv))
        k = int(min(max(1, round(1 / rate / dt)), x.shape[1] // 4))
        r2, iv2, _, _, _ = mixing.edmd_rate(x, dt, k, mixing.default_degree(d), rng=np.random.default_rng(seed))
        res["spectral"].append((r2, *iv2))
    need = _min_covered(N_SEEDS)
    # the implied standard error (half-width / 1.96) against the scatter across seeds: within
    # the 0.1 % chi-square band of a standard deviation from N_SEEDS values
    band = np.sqrt(chi2.ppf([0.0005, 0.9995], N_SEEDS - 1) / (N_SEEDS - 1))
    for method, rows in res.items():
        v = np.array(rows)
        covered = int(np.sum((v[:, 1] <= kappa) & (kappa <= v[:, 2])))
        se = np.mean(v[:, 2] - v[:, 1]) / (2 * 1.96)
        sd = np.std(v[:, 0], ddof=1)
        print(f"{name} {method}: κ = {kappa:.4f}, covered {covered}/{N_SEEDS} (need {need}); mean {v[:, 0].mean():.4f} "
              f"(bias {v[:, 0].mean() / kappa - 1:+.1%}), sd {sd / kappa:.1%}, mean width {2 * 1.96 * se / kappa:.1%} of κ, "
              f"se/sd {se / sd:.2f} (band {band[0]:.2f}–{band[1]:.2f})")
        assert covered >= need
        # the spectral estimate is the smallest of tied modes' estimates (complex game): its
        # scatter is below one mode's, whose interval it reports, so only the upper end binds
        assert se / sd < 1 / band[0] and (method == "spectral" or se / sd > 1 / band[1])
        if method == "spectral":
            # the mechanism: replicas that re-select the largest of tied moduli sit below the
            # estimate in rate, so the interval's midpoint does too (on these seeds −0.14 ±
            # 0.03 of its half-width on the complex game when re-selecting; +0.02 following)
            asym = ((v[:, 1] + v[:, 2]) / 2 - v[:, 0]) / ((v[:, 2] - v[:, 1]) / 2)
            print(f"  interval midpoint − estimate: {asym.mean():+.3f} ± {asym.std(ddof=1) / np.sqrt(N_SEEDS):.3f} half-widths")
            assert asym.mean() > -Z_MAX * asym.std(ddof=1) / np.sqrt(N_SEEDS)


def test_edmd_frequency_is_resolved_beyond_aliasing():
    """A weakly damped oscillation (κ = 0.05, ω = 2) seen at the default lag 1/κ = 20 turns
    ωτ = 40 rad: ``arg λ₂/τ`` is aliased, and the Euler–Maruyama mapping (a shift of about
    h(ω² − κ²)/2 = 0.02, 40 % of κ) then goes wrong.  The frequency resolved at one draw
    spacing is the chain's, and the mapped rate is the SDE's within its interval."""
    A = np.array([[-0.05, 2.0], [-2.0, -0.05]])
    h, thin = 0.01, 20
    x = em_paths(A, np.zeros(2), 0.1 * np.eye(2), h, thin, 32, 2000, seed=4)
    dt, k = h * thin, 100
    chain = np.linalg.eigvals(np.eye(2) + h * A)[0]
    w_chain = abs(np.angle(chain)) / h
    rate, iv, lam2, _, _ = mixing.edmd_rate(x, dt, k, 1, n_boot=100, rng=np.random.default_rng(0))
    w = mixing._edmd_frequency(x, dt, k, 1, lam2)
    aliased = abs(np.angle(lam2)) / (k * dt)
    print(f"ω: chain {w_chain:.4f}, resolved {w:.4f}, aliased {aliased:.4f}")
    assert w == pytest.approx(w_chain, rel=0.01) and abs(aliased / w_chain - 1) > 0.5
    est = mixing._to_sde(mixing.RateEstimate("spectral", rate, iv, details={"frequency": w}), h)
    print(f"SDE κ 0.05: mapped {est.rate:.4f} [{est.interval[0]:.4f}, {est.interval[1]:.4f}] "
          f"(chain {rate:.4f}; with the aliased ω {mixing.em_correction(rate, aliased, h):.4f})")
    assert est.covers(0.05)


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
    """docs/theory.md §4: κ = −α(A); within 10 % and within the estimators' own errors."""
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
            # one run, one seed: held to 99.9 %; 95 % coverage is counted across seeds in
            # test_intervals_cover_the_exact_rate_across_seeds (this seed's non-normal spectral
            # interval, 0.152 [0.141, 0.164], is one of the 5 % that miss)
            assert abs(z) < Z_MAX
        else:
            # coupled antithetic pairs of an OU process relax with no noise (half-differences
            # are exactly (I + hA)ⁿv): the interval is rounding-thin and covers to rounding
            tol = 1e-9 * kappa
            assert e.interval[0] - tol <= kappa <= e.interval[1] + tol
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


# --------------------------------------------------------------------------- draw spacing
def _default_run(t_end, chains=8, **sim):
    cfg = config.load(None, {"simulation.chains": chains, "simulation.t_end": t_end,
                             **{f"simulation.{k}": v for k, v in sim.items()}})
    return engine.simulate(cfg)


def test_draws_too_sparse_for_kappa_are_flagged_on_every_estimate_and_the_cli(capsys):
    """ISSUE20 D18: the default game at t_end = 20000 keeps 1000 draws 19.95 apart, eight decay
    times (κ = 0.404): κ must be within its interval of the exact value or flagged — every
    estimate and the integrated time (then ≈ the spacing) unreliable, the CLI line saying so
    with the keep_draws that would do."""
    r = _default_run(20000.0)
    mix = mixing.analyse(r, n_boot=50)
    s = mixing.summary_section(mix)
    kappa = mix.exact["sde"]
    h = r.config.step_time
    print(f"κ = {mix.rate:.4f} [{mix.headline.interval[0]:.4f}, {mix.headline.interval[1]:.4f}] "
          f"({mix.headline.method}, reliable {mix.headline.reliable}); exact {kappa:.4f}; iat {s['iat']:.3g}")
    assert mix.headline.covers(kappa) or not s["reliable"]
    sp = s["spacing"]
    assert sp["draw_spacing"] == pytest.approx(19.95) and not sp["ok"] and sp["rate"] == kappa
    for e in mix.estimates.values():
        assert not e.reliable and "draws are spaced" in e.note and e.details["sparse_draws"]
    assert not s["iat_reliable"] and s["iat"] > 0.5 * sp["draw_spacing"] and "draws are spaced" in s["iat_note"]
    # the keep_draws asked for is the fewest at which κΔ ≤ MAX_RATE_SPACING
    need = sp["keep_draws_needed"]
    post = r.config.steps - r.config.burn_steps
    assert -(-post // need) * h * kappa <= mixing.MAX_RATE_SPACING < -(-post // (need - 1)) * h * kappa
    cli._print_longrun({"mixing": s, "fokker_planck": None, "strategies": None})
    line = capsys.readouterr().out
    assert "NOT RELIABLE: draws are spaced Δ = 19.9 apart" in line and f"keep_draws to ≥ {need}" in line


def test_draws_close_enough_for_kappa_stay_reliable():
    """The default spacing (Δ = 0.35, κΔ = 0.14) passes the check; so does t_end 20000 with
    the keep_draws that the check asks for at the default 1000 (Δ 19.95 → 1.23), and κ is
    then held to the exact value by its interval (8 chains: 0.4025 [0.4004, 0.4043] for 0.4042)."""
    for t_end, keep in ((400.0, 1000), (20000.0, 16220)):
        r = _default_run(t_end, keep_draws=keep)
        mix = mixing.analyse(r, n_boot=50)
        s = mixing.summary_section(mix)
        print(f"t_end {t_end}, keep_draws {keep}: κΔ = {s['spacing']['rate_spacing']:.3f}; κ = {mix.rate:.4f} "
              f"[{mix.headline.interval[0]:.4f}, {mix.headline.interval[1]:.4f}] ({mix.headline.method})")
        assert s["spacing"]["ok"] and "note" not in s and "iat_note" not in s
        assert not any(e.details.get("sparse_draws") for e in mix.estimates.values())
        assert mix.headline.reliable
    assert abs(_z(mix.rate, mix.headline.interval, mix.exact["sde"])) < Z_MAX


# --------------------------------------------------------------------------- config and CLI
@pytest.mark.parametrize("key,value", [
    ("relaxation", "yes"), ("relaxation_t_end", -1.0), ("relaxation_t_end", 0.01), ("relaxation_spread", 0.0),
    ("relaxation_starts", 0), ("relaxation_chains", 1), ("lag", 0.0), ("degree", 9), ("bootstrap", 5),
    ("level", 1.0), ("fokker_planck", 1), ("fp_grid", 8), ("nosuchkey", 1),
])
def test_bad_mixing_keys_name_the_field(key, value):
    # the relaxation horizon is checked where the experiment runs
    table = {key: value, **({"relaxation": True} if key == "relaxation_t_end" else {})}
    with pytest.raises(ConfigError) as err:
        config.from_dict({"game": DEFAULT_GAME, "mixing": table})
    assert err.value.field == f"mixing.{key}"


def test_short_run_reads_its_resolved_config_back():
    # the resolved table records the default horizon 0.1 · t_end (here 3 steps): without the
    # experiment it must not be refused when the run is loaded or resumed
    cfg = config.from_dict({"game": DEFAULT_GAME, "simulation": {"t_end": 0.6, "dt": 0.02, "t_burn": 0.1}})
    assert config.from_dict(cfg.resolved).resolved == cfg.resolved


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
