"""Learning-rate schedules for SGA training, the FDR scheduler among them (docs/theory.md §6).

The FDR scheduler reads the exact discrete FDR2 of docs/theory.md §5 from the training itself.
With ∇̂ the minibatch gradient actually applied in each update (for the player that moves
second, at the other player's updated value) and a centre ``c`` fixed during the window
(``E|θ⁺ − c|² = E|θ − c|²`` at stationarity gives the same identity for any fixed c),

    R_θ = ⟨(θ − c_θ)·∇̂_θ⟩ / ((η/2)⟨|∇̂_θ|²⟩),   R_ω = −⟨(ω − c_ω)·∇̂_ω⟩ / ((η/2)⟨|∇̂_ω|²⟩),
    R = ⟨(θ − c_θ)·∇̂_θ − (ω − c_ω)·∇̂_ω⟩ / ((η/2)⟨|∇̂_θ|² + |∇̂_ω|²⟩)   (from |x⁺ − c|² = |x − c|²)

all tend to 1 at stationarity at the current η, with no O(η) bias (the SDE-form denominator
``(η/2N) Tr Σ̂`` is biased, docs/theory.md §6).  By default (``ratio = "sum"``) the rule reads the
summed ratio R: in a game the per-player numerators carry the rotation (``θᵀCω`` in
``θ·∇_θ g`` and ``−ωᵀCᵀθ`` in ``ω·∇_ω g`` for a bilinear coupling), a zero-mean term that
cancels in the sum but makes each player's ratio far noisier (on the Dirac-GAN with R1 the
generator's ratio keeps a standard error above 0.03 after 10⁵ iterations, where the summed
one is at 0.01).  ``ratio = "players"`` asks both player ratios to pass, as docs/theory.md §6 words it.

Averages ⟨·⟩ run over a *half-running window*: the second half of the iterations since the
last change of η (the first half, the transient after the change, is dropped — Yaida's
device), kept as sums over batches of ``batch`` iterations (merged pairwise beyond 256
batches, so memory is fixed).  The centre (``center = "window"``) is the mean state over the
dropped first half: it is fixed for the window, and it removes the large zero-mean term
``c·∇̂`` that a centre far from the stationary mean (the origin, or the initial point) adds.

The ratio's standard error.  Summed over consecutive updates the relation telescopes:
``Σ_k (a_k − q_k) = (|x_start − c|² − |x_end − c|²)/(2η)`` with ``a_k = (x_k − c)·S∇̂_k`` and
``q_k = (η/2)|∇̂_k|²``, so ``R − 1 = (|x_start − c|² − |x_end − c|²)/(2η Σq)`` exactly: a
boundary term, whose standard deviation at stationarity is ``sqrt(2 Var|x − c|²)/(2η Σq)``,
estimated from the window's snapshots of the state (one per batch).  It shrinks like 1/n,
not 1/√n: batch means, which treat the batch sums as independent, overstate it by about the
square root of the number of batches (tests/test_schedule.py checks the calibration against
the spread across independent runs).  Rule
(``kind = "fdr"``): once the window holds at least ``min_window`` iterations and 8 batches
(checked at every batch), if

    |R − 1| + z·SE(R) < ε

stationarity at η is reached: ``η ← max((1 − δ)η, lr_min)`` and the window restarts.
``kind = "yaida"`` is the published FDR scheduler for SGD (Yaida, ICLR 2019: the ratio of
``⟨θ·∇f⟩`` to ``(η/2)⟨|∇f|²⟩`` over half-running averages, learning rate ×0.1 once within 1 %
of 1) transcribed to games: the summed ratio, centre 0, ``|R − 1| < ε`` with ε = 0.01 and
δ = 0.9, no standard error.  Baselines: ``"fixed"``, ``"step"`` (η × ``step_factor`` every
``step_every`` iterations) and ``"inverse-time"`` (``η_k = η₀ / (1 + k/t0)``).  For every
kind the three ratios are computed and logged.

Configure it in ``[training.schedule]`` (keys :data:`SCHEDULE_KEYS`, validated with
``ConfigError("training.schedule.<key>", …)``); :func:`train` runs independent training
runs (one per chain, seeds as the engine's chains) in a Numba kernel generated per game
(the engine's SGA step with the game's ``batch_grad`` inlined; templates
``schedule_train.py``) and logs the learning-rate history.  ``invariant run`` itself
always simulates at the fixed ``training.lr`` (it studies the invariant law there).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .engine import pcg64, render
from .engine.build import load_generated, step_constants
from .engine.run import _generators
from .options.schedule import KINDS, SCHEDULE_KEYS, ScheduleOptions, validate_options
from .schemes import SCHEME_ID

__all__ = ["KINDS", "SCHEDULE_KEYS", "ScheduleOptions", "ScheduleResult", "train", "validate_options"]

_KIND_ID = {k: i for i, k in enumerate(KINDS)}
MAX_BATCHES = 256  # batch sums kept per window (pairs merge beyond)
MAX_CHECKS = 4096  # ratio checks logged per run


def _kernels(game_module: str):
    return load_generated("invariant_schedule", kernels_text(game_module), game_module)


def kernels_text(game_module: str) -> str:
    """The scheduler's kernel module: the engine's SGA step (templates ``step.py``) and the
    scheduled training loop (``schedule_train.py``)."""
    constants = {"MAX_BATCHES": (MAX_BATCHES, "batch sums kept per window (pairs merge beyond)"), **step_constants()}
    return render.cpu_module(f"Scheduled SGA training for the game {game_module}.", game_module,
                             ["step.py", "schedule_train.py"], constants)


@dataclass
class ScheduleResult:
    """Scheduled training runs (one per chain).

    Attributes
    ----------
    options : ScheduleOptions
        Resolved options.
    lr0 : float
    iterations : ndarray (n_rec,)
        Iteration of each record (states before that iteration's update).
    X : ndarray (chains, n_rec, d)
        Recorded states.
    lr : ndarray (chains, n_rec)
        Learning rate in force at each record.
    t : ndarray (chains, n_rec)
        Cumulative learning rate (SDE time) at each record.
    final_X : ndarray (chains, d)
    final_lr : ndarray (chains,)
    decays : ndarray (chains,)
        Number of decays (fdr, yaida).
    checks : list of ndarray
        Per chain, one row per ratio check (each closed batch): iteration, lr, R_θ, SE(R_θ),
        R_ω, SE(R_ω), R_sum, SE(R_sum), decayed.
    wall_seconds : float
    """

    options: ScheduleOptions
    lr0: float
    iterations: np.ndarray
    X: np.ndarray
    lr: np.ndarray
    t: np.ndarray
    final_X: np.ndarray
    final_lr: np.ndarray
    decays: np.ndarray
    checks: list
    wall_seconds: float

    def lr_history(self, chain: int = 0) -> list[tuple[int, float]]:
        """``(iteration, new lr)`` at each decay of ``chain`` (fdr, yaida), from the check log."""
        ch = self.checks[chain]
        out = [(0, self.lr0)]
        for row in ch[ch[:, 8] > 0]:
            out.append((int(row[0]), max(float(row[1]) * (1.0 - self.options.decay), self.options.lr_min)))
        return out


def train(cfg, options: ScheduleOptions | None = None, chains: int | None = None, seed: int | None = None,
          iterations: int | None = None, x0=None) -> ScheduleResult:
    """Run scheduled SGA training (``cfg``'s game, scheme, batch size and initial ``lr``).

    Parameters
    ----------
    cfg : invariant.config.Config
    options : ScheduleOptions, optional
        Defaults to the config's ``[training.schedule]`` (``cfg.schedule``), else ``"fdr"``.
    chains : int, optional
        Independent runs (default ``cfg.chains``); run ``c`` starts where the engine's chain
        ``c`` starts (``x0 + init_scale·N(0, I)`` from the same seed) and draws from the same
        generator, so schedules compared with one seed share their randomness.
    seed : int, optional
        Default ``cfg.seed``.
    iterations : int, optional
        Budget; default ``options.iterations``, else ``round(t_end / lr)``.
    x0 : array_like, optional
        Common initial centre instead of ``cfg.x0``.
    """
    opts = options or getattr(cfg, "schedule", None) or ScheduleOptions()
    sch = cfg.scheme
    lr0 = sch.lr
    budget = iterations or opts.iterations or int(round(cfg.t_end / lr0))
    o = opts.resolve(lr0, budget)
    C = int(chains or cfg.chains)
    sd = cfg.seed if seed is None else int(seed)
    game = cfg.game
    d = game.d
    gens = _generators(sd, C)
    centre = np.asarray(cfg.x0 if x0 is None else x0, dtype=float)
    X = np.empty((C, d))
    for c in range(C):
        X[c] = centre + cfg.init_scale * gens[c].standard_normal(d)
    streams = pcg64.streams(gens)  # the generators' words after those draws, drawn inline by the kernel
    n_rec = (o.iterations - 1) // o.record_every + 2
    rec_x = np.full((C, n_rec, d), np.nan)
    rec_lr = np.full((C, n_rec), np.nan)
    checks = np.full((C, MAX_CHECKS, 9), np.nan)
    n_checks = np.zeros(C, np.int64)
    final_lr = np.zeros(C)
    final_t = np.zeros(C)
    rec_t = np.full((C, n_rec), np.nan)
    n_decays = np.zeros(C, np.int64)
    k = _kernels(game.kernels)
    t0 = time.perf_counter()
    k.train(X, game.params, game.data, streams, game.d_theta, SCHEME_ID[sch.name], sch.batch_size, lr0,
            _KIND_ID[o.kind], o.ratio == "sum", o.iterations, o.tolerance, o.decay, o.z, o.min_window, o.batch, o.center == "window",
            o.lr_min, o.step_every, o.step_factor, float(o.t0), o.record_every, rec_x, rec_lr, rec_t, checks,
            n_checks, final_lr, n_decays, final_t)
    wall = time.perf_counter() - t0
    # the final state as the last record
    its = np.arange(n_rec) * o.record_every
    its[-1] = o.iterations
    rec_x[:, -1] = X
    rec_lr[:, -1] = final_lr
    rec_t[:, -1] = final_t
    return ScheduleResult(o, lr0, its, rec_x, rec_lr, rec_t, X, final_lr, n_decays,
                          [checks[c, : n_checks[c]] for c in range(C)], wall)
