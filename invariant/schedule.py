"""Learning-rate schedules for SGA training, the FDR scheduler among them (MATH.md §6).

The FDR scheduler reads the exact discrete FDR2 of MATH.md §5 from the training itself.
With ∇̂ the minibatch gradient actually applied in each update (for the player that moves
second, at the other player's updated value) and a centre ``c`` fixed during the window
(``E|θ⁺ − c|² = E|θ − c|²`` at stationarity gives the same identity for any fixed c),

    R_θ = ⟨(θ − c_θ)·∇̂_θ⟩ / ((η/2)⟨|∇̂_θ|²⟩),   R_ω = −⟨(ω − c_ω)·∇̂_ω⟩ / ((η/2)⟨|∇̂_ω|²⟩),
    R = ⟨(θ − c_θ)·∇̂_θ − (ω − c_ω)·∇̂_ω⟩ / ((η/2)⟨|∇̂_θ|² + |∇̂_ω|²⟩)   (from |x⁺ − c|² = |x − c|²)

all tend to 1 at stationarity at the current η, with no O(η) bias (the SDE-form denominator
``(η/2N) Tr Σ̂`` is biased, MATH.md §6).  By default (``ratio = "sum"``) the rule reads the
summed ratio R: in a game the per-player numerators carry the rotation (``θᵀCω`` in
``θ·∇_θ g`` and ``−ωᵀCᵀθ`` in ``ω·∇_ω g`` for a bilinear coupling), a zero-mean term that
cancels in the sum but makes each player's ratio far noisier (on the Dirac-GAN with R1 the
generator's ratio keeps a standard error above 0.03 after 10⁵ iterations, where the summed
one is at 0.01).  ``ratio = "players"`` asks both player ratios to pass, as MATH.md §6 words it.

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
(the game's ``batch_grad`` inlined) and logs the learning-rate history.  ``invariant run``
itself always simulates at the fixed ``training.lr`` (it studies the invariant law there).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError
from .games.validate import choice, integer, number

__all__ = ["KINDS", "SCHEDULE_KEYS", "ScheduleOptions", "validate_options", "train", "ScheduleResult"]

KINDS = ("fixed", "fdr", "yaida", "step", "inverse-time")
SCHEDULE_KEYS = ("kind", "ratio", "tolerance", "decay", "z", "min_window", "batch", "center", "lr_min",
                 "iterations", "step_every", "step_factor", "t0", "record_every")
_KIND_ID = {k: i for i, k in enumerate(KINDS)}
MAX_BATCHES = 256  # batch sums kept per window (pairs merge beyond)
MAX_CHECKS = 4096  # ratio checks logged per run


@dataclass
class ScheduleOptions:
    """A validated ``[training.schedule]`` table (see the module docstring).

    ``iterations``, ``step_every``, ``t0`` and ``record_every`` may be None: they then
    follow from the run's budget (:meth:`resolve`).
    """

    kind: str = "fdr"
    ratio: str = "sum"
    tolerance: float = 0.1
    decay: float = 0.5
    z: float = 2.0
    min_window: int = 200
    batch: int = 20
    center: str = "window"
    lr_min: float | None = None
    iterations: int | None = None
    step_every: int | None = None
    step_factor: float = 0.5
    t0: float | None = None
    record_every: int | None = None
    explicit: tuple = field(default=(), repr=False)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in SCHEDULE_KEYS}

    def resolve(self, lr: float, iterations: int) -> "ScheduleOptions":
        """Fill the budget-dependent defaults for ``iterations`` at initial rate ``lr``."""
        it = int(self.iterations or iterations)
        return ScheduleOptions(
            self.kind, self.ratio, self.tolerance, self.decay, self.z, self.min_window, self.batch, self.center,
            self.lr_min if self.lr_min is not None else lr * 1e-3, it,
            self.step_every or max(1, it // 4), self.step_factor,
            self.t0 if self.t0 is not None else max(1.0, it / 20), self.record_every or max(1, it // 200),
            self.explicit,
        )


def validate_options(table, lr: float | None = None) -> ScheduleOptions:
    """Validate ``[training.schedule]``; errors are ``ConfigError("training.schedule.<key>", …)``.

    Defaults depend on ``kind``: ``"yaida"`` takes ε = 0.01, δ = 0.9, z = 0 and centre
    ``"origin"``; the others ε = 0.1, δ = 0.5, z = 2 and centre ``"window"``.
    """
    f = "training.schedule"
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(f, "must be a table, e.g. [training.schedule] with kind = 'fdr'")
    for key in table:
        if key not in SCHEDULE_KEYS:
            raise ConfigError(f"{f}.{key}", f"unknown key; allowed: {', '.join(SCHEDULE_KEYS)}")
    kind = choice(table.get("kind", "fdr"), f"{f}.kind", KINDS)
    ratio = choice(table.get("ratio", "sum"), f"{f}.ratio", ("sum", "players"))
    yaida = kind == "yaida"
    tol = number(table.get("tolerance", 0.01 if yaida else 0.1), f"{f}.tolerance", low=0.0, strict=True)
    decay = number(table.get("decay", 0.9 if yaida else 0.5), f"{f}.decay", low=0.0, strict=True)
    if not decay < 1.0:
        raise ConfigError(f"{f}.decay", f"must be in (0, 1): the rate becomes (1 − decay)·lr; got {decay:g}")
    z = number(table.get("z", 0.0 if yaida else 2.0), f"{f}.z", low=0.0)
    min_window = integer(table.get("min_window", 200), f"{f}.min_window", low=1)
    batch = integer(table.get("batch", 20), f"{f}.batch", low=1)
    center = choice(table.get("center", "origin" if yaida else "window"), f"{f}.center", ("window", "origin"))
    lr_min = table.get("lr_min")
    if lr_min is not None:
        lr_min = number(lr_min, f"{f}.lr_min", low=0.0, strict=True)
        if lr is not None and lr_min > lr:
            raise ConfigError(f"{f}.lr_min", f"must not exceed training.lr = {lr:g}; got {lr_min:g}")
    iterations = table.get("iterations")
    if iterations is not None:
        iterations = integer(iterations, f"{f}.iterations", low=1)
    step_every = table.get("step_every")
    if step_every is not None:
        step_every = integer(step_every, f"{f}.step_every", low=1)
    step_factor = number(table.get("step_factor", 0.5), f"{f}.step_factor", low=0.0, strict=True)
    if not step_factor < 1.0:
        raise ConfigError(f"{f}.step_factor", f"must be in (0, 1), got {step_factor:g}")
    t0 = table.get("t0")
    if t0 is not None:
        t0 = number(t0, f"{f}.t0", low=0.0, strict=True)
    record_every = table.get("record_every")
    if record_every is not None:
        record_every = integer(record_every, f"{f}.record_every", low=1)
    return ScheduleOptions(kind, ratio, tol, decay, z, min_window, batch, center, lr_min, iterations, step_every,
                           step_factor, t0, record_every, tuple(sorted(table)))


# --------------------------------------------------------------------------- the kernel
_TEMPLATE = '''\
# Generated by invariant.schedule -- do not edit.  Scheduled SGA training for the game {game}.
{preamble}

N_CHECK = 9  # iteration, lr, R_theta, SE_theta, R_omega, SE_omega, R_sum, SE_sum, decayed


@njit(cache=True, inline="always")
def _ratio(vals, a, q, a2, q2, lo, hi, lr, spread):
    # R = Σa/Σq over batches [lo, hi) (columns a (+ a2), q (+ q2); a2 < 0: none).  Its error:
    # the applied-gradient FDR telescopes, Σ(a − q) = (|x_lo − c|² − |x_end − c|²)/(2 lr), so
    # R − 1 is a boundary term whose standard deviation at stationarity is
    # sqrt(2 Var|x − c|²)/(2 lr Σq) (``spread`` = Var|x − c|² over the window's snapshots)
    sa = 0.0
    sq = 0.0
    for i in range(lo, hi):
        sa += vals[i, a] + (vals[i, a2] if a2 >= 0 else 0.0)
        sq += vals[i, q] + (vals[i, q2] if q2 >= 0 else 0.0)
    if sq <= 0.0 or hi - lo < 2:
        return np.nan, np.inf
    return sa / sq, np.sqrt(2.0 * spread) / (2.0 * lr * sq)


@njit(cache=True, inline="always")
def _spread(bats, cen, lo, hi, i0, i1):
    # sample variance of |x − c|² over the snapshots [lo, hi), coordinates [i0, i1)
    m1 = 0.0
    m2 = 0.0
    for b in range(lo, hi):
        r = 0.0
        for i in range(i0, i1):
            e = bats[b, i] - cen[i]
            r += e * e
        m1 += r
        m2 += r * r
    n = hi - lo
    m1 /= n
    return max(m2 / n - m1 * m1, 0.0) * n / (n - 1.0)


@njit(cache=True, inline="always")
def _centred(bat, batg, batx, dth, lo, hi, blen, center_window, cen, vals):
    # per-batch terms about the centre c: (θ − c)·∇̂θ = θ·∇̂θ − c·Σ∇̂θ (likewise ω, with the
    # minus sign of ascent); c = mean state over the batches before the window, [0, lo)
    d = batx.shape[1]
    for i in range(d):
        cen[i] = 0.0
    if center_window and lo > 0:
        for b in range(lo):
            for i in range(d):
                cen[i] += batx[b, i]
        for i in range(d):
            cen[i] /= lo * blen
    for b in range(lo, hi):
        ct = 0.0
        co = 0.0
        for i in range(dth):
            ct += cen[i] * batg[b, i]
        for i in range(dth, d):
            co += cen[i] * batg[b, i]
        vals[b, 0] = bat[b, 0] - ct
        vals[b, 1] = bat[b, 1]
        vals[b, 2] = -(bat[b, 2] - co)
        vals[b, 3] = bat[b, 3]


@njit(cache=True, parallel=True)
def train(X, p, data, gens, dth, scheme, batch_size, lr0, kind, use_sum, n_iter, eps, delta, zq, min_window,
          batch, center_window, lr_min, step_every, step_factor, t0, record_every, rec_x, rec_lr,
          rec_t, checks, n_checks, final_lr, n_decays, final_t):
    \"\"\"One independent scheduled training run per chain (gens[c] its generator).\"\"\"
    n_chains, d = X.shape
    max_b = {max_batches}
    for c in prange(n_chains):
        rng = gens[np.int64(c)]
        x = X[c].copy()
        gb = np.empty(d)
        cen = np.zeros(d)
        bat = np.zeros((max_b, 4))  # Σθ·∇̂θ, (lr/2)Σ|∇̂θ|², Σω·∇̂ω, (lr/2)Σ|∇̂ω|² per batch
        batg = np.zeros((max_b, d))  # Σ∇̂ per batch
        batx = np.zeros((max_b, d))  # Σx per batch
        bats = np.zeros((max_b, d))  # x at the end of each batch
        vals = np.zeros((max_b, 4))
        cur = np.zeros(4)
        curg = np.zeros(d)
        curx = np.zeros(d)
        nb = 0
        blen = batch
        cn = 0
        tcum = 0.0  # cumulative learning rate
        lr = lr0
        nc = 0
        nd = 0
        for k in range(n_iter):
            if kind == 3:
                lr = lr0 * step_factor ** (k // step_every)
            elif kind == 4:
                lr = lr0 / (1.0 + k / t0)
            if k % record_every == 0:
                j = k // record_every
                if j < rec_x.shape[1]:
                    for i in range(d):
                        rec_x[c, j, i] = x[i]
                    rec_lr[c, j] = lr
                    rec_t[c, j] = tcum
            for i in range(d):
                curx[i] += x[i]
            # one SGA step, booking the applied gradients and the parameters they apply to
            if scheme == 0:
                _batch_grad(x, p, data, rng, batch_size, 0, gb)
                _batch_grad(x, p, data, rng, batch_size, 1, gb)
                for i in range(d):
                    curg[i] += gb[i]
                    if i < dth:
                        cur[0] += x[i] * gb[i]
                        cur[1] += 0.5 * lr * gb[i] * gb[i]
                        x[i] -= lr * gb[i]
                    else:
                        cur[2] += x[i] * gb[i]
                        cur[3] += 0.5 * lr * gb[i] * gb[i]
                        x[i] += lr * gb[i]
            elif scheme == 1:
                _batch_grad(x, p, data, rng, batch_size, 1, gb)
                for i in range(dth, d):
                    curg[i] += gb[i]
                    cur[2] += x[i] * gb[i]
                    cur[3] += 0.5 * lr * gb[i] * gb[i]
                    x[i] += lr * gb[i]
                _batch_grad(x, p, data, rng, batch_size, 0, gb)
                for i in range(dth):
                    curg[i] += gb[i]
                    cur[0] += x[i] * gb[i]
                    cur[1] += 0.5 * lr * gb[i] * gb[i]
                    x[i] -= lr * gb[i]
            else:
                _batch_grad(x, p, data, rng, batch_size, 0, gb)
                for i in range(dth):
                    curg[i] += gb[i]
                    cur[0] += x[i] * gb[i]
                    cur[1] += 0.5 * lr * gb[i] * gb[i]
                    x[i] -= lr * gb[i]
                _batch_grad(x, p, data, rng, batch_size, 1, gb)
                for i in range(dth, d):
                    curg[i] += gb[i]
                    cur[2] += x[i] * gb[i]
                    cur[3] += 0.5 * lr * gb[i] * gb[i]
                    x[i] += lr * gb[i]
            tcum += lr
            cn += 1
            if cn < blen:
                continue
            # close a batch
            for i in range(4):
                bat[nb, i] = cur[i]
                cur[i] = 0.0
            for i in range(d):
                batg[nb, i] = curg[i]
                batx[nb, i] = curx[i]
                bats[nb, i] = x[i]
                curg[i] = 0.0
                curx[i] = 0.0
            nb += 1
            cn = 0
            if nb == max_b:  # merge pairs: half as many batches, twice as long
                for i in range(max_b // 2):
                    for j in range(4):
                        bat[i, j] = bat[2 * i, j] + bat[2 * i + 1, j]
                    for j in range(d):
                        batg[i, j] = batg[2 * i, j] + batg[2 * i + 1, j]
                        batx[i, j] = batx[2 * i, j] + batx[2 * i + 1, j]
                        bats[i, j] = bats[2 * i + 1, j]
                nb = max_b // 2
                blen *= 2
            # the half-running window: the second half of the batches since the last change
            lo = nb // 2
            _centred(bat, batg, batx, dth, lo, nb, blen, center_window, cen, vals)
            rt, st = _ratio(vals, 0, 1, -1, -1, lo, nb, lr, _spread(bats, cen, lo, nb, 0, dth))
            ro, so = _ratio(vals, 2, 3, -1, -1, lo, nb, lr, _spread(bats, cen, lo, nb, dth, d))
            rs, ss = _ratio(vals, 0, 1, 2, 3, lo, nb, lr, _spread(bats, cen, lo, nb, 0, d))
            ok = (nb - lo) >= 8 and (nb - lo) * blen >= min_window
            decide = False
            if ok and (kind == 1 or kind == 2) and lr > lr_min:
                if use_sum:
                    decide = abs(rs - 1.0) + zq * ss < eps
                else:
                    decide = abs(rt - 1.0) + zq * st < eps and abs(ro - 1.0) + zq * so < eps
            if nc < checks.shape[1]:
                checks[c, nc, 0] = k + 1
                checks[c, nc, 1] = lr
                checks[c, nc, 2] = rt
                checks[c, nc, 3] = st
                checks[c, nc, 4] = ro
                checks[c, nc, 5] = so
                checks[c, nc, 6] = rs
                checks[c, nc, 7] = ss
                checks[c, nc, 8] = 1.0 if decide else 0.0
                nc += 1
            if decide:
                lr = max(lr * (1.0 - delta), lr_min)
                nd += 1
                nb = 0
                blen = batch
        for i in range(d):
            X[c, i] = x[i]
        n_checks[c] = nc
        final_lr[c] = lr
        n_decays[c] = nd
        final_t[c] = tcum
'''


def _kernels(game_module: str):
    from .engine.build import game_preamble, load_generated

    text = _TEMPLATE.format(game=game_module, preamble=game_preamble(game_module), max_batches=MAX_BATCHES)
    return load_generated("invariant_schedule", text, game_module)


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
    import time

    from .engine.run import _generators
    from .schemes import SCHEME_ID

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
    k.train(X, game.params, game.data, gens, game.d_theta, SCHEME_ID[sch.name], sch.batch_size, lr0,
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
