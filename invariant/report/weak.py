"""Section 9: weak orders (docs/theory.md §3, §8) from a weak-order JSON saved in the run folder.

Convention: ``invariant weak-order CONFIG --json DIR/weak.json`` puts it where the report
looks (:data:`invariant.report.context.WEAK_FILE`).
"""
from __future__ import annotations

import matplotlib.ticker as mticker
import numpy as np

from .. import weak
from . import html as H
from . import style
from .context import WEAK_FILE, RunContext
from .fmt import finite, num

ID, TITLE = "weak", "9. Weak orders"


def _sde(c) -> str:
    """The SDE of a comparison, with its diffusion when corrected (docs/theory.md §3.6)."""
    return f"{c.get('sde')} (corrected)" if c.get("diffusion") == "corrected" else str(c.get("sde"))


def section(ctx: RunContext) -> str:
    try:
        res = ctx.weak()
    except (OSError, ValueError) as exc:
        return H.missing(f"{WEAK_FILE} in the run folder is not readable ({exc}).")
    if res is None:
        return H.missing(f"No weak-order study in this run folder: invariant weak-order CONFIG --json DIR/{WEAK_FILE} "
                         "writes one there, and the report shows it.")
    comps = [c for c in res.get("comparisons") or [] if isinstance(c, dict) and c.get("lrs")]
    if not comps:
        return H.missing(f"{WEAK_FILE} holds no comparisons.")
    body = H.para(f"Weak errors |E x_k − E X_T| at T = {num(res.get('horizon'))} ({res.get('method')}, "
                  f"{res.get('game')} game, N = {res.get('batch_size')}"
                  + (f", {res.get('paths')} paths" if res.get("paths") else "") + "), max over coordinates.")
    rows = []
    for c in comps:
        rows.append([f"{_sde(c)} vs {c.get('scheme')}", c.get("expected_order", "—"), _o(c.get("order")),
                     _iv(c.get("order_interval")), _o((c.get("cov") or {}).get("order")),
                     _o((c.get("cov_relative") or {}).get("order")), "exact" if c.get("exact") else "Monte Carlo",
                     H.Note(c.get("note") or "")])
    body += H.table(["SDE vs scheme", "expected", "order", "95 % interval", "cov order (abs)", "cov order (rel)",
                     "errors", "note"], rows, left=(0, 6, 7))
    with style.theme():
        fig, axes = style.figure(1, 1, height=3.8)
        ax = axes[0, 0]
        for k, c in enumerate(comps):
            lrs = np.asarray(c["lrs"], dtype=float)
            e = np.abs(np.asarray(c["errors"], dtype=float))
            se = c.get("error_se")
            col = f"C{k}"
            below = np.asarray(c.get("below_noise") or [False] * len(lrs), bool)
            fit = weak.order_line(lrs, e, se)
            lab = f"{_sde(c)} vs {c.get('scheme')}: order {_o(fit['order'])} (expected {c.get('expected_order')})"
            if se is not None:
                ax.errorbar(lrs, e, yerr=2 * np.asarray(se, dtype=float), fmt="none", ecolor=col, elinewidth=1, capsize=2)
            ax.plot(lrs[~below], e[~below], "o", color=col, label=lab)
            if below.any():
                ax.plot(lrs[below], e[below], "o", mfc="none", color=col)
            if fit["line"] is not None:
                ax.plot(lrs, fit["line"], "-", color=col, lw=1.1, alpha=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted({float(v) for c in comps for v in c["lrs"]})
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        ax.set_xlabel("learning rate lr (η)")
        ax.set_ylabel("weak error at T")
        ax.legend(loc="lower right", fontsize=7.5)
        ax.set_title("Weak error against learning rate (log–log); lines: fitted power laws")
        uri = style.encode(fig)
    exact = all(c.get("exact") for c in comps)
    body += H.figure(uri, "Exact errors (moment recursions, no Monte Carlo noise)." if exact else
                     "Open circles: errors below the Monte Carlo noise (left out of the fit); bars: ± 2 s.e.")
    halving = res.get("step_halving") or {}
    if halving:
        hrows = [[s, num(h.get("largest_converged_lr")) if h.get("largest_converged_lr") is not None else "not converged",
                  H.Note(h.get("tolerance", ""))] for s, h in halving.items()]
        body += "<h3>Step halving (Turinici)</h3>" + H.table(["scheme", "E x(t) unchanged by halving lr from", "tolerance"],
                                                             hrows, left=(0, 2))
    return body


def _o(v) -> str:
    return f"{v:.2f}" if finite(v) else "—"


def _iv(iv) -> str:
    return f"[{iv[0]:.2f}, {iv[1]:.2f}]" if iv and len(iv) == 2 and all(finite(v) for v in iv) else "—"
