"""Dirac-GAN family with real minibatch noise (Mescheder et al. 2018; docs/theory.md §1, §8).

One generator parameter ``θ`` and one discriminator parameter ``ψ`` (``omega`` in the state
``x = (θ, ψ)``).  Real data ``y ~ N(mu, s²)``; generator ``G_θ(z) = θ + s_z z`` with
``z ~ N(0, 1)``; linear discriminator logit ``D_ψ(y) = ψ y``; ``f(t) = −log(1 + e^{−t})``
(the log-sigmoid), so ``f'(t) = σ(−t)`` and ``f''(t) = −σ(t)σ(−t)``.  Write ``u = G_θ(z)``.

Losses (the generator minimises, the discriminator maximises; docs/theory.md §1):

``"vanilla"``
    ``ĝ = f(ψ y) + f(−ψ u)`` (zero-sum).  With ``mu = s = s_z = 0`` this is
    ``g = f(0) + f(−ψθ)``, Mescheder's Dirac-GAN up to the relabelling ``ψ → −ψ``.
``"non-saturating"``
    the discriminator's objective as vanilla; the generator minimises ``−f(ψ u)`` instead.
    Not zero-sum: ``grad`` returns each player's own gradient and ``hvp`` the Jacobian of
    that field (``invariant.games.base``); ``loss`` returns the vanilla value and
    :func:`generator_loss` the generator's own.
``"wgan"``
    ``ĝ = ψ y − ψ u``; everything in closed form (``Σ_θ = 0``, ``Σ_ψ = s² + s_z²``), so its
    kernels live in :mod:`invariant.games.dirac_wgan`; the kernels here serve the other two.

Regularisers, added to the discriminator's objective ``g`` (docs/theory.md §1 signs): ``"none"``;
``"r1"`` ``−(γ/2)|∇_y D|² = −(γ/2)ψ²`` on real data; ``"r2"`` the same on fake data;
``"weight-decay"`` ``−(γ/2)ψ² + (λ/2)θ²``; ``"gradient-penalty"`` (WGAN-GP)
``−γ(|ψ|_δ − 1)²`` with the smoothed norm ``|ψ|_δ = sqrt(ψ² + δ²)`` (default
``δ = 0.01``, a ``make`` argument): smooth at ``ψ = 0``, where the term has a local
minimum in ``ψ`` of curvature ``2γ(1/δ − 1)`` in place of the cusp of ``|ψ|``, and its
maximum sits at ``|ψ| = sqrt(1 − δ²)``.  For a linear ``D`` the input gradient is
``ψ`` everywhere, so every regulariser is deterministic (it adds no noise).  The
generator's own loss (non-saturating) carries the ``θ`` part of the regulariser only.

Expectations over ``y`` and ``z`` (vanilla, non-saturating) use ``nodes``-point
probabilists' Gauss–Hermite quadrature.  ``ĝ`` is a ``y``-term plus a ``z``-term with ``y``,
``z`` independent, so ``Σ_θ = Var_z(∂_θ ĝ)`` and
``Σ_ψ = Var_y(y f'(ψy)) + Var_z(u f'(−ψu))``, both by the same quadrature.  A zero scale
(``s = 0`` or ``s_z = 0``) packs a one-point rule (the distribution is a point mass).
Accuracy: the integrands are logistic in ``ψy`` and ``ψu``, so the rule must resolve a step
of width ``1/(|ψ| s)`` in standard units; the error decays like ``exp(−c sqrt(nodes)/(|ψ| s))``
(``s`` here the larger of ``s``, ``s_z``).  With 32 nodes the relative error of the gradient
and ``Σ`` is about 1e-7 at ``|ψ| s = 1.5``, 5e-4 at 3, 5e-3 at 10; 128 nodes give 1e-9 at 3
and 3e-4 at 10.  Raise ``nodes`` when the discriminator weight grows large.

Packed constants ``p`` (float64):

====  =========================================================================
0     ``d_theta`` = 1
1     ``d_omega`` = 1
2     loss code: 0 vanilla, 1 non-saturating, 2 wgan
3     ``a_psi``: coefficient of ``−(a_psi/2)ψ²`` (``γ`` for r1, r2, weight-decay)
4     ``a_theta``: coefficient of ``+(a_theta/2)θ²`` (``λ`` for weight-decay)
5     ``a_gp``: coefficient of ``−a_gp(|ψ|_δ − 1)²`` (``γ`` for gradient-penalty)
6     ``δ²`` (smoothing of ``|ψ|`` in the gradient penalty)
7     ``mu``
8     ``s``
9     ``s_z``
10    ``sqrt(s² + s_z²)`` (the wgan ``Σ_ψ^{1/2}``)
11    ``n_y``: points of the ``y`` rule (1 if ``s = 0``, else ``nodes``)
12    ``n_z``: points of the ``z`` rule (1 if ``s_z = 0``, else ``nodes``)
13…   ``y_k = mu + s·x_k`` (``n_y``), their weights (``n_y``, sum 1),
      ``s_z·x_k`` (``n_z``), their weights (``n_z``, sum 1)
====  =========================================================================
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ConfigError
from .base import Game
from .validate import choice, integer, number

LOSSES = ("vanilla", "non-saturating", "wgan")
REGULARIZERS = ("none", "r1", "r2", "weight-decay", "gradient-penalty")
_Q0 = 13  # first quadrature entry of p

# Speed of the hot kernels (numba 0.68, measured on the wgan grad called from a jitted loop):
# * helpers take scalars only and use numpy's error model, so, with no array argument to
#   reference-count and no ZeroDivisionError branch, LLVM inlines them;
# * kernels are compiled without the NRT: they allocate nothing, and numba's refcount
#   pruning cannot remove the incref/decref of `p` and `out` around a branch plus loops,
#   atomic operations that cost 25 ns a call (30 → 7 ns for grad, 56 → 12 ns for noise) and
#   would make parallel chains contend for the shared `p`'s reference count.
_helper = njit(cache=True, error_model="numpy")
_kernel = njit(cache=True, _nrt=False)


@_helper
def _sigpair(t):
    # (σ(t), σ(−t)) from one exp of a non-positive argument: no overflow, and each factor
    # is accurate even where the other is close to 1.  f'(t) = σ(−t), −f''(t) = σ(t)σ(−t).
    e = np.exp(-abs(t))
    r = 1.0 / (1.0 + e)
    if t >= 0.0:
        return r, e * r
    return e * r, r


@_helper
def _logsig(t):
    # f(t) = log σ(t), stable for both signs
    if t >= 0.0:
        return -np.log1p(np.exp(-t))
    return t - np.log1p(np.exp(t))


@_helper
def _reg_value(th, ps, a_psi, a_theta, a_gp, eps2):
    r = -0.5 * a_psi * ps * ps + 0.5 * a_theta * th * th
    if a_gp != 0.0:
        a = np.sqrt(ps * ps + eps2) - 1.0
        r -= a_gp * a * a
    return r


@_helper
def _reg_dpsi(ps, a_psi, a_gp, eps2):
    # ∂ψ of the regulariser
    r = -a_psi * ps
    if a_gp != 0.0:
        n = np.sqrt(ps * ps + eps2)
        r -= 2.0 * a_gp * (n - 1.0) * ps / n
    return r


@_helper
def _reg_dpsi2(ps, a_psi, a_gp, eps2):
    # ∂²ψ of the regulariser; d/dψ[(n − 1)ψ/n] = 1 − δ²/n³
    r = -a_psi
    if a_gp != 0.0:
        n = np.sqrt(ps * ps + eps2)
        r -= 2.0 * a_gp * (1.0 - eps2 / (n * n * n))
    return r


@_kernel
def loss(x, p, data):
    th = x[0]
    ps = x[1]
    s = _reg_value(th, ps, p[3], p[4], p[5], p[6])
    # quadrature rules: y points at p[y0:], their weights n_y later; z offsets likewise
    ny = int(p[11])
    nz = int(p[12])
    y0 = _Q0
    z0 = y0 + 2 * ny
    for k in range(ny):
        s += p[y0 + ny + k] * _logsig(ps * p[y0 + k])
    for k in range(nz):
        s += p[z0 + nz + k] * _logsig(-ps * (th + p[z0 + k]))
    return s


@_kernel
def generator_loss(x, p, data):
    """The loss the generator minimises: ``g`` for zero-sum losses, ``−E f(ψu) + (λ/2)θ²`` else."""
    if p[2] != 1.0:
        return loss(x, p, data)
    th = x[0]
    ps = x[1]
    nz = int(p[12])
    z0 = _Q0 + 2 * int(p[11])
    s = 0.5 * p[4] * th * th
    for k in range(nz):
        s -= p[z0 + nz + k] * _logsig(ps * (th + p[z0 + k]))
    return s


@_kernel
def grad(x, p, data, out):
    th = x[0]
    ps = x[1]
    gp = _reg_dpsi(ps, p[3], p[5], p[6])
    ny = int(p[11])
    nz = int(p[12])
    y0 = _Q0
    z0 = y0 + 2 * ny
    for k in range(ny):
        y = p[y0 + k]
        a, b = _sigpair(ps * y)
        gp += p[y0 + ny + k] * y * b  # y f'(ψy)
    ga = 0.0  # E f'(−ψu)
    gb = 0.0  # E f'(ψu)
    for k in range(nz):
        u = th + p[z0 + k]
        w = p[z0 + nz + k]
        a, b = _sigpair(ps * u)
        ga += w * a
        gb += w * b
        gp -= w * u * a  # −u f'(−ψu)
    # vanilla ∂θ f(−ψu) = −ψ f'(−ψu); non-saturating ∂θ[−f(ψu)] = −ψ f'(ψu)
    out[0] = -ps * (gb if p[2] == 1.0 else ga) + p[4] * th
    out[1] = gp


@_kernel
def hvp(x, p, data, v, out):
    th = x[0]
    ps = x[1]
    hpp = _reg_dpsi2(ps, p[3], p[5], p[6])
    ny = int(p[11])
    nz = int(p[12])
    y0 = _Q0
    z0 = y0 + 2 * ny
    for k in range(ny):
        y = p[y0 + k]
        a, b = _sigpair(ps * y)
        hpp -= p[y0 + ny + k] * y * y * a * b
    htt = 0.0  # E[ψ² c] with c = σ(ψu)σ(−ψu) = −f''(ψu)
    htp_v = 0.0  # vanilla ∂ψ∂θ ĝ = −f'(−ψu) − ψu c
    htp_n = 0.0  # non-saturating ∂ψ of −ψ f'(ψu) = −f'(ψu) + ψu c
    for k in range(nz):
        u = th + p[z0 + k]
        w = p[z0 + nz + k]
        a, b = _sigpair(ps * u)
        c = a * b
        htt += w * ps * ps * c
        htp_v -= w * (a + ps * u * c)
        htp_n += w * (ps * u * c - b)
        hpp -= w * u * u * c
    # the discriminator's row is the vanilla one for both losses
    out[1] = htp_v * v[0] + hpp * v[1]
    if p[2] == 1.0:
        out[0] = (htt + p[4]) * v[0] + htp_n * v[1]
    else:
        out[0] = (p[4] - htt) * v[0] + htp_v * v[1]


@_kernel
def sigma_diag(x, p):
    """``(Σ_θ(x), Σ_ψ(x))`` by quadrature."""
    return _sigma_pair(x[0], x[1], p)


@_kernel
def sigma_cross(x, p):
    """``Σ_θψ(x)``, the covariance of one sample's two gradients, by quadrature."""
    return _sigma_moments(x[0], x[1], p)[2]


