"""GPU throughput of the CUDA backend (``invariant bench --backend cuda``).

The engine's kernel (:mod:`invariant.engine.cuda_run`, called as a run calls it: a chunk,
then the per-chunk copy back) against a bare Numba-CUDA kernel of the same SDE written by
hand — one thread per chain, the state in registers (2-D) or thread-local arrays (64-D),
xoroshiro128+ normals, no statistics — on the cases of :mod:`invariant.bench`: the 2-D
Dirac-GAN (WGAN + R1) SDE at about 1e6 and 4e6 chains and the 64-D bilinear game at 1e5 and
5e5 chains, each in float64 and float32 (SML-SDE, order 1, ``dt = 0.01``; docs/theory.md §3).

The issue's targets (``TARGETS``) are reported met or NOT met.  Under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) ``quick`` runs a few chains only: it checks that the benchmark
executes, its numbers mean nothing.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import sys

import numpy as np

from . import bench
from .bench_timing import time_call
from .engine import run as run_mod
from .engine.build import STANDARD_OBSERVABLES, Hook
from .engine.cuda_device import quiet_wraparound, require, rng_draws, seed_states, simulated
from .engine.cuda_run import DeviceChains
from .errors import ConfigError

try:  # a module global, as the CUDA simulator expects of a kernel's `cuda`
    from numba import cuda
except ImportError:  # no CUDA target: run() says so, as a config error
    cuda = None

# 64-D at 5e5 chains holds 8 GB of covariance sums on the device (and on the host)
CHAINS = {"dirac-wgan-r1": (1 << 20, 1 << 22), "bilinear-64": (100_000, 500_000)}
DTYPES = ("float64", "float32")
REPEATS = 5
TARGETS = (
    ("engine >= 1e10 chain-steps/s, 2-D, float64, >= 1e6 chains", 2, "float64", "engine", 1e10),
    ("engine >= 0.5x bare kernel, every case", None, None, "ratio_vs_bare", 0.5),
    ("engine >= 1e9 chain-steps/s, 64-D, float64", 64, "float64", "engine", 1e9),
)


# ------------------------------------------------------------------------- steppers
_NEVER = 1 << 40  # a statistics interval no timing reaches


class EngineStepper:
    """The CUDA engine's kernel on the case's order-1 SML-SDE, as ``run._advance`` calls it
    (``statistics=False``: the same without its streaming statistics, to tell their cost apart)."""

    def __init__(self, case, X0, dtype: str, states: np.ndarray, statistics: bool = True):
        chains = X0.shape[0]
        cfg = dataclasses.replace(case.config(chains), backend="cuda", dtype=dtype)
        if not statistics:  # no statistics step within any timing: the kernel's own cost
            cfg = dataclasses.replace(cfg, stat_every=_NEVER, obs_every=_NEVER)
        state = run_mod._fresh_state(cfg, len(STANDARD_OBSERVABLES))
        state["X"][:] = X0
        self.chains = DeviceChains(cfg, Hook(), state, states.copy())
        self.step0 = 0

    def __call__(self, n_steps: int) -> None:
        self.chains.advance(self.step0, int(n_steps))
        self.chains.sync(False)
        self.step0 += int(n_steps)


class BareStepper:
    """The hand-written kernel: ``x += dt·(A x + c) + scale·L z`` (2-D), or the bilinear
    game's drift and block Cholesky noise from its own constants (64-D): the structure the
    engine's game kernels exploit, without their generality."""

    def __init__(self, case, X0, dtype: str, states: np.ndarray):
        f = np.dtype(dtype).type
        self.f = f
        self.X = cuda.to_device(np.asfortranarray(X0.astype(f)))
        self.states = cuda.to_device(states.copy())
        q, key = _constants(case)
        self.q = cuda.to_device(q.astype(f))
        self.kernel = _bare_kernel(*key, dtype)
        self.blocks = math.ceil(X0.shape[0] / 128)

    def __call__(self, n_steps: int) -> None:
        f = self.f
        with quiet_wraparound():
            self.kernel[self.blocks, 128](self.X, self.q, f(bench.DT), f(bench.SCALE), int(n_steps), self.states)
        cuda.synchronize()


def _affine_step(d: int, k: int):
    # q = (A row-major, c, L row-major): y = x + dt·(A x + c) + scale·L z
    c0, l0 = d * d, d * d + d

    def step(x, y, z, q, dt, scale):
        for j in range(d):
            b = q[c0 + j]
            for m in range(d):
                b += q[j * d + m] * x[m]
            w = z[0] * q[l0 + j * k]
            for m in range(1, k):
                w += q[l0 + j * k + m] * z[m]
            y[j] = x[j] + dt * b + scale * w

    return step


