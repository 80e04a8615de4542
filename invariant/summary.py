"""The machine-readable summary of a run (docs/design.md ◆ summary.json)."""
from __future__ import annotations

import numpy as np

from . import __version__, conditions, fdr, fokker_planck, mixing, strategies
from .errors import ConfigError
from .optimizers import SDE_ORDERS
from .stationary import Moments


def run_section(result) -> dict:
    cfg = result.config
    divs = result.divergences()
    return {
        "game": cfg.game.name,
        "dynamics": cfg.dynamics,
        "scheme": cfg.scheme.name,
        "optimizer": cfg.scheme.optimizer.as_dict(),
        "order": cfg.scheme.order,
        # which SDE was run (docs/theory.md §3): None for the discrete chains
        "diffusion": cfg.scheme.diffusion_name if cfg.dynamics == "sde" else None,
        "sde": ({"scheme": cfg.scheme.name, "order": cfg.scheme.order, "diffusion": cfg.scheme.diffusion_name}
                if cfg.dynamics == "sde" else None),
        "lr": cfg.scheme.lr,
        "batch_size": cfg.scheme.batch_size,
        # one minibatch per player, or one for both (docs/theory.md §2)
        "batches": cfg.scheme.batches,
        "dt": cfg.step_time,
        "chains": cfg.chains,
        "steps": result.steps_done,
        "t_end": result.steps_done * cfg.step_time,
        "t_burn": cfg.t_burn,
        "seed": cfg.seed,
        "diverged_chains": len(divs),
        "divergences": divs[:20],
        "wall_seconds": result.wall_seconds,
        "compile_seconds": result.compile_seconds,
        "chain_steps_per_second": cfg.chains * result.steps_done / max(result.wall_seconds, 1e-12),
        "version": __version__,
    }


def stationary_section(m: Moments) -> dict:
    """``stationary.*`` (docs/design.md ◆ summary.json): ``cov`` and ``cov_mcse`` are null
    unless the run tracked the full covariance (``moments``); ``variance`` is always given,
    ``projection_cov`` with ``moments = "projections"``."""
    out = {
        "mean": m.mean,
        "mean_mcse": m.mean_mcse,
        "mean_mcse_between_chains": m.mean_mcse_between,
        "mean_mcse_method": m.mean_mcse_method,
        "mean_mcse_ess": m.mean_mcse_ess,
        "cov": m.cov,
        "cov_mcse": m.cov_mcse,
        "trace_cov": m.trace_cov,
        "trace_cov_mcse": m.trace_cov_mcse,
        "ess": m.ess,
        "rhat": m.rhat,
        "settled": m.settled,
        "verdict": m.verdict,
        "settled_reason": m.reason,
        "moments": m.tracked,
        "variance": m.variance,
        "variance_mcse": m.variance_mcse,
    }
    if m.tracked == "projections":
        out.update(projection_cov=m.projection_cov, projection_cov_mcse=m.projection_cov_mcse,
                   projection_vectors=m.projection)
    return out


def build(result, moments: Moments) -> dict:
    """Assemble ``summary.json`` from a run result and its analyses."""
    return {
        "param_names": result.game.param_names,
        "run": run_section(result),
        "stationary": stationary_section(moments),
    }


CONDITIONS_D_MAX = 256
"""Largest state dimension whose conditions ``invariant run`` checks before simulating."""


def conditions_section(cfg) -> dict:
    """``conditions.*`` of summary.json (docs/design.md ◆) for a validated config: C1–C4 of docs/theory.md §4
    on the SDE it selects, computed before any simulation (:func:`invariant.conditions.check_config`).

    A numerical failure inside the check is recorded (``verdict = "not established"``,
    ``error``) rather than stopping the run; a bad ``[conditions]`` entry raises ConfigError.
    """
    opt = cfg.scheme.optimizer
    if cfg.game.d > CONDITIONS_D_MAX:
        return {"verdict": "not established",
                "reason": f"not checked before the run: d = {cfg.game.d} > {CONDITIONS_D_MAX}, where the search's "
                          "d × d diffusion matrices and their spectra at every point take minutes; "
                          "`invariant check` runs it on demand"}
    if cfg.scheme.order not in SDE_ORDERS.get(opt.name, ()):
        return {"verdict": "not applicable", "reason": f"optimizer = {opt.name!r} has no SDE here "
                                                       "(docs/theory.md §4b): the conditions are an SDE's"}
    try:
        return conditions.check_config(cfg).to_dict()
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 — the run must not die on a diagnostic
        return {"verdict": "not established", "reason": f"the conditions check failed: {exc!r}",
                "error": repr(exc)}


