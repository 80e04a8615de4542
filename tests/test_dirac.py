"""Tests of the Dirac-GAN family (``invariant.games.dirac``; docs/theory.md §1, §3, §8).

Deterministic identities (gradients, Hessian–vector products, quadrature) are checked
against finite differences and adaptive quadrature; stochastic ones (per-sample
gradients, noise, minibatches) with fixed seeds and tolerances of 4 Monte Carlo standard
errors, the standard errors estimated from the same draws.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from invariant.errors import ConfigError
from invariant.games import dirac
from invariant.games import from_config as games_from_config

Z = 4.0  # z-score of every statistical assertion
X = np.array([0.7, -1.3])  # a generic state, away from the equilibrium
BASE = dict(mu=0.4, s=0.8, s_z=1.2)
CASES = [
    (loss, reg)
    for loss in dirac.LOSSES
    for reg in ("none", "r1", "weight-decay", "gradient-penalty")
] + [("vanilla", "r2")]


def make(loss, reg, **kw):
    kw = {**BASE, **kw}
    if reg != "none":
        kw.setdefault("gamma", 0.7)
    if reg == "weight-decay":
        kw.setdefault("lam", 0.3)
    return dirac.make(loss, reg, **kw)


def central(fun, x, h=1e-5):
    """Central differences of the scalar or vector ``fun`` at ``x``: column j is ∂_j fun."""
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        cols.append((np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * h))
    return np.array(cols).T


def var_se(a):
    """Sample variance of ``a`` and its standard error, sqrt((m4 − v²)/n)."""
    v = a.var(ddof=1)
    m4 = np.mean((a - a.mean()) ** 4)
    return v, np.sqrt(max(m4 - v * v, 0.0) / a.size)


# ---------------------------------------------------------------- deterministic identities

@pytest.mark.parametrize("loss,reg", CASES)
def test_grad_is_each_players_loss_gradient(loss, reg):
    game = make(loss, reg)
    g = game.grad(X)
    d_gen = central(game.generator_loss, X)
    d_g = central(game.loss, X)
    # θ-part from the generator's own loss, ψ-part from the discriminator's objective g
    assert g[0] == pytest.approx(d_gen[0], rel=1e-7, abs=1e-8)
    assert g[1] == pytest.approx(d_g[1], rel=1e-7, abs=1e-8)
    if loss != "non-saturating":
        assert game.generator_loss(X) == game.loss(X)
        np.testing.assert_allclose(g, d_g, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("loss,reg", CASES)
@pytest.mark.parametrize("x", [X, np.array([-0.3, 0.05]), np.array([1.1, 2.4])])
def test_hvp_is_jacobian_of_grad(loss, reg, x):
    game = make(loss, reg)
    J = central(game.grad, x)
    H = game.hessian(x)
    np.testing.assert_allclose(H, J, rtol=1e-6, atol=1e-7)
    v = np.array([0.3, -1.7])
    np.testing.assert_allclose(game.hvp(x, v), J @ v, rtol=1e-6, atol=1e-7)
    if loss != "non-saturating":
        assert H[0, 1] == pytest.approx(H[1, 0], rel=1e-12, abs=1e-14)


def _per_sample(loss, x, y, u):
    """Per-sample (∂θ, ∂ψ) of ĝ without regulariser, in plain numpy/scipy."""
    th, ps = x
    fp = stats.logistic.sf  # f'(t) = σ(−t)
    if loss == "wgan":
        return -ps + 0 * u, y - u
    gt = -ps * (fp(ps * u) if loss == "non-saturating" else fp(-ps * u))
    return gt, y * fp(ps * y) - u * fp(-ps * u)


@pytest.mark.parametrize("loss", ["vanilla", "non-saturating"])
@pytest.mark.parametrize("x,nodes,rtol", [
    # the documented accuracy: the rule must resolve a logistic step of width 1/(|ψ| s_z)
    (X, 32, 3e-7),  # |ψ| s_z = 1.6
    (np.array([-1.5, 2.5]), 32, 1e-3),  # |ψ| s_z = 3
    (np.array([-1.5, 2.5]), 128, 1e-8),
])
def test_quadrature_matches_adaptive_integration(loss, x, nodes, rtol):
    game = make(loss, "none", nodes=nodes)
    mu, s, sz = BASE["mu"], BASE["s"], BASE["s_z"]
    phi = stats.norm.pdf

    def moments(fun):
        m1 = integrate.quad(lambda e: fun(e) * phi(e), -12, 12, epsabs=1e-14, limit=200)[0]
        m2 = integrate.quad(lambda e: (fun(e) - m1) ** 2 * phi(e), -12, 12, epsabs=1e-14, limit=200)[0]
        return m1, m2

    t_mean, t_var = moments(lambda z: _per_sample(loss, x, 0.0, x[0] + sz * z)[0])
    # ∂ψ ĝ = y f'(ψy) − u f'(−ψu): the real and fake terms are independent
    r_mean, r_var = moments(lambda e: _per_sample(loss, x, mu + s * e, 0.0)[1])
    f_mean, f_var = moments(lambda z: _per_sample(loss, x, 0.0, x[0] + sz * z)[1])
    np.testing.assert_allclose(game.grad(x), [t_mean, r_mean + f_mean], rtol=rtol)
    np.testing.assert_allclose(np.diag(game.sigma(x)), [t_var, r_var + f_var], rtol=rtol)


@pytest.mark.parametrize("loss", dirac.LOSSES)
def test_degenerate_scales_are_point_masses(loss):
    th, ps = X
    mu = 0.4
    game = dirac.make(loss, mu=mu, s=0.0, s_z=0.0)
    assert game.params[11] == 1 and game.params[12] == 1
    np.testing.assert_array_equal(game.sigma(X), np.zeros((2, 2)))
    gt, gp = _per_sample(loss, X, mu, th)
    np.testing.assert_allclose(game.grad(X), [gt, gp], rtol=1e-13)
    # only one of the two scales zero: the other term keeps its variance
    half = dirac.make(loss, mu=mu, s=0.0, s_z=1.0)
    full = dirac.make(loss, mu=mu, s=1e-300, s_z=1.0)
    np.testing.assert_allclose(half.sigma(X), full.sigma(X), rtol=1e-12)
    np.testing.assert_allclose(half.grad(X), full.grad(X), rtol=1e-12)


def test_wgan_closed_forms():
    game = make("wgan", "r1")
    mu, s, sz, gam = BASE["mu"], BASE["s"], BASE["s_z"], 0.7
    th, ps = X
    assert game.loss(X) == pytest.approx(ps * (mu - th) - gam / 2 * ps * ps)
    np.testing.assert_allclose(game.grad(X), [-ps, mu - th - gam * ps])
    np.testing.assert_allclose(game.hessian(X), [[0.0, -1.0], [-1.0, -gam]])
    np.testing.assert_array_equal(game.sigma(X), np.diag([0.0, s * s + sz * sz]))
    np.testing.assert_array_equal(game.sigma(X + 3.0), game.info["Sigma"])


def test_gradient_penalty_is_smooth_at_zero():
    delta = 0.01
    game = dirac.make("wgan", "gradient-penalty", gamma=1.0, mu=0.0, s=0.0, s_z=0.0, gp_delta=delta)
    x0 = np.zeros(2)
    assert game.grad(x0)[1] == 0.0
    # −γ(sqrt(ψ² + δ²) − 1)² has curvature 2γ(1/δ − 1) at ψ = 0 (a local minimum of g in ψ)
    assert game.hessian(x0)[1, 1] == pytest.approx(2 * (1 / delta - 1), rel=1e-12)
    # and its maximum at |ψ|_δ = 1
    assert game.grad(np.array([0.0, np.sqrt(1 - delta**2)]))[1] == pytest.approx(0.0, abs=1e-14)


# ---------------------------------------------------------------- equilibrium (docs/theory.md §8)

def b0_jacobian(game, x):
    H = game.hessian(x)
    return np.vstack([-H[0], H[1]])  # b0 = (−grad_θ, +grad_ψ)


@pytest.mark.parametrize("loss", ["vanilla", "non-saturating"])
def test_dirac_equilibrium_is_a_centre(loss):
    game = dirac.make(loss, mu=0.0, s=0.0, s_z=0.0)
    np.testing.assert_array_equal(game.grad(np.zeros(2)), 0.0)
    ev = np.linalg.eigvals(b0_jacobian(game, np.zeros(2)))
    np.testing.assert_allclose(sorted(ev, key=np.imag), [-0.5j, 0.5j], atol=1e-14)


def test_wgan_equilibrium_is_a_centre():
    game = dirac.make("wgan", mu=0.3, s=0.0, s_z=0.0)
    np.testing.assert_array_equal(game.grad(game.x0), 0.0)
    ev = np.linalg.eigvals(b0_jacobian(game, game.x0))
    np.testing.assert_allclose(sorted(ev, key=np.imag), [-1j, 1j], atol=1e-14)


@pytest.mark.parametrize("loss", ["vanilla", "non-saturating"])
@pytest.mark.parametrize("reg", ["r1", "r2", "weight-decay"])
@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])
def test_r1_equilibrium_eigenvalues(loss, reg, gamma):
    game = dirac.make(loss, reg, gamma=gamma, mu=0.0, s=0.0, s_z=0.0)
    ev = np.sort_complex(np.linalg.eigvals(b0_jacobian(game, np.zeros(2))))
    root = np.sqrt(complex(gamma**2 / 4 - 0.25))
    expected = np.sort_complex(np.array([-gamma / 2 - root, -gamma / 2 + root]))
    np.testing.assert_allclose(ev, expected, atol=1e-7)  # γ = 1 is a double root: O(sqrt(ulp))


# ---------------------------------------------------------------- stochastic identities

@pytest.mark.parametrize("loss,reg", CASES)
def test_sample_grads_mean_and_covariance(loss, reg):
    game = make(loss, reg)
    n = 200_000
    G = game.sample_grads(X, n, np.random.default_rng(11))
    g = game.grad(X)
    Sigma = game.sigma(X)
    for i in range(2):
        col = G[:, i]
        se = col.std(ddof=1) / np.sqrt(n)
        assert abs(col.mean() - g[i]) <= Z * se + 1e-12, (i, col.mean(), g[i], se)
        v, v_se = var_se(col)
        assert abs(v - Sigma[i, i]) <= Z * v_se + 1e-12, (i, v, Sigma[i, i], v_se)
    assert Sigma[0, 1] == Sigma[1, 0] == 0.0


@pytest.mark.parametrize("loss", dirac.LOSSES)
def test_noise_covariance_is_sigma(loss):
    game = make(loss, "r1")
    rng = np.random.default_rng(5)
    n = 40_000
    out = np.empty(2)
    draws = np.empty((n, 2))
    for k in range(n):
        game.module.noise(X, game.params, game.data, rng, out)
        draws[k] = out
    Sigma = game.sigma(X)
    C = np.cov(draws, rowvar=False)
    # Gaussian draws: Var of a sample variance is 2Σ²/n, of a sample covariance Σ11Σ22/n
    for i in range(2):
        assert abs(draws[:, i].mean()) <= Z * np.sqrt(Sigma[i, i] / n)
        assert abs(C[i, i] - Sigma[i, i]) <= Z * Sigma[i, i] * np.sqrt(2.0 / n)
    assert abs(C[0, 1]) <= Z * np.sqrt(Sigma[0, 0] * Sigma[1, 1] / n)
    if loss == "wgan":
        np.testing.assert_array_equal(draws[:, 0], 0.0)


@pytest.mark.parametrize("loss", dirac.LOSSES)
@pytest.mark.parametrize("batch_size", [1, 16])
def test_batch_grad_mean_and_variance(loss, batch_size):
    game = make(loss, "weight-decay")
    rng = np.random.default_rng(17 + batch_size)
    n = 20_000
    g = game.grad(X)
    Sigma = game.sigma(X)
    for player in (0, 1):
        out = np.full(2, np.nan)
        vals = np.empty(n)
        for k in range(n):
            game.module.batch_grad(X, game.params, game.data, rng, batch_size, player, out)
            vals[k] = out[player]
        assert np.isnan(out[1 - player])  # the other block is left untouched
        target = Sigma[player, player] / batch_size
        assert abs(vals.mean() - g[player]) <= Z * np.sqrt(target / n) + 1e-12
        v, v_se = var_se(vals)
        assert abs(v - target) <= Z * v_se + 1e-12, (player, v, target, v_se)


# ---------------------------------------------------------------- configuration

def test_from_config_defaults_and_info():
    game = games_from_config({"name": "dirac"})
    assert isinstance(game, dirac.DiracGame)
    assert (game.d_theta, game.d_omega, game.name) == (1, 1, "dirac")
    assert game.info == dict(loss="vanilla", regularizer="none", gamma=0.0, lam=0.0, mu=0.0,
                             s=1.0, s_z=1.0, nodes=32)
    assert game.params[11] == game.params[12] == 32
    assert not game.affine
    game = dirac.from_config({"name": "dirac", "loss": "wgan", "regularizer": "weight-decay",
                              "gamma": 0.5, "lam": 0.2, "mu": -1.0, "s": 0.5, "s_z": 2, "nodes": 8})
    assert game.affine and game.info["lam"] == 0.2 and game.info["nodes"] == 8
    np.testing.assert_array_equal(game.x0, [-1.0, 0.0])


@pytest.mark.parametrize("loss", dirac.LOSSES)
@pytest.mark.parametrize("reg", dirac.REGULARIZERS)
def test_affine_flag(loss, reg):
    game = dirac.make(loss, reg)  # a regulariser with gamma = 0 is allowed
    assert game.affine == (loss == "wgan" and reg != "gradient-penalty")


@pytest.mark.parametrize("table,field", [
    ({"nodez": 8}, "game.nodez"),
    ({"loss": "hinge"}, "game.loss"),
    ({"regularizer": "r3"}, "game.regularizer"),
    ({"regularizer": "r1", "gamma": -0.1}, "game.gamma"),
    ({"regularizer": "r1", "gamma": "big"}, "game.gamma"),
    ({"regularizer": "weight-decay", "lam": -1.0}, "game.lam"),
    ({"lam": 0.5}, "game.lam"),
    ({"gamma": 0.5}, "game.gamma"),
    ({"mu": float("nan")}, "game.mu"),
    ({"s": -1.0}, "game.s"),
    ({"s_z": -0.5}, "game.s_z"),
    ({"nodes": 3}, "game.nodes"),
    ({"nodes": 8.0}, "game.nodes"),
    ({"nodes": True}, "game.nodes"),
])
def test_config_errors_name_the_field(table, field):
    with pytest.raises(ConfigError) as err:
        games_from_config({"name": "dirac", **table})
    assert err.value.field == field
    if field == "game.nodez":
        assert "allowed" in err.value.message and "s_z" in err.value.message
