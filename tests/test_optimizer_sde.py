"""The SDEs of the optimisers (docs/theory.md §4b): the kernels' drift is the reference's,
the drift's order shows in the mean's weak error, and the engine's SDE chains sample the
exact law of their Euler–Maruyama recursion on an affine game."""
import numpy as np
import pytest
import scipy.linalg as sla
from conftest import make_config

from invariant import engine, exact, optimizers, stationary
from invariant.engine import build, render
from invariant.engine.build import load_generated
from invariant.optimizers import Optimizer
from invariant.schemes import Scheme

DIRAC = {"name": "dirac", "regularizer": "r1", "gamma": 0.6}
# (optimizer options, scheme, order): every SDE the toolkit has
SDES = [
    (dict(name="sgd", lr_ratio=2.0), "sml", 2),
    (dict(name="sgd", lr_ratio=2.0, n_critic=3), "alt-d", 2),
    (dict(name="sgd", lr_ratio=0.5), "alt-g", 2),
    (dict(name="sgd", n_critic=5), "alt-d", 1),
    (dict(name="momentum", momentum=0.5), "alt-d", 1),
    (dict(name="extragradient", lr_ratio=1.5), "sml", 2),
    (dict(name="optimistic"), "sml", 2),
    (dict(name="consensus", consensus=0.3), "sml", 1),
    (dict(name="consensus", consensus=0.3, lr_ratio=2.0), "sml", 2),
]
_IDS = [f"{o['name']}-{s}-{k}" for o, s, k in SDES]


def _scheme(opts, scheme, order, lr=0.07, batch_size=4):
    return Scheme(scheme, lr, batch_size, order, Optimizer(**opts))


_DRIFT = '''
@njit(cache=True)
def drift(x, p, data, use_b1, kc, dth):
    d = x.shape[0]
    gx, u, v, w, out = np.empty(d), np.empty(d), np.empty(d), np.empty(d), np.empty(d)
    _drift(x, p, data, use_b1, kc, dth, gx, u, v, w, np.empty((3, d)), out)
    return out
'''


@pytest.mark.parametrize("game", ["bilinear", "dirac"])
@pytest.mark.parametrize("opts,scheme,order", SDES, ids=_IDS)
def test_the_kernel_drift_is_the_reference_drift(game, opts, scheme, order):
    cfg = make_config(None if game == "bilinear" else DIRAC)
    g = cfg.game
    sch = _scheme(opts, scheme, order)
    kind = "consensus" if opts["name"] == "consensus" else "sgd"
    consts = {k: v for k, (v, _) in build.step_constants(kind, order).items()}
    mod = load_generated("invariant_drift_test",
                         render.cpu_module("SDE drift test.", g.kernels, ["step.py", render.Source(_DRIFT)], consts),
                         g.kernels)
    for x in np.random.default_rng(3).standard_normal((3, g.d)):
        out = mod.drift(x, g.params, g.data, sch.sde.uses_hvp, sch.sde.drift, g.d_theta)
        np.testing.assert_allclose(out, sch.drift(g, x), rtol=1e-9, atol=1e-11)


def _affine(game, sch):
    """``(A, c, D)`` of the SDE of ``sch`` on an affine game, from the reference drift and noise."""
    c = sch.drift(game, np.zeros(game.d))
    A = np.column_stack([sch.drift(game, e) - c for e in np.eye(game.d)])
    return A, c, sch.diffusion(game, np.zeros(game.d))


def _mean_error(game, sch, x0, T):
    """``|E x_k − E X_T|`` on an affine game: the mean of the chain is its exact-gradient map."""
    k = int(round(T / (sch.lr * sch.optimizer.time_scale)))
    x, s = x0.copy(), np.zeros(sch.optimizer.state_size(game.d))
    for j in range(k):
        x, s = optimizers.step(game, sch, x, s, j)
    A, c, _ = _affine(game, sch)
    xe = np.linalg.solve(A, -c)
    X = xe + sla.expm(A * k * sch.lr * sch.optimizer.time_scale) @ (x0 - xe)
    return np.abs(x - X).max()


