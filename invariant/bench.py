"""Engine throughput against two baselines, measured in one process (docs/design.md ◆ bench JSON).

Two order-1 SDEs (``dx = b0(x) dt + sqrt(lr/N) L dW``, Euler–Maruyama with ``dt = 0.01``,
``lr = 0.05``, ``N = 4``), each at 16 and at 4096 chains:

``dirac-wgan-r1`` (d = 2)
    the Dirac-GAN with the WGAN loss and the R1 regulariser (``gamma = 0.5``, ``mu = 0``,
    ``s = s_z = 1``): linear drift ``b0 = (ψ, −θ − ψ/2)``, noise ``Σ = diag(0, 2)``.
``bilinear-64`` (d = 64)
    a 32 × 32 bilinear game (random ``C``, ``lam = gam = 0.5``) with full random
    positive-definite ``Σ_θ``, ``Σ_ω``, so the noise needs full Cholesky factors.

Each is simulated four ways, all four steppers advancing the same ``(chains, d)`` state:

``engine``
    the generated kernel ``sde_chunk`` called as :func:`invariant.engine.run._advance`
    calls it, on state and streams prepared as a real run prepares them, with the
    standard accumulators on (burn-in 0, ``stat_every`` from the config, thinning so large
    that no draw is kept): the work a real run does per step.
``numpy_baseline``
    numpy vectorised over chains, ``X += dt·(X Aᵀ + c) + scale·Z Lᵀ`` with one
    ``standard_normal`` call per step for all chains.
``bare_numba``
    a hand-written Numba loop of the same SDE, the limit on this CPU: ``prange`` over
    blocks of chains, one PCG64 stream per block drawn inline as the engine draws
    (:mod:`invariant.engine.pcg64`), the state in registers (d = 2) or dense loops over
    small arrays (d = 64), no statistics.
``bare_numba_generator``
    the same loop drawing through numba's ``numpy.random.Generator`` (the same stream,
    one call through the bit generator's function pointer per draw): for scale only, it
    is the slower of the two bare loops (``ratio_vs_bare`` is against ``bare_numba``).

``formula`` (a top-level list, one row per chain count)
    the engine on ``dirac-wgan-r1`` and on the same game written as a formula
    (:data:`FORMULA_TABLE`, kernels printed by ``invariant.games.formula_game``), timed in
    turns: ``ratio`` = formula ÷ hand-written, to be at least :data:`FORMULA_TARGET`.

Every timing is taken after a warm-up call, with enough steps to last ``≳ 0.3 s``
(``≳ 0.05 s`` in quick mode); the methods take turns, and the best of five
repetitions of each is reported as chain-steps per second.

The report's ``optimizer_cases`` time the SGA chains of two optimisers (Adam and
extragradient) on the 2-D case's game against a bare loop of the same update
(:mod:`invariant.bench_sga`).
"""
from __future__ import annotations

import math
import os
import platform
import sys
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import overload
from numba.typed import List

from . import bench_mlp, bench_sga, bench_stats
from . import config as config_mod
from .engine import run as run_mod
from .engine import pcg64
from .engine.scratch import borrowed
from .bench_timing import REPEATS, STAT_EVERY, measure
from .engine.build import STANDARD_OBSERVABLES, kernels

DT = 0.01
LR = 0.05
BATCH_SIZE = 4
SCALE = math.sqrt(DT * LR / BATCH_SIZE)  # noise scale of one Euler–Maruyama step
CHAINS = (16, 4096)
METHODS = ("engine", "numpy_baseline", "bare_numba", "bare_numba_generator")
SEED = 20240601
_THIN = 1 << 40  # "thin large": the engine keeps no draw during a timing


