"""The optimisers GANs are trained with, as options of the training (docs/theory.md §4b).

An :class:`Optimizer` says how each player turns its minibatch gradient into a move: plain
SGD (with two time-scale learning rates, TTUR, and ``n_critic`` discriminator steps under
ALT-D), heavy-ball momentum, RMSProp and Adam (each player its own, as GANs are trained),
and the game-dynamics methods extragradient, optimistic GDA and consensus optimisation
(simultaneous).  :func:`step` is the readable numpy reference of one iteration; the engine's
kernels (``engine/templates/step.py``) hold the same update, and
tests/test_optimizer_parity.py checks that they agree.

Notation: ``x = (θ, ω)``, player ``θ`` descends ``g`` with learning rate ``η``, player ``ω``
ascends it with ``ρη`` (``ρ = lr_ratio``); ``F̂ = (ĝθ, −ĝω)`` is the descent field of the
minibatch gradients, each block from its own minibatch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import ConfigError
from .games.validate import choice, integer, number

OPTIMIZERS = ("sgd", "momentum", "extragradient", "optimistic", "consensus", "rmsprop", "adam")
OPTIMIZER_ID = {name: i for i, name in enumerate(OPTIMIZERS)}
SIMULTANEOUS = ("extragradient", "optimistic", "consensus")
"""Optimisers defined for simultaneous moves only (``scheme = "sml"``)."""
LINEAR = ("sgd", "momentum", "extragradient", "optimistic", "consensus")
"""Optimisers whose update is affine in the state on an affine game (exact laws, docs/theory.md §4b)."""

STATE_VECTORS = {"momentum": 1, "optimistic": 1, "rmsprop": 1, "adam": 2}
"""Vectors of length d in an optimiser's state: velocity (momentum), the last field
(optimistic), the second moment (RMSProp), first and second moments (Adam)."""
_OWN_KEYS = {"momentum": ("momentum",), "consensus": ("consensus",),
             "rmsprop": ("beta2", "eps"), "adam": ("beta1", "beta2", "eps")}
OPTIMIZER_KEYS = ("optimizer", "lr_ratio", "n_critic", "momentum", "consensus", "beta1", "beta2", "eps")
"""The ``[training]`` keys of the optimiser."""


@dataclass(frozen=True)
class Optimizer:
    """How the players move (docs/theory.md §4b).

    Parameters
    ----------
    name : str
        One of :data:`OPTIMIZERS`.
    lr_ratio : float
        ρ: the discriminator's learning rate is ``ρ·lr`` (TTUR).
    n_critic : int
        Discriminator steps per generator step (ALT-D only).
    momentum : float
        β of heavy ball: ``v ← βv − η F̂``, ``x ← x + v``.
    consensus : float
        γ of consensus optimisation: the field is ``F̂ + γ H ∇̂g``.
    beta1, beta2, eps : float
        Adam's first- and second-moment decays (RMSProp uses ``beta2``) and the
        denominator's offset.
    """

    name: str = "sgd"
    lr_ratio: float = 1.0
    n_critic: int = 1
    momentum: float = 0.0
    consensus: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    @property
    def id(self) -> int:
        return OPTIMIZER_ID[self.name]

    @property
    def plain(self) -> bool:
        """Plain SGDA (one lr, one critic step): the FDRs of docs/theory.md §5 hold for it."""
        return self.name == "sgd" and self.lr_ratio == 1.0 and self.n_critic == 1

    @property
    def time_scale(self) -> float:
        """SDE time per unit of ``lr``: ``1/(1 − β)`` for momentum (its effective lr), else 1."""
        return 1.0 / (1.0 - self.momentum) if self.name == "momentum" else 1.0

    def state_size(self, d: int) -> int:
        """Entries of the optimiser's own state per chain (:data:`STATE_VECTORS`)."""
        return STATE_VECTORS.get(self.name, 0) * d

    def params(self) -> np.ndarray:
        """The packed constants the kernels read: ``[ρ, n_critic, β, γ, β1, β2, eps]``."""
        return np.array([self.lr_ratio, self.n_critic, self.momentum, self.consensus,
                         self.beta1, self.beta2, self.eps], dtype=np.float64)

    def as_dict(self) -> dict:
        """The ``[training]`` keys of this optimiser (those it uses), as recorded in a run."""
        out = {"optimizer": self.name, "lr_ratio": self.lr_ratio, "n_critic": self.n_critic}
        for k in _OWN_KEYS.get(self.name, ()):
            out[k] = asdict(self)[k]
        return out


