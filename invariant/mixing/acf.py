"""κ from the decay of autocorrelation functions (method 1, docs/theory.md §4).

The chain-averaged autocorrelation functions of the coordinates are fitted jointly past
their head by one damped oscillation ``e^{−κt}cos(ωt + φ)`` (matrix pencil with shared
poles, :func:`~invariant.mixing.pencil.fit_decay`), so oscillating decay (complex
eigenvalues) is handled; the interval comes from refits on chain-bootstrap replicas.  The
same pass gives every observable's integrated time, ESS and R-hat
(:mod:`invariant.diagnostics`).
"""
from __future__ import annotations

import numpy as np

from ..diagnostics import autocovariance, ess_rhat, integrated_time, percentile_interval
from .draws import draw_spacing, observables
from .estimate import RateEstimate, failed
from .pencil import DecayFit, bootstrap_rates, fit_decay
from .spacing import check_spacing, mark_sparse


def _fit_window(rho, se, min_len: int = 8, head: float = 0.5) -> tuple[int, int]:
    """Lags ``[start, end)`` used by the decay fit of autocorrelations ``rho`` (curves × lags).

    ``end``: twice the lag at which the envelope (running max over four lags and over
    curves) sinks below twice its standard error.  ``start``: the lag at which the envelope
    has fallen to ``head`` of its value at lag 0, so that faster modes have decayed relative
    to the slowest (a nonlinear game's coordinates project on many modes of the generator);
    moved earlier if needed to leave ``min_len`` lags.
    """
    env = np.max(np.abs(rho), axis=0)
    noise = np.max(se, axis=0)
    L = rho.shape[1]
    run = np.array([env[k:k + 4].max() for k in range(L)])
    below = np.flatnonzero(run < 2 * noise)
    k = int(below[0]) if below.size else L // 4
    end = int(min(max(2 * k, min_len), L))
    low = np.flatnonzero(run[:end] <= head * run[0])
    start = int(low[0]) if low.size else 0
    start = max(0, min(start, end - min_len))
    return start, end


