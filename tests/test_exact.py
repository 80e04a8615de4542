"""Tests of the exact linear–Gaussian references (``invariant.exact``, docs/theory.md §2–§5, §7, §8).

Exact checks wherever one exists; the Monte Carlo checks (one SGA step, conditional-law
regression) use fixed seeds and assert on z-scores built from standard errors.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from invariant import exact as ex
from invariant.games import bilinear

DT, DO = 3, 2
C = np.array([[1.0, 0.4], [-0.3, 0.8], [0.5, -0.2]])
LAM, GAM = 0.3, 0.2
A_VEC = np.array([0.1, -0.2, 0.3])
B_VEC = np.array([0.2, -0.1])
SIG_T = np.array([[1.0, 0.3, 0.1], [0.3, 0.8, -0.2], [0.1, -0.2, 0.6]])
SIG_O = np.array([[0.7, 0.25], [0.25, 0.5]])
N = 4
Z_MAX = 4.5  # per-coordinate z bound; with ~100 z-scores per test a false alarm is < 1e-3


@pytest.fixture(scope="module")
def game():
    return bilinear.make(C, LAM, GAM, A_VEC, B_VEC, SIG_T, SIG_O)


def _slope(lrs, errs):
    return np.polyfit(np.log(lrs), np.log(errs), 1)[0]


def _sq_norms(game, x):
    g = game.grad(x)
    return g[:DT] @ g[:DT], g[DT:] @ g[DT:]


def _fd_grad(fun, x, h=1e-3):
    """Central differences (exact up to round-off for the quadratics used here)."""
    out = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return out


def _b1_explicit(game, scheme, x):
    """b1 from the ¼∇|∇g|² forms printed in docs/theory.md §3, by finite differences of game.grad."""
    gt2 = _fd_grad(lambda y: _sq_norms(game, y)[0], x)
    go2 = _fd_grad(lambda y: _sq_norms(game, y)[1], x)
    t, o = slice(0, DT), slice(DT, None)
    if scheme == "alt-d":
        return np.concatenate([-0.25 * (gt2[t] + go2[t]), -0.25 * (go2[o] - gt2[o])])
    if scheme == "alt-g":
        return np.concatenate([-0.25 * (gt2[t] - go2[t]), -0.25 * (gt2[o] + go2[o])])
    return np.concatenate([-0.25 * (gt2[t] - go2[t]), 0.25 * (gt2[o] - go2[o])])


# --------------------------------------------------------------------------- drift, diffusion
def test_order1_drift_is_b0_for_every_scheme(game):
    rng = np.random.default_rng(0)
    for scheme in ex.SCHEMES:
        A, c = ex.drift(game, scheme, 1, 0.1)
        for _ in range(3):
            x = rng.normal(size=game.d)
            g = game.grad(x)
            np.testing.assert_allclose(A @ x + c, np.concatenate([-g[:DT], g[DT:]]), atol=1e-13)


@pytest.mark.parametrize("scheme", ex.SCHEMES)
def test_order2_drift_matches_explicit_quarter_gradient_forms(game, scheme):
    lr = 0.37
    A1, c1 = ex.drift(game, scheme, 1, lr)
    A2, c2 = ex.drift(game, scheme, 2, lr)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.normal(size=game.d)
        b1 = ((A2 - A1) @ x + (c2 - c1)) / lr
        np.testing.assert_allclose(b1, _b1_explicit(game, scheme, x), atol=1e-8, rtol=1e-8)


def test_game_term(game):
    """b1^{ALT-D} − b1^{SML} = (−H_θω ∇_ω g, 0); b1^{ALT-G} − b1^{SML} = (0, −H_ωθ ∇_θ g)."""
    lr = 0.2
    As, cs = ex.drift(game, "sml", 2, lr)
    Ad, cd = ex.drift(game, "alt-d", 2, lr)
    Ag, cg = ex.drift(game, "alt-g", 2, lr)
    x = np.array([0.3, -1.0, 0.4, 0.8, -0.5])
    g = game.grad(x)
    np.testing.assert_allclose(((Ad - As) @ x + cd - cs) / lr,
                               np.concatenate([-C @ g[DT:], np.zeros(DO)]), atol=1e-12)
    np.testing.assert_allclose(((Ag - As) @ x + cg - cs) / lr,
                               np.concatenate([np.zeros(DT), -C.T @ g[:DT]]), atol=1e-12)


def test_diffusion(game):
    D = ex.diffusion(game, 0.05, N)
    expect = np.zeros((5, 5))
    expect[:DT, :DT] = SIG_T
    expect[DT:, DT:] = SIG_O
    np.testing.assert_allclose(D, 0.05 / N * expect)
    # the correction is symmetric and O(η²)
    for scheme in ex.SCHEMES:
        Dc = ex.diffusion(game, 0.05, N, correction=scheme)
        np.testing.assert_allclose(Dc, Dc.T, atol=1e-15)
        assert np.abs(Dc - D).max() < 0.05**2 / N * 5


def test_bad_arguments(game):
    with pytest.raises(ValueError):
        ex.drift(game, "adam", 1, 0.1)
    with pytest.raises(ValueError):
        ex.drift(game, "sml", 3, 0.1)
    with pytest.raises(ValueError):
        ex.discrete(game, "sml", -0.1, N)
    nonaffine = bilinear.make(C, LAM, GAM, A_VEC, B_VEC, SIG_T, SIG_O)
    nonaffine.affine = False
    with pytest.raises(ValueError):
        ex.drift(nonaffine, "sml", 1, 0.1)


# --------------------------------------------------------------------------- stationary law
@pytest.mark.parametrize("scheme", ex.SCHEMES)
@pytest.mark.parametrize("order", [1, 2])
def test_stationary_solves_its_equations(game, scheme, order):
    lr = 0.1
    A, c = ex.drift(game, scheme, order, lr)
    D = ex.diffusion(game, lr, N)
    m, P = ex.stationary(A, c, D)
    np.testing.assert_allclose(A @ m + c, 0, atol=1e-13)
    np.testing.assert_allclose(A @ P + P @ A.T + D, 0, atol=1e-14)
    np.testing.assert_allclose(P, P.T, atol=0)
    assert np.linalg.eigvalsh(P).min() > 0


def test_stationary_raises_without_invariant_measure():
    pure = bilinear.make(C, 0.0, 0.0)  # A = [[0, −C], [Cᵀ, 0]]: imaginary spectrum
    A, c = ex.drift(pure, "sml", 1, 0.1)
    assert abs(ex.mixing_rate(A)) < 1e-12
    with pytest.raises(ValueError, match="invariant"):
        ex.stationary(A, c, ex.diffusion(pure, 0.1, N))
    unstable = bilinear.make(C, -0.1, 0.2)
    A, c = ex.drift(unstable, "sml", 1, 0.1)
    with pytest.raises(ValueError):
        ex.stationary(A, c, ex.diffusion(unstable, 0.1, N))


def test_mixing_rate_and_dissipativity():
    sq = bilinear.make(np.array([[1.0, 0.5], [-0.2, 0.7]]), 0.4, 0.4)
    A, _ = ex.drift(sq, "sml", 1, 0.1)  # −0.4 I + skew: normal, both constants are 0.4
    assert ex.mixing_rate(A) == pytest.approx(0.4, abs=1e-12)
    assert ex.dissipativity_constant(A) == pytest.approx(0.4, abs=1e-12)
    # non-normal: stable (κ = 1) but C2 fails (x·Ax > 0 along some direction)
    A = np.array([[-1.0, 10.0], [0.0, -1.0]])
    assert ex.mixing_rate(A) == pytest.approx(1.0)
    assert ex.dissipativity_constant(A) == pytest.approx(1.0 - 5.0)


# --------------------------------------------------------------------------- discrete chains
def _sga_step(scheme, lr, x, rng):
    """One SGA step written directly from docs/theory.md §2 (independent of invariant.exact)."""
    n = x.shape[0]
    th, om = x[:, :DT].copy(), x[:, DT:].copy()
    xi_t = rng.standard_normal((n, DT)) @ np.linalg.cholesky(SIG_T / N).T
    xi_o = rng.standard_normal((n, DO)) @ np.linalg.cholesky(SIG_O / N).T

    def grad_t(t, o):
        return o @ C.T + LAM * t + A_VEC + xi_t

    def grad_o(t, o):
        return t @ C - GAM * o + B_VEC + xi_o

    if scheme == "sml":
        th, om = th - lr * grad_t(th, om), om + lr * grad_o(th, om)
    elif scheme == "alt-d":
        om = om + lr * grad_o(th, om)
        th = th - lr * grad_t(th, om)
    else:
        th = th - lr * grad_t(th, om)
        om = om + lr * grad_o(th, om)
    return np.hstack([th, om])


@pytest.mark.parametrize("scheme", ex.SCHEMES)
def test_discrete_one_step_against_monte_carlo(game, scheme):
    lr, n = 0.25, 200_000
    M, m0, Q = ex.discrete(game, scheme, lr, N)
    rng = np.random.default_rng({"sml": 10, "alt-d": 11, "alt-g": 12}[scheme])
    x = rng.normal(size=(n, game.d))
    r = _sga_step(scheme, lr, x, rng) - (x @ M.T + m0)  # residual: must be N(0, Q), ⟂ x
    q = np.diag(Q)
    z_mean = r.mean(0) / np.sqrt(q / n)
    S = np.cov(r, rowvar=False)
    z_cov = (S - Q) / np.sqrt((np.outer(q, q) + Q**2) / n)
    Sx = r.T @ x / n  # E[r xᵀ] = 0 checks M; x ~ N(0, I)
    z_cross = Sx / np.sqrt(np.outer(q, np.ones(game.d)) / n)
    assert np.abs(z_mean).max() < Z_MAX
    assert np.abs(z_cov).max() < Z_MAX
    assert np.abs(z_cross).max() < Z_MAX
    if scheme != "sml":  # the first mover's noise reaches the second mover: Q has a cross block
        assert np.abs(Q[:DT, DT:]).max() > 20 * np.sqrt((q.max() ** 2) / n)


def test_discrete_sml_closed_form(game):
    lr = 0.1
    M, m0, Q = ex.discrete(game, "sml", lr, N)
    A, c = ex.drift(game, "sml", 1, lr)
    np.testing.assert_allclose(M, np.eye(5) + lr * A, atol=1e-15)
    np.testing.assert_allclose(m0, lr * c, atol=1e-15)
    np.testing.assert_allclose(Q, lr * ex.diffusion(game, lr, N), atol=1e-17)


@pytest.mark.parametrize("chain", ex.SCHEMES)
@pytest.mark.parametrize("sde", ex.SCHEMES)
@pytest.mark.parametrize("order", [1, 2])
def test_one_step_moment_matching(game, chain, sde, order):
    """docs/theory.md §3: one-step mean error O(η³) for the matching order-2 drift, O(η²) else."""
    lrs = 0.04 / 2.0 ** np.arange(6)
    x = np.array([0.7, -0.4, 0.5, 0.9, -0.6])
    errs = []
    for lr in lrs:
        M, m0, _ = ex.discrete(game, chain, lr, N)
        A, c = ex.drift(game, sde, order, lr)
        mean, _ = ex.ou_moments(A, c, ex.diffusion(game, lr, N), x, np.zeros((5, 5)), lr)
        errs.append(np.linalg.norm((M @ x + m0 - x) - (mean - x)))
    expected = 3.0 if (order == 2 and chain == sde) else 2.0
    assert abs(_slope(lrs, errs) - expected) < 0.15


@pytest.mark.parametrize("scheme", ex.SCHEMES)
@pytest.mark.parametrize("order", [1, 2])
def test_discrete_stationary_covariance_converges(game, scheme, order):
    """Relative error of the stationary covariance is O(η) for every SDE (docs/theory.md §3)."""
    lrs = 0.04 / 2.0 ** np.arange(5)
    errs, mean_errs = [], []
    for lr in lrs:
        md, Pd = ex.discrete_stationary(*ex.discrete(game, scheme, lr, N))
        A, c = ex.drift(game, scheme, order, lr)
        ms, Ps = ex.stationary(A, c, ex.diffusion(game, lr, N))
        errs.append(np.linalg.norm(Pd - Ps) / np.linalg.norm(Ps))
        mean_errs.append(np.linalg.norm(md - ms))
    assert abs(_slope(lrs, errs) - 1.0) < 0.15
    assert max(mean_errs) < 1e-10  # the stationary mean is the same fixed point


@pytest.mark.parametrize("scheme", ex.SCHEMES)
def test_diffusion_correction_gives_second_order_stationary_covariance(game, scheme):
    """docs/theory.md §3: order-2 drift plus corrected diffusion ⇒ relative error O(η²)."""
    lrs = 0.04 / 2.0 ** np.arange(5)
    errs = []
    for lr in lrs:
        _, Pd = ex.discrete_stationary(*ex.discrete(game, scheme, lr, N))
        A, c = ex.drift(game, scheme, 2, lr)
        _, Ps = ex.stationary(A, c, ex.diffusion(game, lr, N, correction=scheme))
        errs.append(np.linalg.norm(Pd - Ps) / np.linalg.norm(Ps))
    assert abs(_slope(lrs, errs) - 2.0) < 0.15


def test_discrete_stationary_solves_its_equations_and_raises(game):
    M, m0, Q = ex.discrete(game, "alt-d", 0.1, N)
    m, P = ex.discrete_stationary(M, m0, Q)
    np.testing.assert_allclose(M @ m + m0, m, atol=1e-13)
    np.testing.assert_allclose(M @ P @ M.T + Q, P, atol=1e-15)
    pure = bilinear.make(C, 0.0, 0.0)  # SML on a pure bilinear game spirals out: ρ(M) > 1
    with pytest.raises(ValueError, match="spectral radius"):
        ex.discrete_stationary(*ex.discrete(pure, "sml", 0.1, N))


# --------------------------------------------------------------------------- transient moments
def _moment_ode(A, c, D, m0, P0, t):
    d = A.shape[0]

    def rhs(_, y):
        m, P = y[:d], y[d:].reshape(d, d)
        return np.concatenate([A @ m + c, (A @ P + P @ A.T + D).ravel()])

    sol = solve_ivp(rhs, (0, t), np.concatenate([m0, P0.ravel()]), rtol=1e-11, atol=1e-13,
                    method="DOP853")
    y = sol.y[:, -1]
    return y[:d], y[d:].reshape(d, d)


@pytest.mark.parametrize("A_kind", ["stable", "unstable"])
def test_ou_moments_against_moment_ode(game, A_kind):
    rng = np.random.default_rng(3)
    if A_kind == "stable":
        A, c = ex.drift(game, "alt-d", 2, 0.1)
    else:
        A, c = ex.drift(bilinear.make(C, -0.1, 0.05, A_VEC, B_VEC), "sml", 1, 0.1)
    D = ex.diffusion(game, 0.1, N)
    m0 = rng.normal(size=5)
    L = rng.normal(size=(5, 5))
    P0 = 0.1 * L @ L.T
    for t in (0.3, 4.0):
        mean, cov = ex.ou_moments(A, c, D, m0, P0, t)
        m_ode, P_ode = _moment_ode(A, c, D, m0, P0, t)
        np.testing.assert_allclose(mean, m_ode, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(cov, P_ode, rtol=1e-8, atol=1e-10)
    means, covs = ex.ou_moments(A, c, D, m0, P0, [0.3, 4.0])
    np.testing.assert_allclose(means[1], ex.ou_moments(A, c, D, m0, P0, 4.0)[0])
    assert covs.shape == (2, 5, 5)


def test_ou_moments_limits(game):
    A, c = ex.drift(game, "alt-g", 2, 0.05)
    D = ex.diffusion(game, 0.05, N)
    m, P = ex.stationary(A, c, D)
    m0 = np.array([2.0, -1.0, 0.5, 1.0, 3.0])
    P0 = np.diag([0.5, 0.1, 0.2, 0.3, 0.4])
    # large t: the stationary law (no cancellation blow-up at t·κ ≈ 200)
    t_big = 200.0 / ex.mixing_rate(A)
    mean, cov = ex.ou_moments(A, c, D, m0, P0, t_big)
    np.testing.assert_allclose(mean, m, atol=1e-12)
    np.testing.assert_allclose(cov, P, atol=1e-14, rtol=1e-9)
    # t = 0: the initial law
    mean, cov = ex.ou_moments(A, c, D, m0, P0, 0.0)
    np.testing.assert_allclose(mean, m0)
    np.testing.assert_allclose(cov, P0)
    # small t: first-order expansion, error O(t²)
    ts = 1e-2 / 2.0 ** np.arange(5)
    em, ec = [], []
    for t in ts:
        mean, cov = ex.ou_moments(A, c, D, m0, P0, t)
        em.append(np.linalg.norm(mean - (m0 + t * (A @ m0 + c))))
        ec.append(np.linalg.norm(cov - (P0 + t * (A @ P0 + P0 @ A.T + D))))
    assert abs(_slope(ts, em) - 2.0) < 0.05
    assert abs(_slope(ts, ec) - 2.0) < 0.05


def test_discrete_moments_against_iteration(game):
    M, m0, Q = ex.discrete(game, "alt-d", 0.1, N)
    mean0 = np.array([1.0, -2.0, 0.5, 0.3, -0.7])
    cov0 = np.diag([0.2, 0.1, 0.3, 0.05, 0.4])
    mu, P = mean0.copy(), cov0.copy()
    checkpoints = {0, 1, 2, 7, 64, 100, 1000}
    for k in range(1001):
        if k in checkpoints:
            mean, cov = ex.discrete_moments(M, m0, Q, mean0, cov0, k)
            np.testing.assert_allclose(mean, mu, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(cov, P, rtol=1e-10, atol=1e-14)
        mu, P = M @ mu + m0, M @ P @ M.T + Q
    # k = 10⁵: fast, and at the stationary law
    mean, cov = ex.discrete_moments(M, m0, Q, mean0, cov0, 100_000)
    m, Pst = ex.discrete_stationary(M, m0, Q)
    np.testing.assert_allclose(mean, m, atol=1e-12)
    np.testing.assert_allclose(cov, Pst, atol=1e-14, rtol=1e-9)


def test_discrete_moments_approach_ou_moments(game):
    """Weak error at fixed T = kη: mean O(η²) for ALT-D vs ALT-SDE, O(η) vs SML-SDE (§8)."""
    T = 2.0
    lrs = 0.04 / 2.0 ** np.arange(4)
    x0 = np.array([1.0, -0.5, 0.8, 0.6, -1.2])
    e1, e2 = [], []
    for lr in lrs:
        k = int(round(T / lr))
        md, _ = ex.discrete_moments(*ex.discrete(game, "alt-d", lr, N), x0, np.zeros((5, 5)), k)
        D = ex.diffusion(game, lr, N)
        for order, errs in ((1, e1), (2, e2)):
            A, c = ex.drift(game, "alt-d", order, lr)
            ms, _ = ex.ou_moments(A, c, D, x0, np.zeros((5, 5)), k * lr)
            errs.append(np.linalg.norm(md - ms))
    assert abs(_slope(lrs, e1) - 1.0) < 0.15
    assert abs(_slope(lrs, e2) - 2.0) < 0.15


# --------------------------------------------------------------------------- conditional laws
@pytest.mark.parametrize("which", ["theta_given_omega", "omega_given_theta"])
@pytest.mark.parametrize("law", ["stationary", "correlated"])
def test_conditional_against_sample_regression(game, which, law):
    rng = np.random.default_rng(5 if which == "theta_given_omega" else 6)
    if law == "stationary":
        A, c = ex.drift(game, "alt-d", 2, 0.1)
        m, P = ex.stationary(A, c, ex.diffusion(game, 0.1, N))
    else:
        L = rng.normal(size=(5, 5))
        m, P = rng.normal(size=5), L @ L.T + 0.1 * np.eye(5)
    n = 400_000
    X = rng.multivariate_normal(m, P, size=n)
    if which == "theta_given_omega":
        y, z = X[:, :DT], X[:, DT:]
    else:
        y, z = X[:, DT:], X[:, :DT]
    at = m[DT:] + 0.5 if which == "theta_given_omega" else m[:DT] - 0.4
    mean, cov = ex.conditional(m, P, DT, which, at)
    # OLS of y on [1, z]; prediction at `at` and its standard error
    Z = np.column_stack([np.ones(n), z])
    coef, *_ = np.linalg.lstsq(Z, y, rcond=None)
    resid = y - Z @ coef
    S = resid.T @ resid / (n - Z.shape[1])
    za = np.concatenate([[1.0], at])
    pred = za @ coef
    lev = za @ np.linalg.solve(Z.T @ Z, za)
    z_mean = (pred - mean) / np.sqrt(np.diag(S) * lev)
    s = np.diag(cov)
    z_cov = (S - cov) / np.sqrt((np.outer(s, s) + cov**2) / n)
    assert np.abs(z_mean).max() < Z_MAX
    assert np.abs(z_cov).max() < Z_MAX


@pytest.mark.parametrize("which", ["theta_given_omega", "omega_given_theta"])
def test_conditional_against_precision_matrix(which):
    """Exact identity: the conditional law from the precision Λ = P⁻¹ is
    N(m_i − Λ_ii⁻¹Λ_ij(at − m_j), Λ_ii⁻¹)."""
    rng = np.random.default_rng(8)
    L = rng.normal(size=(5, 5))
    P = L @ L.T + 0.1 * np.eye(5)  # strongly correlated
    m = rng.normal(size=5)
    i, j = (slice(0, DT), slice(DT, 5)) if which == "theta_given_omega" else (slice(DT, 5), slice(0, DT))
    at = rng.normal(size=5)[j]
    mean, cov = ex.conditional(m, P, DT, which, at)
    Lam = np.linalg.inv(P)
    cov_ref = np.linalg.inv(Lam[i, i])
    np.testing.assert_allclose(cov, cov_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean, m[i] - cov_ref @ Lam[i, j] @ (at - m[j]), rtol=1e-10, atol=1e-12)


def test_conditional_bad_arguments():
    m, P = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError):
        ex.conditional(m, P, 1, "theta", [0.0, 0.0])
    with pytest.raises(ValueError):
        ex.conditional(m, P, 1, "theta_given_omega", [0.0])


# --------------------------------------------------------------------------- FDRs
@pytest.mark.parametrize("scheme", ex.SCHEMES)
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("lr", [0.02, 0.2])
def test_fdr_sides_agree_exactly(game, scheme, order, lr):
    r = ex.fdr(game, scheme, order, lr, N)
    for key in ("fdr2_theta", "fdr2_omega", "fdr2_sum", "fdr1"):
        lhs, rhs = r[key]["lhs"], r[key]["rhs"]
        assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-15), key
    tr_t, tr_o = np.trace(SIG_T), np.trace(SIG_O)
    assert r["fdr2_theta"]["rhs"] == pytest.approx(lr / (2 * N) * tr_t)
    assert r["fdr2_omega"]["rhs"] == pytest.approx(-lr / (2 * N) * tr_o)
    assert r["fdr1"]["rhs"] == pytest.approx(lr / (2 * N) * (LAM * tr_t - GAM * tr_o))


def test_fdr_order2_needs_b1_terms(game):
    """With the order-2 drift, dropping the b1 replacement breaks FDR2 at O(η)."""
    lr = 0.2
    r = ex.fdr(game, "alt-d", 2, lr, N)
    m, P = r["mean"], r["cov"]
    H = game.hessian(np.zeros(5))
    f = game.grad(np.zeros(5))
    plain = ex.gaussian_bilinear(m, P, np.eye(5)[:DT], np.zeros(DT), H[:DT], f[:DT])
    assert abs(plain / r["fdr2_theta"]["rhs"] - 1) > 1e-2


@pytest.mark.parametrize("scheme", ex.SCHEMES)
def test_discrete_fdr(game, scheme):
    """docs/theory.md §5 exact discrete analogue: applied-gradient form exact for every scheme;
    current-point form exact for SML only (it misses for ALT's second mover)."""
    lr = 0.1
    r = ex.discrete_fdr(game, scheme, lr, N)
    for p in ("theta", "omega"):
        assert r["applied"][p]["lhs"] == pytest.approx(r["applied"][p]["rhs"], rel=1e-9)
        assert r["sde_rhs"][p]["ratio"] > 1.05  # the SDE-form denominator is biased (§6)
    second = {"alt-d": "theta", "alt-g": "omega"}.get(scheme)
    for p in ("theta", "omega"):
        if p == second:
            assert abs(r["current"][p]["ratio"] - 1) > 0.05
        else:
            assert r["current"][p]["lhs"] == pytest.approx(r["current"][p]["rhs"], rel=1e-9)


def test_discrete_fdr_against_monte_carlo(game):
    """The applied-gradient sides of discrete_fdr against a simulated stationary ALT-D chain."""
    lr, n = 0.2, 100_000
    r = ex.discrete_fdr(game, "alt-d", lr, N)
    rng = np.random.default_rng(7)
    x = rng.multivariate_normal(r["mean"], r["cov"], size=n)
    x1 = _sga_step("alt-d", lr, x, rng)
    grad_t = (x[:, :DT] - x1[:, :DT]) / lr  # the applied gradients, recovered from the step
    lhs = np.einsum("ij,ij->i", x[:, :DT], grad_t)
    rhs = lr / 2 * np.einsum("ij,ij->i", grad_t, grad_t)
    for sample, exact in ((lhs, r["applied"]["theta"]["lhs"]), (rhs, r["applied"]["theta"]["rhs"])):
        z = (sample.mean() - exact) / (sample.std() / np.sqrt(n))
        assert abs(z) < Z_MAX
