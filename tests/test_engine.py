"""Engine: determinism, checkpoint/resume, divergences, memory, storage round trip."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
import pytest

from invariant import config, engine, exact, fdr, stationary, storage
from invariant._arviz import arviz as az
from conftest import REFERENCE_GAME, make_config

ROOT = Path(__file__).resolve().parent.parent
STATE = ("X", "acc_n", "acc_s1", "acc_s2", "acc_obs", "draws", "status", "div_step")


def _same(r1, r2):
    for name in STATE:
        a, b = getattr(r1, name), getattr(r2, name)
        assert np.array_equal(a, b, equal_nan=True), name


@pytest.mark.parametrize("dynamics", ["sde", "sga"])
def test_same_seed_same_result_with_1_and_2_threads(dynamics):
    cfg = make_config(simulation={"dynamics": dynamics, "chains": 8, "t_end": 10.0, "t_burn": 1.0})
    default = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        r1 = engine.simulate(cfg)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        r2 = engine.simulate(cfg)
    finally:
        numba.set_num_threads(default)
    _same(r1, r2)
    m1, m2 = stationary.moments(r1), stationary.moments(r2)
    assert np.array_equal(m1.mean, m2.mean) and np.array_equal(m1.cov, m2.cov)


def test_different_seed_differs_and_chains_do_not_depend_on_count():
    cfg = make_config(simulation={"chains": 4, "t_end": 5.0, "t_burn": 1.0})
    r = engine.simulate(cfg)
    assert not np.array_equal(r.X, engine.simulate(make_config(simulation={"chains": 4, "t_end": 5.0, "t_burn": 1.0, "seed": 8})).X)
    # chain c's stream depends only on (seed, c)
    more = engine.simulate(make_config(simulation={"chains": 6, "t_end": 5.0, "t_burn": 1.0}))
    assert np.array_equal(r.X, more.X[:4])


@pytest.mark.parametrize("game", ["reference", "bilinear-64"])
def test_chunking_does_not_change_results(tmp_path, game):
    # bilinear-64: heap kernels, whose covariance sums queue outer products across steps
    from invariant import bench

    table = REFERENCE_GAME if game == "reference" else bench.bilinear_case().table
    base = {"chains": 4, "t_end": 8.0, "t_burn": 1.0}
    r1 = engine.simulate(make_config(game=table, simulation={**base, "chunks": 1}))
    r2 = engine.simulate(make_config(game=table, simulation={**base, "chunks": 7}), out=tmp_path)
    _same(r1, r2)
    assert (tmp_path / "checkpoint.npz").exists()


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "invariant.cli", *args], capture_output=True, text=True, cwd=ROOT, **kw)


@pytest.mark.parametrize("scheme,order", [("sml", 1), ("sml", 2), ("alt-d", 2), ("alt-g", 2)])
def test_noiseless_sde_chains_are_the_euler_recursion_of_their_order(scheme, order):
    """Noise off, the chains are x ← x + dt (A x + c) with the drift of the scheme's SDE of
    that order (docs/theory.md §3): the order, a constant of the kernel module, selects lr·b1."""
    zeros = lambda n: np.zeros((n, n)).tolist()  # noqa: E731
    x0 = [0.4, -0.3, 0.2, 0.5, -0.1]
    cfg = make_config(game={**REFERENCE_GAME, "Sigma_theta": zeros(3), "Sigma_omega": zeros(2)},
                      training={"scheme": scheme, "lr": 0.2},
                      simulation={"dynamics": "sde", "order": order, "chains": 2, "t_end": 2.0,
                                  "t_burn": 0.0, "x0": x0, "init_scale": 0.0})
    r = engine.simulate(cfg)
    A, c = exact.drift(cfg.game, scheme, order, cfg.scheme.lr)
    x = np.array(x0)
    for _ in range(r.steps_done):
        x = x + cfg.dt * (A @ x + c)
    assert np.allclose(r.X, x, rtol=1e-12, atol=1e-14)


def test_killed_run_resumes_bit_identical(tmp_path):
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(
        '[game]\nname = "bilinear"\nC = [[1.0, 0.4], [-0.3, 0.8]]\nlam = 0.3\ngam = 0.5\n'
        '[training]\nscheme = "alt-d"\nlr = 0.05\nbatch_size = 4\n'
        '[simulation]\nchains = 32\nt_end = 1500.0\nt_burn = 10.0\nchunks = 200\nseed = 3\n'
    )
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert _cli("run", str(cfg_path), "--out", str(full), "--no-progress").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "invariant.cli", "run", str(cfg_path), "--out", str(killed), "--no-progress"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "checkpoint.npz").exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    hook = fdr.hook(config.load(cfg_path))  # the run's hook, rebuilt from its config
    done = engine.load(killed, hook).steps_done
    assert 0 < done < engine.load(full, hook).steps_done, "the kill must land mid-run"
    res = _cli("run", "--resume", str(killed), "--no-progress")
    assert res.returncode == 0, res.stderr
    _same(engine.load(full, hook), engine.load(killed, hook))
    s_full = json.loads((full / "summary.json").read_text())
    s_res = json.loads((killed / "summary.json").read_text())
    assert s_full["stationary"] == s_res["stationary"]


def test_diverging_chains_are_stopped_reported_and_excluded():
    # escape radius inside the stationary spread: some chains leave it, the others go on
    game = {"name": "bilinear", "C": [[1.0, 0.4], [-0.3, 0.8]], "lam": 0.3, "gam": 0.5}
    cfg = make_config(game, simulation={"chains": 32, "t_end": 20.0, "t_burn": 1.0, "escape_radius": 0.45,
                                        "init_scale": 0.05})
    r = engine.simulate(cfg)
    dead = ~r.alive
    assert 0 < dead.sum() < cfg.chains
    for div in r.divergences():
        assert np.linalg.norm(div["state"]) > 0.45 and 0 < div["t"] <= cfg.t_end
    # statistics are those of the live chains alone
    m, P = r.pooled_moments()
    live = r.chain_means()[r.alive]
    n = r.acc_n[r.alive]
    assert np.allclose(m, (live * n[:, None]).sum(0) / n.sum())
    assert r.diverging[dead[: r.draws.shape[0]]].any(axis=1).all()
    assert not r.diverging[r.kept_alive].any()
    assert np.all(np.isfinite(stationary.moments(r).mean))


def test_a_stopped_chain_reports_the_first_step_of_its_excursion():
    # the escape test runs at the chain's events only; a chain caught outside is replayed to
    # the step it left: replaying the chains in Python with numpy generators in the streams'
    # starting states, the reported step is outside and the one before it inside, the
    # reported state is the path's there, and the chain stopped there
    import importlib

    from invariant.engine import pcg64
    from invariant.engine.run import _start

    game = {"name": "bilinear", "C": [[1.0, 0.4], [-0.3, 0.8]], "lam": 0.3, "gam": 0.5}
    cfg = make_config(game, training={"scheme": "sml"},
                      simulation={"chains": 16, "t_end": 8.0, "t_burn": 1.0, "escape_radius": 0.45,
                                  "init_scale": 0.05, "order": 1, "chunks": 3})
    state, streams = _start(cfg, engine.Hook())
    r = engine.simulate(cfg)
    assert 0 < r.n_diverged < cfg.chains
    k = importlib.import_module(cfg.game.kernels)
    p, data, dth = cfg.game.params, cfg.game.data, cfg.game.d_theta
    scale = np.sqrt(cfg.dt * cfg.scheme.lr / cfg.scheme.batch_size)
    for c in np.flatnonzero(~r.alive):
        g = pcg64.generator(streams[c])
        x = state["X"][c].copy()
        gx, z = np.empty_like(x), np.empty_like(x)
        path = [x]
        for _ in range(r.div_step[c]):
            k.grad(x, p, data, gx)
            k.noise(x, p, data, g, z)
            x = x + (cfg.dt * np.concatenate([-gx[:dth], gx[dth:]]) + scale * z)
            path.append(x)
        j = r.div_step[c]
        assert np.linalg.norm(path[j]) > 0.45 >= np.linalg.norm(path[j - 1])
        np.testing.assert_allclose(r.div_x[c], path[j], rtol=1e-12, atol=1e-12)
        assert np.array_equal(r.X[c], r.div_x[c])
        assert np.array_equal(r.streams[c], pcg64.words(g.bit_generator.state))


def test_nan_is_caught_with_time_and_state():
    # lr far beyond stability: the discrete chains overflow to inf/NaN
    cfg = make_config(training={"scheme": "sml", "lr": 3.0}, simulation={"dynamics": "sga", "chains": 4, "t_end": 3000.0, "t_burn": 3.0})
    r = engine.simulate(cfg)
    assert r.n_diverged == 4
    for div in r.divergences():
        assert div["step"] > 0 and (not np.all(np.isfinite(div["state"])) or np.linalg.norm(div["state"]) > 1e6)
    assert stationary.moments(r).settled is False


def test_inference_data_round_trip(tmp_path):
    r = engine.simulate(make_config(simulation={"chains": 4, "t_end": 5.0, "t_burn": 1.0}))
    idata = storage.to_inference_data(r)
    storage.write_chains(r, tmp_path)
    back = az.from_netcdf(str(tmp_path / "chains.nc"))
    for var in ("theta", "omega"):
        assert back.posterior[var].dims[:2] == ("chain", "draw")
        assert np.array_equal(back.posterior[var].values, idata.posterior[var].values)
    assert np.array_equal(back.sample_stats["diverging"].values, r.diverging)
    assert json.loads(back.attrs["config"]) == r.config.resolved
    assert back.attrs["invariant_version"]


def test_memory_is_flat_in_the_horizon(tmp_path):
    # 512 chains × d = 5: storing every step of t_end = 2000 would take 512·5·2e5·8 B = 4 GB
    code = (
        "import resource, sys; sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r});"
        "from conftest import make_config; from invariant import engine;"
        "engine.simulate(make_config(simulation=dict(chains=512, t_end={t}, t_burn=1.0, keep_draws=100, chunks=20)));"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    rss = {}
    for t in (200.0, 2000.0):
        out = subprocess.run([sys.executable, "-c", code.format(root=str(ROOT), tests=str(ROOT / "tests"), t=t)],
                             capture_output=True, text=True, check=True)
        rss[t] = int(out.stdout.split()[-1]) / 1024  # MiB
    print(f"peak RSS: t_end=200 → {rss[200.0]:.0f} MiB, t_end=2000 → {rss[2000.0]:.0f} MiB")
    assert rss[2000.0] - rss[200.0] < 20.0


@pytest.mark.parametrize("dynamics", ["sde", "sga"])
def test_observables_have_a_spacing_of_their_own(dynamics):
    # moments every stat_every steps, observables every obs_every: each exactly as a run with
    # that one spacing books it, across chunk boundaries; the chains depend on neither.  The
    # applied gradients of SGA chains cost nothing and come with the moments
    sim = {"dynamics": dynamics, "chains": 4, "t_end": 6.0, "t_burn": 1.0, "chunks": 3}
    cfg = make_config(simulation={**sim, "stat_every": 2, "obs_every": 7})
    r = engine.simulate(cfg, hook=fdr.hook(cfg))
    moments = engine.simulate(make_config(simulation={**sim, "stat_every": 2}), hook=fdr.hook(cfg))
    observables = engine.simulate(make_config(simulation={**sim, "stat_every": 7}), hook=fdr.hook(cfg))
    for name in ("X", "acc_n", "acc_s1", "acc_s2", "draws", "status"):
        assert np.array_equal(getattr(r, name), getattr(moments, name), equal_nan=True), name
    assert r.obs_n.tolist() == [len(range(cfg.burn_steps, cfg.steps, 7))] * 4
    with_moments = np.isin(r.obs_names, engine.WITH_MOMENTS)
    assert with_moments.sum() == (4 if dynamics == "sga" else 0)
    assert np.array_equal(r.acc_obs[:, :-1][:, with_moments], moments.acc_obs[:, :-1][:, with_moments])
    assert np.array_equal(r.acc_obs[:, :-1][:, ~with_moments], observables.acc_obs[:, :-1][:, ~with_moments])
    means = r.obs_chain_means()
    assert np.array_equal(means[:, with_moments], moments.obs_chain_means()[:, with_moments])
    assert np.array_equal(means[:, ~with_moments], observables.obs_chain_means()[:, ~with_moments])
    finite = np.isfinite(r.hist_obs).all(1)  # the per-chunk means: each column by its own count
    np.testing.assert_allclose(r.hist_obs[finite][:, ~with_moments], observables.hist_obs[finite][:, ~with_moments])


@pytest.mark.parametrize("game", ["reference", "dirac-wgan-r1", "bilinear-64"])
def test_streamed_sums_equal_the_visited_states(game):
    # every statistics step (here every step) adds x − shift, its outer product and the six
    # standard observables of the state it sees; recomputed here from the kept draws with
    # the game's own loss and gradient (stack kernels for d ≤ 8, heap kernels for d = 64)
    from invariant import bench
    from invariant.engine.run import _start

    table = REFERENCE_GAME if game == "reference" else {
        "dirac-wgan-r1": bench.dirac_case, "bilinear-64": bench.bilinear_case}[game]().table
    sim = {"dynamics": "sde", "order": 1, "chains": 3, "t_end": 0.3, "t_burn": 0.0, "dt": 0.01,
           "stat_every": 1, "keep_draws": 100, "keep_chains": 3}
    cfg = make_config(game=table, simulation=sim)
    r = engine.simulate(cfg)
    x0 = _start(cfg, engine.Hook())[0]["X"]
    g, dth = cfg.game, cfg.game.d_theta
    assert r.acc_n.tolist() == [cfg.steps] * 3 and r.draws.shape[1] == cfg.steps - 1
    for c in range(3):
        xs = np.vstack([x0[c], r.draws[c]])  # the states at steps 0 … steps − 1
        grads = np.array([g.grad(x) for x in xs])
        obs = np.column_stack([
            [g.loss(x) for x in xs], np.sum(xs * xs, 1), np.sum(xs[:, :dth] * grads[:, :dth], 1),
            np.sum(xs[:, dth:] * grads[:, dth:], 1), np.sum(grads[:, :dth] ** 2, 1),
            np.sum(grads[:, dth:] ** 2, 1)])
        y = xs - x0[c]
        iu = np.triu_indices(g.d)
        np.testing.assert_allclose(r.acc_obs[c, :6], obs.sum(0), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(r.acc_s1[c], y.sum(0), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(r.acc_s2[c], (y.T @ y)[iu], rtol=1e-10, atol=1e-10)
