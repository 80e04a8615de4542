"""Kernels of the general MLP GAN (docs/theory.md §1): deep generator and discriminator on data
of any dimension; the game's Python side is :mod:`invariant.games.mlp_deep_setup`.

Generator ``G_θ: R^{n_z} → R^{dim}``, discriminator logit ``D_ω: R^{dim} → R``, each an MLP
of :mod:`invariant.games.mlp_net` (``depth`` hidden layers of ``width`` units, activation,
linear output).  With ``f(t) = −log(1 + e^{−t})`` the per-sample objective of
``ξ = (y, z, y', u)`` is ``ĝ = real(y) + fake(z) + pen(z, y', u) + reg``:

* loss ``"vanilla"``: ``real = f(D(y))``, ``fake = f(−D(G(z)))``, zero-sum;
* ``"non-saturating"``: the same ``ĝ`` for the discriminator, the generator minimising
  ``−f(D(G(z)))`` instead;
* ``"wgan"``: ``real = D(y)``, ``fake = −D(G(z))``.

Regularisers (the discriminator maximises, so its penalties enter with a minus sign):
``"weight-decay"`` ``−(γ/2)|ω|² + (λ/2)|θ|²``; ``"r1"`` ``−(γ/2)|∇_y D(y)|²`` in the real
term; ``"gradient-penalty"`` ``pen = −γ(|∇D(x̂)| − 1)²`` at ``x̂ = u y' + (1 − u) G(z)`` (WGAN-GP,
Gulrajani et al. 2017).  As in WGAN-GP the penalty is the discriminator's alone: the
generator's gradient leaves it out (it does not differentiate through ``x̂``).  ``grad``
returns each player's own gradient and ``loss`` the discriminator's objective
(``generator_loss`` the generator's), as :mod:`invariant.games.mlp` does.

Population quantities over a fixed finite *support*: the ``M`` data rows (weights ``1/M``)
and ``K`` latent nodes ``z_k`` (weights ``1/K``, seeded ``N(0, I)`` draws), each node carrying
its gradient-penalty pair ``(y'_k, u_k) = (data[i_k], u_k)``.  ``g``, ``grad`` and ``Σ`` are the
exact means over that support.  The sampled game draws ``y`` uniformly from the rows and,
with latent ``"nodes"``, a node ``k`` uniformly (with its pair): then ``g`` and ``Σ`` are
exactly the sampled game's expectations.  With latent ``"normal"`` it draws
``z ~ N(0, I)``, ``y'`` uniformly and ``u ~ U(0, 1)``, and the support's means are a
``K``-point Monte Carlo approximation of the expectations.  Since ``y`` and ``(z, y', u)`` are
independent, ``Σ_θ = Cov_k(∇_θ fake)`` and ``Σ_ω = Cov_i(∇_ω real) + Cov_k(∇_ω (fake + pen))``.

Cost: ``grad`` and ``noise`` each take ``M + K`` per-sample gradients (``noise`` adds three
length-``d`` sweeps per support point: O((M + K) d)); ``hvp`` is two ``grad`` calls;
``batch_grad`` takes ``N`` (generator) or ``2N`` (discriminator) passes.

Packed constants ``p`` (``HEAD = 16``)::

    p[0] = dθ, p[1] = dω, p[2] = dim, p[3] = n_z,
    p[4:7] = generator depth, width, activation, p[7:10] = the discriminator's,
    p[10] = loss (0 vanilla, 1 non-saturating, 2 wgan),
    p[11] = regulariser (0 none, 1 weight-decay, 2 r1, 3 gradient-penalty),
    p[12] = gamma, p[13] = lam, p[14] = K, p[15] = latent (0 normal, 1 nodes),
    p[HEAD : HEAD + K n_z] = nodes z_k by rows, then K row indices i_k, then K values u_k.

State ``x = (θ, ω)``, each the parameters of its net in :mod:`invariant.games.mlp_net`'s
layout.  The kernels allocate one scratch vector per call (:func:`_work`), none per sample;
the CUDA backend is refused (``DeepMLPGame.cpu_only``): the scratch is carved into slices.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..schemes import fd_step
from .mlp import _sigmoid, _softplus
from .mlp_net import backward, forward, input_grad_backward, tangent

HEAD = 16
FD_STEP = fd_step("float64")
"""Relative step of ``hvp``'s central difference (``ε^{1/3}``)."""


