"""Dirac-GAN runs: R1 concentrates with spread ∝ sqrt(lr/N); without a regulariser the
chains do not settle (docs/theory.md §8)."""
import numpy as np
import pytest

from invariant import engine, stationary
from conftest import make_config

R1 = {"name": "dirac", "loss": "vanilla", "regularizer": "r1", "gamma": 0.6, "mu": 0.0, "s": 1.0, "s_z": 1.0}
POINTS = [(0.01, 8), (0.02, 4), (0.05, 2), (0.1, 1)]  # lr/N over two decades
# the small-noise law is Gaussian with covariance ∝ lr/N; the nonlinearity adds O(lr/N)
# relative corrections, worth at most ~0.02 in slope over this range
NONLINEAR_SLACK = 0.02


def _fit(x, y, se):
    """Weighted least-squares slope and its standard error."""
    w = 1.0 / np.asarray(se) ** 2
    X = np.column_stack([np.ones(len(x)), x])
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * np.asarray(y))
    return beta[1], np.sqrt(cov[1, 1])


@pytest.mark.statistical
@pytest.mark.parametrize("dynamics", ["sga", "sde"])
def test_r1_spread_scales_as_sqrt_lr_over_n(dynamics):
    x, y, se = [], [], []
    for lr, n in POINTS:
        cfg = make_config(R1, {"scheme": "alt-d", "lr": lr, "batch_size": n},
                          {"dynamics": dynamics, "chains": 16, "t_end": 300.0, "t_burn": 30.0, "seed": 5})
        m = stationary.moments(engine.simulate(cfg))
        assert m.settled, m.reason
        assert np.all(np.abs(m.mean) < 5 * m.mean_mcse + 0.02)  # at the equilibrium (0, 0)
        x.append(np.log(lr / n))
        y.append(0.5 * np.log(m.trace_cov))  # log of the spread sqrt(tr Cov)
        se.append(0.5 * m.trace_cov_mcse / m.trace_cov)
    slope, slope_se = _fit(x, y, se)
    print(f"{dynamics}: spread ∝ (lr/N)^{slope:.3f} ± {slope_se:.3f}")
    assert abs(slope - 0.5) < 4 * slope_se + NONLINEAR_SLACK


@pytest.mark.parametrize("game", [
    {"name": "dirac", "loss": "wgan", "regularizer": "none", "s": 1.0, "s_z": 1.0},   # rotation + noise
    {"name": "dirac", "loss": "vanilla", "regularizer": "none", "s": 0.0, "s_z": 0.0},  # Mescheder's example
])
def test_without_regulariser_the_chains_do_not_settle(game):
    cfg = make_config(game, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4},
                      {"chains": 16, "t_end": 200.0, "t_burn": 20.0, "seed": 3})
    m = stationary.moments(engine.simulate(cfg))
    assert m.verdict == "not settled", m.reason


def test_r1_settles():
    cfg = make_config(R1, {"scheme": "alt-d", "lr": 0.05, "batch_size": 4},
                      {"chains": 16, "t_end": 200.0, "t_burn": 20.0, "seed": 3})
    m = stationary.moments(engine.simulate(cfg))
    assert m.verdict in ("settled", "too short to tell") and m.verdict != "not settled", m.reason
