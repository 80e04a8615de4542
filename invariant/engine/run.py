"""Run chains of the SDE or of the discrete training, chunk by chunk, with checkpoints.

Memory is O(chains × d² + kept draws) whatever the horizon with ``simulation.moments =
"full"``, O(chains × (d + K²) + kept draws) with ``"diagonal"`` (K = 0) or ``"projections"``
(:mod:`invariant.options.moments`): draws are thinned when
written and capped (``keep_draws`` per chain for at most ``keep_chains`` chains), and
moments and observables accumulate in per-chain running sums.  After every chunk the
whole state (chain states, random streams, accumulators, kept draws) is written to
``DIR/checkpoint.npz``; :func:`resume` continues from it and ends bit-identical to an
uninterrupted run, because chain ``c`` draws only from its own stream.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import config as config_mod
from ..errors import ConfigError
from ..storage import atomic_write
from ..schemes import SCHEME_ID
from . import cuda_run, moment_sums, pcg64
from .build import WITH_MOMENTS, Hook, kernels, observable_names
from .cuda_device import require

_STATE_ARRAYS = ("X", "opt_state", "status", "div_step", "div_x", "shift", "acc_n", "acc_s1", "acc_s2",
                 "acc_obs", "draws", "hist_t", "hist_obs", "hist_n", "proj")


@dataclass
class RunResult:
    """What a run produced: kept draws, streaming accumulators and divergences.

    Attributes
    ----------
    config : invariant.config.Config
    obs_names : tuple of str
        Names of the per-step observables accumulated: the standard six, the hook's, then
        (SGA chains only) ``build.APPLIED_OBSERVABLES``, those of the update itself.
    X : ndarray (chains, d)
        Final chain states.
    opt_state : ndarray (chains, k·d)
        The optimiser's own state where each chain stopped (momentum's velocity, Adam's
        moments, …; docs/theory.md §4b); no columns for SGD and the SDEs.
    status : ndarray (chains,)
        0 for a live chain, 1 for one stopped by NaN/Inf or escape.
    div_step, div_x : ndarray
        Step at which a stopped chain was caught (−1 if live) and its state then.
    shift, acc_n, acc_s1, acc_s2, acc_obs : ndarray
        Per-chain shifted running sums of x, of the second moments ``config.moments`` tracks
        (:mod:`invariant.options.moments`: the packed upper triangle of x xᵀ; or the squares
        x_i², then for projections the packed triangle of z zᵀ, z = P x) and of observables;
        ``acc_n`` counts the moments' samples (every ``config.stat_every`` steps), the last
        column of ``acc_obs`` the observables' (every ``config.obs_every``; :attr:`obs_n`),
        but for the applied gradients of SGA chains, booked with the moments
        (:meth:`obs_counts`).
    draws : ndarray (keep_chains, n_draws, d)
        Thinned states after burn-in; NaN after a chain stopped.
    hist_t, hist_obs, hist_n : ndarray
        Per-chunk SDE time, mean observables over live chains, and their sample counts.
    steps_done : int
    wall_seconds : float
        Time spent in the chain kernels, over all sessions of a resumed run.
    compile_seconds : float
        Time this process took to compile (or load from the cache) the kernels, apart.
    streams : ndarray
        The random streams' states where the run stopped: PCG64 words (``pcg64.WORDS`` per
        row; numpy's ``Generator(PCG64)`` states, see :func:`pcg64.generator`) on the CPU,
        xoroshiro128+ states on the cuda backend; one row per chain, then (for a hook that
        draws) one per chain for the hook.
    proj : ndarray (K, d)
        The projections' rows ``P`` (``moments = "projections"``; no rows otherwise).
    """

    config: object
    obs_names: tuple
    X: np.ndarray
    opt_state: np.ndarray
    status: np.ndarray
    div_step: np.ndarray
    div_x: np.ndarray
    shift: np.ndarray
    acc_n: np.ndarray
    acc_s1: np.ndarray
    acc_s2: np.ndarray
    acc_obs: np.ndarray
    draws: np.ndarray
    hist_t: np.ndarray
    hist_obs: np.ndarray
    hist_n: np.ndarray
    steps_done: int = 0
    wall_seconds: float = 0.0
    compile_seconds: float = 0.0
    streams: np.ndarray = field(default=None, repr=False)
    proj: np.ndarray = field(default=None, repr=False)

    @property
    def game(self):
        return self.config.game

    @property
    def alive(self) -> np.ndarray:
        return self.status == 0

    @property
    def kept_alive(self) -> np.ndarray:
        """(keep_chains,) True for each chain whose draws were kept (the first ``keep_chains``
        chains, ``draws``' rows) and that is live: the rows of ``draws`` to analyse."""
        return self.alive[: self.draws.shape[0]]

    @property
    def n_diverged(self) -> int:
        return int(np.sum(~self.alive))

    @property
    def draw_t(self) -> np.ndarray:
        """SDE time of each kept draw."""
        c = self.config
        return (c.burn_steps + c.thin * (1 + np.arange(c.n_draws))) * c.step_time

    @property
    def diverging(self) -> np.ndarray:
        """(keep_chains, n_draws) True from the draw at which a chain was stopped on."""
        t_stop = np.where(self.div_step >= 0, self.div_step * self.config.step_time, np.inf)
        return self.draw_t[None, :] >= t_stop[: self.draws.shape[0], None]

    def chain_means(self) -> np.ndarray:
        """(chains, d) time average of each chain after burn-in."""
        n = np.maximum(self.acc_n, 1)[:, None]
        return self.shift + self.acc_s1 / n

    @property
    def moments(self) -> str:
        """The second moments tracked: ``"full"``, ``"diagonal"`` or ``"projections"``."""
        return self.config.moments.mode

    def _full(self, what: str) -> None:
        if self.moments != "full":
            raise ValueError(f"{what} needs the full covariance, but this run tracked moments = "
                             f"{self.moments!r} (simulation.moments): use chain_variances or the "
                             "projections' chain_projection_covs")

    def _pooled(self, means, covs, prod, shape) -> tuple:
        a = self.alive & (self.acc_n > 1)
        if not np.any(a):
            return np.full(means.shape[1], np.nan), np.full(shape, np.nan)
        return moment_sums.pooled(self.acc_n[a], means[a], covs[a], prod)

    def chain_covs(self) -> np.ndarray:
        """(chains, d, d) time covariance of each chain after burn-in (``moments = "full"`` only)."""
        self._full("chain_covs")
        d = self.X.shape[1]
        return moment_sums.chain_cov(self.acc_n, self.acc_s1, moment_sums.unpack(self.acc_s2, d))

    def pooled_moments(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean and covariance over all live chains' post-burn-in steps; the covariance is None
        unless the run tracked it (``moments = "full"``)."""
        d = self.X.shape[1]
        if self.moments != "full":
            return self.pooled_variances()[0], None
        return self._pooled(self.chain_means(), self.chain_covs(), moment_sums.outer, (d, d))

    def chain_variances(self) -> np.ndarray:
        """(chains, d) time variance of each coordinate per chain (every ``moments`` mode)."""
        d = self.X.shape[1]
        if self.moments == "full":
            sq = self.acc_s2[:, np.cumsum(np.r_[0, np.arange(d, 1, -1)])]  # the packed diagonal
        else:
            sq = self.acc_s2[:, :d]
        return moment_sums.chain_cov(self.acc_n, self.acc_s1, sq, moment_sums.square)

    def pooled_variances(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and per-coordinate variance over all live chains' post-burn-in steps."""
        return self._pooled(self.chain_means(), self.chain_variances(), moment_sums.square, self.X.shape[1])

    def chain_projection_covs(self) -> np.ndarray:
        """(chains, K, K) time covariance of the projections ``z = P x`` per chain
        (``moments = "projections"``; K = 0 otherwise)."""
        d, k = self.X.shape[1], self.proj.shape[0]
        S2 = moment_sums.unpack(self.acc_s2[:, d:], k) if k else np.zeros((len(self.acc_n), 0, 0))
        return moment_sums.chain_cov(self.acc_n, self.acc_s1 @ self.proj.T, S2)

    def pooled_projection(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean (K,) and covariance (K, K) of the projections ``z = P x`` over all live chains."""
        k = self.proj.shape[0]
        return self._pooled(self.chain_means() @ self.proj.T, self.chain_projection_covs(), moment_sums.outer, (k, k))

    @property
    def obs_n(self) -> np.ndarray:
        """(chains,) how many states each chain's observables were booked at."""
        return self.acc_obs[:, -1].astype(np.int64)

    def obs_counts(self) -> np.ndarray:
        """(chains, n_obs) how many states each observable was booked at: ``acc_n`` for those
        booked with the moments (``build.WITH_MOMENTS``), :attr:`obs_n` for the others."""
        return _obs_counts(self.obs_names, self.acc_n, self.obs_n)

    def obs_chain_means(self) -> np.ndarray:
        """(chains, n_obs) time average of each observable per chain."""
        return self.acc_obs[:, :-1] / np.maximum(self.obs_counts(), 1)

    def divergences(self) -> list[dict]:
        """Where and when each stopped chain was caught."""
        c = self.config
        return [
            {"chain": int(i), "step": int(self.div_step[i]), "t": float(self.div_step[i] * c.step_time),
             "state": [float(v) for v in self.div_x[i]]}
            for i in np.flatnonzero(~self.alive)
        ]


def _obs_counts(names, n_moments, n_obs):
    """Each observable's count (the last axis) from the moments' and the observables' counts."""
    with_moments = np.isin(np.asarray(names, dtype=object), WITH_MOMENTS)
    return np.where(with_moments, np.asarray(n_moments)[..., None], np.asarray(n_obs)[..., None])


def _layout(cfg, n_obs: int) -> dict:
    """``name: (shape, dtype, initial value)`` of each state array of a run of ``cfg``."""
    d = cfg.game.d
    C = cfg.chains
    n_chunks = math.ceil(cfg.steps / _chunk_steps(cfg))
    f, i8, i64 = np.float64, np.int8, np.int64
    return dict(
        X=((C, d), f, 0.0), opt_state=((C, _state_size(cfg)), f, 0.0), status=((C,), i8, 0), div_step=((C,), i64, -1), div_x=((C, d), f, np.nan),
        shift=((C, d), f, 0.0), acc_n=((C,), i64, 0), acc_s1=((C, d), f, 0.0),
        acc_s2=((C, cfg.moments.tracked_size(d)), f, 0.0), acc_obs=((C, n_obs + 1), f, 0.0),
        draws=((min(C, cfg.keep_chains), cfg.n_draws, d), f, np.nan),
        hist_t=((n_chunks,), f, np.nan), hist_obs=((n_chunks, n_obs), f, np.nan), hist_n=((n_chunks,), i64, 0),
        proj=((cfg.moments.k, d), f, 0.0),
    )


def _state_size(cfg) -> int:
    """Entries of the optimiser's state per chain (none for the SDE)."""
    return cfg.scheme.optimizer.state_size(cfg.game.d) if cfg.dynamics == "sga" else 0


def _fresh_state(cfg, n_obs: int) -> dict:
    state = {k: np.full(shape, fill, dtype) for k, (shape, dtype, fill) in _layout(cfg, n_obs).items()}
    state["proj"][:] = cfg.moments.matrix(cfg.game.d, cfg.seed)
    return state


def _stream_shape(cfg, hook: Hook) -> tuple:
    """The streams' shape: one row per chain, then one per chain for a hook that draws;
    PCG64 words on the CPU, one xoroshiro128+ record on the cuda backend."""
    rows = cfg.chains * (2 if hook.rng else 1)
    return (rows, pcg64.WORDS) if cfg.backend == "cpu" else (rows,)


def _chunk_steps(cfg) -> int:
    return max(1, math.ceil(cfg.steps / cfg.chunks))


def _generators(seed: int, chains: int) -> list:
    """numpy generators of the chains' streams: chain c's stream depends only on (seed, c),
    so adding chains leaves the others unchanged (their words, :func:`pcg64.streams`, are
    what the kernels draw from)."""
    return pcg64.generators(np.random.SeedSequence(seed), chains)


_HOOK_SPAWN_KEY = 2**31  # never a chain's spawn key: the hook's streams are apart from the chains'


def _initial_states(cfg, gens) -> np.ndarray:
    """``x0 + init_scale·z`` for every chain, ``z`` drawn from chain ``c``'s stream ``gens[c]``."""
    z = np.stack([gens[c].standard_normal(cfg.game.d) for c in range(cfg.chains)])
    return cfg.x0 + cfg.init_scale * z


def _start(cfg, hook: Hook):
    """Fresh state and streams; chain c starts at x0 + init_scale·z drawn from its own stream.

    The streams are the chains' PCG64 words, followed (for a hook that draws random numbers)
    by one stream per chain for the hook, so that the chains are the same with and without
    the hook; the cuda backend starts from the same points with xoroshiro128+ streams.
    """
    state = _fresh_state(cfg, len(observable_names(cfg.dynamics, hook)))
    gens = _generators(cfg.seed, cfg.chains)
    state["X"][:] = _initial_states(cfg, gens)
    if cfg.backend == "cuda":
        return state, cuda_run.generators(cfg, hook, _HOOK_SPAWN_KEY)
    if hook.rng:
        gens += pcg64.generators(np.random.SeedSequence(cfg.seed, spawn_key=(_HOOK_SPAWN_KEY,)), cfg.chains)
    return state, pcg64.streams(gens)


def simulate(cfg, out: str | Path | None = None, hook: Hook = Hook(), progress: bool = False) -> RunResult:
    """Run the chains a validated :class:`~invariant.config.Config` describes.

    Parameters
    ----------
    cfg : invariant.config.Config
    out : path, optional
        Run folder: ``config.json`` and ``hook.json`` are written first and
        ``checkpoint.npz`` after every chunk, each atomically.
    hook : Hook
        Extra per-step observables to accumulate.
    progress : bool
        Show a progress bar (tqdm) on stderr.
    """
    require_backend(cfg)
    state, streams = _start(cfg, hook)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "config.json", cfg.resolved, indent=2)
        _write_json(out / "hook.json", hook.as_dict())
    return _advance(cfg, hook, state, streams, 0, 0.0, out, progress)


def require_backend(cfg) -> None:
    """Raise :class:`~invariant.errors.ConfigError` now if ``cfg.backend`` cannot run here
    (``"cuda"`` without numba-cuda or without a GPU), before anything is written."""
    if cfg.backend == "cuda":
        require()


def resume(out: str | Path, hook: Hook = Hook(), progress: bool = False) -> RunResult:
    """Continue the run in folder ``out`` from its last checkpoint.

    Parameters
    ----------
    out : path
    hook : Hook
        The run's hook, rebuilt by the caller from the run's config (``invariant.fdr.hook(cfg)``
        for the command line's runs).  Nothing the folder holds is run: its ``hook.json`` is
        only compared with ``hook``, and written afresh where it is missing.
    progress : bool

    Raises
    ------
    ConfigError
        Naming ``hook.json`` when it differs from ``hook``; ``config.json`` when it differs
        from the config the checkpoint was written with, or ``checkpoint.npz`` when an array
        does not fit the config (docs/design.md, The run folder).
    """
    out = Path(out)
    table, cfg = _read_config(out)
    require_backend(cfg)
    state, streams, steps_done, wall = _read_checkpoint(out / "checkpoint.npz", cfg, hook, table)
    if not (out / "hook.json").exists():
        _write_json(out / "hook.json", hook.as_dict())
    return _advance(cfg, hook, state, streams, steps_done, wall, out, progress)


def load(out: str | Path, hook: Hook = Hook()) -> RunResult:
    """Read a run folder (finished or not) without running anything.

    ``hook`` is the run's, rebuilt by the caller (as for :func:`resume`): it names the
    observables' columns, and ``hook.json``, where there is one, must record it.
    """
    out = Path(out)
    table, cfg = _read_config(out)
    state, streams, steps_done, wall = _read_checkpoint(out / "checkpoint.npz", cfg, hook, table)
    return _result(cfg, hook, state, streams, steps_done, wall)


def _read_config(out: Path) -> tuple:
    """``(table, cfg)``: ``out/config.json`` as read, and validated."""
    try:
        table = json.loads((out / "config.json").read_text())
    except OSError as exc:
        raise FileNotFoundError(f"{out} holds no run to resume ({exc.strerror}: {exc.filename})") from None
    sim = table.get("simulation")
    if isinstance(sim, dict) and "dynamics" in sim:
        # a resolved config written before simulation.diffusion (or .moments) existed: its SDE
        # was plain, and it streamed the full moments
        sim = {"diffusion": "plain", "moments": "full", **sim}
        return table, config_mod.from_dict({**table, "simulation": sim})
    return table, config_mod.from_dict(table)


def _check_hook(out: Path, hook: Hook) -> None:
    """Raise ConfigError naming ``out/hook.json`` when it does not record ``hook`` (the hook
    rebuilt from the run's config); a missing one is no error."""
    path = out / "hook.json"
    try:
        recorded = json.loads(path.read_text())
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), f"is not readable ({exc}); the run cannot be continued") from None
    if recorded != json.loads(json.dumps(hook.as_dict())):
        raise ConfigError(str(path), "does not record the hook this run's config.json builds (edited, or written "
                                     "by another version); nothing in it is run: remove it to rebuild it")