# ---------------------------------------------------------------------------------------
# helpers


@njit(cache=True)
def _zero(a):
    for i in range(a.shape[0]):
        a[i] = 0.0


@njit(cache=True)
def _work(p):
    """One scratch vector carved into the nets' buffers (mlp_net's docstring)::

    (GA, GH, go, gd1, gd2, DA, DH, DTa, DTh, dd1, dd2, dd3, dd4, q, xh, do, one, zb)
    """
    dim = int(p[2])
    nz = int(p[3])
    Lg, Wg = int(p[4]), int(p[5])
    Ld, Wd = int(p[7]), int(p[8])
    bg = max(Wg, max(nz, dim))
    bd = max(Wd, dim)
    ng = Lg * Wg
    nd = Ld * Wd
    o = np.cumsum(np.array([0, ng, ng, dim, bg, bg, nd, nd, nd, nd, bd, bd, bd, bd, dim, dim, 1, 1, nz]))
    sc = np.zeros(o[-1])
    sc[o[16]] = 1.0  # ``one``: the upstream gradient of a scalar output
    return (sc[o[0]:o[1]], sc[o[1]:o[2]], sc[o[2]:o[3]], sc[o[3]:o[4]], sc[o[4]:o[5]], sc[o[5]:o[6]],
            sc[o[6]:o[7]], sc[o[7]:o[8]], sc[o[8]:o[9]], sc[o[9]:o[10]], sc[o[10]:o[11]], sc[o[11]:o[12]],
            sc[o[12]:o[13]], sc[o[13]:o[14]], sc[o[14]:o[15]], sc[o[15]:o[16]], sc[o[16]:o[17]],
            sc[o[17]:o[18]])


@njit(cache=True)
def _gen(x, p, z, ws):
    """``ws.go = G_θ(z)``."""
    forward(x[: int(p[0])], int(p[3]), int(p[4]), int(p[5]), int(p[2]), int(p[6]), z, ws[0], ws[1], ws[2])


@njit(cache=True)
def _disc(x, p, y, ws):
    """``D_ω(y)`` (its buffers keep the forward pass)."""
    forward(x[int(p[0]) :], int(p[2]), int(p[7]), int(p[8]), 1, int(p[9]), y, ws[5], ws[6], ws[15])
    return ws[15][0]


@njit(cache=True)
def _disc_back(x, p, y, c, want_q, ws, out):
    """``out[dθ:] += c ∇_ω D(y)`` and, if ``want_q``, ``ws.q = ∇_y D(y)`` (after :func:`_disc`)."""
    dt = int(p[0])
    backward(x[dt:], int(p[2]), int(p[7]), int(p[8]), 1, int(p[9]), y, ws[5], ws[6], ws[16], c,
             out[dt:], ws[13], want_q, ws[9], ws[10])


@njit(cache=True)
def _q_norm2(p, ws):
    q = ws[13]
    s = 0.0
    for k in range(int(p[2])):
        s += q[k] * q[k]
    return s


@njit(cache=True)
def _acc_input_grad(x, p, y, c, ws, out):
    """``out[dθ:] += c ∇_ω (q·∇_y D(y))``, ``q = ws.q`` held fixed (after :func:`_disc_back`)."""
    dt = int(p[0])
    om = x[dt:]
    nin, L, W, act = int(p[2]), int(p[7]), int(p[8]), int(p[9])
    tangent(om, nin, L, W, act, ws[13], ws[5], ws[6], ws[7], ws[8])
    input_grad_backward(om, nin, L, W, act, y, ws[13], ws[5], ws[6], ws[7], ws[8], c, out[dt:],
                        ws[9], ws[10], ws[11], ws[12])


@njit(cache=True)
def _interp(p, data, i, u, ws):
    """``ws.xh = u data[i] + (1 − u) G(z)`` (after :func:`_gen`)."""
    y = data[i]
    g = ws[2]
    xh = ws[14]
    for k in range(int(p[2])):
        xh[k] = u * y[k] + (1.0 - u) * g[k]


# ---------------------------------------------------------------------------------------
# per-sample terms


