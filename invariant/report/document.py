"""Assemble the report: the summary header, then every section, each drawn on its own so
that one failing section shows a sentence instead of stopping the others."""
from __future__ import annotations

import time
from pathlib import Path

from .. import __version__
from . import conditions, densities, facts, fdr, generated, mixing, strategies, traces, weak
from . import html as H
from .context import RunContext, Unavailable
from .fmt import num

#: the sections in order (modules with ``ID``, ``TITLE`` and ``section(ctx) -> html``)
SECTIONS = (facts, conditions, traces, densities, mixing, fdr, strategies, generated, weak)

REPORT_FILE = "report.html"


def render(ctx: RunContext) -> str:
    """The report of an opened run folder as one HTML string."""
    parts = []
    for mod in SECTIONS:
        try:
            body = mod.section(ctx)
        except Unavailable as exc:
            body = H.missing(f"Not available: {exc}.")
        except Exception as exc:  # noqa: BLE001 — one section must not take the report down
            body = H.missing(f"This section could not be drawn ({type(exc).__name__}: {str(exc)[:300]}).")
        parts.append((mod.ID, mod.TITLE, body))
    run = ctx.get("run") or {}
    title = f"invariant report — {run.get('game', '?')} game, {run.get('scheme', '?')}{facts.optimizer_label(run)}"
    sub = (f"{ctx.folder} · {run.get('dynamics', '?')}"
           + (f" (order {run.get('order')}, {run.get('diffusion') or 'plain'} diffusion)" if run.get("dynamics") == "sde" else "")
           + f" · lr = {num(run.get('lr'))}, batch_size = {num(run.get('batch_size'))}"
           + (" (one batch shared by both players)" if run.get("batches") == "shared" else "") + " · "
           f"{num(run.get('chains'))} chains to t = {num(run.get('t_end'))}")
    try:
        badges = facts.badges(ctx)
    except Exception as exc:  # noqa: BLE001
        badges = H.missing(f"No verdicts ({type(exc).__name__}: {exc}).")
    foot = f"invariant {run.get('version', __version__)} · report built {time.strftime('%Y-%m-%d %H:%M:%S')}"
    return H.page(title, sub, badges, parts, foot)


def build(folder, out=None, result=None) -> Path:
    """Write the HTML report of a run folder.

    Parameters
    ----------
    folder : path
        A run folder of ``invariant run`` (``summary.json``; ``checkpoint.npz`` for the
        figures; ``relaxation/`` and ``weak.json`` when present).
    out : path, optional
        Output file (default ``folder/report.html``).
    result : RunResult, optional
        The run already in memory (saves re-reading the checkpoint).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    invariant.errors.ConfigError
        When ``folder`` holds no run.
    """
    ctx = RunContext.open(folder, result)
    path = Path(out) if out is not None else Path(folder) / REPORT_FILE
    text = render(ctx)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
