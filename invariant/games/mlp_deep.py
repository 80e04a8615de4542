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
length-``d`` sweeps per support point: O((M + K) d)); no ``hvp``: the protocol's central
difference of ``grad`` stands in (games/base.py), two ``grad`` calls;
``batch_grad`` takes ``N`` (generator) or ``2N`` (discriminator) passes.  Samples go through
the nets in chunks of up to ``CHUNK`` (:mod:`invariant.games.mlp_net`'s batched layout, whose
inner loops run over the chunk): ``grad``, ``loss`` and ``batch_grad`` use full chunks,
``noise``, ``sample_grads`` and ``support_grads`` need each sample's own gradient and go one
sample at a time.  Measured (ring8, both nets depth 2 × width 22 ReLU, d = 1213, batch 64,
one SGA step = both players' ``batch_grad``, called from Python on the shared 2-core
machine): 120 µs without a regulariser, 290 µs with R1, 330 µs WGAN-GP; one sample at a time
they took 650, 830 and 970 µs.

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

from .mlp import _sigmoid, _softplus
from .mlp_net import backward, forward, input_grad_backward, tangent

HEAD = 16
CHUNK = 64
"""Samples per chunk of the batched passes (the scratch grows with it)."""


# ---------------------------------------------------------------------------------------
# scratch and batches: every per-unit quantity of a chunk of B samples is unit-major,
# X[k B + b] (mlp_net's docstring); chunks hold at most CHUNK samples


@njit(cache=True)
def _zero(a):
    for i in range(a.shape[0]):
        a[i] = 0.0


@njit(cache=True)
def _work(p, bc):
    """One scratch vector for chunks of up to ``bc`` samples, carved into::

    0 GA, 1 GH, 2 GO (generator output), 3 GD1, 4 GD2, 5 DA, 6 DH, 7 DTa, 8 DTh, 9–12 DD1–DD4,
    13 Q (input gradients), 14 XH (penalty points), 15 DO (logits), 16 ONE, 17 ZB (latents),
    18 YB (data), 19 CB, 20 C2 (per-sample weights), 21 T (2 bc), 22 PI, 23 PU (penalty pairs)
    """
    dim = int(p[2])
    nz = int(p[3])
    ng = int(p[4]) * int(p[5]) * bc
    nd = int(p[7]) * int(p[8]) * bc
    bg = max(int(p[5]), max(nz, dim)) * bc
    bd = max(int(p[8]), dim) * bc
    o = np.cumsum(np.array([0, ng, ng, dim * bc, bg, bg, nd, nd, nd, nd, bd, bd, bd, bd, dim * bc,
                            dim * bc, bc, bc, nz * bc, dim * bc, bc, bc, 2 * bc, bc, bc]))
    sc = np.zeros(o[-1])
    for i in range(o[16], o[17]):
        sc[i] = 1.0  # ONE: the upstream gradient of a scalar output
    return (sc[o[0]:o[1]], sc[o[1]:o[2]], sc[o[2]:o[3]], sc[o[3]:o[4]], sc[o[4]:o[5]], sc[o[5]:o[6]],
            sc[o[6]:o[7]], sc[o[7]:o[8]], sc[o[8]:o[9]], sc[o[9]:o[10]], sc[o[10]:o[11]], sc[o[11]:o[12]],
            sc[o[12]:o[13]], sc[o[13]:o[14]], sc[o[14]:o[15]], sc[o[15]:o[16]], sc[o[16]:o[17]],
            sc[o[17]:o[18]], sc[o[18]:o[19]], sc[o[19]:o[20]], sc[o[20]:o[21]], sc[o[21]:o[22]],
            sc[o[22]:o[23]], sc[o[23]:o[24]])


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
    return p[o + k], p[o + K + k]


@njit(cache=True)
def _set_row(data, i, b, B, ws):
    """Sample ``b`` of the chunk's data ``YB`` is row ``i``."""
    y = data[i]
    YB = ws[18]
    for k in range(y.shape[0]):
        YB[k * B + b] = y[k]


@njit(cache=True)
def _set_node(p, k, b, B, ws):
    """Sample ``b`` of the chunk's latents ``ZB`` (and its penalty pair) is node ``k``."""
    z = _node(p, k)
    ZB = ws[17]
    for j in range(z.shape[0]):
        ZB[j * B + b] = z[j]
    ws[22][b], ws[23][b] = _pair(p, k)


