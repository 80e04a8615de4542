"""An example user game: a quartic saddle with additive Gaussian gradient noise.

``g(θ, ω) = c·θ·ω + (lam/2)θ² − (gam/2)ω² + (beta/4)(θ⁴ − ω⁴)``; the per-sample loss is
``ĝ = g + ξθ·θ + ξω·ω`` with ``ξθ ~ N(0, s_theta²)``, ``ξω ~ N(0, s_omega²)``, so the
per-sample gradient is ``∇g + ξ`` (MATH.md §1).

Use it with ``[game] name = "quartic_saddle:make_game"`` once this folder is importable
(``PYTHONPATH=data/user_game invariant run data/user_game.toml``, or install your own
package).  A user game is

1. a module of ``numba.njit(cache=True)`` kernels ``loss, grad, hvp, noise, batch_grad,
   sample_grads`` with the signatures of ``invariant/games/base.py`` (constants packed in
   the float64 array ``p`` with ``p[0] = d_theta``), and
2. a factory taking the ``[game]`` config table and returning an ``invariant.games.Game``
   whose ``kernels`` names that module.

The engine generates and caches its chain kernels against the module, so a user game runs
as fast as a built-in one.
"""
import numpy as np
from numba import njit

from invariant.errors import ConfigError
from invariant.games import Game
from invariant.games.validate import number

# p = [d_theta, d_omega, c, lam, gam, beta, s_theta, s_omega]


@njit(cache=True)
def loss(x, p, data):
    t, w = x[0], x[1]
    return p[2] * t * w + 0.5 * p[3] * t * t - 0.5 * p[4] * w * w + 0.25 * p[5] * (t**4 - w**4)


@njit(cache=True)
def grad(x, p, data, out):
    t, w = x[0], x[1]
    out[0] = p[2] * w + p[3] * t + p[5] * t**3
    out[1] = p[2] * t - p[4] * w - p[5] * w**3


@njit(cache=True)
def hvp(x, p, data, v, out):
    t, w = x[0], x[1]
    out[0] = (p[3] + 3.0 * p[5] * t * t) * v[0] + p[2] * v[1]
    out[1] = p[2] * v[0] + (-p[4] - 3.0 * p[5] * w * w) * v[1]


@njit(cache=True)
def noise(x, p, data, rng, out):
    out[0] = p[6] * rng.standard_normal()
    out[1] = p[7] * rng.standard_normal()


@njit(cache=True)
def batch_grad(x, p, data, rng, batch_size, player, out):
    t, w = x[0], x[1]
    # the mean of batch_size i.i.d. N(0, s²) draws is N(0, s²/batch_size)
    if player == 0:
        out[0] = p[2] * w + p[3] * t + p[5] * t**3 + p[6] * rng.standard_normal() / np.sqrt(batch_size)
    else:
        out[1] = p[2] * t - p[4] * w - p[5] * w**3 + p[7] * rng.standard_normal() / np.sqrt(batch_size)


@njit(cache=True)
def sample_grads(x, p, data, rng, out):
    for k in range(out.shape[0]):
        batch_grad(x, p, data, rng, 1, 0, out[k])
        batch_grad(x, p, data, rng, 1, 1, out[k])


def make_game(table: dict) -> Game:
    """Factory named in the config: ``name = "quartic_saddle:make_game"``."""
    allowed = {"name", "c", "lam", "gam", "beta", "s_theta", "s_omega"}
    for key in table:
        if key not in allowed:
            raise ConfigError(f"game.{key}", f"unknown key; allowed: {', '.join(sorted(allowed))}")
    values = [number(table.get(k, d), f"game.{k}", low=lo) for k, d, lo in (
        ("c", 1.0, None), ("lam", 0.2, None), ("gam", 0.2, None), ("beta", 0.1, 0.0),
        ("s_theta", 1.0, 0.0), ("s_omega", 1.0, 0.0))]
    return Game("quartic_saddle", 1, 1, np.array([1.0, 1.0, *values]), __name__, info=dict(table))
