"""The machine-readable summary of a run (DESIGN.md ◆ summary.json)."""
from __future__ import annotations

from . import __version__
from .stationary import Moments


def run_section(result) -> dict:
    cfg = result.config
    divs = result.divergences()
    return {
        "game": cfg.game.name,
        "dynamics": cfg.dynamics,
        "scheme": cfg.scheme.name,
        "order": cfg.scheme.order,
        "lr": cfg.scheme.lr,
        "batch_size": cfg.scheme.batch_size,
        "dt": cfg.step_time,
        "chains": cfg.chains,
        "steps": result.steps_done,
        "t_end": result.steps_done * cfg.step_time,
        "t_burn": cfg.t_burn,
        "seed": cfg.seed,
        "diverged_chains": len(divs),
        "divergences": divs[:20],
        "wall_seconds": result.wall_seconds,
        "chain_steps_per_second": cfg.chains * result.steps_done / max(result.wall_seconds, 1e-12),
        "version": __version__,
    }


def stationary_section(m: Moments) -> dict:
    return {
        "mean": m.mean,
        "mean_mcse": m.mean_mcse,
        "mean_mcse_between_chains": m.mean_mcse_between,
        "cov": m.cov,
        "cov_mcse": m.cov_mcse,
        "trace_cov": m.trace_cov,
        "trace_cov_mcse": m.trace_cov_mcse,
        "ess": m.ess,
        "rhat": m.rhat,
        "settled": m.settled,
        "verdict": m.verdict,
        "settled_reason": m.reason,
    }


def build(result, moments: Moments) -> dict:
    """Assemble ``summary.json`` from a run result and its analyses."""
    return {
        "param_names": result.game.param_names,
        "run": run_section(result),
        "stationary": stationary_section(moments),
    }
