"""Tests of the throughput benchmark (``invariant.bench``; docs/design.md ◆ bench JSON).

No timing is asserted: only the report's shape, and that the three steppers the benchmark
compares (engine, numpy baseline, bare Numba loop) simulate the same SDE.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from invariant import bench, bench_sga, bench_stats

CASE_FIELDS = ("name", "dim", "chains", "steps", "engine", "numpy_baseline", "bare_numba",
               "bare_numba_generator", "ratio_vs_numpy", "ratio_vs_bare", "ratio_vs_bare_generator")
RATES = ("engine", "numpy_baseline", "bare_numba", "bare_numba_generator", "ratio_vs_numpy", "ratio_vs_bare",
         "ratio_vs_bare_generator")


def _positive(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


@pytest.fixture(scope="module")
def quick_report():
    return bench.run(quick=True)


def test_quick_run_has_the_contract_fields(quick_report, capsys):
    report = quick_report
    json.dumps(report)  # plain JSON types only
    cases = report["cases"]
    assert {(c["name"], c["dim"], c["chains"]) for c in cases} == {
        ("dirac-wgan-r1", 2, 16), ("dirac-wgan-r1", 2, 4096),
        ("bilinear-64", 64, 16), ("bilinear-64", 64, 4096),
    }
    for c in cases:
        assert set(CASE_FIELDS) <= set(c)
        assert isinstance(c["steps"], int) and c["steps"] > 0
        for key in RATES:
            assert _positive(c[key]), (c["name"], c["chains"], key, c[key])
        assert c["ratio_vs_numpy"] == pytest.approx(c["engine"] / c["numpy_baseline"])
        assert c["ratio_vs_bare"] == pytest.approx(c["engine"] / c["bare_numba"])
        assert c["ratio_vs_bare_generator"] == pytest.approx(c["engine"] / c["bare_numba_generator"])
    # the formula game against the hand-written one on the 2-D case, at every chain count
    assert [r["chains"] for r in report["formula"]] == list(bench.CHAINS)
    for r in report["formula"]:
        assert _positive(r["hand"]) and _positive(r["formula"]) and r["ratio"] == pytest.approx(r["formula"] / r["hand"])
    assert any(t["target"].startswith("formula game") for t in bench.targets(report))
    m = report["machine"]
    assert isinstance(m["cores"], int) and m["cores"] >= 1
    assert isinstance(m["numba_threads"], int) and m["numba_threads"] >= 1
    assert set(m["versions"]) >= {"python", "numpy", "numba"}
    bench.print_table(report)
    out = capsys.readouterr().out
    assert "dirac-wgan-r1" in out and "bilinear-64" in out and "formula game" in out


@pytest.mark.parametrize("make", [bench.dirac_case, bench.bilinear_case], ids=["dirac", "bilinear"])
def test_the_steppers_simulate_the_same_sde(make):
    # with the noise scale set to 0 the Euler–Maruyama recursions are deterministic:
    # from the same initial states they must agree to rounding after a few hundred steps
    case = make()
    X0 = case.initial_state(8)
    out = {}
    for method in bench.METHODS:
        stepper = case.stepper(method, X0, scale=0.0)
        stepper(300)
        out[method] = np.array(stepper.X)
    moved = np.abs(out["engine"] - X0).max()
    assert moved > 1e-2  # the drift did act
    for method in ("numpy_baseline", "bare_numba", "bare_numba_generator"):
        np.testing.assert_allclose(out[method], out["engine"], rtol=0.0, atol=1e-10, err_msg=method)


@pytest.mark.parametrize("make", [bench.dirac_case, bench.bilinear_case], ids=["dirac", "bilinear"])
def test_both_bare_loops_draw_the_same_streams(make):
    # the inline PCG64 streams are numpy's: with noise on, the two bare loops agree exactly
    case = make()
    X0 = case.initial_state(8)
    inline, generator = case.stepper("bare_numba", X0), case.stepper("bare_numba_generator", X0)
    inline(50)
    generator(50)
    assert np.array_equal(inline.X, generator.X)


def test_the_affine_coefficients_match_the_game():
    # b0(x) = A x + c as the engine's game computes it; Σ = L Lᵀ
    for case in (bench.dirac_case(), bench.bilinear_case()):
        cfg = case.config(2)
        x = np.random.default_rng(3).standard_normal(case.d)
        np.testing.assert_allclose(case.A @ x + case.c, cfg.scheme.b0(cfg.game, x), atol=1e-12)
        np.testing.assert_allclose(case.L @ case.L.T, cfg.game.sigma(x), atol=1e-12)
    d = bench.dirac_case()
    np.testing.assert_array_equal(d.A, [[0.0, 1.0], [-1.0, -0.5]])
    assert d.L.shape == (2, 1)  # Σ_θ = 0: one normal per step suffices


def test_the_formula_case_steps_as_the_hand_written_one():
    # the same SDE, the same streams: the engine's chains agree to rounding, noise on
    X0 = bench.dirac_case().initial_state(8)
    hand, form = bench.dirac_case().stepper("engine", X0), bench.formula_case().stepper("engine", X0)
    hand(300)
    form(300)
    np.testing.assert_allclose(form.X, hand.X, rtol=0.0, atol=1e-12)
SGA_FIELDS = ("name", "optimizer", "dim", "chains", "steps", "engine", "bare_numba", "ratio_vs_bare")


def test_quick_run_has_the_optimizer_cases(quick_report, capsys):
    report = quick_report
    rows = report["optimizer_cases"]
    assert {(c["optimizer"], c["chains"]) for c in rows} == {
        (o, n) for o in bench_sga.OPTIMIZERS for n in bench_sga.CHAINS}
    for c in rows:
        assert set(SGA_FIELDS) <= set(c)
        assert _positive(c["engine"]) and _positive(c["bare_numba"])
        assert c["ratio_vs_bare"] == pytest.approx(c["engine"] / c["bare_numba"])
    assert any(t["target"].startswith("SGA") for t in bench.targets(report))
    bench.print_table(report)
    assert "adam, dirac-wgan-r1" in capsys.readouterr().out


def test_quick_run_has_the_statistics_cases(quick_report, capsys):
    rows = quick_report["statistics_cases"]
    assert [r["name"] for r in rows] == list(bench_stats.CASES)
    for r in rows:
        assert set(r["seconds"]) == set(bench_stats.WAYS) and all(_positive(v) for v in r["seconds"].values())
        assert r["time_without_statistics"] == pytest.approx(r["seconds"]["none"] / r["seconds"]["default"])
        assert r["share"]["default"] == pytest.approx(1 - r["time_without_statistics"])
        assert r["obs_every"] > r["stat_every"]  # an SGA run's default spaces its exact evaluations out
    assert any(t["target"].startswith("SGA run") for t in bench.targets(quick_report))
    bench.print_table(quick_report)
    assert "observables every" in capsys.readouterr().out


@pytest.mark.parametrize("optimizer", list(bench_sga.OPTIMIZERS))
def test_the_bare_sga_loop_is_the_engines_update(optimizer):
    # same streams, same minibatches: with the noise on, the bare loop and the engine's chains
    # agree to rounding (Adam's bias corrections are running products in the one, powers in
    # the other), in the state and in the optimiser's state
    case = bench_sga.SgaCase(optimizer, bench.dirac_case().table)
    X0 = case.initial_state(8)
    engine, bare = case.stepper("engine", X0), case.stepper("bare_numba", X0)
    for n in (7, 300):  # two calls: the step count carries over
        engine(n)
        bare(n)
    assert np.abs(engine.X - X0).max() > 0.1  # the chains did move
    np.testing.assert_allclose(bare.X, engine.X, rtol=0.0, atol=1e-10)
    np.testing.assert_allclose(bare.S, engine.S, rtol=0.0, atol=1e-10)