@njit(cache=True)
def _draw(p, M, rng, b, B, ws):
    """Draw sample ``b``'s ``(z, i', u)``: ``N(0, I)``, a row, ``U(0, 1)``, or a node with its pair."""
    if p[15] == 1.0:
        _set_node(p, rng.integers(0, int(p[14])), b, B, ws)
        return
    ZB = ws[17]
    for j in range(int(p[3])):
        ZB[j * B + b] = rng.standard_normal()
    ws[22][b] = rng.integers(0, M)
    ws[23][b] = rng.random()


# ---------------------------------------------------------------------------------------
# the two nets on a chunk


@njit(cache=True)
def _gen_fwd(x, p, B, ws):
    """``GO = G_θ(ZB)``."""
    forward(x[: int(p[0])], int(p[3]), int(p[4]), int(p[5]), int(p[2]), int(p[6]), ws[17], ws[0], ws[1],
            ws[2], B)


@njit(cache=True)
def _disc_fwd(x, p, In, B, ws):
    """``DO = D_ω(In)``."""
    forward(x[int(p[0]) :], int(p[2]), int(p[7]), int(p[8]), 1, int(p[9]), In, ws[5], ws[6], ws[15], B)


@njit(cache=True)
def _disc_bwd(x, p, In, B, want_w, want_q, ws, out):
    """``out[dθ:] += Σ_b CB_b ∇_ω D(In_b)`` if ``want_w``; ``Q = ∇_y D(In)`` if ``want_q``."""
    dt = int(p[0])
    backward(x[dt:], int(p[2]), int(p[7]), int(p[8]), 1, int(p[9]), In, ws[5], ws[6], ws[16], ws[19],
             want_w, out[dt:], ws[13], want_q, ws[9], ws[10], ws[21], B)


@njit(cache=True)
def _input_grad(x, p, In, B, ws, out):
    """``out[dθ:] += Σ_b CB_b ∇_ω (q_b·∇_y D(In_b))``, ``q = Q`` held fixed (after ``_disc_bwd``)."""
    dt = int(p[0])
    om = x[dt:]
    nin, L, W, act = int(p[2]), int(p[7]), int(p[8]), int(p[9])
    tangent(om, nin, L, W, act, ws[13], ws[5], ws[6], ws[7], ws[8], B)
    input_grad_backward(om, nin, L, W, act, In, ws[13], ws[5], ws[6], ws[7], ws[8], ws[19], out[dt:],
                        ws[9], ws[10], ws[11], ws[12], ws[21], B)


@njit(cache=True)
def _q_norm(p, b, B, ws):
    Q = ws[13]
    s = 0.0
    for k in range(int(p[2])):
        s += Q[k * B + b] * Q[k * B + b]
    return math.sqrt(s)


# ---------------------------------------------------------------------------------------
# the terms of ĝ on a chunk: values summed, gradients accumulated with a weight per sample


@njit(cache=True)
def _real(x, p, B, c, want_grad, ws, out):
    """``Σ_b real(YB_b)``; if ``want_grad``, ``out[dθ:] += c Σ_b ∇_ω real(YB_b)``."""
    YB = ws[18]
    _disc_fwd(x, p, YB, B, ws)
    D = ws[15]
    CB = ws[19]
    wgan = p[10] == 2.0
    r1 = p[11] == 2.0
    v = 0.0
    for b in range(B):
        v += D[b] if wgan else -_softplus(-D[b])
        CB[b] = c * (1.0 if wgan else _sigmoid(-D[b]))  # f'(t) = σ(−t)
    if want_grad or r1:
        _disc_bwd(x, p, YB, B, want_grad, r1, ws, out)
    if r1:
        for b in range(B):
            q = _q_norm(p, b, B, ws)
            v -= 0.5 * p[12] * q * q
            CB[b] = -c * p[12]
        if want_grad:
            _input_grad(x, p, YB, B, ws, out)
    return v


