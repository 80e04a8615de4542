"""Uniqueness under degenerate noise (docs/theory.md §4.4): Kalman's rank condition, the searched
bracket condition, reachability and the verdict ``unique (hypoelliptic)``.

Everything is deterministic (closed forms, a fixed Sobol search, ODE flows), so the
comparisons are exact up to round-off or the stated finite-difference and ODE tolerances.
"""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from invariant import conditions, config
from invariant.conditions import reach
from invariant.conditions.linalg import kalman
from invariant.conditions.shells import Problem
from conftest import make_config

DATA = Path(__file__).resolve().parent.parent / "data"


def test_kalman_rank_against_hand_computed_ranks():
    # rotation, noise on the second coordinate: K = [e2, Ae2] = [[0, 1], [1, 0]], both singular values 1
    k = kalman(np.array([[0.0, 1.0], [-1.0, 0.0]]), np.array([[0.0], [1.0]]))
    assert k.rank == 2 and k.controllable and k.s_min == pytest.approx(1.0, abs=1e-15)
    # diag(−1, −2), σ = (1, 1): K = [[1, −1/2], [1, −1]] (Â = A/2), det = −1/2 ≠ 0
    k = kalman(np.diag([-1.0, -2.0]), np.array([[1.0], [1.0]]))
    K = np.array([[1.0, -0.5], [1.0, -1.0]]) / math.sqrt(2)
    sv = np.linalg.svd(K, compute_uv=False)
    assert k.rank == 2 and k.s_min == pytest.approx(sv[1] / sv[0], rel=1e-12)
    # equal eigenvalues: Aσ ∥ σ, rank 1
    k = kalman(-np.eye(2), np.array([[1.0], [1.0]]))
    assert k.rank == 1 and not k.controllable and k.s_min <= k.tolerance
    assert k.tolerance == pytest.approx((2 * 2 + 2) * np.finfo(float).eps, rel=1e-12, abs=0)  # K is 2 × 2
    # an integrator chain: noise at its end reaches all 3 coordinates, at its start none beyond it
    N = np.diag([1.0, 1.0], k=1)
    assert kalman(N, np.eye(3)[:, [2]]).rank == 3
    assert kalman(N, np.eye(3)[:, [0]]).rank == 1


@pytest.mark.parametrize("name", ["dirac_wgan_weight_decay", "dirac_wgan_r1"])
def test_wgan_dirac_is_unique_by_hypoellipticity(name):
    """Noise on ψ only (Σ_θ = 0), C3 fails; the affine drift couples θ to ψ: Kalman rank 2."""
    res = conditions.check_config(config.load(DATA / f"{name}.toml"))
    assert res.exact and not res.ellipticity.holds and res.lyapunov.holds
    h, r = res.hormander, res.reachability
    assert h.method == "kalman" and h.holds and h.rank == 2 and h.s_min > 1e3 * h.tolerance
    assert r.holds and r.exact and r.controllable
    assert res.verdict == "unique (hypoelliptic)", res.reason
    assert "Hörmander" in conditions.format_report(res)


def test_searched_brackets_and_flows_on_the_wgan_dirac():
    """The same game by the numerical search: the bracket matrix [σ_ψ, [σ_ψ, b]] = [σ_ψ, Aσ_ψ]
    is the same at every point, so its unit-column s_d is known; the flows prove reachability."""
    cfg = config.load(DATA / "dirac_wgan_weight_decay.toml", {"conditions.method": "search"})
    res = conditions.check_config(cfg)
    h, r = res.hormander, res.reachability
    assert not res.exact and h.method == "brackets" and h.holds and h.depth == 1
    A = Problem(cfg.game, cfg.scheme).jacobian(np.zeros(2))
    M = np.column_stack([[0.0, 1.0], A[:, 1] / np.linalg.norm(A[:, 1])])
    assert h.s_min == pytest.approx(np.linalg.svd(M, compute_uv=False)[1], abs=1e-6)
    assert r.holds and not r.exact and r.flows["entered"] == r.flows["points"] > 0
    assert res.verdict == "unique (hypoelliptic)", res.reason


def test_noise_that_cannot_reach_theta_is_not_hypoelliptic():
    """Bilinear with C = 0 and Σ_θ = 0: θ never sees noise (the config accepts a zero Σ_θ)."""
    cfg = make_config({"name": "bilinear", "C": [[0.0, 0.0], [0.0, 0.0]], "lam": 0.3, "gam": 0.5,
                       "Sigma_theta": [[0.0, 0.0], [0.0, 0.0]], "Sigma_omega": [[1.0, 0.2], [0.2, 0.5]]})
    res = conditions.check_config(cfg)
    assert res.lyapunov.holds and not res.ellipticity.holds
    assert res.hormander.holds is False and res.hormander.rank == 2
    assert res.reachability.holds is False
    assert res.verdict == "exists"
    assert any("hypoellipticity" in n and "not shown" in n for n in res.notes)


def test_flow_entry_time_of_a_focus():
    """b = Ay, A = [[−0.1, 1], [−1, −0.1]]: Q = 5I and V_Q = 5|y|² decays like e^{−0.2t}, so the
    flow from |y| = 5 enters V_Q ≤ 5ρ² at t = ln(25/ρ²)/0.2."""
    A = np.array([[-0.1, 1.0], [-1.0, -0.1]])
    prob = Problem(SimpleNamespace(d=2), None, affine=(A, np.zeros(2), np.eye(2)))
    Q = conditions.lyapunov_matrix(A)
    assert np.allclose(Q, 5 * np.eye(2))
    rho = 0.1
    flows, worst = reach._flows(prob, [np.array([5.0, 0.0]), np.array([0.0, -5.0])], np.zeros(2), Q,
                                5 * rho**2, 1e3)
    assert flows["entered"] == 2 and not worst
    assert flows["longest"] == pytest.approx(math.log(25 / rho**2) / 0.2, rel=1e-4)