@_kernel
def _sigma_moments(th, ps, p):
    # the state goes in as scalars: a chain kernel that inlines `noise` keeps its state in
    # registers only while no array of it is handed to a function compiled apart
    ny = int(p[11])
    nz = int(p[12])
    y0 = _Q0
    z0 = y0 + 2 * ny
    # shifted one-pass variances (shift = value at the rule's centre) avoid the
    # cancellation of E h² − (E h)² when the spread is small next to the mean
    mu = p[7]
    a, b = _sigpair(ps * mu)
    ky = mu * b
    m1 = 0.0
    m2 = 0.0
    for k in range(ny):
        y = p[y0 + k]
        w = p[y0 + ny + k]
        a, b = _sigpair(ps * y)
        h = y * b - ky
        m1 += w * h
        m2 += w * h * h
    vr = max(m2 - m1 * m1, 0.0)
    # ∂θ ĝ is −ψ f'(∓ψu) and f'(ψu) = 1 − f'(−ψu): the same variance for both losses
    a, b = _sigpair(ps * th)
    kt = a
    kp = th * a
    t1 = 0.0
    t2 = 0.0
    q1 = 0.0
    q2 = 0.0
    tq = 0.0
    for k in range(nz):
        u = th + p[z0 + k]
        w = p[z0 + nz + k]
        a, b = _sigpair(ps * u)
        h = a - kt
        t1 += w * h
        t2 += w * h * h
        g = u * a - kp
        q1 += w * g
        q2 += w * g * g
        tq += w * h * g
    vt = ps * ps * max(t2 - t1 * t1, 0.0)
    vp = max(q2 - q1 * q1, 0.0)
    # Σ_θψ = Cov(−ψ f'(∓ψu), −u f'(−ψu)) = ±ψ Cov(f'(−ψu), u f'(−ψu)): y enters ∂ψĝ only
    cr = ps * (tq - t1 * q1)
    return vt, vr + vp, (-cr if p[2] == 1.0 else cr)