@njit(cache=True)
def _real_value(x, p, y, ws):
    """``real(y)`` (R1 included)."""
    D = _disc(x, p, y, ws)
    v = D if p[10] == 2.0 else -_softplus(-D)
    if p[11] == 2.0:
        _disc_back(x, p, y, 0.0, True, ws, ws[2])
        v -= 0.5 * p[12] * _q_norm2(p, ws)
    return v


@njit(cache=True)
def _acc_real(x, p, y, c, ws, out):
    """``out[dθ:] += c ∇_ω real(y)``."""
    D = _disc(x, p, y, ws)
    r1 = p[11] == 2.0
    _disc_back(x, p, y, c * (1.0 if p[10] == 2.0 else _sigmoid(-D)), r1, ws, out)  # f'(t) = σ(−t)
    if r1:
        _acc_input_grad(x, p, y, -c * p[12], ws, out)


@njit(cache=True)
def _penalty(x, p, data, i, u, c, ws, out):
    """``pen = −γ(|∇D(x̂)| − 1)²`` at ``x̂ = u data[i] + (1 − u) G(z)`` (after :func:`_gen`);
    ``out[dθ:] += c ∇_ω pen`` unless ``c = 0``.  ``∇_ω pen = −2γ (|q| − 1)/|q| ∇_ω(q·∇D)|_q``
    (taken as 0 where ``q = 0``, e.g. every ReLU dead at ``x̂``: ``|q|`` has no gradient there)."""
    _interp(p, data, i, u, ws)
    xh = ws[14]
    _disc(x, p, xh, ws)
    _disc_back(x, p, xh, 0.0, True, ws, out)
    nq = math.sqrt(_q_norm2(p, ws))
    if c != 0.0 and nq > 0.0:
        _acc_input_grad(x, p, xh, -2.0 * c * p[12] * (nq - 1.0) / nq, ws, out)
    return -p[12] * (nq - 1.0) * (nq - 1.0)


@njit(cache=True)
def _fake_values(x, p, data, z, i, u, ws):
    """``(fake + pen, generator's own loss)`` at ``ξ = (z, data[i], u)``."""
    _gen(x, p, z, ws)
    s = _disc(x, p, ws[2], ws)
    if p[10] == 2.0:
        vd = -s
        vg = -s
    else:
        vd = -_softplus(s)  # f(−s)
        vg = _softplus(-s) if p[10] == 1.0 else vd  # −f(s) (non-saturating)
    if p[11] == 3.0:
        vd += _penalty(x, p, data, i, u, 0.0, ws, ws[2])
    return vd, vg


@njit(cache=True)
def _acc_fake(x, p, data, z, i, u, ct, co, ws, out):
    """``out[:dθ] += ct ∇_θ`` (generator's loss), ``out[dθ:] += co ∇_ω (fake + pen)``.

    A zero coefficient skips that player's block.
    """
    _gen(x, p, z, ws)
    go = ws[2]
    s = _disc(x, p, go, ws)
    if p[10] == 2.0:
        dd = -1.0
        dg = -1.0
    else:
        dd = -_sigmoid(s)  # d f(−s)/ds
        dg = -_sigmoid(-s) if p[10] == 1.0 else dd  # d(−f(s))/ds
    _disc_back(x, p, go, co * dd, ct != 0.0, ws, out)
    if ct != 0.0:
        # ∇_θ D(G_θ(z)) = J_θ(G)ᵀ ∇_y D at y = G(z): backpropagate q through the generator
        backward(x[: int(p[0])], int(p[3]), int(p[4]), int(p[5]), int(p[2]), int(p[6]), z, ws[0],
                 ws[1], ws[13], ct * dg, out, ws[17], False, ws[3], ws[4])
    if co != 0.0 and p[11] == 3.0:
        _penalty(x, p, data, i, u, co, ws, out)


@njit(cache=True)
def _acc_reg(x, p, ct, co, out):
    """Weight decay's gradient ``(λθ, −γω)`` scaled by ``ct`` / ``co``."""
    if p[11] != 1.0:
        return
    dt = int(p[0])
    om = x[dt:]
    oo = out[dt:]
    if ct != 0.0:
        for i in range(dt):
            out[i] += ct * p[13] * x[i]
    if co != 0.0:
        for j in range(om.shape[0]):
            oo[j] -= co * p[12] * om[j]