# --------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One benchmark SDE: a game run as an order-1 SML-SDE, and its affine coefficients.

    ``A``, ``c`` give the drift ``b0(x) = A x + c`` (probed from the game itself), ``L`` a
    factor of ``Σ`` with its zero columns dropped (``L Lᵀ = Σ``), so the baselines draw no
    normal that the SDE multiplies by zero.
    """

    name: str
    table: dict  # the config's [game] table
    A: np.ndarray
    c: np.ndarray
    L: np.ndarray

    @property
    def d(self) -> int:
        return self.A.shape[0]

    def config(self, chains: int, seed: int = SEED) -> config_mod.Config:
        """The run configuration whose steps the engine timing reproduces."""
        return config_mod.from_dict({
            "game": self.table,
            "training": {"scheme": "sml", "lr": LR, "batch_size": BATCH_SIZE},
            "simulation": {"order": 1, "chains": chains, "t_end": 10.0, "t_burn": 0.0, "dt": DT,
                           "seed": seed, "keep_draws": 2, "keep_chains": 1,
                           "stat_every": STAT_EVERY},
        })

    def initial_state(self, chains: int, seed: int = SEED) -> np.ndarray:
        """Initial chain states ``x0 + init_scale·N(0, I)``, the run's default spread."""
        cfg = self.config(max(chains, 2), seed)
        rng = np.random.default_rng(seed)
        return cfg.x0 + cfg.init_scale * rng.standard_normal((chains, self.d))

    def stepper(self, method: str, X0: np.ndarray, scale: float = SCALE, seed: int = SEED):
        """A callable ``s(n_steps)`` advancing its own copy ``s.X`` of ``X0`` by ``method``."""
        cls = {"engine": EngineStepper, "numpy_baseline": NumpyStepper, "bare_numba": BareStepper,
               "bare_numba_generator": GeneratorBareStepper}[method]
        return cls(self, X0, scale, seed)


def _affine(cfg) -> tuple[np.ndarray, np.ndarray]:
    """``A``, ``c`` with ``b0(x) = A x + c``, from the game's own gradient (exact when affine)."""
    game, sch = cfg.game, cfg.scheme
    if not game.affine:
        raise ValueError(f"bench needs an affine game, got {game.name}")
    d = game.d
    c = sch.b0(game, np.zeros(d))
    A = np.empty((d, d))
    for j in range(d):
        e = np.zeros(d)
        e[j] = 1.0
        A[:, j] = sch.b0(game, e) - c
    return A, c


def _factor(S: np.ndarray) -> np.ndarray:
    """``L`` with ``L Lᵀ = S`` for a PSD ``S``, all-zero columns dropped (``d × rank``)."""
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(S)
        L = V * np.sqrt(np.clip(w, 0.0, None))
    keep = np.any(L != 0.0, axis=0)
    return np.ascontiguousarray(L[:, keep])


def _case(name: str, table: dict) -> Case:
    cfg = Case(name, table, np.eye(1), np.zeros(1), np.eye(1)).config(2)
    A, c = _affine(cfg)
    L = _factor(cfg.game.sigma(np.zeros(cfg.game.d)))
    return Case(name, table, A, c, L)


def dirac_case() -> Case:
    """The 2-D Dirac-GAN SDE: wgan loss, r1 regulariser, gamma = 0.5, mu = 0, s = s_z = 1."""
    table = {"name": "dirac", "loss": "wgan", "regularizer": "r1", "gamma": 0.5, "mu": 0.0,
             "s": 1.0, "s_z": 1.0}
    return _case("dirac-wgan-r1", table)


FORMULA_TABLE = {"name": "formula", "theta": ["t"], "omega": ["p"],
                 "loss": "p*y - p*(t + z) - gamma/2*p**2", "constants": {"gamma": 0.5},
                 "xi": {"y": {"normal": [0.0, 1.0]}, "z": {"normal": [0.0, 1.0]}}}
""":func:`dirac_case`'s game written as a formula (invariant.games.formula_game)."""


def formula_case() -> Case:
    """The 2-D Dirac-GAN SDE of :func:`dirac_case` from its formula: the same SDE, the
    kernels printed by sympy instead of written by hand."""
    return _case("dirac-wgan-r1-formula", FORMULA_TABLE)


