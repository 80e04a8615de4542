"""Stationary mean and covariance of every dynamics against the exact Gaussian references
(docs/theory.md §4, §8), with tolerances from the runs' Monte Carlo standard errors."""
import numpy as np
import pytest

from invariant import engine, exact, stationary
from conftest import make_config

# docs/design.md's default run size
RUN = {"chains": 64, "t_end": 400.0, "t_burn": 50.0, "dt": 0.01, "seed": 2024}
Z_MAX = 4.5  # per element; ~100 z-scores are tested in this file


def _reference(cfg):
    """Exact law of what is simulated, and the exact law of the continuous SDE or chain."""
    game, sch = cfg.game, cfg.scheme
    if cfg.dynamics == "sga":
        m, P = exact.discrete_stationary(*exact.discrete(game, sch.name, sch.lr, sch.batch_size))
        return (m, P), (m, P)
    A, c = exact.drift(game, sch.name, sch.order, sch.lr)
    D = exact.diffusion(game, sch.lr, sch.batch_size, sch.correction)
    # Euler–Maruyama with step dt is itself an affine recursion: its exact law is what the run samples
    I = np.eye(game.d)
    em = exact.discrete_stationary(I + cfg.dt * A, cfg.dt * c, cfg.dt * D)
    return em, exact.stationary(A, c, D)


CASES = [
    ("sde", "sml", 1, None),      # SML-SDE
    ("sde", "sml", 2, None),      # order-2 SML-SDE (corrected diffusion, the default at order 2)
    ("sde", "alt-d", 2, None),    # ALT-SDE, ALT-D (corrected)
    ("sde", "alt-g", 2, None),    # ALT-SDE, ALT-G (corrected)
    ("sde", "alt-d", 2, "plain"),  # ALT-SDE, ALT-D, plain diffusion
    ("sga", "sml", 1, None),
    ("sga", "alt-d", 2, None),
    ("sga", "alt-g", 2, None),
]


@pytest.mark.parametrize("dynamics,scheme,order,diffusion", CASES)
def test_stationary_moments_match_exact_reference(dynamics, scheme, order, diffusion):
    sim = {**RUN, "dynamics": dynamics, "order": order, **({"diffusion": diffusion} if diffusion else {})}
    cfg = make_config(training={"scheme": scheme}, simulation=sim)
    r = engine.simulate(cfg)
    m = stationary.moments(r)
    (m_sim, P_sim), (m_ref, P_ref) = _reference(cfg)
    z_mean = (m.mean - m_sim) / m.mean_mcse
    z_cov = (m.cov - P_sim) / m.cov_mcse
    rel = np.linalg.norm(m.cov - P_ref) / np.linalg.norm(P_ref)
    print(f"{dynamics} {scheme}-{order} {cfg.scheme.diffusion_name}: max|z| mean {np.abs(z_mean).max():.2f}, cov {np.abs(z_cov).max():.2f}; "
          f"cov rel. error vs exact {rel:.4f}")
    assert r.n_diverged == 0 and m.settled
    assert np.abs(z_mean).max() < Z_MAX
    assert np.abs(z_cov).max() < Z_MAX
    assert rel <= 0.05


def test_reference_distinguishes_the_schemes():
    """The test above can fail: ALT-D's stationary covariance is not SML's (the game term)."""
    cfg = make_config(training={"scheme": "alt-d"}, simulation={**RUN, "dynamics": "sga"})
    m = stationary.moments(engine.simulate(cfg))
    P_sml = exact.discrete_stationary(*exact.discrete(cfg.game, "sml", cfg.scheme.lr, cfg.scheme.batch_size))[1]
    z = (m.cov - P_sml) / m.cov_mcse
    assert np.abs(z).max() > Z_MAX
