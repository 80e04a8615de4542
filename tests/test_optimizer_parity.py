"""Every optimiser's kernel update (templates/step.py) against its numpy reference,
invariant.optimizers.step (docs/theory.md §4b).

A few iterations of each optimiser and admissible scheme from one point, with its state,
in a tiny generated module that calls the template's update as the engine's ``_sga_step``
does; the stream it draws from is in the state of the numpy generator the reference draws
from, so both take the same minibatches.
"""
import numpy as np
import pytest
from conftest import make_config

from invariant import optimizers
from invariant.engine import build, pcg64, render
from invariant.engine.build import load_generated
from invariant.optimizers import OPTIMIZERS, SIMULTANEOUS, Optimizer
from invariant.schemes import SCHEME_ID, Scheme

DIRAC = {"name": "dirac", "regularizer": "r1", "gamma": 0.6}
LR, BATCH, STEPS = 0.1, 4, 3

_ITERATE = '''
from invariant.engine.pcg64 import load as _stream_load, slot as _stream_slot, store as _stream_store


@njit(cache=True)
def iterate(x, s, p, data, streams, batch_size, scheme, lr, op, dth, k0, steps):
    rng = _stream_slot()
    _stream_load(rng, streams, 0)
    d = x.shape[0]
    gb = np.empty(d)
    gc = np.empty(d)
    hv = np.empty(d)
    so = np.zeros(4)
    for k in range(k0, k0 + steps):
        if OPTIMIZER == 0:
            _sga_update(x, p, data, rng, batch_size, scheme, lr, op[0] * lr, int(op[1]), dth, gb, False, so, 0,
                        False, gb, gb)
        else:
            _opt_update(x, s, p, data, rng, batch_size, scheme, lr, dth, gb, gc, hv, op, k)
    _stream_store(rng, streams, 0)
'''


def _module(game_module, optimizer):
    consts = {k: v for k, (v, _) in build.optimizer_constants(optimizer, 2).items()}
    text = render.cpu_module("Optimiser parity test.", game_module, ["step.py", render.Source(_ITERATE)], consts)
    return load_generated("invariant_optimizer_test", text, game_module)


CASES = [(o, s) for o in OPTIMIZERS for s in ("sml", "alt-d", "alt-g") if s == "sml" or o not in SIMULTANEOUS]
OPTIONS = {"sgd": dict(lr_ratio=2.0), "momentum": dict(momentum=0.7, lr_ratio=0.5), "consensus": dict(consensus=0.3),
           "rmsprop": dict(beta2=0.9, eps=1e-3), "adam": dict(beta1=0.8, beta2=0.95, eps=1e-3)}


@pytest.mark.parametrize("game", ["bilinear", "dirac"])
@pytest.mark.parametrize("optimizer,scheme", CASES)
def test_the_kernel_update_is_the_reference_update(game, optimizer, scheme):
    cfg = make_config(None if game == "bilinear" else DIRAC)
    g = cfg.game
    kw = dict(OPTIONS.get(optimizer, {}))
    if scheme == "alt-d":
        kw["n_critic"] = 3
    opt = Optimizer(optimizer, **kw)
    sch = Scheme(scheme, LR, BATCH, 1, opt)
    x0 = cfg.x0 + 0.3 * np.random.default_rng(1).standard_normal(g.d)
    s0 = 0.1 * np.random.default_rng(2).standard_normal(opt.state_size(g.d))
    if optimizer in ("rmsprop", "adam"):
        s0[-g.d:] = np.abs(s0[-g.d:])  # a second moment
    gen = pcg64.generators(np.random.SeedSequence(5), 1)[0]
    streams = pcg64.streams([gen])
    x1, s1 = x0, s0
    k0 = 0 if optimizer == "optimistic" and scheme == "sml" and game == "dirac" else 4  # OGDA's first step too
    for k in range(k0, k0 + STEPS):
        x1, s1 = optimizers.step(g, sch, x1, s1, k, rng=gen)

    x, s = x0.copy(), (s0.copy() if s0.size else np.zeros(1))
    _module(g.kernels, optimizer).iterate(x, s, g.params, g.data, streams, BATCH, SCHEME_ID[scheme], LR,
                                          opt.params(), g.d_theta, k0, STEPS)
    np.testing.assert_allclose(x, x1, rtol=1e-12, atol=1e-14)
    if s0.size:
        np.testing.assert_allclose(s, s1, rtol=1e-12, atol=1e-14)
    assert np.array_equal(streams[0], pcg64.words(gen.bit_generator.state))  # the same draws
