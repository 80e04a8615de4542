"""Section 1 and the summary header: run facts, verdicts and divergences."""
from __future__ import annotations

import numpy as np

from . import html as H
from . import style
from .context import RunContext, Unavailable
from .fmt import finite, greek, interval, num, seconds

ID, TITLE = "run", "1. Run"


def badges(ctx: RunContext) -> str:
    """The verdict tiles at the top: settled?, unique invariant measure?, κ, FDRs, divergences."""
    out = []
    st = ctx.get("stationary") or {}
    verdict = st.get("verdict")
    if verdict:
        out.append(H.badge("Settled?", verdict, st.get("settled_reason", ""),
                           "ok" if verdict == "settled" else "bad" if verdict == "not settled" else "warn"))
    else:
        out.append(H.badge("Settled?", "not assessed", "summary.json has no stationary section"))
    cond = ctx.get("conditions") or {}
    v = cond.get("verdict")
    if v:
        out.append(H.badge("Unique invariant measure?", {"unique": "unique", "exists": "exists (uniqueness open)"}.get(v, v),
                           cond.get("reason", ""), {"unique": "ok", "unique (hypoelliptic)": "ok", "exists": "warn"}.get(v, "bad")))
    else:
        out.append(H.badge("Unique invariant measure?", "not checked", "summary.json has no conditions section"))
    mix = ctx.get("mixing") or {}
    if finite(mix.get("rate")):
        why = f"{mix.get('method')}, {interval(mix.get('rate_interval'), 3)}"
        if mix.get("disagreement"):
            why += "; methods disagree"
        ex = (mix.get("exact") or {}).get("sde")
        if finite(ex):
            why += f"; exact {num(ex, 4)}"
        tone = "warn" if mix.get("disagreement") or not mix.get("reliable", True) or mix.get("warning") else "ok"
        out.append(H.badge("Mixing rate κ", f"{num(mix['rate'], 3)} per unit t", why, tone))
    else:
        out.append(H.badge("Mixing rate κ", "not estimated",
                           mix.get("skipped") or mix.get("error") or "summary.json has no mixing section", "warn"))
    fdr = ctx.get("fdr") or {}
    zs = [fdr[k].get("z") for k in ("fdr1", "fdr2_theta", "fdr2_omega", "fdr2_sum")
          if isinstance(fdr.get(k), dict) and finite(fdr[k].get("z"))]
    if run_all_diverged(ctx):
        out.append(H.badge("FDRs", "not meaningful", "every chain diverged: no stationary law", "warn"))
    elif zs:
        zmax = max(abs(z) for z in zs)
        out.append(H.badge("FDRs", "hold" if zmax < 3 else "violated", f"max |z| = {zmax:.2g} over {len(zs)} relations",
                           "ok" if zmax < 3 else "bad"))
    else:
        out.append(H.badge("FDRs", "not available", fdr.get("error", "summary.json has no fdr section"), "warn"))
    run = ctx.get("run") or {}
    nd, nc = run.get("diverged_chains"), run.get("chains")
    if nd is not None:
        out.append(H.badge("Divergences", f"{nd} of {nc} chains", "stopped chains are excluded" if nd else "",
                           "ok" if nd == 0 else "bad" if nd == nc else "warn"))
    return "".join(out)


def run_all_diverged(ctx: RunContext) -> bool:
    run = ctx.get("run") or {}
    return bool(run.get("chains")) and run.get("diverged_chains") == run.get("chains")


def optimizer_label(run: dict) -> str:
    """``", adam (lr_ratio 2, n_critic 5, beta1 0.5, …)"`` for a run of an optimiser other than
    plain SGDA (docs/theory.md §4b), else ``""``: the report says it in its first line."""
    opt = run.get("optimizer") or {}
    name = opt.get("optimizer", "sgd")
    extra = {k: v for k, v in opt.items() if k != "optimizer" and not (k in ("lr_ratio", "n_critic") and v == 1)}
    if name == "sgd" and not extra:
        return ""
    return f", {name}" + (f" ({', '.join(f'{k} {num(v)}' for k, v in extra.items())})" if extra else "")


def section(ctx: RunContext) -> str:
    run = ctx.get("run")
    if not isinstance(run, dict):
        return H.missing("summary.json has no run section: the run facts are not available.")
    sde = run.get("dynamics") == "sde"
    rows = [
        ("game", run.get("game")),
        ("scheme", f"{run.get('scheme')} ({'SDE' if sde else 'discrete SGA chain'}"
                   + (f", drift order {run.get('order')}, {run.get('diffusion') or 'plain'} diffusion)" if sde else ")")),
        ("optimizer", (optimizer_label(run) or ", sgd").lstrip(", ")),
        ("lr (η)", num(run.get("lr"))),
        ("batch_size (N)", num(run.get("batch_size"))),
        ("noise level η/N", num(run["lr"] / run["batch_size"]) if finite(run.get("lr")) and run.get("batch_size") else "—"),
        ("time step dt" if sde else "time per step (= lr)", num(run.get("dt"))),
    ]
    rows2 = [
        ("chains", num(run.get("chains"))),
        ("steps", num(run.get("steps"))),
        ("t_end (SDE time t = Σ lr)", num(run.get("t_end"))),
        ("t_burn", num(run.get("t_burn"))),
        ("seed", num(run.get("seed"))),
        ("wall time", seconds(run.get("wall_seconds"))),
        ("chain-steps / s", f"{run['chain_steps_per_second']:.3g}" if finite(run.get("chain_steps_per_second")) else "—"),
        ("version", run.get("version", "—")),
    ]
    body = f'<div class="cols">{H.table(None, rows, cls="kv")}{H.table(None, rows2, cls="kv")}</div>'
    body += "<h3>Divergences</h3>" + _divergences(ctx, run)
    return body


def _divergences(ctx: RunContext, run: dict) -> str:
    nd = run.get("diverged_chains", 0) or 0
    if nd == 0:
        return H.para(f"No chain diverged (none hit NaN/Inf or left the escape radius) in {num(run.get('chains'))} chains.")
    try:
        divs = ctx.result.divergences()
    except Unavailable:
        divs = run.get("divergences") or []
    divs = sorted(divs, key=lambda d: d["t"])
    names = ctx.names
    k = min(len(names), 4)
    out = H.para(f"{nd} of {run.get('chains')} chains diverged and were excluded from every estimate. "
                 f"The first {min(len(divs), 10)} (by time):")
    rows = []
    for d in divs[:10]:
        x = np.asarray(d["state"], dtype=float)
        rows.append([d["chain"], num(d["t"]), num(d["step"]), num(float(np.linalg.norm(x)) if np.all(np.isfinite(x)) else float("nan"), 3)]
                    + [num(v, 3) for v in x[:k]])
    out += H.table(["chain", "t", "step", "|x| at stop"] + [greek(n) for n in names[:k]], rows)
    if len(divs) >= 2:
        t = np.array([d["t"] for d in divs])
        with style.theme():
            fig, ax = style.figure(1, 1, height=2.4)
            ax = ax[0, 0]
            ts = np.sort(t)
            end = max(float(run.get("t_end") or ts[-1]), ts[-1])
            ax.step(np.concatenate([[0.0], ts, [end]]), np.concatenate([np.arange(len(ts) + 1), [len(ts)]]), where="post")
            ax.set_xlim(0, end)
            ax.set_xlabel("SDE time t (cumulative learning rate)")
            ax.set_ylabel("chains stopped")
            ax.set_title("Divergences over time")
            uri = style.encode(fig)
        out += H.figure(uri, f"Cumulative number of stopped chains against t ({len(ts)} shown).")
    return out
