"""The ``[conditions]`` options: their defaults, validation and auto budgets.

Read by :mod:`invariant.conditions` (C1–C4 of ``docs/theory.md §4``); validated by
:mod:`invariant.config` through this module, which imports nothing above
:mod:`invariant.errors` and :mod:`invariant.games.validate`.
"""
from __future__ import annotations

from typing import Callable

from ..errors import ConfigError
from ..games.validate import integer, number, user_function

__all__ = ["DEFAULTS", "AUTO", "SMALL_D", "LYAPUNOV_BUILTIN", "validate_options", "budget", "lyapunov_function"]

DEFAULTS = {
    "lyapunov": "auto",        # auto | norm2 | quadratic | "pkg.module:function"
    "method": "auto",          # auto (exact when affine) | search (always search numerically)
    "radius_min": 1e-2,        # innermost shell radius
    "radius_max": 1e4,         # search bound
    "shells": 31,              # geometric shells between radius_min and radius_max (5 per decade)
    "directions": None,        # scrambled-Sobol directions per shell
    "local_starts": None,      # local optimisations per condition, from the worst samples
    "local_evals": None,       # budget of drift+diffusion evaluations for all local optimisations
    "equilibrium_starts": None,  # scipy.optimize.root starts per drift
    "equilibrium_evals": None,   # budget of drift evaluations for all root searches
    "seed": 0,                 # Sobol scrambling seed
}
"""Defaults of the ``[conditions]`` config section (every key optional).

``None`` means "auto": the budget follows the dimension ``d`` (:data:`AUTO`), since an
evaluation of ``b`` and ``σσᵀ`` costs about ``d`` times more in a ``d``-parameter network.
"""

AUTO = {
    "small": {"directions": 64, "local_starts": 3, "local_evals": 1500, "equilibrium_starts": 6,
              "equilibrium_evals": 2000},
    "large": {"directions": 32, "local_starts": 1, "local_evals": 600, "equilibrium_starts": 2,
              "equilibrium_evals": 300},
}
"""Auto budgets: ``small`` for ``d <= SMALL_D``, ``large`` above (e.g. the ``mlp`` game, d = 50)."""

SMALL_D = 10
"""Largest dimension given the ``small`` budgets (and full Jacobians in the search)."""

LYAPUNOV_BUILTIN = ("auto", "norm2", "quadratic")

# lower bounds of the integer budgets ("auto" or None: resolved later by :func:`budget`)
_BUDGET_LOW = {"directions": 2, "local_starts": 0, "local_evals": 0, "equilibrium_starts": 1,
               "equilibrium_evals": 10}


def validate_options(table: dict | None) -> dict:
    """Validate a ``[conditions]`` config table; return it with every default filled in.

    A ``lyapunov = "pkg.module:function"`` is imported here, so a config naming a missing
    function fails when it is loaded.

    Raises
    ------
    ConfigError
        Naming ``conditions.<key>`` and what is allowed.
    """
    table = dict(table or {})
    for key in table:
        if key not in DEFAULTS:
            raise ConfigError(f"conditions.{key}", f"unknown key; allowed: {', '.join(DEFAULTS)}")
    out = dict(DEFAULTS)
    out.update(table)
    lyap = out["lyapunov"]
    if not isinstance(lyap, str) or (lyap not in LYAPUNOV_BUILTIN and ":" not in lyap):
        raise ConfigError("conditions.lyapunov",
                          f"must be one of {', '.join(map(repr, LYAPUNOV_BUILTIN))} or 'pkg.module:function', got {lyap!r}")
    if lyap not in LYAPUNOV_BUILTIN:
        lyapunov_function(lyap)
    if out["method"] not in ("auto", "search"):
        raise ConfigError("conditions.method", f"must be 'auto' (exact when the drift is affine) or 'search', got {out['method']!r}")
    out["radius_min"] = number(out["radius_min"], "conditions.radius_min", low=0.0, strict=True)
    out["radius_max"] = number(out["radius_max"], "conditions.radius_max", low=0.0, strict=True)
    if out["radius_max"] < 10 * out["radius_min"]:
        raise ConfigError("conditions.radius_max", f"must be at least 10 × radius_min = {10 * out['radius_min']:g}, got {out['radius_max']:g}")
    out["shells"] = integer(out["shells"], "conditions.shells", low=4)
    for key, low in _BUDGET_LOW.items():
        if out[key] is not None and out[key] != "auto":
            out[key] = integer(out[key], f"conditions.{key}", low=low)
        else:
            out[key] = None
    out["seed"] = integer(out["seed"], "conditions.seed", low=0)
    return out


def budget(opts: dict, d: int) -> dict:
    """Validated options with the "auto" budgets resolved for dimension ``d`` (:data:`AUTO`)."""
    auto = AUTO["small" if d <= SMALL_D else "large"]
    return {k: (auto[k] if v is None and k in auto else v) for k, v in opts.items()}


def lyapunov_function(target: str) -> Callable:
    """The user's Lyapunov function ``"pkg.module:function"`` (``[conditions] lyapunov``).

    Raises
    ------
    ConfigError
        If it is in the standard library, cannot be imported, or is not a Python
        function of one argument.
    """
    # checked like a game factory: a config is data, so what it names must be a Python
    # function outside the standard library (``os:system`` is refused before it can run)
    return user_function(target, "conditions.lyapunov", "a function V(x) of the state")
