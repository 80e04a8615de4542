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
from .optimizers import Optimizer

SCHEMES = ("sml", "alt-d", "alt-g")
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
    """

    name: str
    lr: float
    batch_size: int
    order: int
    optimizer: Optimizer = Optimizer()

    def __post_init__(self):
        if self.name not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.name!r}")
        if self.order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {self.order!r}")

    @property
    def b1_signs(self) -> tuple[float, float]:
        return _B1_SIGNS[self.name]

    @property
    def sde_name(self) -> str:
        """``"sml-1"``, ``"sml-2"``, ``"alt-d-2"``, … as in the weak-order JSON contract."""
        return f"{self.name}-{self.order}"

    def b0(self, game, x) -> np.ndarray:
        """Gradient-flow drift ``(−∇θ g, +∇ω g)``."""
        gx = game.grad(x)
        gx[: game.d_theta] *= -1.0
        return gx

    def b1(self, game, x) -> np.ndarray:
        """First-order correction ``b1`` of docs/theory.md §3 from two Hessian–vector products."""
        dth = game.d_theta
        gx = game.grad(x)
        u = game.hvp(x, np.where(np.arange(game.d) < dth, gx, 0.0))
        v = game.hvp(x, np.where(np.arange(game.d) >= dth, gx, 0.0))
        s_th, s_om = self.b1_signs
        out = np.empty(game.d)
        out[:dth] = -0.5 * u[:dth] + 0.5 * s_th * v[:dth]
        out[dth:] = 0.5 * s_om * u[dth:] - 0.5 * v[dth:]
        return out

    def drift(self, game, x) -> np.ndarray:
        """SDE drift ``b(x) = b0(x) + lr·b1(x)`` (``b1`` only at order 2)."""
        b = self.b0(game, x)
        if self.order == 2:
            b += self.lr * self.b1(game, x)
        return b

    def diffusion(self, game, x) -> np.ndarray:
        """``σσᵀ(x) = (lr/N) blockdiag(Σθ, Σω)(x)``."""
        return (self.lr / self.batch_size) * game.sigma(x)

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


def default_order(scheme: str) -> int:
    """Default SDE order (docs/design.md ◆ Config): 2 for alt-*, 1 for sml."""
    return 1 if scheme == "sml" else 2
