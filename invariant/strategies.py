"""The players' mixed strategies and the long-run generated distribution (docs/theory.md §7).

The invariant measure μ of ``x = (θ, ω)`` is a joint mixed strategy.  Its conditional laws
``μ(dθ | ω)`` (the generator's mixed strategy against a given discriminator) and
``μ(dω | θ)`` (the discriminator's), its marginals ``μ_θ``, ``μ_ω``, and — for a game with a
generator of data — the long-run generated law ``∫ (G_θ)_# P_z μ_θ(dθ)``, compared with the
data distribution.

Estimators (all from a finished run; nothing here simulates):

* ``"linear"``: the Gaussian reference of docs/theory.md §7 applied to the run's stationary mean
  and covariance (the engine's streaming accumulators over every post-burn-in step):
  exact when μ is Gaussian (affine games), the best linear predictor and its residual
  covariance otherwise;
* ``"local"``: local linear regression of one player on the other with a Gaussian kernel
  around the conditioning value (normal-reference bandwidth, effective sample size), the
  conditional covariance from the kernel-weighted residuals — consistent for any smooth μ,
  for a conditioning player of dimension ≤ 3;
* conditional densities of each coordinate: a conditional kernel density estimate
  (statsmodels ``KDEMultivariateConditional``) and the "local regression plus residual
  law" estimate (the weighted residuals shifted to the local mean);
* for a generator of data of dimension ≥ 2 with known modes, mode coverage and mode
  hopping of the long-run generated law (:mod:`invariant.modes`).

Uncertainties come from bootstrap replicas over independent chains.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import ks_2samp, kstwo, wasserstein_distance

from . import exact, gaussian, modes
from .diagnostics import chain_bootstrap, effective_n
from .gaussian import WHICH
from .stationary import marginals, silverman_bandwidth

LOCAL_MAX_DIM = 3  # local regression needs enough draws near the conditioning point


@dataclass
class Conditional:
    """A conditional law of one player given the other (docs/theory.md §7).

    Attributes
    ----------
    which : str
        ``"theta_given_omega"`` or ``"omega_given_theta"``.
    at : ndarray
        The conditioning value of the other player.
    mean, cov : ndarray
        Conditional mean and covariance.
    mean_se, cov_se : ndarray
        Their standard errors (chain bootstrap).
    method : str
        ``"linear"`` or ``"local"``.
    bandwidth : float
        Kernel scale (local method: multiple of the conditioning player's covariance; NaN
        for linear).
    n_local : float
        Kish effective number of draws carrying the kernel weights (local), or the number
        of post-burn-in steps booked (linear).
    exact_mean, exact_cov : ndarray or None
        Gaussian exact reference for an affine game (docs/theory.md §7, the law that was
        simulated: the Euler–Maruyama chain's for an SDE run, the SGA chain's otherwise).
    """

    which: str
    at: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    mean_se: np.ndarray
    cov_se: np.ndarray
    method: str
    bandwidth: float = float("nan")
    n_local: float = float("nan")
    exact_mean: np.ndarray | None = None
    exact_cov: np.ndarray | None = None

    def as_dict(self) -> dict:
        out = {"at": self.at, "mean": self.mean, "cov": self.cov, "mean_se": self.mean_se,
               "cov_se": self.cov_se, "method": self.method, "bandwidth": self.bandwidth,
               "n_local": self.n_local}
        if self.exact_mean is not None:
            out["exact_mean"] = self.exact_mean
            out["exact_cov"] = self.exact_cov
        return out


def _pooled(n, m_c, C_c):
    """Pooled mean and covariance from per-chain counts, means and covariances."""
    m = (n[:, None] * m_c).sum(0) / n.sum()
    dev = m_c - m
    S = ((n - 1)[:, None, None] * C_c).sum(0) + (n[:, None, None] * dev[:, :, None] * dev[:, None, :]).sum(0)
    return m, S / (n.sum() - 1)


def _exact_law(result):
    """Exact stationary law of the simulated chain for an affine game, else None."""
    game = result.game
    if not getattr(game, "affine", False):
        return None
    cfg, sch = result.config, result.config.scheme
    if cfg.dynamics == "sga":
        return exact.discrete_stationary(*exact.discrete(game, sch.name, sch.lr, sch.batch_size, sch.batches))
    A, c = exact.drift(game, sch.name, sch.order, sch.lr)
    D = exact.diffusion(game, sch.lr, sch.batch_size, sch.correction, sch.batches)
    I = np.eye(game.d)
    return exact.discrete_stationary(I + cfg.dt * A, cfg.dt * c, cfg.dt * D)


def _live_kept(result, times: bool = False):
    """The live chains' kept draws ``(C, n, d)``, without the draws at which any is not
    finite; with ``times``, also the SDE times ``(n,)`` of the draws left."""
    x = result.draws[result.kept_alive]
    cols = np.all(np.isfinite(x), axis=(0, 2))
    return (x[:, cols], result.draw_t[cols]) if times else x[:, cols]


def _local_fit(Y, Z, at, Hinv):
    """Kernel-weighted local linear fit of Y on Z at ``at``: (mean, residual cov, n_kish)."""
    D = Z - at
    w = np.exp(-0.5 * np.einsum("ni,ij,nj->n", D, Hinv, D))
    sw = w.sum()
    if not sw > 0:
        q = Y.shape[1]
        return np.full(q, np.nan), np.full((q, q), np.nan), 0.0
    X = np.column_stack([np.ones(len(D)), D])
    Xw = X * w[:, None]
    beta = np.linalg.lstsq(X.T @ Xw, Xw.T @ Y, rcond=None)[0]
    r = Y - X @ beta
    n_kish = sw**2 / np.sum(w**2)
    dof = max(n_kish - X.shape[1], 1.0)
    cov = (r * w[:, None]).T @ r / sw * (n_kish / dof)
    return beta[0], 0.5 * (cov + cov.T), float(n_kish)


def local_bandwidth(n_eff: float, dim: int) -> float:
    """Scott's factor ``n_eff^{−1/(dim+4)}``: the kernel covariance is its square times the
    conditioning player's covariance."""
    return float(n_eff ** (-1.0 / (dim + 4)))


