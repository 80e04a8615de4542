"""All mixing-rate estimates of a run together (docs/theory.md §4): the headline, the
disagreement check, the Euler–Maruyama correction and the ``mixing.*`` section of
summary.json (docs/design.md ◆ summary.json)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .. import exact
from ..jsontypes import plain
from .acf import autocorrelation_rate
from .edmd import spectral_rate
from .estimate import RateEstimate
from .relaxation_fit import Relaxation, relaxation_rate
from .spacing import SpacingCheck, check_spacing, mark_sparse


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
        Per observable: integrated time, ESS, R-hat (see :func:`~invariant.mixing.acf.autocorrelation_rate`).
    relaxation : Relaxation or None
    exact : dict or None
        The exact κ of an affine game, when known (:func:`exact_rate`).
    spacing : SpacingCheck or None
        The main run's draw spacing against κ (the exact one, else the largest estimate:
        :func:`flag_sparse_draws`); None when there is neither.

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
    spacing: SpacingCheck | None = None

    @property
    def rate(self) -> float:
        return self.headline.rate


def exact_rate(result) -> dict | None:
    """Exact κ for an affine game, else None.

    Returns
    -------
    dict or None
        ``sde``: ``−α(A)`` of the SDE drift for the run's scheme and order
        (:func:`invariant.exact.mixing_rate`, docs/theory.md §4); ``simulated``: the rate of the
        chain actually run, per unit of SDE time — ``−log ρ(I + dt·A)/dt`` for the
        Euler–Maruyama chain of an SDE run, ``−log ρ(M)/η`` for an SGA run
        (:func:`invariant.exact.discrete`).
    """
    game = result.game
    if not getattr(game, "affine", False):
        return None
    cfg = result.config
    sch = cfg.scheme
    A, _ = exact.drift(game, sch.name, sch.order, sch.lr)
    out = {"sde": exact.mixing_rate(A)}
    if cfg.dynamics == "sde":
        M, h = np.eye(game.d) + cfg.dt * A, cfg.dt
    else:
        M, _, _ = exact.discrete(game, sch.name, sch.lr, sch.batch_size, sch.batches)
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


def flag_sparse_draws(estimates: dict, result, relaxation_runs=None, exact: dict | None = None):
    """Mark unreliable every estimate whose draws are too far apart for κ (:mod:`.spacing`).

    κ is the exact κ when known, else the largest finite estimate (draws spaced too sparsely
    bias the estimates downwards, so the largest is the least biased).  The autocorrelation
    and spectral estimates are judged by the main run's spacing, the relaxation estimate by
    its runs' own; the Fokker–Planck reference uses no draws.

    Returns
    -------
    SpacingCheck or None
        The main run's check (None when there is no rate to judge by).
    """
    rates = [e.rate for e in estimates.values() if np.isfinite(e.rate) and e.rate > 0]
    if exact is not None:
        kappa, source = exact["sde"], "exact"
    elif rates:
        kappa, source = max(rates), "largest estimate"
    else:
        return None
    main = check_spacing(result, kappa, source)
    for k, e in estimates.items():
        if k != "fokker_planck":
            mark_sparse(e, main if k != "relaxation" else check_spacing(relaxation_runs[0], kappa, source))
    return main


def analyse(result, relaxation_runs=None, fp=None, level: float = 0.95, n_boot: int = 200, seed: int = 0,
            lag: float | None = None, degree: int | None = None) -> Mixing:
    """Every mixing-rate estimate of a run, the headline and a disagreement check.

    Parameters
    ----------
    result : RunResult
        The main run (kept draws after burn-in).
    relaxation_runs : list of RunResult, optional
        Runs of :func:`~invariant.mixing.relaxation.relaxation_run` (method 2).
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
        # the chains are Euler–Maruyama chains with step dt; κ is the SDE's (docs/theory.md §4)
        for k in ("autocorrelation", "spectral", "relaxation"):
            if k in est:
                _to_sde(est[k], result.config.dt)
    ex = exact_rate(result)
    spacing = flag_sparse_draws(est, result, relaxation_runs, ex)
    mc = [e for k, e in est.items() if k != "fokker_planck" and np.isfinite(e.rate)]
    pool = [e for e in mc if e.reliable and np.all(np.isfinite(e.interval))] or mc or list(est.values())
    headline = min(pool, key=lambda e: e.width / abs(e.rate) if np.isfinite(e.width) and e.rate else np.inf)
    dis, pairs = compare(est)
    return Mixing(est, headline, dis, pairs, diag, curves, ex, spacing)


def summary_section(mix: Mixing) -> dict:
    """The ``mixing.*`` fields of summary.json (docs/design.md ◆).

    ``spacing`` is the draw spacing against κ (:class:`~invariant.mixing.spacing.SpacingCheck`);
    when it is too sparse, ``reliable`` and ``iat_reliable`` are false and ``note`` /
    ``iat_note`` say why and which ``keep_draws`` would do (the headline ``rate`` is kept).
    """
    diag = mix.diagnostics
    iats = [v["iat"] for v in diag.values() if np.isfinite(v["iat"])]
    ess = [v["ess_bulk"] for v in diag.values() if np.isfinite(v["ess_bulk"])]
    rh = [v["rhat"] for v in diag.values() if np.isfinite(v["rhat"])]
    sparse = mix.spacing.note if mix.spacing is not None and not mix.spacing.ok else None
    out = {
        "rate": mix.headline.rate,
        "rate_interval": list(mix.headline.interval),
        "level": mix.headline.level,
        "method": mix.headline.method,
        "reliable": mix.headline.reliable,
        "iat": max(iats) if iats else float("nan"),
        "iat_reliable": all(v["reliable"] for v in diag.values()) and sparse is None,
        "ess": min(ess) if ess else float("nan"),
        "rhat": max(rh) if rh else float("nan"),
        "disagreement": mix.disagreement,
        "disagreements": mix.disagreements,
        "methods": {k: e.as_dict() for k, e in mix.estimates.items()},
        "observables": diag,
    }
    if mix.exact is not None:
        out["exact"] = mix.exact
    if mix.spacing is not None:
        out["spacing"] = mix.spacing.as_dict()
    if sparse is not None:
        # the integrated time then measures the spacing (τ·Δ → Δ), not the process
        out["note"] = out["iat_note"] = sparse
    return plain(out)