@njit(cache=True)
def _penalty(x, p, data, B, c, ws, out):
    """``Σ_b pen_b``, ``pen = −γ(|∇D(x̂)| − 1)²`` at ``x̂ = u y' + (1 − u) G(z)`` (after
    ``_gen_fwd``); ``out[dθ:] += c Σ_b ∇_ω pen_b`` unless ``c = 0``, with
    ``∇_ω pen = −2γ (|q| − 1)/|q| ∇_ω(q·∇D)|_q`` (taken as 0 where ``q = 0``, e.g. every ReLU
    dead at ``x̂``: ``|q|`` has no gradient there)."""
    XH = ws[14]
    GO = ws[2]
    PI = ws[22]
    PU = ws[23]
    for b in range(B):
        y = data[int(PI[b])]
        u = PU[b]
        for k in range(y.shape[0]):
            XH[k * B + b] = u * y[k] + (1.0 - u) * GO[k * B + b]
    _disc_fwd(x, p, XH, B, ws)
    _disc_bwd(x, p, XH, B, False, True, ws, out)
    CB = ws[19]
    v = 0.0
    for b in range(B):
        nq = _q_norm(p, b, B, ws)
        v -= p[12] * (nq - 1.0) * (nq - 1.0)
        CB[b] = -2.0 * c * p[12] * (nq - 1.0) / nq if nq > 0.0 else 0.0
    if c != 0.0:
        _input_grad(x, p, XH, B, ws, out)
    return v


@njit(cache=True)
def _fake(x, p, data, B, ct, co, ws, out):
    """``(Σ_b (fake + pen), Σ_b generator's loss)`` at the chunk's ``(ZB, PI, PU)``;
    ``out[:dθ] += ct Σ_b ∇_θ`` (generator's loss), ``out[dθ:] += co Σ_b ∇_ω (fake + pen)``.

    A zero coefficient skips that player's gradient.
    """
    _gen_fwd(x, p, B, ws)
    GO = ws[2]
    _disc_fwd(x, p, GO, B, ws)
    S = ws[15]
    CB = ws[19]
    C2 = ws[20]
    vd = 0.0
    vg = 0.0
    for b in range(B):
        s = S[b]
        if p[10] == 2.0:
            vd -= s
            vg -= s
            CB[b] = -co
            C2[b] = -ct
        else:
            fs = -_softplus(s)  # f(−s)
            vd += fs
            ds = -_sigmoid(s)  # d f(−s)/ds
            CB[b] = co * ds
            if p[10] == 1.0:  # −f(s), d(−f(s))/ds = −σ(−s)
                vg += _softplus(-s)
                C2[b] = -ct * _sigmoid(-s)
            else:
                vg += fs
                C2[b] = ct * ds
    if co != 0.0 or ct != 0.0:
        _disc_bwd(x, p, GO, B, co != 0.0, ct != 0.0, ws, out)
    if ct != 0.0:
        # ∇_θ D(G_θ(z)) = J_θ(G)ᵀ ∇_y D at y = G(z): backpropagate Q through the generator
        backward(x[: int(p[0])], int(p[3]), int(p[4]), int(p[5]), int(p[2]), int(p[6]), ws[17], ws[0],
                 ws[1], ws[13], C2, True, out, ws[17], False, ws[3], ws[4], ws[21], B)
    if p[11] == 3.0:
        vd += _penalty(x, p, data, B, co, ws, out)
    return vd, vg


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
def _support(x, p, data, want_grad, ws, out):
    """Means over the support: ``(g without weight decay, generator's loss without it)``, and
    with ``want_grad`` their gradients into ``out`` (zeroed first)."""
    M = data.shape[0]
    K = int(p[14])
    c = 1.0 / M if want_grad else 0.0
    if want_grad:
        _zero(out)
    vr = 0.0
    for i0 in range(0, M, CHUNK):
        B = min(CHUNK, M - i0)
        for b in range(B):
            _set_row(data, i0 + b, b, B, ws)
        vr += _real(x, p, B, c, want_grad, ws, out)
    c = 1.0 / K if want_grad else 0.0
    vd = 0.0
    vg = 0.0
    for k0 in range(0, K, CHUNK):
        B = min(CHUNK, K - k0)
        for b in range(B):
            _set_node(p, k0 + b, b, B, ws)
        d, g = _fake(x, p, data, B, c, c, ws, out)
        vd += d
        vg += g
    return vr / M + vd / K, vg / K


@njit(cache=True)
def _one(x, p, data, i, ct, co, ws, out):
    """``out += (ct ∇_θ, co ∇_ω)`` of one sample: row ``i`` (none if ``i < 0``) and the latent
    already set as sample 0 of ``ZB``."""
    if i >= 0:
        _set_row(data, i, 0, 1, ws)
        _real(x, p, 1, co, True, ws, out)
    _fake(x, p, data, 1, ct, co, ws, out)


# ---------------------------------------------------------------------------------------
# the kernel module's functions (base.py)