def _random_spd(rng: np.random.Generator, n: int) -> np.ndarray:
    M = rng.standard_normal((n, n))
    S = M @ M.T / n + 0.5 * np.eye(n)
    return 0.5 * (S + S.T)


def bilinear_case(half: int = 32, seed: int = 7) -> Case:
    """The ``2·half``-D bilinear game: random ``C``, lam = gam = 0.5, full random SPD ``Σ``."""
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((half, half)) / math.sqrt(half)
    table = {"name": "bilinear", "C": C.tolist(), "lam": 0.5, "gam": 0.5,
             "Sigma_theta": _random_spd(rng, half).tolist(),
             "Sigma_omega": _random_spd(rng, half).tolist()}
    return _case(f"bilinear-{2 * half}", table)


# ----------------------------------------------------------------------- steppers
class EngineStepper:
    """The engine's ``sde_chunk``, called exactly as ``run._advance`` calls it."""

    def __init__(self, case: Case, X0, scale, seed):
        chains = X0.shape[0]
        self.cfg = cfg = case.config(chains, seed)
        self.kernels = kernels(cfg.game.kernels, cfg.game.d, cfg.game.d_theta, order=cfg.scheme.order,
                               diffusion=cfg.scheme.diffusion_name, sigma_varies=not cfg.game.affine)
        self.state = run_mod._fresh_state(cfg, len(STANDARD_OBSERVABLES))
        self.state["X"][:] = X0
        self.streams = pcg64.streams(pcg64.generators(np.random.SeedSequence(seed), chains))
        self.scale = float(scale)
        self.step0 = 0

    @property
    def X(self) -> np.ndarray:
        return self.state["X"]

    def __call__(self, n_steps: int) -> None:
        cfg, s, game, sch = self.cfg, self.state, self.cfg.game, self.cfg.scheme
        s_th, s_om = sch.b1_signs
        self.kernels.sde_chunk(
            s["X"], s["status"], s["div_step"], s["div_x"], game.params, game.data, self.streams,
            game.d_theta, sch.sde.drift, sch.sde.noise, sch.lr, self.scale, cfg.dt, s_th, s_om,
            self.step0, int(n_steps), 0, cfg.stat_every, cfg.obs_every, _THIN, cfg.escape_radius ** 2,
            s["draws"], s["shift"], s["acc_n"], s["acc_s1"], s["acc_s2"], s["acc_obs"], s["proj"],
        )
        self.step0 += int(n_steps)
        if np.any(s["status"] != 0):
            raise RuntimeError(f"bench: {int(np.sum(s['status'] != 0))} engine chains diverged")


class NumpyStepper:
    """``X += dt·(X Aᵀ + c) + scale·Z Lᵀ``, vectorised over chains, one normal draw per step."""

    def __init__(self, case: Case, X0, scale, seed):
        self.X = np.array(X0, dtype=np.float64, order="C")
        self.dtAt = np.ascontiguousarray(DT * case.A.T)
        self.dtc = DT * case.c
        self.sLt = np.ascontiguousarray(scale * case.L.T)
        self.rng = np.random.default_rng(seed)
        n = self.X.shape[0]
        self.D = np.empty_like(self.X)
        self.N = np.empty_like(self.X)
        self.Z = np.empty((n, case.L.shape[1]))

    def __call__(self, n_steps: int) -> None:
        X, D, N, Z, dtAt, sLt, dtc = self.X, self.D, self.N, self.Z, self.dtAt, self.sLt, self.dtc
        shift = bool(np.any(dtc != 0.0))
        normal, matmul = self.rng.standard_normal, np.matmul
        for _ in range(int(n_steps)):
            normal(out=Z)
            matmul(X, dtAt, out=D)
            if shift:
                D += dtc
            matmul(Z, sLt, out=N)
            X += D
            X += N