def coordinate_acfs(x, head: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """Per-chain autocorrelation functions of the coordinates and the lags a decay fit uses.

    Each chain's autocovariance (about the mean of all chains, divided by ``n − k``) is
    normalised by the chain-averaged lag-0 value, so their chain average is the pooled
    autocorrelation function.

    Parameters
    ----------
    x : ndarray (chains, n, d)
        Equally spaced draws of independent stationary chains.
    head : float
        The fit window starts where the envelope has fallen to this fraction
        (:func:`_fit_window`).

    Returns
    -------
    per_chain : ndarray (chains, d, n)
    rho, se : ndarray (d, n)
        Chain average and its standard error.
    window : (start, end)
        Lags of the decay fit.
    """
    C, _, d = x.shape
    mean = x.reshape(-1, d).mean(0)
    ac = np.stack([autocovariance(x[:, :, i], mean=mean[i], unbiased=True) for i in range(d)], axis=1)
    per_chain = ac / ac[:, :, :1].mean(0)[None]
    rho = per_chain.mean(0)
    se = per_chain.std(0, ddof=1) / np.sqrt(C)
    return per_chain, rho, se, _fit_window(rho, se, head=head)


def acf_rate(x, dt: float, level: float = 0.95, n_boot: int = 200, rng=None, order: int = 2,
             head: float = 0.5) -> tuple[float, tuple, DecayFit, dict]:
    """Decay rate of the autocorrelation functions of the coordinates of chains ``x``.

    Parameters
    ----------
    x : ndarray (chains, n, d)
        Equally spaced draws of independent stationary chains.
    dt : float
        Time between draws.
    level, n_boot : float, int
        Interval level and chain-bootstrap replicas.
    rng : numpy.random.Generator, optional
    order : int
        Poles of the decay fit (:func:`~invariant.mixing.pencil.fit_decay`; 2 = one damped
        oscillation).
    head : float
        The fit starts where the autocorrelation envelope has fallen to this fraction.

    Returns
    -------
    rate : float
    interval : (lo, hi)
    fit : DecayFit
    info : dict
        ``window`` (lags, SDE time), ``bootstrap_ok`` (share of refits with a decaying pole).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    per_chain, _, _, (i0, L) = coordinate_acfs(np.asarray(x, dtype=np.float64), head)
    pc = per_chain[:, :, i0:L]
    fit = fit_decay(pc.mean(0), dt, order=order)
    interval, frac = percentile_interval(bootstrap_rates(pc, fit, dt, n_boot, rng), level)
    return fit.rate, interval, fit, {"window": [i0 * dt, (L - 1) * dt], "bootstrap_ok": frac}


def observable_diagnostics(obs: dict, dt: float, rng) -> dict:
    """Integrated time, ESS, R-hat and own decay rate of every observable.

    Parameters
    ----------
    obs : dict
        name → ndarray (chains, n) (:func:`~invariant.mixing.draws.observables`).
    dt : float
        Time between draws.
    rng : numpy.random.Generator
        For the decay fits (no bootstrap: not drawn from).

    Returns
    -------
    dict
        name → dict(iat (SDE time), iat_draws, window, reliable, ess (``chains·n/τ``),
        ess_bulk, ess_tail, rhat (arviz) and, with two chains and 16 draws, rate and
        frequency of the observable's own decay fit).
    """
    out = {}
    for name, s in obs.items():
        it = integrated_time(s, dt)
        ess_bulk, ess_tail, rhat = ess_rhat(s)
        entry = {"iat": it.tau_time, "iat_draws": it.tau, "window": it.window, "reliable": it.reliable,
                 "ess": it.ess, "ess_bulk": ess_bulk, "ess_tail": ess_tail, "rhat": rhat}
        if s.shape[0] >= 2 and s.shape[1] >= 16:
            with np.errstate(all="ignore"):
                r1, _, f1, _ = acf_rate(s[:, :, None], dt, n_boot=0, rng=rng)
            entry.update(rate=r1, frequency=f1.frequency)
        out[name] = entry
    return out


def _add_streamed_means(result, diagnostics: dict) -> None:
    """``mean_streamed`` of ``g`` and ``|x|²``: their stationary means from the engine's
    per-step accumulators (every booked step, all live chains)."""
    live = result.alive & (result.obs_n > 0)
    if not np.any(live):
        return
    w = result.obs_n[live].astype(float)
    streamed = (result.obs_chain_means()[live] * w[:, None]).sum(0) / w.sum()
    for name, key in (("g", "g"), ("|x|²", "r2")):
        if name in diagnostics and key in result.obs_names:
            diagnostics[name]["mean_streamed"] = float(streamed[list(result.obs_names).index(key)])


def _checks(rate: float, fit: DecayFit, info: dict) -> list:
    """Why an autocorrelation estimate is not reliable (empty when it is).  Draws too far
    apart for the decay are judged for every estimate together, by
    :func:`~invariant.mixing.summary.flag_sparse_draws` (and here against the lower end of
    this estimate's interval, in :func:`autocorrelation_rate`, for callers without it)."""
    w0, w1 = info["window"]
    out = []
    if not np.isfinite(rate) or fit.growing:
        out.append("no decaying mode found (a significant pole does not decay)")
    if info["bootstrap_ok"] < 0.9:
        out.append(f"only {info['bootstrap_ok']:.0%} of bootstrap refits found a decaying mode")
    if np.isfinite(rate) and rate * (w1 - w0) < 1.0:
        out.append("the autocorrelation is above noise over less than one decay time; run longer")
    return out


def autocorrelation_rate(result, level: float = 0.95, n_boot: int = 200, seed: int = 0, obs: dict | None = None):
    """κ from the decay of the coordinates' autocorrelation functions (method 1).

    The chain-averaged autocorrelation functions of all coordinates (autocovariances about
    the common mean averaged over chains, then normalised) are fitted jointly by
    :func:`~invariant.mixing.pencil.fit_decay` with one damped oscillation
    ``e^{−κt}cos(ωt + φ)`` shared by all coordinates (amplitudes and phases free), on the
    lags from where the envelope has halved (faster modes gone) to where it sinks into
    noise; the interval comes from refitting on chain-bootstrap replicas.  The same pass
    gives, for every observable (coordinates, ``g``, ``|x|²``), the integrated time
    (:func:`invariant.diagnostics.integrated_time`), ESS and R-hat (arviz) and the
    observable's own decay rate (``g`` and ``|x|²`` decay at sums of eigenvalues, ``2κ``
    for a centred OU process, or at ``κ`` through a non-zero mean).

    Parameters
    ----------
    result : RunResult
    level : float
        Interval level.
    n_boot : int
        Bootstrap replicas.
    seed : int
    obs : dict, optional
        Precomputed :func:`~invariant.mixing.draws.observables`.

    Returns
    -------
    estimate : RateEstimate
    diagnostics : dict
        name → dict(iat (SDE time), iat_draws, window, reliable, ess (``chains·n/τ``),
        ess_bulk, ess_tail, rhat (arviz), rate, frequency (the observable's own decay fit));
        ``g`` and ``|x|²`` also get ``mean_streamed``, their stationary mean from the engine's
        per-step accumulators.  arviz's ESS (Geyer's initial monotone sequence) stops at the
        first negative pair of autocorrelations, so for oscillating (non-reversible)
        dynamics it is conservative — 2.6× below ``chains·n/τ`` on the default example.
    """
    rng = np.random.default_rng(seed)
    obs = observables(result) if obs is None else obs
    dt = draw_spacing(result)
    names = list(result.game.param_names)
    diagnostics = observable_diagnostics(obs, dt, rng)
    _add_streamed_means(result, diagnostics)
    x = np.stack([obs[n] for n in names], axis=-1)  # (C, n, d)
    C, n, d = x.shape
    if C < 2 or n < 16:
        return failed("autocorrelation", level, "fewer than two live kept chains or 16 draws"), diagnostics
    rate, interval, fit, info = acf_rate(x, dt, level, n_boot, rng)
    w0, w1 = info["window"]
    problems = _checks(rate, fit, info)
    notes = [(f"one damped oscillation fitted (matrix pencil) to the autocorrelations of {d} "
              f"coordinates at lags {w0:.3g} to {w1:.3g}"), *problems]
    details = {"window": info["window"], "order": fit.order, "frequency": fit.frequency,
               "poles": fit.poles, "energy": fit.energy, "bootstrap_ok": info["bootstrap_ok"]}
    est = RateEstimate("autocorrelation", rate, interval, level, not problems, "; ".join(notes), details)
    # judged here by the interval's lower end (sparse for sure), by analyse against κ itself
    low = interval[0] if np.isfinite(interval[0]) else rate
    if np.isfinite(low) and low > 0:
        mark_sparse(est, check_spacing(result, low, "lower end of the autocorrelation interval"))
    return est, diagnostics
