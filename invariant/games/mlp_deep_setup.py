"""The general MLP GAN's Python side (docs/theory.md §1): configuration, initial state, the
game class and vectorised ``generate`` / ``discriminate``; the kernels are
:mod:`invariant.games.mlp_deep`.

``[game] name = "mlp"`` builds this game when the table names ``generator``,
``discriminator`` or ``latent_dim``, or the 2-D sets ``ring8`` / ``grid25`` (:func:`wants_deep`);
``width`` alone keeps today's one-hidden-layer tanh game (:mod:`invariant.games.mlp`).
"""
from __future__ import annotations

import math

import numpy as np

from .. import datasets
from ..errors import ConfigError
from . import mlp
from .base import Game
from .mlp_deep import HEAD as _HEAD
from .mlp_net import ACTIVATIONS, LEAKY, net_size
from .validate import choice, integer, number

LOSSES = ("vanilla", "non-saturating", "wgan")
REGULARIZERS = ("none", "weight-decay", "r1", "gradient-penalty")
LATENTS = ("normal", "nodes")
DEFAULT_NODES = 256
"""Default number ``K`` of latent nodes of the support (kernels' docstring)."""
NET_KEYS = ("depth", "width", "activation")
DEEP_KEYS = ("generator", "discriminator", "latent_dim")
ALLOWED = {
    "name", "data", "latent_dim", "generator", "discriminator", "width", "loss", "regularizer",
    "gamma", "lam", "nodes", "latent", "init_seed", "init_scale",
}


class DeepMLPGame(Game):
    """The general MLP GAN; ``sigma`` is exact over the support, ``dataset`` carries the data's
    modes (for :func:`invariant.strategies.generated_modes`)."""

    cpu_only = True  # its kernels carve one scratch vector longer than d (no CUDA translation)

    @property
    def dim(self) -> int:
        return int(self.params[2])

    @property
    def latent_dim(self) -> int:
        return int(self.params[3])

    @property
    def dataset(self) -> datasets.DataSet:
        return self._dataset

    def nets(self):
        """``(generator, discriminator)`` shapes: ``(n_in, depth, width, n_out, activation code)``."""
        p = self.params
        g = (self.latent_dim, int(p[4]), int(p[5]), self.dim, int(p[6]))
        d = (self.dim, int(p[7]), int(p[8]), 1, int(p[9]))
        return g, d

    def sigma(self, x, n=None, rng=None) -> np.ndarray:
        """``blockdiag(Σ_θ, Σ_ω)(x)`` over the support (docs/theory.md §1, §3); ``n``, ``rng``
        are accepted for the base signature and ignored."""
        x = np.asarray(x, dtype=np.float64)
        K = int(self.params[14])
        fake = np.empty((K, self.d))
        real = np.empty((self.data.shape[0], self.d))
        self.module.support_grads(x, self.params, self.data, fake, real)
        fc = fake - fake.mean(axis=0)
        rc = real - real.mean(axis=0)
        S = fc.T @ fc / K + rc.T @ rc / real.shape[0]
        S[: self.d_theta, self.d_theta :] = 0.0
        S[self.d_theta :, : self.d_theta] = 0.0
        return S

    def _scalar(self) -> bool:
        # 1-D latents and data: the one-hidden-layer game's shapes (no trailing axis), which
        # invariant.strategies.generated_samples uses for 1-D data
        return self.latent_dim == 1 and self.dim == 1

    def generate(self, theta, z) -> np.ndarray:
        """``G_θ(z)``: ``theta (dθ,)`` with ``z (..., n_z)``, or ``theta (n, dθ)`` with
        ``z (n, m, n_z)`` → ``(n, m, dim)`` (vectorised numpy, docs/theory.md §7).  With
        ``n_z = dim = 1`` the trailing axes are dropped, as in :func:`invariant.games.mlp.generate`:
        ``z (m,)`` → ``(m,)`` for one ``θ``, ``z (n, m)`` or ``(m,)`` → ``(n, m)`` for a stack."""
        if self._scalar():
            z = np.asarray(z, dtype=np.float64)
            if np.ndim(theta) == 2 and z.ndim == 1:
                z = np.broadcast_to(z, (np.shape(theta)[0], z.shape[0]))
            return _net(theta, z[..., None], *self.nets()[0])[..., 0]
        return _net(theta, z, *self.nets()[0])

    def discriminate(self, omega, y) -> np.ndarray:
        """Logits ``D_ω(y)``; shapes as in :meth:`generate`, the last axis dropped (for
        ``dim = 1``, ``y`` without a trailing axis)."""
        if self.dim == 1:
            y = np.asarray(y, dtype=np.float64)[..., None]
        return _net(omega, y, *self.nets()[1])[..., 0]

    def sample_latent(self, size, rng: np.random.Generator) -> np.ndarray:
        """Latents of the sampled game, shape ``(size, n_z)``: ``N(0, I)`` or the support's nodes."""
        if self.params[15] == 0.0:
            return rng.standard_normal((size, self.latent_dim))
        return self.nodes()[rng.integers(0, int(self.params[14]), size)]

    def nodes(self) -> np.ndarray:
        """The ``K`` latent nodes ``(K, n_z)``."""
        K = int(self.params[14])
        return self.params[_HEAD : _HEAD + K * self.latent_dim].reshape(K, self.latent_dim)


