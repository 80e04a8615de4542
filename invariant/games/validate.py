"""Validators for config values: each raises ``ConfigError`` naming the field and the fix."""
from __future__ import annotations

import importlib
import inspect
import sys

import numpy as np

from ..errors import ConfigError


def number(value, field: str, *, low: float | None = None, strict: bool = False) -> float:
    """A finite real number, optionally ``> low`` (``strict``) or ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ConfigError(field, f"must be a number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ConfigError(field, f"must be finite, got {value!r}")
    if low is not None and (v <= low if strict else v < low):
        raise ConfigError(field, f"must be {'>' if strict else '>='} {low:g}, got {v:g}")
    return v


def integer(value, field: str, *, low: int | None = None) -> int:
    """An integer, optionally ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, f"must be an integer, got {value!r}")
    if low is not None and value < low:
        raise ConfigError(field, f"must be an integer >= {low}, got {value}")
    return int(value)


def choice(value, field: str, allowed) -> str:
    """One of ``allowed`` (strings)."""
    if value not in allowed:
        raise ConfigError(field, f"must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _array(value, field: str, ndim: int) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(field, f"must be a {'list of numbers' if ndim == 1 else 'list of equal-length rows of numbers'}") from None
    if a.ndim != ndim:
        shape = "a list of numbers" if ndim == 1 else "a list of rows, e.g. [[1.0, 0.0], [0.0, 1.0]]"
        raise ConfigError(field, f"must be {shape}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ConfigError(field, "must hold finite numbers only")
    return a


def vector(value, field: str, size: int | None = None) -> np.ndarray:
    """A 1-D array of finite numbers, of length ``size`` when given."""
    a = _array(value, field, 1)
    if size is not None and a.size != size:
        raise ConfigError(field, f"must have length {size}, got {a.size}")
    return a


def matrix(value, field: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A 2-D array of finite numbers, of ``shape`` when given."""
    a = _array(value, field, 2)
    if a.size == 0:
        raise ConfigError(field, "must not be empty")
    if shape is not None and a.shape != shape:
        raise ConfigError(field, f"must have shape {shape[0]}×{shape[1]}, got {a.shape[0]}×{a.shape[1]}")
    return a


def psd_matrix(value, field: str, size: int) -> np.ndarray:
    """A symmetric positive semi-definite ``size × size`` matrix (a covariance)."""
    a = matrix(value, field, (size, size))
    if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12):
        raise ConfigError(field, "must be symmetric (a covariance matrix)")
    lam_min = np.linalg.eigvalsh(a).min()
    if lam_min < -1e-10 * max(1.0, np.abs(a).max()):
        raise ConfigError(field, f"must be positive semi-definite (a covariance); smallest eigenvalue is {lam_min:.3g}")
    return a


def user_function(target: str, field: str, what: str):
    """The function a config names as ``"pkg.module:function"``, checked before anything of
    it is called: a config is data, and what it names must not run code it was not written
    for (``os:system``, a class, a module whose import has effects).

    Parameters
    ----------
    target : str
        ``"pkg.module:function"``.
    field : str
        The config key naming it, for the error.
    what : str
        What the function must be, e.g. ``"a factory taking the [game] table"``.

    Returns
    -------
    function
        A Python function (``def``) of a module outside the standard library that takes one
        positional argument.

    Raises
    ------
    ConfigError
        Naming ``field``, before the module is imported where it is the standard library's,
        before the function is called otherwise.
    """
    module, _, attr = target.partition(":")
    if module.split(".")[0] in sys.stdlib_module_names:  # no game or V there; importing some runs code
        raise ConfigError(field, f"{target!r} is in Python's standard library; it must be {what}")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(field, f"cannot import {target!r} ({exc})") from None
    if not inspect.isfunction(fn):
        raise ConfigError(field, f"{target!r} is a {type(fn).__name__}, not a function defined in a Python module; "
                                 f"it must be {what}")
    try:
        inspect.signature(fn).bind(None)
    except TypeError:
        raise ConfigError(field, f"{target!r} must take one argument: it must be {what}") from None
    return fn
