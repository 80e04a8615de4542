"""κ from the relaxation experiment's ensembles (method 2, docs/theory.md §4).

The distance of the law at time t to the stationary one (mean error, covariance error, W1 of
the marginals) against t, and κ from a matrix-pencil fit of the antithetic pairs'
half-differences of means (:func:`relaxation_rate`).  Coupled relaxation pairs of an OU
process carry no noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..diagnostics import chain_bootstrap, percentile_interval
from .draws import live_draws
from .estimate import RateEstimate, failed
from .pencil import DecayFit, bootstrap_rates, fit_decay, sign_noise


@dataclass
class Relaxation:
    """Relaxation curves of ensembles started at dispersed points.

    Attributes
    ----------
    t : ndarray (n_t,)
        SDE time of each kept draw of the relaxation runs.
    starts : ndarray (n_starts, d)
        Starting points.
    mean_error : ndarray (n_starts, n_t, d)
        Ensemble mean minus the stationary mean (of the main run).
    mean_error_se : ndarray (n_starts, n_t, d)
        Its standard error (chain spread).
    cov_error : ndarray (n_starts, n_t)
        ``‖Cov_t − P‖_F / ‖P‖_F``.
    w1 : ndarray (n_starts, n_t, d)
        Wasserstein-1 distance of each marginal to the stationary marginal.
    w1_floor : ndarray (d,)
        Mean W1 of an ensemble-sized stationary sample to the stationary law (noise floor).
    pair_error : ndarray (n_pairs, n_t, d)
        Half the difference of the ensemble means of each antithetic pair of starts
        (``m ± v``, common random numbers): ``(E_{m+v}[X_t] − E_{m−v}[X_t])/2``.
    pair_error_se : ndarray (n_pairs, n_t, d)
    """

    t: np.ndarray
    starts: np.ndarray
    mean_error: np.ndarray
    mean_error_se: np.ndarray
    cov_error: np.ndarray
    w1: np.ndarray
    w1_floor: np.ndarray
    pair_error: np.ndarray
    pair_error_se: np.ndarray


def _pairs(runs) -> list:
    """Indices ``(j, j+1)`` of antithetic pairs (same seed, starts symmetric about a centre)."""
    out = []
    for j in range(0, len(runs) - 1, 2):
        a, b = runs[j].config, runs[j + 1].config
        if a.seed == b.seed and a.chains == b.chains:
            out.append((j, j + 1))
    return out


def _paired(ra, rb, n_t):
    """Draws of the chains alive in both runs of a pair, chain by chain."""
    ka = ra.kept_alive
    kb = rb.kept_alive
    both = ka & kb
    return ra.draws[both, :n_t], rb.draws[both, :n_t]


def scaled_errors(runs, stationary, n_t: int) -> list:
    """Per-chain relaxation errors, coordinates scaled by the stationary standard deviations.

    For each antithetic pair the half-difference of its coupled chains,
    ``(X^{m+v}_t − X^{m−v}_t)/2``; then for each start without a partner ``X_t − m``.

    Parameters
    ----------
    runs : list of RunResult
    stationary : RunResult
        The main run (stationary mean ``m`` and standard deviations).
    n_t : int
        Kept times used.

    Returns
    -------
    list of ndarray (chains_j, n_t, d)
    """
    mean, var = stationary.pooled_variances()
    sd = np.sqrt(np.clip(var, 1e-300, None))
    blocks, paired = [], set()
    for a, b in _pairs(runs):
        xa, xb = _paired(runs[a], runs[b], n_t)
        blocks.append(0.5 * (xa - xb) / sd)
        paired.update((a, b))
    for j, r in enumerate(runs):
        if j not in paired:
            blocks.append((live_draws(r)[:, :n_t] - mean) / sd)
    return blocks


def _w1_floor(ref, C: int) -> np.ndarray:
    """Mean W1 of each marginal of ``C`` draws resampled from ``ref`` to ``ref`` (20 samples)."""
    rng = np.random.default_rng(1)
    q = np.quantile(ref, (np.arange(C) + 0.5) / C, axis=0)

    def w1(idx):
        return np.mean(np.abs(np.sort(ref[idx], axis=0) - q), axis=0)

    return np.mean(chain_bootstrap(w1, len(ref), 20, rng, size=C), axis=0)


def relaxation_curves(runs, stationary) -> Relaxation:
    """Distance of the law at each kept time to the stationary law, per starting point.

    Parameters
    ----------
    runs : list of RunResult
        From :func:`~invariant.mixing.relaxation.relaxation_run` (all with the same kept
        times).
    stationary : RunResult
        The main run (its kept draws give the stationary law).

    Returns
    -------
    Relaxation
    """
    ref = live_draws(stationary).reshape(-1, stationary.game.d)
    ref = ref[np.all(np.isfinite(ref), axis=1)]
    # the covariance error against the full covariance where it was tracked, else against
    # the per-coordinate variances (simulation.moments)
    full = stationary.moments == "full"
    mean, P = stationary.pooled_moments() if full else stationary.pooled_variances()
    n_t = min(r.draws.shape[1] for r in runs)
    t = runs[0].draw_t[:n_t]
    d = ref.shape[1]
    ME, SE, CE, W = [], [], [], []
    Pn = np.linalg.norm(P)
    for r in runs:
        x = live_draws(r)[:, :n_t]  # (C, n_t, d)
        C = x.shape[0]
        ME.append(x.mean(0) - mean)
        SE.append(x.std(0, ddof=1) / np.sqrt(C) if C > 1 else np.full((n_t, d), np.nan))
        dev = x - x.mean(0)
        cov_t = np.einsum("cti,ctj->tij" if full else "cti,cti->ti", dev, dev) / max(C - 1, 1)
        CE.append(np.linalg.norm(cov_t - P, axis=(1, 2) if full else 1) / Pn)
        levels = (np.arange(C) + 0.5) / C
        q = np.quantile(ref, levels, axis=0)  # (C, d)
        W.append(np.mean(np.abs(np.sort(x, axis=0) - q[:, None, :]), axis=0))
    floor = _w1_floor(ref, live_draws(runs[0]).shape[0])
    PE, PS = [], []
    for a, b in _pairs(runs):
        xa, xb = _paired(runs[a], runs[b], n_t)
        h = 0.5 * (xa - xb)
        PE.append(h.mean(0))
        PS.append(h.std(0, ddof=1) / np.sqrt(h.shape[0]))
    starts = np.array([r.config.x0 for r in runs])
    empty = np.zeros((0, n_t, d))
    return Relaxation(t, starts, np.array(ME), np.array(SE), np.array(CE), np.array(W), floor,
                      np.array(PE) if PE else empty, np.array(PS) if PS else empty)


def _fit_times(Y, head: float):
    """Kept times of the fit: from where the error's size has fallen to ``head`` of its
    maximum to where it sinks below three standard errors, at most ~80 of them.

    Returns ``(i0, i_end, step, sel)``, or a string saying why there are none.
    """
    C = Y.shape[0]
    size = np.sqrt(np.sum(Y.mean(0) ** 2, axis=0))
    noise = np.sqrt(np.sum((Y.std(0, ddof=1) / np.sqrt(C)) ** 2, axis=0))
    above = size > 3 * noise
    if not np.any(above):
        return "the ensembles' mean errors never rise above noise; raise relaxation_spread"
    i_end = int(np.flatnonzero(above)[-1]) + 1
    low = np.flatnonzero(size[:i_end] <= size[:i_end].max() * head)
    i0 = int(low[0]) if low.size else 0
    step = max(1, (i_end - i0) // 80)
    sel = np.arange(i0, i_end, step)
    if len(sel) < 8:
        return (f"only {len(sel)} kept times between the 1/e point of the error and the noise; "
                "keep more draws, use more relaxation chains or lengthen relaxation_t_end")
    return i0, i_end, step, sel


def _fit_pencil(Ys, h: float, order: int | None, d: int, n_boot: int, level: float, rng):
    """Decay fit of the chain-averaged curves ``Ys`` (C, n_curves, L) and its bootstrap interval.

    Coupled pairs of an OU process relax with no noise at all: the default order comes from
    the noise replicas (every mode above noise), not a fixed tail model.
    """
    noise = sign_noise(Ys, rng)
    floor = 1e-9 * np.abs(Ys.mean(0)).max()
    noise = noise + floor * rng.standard_normal(noise.shape)
    cap = min(2 * d, 12)
    if order is None:
        # at least two pairs: the slowest mode and the next one, which has not died out
        # at the window's start (one pair alone is pulled towards it: −3 % on the Dirac-GAN)
        order = max(fit_decay(Ys.mean(0), h, order=None, noise=noise, max_order=cap).order, min(4, cap))
    fit = fit_decay(Ys.mean(0), h, order=order)
    interval, frac = percentile_interval(bootstrap_rates(Ys, fit, h, n_boot, rng), level)
    return fit, interval, frac


def _w1_rate(curves: Relaxation, i0: int, n_runs: int) -> float:
    """Log-linear decay rate of the summed W1 above ``3×`` its noise floor (from ``i0`` when
    four times remain there); NaN with fewer than four such times."""
    t = curves.t
    w = curves.w1.sum(axis=(0, 2))
    fl = curves.w1_floor.sum() * n_runs
    ok = np.flatnonzero(w > 3 * fl)
    if ok.size < 4:
        return float("nan")
    j = ok[ok >= i0] if np.sum(ok >= i0) >= 4 else ok
    return float(-np.polyfit(t[j], np.log(w[j] - fl), 1)[0])


def _checks(fit: DecayFit, frac: float, span: float) -> list:
    """Why a relaxation estimate is not reliable (empty when it is)."""
    out = []
    if not np.isfinite(fit.rate) or fit.growing:
        out.append("no decaying mode found")
    if frac < 0.9:
        out.append(f"only {frac:.0%} of bootstrap refits found a decaying mode")
    if np.isfinite(fit.rate) and fit.rate * span < 1.0:
        out.append("the fitted window spans less than one decay time")
    return out


def relaxation_rate(runs, stationary, level: float = 0.95, n_boot: int = 200, seed: int = 0,
                    order: int | None = None, head: float = 1 / np.e) -> tuple[RateEstimate, Relaxation]:
    """κ from the relaxation of ensembles started at dispersed points (method 2).

    For each antithetic pair of starts ``m ± v`` (common noise,
    :func:`~invariant.mixing.relaxation.relaxation_run`) the half-difference of the ensemble
    means, ``(E_{m+v}[X_t] − E_{m−v}[X_t])/2``, is a sum of ``e^{λ_k t}`` over the
    generator's eigenvalues (exactly ``e^{At}v`` for an OU process); a start without a
    partner contributes ``E_x[X_t] − m``.  All these curves (every pair, every coordinate,
    scaled by the stationary standard deviations, :func:`scaled_errors`) are fitted jointly
    by :func:`~invariant.mixing.pencil.fit_decay`, from the time their size has fallen to 1/e
    of its maximum (faster modes have decayed) to where it sinks below three standard
    errors.  The interval comes from refitting on bootstrap replicas that resample chains
    (pairs of coupled chains together).  W1 of the marginals and the covariance error are
    returned as curves; a log-linear fit of the summed W1 above its noise floor is reported
    in ``details["w1_rate"]``.

    Parameters
    ----------
    runs : list of RunResult
        The relaxation runs (:func:`~invariant.mixing.relaxation.relaxation_run` /
        :func:`~invariant.mixing.relaxation.load_relaxation`).
    stationary : RunResult
        The main run.
    level, n_boot, seed
        Interval level, bootstrap replicas, seed.
    order : int, optional
        Poles of the decay fit; default: as many as stand above the noise, at least 4 (two
        pairs: the slowest mode and the next, not yet gone at the window's start), at most
        ``2d`` — coupled pairs are nearly noise-free, so several modes can be resolved.
    head : float
        The fit starts where the error has fallen to this fraction of its maximum.

    Returns
    -------
    estimate : RateEstimate
    curves : Relaxation
    """
    rng = np.random.default_rng(seed)
    curves = relaxation_curves(runs, stationary)
    t = curves.t
    if len(t) < 16:
        return failed("relaxation", level, "fewer than 16 kept times"), curves
    n_t, d = len(t), stationary.game.d
    blocks = scaled_errors(runs, stationary, n_t)
    C = min(b.shape[0] for b in blocks)
    if C < 2:
        return failed("relaxation", level, "fewer than two live chains per start"), curves
    Y = np.concatenate([np.transpose(b[:C], (0, 2, 1)) for b in blocks], axis=1)  # (C, n_curves, n_t)
    window = _fit_times(Y, head)
    if isinstance(window, str):
        return failed("relaxation", level, window), curves
    i0, i_end, step, sel = window
    fit, interval, frac = _fit_pencil(Y[:, :, sel], step * float(t[1] - t[0]), order, d, n_boot, level, rng)
    n_pairs = len(_pairs(runs))
    problems = _checks(fit, frac, t[sel[-1]] - t[sel[0]])
    notes = [(f"matrix pencil on the relaxation of {len(runs)} ensembles ({n_pairs} coupled antithetic pairs) × "
              f"{d} coordinates, t ∈ [{t[sel[0]]:.3g}, {t[sel[-1]]:.3g}], {fit.order} poles"), *problems]
    if i_end >= n_t - 1:
        notes.append("the error is still above noise at relaxation_t_end")
    details = {"window": [float(t[sel[0]]), float(t[sel[-1]])], "order": fit.order, "frequency": fit.frequency,
               "poles": fit.poles, "energy": fit.energy, "bootstrap_ok": frac,
               "w1_rate": _w1_rate(curves, i0, len(runs)), "starts": curves.starts, "chains_per_start": C,
               "pairs": n_pairs}
    return RateEstimate("relaxation", fit.rate, interval, level, not problems, "; ".join(notes), details), curves
