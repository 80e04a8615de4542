"""Games from a formula (invariant.games.formula_game): the kernels printed from a per-sample
loss equal the hand-written games' (bilinear, the quartic user game, the Dirac-GAN), runs
equal theirs for the same seed, and bad input names its field."""
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from invariant import cli, config, engine
from invariant.games import dirac, formula

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "invariant" / "default.toml"
QUARTIC = "c*t*w + lam/2*t**2 - gam/2*w**2 + beta/4*(t**4 - w**4) + y*t + z*w"
BILINEAR = ("t[0]*(C[0,0]*w[0] + C[0,1]*w[1]) + t[1]*(C[1,0]*w[0] + C[1,1]*w[1])"
            " + lam/2*(t[0]**2 + t[1]**2) - gam/2*(w[0]**2 + w[1]**2)"
            " + y[0]*t[0] + y[1]*t[1] + z[0]*w[0] + z[1]*w[1]")
DIRAC = "logsigmoid(p*y) + logsigmoid(-p*(t + z)) - gamma/2*p**2"
POINTS = np.array([[0.3, -0.8, 0.1, 0.5], [1.2, 0.5, -0.7, 0.2], [0.0, 2.0, 0.4, -1.1]])


def _bilinear_table(hand: dict) -> dict:
    return {"name": "formula", "theta": ["t[2]"], "omega": ["w[2]"], "loss": BILINEAR,
            "constants": {"C": hand["C"], "lam": hand["lam"], "gam": hand["gam"]},
            "xi": {"y": {"normal": {"mean": [0.0, 0.0], "cov": hand["Sigma_theta"]}},
                   "z": {"normal": {"mean": [0.0, 0.0], "cov": hand["Sigma_omega"]}}}}


def _quartic_table() -> dict:
    # data/user_game.toml's constants; its noise scales s_theta = s_omega = 1 by default
    return {"name": "formula", "theta": ["t"], "omega": ["w"], "loss": QUARTIC,
            "constants": {"c": 1.0, "lam": 0.2, "gam": 0.2, "beta": 0.1},
            "xi": {"y": {"normal": [0.0, 1.0]}, "z": {"normal": [0.0, 1.0]}}}


@pytest.fixture
def user_path(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "data" / "user_game"))


def _same_kernels(a, b, tol, sigma=None):
    """Every kernel of the protocol agrees, the random ones for the same stream; ``Σ`` with
    ``b``'s or, where ``b`` only estimates it from samples, with ``sigma``."""
    for x in POINTS[:, : a.d]:
        v = np.linspace(0.3, 1.1, a.d)
        assert abs(a.loss(x) - b.loss(x)) <= tol
        np.testing.assert_allclose(a.grad(x), b.grad(x), rtol=0, atol=tol)
        np.testing.assert_allclose(a.hvp(x, v), b.hvp(x, v), rtol=0, atol=tol)
        np.testing.assert_allclose(a.sigma(x), b.sigma(x) if sigma is None else sigma, rtol=0, atol=tol)
        outs = []
        for g in (a, b):
            n = np.empty(g.d)
            g.module.noise(x, g.params, g.data, np.random.default_rng(1), n)
            bg = np.zeros((2, g.d))
            for player in (0, 1):
                g.module.batch_grad(x, g.params, g.data, np.random.default_rng(2), 8, player, bg[player])
            outs.append((n, bg, g.sample_grads(x, 4, np.random.default_rng(3))))
        for u, w in zip(*outs, strict=True):
            np.testing.assert_allclose(u, w, rtol=0, atol=tol)


def _final_states(game_table: dict, base: dict, **sim) -> np.ndarray:
    table = {**base, "game": game_table, "simulation": {**base["simulation"], **sim}}
    r = engine.simulate(config.from_dict(table))
    assert r.n_diverged == 0
    return r.X


def test_bilinear_default_as_a_formula_runs_as_the_bilinear_game():
    base = _toml(DEFAULT)
    hand_cfg = config.from_dict(base)
    f = config.from_dict({**base, "game": _bilinear_table(base["game"])}).game
    assert f.affine and f.d_theta == 2
    _same_kernels(f, hand_cfg.game, 1e-12)
    np.testing.assert_allclose(f.info["Sigma"], hand_cfg.game.info["Sigma"], rtol=0, atol=1e-15)
    # the default run (ALT-SDE of order 2), short: the same chains for the same seed
    short = {"chains": 4, "t_end": 2.0, "t_burn": 0.0}
    a = _final_states(_bilinear_table(base["game"]), base, **short)
    b = _final_states(base["game"], base, **short)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_quartic_user_game_as_a_formula_runs_as_the_user_game(user_path):
    base = _toml(ROOT / "data" / "user_game.toml")
    hand = config.from_dict(base).game
    f = config.from_dict({**base, "game": _quartic_table()}).game
    assert not f.affine
    _same_kernels(f, hand, 1e-12, sigma=np.eye(2))  # the user game's Σ is diag(s_theta², s_omega²)
    # SGA chains (batch_grad) and the SDE (noise, hvp): the same chains for the same seed
    for dyn in ({"dynamics": "sga"}, {"dynamics": "sde", "order": 2}):
        short = {"chains": 4, "t_end": 2.0, "t_burn": 0.0, **dyn}
        a = _final_states(_quartic_table(), base, **short)
        b = _final_states(base["game"], base, **short)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("loss,theta_loss", [("vanilla", None), ("non-saturating", "-logsigmoid(p*(t + z))")])
