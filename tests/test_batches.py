"""Shared minibatches (``[training] batches = "shared"``, docs/theory.md §2): one minibatch for
both players, as one backward pass of an autograd loss gives them.  Config, the games' joint
noise, the exact laws with ``Σ_θω``, the FDRs, and the engine against exact laws (bilinear)
and a numpy shared-batch recursion (Dirac-GAN)."""
import numpy as np
import pytest
from conftest import make_config

from invariant import engine, exact, fdr, stationary, summary
from invariant.errors import ConfigError
from invariant.games import bilinear, dirac

CROSS = [[0.6, 0.0], [0.2, -0.5]]
BILINEAR = {"name": "bilinear", "C": [[1.0, 0.4], [-0.3, 0.8]], "lam": 0.3, "gam": 0.3, "Sigma_theta_omega": CROSS}
DIRAC = {"name": "dirac", "loss": "vanilla", "regularizer": "r1", "gamma": 0.6, "mu": 0.0, "s": 1.0, "s_z": 1.0}


def _shared(game=BILINEAR, **sim):
    return make_config(game=game, training={"scheme": "sml", "lr": 0.2, "batch_size": 1, "batches": "shared"},
                       simulation=sim)


def test_batches_key_defaults_resolves_and_refuses():
    assert make_config().scheme.batches == "independent"
    cfg = _shared()
    assert cfg.scheme.batches == "shared" and cfg.resolved["training"]["batches"] == "shared"
    bad = [({"scheme": "alt-d", "batches": "shared"}, {}),
           ({"scheme": "sml", "batches": "shared", "optimizer": "consensus"}, {}),
           ({"scheme": "sml", "batches": "shared"}, {"backend": "cuda"}),
           ({"scheme": "sml", "batches": "together"}, {})]
    for training, sim in bad:
        with pytest.raises(ConfigError) as exc:
            make_config(training=training, simulation=sim)
        assert exc.value.field == "training.batches", training
    # an SDE needs the game's joint noise factor; its SGA chains average per-sample rows
    mlp = {"name": "mlp", "width": 2}
    with pytest.raises(ConfigError) as exc:
        _shared(game=mlp, dynamics="sde")
    assert exc.value.field == "training.batches" and "shared_noise" in str(exc.value)
    assert _shared(game=mlp, dynamics="sga").scheme.batches == "shared"


def test_bilinear_cross_block_validated_and_in_the_per_sample_law():
    with pytest.raises(ConfigError) as exc:
        _shared(game={**BILINEAR, "Sigma_theta_omega": [[1.5, 0.0], [0.0, 0.0]]})
    assert exc.value.field == "game.Sigma_theta_omega"
    game = bilinear.make(BILINEAR["C"], 0.3, 0.3, Sigma_theta_omega=CROSS)
    G = game.sample_grads(np.zeros(4), 40000, np.random.default_rng(1))
    S = np.cov(G.T)
    se = np.sqrt((1 + S * S / np.outer(np.diag(S), np.diag(S))) * np.outer(np.diag(S), np.diag(S)) / len(G))
    assert np.abs((S[:2, 2:] - np.array(CROSS)) / se[:2, 2:]).max() < 4
    D = game.noise_covariance(np.zeros(4), "shared")
    assert np.allclose(D[:2, 2:], -np.array(CROSS)) and np.allclose(game.noise_covariance(0, "independent")[:2, 2:], 0)


@pytest.mark.parametrize("loss", ["vanilla", "non-saturating", "wgan"])
def test_dirac_cross_covariance_quadrature_matches_samples(loss):
    game = dirac.make(loss=loss, mu=0.5)
    for x in ([0.3, 0.8], [-1.0, 1.5]):
        G = game.sample_grads(np.array(x), 100000, np.random.default_rng(2))
        gt, gp = G[:, 0] - G[:, 0].mean(), G[:, 1] - G[:, 1].mean()
        est, se = np.mean(gt * gp), np.std(gt * gp) / np.sqrt(len(G))
        assert abs(est - game.sigma_cross(x)[0, 0]) <= 4 * se + 1e-12, (loss, x)


def test_exact_laws_carry_the_cross_block():
    # the SDE's diffusion (lr/N) S Σ S and the SML chain's noise η² S Σ S / N, S = diag(−I, I)
    game = bilinear.make(BILINEAR["C"], 0.3, 0.3, Sigma_theta_omega=CROSS)
    D = exact.diffusion(game, 0.2, 2, batches="shared")
    assert np.allclose(D[:2, 2:], -0.1 * np.array(CROSS))
    assert np.allclose(exact.diffusion(game, 0.2, 2)[:2, 2:], 0.0)
    Q = exact.discrete(game, "sml", 0.2, 2, "shared")[2]
    assert np.allclose(Q[:2, 2:], -0.02 * np.array(CROSS))
    A, c = exact.drift(game, "sml", 1, 0.2)
    Pi, Ps = exact.stationary(A, c, exact.diffusion(game, 0.2, 2))[1], exact.stationary(A, c, D)[1]
    assert np.abs(Pi - Ps).max() > 0.01
    # the FDRs: each side exact, FDR1's right side gains −2 tr(Σ_θω H_ωθ)·η/2N
    r = exact.fdr(game, "sml", 1, 0.2, 2, batches="shared")
    ri = exact.fdr(game, "sml", 1, 0.2, 2)
    for k in ("fdr1", "fdr2_theta", "fdr2_omega"):
        assert r[k]["residual"] == pytest.approx(0.0, abs=1e-10)
    H = game.hessian(np.zeros(4))
    assert r["fdr1"]["rhs"] - ri["fdr1"]["rhs"] == pytest.approx(-0.1 * np.trace(np.array(CROSS) @ H[2:, :2]))
    assert r["fdr2_theta"]["rhs"] == pytest.approx(ri["fdr2_theta"]["rhs"])
    d = exact.discrete_fdr(game, "sml", 0.2, 2, "shared")
    for p in ("theta", "omega"):
        assert d["applied"][p]["residual"] == pytest.approx(0.0, abs=1e-10)


