"""Fluctuation–dissipation relations (docs/theory.md §5; invariant.fdr): streamed terms, exact
references, MCSE z-scores, the running diagnostic, the summary.json section."""
import json

import numpy as np
import pytest

from invariant import cli, engine, exact, fdr
from conftest import REFERENCE_GAME, make_config

SIM = {"chains": 128, "t_end": 400.0, "t_burn": 20.0, "dt": 0.01}


def _run(training, simulation, observables=()):
    cfg = make_config(training=training, simulation={**SIM, **simulation})
    return cfg, engine.simulate(cfg, hook=fdr.hook(cfg, observables))


@pytest.mark.parametrize("dynamics", ["sde", "sga"])
def test_the_hook_leaves_the_chains_bit_identical(dynamics):
    # the hook draws from generators of its own: same chains, same standard observables
    cfg = make_config(simulation={"dynamics": dynamics, "chains": 6, "t_end": 20.0, "t_burn": 2.0, "chunks": 3})
    plain = engine.simulate(cfg)
    hooked = engine.simulate(cfg, hook=fdr.hook(cfg))
    for name in ("X", "acc_n", "acc_s1", "acc_s2", "draws", "status"):
        assert np.array_equal(getattr(plain, name), getattr(hooked, name), equal_nan=True), name
    n_std = len(engine.STANDARD_OBSERVABLES)
    assert np.array_equal(plain.acc_obs[:, :n_std], hooked.acc_obs[:, :n_std])
    if dynamics == "sga":  # the update's own observables come last, with or without a hook
        k = len(engine.APPLIED_OBSERVABLES)
        assert np.array_equal(plain.acc_obs[:, -k - 1:], hooked.acc_obs[:, -k - 1:])  # and the count
        assert hooked.obs_names[-k:] == engine.APPLIED_OBSERVABLES


@pytest.mark.parametrize("scheme,order,seed", [("sml", 1, 11), ("alt-d", 2, 12)], ids=["SML-SDE", "ALT-SDE"])
def test_sde_fdrs_hold_on_the_bilinear_game(scheme, order, seed):
    cfg, r = _run({"scheme": scheme, "lr": 0.1}, {"order": order, "seed": seed})
    a = fdr.analyse(r)
    assert a["form"] == "sde" and a["mcse_method"] == "between-chain"
    zs = {k: a[k]["z"] for k in fdr.RELATIONS}
    print(scheme, order, {k: round(v, 2) for k, v in zs.items()})
    assert all(abs(z) < 3 for z in zs.values()), zs
    # the rhs of FDR2 is exactly ½ tr σσᵀ, (η/2N) tr Σ for the plain diffusion, with the corrected
    # diffusion's O(η²) part at order 2 (constant Σ): no Monte Carlo error on that side
    D = exact.diffusion(cfg.game, 0.1, 4, cfg.scheme.correction)
    assert cfg.scheme.corrected == (order == 2)
    dth = cfg.game.d_theta
    assert a["fdr2_theta"]["rhs"] == pytest.approx(0.5 * np.trace(D[:dth, :dth]), rel=1e-12)
    assert a["fdr2_omega"]["rhs"] == pytest.approx(-0.5 * np.trace(D[dth:, dth:]), rel=1e-12)
    assert a["fdr2_sum"]["rhs"] == pytest.approx(0.5 * np.trace(D), rel=1e-12)
    assert a["fdr2_theta"]["rhs_mcse"] == 0.0
    # the exact OU relations hold to round-off, and the estimated lhs agrees with them once
    # the Euler–Maruyama term is added
    for name in fdr.RELATIONS:
        ex = a["exact"][name]
        assert ex["lhs"] == pytest.approx(ex["rhs"], rel=1e-9, abs=1e-12)
        e = a[name]
        assert abs(e["lhs"] - (ex["lhs"] + e["dt_term"])) < 4 * e["lhs_mcse"], name


