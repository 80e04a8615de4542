"""Stationary moments of a run, each with its Monte Carlo standard error (MATH.md §4).

The mean and covariance come from the engine's streaming accumulators (every post-burn-in
step that was booked, all live chains).  Uncertainties:

* ``mean_mcse`` from the effective sample size of the kept draws, ``sqrt(var / ESS)``
  (arviz ``ess(method="mean")``); the kept draws are a thinned subset of the booked steps,
  so this errs on the large side;
* ``cov_mcse`` from the spread of the per-chain time covariances across independent chains.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arviz import arviz as az

RHAT_SETTLED = 1.01  # Vehtari et al. (2021): rank-normalised split-R̂ below 1.01


@dataclass
class Moments:
    """Stationary mean and covariance with uncertainties and convergence diagnostics."""

    mean: np.ndarray
    mean_mcse: np.ndarray
    mean_mcse_between: np.ndarray
    cov: np.ndarray
    cov_mcse: np.ndarray
    ess: np.ndarray
    rhat: np.ndarray
    settled: bool
    reason: str

    @property
    def trace_cov(self) -> float:
        return float(np.trace(self.cov))

    @property
    def trace_cov_mcse(self) -> float:
        return float(np.sqrt(np.sum(np.diag(self.cov_mcse) ** 2)))


def kept_dataset(result):
    """Kept draws of the live chains as an xarray Dataset (one variable ``x``)."""
    keep = result.alive[: result.draws.shape[0]]
    return az.convert_to_dataset({"x": result.draws[keep]})


def moments(result) -> Moments:
    """Stationary mean and covariance of a :class:`~invariant.engine.RunResult`."""
    d = result.game.d
    mean, cov = result.pooled_moments()
    alive = result.alive & (result.acc_n > 1)
    n_alive = int(alive.sum())
    keep = result.alive[: result.draws.shape[0]]
    if n_alive == 0 or keep.sum() == 0:
        nan = np.full(d, np.nan)
        return Moments(mean, nan, nan, cov, np.full((d, d), np.nan), nan, nan, False,
                       "every chain diverged")
    ds = kept_dataset(result)
    ess = np.asarray(az.ess(ds, method="mean")["x"], dtype=float)
    with np.errstate(invalid="ignore"):
        rhat = np.asarray(az.rhat(ds)["x"], dtype=float) if keep.sum() > 1 else np.full(d, np.nan)
    mean_mcse = np.sqrt(np.diag(cov) / ess)
    between = result.chain_means()[alive].std(axis=0, ddof=1) / np.sqrt(n_alive) if n_alive > 1 else np.full(d, np.nan)
    covs = result.chain_covs()[alive]
    cov_mcse = covs.std(axis=0, ddof=1) / np.sqrt(n_alive) if n_alive > 1 else np.full((d, d), np.nan)
    settled, reason = _settled(result, rhat)
    return Moments(mean, mean_mcse, between, cov, cov_mcse, ess, rhat, settled, reason)


def _settled(result, rhat) -> tuple[bool, str]:
    """Whether the chains look stationary after burn-in, and why (not)."""
    if result.n_diverged == result.config.chains:
        return False, "every chain diverged"
    worst = float(np.nanmax(rhat)) if np.any(np.isfinite(rhat)) else np.nan
    # drift of E|x|² between the first and second half of the kept draws, as a z-score
    keep = result.alive[: result.draws.shape[0]]
    r2 = np.sum(result.draws[keep] ** 2, axis=-1)
    h = r2.shape[1] // 2
    diff = r2[:, h:].mean(1) - r2[:, :h].mean(1)
    z = diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 2 and diff.std() > 0 else 0.0
    if not np.isfinite(worst):
        return False, "R-hat undefined (need at least two live chains)"
    if worst > RHAT_SETTLED:
        return False, f"chains disagree: max split R-hat {worst:.3f} > {RHAT_SETTLED} (not stationary or not mixed)"
    if abs(z) > 4.0:
        return False, f"E|x|² still drifts between the halves of the run (z = {z:.1f})"
    return True, f"max split R-hat {worst:.3f} ≤ {RHAT_SETTLED}; no drift of E|x|² (z = {z:.1f})"