@njit(cache=True)
def loss(x, p, data):
    """``g(x)``: the discriminator's objective, exact over the support."""
    v = _support(x, p, data, False, _work(p, CHUNK), np.empty(0))[0]
    if p[11] == 1.0:
        dt = int(p[0])
        for i in range(dt):
            v += 0.5 * p[13] * x[i] * x[i]
        for j in range(dt, x.shape[0]):
            v -= 0.5 * p[12] * x[j] * x[j]
    return v


@njit(cache=True)
def generator_loss(x, p, data):
    """The generator's own objective (mean over the nodes, ``+ λ/2 |θ|²``), whose ``θ``-gradient
    ``grad`` returns."""
    v = _support(x, p, data, False, _work(p, CHUNK), np.empty(0))[1]
    if p[11] == 1.0:
        for i in range(int(p[0])):
            v += 0.5 * p[13] * x[i] * x[i]
    return v


@njit(cache=True)
def generator_output(x, p, z, out):
    """``out[:dim] = G_θ(z)`` for one latent ``z`` (the kernels' forward pass)."""
    ws = _work(p, 1)
    for j in range(z.shape[0]):
        ws[17][j] = z[j]
    _gen_fwd(x, p, 1, ws)
    for k in range(int(p[2])):
        out[k] = ws[2][k]


@njit(cache=True)
def grad(x, p, data, out):
    """Population gradient ``(∇_θ`` of the generator's loss, ``∇_ω g)`` over the support."""
    _support(x, p, data, True, _work(p, CHUNK), out)
    _acc_reg(x, p, 1.0, 1.0, out)


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
    ws = _work(p, 1)
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
        _set_node(p, k, 0, 1, ws)
        _one(x, p, data, -1, 1.0, 1.0, ws, g)
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
        _set_row(data, i, 0, 1, ws)
        _real(x, p, 1, 1.0, True, ws, g)
        for j in range(dt, d):
            out[j] += ar * g[j]
            mr[j] += g[j] / M
    for j in range(dt):
        out[j] -= Ut * mf[j]
    for j in range(dt, d):
        out[j] -= Uo * mf[j] + Ur * mr[j]


@njit(cache=True)
def batch_grad(x, p, data, rng, batch_size, player, out):
    """Minibatch mean of one player's per-sample gradient over ``batch_size`` i.i.d. ``ξ``,
    in chunks of ``CHUNK``; per sample the row is drawn before the latent.

    The generator's gradient depends on ``z`` only (the penalty is the discriminator's).
    """
    dt = int(p[0])
    M = data.shape[0]
    ws = _work(p, min(CHUNK, batch_size))
    c = 1.0 / batch_size
    if player == 0:
        _zero(out[:dt])
    else:
        _zero(out[dt:])
    for n0 in range(0, batch_size, CHUNK):
        B = min(CHUNK, batch_size - n0)
        for b in range(B):
            if player != 0:
                _set_row(data, rng.integers(0, M), b, B, ws)
            _draw(p, M, rng, b, B, ws)
        if player == 0:
            _fake(x, p, data, B, c, 0.0, ws, out)
        else:
            _real(x, p, B, c, True, ws, out)
            _fake(x, p, data, B, 0.0, c, ws, out)
    if player == 0:
        _acc_reg(x, p, 1.0, 0.0, out)
    else:
        _acc_reg(x, p, 0.0, 1.0, out)


@njit(cache=True)
def sample_grads(x, p, data, rng, out):
    """One row ``(∇_θ ĝ, ∇_ω ĝ)`` per i.i.d. draw ``ξ`` (generator: its own loss)."""
    M = data.shape[0]
    ws = _work(p, 1)
    for r in range(out.shape[0]):
        row = out[r]
        _zero(row)
        i = rng.integers(0, M)
        _draw(p, M, rng, 0, 1, ws)
        _one(x, p, data, i, 1.0, 1.0, ws, row)
        _acc_reg(x, p, 1.0, 1.0, row)


@njit(cache=True)
def support_grads(x, p, data, fake, real):
    """Per-sample gradients on the support, without the regulariser: ``fake[k]`` at node ``k``
    (fake + penalty; the generator's own loss), ``real[i] = (0, ∇_ω real(y_i))``."""
    ws = _work(p, 1)
    for k in range(fake.shape[0]):
        _zero(fake[k])
        _set_node(p, k, 0, 1, ws)
        _one(x, p, data, -1, 1.0, 1.0, ws, fake[k])
    for i in range(data.shape[0]):
        _zero(real[i])
        _set_row(data, i, 0, 1, ws)
        _real(x, p, 1, 1.0, True, ws, real[i])
