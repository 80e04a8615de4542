"""Throughput of the SGA chains with an optimiser against a bare Numba loop (docs/design.md ◆ bench JSON).

Two optimisers of docs/theory.md §4b train the 2-D Dirac-GAN of ``invariant bench``'s SDE
case (WGAN loss, R1 ``gamma = 0.5``, ``mu = 0``, ``s = s_z = 1``; its minibatch gradient of
ψ draws one normal) with simultaneous moves, ``lr = 0.01``, ``N = 4`` (statistics every
``stat_every`` = 5 steps, as in the SDE cases), each at 16 and 4096 chains:

``adam``
    Adam, ``beta1 = 0.9``, ``beta2 = 0.999``, ``eps = 1e-8``, each player its own moments.
``extragradient``
    the extrapolated step, two minibatch fields per iteration.

Each is advanced two ways, from the same states and optimiser states:

``engine``
    the generated kernel ``sga_chunk``, called as :func:`invariant.engine.run._cpu_advance`
    calls it, on state and streams prepared as a real run prepares them, with the standard
    accumulators on (burn-in 0, thinning so large that no draw is kept): the work a run
    does per step, the FDR terms of its statistics steps included.
``bare_numba``
    a hand-written Numba loop of the same update: ``prange`` over the chains, each chain's
    own PCG64 stream drawn inline (the engine's streams: both draw the same numbers), the
    game's own ``batch_grad`` inlined, state and moments on the stack, Adam's bias
    corrections ``1 − βⁿ`` kept as running products; no statistics, no escape test.

Timing as in :mod:`invariant.bench_timing`; ``ratio_vs_bare`` is engine ÷ bare.
"""
from __future__ import annotations

import numpy as np
from numba import carray, njit, prange

from . import config as config_mod
from .bench_timing import STAT_EVERY, measure
from .engine import pcg64
from .engine import run as run_mod
from .engine.build import Hook, kernels, observable_names
from .engine.scratch import stack_ptr
from .games import dirac_wgan
from .schemes import SCHEME_ID