@_kernel
def _sigma_pair(th, ps, p):
    vt, vp, cr = _sigma_moments(th, ps, p)
    return vt, vp


@_kernel
def noise(x, p, data, rng, out):
    vt, vp = _sigma_pair(x[0], x[1], p)
    out[0] = np.sqrt(vt) * rng.standard_normal()
    out[1] = np.sqrt(vp) * rng.standard_normal()


@_kernel
def batch_grad(x, p, data, rng, batch_size, player, out):
    th = x[0]
    ps = x[1]
    mu = p[7]
    s = p[8]
    sz = p[9]
    acc = 0.0
    if player == 0:
        ns = p[2] == 1.0
        for _ in range(batch_size):
            u = th + sz * rng.standard_normal()
            a, b = _sigpair(ps * u)
            acc += b if ns else a
        out[0] = -ps * acc / batch_size + p[4] * th
    else:
        for _ in range(batch_size):
            y = mu + s * rng.standard_normal()
            u = th + sz * rng.standard_normal()
            a, b = _sigpair(ps * y)
            acc += y * b
            a, b = _sigpair(ps * u)
            acc -= u * a
        out[1] = acc / batch_size + _reg_dpsi(ps, p[3], p[5], p[6])


@_kernel
def shared_noise(x, p, data, rng, out):
    # the joint 2 × 2 factor [[√vt, 0], [c/√vt, √(vp − c²/vt)]] (c = Σ_θψ)
    vt, vp, c = _sigma_moments(x[0], x[1], p)
    z0 = rng.standard_normal()
    z1 = rng.standard_normal()
    lt = np.sqrt(vt)
    l10 = c / lt if lt > 0.0 else 0.0
    out[0] = lt * z0
    out[1] = l10 * z0 + np.sqrt(max(vp - l10 * l10, 0.0)) * z1


