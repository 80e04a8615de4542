"""simulation.moments: full, diagonal and projected second moments (invariant.options.moments).

One small game (the default bilinear game, d = 4), a few short chains: every mode streams
from the same draws, so the modes agree to rounding where they overlap.  Every run carries
the FDR hook, as `invariant run`'s do, so that one kernel module per mode serves them all."""
import json
import types

import numpy as np
import pytest

from invariant import cli, config, engine, exact, fdr, stationary, summary
from invariant.engine import run as run_mod
from invariant.errors import ConfigError
from invariant.options.moments import FULL_MAX_BYTES, validate_options
from conftest import kill_after_checkpoints

SHORT = {"chains": 4, "t_end": 5.0, "t_burn": 1.0, "keep_draws": 50}


def _run(out=None, **sim):
    cfg = config.load(None, {f"simulation.{k}": v for k, v in {**SHORT, **sim}.items()})
    return engine.simulate(cfg, out, hook=fdr.hook(cfg))


@pytest.fixture(scope="module")
def full_run():
    return _run()


def test_projections_on_the_identity_reproduce_the_full_covariance(full_run, tmp_path):
    np.save(tmp_path / "eye.npy", np.eye(4))
    r = _run(moments="projections", projection_vectors=str(tmp_path / "eye.npy"))
    assert np.array_equal(r.X, full_run.X)  # the same draws
    assert r.acc_s2.shape == (4, 4 + 10)
    np.testing.assert_allclose(r.pooled_projection()[1], full_run.pooled_moments()[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r.pooled_variances()[1], np.diag(full_run.pooled_moments()[1]), rtol=1e-12)


def test_diagonal_reproduces_the_diagonal_of_full(full_run):
    r = _run(moments="diagonal")
    assert r.acc_s2.shape == (4, 4) and r.proj.shape == (0, 4)
    m_full, P_full = full_run.pooled_moments()
    m, v = r.pooled_variances()
    np.testing.assert_allclose(m, m_full, rtol=1e-14)
    np.testing.assert_allclose(v, np.diag(P_full), rtol=1e-12)
    mo = stationary.moments(r)
    assert mo.cov is None and mo.tracked == "diagonal"
    assert mo.trace_cov == pytest.approx(np.trace(P_full), rel=1e-12)
    assert r.pooled_moments()[1] is None
    with pytest.raises(ValueError, match="simulation.moments"):
        r.chain_covs()
    st = summary.stationary_section(mo)
    assert st["cov"] is None and st["moments"] == "diagonal" and len(st["variance"]) == 4


def test_random_projections_give_p_cov_pt(full_run):
    r = _run(moments="projections")  # K = min(16, d) = 4: one kernel module serves every test here
    P = r.proj
    np.testing.assert_allclose(P @ P.T, np.eye(4), atol=1e-12)  # orthonormal rows
    np.testing.assert_array_equal(P, r.config.moments.matrix(4, r.config.seed))  # a function of the seed
    C = full_run.pooled_moments()[1]
    np.testing.assert_allclose(r.pooled_projection()[1], P @ C @ P.T, rtol=1e-10, atol=1e-13)
    st = summary.stationary_section(stationary.moments(r))
    assert np.shape(st["projection_cov"]) == (4, 4) and np.shape(st["projection_vectors"]) == (4, 4)


@pytest.mark.statistical
def test_projection_covariance_matches_the_exact_law_within_mcse():
    # the Euler–Maruyama chain's exact stationary covariance Σ (docs/theory.md §8), projected
    r = _run(moments="projections", chains=32, t_end=150.0, t_burn=15.0, seed=5)
    cfg, sch = r.config, r.config.scheme
    A, c = exact.drift(cfg.game, sch.name, 2, sch.lr)
    Sigma = exact.discrete_stationary(np.eye(cfg.game.d) + cfg.dt * A, cfg.dt * c,
                                      cfg.dt * exact.diffusion(cfg.game, sch.lr, sch.batch_size, sch.name))[1]
    m = stationary.moments(r)
    want = r.proj @ Sigma @ r.proj.T
    iu = np.triu_indices(4)
    z = (m.projection_cov - want)[iu] / m.projection_cov_mcse[iu]
    print("z:", np.round(z, 2))
    assert r.n_diverged == 0 and np.all(np.abs(z) < 3.5)  # ten entries: each |z| < 3.5 fails with p ≈ 0.05 %


def test_checkpoint_and_resume_carry_the_projections(tmp_path, monkeypatch):
    sim = dict(moments="projections", chunks=4)
    whole = _run(**sim)
    undo = kill_after_checkpoints(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "r", **sim)
    undo()
    hook = fdr.hook(whole.config)
    done = engine.resume(tmp_path / "r", hook)
    for name in ("X", "acc_s1", "acc_s2", "proj"):
        assert np.array_equal(getattr(done, name), getattr(whole, name)), name
    loaded = engine.load(tmp_path / "r", hook)
    assert loaded.moments == "projections" and np.array_equal(loaded.pooled_projection()[1], whole.pooled_projection()[1])


def test_a_run_without_the_full_covariance_writes_its_summary_and_report(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(config.default_text().replace("t_end = 400.0", "t_end = 20.0").replace("chains = 64", "chains = 4")
                    .replace("t_burn = 50.0", "t_burn = 2.0") + 'moments = "projections"\n')
    assert cli.main(["run", str(path), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    st = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert st["stationary"]["cov"] is None and st["stationary"]["moments"] == "projections"
    assert np.shape(st["stationary"]["projection_cov"]) == (4, 4) and len(st["stationary"]["variance"]) == 4
    for section in ("mixing", "strategies", "fdr"):
        assert "error" not in st[section], (section, st[section].get("error"))
    assert st["strategies"]["theta_given_omega"]["method"] == "local"  # no full covariance: the local fit
    assert "variance" in st["strategies"]["marginals"]["theta"]
    assert cli.main(["report", str(tmp_path / "run")]) == 0
    assert "moments = “projections”" in (tmp_path / "run" / "report.html").read_text()


def test_accumulators_are_o_of_chains_times_d_plus_k_squared():
    # d = 2000, 64 chains, K = 16: the run state as allocated (no kernel runs)
    d, chains, k = 2000, 64, 16
    opts = validate_options({}, d, chains)  # the default above d = 64
    assert opts.mode == "projections" and opts.k == k
    cfg = types.SimpleNamespace(game=types.SimpleNamespace(d=d), chains=chains, steps=100, chunks=1, keep_chains=1,
                                n_draws=2, dynamics="sde", moments=opts, seed=1)
    state = run_mod._fresh_state(cfg, 6)
    assert state["acc_s2"].shape == (chains, d + k * (k + 1) // 2) and state["proj"].shape == (k, d)
    per_chain = sum(state[n].nbytes for n in ("shift", "acc_s1", "acc_s2", "X", "div_x")) / chains
    assert per_chain == 8 * (5 * d + k * (k + 1) // 2)
    assert state["proj"].nbytes == 8 * k * d
    np.testing.assert_allclose(state["proj"] @ state["proj"].T, np.eye(k), atol=1e-12)


@pytest.mark.parametrize("sim, field, words", [
    ({"moments": "some"}, "simulation.moments", "must be one of"),
    ({"projections": 2}, "simulation.projections", "moments = 'projections'"),
    ({"moments": "projections", "projections": 5}, "simulation.projections", "at most d = 4"),
    ({"moments": "projections", "projections": 0}, "simulation.projections", ">= 1"),
    ({"moments": "projections", "projection_vectors": "/nonexistent.npy"}, "simulation.projection_vectors",
     "cannot read"),
])
def test_config_errors_name_the_field(sim, field, words):
    with pytest.raises(ConfigError) as e:
        config.load(None, {f"simulation.{k}": v for k, v in sim.items()})
    assert e.value.field == field and words in str(e.value)


def test_above_d_64_the_default_is_projections_and_a_huge_full_is_refused():
    game = {"name": "bilinear", "C": np.eye(33, 32).tolist(), "lam": 0.3, "gam": 0.5}  # d = 65
    cfg = config.from_dict({"game": game, "simulation": {"chains": 8}})
    assert cfg.moments.mode == "projections" and cfg.moments.k == 16
    assert cfg.resolved["simulation"]["moments"] == "projections"
    chains = FULL_MAX_BYTES // (65 * 33 * 8) + 1
    with pytest.raises(ConfigError) as e:
        config.from_dict({"game": game, "simulation": {"chains": chains, "moments": "full"}})
    assert e.value.field == "simulation.moments" and "bytes" in str(e.value)
    assert config.from_dict({"game": game, "simulation": {"chains": chains - 1, "moments": "full"}}).moments.full


def test_projection_vectors_must_have_d_columns_and_agree_with_k(tmp_path):
    np.savetxt(tmp_path / "p.csv", np.ones((2, 3)), delimiter=",")
    with pytest.raises(ConfigError, match=r"\(K, 4\)"):
        config.load(None, {"simulation.moments": "projections", "simulation.projection_vectors": str(tmp_path / "p.csv")})
    np.savetxt(tmp_path / "q.csv", np.ones((2, 4)), delimiter=",")
    with pytest.raises(ConfigError, match="agree"):
        config.load(None, {"simulation.moments": "projections", "simulation.projections": 3,
                           "simulation.projection_vectors": str(tmp_path / "q.csv")})
    cfg = config.load(None, {"simulation.moments": "projections", "simulation.projection_vectors": str(tmp_path / "q.csv")})
    assert cfg.moments.k == 2 and cfg.resolved["simulation"]["projection_vectors"] == str((tmp_path / "q.csv").resolve())
