"""Tests of the general MLP GAN (``invariant.games.mlp_deep``; docs/theory.md §1).

The hand-written per-sample gradients (R1 and the gradient penalty included) are checked
against JAX autodiff in float64 to 1e-10 for every activation × loss × regulariser on small
nets; ``hvp`` (a central difference of ``grad``) against JAX's Jacobian–vector product within
its documented error.  The kernels compile once: every game here shares their types.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from invariant.errors import ConfigError
from invariant.games import from_config as game_from_config
from invariant.games import mlp_deep
from invariant.games.mlp_deep_setup import ACTIVATIONS, LOSSES, REGULARIZERS, DeepMLPGame

TOL = 1e-10


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    """Small data sets: 7 points in 1-D and 2-D (cheap supports for the reference)."""
    rng = np.random.default_rng(3)
    folder = tmp_path_factory.mktemp("data")
    paths = {}
    for dim in (1, 2):
        paths[dim] = folder / f"pts{dim}.csv"
        np.savetxt(paths[dim], rng.standard_normal((7, dim)) + 1.0, delimiter=",")
    return paths


def make(csv, dim=2, act="tanh", loss="vanilla", reg="none", depth=2, width=4, **kw):
    gamma = 0.0 if reg == "none" else 0.3
    extra = {"lam": 0.2} if reg == "weight-decay" else {}
    net = {"depth": depth, "width": width, "activation": act}
    table = dict(name="mlp", data=str(csv[dim]), latent_dim=kw.pop("latent_dim", 3 - dim), generator=net,
                 discriminator={**net, "width": width + 1}, loss=loss, regularizer=reg,
                 gamma=gamma, nodes=5, latent="nodes", **extra, **kw)
    return game_from_config(table)


def perturbed(g, seed=1):
    return g.x0 + 0.4 * np.random.default_rng(seed).standard_normal(g.d)


def close(a, b, tol=TOL):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= tol * max(1.0, np.max(np.abs(b))), np.max(np.abs(a - b))


# ---------------------------------------------------------------------------------------
# the JAX reference


class Reference:
    """The game's per-sample objectives in JAX, written from the module docstring."""

    def __init__(self, game):
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        self.jax, self.jnp, self.g = jax, jnp, game
        self.gen_net, self.dis_net = game.nets()
        info = game.info
        self.loss, self.reg = info["loss"], info["regularizer"]
        self.gamma, self.lam = info["gamma"], info["lam"]
        K = info["nodes"]
        o = mlp_deep.HEAD + K * game.latent_dim
        self.nodes = game.nodes()
        self.pair_i = game.params[o : o + K].astype(int)
        self.pair_u = game.params[o + K : o + 2 * K]

    def net(self, w, u, spec):
        jnp = self.jnp
        n_in, depth, width, n_out, act = spec
        h, off = u, 0
        for layer in range(depth + 1):
            ni = n_in if layer == 0 else width
            no = width if layer < depth else n_out
            W = w[off : off + no * ni].reshape(no, ni)
            h = W @ h + w[off + no * ni : off + no * (ni + 1)]
            if layer < depth:
                h = jnp.tanh(h) if act == 0 else jnp.where(h > 0, h, 0.0 if act == 1 else 0.2 * h)
            off += no * (ni + 1)
        return h

    def D(self, om, y):
        return self.net(om, y, self.dis_net)[0]

    def f(self, t):
        return -self.jnp.logaddexp(0.0, -t)

    def real(self, om, y):
        D = self.D(om, y)
        v = D if self.loss == "wgan" else self.f(D)
        if self.reg == "r1":
            q = self.jax.grad(self.D, argnums=1)(om, y)
            v = v - 0.5 * self.gamma * q @ q
        return v

    def fake(self, th, om, z, yp, u):
        s = self.D(om, self.net(th, z, self.gen_net))
        v = -s if self.loss == "wgan" else self.f(-s)
        if self.reg == "gradient-penalty":
            xh = u * yp + (1 - u) * self.jax.lax.stop_gradient(self.net(th, z, self.gen_net))
            q = self.jax.grad(self.D, argnums=1)(om, xh)
            # at q = 0 (all ReLUs dead at x̂) the kernels take the penalty's gradient as 0
            n2 = q @ q
            nq = self.jnp.sqrt(self.jnp.where(n2 > 0, n2, 1.0))
            v = v - self.gamma * self.jnp.where(n2 > 0, (nq - 1.0) ** 2, 1.0)
        return v

    def gen_own(self, th, om, z):
        s = self.D(om, self.net(th, z, self.gen_net))
        return {"vanilla": self.f(-s), "non-saturating": -self.f(s), "wgan": -s}[self.loss]

    def support(self, x):
        """``(fake, real)`` per-sample gradients on the support, as ``support_grads``."""
        jax, jnp, g = self.jax, self.jnp, self.g
        th, om = jnp.asarray(x[: g.d_theta]), jnp.asarray(x[g.d_theta :])
        data = jnp.asarray(g.data)
        yp = data[self.pair_i]
        gt = jax.vmap(jax.grad(self.gen_own, 0), (None, None, 0))(th, om, jnp.asarray(self.nodes))
        go = jax.vmap(jax.grad(self.fake, 1), (None, None, 0, 0, 0))(
            th, om, jnp.asarray(self.nodes), yp, jnp.asarray(self.pair_u))
        gr = jax.vmap(jax.grad(self.real, 0), (None, 0))(om, data)
        fake = np.hstack([np.asarray(gt), np.asarray(go)])
        real = np.hstack([np.zeros((g.data.shape[0], g.d_theta)), np.asarray(gr)])
        return fake, real

    def reg_grad(self, x):
        dt = self.g.d_theta
        if self.reg != "weight-decay":
            return np.zeros(self.g.d)
        return np.concatenate([self.lam * x[:dt], -self.gamma * x[dt:]])

    def grad(self, x):
        fake, real = self.support(x)
        return fake.mean(0) + real.mean(0) + self.reg_grad(x)

    def jvp(self, x, v):
        """``J v`` of the gradient field (the generator's own and the discriminator's)."""
        jax, jnp, g = self.jax, self.jnp, self.g
        data = jnp.asarray(g.data)
        nodes = jnp.asarray(self.nodes)
        yp = data[self.pair_i]
        us = jnp.asarray(self.pair_u)

        def field(xx):
            th, om = xx[: g.d_theta], xx[g.d_theta :]
            gt = jax.grad(lambda t: jax.vmap(self.gen_own, (None, None, 0))(t, om, nodes).mean())(th)
            go = jax.grad(lambda o: jax.vmap(self.fake, (None, None, 0, 0, 0))(th, o, nodes, yp, us).mean()
                          + jax.vmap(self.real, (None, 0))(o, data).mean())(om)
            return jnp.concatenate([gt, go])

        return np.asarray(jax.jvp(field, (jnp.asarray(x),), (jnp.asarray(v),))[1]) + self.reg_grad(v)


