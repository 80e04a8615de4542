"""The SDE drifts of docs/theory.md §3, tested through the derivation, not only the code."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from invariant import exact
from invariant.engine.build import kernels
from invariant.games import bilinear, dirac
from invariant.schemes import SCHEMES, Scheme
from conftest import REFERENCE_GAME

LRS = np.array([0.2, 0.1, 0.05, 0.025, 0.0125])
GAMES = {
    # nonlinear: vanilla loss with data and latent noise, R1; and the non-zero-sum non-saturating loss
    "dirac-vanilla-r1": dirac.make(loss="vanilla", regularizer="r1", gamma=0.3, mu=0.5, s=1.0, s_z=0.7),
    "dirac-ns-wd": dirac.make(loss="non-saturating", regularizer="weight-decay", gamma=0.2, lam=0.1, mu=-0.4, s=0.8, s_z=1.2),
}
X0 = np.array([0.9, -0.7])


def _local_error(game, name, order, lr):
    """|one deterministic step of the scheme − the flow of x' = b0 + lr·b1 over time lr|."""
    sch = Scheme(name, lr, 1, order)
    flow = solve_ivp(lambda t, x: sch.drift(game, x), (0.0, lr), X0, rtol=1e-12, atol=1e-15, method="DOP853")
    return np.linalg.norm(sch.step(game, X0) - flow.y[:, -1])


@pytest.mark.parametrize("game_name", list(GAMES))
@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize("order,expected", [(2, 3.0), (1, 2.0)])
def test_one_step_local_error_order(game_name, name, order, expected):
    game = GAMES[game_name]
    err = np.array([_local_error(game, name, order, lr) for lr in LRS])
    slope = np.polyfit(np.log(LRS), np.log(err), 1)[0]
    print(f"{game_name} {name} order {order}: local-error slope {slope:.3f}")
    assert abs(slope - expected) < 0.15


def test_mismatched_game_term_is_only_order_two():
    """ALT-D stepped against the SML order-2 drift misses the game term: error O(lr²)."""
    game = GAMES["dirac-vanilla-r1"]
    err = []
    for lr in LRS:
        sml = Scheme("sml", lr, 1, 2)
        flow = solve_ivp(lambda t, x, sml=sml: sml.drift(game, x), (0.0, lr), X0, rtol=1e-12, atol=1e-15, method="DOP853")
        err.append(np.linalg.norm(Scheme("alt-d", lr, 1, 2).step(game, X0) - flow.y[:, -1]))
    assert abs(np.polyfit(np.log(LRS), np.log(err), 1)[0] - 2.0) < 0.15


@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize("order", [1, 2])
def test_engine_drift_equals_scheme_drift(name, order):
    """The generated kernel's drift is the one the Python scheme and the exact references use."""
    games = [bilinear.from_config(REFERENCE_GAME), *GAMES.values()]
    rng = np.random.default_rng(1)
    for game in games:
        sch = Scheme(name, 0.07, 4, order)
        k = kernels(game.kernels, game.d, game.d_theta)
        x = rng.standard_normal(game.d)
        out, gx, u, v, w = (np.empty(game.d) for _ in range(5))
        k._drift(x, game.params, game.data, order == 2, sch.sde.drift, game.d_theta, gx, u, v, w, np.empty((3, game.d)),
                 out)
        assert np.allclose(out, sch.drift(game, x), rtol=1e-12, atol=1e-12)
        if game.affine:
            A, c = exact.drift(game, name, order, sch.lr)
            assert np.allclose(out, A @ x + c, rtol=1e-10, atol=1e-12)