LR = 0.01
BATCH_SIZE = 4
CHAINS = (16, 4096)
OPTIMIZERS = {"adam": {"optimizer": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
              "extragradient": {"optimizer": "extragradient"}}
METHODS = ("engine", "bare_numba")
SEED = 20240601
_THIN = 1 << 40  # "thin large": the engine keeps no draw during a timing


class SgaCase:
    """One optimiser training the game of ``table`` (a ``[game]`` table of a 2-D game)."""

    def __init__(self, name: str, table: dict):
        self.name = name
        self.table = table
        self.cfg = self.config(2)
        if self.cfg.game.kernels != "invariant.games.dirac_wgan":
            raise ValueError("the bare SGA loops are written for the WGAN Dirac-GAN")

    @property
    def d(self) -> int:
        return self.cfg.game.d

    def config(self, chains: int, seed: int = SEED) -> config_mod.Config:
        """The run configuration whose steps the engine timing reproduces."""
        return config_mod.from_dict({
            "game": self.table,
            "training": {"scheme": "sml", "lr": LR, "batch_size": BATCH_SIZE, **OPTIMIZERS[self.name]},
            "simulation": {"dynamics": "sga", "chains": chains, "t_end": 10.0, "t_burn": 0.0,
                           "seed": seed, "keep_draws": 2, "keep_chains": 1,
                           "stat_every": STAT_EVERY},
        })

    def initial_state(self, chains: int, seed: int = SEED) -> np.ndarray:
        """Initial chain states ``x0 + init_scale·N(0, I)``, the run's default spread."""
        rng = np.random.default_rng(seed)
        return self.cfg.x0 + self.cfg.init_scale * rng.standard_normal((chains, self.d))

    def stepper(self, method: str, X0: np.ndarray, seed: int = SEED):
        """A callable ``s(n_steps)`` advancing its own copy ``s.X`` (and optimiser state ``s.S``)."""
        return {"engine": EngineSga, "bare_numba": BareSga}[method](self, X0, seed)


class EngineSga:
    """The engine's ``sga_chunk``, called as ``run._cpu_advance`` calls it."""

    def __init__(self, case: SgaCase, X0, seed):
        chains = X0.shape[0]
        self.cfg = cfg = case.config(chains, seed)
        game = cfg.game
        # the module of the run's moments: its D_TRI sums must be those of the state's acc_s2
        self.kernels = kernels(game.kernels, game.d, game.d_theta, optimizer=cfg.scheme.optimizer.name,
                               moments=cfg.moments)
        self.state = run_mod._fresh_state(cfg, len(observable_names(cfg.dynamics, Hook())))
        self.state["X"][:] = X0
        self.streams = pcg64.streams(pcg64.generators(np.random.SeedSequence(seed), chains))
        self.op = cfg.scheme.optimizer.params()
        self.step0 = 0

    @property
    def X(self) -> np.ndarray:
        return self.state["X"]

    @property
    def S(self) -> np.ndarray:
        return self.state["opt_state"]

    def __call__(self, n_steps: int) -> None:
        cfg, s, game, sch = self.cfg, self.state, self.cfg.game, self.cfg.scheme
        self.kernels.sga_chunk(
            s["X"], s["status"], s["div_step"], s["div_x"], game.params, game.data, self.streams, game.d_theta,
            sch.lr, sch.batch_size, SCHEME_ID[sch.name], s["opt_state"], self.op,
            self.step0, int(n_steps), 0, cfg.stat_every, cfg.obs_every, _THIN, cfg.escape_radius ** 2,
            s["draws"], s["shift"], s["acc_n"], s["acc_s1"], s["acc_s2"], s["acc_obs"], s["proj"],
        )
        self.step0 += int(n_steps)
        if np.any(s["status"] != 0):
            raise RuntimeError(f"bench: {int(np.sum(s['status'] != 0))} engine chains diverged")


class BareSga:
    """The hand-written loop (:func:`_bare_adam` or :func:`_bare_extragradient`)."""

    def __init__(self, case: SgaCase, X0, seed):
        cfg = case.config(2, seed)
        self.name, self.game, self.opt = case.name, cfg.game, cfg.scheme.optimizer
        self.X = np.array(X0, dtype=np.float64, order="C")
        self.S = np.zeros((self.X.shape[0], self.opt.state_size(case.d)))
        self.streams = pcg64.streams(pcg64.generators(np.random.SeedSequence(seed), self.X.shape[0]))
        self.step0 = 0

    def __call__(self, n_steps: int) -> None:
        g, o, lr_om = self.game, self.opt, self.opt.lr_ratio * LR
        if self.name == "adam":
            _bare_adam(self.X, self.S, g.params, g.data, LR, lr_om, BATCH_SIZE, o.beta1, o.beta2, o.eps,
                       self.step0, int(n_steps), self.streams)
        else:
            _bare_extragradient(self.X, g.params, g.data, LR, lr_om, BATCH_SIZE, int(n_steps), self.streams)
        self.step0 += int(n_steps)


# the game's own minibatch gradient, inlined as the engine's modules inline it
_batch_grad = njit(inline="always")(dirac_wgan.batch_grad.py_func)


# the bare loops are compiled afresh in each process (no cache), as invariant.bench's
@njit(parallel=True, fastmath=False)
def _bare_adam(X, S, p, data, lr, lr_om, batch_size, b1, b2, eps, k0, n_steps, streams):
    # x = (θ, ψ); F̂ = (ĝθ, −ĝψ); m ← β₁m + (1 − β₁)F̂, v ← β₂v + (1 − β₂)F̂²,
    # x ← x − η (m / (1 − β₁ⁿ)) / (√(v / (1 − β₂ⁿ)) + eps), S = (m, v)
    for c in prange(X.shape[0]):
        rng = pcg64.slot()
        pcg64.load(rng, streams, c)
        x = carray(stack_ptr(2), 2)
        g = carray(stack_ptr(2), 2)
        x[0] = X[c, 0]
        x[1] = X[c, 1]
        m0, m1, v0, v1 = S[c, 0], S[c, 1], S[c, 2], S[c, 3]
        q1 = b1 ** k0
        q2 = b2 ** k0
        for _ in range(n_steps):
            _batch_grad(x, p, data, rng, batch_size, 0, g)
            _batch_grad(x, p, data, rng, batch_size, 1, g)
            q1 *= b1
            q2 *= b2
            c1 = 1.0 - q1
            c2 = 1.0 - q2
            f0 = g[0]
            f1 = -g[1]
            m0 = b1 * m0 + (1.0 - b1) * f0
            m1 = b1 * m1 + (1.0 - b1) * f1
            v0 = b2 * v0 + (1.0 - b2) * f0 * f0
            v1 = b2 * v1 + (1.0 - b2) * f1 * f1
            x[0] -= lr * (m0 / c1) / (np.sqrt(v0 / c2) + eps)
            x[1] -= lr_om * (m1 / c1) / (np.sqrt(v1 / c2) + eps)
        X[c, 0] = x[0]
        X[c, 1] = x[1]
        S[c, 0], S[c, 1], S[c, 2], S[c, 3] = m0, m1, v0, v1
        pcg64.store(rng, streams, c)


@njit(parallel=True, fastmath=False)
def _bare_extragradient(X, p, data, lr, lr_om, batch_size, n_steps, streams):
    # x½ = x − η̃ F̂(x), x ← x − η̃ F̂(x½), each field from fresh minibatches
    for c in prange(X.shape[0]):
        rng = pcg64.slot()
        pcg64.load(rng, streams, c)
        x = carray(stack_ptr(2), 2)
        h = carray(stack_ptr(2), 2)
        g = carray(stack_ptr(2), 2)
        x[0] = X[c, 0]
        x[1] = X[c, 1]
        for _ in range(n_steps):
            _batch_grad(x, p, data, rng, batch_size, 0, g)
            _batch_grad(x, p, data, rng, batch_size, 1, g)
            h[0] = x[0] - lr * g[0]
            h[1] = x[1] + lr_om * g[1]
            _batch_grad(h, p, data, rng, batch_size, 0, g)
            _batch_grad(h, p, data, rng, batch_size, 1, g)
            x[0] -= lr * g[0]
            x[1] += lr_om * g[1]
        X[c, 0] = x[0]
        X[c, 1] = x[1]
        pcg64.store(rng, streams, c)


def run_cases(label: str, table: dict, target: float) -> list[dict]:
    """Measure engine and bare loop for every optimiser and chain count on the game ``table``
    (named ``label`` in the cases' names)."""
    out = []
    for name in OPTIMIZERS:
        case = SgaCase(name, table)
        for chains in CHAINS:
            X0 = case.initial_state(chains)
            rates, steps = measure({m: case.stepper(m, X0) for m in METHODS}, chains, target)
            out.append({"name": f"{name}, {label}", "optimizer": name, "dim": case.d,
                        "chains": chains, "steps": steps["engine"], "engine": rates["engine"],
                        "bare_numba": rates["bare_numba"], "ratio_vs_bare": rates["engine"] / rates["bare_numba"],
                        "steps_by_method": steps})
    return out
