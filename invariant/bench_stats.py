"""What the streamed statistics cost an SGA run (docs/performance.md, "How often statistics
are taken").

Each case is run with the FDR hook on, as ``invariant run`` runs it, four ways that differ only
in when statistics are booked (the chains are the same): the default spacing (moments every
``stat_every`` steps, observables every ``obs_every``), the moments only, the observables with
the moments (``obs_every = stat_every``, the spacing before ``obs_every`` existed) and neither.
Kernel wall time (``RunResult.wall_seconds``), the four taking turns, best of ``REPEATS``; the
share of statistics is ``1 − t(neither) / t``.
"""
from __future__ import annotations

import numpy as np

from . import config as config_mod
from . import engine, fdr

REPEATS = 5
TARGET = 0.9
"""The default spacing keeps at least this fraction of the run for training: statistics ≤ 10 %."""

SIMULATION = {"dynamics": "sga", "t_end": 300.0, "t_burn": 40.0, "seed": 77, "keep_draws": 2, "keep_chains": 1}
CASES = {
    # the setting of data/dirac_r1_sga.toml: exact g, ∇g, Σ by 64-point Gauss–Hermite sums
    "dirac-r1": {"game": {"name": "dirac", "loss": "vanilla", "regularizer": "r1", "gamma": 0.6},
                 "training": {"scheme": "alt-d", "lr": 0.1, "batch_size": 4}},
    # the embedded default bilinear game: closed forms, the minibatch mean drawn at once
    "bilinear": {"game": None, "training": {"scheme": "sml", "lr": 0.1, "batch_size": 4}},
}
WAYS = ("default", "moments only", "observables with the moments", "none")


def _configs(name: str, chains: int, t_end: float) -> dict:
    case = CASES[name]
    table = config_mod.read_table(None)
    if case["game"] is not None:
        table["game"] = dict(case["game"])
    table["training"] = dict(case["training"])
    sim = dict(SIMULATION, chains=chains, t_end=t_end, t_burn=min(SIMULATION["t_burn"], t_end / 4))
    base = config_mod.from_dict(dict(table, simulation=sim))
    never = (base.steps - base.burn_steps) // 2
    extra = {"moments only": {"obs_every": never},
             "observables with the moments": {"obs_every": base.stat_every}, "none": {"stat_every": never}}
    return {"default": base, **{w: config_mod.from_dict(dict(table, simulation={**sim, **e})) for w, e in extra.items()}}


def run_case(name: str, chains: int = 1024, t_end: float = 300.0, repeats: int = REPEATS) -> dict:
    """Seconds and statistics shares of the four spacings of case ``name`` (:data:`CASES`)."""
    cfgs = _configs(name, chains, t_end)
    runs = {w: (c, fdr.hook(c)) for w, c in cfgs.items()}
    for c, h in runs.values():
        engine.simulate(c, hook=h)  # compiled (or loaded from the cache) before any timing
    walls = {w: [] for w in WAYS}
    for _ in range(repeats):
        for w, (c, h) in runs.items():
            walls[w].append(engine.simulate(c, hook=h).wall_seconds)
    best = {w: float(np.min(v)) for w, v in walls.items()}
    default = cfgs["default"]
    return {"name": name, "dim": default.game.d, "chains": chains, "steps": default.steps,
            "stat_every": default.stat_every, "obs_every": default.obs_every, "seconds": best,
            "share": {w: 1.0 - best["none"] / best[w] for w in WAYS},
            "time_without_statistics": best["none"] / best["default"]}


def run(quick: bool = False) -> list[dict]:
    """Every case of :data:`CASES` (quick: 64 chains to t = 30, timings for tests only)."""
    chains, t_end, repeats = (64, 30.0, 2) if quick else (1024, SIMULATION["t_end"], REPEATS)
    return [run_case(name, chains, t_end, repeats) for name in CASES]


def print_rows(rows: list[dict], file) -> None:
    print("statistics' share of an SGA run (FDR hook on): default spacing | moments only | "
          "observables with the moments", file=file)
    for r in rows:
        s = r["share"]
        print(f"  {r['name']:<10} {r['chains']} chains, moments every {r['stat_every']}, observables every "
              f"{r['obs_every']} steps: {100 * s['default']:.0f} % | {100 * s['moments only']:.0f} % | "
              f"{100 * s['observables with the moments']:.0f} %", file=file)