@pytest.mark.parametrize("opts,scheme,order", SDES, ids=_IDS)
def test_the_mean_has_the_weak_order_of_the_drift(opts, scheme, order):
    """Deterministic: on an affine game the chain's mean is the map with exact gradients, the
    SDE's the linear ODE's flow, so the weak error of the mean is computed without Monte Carlo."""
    game = make_config().game
    x0 = np.full(game.d, 1.0)
    lrs = np.array([0.02, 0.01, 0.005, 0.0025])
    err = [_mean_error(game, _scheme(opts, scheme, order, lr), x0, T=2.0) for lr in lrs]
    slope = np.polyfit(np.log(lrs), np.log(err), 1)[0]
    print(f"{_IDS[SDES.index((opts, scheme, order))]}: errors {np.array(err)}, slope {slope:.3f}")
    assert abs(slope - order) < 0.1


def test_the_order_2_drift_is_not_the_order_1_drift():
    """The test above can fail: an order-1 SDE does not have order 2 against its chain."""
    game = make_config().game
    lrs = np.array([0.02, 0.01, 0.005])
    err = [_mean_error(game, _scheme(dict(name="extragradient"), "sml", 1, lr), np.ones(game.d), 2.0) for lr in lrs]
    assert abs(np.polyfit(np.log(lrs), np.log(err), 1)[0] - 1.0) < 0.1


RUN = {"chains": 32, "t_end": 300.0, "t_burn": 30.0, "dt": 0.01, "seed": 99, "dynamics": "sde"}
Z_MAX = 4.5


@pytest.mark.statistical
@pytest.mark.parametrize("training,order", [
    (dict(scheme="alt-d", optimizer="sgd", lr_ratio=2.0, n_critic=3), 2),
    (dict(scheme="sml", optimizer="consensus", consensus=0.5), 1),
    (dict(scheme="sml", optimizer="consensus", consensus=0.5), 2),
    (dict(scheme="alt-d", optimizer="momentum", momentum=0.5), 1),
])
def test_sde_chains_sample_the_exact_law_of_their_recursion(training, order):
    """The engine's SDE (drift coefficients, ω-noise scale, consensus's H L z′) on the
    default bilinear game: the stationary law of its Euler–Maruyama recursion within MCSE."""
    cfg = make_config(training={"lr": 0.1, **training}, simulation={**RUN, "order": order})
    r = engine.simulate(cfg)
    m = stationary.moments(r)
    A, c, D = _affine(cfg.game, cfg.scheme)
    I = np.eye(cfg.game.d)
    m_ref, P_ref = exact.discrete_stationary(I + cfg.dt * A, cfg.dt * c, cfg.dt * D)
    z_mean = (m.mean - m_ref) / m.mean_mcse
    z_cov = (m.cov - P_ref) / m.cov_mcse
    print(f"{training} order {order}: max|z| mean {np.abs(z_mean).max():.2f}, cov {np.abs(z_cov).max():.2f}")
    assert r.n_diverged == 0
    assert np.abs(z_mean).max() < Z_MAX and np.abs(z_cov).max() < Z_MAX


@pytest.mark.parametrize("training", [
    dict(scheme="alt-d", optimizer="momentum", momentum=0.5),
    dict(scheme="sml", optimizer="optimistic"),
    dict(scheme="alt-d", optimizer="sgd", n_critic=3, lr_ratio=2.0),
    dict(scheme="sml", optimizer="consensus", consensus=0.3),
    dict(scheme="sml", optimizer="extragradient"),
])
def test_weak_order_reports_each_sde_of_the_optimizer_against_its_chain(training):
    """`invariant weak-order` on an optimiser's config: exact on the affine game, the chain's
    moments from the augmented map (optimistic GDA's first step included)."""
    from invariant import weak
    res = weak.weak_order(make_config(training=training), horizons=[2.0])
    rows = res["comparisons"]
    opt = training["optimizer"]
    assert [r["expected_order"] for r in rows] == list(optimizers.SDE_ORDERS[opt])
    for r in rows:
        assert r["sde"].startswith(f"{opt}:") and r["scheme"] == f"{opt}:{training['scheme']}"
        assert abs(r["mean"]["order"] - r["expected_order"]) < 0.15, r["mean"]


def test_weak_order_of_an_optimizer_on_a_nonaffine_game_says_why_not():
    from invariant import weak
    from invariant.errors import ConfigError
    cfg = make_config(DIRAC, training=dict(scheme="sml", optimizer="extragradient"))
    with pytest.raises(ConfigError, match="affine games only"):
        weak.weak_order(cfg)
