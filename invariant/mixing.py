"""Mixing rate κ of the invariant measure (MATH.md §4), by independent methods.

``‖P_t(x, ·) − μ‖ ≤ C(x) e^{−κt}``: κ is the spectral gap of the generator, ``−α(A)`` for an
Ornstein–Uhlenbeck process.  Three estimators, each with a bootstrap interval over
independent chains (the chains, not the draws, are the independent units):

1. **autocorrelation** (:func:`autocorrelation_rate`): the chain-averaged autocorrelation
   functions of the coordinates, fitted jointly past their head by one damped oscillation
   ``e^{−κt}cos(ωt + φ)`` (matrix pencil with shared poles, :func:`fit_decay`), so
   oscillating decay (complex eigenvalues) is handled.  The same pass gives integrated
   autocorrelation times (Sokal's automatic window on the chain-averaged autocovariance,
   :func:`integrated_time`) with emcee's reliability rule (chains longer than 50 τ), and
   arviz's ESS and R-hat, for the coordinates, ``g`` and ``|x|²``.
2. **relaxation** (:func:`relaxation_rate`): ensembles started at dispersed points in
   antithetic pairs ``m ± v`` sharing their noise (:func:`relaxation_run`, their own runs,
   saved in ``DIR/relaxation/``); the distance of the law at time t to the stationary one
   (mean error, covariance error, W1 of the marginals) against t; κ from a pencil fit of
   the pairs' half-differences of means.
3. **spectral** (:func:`spectral_rate`): extended dynamic mode decomposition (EDMD) of the
   transition operator on a polynomial basis at a lag τ, ``κ = −log|λ₂|/τ``.

:func:`analyse` gathers them (plus the Fokker–Planck gap of a 2-D game as a reference),
maps the rates of Euler–Maruyama chains back to the SDE (:func:`em_correction`), picks the
headline (the reliable estimate with the narrowest relative interval), and flags
disagreement: two estimates whose intervals do not overlap.  No function here simulates
except :func:`relaxation_run`, which is the relaxation experiment itself.

Calibration (exact OU paths, 64 chains × 1000 draws 0.35 apart, 100 replications): on the
default game (complex eigenvalues, κ = 0.404) the autocorrelation estimate has bias −1.3 %,
rmse 3.5 %, 95 %-interval coverage 0.89; on the non-normal game (κ = 0.139, three times
slower) −4.5 %, 18 %, 0.95.  (The default game's shortfall: a noise-driven bias of −1 % that
the chain bootstrap reproduces — replicas average 0.9 % below the estimate — so the
percentile interval sits about two biases low; the basic, BC and BCa intervals cover there,
55–56/60, but drop to 52–54/60 on the non-normal game, where the percentile one gives
59/60.  Left as percentile.)  EDMD (exact Euler–Maruyama chains of the engine runs, 350 time
units, 40 seeds, mapped to the SDE): default game bias −0.8 %, sd 1.4 %, coverage 38/40 with
intervals 6.0 % of κ wide; non-normal game −0.8 %, 4.4 %, 38/40, 18 % wide.  Every bilinear
game with complex eigenvalues has all its eigenvalues on one real part, so EDMD's ``λ₂`` is
the largest of tied moduli: the estimate is biased by the selection (half a standard
error), and the bootstrap follows the selected mode (:func:`edmd_rate`) — re-selecting the
maximum in every replica had put the interval below κ (coverage 50/60 on the default game).
Coupled relaxation pairs of an OU process carry no noise.
"""
from __future__ import annotations

import itertools
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .games.validate import integer, number
from .jsontypes import plain

SOKAL_C = 5.0  # Sokal's window constant: the smallest M with M ≥ c·τ(M)
MIN_TAUS = 50.0  # emcee: an IAT is trusted only when the chains span ≥ 50 τ
N_NOISE = 24  # random-sign noise replicas that set a pencil's order from the data


# --------------------------------------------------------------------------- config
MIXING_KEYS = ("relaxation", "relaxation_t_end", "relaxation_spread", "relaxation_starts",
               "relaxation_chains", "lag", "degree", "bootstrap", "level", "fokker_planck", "fp_grid")