def _blocks(chains: int) -> np.ndarray:
    nb = min(chains, 8 * numba.get_num_threads())
    return np.linspace(0, chains, nb + 1).round().astype(np.int64)


class BareStepper:
    """The hand-written Numba loop (:func:`_bare_2d` or :func:`_bare_bilinear`), one random
    stream per block of chains: drawn inline (:mod:`invariant.engine.pcg64`, as the engine
    draws) or, with ``generator=True``, through numba's ``numpy.random.Generator``."""

    def __init__(self, case: Case, X0, scale, seed, generator: bool = False):
        self.X = np.array(X0, dtype=np.float64, order="C")
        self.case = case
        self.scale = float(scale)
        self.bounds = _blocks(self.X.shape[0])
        gens = pcg64.generators(np.random.SeedSequence(seed), len(self.bounds) - 1)
        self.streams = List(gens) if generator else pcg64.streams(gens)
        if case.d == 2:
            self.L = np.zeros((2, 2))
            self.L[:, : case.L.shape[1]] = case.L
            self.k = case.L.shape[1]
        else:
            cfg = case.config(2)
            info, dth = cfg.game.info, cfg.game.d_theta
            S = info["Sigma"]
            self.C = np.ascontiguousarray(info["C"])
            self.CT = np.ascontiguousarray(info["C"].T)
            self.coef = (info["lam"], info["gam"], np.asarray(info["a"], float), np.asarray(info["b"], float))
            # factors stored transposed (column i of L contiguous): the noise loops are axpys
            self.LtT = np.ascontiguousarray(np.linalg.cholesky(S[:dth, :dth]).T)
            self.LoT = np.ascontiguousarray(np.linalg.cholesky(S[dth:, dth:]).T)

    def __call__(self, n_steps: int) -> None:
        if self.case.d == 2:
            _bare_2d(self.X, self.case.A, self.case.c, self.L, self.k, DT, self.scale,
                     int(n_steps), self.streams, self.bounds)
        else:
            lam, gam, a, b = self.coef
            _bare_bilinear(self.X, self.C, self.CT, lam, gam, a, b, self.LtT, self.LoT, DT,
                           self.scale, int(n_steps), self.streams, self.bounds)


class GeneratorBareStepper(BareStepper):
    """:class:`BareStepper` drawing through numba's ``numpy.random.Generator``."""

    def __init__(self, case: Case, X0, scale, seed):
        super().__init__(case, X0, scale, seed, generator=True)


def _open(streams, blk):
    """Block ``blk``'s generator: ``streams[blk]``, or its PCG64 words loaded into a stream slot."""


@overload(_open, inline="always")
def _ol_open(streams, blk):
    if isinstance(streams, types.Array):
        def impl(streams, blk):
            rng = pcg64.slot()
            pcg64.load(rng, streams, blk)
            return rng
    else:
        def impl(streams, blk):
            return borrowed(streams[blk])
    return impl


def _close(streams, blk, rng):
    """Write block ``blk``'s stream back (words only; a numpy generator holds its own state)."""


@overload(_close, inline="always")
def _ol_close(streams, blk, rng):
    if isinstance(streams, types.Array):
        def impl(streams, blk, rng):
            pcg64.store(rng, streams, blk)
    else:
        def impl(streams, blk, rng):
            pass
    return impl


