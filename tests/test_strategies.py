"""Mixed strategies (invariant.strategies, docs/theory.md §7): conditional laws against the exact
Gaussian conditionals of bilinear games, conditional densities, and the long-run
generated distribution of a game with a generator."""
import json

import numpy as np
import pytest
from scipy.stats import norm, wasserstein_distance

from invariant import engine, gaussian, strategies
from conftest import REFERENCE_GAME, make_config

Z_MAX = 4.0  # per entry; a few dozen z-scores are tested in this file
RUN = {"chains": 64, "t_end": 400.0, "t_burn": 50.0, "seed": 23}


@pytest.fixture(scope="module")
def ref_run():
    return engine.simulate(make_config(REFERENCE_GAME, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4}, RUN))


def _check(c, label):
    sd = np.sqrt(np.diag(c.exact_cov))
    z_mean = (c.mean - c.exact_mean) / c.mean_se
    z_cov = (c.cov - c.exact_cov) / c.cov_se
    rel_cov = np.linalg.norm(c.cov - c.exact_cov) / np.linalg.norm(c.exact_cov)
    rel_mean = np.abs(c.mean - c.exact_mean) / np.maximum(np.abs(c.exact_mean), sd)
    print(f"{label} ({c.method}, at {np.round(c.at, 3)}): max|z| mean {np.abs(z_mean).max():.2f}, cov "
          f"{np.abs(z_cov).max():.2f}; rel. error mean {rel_mean.max():.4f}, cov {rel_cov:.4f}")
    assert np.abs(z_mean).max() < Z_MAX and np.abs(z_cov).max() < Z_MAX
    assert rel_mean.max() < 0.1 and rel_cov < 0.1


@pytest.mark.parametrize("method", ["linear", "local"])
@pytest.mark.parametrize("which", strategies.WHICH)
def test_conditional_at_the_stationary_mean_matches_the_exact_gaussian(ref_run, which, method):
    c = strategies.conditional(ref_run, which, method=method)
    m, _ = ref_run.pooled_moments()
    given = slice(3, 5) if which == "theta_given_omega" else slice(0, 3)
    assert np.allclose(c.at, m[given])
    _check(c, which)


@pytest.mark.parametrize("which", strategies.WHICH)
def test_local_conditional_away_from_the_mean(ref_run, which):
    m, P = ref_run.pooled_moments()
    given = np.arange(3, 5) if which == "theta_given_omega" else np.arange(0, 3)
    at = m[given] + np.sqrt(np.diag(P)[given])  # one standard deviation out on every axis
    _check(strategies.conditional(ref_run, which, at=at, method="local"), which)


def test_gaussian_conditional_is_the_regression_of_the_joint_law():
    # the conditional law N(μ, V) is characterised by x_t − μ(x_g) ⟂ x_g and Cov = V:
    # checked on a 5-D law with the residual's exact covariance, for both players' blocks
    rng = np.random.default_rng(0)
    B = rng.standard_normal((5, 5))
    P = B @ B.T + np.eye(5)
    m = rng.standard_normal(5)
    at = rng.standard_normal(2)
    for which, t, g in (("theta_given_omega", np.arange(3), np.arange(3, 5)),
                        ("omega_given_theta", np.arange(3, 5), np.arange(3))):
        mean, cov = gaussian.player_conditional(m, P, 3, which, at if g.size == 2 else np.r_[at, 0.5])
        given = at if g.size == 2 else np.r_[at, 0.5]
        # x_t = m_t + K(x_g − m_g) + e with K = P_tg P_gg⁻¹: solve K Pgg = Ptg directly
        K = P[np.ix_(t, g)] @ np.linalg.inv(P[np.ix_(g, g)])
        assert np.allclose(mean, m[t] + K @ (given - m[g]), atol=1e-12)
        resid = P[np.ix_(t, t)] - K @ P[np.ix_(g, g)] @ K.T  # Cov(x_t − K x_g)
        assert np.allclose(cov, resid, atol=1e-12)
    # and the bivariate closed form: Var(x₁ | x₂) = σ₁²(1 − ρ²)
    s1, s2, rho = 1.5, 0.7, -0.4
    P2 = np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    mean, cov = gaussian.player_conditional(np.array([1.0, 2.0]), P2, 1, "theta_given_omega", [2.5])
    assert np.isclose(mean[0], 1.0 + rho * s1 / s2 * 0.5) and np.isclose(cov[0, 0], s1 * s1 * (1 - rho * rho))