def from_table(tr: dict, scheme: str) -> Optimizer:
    """The optimiser of a ``[training]`` table, validated against the scheme.

    Raises ConfigError naming the key: an unknown optimiser, a parameter out of range, a
    parameter of another optimiser, ``n_critic > 1`` outside ALT-D, or a simultaneous-only
    optimiser with an alternating scheme.
    """
    name = choice(tr.get("optimizer", "sgd"), "training.optimizer", OPTIMIZERS)
    own = _OWN_KEYS.get(name, ())
    for k in ("momentum", "consensus", "beta1", "beta2", "eps"):
        if k in tr and k not in own:
            users = [o for o, keys in _OWN_KEYS.items() if k in keys]
            raise ConfigError(f"training.{k}", f"is a parameter of optimizer = {' or '.join(map(repr, users))}, "
                                               f"not of {name!r}; remove it or change training.optimizer")
    if name in SIMULTANEOUS and scheme != "sml":
        raise ConfigError("training.scheme", f"optimizer = {name!r} moves both players at once: "
                                             f"set scheme = 'sml' (got {scheme!r})")
    kw = {"name": name,
          "lr_ratio": number(tr.get("lr_ratio", 1.0), "training.lr_ratio", low=0.0, strict=True),
          "n_critic": integer(tr.get("n_critic", 1), "training.n_critic", low=1)}
    if kw["n_critic"] > 1 and scheme != "alt-d":
        raise ConfigError("training.n_critic", f"several critic steps per generator step need scheme = 'alt-d' "
                                               f"(got {scheme!r}); set n_critic = 1 or scheme = 'alt-d'")
    if name == "momentum":
        kw["momentum"] = _fraction(tr.get("momentum", 0.9), "training.momentum", closed_low=True)
    if name == "consensus":
        kw["consensus"] = number(tr.get("consensus", 0.1), "training.consensus", low=0.0)
    if name == "adam":
        kw["beta1"] = _fraction(tr.get("beta1", 0.9), "training.beta1", closed_low=True)
    if name in ("rmsprop", "adam"):
        kw["beta2"] = _fraction(tr.get("beta2", 0.99 if name == "rmsprop" else 0.999), "training.beta2",
                                closed_low=False)
        kw["eps"] = number(tr.get("eps", 1e-8), "training.eps", low=0.0, strict=True)
    return Optimizer(**kw)


def _fraction(value, field: str, closed_low: bool) -> float:
    v = number(value, field)
    if not ((0.0 <= v if closed_low else 0.0 < v) and v < 1.0):
        raise ConfigError(field, f"must be in {'[0' if closed_low else '(0'}, 1), got {v:g}")
    return v


SDE_ORDERS = {"sgd": (1, 2), "momentum": (1,), "extragradient": (1, 2), "optimistic": (1, 2), "consensus": (1, 2)}
"""The SDE orders derived (docs/theory.md §4b); RMSProp and Adam have no SDE here."""


