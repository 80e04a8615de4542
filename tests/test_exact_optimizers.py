"""Exact stationary laws of the linear optimisers on affine games (``invariant.exact.optimizers``,
docs/theory.md §4b, §8): the augmented map against the numpy reference recursion
``invariant.optimizers.step`` (one step exactly and by Monte Carlo, and in the long run), and
the engine's chains against the exact laws, with tolerances from Monte Carlo standard errors.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import make_config

from invariant import engine, exact, optimizers, stationary
from invariant.games import bilinear
from invariant.optimizers import Optimizer
from invariant.schemes import Scheme

C = np.array([[1.0, 0.4], [-0.3, 0.8], [0.5, -0.2]])
SIG_T = np.array([[1.0, 0.3, 0.1], [0.3, 0.8, -0.2], [0.1, -0.2, 0.6]])
SIG_O = np.array([[0.7, 0.25], [0.25, 0.5]])
LR, N = 0.2, 4
Z_MAX = 4.0  # every z-score of this file; seeds are fixed

# every linear optimiser under every scheme it admits, with TTUR and several critic steps
CASES = {
    "sgd-sml-ttur": ("sml", Optimizer("sgd", lr_ratio=2.0)),
    "sgd-alt-d-ncritic": ("alt-d", Optimizer("sgd", n_critic=3, lr_ratio=0.5)),
    "sgd-alt-g-ttur": ("alt-g", Optimizer("sgd", lr_ratio=1.5)),
    "momentum-sml": ("sml", Optimizer("momentum", momentum=0.5)),
    "momentum-alt-d-ncritic": ("alt-d", Optimizer("momentum", momentum=0.4, n_critic=2, lr_ratio=0.5)),
    "momentum-alt-g": ("alt-g", Optimizer("momentum", momentum=0.5, lr_ratio=1.5)),
    "extragradient": ("sml", Optimizer("extragradient", lr_ratio=2.0)),
    "optimistic": ("sml", Optimizer("optimistic", lr_ratio=0.5)),
    "consensus": ("sml", Optimizer("consensus", consensus=0.3, lr_ratio=2.0)),
}


@pytest.fixture(scope="module")
def game():
    return bilinear.make(C, 0.3, 0.2, [0.1, -0.2, 0.3], [0.2, -0.1], SIG_T, SIG_O)


def _scheme(case, lr=LR):
    name, opt = CASES[case]
    return Scheme(name, lr, N, 1, opt)


def _step(game, sch, z, rng=None):
    """One iteration of the reference recursion on the augmented state ``z = (x, s)``."""
    d = game.d
    x, s = optimizers.step(game, sch, z[:d], z[d:], 3, rng)
    return np.concatenate([x, s])


@pytest.mark.parametrize("case", CASES)
def test_the_augmented_map_is_the_deterministic_step(game, case):
    """A and a against the reference step with exact gradients (affine: exact to round-off)."""
    sch = _scheme(case)
    A, a, Q = exact.discrete_optimizer(game, sch)
    n = game.d + sch.optimizer.state_size(game.d)
    assert A.shape == Q.shape == (n, n) and a.shape == (n,)
    z0 = np.zeros(n)
    np.testing.assert_allclose(_step(game, sch, z0), a, atol=1e-14)
    cols = np.column_stack([_step(game, sch, e) - a for e in np.eye(n)])
    np.testing.assert_allclose(cols, A, atol=1e-13)
    assert np.all(np.linalg.eigvalsh(Q) >= -1e-14)


@pytest.mark.statistical
@pytest.mark.parametrize("case", CASES)
def test_the_augmented_noise_is_the_steps_noise(game, case):
    """Q against the residuals ``z⁺ − (A z + a)`` of the reference step with minibatches."""
    sch = _scheme(case)
    A, a, Q = exact.discrete_optimizer(game, sch)
    n, reps = A.shape[0], 6000
    rng = np.random.default_rng(sorted(CASES).index(case) + 100)
    z = rng.normal(size=(reps, n))
    r = np.array([_step(game, sch, zi, rng) for zi in z]) - (z @ A.T + a)
    q = np.diag(Q)
    z_mean = r.mean(0) / np.sqrt(q / reps)
    z_cov = (np.cov(r, rowvar=False) - Q) / np.sqrt((np.outer(q, q) + Q**2) / reps)
    print(f"{case}: max|z| mean {np.abs(z_mean).max():.2f}, cov {np.abs(z_cov).max():.2f}")
    assert np.abs(z_mean).max() < Z_MAX and np.abs(z_cov).max() < Z_MAX


def test_sgd_closed_forms(game):
    """TTUR under SML: ``A = I + ESH``, ``Q = EΣE/N``; ALT-D with one critic step:
    ``Q = η²(U_θ Σ̃_ω U_θᵀ + Σ̃_θ)/N`` (docs/theory.md §4b, the chain of §2)."""
    d, dt, rho = game.d, game.d_theta, 2.0
    H, Sigma = game.hessian(np.zeros(d)), game.info["Sigma"]
    E = np.diag(np.where(np.arange(d) < dt, LR, rho * LR))
    S = np.diag(np.where(np.arange(d) < dt, -1.0, 1.0))
    A, _, Q = exact.discrete_optimizer(game, Scheme("sml", LR, N, 1, Optimizer("sgd", lr_ratio=rho)))
    np.testing.assert_allclose(A, np.eye(d) + E @ S @ H, atol=1e-15)
    np.testing.assert_allclose(Q, E @ Sigma @ E / N, atol=1e-15)
    Pt = np.diag((np.arange(d) < dt).astype(float))
    Ut = np.eye(d) - LR * Pt @ H
    St, So = Pt @ Sigma @ Pt, (np.eye(d) - Pt) @ Sigma @ (np.eye(d) - Pt)
    Q = exact.discrete_optimizer(game, Scheme("alt-d", LR, N, 1))[2]
    np.testing.assert_allclose(Q, LR**2 * (Ut @ So @ Ut.T + St) / N, atol=1e-15)


def test_optimizer_stationary_is_the_x_marginal(game):
    sch = _scheme("optimistic")
    A, a, Q = exact.discrete_optimizer(game, sch)
    m, P = exact.discrete_stationary(A, a, Q)
    np.testing.assert_allclose(A @ P @ A.T - P + Q, 0.0, atol=1e-12)
    mx, Px = exact.optimizer_stationary(game, sch)
    np.testing.assert_array_equal(mx, m[: game.d])
    np.testing.assert_array_equal(Px, P[: game.d, : game.d])
    # at the mean the expected field vanishes: the equilibrium of the game, whatever the optimiser
    np.testing.assert_allclose(game.grad(mx), 0.0, atol=1e-12)


def test_bad_arguments(game):
    with pytest.raises(ValueError, match="not linear"):
        exact.discrete_optimizer(game, Scheme("sml", LR, N, 1, Optimizer("adam")))
    with pytest.raises(ValueError, match="simultaneous"):
        exact.discrete_optimizer(game, Scheme("alt-d", LR, N, 1, Optimizer("extragradient")))
    with pytest.raises(ValueError, match="n_critic"):
        exact.discrete_optimizer(game, Scheme("sml", LR, N, 1, Optimizer("sgd", n_critic=2)))
    with pytest.raises(ValueError, match="spectral radius"):  # SGDA on the unregularised bilinear game
        exact.optimizer_stationary(bilinear.make(C), Scheme("sml", LR, N, 1))


def test_momentum_zero_is_sgd(game):
    m0, P0 = exact.optimizer_stationary(game, Scheme("alt-d", LR, N, 1, Optimizer("sgd", n_critic=2)))
    m1, P1 = exact.optimizer_stationary(game, Scheme("alt-d", LR, N, 1, Optimizer("momentum", n_critic=2)))
    np.testing.assert_allclose(m1, m0, atol=1e-12)
    np.testing.assert_allclose(P1, P0, atol=1e-12)


@pytest.mark.statistical
@pytest.mark.parametrize("case", CASES)
def test_long_run_of_the_reference_recursion(case):
    """Stationary mean and covariance of independent chains of ``optimizers.step`` (numpy) against
    the exact law; MCSE from the spread of the chain-level moments across chains (covariances
    about the exact mean, which leaves them unbiased).  A more strongly regularised game than
    the fixture's, where heavy ball under SML is stable at this lr (momentum hurts in games)."""
    game = bilinear.make(C, 1.0, 1.0, [0.1, -0.2, 0.3], [0.2, -0.1], SIG_T, SIG_O)
    sch = _scheme(case)
    m, P = exact.optimizer_stationary(game, sch)
    radius = np.abs(np.linalg.eigvals(exact.discrete_optimizer(game, sch)[0])).max()
    chains, burn, steps = 32, int(10 / (1 - radius)), 700  # burn-in: e^{-10} of the start left
    rng = np.random.default_rng(sorted(CASES).index(case) + 7)
    n = game.d + sch.optimizer.state_size(game.d)
    means, covs = [], []
    for _ in range(chains):
        z, xs = np.zeros(n), []
        for k in range(burn + steps):
            z = _step(game, sch, z, rng)
            if k >= burn:
                xs.append(z[: game.d])
        xs = np.array(xs)
        means.append(xs.mean(0))
        covs.append((xs - m).T @ (xs - m) / steps)
    means, covs = np.array(means), np.array(covs)
    z_mean = (means.mean(0) - m) / (means.std(0, ddof=1) / np.sqrt(chains))
    z_cov = (covs.mean(0) - P) / (covs.std(0, ddof=1) / np.sqrt(chains))
    print(f"{case}: max|z| mean {np.abs(z_mean).max():.2f}, cov {np.abs(z_cov).max():.2f}")
    assert np.abs(z_mean).max() < Z_MAX and np.abs(z_cov).max() < Z_MAX


