"""Mode coverage of generated samples: modes covered, high-quality fraction, mode KL and
mode hopping, with chain-bootstrap errors (docs/theory.md §7).

Input: samples grouped by chain and kept draw, ``(chains, draws, n_z, dim)`` — draw ``t`` of
chain ``c`` is a parameter ``θ_{c,t}`` of μ_θ pushed through ``n_z`` latents — and a
:class:`invariant.datasets.DataSet` with known modes.  Conventions (VEEGAN, Srivastava et
al. 2017; PacGAN, Lin et al. 2018):

* each sample goes to its nearest mode (Euclidean); it is *high quality* if its Euclidean
  distance to that mode is at most ``n_sigmas = 3`` times the modes' σ;
* a mode is *covered* if it holds a share at least ``min_share`` of all samples as
  high-quality samples (and at least one): PacGAN's "fewer than 20 of 2500 samples" is the
  default share 0.008, a threshold on the law rather than on the sample size;
* ``mode_kl`` is ``KL(q ‖ w)`` of the histogram ``q`` of the high-quality samples over the
  modes against the data's mixture weights ``w`` (uniform for ``ring8``/``grid25``), with
  ``0 log 0 = 0``: finite (at most ``log 1/min w``) whenever a sample is high quality, NaN
  when none is;
* the *dominant mode* of a draw is the most frequent nearest-mode assignment of its
  ``n_z`` samples; ``mode_hops_per_unit_time`` is the number of changes of the dominant mode
  between consecutive kept draws over the elapsed SDE time (changes faster than the spacing
  of the draws are not seen: a lower bound on the hop rate of the continuous chain).

Each statistic is a function of sums over draws (counts per mode, samples, hops, time), so
it is evaluated the same way on any set of resampling units: independent chains for the
pooled estimate over the long-run law, contiguous blocks of one chain's draws for that chain
(:func:`invariant.diagnostics.chain_bootstrap` on both).
"""
from __future__ import annotations

import warnings

import numpy as np

from .diagnostics import chain_bootstrap, effective_n

N_SIGMAS = 3.0
MIN_SHARE = 0.008  # PacGAN: a mode with fewer than 20 of 2500 samples is lost
STATS = ("modes_covered", "high_quality_fraction", "mode_kl", "modes_covered_per_draw", "mode_hops_per_unit_time")
MAX_BLOCKS = 25
BLOCK_TAUS = 2.0  # block length in integrated autocorrelation times

__all__ = ["N_SIGMAS", "MIN_SHARE", "STATS", "assign", "draw_table", "statistics", "summary"]


