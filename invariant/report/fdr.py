"""Section 6: fluctuation–dissipation relations (docs/theory.md §5) and their running residuals."""
from __future__ import annotations

import numpy as np

from .. import fdr
from . import html as H
from . import style
from .context import RunContext, Unavailable
from .fmt import finite, num, pm

ID, TITLE = "fdr", "6. Fluctuation–dissipation relations"

RELATIONS = (("fdr1", "FDR1 (φ = g)"), ("fdr2_theta", "FDR2 θ (φ = |θ|²)"),
             ("fdr2_omega", "FDR2 ω (φ = |ω|²)"), ("fdr2_sum", "FDR2 θ − ω"))


def section(ctx: RunContext) -> str:
    sec = ctx.get("fdr")
    if not isinstance(sec, dict):
        return H.missing("The FDRs were not evaluated for this run (summary.json has no fdr section).")
    if "skipped" in sec and not any(k in sec for k, _ in RELATIONS):
        return H.missing(f"No FDRs: {sec['skipped']}; residuals of diverged chains would mean nothing.")
    if "error" in sec and not any(k in sec for k, _ in RELATIONS):
        return H.missing(f"No FDRs: the analysis failed or had nothing to work on ({sec['error']}).")
    form = ("exact discrete relations of the SGA chain (gradients as applied)" if sec.get("form") == "discrete"
            else "SDE relations of the order that was run; residual = lhs − rhs − dt_term (the Euler–Maruyama O(dt) term)")
    body = H.para(f"Form: {form}. MCSE from {sec.get('mcse_method', '?')} ({sec.get('units', '?')} units).")
    st = ctx.get("stationary") or {}
    if st.get("verdict") == "not settled":
        body += H.warn(f"The chains have not settled ({st.get('settled_reason', '')}): the relations hold under a "
                       "stationary law only, so these residuals test nothing yet.")
    rows = []
    ex = sec.get("exact") or {}
    for k, label in RELATIONS:
        e = sec.get(k)
        if not isinstance(e, dict):
            continue
        z = e.get("z")
        zc = H.Raw(f'<span class="{"yes" if abs(z) < 3 else "no"}">{z:.2f}</span>') if finite(z) else "—"
        rows.append([label, pm(e.get("lhs"), e.get("lhs_mcse")), pm(e.get("rhs"), e.get("rhs_mcse")),
                     num(e.get("dt_term"), 3) if "dt_term" in e else "—", num(e.get("residual"), 3),
                     num(e.get("mcse"), 2), zc,
                     num((ex.get(k) or {}).get("lhs"), 4) if ex else "—"])
    if rows:
        body += H.table(["relation", "lhs ± MCSE", "rhs ± MCSE", "dt_term", "residual", "MCSE", "z", "exact lhs = rhs"],
                        rows)
    for n in sec.get("notes") or []:
        body += f'<p class="sub">{H.esc(n)}</p>'
    body += "<h3>Running FDRs</h3>" + _running(ctx, sec)
    return body


def _running(ctx: RunContext, sec: dict) -> str:
    run = None
    try:
        run = ctx.cached("fdr_running", lambda: fdr.running(ctx.result))
    except Unavailable:
        pass
    except Exception:  # noqa: BLE001 — fall back on summary.json's copy
        run = None
    if run is None:
        run = sec.get("running")
    if not isinstance(run, dict) or "t" not in run:
        why = (run or {}).get("error") if isinstance(run, dict) else None
        return H.missing("The running FDR residuals are not available" + (f" ({why})." if why else "."))
    t = np.asarray(run["t"], dtype=float)
    if t.size == 0:
        return H.missing("The running FDR residuals are empty (no chunk ended after the burn-in).")
    with style.theme():
        fig, axes = style.figure(2, 2, height=5.0, sharex=True)
        for k, (key, label) in enumerate(RELATIONS):
            ax = axes[k // 2, k % 2]
            e = run.get(key) or {}
            res = np.asarray(e.get("residual", []), dtype=float)
            if res.size != t.size:
                ax.set_visible(False)
                continue
            se = np.asarray(e["mcse"], dtype=float) if "mcse" in e else None
            if se is None and "z" in e:
                z = np.asarray(e["z"], dtype=float)
                with np.errstate(all="ignore"):
                    se = np.abs(res / z)
            ax.axhline(0, color="0.4", lw=0.8)
            if se is not None and np.any(np.isfinite(se)):
                ax.fill_between(t, -2 * se, 2 * se, color="0.6", alpha=0.25, lw=0, label="± 2 s.e. (stationary)")
            ax.plot(t, res, ".-", color=f"C{k}", lw=1, ms=3, label="residual per chunk")
            if finite(run.get("settled_at")):
                ax.axvline(run["settled_at"], color="C3", ls="--", lw=1, label="settled from")
            ax.set_title(label)
            if k % 2 == 0:
                ax.set_ylabel("lhs − rhs (− dt_term)")
            if k // 2 == 1:
                ax.set_xlabel("SDE time t (end of chunk)")
        axes[0, 0].legend(loc="upper right", fontsize=7)
        uri = style.encode(fig)
    s = run.get("settled_at")
    cap = ("Residual of each relation over the chunks' windows against t; band: the spread of the second half's "
           "windows, scaled to each window's count. " + (f"All relations settled from t = {num(s)}." if finite(s)
                                                         else "No settling time was found (or too few windows)."))
    return H.figure(uri, cap)
