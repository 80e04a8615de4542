"""The 2-D stationary Fokker–Planck solver (invariant.fokker_planck) against exact
Ornstein–Uhlenbeck references, and the Dirac-GAN with weight decay (docs/theory.md §4, §8)."""
import numpy as np
import pytest
from scipy.linalg import eigvals

from invariant import engine, exact, fokker_planck as fpm, mixing, stationary
from conftest import make_config

# 2-D bilinear games: complex eigenvalues (rotation + damping) and a non-normal stable drift
COMPLEX = {"name": "bilinear", "C": [[1.0]], "lam": 0.3, "gam": 0.5, "a": [0.2], "b": [-0.1],
           "Sigma_theta": [[1.0]], "Sigma_omega": [[0.6]]}
NONNORMAL = {"name": "bilinear", "C": [[0.6]], "lam": -0.2, "gam": 1.2}
Z_MAX = 3.3  # two-sided 0.1 % per comparison
DIRAC_WD = {"name": "dirac", "loss": "vanilla", "regularizer": "weight-decay", "gamma": 0.3, "lam": 0.1,
            "mu": 0.0, "s": 1.0, "s_z": 1.0}


def _ou(game, training):
    cfg = make_config(game, training)
    sch = cfg.scheme
    A, c = exact.drift(cfg.game, sch.name, sch.order, sch.lr)
    D = exact.diffusion(cfg.game, sch.lr, sch.batch_size)
    m, P = exact.stationary(A, c, D)
    sd = np.sqrt(np.diag(P))
    bounds = tuple((m[i] - 6 * sd[i], m[i] + 6 * sd[i]) for i in range(2))
    return cfg, A, m, P, bounds


def test_bernoulli_function_is_stable():
    s = np.array([-1e4, -800.0, -1.0, -1e-12, 0.0, 1e-12, 1.0, 800.0, 1e4])
    B = fpm.bernoulli(s)
    assert np.all(np.isfinite(B)) and np.all(B >= 0)
    assert np.allclose(B[[2, 6]], [1.0 / (np.exp(-1.0) - 1.0) * -1.0, 1.0 / (np.e - 1.0)])
    assert np.allclose(B[3:6], 1.0) and B[0] == pytest.approx(1e4) and B[-1] < 1e-300
    # B(−s) − B(s) = s: the flux reduces to pure advection where diffusion vanishes
    assert np.allclose(fpm.bernoulli(-s[2:7]) - fpm.bernoulli(s[2:7]), s[2:7])


@pytest.mark.parametrize("game,training", [
    (COMPLEX, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4}),
    (NONNORMAL, {"scheme": "sml", "lr": 0.05, "batch_size": 1}),
])
def test_density_and_gap_match_the_exact_ou_law(game, training):
    cfg, A, m, P, bounds = _ou(game, training)
    drift, diff = fpm.game_coefficients(cfg)
    sol = fpm.solve(drift, diff, bounds, (128, 128))
    l1 = fpm.l1_to_pdf(sol, fpm.gaussian_pdf(m, P))
    coarse = fpm.solve(drift, diff, bounds, (64, 64), gap=False)
    l1_coarse = fpm.l1_to_pdf(coarse, fpm.gaussian_pdf(m, P))
    kappa = exact.mixing_rate(A)
    print(f"L1 = {l1:.4f} (64²: {l1_coarse:.4f}); gap {sol.gap:.5f} ± {sol.gap_error:.5f} vs exact {kappa:.5f}")
    assert l1 < 0.02
    assert l1_coarse / l1 > 3.0  # second-order convergence (Scharfetter–Gummel, smooth coefficients)
    assert abs(sol.gap - kappa) <= sol.gap_error
    assert abs(sol.lambda2.imag) == pytest.approx(abs(eigvals(A).imag).max(), rel=0.02, abs=1e-9)
    mean, cov = sol.moments()
    assert np.allclose(mean, m, atol=0.01 * np.sqrt(np.diag(P)).max())
    assert np.allclose(cov, P, rtol=0.02, atol=0.02 * np.abs(P).max())