def conditional(result, which: str = "theta_given_omega", at=None, method: str = "auto",
                n_boot: int = 100, seed: int = 0) -> Conditional:
    """Conditional law of one player given the other at ``at`` (docs/theory.md §7).

    Parameters
    ----------
    result : RunResult
    which : {"theta_given_omega", "omega_given_theta"}
    at : array_like, optional
        Value of the conditioning player (default: its stationary mean).
    method : {"auto", "linear", "local"}
        ``"auto"``: ``"linear"`` for an affine game (μ is Gaussian, so the Gaussian formula
        is exact and uses every booked step) or a conditioning player of dimension > 3,
        ``"local"`` otherwise, and whenever the run did not track the full covariance
        (``simulation.moments``; ``"linear"`` then raises ValueError).
    n_boot : int
        Chain-bootstrap replicas for the standard errors.
    seed : int

    Returns
    -------
    Conditional
    """
    game = result.game
    target, given = gaussian.player_indices(game.d_theta, game.d, which)
    rng = np.random.default_rng(seed)
    m_all, P_all = result.pooled_moments()  # P_all is None without the full covariance
    at = m_all[given] if at is None else np.atleast_1d(np.asarray(at, dtype=np.float64))
    if at.shape != (given.size,):
        raise ValueError(f"at must have length {given.size}; got shape {at.shape}")
    if method == "auto":
        linear = getattr(game, "affine", False) or given.size > LOCAL_MAX_DIM
        # the linear formula needs the full covariance: without it, the local fit
        method = "linear" if linear and result.moments == "full" else "local"
    if method not in ("linear", "local"):
        raise ValueError(f"method must be 'auto', 'linear' or 'local'; got {method!r}")
    q = target.size
    if method == "linear":
        if P_all is None:
            raise ValueError(f"the linear conditional needs the full covariance; this run tracked moments = "
                             f"{result.moments!r} (simulation.moments): use method = 'local'")
        mean, cov = gaussian.conditional(m_all, P_all, target, given, at)
        a = result.alive & (result.acc_n > 1)
        n = result.acc_n[a].astype(float)
        m_c, C_c = result.chain_means()[a], result.chain_covs()[a]

        def pooled_fit(idx):
            return gaussian.conditional(*_pooled(n[idx], m_c[idx], C_c[idx]), target, given, at)

        reps = chain_bootstrap(pooled_fit, len(n), n_boot if a.sum() > 1 else 0, rng)
        bw, n_loc = float("nan"), float(n.sum())
    else:
        x = _live_kept(result)  # (C, n, d)
        n_eff = min(effective_n(x[:, :, i]) for i in given)
        h = local_bandwidth(n_eff, given.size)
        Pz = np.atleast_2d(np.cov(x[:, :, given].reshape(-1, given.size), rowvar=False))
        Hinv = np.linalg.inv(h**2 * Pz)
        flat = x.reshape(-1, game.d)
        mean, cov, n_loc = _local_fit(flat[:, target], flat[:, given], at, Hinv)

        def local_fit(idx):
            xb = x[idx].reshape(-1, game.d)
            return _local_fit(xb[:, target], xb[:, given], at, Hinv)[:2]

        reps = chain_bootstrap(local_fit, x.shape[0], n_boot if x.shape[0] > 1 else 0, rng)
        bw = h
    if reps:
        mean_se = np.std([r[0] for r in reps], axis=0, ddof=1)
        cov_se = np.std([r[1] for r in reps], axis=0, ddof=1)
    else:
        mean_se, cov_se = np.full(q, np.nan), np.full((q, q), np.nan)
    ex = _exact_law(result)
    em = ec = None
    if ex is not None:
        em, ec = gaussian.conditional(ex[0], ex[1], target, given, at)
    return Conditional(which, at, mean, cov, mean_se, cov_se, method, bw, n_loc, em, ec)


