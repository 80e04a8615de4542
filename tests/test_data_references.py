"""The shipped reference results (data/references/) and the shipped configs (data/*.toml).

* ``data/references/bilinear_default.json`` holds the exact stationary laws, drift matrices
  and mixing rates of the embedded default example (``invariant/default.toml``) for every SDE
  and discrete scheme, written by ``data/references/make_references.py``; recomputing them
  with ``invariant.exact`` must agree to 1e-10 (closed-form linear algebra, deterministic).
* every ``data/*.toml`` loads and validates with ``invariant.config.load``.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from invariant import config, exact

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
REF = DATA / "references" / "bilinear_default.json"
TOL = dict(rtol=1e-10, atol=1e-13)


@pytest.fixture(scope="module")
def reference():
    return json.loads(REF.read_text())


@pytest.fixture(scope="module")
def default_cfg():
    return config.load(None)


def test_reference_describes_the_default_example(reference, default_cfg):
    sch = default_cfg.scheme
    assert reference["lr"] == sch.lr and reference["batch_size"] == sch.batch_size
    assert reference["run"]["scheme"] == sch.name and reference["run"]["order"] == sch.order
    assert reference["run"]["diffusion"] == sch.diffusion_name
    assert reference["param_names"] == list(default_cfg.game.param_names)


@pytest.mark.parametrize("sde", ["sml-1", "sml-2", "alt-d-2", "alt-g-2"])
def test_exact_sde_laws_match_reference(reference, default_cfg, sde):
    game, sch = default_cfg.game, default_cfg.scheme
    scheme, order = sde.rsplit("-", 1)
    ref = reference["sde"][sde]
    A, c = exact.drift(game, scheme, int(order), sch.lr)
    D = exact.diffusion(game, sch.lr, sch.batch_size)
    np.testing.assert_allclose(D, reference["diffusion"], **TOL)
    np.testing.assert_allclose(A, ref["drift_A"], **TOL)
    np.testing.assert_allclose(c, ref["drift_c"], **TOL)
    m, P = exact.stationary(A, c, D)
    np.testing.assert_allclose(m, ref["mean"], **TOL)
    np.testing.assert_allclose(P, ref["cov"], **TOL)
    assert exact.mixing_rate(A) == pytest.approx(ref["mixing_rate"], rel=1e-10)
    assert exact.dissipativity_constant(A) == pytest.approx(ref["dissipativity_c"], rel=1e-10)
    # the stationary covariance solves the Lyapunov equation AP + PAᵀ + D = 0
    np.testing.assert_allclose(A @ P + P @ A.T + D, 0.0, atol=1e-12)


@pytest.mark.parametrize("scheme", ["sml", "alt-d", "alt-g"])
def test_exact_discrete_laws_match_reference(reference, default_cfg, scheme):
    game, sch = default_cfg.game, default_cfg.scheme
    M, m0, Q = exact.discrete(game, scheme, sch.lr, sch.batch_size)
    m, P = exact.discrete_stationary(M, m0, Q)
    ref = reference["discrete"][scheme]
    np.testing.assert_allclose(m, ref["mean"], **TOL)
    np.testing.assert_allclose(P, ref["cov"], **TOL)
    np.testing.assert_allclose(M @ P @ M.T - P + Q, 0.0, atol=1e-12)


@pytest.mark.parametrize("sde", ["sml-2", "alt-d-2", "alt-g-2"])
def test_exact_corrected_sde_laws_match_reference(reference, default_cfg, sde):
    game, sch = default_cfg.game, default_cfg.scheme
    scheme, order = sde.rsplit("-", 1)
    ref = reference["sde_corrected"][sde]
    A, c = exact.drift(game, scheme, int(order), sch.lr)
    D = exact.diffusion(game, sch.lr, sch.batch_size, correction=scheme)
    np.testing.assert_allclose(D, ref["diffusion_matrix"], **TOL)
    np.testing.assert_allclose(A, ref["drift_A"], **TOL)
    m, P = exact.stationary(A, c, D)
    np.testing.assert_allclose(m, ref["mean"], **TOL)
    np.testing.assert_allclose(P, ref["cov"], **TOL)
    np.testing.assert_allclose(A @ P + P @ A.T + D, 0.0, atol=1e-12)


def test_run_entry_is_the_default_sde(reference, default_cfg):
    # the default order-2 SDE runs with the corrected diffusion (docs/theory.md §3.6)
    run = reference["run"]
    assert run["diffusion"] == default_cfg.scheme.diffusion_name == "corrected"
    ref = reference["sde_corrected" if run["diffusion"] == "corrected" else "sde"][f"{run['scheme']}-{run['order']}"]
    assert run["cov"] == ref["cov"] and run["mixing_rate"] == ref["mixing_rate"]
    assert run["mixing_rate"] > 0


CONFIGS = sorted(DATA.glob("*.toml"))


def test_there_are_shipped_configs():
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_loads_and_validates(path, monkeypatch):
    # user games are imported from data/user_game (README: PYTHONPATH=data/user_game)
    monkeypatch.setattr(sys, "path", [str(DATA / "user_game")] + sys.path)
    cfg = config.load(path)
    assert cfg.game.d >= 2
    assert cfg.steps > cfg.burn_steps
    assert cfg.resolved["training"]["lr"] == cfg.scheme.lr