def test_operator_conserves_mass_and_keeps_positivity_with_degenerate_diffusion():
    # Dirac-GAN: Σ_θ ∝ ψ² vanishes on the line ψ = 0 (put on cell faces and centres alike)
    cfg = make_config(DIRAC_WD, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4})
    drift, diff = fpm.game_coefficients(cfg)
    assert diff(np.array([[0.7, 0.0]]))[0, 0] == 0.0
    Q, x, y = fpm.operator(drift, diff, ((-0.4, 0.4), (-0.4, 0.4)), (41, 41))
    assert np.allclose(np.asarray(Q.sum(axis=0)).ravel(), 0.0, atol=1e-9 * abs(Q).max())
    off = Q - np.diag(Q.diagonal())
    assert off.min() >= 0.0  # an M-matrix: the discrete flow keeps p ≥ 0
    p = fpm.stationary_density(Q, (x[1] - x[0]) * (y[1] - y[0]))
    assert p.min() >= 0 and p.sum() * (x[1] - x[0]) * (y[1] - y[0]) == pytest.approx(1.0)


def _jacobian_rate(cfg, x0=None, h=1e-6):
    x0 = np.zeros(2) if x0 is None else x0
    J = np.column_stack([(cfg.scheme.drift(cfg.game, x0 + h * e) - cfg.scheme.drift(cfg.game, x0 - h * e)) / (2 * h)
                         for e in np.eye(2)])
    return -np.max(eigvals(J).real)


def _box(cfg, sds=8.0):
    """A box of ± sds standard deviations of the linearised stationary law at 0."""
    from scipy.linalg import solve_continuous_lyapunov

    J = np.column_stack([(cfg.scheme.drift(cfg.game, 1e-6 * e) - cfg.scheme.drift(cfg.game, -1e-6 * e)) / 2e-6
                         for e in np.eye(2)])
    D = np.diag(cfg.scheme.diffusion(cfg.game, np.zeros(2)))
    P = solve_continuous_lyapunov(J, -np.diag(D))
    return tuple((-sds * np.sqrt(P[i, i]), sds * np.sqrt(P[i, i])) for i in range(2))


R1_SMALL = {"name": "dirac", "loss": "vanilla", "regularizer": "r1", "gamma": 0.6, "mu": 0.0, "s": 0.3, "s_z": 0.3}


@pytest.mark.parametrize("game,expected", [
    # weight decay: J = [[−λ, ½], [−½, −γ − (s² + s_z²)/4]] at 0 (f'(0) = ½, f''(0) = −¼)
    (DIRAC_WD, (DIRAC_WD["lam"] + DIRAC_WD["gamma"] + (1.0 + 1.0) / 4) / 2),
    # R1 (docs/theory.md §8): γ/2 for point-mass data and latents; the data's spread adds (s² + s_z²)/8
    (R1_SMALL, R1_SMALL["gamma"] / 2 + (0.3**2 + 0.3**2) / 8),
])
def test_small_noise_gap_is_the_local_rate_of_the_jacobian(game, expected):
    cfg = make_config(game, {"scheme": "alt-d", "lr": 0.01, "batch_size": 8})
    local = _jacobian_rate(cfg)
    assert local == pytest.approx(expected, rel=0.02)  # the order-2 drift adds O(lr)
    drift, diff = fpm.game_coefficients(cfg)
    sol = fpm.solve(drift, diff, _box(cfg), (96, 96))
    print(f"{game['regularizer']}: local rate {local:.4f}, FP gap {sol.gap:.4f} ± {sol.gap_error:.4f}")
    assert abs(sol.gap - local) < 0.01 * local + sol.gap_error