def _write_json(path: Path, obj, indent=None) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=indent)))


_STREAM_KEY = {"cpu": "pcg64", "cuda": "xoroshiro"}  # the streams' array in checkpoint.npz


def _read_checkpoint(path: Path, cfg, hook: Hook, table: dict | None = None):
    """``(state, streams, steps_done, wall)`` from ``path`` (fresh ones if there is none),
    checked against the run's config, in this order: ``table`` (config.json as read) must be
    the config the checkpoint was written with, the folder's hook.json must record ``hook``
    (:func:`_check_hook`), and every array must have the shape a run of ``cfg`` with
    ``hook`` gives it (:func:`_check_state`)."""
    if not path.exists():
        # killed before the first chunk ended: nothing to continue, start afresh
        _check_hook(path.parent, hook)
        return (*_start(cfg, hook), 0, 0.0)
    with np.load(path) as z:
        state = {k: z[k].copy() for k in _STATE_ARRAYS if k in z}
        if "opt_state" not in state:  # written before optimisers had a state: SGD's, empty
            state["opt_state"] = np.zeros((state["X"].shape[0], 0))
        if "proj" not in state:  # written before simulation.moments: full moments, no projection
            state["proj"] = np.zeros((0, state["X"].shape[1]))
        meta = json.loads(str(z["meta"]))
        key = _STREAM_KEY[cfg.backend]
        if key in z:
            streams = z[key].copy()
        else:  # written when the CPU chains drew through numpy generators: their states
            streams = np.stack([pcg64.words(st) for st in meta["rng"]])
    if table is not None and "config" in meta:  # checkpoints of earlier versions record none
        changed = _changed_keys(meta["config"], table)
        if changed:
            raise ConfigError(str(path.with_name("config.json")), f"differs from the config its checkpoint was "
                              f"written with ({', '.join(changed)}); a run continues as it began: undo the "
                              "edit, or start a new run")
    _check_hook(path.parent, hook)
    _check_state(path, state, streams, cfg, hook)
    return state, streams, meta["steps_done"], meta["wall_seconds"]


