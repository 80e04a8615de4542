"""One run, start to finish: what ``invariant run`` does, as a function (DESIGN.md ◆ Command line).

``invariant run`` and ``invariant sweep`` (each grid point) both call :func:`start` or
:func:`resume`: simulate (or continue) the chains with the FDR hook, analyse the finished
run and write ``chains.nc`` and ``summary.json`` into the run folder.  Nothing here prints;
the command line reports the returned :class:`Outcome`.  The HTML report is a separate step
(:func:`invariant.report.build`), which the callers run after this one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
        ``conditions.*`` of the summary (MATH.md §4).
    """

    out: Path
    result: object
    moments: object
    summary: dict
    longrun: dict
    conditions: dict


def start(cfg, out, progress: bool = False) -> Outcome:
    """A fresh run of the validated config ``cfg`` in folder ``out`` (created if needed).

    The conditions are checked before the simulation (cheap); the FDR hook streams
    MATH.md §5's terms from random streams of its own, so the chains are those of a run
    without it (a resumed run reads the hook from ``out/hook.json``).
    """
    from . import engine, fdr, summary

    out = Path(out)
    engine.require_backend(cfg)  # before the conditions: a missing GPU is a one-line error at once
    cond = summary.conditions_section(cfg)
    result = engine.simulate(cfg, out, hook=fdr.hook(cfg), progress=progress)
    return finish(result, cond, out, progress)


def resume(out, progress: bool = False) -> Outcome:
    """Continue the stopped or killed run in ``out`` from its last checkpoint (a run killed
    before its first checkpoint starts afresh with its recorded config), then analyse it."""
    from . import engine, summary

    out = Path(out)
    result = engine.resume(out, progress=progress)
    return finish(result, summary.conditions_section(result.config), out, progress)


def finish(result, cond: dict, out, progress: bool = False) -> Outcome:
    """Analyse a finished run and write ``out/chains.nc`` and ``out/summary.json``
    (summary.json last: a folder with a complete summary.json holds a finished run)."""
    from . import stationary, storage, summary

    out = Path(out)
    m = stationary.moments(result)
    storage.write_chains(result, out)
    summ = summary.build(result, m)
    summ["conditions"] = cond
    longrun = summary.longrun_sections(result, m, out, progress)  # MATH.md §4, §7: mixing, strategies
    summ["mixing"], summ["strategies"] = longrun["mixing"], longrun["strategies"]
    if longrun["fokker_planck"] is not None:
        summ["stationary"]["fokker_planck"] = longrun["fokker_planck"]
    summ["fdr"] = summary.fdr_section(result)  # MATH.md §5
    storage.write_summary(summ, out)
    return Outcome(out=out, result=result, moments=m, summary=summ, longrun=longrun, conditions=cond)
