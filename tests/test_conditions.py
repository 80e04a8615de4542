"""Conditions C1–C4 for a unique invariant measure (docs/theory.md §4) and ``invariant check``.

Everything here is deterministic (closed forms, or a fixed Sobol search), so comparisons are
exact up to the tolerances the issue states (2 % between the exact and the searched ``c``) or
round-off; there is no Monte Carlo error to allow for.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from invariant import cli, conditions, config, exact
from invariant.conditions import local as cond_local, shells as cond_shells
from invariant.games import dirac, mlp
from invariant.schemes import Scheme
from conftest import REFERENCE_GAME, make_config

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEARCH = {"method": "search"}


def _sym_lmax(A):
    return float(np.linalg.eigvalsh(0.5 * (A + A.T))[-1])


# --------------------------------------------------------------------------- exact helpers
def test_sphere_max_is_the_trust_region_maximum():
    rng = np.random.default_rng(0)
    for d in (2, 3, 5):
        for _ in range(5):
            M = rng.standard_normal((d, d))
            B = 0.5 * (M + M.T)
            g = rng.standard_normal(d)
            val, u = conditions.sphere_max(B, g)
            assert abs(np.linalg.norm(u) - 1) < 1e-10
            assert abs(u @ B @ u + g @ u - val) < 1e-10
            U = rng.standard_normal((20000, d))
            U /= np.linalg.norm(U, axis=1, keepdims=True)
            brute = np.max(np.einsum("ni,ij,nj->n", U, B, U) + U @ g)
            assert brute <= val + 1e-10
    # hard case: g orthogonal to the top eigenvector
    B = np.diag([1.0, -1.0])
    val, u = conditions.sphere_max(B, np.array([0.0, 0.5]))
    assert abs(val - (1.0 + 0.5**2 / (4 * 2.0))) < 1e-12  # λmax + g²/(4 gap)


def test_lyapunov_matrix():
    A = np.array([[0.2, -1.5], [1.5, -1.0]])  # stable, non-normal
    Q = conditions.lyapunov_matrix(A)
    assert np.allclose(A.T @ Q + Q @ A, -np.eye(2), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(Q) > 0)
    assert conditions.lyapunov_matrix(np.array([[0.1, 1.0], [-1.0, 0.0]])) is None


# --------------------------------------------------------------------------- bilinear
@pytest.mark.parametrize("scheme,order", [("sml", 1), ("sml", 2), ("alt-d", 2), ("alt-g", 2)])
def test_bilinear_c_is_minus_lambda_max_exact_and_searched(scheme, order):
    """c = −λ_max((A+Aᵀ)/2) exactly; the numerical search agrees within 2 %; λ_min exact."""
    cfg = make_config(REFERENCE_GAME, {"scheme": scheme})
    s = Scheme(scheme, cfg.scheme.lr, cfg.scheme.batch_size, order)
    A, c = exact.drift(cfg.game, scheme, order, s.lr)
    D = exact.diffusion(cfg.game, s.lr, s.batch_size)
    ex = conditions.check(cfg.game, s, local=False)
    num = conditions.check(cfg.game, s, SEARCH, local=False)
    assert ex.exact and not num.exact
    assert ex.dissipativity.c == pytest.approx(-_sym_lmax(A), abs=1e-12)
    assert ex.dissipativity.holds and num.dissipativity.holds
    assert abs(num.dissipativity.c / ex.dissipativity.c - 1) < 0.02
    assert ex.ellipticity.lambda_min == pytest.approx(np.linalg.eigvalsh(D)[0], rel=1e-12)
    assert num.ellipticity.lambda_min == pytest.approx(ex.ellipticity.lambda_min, rel=1e-9)
    assert ex.bounded_diffusion.sup_norm == pytest.approx(np.linalg.eigvalsh(D)[-1], rel=1e-12)
    assert num.bounded_diffusion.holds and num.bounded_jacobian.holds
    assert num.bounded_jacobian.sup_norm == pytest.approx(np.linalg.norm(A, 2), rel=1e-6)
    assert ex.verdict == num.verdict == "unique"


def test_bilinear_exact_radii_are_tight():
    """R (for c/2) and R* (V = |x|²) from the exact path: the bound holds just outside, fails just inside."""
    cfg = make_config(REFERENCE_GAME)
    s = cfg.scheme
    A, off = exact.drift(cfg.game, s.name, s.order, s.lr)
    D = exact.diffusion(cfg.game, s.lr, s.batch_size)
    res = conditions.check(cfg.game, s, {"lyapunov": "norm2"}, local=False)
    d = res.dissipativity
    rng = np.random.default_rng(1)
    U = rng.standard_normal((50000, A.shape[0]))
    U /= np.linalg.norm(U, axis=1, keepdims=True)

    def worst(f, r):
        X = r * U
        return np.max(f(X))

    c2 = lambda X: np.einsum("ni,ni->n", X, X @ A.T + off) + d.c_at_R * np.einsum("ni,ni->n", X, X)  # noqa: E731
    assert d.R > 0 and worst(c2, d.R * 1.001) <= 1e-12
    x_w = np.asarray(d.worst[0]["x"]) * 0.999
    assert x_w @ (A @ x_w + off) + d.c_at_R * x_w @ x_w > 0  # the stated worst point just inside R violates it
    lv = lambda X: 2 * np.einsum("ni,ni->n", X, X @ A.T + off) + np.trace(D)  # noqa: E731
    ly = res.lyapunov
    assert ly.V == "norm2" and ly.exact
    assert worst(lv, ly.R_star * 1.001) <= -1
    x_w = np.asarray(ly.worst[0]["x"]) * 0.999
    assert 2 * x_w @ (A @ x_w + off) + np.trace(D) > -1
    # geometric form LV ≤ −aV + β everywhere
    X = np.concatenate([r * U for r in (0.1, 1.0, 3.0, 10.0, 100.0)])
    assert np.all(lv(X) <= -ly.a * np.einsum("ni,ni->n", X, X) + ly.beta + 1e-9)
    # weak C2 form
    Xb = np.einsum("ni,ni->n", X, X @ A.T + off)
    assert np.all(Xb <= -d.alpha * np.einsum("ni,ni->n", X, X) + d.beta + 1e-9)


def test_nonnormal_bilinear_unique_via_automatic_Q():
    cfg = config.load(DATA / "bilinear_nonnormal.toml")
    A, off = exact.drift(cfg.game, cfg.scheme.name, cfg.scheme.order, cfg.scheme.lr)
    assert _sym_lmax(A) > 0 and np.max(np.linalg.eigvals(A).real) < 0  # non-normal, stable
    for opts in ({}, SEARCH):
        res = conditions.check_config(cfg) if not opts else conditions.check(cfg.game, cfg.scheme, opts)
        assert not res.dissipativity.holds
        assert res.dissipativity.c == pytest.approx(-_sym_lmax(A), rel=1e-9)
        assert res.lyapunov.holds and res.lyapunov.V == "quadratic"
        assert res.verdict == "unique", res.reason
        assert "C2 fails" in res.reason
        norm2 = next(c for c in res.lyapunov.candidates if c["V"] == "norm2")
        assert not norm2["holds"]
    # exact R* = |m| + sqrt(1 + Tr(QD))
    res = conditions.check_config(cfg)
    Q = np.asarray(res.lyapunov.Q)
    D = exact.diffusion(cfg.game, cfg.scheme.lr, cfg.scheme.batch_size)
    m = np.linalg.solve(A, -off)
    assert res.lyapunov.R_star == pytest.approx(np.linalg.norm(m) + math.sqrt(1 + np.sum(Q * D)), rel=1e-12)
    num = conditions.check(cfg.game, cfg.scheme, SEARCH)
    assert res.lyapunov.R_star <= num.lyapunov.R_star <= res.lyapunov.R_star * 10 ** 0.2 * 1.0001  # next shell


def test_unstable_bilinear_not_established_and_chains_escape(tmp_path, capsys):
    path = DATA / "bilinear_unstable.toml"
    res = conditions.check_config(config.load(path))
    assert res.verdict == "not established"
    assert res.reason.startswith("C4 fails") and "not Hurwitz" in res.reason
    assert res.local.equilibria_b[0].kind == "unstable"
    out = tmp_path / "run"
    assert cli.main(["run", str(path), "--out", str(out), "--chains", "8", "--no-progress"]) == 0
    summ = json.loads((out / "summary.json").read_text())
    assert summ["run"]["diverged_chains"] == 8  # every chain escapes |x| > escape_radius
    assert summ["conditions"]["verdict"] == "not established"
    assert summ["conditions"]["dissipativity"]["holds"] is False


# --------------------------------------------------------------------------- Dirac-GAN
def test_dirac_without_regulariser_is_not_unique():
    wgan = conditions.check_config(config.load(DATA / "dirac_none.toml"))
    assert wgan.exact and not wgan.dissipativity.holds
    assert not wgan.ellipticity.holds and wgan.ellipticity.lambda_min == 0.0  # Σ_θ ≡ 0: degenerate
    assert "singular" in wgan.ellipticity.reason
    assert wgan.verdict == "not established"
    # the order-2 drift: SML spirals out at rate lr·f'(0)²... here a centre for ALT, ±i
    assert wgan.local.equilibria_b0[0].kind == "rotation"
    vanilla = conditions.check_config(config.load(DATA / "dirac_vanilla_noisy.toml"))
    assert not vanilla.dissipativity.holds and not vanilla.ellipticity.holds
    assert not vanilla.bounded_diffusion.holds  # Σ_ψ grows like θ²
    assert vanilla.verdict != "unique"


def test_dirac_noise_damps_psi_locally():
    """Vanilla loss with data/latent noise: J_ψψ = −(s² + s_z²)/4 at the equilibrium, so the
    rotation becomes a focus contracting at rate (s² + s_z²)/8 (f''(0) = −1/4)."""
    for s, sz in ((1.0, 1.0), (0.5, 1.0)):
        g = dirac.make(s=s, s_z=sz)
        loc = conditions.local_analysis(g, Scheme("alt-d", 0.05, 4, 1))
        e = loc.equilibria_b0[0]
        assert np.allclose(e.x, 0, atol=1e-9)
        assert e.damping["omega[0]"] == pytest.approx((s * s + sz * sz) / 4, rel=1e-6)
        assert e.kind == "contraction" and e.rate == pytest.approx((s * s + sz * sz) / 8, rel=1e-6)
        assert loc.controllable  # σσᵀ(0) = diag(0, ·) but the rotation carries the noise into θ


def test_dirac_mescheder_schemes():
    """s = s_z = 0: b0 is a centre (±i f'(0)); the order-2 SML drift spirals out at rate
    lr f'(0)²/2 while ALT-D and ALT-G keep a centre (docs/theory.md §3's game term)."""
    lr = 0.05
    loc = conditions.local_analysis(dirac.make(s=0.0, s_z=0.0), Scheme("alt-d", lr, 4, 2))
    sch = loc.schemes
    assert sch["b0"]["kind"] == "rotation" and sch["b0"]["frequency"] == pytest.approx(0.5, rel=1e-9)
    assert sch["sml-2"]["kind"] == "unstable" and -sch["sml-2"]["rate"] == pytest.approx(lr * 0.25 / 2, rel=1e-6)
    assert sch["alt-d-2"]["kind"] == "rotation" and sch["alt-g-2"]["kind"] == "rotation"


def test_dirac_r1_local_contraction_but_no_global_dissipativity():
    gamma = 0.6
    g = dirac.make(regularizer="r1", gamma=gamma, s=0.0, s_z=0.0)
    res = conditions.check(g, Scheme("alt-d", 0.05, 4, 1))
    e = res.local.equilibria_b0[0]
    assert e.kind == "contraction" and e.rate == pytest.approx(gamma / 2, rel=1e-6)  # Mescheder: γ/2
    assert not res.dissipativity.holds and res.dissipativity.c == 0.0
    u = np.asarray(res.dissipativity.worst[0]["x"]) / res.dissipativity.worst[0]["r"]
    assert abs(u[0]) > 0.99  # the dissipation fades along θ
    assert res.verdict == "not established"
    assert any("Locally" in n for n in res.notes)
    # the shipped R1 config (noisy data): the same picture, rate shifted by the noise damping
    r1 = conditions.check_config(config.load(DATA / "dirac_r1.toml"))
    assert not r1.dissipativity.holds and r1.verdict == "not established"
    assert r1.local.equilibria_b[0].kind == "contraction"


def test_dirac_weight_decay_is_dissipative():
    g = dirac.make(regularizer="weight-decay", gamma=0.2, lam=0.5)
    res = conditions.check(g, Scheme("alt-d", 0.05, 4, 1), local=False)
    assert res.dissipativity.holds and res.dissipativity.c == pytest.approx(0.2, rel=0.02)  # min(γ, λ)
    assert res.lyapunov.holds and not res.ellipticity.holds and not res.bounded_diffusion.holds
    assert res.verdict == "exists"
    shipped = conditions.check_config(config.load(DATA / "dirac_weight_decay.toml"))
    assert shipped.dissipativity.holds and shipped.lyapunov.holds and shipped.verdict == "exists"
    assert "C3 fails" in shipped.reason
    # WGAN + weight decay is affine: exact; hypoelliptic (Kalman), so μ is unique without C3
    w = conditions.check(dirac.make(loss="wgan", regularizer="weight-decay", gamma=0.3, lam=0.3),
                         Scheme("alt-d", 0.05, 4, 2))
    assert w.exact and w.verdict == "unique (hypoelliptic)" and w.ellipticity.lambda_min == 0.0
    assert any("Kalman" in n for n in w.notes)


def test_jacobian_at_equilibrium_matches_finite_differences():
    g = dirac.make(regularizer="r1", gamma=0.3)
    Js = cond_local.jacobians_at_b0_zero(g, np.zeros(2), 0.05)
    for name in ("sml", "alt-d", "alt-g"):
        fd = cond_shells.Problem(g, Scheme(name, 0.05, 4, 2)).jacobian(np.zeros(2))
        assert np.allclose(Js[f"{name}-2"], fd, atol=1e-7)
    cfg = make_config(REFERENCE_GAME)
    m = conditions.local_analysis(cfg.game, cfg.scheme).equilibria_b0[0].x
    Js = cond_local.jacobians_at_b0_zero(cfg.game, np.asarray(m), 0.05)
    for name in ("sml", "alt-d", "alt-g"):
        assert np.allclose(Js[f"{name}-2"], exact.drift(cfg.game, name, 2, 0.05)[0], atol=1e-12)


# --------------------------------------------------------------------------- mlp
def test_mlp_with_and_without_weight_decay():
    """Without weight decay the drift vanishes far out (saturated units) and is exactly zero
    along dead-unit axes: C2 and C4 fail.  Weight decay gives C2 with c = min(γ, λ)."""
    s = Scheme("alt-d", 0.1, 64, 1)
    plain = conditions.check(mlp.make(width=3, nodes=32), s, local=False)
    assert not plain.dissipativity.holds and plain.dissipativity.c == 0.0
    assert not plain.lyapunov.holds and not plain.ellipticity.holds
    assert plain.verdict == "not established"
    wd = conditions.check(mlp.make(width=3, nodes=32, regularizer="weight-decay", gamma=0.001, lam=0.002), s,
                          local=False)
    assert wd.dissipativity.holds and wd.dissipativity.c == pytest.approx(0.001, rel=0.02)
    assert not wd.ellipticity.holds
    assert wd.verdict in ("exists", "not established") and wd.verdict != "unique"


# --------------------------------------------------------------------------- user V, config
def test_user_lyapunov_function_from_config(tmp_path, monkeypatch):
    cfg = config.load(DATA / "bilinear_nonnormal.toml")
    A, _ = exact.drift(cfg.game, cfg.scheme.name, cfg.scheme.order, cfg.scheme.lr)
    Q = conditions.lyapunov_matrix(A)
    (tmp_path / "myv.py").write_text(
        "import numpy as np\n"
        f"Q = np.array({Q.tolist()!r})\n"
        "def V(x):\n    return float(x @ Q @ x)\n"
        "def V_parts(x):\n    return float(x @ Q @ x), 2 * Q @ x, 2 * Q\n"
        "def norm2(x):\n    return float(x @ x)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("myv:V", "myv:V_parts"):
        c = config.load(DATA / "bilinear_nonnormal.toml", {"conditions.lyapunov": name})
        res = conditions.check_config(c)
        assert res.lyapunov.V == name and res.lyapunov.holds and not res.lyapunov.exact
        assert res.verdict == "unique"
    c = config.load(DATA / "bilinear_nonnormal.toml", {"conditions.lyapunov": "myv:norm2"})
    assert not conditions.check_config(c).lyapunov.holds


@pytest.mark.parametrize("entry,field", [
    ("typo = 1", "conditions.typo"),
    ('lyapunov = "cubic"', "conditions.lyapunov"),
    ('lyapunov = "no_such_module_xyz:V"', "conditions.lyapunov"),
    ("radius_max = 0.05", "conditions.radius_max"),
    ("directions = 0", "conditions.directions"),
    ('method = "guess"', "conditions.method"),
])
def test_bad_conditions_entries_exit_2(tmp_path, capsys, entry, field):
    text = (DATA / "bilinear_altd.toml").read_text() + f"\n[conditions]\n{entry}\n"
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0], err


def test_resolved_config_round_trips():
    cfg = config.load(DATA / "bilinear_altd.toml", {"conditions.radius_max": 500.0})
    back = config.from_dict(json.loads(json.dumps(cfg.resolved)))
    assert back.conditions == cfg.conditions and back.conditions["radius_max"] == 500.0


# --------------------------------------------------------------------------- the command
def _configs():
    # mlp_ring8.toml (d = 1213) is left out: its search takes minutes (summary.CONDITIONS_D_MAX)
    return [p for p in sorted(DATA.glob("*.toml")) if p.name != "mlp_ring8.toml"]


@pytest.mark.parametrize("path", _configs(), ids=lambda p: p.name)
def test_check_every_data_config(path, tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(DATA / "user_game"))
    out = tmp_path / "c.json"
    t0 = time.perf_counter()
    assert cli.main(["check", str(path), "--json", str(out)]) == 0
    seconds = time.perf_counter() - t0
    text = capsys.readouterr().out
    assert "verdict:" in text
    c = json.loads(out.read_text())["conditions"]
    for key, fields in (("dissipativity", ("holds", "c", "R")), ("ellipticity", ("holds", "lambda_min")),
                        ("bounded_diffusion", ("holds", "sup_norm")), ("lyapunov", ("holds", "R_star"))):
        for f in fields:
            assert f in c[key], (key, f)
    assert c["verdict"] in ("unique", "unique (hypoelliptic)", "exists", "not established") and c["reason"]
    assert "holds" in c["hormander"] and "holds" in c["reachability"]
    assert c["searched"]["method"] in ("exact", "search")
    assert seconds < 30, f"{path.name}: {seconds:.1f} s"


def test_run_writes_conditions_into_summary(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["run", str(DATA / "bilinear_nonnormal.toml"), "--out", str(out), "--chains", "4",
                     "--t-end", "40", "--no-progress"]) == 0
    c = json.loads((out / "summary.json").read_text())["conditions"]
    assert c["verdict"] == "unique" and c["dissipativity"]["holds"] is False and c["lyapunov"]["holds"] is True


def test_affine_drift_detected_for_an_undeclared_game(monkeypatch):
    """The example user game with beta = 0 is linear but not declared affine: detected, exact path."""
    monkeypatch.syspath_prepend(str(DATA / "user_game"))
    cfg = config.from_dict({"game": {"name": "quartic_saddle:make_game", "beta": 0.0, "lam": -0.1, "gam": 0.5,
                                     "c": 1.2}, "training": {"scheme": "alt-d", "lr": 0.05, "batch_size": 8}})
    res = conditions.check_config(cfg, local=False)
    assert res.exact and "detected" in res.searched.why
    A = conditions.affine_drift(cfg.game, cfg.scheme)[0]
    assert res.dissipativity.c == pytest.approx(-_sym_lmax(A), rel=1e-12) and res.dissipativity.c < 0
    assert res.lyapunov.V == "quadratic" and res.verdict == "unique"
    quartic = conditions.check_config(config.load(DATA / "user_game.toml"), local=False)
    assert not quartic.exact and quartic.dissipativity.holds and quartic.dissipativity.growth > 1  # superlinear