@dataclass(frozen=True)
class MixingOptions:
    """The ``[mixing]`` config section, validated, with defaults filled in.

    Attributes
    ----------
    relaxation : bool
        Run the relaxation experiment (:func:`relaxation_run`) after the main run
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
        EDMD polynomial degree (default :func:`default_degree`).
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


# --------------------------------------------------------------------------- results
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


@dataclass
class DecayFit:
    """Shared damped complex exponentials fitted to curves by a matrix pencil.

    ``y_i(n Δ) ≈ Re Σ_k c_ik e^{λ_k n Δ}``.

    Attributes
    ----------
    poles : ndarray of complex
        Continuous-time exponents ``λ_k = log(z_k)/Δ``, slowest (largest real part) first.
    amplitudes : ndarray (n_curves, order) of complex
    energy : ndarray
        Share of the fitted signal carried by each pole (sums to 1).
    order : int
    singular_values : ndarray
        Of the block Hankel matrix (normalised by the largest).
    noise_level : float
        Largest singular value of the noise replicas (same normalisation), or NaN.
    rate : float
        ``−Re λ`` of the dominant decaying pole (largest share of the fitted signal; NaN if
        no pole decays).
    frequency : float
        ``|Im λ|`` of that pole (0 for a real, non-oscillating mode).
    growing : bool
        True if the pole carrying most of the signal does not decay: no mixing seen.
    """

    poles: np.ndarray
    amplitudes: np.ndarray
    energy: np.ndarray
    order: int
    singular_values: np.ndarray
    noise_level: float
    rate: float
    frequency: float
    growing: bool


@dataclass
class IntegratedTime:
    """Integrated autocorrelation time of one observable (Sokal's automatic window).

    Attributes
    ----------
    tau : float
        ``τ = 1 + 2 Σ_{k=1}^{M} ρ(k)`` in kept draws.
    tau_time : float
        ``τ`` times the draw spacing: SDE time (≈ ``2∫ρ(t)dt``; an upper bound when τ ≈ 1,
        i.e. when the draws are already nearly independent).
    window : int
        Sokal's window ``M`` (smallest with ``M ≥ c τ(M)``, ``c = 5``).
    n_draws : int
        Draws per chain.
    reliable : bool
        ``n_draws ≥ 50 τ`` (emcee's rule).
    ess : float
        ``chains × n_draws / τ``.
    """

    tau: float
    tau_time: float
    window: int
    n_draws: int
    reliable: bool
    ess: float


# --------------------------------------------------------------------------- basic statistics
def _live_draws(result) -> np.ndarray:
    """(live kept chains, n_draws, d) kept draws of chains that never stopped."""
    keep = result.alive[: result.draws.shape[0]]
    return result.draws[keep]


def autocovariance(series, mean=None, unbiased: bool = False) -> np.ndarray:
    """Per-chain autocovariance functions about a common mean, by FFT.

    Parameters
    ----------
    series : array_like (chains, n)
    mean : float, optional
        Centre (default: the mean over all chains: every chain samples the same law).
    unbiased : bool
        Divide lag ``k`` by ``n − k`` (for decay fits) instead of ``n`` (positive definite,
        for integrated times).

    Returns
    -------
    ndarray (chains, n)
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    n = x.shape[1]
    y = x - (np.mean(x) if mean is None else mean)
    f = np.fft.rfft(y, n=2 * n, axis=1)
    ac = np.fft.irfft(f * np.conj(f), n=2 * n, axis=1)[:, :n]
    return ac / (n - np.arange(n) if unbiased else n)


def acf(series, unbiased: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Chain-averaged autocorrelation function and its standard error.

    The autocovariances of the chains (about the common mean) are averaged before
    normalising by the lag-0 value, so short chains are pooled, not averaged as ratios.

    Parameters
    ----------
    series : array_like (chains, n)
    unbiased : bool
        See :func:`autocovariance`.

    Returns
    -------
    rho : ndarray (n,)
    se : ndarray (n,)
        Standard error of ``rho`` from the spread across independent chains (NaN for one chain).
    """
    ac = autocovariance(series, unbiased=unbiased)
    c0 = ac[:, 0].mean()
    rho = ac.mean(0) / c0
    se = ac.std(0, ddof=1) / np.sqrt(ac.shape[0]) / c0 if ac.shape[0] > 1 else np.full(ac.shape[1], np.nan)
    return rho, se


def integrated_time(series, dt: float = 1.0, c: float = SOKAL_C) -> IntegratedTime:
    """Integrated autocorrelation time with Sokal's automatic window (as emcee).

    The autocovariance is averaged over chains before normalising and integrating.  The
    window is the smallest ``M`` with ``M ≥ c·τ_abs(M)``, ``τ_abs(M) = 1 + 2Σ_{k≤M}|ρ(k)|``:
    for a positive autocorrelation this is Sokal's rule ``M ≥ c·τ(M)``; for an oscillating
    one (complex eigenvalues, non-reversible dynamics) ``τ`` is small by cancellation while
    the correlations last as long as their envelope, and Sokal's plain rule stops inside
    the first negative lobe (on the default example it misses τ by up to 25 %).

    Parameters
    ----------
    series : array_like (chains, n)
        One observable along each chain (kept draws, equally spaced).
    dt : float
        SDE time between draws.
    c : float
        Window constant.

    Returns
    -------
    IntegratedTime
        ``reliable`` is emcee's rule ``n ≥ 50 τ``, applied to ``max(τ, τ_abs(M))``.
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    ac = autocovariance(x).mean(0)
    n = x.shape[1]
    if not ac[0] > 0:
        return IntegratedTime(float("nan"), float("nan"), 0, n, False, float("nan"))
    rho = ac / ac[0]
    taus = 2.0 * np.cumsum(rho) - 1.0
    tabs = 2.0 * np.cumsum(np.abs(rho)) - 1.0
    m = np.arange(len(taus)) < c * tabs
    M = int(np.argmin(m)) if np.any(~m) else len(taus) - 1
    tau = float(max(taus[M], 1e-12))
    return IntegratedTime(tau, tau * dt, M, n, bool(n >= MIN_TAUS * max(tau, tabs[M])), x.size / tau)


# --------------------------------------------------------------------------- decay fits
def _hankel(curves: np.ndarray, cols: int) -> np.ndarray:
    """Block Hankel matrix: the Hankel matrices of the curves stacked vertically."""
    return np.vstack([np.lib.stride_tricks.sliding_window_view(y, cols) for y in curves])


def _pencil_poles(curves: np.ndarray, order: int, cols: int):
    Y = _hankel(curves, cols)
    _, S, Vh = np.linalg.svd(Y, full_matrices=False)
    V = Vh[:order].conj().T
    z = np.linalg.eigvals(np.linalg.pinv(V[:-1]) @ V[1:])
    return z, S


def fit_decay(curves, dt: float, order: int | None = 2, noise=None, max_order: int = 8) -> DecayFit:
    """Fit curves by shared damped complex exponentials (matrix pencil, Hua & Sarkar 1990).

    Every curve is modelled as ``Re Σ_k c_ik z_k^n`` with poles ``z_k`` shared by all curves
    (eigenvalues of the dynamics); oscillating decay (complex pairs), several modes and
    non-normal transients (sums of exponentials) are all of this form.  The headline pole is
    the *dominant* decaying one (largest share of the fitted signal): poles that fit noise
    carry little of it, whereas the slowest pole is often one of them.

    Parameters
    ----------
    curves : array_like (n_curves, L) or (L,)
        Samples at times ``0, Δ, …, (L−1)Δ``.
    dt : float
        Spacing Δ.
    order : int or None
        Number of poles.  The default 2 is one damped oscillation ``A e^{−κt}cos(ωt + φ)``
        (or two real exponentials), the model of a tail in which the slowest mode
        dominates.  None: the singular values of the block Hankel matrix that stand above
        the largest singular value of the ``noise`` replicas (at least 2), capped at
        ``max_order`` (``max_order`` when ``noise`` is not given either).
    noise : array_like (replicas, n_curves, L), optional
        Curves of pure noise with the estimate's noise level (random-sign combinations of
        the per-chain curves), for ``order=None``.
    max_order : int

    Returns
    -------
    DecayFit
    """
    Y = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    L = Y.shape[1]
    cols = max(2, L // 2)
    S = np.linalg.svd(_hankel(Y, cols), compute_uv=False)
    noise_level = float("nan")
    if noise is not None:
        noise = np.asarray(noise, dtype=np.float64)
        noise_level = max(float(np.linalg.svd(_hankel(nz, cols), compute_uv=False)[0]) for nz in noise) / S[0]
    cap = int(max(1, min(max_order, cols - 1, Y.shape[0] * (L - cols + 1))))
    if order is None:
        order = int(np.sum(S / S[0] > noise_level)) if np.isfinite(noise_level) else cap
        # a real signal's oscillating mode needs a conjugate pair
        order = max(order, 2)
    order = int(min(max(order, 1), cap))
    z, _ = _pencil_poles(Y, order, cols)
    return _finish_fit(Y, z, dt, order, S / S[0], noise_level)


def _finish_fit(Y, z, dt, order, svals, noise_level, near=None) -> DecayFit:
    L = Y.shape[1]
    n = np.arange(L)
    with np.errstate(all="ignore"):
        Z = z[None, :] ** n[:, None]
        c, *_ = np.linalg.lstsq(Z, Y.T.astype(complex), rcond=None)  # (order, n_curves)
        e = np.sum(np.abs(c) ** 2, axis=1) * np.sum(np.abs(Z) ** 2, axis=0)
        lam = np.log(z.astype(complex)) / dt
    e = np.where(np.isfinite(e), e, np.inf)
    energy = e / e.sum() if np.isfinite(e.sum()) and e.sum() > 0 else np.full(order, 1.0 / order)
    idx = np.argsort(-lam.real)
    lam, c, energy = lam[idx], c[idx], energy[idx]
    # no decay: the pole carrying most of the signal does not decay
    growing = bool(not lam[int(np.argmax(energy))].real < 0)
    ok = np.isfinite(lam) & (lam.real < 0)
    if np.any(ok):
        cand = np.flatnonzero(ok)
        # the dominant decaying pole, or (bootstrap) the one nearest the full-data pole
        k = int(cand[np.argmin(np.abs(lam[cand] - near))] if near is not None else cand[np.argmax(energy[cand])])
        rate, freq = float(-lam[k].real), float(abs(lam[k].imag))
    else:
        rate, freq = float("nan"), float("nan")
    return DecayFit(lam, c.T, energy, order, svals, noise_level, rate, freq, growing)


def _refit_rate(Y, dt, order, cols, near) -> float:
    try:
        z, S = _pencil_poles(Y, order, cols)
    except np.linalg.LinAlgError:
        return float("nan")
    return _finish_fit(Y, z, dt, order, S, float("nan"), near).rate


def _sign_noise(per_chain: np.ndarray, rng, replicas: int = N_NOISE) -> np.ndarray:
    """Noise replicas of a chain average: ``Σ_c s_c (y_c − ȳ)/C`` with random signs ``s_c``."""
    C = per_chain.shape[0]
    dev = per_chain - per_chain.mean(0)
    s = rng.choice([-1.0, 1.0], size=(replicas, C))
    return np.einsum("rc,c...->r...", s, dev) / C


def _bootstrap_fit(per_chain, fit: DecayFit, dt, n_boot, rng) -> np.ndarray:
    """Refit on chain-bootstrap replicas of the chain-averaged curves (same order); in each,
    the pole nearest the full-data one is followed (no switching between modes)."""
    C = per_chain.shape[0]
    cols = max(2, per_chain.shape[-1] // 2)
    near = complex(-fit.rate, fit.frequency) if np.isfinite(fit.rate) else None
    out = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, C, C)
        out[b] = _refit_rate(per_chain[idx].mean(0), dt, fit.order, cols, near)
    return out


# bootstrap interval: "percentile", or "bc" (bias-corrected percentile).  BC helps a
# smooth, biased estimator but misfires on the bimodal replica sets a decay fit can give
# (switching between modes), so percentile is the default.
INTERVAL = "percentile"


def _interval(boot, level, est=None) -> tuple[tuple, float]:
    """Bootstrap interval at ``level`` and the share of finite replicas.

    With the point estimate ``est``, the bias-corrected percentile interval (Efron 1981):
    the percentiles ``Φ(2z₀ ± z_{α/2})`` with ``z₀ = Φ⁻¹(share of replicas below est)``,
    which moves the interval against the estimator's own bias.  (EDMD's upward bias of
    ``|λ₂|`` when several eigenvalues share the largest modulus is a selection effect that
    the bootstrap cannot estimate when replicas re-select; :func:`edmd_rate` follows the mode
    instead.)
    """
    from scipy.stats import norm

    ok = np.isfinite(boot)
    frac = float(ok.mean()) if boot.size else 0.0
    if ok.sum() < 10:
        return (float("nan"), float("nan")), frac
    b = boot[ok]
    a = (1 - level) / 2
    q = np.array([a, 1 - a])
    if est is not None and np.isfinite(est) and INTERVAL == "bc":
        share = (np.sum(b < est) + 0.5 * np.sum(b == est)) / b.size
        z0 = norm.ppf(np.clip(share, 0.5 / b.size, 1 - 0.5 / b.size))
        q = norm.cdf(2 * z0 + norm.ppf(q))
    lo, hi = np.quantile(b, q)
    return (float(lo), float(hi)), frac


# --------------------------------------------------------------------------- observables
def observables(result, max_evals: int = 40000) -> dict:
    """Observables along the kept draws of live chains: coordinates, ``g`` and ``|x|²``.

    ``g`` is evaluated on the kept draws (no simulation), on at most ``max_evals`` states
    (the first chains).

    Returns
    -------
    dict
        name → ndarray (chains, n_draws).
    """
    x = _live_draws(result)
    game = result.game
    out = {name: x[:, :, i] for i, name in enumerate(game.param_names)}
    out["|x|²"] = np.sum(x**2, axis=-1)
    n_ch = int(max(2, min(x.shape[0], max_evals // max(1, x.shape[1]))))
    xs = x[:n_ch]
    loss, p, data = game.module.loss, game.params, game.data
    g = np.empty(xs.shape[:2])
    for c in range(xs.shape[0]):
        for j in range(xs.shape[1]):
            g[c, j] = loss(xs[c, j], p, data)
    out["g"] = g
    return out


def draw_spacing(result) -> float:
    """SDE time between kept draws."""
    c = result.config
    return float(c.thin * c.step_time)


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
        Poles of the decay fit (:func:`fit_decay`; 2 = one damped oscillation).
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
    x = np.asarray(x, dtype=np.float64)
    C, n, d = x.shape
    mean = x.reshape(-1, d).mean(0)
    ac = np.stack([autocovariance(x[:, :, i], mean=mean[i], unbiased=True) for i in range(d)], axis=1)
    per_chain = ac / ac[:, :, :1].mean(0)[None]  # (C, d, n)
    rho = per_chain.mean(0)
    se = per_chain.std(0, ddof=1) / np.sqrt(C)
    i0, L = _fit_window(rho, se, head=head)
    pc = per_chain[:, :, i0:L]
    fit = fit_decay(pc.mean(0), dt, order=order)
    boot = _bootstrap_fit(pc, fit, dt, n_boot, rng)
    interval, frac = _interval(boot, level, fit.rate)
    return fit.rate, interval, fit, {"window": [i0 * dt, (L - 1) * dt], "bootstrap_ok": frac}


def autocorrelation_rate(result, level: float = 0.95, n_boot: int = 200, seed: int = 0, obs: dict | None = None):
    """κ from the decay of the coordinates' autocorrelation functions (method 1).

    The chain-averaged autocorrelation functions of all coordinates (autocovariances about
    the common mean averaged over chains, then normalised) are fitted jointly by
    :func:`fit_decay` with one damped oscillation ``e^{−κt}cos(ωt + φ)`` shared by all
    coordinates (amplitudes and phases free), on the lags from where the envelope has
    halved (faster modes gone) to where it sinks into noise; the interval comes from
    refitting on chain-bootstrap replicas.  The same pass gives, for every observable
    (coordinates, ``g``, ``|x|²``), the integrated time (:func:`integrated_time`), ESS and
    R-hat (arviz) and the observable's own decay rate (``g`` and ``|x|²`` decay at sums of
    eigenvalues, ``2κ`` for a centred OU process, or at ``κ`` through a non-zero mean).

    Parameters
    ----------
    result : RunResult
    level : float
        Interval level.
    n_boot : int
        Bootstrap replicas.
    seed : int
    obs : dict, optional
        Precomputed :func:`observables`.

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
    from ._arviz import arviz as az

    rng = np.random.default_rng(seed)
    obs = observables(result) if obs is None else obs
    dt = draw_spacing(result)
    names = list(result.game.param_names)
    diagnostics = {}
    for name, s in obs.items():
        it = integrated_time(s, dt)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            ds = az.convert_to_dataset({"o": s})
            ess_bulk = float(az.ess(ds, method="bulk")["o"])
            ess_tail = float(az.ess(ds, method="tail")["o"])
            rhat = float(az.rhat(ds)["o"]) if s.shape[0] > 1 else float("nan")
        entry = {"iat": it.tau_time, "iat_draws": it.tau, "window": it.window, "reliable": it.reliable,
                 "ess": it.ess, "ess_bulk": ess_bulk, "ess_tail": ess_tail, "rhat": rhat}
        if s.shape[0] >= 2 and s.shape[1] >= 16:
            with np.errstate(all="ignore"):
                r1, _, f1, _ = acf_rate(s[:, :, None], dt, n_boot=0, rng=rng)
            entry.update(rate=r1, frequency=f1.frequency)
        diagnostics[name] = entry
    # the engine's streaming accumulators (every booked step, all live chains) for the means
    live = result.alive & (result.acc_n > 0)
    if np.any(live):
        w = result.acc_n[live].astype(float)
        streamed = (result.obs_chain_means()[live] * w[:, None]).sum(0) / w.sum()
        for name, key in (("g", "g"), ("|x|²", "r2")):
            if name in diagnostics and key in result.obs_names:
                diagnostics[name]["mean_streamed"] = float(streamed[list(result.obs_names).index(key)])
    x = np.stack([obs[n] for n in names], axis=-1)  # (C, n, d)
    C, n, d = x.shape
    nan2 = (float("nan"), float("nan"))
    if C < 2 or n < 16:
        return (RateEstimate("autocorrelation", float("nan"), nan2, level, False,
                             "fewer than two live kept chains or 16 draws"), diagnostics)
    rate, interval, fit, info = acf_rate(x, dt, level, n_boot, rng)
    w0, w1 = info["window"]
    reliable, notes = True, [f"one damped oscillation fitted (matrix pencil) to the autocorrelations of {d} "
                             f"coordinates at lags {w0:.3g} to {w1:.3g}"]
    if not np.isfinite(rate) or fit.growing:
        reliable = False
        notes.append("no decaying mode found (a significant pole does not decay)")
    if info["bootstrap_ok"] < 0.9:
        reliable = False
        notes.append(f"only {info['bootstrap_ok']:.0%} of bootstrap refits found a decaying mode")
    if np.isfinite(rate) and rate * dt > 1.5:
        reliable = False
        notes.append(f"draws {dt:.3g} apart are too sparse for a decay at rate {rate:.3g}; keep more draws")
    if np.isfinite(rate) and rate * (w1 - w0) < 1.0:
        reliable = False
        notes.append("the autocorrelation is above noise over less than one decay time; run longer")
    details = {"window": info["window"], "order": fit.order, "frequency": fit.frequency,
               "poles": fit.poles, "energy": fit.energy, "bootstrap_ok": info["bootstrap_ok"]}
    return RateEstimate("autocorrelation", rate, interval, level, reliable, "; ".join(notes), details), diagnostics


# --------------------------------------------------------------------------- spectral (EDMD)
def poly_basis(x, degree: int) -> np.ndarray:
    """Monomials of the coordinates up to ``degree`` (constant first).

    Parameters
    ----------
    x : ndarray (..., d)
        Standardised coordinates.
    degree : int

    Returns
    -------
    ndarray (..., n_basis)
    """
    d = x.shape[-1]
    cols = [np.ones(x.shape[:-1])]
    for k in range(1, degree + 1):
        for idx in itertools.combinations_with_replacement(range(d), k):
            cols.append(np.prod(x[..., list(idx)], axis=-1))
    return np.stack(cols, axis=-1)


def default_degree(d: int) -> int:
    """EDMD basis degree: 4 for d ≤ 2, 2 for d ≤ 8, else 1 (linear functions)."""
    return 4 if d <= 2 else 2 if d <= 8 else 1


def _edmd_eigs(G, A) -> np.ndarray:
    """Eigenvalues of the EDMD matrix ``G⁻¹A`` without the one of the constant function
    (the eigenvalue nearest 1); empty when the system is singular."""
    try:
        K = np.linalg.lstsq(G, A, rcond=None)[0]
        mu = np.linalg.eigvals(K)
    except np.linalg.LinAlgError:
        return np.array([], dtype=complex)
    return np.delete(mu, int(np.argmin(np.abs(mu - 1.0))))


def _edmd_second(G, A) -> tuple[complex, np.ndarray]:
    """Eigenvalues of the EDMD matrix ``G⁻¹A``; the second largest in modulus (the
    constant function gives exactly 1)."""
    try:
        K = np.linalg.lstsq(G, A, rcond=None)[0]
        mu = np.linalg.eigvals(K)
    except np.linalg.LinAlgError:
        return complex("nan"), np.array([])
    i1 = int(np.argmin(np.abs(mu - 1.0)))
    rest = np.delete(mu, i1)
    if rest.size == 0:
        return complex("nan"), mu
    return rest[int(np.argmax(np.abs(rest)))], mu


def _edmd_follow(G, A, target: complex) -> complex:
    """In a bootstrap replica, the EDMD eigenvalue nearest ``target`` (the full-data λ₂):
    the replica follows the selected mode instead of re-selecting the largest modulus."""
    rest = _edmd_eigs(G, A)
    if rest.size == 0 or not np.isfinite(target):
        return complex("nan")
    return complex(rest[int(np.argmin(np.abs(rest - target)))])


def edmd_rate(x, dt: float, k: int, degree: int, level: float = 0.95, n_boot: int = 200,
              rng=None, track: bool = True) -> tuple[float, tuple, complex, np.ndarray, float]:
    """EDMD estimate of κ from chains ``x`` at a lag of ``k`` draws.

    Parameters
    ----------
    x : ndarray (chains, n, d)
    dt : float
        Time between draws.
    k : int
        Lag in draws.
    degree : int
        Monomial degree of the basis (coordinates standardised by their mean and sd).
    level, n_boot, rng
        Interval level, chain-bootstrap replicas, generator.
    track : bool
        Bootstrap replicas follow the selected mode (the eigenvalue nearest the full-data
        λ₂) instead of re-selecting the largest modulus (``False``, the former behaviour).

    Returns
    -------
    rate, interval, lambda2, eigenvalues, bootstrap_ok

    Notes
    -----
    λ₂ is the largest modulus among several estimated eigenvalues.  When modes tie or
    nearly tie in modulus — every bilinear game with complex eigenvalues: all eigenvalues
    of its drift share one real part, so the degree-1 eigenvalues ``e^{λ_j τ}`` of the
    transition operator all have modulus ``e^{−κτ}`` — the maximum of their noisy estimates
    is biased upwards (κ downwards; −0.8 % on the default game, half a standard error).  A
    bootstrap that re-selects the maximum in every replica repeats that selection around
    the already selected value, shifting the percentile interval by about the bias again and
    narrowing it to the spread of a maximum: on the default game it covered the exact κ in
    only 50 of 60 seeds.  Following the selected mode instead gives the sampling law of that
    mode's eigenvalue; its interval covers that mode's rate κ_j ≥ κ with the nominal
    probability, and since the selected estimate is the smallest of the modes' estimates it
    misses κ from above only when some tied mode's estimate falls below its own interval
    (probability ≈ (number of tied modes) × α/2; conjugate pairs count once): 38 of 40
    seeds on the default game, 38 of 40 on the non-normal one (no tie; both versions agree).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    C, n, d = x.shape
    tau = k * dt
    m = x.reshape(-1, d).mean(0)
    s = x.reshape(-1, d).std(0)
    s = np.where(s > 0, s, 1.0)
    psi = poly_basis((x - m) / s, degree)
    a, b = psi[:, :-k], psi[:, k:]
    G = np.einsum("cnj,cnl->cjl", a, a)  # per-chain Gram matrices: the bootstrap resamples them
    A = np.einsum("cnj,cnl->cjl", a, b)
    mu2, mu = _edmd_second(G.sum(0), A.sum(0))
    rate = float(-np.log(abs(mu2)) / tau) if abs(mu2) > 0 else float("inf")
    boot = np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, C, C)
        m2 = _edmd_follow(G[idx].sum(0), A[idx].sum(0), mu2) if track else _edmd_second(G[idx].sum(0), A[idx].sum(0))[0]
        boot[i] = -np.log(abs(m2)) / tau if abs(m2) > 0 else np.nan
    interval, frac = _interval(boot, level, rate)
    return rate, interval, mu2, mu, frac


def _edmd_frequency(x, dt: float, k: int, degree: int, lam2: complex) -> float:
    """Angular frequency of the EDMD mode ``lam2`` (found at a lag of ``k`` draws), resolved
    at a lag of one draw.

    ``|arg λ₂|/τ`` is aliased once ``ωτ > π`` — at the usual lag ``τ ≈ 1/κ`` whenever
    ``ω > πκ``, i.e. in every weakly damped oscillation — and the Euler–Maruyama mapping
    (:func:`em_correction`, which shifts the rate by about ``h(ω² − κ²)/2``) then uses a
    wrong ω.  At one draw spacing ``Δ`` the eigenvalue ``ν`` of the same mode has
    ``ν^k ≈ λ₂`` and ``arg ν = ωΔ`` is unambiguous for ``ω < π/Δ`` (beyond which no
    estimator on these draws resolves ω)."""
    if not np.isfinite(lam2):
        return float("nan")
    if k == 1:
        return float(abs(np.angle(lam2)) / dt)
    C, n, d = x.shape
    m = x.reshape(-1, d).mean(0)
    s = x.reshape(-1, d).std(0)
    s = np.where(s > 0, s, 1.0)
    psi = poly_basis((x - m) / s, degree)
    a, b = psi[:, :-1].reshape(-1, psi.shape[-1]), psi[:, 1:].reshape(-1, psi.shape[-1])
    nu = _edmd_eigs(a.T @ a, a.T @ b)
    if nu.size == 0:
        return float(abs(np.angle(lam2)) / (k * dt))
    j = int(np.argmin(np.abs(nu**k - lam2)))
    return float(abs(np.angle(nu[j])) / dt)


def spectral_rate(result, lag: float | None = None, degree: int | None = None, level: float = 0.95,
                  n_boot: int = 200, seed: int = 0, rate_hint: float | None = None) -> RateEstimate:
    """κ from an EDMD estimate of the transition operator at a lag (method 3).

    The basis is the monomials (up to ``degree``) of the coordinates standardised by their
    stationary mean and standard deviation; the Galerkin matrix of the transition operator
    ``P_τ`` on it is ``K = G⁻¹A`` with ``G = E[ψ(x_s)ψ(x_s)ᵀ]``, ``A = E[ψ(x_s)ψ(x_{s+τ})ᵀ]``
    over all pairs of kept draws τ apart.  The constant function gives the eigenvalue 1;
    ``κ = −log|λ₂|/τ`` from the next largest in modulus.  For an OU process and a basis of
    degree ≥ 1 this is exact (the polynomials of degree ≤ k are invariant); for a nonlinear
    game it is biased where the slowest eigenfunction is not in the span of the basis, less
    so at longer lags.  The interval comes from chain-bootstrap replicas of the per-chain
    Gram matrices, each following the selected mode (see :func:`edmd_rate`).  The mode's
    frequency (``details["frequency"]``, used to map an Euler–Maruyama chain's rate to the
    SDE) is resolved at a lag of one draw (:func:`_edmd_frequency`): ``arg λ₂/τ`` is aliased
    once ``ωτ > π``.

    Parameters
    ----------
    result : RunResult
    lag : float, optional
        τ in SDE time, rounded to a whole number of draw spacings.  Default: ``1/rate_hint``
        (about one decay time), else 5 draws.
    degree : int, optional
        Basis degree (default :func:`default_degree`).
    level, n_boot, seed
        Interval level, bootstrap replicas, seed.
    rate_hint : float, optional
        A first estimate of κ to set the default lag.

    Returns
    -------
    RateEstimate
    """
    rng = np.random.default_rng(seed)
    x = _live_draws(result)
    dt = draw_spacing(result)
    C, n, d = x.shape
    nan2 = (float("nan"), float("nan"))
    if C < 2 or n < 8:
        return RateEstimate("spectral", float("nan"), nan2, level, False, "fewer than two live kept chains or 8 draws")
    if lag is None:
        lag = 1.0 / rate_hint if rate_hint and np.isfinite(rate_hint) and rate_hint > 0 else 5 * dt
    k = int(min(max(1, round(lag / dt)), n // 4))
    tau = k * dt
    degree = default_degree(d) if degree is None else int(degree)
    rate, interval, mu2, mu, frac = edmd_rate(x, dt, k, degree, level, n_boot, rng)
    n_basis = math.comb(d + degree, degree)
    notes = [f"EDMD on {n_basis} monomials of degree ≤ {degree}, lag {tau:.3g}"]
    reliable = True
    if not (np.isfinite(rate) and abs(mu2) < 1):
        reliable = False
        notes.append("|λ₂| ≥ 1: no decay seen at this lag")
    if abs(mu2) < 0.02:
        reliable = False
        notes.append(f"|λ₂| = {abs(mu2):.2g}: the lag is too long for the data to resolve the decay")
    if frac < 0.9:
        reliable = False
        notes.append(f"only {frac:.0%} of bootstrap refits gave a finite rate")
    freq = _edmd_frequency(x, dt, k, degree, mu2)
    details = {"lag": tau, "degree": degree, "n_basis": n_basis, "lambda2": mu2,
               "frequency": freq, "eigenvalues": mu[np.argsort(-np.abs(mu))][:8], "bootstrap_ok": frac}
    return RateEstimate("spectral", rate, interval, level, reliable, "; ".join(notes), details)


# --------------------------------------------------------------------------- relaxation
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


RELAX_DIR = "relaxation"


def relaxation_starts(center, cov, spread: float, n_starts: int) -> np.ndarray:
    """Dispersed starting points in antithetic pairs: ``center ± spread·sqrt(λ_i) v_i`` along
    the principal axes of ``cov`` (largest first), ``n_starts`` of them (``+`` before ``−``)."""
    center = np.asarray(center, dtype=np.float64)
    w, V = np.linalg.eigh(np.atleast_2d(cov))
    order = np.argsort(-w)
    pts = []
    for k in range(n_starts):
        i = order[(k // 2) % len(order)]
        r = spread * (1 + k // (2 * len(order)))  # beyond 2d starts: further out on the same axes
        pts.append(center + (1.0 if k % 2 == 0 else -1.0) * r * math.sqrt(max(w[i], 0.0)) * V[:, i])
    return np.array(pts)


def relaxation_run(cfg, out=None, center=None, cov=None, progress: bool = False) -> list:
    """The relaxation experiment: one run per dispersed starting point (method 2).

    Each run is its own :func:`invariant.engine.simulate` call with the main config but
    ``x0`` = the starting point, ``init_scale = 0``, ``t_burn = 0``, ``t_end =
    mixing.relaxation_t_end`` and ``chains = mixing.relaxation_chains``; its kept draws give
    the law at each kept time.  The starts come in antithetic pairs ``m ± v``
    (:func:`relaxation_starts`) and the two runs of a pair share their seed, so chain ``c``
    of both is driven by the same noise (synchronous coupling): the half-difference of
    their means has the same expectation as without coupling, but far less noise.  Runs
    are saved in ``out/relaxation/start<j>/`` (with ``starts.json``).

    Parameters
    ----------
    cfg : Config
        The main run's config; ``cfg.mixing`` holds the relaxation keys.
    out : path, optional
        The main run's folder.
    center, cov : array_like, optional
        Stationary mean and covariance (from the main run) that place the starts at
        ``relaxation_spread`` standard deviations; default ``cfg.x0`` and
        ``cfg.init_scale² I``.
    progress : bool

    Returns
    -------
    list of RunResult
    """
    from . import config as config_mod
    from . import engine

    mx = cfg.mixing
    center, starts = _start_points(cfg, center, cov)
    folder = None if out is None else Path(out) / RELAX_DIR
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "starts.json").write_text(json.dumps({"starts": starts.tolist(), "center": center.tolist(),
                                                         "spread": mx.relaxation_spread}))
    runs = []
    for j, x0 in enumerate(starts):
        table = json.loads(json.dumps(cfg.resolved))
        sim = table["simulation"]
        sim.update(x0=x0.tolist(), init_scale=0.0, t_burn=0.0, t_end=mx.relaxation_t_end,
                   chains=mx.relaxation_chains, keep_chains=mx.relaxation_chains,
                   seed=int(cfg.seed) + 1000003 * (j // 2 + 1))
        table.setdefault("mixing", {})["relaxation"] = False
        sub = config_mod.from_dict(table)
        runs.append(engine.simulate(sub, None if folder is None else folder / f"start{j}", progress=progress))
    return runs


def _start_points(cfg, center, cov):
    d = cfg.game.d
    center = cfg.x0 if center is None else np.asarray(center, dtype=np.float64)
    cov = (max(cfg.init_scale, 1e-3) ** 2) * np.eye(d) if cov is None else np.asarray(cov, dtype=np.float64)
    return center, relaxation_starts(center, cov, cfg.mixing.relaxation_spread, cfg.mixing.relaxation_starts)


def load_relaxation(out) -> list:
    """The relaxation runs saved in ``out/relaxation/`` (empty list if none)."""
    from . import engine

    folder = Path(out) / RELAX_DIR
    if not folder.is_dir():
        return []
    subs = sorted((p for p in folder.iterdir() if p.name.startswith("start") and (p / "config.json").exists()),
                  key=lambda p: int(p.name[5:]))
    return [engine.load(p) for p in subs]


def _pairs(runs) -> list:
    """Indices ``(j, j+1)`` of antithetic pairs (same seed, starts symmetric about a centre)."""
    out = []
    for j in range(0, len(runs) - 1, 2):
        a, b = runs[j].config, runs[j + 1].config
        if a.seed == b.seed and a.chains == b.chains:
            out.append((j, j + 1))
    return out


def relaxation_curves(runs, stationary) -> Relaxation:
    """Distance of the law at each kept time to the stationary law, per starting point.

    Parameters
    ----------
    runs : list of RunResult
        From :func:`relaxation_run` (all with the same kept times).
    stationary : RunResult
        The main run (its kept draws give the stationary law).

    Returns
    -------
    Relaxation
    """
    ref = _live_draws(stationary).reshape(-1, stationary.game.d)
    ref = ref[np.all(np.isfinite(ref), axis=1)]
    mean, P = stationary.pooled_moments()
    n_t = min(r.draws.shape[1] for r in runs)
    t = runs[0].draw_t[:n_t]
    d = ref.shape[1]
    ME, SE, CE, W = [], [], [], []
    Pn = np.linalg.norm(P)
    for r in runs:
        x = _live_draws(r)[:, :n_t]  # (C, n_t, d)
        C = x.shape[0]
        ME.append(x.mean(0) - mean)
        SE.append(x.std(0, ddof=1) / np.sqrt(C) if C > 1 else np.full((n_t, d), np.nan))
        dev = x - x.mean(0)
        cov_t = np.einsum("cti,ctj->tij", dev, dev) / max(C - 1, 1)
        CE.append(np.linalg.norm(cov_t - P, axis=(1, 2)) / Pn)
        levels = (np.arange(C) + 0.5) / C
        q = np.quantile(ref, levels, axis=0)  # (C, d)
        W.append(np.mean(np.abs(np.sort(x, axis=0) - q[:, None, :]), axis=0))
    C = _live_draws(runs[0]).shape[0]
    rng = np.random.default_rng(1)
    q = np.quantile(ref, (np.arange(C) + 0.5) / C, axis=0)
    floor = np.mean([np.mean(np.abs(np.sort(ref[rng.integers(0, len(ref), C)], axis=0) - q), axis=0)
                     for _ in range(20)], axis=0)
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


def _paired(ra, rb, n_t):
    """Draws of the chains alive in both runs of a pair, chain by chain."""
    ka = ra.alive[: ra.draws.shape[0]]
    kb = rb.alive[: rb.draws.shape[0]]
    both = ka & kb
    return ra.draws[both, :n_t], rb.draws[both, :n_t]


def relaxation_rate(runs, stationary, level: float = 0.95, n_boot: int = 200, seed: int = 0,
                    order: int | None = None, head: float = 1 / np.e) -> tuple[RateEstimate, Relaxation]:
    """κ from the relaxation of ensembles started at dispersed points (method 2).

    For each antithetic pair of starts ``m ± v`` (common noise, :func:`relaxation_run`) the
    half-difference of the ensemble means, ``(E_{m+v}[X_t] − E_{m−v}[X_t])/2``, is a sum of
    ``e^{λ_k t}`` over the generator's eigenvalues (exactly ``e^{At}v`` for an OU process);
    a start without a partner contributes ``E_x[X_t] − m``.  All these curves (every pair,
    every coordinate, scaled by the stationary standard deviations) are fitted jointly by
    :func:`fit_decay`, from the time their size has fallen to 1/e of its maximum (faster
    modes have decayed) to where it sinks below three standard errors.  The interval comes
    from refitting on bootstrap replicas that resample chains (pairs of coupled chains
    together).  W1 of the marginals and the covariance error are returned as curves; a
    log-linear fit of the summed W1 above its noise floor is reported in
    ``details["w1_rate"]``.

    Parameters
    ----------
    runs : list of RunResult
        The relaxation runs (:func:`relaxation_run` / :func:`load_relaxation`).
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
    nan2 = (float("nan"), float("nan"))
    if len(t) < 16:
        return RateEstimate("relaxation", float("nan"), nan2, level, False, "fewer than 16 kept times"), curves
    dt_draw = float(t[1] - t[0])
    mean, P = stationary.pooled_moments()
    d = len(mean)
    sd = np.sqrt(np.clip(np.diag(P), 1e-300, None))
    n_t = len(t)
    # per-chain curves (C, n_curves, n_t): paired half-differences, then unpaired starts
    blocks = []
    paired = set()
    for a, b in _pairs(runs):
        xa, xb = _paired(runs[a], runs[b], n_t)
        blocks.append(0.5 * (xa - xb) / sd)
        paired.update((a, b))
    for j, r in enumerate(runs):
        if j not in paired:
            blocks.append((_live_draws(r)[:, :n_t] - mean) / sd)
    C = min(b.shape[0] for b in blocks)
    if C < 2:
        return RateEstimate("relaxation", float("nan"), nan2, level, False, "fewer than two live chains per start"), curves
    Y = np.concatenate([np.transpose(b[:C], (0, 2, 1)) for b in blocks], axis=1)  # (C, n_curves, n_t)
    mc = Y.mean(0)
    se = Y.std(0, ddof=1) / np.sqrt(C)
    size = np.sqrt(np.sum(mc**2, axis=0))
    noise = np.sqrt(np.sum(se**2, axis=0))
    above = size > 3 * noise
    if not np.any(above):
        return (RateEstimate("relaxation", float("nan"), nan2, level, False,
                             "the ensembles' mean errors never rise above noise; raise relaxation_spread"), curves)
    i_end = int(np.flatnonzero(above)[-1]) + 1
    low = np.flatnonzero(size[:i_end] <= size[:i_end].max() * head)
    i0 = int(low[0]) if low.size else 0
    step = max(1, (i_end - i0) // 80)
    sel = np.arange(i0, i_end, step)
    if len(sel) < 8:
        return (RateEstimate("relaxation", float("nan"), nan2, level, False,
                             f"only {len(sel)} kept times between the 1/e point of the error and the noise; "
                             "keep more draws, use more relaxation chains or lengthen relaxation_t_end"), curves)
    h = step * dt_draw
    Ys = Y[:, :, sel]
    # coupled pairs of an OU process relax with no noise at all: the order comes from the
    # noise replicas (every mode above noise), not a fixed tail model
    noise = _sign_noise(Ys, rng)
    floor = 1e-9 * np.abs(Ys.mean(0)).max()
    noise = noise + floor * rng.standard_normal(noise.shape)
    cap = min(2 * d, 12)
    if order is None:
        # at least two pairs: the slowest mode and the next one, which has not died out
        # at the window's start (one pair alone is pulled towards it: −3 % on the Dirac-GAN)
        order = max(fit_decay(Ys.mean(0), h, order=None, noise=noise, max_order=cap).order, min(4, cap))
    fit = fit_decay(Ys.mean(0), h, order=order)
    boot = _bootstrap_fit(Ys, fit, h, n_boot, rng)
    interval, frac = _interval(boot, level, fit.rate)
    n_pairs = len(_pairs(runs))
    notes = [f"matrix pencil on the relaxation of {len(runs)} ensembles ({n_pairs} coupled antithetic pairs) × "
             f"{d} coordinates, t ∈ [{t[sel[0]]:.3g}, {t[sel[-1]]:.3g}], {fit.order} poles"]
    reliable = True
    if not np.isfinite(fit.rate) or fit.growing:
        reliable = False
        notes.append("no decaying mode found")
    if frac < 0.9:
        reliable = False
        notes.append(f"only {frac:.0%} of bootstrap refits found a decaying mode")
    if np.isfinite(fit.rate) and fit.rate * (t[sel[-1]] - t[sel[0]]) < 1.0:
        reliable = False
        notes.append("the fitted window spans less than one decay time")
    if i_end >= n_t - 1:
        notes.append("the error is still above noise at relaxation_t_end")
    w = curves.w1.sum(axis=(0, 2))
    fl = curves.w1_floor.sum() * len(runs)
    ok = np.flatnonzero(w > 3 * fl)
    w1_rate = float("nan")
    if ok.size >= 4:
        j = ok[ok >= i0] if np.sum(ok >= i0) >= 4 else ok
        w1_rate = float(-np.polyfit(t[j], np.log(w[j] - fl), 1)[0])
    details = {"window": [float(t[sel[0]]), float(t[sel[-1]])], "order": fit.order, "frequency": fit.frequency,
               "poles": fit.poles, "energy": fit.energy, "bootstrap_ok": frac, "w1_rate": w1_rate,
               "starts": curves.starts, "chains_per_start": C, "pairs": n_pairs}
    return RateEstimate("relaxation", fit.rate, interval, level, reliable, "; ".join(notes), details), curves


# --------------------------------------------------------------------------- all together
@dataclass
class Mixing:
    """All mixing-rate estimates of a run and the headline.

    Attributes
    ----------
    estimates : dict
        method → :class:`RateEstimate` (``autocorrelation``, ``spectral``, and when
        available ``relaxation`` and the reference ``fokker_planck``).
    headline : RateEstimate
        The reliable Monte Carlo estimate with the narrowest relative interval.
    disagreement : bool
        True if two estimates' intervals do not overlap.
    disagreements : list of str
        Which pairs, with their intervals.
    diagnostics : dict
        Per observable: integrated time, ESS, R-hat (see :func:`autocorrelation_rate`).
    relaxation : Relaxation or None
    exact : dict or None
        The exact κ of an affine game, when known (:func:`exact_rate`).

    Notes
    -----
    Estimates from SDE runs are rates of the SDE: the fitted rates of the Euler–Maruyama
    chains are mapped back by :func:`em_correction` (``details["chain_rate"]`` keeps the
    chain's own).  Estimates from SGA runs are rates of the training chain itself, per unit
    of SDE time.
    """

    estimates: dict
    headline: RateEstimate
    disagreement: bool
    disagreements: list
    diagnostics: dict
    relaxation: Relaxation | None = None
    exact: dict | None = None

    @property
    def rate(self) -> float:
        return self.headline.rate


def exact_rate(result) -> dict | None:
    """Exact κ for an affine game, else None.

    Returns
    -------
    dict or None
        ``sde``: ``−α(A)`` of the SDE drift for the run's scheme and order
        (:func:`invariant.exact.mixing_rate`, MATH.md §4); ``simulated``: the rate of the
        chain actually run, per unit of SDE time — ``−log ρ(I + dt·A)/dt`` for the
        Euler–Maruyama chain of an SDE run, ``−log ρ(M)/η`` for an SGA run
        (:func:`invariant.exact.discrete`).
    """
    game = result.game
    if not getattr(game, "affine", False):
        return None
    from . import exact

    cfg = result.config
    sch = cfg.scheme
    A, _ = exact.drift(game, sch.name, sch.order, sch.lr)
    out = {"sde": exact.mixing_rate(A)}
    if cfg.dynamics == "sde":
        M, h = np.eye(game.d) + cfg.dt * A, cfg.dt
    else:
        M, _, _ = exact.discrete(game, sch.name, sch.lr, sch.batch_size)
        h = sch.lr
    out["simulated"] = float(-np.log(np.max(np.abs(np.linalg.eigvals(M)))) / h)
    return out


def em_correction(rate: float, frequency: float, h: float) -> float:
    """κ of the SDE from the rate of its Euler–Maruyama chain with step ``h``.

    A mode ``e^{λt}`` of the SDE decays in the chain as ``(1 + hλ)^{t/h}``; a fitted chain
    exponent ``λ_c = −rate ± i·frequency`` therefore maps back to ``λ = (e^{hλ_c} − 1)/h``
    (exact for an OU process, first order in ``h`` otherwise).  Returns ``−Re λ``.
    """
    lam_c = complex(-rate, frequency if np.isfinite(frequency) else 0.0)
    return float(-((np.exp(h * lam_c) - 1.0) / h).real)


def _to_sde(est: RateEstimate, h: float) -> RateEstimate:
    """Map an estimate for the Euler–Maruyama chain to the SDE (:func:`em_correction`)."""
    if not np.isfinite(est.rate):
        return est
    w = est.details.get("frequency", 0.0)
    w = float(w) if np.isfinite(w) else 0.0
    est.details["chain_rate"] = est.rate
    est.details["chain_interval"] = list(est.interval)
    est.rate = em_correction(est.rate, w, h)
    est.interval = tuple(em_correction(v, w, h) if np.isfinite(v) else v for v in est.interval)
    return est


def compare(estimates: dict) -> tuple[bool, list]:
    """Pairs of estimates whose intervals do not overlap.

    Returns
    -------
    disagreement : bool
    pairs : list of str
    """
    out = []
    items = [(k, e) for k, e in estimates.items() if np.isfinite(e.rate) and np.all(np.isfinite(e.interval))]
    for (ka, a), (kb, b) in itertools.combinations(items, 2):
        if a.interval[1] < b.interval[0] or b.interval[1] < a.interval[0]:
            out.append(f"{ka} {a.rate:.4g} [{a.interval[0]:.4g}, {a.interval[1]:.4g}] vs "
                       f"{kb} {b.rate:.4g} [{b.interval[0]:.4g}, {b.interval[1]:.4g}]")
    return bool(out), out


def analyse(result, relaxation_runs=None, fp=None, level: float = 0.95, n_boot: int = 200, seed: int = 0,
            lag: float | None = None, degree: int | None = None) -> Mixing:
    """Every mixing-rate estimate of a run, the headline and a disagreement check.

    Parameters
    ----------
    result : RunResult
        The main run (kept draws after burn-in).
    relaxation_runs : list of RunResult, optional
        Runs of :func:`relaxation_run` (method 2).
    fp : invariant.fokker_planck.FPSolution, optional
        Fokker–Planck reference of a 2-D game: its spectral gap joins the comparison.
    level, n_boot, seed
        Interval level, bootstrap replicas, seed.
    lag, degree
        EDMD lag (SDE time; default about 1/κ from method 1) and basis degree.

    Returns
    -------
    Mixing
    """
    est = {}
    acr, diag = autocorrelation_rate(result, level, n_boot, seed)
    est["autocorrelation"] = acr
    est["spectral"] = spectral_rate(result, lag, degree, level, n_boot, seed + 1, rate_hint=acr.rate)
    curves = None
    if relaxation_runs:
        est["relaxation"], curves = relaxation_rate(relaxation_runs, result, level, n_boot, seed + 2)
    if fp is not None:
        est["fokker_planck"] = RateEstimate(
            "fokker_planck", fp.gap, (fp.gap - fp.gap_error, fp.gap + fp.gap_error), level, bool(np.isfinite(fp.gap)),
            f"second eigenvalue of the finite-volume Fokker–Planck operator on a {fp.shape[0]}×{fp.shape[1]} grid "
            "(± the change from a grid half as fine)", {"lambda2": fp.lambda2, "frequency": abs(fp.lambda2.imag)})
    if result.config.dynamics == "sde":
        # the chains are Euler–Maruyama chains with step dt; κ is the SDE's (MATH.md §4)
        for k in ("autocorrelation", "spectral", "relaxation"):
            if k in est:
                _to_sde(est[k], result.config.dt)
    mc = [e for k, e in est.items() if k != "fokker_planck" and np.isfinite(e.rate)]
    pool = [e for e in mc if e.reliable and np.all(np.isfinite(e.interval))] or mc or list(est.values())
    headline = min(pool, key=lambda e: e.width / abs(e.rate) if np.isfinite(e.width) and e.rate else np.inf)
    dis, pairs = compare(est)
    return Mixing(est, headline, dis, pairs, diag, curves, exact_rate(result))


def summary_section(mix: Mixing) -> dict:
    """The ``mixing.*`` fields of summary.json (DESIGN.md ◆)."""
    diag = mix.diagnostics
    iats = [v["iat"] for v in diag.values() if np.isfinite(v["iat"])]
    ess = [v["ess_bulk"] for v in diag.values() if np.isfinite(v["ess_bulk"])]
    rh = [v["rhat"] for v in diag.values() if np.isfinite(v["rhat"])]
    out = {
        "rate": mix.headline.rate,
        "rate_interval": list(mix.headline.interval),
        "level": mix.headline.level,
        "method": mix.headline.method,
        "reliable": mix.headline.reliable,
        "iat": max(iats) if iats else float("nan"),
        "iat_reliable": all(v["reliable"] for v in diag.values()),
        "ess": min(ess) if ess else float("nan"),
        "rhat": max(rh) if rh else float("nan"),
        "disagreement": mix.disagreement,
        "disagreements": mix.disagreements,
        "methods": {k: e.as_dict() for k, e in mix.estimates.items()},
        "observables": diag,
    }
    if mix.exact is not None:
        out["exact"] = mix.exact
    return plain(out)


def ensure_relaxation(cfg, out=None, center=None, cov=None, progress: bool = False) -> list:
    """The relaxation runs of a run folder: loaded when ``out/relaxation/`` holds them all,
    complete, for the same starts; run (:func:`relaxation_run`) otherwise."""
    if out is not None:
        runs = load_relaxation(out)
        _, want = _start_points(cfg, center, cov)
        if (len(runs) == len(want) and all(r.steps_done == r.config.steps for r in runs)
                and np.allclose([r.config.x0 for r in runs], want)):
            return runs
    return relaxation_run(cfg, out, center, cov, progress)


# --------------------------------------------------------------------------- curves for the report
def acf_curves(result, order: int = 2, head: float = 0.5) -> dict:
    """The autocorrelation functions behind :func:`autocorrelation_rate`, with its fit.

    The chain-averaged autocorrelations of every coordinate against lag in SDE time, their
    standard errors, and the shared damped oscillation of :func:`acf_rate` (same window,
    same order; no bootstrap) evaluated on its window.  Rates here are those of the chain
    that was simulated (for an SDE run, the Euler–Maruyama chain; :func:`em_correction`
    maps them to the SDE).

    Parameters
    ----------
    result : RunResult
    order, head
        As in :func:`acf_rate`.

    Returns
    -------
    dict
        ``names`` (coordinates), ``lag`` (n,), ``rho``, ``se`` (d, n), ``fit_lag`` (m,),
        ``fit`` (d, m), ``rate``, ``frequency``, ``window`` ([start, end] in SDE time).

    Raises
    ------
    ValueError
        With fewer than two live kept chains or 16 draws.
    """
    x = _live_draws(result)
    dt = draw_spacing(result)
    if x.shape[0] < 2 or x.shape[1] < 16:
        raise ValueError("fewer than two live kept chains or 16 draws")
    C, n, d = x.shape
    mean = x.reshape(-1, d).mean(0)
    ac = np.stack([autocovariance(x[:, :, i], mean=mean[i], unbiased=True) for i in range(d)], axis=1)
    per_chain = ac / ac[:, :, :1].mean(0)[None]
    rho = per_chain.mean(0)
    se = per_chain.std(0, ddof=1) / np.sqrt(C)
    i0, L = _fit_window(rho, se, head=head)
    fit = fit_decay(rho[:, i0:L], dt, order=order)
    k = np.arange(L - i0)
    with np.errstate(all="ignore"):
        fitted = (fit.amplitudes @ np.exp(np.outer(fit.poles, k * dt))).real
    return {"names": list(result.game.param_names), "lag": np.arange(n) * dt, "rho": rho, "se": se,
            "fit_lag": (i0 + k) * dt, "fit": fitted, "rate": fit.rate, "frequency": fit.frequency,
            "window": [i0 * dt, (L - 1) * dt]}


def relaxation_distance(runs, stationary, rate: float | None = None, window=None) -> dict:
    """Distance of the relaxation ensembles' laws to the stationary law against SDE time.

    ``distance`` is the size of the pairs' half-differences of means (unpaired starts: mean
    errors), coordinates scaled by the stationary standard deviations — the curves
    :func:`relaxation_rate` fits — with its standard error; ``w1`` the summed W1 of the
    marginals with its noise floor, ``cov_error`` the mean relative covariance error.  Given
    a rate κ (e.g. ``mixing.methods.relaxation.rate``) and the fit window, ``model`` is
    ``A e^{−κt}`` with ``A`` matched to ``distance`` over the window (least squares in log).

    Parameters
    ----------
    runs : list of RunResult
        :func:`load_relaxation`.
    stationary : RunResult
    rate : float, optional
    window : (float, float), optional
        Default: all times.

    Returns
    -------
    dict
        ``t``, ``distance``, ``distance_se``, ``w1``, ``w1_floor``, ``cov_error`` and, with a
        rate, ``model``.
    """
    curves = relaxation_curves(runs, stationary)
    t = curves.t
    n_t = len(t)
    _, P = stationary.pooled_moments()
    sd = np.sqrt(np.clip(np.diag(P), 1e-300, None))
    blocks, paired = [], set()
    for a, b in _pairs(runs):
        xa, xb = _paired(runs[a], runs[b], n_t)
        blocks.append(0.5 * (xa - xb) / sd)
        paired.update((a, b))
    mean, _ = stationary.pooled_moments()
    for j, r in enumerate(runs):
        if j not in paired:
            blocks.append((_live_draws(r)[:, :n_t] - mean) / sd)
    mc = np.concatenate([b.mean(0) for b in blocks], axis=1)  # (n_t, curves)
    se = np.concatenate([b.std(0, ddof=1) / np.sqrt(max(b.shape[0], 1)) if b.shape[0] > 1
                         else np.full(b.shape[1:], np.nan) for b in blocks], axis=1)
    dist = np.sqrt(np.sum(mc**2, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        dist_se = np.sqrt(np.sum((mc * se) ** 2, axis=1)) / np.where(dist > 0, dist, np.nan)
    out = {"t": t, "distance": dist, "distance_se": dist_se, "w1": curves.w1.sum(axis=(0, 2)),
           "w1_floor": float(curves.w1_floor.sum() * len(runs)), "cov_error": curves.cov_error.mean(0)}
    if rate is not None and np.isfinite(rate):
        lo, hi = (t[0], t[-1]) if window is None else window
        sel = (t >= lo) & (t <= hi) & (dist > 0)
        if np.any(sel):
            logA = float(np.mean(np.log(dist[sel]) + rate * t[sel]))
            out["model"] = np.exp(logA - rate * t)
    return out
