"""The relaxation experiment (method 2, docs/theory.md §4): its runs and their folder.

Ensembles started at dispersed points in antithetic pairs ``m ± v`` sharing their noise,
each its own engine run, saved in ``DIR/relaxation/start<j>/`` with ``starts.json``.
:mod:`.relaxation_fit` turns them into relaxation curves and a rate.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .. import config as config_mod
from .. import engine

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


def _start_points(cfg, center, cov):
    d = cfg.game.d
    center = cfg.x0 if center is None else np.asarray(center, dtype=np.float64)
    cov = (max(cfg.init_scale, 1e-3) ** 2) * np.eye(d) if cov is None else np.asarray(cov, dtype=np.float64)
    return center, relaxation_starts(center, cov, cfg.mixing.relaxation_spread, cfg.mixing.relaxation_starts)


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


def load_relaxation(out) -> list:
    """The relaxation runs saved in ``out/relaxation/`` (empty list if none)."""
    folder = Path(out) / RELAX_DIR
    if not folder.is_dir():
        return []
    subs = sorted((p for p in folder.iterdir() if p.name.startswith("start") and (p / "config.json").exists()),
                  key=lambda p: int(p.name[5:]))
    return [engine.load(p) for p in subs]


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