def test_conditional_density_of_a_2d_game():
    game = {"name": "bilinear", "C": [[1.0]], "lam": 0.3, "gam": 0.5, "a": [0.2], "b": [-0.1]}
    r = engine.simulate(make_config(game, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4}, RUN))
    cd = strategies.conditional_density(r, "theta_given_omega")
    c = strategies.conditional(r, "theta_given_omega", at=cd.at)
    ref = norm.pdf(cd.grids[0], c.exact_mean[0], np.sqrt(c.exact_cov[0, 0]))
    dx = cd.grids[0][1] - cd.grids[0][0]
    for label, dens in (("conditional KDE", cd.kde[0]), ("local regression + residual law", cd.residual[0])):
        l1 = np.abs(dens - ref).sum() * dx
        print(f"{label}: mass {dens.sum() * dx:.4f}, L1 to the exact conditional {l1:.4f}")
        assert dens.sum() * dx == pytest.approx(1.0, abs=0.02)
        assert l1 < 0.1  # kernel smoothing in both variables widens it a little
    with pytest.raises(ValueError):
        strategies.conditional(r, "nonsense")


def test_marginals_are_the_blocks_of_the_stationary_law(ref_run):
    m, P = ref_run.pooled_moments()
    mt = strategies.marginal(ref_run, "theta")
    assert np.allclose(mt["mean"], m[:3]) and np.allclose(mt["cov"], P[:3, :3])
    assert [d.name for d in mt["densities"]] == ["theta[0]", "theta[1]", "theta[2]"]


def test_summary_section_is_plain_json(ref_run):
    s = strategies.summary_section(strategies.analyse(ref_run, n_boot=20))
    from invariant.storage import jsonable

    json.dumps(jsonable(s))
    for which in strategies.WHICH:
        assert {"at", "mean", "cov", "mean_se", "cov_se", "method", "exact_mean", "exact_cov"} <= set(s[which])
    assert "generated" not in s  # the bilinear game has no generator


class _Shift:
    """A toy game with a generator ``G_θ(z) = θ + z`` and data N(0, 1) (M = 4000 points)."""

    def __init__(self):
        self.d_theta, self.d_omega, self.d = 1, 1, 2
        self.data = np.random.default_rng(5).standard_normal((4000, 1))

    def generate(self, theta, z):
        theta = np.asarray(theta, dtype=np.float64)
        return theta.reshape(-1, 1) + z if theta.ndim > 1 else theta[0] + z


class _Result:
    def __init__(self, draws):
        self.draws = draws
        self.alive = np.ones(draws.shape[0], bool)
        self.game = _Shift()

    @property
    def kept_alive(self):  # as RunResult.kept_alive: every chain kept and alive
        return self.alive[: self.draws.shape[0]]

    def pooled_moments(self):
        x = self.draws.reshape(-1, 2)
        return x.mean(0), np.cov(x, rowvar=False)


def test_generated_mixture_against_data():
    rng = np.random.default_rng(8)
    # μ_θ = N(0, 0.5²): the mixture over θ is N(0, 1.25) — wider than the data N(0, 1)
    draws = np.stack([0.5 * rng.standard_normal((16, 500)), rng.standard_normal((16, 500))], axis=-1)
    res = _Result(draws)
    g = strategies.generated_vs_data(res, n_theta=4000, n_z=16)
    y = strategies.generated_samples(res, n_theta=4000, n_z=16).ravel()
    assert g["w1"] == pytest.approx(wasserstein_distance(y, res.game.data[:, 0]))
    assert g["generated_std"] == pytest.approx(np.sqrt(1.25), rel=0.02)
    # W1(N(0, 1.25), N(0, 1)) = (sqrt(1.25) − 1)·E|Z|·… for a scale change: (σ₁ − σ₂)·sqrt(2/π)
    w1_exact = (np.sqrt(1.25) - 1) * np.sqrt(2 / np.pi)
    print(f"W1 {g['w1']:.4f} ± {g['w1_se']:.4f} (exact {w1_exact:.4f}, floor {g['w1_floor']:.4f}); "
          f"KS {g['ks']:.4f}; pure strategy at θ̄: W1 {g['w1_mean_theta']:.4f}")
    assert abs(g["w1"] - w1_exact) < Z_MAX * g["w1_se"] + g["w1_floor"]
    assert g["w1_mean_theta"] < g["w1"]  # G at θ̄ = N(θ̄, 1) is the data law here