def _z(m, P):
    return np.abs((m.cov - P) / m.cov_mcse).max()


@pytest.mark.statistical
@pytest.mark.parametrize("dynamics", ["sga", "sde"])
def test_engine_matches_the_exact_shared_batch_laws(dynamics):
    cfg = _shared(dynamics=dynamics, chains=256, t_end=150.0, t_burn=15.0, seed=3)
    r = engine.simulate(cfg, hook=fdr.hook(cfg))
    m = stationary.moments(r)
    sch, game = cfg.scheme, cfg.game
    if dynamics == "sga":
        P = exact.discrete_stationary(*exact.discrete(game, "sml", sch.lr, 1, "shared"))[1]
        Pi = exact.discrete_stationary(*exact.discrete(game, "sml", sch.lr, 1))[1]
    else:  # the Euler–Maruyama chain of the SDE, exactly
        A, c = exact.drift(game, "sml", sch.order, sch.lr)
        I = np.eye(game.d)
        P = exact.discrete_stationary(I + cfg.dt * A, cfg.dt * c, cfg.dt * exact.diffusion(game, sch.lr, 1, None, "shared"))[1]
        Pi = exact.discrete_stationary(I + cfg.dt * A, cfg.dt * c, cfg.dt * exact.diffusion(game, sch.lr, 1))[1]
    print(dynamics, "max |z| shared law", _z(m, P), "independent law", _z(m, Pi))
    assert r.n_diverged == 0 and _z(m, P) < 4
    assert _z(m, Pi) > 6  # the cross block is seen: the independent law is rejected
    a = fdr.analyse(r)
    assert max(abs(a[k]["z"]) for k in fdr.RELATIONS) < 4
    assert summary.run_section(r)["batches"] == "shared"


def _sig(t):
    return 1.0 / (1.0 + np.exp(-t))


def _numpy_shared_sml(game, lr, steps, burn, chains, seed):
    """Shared-batch SML on the vanilla Dirac-GAN + R1, written out in numpy (N = 1): the pooled
    stationary mean and covariance over chains and post-burn-in steps, and their chain SEs."""
    p = game.params
    rng = np.random.default_rng(seed)
    th, ps = np.zeros(chains), np.zeros(chains)
    s1, s2 = np.zeros((chains, 2)), np.zeros((chains, 2, 2))
    for k in range(steps):
        y = p[7] + p[8] * rng.standard_normal(chains)
        u = th + p[9] * rng.standard_normal(chains)  # the same (y, z) for both players
        g_th = -ps * _sig(ps * u) + p[4] * th
        g_ps = y * _sig(-ps * y) - u * _sig(ps * u) - p[3] * ps
        th, ps = th - lr * g_th, ps + lr * g_ps
        if k >= burn:
            x = np.stack([th, ps], 1)
            s1 += x
            s2 += x[:, :, None] * x[:, None, :]
    n = steps - burn
    mean = (s1 / n).mean(0)
    cc = s2 / n - mean[None, :, None] * mean[None, None, :]
    return mean, (s1 / n).std(0, ddof=1) / np.sqrt(chains), cc.mean(0), cc.std(0, ddof=1) / np.sqrt(chains)


@pytest.mark.statistical
def test_dirac_shared_sga_matches_a_numpy_shared_batch_recursion():
    lr, t_end, t_burn, chains = 0.2, 200.0, 40.0, 1024
    ref = _numpy_shared_sml(dirac.make(**{k: v for k, v in DIRAC.items() if k != "name"}), lr,
                            int(round(t_end / lr)), int(round(t_burn / lr)), 2048, 9)
    z = {}
    for batches in ("shared", "independent"):
        cfg = make_config(game=DIRAC, training={"scheme": "sml", "lr": lr, "batch_size": 1, "batches": batches},
                          simulation={"dynamics": "sga", "chains": chains, "t_end": t_end, "t_burn": t_burn,
                                      "seed": 5, "x0": [0.0, 0.0], "init_scale": 0.0})
        m = stationary.moments(engine.simulate(cfg))
        z[batches] = (np.abs(m.mean - ref[0]) / np.hypot(m.mean_mcse_between, ref[1]),
                      np.abs(m.cov - ref[2]) / np.hypot(m.cov_mcse, ref[3]))
        print(batches, np.round(m.cov, 5).tolist(), "z", np.round(z[batches][1], 1).tolist())
    assert z["shared"][0].max() < 4 and z["shared"][1].max() < 4
    assert z["independent"][1][0, 0] > 4  # Var θ: independent batches are another law
