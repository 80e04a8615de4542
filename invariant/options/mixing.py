"""The ``[mixing]`` options: which mixing-rate estimates a run makes and how
(docs/design.md ◆ Config; read by :mod:`invariant.mixing` and :mod:`invariant.summary`)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..games.validate import integer, number

MIXING_KEYS = ("relaxation", "relaxation_t_end", "relaxation_spread", "relaxation_starts",
               "relaxation_chains", "lag", "degree", "bootstrap", "level", "fokker_planck", "fp_grid")


@dataclass(frozen=True)
class MixingOptions:
    """The ``[mixing]`` config section, validated, with defaults filled in.

    Attributes
    ----------
    relaxation : bool
        Run the relaxation experiment (:func:`invariant.mixing.relaxation_run`) after the main run
        (default false).
    relaxation_t_end : float
        Horizon of each relaxation run (default ``0.1 · simulation.t_end``).
    relaxation_spread : float
        Distance of the starting points from the stationary mean, in stationary standard
        deviations along the principal axes (default 4).
    relaxation_starts : int
        Number of starting points (default ``min(2d, 8)``).
    relaxation_chains : int
        Chains per starting point (default ``simulation.chains``).
    lag : float or None
        EDMD lag in SDE time (default: about one decay time, from the autocorrelation fit).
    degree : int or None
        EDMD polynomial degree (default :func:`invariant.mixing.default_degree`).
    bootstrap : int
        Bootstrap replicas for every interval (default 200).
    level : float
        Interval level (default 0.95).
    fokker_planck : bool
        For a 2-D game, solve the stationary Fokker–Planck equation (default true).
    fp_grid : int
        Cells per axis of the Fokker–Planck grid (default 128).
    """

    relaxation: bool = False
    relaxation_t_end: float = 40.0
    relaxation_spread: float = 4.0
    relaxation_starts: int = 4
    relaxation_chains: int = 64
    lag: float | None = None
    degree: int | None = None
    bootstrap: int = 200
    level: float = 0.95
    fokker_planck: bool = True
    fp_grid: int = 128

    def as_dict(self) -> dict:
        """The resolved table (keys left automatic are omitted)."""
        return {k: getattr(self, k) for k in MIXING_KEYS if getattr(self, k) is not None}


def _flag(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(field, f"must be true or false, got {value!r}")
    return value


def validate_options(table, t_end: float, chains: int, d: int, step_time: float) -> MixingOptions:
    """Validate the ``[mixing]`` table (errors are ``ConfigError("mixing.<key>", …)``).

    Parameters
    ----------
    table : dict or None
    t_end, chains, d, step_time
        From the validated ``[simulation]`` and ``[game]`` (for defaults and bounds).
    """
    table = dict(table or {})
    for key in table:
        if key not in MIXING_KEYS:
            raise ConfigError(f"mixing.{key}", f"unknown key; allowed: {', '.join(MIXING_KEYS)}")
    relax = _flag(table.get("relaxation", False), "mixing.relaxation")
    t_rel = number(table.get("relaxation_t_end", 0.1 * t_end), "mixing.relaxation_t_end", low=0.0, strict=True)
    # the horizon matters only when the experiment runs (a run's resolved config records the
    # default 0.1 · t_end, which a short run without the experiment must read back)
    if relax and t_rel < 16 * step_time:
        raise ConfigError("mixing.relaxation_t_end", f"must cover at least 16 steps of {step_time:g}; got {t_rel:g}")
    spread = number(table.get("relaxation_spread", 4.0), "mixing.relaxation_spread", low=0.0, strict=True)
    starts = integer(table.get("relaxation_starts", min(2 * d, 8)), "mixing.relaxation_starts", low=1)
    rchains = integer(table.get("relaxation_chains", max(chains, 2)), "mixing.relaxation_chains", low=2)
    lag = table.get("lag")
    if lag is not None:
        lag = number(lag, "mixing.lag", low=0.0, strict=True)
    degree = table.get("degree")
    if degree is not None:
        degree = integer(degree, "mixing.degree", low=1)
        if degree > 6:
            raise ConfigError("mixing.degree", f"must be an integer from 1 to 6 (EDMD monomial degree), got {degree}")
    boot = integer(table.get("bootstrap", 200), "mixing.bootstrap", low=20)
    level = number(table.get("level", 0.95), "mixing.level", low=0.0, strict=True)
    if not level < 1.0:
        raise ConfigError("mixing.level", f"must be in (0, 1), got {level:g}")
    fp = _flag(table.get("fokker_planck", True), "mixing.fokker_planck")
    grid = integer(table.get("fp_grid", 128), "mixing.fp_grid", low=16)
    if grid > 1024:
        raise ConfigError("mixing.fp_grid", f"must be an integer from 16 to 1024, got {grid}")
    return MixingOptions(relax, t_rel, spread, starts, rchains, lag, degree, boot, level, fp, grid)
