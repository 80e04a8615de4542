"""Stationary moments of a run, each with its Monte Carlo standard error (docs/theory.md §4).

The mean and covariance come from the engine's streaming accumulators (every post-burn-in
step that was booked, all live chains).  Uncertainties are those of these all-chain
estimates (docs/theory.md §4.7):

* ``mean_mcse`` with ``mean_mcse_method``: ``"between_chains"`` — the spread of the live
  chains' time means over their number, ``s/√n`` — when at least ``MIN_CHAINS_BETWEEN``
  chains entered the mean; otherwise ``"ess_scaled"`` — ``sqrt(var / ESS)`` with the ESS of
  the kept draws (Sokal's integrated time) scaled from the kept chains to every live chain
  (:func:`mean_mcse`);
* ``cov_mcse`` from the spread of the per-chain time covariances across independent chains,
  and ``trace_cov_mcse`` from the spread of their traces (the diagonal entries' errors are
  positively correlated: adding them in quadrature understates it, by ~1.4× on the default
  example).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arviz import arviz as az
from .diagnostics import effective_n

DRIFT_Z = 4.0  # |z| of the half-vs-half drift test beyond which the law is still moving
OSCILLATION_Z = 4.0  # z of the ensemble mean's periodogram test beyond which the chains move together
RHAT_DISAGREE = 1.05  # with ≥ 25 ESS per chain, R-hat's own noise is below ~1.02
MIN_ESS_PER_CHAIN = 25  # = chain length / (2 τ_int): below it the chain spans < 50 τ_int
MIN_CHAINS_BETWEEN = 32  # the between-chain s/√n is then within ~13 % (1/√(2(n−1))) of its value


@dataclass
class Moments:
    """Stationary mean and covariance with uncertainties and convergence diagnostics."""

    mean: np.ndarray
    mean_mcse: np.ndarray
    mean_mcse_between: np.ndarray
    mean_mcse_ess: np.ndarray
    mean_mcse_method: str
    cov: np.ndarray
    cov_mcse: np.ndarray
    trace_cov_mcse: float
    ess: np.ndarray
    rhat: np.ndarray
    verdict: str
    reason: str
    tracked: str = "full"  # simulation.moments: cov and cov_mcse are None unless "full"
    variance: np.ndarray | None = None  # per coordinate, every mode
    variance_mcse: np.ndarray | None = None
    projection: np.ndarray | None = None  # P (K × d), moments = "projections"
    projection_cov: np.ndarray | None = None  # Cov(P x), K × K
    projection_cov_mcse: np.ndarray | None = None

    @property
    def settled(self) -> bool:
        return self.verdict == "settled"

    @property
    def trace_cov(self) -> float:
        """tr Cov: the trace of the full covariance, or the sum of the variances without it."""
        return float(np.trace(self.cov) if self.cov is not None else np.sum(self.variance))


def kept_dataset(result):
    """Kept draws of the live chains as an xarray Dataset (one variable ``x``)."""
    keep = result.kept_alive
    return az.convert_to_dataset({"x": result.draws[keep]})


def moments(result) -> Moments:
    """Stationary mean and covariance of a :class:`~invariant.engine.RunResult`: the full
    covariance where the run tracked it (``simulation.moments = "full"``), else the
    per-coordinate variances and, for ``"projections"``, the covariance of ``P x``."""
    d = result.game.d
    full = result.moments == "full"
    mean, var = result.pooled_variances()
    cov = result.pooled_moments()[1] if full else None
    alive = result.alive & (result.acc_n > 1)
    n_alive = int(alive.sum())
    keep = result.kept_alive
    tracked = _tracked(result, alive, full)
    if n_alive == 0 or keep.sum() == 0:
        nan = np.full(d, np.nan)
        return Moments(mean, nan, nan, nan, "none", cov, np.full((d, d), np.nan) if full else None, float("nan"),
                       nan, nan, "not settled", "every chain diverged", **tracked)
    ds = kept_dataset(result)
    ess = np.asarray(az.ess(ds, method="mean")["x"], dtype=float)
    with np.errstate(invalid="ignore"):
        rhat = np.asarray(az.rhat(ds)["x"], dtype=float) if keep.sum() > 1 else np.full(d, np.nan)
    between, by_ess, method, se = mean_mcse(result, var)
    cov_mcse, trace_mcse = None, float("nan")
    if full:
        covs = result.chain_covs()[alive]
        cov_mcse = _spread(covs, n_alive)
        traces = np.trace(covs, axis1=1, axis2=2)
    else:
        traces = result.chain_variances()[alive].sum(axis=1)
    if n_alive > 1:
        trace_mcse = float(traces.std(ddof=1) / np.sqrt(n_alive))
    verdict, reason = _settled(result, ess)
    return Moments(mean, se, between, by_ess, method, cov, cov_mcse, trace_mcse, ess, rhat, verdict, reason,
                   **tracked)


def _spread(per_chain: np.ndarray, n_alive: int) -> np.ndarray:
    """Standard error of the mean over independent chains of per-chain estimates (NaN with one chain)."""
    if n_alive > 1:
        return per_chain.std(axis=0, ddof=1) / np.sqrt(n_alive)
    return np.full(per_chain.shape[1:], np.nan)


def _tracked(result, alive, full: bool) -> dict:
    """The :class:`Moments` fields of what ``simulation.moments`` tracked: the variances with
    their chain-spread errors and, for projections, ``P`` and the covariance of ``P x``."""
    _, var = result.pooled_variances()
    n_alive = int(alive.sum())
    out = {"tracked": result.moments, "variance": var,
           "variance_mcse": _spread(result.chain_variances()[alive], n_alive)}
    if result.moments == "projections":
        out.update(projection=result.proj, projection_cov=result.pooled_projection()[1],
                   projection_cov_mcse=_spread(result.chain_projection_covs()[alive], n_alive))
    return out


def mean_mcse(result, var) -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
    """Monte Carlo standard error of the all-chain stationary mean (docs/theory.md §4.7).

    The reported mean averages every booked step of every live chain, so its error is that
    of an average of ``n`` independent chains' time means.  Two estimates:

    * between chains, ``s/√n`` with ``s`` the standard deviation of the live chains' time
      means: it needs no model of the autocorrelation and measures exactly the quantity
      reported, but its own relative error is ``≈ 1/√(2(n−1))``;
    * ESS-scaled, ``sqrt(var · k / (ESS · n))``: the kept draws of the ``k`` kept live
      chains give ``ESS`` effective draws (Sokal's integrated time,
      :func:`~invariant.diagnostics.effective_n`, which follows oscillating
      autocorrelations; arviz's Geyer truncation stops at their first negative lobe and
      gives 1.4–1.6× this error on the default bilinear game under SML SGA at lr 0.1), so
      each chain carries ``ESS/k`` and the ``n`` chains of the mean ``n·ESS/k``.  It is the
      error of a mean over draws as far apart as the kept ones, not over every statistics
      step, and like any ESS it needs chains of ≳ 50 integrated times
      (``MIN_ESS_PER_CHAIN``; shorter ones are "too short to tell"): 8 chains of 30 time
      units of the default bilinear game gave z-scores against the exact mean up to 7.

    The reported error is the between-chain one when ``n ≥ MIN_CHAINS_BETWEEN`` (its own
    error is then ≲ 13 %), otherwise the ESS-scaled one.

    Parameters
    ----------
    result : RunResult
    var : ndarray (d,)
        The pooled stationary variances.

    Returns
    -------
    between, by_ess : ndarray (d,)
        The two estimates (``between`` is NaN with a single live chain).
    method : str
        ``"between_chains"`` or ``"ess_scaled"``: which one is reported.
    reported : ndarray (d,)
    """
    alive = result.alive & (result.acc_n > 1)
    n = int(alive.sum())
    x = result.draws[result.kept_alive]
    ess = np.array([effective_n(x[:, :, i]) for i in range(x.shape[2])])
    by_ess = np.sqrt(var * x.shape[0] / (ess * n))
    if n < 2:
        return np.full_like(by_ess, np.nan), by_ess, "ess_scaled", by_ess
    between = result.chain_means()[alive].std(axis=0, ddof=1) / np.sqrt(n)
    if n >= MIN_CHAINS_BETWEEN:
        return between, by_ess, "between_chains", between
    return between, by_ess, "ess_scaled", by_ess


def _settled(result, ess) -> tuple[str, str]:
    """Whether the chains look stationary after burn-in: a verdict and its reason.

    ``"not settled"`` when the law still moves: a Geweke-style z-test of each coordinate
    and of |x|² between the first and second half of the kept draws (standard error from
    the spread across independent chains) exceeds ``DRIFT_Z``.  ``"too short to tell"``
    when the chains are shorter than ~50 integrated autocorrelation times (per-chain ESS
    below ``MIN_ESS_PER_CHAIN``, emcee's rule): then neither that test nor split R-hat —
    which for autocorrelated chains is ≈ 1 + 1/(2·ESS per chain) — can be trusted.
    With long enough chains, ``"not settled"`` when the chains move together: the ensemble
    mean of a coordinate or of |x|² varies with time beyond what independent chains allow
    (:func:`ensemble_oscillation` above ``OSCILLATION_Z``: a phase-locked cycle, a common
    drift).  Then split R-hat (coordinates and |x|²) above ``RHAT_DISAGREE``
    means the chains settle to different laws: ``"not settled"``.  Otherwise ``"settled"``.
    """
    if result.n_diverged == result.config.chains:
        return "not settled", "every chain diverged"
    keep = result.kept_alive
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
    zo = ensemble_oscillation(obs)
    k = int(np.argmax(zo))
    if zo[k] > OSCILLATION_Z:
        return "not settled", (f"the ensemble mean of {names[k]} moves with time more than independent chains "
                               f"allow (z = {zo[k]:.1f}): the chains oscillate or drift together")
    # long enough chains whose laws differ (cycles of different radii, several attractors)
    with np.errstate(invalid="ignore", divide="ignore"):
        rhat = np.asarray(az.rhat(az.convert_to_dataset({"o": obs}))["o"], dtype=float)
    j = int(np.nanargmax(np.where(np.isfinite(rhat), rhat, np.inf)))
    if not rhat[j] <= RHAT_DISAGREE:
        return "not settled", f"chains settle to different laws: split R-hat of {names[j]} is {rhat[j]:.3g} > {RHAT_DISAGREE}"
    return "settled", f"no drift between halves (max |z| = {abs(z[i]):.1f}); ESS per chain ≥ {per_chain:.0f}"


def ensemble_oscillation(obs) -> np.ndarray:
    """z-score of a common motion of the chains in each observable (docs/theory.md §4.7).

    Independent chains in their stationary law give an ensemble mean ``m(t)`` whose
    periodogram ``I_m(f)`` is the chains' common spectrum ``S(f)`` over ``n``.  Chains that
    oscillate (or drift) together — a phase-locked cycle, chains started at one point — add
    a motion that averaging over chains does not remove; a sine of amplitude ``A`` adds
    ``≈ T A²/4`` at its frequency.  ``S(f)`` is estimated from the residuals ``x_c(t) − m(t)``,
    which the common motion does not reach (``2(n − 1)`` degrees of freedom), so that for
    Gaussian noise ``n I_m(f) / Ŝ(f) ~ F(2, 2(n − 1))`` at each Fourier frequency
    ``0 < f < 1/2``; the smallest tail probability, times the number of frequencies
    (Bonferroni), is the ``p``-value, reported as the normal quantile ``z = Φ⁻¹(1 − p)``.

    Parameters
    ----------
    obs : ndarray (chains, draws, k)
        Kept draws of ``k`` observables, equally spaced in time.

    Returns
    -------
    ndarray (k,)
        ``z ≥ 0`` per observable (0 where there is nothing to test: fewer than two chains or
        eight draws, a constant observable).
    """
    from scipy import stats

    obs = np.asarray(obs, dtype=np.float64)
    n, T, k = obs.shape
    if n < 2 or T < 8:
        return np.zeros(k)
    m = obs.mean(axis=0)  # (T, k)
    f = slice(1, (T + 1) // 2)  # Fourier frequencies strictly between 0 and Nyquist
    i_m = np.abs(np.fft.rfft(m, axis=0)[f]) ** 2
    s_hat = (np.abs(np.fft.rfft(obs - m, axis=1)[:, f]) ** 2).sum(axis=0) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = n * i_m / s_hat
    p_f = stats.f.sf(np.where(np.isfinite(ratio), ratio, 0.0), 2, 2 * (n - 1))
    p = np.clip(p_f.min(axis=0) * p_f.shape[0], 1e-300, 0.5)
    return np.where(s_hat.min(axis=0) > 0, stats.norm.isf(p), 0.0)


# --------------------------------------------------------------------------- densities
# Marginal and joint densities of the invariant measure from the kept draws of the live
# chains: kernel density estimates with a normal-reference bandwidth whose sample size is
# the effective one, and histograms.  Autocorrelated draws carry less information than as
# many independent ones; Hall & Hart (1990) show that for short-range dependence the
# *asymptotically* optimal bandwidth is the i.i.d. one, but finite chains whose integrated
# time spans many draws have ESS-level noise at the kernel's scale, so the rules below use
# n_eff = ESS (Sokal's integrated time, ``invariant.diagnostics.effective_n``): they smooth
# a little more, never less, than the i.i.d. rule would.


@dataclass
class Density1D:
    """A 1-D marginal density: kernel estimate on a grid and a histogram.

    Attributes
    ----------
    name : str
    grid, density : ndarray
        The kernel density estimate (Gaussian kernel, FFT on a binned grid, statsmodels).
    bandwidth : float
        Kernel standard deviation.
    n, n_eff : float
        Number of draws and their effective number.
    edges, hist : ndarray
        Histogram (density-normalised), Freedman–Diaconis bins for ``n_eff`` points.
    """

    name: str
    grid: np.ndarray
    density: np.ndarray
    bandwidth: float
    n: int
    n_eff: float
    edges: np.ndarray
    hist: np.ndarray


@dataclass
class Density2D:
    """A 2-D joint density: kernel estimate on a grid and a histogram.

    Attributes
    ----------
    names : tuple of str
    x, y : ndarray
        Grid points (uniform) along each axis.
    density : ndarray (len(x), len(y))
        Kernel density estimate (Gaussian kernel with covariance ``bandwidth``, linear
        binning and FFT convolution; mass beyond the grid is lost, not renormalised).
    bandwidth : ndarray (2, 2)
        Kernel covariance ``H = n_eff^{−1/3} Cov`` (Scott's rule, d = 2).
    n, n_eff : float
    edges_x, edges_y, hist : ndarray
        2-D histogram (density-normalised).
    """

    names: tuple
    x: np.ndarray
    y: np.ndarray
    density: np.ndarray
    bandwidth: np.ndarray
    n: int
    n_eff: float
    edges_x: np.ndarray
    edges_y: np.ndarray
    hist: np.ndarray


def silverman_bandwidth(x, n_eff: float | None = None) -> float:
    """Silverman's rule ``0.9 min(σ, IQR/1.34) n_eff^{−1/5}`` (robust normal reference).

    Parameters
    ----------
    x : array_like
        Draws (any shape; flattened).
    n_eff : float, optional
        Effective sample size (default: the number of draws).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    n = x.size if n_eff is None else n_eff
    s = x.std(ddof=1)
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    a = min(s, iqr / 1.34) if iqr > 0 else s
    return float(0.9 * a * n ** (-0.2)) if a > 0 else 1e-12


def kde_1d(x, bandwidth: float | None = None, n_eff: float | None = None, grid=None, gridsize: int = 512):
    """Gaussian kernel density estimate of 1-D draws (statsmodels, FFT).

    Parameters
    ----------
    x : array_like
        Draws.
    bandwidth : float, optional
        Kernel standard deviation (default :func:`silverman_bandwidth` with ``n_eff``).
    n_eff : float, optional
    grid : array_like, optional
        Where to evaluate (interpolated from the FFT grid); default the FFT grid itself,
        ``gridsize`` points over the draws' range ± 3 bandwidths.

    Returns
    -------
    grid, density, bandwidth
    """
    import statsmodels.api as sm

    x = np.asarray(x, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    h = silverman_bandwidth(x, n_eff) if bandwidth is None else float(bandwidth)
    k = sm.nonparametric.KDEUnivariate(x)
    k.fit(kernel="gau", bw=h, fft=True, gridsize=gridsize, cut=3)
    if grid is None:
        return k.support.copy(), k.density.copy(), h
    grid = np.asarray(grid, dtype=np.float64)
    return grid, np.interp(grid, k.support, k.density, left=0.0, right=0.0), h


def marginals(result, gridsize: int = 256) -> list:
    """1-D marginal densities of every coordinate of the invariant measure.

    Parameters
    ----------
    result : RunResult
    gridsize : int

    Returns
    -------
    list of Density1D
        One per coordinate (``result.game.param_names``), from the live chains' kept draws.
    """
    keep = result.kept_alive
    x = result.draws[keep]
    out = []
    for i, name in enumerate(result.game.param_names):
        s = x[:, :, i]
        n_eff = effective_n(s)
        grid, dens, h = kde_1d(s, n_eff=n_eff, gridsize=gridsize)
        flat = s.ravel()
        iqr = np.subtract(*np.percentile(flat, [75, 25]))
        width = 2 * iqr * n_eff ** (-1 / 3) if iqr > 0 else (flat.max() - flat.min() + 1e-12) / 10
        nb = int(np.clip(np.ceil((flat.max() - flat.min()) / width), 5, 200))
        hist, edges = np.histogram(flat, bins=nb, density=True)
        out.append(Density1D(name, grid, dens, h, flat.size, n_eff, edges, hist))
    return out


def kde_2d(points, x, y, H, weights=None) -> np.ndarray:
    """Gaussian KDE of 2-D points on a uniform grid (linear binning + FFT convolution).

    Parameters
    ----------
    points : ndarray (n, 2)
    x, y : ndarray
        Uniform grid points along each axis.
    H : ndarray (2, 2)
        Kernel covariance.
    weights : ndarray (n,), optional
        Non-negative weights (normalised to sum 1).

    Returns
    -------
    ndarray (len(x), len(y))
    """
    from scipy.signal import fftconvolve

    P = np.asarray(points, dtype=np.float64)
    w = np.ones(len(P)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    hx, hy = x[1] - x[0], y[1] - y[0]
    fx = (P[:, 0] - x[0]) / hx
    fy = (P[:, 1] - y[0]) / hy
    ix, iy = np.floor(fx).astype(int), np.floor(fy).astype(int)
    ax, ay = fx - ix, fy - iy
    counts = np.zeros((len(x), len(y)))
    for dx, wx in ((0, 1 - ax), (1, ax)):
        for dy, wy in ((0, 1 - ay), (1, ay)):
            jx, jy = ix + dx, iy + dy
            ok = (jx >= 0) & (jx < len(x)) & (jy >= 0) & (jy < len(y))
            np.add.at(counts, (jx[ok], jy[ok]), (w * wx * wy)[ok])
    sx, sy = np.sqrt(H[0, 0]), np.sqrt(H[1, 1])
    # kernel support ±5 sd per axis: the mass cut off is below 1e-5
    kx = np.arange(-int(np.ceil(5 * sx / hx)), int(np.ceil(5 * sx / hx)) + 1) * hx
    ky = np.arange(-int(np.ceil(5 * sy / hy)), int(np.ceil(5 * sy / hy)) + 1) * hy
    KX, KY = np.meshgrid(kx, ky, indexing="ij")
    Hi = np.linalg.inv(H)
    q = Hi[0, 0] * KX**2 + 2 * Hi[0, 1] * KX * KY + Hi[1, 1] * KY**2
    K = np.exp(-0.5 * q) / (2 * np.pi * np.sqrt(np.linalg.det(H)))
    dens = fftconvolve(counts, K, mode="same")
    return np.clip(dens, 0.0, None)


def joint_density(result, i: int = 0, j: int = 1, grid=None, shape=(128, 128), pad: float = 0.15) -> Density2D:
    """Joint density of coordinates ``i`` and ``j`` of the invariant measure.

    Parameters
    ----------
    result : RunResult
    i, j : int
        Coordinates (indices into ``result.game.param_names``).
    grid : (x, y), optional
        Uniform grid points; default ``shape`` points over the draws' range widened by
        ``pad`` of it on each side.
    shape : (int, int)
    pad : float

    Returns
    -------
    Density2D
        Kernel bandwidth by Scott's rule with ``n_eff`` the smaller ESS of the two.
    """
    keep = result.kept_alive
    x = result.draws[keep][:, :, [i, j]]
    x = x[:, np.all(np.isfinite(x), axis=(0, 2))]
    pts = x.reshape(-1, 2)
    n_eff = min(effective_n(x[:, :, 0]), effective_n(x[:, :, 1]))
    H = np.atleast_2d(np.cov(pts, rowvar=False)) * n_eff ** (-1.0 / 3.0)
    if grid is None:
        lo, hi = pts.min(0), pts.max(0)
        w = np.where(hi > lo, hi - lo, 1.0)
        gx = np.linspace(lo[0] - pad * w[0], hi[0] + pad * w[0], shape[0])
        gy = np.linspace(lo[1] - pad * w[1], hi[1] + pad * w[1], shape[1])
    else:
        gx, gy = (np.asarray(g, dtype=np.float64) for g in grid)
    dens = kde_2d(pts, gx, gy, H)
    nb = int(np.clip(np.sqrt(n_eff) / 2, 10, 100))
    hist, ex, ey = np.histogram2d(pts[:, 0], pts[:, 1], bins=nb, density=True)
    names = (result.game.param_names[i], result.game.param_names[j])
    return Density2D(names, gx, gy, dens, H, len(pts), n_eff, ex, ey, hist)