def _bilinear_step(dth: int, dom: int):
    # q = (C row-major, a, b, Lθ row-major, Lω row-major, lam, gam):
    # b0 = (−(lam θ + C ω + a), Cᵀθ − gam ω + b), noise blockdiag(Lθ, Lω) z
    a0 = dth * dom
    b0 = a0 + dth
    lt0 = b0 + dom
    lo0 = lt0 + dth * dth
    lam0 = lo0 + dom * dom

    def step(x, y, z, q, dt, scale):
        lam = q[lam0]
        gam = q[lam0 + 1]
        for j in range(dth):
            g = lam * x[j] + q[a0 + j]
            for m in range(dom):
                g += q[j * dom + m] * x[dth + m]
            w = q[lt0 + j * dth] * z[0]
            for m in range(1, j + 1):
                w += q[lt0 + j * dth + m] * z[m]
            y[j] = x[j] - dt * g + scale * w
        for j in range(dom):
            g = q[b0 + j] - gam * x[dth + j]
            for m in range(dth):
                g += q[m * dom + j] * x[m]
            w = q[lo0 + j * dom] * z[dth]
            for m in range(1, j + 1):
                w += q[lo0 + j * dom + m] * z[dth + m]
            y[dth + j] = x[dth + j] + dt * g + scale * w

    return step


def _constants(case) -> tuple[np.ndarray, tuple]:
    """The packed constants ``q`` of the case's bare step and the key of its kernel."""
    if case.d == 2:
        k = case.L.shape[1]
        return np.concatenate([case.A.ravel(), case.c, case.L.ravel()]), ("affine", 2, 0, k)
    game = case.config(2).game
    info, dth, dom = game.info, game.d_theta, game.d_omega
    S = info["Sigma"]
    q = np.concatenate([info["C"].ravel(), info["a"], info["b"], np.linalg.cholesky(S[:dth, :dth]).ravel(),
                        np.linalg.cholesky(S[dth:, dth:]).ravel(), [info["lam"], info["gam"]]])
    return q, ("bilinear", dth, dom, game.d)


@functools.lru_cache(maxsize=None)
def _bare_kernel(kind: str, n1: int, n2: int, k: int, dtype: str):
    """One thread per chain: ``k`` normals, then the step of ``kind`` (``"affine"``: ``d = n1``
    with ``k`` noise columns; ``"bilinear"``: ``dθ = n1``, ``dω = n2``, ``k = d``)."""
    import numba
    from numba.cuda.random import xoroshiro128p_dtype

    from .engine.cuda_device import device

    d = n1 if kind == "affine" else n1 + n2
    step = device(_affine_step(d, k) if kind == "affine" else _bilinear_step(n1, n2))
    normal = rng_draws(dtype)[0]
    ftype = numba.float32 if dtype == "float32" else numba.float64

    @cuda.jit
    def kernel(X, q, dt, scale, n_steps, states):
        i = cuda.grid(1)
        if i >= X.shape[0]:
            return
        x = cuda.local.array(d, ftype)
        y = cuda.local.array(d, ftype)
        z = cuda.local.array(k, ftype)
        rng = cuda.local.array(1, xoroshiro128p_dtype)
        rng[0]["s0"] = states[i]["s0"]
        rng[0]["s1"] = states[i]["s1"]
        for j in range(d):
            x[j] = X[i, j]
        for _ in range(n_steps):
            for m in range(k):
                z[m] = normal(rng, 0)
            step(x, y, z, q, dt, scale)
            for j in range(d):
                x[j] = y[j]
        for j in range(d):
            X[i, j] = x[j]
        states[i]["s0"] = rng[0]["s0"]
        states[i]["s1"] = rng[0]["s1"]

    return kernel


# --------------------------------------------------------------------------- timing
def _rates(steppers: dict, chains: int, target: float) -> tuple[dict, dict]:
    """Best-of-``REPEATS`` chain-steps per second of each stepper, repetitions interleaved
    (as :func:`invariant.bench_timing.measure`, calibrated from one step: a GPU step is cheap)."""
    steps, best = {}, {}
    for m, s in steppers.items():
        s(1)  # compiles
        n, t = 1, time_call(s, 1)
        while t < target:
            n = int(math.ceil(n * min(20.0, max(1.5, 1.25 * target / max(t, 1e-6)))))
            t = time_call(s, n)
        steps[m], best[m] = n, t
    for _ in range(REPEATS - 1):
        for m, s in steppers.items():
            best[m] = min(best[m], time_call(s, steps[m]))
    return {m: chains * steps[m] / best[m] for m in steppers}, steps


