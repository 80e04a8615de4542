"""Write the exact reference results the tests compare with (``tests/test_data_references.py``).

``bilinear_default.json``: the embedded default example (``invariant/default.toml``: a 2×2
bilinear game, ALT-D, lr 0.05, N = 4, order-2 ALT-SDE with the corrected diffusion) — for every
SDE of docs/theory.md §3 (SML-SDE order 1 and 2, ALT-SDE for ALT-D and ALT-G, with the plain
diffusion under ``sde``, and the order-2 ones with the corrected diffusion of §3.6 under
``sde_corrected``, each with its ``diffusion_matrix``) the exact stationary law N(m, P)
(``invariant.exact.stationary``), the exact mixing rate κ = −α(A)
(``invariant.exact.mixing_rate``) and the C2 constant; for every discrete scheme the exact
invariant law of the SGA chain (``invariant.exact.discrete_stationary``).  Everything is
closed-form linear algebra (no Monte Carlo), so the tests compare at 1e-10.

Run: ``python data/references/make_references.py`` (under a second).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from invariant import config, exact

HERE = Path(__file__).resolve().parent
SDES = (("sml-1", "sml", 1), ("sml-2", "sml", 2), ("alt-d-2", "alt-d", 2), ("alt-g-2", "alt-g", 2))


def bilinear_default() -> dict:
    cfg = config.load(None)
    game, sch = cfg.game, cfg.scheme
    D = exact.diffusion(game, sch.lr, sch.batch_size)
    out = {
        "config": "invariant/default.toml (embedded default example)",
        "param_names": list(game.param_names),
        "lr": sch.lr, "batch_size": sch.batch_size,
        "run": {"scheme": sch.name, "order": sch.order, "diffusion": sch.diffusion_name},
        "diffusion": D.tolist(),
        "sde": {}, "sde_corrected": {}, "discrete": {},
    }
    for name, scheme, order in SDES:
        for key, corr in (("sde", None), ("sde_corrected", scheme)):
            if corr is not None and order != 2:
                continue
            A, c = exact.drift(game, scheme, order, sch.lr)
            Dx = exact.diffusion(game, sch.lr, sch.batch_size, corr)
            m, P = exact.stationary(A, c, Dx)
            out[key][name] = {
                "drift_A": A.tolist(), "drift_c": c.tolist(), "mean": m.tolist(), "cov": P.tolist(),
                "trace_cov": float(np.trace(P)), "mixing_rate": exact.mixing_rate(A),
                "dissipativity_c": exact.dissipativity_constant(A),
            }
            if corr is not None:
                out[key][name]["diffusion_matrix"] = Dx.tolist()
    for scheme in exact.SCHEMES:
        m, P = exact.discrete_stationary(*exact.discrete(game, scheme, sch.lr, sch.batch_size))
        out["discrete"][scheme] = {"mean": m.tolist(), "cov": P.tolist(), "trace_cov": float(np.trace(P))}
    # the SDE the default config runs (ALT-D, order 2, corrected diffusion)
    out["run"].update(out["sde_corrected" if sch.corrected else "sde"][sch.sde_name])
    return out


if __name__ == "__main__":
    path = HERE / "bilinear_default.json"
    path.write_text(json.dumps(bilinear_default(), indent=2) + "\n")
    print(f"wrote {path}")
