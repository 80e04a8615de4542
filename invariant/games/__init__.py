"""Games: GAN losses with per-sample gradients, noise covariances and Hessian–vector products.

Built-ins: ``bilinear`` (exact references), ``dirac`` (Dirac-GAN family), ``mlp``
(one-hidden-layer GAN on 1-D data).  A user game is named ``"pkg.module:factory"``; the
factory takes the ``[game]`` table and returns a :class:`~invariant.games.base.Game`.
"""
from __future__ import annotations

import importlib
import inspect
import sys

from ..errors import ConfigError
from .base import KERNEL_FUNCTIONS, Game

BUILTIN = {
    "bilinear": "invariant.games.bilinear:from_config",
    "dirac": "invariant.games.dirac:from_config",
    "mlp": "invariant.games.mlp:from_config",
}


def from_config(table: dict) -> Game:
    """Build the game named by ``table["name"]`` from the ``[game]`` config table."""
    name = table.get("name")
    if not isinstance(name, str):
        raise ConfigError("game.name", f"required: one of {', '.join(BUILTIN)} or 'pkg.module:factory'")
    target = BUILTIN.get(name, name)
    if ":" not in target:
        raise ConfigError("game.name", f"unknown game {name!r}; use one of {', '.join(BUILTIN)} or 'pkg.module:factory'")
    module, attr = target.split(":", 1)
    if module.split(".")[0] in sys.stdlib_module_names:  # importing some runs code (antigravity)
        raise ConfigError("game.name", f"{target!r} is in Python's standard library, which holds no game factory")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError("game.name", f"cannot import {target!r} ({exc})") from None
    _require_factory(factory, target)
    game = factory(table)
    if not isinstance(game, Game):
        raise ConfigError("game.name", f"{target!r} must return an invariant.games.Game, got {type(game).__name__}")
    return game



def _require_factory(factory, target: str) -> None:
    """A config is data: what it names is called only if it is a Python function (not a
    builtin such as ``os.system``, not a class) that takes the ``[game]`` table."""
    if not inspect.isfunction(factory):
        raise ConfigError("game.name", f"{target!r} is a {type(factory).__name__}, not a function defined in a "
                                       "Python module taking the [game] table and returning a Game")
    try:
        inspect.signature(factory).bind({})
    except TypeError:
        raise ConfigError("game.name", f"{target!r} must take one argument, the [game] table") from None


__all__ = ["Game", "KERNEL_FUNCTIONS", "from_config", "BUILTIN"]