@dataclass(frozen=True)
class SDECoefficients:
    """The SDE of an optimiser, in the form every kernel evaluates (docs/theory.md §4b).

    With ``u = H(∇θg, 0)`` and ``v = H(0, ∇ωg)`` the drift is
    ``b = (−∇θg + k_tu u_θ + k_tv v_θ,  k_o ∇ωg + k_ou u_ω + k_ov v_ω) + k_flow (∇b₀)b₀``,
    ``b₀`` the same without ``k_flow`` (consensus at order 2 only; a central difference along
    ``b₀``), and the noise over a step ``dt`` is ``sqrt(dt·lr/N)·P(L z + γ H L z′)`` with
    ``P = blockdiag(I, s_om I)`` and ``z, z′`` independent normals (``γ = 0``: no ``z′``).
    """

    lr: float  # the SDE's learning rate: time per iteration, and the noise's scale
    k_o: float
    k_tu: float = 0.0
    k_tv: float = 0.0
    k_ou: float = 0.0
    k_ov: float = 0.0
    k_flow: float = 0.0
    s_om: float = 1.0
    gamma: float = 0.0

    @property
    def drift(self) -> tuple:
        """``(k_o, k_tu, k_tv, k_ou, k_ov, k_flow)``: what the kernels' ``_drift`` reads."""
        return (self.k_o, self.k_tu, self.k_tv, self.k_ou, self.k_ov, self.k_flow)

    @property
    def noise(self) -> tuple:
        """``(s_om, γ)``: what the kernels' noise reads."""
        return (self.s_om, self.gamma)

    @property
    def uses_hvp(self) -> bool:
        """The drift needs the Hessian–vector products ``u``, ``v``."""
        return any(k != 0.0 for k in (self.k_tu, self.k_tv, self.k_ou, self.k_ov, self.k_flow))


def sde_coefficients(opt: Optimizer, scheme: str, lr: float, order: int) -> SDECoefficients:
    """The SDE of ``opt`` trained with ``scheme`` at learning rate ``lr``, of drift order
    ``order`` (docs/theory.md §3, §4b: derived by one-step moment matching).

    Order 1: the gradient flow with the ω block sped up by ``kρ`` (``n_critic = k``, TTUR
    ``ρ``), its ω-noise by ``ρ√k`` (k independent draws); momentum is SGD's at the effective
    ``lr/(1 − β)``; consensus adds ``−γ H∇g`` to the field and ``γ H L z′`` to the noise.
    Order 2 adds ``lr·b₁``: SGD's of docs/theory.md §3 (with ``ρ`` and ``k``),
    ``+½ P J P F`` for extragradient and optimistic GDA, ``−½(∇b₀)b₀`` for consensus.
    """
    if order not in SDE_ORDERS.get(opt.name, ()):
        raise ValueError(f"optimizer {opt.name!r} has no SDE of order {order} (docs/theory.md §4b)")
    rho, k, eta = opt.lr_ratio, opt.n_critic, lr * opt.time_scale
    if opt.name == "consensus":
        g = opt.consensus
        return SDECoefficients(eta, rho, -g, -g, -rho * g, -rho * g, -0.5 * eta if order == 2 else 0.0, rho, g)
    c = SDECoefficients(eta, rho * k, s_om=rho * k**0.5)
    if order == 1:
        return c
    h = 0.5 * eta
    if opt.name in ("extragradient", "optimistic"):
        b1 = (h, -h * rho, -h * rho, h * rho * rho)
    elif scheme == "sml":
        b1 = (-h, h * rho, h * rho, -h * rho * rho)
    elif scheme == "alt-d":
        b1 = (-h, -h * k * rho, h * k * rho, -h * k * rho * rho)
    else:
        b1 = (-h, h * rho, -h * rho, -h * rho * rho)
    return SDECoefficients(eta, rho * k, *b1, s_om=c.s_om)


# --- the numpy reference of one iteration (the kernels' update, written for reading)

def _field(game, x, batch_size, rng, batches="independent"):
    """``(ĝθ, ĝω)`` as one vector, each block from its own minibatch, or both from one
    (``batches = "shared"``: the mean of ``batch_size`` rows of per-sample gradients);
    exact without rng."""
    if rng is None:
        return game.grad(x)
    if batches == "shared":
        return game.sample_grads(x, batch_size, rng).mean(axis=0)
    g = np.zeros(game.d)
    game.module.batch_grad(x, game.params, game.data, rng, batch_size, 0, g)
    game.module.batch_grad(x, game.params, game.data, rng, batch_size, 1, g)
    return g