def _changed_keys(a: dict, b: dict, prefix: str = "") -> list:
    """Dotted keys whose values differ between two nested tables."""
    out = []
    for k in sorted(set(a) | set(b), key=str):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _changed_keys(va, vb, f"{prefix}{k}.")
        elif va != vb or (k in a) != (k in b):
            out.append(f"{prefix}{k}")
    return out


def _check_state(path: Path, state: dict, streams: np.ndarray, cfg, hook: Hook) -> None:
    """Raise ConfigError naming ``path`` when an array's shape or type is not what a run
    of ``cfg`` with ``hook`` has: the kernels index them unchecked."""
    layout = _layout(cfg, len(observable_names(cfg.dynamics, hook)))
    for k, (shape, dtype, _) in layout.items():
        a = state[k]
        if a.shape != shape or a.dtype != dtype:
            raise ConfigError(str(path), f"holds {k} of shape {a.shape} ({a.dtype}), not the {shape} ({np.dtype(dtype)}) "
                                         "of the run config.json describes; the run cannot be continued")
    want = _stream_shape(cfg, hook)
    if streams.shape != want:
        raise ConfigError(str(path), f"holds random streams of shape {streams.shape}, not the {want} of the run "
                                     "config.json describes; the run cannot be continued")


def _write_checkpoint(out: Path, cfg, state: dict, streams: np.ndarray, steps_done: int, wall: float) -> None:
    # the resolved config is recorded, so that a resume refuses an edited config.json; the
    # write is atomic: a kill or a full disk mid-write leaves the previous one, and no partial
    meta = {"steps_done": steps_done, "wall_seconds": wall, "config": cfg.resolved}
    atomic_write(out / "checkpoint.npz",
            lambda tmp: np.savez(tmp, meta=np.array(json.dumps(meta)), **state, **{_STREAM_KEY[cfg.backend]: streams}))