def assign(samples, modes) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode of each sample and its Euclidean distance.

    Parameters
    ----------
    samples : ndarray (..., dim)
    modes : ndarray (K, dim)

    Returns
    -------
    nearest : ndarray (...) of int
    distance : ndarray (...)
    """
    y = np.asarray(samples, dtype=np.float64)
    d2 = ((y[..., None, :] - modes) ** 2).sum(-1)
    k = d2.argmin(-1)
    return k, np.sqrt(np.take_along_axis(d2, k[..., None], -1)[..., 0])


def _per_draw(y, modes, radius, min_share):
    """Per-draw columns of one chain: (hq counts (T, K), n_z, covered, dominant (T,))."""
    T, n_z, _ = y.shape
    K = len(modes)
    k, dist = assign(y, modes)
    rows = np.repeat(np.arange(T), n_z)
    hq = np.zeros((T, K))
    np.add.at(hq, (rows, k.ravel()), (dist <= radius).ravel())
    near = np.zeros((T, K))
    np.add.at(near, (rows, k.ravel()), 1.0)
    covered = _covered(hq, n_z, min_share)
    return hq, covered, near.argmax(1)


def _covered(hq, n, min_share):
    return np.sum((hq > 0) & (hq >= min_share * np.asarray(n)[..., None]), axis=-1)


def draw_table(samples, dataset, t, n_sigmas: float = N_SIGMAS, min_share: float = MIN_SHARE) -> np.ndarray:
    """Additive per-draw sums ``(chains, draws, K + 5)`` the statistics are made of.

    Columns: high-quality counts per mode (``K``), samples, modes covered by the draw's own
    samples, 1 (the draw), a change of dominant mode since the previous draw (0 for the
    first), SDE time since the previous draw (0 for the first).

    Parameters
    ----------
    samples : ndarray (chains, draws, n_z, dim)
    dataset : DataSet
        With ``modes`` and ``mode_std``.
    t : ndarray (draws,)
        SDE time of each draw.
    n_sigmas, min_share : float
        High-quality radius in σ, and the coverage share (module docstring).
    """
    y = np.asarray(samples, dtype=np.float64)
    C, T, n_z, dim = y.shape
    if dataset.modes is None or dataset.modes.shape[1] != dim:
        raise ValueError(f"data set {dataset.name!r} has no modes of dimension {dim}")
    t = np.asarray(t, dtype=np.float64)
    if t.shape != (T,):
        raise ValueError(f"t must have shape ({T},); got {t.shape}")
    out = np.zeros((C, T, len(dataset.modes) + 5))
    for c in range(C):  # one chain at a time: the distance table is draws·n_z·K
        hq, cov, dom = _per_draw(y[c], dataset.modes, n_sigmas * dataset.mode_std, min_share)
        out[c, :, :-5] = hq
        out[c, :, -5:-2] = np.column_stack([np.full(T, n_z), cov, np.ones(T)])
        out[c, 1:, -2] = dom[1:] != dom[:-1]
        out[c, 1:, -1] = np.diff(t)
    return out


def statistics(sums, weights, min_share: float = MIN_SHARE) -> np.ndarray:
    """The statistics :data:`STATS` of summed :func:`draw_table` rows.

    Parameters
    ----------
    sums : ndarray (K + 5,)
    weights : ndarray (K,)
        The data's mixture weights.
    min_share : float

    Returns
    -------
    ndarray (5,)
        ``modes_covered``, ``high_quality_fraction``, ``mode_kl`` (NaN without a
        high-quality sample), ``modes_covered_per_draw``, ``mode_hops_per_unit_time`` (NaN
        without elapsed time).
    """
    hq, (n, cov, draws, hops, elapsed) = sums[:-5], sums[-5:]
    h = hq.sum()
    kl = float("nan")
    if h > 0:
        q = hq / h
        on = q > 0
        kl = float(np.sum(q[on] * np.log(q[on] / weights[on])))
    rate = hops / elapsed if elapsed > 0 else float("nan")
    return np.array([_covered(hq, n, min_share), h / n, kl, cov / draws, rate], dtype=np.float64)


def _bootstrap(units, weights, min_share, n_boot, rng):
    """Estimate from all units and its chain-bootstrap standard error (NaN with one unit)."""
    est = statistics(units.sum(0), weights, min_share)
    reps = chain_bootstrap(lambda idx: statistics(units[idx].sum(0), weights, min_share),
                           len(units), n_boot if len(units) > 1 else 0, rng)
    if len(reps) < 2:
        return est, np.full(len(STATS), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a statistic NaN in every replica
        return est, np.nanstd(np.array(reps), axis=0, ddof=1)


def _blocks(table) -> list:
    """Contiguous blocks of one chain's draws, each about twice the integrated
    autocorrelation time of the per-draw high-quality fraction and mode shares."""
    T = len(table)
    hq, n = table[:, :-5], table[:, -5]
    series = np.column_stack([hq / n[:, None], hq.sum(1) / n])
    varying = [s for s in series.T if np.ptp(s) > 0]
    tau = max([T / effective_n(s[None, :]) for s in varying], default=1.0)
    n_blocks = int(np.clip(T // max(1, int(np.ceil(BLOCK_TAUS * tau))), 1, MAX_BLOCKS))
    return np.array_split(np.arange(T), n_blocks)


def summary(samples, dataset, t, n_boot: int = 200, seed: int = 0, n_sigmas: float = N_SIGMAS,
            min_share: float = MIN_SHARE) -> dict:
    """Mode metrics of generated samples, pooled over chains and per chain.

    Parameters
    ----------
    samples : ndarray (chains, draws, n_z, dim)
        The samples of each chain's kept draws (``θ_{c,t}`` pushed through ``n_z`` latents).
    dataset : DataSet
        With known ``modes``, ``mode_std`` and ``weights``.
    t : ndarray (draws,)
        SDE time of each draw.
    n_boot : int
        Bootstrap replicas (over chains for the pooled values, over blocks of draws for
        each chain's).
    seed : int
    n_sigmas, min_share : float
        High-quality radius in σ and coverage share (module docstring).

    Returns
    -------
    dict
        For each name in :data:`STATS`: the pooled estimate over the long-run law (all
        chains) and ``name_se`` (chain bootstrap); ``per_chain``: ``{name: (chains,),
        name_se: (chains,)}`` with block-bootstrap errors from each chain's own draws
        (blocks about twice the integrated autocorrelation time); ``n_modes``,
        ``n_sigmas``, ``min_share``, ``n_chains``, ``n_draws``, ``n_z``.
    """
    table = draw_table(samples, dataset, t, n_sigmas, min_share)
    C, T, _ = table.shape
    w = np.full(dataset.n_modes, 1.0 / dataset.n_modes) if dataset.weights is None else np.asarray(dataset.weights)
    rng = np.random.default_rng(seed)
    est, se = _bootstrap(table.sum(1), w, min_share, n_boot, rng)
    per = [_bootstrap(np.array([table[c, b].sum(0) for b in _blocks(table[c])]), w, min_share, n_boot, rng)
           for c in range(C)]
    per_est, per_se = np.array([p[0] for p in per]), np.array([p[1] for p in per])
    out = {}
    for j, name in enumerate(STATS):
        out[name], out[name + "_se"] = float(est[j]), float(se[j])
    out["per_chain"] = {k: v for j, name in enumerate(STATS)
                        for k, v in ((name, per_est[:, j]), (name + "_se", per_se[:, j]))}
    out.update(n_modes=dataset.n_modes, n_sigmas=float(n_sigmas), min_share=float(min_share),
               n_chains=int(C), n_draws=int(T), n_z=int(np.shape(samples)[2]))
    return out