@njit(cache=True)
def _node(p, k):
    """Latent node ``z_k`` (a slice of ``p``)."""
    nz = int(p[3])
    o = HEAD + k * nz
    return p[o : o + nz]


@njit(cache=True)
def _pair(p, k):
    """Gradient-penalty pair ``(i_k, u_k)`` of node ``k``."""
    K = int(p[14])
    o = HEAD + K * int(p[3])
    return int(p[o + k]), p[o + K + k]


@njit(cache=True)
def _draw(p, M, rng, ws):
    """One draw of ``(z, i', u)``: ``z`` into ``ws.zb``; returns ``(i', u)``."""
    zb = ws[17]
    if p[15] == 0.0:
        for j in range(zb.shape[0]):
            zb[j] = rng.standard_normal()
        return rng.integers(0, M), rng.random()
    k = rng.integers(0, int(p[14]))
    zk = _node(p, k)
    for j in range(zb.shape[0]):
        zb[j] = zk[j]
    return _pair(p, k)


# ---------------------------------------------------------------------------------------
# the kernel module's functions (base.py)


@njit(cache=True)
def loss(x, p, data):
    """``g(x)``: the discriminator's objective, exact over the support."""
    ws = _work(p)
    M = data.shape[0]
    K = int(p[14])
    s = 0.0
    for i in range(M):
        s += _real_value(x, p, data[i], ws) / M
    for k in range(K):
        i, u = _pair(p, k)
        vd, vg = _fake_values(x, p, data, _node(p, k), i, u, ws)
        s += vd / K
    if p[11] == 1.0:
        dt = int(p[0])
        for i in range(dt):
            s += 0.5 * p[13] * x[i] * x[i]
        for j in range(dt, x.shape[0]):
            s -= 0.5 * p[12] * x[j] * x[j]
    return s


@njit(cache=True)
def generator_loss(x, p, data):
    """The generator's own objective (mean over the nodes, ``+ λ/2 |θ|²``), whose ``θ``-gradient
    ``grad`` returns."""
    ws = _work(p)
    K = int(p[14])
    s = 0.0
    for k in range(K):
        i, u = _pair(p, k)
        vd, vg = _fake_values(x, p, data, _node(p, k), i, u, ws)
        s += vg / K
    if p[11] == 1.0:
        for i in range(int(p[0])):
            s += 0.5 * p[13] * x[i] * x[i]
    return s


@njit(cache=True)
def generator_output(x, p, z, out):
    """``out[:dim] = G_θ(z)`` for one latent ``z`` (the kernels' forward pass)."""
    ws = _work(p)
    _gen(x, p, z, ws)
    for k in range(int(p[2])):
        out[k] = ws[2][k]


@njit(cache=True)
def grad(x, p, data, out):
    """Population gradient ``(∇_θ`` of the generator's loss, ``∇_ω g)`` over the support."""
    ws = _work(p)
    M = data.shape[0]
    K = int(p[14])
    _zero(out)
    for i in range(M):
        _acc_real(x, p, data[i], 1.0 / M, ws, out)
    for k in range(K):
        i, u = _pair(p, k)
        _acc_fake(x, p, data, _node(p, k), i, u, 1.0 / K, 1.0 / K, ws, out)
    _acc_reg(x, p, 1.0, 1.0, out)


