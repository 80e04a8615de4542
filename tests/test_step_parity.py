"""The kernels' SGA step (templates/step.py) against the readable reference, schemes.py.

One step of each scheme from one point, in a tiny generated module that calls the template's
``_sga_update`` as the engine, the weak-order paths and the scheduler do; the stream it draws
from is in the same state as the numpy generator ``Scheme.step`` draws from, so the two
take the same minibatches (docs/theory.md §2).
"""
import numpy as np
import pytest
from conftest import make_config

from invariant.engine import pcg64, render
from invariant.engine.build import load_generated, step_constants
from invariant.schemes import SCHEME_ID, Scheme

DIRAC = {"name": "dirac", "regularizer": "r1", "gamma": 0.6}
LR, BATCH = 0.1, 4

# the step as its callers make it: booking the applied gradients (engine, scheduler) and the
# noise increments (weak paths) at once
_ONE_STEP = '''
from invariant.engine.pcg64 import load as _stream_load, slot as _stream_slot, store as _stream_store


@njit(cache=True)
def one_step(x, p, data, streams, batch_size, scheme, lr, dth, so, gx, delta):
    rng = _stream_slot()
    _stream_load(rng, streams, 0)
    gb = np.empty(x.shape[0])
    _sga_update(x, p, data, rng, batch_size, scheme, lr, lr, 1, dth, gb, True, so, 0, True, gx, delta)
    _stream_store(rng, streams, 0)
    return gb
'''


def _module(game_module):
    text = render.cpu_module("SGA step parity test.", game_module, ["step.py", render.Source(_ONE_STEP)],
                            {k: v for k, (v, _) in step_constants().items()})
    return load_generated("invariant_step_test", text, game_module)


@pytest.mark.parametrize("game", ["bilinear", "dirac"])
@pytest.mark.parametrize("scheme", ["sml", "alt-d", "alt-g"])
def test_the_kernel_step_is_the_reference_step(game, scheme):
    cfg = make_config(None if game == "bilinear" else DIRAC)
    g, dth = cfg.game, cfg.game.d_theta
    x0 = cfg.x0 + 0.3 * np.random.default_rng(1).standard_normal(g.d)
    gen = pcg64.generators(np.random.SeedSequence(5), 1)[0]
    streams = pcg64.streams([gen])
    x1 = Scheme(scheme, LR, BATCH, 1).step(g, x0, rng=gen)

    x, so, gx, delta = x0.copy(), np.zeros(4), np.empty(g.d), np.empty(g.d)
    gb = _module(g.kernels).one_step(x, g.params, g.data, streams, BATCH, SCHEME_ID[scheme], LR, dth, so, gx, delta)
    np.testing.assert_allclose(x, x1, rtol=1e-13, atol=1e-15)
    assert np.array_equal(streams[0], pcg64.words(gen.bit_generator.state))  # the same draws
    # the applied minibatch gradients, each block's applied at its own value before the step
    ghat = np.r_[(x0 - x1)[:dth], (x1 - x0)[dth:]] / LR
    np.testing.assert_allclose(gb, ghat, rtol=1e-9, atol=1e-12)
    th, om = slice(0, dth), slice(dth, g.d)
    booked = [x0[th] @ gb[th], gb[th] @ gb[th], x0[om] @ gb[om], gb[om] @ gb[om]]
    np.testing.assert_allclose(so, booked, rtol=1e-12, atol=1e-14)
    # the noise increments ∓lr(∇̂ − ∇g), ∇g where each block's gradient was applied
    at_th = {"sml": x0, "alt-d": np.r_[x0[th], x1[om]], "alt-g": x0}[scheme]
    at_om = {"sml": x0, "alt-d": x0, "alt-g": np.r_[x1[th], x0[om]]}[scheme]
    want = np.r_[-LR * (gb[th] - g.grad(at_th)[th]), LR * (gb[om] - g.grad(at_om)[om])]
    np.testing.assert_allclose(delta, want, rtol=1e-10, atol=1e-13)


# the corrected SDE noise (templates/step.py _corrected_noise) as the engine and the weak paths call it
_ONE_NOISE = '''
from invariant.engine.pcg64 import load as _stream_load, slot as _stream_slot, store as _stream_store


@njit(cache=True)
def one_noise(x, p, data, streams, lr, varies, s_th, s_om, dth, h, z):
    rng = _stream_slot()
    rs = _stream_slot()
    _stream_load(rng, streams, 0)
    d = x.shape[0]
    gx, u, v, w, y = np.empty(d), np.empty(d), np.empty(d), np.empty(d), np.empty(d)
    _grad(x, p, data, gx)
    _corrected_noise(x, p, data, rng, rs, h, lr, varies, s_th, s_om, dth, gx, u, v, w, y, z)
    _stream_store(rng, streams, 0)
'''


@pytest.mark.parametrize("game", ["bilinear", "dirac"])
@pytest.mark.parametrize("scheme", ["sml", "alt-d", "alt-g"])
def test_the_kernel_corrected_noise_is_the_reference(game, scheme):
    from invariant.schemes import fd_step

    cfg = make_config(None if game == "bilinear" else DIRAC)
    g = cfg.game
    x0 = cfg.x0 + 0.3 * np.random.default_rng(2).standard_normal(g.d)
    gen = pcg64.generators(np.random.SeedSequence(6), 1)[0]
    streams = pcg64.streams([gen])
    sch = Scheme(scheme, LR, BATCH, 2, corrected=True)
    want = sch.noise(g, x0, gen)
    text = render.cpu_module("Corrected noise parity test.", g.kernels, ["step.py", render.Source(_ONE_NOISE)], {})
    mod = load_generated("invariant_noise_test", text, g.kernels)
    z = np.empty(g.d)
    s_th, s_om = sch.b1_signs
    mod.one_noise(x0, g.params, g.data, streams, LR, not g.affine, s_th, s_om, g.d_theta, fd_step(), z)
    np.testing.assert_allclose(z, want, rtol=1e-9, atol=1e-12)
    assert np.array_equal(streams[0], pcg64.words(gen.bit_generator.state))  # one call's draws
    # the plain factor draws the same normals: the correction is O(lr)
    plain = Scheme(scheme, LR, BATCH, 2).noise(g, x0, pcg64.generators(np.random.SeedSequence(6), 1)[0])
    assert 0 < np.abs(z - plain).max() < 2 * LR * np.abs(plain).max() + 1e-12