def _player_grad(game, x, batch_size, player, rng):
    if rng is None:
        return game.grad(x)
    g = np.zeros(game.d)
    game.module.batch_grad(x, game.params, game.data, rng, batch_size, player, g)
    return g


def _move(opt, x, s, g, lo, hi, sign, lr, n):
    """Player move on block ``[lo, hi)`` from its minibatch gradient ``g`` (``sign`` −1 for
    θ, which descends, +1 for ω); ``n`` counts the player's moves, this one included."""
    d = x.shape[0]
    blk = slice(lo, hi)
    step = sign * g[blk]  # −F̂ on the block
    if opt.name == "momentum":
        s[blk] = opt.momentum * s[blk] + lr * step
        x[blk] += s[blk]
    elif opt.name == "rmsprop":
        s[blk] = opt.beta2 * s[blk] + (1 - opt.beta2) * step**2
        x[blk] += lr * step / (np.sqrt(s[blk]) + opt.eps)
    elif opt.name == "adam":
        m, v = s[:d], s[d:]
        m[blk] = opt.beta1 * m[blk] - (1 - opt.beta1) * step  # m tracks F̂, as torch's Adam
        v[blk] = opt.beta2 * v[blk] + (1 - opt.beta2) * step**2
        mh = m[blk] / (1 - opt.beta1**n)
        vh = v[blk] / (1 - opt.beta2**n)
        x[blk] -= lr * mh / (np.sqrt(vh) + opt.eps)
    else:
        x[blk] += lr * step


def step(game, scheme, x, s, k: int, rng: np.random.Generator | None = None):
    """One iteration ``k`` (from 0) of ``scheme.optimizer`` from ``(x, s)``: the new ``(x, s)``.

    ``s`` is the optimiser's state (:meth:`Optimizer.state_size`, zeros at the start;
    optimistic GDA's first step, ``k = 0``, is plain GDA, as if ``x₋₁ = x₀``).
    With ``rng=None`` exact gradients are used (the deterministic map).  Every minibatch
    gradient is drawn afresh, in the order the kernels draw them (docs/theory.md §4b).
    """
    opt = scheme.optimizer
    x = np.array(x, dtype=np.float64)
    s = np.array(s, dtype=np.float64)
    d, dth, lr, N, B = game.d, game.d_theta, scheme.lr, scheme.batch_size, scheme.batches
    lr_om = opt.lr_ratio * lr
    sign = np.where(np.arange(d) < dth, -1.0, 1.0)
    eta = np.where(np.arange(d) < dth, lr, lr_om)
    if opt.name == "extragradient":
        xh = x + eta * sign * _field(game, x, N, rng, B)
        return x + eta * sign * _field(game, xh, N, rng, B), s
    if opt.name == "optimistic":
        f = sign * _field(game, x, N, rng, B)  # −F̂_k
        x += eta * (2 * f - (f if k == 0 else s))  # x₋₁ = x₀: the first step is plain GDA
        return x, f
    if opt.name == "consensus":
        f = sign * _field(game, x, N, rng, B)
        h = game.hvp(x, _field(game, x, N, rng, B))  # H ∇̂g from independent batches
        return x + eta * (f - opt.consensus * h), s
    if scheme.name == "sml":
        g = _field(game, x, N, rng, B)
        _move(opt, x, s, g, 0, dth, -1.0, lr, k + 1)
        _move(opt, x, s, g, dth, d, 1.0, lr_om, k + 1)
        return x, s
    if scheme.name == "alt-d":
        for i in range(opt.n_critic):
            _move(opt, x, s, _player_grad(game, x, N, 1, rng), dth, d, 1.0, lr_om, k * opt.n_critic + i + 1)
        _move(opt, x, s, _player_grad(game, x, N, 0, rng), 0, dth, -1.0, lr, k + 1)
        return x, s
    _move(opt, x, s, _player_grad(game, x, N, 0, rng), 0, dth, -1.0, lr, k + 1)
    _move(opt, x, s, _player_grad(game, x, N, 1, rng), dth, d, 1.0, lr_om, k + 1)
    return x, s
