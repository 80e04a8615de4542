"""Stationary densities (invariant.stationary: marginals, joint KDE, histograms) against the
exact Gaussian invariant law of bilinear games (docs/theory.md §4, §8)."""
import numpy as np
import pytest
from scipy.stats import chi2, multivariate_normal, norm

from invariant import engine, exact, stationary
from conftest import REFERENCE_GAME, make_config

RUN = {"chains": 64, "t_end": 400.0, "t_burn": 50.0, "seed": 17}


@pytest.fixture(scope="module")
def run():
    cfg = make_config(REFERENCE_GAME, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4}, RUN)
    r = engine.simulate(cfg)
    sch = cfg.scheme
    A, c = exact.drift(cfg.game, sch.name, sch.order, sch.lr)
    D = exact.diffusion(cfg.game, sch.lr, sch.batch_size, sch.correction)  # corrected: the order-2 default
    # the Euler–Maruyama chain's exact law (what the run samples)
    m, P = exact.discrete_stationary(np.eye(cfg.game.d) + cfg.dt * A, cfg.dt * c, cfg.dt * D)
    return r, m, P


def test_silverman_bandwidth_is_the_normal_reference_rule():
    x = np.random.default_rng(0).standard_normal(20000)
    h = stationary.silverman_bandwidth(x)
    assert h == pytest.approx(0.9 * 20000 ** -0.2, rel=0.03)
    assert stationary.silverman_bandwidth(x, n_eff=2000) == pytest.approx(h * 10 ** 0.2, rel=1e-12)


def test_marginals_match_the_exact_gaussian(run):
    r, m, P = run
    margs = stationary.marginals(r)
    assert [d.name for d in margs] == r.game.param_names
    for i, d in enumerate(margs):
        sd = np.sqrt(P[i, i])
        dx = d.grid[1] - d.grid[0]
        assert d.density.sum() * dx == pytest.approx(1.0, abs=2e-3)
        assert np.sum(d.hist * np.diff(d.edges)) == pytest.approx(1.0)
        # draws are autocorrelated: the bandwidth uses the effective sample size
        assert d.n_eff < d.n and d.bandwidth == pytest.approx(stationary.silverman_bandwidth(
            r.draws[r.kept_alive][:, :, i], d.n_eff))
        # KDE = law ⊛ N(0, h²): compare with the exact law smoothed alike (no smoothing bias)
        ref = norm.pdf(d.grid, m[i], np.hypot(sd, d.bandwidth))
        l1 = np.abs(d.density - ref).sum() * dx
        print(f"{d.name}: n_eff {d.n_eff:.0f}, h/sd {d.bandwidth / sd:.3f}, L1 to the smoothed exact law {l1:.4f}")
        assert l1 < 0.03


def test_joint_density_matches_the_exact_gaussian(run):
    r, m, P = run
    i, j = 0, 3  # θ₀ and ω₀: correlated through the game
    jd = stationary.joint_density(r, i, j, shape=(96, 96))
    hx, hy = jd.x[1] - jd.x[0], jd.y[1] - jd.y[0]
    assert jd.density.sum() * hx * hy == pytest.approx(1.0, abs=5e-3)
    sub = np.ix_([i, j], [i, j])
    X, Y = np.meshgrid(jd.x, jd.y, indexing="ij")
    pts = np.column_stack([X.ravel(), Y.ravel()])
    ref = multivariate_normal(m[[i, j]], P[sub] + jd.bandwidth).pdf(pts).reshape(jd.density.shape)
    raw = multivariate_normal(m[[i, j]], P[sub]).pdf(pts).reshape(jd.density.shape)
    l1 = np.abs(jd.density - ref).sum() * hx * hy
    l1_raw = np.abs(jd.density - raw).sum() * hx * hy
    print(f"2-D KDE: L1 to the smoothed exact law {l1:.4f}, to the exact law {l1_raw:.4f}; H = {jd.bandwidth.ravel()}")
    assert l1 < 0.04 and l1_raw < 0.08
    assert np.sum(jd.hist) * np.diff(jd.edges_x)[0] * np.diff(jd.edges_y)[0] == pytest.approx(1.0)


def test_kde_2d_of_a_point_mass_is_the_kernel():
    x = np.linspace(-3, 3, 121)
    H = np.array([[0.5, 0.2], [0.2, 0.3]])
    dens = stationary.kde_2d(np.zeros((1, 2)), x, x, H)
    X, Y = np.meshgrid(x, x, indexing="ij")
    ref = multivariate_normal(np.zeros(2), H).pdf(np.column_stack([X.ravel(), Y.ravel()])).reshape(dens.shape)
    assert np.abs(dens - ref).max() < 1e-5 * ref.max()  # the kernel is cut at ±5 sd


@pytest.mark.statistical
def test_trace_cov_mcse_matches_the_scatter_across_independent_runs():
    """tr Cov's MCSE is the spread of tr Cov over runs with other seeds.  On docs/design.md's
    example the diagonal entries' errors are correlated, and adding them in quadrature (the
    former formula) understates it: sd / MCSE = 1.32 over these runs, against 0.99 now."""
    game = {"name": "bilinear", "C": [[1.0, 0.4], [-0.3, 0.8]], "lam": 0.3, "gam": 0.5,
            "Sigma_theta": [[1.0, 0.0], [0.0, 0.5]], "Sigma_omega": [[0.8, 0.1], [0.1, 0.6]]}
    n_runs = 100
    tr, se = [], []
    for seed in range(n_runs):
        cfg = make_config(game, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4},
                          {"chains": 8, "t_end": 40.0, "t_burn": 10.0, "seed": 1000 + seed})
        m = stationary.moments(engine.simulate(cfg))
        tr.append(m.trace_cov)
        se.append(m.trace_cov_mcse)
    ratio = np.std(tr, ddof=1) / np.sqrt(np.mean(np.square(se)))
    # sample sd / true sd with 99 degrees of freedom lies in [0.82, 1.19] with 99 % probability
    # (chi-square; the per-run MCSEs' own noise averages out over the runs)
    lo, hi = np.sqrt(chi2.ppf([0.005, 0.995], n_runs - 1) / (n_runs - 1))
    assert lo < ratio < hi, ratio
