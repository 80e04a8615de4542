"""The diagnostics report: one self-contained HTML file per run folder (docs/design.md ◆).

``invariant report DIR [--out FILE]`` and the end of ``invariant run`` call :func:`build`.
The report renders what the analyses return — ``summary.json`` and the project's analysis
functions on the saved run (:mod:`invariant.stationary`, :mod:`invariant.mixing`,
:mod:`invariant.fokker_planck`, :mod:`invariant.strategies`, :mod:`invariant.fdr`,
:mod:`invariant.weak`) — and never simulates.  Figures are PNGs embedded as ``data:`` URIs,
the style sheet is inline and there is no script, so the file opens anywhere offline.

Modules: :mod:`.document` (assembly), :mod:`.context` (the run folder), :mod:`.html`,
:mod:`.style`, :mod:`.fmt` (building blocks) and one module per section: :mod:`.facts`,
:mod:`.conditions`, :mod:`.traces`, :mod:`.densities`, :mod:`.mixing`, :mod:`.fdr`,
:mod:`.strategies`, :mod:`.generated`, :mod:`.weak`.
"""
from .context import WEAK_FILE, RunContext
from .document import REPORT_FILE, SECTIONS, build, render

__all__ = ["build", "render", "RunContext", "REPORT_FILE", "WEAK_FILE", "SECTIONS"]
