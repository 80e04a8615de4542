"""Monte Carlo errors of the stationary mean and the ensemble-oscillation test of settledness
(invariant.stationary; docs/theory.md §4.7)."""
import numpy as np
import pytest
from scipy.stats import chi2

from invariant import config, engine, exact, stationary

# docs/design.md's default bilinear game (stationary mean exactly 0 for every scheme) trained
# by simultaneous SGA at lr = 0.1 (data/bilinear_sml_sga.toml): cheap steps, fast mixing
SGA = {"training.scheme": "sml", "training.lr": 0.1, "simulation.dynamics": "sga", "simulation.order": 1,
       "simulation.t_burn": 30.0}


def _run(**sim):
    return config.load(None, {**SGA, **{f"simulation.{k}": v for k, v in sim.items()}})


def test_mean_mcse_is_the_error_of_the_all_chain_mean():
    """With 4096 chains (256 kept) the reported error is the between-chain one, and the
    kept draws' ESS scaled to every chain agrees with it: the two estimate one quantity with
    relative errors ≈ 1/√(2·4096) ≈ 1 % (between) and a few % (ESS of 256 × 300 draws), so
    20 % is many standard errors.  Unscaled, the kept draws' error is √(4096/256) = 4× too
    large, so the comparison can fail."""
    cfg = _run(chains=4096, t_end=60.0)
    m = stationary.moments(engine.simulate(cfg))
    assert m.mean_mcse_method == "between_chains"
    np.testing.assert_array_equal(m.mean_mcse, m.mean_mcse_between)
    ratio = m.mean_mcse_ess / m.mean_mcse_between
    assert np.all(np.abs(ratio - 1) < 0.2), ratio
    unscaled = m.mean_mcse_ess * np.sqrt(4096 / 256) / m.mean_mcse_between
    assert np.all(unscaled > 3), unscaled


@pytest.mark.statistical
@pytest.mark.parametrize("chains,t_end,method", [(8, 230.0, "ess_scaled"), (48, 60.0, "between_chains")])
def test_mean_z_scores_against_the_exact_mean_have_unit_spread(chains, t_end, method):
    """z = (mean − exact mean)/mean_mcse over independent seeds: each coordinate's Σ z² is
    χ² with one degree of freedom per seed if the MCSE is right; a 2× error either way moves
    it far out of the two-sided 99.95 % band (Bonferroni over the coordinates: ≤ 0.4 %).
    The ESS needs chains long enough to be "settled" (the between-chain error does not)."""
    n_seeds = 24
    m_ref = exact.discrete_stationary(*exact.discrete(_run(chains=chains, t_end=t_end).game, "sml", 0.1, 4))[0]
    z = []
    for seed in range(n_seeds):
        m = stationary.moments(engine.simulate(_run(chains=chains, t_end=t_end, seed=500 + seed)))
        assert m.mean_mcse_method == method and (method == "between_chains" or m.settled)
        z.append((m.mean - m_ref) / m.mean_mcse)
    z = np.array(z)
    print(f"{method}: mean z² per coordinate {np.round((z ** 2).mean(0), 2)}")
    assert np.abs(z).max() < 4.5
    lo, hi = chi2.ppf([0.00025, 0.99975], n_seeds)
    ss = (z**2).sum(0)
    assert np.all((lo < ss) & (ss < hi)), (ss, lo, hi)


# ------------------------------------------------------------------ ensemble oscillation
def _ar1(rng, n, T, phi, k=2):
    """n independent stationary AR(1) chains of k unit-variance coordinates."""
    x = np.empty((n, T, k))
    x[:, 0] = rng.standard_normal((n, k))
    e = np.sqrt(1 - phi**2) * rng.standard_normal((n, T, k))
    for t in range(1, T):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


def _obs(x):
    return np.concatenate([x, np.sum(x**2, axis=-1, keepdims=True)], axis=-1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n,T,phi", [(32, 1000, 0.95), (8, 600, 0.8), (256, 400, 0.99)])
def test_stationary_chains_pass_the_oscillation_test(seed, n, T, phi):
    """Under the null the statistic is a Bonferroni bound: P(z > 4) ≤ 3e-5 per observable."""
    z = stationary.ensemble_oscillation(_obs(_ar1(np.random.default_rng(seed), n, T, phi)))
    assert np.all(z < stationary.OSCILLATION_Z), z


def _ring_like(rng, n=32, T=900, phi=0.8, sd=0.9):
    """|x|² along 32 independent chains as in the gradient-penalty case of
    analyses/regularisation.py (per-chain sd 0.9, ≈ 100 effective draws per chain of 900)."""
    return 2.6 + sd * _ar1(rng, n, T, phi, k=1)


@pytest.mark.parametrize("seed", range(4))
def test_noise_alone_makes_the_ensemble_mean_wiggle_but_passes(seed):
    """The ensemble mean of independent chains wanders by ≈ ±2 sd/√n = ±0.3 over 900 draws —
    what regularisation.png shows for the gradient penalty — and that is no oscillation."""
    obs = _ring_like(np.random.default_rng(seed))
    assert np.ptp(obs.mean(axis=0)) > 0.5
    assert stationary.ensemble_oscillation(obs)[0] < stationary.OSCILLATION_Z


@pytest.mark.parametrize("seed", range(4))
def test_a_phase_locked_oscillation_of_that_size_is_caught(seed):
    """The same chains with a common sine of amplitude 0.3 (phases locked to ±0.1 rad) are
    not settled: the sine adds T A²/4 ≈ 20 to the periodogram at its frequency, ≈ 250× the
    noise level S(f)/n ≈ 0.08 there; half the amplitude is still caught."""
    rng = np.random.default_rng(seed)
    for amplitude in (0.3, 0.15):
        obs = _ring_like(rng)
        obs[..., 0] += amplitude * np.sin(0.3 * np.arange(900) + 0.1 * rng.standard_normal((32, 1)))
        assert stationary.ensemble_oscillation(obs)[0] > stationary.OSCILLATION_Z, amplitude


def test_random_phases_are_not_an_ensemble_oscillation():
    """The same sine with independent phases per chain is part of each chain's stationary
    law (a stationary cycle): nothing moves the ensemble mean."""
    rng = np.random.default_rng(3)
    obs = _ring_like(rng)
    obs[..., 0] += 0.3 * np.sin(0.3 * np.arange(900) + rng.uniform(0, 2 * np.pi, (32, 1)))
    assert stationary.ensemble_oscillation(obs)[0] < stationary.OSCILLATION_Z
