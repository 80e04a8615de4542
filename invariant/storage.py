"""Run folders: ``chains.nc`` (arviz InferenceData) and ``summary.json`` (DESIGN.md ◆)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import __version__
from .jsontypes import jsonable
from ._arviz import arviz as az


def to_inference_data(result):
    """Kept draws as InferenceData: ``posterior.theta``, ``posterior.omega`` (chain × draw)
    and ``sample_stats.diverging`` / ``sample_stats.t`` (SDE time), with the resolved config
    and the package version in the attributes."""
    game = result.game
    th, om = game.split(result.draws)
    n_keep, n_draws = result.draws.shape[:2]
    attrs = {
        "config": json.dumps(result.config.resolved),
        "invariant_version": __version__,
        "game": game.name,
        "dynamics": result.config.dynamics,
        "scheme": result.config.scheme.name,
    }
    return az.from_dict(
        posterior={"theta": th, "omega": om},
        sample_stats={
            "diverging": result.diverging,
            "t": np.broadcast_to(result.draw_t, (n_keep, n_draws)).copy(),
        },
        dims={"theta": ["theta_dim"], "omega": ["omega_dim"]},
        attrs=attrs,
    )


def write_chains(result, out: str | Path) -> Path:
    path = Path(out) / "chains.nc"
    to_inference_data(result).to_netcdf(str(path))
    return path


def write_summary(summary: dict, out: str | Path) -> Path:
    path = Path(out) / "summary.json"
    path.write_text(json.dumps(jsonable(summary), indent=2))
    return path
