"""Options of the learning-rate schedules: the ``[training.schedule]`` table (docs/theory.md §6).

Read by :func:`invariant.schedule.train`; validated here, below :mod:`invariant.config`, so
that the config checks the table without importing the scheduler (its module docstring
describes each rule and key).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..games.validate import choice, integer, number

__all__ = ["KINDS", "SCHEDULE_KEYS", "ScheduleOptions", "validate_options"]

KINDS = ("fixed", "fdr", "yaida", "step", "inverse-time")
SCHEDULE_KEYS = ("kind", "ratio", "tolerance", "decay", "z", "min_window", "batch", "center", "lr_min",
                 "iterations", "step_every", "step_factor", "t0", "record_every")


@dataclass
class ScheduleOptions:
    """A validated ``[training.schedule]`` table (see the module docstring).

    ``iterations``, ``step_every``, ``t0`` and ``record_every`` may be None: they then
    follow from the run's budget (:meth:`resolve`).
    """

    kind: str = "fdr"
    ratio: str = "sum"
    tolerance: float = 0.1
    decay: float = 0.5
    z: float = 2.0
    min_window: int = 200
    batch: int = 20
    center: str = "window"
    lr_min: float | None = None
    iterations: int | None = None
    step_every: int | None = None
    step_factor: float = 0.5
    t0: float | None = None
    record_every: int | None = None
    explicit: tuple = field(default=(), repr=False)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in SCHEDULE_KEYS}

    def resolve(self, lr: float, iterations: int) -> ScheduleOptions:
        """Fill the budget-dependent defaults for ``iterations`` at initial rate ``lr``."""
        it = int(self.iterations or iterations)
        return ScheduleOptions(
            self.kind, self.ratio, self.tolerance, self.decay, self.z, self.min_window, self.batch, self.center,
            self.lr_min if self.lr_min is not None else lr * 1e-3, it,
            self.step_every or max(1, it // 4), self.step_factor,
            self.t0 if self.t0 is not None else max(1.0, it / 20), self.record_every or max(1, it // 200),
            self.explicit,
        )


def validate_options(table, lr: float | None = None) -> ScheduleOptions:
    """Validate ``[training.schedule]``; errors are ``ConfigError("training.schedule.<key>", …)``.

    Defaults depend on ``kind``: ``"yaida"`` takes ε = 0.01, δ = 0.9, z = 0 and centre
    ``"origin"``; the others ε = 0.1, δ = 0.5, z = 2 and centre ``"window"``.
    """
    f = "training.schedule"
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(f, "must be a table, e.g. [training.schedule] with kind = 'fdr'")
    for key in table:
        if key not in SCHEDULE_KEYS:
            raise ConfigError(f"{f}.{key}", f"unknown key; allowed: {', '.join(SCHEDULE_KEYS)}")
    kind = choice(table.get("kind", "fdr"), f"{f}.kind", KINDS)
    ratio = choice(table.get("ratio", "sum"), f"{f}.ratio", ("sum", "players"))
    yaida = kind == "yaida"
    tol = number(table.get("tolerance", 0.01 if yaida else 0.1), f"{f}.tolerance", low=0.0, strict=True)
    decay = number(table.get("decay", 0.9 if yaida else 0.5), f"{f}.decay", low=0.0, strict=True)
    if not decay < 1.0:
        raise ConfigError(f"{f}.decay", f"must be in (0, 1): the rate becomes (1 − decay)·lr; got {decay:g}")
    z = number(table.get("z", 0.0 if yaida else 2.0), f"{f}.z", low=0.0)
    min_window = integer(table.get("min_window", 200), f"{f}.min_window", low=1)
    batch = integer(table.get("batch", 20), f"{f}.batch", low=1)
    center = choice(table.get("center", "origin" if yaida else "window"), f"{f}.center", ("window", "origin"))
    lr_min = table.get("lr_min")
    if lr_min is not None:
        lr_min = number(lr_min, f"{f}.lr_min", low=0.0, strict=True)
        if lr is not None and lr_min > lr:
            raise ConfigError(f"{f}.lr_min", f"must not exceed training.lr = {lr:g}; got {lr_min:g}")
    iterations = table.get("iterations")
    if iterations is not None:
        iterations = integer(iterations, f"{f}.iterations", low=1)
    step_every = table.get("step_every")
    if step_every is not None:
        step_every = integer(step_every, f"{f}.step_every", low=1)
    step_factor = number(table.get("step_factor", 0.5), f"{f}.step_factor", low=0.0, strict=True)
    if not step_factor < 1.0:
        raise ConfigError(f"{f}.step_factor", f"must be in (0, 1), got {step_factor:g}")
    t0 = table.get("t0")
    if t0 is not None:
        t0 = number(t0, f"{f}.t0", low=0.0, strict=True)
    record_every = table.get("record_every")
    if record_every is not None:
        record_every = integer(record_every, f"{f}.record_every", low=1)
    return ScheduleOptions(kind, ratio, tol, decay, z, min_window, batch, center, lr_min, iterations, step_every,
                           step_factor, t0, record_every, tuple(sorted(table)))
