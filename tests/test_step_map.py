"""The local analysis of each optimiser's one-step map in ``invariant check``
(``invariant.conditions.local.step_map``, docs/theory.md §4b): spectral radius of the
deterministic update's Jacobian at the equilibrium, exact on affine games, by central
differences otherwise, against closed forms."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_config

from invariant import cli, conditions
from invariant.conditions.local import jacobians_at_b0_zero, step_map
from invariant.games import dirac
from invariant.optimizers import Optimizer
from invariant.report import conditions as report_conditions
from invariant.report.context import RunContext
from invariant.schemes import Scheme

C = [[1.0, 0.4], [-0.3, 0.8]]
UNREGULARISED = {"name": "bilinear", "C": C, "lam": 0.0, "gam": 0.0}  # a centre: ±iσ(C)
LR = 0.1


def _map(training):
    cfg = make_config(UNREGULARISED, training={"lr": LR, **training}, simulation={"dynamics": "sga"})
    return conditions.check_config(cfg).local.step_map


def test_unregularised_bilinear_sgda_expands_eg_and_ogda_contract():
    sv = np.linalg.svd(np.array(C), compute_uv=False)
    sgda = _map({"scheme": "sml"})
    # SGDA: eigenvalues 1 ± iησ, |·| = √(1 + η²σ²) > 1
    assert sgda["applicable"] and not sgda["contracts"]
    assert sgda["spectral_radius"] == pytest.approx(np.sqrt(1 + LR**2 * sv.max() ** 2), rel=1e-12)
    eg = _map({"scheme": "sml", "optimizer": "extragradient"})
    # EG: 1 + iησ + (iησ)², |·|² = (1 − η²σ²)² + η²σ² < 1
    assert eg["contracts"]
    assert eg["spectral_radius"] == pytest.approx(np.abs(1 + 1j * LR * sv - (LR * sv) ** 2).max(), rel=1e-12)
    og = _map({"scheme": "sml", "optimizer": "optimistic"})
    # OGDA on (x, −F̂ₖ₋₁): λ² − (1 + 2iησ)λ + iησ = 0 for each singular value σ
    roots = np.concatenate([np.roots([1.0, -(1 + 2j * LR * s), 1j * LR * s]) for s in sv])
    assert og["contracts"] and og["state_size"] == 4
    assert og["spectral_radius"] == pytest.approx(np.abs(roots).max(), rel=1e-12)
    assert "exact augmented map" in og["method"]
    # ALT-D keeps the centre: det = 1 and complex eigenvalues on the unit circle
    altd = _map({"scheme": "alt-d"})
    assert not altd["contracts"] and altd["spectral_radius"] == pytest.approx(1.0, abs=1e-10)
    assert "neutral" in altd["description"]


def test_nonlinear_game_by_central_differences():
    """Dirac-GAN + R1: SGDA's map is I + ηJ, EG's I + ηJ + (ηJ)² at the equilibrium."""
    g = dirac.make(regularizer="r1", gamma=0.6, s=0.0, s_z=0.0)
    J = jacobians_at_b0_zero(g, np.zeros(g.d), LR)["b0"]
    B = LR * J
    for opt, M in (("sgd", np.eye(g.d) + B), ("extragradient", np.eye(g.d) + B + B @ B)):
        res = step_map(g, Scheme("sml", LR, 4, 1, Optimizer(opt)), np.zeros(g.d))
        assert "central differences" in res["method"]
        assert res["spectral_radius"] == pytest.approx(np.abs(np.linalg.eigvals(M)).max(), abs=1e-8)
        assert res["contracts"]


@pytest.mark.parametrize("opt", ["rmsprop", "adam"])
def test_adaptive_optimisers_are_not_applicable(opt):
    res = step_map(dirac.make(regularizer="r1", gamma=0.6), Scheme("sml", LR, 4, 1, Optimizer(opt)), np.zeros(2))
    assert not res["applicable"] and res["spectral_radius"] is None and res["contracts"] is None
    assert "not differentiable" in res["reason"]


def test_check_prints_and_writes_the_map(tmp_path, capsys):
    path = tmp_path / "eg.toml"
    path.write_text('[game]\nname = "bilinear"\nC = [[1.0, 0.4], [-0.3, 0.8]]\n'
                    '[training]\nscheme = "sml"\nlr = 0.1\nbatch_size = 4\noptimizer = "extragradient"\n')
    out = tmp_path / "c.json"
    assert cli.main(["check", str(path), "--json", str(out)]) == 0
    assert "one-step map: extragradient, SML: spectral radius" in capsys.readouterr().out
    cond = json.loads(out.read_text())["conditions"]
    m = cond["local"]["step_map"]
    assert m["optimizer"] == "extragradient" and m["contracts"] is True and m["spectral_radius"] < 1
    html = report_conditions.section(RunContext(tmp_path, {"conditions": cond}))
    assert "one-step map: extragradient, SML" in html