def test_the_euler_maruyama_term_is_that_of_the_simulated_chain():
    # the EM chain is an exact affine Gaussian recursion: its own FDR2 has lhs − rhs = (dt/2)E|b_θ|²
    cfg, r = _run({"scheme": "alt-d", "lr": 0.1}, {"order": 2, "seed": 5})
    a = fdr.analyse(r)
    g, lr, N, dt = cfg.game, 0.1, 4, cfg.dt
    A, c = exact.drift(g, "alt-d", 2, lr)
    m, P = exact.discrete_stationary(np.eye(g.d) + dt * A, dt * c, dt * exact.diffusion(g, lr, N, cfg.scheme.correction))
    th = slice(0, g.d_theta)
    bt2 = exact.gaussian_bilinear(m, P, A[th], c[th], A[th], c[th])
    assert a["fdr2_theta"]["dt_term"] == pytest.approx(dt / 2 * bt2, rel=0.05)
    H, f, _ = exact.affine_parts(g)
    bhb = exact.gaussian_bilinear(m, P, A, c, H @ A, H @ c)
    assert a["fdr1"]["dt_term"] == pytest.approx(dt / 2 * bhb, rel=0.1, abs=1e-6)


@pytest.mark.parametrize("scheme,seed", [("sml", 21), ("alt-d", 22), ("alt-g", 23)])
def test_exact_discrete_fdrs_hold_for_the_sga_chains(scheme, seed):
    cfg, r = _run({"scheme": scheme, "lr": 0.1}, {"dynamics": "sga", "seed": seed})
    a = fdr.analyse(r)
    assert a["form"] == "discrete"
    zs = {k: a[k]["z"] for k in fdr.RELATIONS}
    print(scheme, {k: round(v, 2) for k, v in zs.items()})
    assert all(abs(z) < 3 for z in zs.values()), zs
    ref = exact.discrete_fdr(cfg.game, scheme, 0.1, 4)
    for p, name, sign in (("theta", "fdr2_theta", 1.0), ("omega", "fdr2_omega", -1.0)):
        e = a[name]
        assert abs(e["lhs"] - sign * ref["applied"][p]["lhs"]) < 4 * e["lhs_mcse"]
        assert abs(e["rhs"] - sign * ref["applied"][p]["rhs"]) < 4 * e["rhs_mcse"]
    # docs/theory.md §6: the SDE-form denominator (η/2N) tr Σ is biased at η = 0.1: the exact
    # ratio E[θ·∇̂_θ] / ((η/2N) tr Σ_θ) is over 1.1, and the streamed one agrees with it
    s = a["diagnostics"]["sde_form_theta"]
    se = s["mcse"] / s["rhs"]
    exact_ratio = ref["applied"]["theta"]["lhs"] / s["rhs"]
    print(f"SDE-form ratio {s['ratio']:.4f} ± {se:.4f}, exact {exact_ratio:.4f}")
    assert exact_ratio > 1.1 and abs(s["ratio"] - exact_ratio) < 4 * se


def test_the_relations_fail_visibly_before_stationarity():
    far = [3.0] * 5
    cfg, r = _run({"scheme": "alt-d", "lr": 0.1},
                  {"order": 2, "seed": 3, "t_end": 6.0, "t_burn": 0.0, "x0": far, "init_scale": 0.0, "chunks": 12})
    a = fdr.analyse(r)
    zmax = max(abs(a[k]["z"]) for k in fdr.RELATIONS)
    print("non-stationary max |z|", zmax)
    assert zmax > 20
    cfg, r = _run({"scheme": "alt-d", "lr": 0.02},
                  {"dynamics": "sga", "seed": 3, "t_end": 6.0, "t_burn": 0.0, "x0": far, "init_scale": 0.0})
    a = fdr.analyse(r)
    assert max(abs(a[k]["z"]) for k in fdr.RELATIONS) > 20