# --------------------------------------------------------------------------- the engine
RUN = {"chains": 48, "t_end": 300.0, "t_burn": 30.0, "dt": 0.01, "seed": 11, "dynamics": "sga"}
ENGINE_LR = 0.1  # every optimiser stable on the reference game (spectral radii ≈ 0.97)
ENGINE_CASES = {
    "momentum": {"scheme": "alt-d", "optimizer": "momentum", "momentum": 0.5},
    "extragradient": {"scheme": "sml", "optimizer": "extragradient"},
    "optimistic": {"scheme": "sml", "optimizer": "optimistic"},
    "consensus": {"scheme": "sml", "optimizer": "consensus", "consensus": 0.3},
    "ttur": {"scheme": "alt-d", "lr_ratio": 2.0},
    "n_critic": {"scheme": "alt-d", "n_critic": 5},
}


@pytest.mark.statistical
@pytest.mark.parametrize("case", ENGINE_CASES)
def test_engine_stationary_moments_match_exact_optimizer_laws(case):
    """The engine's SGA chains (the kernels' update) settle to the exact law of their optimiser
    on the reference bilinear game (regularised, so every optimiser is stable), and the same
    run rejects plain SGD's law under the same scheme (the test can fail)."""
    cfg = make_config(training={**ENGINE_CASES[case], "lr": ENGINE_LR}, simulation=RUN)
    r = engine.simulate(cfg)
    mo = stationary.moments(r)
    m, P = exact.optimizer_stationary(cfg.game, cfg.scheme)
    z_mean = (mo.mean - m) / mo.mean_mcse
    z_cov = (mo.cov - P) / mo.cov_mcse
    P_sgd = exact.optimizer_stationary(cfg.game, Scheme(cfg.scheme.name, ENGINE_LR, cfg.scheme.batch_size, 1))[1]
    z_sgd = np.abs((mo.cov - P_sgd) / mo.cov_mcse).max()
    print(f"engine {case}: max|z| mean {np.abs(z_mean).max():.2f}, cov {np.abs(z_cov).max():.2f}; "
          f"against plain SGD's law {z_sgd:.1f}")
    assert r.n_diverged == 0
    assert np.abs(z_mean).max() < Z_MAX and np.abs(z_cov).max() < Z_MAX
    assert z_sgd > Z_MAX
