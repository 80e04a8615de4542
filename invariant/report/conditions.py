"""Section 2: conditions C1–C4 for a unique invariant measure, and Hörmander's condition and
reachability where the noise is degenerate (docs/theory.md §4)."""
from __future__ import annotations

from . import html as H
from .context import RunContext
from .fmt import num

ID, TITLE = "conditions", "2. Conditions for a unique invariant measure"

_ROWS = (
    ("C1", "bounded_diffusion", "σσᵀ bounded", (("sup ‖σσᵀ‖", "sup_norm"),)),
    ("C1", "bounded_jacobian", "∇b bounded", (("sup ‖∇b‖", "sup_norm"),)),
    ("C2", "dissipativity", "x·b ≤ −c|x|² for |x| ≥ R", (("c", "c"), ("R", "R"))),
    ("C3", "ellipticity", "λ_min(σσᵀ) > 0", (("λ_min", "lambda_min"),)),
    ("C4", "lyapunov", "LV ≤ −1 for |x| ≥ R*", (("V", "V"), ("R*", "R_star"), ("a", "a"), ("β", "beta"))),
)

# shown where C3 fails (docs/theory.md §4.4): uniqueness by hypoellipticity
_DEGENERATE_ROWS = (
    ("§4.4", "hormander", "σ and its brackets with b span R^d", (("s_min", "s_min"), ("depth", "depth"), ("rank", "rank"))),
    ("§4.4", "reachability", "a stable x* reachable from every x", (("x*", "x_star"),)),
)


def section(ctx: RunContext) -> str:
    cond = ctx.get("conditions")
    if not isinstance(cond, dict) or not cond:
        return H.missing("The conditions were not checked for this run (summary.json has no conditions section); "
                         "invariant check CONFIG runs them in seconds.")
    v = cond.get("verdict", "—")
    tone = {"unique": "yes", "unique (hypoelliptic)": "yes", "exists": ""}.get(v, "no")
    body = (f'<p>Verdict: <b class="{tone}">{H.esc(v)}</b> — {H.esc(cond.get("reason", ""))}</p>')
    if cond.get("error"):
        return body + H.missing(f"The check itself failed: {cond['error']}.")
    rows = []
    hm = cond.get("hormander")
    degenerate = isinstance(hm, dict) and hm.get("method") not in (None, "ellipticity")
    for c, key, what, consts in _ROWS + (_DEGENERATE_ROWS if degenerate else ()):
        e = cond.get(key)
        if not isinstance(e, dict):
            continue
        cs = ", ".join(f"{lab} = {_value(e.get(k))}" for lab, k in consts if e.get(k) is not None)
        rows.append([c, what, H.yes_no(e.get("holds")), cs or "—", "exact" if e.get("exact") else "searched",
                     H.Note(e.get("reason", ""))])
    if rows:
        body += H.table(["", "condition", "holds", "constants", "how", "reason"], rows, left=(0, 1, 2, 3, 4, 5))
    local = cond.get("local") or {}
    if local.get("summary"):
        body += "<h3>Local picture</h3>" + H.para(local["summary"])
    if isinstance(local.get("step_map"), dict):
        body += H.para("The optimiser's one-step map: " + local["step_map"].get("description", ""))
    s = cond.get("searched") or {}
    if s:
        what = s.get("why") or ""
        if s.get("method") != "exact":
            r = s.get("radii") if isinstance(s.get("radii"), dict) else {}
            what = (f"{s.get('method')} ({what}): {r.get('count', '?')} shells of radius {num(r.get('min'), 3)} to "
                    f"{num(r.get('max'), 3)}, {s.get('directions')} directions, {s.get('evaluations')} evaluations "
                    f"in {num(s.get('seconds'), 3)} s")
        body += f'<p class="sub">How: {H.esc(what)}</p>'
    for n in cond.get("notes") or []:
        body += H.warn(n)
    return body


def _value(v) -> str:
    """A constant of the table: a number, a name, or a point ``(x1, x2, …)``."""
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "(" + ", ".join(num(t, 3) for t in v[:6]) + (", …" if len(v) > 6 else "") + ")"
    return num(v, 4)