@pytest.mark.statistical
def test_small_noise_monte_carlo_rate_is_the_local_rate():
    cfg = make_config(DIRAC_WD, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4},
                      {"chains": 32, "t_end": 300.0, "t_burn": 30.0, "seed": 13})
    from invariant import config

    cfg = config.from_dict({**cfg.resolved, "mixing": {"relaxation": True, "relaxation_t_end": 25.0,
                                                       "relaxation_starts": 4}})
    r = engine.simulate(cfg)
    m = stationary.moments(r)
    local = _jacobian_rate(cfg)
    sol = fpm.from_run(r, (96, 96))
    mix = mixing.analyse(r, mixing.relaxation_run(cfg, None, m.mean, m.cov), sol)
    print(f"local rate {local:.4f}; FP gap {sol.gap:.4f} ± {sol.gap_error:.4f}")
    assert abs(sol.gap / local - 1) < 0.01
    for k in ("autocorrelation", "relaxation", "spectral"):
        e = mix.estimates[k]
        se = e.width / (2 * 1.96)
        z = (e.rate - local) / np.hypot(se, abs(sol.gap - local))
        print(f"  {k}: {e.rate:.4f} [{e.interval[0]:.4f}, {e.interval[1]:.4f}] (z = {z:+.2f} against the local rate)")
        assert e.reliable and abs(z) < Z_MAX
    assert abs(mix.rate / local - 1) < 0.05


@pytest.mark.statistical
def test_dirac_weight_decay_monte_carlo_matches_fokker_planck():
    """Nonlinear regime (lr/N = 1, order-1 SML-SDE): the law is far from Gaussian, the gap is
    below the local rate; the Monte Carlo density and all three κ estimates agree with the FP
    reference."""
    cfg = make_config(DIRAC_WD, {"scheme": "sml", "lr": 1.0, "batch_size": 1},
                      {"order": 1, "chains": 64, "t_end": 400.0, "t_burn": 40.0, "seed": 11})
    from invariant import config

    cfg = config.from_dict({**cfg.resolved, "mixing": {"relaxation": True, "relaxation_t_end": 30.0,
                                                       "relaxation_starts": 4}})
    r = engine.simulate(cfg)
    m = stationary.moments(r)
    assert m.settled, m.reason
    sol = fpm.from_run(r, (128, 128))  # gap and its error
    # the density: upwinding is first order where Σ_θ ≈ 0, so resolve it more finely; its
    # error is bounded by the L1 distance to the 128² solution (density_error)
    fine = fpm.from_run(r, (256, 256), gap=False)
    # non-Gaussian: L1 between the FP law and the Gaussian with its own moments
    fm, fc = fine.moments()
    assert fpm.l1_to_pdf(fine, fpm.gaussian_pdf(fm, fc)) > 0.1
    cmp = fpm.compare_draws(fine, r)
    print(f"MC vs FP: binned L1 {cmp['l1']:.4f} (noise: mean {cmp['l1_noise']:.4f}, 99 % {cmp['l1_noise_q99']:.4f}; "
          f"{cmp['bins']} bins; FP grid error ≤ {fine.density_error:.4f}), chi2/dof {cmp['chi2'] / cmp['dof']:.2f}; "
          f"KDE L1 {cmp['l1_kde']:.4f}")
    # triangle inequality: Monte Carlo noise (99 % point) plus the FP discretisation error
    assert cmp["l1"] <= cmp["l1_noise_q99"] + fine.density_error
    runs = mixing.relaxation_run(cfg, None, m.mean, m.cov)
    mix = mixing.analyse(r, runs, sol)
    local = _jacobian_rate(cfg)
    print(f"FP gap {sol.gap:.4f} ± {sol.gap_error:.4f} (local rate {local:.4f})")
    for k in ("autocorrelation", "relaxation", "spectral"):
        e = mix.estimates[k]
        se = e.width / (2 * 1.96)  # the 95 % bootstrap interval as a standard error
        z = (e.rate - sol.gap) / np.hypot(se, sol.gap_error)
        print(f"  {k}: {e.rate:.4f} [{e.interval[0]:.4f}, {e.interval[1]:.4f}] (z = {z:+.2f}) {e.note}")
        assert e.reliable
        assert abs(z) < Z_MAX
    assert sol.gap < 0.9 * local  # nonlinear: slower than the linearisation says
