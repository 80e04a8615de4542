"""The bilinear game's kernels against their closed forms (docs/theory.md §8).

``g = θᵀCω + lam/2 |θ|² − gam/2 |ω|² + a·θ + b·ω`` with ``∇g + L z`` per sample: every kernel
is checked on a non-square ``C`` with offsets and correlated ``Σ``, and on a singular ``Σ``
(the factor of a semi-definite matrix), so the packing of ``p`` and ``data`` is exercised
where a wrong offset or row would show.
"""
import numpy as np
import pytest

from invariant.games import bilinear

C = np.array([[1.0, 0.4], [-0.3, 0.8], [0.2, -0.5]])  # dθ = 3, dω = 2
LAM, GAM = 0.3, 0.5
A_VEC = np.array([0.1, -0.2, 0.3])
B_VEC = np.array([-0.4, 0.25])
SIG_T = np.array([[1.0, 0.3, 0.1], [0.3, 0.8, -0.2], [0.1, -0.2, 0.6]])
SIG_O = np.array([[0.5, 0.2], [0.2, 0.9]])
SINGULAR_T = np.outer([1.0, 2.0, -1.0], [1.0, 2.0, -1.0])  # rank 1


def _game(sig_t=SIG_T, sig_o=SIG_O):
    return bilinear.make(C, LAM, GAM, A_VEC, B_VEC, sig_t, sig_o)


def _grad(x):
    th, om = x[:3], x[3:]
    return np.concatenate([LAM * th + C @ om + A_VEC, C.T @ th - GAM * om + B_VEC])


def _loss(x):
    th, om = x[:3], x[3:]
    return th @ C @ om + 0.5 * LAM * th @ th - 0.5 * GAM * om @ om + A_VEC @ th + B_VEC @ om


X = np.array([0.7, -1.1, 0.4, 0.9, -0.6])


def test_loss_grad_and_hvp_are_the_closed_forms():
    g = _game()
    np.testing.assert_allclose(g.loss(X), _loss(X), rtol=1e-13)
    np.testing.assert_allclose(g.grad(X), _grad(X), rtol=1e-13, atol=1e-15)
    H = np.block([[LAM * np.eye(3), C], [C.T, -GAM * np.eye(2)]])
    np.testing.assert_allclose(g.hessian(X), H, rtol=1e-13, atol=1e-15)
    gx = g.grad(X)
    assert g.module.loss_with_grad(X, gx, g.params, g.data) == pytest.approx(_loss(X), rel=1e-13)


@pytest.mark.parametrize("sig_t", [SIG_T, SINGULAR_T], ids=["correlated", "singular"])
def test_noise_is_the_factor_of_sigma_times_the_draws(sig_t):
    g = _game(sig_t)
    out = np.empty(5)
    g.module.noise(X, g.params, g.data, np.random.default_rng(3), out)
    z = np.random.default_rng(3).standard_normal(5)  # θ's normals first, then ω's
    L_t = bilinear._psd_factor(sig_t)
    L_o = bilinear._psd_factor(SIG_O)
    np.testing.assert_allclose(L_t @ L_t.T, sig_t, atol=1e-12)
    assert np.allclose(np.triu(L_t, 1), 0.0) and np.allclose(np.triu(L_o, 1), 0.0)
    np.testing.assert_allclose(out, np.concatenate([L_t @ z[:3], L_o @ z[3:]]), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("player", [0, 1])
def test_batch_grad_is_the_gradient_plus_the_batch_mean_noise(player):
    g = _game()
    n = 4
    out = np.full(5, np.nan)
    g.module.batch_grad(X, g.params, g.data, np.random.default_rng(5), n, player, out)
    sl = slice(0, 3) if player == 0 else slice(3, 5)
    L = bilinear._psd_factor(SIG_T if player == 0 else SIG_O)
    z = np.random.default_rng(5).standard_normal(L.shape[0])
    np.testing.assert_allclose(out[sl], _grad(X)[sl] + L @ z / np.sqrt(n), rtol=1e-13, atol=1e-15)
    assert np.all(np.isnan(np.delete(out, np.arange(5)[sl])))  # the other block is left alone


def test_sigma_is_blockdiag():
    S = _game().sigma()
    np.testing.assert_array_equal(S[:3, :3], SIG_T)
    np.testing.assert_array_equal(S[3:, 3:], SIG_O)
    assert not S[:3, 3:].any() and not S[3:, :3].any()
