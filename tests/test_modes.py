"""Mode metrics (invariant.modes, docs/theory.md §7) on synthetic samples of known coverage:
exact counts, the 3σ fraction of a 2-D Gaussian, the KL of known histograms, a known hop
rate, and the bootstrap errors against the spread over independent replicas."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import chi2

from invariant import datasets, modes, strategies
from invariant.jsontypes import jsonable

Z_MAX = 4.0
RING = datasets.load("ring8")
SIGMA = RING.mode_std
P_HQ = chi2(2).cdf(modes.N_SIGMAS**2)  # P(|N(0, σ²I₂)| ≤ 3σ) = 1 − e^{−4.5}


def _at_modes(rng, k, scale=SIGMA):
    """Samples at the modes ``k`` (any shape) of ring8 with isotropic noise ``scale``."""
    k = np.asarray(k)
    return RING.modes[k] + np.asarray(scale)[..., None] * rng.standard_normal(k.shape + (2,))


def _sticky(rng, C, T, p, K=8):
    """(C, T) Markov chains on K modes that switch, with probability p per draw, to a
    uniformly chosen other mode."""
    dom = np.empty((C, T), dtype=int)
    dom[:, 0] = rng.integers(0, K, C)
    for t in range(1, T):
        new = (dom[:, t - 1] + rng.integers(1, K, C)) % K
        dom[:, t] = np.where(rng.random(C) < p, new, dom[:, t - 1])
    return dom


def test_assign_nearest_mode_and_distance():
    k, dist = modes.assign(np.array([[2.1, 0.0], [0.0, -1.5], [10.0, 0.0]]), RING.modes)
    assert k.tolist() == [0, 6, 0]
    assert np.allclose(dist, [0.1, 0.5, 8.0])


def test_five_of_eight_modes_uniform():
    """Samples spread uniformly over 5 of ring8's 8 modes: 5 covered, the exact 3σ fraction,
    and KL = log(8/5) plus the multinomial plug-in term, 2h·(KL̂ − log 8/5) ≈ χ²(4)."""
    rng = np.random.default_rng(1)
    C, T, n_z = 16, 100, 32
    y = _at_modes(rng, rng.integers(0, 5, (C, T, n_z)))
    s = modes.summary(y, RING, np.arange(T) * 0.1, n_boot=200)
    n = C * T * n_z
    assert s["modes_covered"] == 5 and s["modes_covered_per_draw"] > 4.5
    assert s["per_chain"]["modes_covered"].tolist() == [5] * C
    z = (s["high_quality_fraction"] - P_HQ) / np.sqrt(P_HQ * (1 - P_HQ) / n)
    assert abs(z) < Z_MAX
    h = s["high_quality_fraction"] * n
    assert chi2(4).sf(2 * h * (s["mode_kl"] - np.log(8 / 5))) > 1e-4
    assert s["n_modes"] == 8 and (s["n_chains"], s["n_draws"], s["n_z"]) == (C, T, n_z)


def test_unequal_histogram_kl_within_its_bootstrap_error():
    """A non-uniform histogram over 5 modes: the KL's linear term dominates, so the plug-in
    estimate is within a few chain-bootstrap errors of the exact Σ q log(8q)."""
    rng = np.random.default_rng(2)
    q = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    C, T, n_z = 16, 50, 32
    y = _at_modes(rng, rng.choice(5, size=(C, T, n_z), p=q))
    s = modes.summary(y, RING, np.arange(T), n_boot=300)
    exact = float(np.sum(q * np.log(8 * q)))
    assert abs(s["mode_kl"] - exact) / s["mode_kl_se"] < Z_MAX
    assert s["modes_covered"] == 5


def test_min_share_threshold_drops_a_rare_mode():
    """A mode holding 0.2 % of the samples is covered at share 0.001, not at the default 0.008."""
    rng = np.random.default_rng(3)
    k = np.zeros((4, 25, 100), dtype=int)
    k[:, :, 0] = np.where(np.arange(25) % 5 == 0, 3, 0)  # 20 of 10 000 samples at mode 3
    y = _at_modes(rng, k, scale=0.0)
    assert modes.summary(y, RING, np.arange(25), n_boot=0)["modes_covered"] == 1
    assert modes.summary(y, RING, np.arange(25), n_boot=0, min_share=0.001)["modes_covered"] == 2


def test_blob_far_from_the_modes_has_no_high_quality_sample():
    rng = np.random.default_rng(4)
    y = np.array([10.0, 10.0]) + rng.standard_normal((4, 20, 16, 2))
    s = modes.summary(y, RING, np.arange(20), n_boot=50)
    assert s["high_quality_fraction"] == 0 and s["modes_covered"] == 0
    assert np.isnan(s["mode_kl"])


def test_hop_rate_of_a_markov_dominant_mode():
    """Dominant modes switching with probability p per draw spacing Δt: rate p/Δt, within
    z < 4 of the pooled estimate and of each chain's."""
    rng = np.random.default_rng(5)
    C, T, p, dt = 20, 400, 0.1, 0.5
    dom = _sticky(rng, C, T, p)
    y = _at_modes(rng, np.repeat(dom[:, :, None], 8, axis=2))
    s = modes.summary(y, RING, 3.0 + dt * np.arange(T), n_boot=300)
    truth = p / dt
    assert abs(s["mode_hops_per_unit_time"] - truth) / s["mode_hops_per_unit_time_se"] < Z_MAX
    pc = s["per_chain"]
    assert np.all(np.abs(pc["mode_hops_per_unit_time"] - truth) / pc["mode_hops_per_unit_time_se"] < Z_MAX)
    assert np.all(s["per_chain"]["modes_covered_per_draw"] == 1)