@dataclass
class ConditionalDensity:
    """1-D conditional densities of each coordinate of one player given the other.

    Attributes
    ----------
    which : str
    at : ndarray
    names : list of str
        The conditioned coordinates.
    grids : list of ndarray
    kde : list of ndarray
        Conditional kernel density estimate (statsmodels ``KDEMultivariateConditional``,
        normal-reference bandwidths), per coordinate.
    residual : list of ndarray
        Local-regression-plus-residual-law estimate: a kernel density of the
        kernel-weighted residuals shifted to the local mean.
    """

    which: str
    at: np.ndarray
    names: list
    grids: list
    kde: list
    residual: list = field(default_factory=list)


def conditional_density(result, which: str = "theta_given_omega", at=None, gridsize: int = 128,
                        max_points: int = 4000, seed: int = 0) -> ConditionalDensity:
    """Conditional densities ``μ(θ_i | ω = at)`` (or ``μ(ω_j | θ = at)``) per coordinate.

    Parameters
    ----------
    result : RunResult
    which : {"theta_given_omega", "omega_given_theta"}
    at : array_like, optional
        Default: the conditioning player's stationary mean.
    gridsize : int
    max_points : int
        Draws used by the conditional KDE (a random subset; its cost is quadratic).
    seed : int

    Returns
    -------
    ConditionalDensity

    Raises
    ------
    ValueError
        If the conditioning player has more than 3 coordinates (kernel methods need draws
        near ``at``; use :func:`conditional` with ``method="linear"``).
    """
    import statsmodels.api as sm

    game = result.game
    target, given = gaussian.player_indices(game.d_theta, game.d, which)
    if given.size > LOCAL_MAX_DIM:
        raise ValueError(f"conditional densities need a conditioning player of dimension ≤ {LOCAL_MAX_DIM}; "
                         f"got {given.size}")
    x = _live_kept(result)
    flat = x.reshape(-1, game.d)
    at = flat[:, given].mean(0) if at is None else np.atleast_1d(np.asarray(at, dtype=np.float64))
    rng = np.random.default_rng(seed)
    sub = flat[rng.choice(len(flat), size=min(max_points, len(flat)), replace=False)]
    n_eff = min(effective_n(x[:, :, i]) for i in given)
    h = local_bandwidth(n_eff, given.size)
    Pz = np.atleast_2d(np.cov(flat[:, given], rowvar=False))
    Hinv = np.linalg.inv(h**2 * Pz)
    D = flat[:, given] - at
    w = np.exp(-0.5 * np.einsum("ni,ij,nj->n", D, Hinv, D))
    X = np.column_stack([np.ones(len(D)), D])
    Xw = X * w[:, None]
    beta = np.linalg.lstsq(X.T @ Xw, Xw.T @ flat[:, target], rcond=None)[0]
    resid = flat[:, target] - X @ beta
    n_kish = w.sum() ** 2 / np.sum(w**2)
    local = np.flatnonzero(w > 1e-6 * w.max())
    if local.size > 20000:
        local = rng.choice(local, size=20000, replace=False, p=w[local] / w[local].sum())
        w = w.copy()
        w[local] = 1.0  # drawn in proportion to the weights: each now counts once
    names, grids, kdes, res = [], [], [], []
    for k, i in enumerate(target):
        y = flat[:, i]
        lo, hi = np.percentile(y, [0.1, 99.9])
        pad = 0.2 * (hi - lo)
        grid = np.linspace(lo - pad, hi + pad, gridsize)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # statsmodels' note on its seeding
            ck = sm.nonparametric.KDEMultivariateConditional(
                endog=[sub[:, i]], exog=[sub[:, j] for j in given], dep_type="c", indep_type="c" * given.size,
                bw="normal_reference")
            exog = np.tile(at, (gridsize, 1))
            kdes.append(np.asarray(ck.pdf(endog_predict=grid[:, None], exog_predict=exog)))
        # residual law: weighted KDE of residuals around the local mean
        hr = silverman_bandwidth(resid[:, k], n_kish)
        rk, wk = resid[local, k], w[local]
        z = (grid[:, None] - beta[0, k] - rk[None, :]) / hr
        res.append((np.exp(-0.5 * z**2) * wk[None, :]).sum(1) / (wk.sum() * hr * np.sqrt(2 * np.pi)))
        names.append(game.param_names[i])
        grids.append(grid)
    return ConditionalDensity(which, at, names, grids, kdes, res)


