"""The engine's inline PCG64 streams (``invariant.engine.pcg64``) are numpy's ``Generator(PCG64)``.

Every draw a game kernel may make (``standard_normal``, ``random``, ``integers``) must equal
numpy's, bit for bit, and leave the stream in numpy's state; the engine's chains must be the
chains numpy's generators would give; checkpoints written before the streams were inline
must still resume.
"""
from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from numba import njit

from invariant import engine
from invariant.engine import pcg64
from invariant.engine import run as run_mod
from invariant.engine.build import Hook
from conftest import make_config


@njit  # not cached: numba's cache would not notice an edit of pcg64
def _draw(S, kind, lo, hi, n):
    s = pcg64.slot()
    pcg64.load(s, S, 0)
    out = np.empty(n)
    for i in range(n):
        if kind == 0:
            out[i] = s.standard_normal()
        elif kind == 1:
            out[i] = s.random()
        else:
            out[i] = s.integers(lo, hi)
    pcg64.store(s, S, 0)
    return out


RANGES = [(0, 10), (-5, 5), (7, 8), (0, 1000), (0, 2**32 - 1), (0, 2**32), (3, 2**33), (0, 2**40 + 7),
          (-2**62, 2**62), (0, 2**63 - 1)]


@pytest.mark.parametrize("kind,lo,hi", [(0, 0, 0), (1, 0, 0)] + [(2, lo, hi) for lo, hi in RANGES])
def test_draws_equal_numpys_bit_for_bit(kind, lo, hi):
    g = np.random.Generator(np.random.PCG64(12345 + kind + hi % 97))
    g.integers(0, 3)  # PCG64 now holds a buffered half-word: the streams must carry it too
    S = pcg64.streams([g])
    n = 20_000  # ≈ 200 normals take the ziggurat's rare branches, some its tail
    got = _draw(S, kind, lo, hi, n)
    if kind == 0:
        want = g.standard_normal(n)
    elif kind == 1:
        want = g.random(n)
    else:
        want = np.array([g.integers(lo, hi) for _ in range(n)]).astype(float)
    assert np.array_equal(got, want)
    assert np.array_equal(S[0], pcg64.words(g.bit_generator.state))


def test_words_and_state_round_trip():
    g = np.random.Generator(np.random.PCG64(5))
    g.integers(0, 7)
    w = pcg64.words(g.bit_generator.state)
    assert pcg64.state(w) == g.bit_generator.state
    h = pcg64.generator(w)
    assert np.array_equal(h.standard_normal(5), g.standard_normal(5))
    with pytest.raises(ValueError, match="PCG64"):
        pcg64.words(np.random.Generator(np.random.MT19937(1)).bit_generator.state)


def test_sde_chains_are_numpys():
    # the engine's chains, replayed in Python with numpy generators in the streams' starting
    # states and the game's own kernels: the same states, the same final streams
    cfg = make_config(training={"scheme": "sml", "lr": 0.05, "batch_size": 4},
                      simulation={"chains": 3, "t_end": 2.0, "t_burn": 0.5, "order": 1})
    state, streams = run_mod._start(cfg, Hook())
    gens = [pcg64.generator(w) for w in streams]
    r = engine.simulate(cfg)
    k = importlib.import_module(cfg.game.kernels)
    p, data, dth = cfg.game.params, cfg.game.data, cfg.game.d_theta
    scale = np.sqrt(cfg.dt * cfg.scheme.lr / cfg.scheme.batch_size)
    for c, g in enumerate(gens):
        x = state["X"][c].copy()
        gx, z = np.empty_like(x), np.empty_like(x)
        for _ in range(cfg.steps):
            k.grad(x, p, data, gx)
            b = np.concatenate([-gx[:dth], gx[dth:]])
            k.noise(x, p, data, g, z)
            x = x + (cfg.dt * b + scale * z)
        np.testing.assert_allclose(r.X[c], x, rtol=1e-12, atol=1e-12)
        assert np.array_equal(r.streams[c], pcg64.words(g.bit_generator.state))


def test_sga_chains_draw_numpys_minibatches():
    # the mlp game's minibatches: rng.integers for the data indices, rng.standard_normal for
    # the latents; ALT-D moves the discriminator first
    cfg = make_config(game={"name": "mlp", "width": 2, "nodes": 4},
                      training={"scheme": "alt-d", "lr": 0.02, "batch_size": 3},
                      simulation={"dynamics": "sga", "chains": 2, "t_end": 0.6, "t_burn": 0.2})
    state, streams = run_mod._start(cfg, Hook())
    r = engine.simulate(cfg)
    k = importlib.import_module(cfg.game.kernels)
    p, data, dth, lr = cfg.game.params, cfg.game.data, cfg.game.d_theta, cfg.scheme.lr
    for c, w in enumerate(streams):
        g = pcg64.generator(w)
        x = state["X"][c].copy()
        gb = np.empty_like(x)
        for _ in range(cfg.steps):
            k.batch_grad(x, p, data, g, cfg.scheme.batch_size, 1, gb)
            x[dth:] += lr * gb[dth:]
            k.batch_grad(x, p, data, g, cfg.scheme.batch_size, 0, gb)
            x[:dth] -= lr * gb[:dth]
        np.testing.assert_allclose(r.X[c], x, rtol=1e-12, atol=1e-12)
        assert np.array_equal(r.streams[c], pcg64.words(g.bit_generator.state))


def test_checkpoint_of_numpy_generator_states_still_reads(tmp_path):
    # checkpoints written when the CPU chains drew through numpy generators hold their
    # states in meta["rng"] and no stream array
    cfg = make_config(simulation={"chains": 3, "t_end": 1.0, "t_burn": 0.2})
    state, streams = run_mod._start(cfg, Hook())
    run_mod._write_checkpoint(tmp_path, cfg, state, streams, 10, 0.5)
    with np.load(tmp_path / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files if k not in ("meta", "pcg64")}
        meta = json.loads(str(z["meta"]))
    meta["rng"] = [pcg64.state(w) for w in streams]
    np.savez(tmp_path / "checkpoint.npz", meta=np.array(json.dumps(meta)), **arrays)
    _, back, steps_done, _ = run_mod._read_checkpoint(tmp_path / "checkpoint.npz", cfg, Hook())
    assert steps_done == 10 and back.dtype == np.uint64 and np.array_equal(back, streams)