def _result(cfg, hook, state, streams, steps_done, wall) -> RunResult:
    return RunResult(
        config=cfg, obs_names=observable_names(cfg.dynamics, hook), steps_done=steps_done,
        wall_seconds=wall, streams=streams.copy(), **state,
    )


def _advance(cfg, hook, state, streams, steps_done, wall, out, progress) -> RunResult:
    chunk = _chunk_steps(cfg)
    names = observable_names(cfg.dynamics, hook)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=steps_done, unit="step", desc="chains", leave=False)
    s = state
    if cfg.backend == "cuda":  # the state lives on the device; sync brings back what is read here
        dev = cuda_run.DeviceChains(cfg, hook, s, streams)

        def advance(n):
            dev.advance(steps_done, n)

        sync = dev.sync
    else:
        advance = _cpu_advance(cfg, hook, s, streams, lambda: steps_done)

        def sync(full):
            pass  # the CPU kernels update the host arrays in place

    # a call of zero steps compiles the kernel (or loads it from the cache) without moving
    # a chain, so that wall_seconds is simulation time only
    t0 = time.perf_counter()
    if steps_done < cfg.steps:
        advance(0)
    compile_seconds = time.perf_counter() - t0
    while steps_done < cfg.steps:
        n = min(chunk, cfg.steps - steps_done)
        t0 = time.perf_counter()
        prev_obs = s["acc_obs"].copy()
        prev_n = s["acc_n"].copy()
        advance(n)
        sync(out is not None)
        steps_done += n
        wall += time.perf_counter() - t0
        i = (steps_done - 1) // chunk
        a = s["status"] == 0
        sums = (s["acc_obs"] - prev_obs)[a].sum(0)  # the observables, then their count
        dn = int(round(sums[-1]))
        counts = _obs_counts(names, (s["acc_n"] - prev_n)[a].sum(), dn)
        s["hist_t"][i] = steps_done * cfg.step_time
        s["hist_n"][i] = dn
        if np.all(counts > 0):
            s["hist_obs"][i] = sums[:-1] / counts
        if out is not None:
            _write_checkpoint(out, cfg, s, streams, steps_done, wall)
        if bar is not None:
            bar.update(n)
            bar.set_postfix(diverged=int(np.sum(~a)))
    if bar is not None:
        bar.close()
    sync(True)
    res = _result(cfg, hook, s, streams, steps_done, wall)
    res.compile_seconds = compile_seconds
    return res


