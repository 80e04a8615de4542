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

RHAT_DISAGREE = 1.05  # Gelman & Rubin's classical bound for chains that disagree
DRIFT_Z = 4.0  # |z| of the half-vs-half drift test beyond which the law is still moving


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
    """Whether the chains look stationary after burn-in, and why (not).

    Two checks on the kept draws: a Geweke-style z-test of each coordinate and of |x|²
    between the first and second half of the run (standard error from the spread across
    independent chains), and split R-hat.  R-hat's own noise is of order 1/ESS per chain,
    so with many short-ESS chains it sits near 1.01 even at stationarity; the classical
    1.05 bound flags chains that disagree, the drift test flags a law still moving.
    """
    if result.n_diverged == result.config.chains:
        return False, "every chain diverged"
    keep = result.alive[: result.draws.shape[0]]
    x = result.draws[keep]
    if x.shape[0] < 3:
        return False, "fewer than three live kept chains: cannot judge"
    obs = np.concatenate([x, np.sum(x**2, axis=-1, keepdims=True)], axis=-1)
    names = list(result.game.param_names) + ["|x|²"]
    h = obs.shape[1] // 2
    diff = obs[:, h:].mean(1) - obs[:, :h].mean(1)
    se = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff.mean(0) / se, 0.0)
    i = int(np.argmax(np.abs(z)))
    worst = float(np.nanmax(rhat)) if np.any(np.isfinite(rhat)) else np.nan
    if abs(z[i]) > DRIFT_Z:
        return False, f"E[{names[i]}] still drifts between the halves of the run (z = {z[i]:.1f})"
    if not worst <= RHAT_DISAGREE:
        return False, f"chains disagree: max split R-hat {worst:.3f} > {RHAT_DISAGREE}"
    return True, f"no drift between halves (max |z| = {abs(z[i]):.1f}); max split R-hat {worst:.3f}"