@njit(cache=True, inline="always", error_model="numpy")
def _one_sample(th, ps, ns, p, rng):
    # one sample (y, z)'s gradient terms of both players, before the regularisers
    y = p[7] + p[8] * rng.standard_normal()
    u = th + p[9] * rng.standard_normal()
    a, b = _sigpair(ps * u)
    ay, by = _sigpair(ps * y)
    return -ps * (b if ns else a), y * by - u * a


@_kernel
def shared_batch_grad(x, p, data, rng, batch_size, out):
    # one minibatch of (y, z) for both players (training with one backward pass)
    th = x[0]
    ps = x[1]
    ns = p[2] == 1.0
    at = 0.0
    ap = 0.0
    for _ in range(batch_size):
        gt, gp = _one_sample(th, ps, ns, p, rng)
        at += gt
        ap += gp
    out[0] = at / batch_size + p[4] * th
    out[1] = ap / batch_size + _reg_dpsi(ps, p[3], p[5], p[6])


@_kernel
def sample_grads(x, p, data, rng, out):
    # a row is one sample (y, z)'s gradients of both players: the shared-batch law (training
    # with independent batches draws each player's samples apart, docs/theory.md §2)
    th = x[0]
    ps = x[1]
    ns = p[2] == 1.0
    rt = p[4] * th
    rp = _reg_dpsi(ps, p[3], p[5], p[6])
    for k in range(out.shape[0]):
        gt, gp = _one_sample(th, ps, ns, p, rng)
        out[k, 0] = gt + rt
        out[k, 1] = gp + rp


class DiracGame(Game):
    """Dirac-GAN with Gaussian data and latent noise; ``Σ`` by quadrature (closed for wgan)."""

    def sigma(self, x, n=None, rng=None) -> np.ndarray:
        """``diag(Σ_θ(x), Σ_ψ(x))`` (docs/theory.md §1); ``n`` and ``rng`` are unused."""
        vt, vp = self.module.sigma_diag(np.asarray(x, dtype=np.float64), self.params)
        return np.diag([vt, vp])

    def sigma_cross(self, x, n=None, rng=None) -> np.ndarray:
        """``Σ_θψ(x)`` by the same quadrature (zero for the wgan loss)."""
        return np.array([[self.module.sigma_cross(np.asarray(x, dtype=np.float64), self.params)]])

    def generator_loss(self, x) -> float:
        """The generator's own loss (``g`` unless the loss is non-saturating)."""
        return float(self.module.generator_loss(np.asarray(x, dtype=np.float64), self.params, self.data))


_KEYS = ("name", "loss", "regularizer", "gamma", "lam", "mu", "s", "s_z", "nodes")


