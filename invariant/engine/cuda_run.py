"""The chains on a GPU (``[simulation] backend = "cuda"``): device arrays behind the CPU
engine's chunk loop (:mod:`invariant.engine.run`).

The run state is the CPU engine's, array for array (:func:`invariant.engine.run._fresh_state`):
the chains start at the same points, accumulate the same sums with the same layout, and the
analyses cannot tell the backends apart.  Only the random streams differ: chain ``c`` draws
from xoroshiro128+ state ``c`` (:func:`.cuda_device.seed_states`), which a checkpoint stores as
it stands, so a resumed run ends bit-identical to an uninterrupted one.

The state stays on the device between chunks.  After every chunk only what the chunk loop
reads comes back (status, divergences, observable sums and counts); the chain states, the
moment sums, the kept draws and the generators come back for a checkpoint and at the end.
Per-chain arrays live on the device in Fortran order (chain index fastest), so that the
threads of a warp, one chain each, touch consecutive addresses.
"""
from __future__ import annotations

import math

import numpy as np

from ..schemes import SCHEME_ID
from . import cuda_build
from .cuda_device import quiet_wraparound, require, seed_states

_EVERY_CHUNK = ("status", "div_step", "div_x", "acc_n", "acc_obs")
_AT_CHECKPOINTS = ("X", "opt_state", "shift", "acc_s1", "acc_s2", "draws")


def generators(cfg, hook, hook_stream: int) -> np.ndarray:
    """The chains' xoroshiro128+ states, then (for a hook that draws) one per chain for the
    hook, spawned apart as ``hook_stream`` (as on the CPU), so that the chains are the same
    with and without it."""
    states = seed_states(cfg.seed, cfg.chains)
    if hook.rng:
        states = np.concatenate([states, seed_states(cfg.seed, cfg.chains, stream=hook_stream)])
    return states


class DeviceChains:
    """The run's arrays on the device and the kernels that advance them.

    Parameters
    ----------
    cfg : invariant.config.Config
        With ``backend = "cuda"``; ``cfg.dtype`` is the state's precision.
    hook : invariant.engine.Hook
    state : dict
        The run state (host arrays, updated in place by :meth:`sync`).
    states : ndarray
        The xoroshiro128+ states (updated in place by :meth:`sync`).
    """

    def __init__(self, cfg, hook, state: dict, states: np.ndarray):
        cuda = require()
        game = cfg.game
        self.cuda, self.cfg, self.state, self.states = cuda, cfg, state, states
        self.k = cuda_build.kernels(game.kernels, game.d, game.d_theta, hook, cfg.dtype, cfg.scheme.optimizer.name,
                                    cfg.scheme.order if cfg.dynamics == "sde" else 1, cfg.moments)
        f = np.dtype(cfg.dtype).type
        self.f = f
        self.dev = {k: cuda.to_device(np.asfortranarray(v if k not in ("X", "opt_state") else v.astype(f)))
                    for k, v in state.items() if not k.startswith("hist")}
        self.p = cuda.to_device(game.params.astype(f))
        self.op = cuda.to_device(cfg.scheme.optimizer.params().astype(f))
        self.data = cuda.to_device(game.data.astype(f))
        self.rng = cuda.to_device(states)
        self.blocks = math.ceil(cfg.chains / self.k.THREADS)

    def advance(self, step0: int, n: int) -> None:
        """Every live chain ``n`` steps on from step ``step0``."""
        cfg, s = self.cfg, self.dev
        head = (s["X"], s["status"], s["div_step"], s["div_x"], self.p, self.data, self.rng)
        books = (step0, n, cfg.burn_steps, cfg.stat_every, cfg.obs_every, cfg.thin, cfg.escape_radius ** 2, s["draws"],
                 s["shift"], s["acc_n"], s["acc_s1"], s["acc_s2"], s["acc_obs"], s["proj"])
        launch = (self.blocks, self.k.THREADS)
        with quiet_wraparound():
            self._launch(launch, head, books)
        self.cuda.synchronize()

    def _launch(self, launch, head, books):
        cfg, sch, f = self.cfg, self.cfg.scheme, self.f
        if cfg.dynamics == "sde":
            c = sch.sde
            s_th, s_om = sch.b1_signs
            scale = math.sqrt(cfg.dt * c.lr / sch.batch_size)
            self.k.sde_kernel[launch](*head, tuple(map(f, c.drift)), tuple(map(f, c.noise)), f(c.lr), f(scale),
                                      f(cfg.dt), c.uses_hvp, f(s_th), f(s_om), sch.corrected, not cfg.game.affine,
                                      *books)
        else:
            self.k.sga_kernel[launch](*head, f(sch.lr), sch.batch_size, SCHEME_ID[sch.name], self.dev["opt_state"],
                                      self.op, *books)

    def sync(self, full: bool) -> None:
        """Copy back what the chunk loop reads; with ``full``, everything (for a checkpoint)."""
        names = _EVERY_CHUNK + (_AT_CHECKPOINTS if full else ())
        for k in names:
            self.state[k][...] = self.dev[k].copy_to_host()
        if full:
            self.states[...] = self.rng.copy_to_host()