# ---------------------------------------------------------------------------------------


CASES = list(itertools.product(ACTIVATIONS, LOSSES, REGULARIZERS))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_support_gradients_match_autodiff(csv, case):
    pytest.importorskip("jax")
    act, loss, reg = CASES[case]
    g = make(csv, dim=1 + case % 2, act=act, loss=loss, reg=reg, depth=1 + (case // 2) % 2, width=3 + case % 3)
    ref = Reference(g)
    x = perturbed(g, case)
    fake = np.empty((5, g.d))
    real = np.empty((g.data.shape[0], g.d))
    mlp_deep.support_grads(x, g.params, g.data, fake, real)
    rf, rr = ref.support(x)
    close(fake, rf)
    close(real, rr)
    close(g.grad(x), ref.grad(x))


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_hvp_is_the_jacobian_within_its_documented_error(csv, act):
    pytest.importorskip("jax")
    reg = "r1" if act == "tanh" else "gradient-penalty"
    g = make(csv, act=act, loss="non-saturating", reg=reg)
    ref = Reference(g)
    x = perturbed(g, 7)
    v = np.random.default_rng(8).standard_normal(g.d)
    exact = ref.jvp(x, v)
    # relative error ≈ ε^{2/3} times the third derivatives' scale (the central difference of games/base.py: numerics.central_hvp)
    close(g.hvp(x, v), exact, tol=1e-7)


def test_sampled_kernels_and_noise_use_the_support(csv):
    """sample_grads / batch_grad rows are support gradients at the drawn points; noise is the
    documented linear map of its normals (replayed with the same generator)."""
    g = make(csv, act="leaky_relu", loss="wgan", reg="gradient-penalty")
    x = perturbed(g, 2)
    K, M = 5, g.data.shape[0]
    fake = np.empty((K, g.d))
    real = np.empty((M, g.d))
    mlp_deep.support_grads(x, g.params, g.data, fake, real)
    o = mlp_deep.HEAD + K * g.latent_dim
    rows = g.sample_grads(x, 6, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    for r in rows:
        i = rng.integers(0, M)
        k = rng.integers(0, K)
        close(r, real[i] + fake[k])
    out = np.empty(g.d)
    mlp_deep.batch_grad(x, g.params, g.data, np.random.default_rng(6), 4, 1, out)
    rng = np.random.default_rng(6)
    want = np.zeros(g.d)
    for _ in range(4):
        want += real[rng.integers(0, M)] / 4
        want += fake[rng.integers(0, K)] / 4
    close(out[g.d_theta :], want[g.d_theta :])
    mlp_deep.noise(x, g.params, g.data, np.random.default_rng(9), out)
    rng = np.random.default_rng(9)
    u = rng.standard_normal((K, 2)) / np.sqrt(K)
    ur = rng.standard_normal(M) / np.sqrt(M)
    fc, rc = fake - fake.mean(0), real - real.mean(0)
    want = np.concatenate([(u[:, 0] @ fc)[: g.d_theta], (u[:, 1] @ fc + ur @ rc)[g.d_theta :]])
    close(out, want)
    assert np.all(g.params[o : o + K] < M)


def test_generate_matches_the_kernels_forward_pass(csv):
    g = make(csv, act="relu")
    assert isinstance(g, DeepMLPGame) and g.latent_dim == 1 and g.dim == 2
    th = np.stack([perturbed(g, s)[: g.d_theta] for s in range(3)])
    z = np.random.default_rng(0).standard_normal((3, 4, g.latent_dim))
    y = g.generate(th, z)
    assert y.shape == (3, 4, 2)
    out = np.empty(2)
    for n, m in itertools.product(range(3), range(4)):
        mlp_deep.generator_output(np.concatenate([th[n], g.x0[g.d_theta :]]), g.params, z[n, m], out)
        close(y[n, m], out, tol=1e-13)
    assert g.generate(th[0], z[0]).shape == (4, 2)
    assert g.discriminate(g.x0[g.d_theta :], y[0]).shape == (4,)
    # 1-D latents and data: the one-hidden-layer game's shapes (strategies.generated_samples)
    g1 = make(csv, dim=1, act="relu", latent_dim=1)
    th1 = np.stack([perturbed(g1, s)[: g1.d_theta] for s in range(3)])
    z1 = np.random.default_rng(1).standard_normal((3, 4))
    y1 = g1.generate(th1, z1)
    assert y1.shape == (3, 4) and g1.generate(th1[0], z1[0]).shape == (4,)
    mlp_deep.generator_output(np.concatenate([th1[2], g1.x0[g1.d_theta :]]), g1.params, z1[2, 3:], out)
    close(y1[2, 3], out[0], tol=1e-13)
    assert g1.discriminate(g1.x0[g1.d_theta :], y1[0]).shape == (4,)


def test_config_dispatch_and_errors(csv):
    g = game_from_config(dict(name="mlp", data="ring8", generator={"depth": 2, "width": 32, "activation": "relu"},
                              discriminator={"depth": 2, "width": 32, "activation": "relu"},
                              loss="non-saturating", regularizer="r1", gamma=0.1))
    assert g.dataset.n_modes == 8 and g.latent_dim == 2
    assert g.d_theta == 32 * 3 + 32 * 33 + 2 * 33 and g.d_omega == 32 * 3 + 32 * 33 + 33
    assert type(game_from_config(dict(name="mlp", width=3))).__name__ == "MLPGame"
    assert type(game_from_config(dict(name="mlp", data="mixture1d"))).__name__ == "MLPGame"
    assert game_from_config(dict(name="mlp", data="mixture1d", latent_dim=1)).dataset.n_modes == 2
    bad = [
        (dict(generator={"depth": 0}), "game.generator.depth"),
        (dict(discriminator={"activation": "gelu"}), "game.discriminator.activation"),
        (dict(generator={"widht": 3}), "game.generator.widht"),
        (dict(generator=3), "game.generator"),
        (dict(loss="hinge"), "game.loss"),
        (dict(regularizer="r2"), "game.regularizer"),
        (dict(gamma=1.0), "game.gamma"),
        (dict(regularizer="r1", lam=1.0), "game.lam"),
        (dict(latent_dim=0), "game.latent_dim"),
        (dict(nodes=2), "game.nodes"),
        (dict(latent="uniform"), "game.latent"),
        (dict(data="nowhere.csv"), "game.data"),
        (dict(depth=2), "game.depth"),
    ]
    for extra, field in bad:
        with pytest.raises(ConfigError) as e:
            game_from_config({"name": "mlp", "latent_dim": 1, **extra})
        assert e.value.field == field, (extra, e.value)


def test_sga_run_completes(csv, tmp_path):
    from invariant import engine
    from invariant.config import load

    path = tmp_path / "run.toml"
    path.write_text(f"""
[game]
name = "mlp"
data = "{csv[2]}"
latent_dim = 2
generator = {{ depth = 2, width = 4, activation = "relu" }}
discriminator = {{ depth = 2, width = 4, activation = "leaky_relu" }}
loss = "wgan"
regularizer = "gradient-penalty"
gamma = 0.1
nodes = 8

[training]
scheme = "alt-d"
lr = 0.02
batch_size = 8

[simulation]
dynamics = "sga"
chains = 3
t_end = 2.0
keep_draws = 10
""")
    with pytest.raises(ConfigError) as e:
        load(path, {"simulation.backend": "cuda"})
    assert e.value.field == "simulation.backend"
    res = engine.simulate(load(path))
    assert np.all(res.status == 0) and np.all(np.isfinite(res.X))