# the bare loops are compiled afresh in each process (no cache): numba's cache would not
# notice an edit of the pcg64 functions they inline, and a stale limit would go unnoticed
@njit(parallel=True, fastmath=False)
def _bare_2d(X, A, c, L, k, dt, scale, n_steps, streams, bounds):
    # x ← x + dt (A x + c) + scale L z, z ~ N(0, I_k), k = 1 or 2 columns of L
    a00 = A[0, 0]
    a01 = A[0, 1]
    a10 = A[1, 0]
    a11 = A[1, 1]
    c0 = c[0]
    c1 = c[1]
    l00 = scale * L[0, 0]
    l01 = scale * L[0, 1]
    l10 = scale * L[1, 0]
    l11 = scale * L[1, 1]
    for blk in prange(bounds.shape[0] - 1):
        rng = _open(streams, np.int64(blk))
        for ch in range(bounds[blk], bounds[blk + 1]):
            x0 = X[ch, 0]
            x1 = X[ch, 1]
            if k == 1:
                for _ in range(n_steps):
                    z0 = rng.standard_normal()
                    y0 = x0 + dt * (a00 * x0 + a01 * x1 + c0) + l00 * z0
                    x1 = x1 + dt * (a10 * x0 + a11 * x1 + c1) + l10 * z0
                    x0 = y0
            else:
                for _ in range(n_steps):
                    z0 = rng.standard_normal()
                    z1 = rng.standard_normal()
                    y0 = x0 + dt * (a00 * x0 + a01 * x1 + c0) + (l00 * z0 + l01 * z1)
                    x1 = x1 + dt * (a10 * x0 + a11 * x1 + c1) + (l10 * z0 + l11 * z1)
                    x0 = y0
            X[ch, 0] = x0
            X[ch, 1] = x1
        _close(streams, np.int64(blk), rng)


@njit(parallel=True, fastmath=False)
def _bare_bilinear(X, C, CT, lam, gam, a, b, LtT, LoT, dt, scale, n_steps, streams, bounds):
    # b0 = (−(lam θ + C ω + a), Cᵀθ − gam ω + b); noise scale·blockdiag(Lθ, Lω) z with the
    # lower-triangular factors given transposed (LtT = Lθᵀ).  Every inner loop is an axpy
    # over a contiguous row or slice indexed from 0 (no negative-index wraparound, so it
    # vectorises without fastmath).
    dth, dom = C.shape
    d = dth + dom
    for blk in prange(bounds.shape[0] - 1):
        rng = _open(streams, np.int64(blk))
        x = np.empty(d)
        f = np.empty(d)
        th = x[:dth]
        om = x[dth:]
        fth = f[:dth]
        fom = f[dth:]
        for ch in range(bounds[blk], bounds[blk + 1]):
            for i in range(d):
                x[i] = X[ch, i]
            for _ in range(n_steps):
                for i in range(dth):
                    fth[i] = -(lam * th[i] + a[i])
                for j in range(dom):
                    fom[j] = b[j] - gam * om[j]
                for j in range(dom):
                    wj = om[j]
                    row = CT[j]
                    for i in range(dth):
                        fth[i] -= row[i] * wj
                for i in range(dth):
                    ti = th[i]
                    row = C[i]
                    for j in range(dom):
                        fom[j] += row[j] * ti
                for i in range(d):
                    x[i] += dt * f[i]
                # whole columns of L, zeros above the diagonal included: a column starting one
                # entry lower re-reads what the last one just stored, a load the CPU cannot
                # forward from the store (the triangular loop was 6-8 % slower)
                for i in range(dth):
                    zi = scale * rng.standard_normal()
                    col = LtT[i]
                    for r in range(dth):
                        th[r] += col[r] * zi
                for j in range(dom):
                    zj = scale * rng.standard_normal()
                    col = LoT[j]
                    for r in range(dom):
                        om[r] += col[r] * zj
            for i in range(d):
                X[ch, i] = x[i]
        _close(streams, np.int64(blk), rng)


