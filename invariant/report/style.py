"""Figure style and PNG encoding for the report (matplotlib's Agg canvas, seaborn themes).

Figures are :class:`matplotlib.figure.Figure` objects drawn on an Agg canvas, never through
``pyplot``: building a report changes no global backend or style of the caller, and no
figure stays registered after it has been encoded.
"""
from __future__ import annotations

import base64
import contextlib
import io

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: width of a full-width figure in inches (drawn at :data:`DPI`, shown at 100 % width)
WIDTH = 11.0
#: height of one row of panels in inches
ROW = 3.0
DPI = 100
PALETTE = "deep"

_RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8,
    "legend.framealpha": 0.85,
    "axes.formatter.limits": (-3, 4),
}


@contextlib.contextmanager
def theme():
    """seaborn's ``whitegrid`` theme and the report's sizes, restored on exit."""
    import seaborn as sns

    with mpl.rc_context(), sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        mpl.rcParams.update(_RC)
        with sns.color_palette(PALETTE):
            yield


def figure(rows: int = 1, cols: int = 1, height: float | None = None, width: float = WIDTH, **kw):
    """A figure of ``rows × cols`` panels, full report width, ``ROW`` inches per row.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of Axes (``squeeze=False``: always 2-D)
    """
    fig = Figure(figsize=(width, height if height is not None else ROW * rows), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False, **kw)
    return fig, axes


def encode(fig) -> str:
    """The figure as a base64 PNG ``data:`` URI; the figure is cleared afterwards."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    fig.clear()
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def colors(n: int) -> list:
    """``n`` colours of the report's palette."""
    import seaborn as sns

    return sns.color_palette(PALETTE, max(n, 1))