def longrun_sections(result, moments: Moments, out=None, progress: bool = False) -> dict:
    """Long-run analyses of a finished run (docs/theory.md §4, §7): ``mixing.*``, ``strategies.*``
    and, for a 2-D game, ``stationary.fokker_planck`` (docs/design.md ◆ summary.json).

    Runs the relaxation experiment first when the config asks for it (``[mixing]
    relaxation = true``; its runs are saved in ``out/relaxation/`` and reused on a resumed
    run).  An analysis that fails numerically is recorded as ``{"error": …}`` rather than
    stopping the run.

    Returns
    -------
    dict
        ``{"mixing": …, "strategies": …, "fokker_planck": … or None}``, JSON-ready.
    """
    cfg = result.config
    opts = cfg.mixing or mixing.MixingOptions()
    out_d = {"mixing": None, "strategies": None, "fokker_planck": None}
    fp = None
    settled = moments.verdict != "not settled"
    if not np.any(result.kept_alive):
        why = {"skipped": "every kept chain diverged: no draws to analyse"}
        return {"mixing": dict(why), "strategies": dict(why), "fokker_planck": None}
    if not settled:
        # no invariant law seen: a box around the draws would only give the box's own law
        out_d["fokker_planck"] = {"skipped": f"chains not settled ({moments.reason})"} \
            if opts.fokker_planck and cfg.game.d == 2 else None
    elif opts.fokker_planck and cfg.game.d_theta == 1 and cfg.game.d_omega == 1 and _no_sde(cfg):
        out_d["fokker_planck"] = {"skipped": _no_sde(cfg)}
    elif opts.fokker_planck and cfg.game.d_theta == 1 and cfg.game.d_omega == 1 and result.n_diverged < cfg.chains:
        try:
            fp = fokker_planck.from_run(result, (opts.fp_grid, opts.fp_grid))
            out_d["fokker_planck"] = fokker_planck.summary_section(fp, fokker_planck.compare_draws(fp, result))
        except Exception as exc:  # noqa: BLE001 — a diagnostic must not kill the run
            out_d["fokker_planck"] = {"error": repr(exc)}
            fp = None
    try:
        runs = None
        if opts.relaxation and result.n_diverged < cfg.chains:
            # the starts lie along the covariance's principal axes: along the coordinates,
            # scaled by their variances, where the full covariance was not tracked
            cov = moments.cov if moments.cov is not None else np.diag(moments.variance)
            runs = mixing.ensure_relaxation(cfg, out, moments.mean, cov, progress)
        mix = mixing.analyse(result, runs, fp, level=opts.level, n_boot=opts.bootstrap, lag=opts.lag,
                             degree=opts.degree)
        out_d["mixing"] = mixing.summary_section(mix)
        if not settled:
            out_d["mixing"]["warning"] = f"chains not settled ({moments.reason}): κ describes no invariant law"
    except Exception as exc:  # noqa: BLE001
        out_d["mixing"] = {"error": repr(exc)}
    try:
        out_d["strategies"] = strategies.summary_section(strategies.analyse(result, n_boot=min(opts.bootstrap, 100)))
    except Exception as exc:  # noqa: BLE001
        out_d["strategies"] = {"error": repr(exc)}
    return out_d


def _no_sde(cfg) -> str:
    """Why the Fokker–Planck density of the run's SDE cannot be solved for, or ''."""
    opt = cfg.scheme.optimizer
    if cfg.game.d > CONDITIONS_D_MAX:
        return {"verdict": "not established",
                "reason": f"not checked before the run: d = {cfg.game.d} > {CONDITIONS_D_MAX}, where the search's "
                          "d × d diffusion matrices and their spectra at every point take minutes; "
                          "`invariant check` runs it on demand"}
    if cfg.scheme.order not in SDE_ORDERS.get(opt.name, ()):
        return f"optimizer = {opt.name!r} has no SDE of order {cfg.scheme.order} (docs/theory.md §4b)"
    if opt.name == "consensus":
        return "consensus's noise γ H L z′ couples θ and ω; the Fokker–Planck solver needs a diagonal diffusion"
    return ""


def fdr_section(result) -> dict:
    """``fdr.*`` of summary.json (docs/design.md ◆; docs/theory.md §5): FDR1 and FDR2 (each player and
    summed) with ``lhs, rhs, residual, mcse, z`` for the dynamics and order that were run —
    the exact discrete form for SGA chains — plus the running residuals
    (:func:`invariant.fdr.summary_section`).  A run without the FDR hook, or an analysis
    that fails, is recorded as ``{"error": …}`` rather than stopping the run; a run whose
    every chain diverged as ``{"skipped": …}``: the relations hold under a stationary law,
    and there is none to test (no residuals, no ``settled_at``)."""
    opt = result.config.scheme.optimizer
    if not opt.plain:
        return {"skipped": f"the relations of docs/theory.md §5 hold for plain SGDA (one lr, one critic step) and "
                           f"its SDEs; optimizer = {opt.name!r} with lr_ratio = {opt.lr_ratio:g}, "
                           f"n_critic = {opt.n_critic} obeys others"}
    if result.n_diverged == result.config.chains:
        first = min(d["t"] for d in result.divergences())
        return {"skipped": f"every chain diverged, the first at t = {first:.4g}: no stationary law for the "
                           "relations to test"}
    try:
        return fdr.summary_section(result)
    except Exception as exc:  # noqa: BLE001 — a diagnostic must not kill the run
        return {"error": repr(exc)}