# --------------------------------------------------------------------------- marginals
def marginal(result, player: str) -> dict:
    """Marginal law of one player: mean, covariance (streaming accumulators) and 1-D densities.

    Parameters
    ----------
    result : RunResult
    player : {"theta", "omega"}

    Returns
    -------
    dict
        ``mean``, ``cov`` (or ``variance``, :func:`_player_moments`), ``densities`` (list of
        :class:`invariant.stationary.Density1D`).
    """
    game = result.game
    idx = np.arange(game.d_theta) if player == "theta" else np.arange(game.d_theta, game.d)
    if player not in ("theta", "omega"):
        raise ValueError(f"player must be 'theta' or 'omega'; got {player!r}")
    dens = [d for d in marginals(result) if d.name in {game.param_names[i] for i in idx}]
    return {**_player_moments(result, idx), "densities": dens}


def _player_moments(result, idx) -> dict:
    """``mean`` and ``cov`` of the coordinates ``idx``; ``variance`` instead of ``cov`` when
    the run did not track the full covariance (``simulation.moments``)."""
    if result.moments == "full":
        m, P = result.pooled_moments()
        return {"mean": m[idx], "cov": P[np.ix_(idx, idx)]}
    m, v = result.pooled_variances()
    return {"mean": m[idx], "variance": v[idx]}


# --------------------------------------------------------------------------- generated law
def has_generator(game) -> bool:
    """Whether the game can generate data (``game.generate(theta, z)``) and holds 1-D data."""
    return callable(getattr(game, "generate", None)) and game.data.shape[0] > 1 and game.data.shape[1] == 1


def generated_samples(result, n_theta: int = 2000, n_z: int = 32, seed: int = 0, half: int | None = None):
    """Samples of the long-run generated law ``∫ (G_θ)_# N(0, 1) μ_θ(dθ)`` (docs/theory.md §7).

    ``n_theta`` generator parameters are taken evenly from the live chains' kept draws of
    θ (a sample of μ_θ), each pushed through ``n_z`` latents ``z ~ N(0, 1)``; ``half`` = 0
    or 1 takes them from the first or second half of the kept draws only.

    Returns
    -------
    samples : ndarray (chains, per_chain)
        Grouped by chain (for chain-bootstrap errors).
    """
    game = result.game
    theta, _ = _theta_draws(result, n_theta, half)
    C, per_chain, _ = theta.shape
    theta = theta.reshape(-1, game.d_theta)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((len(theta), n_z))
    y = np.asarray(game.generate(theta, z), dtype=np.float64)
    return y.reshape(C, per_chain * n_z)


