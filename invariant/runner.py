"""One run, start to finish: what ``invariant run`` does, as a function (docs/design.md ◆ Command line).

``invariant run`` and ``invariant sweep`` (each grid point) both call :func:`start` or
:func:`resume`: simulate (or continue) the chains with the FDR hook, analyse the finished
run and write ``chains.nc`` and ``summary.json`` into the run folder.  Nothing here prints;
the command line reports the returned :class:`Outcome`.  The HTML report is a separate step
(:func:`invariant.report.build`), which the callers run after this one.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

MAX_CHECKPOINTS = 10_000
"""Above this many checkpoints (``simulation.chunks``) a run spends its time writing them."""
MANY_DRAWS = 100_000
"""Above this many kept draws per chain the analyses take minutes."""
_PER_CHAIN_OBJECTS = 2048
"""Bytes per chain of the Python generators that seed the streams (≈ 1 KB each, measured;
one for the chain and one for the FDR hook)."""


@dataclass
class Outcome:
    """A finished, analysed and saved run.

    Attributes
    ----------
    out : Path
        The run folder.
    result : invariant.engine.RunResult
    moments : invariant.stationary.Moments
    summary : dict
        What ``summary.json`` holds.
    longrun : dict
        :func:`invariant.summary.longrun_sections` (mixing, strategies, Fokker–Planck).
    conditions : dict
        ``conditions.*`` of the summary (docs/theory.md §4).
    """

    out: Path
    result: object
    moments: object
    summary: dict
    longrun: dict
    conditions: dict


def start(cfg, out, progress: bool = False, notify=None, replace: bool = False) -> Outcome:
    """A fresh run of the validated config ``cfg`` in folder ``out`` (created if needed).

    In order: what cannot run is refused before anything is written
    (:func:`require_resources`); with ``replace`` the run ``out`` holds is removed (its own
    files only, :func:`invariant.storage.clear_run`); the folder is made and checked
    writable; the conditions are checked (cheap); the chains run.  The FDR hook streams
    docs/theory.md §5's terms from random streams of its own, so the chains are those of a run
    without it (a resumed run rebuilds it from ``out/config.json``: ``out/hook.json`` is only
    compared with it).  ``notify(line)``,
    when given, hears what will make the run slow (:func:`cost_warnings`) and that the
    kernels are being compiled (:func:`kernels_cached`).
    """
    from . import engine, fdr, storage, summary

    out = Path(out)
    engine.require_backend(cfg)  # before the conditions: a missing GPU is a one-line error at once
    hook = fdr.hook(cfg)
    require_resources(cfg, len(engine.observable_names(cfg.dynamics, hook)))
    if replace and (out / "config.json").exists():
        storage.clear_run(out)
    created = storage.make_folder(out)
    try:
        cond = summary.conditions_section(cfg)
    except BaseException:
        storage.remove_folders(created)
        raise
    for line in cost_warnings(cfg) if notify is not None else ():  # after every refusal: one line for those
        notify(f"warning: {line}")
    _notify_compile(cfg, hook, notify)
    result = engine.simulate(cfg, out, hook=hook, progress=progress)
    return finish(result, cond, out, progress)


def resume(out, progress: bool = False, notify=None) -> Outcome:
    """Continue the stopped or killed run in ``out`` from its last checkpoint (a run killed
    before its first checkpoint starts afresh with its recorded config), then analyse it.

    The folder is read and checked first (:func:`read_run`); ``notify`` as in :func:`start`.
    """
    from . import engine, fdr, summary

    out = Path(out)
    cfg = read_run(out)
    hook = fdr.hook(cfg)  # rebuilt from the validated config: nothing the folder holds is run
    require_resources(cfg, len(engine.observable_names(cfg.dynamics, hook)))
    _notify_compile(cfg, hook, notify)
    result = engine.resume(out, hook, progress=progress)
    return finish(result, summary.conditions_section(result.config), out, progress)


def read_run(out) -> object:
    """The validated config of the run in folder ``out``, after checking that the folder can
    be continued: ``config.json`` a JSON run config, ``hook.json`` (where there is one) the
    hook that config builds, ``checkpoint.npz`` (where there is one) complete, readable,
    written with that config and of its shapes (``invariant.engine.load``).

    Raises
    ------
    ConfigError
        Naming the file that is missing or damaged.
    """
    import zipfile

    from . import config, engine, fdr

    out = Path(out)
    path = out / "config.json"
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("--resume", f"{out} holds no run (no config.json); "
                                      f"start one with invariant run CONFIG --out {out}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), f"is not a run's config ({exc}); the run cannot be continued") from None
    if not isinstance(table, dict):
        raise ConfigError(str(path), f"is not a run's config (a JSON {type(table).__name__}, not an object)")
    try:
        cfg = config.from_dict(table)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.field}", exc.message) from None
    if (out / "checkpoint.npz").exists():
        try:  # read the folder the way the engine will, without running anything
            engine.load(out, fdr.hook(cfg))
        except ConfigError:
            raise
        except FileNotFoundError as exc:
            raise ConfigError(str(out), f"{exc}; the run cannot be continued") from None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ConfigError(str(out / "checkpoint.npz"), f"is damaged ({type(exc).__name__}: {exc}); the run "
                                                           "cannot be continued: start it afresh with --force") from None
    return cfg


def require_resources(cfg, n_obs: int) -> None:
    """Refuse, before anything is written, a run whose memory this machine does not have.

    The estimate follows what the engine allocates (``invariant.engine.run``): per chain
    the state, its divergence record and shift (``4d``), the running sums of ``x`` and
    of the second moments ``simulation.moments`` tracks (``d + d(d+1)/2`` in full, ``d + d +
    K(K+1)/2`` else; :mod:`invariant.options.moments`) and of ``n_obs`` observables, the
    analyses' per-chain covariances (``3d²``, or ``3(d + K²)``), its streams and the
    generators that seed them; per kept draw
    the draw and its copies in ``chains.nc`` (``3d + 2``); per chunk its observables.

    Raises
    ------
    ConfigError
        Naming ``simulation.chains`` or ``simulation.keep_draws`` (whichever needs more)
        with the estimate and the machine's memory.
    """
    d, k = cfg.game.d, cfg.moments.k
    # the analyses unpack each chain's second-moment sums (and copy them twice)
    unpacked = 3 * d * d if cfg.moments.full else 3 * (d + k * k)
    per_chain = 8 * (4 * d + cfg.moments.tracked_size(d) + unpacked + n_obs + 2 + 12) + _PER_CHAIN_OBJECTS
    chain_bytes = cfg.chains * per_chain
    draw_bytes = min(cfg.chains, cfg.keep_chains) * cfg.n_draws * (3 * d + 2) * 8
    total = chain_bytes + draw_bytes + cfg.n_chunks * (n_obs + 2) * 8
    have = _physical_memory()
    if total <= have:
        return
    if chain_bytes >= draw_bytes:
        raise ConfigError("simulation.chains", f"{cfg.chains:.3g} chains need about {_size(total)} of memory "
                                               f"({_size(per_chain)} per chain), more than this machine's "
                                               f"{_size(have)}; lower chains")
    raise ConfigError("simulation.keep_draws", f"keeping {cfg.n_draws:.3g} draws of {min(cfg.chains, cfg.keep_chains)} "
                                               f"chains needs about {_size(total)} of memory, more than this "
                                               f"machine's {_size(have)}; lower keep_draws or keep_chains")


def _physical_memory() -> int:
    """This machine's memory in bytes."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def cost_warnings(cfg) -> list[str]:
    """What will make the run slow though it can run: many checkpoints, many kept draws."""
    out = []
    if cfg.n_chunks > MAX_CHECKPOINTS:
        out.append(f"simulation.chunks = {cfg.chunks}: {cfg.n_chunks} checkpoints, one every {cfg.chunk_steps} "
                   f"step(s), each a full write of the state; writing them will take longer than the "
                   f"chains (100 suffice to resume)")
    if cfg.n_draws > MANY_DRAWS:
        k = min(cfg.chains, cfg.keep_chains)
        out.append(f"simulation.keep_draws = {cfg.keep_draws}: {cfg.n_draws} draws kept for each of {k} chains "
                   f"({_size(k * cfg.n_draws * cfg.game.d * 8)}); the analyses grow with this number and "
                   f"may take many minutes (1000 suffice for the moments and κ)")
    return out


