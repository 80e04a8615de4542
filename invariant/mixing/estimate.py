"""One estimate of the mixing rate κ with its interval (docs/theory.md §4)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..jsontypes import plain


@dataclass
class RateEstimate:
    """One estimate of the mixing rate κ with its interval.

    Attributes
    ----------
    method : str
        ``"autocorrelation"``, ``"relaxation"``, ``"spectral"`` or ``"fokker_planck"``.
    rate : float
        κ, per unit of SDE time (NaN when the method could not give one).
    interval : tuple of float
        ``(lo, hi)`` at ``level`` (bootstrap percentiles over chains; for the Fokker–Planck
        reference, ± the discretisation error estimated from two grids).
    level : float
    reliable : bool
        False when the estimator's own checks failed (see ``note``).
    note : str
        What was done, or why the estimate is not reliable.
    details : dict
        Method-specific numbers (poles, window, lag, basis, frequencies, …).
    """

    method: str
    rate: float
    interval: tuple
    level: float = 0.95
    reliable: bool = True
    note: str = ""
    details: dict = field(default_factory=dict)

    @property
    def width(self) -> float:
        return float(self.interval[1] - self.interval[0])

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in the interval."""
        return bool(self.interval[0] <= value <= self.interval[1])

    def as_dict(self) -> dict:
        return {"rate": self.rate, "interval": list(self.interval), "level": self.level,
                "reliable": self.reliable, "note": self.note, **plain(self.details)}


def failed(method: str, level: float, note: str) -> RateEstimate:
    """An estimate that could not be made: NaN rate and interval, unreliable, with the reason."""
    return RateEstimate(method, float("nan"), (float("nan"), float("nan")), level, False, note)