def chain_kernels(cfg, hook):
    """The CPU kernel module of the run ``cfg`` describes and the name of its chain kernel
    (``sde_chunk`` of the SDE's order, or ``sga_chunk``, which order-1 modules carry)."""
    game = cfg.game
    if cfg.dynamics == "sde":
        # only consensus's SDE kernels differ from SGD's (the coefficients are arguments)
        opt = cfg.scheme.optimizer.name if cfg.scheme.optimizer.name == "consensus" else "sgd"
        return kernels(game.kernels, game.d, game.d_theta, hook, cfg.scheme.order, cfg.scheme.diffusion_name,
                       not game.affine, opt, cfg.scheme.batches, cfg.moments), "sde_chunk"
    return kernels(game.kernels, game.d, game.d_theta, hook, 1, optimizer=cfg.scheme.optimizer.name,
                   batches=cfg.scheme.batches, moments=cfg.moments), "sga_chunk"


def _cpu_advance(cfg, hook, s, streams, step0):
    """``advance(n)``: every live chain ``n`` steps on from step ``step0()``, in place."""
    game, sch = cfg.game, cfg.scheme
    k, _ = chain_kernels(cfg, hook)
    r2max = cfg.escape_radius ** 2
    op = sch.optimizer.params()

    def advance(n):
        common = (s["X"], s["status"], s["div_step"], s["div_x"], game.params, game.data, streams, game.d_theta)
        books = (step0(), n, cfg.burn_steps, cfg.stat_every, cfg.obs_every, cfg.thin, r2max, s["draws"], s["shift"],
                 s["acc_n"], s["acc_s1"], s["acc_s2"], s["acc_obs"], s["proj"])
        if cfg.dynamics == "sde":
            c = sch.sde
            scale = math.sqrt(cfg.dt * c.lr / sch.batch_size)
            s_th, s_om = sch.b1_signs  # the corrected noise's (plain SGDA only)
            k.sde_chunk(*common, c.drift, c.noise, c.lr, scale, cfg.dt, s_th, s_om, *books)
        else:
            k.sga_chunk(*common, sch.lr, sch.batch_size, SCHEME_ID[sch.name], s["opt_state"], op, *books)

    return advance
