"""A small GAN on 1-D data: one-hidden-layer tanh generator and discriminator (docs/theory.md §1).

Generator ``G_θ(z) = Σ_h w2_h tanh(w1_h z + c1_h) + c2`` with latent ``z ~ N(0, 1)``;
discriminator logit ``D_ω(y) = Σ_h v2_h tanh(v1_h y + e1_h) + e2``; ``H = width`` hidden
units each, so ``dθ = dω = 3H + 1``.  With ``f(t) = −log(1 + e^{−t})`` the per-sample loss of
``ξ = (y, z)`` is

``ĝ = f(D_ω(y)) + f(−D_ω(G_θ(z))) + regulariser``  (loss ``"vanilla"``, zero-sum),

the generator minimising and the discriminator maximising.  With loss ``"non-saturating"``
the generator minimises ``−f(D_ω(G_θ(z))) (+ λ/2 |θ|²)`` instead while the discriminator
keeps maximising ``ĝ``; ``grad`` then returns each player's own gradient and ``hvp`` the
Jacobian of that field times ``v`` (``base.py``), and ``loss`` returns the discriminator's
objective ``g`` (``generator_loss`` returns the generator's).  Regularisers, with docs/theory.md §1's
signs: ``"weight-decay"`` adds ``−(γ/2)|ω|² + (λ/2)|θ|²``; ``"r1"`` adds
``−(γ/2)(∂_y D_ω(y))²`` on the real sample ``y``.

The data ``y`` is uniform over the ``M`` rows of ``data`` (shape ``(M, 1)``), ``z`` is
independent of it.  The population loss ``g``, its gradient and the noise covariances take the
exact mean over the ``M`` data points and a ``K``-node quadrature over ``z`` with positive
weights ``w_k`` summing to 1, so they are deterministic:

``"quantile"`` (default, ``K = 256``)
    Gauss–Legendre in ``u = Φ(z)``: ``z_k = Φ⁻¹(u_k)``.  Its nodes are dense where ``N(0, 1)``
    has its mass (spacing ≈ 3.9/K near 0: 0.015 for ``K = 256``), which is what a trained
    generator needs: to split ``N(0, 1)`` into separated modes it grows steep hidden units
    (``|w1_h| ≈ 5–10``), and through ``D_ω ∘ G_θ`` the fake term then varies on scales of
    0.01–0.1 in ``z``.  Measured on the shipped training setting (weight decay 0.001, ALT-D,
    lr 0.1, batch 64; ``|w1| ≤ 6``) against 2048 nodes: ``K = 256`` errs by < 1e-6 in
    ``grad`` and < 3e-5 relative in ``Σ``, ``K = 128`` by < 4e-4 and < 2 %.  Without weight
    decay the units keep steepening (``|w1| ≈ 10`` after 20 000 steps) and even ``K = 256``
    errs by several % in ``Σ``: raise ``nodes`` or use latent ``"nodes"``.
``"hermite"``
    Gauss–Hermite (``numpy.polynomial.hermite_e.hermegauss``): exact for polynomials of
    degree ``< 2K`` and the best rule for smooth generators (near initialisation: 1e-7 with
    ``K = 32``), but its spacing near 0 shrinks only like ``π/√K`` (0.55 for ``K = 32``): on
    trained generators its ``grad`` is off by 0.02–0.05 (tens of Monte Carlo standard errors,
    tests/test_mlp.py) and ``Σ`` by 20–50 %, and more nodes barely help.

The latent of the *sampled* game (``batch_grad``, ``sample_grads``) is ``"normal"``
(``z ~ N(0, 1)``; ``g``, ``Σ`` are then quadrature approximations of its expectations) or
``"nodes"`` (``z = z_k`` with probability ``w_k``, a finite "latent data set" like the finite
data: ``g`` and ``Σ`` are then *exactly* the expectations of the sampled ``ĝ``, at any ``θ``,
so the SGA chains and the SDEs describe the same game however steep the generator).

Since ``ĝ = (real term in y) + (fake term in z)`` with ``y``, ``z`` independent (docs/theory.md §3),
``Σ_θ = Cov_z(∇_θ fake)`` and ``Σ_ω = Cov_y(∇_ω real) + Cov_z(∇_ω fake)`` (the regulariser of
weight decay is deterministic and adds nothing; R1 belongs to the real term).

Packed constants ``p`` (``K = nodes``)::

    p[0] = dθ,  p[1] = dω,  p[2] = H,
    p[3] = loss (0 vanilla, 1 non-saturating),  p[4] = regulariser (0 none, 1 weight-decay, 2 r1),
    p[5] = gamma,  p[6] = lam,  p[7] = K,  p[8] = latent (0 normal, 1 nodes),
    p[9 : 9+K] = nodes z_k,  p[9+K : 9+2K] = weights w_k (Σ w_k = 1),
    p[9+2K : 9+3K] = sqrt(w_k),  p[9+3K : 9+4K] = cumulative weights (for drawing a node)

State ``x = (θ, ω)`` with ``θ = (w1[0:H], c1[0:H], w2[0:H], c2)`` and
``ω = (v1[0:H], e1[0:H], v2[0:H], e2)``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numba import njit

from ..errors import ConfigError
from .base import Game
from .mlp_setup import DEFAULT_DATA, _check_data, init_params, load_data, quadrature_rule, resolve_data
from .validate import choice, integer, number

LOSSES = ("vanilla", "non-saturating")
REGULARIZERS = ("none", "weight-decay", "r1")
QUADRATURES = ("quantile", "hermite")
LATENTS = ("normal", "nodes")
DEFAULT_NODES = 256
"""Default quadrature size ``K`` over ``z`` (see the module docstring for the choice)."""
"""Default ``game.data``: the 1-D two-mode mixture written by ``data/make_datasets.py``."""

_HEAD = 9  # p[:_HEAD] are the scalar constants; the quadrature follows


# ---------------------------------------------------------------------------------------
# scalar helpers


@njit(cache=True)
def _softplus(t):
    # log(1 + e^t) without overflow for large |t|
    return max(t, 0.0) + math.log1p(math.exp(-abs(t)))


@njit(cache=True)
def _sigmoid(t):
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


# ---------------------------------------------------------------------------------------
# the two networks: forward values and gradients accumulated in place.  ``T`` is a length-H
# scratch the forward pass fills with the hidden units' tanh, so the backward pass reuses
# them (tanh dominates the cost); kernels allocate one 2H scratch per call, nothing per sample.


@njit(cache=True)
def _gen(x, H, z, T):
    """``G_θ(z)``; fills ``T[h] = tanh(w1_h z + c1_h)``."""
    s = x[3 * H]
    for h in range(H):
        t = math.tanh(x[h] * z + x[H + h])
        T[h] = t
        s += x[2 * H + h] * t
    return s


@njit(cache=True)
def _disc(x, dt, H, y, T):
    """``(D_ω(y), ∂_y D_ω(y))``; fills ``T[h] = tanh(v1_h y + e1_h)``."""
    D = x[dt + 3 * H]
    Dy = 0.0
    for h in range(H):
        t = math.tanh(x[dt + h] * y + x[dt + H + h])
        T[h] = t
        D += x[dt + 2 * H + h] * t
        Dy += x[dt + 2 * H + h] * x[dt + h] * (1.0 - t * t)
    return D, Dy


@njit(cache=True)
def _acc_gen_grad(x, H, z, c, T, out):
    """``out[:dθ] += c ∇_θ G_θ(z)`` (``T`` from ``_gen`` at the same ``z``)."""
    for h in range(H):
        t = T[h]
        b = c * x[2 * H + h] * (1.0 - t * t)
        out[h] += b * z
        out[H + h] += b
        out[2 * H + h] += c * t
    out[3 * H] += c


@njit(cache=True)
def _acc_disc_grad(x, dt, H, y, c, T, out):
    """``out[dθ:] += c ∇_ω D_ω(y)`` (``T`` from ``_disc`` at the same ``y``)."""
    for h in range(H):
        t = T[h]
        b = c * x[dt + 2 * H + h] * (1.0 - t * t)
        out[dt + h] += b * y
        out[dt + H + h] += b
        out[dt + 2 * H + h] += c * t
    out[dt + 3 * H] += c


@njit(cache=True)
def _acc_r1_grad(x, dt, H, y, c, T, out):
    """``out[dθ:] += c ∇_ω q`` with ``q = ∂_y D_ω(y) = Σ_h v2_h v1_h (1 − t_h²)``."""
    for h in range(H):
        v1 = x[dt + h]
        v2 = x[dt + 2 * H + h]
        t = T[h]
        s = 1.0 - t * t
        ds = -2.0 * t * s  # d(1 − tanh²(a))/da
        out[dt + h] += c * (v2 * s + v2 * v1 * ds * y)
        out[dt + H + h] += c * (v2 * v1 * ds)
        out[dt + 2 * H + h] += c * (v1 * s)


# ---------------------------------------------------------------------------------------
# per-sample terms: ĝ = real(y) + fake(z) + deterministic regulariser


@njit(cache=True)
def _real_value(x, p, y, sc):
    """Real term ``f(D_ω(y))`` (plus ``−(γ/2)(∂_y D)²`` for R1)."""
    D, Dy = _disc(x, int(p[0]), int(p[2]), y, sc)
    v = -_softplus(-D)
    if p[4] == 2.0:
        v -= 0.5 * p[5] * Dy * Dy
    return v


@njit(cache=True)
def _fake_logit(x, p, z, sc):
    """``D_ω(G_θ(z))``."""
    H = int(p[2])
    u = _gen(x, H, z, sc)
    D, Du = _disc(x, int(p[0]), H, u, sc)
    return D


@njit(cache=True)
def _acc_real(x, p, y, c, sc, out):
    """``out[dθ:] += c ∇_ω real(y)``; the real term does not depend on ``θ``."""
    dt = int(p[0])
    H = int(p[2])
    D, Dy = _disc(x, dt, H, y, sc)
    _acc_disc_grad(x, dt, H, y, c * _sigmoid(-D), sc, out)  # f'(t) = σ(−t)
    if p[4] == 2.0:
        _acc_r1_grad(x, dt, H, y, -c * p[5] * Dy, sc, out)


@njit(cache=True)
def _acc_fake(x, p, z, ct, co, sc, out):
    """``out[:dθ] += ct ∇_θ`` (the generator's fake loss), ``out[dθ:] += co ∇_ω f(−D(G(z)))``.

    A zero coefficient skips that player's block; ``sc`` is a 2H scratch.
    """
    dt = int(p[0])
    H = int(p[2])
    Tg = sc[:H]
    Td = sc[H:]
    u = _gen(x, H, z, Tg)
    s, Du = _disc(x, dt, H, u, Td)
    if co != 0.0:
        # d f(−s) / ds = −σ(s)
        _acc_disc_grad(x, dt, H, u, -co * _sigmoid(s), Td, out)
    if ct != 0.0:
        # vanilla: d f(−s)/ds = −σ(s); non-saturating: d(−f(s))/ds = −σ(−s)
        dl = -_sigmoid(s) if p[3] == 0.0 else -_sigmoid(-s)
        _acc_gen_grad(x, H, z, ct * dl * Du, Tg, out)


@njit(cache=True)
def _acc_reg(x, p, ct, co, out):
    """Weight decay's gradient ``(λθ, −γω)``, scaled by ``ct`` / ``co`` (zero skips a block)."""
    if p[4] != 1.0:
        return
    dt = int(p[0])
    do = int(p[1])
    if ct != 0.0:
        for i in range(dt):
            out[i] += ct * p[6] * x[i]
    if co != 0.0:
        for j in range(do):
            out[dt + j] -= co * p[5] * x[dt + j]


@njit(cache=True)
def _draw_z(p, rng):
    """One latent draw: ``N(0, 1)`` (latent ``"normal"``) or a quadrature node ``z_k`` with
    probability ``w_k`` (latent ``"nodes"``: then ``g``, ``Σ`` are exact expectations)."""
    if p[8] == 0.0:
        return rng.standard_normal()
    K = int(p[7])
    c0 = _HEAD + 3 * K  # cumulative weights, last one 1
    u = rng.random()
    lo = 0
    hi = K - 1
    while lo < hi:  # first k with cumw[k] > u
        mid = (lo + hi) // 2
        if p[c0 + mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return p[_HEAD + lo]


@njit(cache=True)
def _zero(out, lo, hi):
    for i in range(lo, hi):
        out[i] = 0.0


# ---------------------------------------------------------------------------------------
# the kernel module's functions (base.py)


@njit(cache=True)
def loss(x, p, data):
    """``g(x)``: the (discriminator's) objective, exact over data, quadrature over ``z``."""
    dt = int(p[0])
    do = int(p[1])
    K = int(p[7])
    M = data.shape[0]
    sc = np.empty(2 * int(p[2]))
    s = 0.0
    for i in range(M):
        s += _real_value(x, p, data[i, 0], sc) / M
    for k in range(K):
        s -= p[_HEAD + K + k] * _softplus(_fake_logit(x, p, p[_HEAD + k], sc))  # f(−D) = −log(1 + e^D)
    if p[4] == 1.0:
        for i in range(dt):
            s += 0.5 * p[6] * x[i] * x[i]
        for j in range(do):
            s -= 0.5 * p[5] * x[dt + j] * x[dt + j]
    return s


@njit(cache=True)
def generator_loss(x, p, data):
    """The generator's own objective, whose ``θ``-gradient ``grad`` returns.

    ``g`` itself for the vanilla loss; ``E_z[−f(D_ω(G_θ(z)))] (+ λ/2 |θ|²)`` for the
    non-saturating one.
    """
    if p[3] == 0.0:
        return loss(x, p, data)
    dt = int(p[0])
    K = int(p[7])
    sc = np.empty(2 * int(p[2]))
    s = 0.0
    for k in range(K):
        s += p[_HEAD + K + k] * _softplus(-_fake_logit(x, p, p[_HEAD + k], sc))  # −f(D) = log(1 + e^{−D})
    if p[4] == 1.0:
        for i in range(dt):
            s += 0.5 * p[6] * x[i] * x[i]
    return s


@njit(cache=True)
def grad(x, p, data, out):
    """Population gradient: ``(∇_θ`` of the generator's loss, ``∇_ω g)``."""
    K = int(p[7])
    M = data.shape[0]
    sc = np.empty(2 * int(p[2]))
    _zero(out, 0, out.shape[0])
    for i in range(M):
        _acc_real(x, p, data[i, 0], 1.0 / M, sc, out)
    for k in range(K):
        w = p[_HEAD + K + k]
        _acc_fake(x, p, p[_HEAD + k], w, w, sc, out)
    _acc_reg(x, p, 1.0, 1.0, out)


@njit(cache=True)
def hvp(x, p, data, v, out):
    """``H(x) v`` by a central finite difference of ``grad`` (not exact).

    The step ``h`` makes ``|h v| = ε^{1/3} max(1, |x|)`` (ε the float64 epsilon), balancing
    the ``O(h²)`` truncation against the ``O(ε/h)`` rounding: relative error ≈ 1e-10.
    """
    d = x.shape[0]
    nv = 0.0
    nx = 0.0
    for i in range(d):
        nv += v[i] * v[i]
        nx += x[i] * x[i]
    nv = math.sqrt(nv)
    if nv == 0.0:
        _zero(out, 0, d)
        return
    h = 6.0554544523933395e-06 * max(1.0, math.sqrt(nx)) / nv  # cbrt(2^-52)
    xs = np.empty(d)
    gm = np.empty(d)
    for i in range(d):
        xs[i] = x[i] + h * v[i]
    grad(xs, p, data, out)
    for i in range(d):
        xs[i] = x[i] - h * v[i]
    grad(xs, p, data, gm)
    for i in range(d):
        out[i] = (out[i] - gm[i]) / (2.0 * h)


@njit(cache=True)
def noise(x, p, data, rng, out):
    """A draw with covariance exactly ``blockdiag(Σ_θ, Σ_ω)(x)`` (quadrature in ``z``).

    ``out = Σ_k √w_k (a_k − ā) u_k  ⊕  [Σ_k √w_k (b_k − b̄) u'_k + Σ_i √(1/M) (r_i − r̄) u''_i]``
    with ``a_k, b_k`` the fake term's θ- and ω-gradients at node ``z_k``, ``r_i`` the real
    term's ω-gradient at ``y_i`` and ``u, u', u''`` independent standard normals (the two
    blocks must not share normals: ``Σ`` is block-diagonal).  Computed in one pass as
    ``Σ_k √w_k a_k u_k − ā U`` with ``U = Σ_k √w_k u_k`` (and likewise for ``b``, ``r``), the
    means ``ā, b̄, r̄`` accumulated alongside in two length-d scratch vectors: no covariance
    matrix is formed and each support point's gradient is computed once.
    """
    dt = int(p[0])
    d = out.shape[0]
    K = int(p[7])
    M = data.shape[0]
    H = int(p[2])
    sc = np.empty(2 * H)
    mf = np.zeros(d)  # (ā, b̄): mean fake gradients
    mr = np.zeros(d)  # (0, r̄): mean real gradient
    _zero(out, 0, d)
    Ut = 0.0
    Uo = 0.0
    Ur = 0.0
    for k in range(K):
        sw = p[_HEAD + 2 * K + k]
        ut = rng.standard_normal()
        uo = rng.standard_normal()
        Ut += sw * ut
        Uo += sw * uo
        # gradient at node k once, then spread into the draw and the mean
        z = p[_HEAD + k]
        u = _gen(x, H, z, sc[:H])
        s, Du = _disc(x, dt, H, u, sc[H:])
        cw = -_sigmoid(s)  # ∂ fake / ∂s for the discriminator
        cg = cw if p[3] == 0.0 else -_sigmoid(-s)
        w = p[_HEAD + K + k]
        _acc_disc_grad(x, dt, H, u, cw * sw * uo, sc[H:], out)
        _acc_disc_grad(x, dt, H, u, cw * w, sc[H:], mf)
        _acc_gen_grad(x, H, z, cg * Du * sw * ut, sc[:H], out)
        _acc_gen_grad(x, H, z, cg * Du * w, sc[:H], mf)
    sm = 1.0 / math.sqrt(M)
    r1 = p[4] == 2.0
    for i in range(M):
        ur = rng.standard_normal()
        Ur += sm * ur
        y = data[i, 0]
        D, Dy = _disc(x, dt, H, y, sc)
        a = _sigmoid(-D)
        _acc_disc_grad(x, dt, H, y, a * sm * ur, sc, out)
        _acc_disc_grad(x, dt, H, y, a / M, sc, mr)
        if r1:
            _acc_r1_grad(x, dt, H, y, -p[5] * Dy * sm * ur, sc, out)
            _acc_r1_grad(x, dt, H, y, -p[5] * Dy / M, sc, mr)
    for i in range(dt):
        out[i] -= Ut * mf[i]
    for j in range(dt, d):
        out[j] -= Uo * mf[j] + Ur * mr[j]


@njit(cache=True)
def batch_grad(x, p, data, rng, batch_size, player, out):
    """Minibatch mean of one player's per-sample gradient over ``batch_size`` i.i.d. ``ξ``.

    The generator's gradient depends on ``z`` only, so ``player = 0`` draws ``z`` alone.
    """
    dt = int(p[0])
    M = data.shape[0]
    sc = np.empty(2 * int(p[2]))
    c = 1.0 / batch_size
    if player == 0:
        _zero(out, 0, dt)
        for _ in range(batch_size):
            _acc_fake(x, p, _draw_z(p, rng), c, 0.0, sc, out)
        _acc_reg(x, p, 1.0, 0.0, out)
    else:
        _zero(out, dt, out.shape[0])
        for _ in range(batch_size):
            i = rng.integers(0, M)
            _acc_real(x, p, data[i, 0], c, sc, out)
            _acc_fake(x, p, _draw_z(p, rng), 0.0, c, sc, out)
        _acc_reg(x, p, 0.0, 1.0, out)


@njit(cache=True)
def sample_grads(x, p, data, rng, out):
    """One row ``(∇_θ ĝ, ∇_ω ĝ)`` per i.i.d. draw ``ξ = (y, z)``."""
    M = data.shape[0]
    sc = np.empty(2 * int(p[2]))
    for r in range(out.shape[0]):
        row = out[r]
        _zero(row, 0, row.shape[0])
        i = rng.integers(0, M)
        _acc_real(x, p, data[i, 0], 1.0, sc, row)
        _acc_fake(x, p, _draw_z(p, rng), 1.0, 1.0, sc, row)
        _acc_reg(x, p, 1.0, 1.0, row)


@njit(cache=True)
def _support_grads(x, p, data, fake, real):
    """Per-sample gradients on the quadrature's support, without the regulariser.

    ``fake[k] = (∇_θ, ∇_ω)`` of the fake term at node ``z_k`` (the generator's own loss);
    ``real[i] = (0, ∇_ω)`` of the real term at ``y_i``.
    """
    K = int(p[7])
    sc = np.empty(2 * int(p[2]))
    for k in range(K):
        _zero(fake[k], 0, fake.shape[1])
        _acc_fake(x, p, p[_HEAD + k], 1.0, 1.0, sc, fake[k])
    for i in range(data.shape[0]):
        _zero(real[i], 0, real.shape[1])
        _acc_real(x, p, data[i, 0], 1.0, sc, real[i])


# ---------------------------------------------------------------------------------------
# Python side


class MLPGame(Game):
    """The 1-D GAN; ``sigma`` is exact (the same quadrature as ``g``), not estimated."""

    @property
    def width(self) -> int:
        return int(self.params[2])

    def sigma(self, x, n=None, rng=None) -> np.ndarray:
        """``blockdiag(Σ_θ, Σ_ω)(x)`` from the quadrature's support (docs/theory.md §1, §3).

        ``n`` and ``rng`` are accepted for the base signature and ignored.
        """
        x = np.asarray(x, dtype=np.float64)
        K = int(self.params[7])
        w = self.params[_HEAD + K : _HEAD + 2 * K]
        fake = np.empty((K, self.d))
        real = np.empty((self.data.shape[0], self.d))
        # fake[:, :dθ] is the generator's own per-sample gradient (non-saturating included)
        _support_grads(x, self.params, self.data, fake, real)
        fc = fake - w @ fake
        rc = real[:, self.d_theta :] - real[:, self.d_theta :].mean(axis=0)
        S = (fc * w[:, None]).T @ fc
        S[self.d_theta :, self.d_theta :] += rc.T @ rc / real.shape[0]
        S[: self.d_theta, self.d_theta :] = 0.0
        S[self.d_theta :, : self.d_theta] = 0.0
        return S

    def generate(self, theta, z) -> np.ndarray:
        """``G_θ(z)``; see :func:`generate`."""
        return generate(self, theta, z)

    def discriminate(self, omega, y) -> np.ndarray:
        """``D_ω(y)``; see :func:`discriminate`."""
        return discriminate(self, omega, y)


def _net(params, H, t):
    """``Σ_h a2_h tanh(a1_h t + b1_h) + b2`` for params (..., 3H+1), broadcasting as documented."""
    params = np.asarray(params, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if params.shape[-1] != 3 * H + 1:
        raise ValueError(f"parameters must have last axis {3 * H + 1}, got shape {params.shape}")
    a1, b1, a2, b2 = params[..., :H], params[..., H : 2 * H], params[..., 2 * H : 3 * H], params[..., 3 * H]
    if params.ndim == 1:
        return np.tanh(t[..., None] * a1 + b1) @ a2 + b2
    if params.ndim != 2:
        raise ValueError("parameters must be one vector or a 2-D stack of vectors (n, 3H+1)")
    n = params.shape[0]
    if t.ndim == 1:
        t = np.broadcast_to(t, (n, t.shape[0]))
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError(f"with {n} parameter vectors the inputs must have shape (m,) or ({n}, m)")
    h = np.tanh(t[..., None] * a1[:, None, :] + b1[:, None, :])
    return np.einsum("nmh,nh->nm", h, a2) + b2[:, None]


def generate(game: Game, theta, z) -> np.ndarray:
    """Generated samples ``G_θ(z)`` (vectorised numpy, docs/theory.md §7).

    Parameters
    ----------
    game : Game
        An ``mlp`` game (its width is read from ``game.params``).
    theta : array_like
        One generator ``(dθ,)``, or a stack ``(n, dθ)`` (e.g. stationary draws of ``θ``).
    z : array_like
        Latents: any shape for one ``θ``; ``(m,)`` (shared) or ``(n, m)`` for a stack.

    Returns
    -------
    ndarray
        ``G_θ(z)``, shaped like ``z`` for one ``θ``, else ``(n, m)``.
    """
    return _net(theta, int(game.params[2]), z)


def discriminate(game: Game, omega, y) -> np.ndarray:
    """Discriminator logits ``D_ω(y)``; shapes as in :func:`generate` with ``ω`` for ``θ``."""
    return _net(omega, int(game.params[2]), y)


def sample_latent(game: Game, size, rng: np.random.Generator) -> np.ndarray:
    """Latent draws of the sampled game: ``N(0, 1)``, or its quadrature nodes with their
    weights for latent ``"nodes"`` (so ``generate`` gives the law the chains train against)."""
    p = game.params
    if p[8] == 0.0:
        return rng.standard_normal(size)
    K = int(p[7])
    return rng.choice(p[_HEAD : _HEAD + K], size=size, p=p[_HEAD + K : _HEAD + 2 * K])


def from_config(table: dict) -> MLPGame:
    """Build the game from the ``[game]`` table of a config (docs/design.md ◆ Config)."""
    allowed = {
        "name", "width", "loss", "regularizer", "gamma", "lam", "data", "nodes", "quadrature", "latent",
        "init_seed", "init_scale",
    }
    for key in table:
        if key not in allowed:
            raise ConfigError(f"game.{key}", f"unknown key for game 'mlp'; allowed: {', '.join(sorted(allowed))}")
    data = table.get("data", DEFAULT_DATA)
    if not isinstance(data, str) or not data:
        raise ConfigError("game.data", f"must be a path to a one-column data file, got {data!r}")
    return make(
        width=table.get("width", 8),
        loss=table.get("loss", "vanilla"),
        regularizer=table.get("regularizer", "none"),
        gamma=table.get("gamma", 0.0),
        lam=table.get("lam", 0.0),
        data=data,
        nodes=table.get("nodes", DEFAULT_NODES),
        quadrature=table.get("quadrature", "quantile"),
        latent=table.get("latent", "normal"),
        init_seed=table.get("init_seed", 0),
        init_scale=table.get("init_scale", 0.5),
    )


def make(width=8, loss="vanilla", regularizer="none", gamma=0.0, lam=0.0, data=DEFAULT_DATA,
         nodes=None, quadrature="quantile", latent="normal", init_seed=0, init_scale=0.5) -> MLPGame:
    """Build the 1-D GAN (see the module docstring).

    Parameters
    ----------
    width : int
        Hidden units ``H`` of each network (``>= 1``).
    loss : {"vanilla", "non-saturating"}
        The generator's loss.
    regularizer : {"none", "weight-decay", "r1"}
        ``gamma`` weighs the discriminator's term; ``lam`` the generator's weight decay.
        A nonzero ``gamma``/``lam`` that the regulariser does not use is an error.
    data : str or path or array_like
        A one-column data file (resolved by :func:`resolve_data`), or the ``M`` data points.
    nodes : int, optional
        Quadrature nodes ``K`` for the expectation over ``z`` (``4 <= K <= 4096``;
        default ``DEFAULT_NODES``).
    quadrature : {"quantile", "hermite"}
        The rule over ``z`` (module docstring).
    latent : {"normal", "nodes"}
        What the sampled game draws for ``z``: ``N(0, 1)``, or the quadrature's nodes.
    init_seed : int
        Seed of the deterministic initial state ``x0`` (:func:`init_params`).
    init_scale : float
        Standard deviation of the chains' initial states around ``x0``.
    """
    H = integer(width, "game.width", low=1)
    loss = choice(loss, "game.loss", LOSSES)
    regularizer = choice(regularizer, "game.regularizer", REGULARIZERS)
    gamma = number(gamma, "game.gamma", low=0.0)
    lam = number(lam, "game.lam", low=0.0)
    K = integer(DEFAULT_NODES if nodes is None else nodes, "game.nodes", low=4)
    if K > 4096:
        raise ConfigError("game.nodes", f"must be an integer <= 4096, got {K}")
    quadrature = choice(quadrature, "game.quadrature", QUADRATURES)
    latent = choice(latent, "game.latent", LATENTS)
    seed = integer(init_seed, "game.init_seed")
    init_scale = number(init_scale, "game.init_scale", low=0.0, strict=True)
    if gamma != 0.0 and regularizer == "none":
        raise ConfigError("game.gamma", "is unused with regularizer = 'none'; set regularizer to 'weight-decay' or 'r1'")
    if lam != 0.0 and regularizer != "weight-decay":
        raise ConfigError("game.lam", f"is only used with regularizer = 'weight-decay' (got {regularizer!r})")
    if isinstance(data, (str, Path)):
        source = str(data)
        source_path = str(resolve_data(data))
        arr = _check_data(load_data(data))
    else:
        source = source_path = "<array>"
        arr = _check_data(data)
    z, w = quadrature_rule(quadrature, K)
    if not (np.all(np.isfinite(z)) and np.all(w > 0.0)):
        # Gauss–Hermite weights underflow past a few hundred nodes
        raise ConfigError("game.nodes", f"{K} {quadrature} nodes underflow in float64; use fewer nodes")
    cw = np.cumsum(w)
    cw[-1] = 1.0  # so that a uniform draw < 1 always finds a node
    d = 3 * H + 1
    params = np.concatenate([
        [d, d, H, LOSSES.index(loss), REGULARIZERS.index(regularizer), gamma, lam, K, LATENTS.index(latent)],
        z, w, np.sqrt(w), cw,
    ])
    info = dict(
        width=H, loss=loss, regularizer=regularizer, gamma=gamma, lam=lam, data=source,
        data_path=source_path, data_points=int(arr.shape[0]), nodes=K, quadrature=quadrature,
        latent=latent, init_seed=seed, init_scale=init_scale,
    )
    return MLPGame(
        "mlp", d, d, params, __name__, data=arr, affine=False, x0=init_params(H, seed),
        init_scale=init_scale, info=info, exact_cost=float(arr.shape[0] + K),
    )
