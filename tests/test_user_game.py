"""A user game from "pkg.module:factory" runs through the same engine as the built-ins."""
from pathlib import Path

import numpy as np
import pytest

from invariant import cli, config, engine, stationary
from invariant.schemes import Scheme

USER_DIR = Path(__file__).resolve().parent.parent / "data" / "user_game"


@pytest.fixture
def user_path(monkeypatch):
    monkeypatch.syspath_prepend(str(USER_DIR))


def test_user_game_runs_and_matches_its_own_python_scheme(user_path, tmp_path):
    cfg = config.load(USER_DIR.parent / "user_game.toml", {"simulation.chains": 8, "simulation.t_end": 50.0})
    game = cfg.game
    x = np.array([0.3, -0.8])
    # kernels agree with finite differences: the protocol is what the engine relies on
    eps = 1e-6
    fd = [(game.loss(x + eps * e) - game.loss(x - eps * e)) / (2 * eps) for e in np.eye(2)]
    assert np.allclose(game.grad(x), fd, atol=1e-7)
    assert np.allclose(game.hessian(x), game.hessian(x).T)
    r = engine.simulate(cfg)
    assert r.n_diverged == 0
    assert stationary.moments(r).verdict != "not settled"
    assert Scheme("sml", 0.05, 8, 1).drift(game, x).shape == (2,)


def test_user_game_from_cli(user_path, tmp_path):
    args = ["run", str(USER_DIR.parent / "user_game.toml"), "--out", str(tmp_path / "o"), "--chains", "4",
            "--t-end", "30", "--no-progress"]
    assert cli.main(args) == 0
    assert (tmp_path / "o" / "summary.json").exists()


def test_factory_errors_name_the_field(user_path):
    with pytest.raises(config.ConfigError, match="game.typo"):
        config.from_dict({"game": {"name": "quartic_saddle:make_game", "typo": 1}})
