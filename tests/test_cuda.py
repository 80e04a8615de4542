"""The CUDA backend (``[simulation] backend = "cuda"``): config errors, the translation of game
kernels to device functions, the simulator suite, device compilation and (``-m gpu``) real runs.

* ``test_simulator_suite`` runs ``tests/test_cuda_sim.py`` under Numba's CUDA simulator in a
  process of its own (the simulator must be on before ``numba.cuda`` is first imported);
* ``test_kernels_compile_for_the_device`` compiles the kernels to PTX for sm_90 without a GPU
  when the CUDA toolkit's NVVM is installed (``pip install "invariant[cuda]"``), which the
  simulator cannot check: it runs the kernels as Python;
* tests marked ``gpu`` run on a real GPU (``pytest -m gpu``, ``.ci/gpu_check``) and are
  skipped elsewhere.
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from invariant import cli, engine, fdr, stationary
from invariant.engine import cuda_build, run as run_mod
from invariant.engine.build import Hook, observable_names
from conftest import REFERENCE_GAME, make_config
from test_references import RUN, Z_MAX, _reference

ROOT = Path(__file__).resolve().parent.parent


def _real_gpu() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 — no numba-cuda, no driver: no GPU
        return False


REAL_GPU = _real_gpu()
needs_gpu = pytest.mark.skipif(not REAL_GPU, reason="needs an NVIDIA GPU")
without_gpu = pytest.mark.skipif(REAL_GPU or os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"),
                                 reason="a GPU (or the simulator) is present")


def _toml(tmp_path, simulation: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text('[game]\nname = "bilinear"\nC = [[1.0, 0.4], [-0.3, 0.8]]\n'
                    '[simulation]\nchains = 4\nt_end = 4.0\n' + simulation)
    return str(path)


# ------------------------------------------------------------------ config and errors
def test_float32_needs_the_cuda_backend(tmp_path, capsys):
    assert cli.main(["run", _toml(tmp_path, 'dtype = "float32"\n'), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "simulation.dtype" in err and "backend = 'cuda'" in err
    assert not (tmp_path / "o").exists()


def test_unknown_backend_and_dtype_are_config_errors(tmp_path, capsys):
    assert cli.main(["run", _toml(tmp_path, 'backend = "gpu"\n'), "--out", str(tmp_path / "o")]) == 2
    assert "simulation.backend: must be one of 'cpu', 'cuda'" in capsys.readouterr().err
    assert cli.main(["run", _toml(tmp_path, 'dtype = "float16"\n'), "--out", str(tmp_path / "o")]) == 2
    assert "simulation.dtype: must be one of 'float64', 'float32'" in capsys.readouterr().err


def test_resolved_config_records_backend_and_dtype():
    cfg = make_config(simulation={"backend": "cuda", "dtype": "float32"})
    assert cfg.resolved["simulation"]["backend"] == "cuda" and cfg.resolved["simulation"]["dtype"] == "float32"
    assert make_config().resolved["simulation"]["backend"] == "cpu"


@without_gpu
def test_cuda_without_a_gpu_is_exit_2_with_the_fix_and_writes_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    res = subprocess.run([sys.executable, "-m", "invariant.cli", "run", _toml(tmp_path, 'backend = "cuda"\n'),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT, env=env)
    assert res.returncode == 2, res.stderr
    err = res.stderr.strip()
    assert "\n" not in err, err
    assert err.startswith("invariant: error: simulation.backend:")
    assert 'pip install "invariant[cuda]"' in err and "NUMBA_ENABLE_CUDASIM=1" in err and "backend = 'cpu'" in err
    assert not (tmp_path / "o").exists()


@without_gpu
def test_resuming_a_cuda_run_without_a_gpu_is_exit_2(tmp_path, capsys):
    import json

    cfg = make_config(simulation={"backend": "cuda"})
    (tmp_path / "config.json").write_text(json.dumps(cfg.resolved))
    (tmp_path / "hook.json").write_text(json.dumps(Hook().as_dict()))
    assert cli.main(["run", "--resume", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("invariant: error: simulation.backend:")
    assert not (tmp_path / "checkpoint.npz").exists()


# ------------------------------------------------------------------ the translation
def _translate(src: str, float32: bool = False) -> str:
    return cuda_build.device_function(ast.parse(src).body[0], "game.f", {"_helper": "_g__helper"}, float32)


def test_translation_draws_from_the_chains_stream_and_allocates_thread_locally():
    out = _translate("def f(x, p, data, rng, out):\n"
                     "    sc = np.zeros(3)\n"
                     "    out[0] = np.exp(x[0]) * rng.standard_normal() + rng.random() + _helper(x[1])\n"
                     "    out[1] = data[rng.integers(0, data.shape[0]), 0]\n")
    assert "_rng_standard_normal(rng)" in out and "_rng_random(rng)" in out
    assert "_rng_integers(rng, 0, data.shape[0])" in out
    assert "math.exp(x[0])" in out and "_g__helper(x[1])" in out
    assert "_zeroed(cuda.local.array(LOCAL_N, _F)[:3])" in out
    assert out.startswith("@device\ndef f(")


def test_translation_keeps_float32_arithmetic_in_float32():
    out = _translate("def f(x):\n    return 0.5 * x[0] + 2 * x[1]\n", float32=True)
    assert "_F(0.5) * x[0] + 2 * x[1]" in out
    assert "0.5 * x[0]" in _translate("def f(x):\n    return 0.5 * x[0]\n")


@pytest.mark.parametrize("body,what", [
    ("    return rng.normal(0.0, 1.0)\n", "uses rng.normal"),
    ("    return np.empty((2, 3))\n", "1-D float vectors"),
    ("    return rng.standard_normal(3)\n", "draw one number a call"),
])
def test_translation_refuses_what_the_device_cannot_do(body, what):
    with pytest.raises(ValueError, match=what) as exc:
        _translate("def f(x, rng):\n" + body)
    assert "game.f" in str(exc.value)


def test_translation_local_names_shadow_game_globals():
    out = _translate("def f(x):\n    _helper = x[0]\n    return _helper\n")
    assert "_g__helper" not in out


# ------------------------------------------------------------------ the simulator
def test_simulator_suite():
    """``tests/test_cuda_sim.py`` under ``NUMBA_ENABLE_CUDASIM=1``, in a process of its own."""
    pytest.importorskip("numba.cuda")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    res = subprocess.run([sys.executable, "-m", "pytest", "tests/test_cuda_sim.py", "-q", "-p", "no:cacheprovider"],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    print(res.stdout[-3000:])
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    assert " passed" in res.stdout and "skipped" not in res.stdout.splitlines()[-1]


# ------------------------------------------------------------------ device compilation
def _nvvm() -> bool:
    """The CUDA toolkit compiles a trivial kernel to PTX here (NVVM alone is not enough: a
    partial toolkit without NVRTC fails at the first compilation)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    try:
        # the backend needs numba-cuda (the [cuda] extra): numba's own deprecated CUDA target
        # compiles a trivial kernel but not the engine's
        import numba_cuda  # noqa: F401
        from numba import cuda

        def one(a):
            a[0] = 1.0

        cuda.compile_ptx(one, (numba.float64[:],), cc=(9, 0))
        return True
    except Exception:  # noqa: BLE001 — numba-cuda or a piece of the toolkit missing
        return False


