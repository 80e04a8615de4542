"""The sweep report: ``DIR/sweep.html`` of an ``invariant sweep`` folder (self-contained HTML).

Reads ``DIR/sweep.csv`` and ``DIR/sweep.json`` (:mod:`invariant.sweep`) and draws each
headline scalar of the rows — tr Cov, the mixing rate κ, the FDR residuals — against each
swept key, with error bars (±2 MCSE; κ: its bootstrap interval), one colour per combination
of the other swept keys.  When ``training.lr`` and ``training.batch_size`` are both swept it
adds tr Cov against lr and against lr/N coloured by N: the stationary spread of SGDA scales
with lr/N (docs/theory.md §3), so the colours collapse onto one curve in the second panel.  For
affine games the exact stationary tr Cov of the simulated chain (the ``exact.trace_cov``
column) is drawn as black crosses.  Figures are base64 PNGs (:mod:`.style`), no script.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from . import fmt, html, style

REPORT_FILE = "sweep.html"

#: (column, error column or interval columns, axis label) of the headline panels
PANELS = (
    ("stationary.trace_cov", "stationary.trace_cov_mcse", "tr Cov (stationary)"),
    ("mixing.rate", ("mixing.rate_interval.lo", "mixing.rate_interval.hi"), "mixing rate κ"),
    ("fdr.fdr1.residual", "fdr.fdr1.mcse", "FDR1 residual"),
    ("fdr.fdr2_theta.residual", "fdr.fdr2_theta.mcse", "FDR2 (θ) residual"),
    ("fdr.fdr2_omega.residual", "fdr.fdr2_omega.mcse", "FDR2 (ω) residual"),
)
LR, N = "training.lr", "training.batch_size"


def build(sweep_dir, out=None) -> Path:
    """Write the sweep report of ``sweep_dir`` (default ``sweep_dir/sweep.html``); returns its path."""
    d = Path(sweep_dir)
    path = Path(out) if out else d / REPORT_FILE
    path.write_text(render(d))
    return path


def _read(d: Path):
    import pandas as pd

    meta = json.loads((d / "sweep.json").read_text())
    df = pd.read_csv(d / "sweep.csv", keep_default_na=True)
    keys = [k for k, _ in meta.get("set", []) if k != "simulation.seed"]
    return meta, df, keys


def render(d: Path) -> str:
    """The report as an HTML string."""
    meta, df, keys = _read(Path(d))
    ok = df[df["status"].astype(str).isin(["ok", "diverged"])].copy()
    n_fail = int(df["status"].astype(str).str.startswith("failed").sum())
    n_pend = int((df["status"].astype(str) == "pending").sum())
    sections = []
    with style.theme():
        if keys and len(ok):
            sections.append(("headline", "Headline scalars against each swept key", _headline(ok, keys)))
        if LR in keys and N in keys and len(ok):
            sections.append(("collapse", "Stationary spread against lr/N", _collapse(ok)))
        if "exact.z" in df.columns and ok["exact.z"].notna().any():
            sections.append(("exact", "Against the exact stationary law", _exact(ok, keys)))
    sections.append(("rows", "Points", _table(df, keys)))
    if not keys:
        sections.insert(0, ("none", "Nothing swept", html.missing("no --set key: the sweep is replicates of one point")))
    title = "invariant sweep"
    sets = "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in meta.get("set", []))
    subtitle = f"{sets} × {meta.get('seeds', 1)} seed(s) — {Path(d).resolve()}"
    badges = (html.badge("points", str(len(df)), f"{len(ok)} finished")
              + html.badge("failed", str(n_fail), tone="bad" if n_fail else "ok")
              + (html.badge("pending", str(n_pend), "not run yet", tone="warn") if n_pend else ""))
    if "exact.z" in df.columns and ok["exact.z"].notna().any():
        zmax = float(ok["exact.z"].abs().max())
        badges += html.badge("max |z| of tr Cov vs exact", f"{zmax:.2f}", f"over {int(ok['exact.z'].notna().sum())} points",
                             tone="ok" if zmax <= 3 else "warn")
    return html.page(title, subtitle, badges, sections, f"invariant {meta.get('version', '')} — sweep report")


# ---------------------------------------------------------------------------- helpers

def _numeric(s) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _logscale(x) -> bool:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return x.size > 1 and np.all(x > 0) and x.max() / x.min() >= 8


def _errors(sub, err):
    """Lower and upper error-bar lengths (±2 MCSE, or an interval around the value)."""
    col = sub.columns
    if isinstance(err, tuple):
        lo_c, hi_c = err
        if lo_c not in col or hi_c not in col:
            return None
        y = sub["__y"].to_numpy(float)
        lo = np.clip(y - sub[lo_c].to_numpy(float), 0, None)
        hi = np.clip(sub[hi_c].to_numpy(float) - y, 0, None)
        return np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)])
    if err not in col:
        return None
    e = 2 * sub[err].to_numpy(float)
    return np.nan_to_num(e)


def _groups(df, others):
    """(label, sub-frame) per combination of the other swept keys."""
    if not others:
        return [("", df)]
    out = []
    for vals, sub in df.groupby(others, sort=True):
        vals = vals if isinstance(vals, tuple) else (vals,)
        out.append((", ".join(f"{_short(k)}={v}" for k, v in zip(others, vals)), sub))
    return out


def _short(key: str) -> str:
    return {LR: "lr", N: "N"}.get(key, key.split(".", 1)[-1])


def _positions(df, key):
    """x positions of a swept key (numbers as they are, anything else as categories)."""
    if _numeric(df[key]):
        return df[key].to_numpy(float), None
    cats = sorted(df[key].astype(str).unique())
    return df[key].astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(float), cats


def _dodge(x, j, n, log):
    """Spread replicates (seeds) a little around x."""
    if n <= 1:
        return x
    off = (j - (n - 1) / 2) * 0.06 / max(n - 1, 1)
    return x * math.exp(off) if log else x + off * (np.ptp(x) if np.ptp(x) > 0 else 1.0)


def _draw(ax, df, key, ycol, err, others, colors, exact=False):
    x_all, cats = _positions(df, key)
    log = cats is None and _logscale(x_all)
    seeds = sorted(df["seed"].unique())
    for gi, (label, sub) in enumerate(_groups(df, others)):
        sub = sub.assign(__y=sub[ycol].astype(float)) if ycol in sub.columns else None
        if sub is None or not sub["__y"].notna().any():
            continue
        x, _ = _positions(sub, key) if cats is None else (sub[key].astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(float), cats)
        c = colors[gi % len(colors)]
        for j, s in enumerate(seeds):
            m = (sub["seed"] == s).to_numpy()
            if not m.any():
                continue
            e = _errors(sub[m], err)
            ax.errorbar(_dodge(x[m], j, len(seeds), log), sub["__y"].to_numpy(float)[m], yerr=e, fmt="o", ms=4,
                        color=c, elinewidth=1, capsize=2, label=label if j == 0 and label else None)
        mean = sub.assign(__x=x).groupby("__x")["__y"].mean()
        ax.plot(mean.index, mean.to_numpy(), "-", color=c, lw=1, alpha=0.6)
        if exact and "exact.trace_cov" in sub.columns and sub["exact.trace_cov"].notna().any():
            ex = sub.assign(__x=x).groupby("__x")["exact.trace_cov"].mean()
            ax.plot(ex.index, ex.to_numpy(), "x", color="black", ms=6, mew=1.2,
                    label="exact" if gi == 0 else None)
    if log:
        ax.set_xscale("log")
    if cats is not None:
        ax.set_xticks(range(len(cats)), cats)
    else:
        _value_ticks(ax, x_all)
    ax.set_xlabel(key)


def _value_ticks(ax, x) -> None:
    """Ticks at the swept values themselves, labelled as plain numbers."""
    from matplotlib.ticker import NullLocator

    vals = np.unique(np.asarray(x, dtype=float)[np.isfinite(x)])
    if 0 < vals.size <= 12:
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(vals, [f"{v:g}" for v in vals])


def _headline(df, keys) -> str:
    panels = [p for p in PANELS if p[0] in df.columns and df[p[0]].notna().any()]
    if not panels:
        return html.missing("no headline scalar in the finished points")
    fig, axes = style.figure(len(panels), len(keys), height=2.6 * len(panels))
    for i, (ycol, err, ylabel) in enumerate(panels):
        for j, key in enumerate(keys):
            others = [k for k in keys if k != key]
            n_groups = len(_groups(df, others))
            ax = axes[i, j]
            _draw(ax, df, key, ycol, err, others, style.colors(n_groups), exact=ycol == "stationary.trace_cov")
            ax.set_ylabel(ylabel)
            if ycol.startswith("fdr."):
                ax.axhline(0.0, color="0.4", lw=0.8, ls="--")
            if ycol == "stationary.trace_cov" and df[ycol].gt(0).all() and _logscale(df[ycol]):
                ax.set_yscale("log")
            if i == 0 and (others or "exact.trace_cov" in df.columns) and ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, ncol=1 if n_groups <= 6 else 2)
    cap = ("Each point is one run (seeds side by side), error bars ±2 MCSE (κ: its bootstrap interval); "
           "lines join the means over seeds; colours are the combinations of the other swept keys"
           + ("; black crosses: the exact stationary tr Cov of the simulated chain." if "exact.trace_cov" in df.columns else "."))
    return html.figure(style.encode(fig), cap, "headline scalars against the swept keys")


def _collapse(df) -> str:
    df = df.assign(lr_over_n=df[LR].astype(float) / df[N].astype(float))
    ns = sorted(df[N].unique())
    colors = style.colors(len(ns))
    fig, axes = style.figure(1, 3, height=3.6)
    for ax, xcol, xlabel in ((axes[0, 0], LR, "learning rate lr"), (axes[0, 1], "lr_over_n", "lr / N")):
        for c, n in zip(colors, ns):
            sub = df[df[N] == n]
            y = sub["stationary.trace_cov"].to_numpy(float)
            ax.errorbar(sub[xcol].to_numpy(float), y, yerr=2 * sub["stationary.trace_cov_mcse"].to_numpy(float),
                        fmt="o", ms=4, color=c, capsize=2, elinewidth=1, label=f"N = {n}")
            mean = sub.groupby(xcol)["stationary.trace_cov"].mean()
            ax.plot(mean.index, mean.to_numpy(), "-", color=c, lw=1, alpha=0.6)
        if "exact.trace_cov" in df.columns and df["exact.trace_cov"].notna().any():
            ax.plot(df[xcol], df["exact.trace_cov"], "x", color="black", ms=6, mew=1.2, label="exact")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("tr Cov (stationary)")
        if _logscale(df[xcol]):
            ax.set_xscale("log")
        if xcol == LR:
            _value_ticks(ax, df[xcol])
        if df["stationary.trace_cov"].gt(0).all() and _logscale(df["stationary.trace_cov"]):
            ax.set_yscale("log")
    # the small-lr law tr Cov ≈ k · lr/N (docs/theory.md §3), k fitted through the origin on log scale
    good = df[(df["stationary.trace_cov"] > 0) & (df["lr_over_n"] > 0)]
    note = ""
    if len(good) >= 2:
        k = float(np.exp(np.mean(np.log(good["stationary.trace_cov"]) - np.log(good["lr_over_n"]))))
        xs = np.geomspace(good["lr_over_n"].min(), good["lr_over_n"].max(), 50)
        axes[0, 1].plot(xs, k * xs, "--", color="0.35", lw=1, label=f"{k:.3g} · lr/N")
        # spread around a smooth curve in lr/N versus in lr: how much the colours collapse
        note = _collapse_note(good)
    _scaled(axes[0, 2], df, ns, colors)
    axes[0, 0].set_title("against lr: one curve per batch size")
    axes[0, 1].set_title("against lr / N: the batch sizes collapse")
    axes[0, 2].set_title("tr Cov ÷ (lr/N): the collapse magnified")
    for ax in axes[0]:
        ax.legend(fontsize=7)
    cap = ("tr Cov of the stationary law against the learning rate (left) and against lr/N (middle), coloured "
           "by the batch size N; error bars ±2 MCSE; dashed: a line through the origin, tr Cov ∝ lr/N. "
           "Right: tr Cov · N/lr, where a perfect collapse is one flat curve; what remains at equal lr/N is the "
           "lr-dependence of the drift (the O(lr) terms of the order-2 SDE, and the step itself for SGA runs)."
           + (" " + note if note else ""))
    return html.figure(style.encode(fig), cap, "tr Cov against lr and lr/N")


def _scaled(ax, df, ns, colors) -> None:
    """tr Cov · N / lr against lr/N (one flat curve if tr Cov were exactly ∝ lr/N)."""
    x = df["lr_over_n"].to_numpy(float)
    scale = 1.0 / x
    for c, n in zip(colors, ns):
        m = (df[N] == n).to_numpy()
        ax.errorbar(x[m], df["stationary.trace_cov"].to_numpy(float)[m] * scale[m],
                    yerr=2 * df["stationary.trace_cov_mcse"].to_numpy(float)[m] * scale[m],
                    fmt="o", ms=4, color=c, capsize=2, elinewidth=1, label=f"N = {n}")
    if "exact.trace_cov" in df.columns and df["exact.trace_cov"].notna().any():
        ax.plot(x, df["exact.trace_cov"].to_numpy(float) * scale, "x", color="black", ms=6, mew=1.2, label="exact")
    if _logscale(x):
        ax.set_xscale("log")
    ax.set_xlabel("lr / N")
    ax.set_ylabel("tr Cov · N / lr")


def _collapse_note(df) -> str:
    """Relative scatter of tr Cov about a smooth fit (a quadratic in log) against log(lr/N) and against log lr."""
    y = np.log(df["stationary.trace_cov"].to_numpy(float))

    def scatter(x):
        x = np.log(x)
        if np.unique(x).size < 4:  # a quadratic needs more than three distinct abscissae
            return float("nan")
        r = y - np.polyval(np.polyfit(x, y, 2), x)
        return float(np.sqrt(np.mean(r ** 2)))

    s_n, s_lr = scatter(df["lr_over_n"].to_numpy(float)), scatter(df[LR].to_numpy(float))
    if not (math.isfinite(s_n) and math.isfinite(s_lr)):
        return ""
    return (f"Residual scatter of log tr Cov about a smooth curve: {s_n:.3f} against lr/N, "
            f"{s_lr:.3f} against lr.")


def _exact(df, keys) -> str:
    z = df["exact.z"].astype(float)
    fig, axes = style.figure(1, 1, height=3.0, width=7.0)
    ax = axes[0, 0]
    rows = df.index.to_numpy()  # data rows of sweep.csv, from 0 (failed and pending rows have no z)
    ax.axhspan(-3, 3, color="0.93", zorder=0)
    lim = max(4.0, 1.15 * float(z.abs().max()))
    ax.set_ylim(-lim, lim)
    settled = (df["stationary.verdict"] != "not settled").to_numpy() if "stationary.verdict" in df.columns \
        else np.ones(len(df), bool)
    c_ok, c_bad = style.colors(4)[0], style.colors(4)[3]
    ax.plot(rows[settled], z.to_numpy()[settled], "o", ms=4, color=c_ok, label="settled")
    if not settled.all():
        ax.plot(rows[~settled], z.to_numpy()[~settled], "o", ms=4, mfc="none", color=c_bad, label="not settled")
        ax.legend(fontsize=7)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xlabel("point (data row of sweep.csv, from 0)")
    ax.set_ylabel("z = (tr Cov − exact) / MCSE")
    if len(df) <= 40:
        ax.set_xticks(rows, [str(i) for i in rows])
    zmax = float(z.abs().max())
    cap = (f"tr Cov of every finished point against the exact stationary tr Cov of the chain it simulates "
           f"(invariant.exact); max |z| = {zmax:.2f} over {int(z.notna().sum())} points; grey band |z| ≤ 3.")
    return html.figure(style.encode(fig), cap, "z-scores against the exact law")


def _table(df, keys) -> str:
    cols = [c for c in keys if c in df.columns] + ["seed", "status", "stationary.trace_cov", "stationary.trace_cov_mcse"]
    if "exact.trace_cov" in df.columns:
        cols += ["exact.trace_cov", "exact.z"]
    cols += ["stationary.verdict", "mixing.rate", "conditions.verdict", "run.diverged_chains", "run.wall_seconds", "folder"]
    cols = [c for c in cols if c in df.columns]
    rows = []
    for _, r in df.head(500).iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append("" if not math.isfinite(v) else fmt.num(v))
            else:
                cells.append(str(v))
        rows.append(cells)
    more = f"<p class=\"missing\">… {len(df) - 500} more rows in sweep.csv</p>" if len(df) > 500 else ""
    return html.table(cols, rows, left=(cols.index("status"), len(cols) - 1)) + more
