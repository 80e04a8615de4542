"""Options of the weak-order analysis: the optional ``[weak]`` table (docs/theory.md §8).

Read by :func:`invariant.weak.weak_order`; validated here, below :mod:`invariant.config`,
so that the config checks the table without importing the analysis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..games.validate import choice, integer, number, vector

__all__ = ["DEFAULT_LRS", "N_BLOCKS", "WEAK_KEYS", "WeakOptions", "validate_options"]

# lr = 0.2 is pre-asymptotic on nonlinear games (Dirac + R1: local ALT slope 1.81 between
# 0.2 and 0.1, fitted intervals then exclude 2); from 0.1 down the fits cover 1 and 2
DEFAULT_LRS = (0.1, 0.05, 0.025, 0.0125)
WEAK_KEYS = ("horizon", "horizons", "lrs", "offset", "init", "init_scale", "paths", "seed", "substeps")
N_BLOCKS = 64  # independent blocks of Monte Carlo paths (one generator each): standard errors


@dataclass
class WeakOptions:
    """Options of the weak-order analysis (the optional ``[weak]`` config table).

    Attributes
    ----------
    horizon : float
        SDE time ``T`` at which errors are measured (``k = round(T/η)`` steps): the headline.
    horizons : tuple of float
        Every horizon at which the orders are reported, ``horizon`` first (default
        ``(horizon, 2·horizon)``: an order that holds at one horizon only is pre-asymptotic).
    lrs : tuple of float
        The learning-rate ladder.
    offset : float or ndarray
        Initial point ``x0 + offset`` (a number is added to every coordinate).
    init : {"point", "gaussian"}
        Initial law: a point mass, or ``N(x0 + offset, init_scale² I)``.
    init_scale : float
    paths : int
        Monte Carlo paths per scheme and learning rate (Monte Carlo method only).
    seed : int
    substeps : int
        Euler–Maruyama steps per learning rate of the SDE reference's coarse level (the fine
        level takes twice as many; Monte Carlo method only).
    """

    horizon: float = 2.0
    horizons: tuple = (2.0, 4.0)
    lrs: tuple = DEFAULT_LRS
    offset: object = 1.0
    init: str = "point"
    init_scale: float = 0.0
    paths: int = 16384
    seed: int = 0
    substeps: int = 2

    def as_dict(self) -> dict:
        off = self.offset
        return {"horizon": self.horizon, "horizons": list(self.horizons), "lrs": list(self.lrs),
                "offset": off.tolist() if isinstance(off, np.ndarray) else off, "init": self.init,
                "init_scale": self.init_scale, "paths": self.paths, "seed": self.seed, "substeps": self.substeps}

    def updated(self, changes: dict, d: int | None = None, prefix: str = "weak") -> "WeakOptions":
        """These options with ``changes`` (keys of the ``[weak]`` table; None: unchanged),
        validated; a new ``horizon`` without new ``horizons`` takes the default horizons."""
        changes = {k: (list(v) if isinstance(v, tuple) else v) for k, v in changes.items() if v is not None}
        table = self.as_dict()
        if "horizon" in changes and "horizons" not in changes:
            del table["horizons"]
        table.update(changes)
        return validate_options(table, d, prefix)


def _lrs(value, field_name: str) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        raise ConfigError(field_name, f"must be a list of at least two learning rates, e.g. [0.2, 0.1, 0.05]; got {value!r}")
    out = tuple(number(v, field_name, low=0.0, strict=True) for v in value)
    if len(set(out)) != len(out):
        raise ConfigError(field_name, f"must hold distinct learning rates, got {list(out)}")
    return tuple(sorted(out, reverse=True))


def _horizons(value, horizon: float, field_name: str) -> tuple:
    """``horizon`` first, then the other horizons of ``value`` (default: ``2·horizon``)."""
    if value is None:
        return (horizon, 2.0 * horizon)
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(field_name, f"must be a list of SDE times, e.g. [2.0, 4.0]; got {value!r}")
    out = [number(v, field_name, low=0.0, strict=True) for v in value]
    if any(t < horizon for t in out):
        raise ConfigError(field_name, f"must not be shorter than horizon = {horizon:g} (the shortest); got {out}")
    return (horizon, *sorted({t for t in out if t != horizon}))


def validate_options(table, d: int | None = None, prefix: str = "weak") -> WeakOptions:
    """Validate a ``[weak]`` table (errors are ``ConfigError("weak.<key>", …)``).

    Parameters
    ----------
    table : dict or None
    d : int, optional
        State dimension (to check a vector ``offset``).
    prefix : str
        Field prefix used in error messages.
    """
    table = dict(table or {})
    for key in table:
        if key not in WEAK_KEYS:
            raise ConfigError(f"{prefix}.{key}", f"unknown key; allowed: {', '.join(WEAK_KEYS)}")
    horizon = number(table.get("horizon", 2.0), f"{prefix}.horizon", low=0.0, strict=True)
    horizons = _horizons(table.get("horizons"), horizon, f"{prefix}.horizons")
    lrs = _lrs(table.get("lrs", list(DEFAULT_LRS)), f"{prefix}.lrs")
    for lr in lrs:
        if round(horizon / lr) < 2:
            raise ConfigError(f"{prefix}.lrs", f"learning rate {lr:g} leaves fewer than 2 steps before horizon {horizon:g}")
    off = table.get("offset", 1.0)
    if isinstance(off, (list, tuple, np.ndarray)):
        offset = vector(off, f"{prefix}.offset", d)
    else:
        offset = number(off, f"{prefix}.offset")
    init = choice(table.get("init", "point"), f"{prefix}.init", ("point", "gaussian"))
    init_scale = number(table.get("init_scale", 0.0 if init == "point" else 0.1), f"{prefix}.init_scale", low=0.0)
    if init == "gaussian" and init_scale == 0.0:
        raise ConfigError(f"{prefix}.init_scale", "must be > 0 with init = 'gaussian' (use init = 'point' for a point mass)")
    if init == "point" and init_scale != 0.0:
        raise ConfigError(f"{prefix}.init_scale", "is only used with init = 'gaussian'")
    paths = integer(table.get("paths", 16384), f"{prefix}.paths", low=N_BLOCKS * 4)
    seed = integer(table.get("seed", 0), f"{prefix}.seed", low=0)
    substeps = integer(table.get("substeps", 2), f"{prefix}.substeps", low=1)
    return WeakOptions(horizon, horizons, lrs, offset, init, init_scale, paths, seed, substeps)