def _size(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``29 TiB``."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    i = min(len(units) - 1, max(0, int(math.log(max(n, 1), 1024))))
    return f"{n / 1024 ** i:.3g} {units[i]}"


def kernels_cached(cfg, hook) -> bool:
    """Whether the CPU chain kernels of this run are compiled in this process or stored in
    numba's cache (``invariant.engine.build.cache_dir``): if not, the run will compile them
    first, for about a minute.  The cuda backend's kernels are not checked (True)."""
    if cfg.backend != "cpu":
        return True
    from .engine.run import chain_kernels

    module, name = chain_kernels(cfg, hook)
    if getattr(module, name).signatures:
        return True
    return any((Path(module.__file__).parent / "__pycache__").glob(f"{module.__name__}.{name}-*.nbi"))


def _notify_compile(cfg, hook, notify) -> None:
    if notify is not None and not kernels_cached(cfg, hook):
        notify(f"compiling kernels for {cfg.game.name} (first run only, about a minute)")


@contextmanager
def quiet_numerics():
    """No floating-point warnings on stderr from the analyses: a NaN or an overflow there is
    recorded in summary.json (a NaN moment, an ``error`` or ``reliable: false``), and numpy's
    and LAPACK's RuntimeWarnings would only repeat it without saying where."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def finish(result, cond: dict, out, progress: bool = False) -> Outcome:
    """Analyse a finished run and write ``out/chains.nc`` and ``out/summary.json``
    (summary.json last: a folder with a complete summary.json holds a finished run)."""
    from . import stationary, storage, summary

    out = Path(out)
    with quiet_numerics():
        m = stationary.moments(result)
    storage.write_chains(result, out)
    summ = summary.build(result, m)
    summ["conditions"] = cond
    with quiet_numerics():
        longrun = summary.longrun_sections(result, m, out, progress)  # docs/theory.md §4, §7: mixing, strategies
        fdr = summary.fdr_section(result)  # docs/theory.md §5
    summ["mixing"], summ["strategies"] = longrun["mixing"], longrun["strategies"]
    if longrun["fokker_planck"] is not None:
        summ["stationary"]["fokker_planck"] = longrun["fokker_planck"]
    summ["fdr"] = fdr
    storage.write_summary(summ, out)
    return Outcome(out=out, result=result, moments=m, summary=summ, longrun=longrun, conditions=cond)
