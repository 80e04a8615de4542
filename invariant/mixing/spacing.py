"""Whether the kept draws are close enough together to resolve the decay they are used to
measure (docs/theory.md §4).

Every mixing-rate estimate from kept draws (autocorrelation, spectral, relaxation) and the
integrated times see the process only at multiples of the draw spacing
``Δ = thin · step_time``.  Once ``κΔ`` is of order one the autocorrelation has fallen to
noise within a few draws and the estimates no longer measure κ: the autocorrelation fit is
left with the minimum of 8 lags, EDMD's ``λ₂`` at one draw is of the size of its noise, and
the integrated time tends to the spacing itself (``τ·Δ → Δ``).  Nothing in the estimates'
own intervals shows this.  On the default game (κ = 0.404, 16 chains) the estimates were

======  =====  ==========================  ===========================
Δ       κΔ     autocorrelation             spectral (EDMD)
======  =====  ==========================  ===========================
1.24    0.50   0.410 [0.401, 0.420]        0.403 [0.400, 0.407]
2.5     1.0    0.495 [0.453, 0.533]        0.401 [0.398, 0.405]
3.95    1.6    0.367 [0.333, 0.422]        0.384 [0.377, 0.392]
19.9    8.1    0.267 [0.123, 0.376]        0.172 [0.155, 0.193]
======  =====  ==========================  ===========================

(``t_end`` 20000 with ``keep_draws`` 16200, 8000 and 1000; ``t_end`` 4000 with 1000;
integrated time of ``|x|²`` 4.5 at Δ = 3.95, about the spacing.)  Hence
:data:`MAX_RATE_SPACING`.  The integrated time is judged by the same ``κΔ``, not by its size
against Δ: with oscillating decay it is small by cancellation even when resolved — 1.6 draws
(0.55) for a coordinate of the default game at the default Δ = 0.35.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import MAX_KEEP_DRAWS
from .draws import draw_spacing

MAX_RATE_SPACING = 0.5
"""Largest ``κΔ`` at which estimates from draws ``Δ`` apart are reliable.  At 0.5 the lag-1
autocorrelation ``e^{−κΔ}`` is 0.61 and the autocorrelation stays above its noise (≈ 2 % for
16 chains × 1000 draws) for about eight draws, so the decay fit keeps a dozen lags past the
head of the curve (:func:`~invariant.mixing.acf._fit_window`); at ``κΔ ≈ 1`` it is down to
its minimum of 8 and the estimates drift (table above)."""


@dataclass(frozen=True)
class SpacingCheck:
    """The draw spacing of a run against ``1/κ``.

    Attributes
    ----------
    spacing : float
        ``Δ``, SDE time between kept draws.
    rate : float
        The κ it is judged against (the exact κ when known, else the largest estimate: a
        too-sparse spacing biases estimates downwards).
    keep_draws : int
        Kept draws per chain at which ``κΔ ≤`` :data:`MAX_RATE_SPACING` (0 when even one
        draw per step is too sparse: the step itself is then too long).
    source : str
        Where ``rate`` comes from (``"exact"``, ``"largest estimate"``, …), for the note.
    """

    spacing: float
    rate: float
    keep_draws: int
    source: str = "estimate"

    @property
    def ok(self) -> bool:
        return not self.rate * self.spacing > MAX_RATE_SPACING

    @property
    def note(self) -> str:
        """Why estimates from these draws are not reliable, and what fixes it ("" when ok)."""
        if self.ok:
            return ""
        head = (f"draws are spaced Δ = {self.spacing:.3g} apart, more than {MAX_RATE_SPACING:g} of "
                f"1/κ = {1 / self.rate:.3g} (κ = {self.rate:.3g}, {self.source}; κΔ = {self.rate * self.spacing:.2g})")
        if self.keep_draws == 0:
            return head + "; even one draw per step is too sparse: lower the step"
        fix = f"; raise simulation.keep_draws to ≥ {self.keep_draws}"
        if self.keep_draws > MAX_KEEP_DRAWS:
            fix += f" (above the cap {MAX_KEEP_DRAWS:.0e}: shorten t_end)"
        return head + fix

    def as_dict(self) -> dict:
        return {"draw_spacing": self.spacing, "rate": self.rate, "rate_spacing": self.rate * self.spacing,
                "rate_source": self.source, "max_rate_spacing": MAX_RATE_SPACING, "ok": self.ok,
                "keep_draws_needed": self.keep_draws}


def mark_sparse(est, check: SpacingCheck) -> None:
    """Mark the estimate ``est`` (a :class:`~invariant.mixing.estimate.RateEstimate`)
    unreliable when ``check`` fails: its note gets ``check.note``, also kept as its
    ``details["sparse_draws"]``.  A later check replaces an earlier one's note (the
    autocorrelation estimate checks itself; :func:`~invariant.mixing.summary.flag_sparse_draws`
    then judges every estimate against one κ)."""
    if check.ok:
        return
    old = est.details.get("sparse_draws")
    if old:
        est.note = est.note.replace(old, check.note)
    else:
        est.note = f"{est.note}; {check.note}" if est.note else check.note
    est.reliable = False
    est.details["sparse_draws"] = check.note


def check_spacing(result, rate: float, source: str = "estimate") -> SpacingCheck:
    """:class:`SpacingCheck` of a run's kept draws against the rate ``rate`` (from ``source``).

    The kept draws are ``thin`` steps apart with ``thin = ⌈post-burn steps / keep_draws⌉``
    (:attr:`invariant.config.Config.thin`); ``κΔ ≤`` :data:`MAX_RATE_SPACING` needs
    ``thin ≤ ⌊MAX_RATE_SPACING / (κ·step_time)⌋``, i.e. ``keep_draws ≥ ⌈post-burn steps /
    that thin⌉`` — about ``(t_end − t_burn)·κ / MAX_RATE_SPACING``.
    """
    cfg = result.config
    max_thin = math.floor(MAX_RATE_SPACING / (rate * cfg.step_time)) if rate > 0 else cfg.steps
    need = math.ceil((cfg.steps - cfg.burn_steps) / max_thin) if max_thin >= 1 else 0
    return SpacingCheck(draw_spacing(result), float(rate), int(need), source)