def _ptx(cfg, hook) -> str:
    """PTX of the run's kernel for sm_90, typed from the arrays the run would hand it."""
    from numba import cuda

    from invariant.engine.cuda_run import generators

    k = cuda_build.kernels(cfg.game.kernels, cfg.game.d, cfg.game.d_theta, hook, cfg.dtype)
    state = run_mod._fresh_state(cfg, len(observable_names(cfg.dynamics, hook)))
    f = np.dtype(cfg.dtype).type
    ty = {name: numba.typeof(np.asfortranarray(a)) for name, a in state.items()}
    ty["X"] = numba.typeof(np.asfortranarray(state["X"].astype(f)))
    head = (ty["X"], ty["status"], ty["div_step"], ty["div_x"], numba.typeof(cfg.game.params.astype(f)),
            numba.typeof(cfg.game.data.astype(f)), numba.typeof(generators(cfg, hook, run_mod._HOOK_SPAWN_KEY)))
    books = (numba.int64,) * 6 + (numba.float64,) + tuple(ty[n] for n in ("draws", "shift", "acc_n", "acc_s1",
                                                                             "acc_s2", "acc_obs"))
    ft = numba.typeof(f(1))
    if cfg.dynamics == "sde":
        kernel, sig = k.sde_kernel, head + (ft, ft, ft, numba.boolean, ft, ft, numba.boolean, numba.boolean) + books
    else:
        kernel, sig = k.sga_kernel, head + (ft, numba.int64, numba.int64) + books
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    return ptx