def run(quick: bool = False, mlp: bool | None = None) -> dict:
    """Measure the engine and the baselines on every case (docs/design.md ◆ bench JSON); the
    MLP GAN against PyTorch (:mod:`invariant.bench_mlp`) unless ``mlp`` is false (default: not in
    quick mode, whose timings are for tests)."""
    target = 0.05 if quick else 0.3
    cases = []
    for case in (dirac_case(), bilinear_case()):
        for chains in CHAINS:
            X0 = case.initial_state(chains)
            rates, steps = measure({m: case.stepper(m, X0) for m in METHODS}, chains, target)
            cases.append({
                "name": case.name, "dim": case.d, "chains": chains, "steps": steps["engine"],
                "engine": rates["engine"], "numpy_baseline": rates["numpy_baseline"],
                "bare_numba": rates["bare_numba"], "bare_numba_generator": rates["bare_numba_generator"],
                "ratio_vs_numpy": rates["engine"] / rates["numpy_baseline"],
                "ratio_vs_bare": rates["engine"] / rates["bare_numba"],
                "ratio_vs_bare_generator": rates["engine"] / rates["bare_numba_generator"],
                "steps_by_method": steps,
            })
    dirac = dirac_case()
    sga = bench_sga.run_cases(dirac.name, dirac.table, target)
    mlp_cases = [bench_mlp.run(target)] if (not quick if mlp is None else mlp) else []
    return {"cases": cases, "formula": formula_vs_hand(target), "optimizer_cases": sga, "mlp_cases": mlp_cases,
            "statistics_cases": bench_stats.run(quick), "machine": machine(),
            "quick": bool(quick),
            "settings": {"dt": DT, "lr": LR, "batch_size": BATCH_SIZE, "order": 1,
                         "stat_every": dirac.config(2).stat_every,
                         "min_seconds": target, "repeats": REPEATS,
                         "sga": {"lr": bench_sga.LR, "batch_size": bench_sga.BATCH_SIZE, "scheme": "sml",
                                 "stat_every": bench_sga.SgaCase("adam", dirac.table).cfg.stat_every,
                                 "optimizers": bench_sga.OPTIMIZERS}}}


def formula_vs_hand(target: float) -> list[dict]:
    """The engine on the 2-D case's hand-written game and on the same game as a formula,
    timed in turns in this process: chain-steps per second and ``ratio`` = formula ÷ hand."""
    hand, form = dirac_case(), formula_case()
    rows = []
    for chains in CHAINS:
        X0 = hand.initial_state(chains)
        rates, steps = measure({"hand": hand.stepper("engine", X0), "formula": form.stepper("engine", X0)},
                                chains, target)
        rows.append({"name": hand.name, "dim": hand.d, "chains": chains, "steps": steps["formula"],
                     "hand": rates["hand"], "formula": rates["formula"],
                     "ratio": rates["formula"] / rates["hand"]})
    return rows


# the project's throughput targets: (what, list of cases, dim, chains or None for all, field, at least)
TARGETS = (
    ("engine >= 20x numpy, 2-D, 16 chains", "cases", 2, 16, "ratio_vs_numpy", 20.0),
    ("engine >= 2x numpy, 2-D, 4096 chains", "cases", 2, 4096, "ratio_vs_numpy", 2.0),
    ("engine >= 0.8x bare numba, every case", "cases", None, None, "ratio_vs_bare", 0.8),
    ("SGA engine >= 0.8x bare numba, every optimiser case", "optimizer_cases", None, None, "ratio_vs_bare", 0.8),
    ("MLP GAN SGA engine >= 3x PyTorch per chain-step", "mlp_cases", None, None, "ratio_vs_torch", bench_mlp.TARGET),
    ("SGA run >= 0.9x its time without statistics (default spacing; statistics <= 10 %)", "statistics_cases",
     None, None, "time_without_statistics", bench_stats.TARGET),
)

FORMULA_TARGET = 0.8
"""A formula game's engine throughput, at least this fraction of the hand-written game's."""


def targets(report: dict) -> list[dict]:
    """Whether the report meets each of :data:`TARGETS` (the worst case decides)."""
    out = []
    for what, where, dim, chains, key, low in TARGETS:
        rows = [c for c in report.get(where, [])
                if (dim is None or c["dim"] == dim) and (chains is None or c["chains"] == chains) and key in c]
        if not rows:
            continue
        worst = min(c[key] for c in rows)
        out.append({"target": what, "value": worst, "at_least": low, "met": worst >= low})
    if report.get("formula"):
        worst = min(r["ratio"] for r in report["formula"])
        out.append({"target": f"formula game >= {FORMULA_TARGET}x hand-written, 2-D", "value": worst,
                    "at_least": FORMULA_TARGET, "met": worst >= FORMULA_TARGET})
    return out


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict:
    """Cores, Numba threads, versions and CPU model of this machine."""
    return {
        "cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "numba": numba.__version__},
        "cpu": _cpu_model(),
        "platform": sys.platform,
    }