def test_running_fdr_sees_stationarity_set_in():
    # from x0 = 3·1 the law relaxes at κ ≈ 0.3: the windowed residuals are large early, then settle
    cfg, r = _run({"scheme": "alt-d", "lr": 0.1},
                  {"order": 2, "seed": 4, "t_end": 100.0, "t_burn": 0.0, "x0": [3.0] * 5, "init_scale": 0.0,
                   "chunks": 50})
    run = fdr.running(r)
    assert len(run["t"]) == 50
    z = np.array(run["fdr2_sum"]["z"])
    assert abs(z[0]) > 10 and np.median(np.abs(z[25:])) < 2
    assert run["settled_at"] is not None and 2.0 <= run["settled_at"] <= 40.0
    # a run stationary from its burn-in on settles at once
    cfg, r = _run({"scheme": "alt-d", "lr": 0.1}, {"order": 2, "seed": 6, "chunks": 40})
    assert fdr.running(r)["settled_at"] == pytest.approx(cfg.t_burn, abs=4 * 300.0 / 40)


def test_generator_residual_of_a_user_observable():
    # φ = |θ|²: E[Lφ] = −2·(FDR2_θ lhs − rhs) (SDE form), and it vanishes for the EM chain
    # once its own dt term is taken off
    dth = 3
    phi = fdr.quadratic_observable("theta_sq", [1.0] * dth + [0.0] * 2)
    cfg, r = _run({"scheme": "sml", "lr": 0.1}, {"order": 1, "seed": 8}, observables=[phi])
    assert "L0[theta_sq]" in r.obs_names and "Q[theta_sq]" in r.obs_names
    a = fdr.analyse(r)
    g = a["generator"]["theta_sq"]
    assert abs(g["z"]) < 3
    f2 = a["fdr2_theta"]
    assert g["value"] == pytest.approx(-2 * f2["residual_sde"], abs=3 * g["mcse"])
    assert g["dt_term"] == pytest.approx(-2 * f2["dt_term"], rel=1e-6)


def test_mcse_falls_back_to_batch_means_with_few_chains():
    cfg, r = _run({"scheme": "sml", "lr": 0.1}, {"dynamics": "sga", "chains": 2, "seed": 9, "t_end": 200.0})
    a = fdr.analyse(r)
    assert a["mcse_method"] == "batch means over chunks" and a["units"] > 50
    assert all(np.isfinite(a[k]["mcse"]) and a[k]["mcse"] > 0 for k in fdr.RELATIONS)


def test_a_run_without_the_hook_is_refused_clearly():
    cfg = make_config(simulation={"chains": 4, "t_end": 5.0, "t_burn": 1.0})
    with pytest.raises(ValueError, match="fdr.hook"):
        fdr.analyse(engine.simulate(cfg))


def test_observables_are_validated():
    with pytest.raises(ValueError):
        fdr.Observable("not a name", "def x(x, u, grad): return 0.0")
    with pytest.raises(ValueError):
        fdr.Observable("phi", "def psi(x, u, grad): return 0.0")
    cfg = make_config()
    phi = fdr.quadratic_observable("r2", np.ones(5))
    with pytest.raises(ValueError, match="twice"):
        fdr.hook(cfg, [phi, phi])


def test_invariant_run_writes_the_fdr_section(tmp_path, capsys):
    cfg_path = tmp_path / "c.toml"
    game = "\n".join(f"{k} = {json.dumps(v)}" for k, v in REFERENCE_GAME.items())
    cfg_path.write_text(f"[game]\n{game}\n[training]\nscheme = \"alt-d\"\nlr = 0.1\nbatch_size = 4\n"
                        "[simulation]\nchains = 16\nt_end = 60.0\nt_burn = 10.0\nseed = 2\n")
    out = tmp_path / "run"
    assert cli.main(["run", str(cfg_path), "--out", str(out), "--no-progress"]) == 0
    assert "FDRs (SDE form" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())["fdr"]
    assert s["form"] == "sde"
    for k in ("fdr1", "fdr2_theta", "fdr2_omega", "fdr2_sum"):
        assert {"lhs", "rhs", "residual", "mcse", "z"} <= set(s[k])
        assert all(isinstance(s[k][f], float) for f in ("lhs", "rhs", "residual", "mcse", "z"))
    assert len(s["running"]["t"]) == len(s["running"]["fdr1"]["z"]) > 0
    assert json.loads((out / "hook.json").read_text())["rng"] is True