def run(quick: bool = False) -> dict:
    """Measure the engine and the bare kernel on every case (the bench JSON of docs/design.md ◆,
    with ``bare_cuda`` for ``bare_numba`` and the state ``dtype`` per case)."""
    try:
        require()
    except ConfigError as exc:
        raise ConfigError("--backend", exc.message) from None
    target = 0.05 if quick else 0.3
    cases = []
    for case in (bench.dirac_case(), bench.bilinear_case()):
        sizes = (8,) if simulated() else CHAINS[case.name][:1] if quick else CHAINS[case.name]
        for chains in sizes:
            X0 = case.initial_state(chains)
            states = seed_states(bench.SEED, chains)
            for dtype in DTYPES:
                steppers = {"engine": EngineStepper(case, X0, dtype, states),
                            "engine_no_stats": EngineStepper(case, X0, dtype, states, statistics=False),
                            "bare_cuda": BareStepper(case, X0, dtype, states)}
                rates, steps = _rates(steppers, chains, target)
                cases.append({"name": case.name, "dim": case.d, "chains": chains, "dtype": dtype,
                              "steps": steps["engine"], "engine": rates["engine"],
                              "engine_no_stats": rates["engine_no_stats"], "bare_cuda": rates["bare_cuda"],
                              "ratio_vs_bare": rates["engine"] / rates["bare_cuda"], "steps_by_method": steps})
                del steppers
    return {"cases": cases, "machine": machine(), "quick": bool(quick), "simulated": simulated(),
            "settings": {"dt": bench.DT, "lr": bench.LR, "batch_size": bench.BATCH_SIZE, "order": 1,
                         "stat_every": bench.dirac_case().config(2).stat_every, "min_seconds": target,
                         "repeats": REPEATS}}


def targets(report: dict) -> list[dict]:
    """Whether the report meets each of :data:`TARGETS` (the worst matching case decides;
    the 2-D rate counts cases of at least 1e6 chains only)."""
    out = []
    for what, dim, dtype, key, low in TARGETS:
        rows = [c for c in report["cases"] if (dim is None or c["dim"] == dim)
                and (dtype is None or c["dtype"] == dtype) and (dim != 2 or key != "engine" or c["chains"] >= 10**6)]
        if not rows:
            continue
        worst = min(c[key] for c in rows)
        out.append({"target": what, "value": worst, "at_least": low, "met": worst >= low})
    return out


def machine() -> dict:
    """The GPU, its driver and the versions the kernels were built with."""
    import numba

    info = {"simulated": simulated(), "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                                                   "numba": numba.__version__}}
    try:
        import numba_cuda

        info["versions"]["numba_cuda"] = numba_cuda.__version__
    except (ImportError, AttributeError):
        pass
    if not simulated():
        dev = cuda.get_current_device()
        info["gpu"] = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        info["compute_capability"] = list(dev.compute_capability)
        info["driver"] = cuda.cudadrv.driver.driver.get_version()
    return info


def print_table(report: dict, file=None) -> None:
    """The report as a table of chain-steps per second, ratios and the targets."""
    file = file or sys.stdout
    m = report["machine"]
    where = "CUDA simulator (numbers meaningless)" if m["simulated"] else f"{m['gpu']} (cc {m['compute_capability']})"
    print(f"invariant bench --backend cuda: {where}; numba {m['versions']['numba']}", file=file)
    print(f"chain-steps per second (best of {report['settings']['repeats']})", file=file)
    head = (f"{'case':<16}{'dim':>4}{'chains':>9}{'dtype':>9}{'steps':>8}{'engine':>11}{'no stats':>11}"
            f"{'bare cuda':>11}{'vs bare':>9}")
    print(head, file=file)
    print("-" * len(head), file=file)
    for c in report["cases"]:
        print(f"{c['name']:<16}{c['dim']:>4}{c['chains']:>9}{c['dtype']:>9}{c['steps']:>8}"
              f"{c['engine']:>11.3g}{c['engine_no_stats']:>11.3g}{c['bare_cuda']:>11.3g}{c['ratio_vs_bare']:>8.2f}x",
              file=file)
    for tg in targets(report):
        print(f"{'met    ' if tg['met'] else 'NOT met'}  {tg['target']}: worst {tg['value']:.3g}", file=file)
