"""Training schemes and their SDE approximations (docs/theory.md §2–3).

A :class:`Scheme` is a game-independent description of the training: simultaneous (SML)
or alternating (ALT-D: discriminator first, ALT-G: generator first) stochastic
descent–ascent with learning rate ``lr`` and batch size ``batch_size``, and the order of
the SDE drift that approximates it.  It gives the discrete update and the SDE
coefficients ``b = b0 + lr·b1`` and ``σσᵀ``; the engine's kernels use the same constants
(:attr:`Scheme.b1_signs`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import optimizers
from .numerics import fd_step
from .optimizers import Optimizer

__all__ = ["Scheme", "SCHEMES", "BATCHES", "default_order", "flow_derivative", "fd_step"]

SCHEMES = ("sml", "alt-d", "alt-g")
BATCHES = ("independent", "shared")
SCHEME_ID = {"sml": 0, "alt-d": 1, "alt-g": 2}
# Signs of the cross terms ½Hθω gω (θ-part) and ½Hωθ gθ (ω-part) in b1: the game term of
# ALT-D flips the θ one, that of ALT-G the ω one (docs/theory.md §3).
_B1_SIGNS = {"sml": (1.0, 1.0), "alt-d": (-1.0, 1.0), "alt-g": (1.0, -1.0)}


@dataclass(frozen=True)
class Scheme:
    """Stochastic gradient descent–ascent and its SDE (docs/theory.md §2–3).

    Parameters
    ----------
    name : {"sml", "alt-d", "alt-g"}
    lr : float
        Learning rate η (> 0); SDE time advances by ``lr`` per iteration.
    batch_size : int
        Minibatch size N (≥ 1), drawn i.i.d. for each player's update.
    order : {1, 2}
        Drift order of the SDE: 1 is ``b0``; 2 adds ``lr·b1`` (ALT-SDE for alt-*, the
        order-2 SML-SDE of the paper's Remark 3.1 for sml).
    optimizer : Optimizer
        How each player turns its minibatch gradient into a move (docs/theory.md §4b);
        plain SGD by default.
    corrected : bool
        The SDE's noise factor is the corrected ``L + lr·M`` matching the scheme's one-step
        covariance to O(lr³) (docs/theory.md §3; order 2 only), else the plain ``L``.
    batches : {"independent", "shared"}
        Each player draws its own minibatch (default), or (SML only) both players'
        gradients come from one minibatch, as one backward pass of an autograd loss gives
        them: their noises then correlate through ``Σθω`` (docs/theory.md §2).
    """

    name: str
    lr: float
    batch_size: int
    order: int
    optimizer: Optimizer = Optimizer()
    corrected: bool = False
    batches: str = "independent"

    def __post_init__(self):
        if self.name not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.name!r}")
        if self.order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {self.order!r}")
        if self.corrected and not (self.order == 2 and self.optimizer.plain):
            raise ValueError("the corrected diffusion belongs to plain SGDA's order-2 SDEs")
        if self.batches not in BATCHES:
            raise ValueError(f"batches must be one of {BATCHES}, got {self.batches!r}")
        if self.batches == "shared" and self.name != "sml":
            raise ValueError("shared minibatches belong to simultaneous (sml) training")

    @property
    def diffusion_name(self) -> str:
        """``"corrected"`` or ``"plain"`` (``[simulation] diffusion``)."""
        return "corrected" if self.corrected else "plain"

    @property
    def correction(self) -> str | None:
        """The ``correction`` argument of :func:`invariant.exact.diffusion` for this SDE."""
        return self.name if self.corrected else None

    @property
    def b1_signs(self) -> tuple[float, float]:
        return _B1_SIGNS[self.name]

    @property
    def sde_name(self) -> str:
        """``"sml-1"``, ``"sml-2"``, ``"alt-d-2"``, … as in the weak-order JSON contract (the
        diffusion is a field of its own there); another optimiser's prefixed with its name
        (``"momentum:alt-d-1"``)."""
        opt = self.optimizer
        return f"{self.name}-{self.order}" if opt.plain else f"{opt.name}:{self.name}-{self.order}"

    @property
    def sde(self) -> optimizers.SDECoefficients:
        """The coefficients of this training's SDE (docs/theory.md §3, §4b), as the kernels read them."""
        return optimizers.sde_coefficients(self.optimizer, self.name, self.lr, self.order)

    def b0(self, game, x) -> np.ndarray:
        """Gradient-flow drift ``(−∇θ g, +∇ω g)``."""
        gx = game.grad(x)
        gx[: game.d_theta] *= -1.0
        return gx

    def b1(self, game, x) -> np.ndarray:
        """First-order correction ``b1 = (b − b0)/lr`` of plain SGDA's order-2 SDE (docs/theory.md §3)."""
        return (Scheme(self.name, self.lr, self.batch_size, 2, batches=self.batches).drift(game, x)
                - self.b0(game, x)) / self.lr

    def drift(self, game, x) -> np.ndarray:
        """SDE drift ``b(x)`` of :attr:`sde` (``b0 + lr·b1`` for plain SGDA; docs/theory.md §4b)."""
        c = self.sde
        b = _coefficient_drift(game, c, x)
        if c.k_flow:
            b += c.k_flow * flow_derivative(lambda y: _coefficient_drift(game, c, y), x, b)
        return b

    def diffusion(self, game, x) -> np.ndarray:
        """``σσᵀ(x) = (lr/N) P(Σ + γ² HΣH)P`` of :attr:`sde` (``(lr/N) blockdiag(Σθ, Σω)`` for plain
        SGDA, with the cross block ``−Σθω`` for shared batches): the plain diffusion (the corrected
        one differs from it by O(lr²), docs/theory.md §3)."""
        c = self.sde
        S = game.noise_covariance(x, self.batches)
        if c.gamma:
            H = np.column_stack([game.hvp(x, e) for e in np.eye(game.d)])
            S = S + c.gamma**2 * H @ S @ H
        P = np.where(np.arange(game.d) < game.d_theta, 1.0, c.s_om)
        return (c.lr / self.batch_size) * P[:, None] * S * P[None, :]

    def noise(self, game, x, rng: np.random.Generator) -> np.ndarray:
        """One draw of the SDE's noise factor applied to standard normals: ``L(x) z``, or
        ``(L + lr·M)(x) z`` when corrected (docs/theory.md §3), as the kernels'
        ``_corrected_noise`` computes it; ``rng`` advances as by one call of the game's noise."""
        dth, d = game.d_theta, game.d
        start = rng.bit_generator.state

        shared = self.batches == "shared"

        def L(y):  # L(y) z at the same normals z: the generator set back to the start
            rng.bit_generator.state = start
            out = np.empty(d)
            kernel = game.module.shared_noise if shared else game.module.noise
            kernel(np.asarray(y, dtype=np.float64), game.params, game.data, rng, out)
            if shared:
                out[dth:] *= -1.0  # the noise of (−∇θĝ, +∇ωĝ): the cross block's sign
            return out

        slope = np.zeros(d)
        if self.corrected and not game.affine:
            s_th, s_om = self.b1_signs
            gx = game.grad(x)
            for a, c, blk in ((1.0, s_th, slice(0, dth)), (s_om, 1.0, slice(dth, d))):
                v = np.r_[-a * gx[:dth], c * gx[dth:]]
                if np.abs(v).max() > 0:
                    t = fd_step() * (1.0 + np.abs(x).max()) / np.abs(v).max()
                    slope[blk] = (-0.25 * (L(x + t * v) - L(x - t * v)) / t)[blk]
        z = L(x)
        if not self.corrected:
            return z
        s_th, s_om = self.b1_signs
        u = game.hvp(x, np.r_[z[:dth], np.zeros(d - dth)])
        v = game.hvp(x, np.r_[np.zeros(dth), z[dth:]])
        Mz = np.r_[0.5 * u[:dth] + 0.5 * s_th * v[:dth], -0.5 * s_om * u[dth:] - 0.5 * v[dth:]] + slope
        return z + self.lr * Mz

    def step(self, game, x, rng: np.random.Generator | None = None) -> np.ndarray:
        """One iteration of the discrete scheme from ``x`` (an optimiser without state).

        With ``rng=None`` the exact gradient is used (the deterministic scheme, whose
        one-step error against the ODE ``x' = b0 + lr·b1`` is O(lr³)); otherwise each
        player's gradient is a minibatch mean of ``batch_size`` per-sample gradients
        (:func:`invariant.optimizers.step`, the one numpy reference of the update).
        """
        if self.optimizer.state_size(game.d):
            raise ValueError(f"optimizer {self.optimizer.name!r} has a state: use invariant.optimizers.step")
        return optimizers.step(game, self, x, np.zeros(0), 0, rng)[0]


def default_order(scheme: str, optimizer: Optimizer = Optimizer()) -> int:
    """Default SDE order (docs/design.md ◆ Config): 2 for alt-*, 1 for sml; the highest
    derived for other optimisers (docs/theory.md §4b)."""
    if optimizer.name != "sgd":
        return max(optimizers.SDE_ORDERS.get(optimizer.name, (1,)))
    return 1 if scheme == "sml" else 2


def flow_derivative(f, x, b) -> np.ndarray:
    """``(∇f)(x)·b`` by a central difference of step ``h = fd_step() (1 + |x|)/|b|`` along ``b``
    (the kernels' ``_drift`` takes the same step)."""
    nb = np.sqrt(b @ b)
    if nb == 0.0:
        return np.zeros_like(b)
    h = fd_step() * (1.0 + np.sqrt(x @ x)) / nb
    return (f(x + h * b) - f(x - h * b)) / (2.0 * h)


def _coefficient_drift(game, c, x) -> np.ndarray:
    """``(−∇θg + k_tu u_θ + k_tv v_θ, k_o ∇ωg + k_ou u_ω + k_ov v_ω)`` (:class:`SDECoefficients`)."""
    dth = game.d_theta
    gx = game.grad(x)
    out = np.concatenate([-gx[:dth], c.k_o * gx[dth:]])
    if c.uses_hvp:
        theta = np.arange(game.d) < dth
        u = game.hvp(x, np.where(theta, gx, 0.0))
        v = game.hvp(x, np.where(theta, 0.0, gx))
        out += np.where(theta, c.k_tu * u + c.k_tv * v, c.k_ou * u + c.k_ov * v)
    return out
