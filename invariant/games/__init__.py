"""Games: GAN losses with per-sample gradients, noise covariances and Hessian–vector products.

Built-ins: ``bilinear`` (exact references), ``dirac`` (Dirac-GAN family), ``mlp``
(one-hidden-layer GAN on 1-D data, or the general MLP GAN), ``formula`` (kernels derived from a per-sample loss
written as an expression; :func:`formula` is its Python face).  A user game is named ``"pkg.module:factory"``; the
factory takes the ``[game]`` table and returns a :class:`~invariant.games.base.Game`.
"""
from __future__ import annotations

from ..errors import ConfigError
from .base import KERNEL_FUNCTIONS, Game
from .validate import user_function

BUILTIN = {
    "bilinear": "invariant.games.bilinear:from_config",
    "dirac": "invariant.games.dirac:from_config",
    "formula": "invariant.games.formula_game:from_config",
    "mlp": "invariant.games.mlp_deep_setup:mlp_from_config",
}


def from_config(table: dict) -> Game:
    """Build the game named by ``table["name"]`` from the ``[game]`` config table."""
    name = table.get("name")
    if not isinstance(name, str):
        raise ConfigError("game.name", f"required: one of {', '.join(BUILTIN)} or 'pkg.module:factory'")
    target = BUILTIN.get(name, name)
    if ":" not in target:
        raise ConfigError("game.name", f"unknown game {name!r}; use one of {', '.join(BUILTIN)} or 'pkg.module:factory'")
    game = user_function(target, "game.name", "a factory taking the [game] table and returning a Game")(table)
    if not isinstance(game, Game):
        raise ConfigError("game.name", f"{target!r} must return an invariant.games.Game, got {type(game).__name__}")
    return game


def __getattr__(name):
    # ``formula`` (formula_game.make) is imported on first use: formula_game compiles through
    # invariant.engine, whose run module imports config, which imports this package
    if name == "formula":
        from .formula_game import make

        return make
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Game", "KERNEL_FUNCTIONS", "from_config", "BUILTIN", "formula"]