needs_nvvm = pytest.mark.skipif(not _nvvm(), reason='needs numba-cuda and the CUDA toolkit (pip install "invariant[cuda]")')


@pytest.fixture
def sm90(monkeypatch):
    """Device functions compile for the current device's architecture: stand in for an H100."""
    import numba.cuda.dispatcher as dispatcher

    class _SM90:
        compute_capability = (9, 0)

    monkeypatch.setattr(dispatcher, "get_current_device", lambda: _SM90())


@needs_nvvm
@pytest.mark.parametrize("game,dynamics,dtype,fdr_hook", [
    ({"name": "dirac", "loss": "wgan", "regularizer": "r1", "gamma": 0.5}, "sde", "float64", True),
    ({"name": "dirac", "loss": "non-saturating", "regularizer": "gradient-penalty", "gamma": 0.5}, "sga",
     "float32", True),
    (REFERENCE_GAME, "sga", "float32", True),
    ({"name": "mlp", "width": 2, "nodes": 8}, "sde", "float64", False),
], ids=["dirac-sde-f64", "dirac-sga-f32", "bilinear-sga-f32", "mlp-sde-f64"])
def test_kernels_compile_for_the_device(game, dynamics, dtype, fdr_hook, sm90):
    """What the simulator cannot check: the translated kernels type and compile for a GPU."""
    cfg = make_config(game, simulation={"backend": "cuda", "dynamics": dynamics, "dtype": dtype})
    ptx = _ptx(cfg, fdr.hook(cfg) if fdr_hook else Hook())
    assert ".entry" in ptx and "sm_90" in ptx


@needs_nvvm
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bench_bare_kernels_compile_for_the_device(dtype, sm90):
    from numba import cuda
    from numba.cuda.random import xoroshiro128p_dtype

    from invariant import bench_cuda

    ft = numba.typeof(np.dtype(dtype).type(1))
    sig = (numba.types.Array(ft, 2, "F"), numba.types.Array(ft, 1, "C"), ft, ft, numba.int64,
           numba.typeof(np.empty(1, xoroshiro128p_dtype)))
    for key in (("affine", 2, 0, 1), ("bilinear", 3, 2, 5)):
        ptx, _ = cuda.compile_ptx(bench_cuda._bare_kernel(*key, dtype).py_func, sig, cc=(9, 0))
        assert ".entry" in ptx


# ------------------------------------------------------------------ on a GPU
def _z(a, b, se_a, se_b):
    return np.abs(a - b) / np.sqrt(se_a ** 2 + se_b ** 2)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dynamics,scheme,order", [("sde", "alt-d", 2), ("sga", "alt-d", 2)])
def test_gpu_stationary_moments_match_exact_and_the_cpu_engine(dynamics, scheme, order, dtype):
    """65 536 chains on the reference game against its exact law (docs/theory.md §8) and the CPU engine's
    64, with tolerances from the MCSEs."""
    run = {**RUN, "dynamics": dynamics, "order": order}  # tests/test_references.py's runs, on 1024× the chains
    cfg = make_config(training={"scheme": scheme}, simulation={**run, "chains": 1 << 16, "backend": "cuda",
                                                               "dtype": dtype})
    m = stationary.moments(engine.simulate(cfg))
    (m_sim, P_sim), _ = _reference(cfg)
    cpu = stationary.moments(engine.simulate(make_config(training={"scheme": scheme},
                                                         simulation={**run, "chains": 64})))
    z = {"mean vs exact": np.abs(m.mean - m_sim) / m.mean_mcse, "cov vs exact": np.abs(m.cov - P_sim) / m.cov_mcse,
         "mean vs cpu": _z(m.mean, cpu.mean, m.mean_mcse, cpu.mean_mcse),
         "cov vs cpu": _z(m.cov, cpu.cov, m.cov_mcse, cpu.cov_mcse)}
    print(", ".join(f"{k} max|z| {v.max():.2f}" for k, v in z.items()))
    assert m.settled
    for k, v in z.items():
        assert v.max() < Z_MAX, k