def from_config(table: dict) -> DiracGame:
    """Build the game from the ``[game]`` table of a config (docs/design.md ◆ Config)."""
    for key in table:
        if key not in _KEYS:
            raise ConfigError(f"game.{key}", f"unknown key for game 'dirac'; allowed: {', '.join(sorted(_KEYS))}")
    kwargs = {k: table[k] for k in _KEYS[1:] if k in table}
    return make(**kwargs)


def make(loss="vanilla", regularizer="none", gamma=0.0, lam=0.0, mu=0.0, s=1.0, s_z=1.0,
         nodes=32, gp_delta=0.01) -> DiracGame:
    """Build a Dirac-GAN (see the module docstring for the losses and regularisers).

    Parameters
    ----------
    loss : {"vanilla", "non-saturating", "wgan"}
    regularizer : {"none", "r1", "r2", "weight-decay", "gradient-penalty"}
    gamma : float
        Regulariser strength ``γ >= 0`` (0 switches it off).
    lam : float
        Generator weight decay ``λ >= 0``; only with ``regularizer="weight-decay"``.
    mu, s : float
        Mean and standard deviation (``s >= 0``) of the real data.
    s_z : float
        Generator noise scale ``s_z >= 0``: ``G_θ(z) = θ + s_z z``.
    nodes : int
        Gauss–Hermite points per expectation (``>= 4``).
    gp_delta : float
        Smoothing ``δ > 0`` of ``|ψ|`` in the gradient penalty.

    Raises
    ------
    ConfigError
        Naming the ``game.<key>`` at fault.
    """
    loss = choice(loss, "game.loss", LOSSES)
    regularizer = choice(regularizer, "game.regularizer", REGULARIZERS)
    gamma = number(gamma, "game.gamma", low=0.0)
    lam = number(lam, "game.lam", low=0.0)
    mu = number(mu, "game.mu")
    s = number(s, "game.s", low=0.0)
    s_z = number(s_z, "game.s_z", low=0.0)
    nodes = integer(nodes, "game.nodes", low=4)
    gp_delta = number(gp_delta, "gp_delta", low=0.0, strict=True)
    # a strength its regulariser never reads would be silently ignored: refuse it
    if lam != 0.0 and regularizer != "weight-decay":
        raise ConfigError("game.lam", f"is only used by regularizer = 'weight-decay' (got {regularizer!r}); drop it or set it to 0")
    if gamma != 0.0 and regularizer == "none":
        raise ConfigError("game.gamma", "is unused with regularizer = 'none'; choose r1, r2, weight-decay or gradient-penalty, or drop it")

    a_psi = gamma if regularizer in ("r1", "r2", "weight-decay") else 0.0
    a_theta = lam if regularizer == "weight-decay" else 0.0
    a_gp = gamma if regularizer == "gradient-penalty" else 0.0
    xk, wk = np.polynomial.hermite_e.hermegauss(nodes)
    wk = wk / wk.sum()
    one = (np.zeros(1), np.ones(1))
    ry = (mu + s * xk, wk) if s > 0.0 else (mu + one[0], one[1])
    rz = (s_z * xk, wk) if s_z > 0.0 else one
    params = np.concatenate([
        [1, 1, LOSSES.index(loss), a_psi, a_theta, a_gp, gp_delta ** 2, mu, s, s_z,
         np.hypot(s, s_z), ry[0].size, rz[0].size],
        ry[0], ry[1], rz[0], rz[1],
    ])
    affine = loss == "wgan" and regularizer != "gradient-penalty"
    info = dict(loss=loss, regularizer=regularizer, gamma=gamma, lam=lam, mu=mu, s=s, s_z=s_z,
                nodes=nodes)
    if regularizer == "gradient-penalty":
        info["gp_delta"] = gp_delta
    if loss == "wgan":
        info["Sigma"] = np.diag([0.0, s * s + s_z * s_z])
    # (mu, 0) is a stationary point of b0 for every loss and regulariser when lam = 0
    # the wgan loss has closed forms everywhere: its own kernel module, whose chain loops
    # carry no branch on the loss
    kernels = "invariant.games.dirac_wgan" if loss == "wgan" else __name__
    # a sample's gradient costs one sigmoid per term, the exact ones one per quadrature point
    cost = 1.0 if loss == "wgan" else (ry[0].size + rz[0].size) / 2
    return DiracGame("dirac", 1, 1, params, kernels, affine=affine, x0=np.array([mu, 0.0]), info=info,
                     exact_cost=cost)
