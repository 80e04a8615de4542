"""The CUDA backend's kernels on Numba's CUDA simulator: tiny runs that cover their logic.

The simulator must be switched on (``NUMBA_ENABLE_CUDASIM=1``) before ``numba.cuda`` is first
imported, so these tests run in a pytest process of their own, which
``tests/test_cuda.py::test_simulator_suite`` starts; anywhere else they are skipped and the
simulator never leaks into other tests.  It executes every thread in Python, so runs are a
few chains for tens to hundreds of steps.  What holds on a real GPU is tested there
(``pytest -m gpu``).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from invariant import bench_cuda, config, engine, fdr, runner, stationary
from invariant.engine import Hook, run as run_mod
from conftest import kill_after_checkpoints, make_config
from test_references import Z_MAX, _reference

pytestmark = [
    pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") != "1",
                       reason="needs NUMBA_ENABLE_CUDASIM=1 (run by tests/test_cuda.py::test_simulator_suite)"),
    # numba.cuda.random's decorators under the simulator
    pytest.mark.filterwarnings("ignore:The keyword argument 'nopython=False'"),
]

ROOT = Path(__file__).resolve().parent.parent
STATE = ("X", "acc_n", "acc_s1", "acc_s2", "acc_obs", "draws", "status", "div_step", "shift")
LR = 0.1
TINY = {"chains": 3, "dt": 0.02, "seed": 11, "keep_draws": 4, "chunks": 2, "stat_every": 2, "obs_every": 3}

# games whose gradient noise is zero: chains are deterministic, so the two backends must
# agree to rounding, which checks the drift, the updates, the events and the accumulators
NOISELESS = {
    "bilinear": {"name": "bilinear", "C": [[1.0, 0.4], [-0.3, 0.8], [0.2, -0.5]], "lam": 0.3, "gam": 0.5,
                 "a": [0.2, -0.1, 0.3], "b": [0.5, -0.4], "Sigma_theta": np.zeros((3, 3)).tolist(),
                 "Sigma_omega": np.zeros((2, 2)).tolist()},
    "dirac-wgan-r1": {"name": "dirac", "loss": "wgan", "regularizer": "r1", "gamma": 0.5, "s": 0.0, "s_z": 0.0},
    "dirac-vanilla-gp": {"name": "dirac", "loss": "vanilla", "regularizer": "gradient-penalty", "gamma": 0.3,
                         "mu": 1.0, "s": 0.0, "s_z": 0.0},
    "dirac-ns-wd": {"name": "dirac", "loss": "non-saturating", "regularizer": "weight-decay", "gamma": 0.2,
                    "lam": 0.1, "mu": 0.5, "s": 0.0, "s_z": 0.0},
    "dirac-vanilla-r2": {"name": "dirac", "loss": "vanilla", "regularizer": "r2", "gamma": 0.2, "mu": 0.5,
                         "s": 0.0, "s_z": 0.0},
    # games from a formula (invariant.games.formula_game): exact expectations, and rules over
    # point masses (their loops, and the Cholesky factor of Σ(x) in the noise kernel)
    "formula-quartic": {"name": "formula", "theta": ["t"], "omega": ["w"],
                        "loss": "c*t*w + lam/2*t**2 - gam/2*w**2 + beta/4*(t**4 - w**4)",
                        "constants": {"c": 1.0, "lam": 0.3, "gam": 0.5, "beta": 0.1}},
    "formula-dirac-r1": {"name": "formula", "theta": ["t"], "omega": ["p"],
                         "loss": "logsigmoid(p*y) + logsigmoid(-p*(t + z)) - gamma/2*p**2",
                         "constants": {"gamma": 0.3}, "xi": {"y": {"normal": [0.5, 0.0]}, "z": {"normal": [0.0, 0.0]}}},
}
DYNAMICS = [("sde", "sml", 1), ("sde", "alt-d", 2), ("sde", "alt-g", 2), ("sga", "sml", 1), ("sga", "alt-d", 2),
            ("sga", "alt-g", 2)]


def _config(game, dynamics="sde", scheme="alt-d", order=2, **sim):
    step = TINY["dt"] if dynamics == "sde" else LR  # 30 steps, 10 of them burn-in
    return make_config(game, training={"scheme": scheme, "lr": LR},
                       simulation={**TINY, "t_end": 30 * step, "t_burn": 10 * step, "dynamics": dynamics,
                                   "order": order, **sim})


def _agree(cpu, gpu, rtol):
    for name in STATE:
        a, b = getattr(cpu, name), getattr(gpu, name)
        assert a.shape == b.shape, name
        assert np.allclose(a, b, rtol=rtol, atol=rtol, equal_nan=True), (name, a, b)


@pytest.mark.parametrize("game", sorted(NOISELESS))
@pytest.mark.parametrize("dynamics,scheme,order", DYNAMICS)
def test_noiseless_chains_match_the_cpu_engine(game, dynamics, scheme, order):
    cpu = engine.simulate(_config(NOISELESS[game], dynamics, scheme, order))
    gpu = engine.simulate(_config(NOISELESS[game], dynamics, scheme, order, backend="cuda"))
    assert gpu.obs_names == cpu.obs_names
    _agree(cpu, gpu, 1e-9)


def test_projected_moments_are_the_full_ones_projected():
    # simulation.moments on the device: the same chains tracked in full and with projections
    full = engine.simulate(_config(NOISELESS["bilinear"], backend="cuda"))
    proj = engine.simulate(_config(NOISELESS["bilinear"], backend="cuda", moments="projections", projections=3))
    assert np.array_equal(full.X, proj.X) and proj.acc_s2.shape == (3, 5 + 6)
    P, C = proj.proj, full.pooled_moments()[1]
    np.testing.assert_allclose(proj.pooled_projection()[1], P @ C @ P.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(proj.pooled_variances()[1], np.diag(C), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dynamics,scheme,order", [("sde", "alt-d", 2), ("sga", "alt-g", 2)])
def test_noiseless_chains_with_the_fdr_hook_match_the_cpu_engine(dynamics, scheme, order):
    cfg = _config(NOISELESS["dirac-vanilla-gp"], dynamics, scheme, order)
    cpu = engine.simulate(cfg, hook=fdr.hook(cfg))
    cfg = _config(NOISELESS["dirac-vanilla-gp"], dynamics, scheme, order, backend="cuda")
    gpu = engine.simulate(cfg, hook=fdr.hook(cfg))
    _agree(cpu, gpu, 1e-9)


@pytest.mark.parametrize("dynamics,scheme,order", [("sde", "alt-d", 2), ("sga", "sml", 1)])
def test_float32_chains_match_the_cpu_engine_to_single_precision(dynamics, scheme, order):
    cpu = engine.simulate(_config(NOISELESS["bilinear"], dynamics, scheme, order))
    gpu = engine.simulate(_config(NOISELESS["bilinear"], dynamics, scheme, order, backend="cuda", dtype="float32"))
    _agree(cpu, gpu, 1e-4)


@pytest.mark.parametrize("table", [
    {"name": "mlp", "width": 2, "nodes": 4},
    {"name": "mlp", "width": 2, "nodes": 4, "latent": "nodes", "regularizer": "r1", "gamma": 0.1},
    {"name": "quartic_saddle:make_game"},
    {"name": "dirac", "loss": "vanilla", "regularizer": "r1", "gamma": 0.5, "nodes": 8},
], ids=["mlp", "mlp-nodes-r1", "user-game", "dirac-noisy"])
@pytest.mark.parametrize("dynamics,scheme,order", [("sde", "alt-d", 2), ("sga", "alt-d", 2)])
def test_noisy_games_run_with_the_cpu_engines_books(table, dynamics, scheme, order, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "data" / "user_game"))
    if table["name"] == "mlp":  # four data points: the simulator runs every thread in Python
        (tmp_path / "data.csv").write_text("-1.0\n-0.5\n0.8\n1.2\n")
        table = dict(table, data=str(tmp_path / "data.csv"))
    cfg = _config(table, dynamics, scheme, order, backend="cuda")
    gpu = engine.simulate(cfg)
    fresh = run_mod._fresh_state(cfg, len(gpu.obs_names))
    assert gpu.n_diverged == 0
    for name in STATE:
        assert getattr(gpu, name).shape == fresh[name].shape, name
    # the CPU engine's events: moments every stat_every steps from burn-in on, observables
    # every obs_every, every draw kept
    assert np.all(gpu.acc_n == len(range(cfg.burn_steps, cfg.steps, cfg.stat_every)))
    assert np.all(gpu.obs_n == len(range(cfg.burn_steps, cfg.steps, cfg.obs_every)))
    assert np.all(np.isfinite(gpu.draws)) and np.all(np.isfinite(gpu.acc_obs)) and np.all(np.isfinite(gpu.X))


def test_chains_start_where_the_cpu_engine_starts():
    cpu_state, _ = run_mod._start(_config(NOISELESS["bilinear"]), Hook())
    gpu_state, _ = run_mod._start(_config(NOISELESS["bilinear"], backend="cuda"), Hook())
    assert np.array_equal(gpu_state["X"], cpu_state["X"])


def test_streams_depend_on_seed_and_chain_only_and_the_hook_draws_apart():
    game = dict(NOISELESS["bilinear"], Sigma_theta=np.eye(3).tolist(), Sigma_omega=np.eye(2).tolist())
    small = engine.simulate(_config(game, backend="cuda", chains=2))
    cfg = _config(game, backend="cuda")
    big = engine.simulate(cfg)
    hooked = engine.simulate(cfg, hook=fdr.hook(cfg))
    assert np.array_equal(small.X, big.X[:2])
    assert np.array_equal(big.X, hooked.X)
    assert not np.array_equal(big.X, engine.simulate(_config(game, backend="cuda", seed=12)).X)


def test_checkpoint_resume_is_bit_identical(tmp_path, monkeypatch):
    game = dict(NOISELESS["bilinear"], Sigma_theta=np.eye(3).tolist(), Sigma_omega=np.eye(2).tolist())
    # 200 steps: a shorter run's resolved [mixing] table does not load back (a bug of
    # mixing.validate_options, reported apart)
    cfg = _config(game, backend="cuda", chunks=4, t_end=4.0)
    full = engine.simulate(cfg, tmp_path / "full", hook=fdr.hook(cfg))
    undo = kill_after_checkpoints(monkeypatch, 2)  # the run stops right after its second checkpoint
    with pytest.raises(KeyboardInterrupt):
        engine.simulate(cfg, tmp_path / "killed", hook=fdr.hook(cfg))
    undo()
    assert 0 < engine.load(tmp_path / "killed", fdr.hook(cfg)).steps_done < full.steps_done
    resumed = engine.resume(tmp_path / "killed", fdr.hook(cfg))
    for name in STATE:
        assert np.array_equal(getattr(full, name), getattr(resumed, name), equal_nan=True), name
    with np.load(tmp_path / "full" / "checkpoint.npz") as a, np.load(tmp_path / "killed" / "checkpoint.npz") as b:
        assert np.array_equal(a["xoroshiro"], b["xoroshiro"])


def test_diverging_chains_are_stopped_and_reported():
    game = {"name": "bilinear", "C": [[1.0, 0.4], [-0.3, 0.8]], "lam": 0.3, "gam": 0.5}
    cfg = _config(game, backend="cuda", chains=8, t_end=2.0, escape_radius=0.45, init_scale=0.3)
    r = engine.simulate(cfg)
    dead = ~r.alive
    assert 0 < dead.sum() < cfg.chains
    for div in r.divergences():
        assert np.linalg.norm(div["state"]) > 0.45 and 0 < div["step"] <= cfg.steps
    assert r.diverging[dead[: r.draws.shape[0]]].any(axis=1).all()
    assert np.all(r.acc_n[dead] < r.acc_n[r.alive].max())


def test_sga_stationary_moments_match_the_exact_chain():
    # a strongly damped bilinear game: its SGA chain mixes in a few steps, so a few thousand
    # chain-steps give MCSEs small enough to test against the exact stationary law (docs/theory.md §8)
    game = {"name": "bilinear", "C": [[0.5]], "lam": 2.0, "gam": 2.0, "a": [0.3], "b": [-0.2],
            "Sigma_theta": [[1.0]], "Sigma_omega": [[0.5]]}
    cfg = make_config(game, training={"scheme": "alt-d", "lr": 0.2, "batch_size": 1},
                      simulation={"dynamics": "sga", "chains": 16, "t_end": 60.0, "t_burn": 4.0, "seed": 5,
                                  "backend": "cuda", "chunks": 2, "stat_every": 1})
    m = stationary.moments(engine.simulate(cfg))
    (m_sim, P_sim), _ = _reference(cfg)
    z_mean = (m.mean - m_sim) / m.mean_mcse
    z_cov = (m.cov - P_sim) / m.cov_mcse
    print(f"max|z| mean {np.abs(z_mean).max():.2f}, cov {np.abs(z_cov).max():.2f}")
    assert np.abs(z_mean).max() < Z_MAX and np.abs(z_cov).max() < Z_MAX


def test_invariant_run_writes_the_same_files_and_summary_fields(tmp_path):
    toml = ('[game]\nname = "dirac"\nloss = "wgan"\nregularizer = "r1"\ngamma = 0.5\n'
            '[training]\nscheme = "alt-d"\nlr = 0.05\nbatch_size = 4\n'
            '[simulation]\nchains = 4\nt_end = 2.0\nt_burn = 0.5\ndt = 0.02\nseed = 3\nchunks = 2\n'
            'keep_draws = 10\n{backend}'
            '[mixing]\nrelaxation = false\n')
    (tmp_path / "cuda.toml").write_text(toml.format(backend='backend = "cuda"\n'))
    res = subprocess.run([sys.executable, "-m", "invariant.cli", "run", str(tmp_path / "cuda.toml"),
                          "--out", str(tmp_path / "cuda"), "--no-progress"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    for f in ("summary.json", "chains.nc", "report.html", "checkpoint.npz"):
        assert (tmp_path / "cuda" / f).exists(), f
    (tmp_path / "cpu.toml").write_text(toml.format(backend=""))
    runner.start(config.load(tmp_path / "cpu.toml"), tmp_path / "cpu")  # what invariant run does, less the report
    cpu, gpu = (json.loads((tmp_path / b / "summary.json").read_text()) for b in ("cpu", "cuda"))

    def keys(d, prefix=""):
        return {prefix + k for k in d} | {x for k, v in d.items() if isinstance(v, dict)
                                          for x in keys(v, f"{prefix}{k}.")}

    assert keys(gpu) == keys(cpu)
    assert json.loads((tmp_path / "cuda" / "config.json").read_text())["simulation"]["backend"] == "cuda"
    assert gpu["run"]["steps"] == cpu["run"]["steps"]
    assert np.all(np.isfinite(gpu["stationary"]["mean"]))


def test_cuda_benchmark_runs_and_reports_the_targets():
    report = bench_cuda.run(quick=True)
    assert {(c["name"], c["dtype"]) for c in report["cases"]} == {
        (n, t) for n in ("dirac-wgan-r1", "bilinear-64") for t in ("float64", "float32")}
    for c in report["cases"]:
        assert min(c["engine"], c["engine_no_stats"], c["bare_cuda"]) > 0
        assert c["ratio_vs_bare"] == c["engine"] / c["bare_cuda"]
    assert report["simulated"] and [t["target"] for t in bench_cuda.targets(report)] == [
        "engine >= 0.5x bare kernel, every case", "engine >= 1e9 chain-steps/s, 64-D, float64"]


OPTIMIZERS = [("sgd", "alt-d", {"lr_ratio": 2.0, "n_critic": 3}), ("momentum", "alt-g", {"momentum": 0.5}),
              ("extragradient", "sml", {}), ("optimistic", "sml", {}), ("consensus", "sml", {"consensus": 0.3}),
              ("rmsprop", "sml", {"eps": 1e-3}), ("adam", "alt-d", {"eps": 1e-3})]


@pytest.mark.parametrize("game", ["dirac-wgan-r1"])
@pytest.mark.parametrize("optimizer,scheme,opts", OPTIMIZERS)
def test_every_optimizer_matches_the_cpu_engine(game, optimizer, scheme, opts):
    """Each optimiser's update and state on the device (docs/theory.md §4b), noiseless chains
    (one game: each optimiser's CPU module is a compile of its own, about a minute)."""
    def cfg(**sim):
        return make_config(NOISELESS[game], training={"scheme": scheme, "lr": LR, "optimizer": optimizer, **opts},
                           simulation={**TINY, "t_end": 30 * LR, "t_burn": 10 * LR, "dynamics": "sga", **sim})
    cpu, gpu = engine.simulate(cfg()), engine.simulate(cfg(backend="cuda"))
    _agree(cpu, gpu, 1e-9)
    assert gpu.opt_state.shape == cpu.opt_state.shape
    assert np.allclose(gpu.opt_state, cpu.opt_state, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("training,order", [({"optimizer": "consensus", "consensus": 0.3, "lr_ratio": 2.0}, 2),
                                            ({"optimizer": "sgd", "scheme": "alt-d", "n_critic": 3}, 2)])
def test_optimizer_sdes_match_the_cpu_engine(training, order):
    """The SDE kernels' coefficients, consensus's central difference and noise with H."""
    def cfg(**sim):
        return make_config(NOISELESS["dirac-wgan-r1"], training={"scheme": "sml", "lr": LR, **training},
                           simulation={**TINY, "t_end": 30 * TINY["dt"], "t_burn": 10 * TINY["dt"], "order": order,
                                       **sim})
    _agree(engine.simulate(cfg()), engine.simulate(cfg(backend="cuda")), 1e-9)
@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_corrected_noise_replays_the_plain_normals(backend):
    # the corrected factor L + lr·M evaluates the noise kernel at x ± t·v from a saved stream
    # state (templates/step.py): the chains then draw the plain SDE's normals, so the two
    # runs differ by the O(lr) correction only, not by independent noise
    game = {"name": "dirac", "loss": "vanilla", "regularizer": "r1", "gamma": 0.5}
    runs = {dif: engine.simulate(_config(game, "sde", "alt-d", 2, backend=backend, diffusion=dif))
            for dif in ("plain", "corrected")}
    x0 = run_mod._start(_config(game), Hook())[0]["X"]
    moved = np.abs(runs["plain"].X - x0).max()
    gap = np.abs(runs["corrected"].X - runs["plain"].X).max()
    print(f"{backend}: moved {moved:.3g}, corrected − plain {gap:.3g}")
    assert 0 < gap < 0.2 * moved
    assert runs["corrected"].obs_names == runs["plain"].obs_names


def test_corrected_sde_stationary_moments_match_the_exact_law():
    # the strongly damped bilinear game of the SGA test, as its corrected ALT-D SDE: Euler–Maruyama
    # with the corrected diffusion is an affine recursion with an exact law (docs/theory.md §3.6)
    game = {"name": "bilinear", "C": [[0.5]], "lam": 2.0, "gam": 2.0, "a": [0.3], "b": [-0.2],
            "Sigma_theta": [[1.0]], "Sigma_omega": [[0.5]]}
    cfg = make_config(game, training={"scheme": "alt-d", "lr": 0.2, "batch_size": 1},
                      simulation={"dynamics": "sde", "dt": 0.05, "chains": 16, "t_end": 60.0, "t_burn": 4.0,
                                  "seed": 5, "backend": "cuda", "chunks": 2, "stat_every": 1})
    assert cfg.scheme.corrected
    m = stationary.moments(engine.simulate(cfg))
    (m_sim, P_sim), _ = _reference(cfg)
    z_cov = (m.cov - P_sim) / m.cov_mcse
    print(f"max|z| cov {np.abs(z_cov).max():.2f}")
    assert np.abs(z_cov).max() < Z_MAX