def print_table(report: dict, file=None) -> None:
    """Print the report as a table of chain-steps per second and ratios."""
    file = file or sys.stdout
    m = report["machine"]
    v = m["versions"]
    print(f"invariant bench: {m.get('cpu') or 'unknown CPU'}, {m['cores']} cores, "
          f"{m['numba_threads']} numba threads; python {v['python']}, numpy {v['numpy']}, "
          f"numba {v['numba']}", file=file)
    print(f"chain-steps per second (best of {report['settings']['repeats']})", file=file)
    head = f"{'case':<16}{'dim':>4}{'chains':>8}{'steps':>10}{'engine':>11}{'numpy':>11}" \
           f"{'bare numba':>12}{'bare (Gen.)':>12}{'vs numpy':>10}{'vs bare':>9}{'vs Gen.':>9}"
    print(head, file=file)
    print("-" * len(head), file=file)
    for c in report["cases"]:
        print(f"{c['name']:<16}{c['dim']:>4}{c['chains']:>8}{c['steps']:>10}"
              f"{c['engine']:>11.3g}{c['numpy_baseline']:>11.3g}{c['bare_numba']:>12.3g}"
              f"{c['bare_numba_generator']:>12.3g}{c['ratio_vs_numpy']:>9.2f}x{c['ratio_vs_bare']:>8.2f}x"
              f"{c['ratio_vs_bare_generator']:>8.2f}x", file=file)
    print("bare numba: PCG64 streams drawn inline, as the engine draws; bare (Gen.): the same loop "
          "through numba's numpy.random.Generator", file=file)
    for r in report.get("formula", []):
        print(f"formula game ({r['name']}, {r['chains']} chains): {r['formula']:.3g} vs hand-written "
              f"{r['hand']:.3g} chain-steps/s, {r['ratio']:.2f}x", file=file)
    if report.get("optimizer_cases"):
        sg = report["settings"]["sga"]
        print(f"SGA chains with an optimiser (sml, lr {sg['lr']}, N {sg['batch_size']}, statistics every "
              f"{sg['stat_every']} steps), chain-steps per second", file=file)
        head = f"{'case':<30}{'dim':>4}{'chains':>8}{'steps':>10}{'engine':>11}{'bare numba':>12}{'vs bare':>9}"
        print(head, file=file)
        print("-" * len(head), file=file)
        for c in report["optimizer_cases"]:
            print(f"{c['name']:<30}{c['dim']:>4}{c['chains']:>8}{c['steps']:>10}{c['engine']:>11.3g}"
                  f"{c['bare_numba']:>12.3g}{c['ratio_vs_bare']:>8.2f}x", file=file)
    for c in report.get("mlp_cases", []):
        line = (f"MLP GAN SGA ({c['name']}, d = {c['dim']}, batch {c['batch_size']}, {c['chains']} chains): engine "
                f"{c['engine']:.3g} chain-steps/s")
        if "ratio_vs_torch" in c:
            line += (f", torch loop {c['torch_loop']:.3g}, torch batched {c['torch_batched']:.3g} "
                     f"(torch {c['torch']}): {c['ratio_vs_torch']:.2f}x the faster")
        print(line + (f"; {c['note']}" if c.get("note") else ""), file=file)
    if report.get("statistics_cases"):
        bench_stats.print_rows(report["statistics_cases"], file)
    for tg in targets(report):
        print(f"{'met    ' if tg['met'] else 'NOT met'}  {tg['target']}: worst {tg['value']:.2f}x",
              file=file)
