"""Tests of the 1-D GAN game (``invariant.games.mlp``; docs/theory.md §1–3).

Derivatives are checked against central finite differences whose own error is estimated
(Richardson: the change between steps ``h`` and ``h/2``, plus a rounding bound), Monte Carlo
comparisons against standard errors as z-scores with a Bonferroni limit over the entries
compared (family-wise false-alarm rate ``ALPHA``).  All seeds are fixed.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from scipy.stats import norm, wasserstein_distance

from invariant.errors import ConfigError
from invariant.games import from_config as game_from_config
from invariant.games import mlp
from invariant.games.base import Game

ROOT = Path(__file__).resolve().parent.parent
ALPHA = 1e-3
EPS = np.finfo(float).eps
WD = dict(regularizer="weight-decay", gamma=0.001, lam=0.001)  # the shipped training setting
SMALL = dict(width=4, nodes=64)  # for the Monte Carlo covariance tests: cheap kernels


def small_data():
    """Every 4th point of the default data (64 points, both modes): cheaper noise draws."""
    return mlp.make().data[::4]


def z_limit(m: int) -> float:
    """Two-sided Bonferroni limit for ``m`` z-scores at family-wise level ``ALPHA``."""
    return float(norm.isf(ALPHA / (2 * m)))


def central(f, x, v, h):
    return (np.asarray(f(x + h * v)) - np.asarray(f(x - h * v))) / (2 * h)


def fd_check(f, x, v, exact, h=1e-3):
    """``exact`` vs the directional derivative of ``f`` along ``v``, within 10× the FD error.

    The Richardson value ``(4 D(h/2) − D(h)) / 3`` has error far below ``|D(h/2) − D(h)|``;
    rounding adds ``≈ 64 ε max|f| / h``.
    """
    d1 = central(f, x, v, h)
    d2 = central(f, x, v, h / 2)
    rich = (4 * d2 - d1) / 3
    err = np.abs(d2 - d1) + 64 * EPS * np.max(np.abs(f(x))) / (h / 2)
    assert np.all(np.abs(np.asarray(exact) - rich) <= 10 * err), (exact, rich, err)


def cov_z(G, S, centred=True):
    """z-scores of the sample covariance of the rows of ``G`` against ``S`` (entrywise)."""
    n = G.shape[0]
    Gc = G - G.mean(axis=0) if centred else G
    C = Gc.T @ Gc / n
    # Var(a_i a_j) = E[a_i² a_j²] − C_ij², without forming the n × d × d products
    G2 = Gc * Gc
    se = np.sqrt(np.clip(G2.T @ G2 / n - C * C, 0.0, None) / n)
    scale = np.abs(S).max()
    z = np.where(se > 0, (C - S) / np.where(se > 0, se, 1.0), 0.0)
    # entries with no sampling variability at all must match to rounding
    assert np.all(np.abs(C - S)[se == 0] <= 1e-12 * scale)
    return z


def block_mask(g):
    m = np.zeros((g.d, g.d), bool)
    m[: g.d_theta, : g.d_theta] = True
    m[g.d_theta :, g.d_theta :] = True
    return m


def perturbed(g, scale=0.3, seed=1):
    return g.x0 + scale * np.random.default_rng(seed).standard_normal(g.d)


@njit
def alt_d(x, p, data, rng, lr, batch_size, steps):
    """ALT-D SGDA (docs/theory.md §2): ω ← ω + lr ∇̂_ω(θ, ω), then θ ← θ − lr ∇̂_θ(θ, ω⁺)."""
    dt = int(p[0])
    d = x.shape[0]
    buf = np.empty(d)
    for _ in range(steps):
        mlp.batch_grad(x, p, data, rng, batch_size, 1, buf)
        for j in range(dt, d):
            x[j] += lr * buf[j]
        mlp.batch_grad(x, p, data, rng, batch_size, 0, buf)
        for i in range(dt):
            x[i] -= lr * buf[i]


@njit
def noise_draws(x, p, data, rng, out):
    for k in range(out.shape[0]):
        mlp.noise(x, p, data, rng, out[k])


@njit
def batch_draws(x, p, data, rng, batch_size, player, out):
    for k in range(out.shape[0]):
        mlp.batch_grad(x, p, data, rng, batch_size, player, out[k])


def w1_and_shares(g, x, n=20000, seed=7):
    """W1 of the generated samples to the data, and the share of samples per mode (sign)."""
    s = mlp.generate(g, g.split(x)[0], np.random.default_rng(seed).standard_normal(n))
    return wasserstein_distance(s, g.data[:, 0]), np.array([(s < 0).mean(), (s >= 0).mean()])


@pytest.fixture(scope="module")
def trained():
    """The shipped setting trained briefly: ALT-D, lr 0.1, batch 64, 3000 steps (t = 300)."""
    g = mlp.make(**WD)
    x = g.x0.copy()
    alt_d(x, g.params, g.data, np.random.default_rng(2024), 0.1, 64, 3000)
    return g, x


# ---------------------------------------------------------------------------------------
# derivatives


@pytest.mark.parametrize("reg", [dict(), dict(regularizer="weight-decay", gamma=0.3, lam=0.2),
                                 dict(regularizer="r1", gamma=0.7)])
def test_grad_matches_finite_differences_vanilla(reg):
    g = mlp.make(width=4, nodes=32, **reg)
    x = perturbed(g)
    gr = g.grad(x)
    for i in range(g.d):
        e = np.zeros(g.d)
        e[i] = 1.0
        fd_check(g.loss, x, e, gr[i])


@pytest.mark.parametrize("reg", [dict(), dict(regularizer="weight-decay", gamma=0.3, lam=0.2),
                                 dict(regularizer="r1", gamma=0.7)])
def test_grad_is_each_players_own_for_non_saturating(reg):
    g = mlp.make(width=4, nodes=32, loss="non-saturating", **reg)
    x = perturbed(g)
    gr = g.grad(x)
    gen_loss = lambda y: mlp.generator_loss(y, g.params, g.data)  # noqa: E731
    for i in range(g.d):
        e = np.zeros(g.d)
        e[i] = 1.0
        fd_check(gen_loss if i < g.d_theta else g.loss, x, e, gr[i])
    # and it is not the zero-sum gradient: the two losses really differ
    gv = mlp.make(width=4, nodes=32, **reg).grad(x)
    assert np.abs(gv[: g.d_theta] - gr[: g.d_theta]).max() > 1e-3
    np.testing.assert_array_equal(gv[g.d_theta :], gr[g.d_theta :])


@pytest.mark.parametrize("kw", [dict(), dict(loss="non-saturating", regularizer="r1", gamma=0.5)])
def test_hvp_matches_finite_differences_of_grad(kw):
    g = mlp.make(width=4, nodes=32, **kw)
    x = perturbed(g)
    rng = np.random.default_rng(3)
    for _ in range(3):
        v = rng.standard_normal(g.d)
        fd_check(g.grad, x, v, g.hvp(x, v))
    np.testing.assert_array_equal(g.hvp(x, np.zeros(g.d)), np.zeros(g.d))


def test_hessian_is_symmetric_for_the_zero_sum_game():
    g = mlp.make(width=3, nodes=32, regularizer="r1", gamma=0.4)
    H = g.hessian(perturbed(g))
    # the FD hvp has relative error ~1e-10 (its docstring); 1e-6 leaves a wide margin
    assert np.abs(H - H.T).max() <= 1e-6 * np.abs(H).max()


# ---------------------------------------------------------------------------------------
# sampling: per-sample gradients, minibatches, noise


@pytest.mark.parametrize("kw", [dict(), dict(loss="non-saturating", regularizer="r1", gamma=0.5)])
def test_sample_grads_mean_matches_grad(kw):
    g = mlp.make(**kw)
    x = perturbed(g)
    n = 100_000
    G = g.sample_grads(x, n, np.random.default_rng(5))
    z = (G.mean(axis=0) - g.grad(x)) / (G.std(axis=0) / np.sqrt(n))
    assert np.abs(z).max() < z_limit(g.d)


def test_sample_grads_mean_matches_grad_after_training(trained):
    """After training the generator has steep units; the default quantile rule resolves them,
    Gauss–Hermite with 32 nodes does not (why ``quadrature = "quantile"`` is the default)."""
    g, x = trained
    n = 200_000
    G = g.sample_grads(x, n, np.random.default_rng(6))
    se = G.std(axis=0) / np.sqrt(n)
    z = (G.mean(axis=0) - g.grad(x)) / se
    assert np.abs(z).max() < z_limit(g.d)
    gh = mlp.make(nodes=32, quadrature="hermite", **WD)
    assert np.abs((G.mean(axis=0) - gh.grad(x)) / se).max() > z_limit(g.d)


@pytest.mark.parametrize("latent", ["normal", "nodes"])
def test_sample_grads_covariance_matches_sigma(latent):
    g = mlp.make(**SMALL, data=small_data(), latent=latent, regularizer="r1", gamma=0.5)
    x = perturbed(g)
    G = g.sample_grads(x, 100_000, np.random.default_rng(8))
    m = block_mask(g)
    z = cov_z(G, g.sigma(x))[m]
    assert np.abs(z).max() < z_limit(m.sum())


def test_nodes_latent_is_exact_at_a_steep_state(trained):
    """With ``latent = "nodes"`` grad and Σ are the sampled game's exact moments at any θ,
    even with few nodes."""
    _, x = trained
    g = mlp.make(nodes=16, latent="nodes", **WD)
    n = 100_000
    G = g.sample_grads(x, n, np.random.default_rng(9))
    z = (G.mean(axis=0) - g.grad(x)) / (G.std(axis=0) / np.sqrt(n))
    assert np.abs(z).max() < z_limit(g.d)
    m = block_mask(g)
    assert np.abs(cov_z(G, g.sigma(x))[m]).max() < z_limit(m.sum())


@pytest.mark.parametrize("kw", [dict(), dict(loss="non-saturating", regularizer="r1", gamma=3.0)])
def test_noise_covariance_is_blockdiag_sigma(kw):
    g = mlp.make(**SMALL, data=small_data(), **kw)
    x = perturbed(g)
    D = np.empty((40_000, g.d))
    noise_draws(x, g.params, g.data, np.random.default_rng(10), D)
    n = D.shape[0]
    assert np.abs(D.mean(axis=0) / (D.std(axis=0) / np.sqrt(n))).max() < z_limit(g.d)
    # all entries, the zero off-diagonal blocks included (independent normals per block)
    z = cov_z(D, g.sigma(x), centred=False)
    assert np.abs(z).max() < z_limit(g.d * g.d)


def test_sigma_agrees_with_the_base_class_estimate():
    """The closed-form Σ against ``Game.sigma``'s estimate from per-sample gradients."""
    g = mlp.make(width=3, nodes=64, latent="nodes")
    x = perturbed(g)
    est = Game.sigma(g, x, n=100_000, rng=np.random.default_rng(11))
    S = g.sigma(x)
    assert np.all(S[~block_mask(g)] == 0.0)
    G = g.sample_grads(x, 100_000, np.random.default_rng(11))
    m = block_mask(g)
    assert np.abs(cov_z(G, S)[m]).max() < z_limit(m.sum())
    # the base class's estimate is that same sample covariance (up to n/(n−1))
    Gc = G - G.mean(axis=0)
    np.testing.assert_allclose(est[m], (Gc.T @ Gc / (G.shape[0] - 1))[m], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("player", [0, 1])
def test_batch_grad_mean_and_covariance(player):
    g = mlp.make(**SMALL, data=small_data(), regularizer="weight-decay", gamma=0.2, lam=0.1)
    x = perturbed(g)
    N = 8
    out = np.full((30_000, g.d), np.nan)
    batch_draws(x, g.params, g.data, np.random.default_rng(12 + player), N, player, out)
    sl = slice(0, g.d_theta) if player == 0 else slice(g.d_theta, g.d)
    B = out[:, sl]
    assert np.all(np.isnan(out[:, slice(g.d_theta, g.d) if player == 0 else slice(0, g.d_theta)]))
    n = B.shape[0]
    z = (B.mean(axis=0) - g.grad(x)[sl]) / (B.std(axis=0) / np.sqrt(n))
    assert np.abs(z).max() < z_limit(B.shape[1])
    zc = cov_z(B, g.sigma(x)[sl, sl] / N)
    assert np.abs(zc).max() < z_limit(zc.size)


# ---------------------------------------------------------------------------------------
# the generated distribution and training


def test_generate_and_discriminate_reproduce_the_loss():
    g = mlp.make(width=5, nodes=64, regularizer="r1", gamma=0.3)
    x = perturbed(g)
    th, om = g.split(x)
    K = int(g.params[7])
    z, w = g.params[9 : 9 + K], g.params[9 + K : 9 + 2 * K]
    y = g.data[:, 0]
    f = lambda t: -np.logaddexp(0.0, -t)  # noqa: E731
    dy = 1e-6
    Dy = (mlp.discriminate(g, om, y + dy) - mlp.discriminate(g, om, y - dy)) / (2 * dy)
    ref = np.mean(f(mlp.discriminate(g, om, y)) - 0.15 * Dy**2) + w @ f(-mlp.discriminate(g, om, mlp.generate(g, th, z)))
    assert abs(ref - g.loss(x)) < 1e-8
    # stacks: one row per parameter vector, shared or per-row inputs
    T = np.stack([th, 2 * th])
    assert mlp.generate(g, T, z).shape == (2, K)
    np.testing.assert_allclose(mlp.generate(g, T, np.stack([z, z]))[1], mlp.generate(g, 2 * th, z))
    assert mlp.generate(g, th, np.zeros((3, 4))).shape == (3, 4)


def test_sample_latent_follows_the_games_latent():
    rng = np.random.default_rng(13)
    z = mlp.sample_latent(mlp.make(nodes=16), 50_000, rng)
    assert abs(z.mean()) < z_limit(2) / np.sqrt(z.size) and len(np.unique(z)) == z.size
    g = mlp.make(nodes=8, latent="nodes")
    z = mlp.sample_latent(g, 50_000, rng)
    nodes, w = g.params[9:17], g.params[17:25]
    counts = np.array([(z == v).sum() for v in nodes])
    assert counts.sum() == z.size
    zs = (counts - z.size * w) / np.sqrt(z.size * w * (1 - w))
    assert np.abs(zs).max() < z_limit(8)


def test_alt_d_training_learns_both_modes(trained):
    g, x = trained
    w0, _ = w1_and_shares(g, g.x0)
    w1, shares = w1_and_shares(g, x)
    assert w1 < 0.25 * w0
    # both modes covered: a collapsed generator puts (almost) all samples on one side
    assert shares.min() > 0.3


# ---------------------------------------------------------------------------------------
# config, data


def test_from_config_defaults_and_info():
    g = game_from_config({"name": "mlp"})
    assert isinstance(g, mlp.MLPGame)
    assert (g.d_theta, g.d_omega) == (25, 25)
    assert g.data.shape == (256, 1)
    assert g.info["width"] == 8 and g.info["loss"] == "vanilla" and g.info["nodes"] == mlp.DEFAULT_NODES
    assert g.init_scale == 0.5
    np.testing.assert_array_equal(g.x0, mlp.make().x0)
    assert not np.array_equal(g.x0, mlp.make(init_seed=1).x0)
    h = game_from_config({"name": "mlp", "width": 3, "loss": "non-saturating", "regularizer": "r1",
                          "gamma": 1.0, "nodes": 16, "init_scale": 0.1, "data": "data/mixture1d.csv"})
    assert h.d == 20 and h.info["regularizer"] == "r1" and h.init_scale == 0.1


@pytest.mark.parametrize("table, field", [
    ({"widht": 8}, "game.widht"),
    ({"width": 0}, "game.width"),
    ({"width": 2.5}, "game.width"),
    ({"loss": "wasserstein"}, "game.loss"),
    ({"regularizer": "l2"}, "game.regularizer"),
    ({"regularizer": "r1", "gamma": -1.0}, "game.gamma"),
    ({"gamma": 1.0}, "game.gamma"),
    ({"regularizer": "r1", "lam": 0.1}, "game.lam"),
    ({"nodes": 3}, "game.nodes"),
    ({"quadrature": "simpson"}, "game.quadrature"),
    ({"latent": "uniform"}, "game.latent"),
    ({"init_scale": 0.0}, "game.init_scale"),
    ({"init_seed": "a"}, "game.init_seed"),
    ({"data": "no/such/file.csv"}, "game.data"),
    ({"data": "mixture2d.csv"}, "game.data"),
])
def test_config_errors_name_the_field(table, field):
    with pytest.raises(ConfigError) as err:
        mlp.from_config({"name": "mlp", **table})
    assert err.value.field == field


def test_unknown_key_lists_the_allowed_ones():
    with pytest.raises(ConfigError, match="allowed: .*init_scale.*width"):
        mlp.from_config({"name": "mlp", "depth": 2})


def test_default_data_resolves_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert mlp.resolve_data(mlp.DEFAULT_DATA).name == "mixture1d.csv"
    assert mlp.make().data.shape == (256, 1)
    (tmp_path / "mine.csv").write_text("# two points\n1.0\n-1.0\n")
    np.testing.assert_array_equal(mlp.make(data="mine.csv").data[:, 0], [1.0, -1.0])


def test_data_files_match_their_generator():
    spec = importlib.util.spec_from_file_location("make_datasets", ROOT / "data" / "make_datasets.py")
    md = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(md)
    rng1, rng2 = (np.random.default_rng(s) for s in np.random.SeedSequence(md.SEED).spawn(2))
    y = np.loadtxt(ROOT / "data" / "mixture1d.csv", comments="#", ndmin=2)
    np.testing.assert_allclose(y[:, 0], md.mixture1d(rng1), atol=5e-7)
    packaged = np.loadtxt(ROOT / "invariant" / "games" / "mixture1d.csv", comments="#", ndmin=2)
    np.testing.assert_array_equal(packaged, y)
    assert (y < 0).sum() == (y > 0).sum() == 128
    xy = np.loadtxt(ROOT / "data" / "mixture2d.csv", delimiter=",", comments="#", ndmin=2)
    assert xy.shape == (512, 2)
    np.testing.assert_allclose(xy, md.mixture2d(rng2), atol=5e-7)
    mode = np.round(np.arctan2(xy[:, 1], xy[:, 0]) / (2 * np.pi / 8)).astype(int) % 8
    assert np.all(np.bincount(mode, minlength=8) == 64)