@njit(cache=True)
def hvp(x, p, data, v, out):
    """``H(x) v`` by a central difference of ``grad`` (not exact).

    The step ``h`` makes ``|h v| = FD_STEP max(1, |x|)`` (``FD_STEP = ε^{1/3}``), balancing the
    ``O(h²)`` truncation against the ``O(ε/h)`` rounding: relative error ≈ ``ε^{2/3}`` ≈ 4e-11
    times the scale of the third derivatives (ReLU nets: exact away from kinks, where a
    difference straddling a kink errs by O(1) in that unit's terms).
    """
    d = x.shape[0]
    nv = 0.0
    nx = 0.0
    for i in range(d):
        nv += v[i] * v[i]
        nx += x[i] * x[i]
    nv = math.sqrt(nv)
    if nv == 0.0:
        _zero(out)
        return
    h = FD_STEP * max(1.0, math.sqrt(nx)) / nv
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
    """A draw with covariance exactly ``blockdiag(Σ_θ, Σ_ω)(x)`` over the support.

    ``out = Σ_k K^{-1/2} (a_k − ā) u_k ⊕ [Σ_k K^{-1/2} (b_k − b̄) u'_k + Σ_i M^{-1/2} (r_i − r̄) u''_i]``
    with ``(a_k, b_k)`` node ``k``'s per-sample gradient (fake + penalty), ``r_i`` row ``i``'s
    (real) and independent standard normals ``u, u', u''``; computed in one pass as
    ``Σ_k K^{-1/2} a_k u_k − ā U`` (``U = Σ_k K^{-1/2} u_k``), the means accumulated alongside.
    """
    dt = int(p[0])
    d = out.shape[0]
    K = int(p[14])
    M = data.shape[0]
    ws = _work(p)
    g = np.empty(d)
    mf = np.zeros(d)
    mr = np.zeros(d)
    _zero(out)
    sk = 1.0 / math.sqrt(K)
    Ut = 0.0
    Uo = 0.0
    for k in range(K):
        at = sk * rng.standard_normal()
        ao = sk * rng.standard_normal()
        Ut += at
        Uo += ao
        _zero(g)
        i, u = _pair(p, k)
        _acc_fake(x, p, data, _node(p, k), i, u, 1.0, 1.0, ws, g)
        for j in range(dt):
            out[j] += at * g[j]
        for j in range(dt, d):
            out[j] += ao * g[j]
        for j in range(d):
            mf[j] += g[j] / K
    sm = 1.0 / math.sqrt(M)
    Ur = 0.0
    for i in range(M):
        ar = sm * rng.standard_normal()
        Ur += ar
        _zero(g)
        _acc_real(x, p, data[i], 1.0, ws, g)
        for j in range(dt, d):
            out[j] += ar * g[j]
            mr[j] += g[j] / M
    for j in range(dt):
        out[j] -= Ut * mf[j]
    for j in range(dt, d):
        out[j] -= Uo * mf[j] + Ur * mr[j]


@njit(cache=True)
def batch_grad(x, p, data, rng, batch_size, player, out):
    """Minibatch mean of one player's per-sample gradient over ``batch_size`` i.i.d. ``ξ``.

    The generator's gradient depends on ``z`` only (the penalty is the discriminator's).
    """
    dt = int(p[0])
    M = data.shape[0]
    ws = _work(p)
    c = 1.0 / batch_size
    if player == 0:
        _zero(out[:dt])
        for _ in range(batch_size):
            i, u = _draw(p, M, rng, ws)
            _acc_fake(x, p, data, ws[17], i, u, c, 0.0, ws, out)
        _acc_reg(x, p, 1.0, 0.0, out)
    else:
        _zero(out[dt:])
        for _ in range(batch_size):
            _acc_real(x, p, data[rng.integers(0, M)], c, ws, out)
            i, u = _draw(p, M, rng, ws)
            _acc_fake(x, p, data, ws[17], i, u, 0.0, c, ws, out)
        _acc_reg(x, p, 0.0, 1.0, out)


@njit(cache=True)
def sample_grads(x, p, data, rng, out):
    """One row ``(∇_θ ĝ, ∇_ω ĝ)`` per i.i.d. draw ``ξ`` (generator: its own loss)."""
    M = data.shape[0]
    ws = _work(p)
    for r in range(out.shape[0]):
        row = out[r]
        _zero(row)
        _acc_real(x, p, data[rng.integers(0, M)], 1.0, ws, row)
        i, u = _draw(p, M, rng, ws)
        _acc_fake(x, p, data, ws[17], i, u, 1.0, 1.0, ws, row)
        _acc_reg(x, p, 1.0, 1.0, row)


@njit(cache=True)
def support_grads(x, p, data, fake, real):
    """Per-sample gradients on the support, without the regulariser: ``fake[k]`` at node ``k``
    (fake + penalty; the generator's own loss), ``real[i] = (0, ∇_ω real(y_i))``."""
    ws = _work(p)
    for k in range(fake.shape[0]):
        _zero(fake[k])
        i, u = _pair(p, k)
        _acc_fake(x, p, data, _node(p, k), i, u, 1.0, 1.0, ws, fake[k])
    for i in range(data.shape[0]):
        _zero(real[i])
        _acc_real(x, p, data[i], 1.0, ws, real[i])