def _act(a, code):
    if code == 0:
        return np.tanh(a)
    return np.where(a > 0.0, a, 0.0 if code == 1 else LEAKY * a)


def _net(params, u, n_in, depth, width, n_out, act):
    """The MLP of :mod:`invariant.games.mlp_net` on numpy stacks (see ``generate``)."""
    w = np.asarray(params, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    size = net_size(n_in, depth, width, n_out)
    if w.shape[-1] != size or w.ndim > 2:
        raise ValueError(f"parameters must have shape ({size},) or (n, {size}), got {w.shape}")
    if u.shape[-1] != n_in:
        raise ValueError(f"inputs must have last axis {n_in}, got shape {u.shape}")
    if w.ndim == 1:
        w = w[None]
        u = u[None]
        one = True
    else:
        one = False
        if u.ndim != 3 or u.shape[0] != w.shape[0]:
            raise ValueError(f"with {w.shape[0]} parameter vectors the inputs must have shape ({w.shape[0]}, m, {n_in})")
    h = u.reshape(u.shape[0], -1, n_in)
    off = 0
    for layer in range(depth + 1):
        ni = n_in if layer == 0 else width
        no = width if layer < depth else n_out
        Wm = w[:, off : off + no * ni].reshape(-1, no, ni)
        b = w[:, off + no * ni : off + no * (ni + 1)]
        h = np.einsum("nmi,nji->nmj", h, Wm) + b[:, None, :]
        if layer < depth:
            h = _act(h, act)
        off += no * (ni + 1)
    h = h.reshape(u.shape[:-1] + (n_out,))
    return h[0] if one else h


def init_params(nets, seed: int = 0) -> np.ndarray:
    """Deterministic initial ``x0 = (θ, ω)``: weights ``N(0, s²/fan_in)`` with ``s² = 2`` (He et
    al. 2015) into a ReLU layer and ``s² = 1`` (LeCun/Xavier-like) into tanh and the linear
    output layer; biases 0.  ``nets`` is :meth:`DeepMLPGame.nets`."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x646D6C70]))
    out = []
    for n_in, depth, width, n_out, act in nets:
        for layer in range(depth + 1):
            ni = n_in if layer == 0 else width
            no = width if layer < depth else n_out
            gain = 2.0 if (layer < depth and act != 0) else 1.0
            out.append(math.sqrt(gain / ni) * rng.standard_normal(no * ni))
            out.append(np.zeros(no))
    return np.concatenate(out)


def wants_deep(table: dict) -> bool:
    """Whether a ``[game] name = "mlp"`` table asks for the general MLP GAN."""
    if any(k in table for k in DEEP_KEYS):
        return True
    # a CSV of 2-D points needs the tables: without them the one-hidden-layer game rejects it
    return table.get("data") in ("ring8", "grid25")


def mlp_from_config(table: dict) -> Game:
    """The factory of ``[game] name = "mlp"``: the general MLP GAN where :func:`wants_deep`,
    else the one-hidden-layer game (:func:`invariant.games.mlp.from_config`), which also takes
    ``data = "mixture1d"`` (:mod:`invariant.datasets`' name of its default file)."""
    if wants_deep(table):
        return from_config(table)
    if table.get("data") == "mixture1d":
        table = {**table, "data": mlp.DEFAULT_DATA}
    return mlp.from_config(table)


def _net_table(table, who, width_default):
    t = table.get(who, {})
    field = f"game.{who}"
    if not isinstance(t, dict):
        raise ConfigError(field, "must be a table, e.g. { depth = 2, width = 32, activation = \"relu\" }")
    for key in t:
        if key not in NET_KEYS:
            raise ConfigError(f"{field}.{key}", f"unknown key; allowed: {', '.join(NET_KEYS)}")
    depth = integer(t.get("depth", 1), f"{field}.depth", low=1)
    width = integer(t.get("width", width_default), f"{field}.width", low=1)
    act = choice(t.get("activation", "tanh"), f"{field}.activation", ACTIVATIONS)
    return depth, width, ACTIVATIONS.index(act)


def from_config(table: dict) -> DeepMLPGame:
    """Build the general MLP GAN from a ``[game]`` table (docs/design.md ◆ Config).

    Keys: ``data`` (a name of :mod:`invariant.datasets` or a CSV path; default ``"ring8"``),
    ``latent_dim`` (default: the data's dimension), ``generator`` / ``discriminator``
    (``depth`` ≥ 1, default 1; ``width`` ≥ 1, default ``width`` or 8; ``activation`` one of
    ``ACTIVATIONS``, default ``"tanh"``), ``loss``, ``regularizer``, ``gamma``, ``lam`` (as in
    :mod:`invariant.games.mlp`; ``lam`` with weight decay only), ``nodes`` (``K``, 4–65536),
    ``latent`` (``"normal"`` | ``"nodes"``), ``init_seed``, ``init_scale``.
    """
    for key in table:
        if key not in ALLOWED:
            raise ConfigError(f"game.{key}", f"unknown key for the general mlp game; allowed: {', '.join(sorted(ALLOWED))}")
    name = table.get("data", "ring8")
    if not isinstance(name, str) or not name:
        raise ConfigError("game.data", f"must be one of {', '.join(datasets.NAMES)} or a CSV path, got {name!r}")
    ds = datasets.load(name)
    dim = ds.dim
    width = integer(table.get("width", 8), "game.width", low=1)
    gd, gw, ga = _net_table(table, "generator", width)
    dd, dw, da = _net_table(table, "discriminator", width)
    nz = integer(table.get("latent_dim", dim), "game.latent_dim", low=1)
    loss = choice(table.get("loss", "vanilla"), "game.loss", LOSSES)
    reg = choice(table.get("regularizer", "none"), "game.regularizer", REGULARIZERS)
    gamma = number(table.get("gamma", 0.0), "game.gamma", low=0.0)
    lam = number(table.get("lam", 0.0), "game.lam", low=0.0)
    if gamma != 0.0 and reg == "none":
        raise ConfigError("game.gamma", f"is unused with regularizer = 'none'; set regularizer to one of {', '.join(map(repr, REGULARIZERS[1:]))}")
    if lam != 0.0 and reg != "weight-decay":
        raise ConfigError("game.lam", f"is only used with regularizer = 'weight-decay' (got {reg!r})")
    K = integer(table.get("nodes", DEFAULT_NODES), "game.nodes", low=4)
    if K > 65536:
        raise ConfigError("game.nodes", f"must be an integer <= 65536, got {K}")
    latent = choice(table.get("latent", "normal"), "game.latent", LATENTS)
    seed = integer(table.get("init_seed", 0), "game.init_seed")
    init_scale = number(table.get("init_scale", 0.1), "game.init_scale", low=0.0, strict=True)
    gen = (nz, gd, gw, dim, ga)
    dis = (dim, dd, dw, 1, da)
    dth, dom = net_size(*gen[:4]), net_size(*dis[:4])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x737570]))  # the support's draws
    M = ds.samples.shape[0]
    head = [dth, dom, dim, nz, gd, gw, ga, dd, dw, da, LOSSES.index(loss), REGULARIZERS.index(reg),
            gamma, lam, K, LATENTS.index(latent)]
    params = np.concatenate([head, rng.standard_normal(K * nz), rng.integers(0, M, K), rng.random(K)])
    info = dict(
        data=name, dim=dim, data_points=M, latent_dim=nz,
        generator=dict(depth=gd, width=gw, activation=ACTIVATIONS[ga]),
        discriminator=dict(depth=dd, width=dw, activation=ACTIVATIONS[da]),
        loss=loss, regularizer=reg, gamma=gamma, lam=lam, nodes=K, latent=latent,
        init_seed=seed, init_scale=init_scale, d_theta=dth, d_omega=dom,
    )
    game = DeepMLPGame("mlp", dth, dom, params, "invariant.games.mlp_deep", data=ds.samples,
                       x0=init_params((gen, dis), seed), init_scale=init_scale, info=info,
                       exact_cost=float(M + K))
    game._dataset = ds
    return game