def _theta_draws(result, n_theta: int, half: int | None = None, distinct: bool = False):
    """About ``n_theta`` generator parameters evenly spaced over the live chains' kept
    draws, ``(C, per_chain, d_theta)``, and their indices among the draws of
    :func:`_live_kept` (of its first or second ``half``); ``distinct`` takes each draw at
    most once (else a draw repeats where ``n_theta`` exceeds them)."""
    x = _live_kept(result)
    if half is not None:
        h = x.shape[1] // 2
        x = x[:, :h] if half == 0 else x[:, h:]
    C, n, _ = x.shape
    per_chain = max(1, n_theta // max(C, 1))
    per_chain = min(per_chain, n) if distinct else per_chain
    idx = np.linspace(0, n - 1, per_chain).round().astype(int)
    return x[:, idx, : result.game.d_theta], idx


def generated_vs_data(result, n_theta: int = 2000, n_z: int = 32, n_boot: int = 100, seed: int = 0) -> dict:
    """The long-run generated law against the data distribution: Wasserstein-1 and KS.

    Parameters
    ----------
    result : RunResult
        A run of a game with a generator (:func:`has_generator`).
    n_theta, n_z : int
        Generator draws from μ_θ and latents per draw (:func:`generated_samples`).
    n_boot : int
        Chain-bootstrap replicas for standard errors.
    seed : int

    Returns
    -------
    dict
        ``w1``, ``ks`` (mixture vs the data's empirical law) with ``w1_se``, ``ks_se``;
        ``w1_mean_theta``, ``ks_mean_theta``: the pure strategy ``G_θ̄`` at the stationary
        mean θ̄ for contrast; ``w1_halves``: W1 to the data of the generated law from the first
        and the second half of the kept draws, ``w1_between_halves`` between those two laws
        (the generated law can be stationary while the parameters are not: a network's
        hidden units can be permuted and rescaled without changing ``G_θ``);
        ``w1_floor``, ``ks_floor``: the mean W1 and KS of an
        ``M``-point sample of the generated law to the whole generated sample (what data
        drawn from the generated law itself would show); ``ks_p_value``: the one-sample KS
        test of the ``M`` data points against the generated law (``scipy.stats.kstwo``; the
        data as i.i.d. draws); ``data_mean``, ``data_std``, ``generated_mean``,
        ``generated_std``; ``n_generated``, ``n_data``.
    """
    game = result.game
    if not has_generator(game):
        raise ValueError(f"game {game.name!r} has no generator of 1-D data")
    data = np.sort(game.data[:, 0])
    Y = generated_samples(result, n_theta, n_z, seed)
    y = np.sort(Y.ravel())
    rng = np.random.default_rng(seed + 1)
    w1 = float(wasserstein_distance(y, data))
    ks = float(ks_2samp(y, data, method="asymp").statistic)

    def distances(idx):
        yb = np.sort(Y[idx].ravel())
        return wasserstein_distance(yb, data), float(ks_2samp(yb, data, method="asymp").statistic)

    reps = chain_bootstrap(distances, Y.shape[0], n_boot if Y.shape[0] > 1 else 0, rng)
    reps = np.array(reps) if reps else np.full((2, 2), np.nan)
    m, _ = result.pooled_moments()
    zz = np.random.default_rng(seed + 2).standard_normal(len(y))
    y_bar = np.sort(np.asarray(game.generate(m[: game.d_theta], zz), dtype=np.float64))
    # the generated law of each half of the run: settled in function space even where the
    # parameters themselves still wander (symmetries of the networks)
    halves = [np.sort(generated_samples(result, n_theta, n_z, seed + 3 + k, half=k).ravel()) for k in (0, 1)]
    subs = [np.sort(rng.choice(y, len(data))) for _ in range(20)]
    floor = float(np.mean([wasserstein_distance(sb, y) for sb in subs]))
    ks_floor = float(np.mean([float(ks_2samp(sb, y, method="asymp").statistic) for sb in subs]))
    return {
        "w1": w1, "w1_se": float(np.std(reps[:, 0], ddof=1)), "ks": ks, "ks_se": float(np.std(reps[:, 1], ddof=1)),
        "w1_mean_theta": float(wasserstein_distance(y_bar, data)), "ks_mean_theta": float(ks_2samp(y_bar, data, method="asymp").statistic),
        "w1_halves": [float(wasserstein_distance(hv, data)) for hv in halves],
        "w1_between_halves": float(wasserstein_distance(*halves)),
        "w1_floor": floor, "ks_floor": ks_floor, "ks_p_value": float(kstwo.sf(ks, len(data))),
        "data_mean": float(data.mean()), "data_std": float(data.std()),
        "generated_mean": float(y.mean()), "generated_std": float(y.std()),
        "n_generated": int(len(y)), "n_data": int(len(data)),
    }


def has_modes(game) -> bool:
    """Whether the game generates data of dimension ≥ 2 from a data set with known modes
    (``game.dataset``, a :class:`invariant.datasets.DataSet`)."""
    ds = getattr(game, "dataset", None)
    return (callable(getattr(game, "generate", None)) and getattr(ds, "modes", None) is not None
            and ds.dim >= 2)


def generated_modes(result, n_theta: int = 2000, n_z: int = 32, n_boot: int = 100, seed: int = 0) -> dict:
    """Mode coverage and mode hopping of the long-run generated law (docs/theory.md §7).

    ``n_theta`` generator parameters evenly spaced over the kept draws, each pushed through
    ``n_z`` latents ``z ~ N(0, I_latent_dim)`` by ``game.generate(theta (n, d_θ), z (n, n_z,
    latent_dim)) → (n, n_z, dim)``, then :func:`invariant.modes.summary` with the draws'
    SDE times.

    Returns
    -------
    dict
        ``modes_covered``, ``high_quality_fraction``, ``mode_kl``,
        ``modes_covered_per_draw``, ``mode_hops_per_unit_time`` with ``_se``, ``per_chain``
        and the counts (:func:`invariant.modes.summary`).
    """
    game = result.game
    if not has_modes(game):
        raise ValueError(f"game {game.name!r} has no data set of dimension ≥ 2 with known modes")
    theta, idx = _theta_draws(result, n_theta, distinct=True)
    t = _live_kept(result, times=True)[1][idx]
    C, T, _ = theta.shape
    z = np.random.default_rng(seed).standard_normal((C * T, n_z, int(getattr(game, "latent_dim", 1))))
    y = np.asarray(game.generate(theta.reshape(C * T, -1), z), dtype=np.float64)
    return modes.summary(y.reshape(C, T, n_z, -1), game.dataset, t, n_boot=n_boot, seed=seed)


# --------------------------------------------------------------------------- summary
def analyse(result, n_boot: int = 100, seed: int = 0) -> dict:
    """Conditional laws at the other player's stationary mean, marginal moments and, for a
    game with a generator, the generated-vs-data comparison (1-D data) and the mode metrics
    (data of dimension ≥ 2 with known modes, :func:`generated_modes`).

    Returns
    -------
    dict
        ``theta_given_omega``, ``omega_given_theta`` (:class:`Conditional`, or ``{"skipped":
        reason}``, :func:`_no_conditional`), ``marginals`` (``{"theta": {mean, cov}, "omega":
        {mean, cov}}``, ``variance`` for ``cov`` without the full covariance) and
        ``generated`` (dict or None).
    """
    game = result.game
    out = {w: _no_conditional(result, w) or conditional(result, w, n_boot=n_boot, seed=seed) for w in WHICH}
    t, o = np.arange(game.d_theta), np.arange(game.d_theta, game.d)
    out["marginals"] = {"theta": _player_moments(result, t), "omega": _player_moments(result, o)}
    gen = generated_vs_data(result, n_boot=n_boot, seed=seed) if has_generator(game) else None
    if has_modes(game):
        gen = {**(gen or {}), **generated_modes(result, n_boot=n_boot, seed=seed)}
    out["generated"] = gen
    return out


def _no_conditional(result, which: str) -> dict | None:
    """``{"skipped": reason}`` where neither fit applies: the conditioning player has more than
    ``LOCAL_MAX_DIM`` coordinates (the local fit's limit) and the run did not track the full
    covariance the linear one needs; None otherwise."""
    _, given = gaussian.player_indices(result.game.d_theta, result.game.d, which)
    if result.moments == "full" or given.size <= LOCAL_MAX_DIM:
        return None
    return {"skipped": f"the linear Gaussian conditional needs the full covariance, and this run tracked "
                       f"moments = {result.moments!r} (simulation.moments); the local fit takes at most "
                       f"{LOCAL_MAX_DIM} conditioning coordinates, not {given.size}"}


def summary_section(analysis: dict) -> dict:
    """The ``strategies.*`` fields of summary.json (docs/design.md ◆)."""
    out = {w: analysis[w] if isinstance(analysis[w], dict) else analysis[w].as_dict() for w in WHICH}
    out["marginals"] = analysis["marginals"]
    if analysis.get("generated") is not None:
        out["generated"] = analysis["generated"]
    return out