def test_per_chain_errors_follow_autocorrelated_draws():
    """Sticky dominant modes (τ ≈ 30 draws), with a broader noise at odd modes so that the
    high-quality fraction of a draw is autocorrelated: each chain's block-bootstrap error
    matches the spread of the estimates over the independent chains (its relative error
    with C chains is about 1/√(2(C−1)))."""
    rng = np.random.default_rng(6)
    C, T = 60, 1000
    dom = _sticky(rng, C, T, 0.05)
    k = np.repeat(dom[:, :, None], 4, axis=2)
    y = _at_modes(rng, k, scale=np.where(k % 2 == 1, 2.0 * SIGMA, SIGMA))
    pc = modes.summary(y, RING, np.arange(T), n_boot=200)["per_chain"]
    tol = Z_MAX / np.sqrt(2 * (C - 1))
    for name in ("high_quality_fraction", "mode_hops_per_unit_time"):
        ratio = np.sqrt(np.mean(pc[name + "_se"] ** 2)) / np.std(pc[name], ddof=1)
        assert abs(ratio - 1) < tol, (name, ratio)


@pytest.mark.statistical
def test_chain_bootstrap_error_matches_replicas():
    """Chains that differ (each its own mode weights and noise): the pooled chain-bootstrap
    error against the spread of the pooled estimate over independent replicas.  The mean
    weights are far from uniform: at KL = 0 the estimate's fluctuation is of second order
    and its bootstrap error only an upper bound."""
    rng = np.random.default_rng(7)
    R, C, T, n_z = 40, 12, 20, 16
    base = np.array([8.0, 4, 2, 2, 1, 1, 1, 1])
    est, se = [], []
    for r in range(R):
        w = rng.dirichlet(base, C)
        k = np.array([rng.choice(8, size=(T, n_z), p=wc) for wc in w])
        scale = SIGMA * rng.uniform(1.0, 2.5, C)[:, None, None]
        s = modes.summary(_at_modes(rng, k, np.broadcast_to(scale, k.shape)), RING, np.arange(T), n_boot=200, seed=r)
        est.append([s["high_quality_fraction"], s["mode_kl"]])
        se.append([s["high_quality_fraction_se"], s["mode_kl_se"]])
    ratio = np.sqrt(np.mean(np.square(se), 0)) / np.std(est, axis=0, ddof=1)
    assert np.all(np.abs(ratio - 1) < Z_MAX / np.sqrt(2 * (R - 1))), ratio


def test_data_set_without_modes_is_refused(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("0,1\n1,0\n2,2\n")
    with pytest.raises(ValueError, match="no modes"):
        modes.summary(np.zeros((1, 2, 3, 2)), datasets.load(str(f)), np.arange(2))


# --------------------------------------------------------------------------- strategies hook
class _RingGame:
    """A stand-in generator on ring8: θ = (mode index, unused), G_θ(z) = m_θ + σ z."""

    name, d_theta, d, latent_dim = "ring-stub", 2, 3, 2
    dataset, data = RING, RING.samples

    def generate(self, theta, z):
        return RING.modes[theta[:, 0].astype(int)][:, None, :] + SIGMA * z


def test_strategies_report_mode_metrics_for_a_2d_game():
    rng = np.random.default_rng(8)
    C, T = 8, 60
    x = np.zeros((C, T, 3))
    x[:, :, 0] = _sticky(rng, C, T, 0.2)
    x[0, 5, 2] = np.nan  # a non-finite draw is dropped with its time
    res = SimpleNamespace(game=_RingGame(), draws=x, kept_alive=np.ones(C, bool), draw_t=0.25 * (1 + np.arange(T)))
    assert strategies.has_modes(res.game) and not strategies.has_generator(res.game)
    g = strategies.generated_modes(res, n_theta=C * T, n_z=8, n_boot=50)
    for key in ("modes_covered", "high_quality_fraction", "mode_kl", "mode_hops_per_unit_time"):
        assert key in g and key + "_se" in g
    assert g["n_draws"] == T - 1 and g["modes_covered_per_draw"] == 1
    assert abs(g["high_quality_fraction"] - P_HQ) < 0.02
    kept = np.delete(x[:, :, 0], 5, axis=1)
    hops = np.sum(kept[:, 1:] != kept[:, :-1])
    t = np.delete(res.draw_t, 5)
    assert np.isclose(g["mode_hops_per_unit_time"], hops / (C * (t[-1] - t[0])))
    json.dumps(jsonable(g))