def test_dirac_r1_as_a_formula_matches_dirac(loss, theta_loss):
    hand = dirac.make(loss=loss, regularizer="r1", gamma=0.6, mu=0.5, s=0.7, s_z=1.3)
    f = formula(["t"], ["p"], DIRAC, constants={"gamma": 0.6}, loss_theta=theta_loss,
                xi={"y": {"normal": [0.5, 0.7]}, "z": {"normal": [0.0, 1.3]}})
    for x in POINTS[:, :2]:
        v = np.array([0.7, -1.1])
        np.testing.assert_allclose(f.grad(x), hand.grad(x), rtol=0, atol=1e-10)
        np.testing.assert_allclose(f.hvp(x, v), hand.hvp(x, v), rtol=0, atol=1e-10)
        np.testing.assert_allclose(f.sigma(x), hand.sigma(x), rtol=0, atol=1e-10)
        assert f.generator_loss(x) == pytest.approx(hand.generator_loss(x), abs=1e-10)


def test_finite_and_data_laws_are_exact_means():
    # ĝ = t·y·w + t·sigmoid(w·u) − w²/2 with y a data row (mixture1d.csv) and u finite
    ys = np.loadtxt(ROOT / "data" / "mixture1d.csv", delimiter=",", comments="#")
    us, ps = np.array([-1.0, 0.0, 2.0]), np.array([0.2, 0.5, 0.3])
    f = formula(["t"], ["w"], "t*y*w + t*sigmoid(w*u) - w**2/2",
                xi={"y": {"data": "mixture1d.csv"}, "u": {"values": us.tolist(), "probs": ps.tolist()}})
    t, w = 0.4, -0.9
    sg = 1 / (1 + np.exp(-w * us))
    gt = ys * w, sg  # the two independent parts of ∂_t ĝ
    gw = ys * t, t * us * sg * (1 - sg)
    assert f.grad([t, w]) == pytest.approx([ys.mean() * w + ps @ sg, ys.mean() * t + ps @ gw[1] - w], abs=1e-12)
    var = lambda a, q=None: np.cov(a, aweights=q, bias=True) if q is not None else a.var()  # noqa: E731
    S = f.sigma([t, w])
    assert S[0, 0] == pytest.approx(var(gt[0]) + var(gt[1], ps), abs=1e-12)
    assert S[1, 1] == pytest.approx(var(gw[0]) + var(gw[1], ps), abs=1e-12)
    G = f.sample_grads([t, w], 4000, np.random.default_rng(0))
    z = (G.mean(axis=0) - f.grad([t, w])) / (G.std(axis=0) / np.sqrt(len(G)))
    assert np.all(np.abs(z) < 4)


BAD = [
    ({"loss": "c*t*w + q*t"}, "game.loss", "unknown symbol 'q'"),
    ({"loss": "c*t**2 + y*t"}, "game.loss", "does not depend on omega"),
    ({"loss_theta": "w**2"}, "game.loss_theta", "does not depend on theta"),
    ({"loss": "c*t*w + abs(w)"}, "game.loss", "abs() is not differentiable"),
    ({"loss": "c*t*w + Max(w, t)"}, "game.loss", "Max() is not differentiable"),
    ({"xi": {"y": {"uniform": [0.0, 1.0]}}}, "game.xi.y", "unsupported law"),
    ({"loss": "c*t*w + t["}, "game.loss", "cannot parse"),
]


@pytest.mark.parametrize("change,field,words", BAD, ids=[b[2].split()[0] for b in BAD])
def test_bad_input_exits_2_naming_the_field(change, field, words, tmp_path, capsys):
    table = {"theta": ["t"], "omega": ["w"], "loss": "c*t*w + y*t", "constants": {"c": 1.0},
             "xi": {"y": {"normal": [0.0, 1.0]}}, **change}
    lines = ["[game]", 'name = "formula"'] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(lines) + "\n")
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{field}:" in err and words in err, err


def test_bad_input_from_a_fresh_process(tmp_path):
    # `invariant check` imports the games package before the engine: no import cycle
    path = tmp_path / "bad.toml"
    path.write_text('[game]\nname = "formula"\ntheta = ["t"]\nomega = ["w"]\nloss = "t*w + q"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-m", "invariant", "check", str(path)], capture_output=True, text=True, env=env)
    assert res.returncode == 2 and res.stderr.strip().splitlines() == [
        "invariant: error: game.loss: unknown symbol 'q'; declared: t, w (`q` at column 7)"]


def _toml_value(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text())
