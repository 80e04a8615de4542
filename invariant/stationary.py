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

DRIFT_Z = 4.0  # |z| of the half-vs-half drift test beyond which the law is still moving
RHAT_DISAGREE = 1.05  # with ≥ 25 ESS per chain, R-hat's own noise is below ~1.02
MIN_ESS_PER_CHAIN = 25  # = chain length / (2 τ_int): below it the chain spans < 50 τ_int


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
    verdict: str
    reason: str

    @property
    def settled(self) -> bool:
        return self.verdict == "settled"

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
        return Moments(mean, nan, nan, cov, np.full((d, d), np.nan), nan, nan, "not settled",
                       "every chain diverged")
    ds = kept_dataset(result)
    ess = np.asarray(az.ess(ds, method="mean")["x"], dtype=float)
    with np.errstate(invalid="ignore"):
        rhat = np.asarray(az.rhat(ds)["x"], dtype=float) if keep.sum() > 1 else np.full(d, np.nan)
    mean_mcse = np.sqrt(np.diag(cov) / ess)
    between = result.chain_means()[alive].std(axis=0, ddof=1) / np.sqrt(n_alive) if n_alive > 1 else np.full(d, np.nan)
    covs = result.chain_covs()[alive]
    cov_mcse = covs.std(axis=0, ddof=1) / np.sqrt(n_alive) if n_alive > 1 else np.full((d, d), np.nan)
    verdict, reason = _settled(result, ess)
    return Moments(mean, mean_mcse, between, cov, cov_mcse, ess, rhat, verdict, reason)


def _settled(result, ess) -> tuple[str, str]:
    """Whether the chains look stationary after burn-in: a verdict and its reason.

    ``"not settled"`` when the law still moves: a Geweke-style z-test of each coordinate
    and of |x|² between the first and second half of the kept draws (standard error from
    the spread across independent chains) exceeds ``DRIFT_Z``.  ``"too short to tell"``
    when the chains are shorter than ~50 integrated autocorrelation times (per-chain ESS
    below ``MIN_ESS_PER_CHAIN``, emcee's rule): then neither that test nor split R-hat —
    which for autocorrelated chains is ≈ 1 + 1/(2·ESS per chain) — can be trusted.
    With long enough chains, split R-hat (coordinates and |x|²) above ``RHAT_DISAGREE``
    means the chains settle to different laws: ``"not settled"``.  Otherwise ``"settled"``.
    """
    if result.n_diverged == result.config.chains:
        return "not settled", "every chain diverged"
    keep = result.alive[: result.draws.shape[0]]
    x = result.draws[keep]
    if x.shape[0] < 3:
        return "too short to tell", "fewer than three live kept chains"
    obs = np.concatenate([x, np.sum(x**2, axis=-1, keepdims=True)], axis=-1)
    names = list(result.game.param_names) + ["|x|²"]
    h = obs.shape[1] // 2
    diff = obs[:, h:].mean(1) - obs[:, :h].mean(1)
    se = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff.mean(0) / se, 0.0)
    i = int(np.argmax(np.abs(z)))
    if abs(z[i]) > DRIFT_Z:
        return "not settled", f"E[{names[i]}] still drifts between the halves of the run (z = {z[i]:.1f})"
    per_chain = float(np.nanmin(ess)) / x.shape[0]
    if not per_chain >= MIN_ESS_PER_CHAIN:
        return "too short to tell", (f"ESS per chain {per_chain:.1f} < {MIN_ESS_PER_CHAIN} (chains shorter than "
                                     f"~50 autocorrelation times); run longer")
    # long enough chains whose laws differ (cycles of different radii, several attractors)
    with np.errstate(invalid="ignore", divide="ignore"):
        rhat = np.asarray(az.rhat(az.convert_to_dataset({"o": obs}))["o"], dtype=float)
    j = int(np.nanargmax(np.where(np.isfinite(rhat), rhat, np.inf)))
    if not rhat[j] <= RHAT_DISAGREE:
        return "not settled", f"chains settle to different laws: split R-hat of {names[j]} is {rhat[j]:.3g} > {RHAT_DISAGREE}"
    return "settled", f"no drift between halves (max |z| = {abs(z[i]):.1f}); ESS per chain ≥ {per_chain:.0f}"
