"""Games without an ``hvp`` kernel: the central difference of ``grad`` stands in, in Python
(``invariant.numerics.central_hvp``) and in the kernels (``_hvp_from_grad``), for the order-2
drift, the corrected diffusion and the conditions (docs/theory.md §1)."""
import dataclasses

import numpy as np
import pytest

from conftest import REFERENCE_GAME, make_config

from invariant import engine
from invariant.games import bilinear, dirac

EPS23 = np.finfo(np.float64).eps ** (2.0 / 3.0)
GAMES = {
    "bilinear": (lambda: bilinear.make([[1.0, 0.4], [-0.3, 0.8]], 0.3, 0.3), "fdgames.bilinear_nohvp"),
    "dirac-r1": (lambda: dirac.make(regularizer="r1", gamma=0.6, mu=0.5), "fdgames.dirac_nohvp"),
    "dirac-ns": (lambda: dirac.make(loss="non-saturating", mu=0.5), "fdgames.dirac_nohvp"),
}


def _pair(key):
    make, module = GAMES[key]
    game = make()
    return game, dataclasses.replace(game, kernels=module)


@pytest.mark.parametrize("key", sorted(GAMES))
def test_central_hvp_within_its_documented_error(key):
    # error ≲ ε^(2/3)(1 + |x|)²(|∇g| + |∇³g|)|v| (numerics.central_hvp); the Dirac-GAN's third
    # derivatives are those of the sigmoid times ψ, θ: bounded by a few at |x| ≲ 6, whence the 10
    exact, fd = _pair(key)
    assert not hasattr(fd.module, "hvp")
    rng = np.random.default_rng(0)
    for _ in range(50):
        x, v = 2.0 * rng.normal(size=exact.d), rng.normal(size=exact.d)
        bound = 10 * EPS23 * (1 + np.linalg.norm(x)) ** 2 * (1 + np.linalg.norm(exact.grad(x))) * np.linalg.norm(v)
        assert np.linalg.norm(fd.hvp(x, v) - exact.hvp(x, v)) <= bound


@pytest.mark.parametrize("table, module", [
    (REFERENCE_GAME, "fdgames.bilinear_nohvp"),
    ({"name": "dirac", "regularizer": "r1", "gamma": 0.6, "mu": 0.5}, "fdgames.dirac_nohvp"),
])
def test_engine_order_two_sde_with_the_kernels_difference(table, module):
    # the same corrected ALT-D SDE run with the game's hvp and with _hvp_from_grad: the paths
    # differ by the difference's error only
    cfg = make_config(game=table, simulation={"chains": 4, "t_end": 5.0, "t_burn": 1.0, "seed": 3, "chunks": 1})
    fd = dataclasses.replace(cfg.game, kernels=module)
    runs = [engine.simulate(dataclasses.replace(cfg, game=g)) for g in (cfg.game, fd)]
    a, b = (r.X for r in runs)
    assert cfg.scheme.order == 2 and cfg.scheme.corrected
    assert np.all(np.isfinite(a)) and np.abs(a - b).max() <= 1e-6 * (1 + np.abs(a).max())
