"""Run folders: ``chains.nc`` (arviz InferenceData) and ``summary.json`` (docs/design.md ◆), and
what may be done to a folder: check it can hold a run, clear the run it holds."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from . import __version__
from .jsontypes import jsonable
from ._arviz import arviz as az
from .errors import ConfigError

RUN_FILES = ("config.json", "hook.json", "checkpoint.npz", "chains.nc", "summary.json", "report.html")
"""The files a run writes in its folder (the engine, :func:`finish <invariant.runner.finish>`
and the report); ``invariant run --force`` removes these and nothing else."""
RUN_FOLDERS = ("relaxation",)
"""Sub-folders a run writes (:func:`invariant.mixing.ensure_relaxation`)."""
RUN_KEYS = ("game", "training", "simulation")
"""Sections every run's ``config.json`` holds (the resolved config, docs/design.md ◆ Config)."""


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
    return atomic_write(Path(out) / "chains.nc", lambda tmp: to_inference_data(result).to_netcdf(str(tmp)))


def write_summary(summary: dict, out: str | Path) -> Path:
    text = json.dumps(jsonable(summary), indent=2)
    return atomic_write(Path(out) / "summary.json", lambda tmp: tmp.write_text(text))


def _partial(path: Path, pid: int | str) -> Path:
    """Where ``path`` is written before it replaces the old file: ``stem.<pid>.tmp.suffix``
    (the engine names its checkpoint's the same way)."""
    return path.with_name(f"{path.stem}.{pid}.tmp{path.suffix}")


def atomic_write(path: Path, write) -> Path:
    """``write(tmp)`` then rename ``tmp`` onto ``path``: a full disk or a kill leaves the old
    file (or none) and no partial one."""
    tmp = _partial(path, os.getpid())
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def remove_partial(out: str | Path) -> None:
    """Remove the partial files this process left in ``out`` (after a failed write)."""
    for name in RUN_FILES:
        _partial(Path(out) / name, os.getpid()).unlink(missing_ok=True)


def holds_run(out: str | Path) -> bool:
    """True when ``out/config.json`` is a run's config (a JSON object with the sections
    every run records); any other file of that name is not."""
    try:
        table = json.loads((Path(out) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(table, dict) and all(isinstance(table.get(k), dict) for k in RUN_KEYS)


def clear_run(out: str | Path) -> None:
    """Remove the run in ``out`` (``invariant run --force``): its :data:`RUN_FILES`,
    :data:`RUN_FOLDERS` and partial files, nothing else.

    Raises :class:`~invariant.errors.ConfigError` (nothing removed) when ``out`` holds no
    run or is, or holds, the current folder.
    """
    out = Path(out)
    if not holds_run(out):
        raise ConfigError("--force", f"{out} holds no run (its config.json is not a run's config); "
                                     "nothing removed: pick another --out")
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise ConfigError("--force", f"{out} is the current folder or holds it; nothing removed: "
                                     "run from elsewhere or pick another --out")
    for name in RUN_FILES:
        path = out / name
        for p in (path, *out.glob(f"{path.stem}.*.tmp{path.suffix}")):
            p.unlink(missing_ok=True)
    for name in RUN_FOLDERS:
        path = out / name
        if path.is_symlink():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)


def make_folder(out: str | Path) -> list[Path]:
    """Create the run folder ``out`` (and its missing parents) and check that a file can be
    written in it, before any simulation.

    Returns
    -------
    list of Path
        The folders created, deepest first (:func:`remove_folders` takes them back).

    Raises
    ------
    ConfigError
        ``--out`` names a file, a folder under a file, or a place that cannot be written.
    """
    out = Path(out)
    created = [p for p in (out, *out.parents) if not p.exists() and not p.is_symlink()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = _partial(out / "probe", os.getpid())
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        remove_folders(created)
        above = next(p for p in (out, *out.parents) if p.exists())
        if not above.is_dir():
            why = "is a file, not a folder" if above == out else f"is under {above}, a file, not a folder"
        else:
            why = f"cannot be written ({exc.strerror or exc})"
        raise ConfigError("--out", f"{out} {why}; pick a folder you can write to") from None
    return created


def remove_folders(folders) -> None:
    """Remove the folders :func:`make_folder` created, where they are still empty."""
    for p in folders:
        try:
            p.rmdir()
        except OSError:
            pass
