"""One multilayer perceptron on a batch of inputs: forward pass, backpropagation and
backpropagation through its input gradient, as ``numba.njit`` helpers of the general MLP GAN
(:mod:`invariant.games.mlp_deep`, docs/theory.md §1).

A net maps ``u ∈ R^{n_in}`` through ``L`` hidden layers of ``W`` units to ``o ∈ R^{n_out}``::

    a_0 = W_0 u + b_0,  h_l = φ(a_l),  a_l = W_l h_{l-1} + b_l  (l = 1..L-1),  o = W_L h_{L-1} + b_L

(linear output).  Its parameters ``w`` are the layers in order, each its weight matrix by rows
(``n_out_l × n_in_l``) then its bias, so ``|w| = W(n_in + 1) + (L−1) W(W + 1) + n_out(W + 1)``
(:func:`net_size`).  Activations ``φ`` (code ``act``): 0 ``tanh`` (``φ' = 1 − h²``,
``φ'' = −2h(1 − h²)``), 1 ``relu`` (``φ' = 1[a > 0]``), 2 ``leaky_relu`` with slope
``LEAKY = 0.2`` for ``a ≤ 0``; both ReLUs have ``φ'' = 0`` (almost everywhere).

Batches: ``B`` inputs at once, every per-unit quantity stored unit-major as ``X[k B + b]``
(unit ``k``, sample ``b``), so the innermost loops run over the batch, contiguous: the
forward and backward sweeps are ``axpy``s of length ``B``, and parameter gradients are dot
products over the batch (``fastmath`` reassociation lets them vectorise; deterministic, and
NaN/Inf still propagate).  Scratch: ``A``, ``Hh`` (and the tangent's ``Ta``, ``Th``) hold
``L·W·B`` values, layer ``l`` at ``[lWB, (l+1)WB)``; ``D1 … D4`` hold
``max(W, n_in, n_out)·B``; ``T`` holds ``2B``.  Parameter gradients are weighted per sample
by ``cb[b]`` and summed over the batch; the backpropagated vectors are not weighted.
Nothing is allocated here.
"""
from __future__ import annotations

import math

from numba import njit

ACTIVATIONS = ("tanh", "relu", "leaky_relu")
LEAKY = 0.2
"""Slope of ``leaky_relu`` for negative inputs."""
_FM = {"reassoc", "contract"}


def net_size(n_in: int, depth: int, width: int, n_out: int) -> int:
    """Number of parameters of a net (module docstring)."""
    return width * (n_in + 1) + (depth - 1) * width * (width + 1) + n_out * (width + 1)


@njit(cache=True)
def _offset(l, n_in, W):
    """Start of layer ``l``'s weights in ``w`` (``l ≥ 0``)."""
    if l == 0:
        return 0
    return W * (n_in + 1) + (l - 1) * W * (W + 1)


@njit(cache=True)
def _phi(a, act):
    if act == 0:
        return math.tanh(a)
    if a > 0.0:
        return a
    return 0.0 if act == 1 else LEAKY * a


@njit(cache=True)
def _dphi(a, h, act):
    """``φ'(a)`` given ``h = φ(a)``."""
    if act == 0:
        return 1.0 - h * h
    if a > 0.0:
        return 1.0
    return 0.0 if act == 1 else LEAKY


@njit(cache=True)
def _d2phi(h, act):
    """``φ''(a)`` given ``h = φ(a)`` (zero for the ReLUs)."""
    if act == 0:
        return -2.0 * h * (1.0 - h * h)
    return 0.0


@njit(cache=True)
def _linear(w, off, ni, no, Hin, A, B, bias):
    """``A[j, :] = Σ_k W[j, k] Hin[k, :] (+ b_j)`` for the layer whose weights start at ``w[off]``."""
    bo = off + no * ni
    for j in range(no):
        a = A[j * B : (j + 1) * B]
        b0 = w[bo + j] if bias else 0.0
        for b in range(B):
            a[b] = b0
        row = w[off + j * ni : off + (j + 1) * ni]
        for k in range(ni):
            wk = row[k]
            h = Hin[k * B : (k + 1) * B]
            for b in range(B):
                a[b] += wk * h[b]


@njit(cache=True)
def forward(w, n_in, L, W, n_out, act, U, A, Hh, O, B):
    """``O[:, b] = net(U[:, b])``, keeping pre-activations in ``A`` and activations in ``Hh``."""
    WB = W * B
    for l in range(L):
        Hin = U if l == 0 else Hh[(l - 1) * WB : l * WB]
        _linear(w, _offset(l, n_in, W), n_in if l == 0 else W, W, Hin, A[l * WB :], B, True)
        for i in range(l * WB, (l + 1) * WB):
            Hh[i] = _phi(A[i], act)
    _linear(w, _offset(L, n_in, W), W, n_out, Hh[(L - 1) * WB : L * WB], O, B, True)


@njit(cache=True, fastmath=_FM)
def _acc_weights(gw, off, ni, no, Hin, Dl, cb, T, B):
    """``gW[j, k] += Σ_b cb_b Dl[j, b] Hin[k, b]``, ``gb[j] += Σ_b cb_b Dl[j, b]``."""
    bo = off + no * ni
    for j in range(no):
        d = Dl[j * B : (j + 1) * B]
        s = 0.0
        for b in range(B):
            T[b] = cb[b] * d[b]
            s += T[b]
        gw[bo + j] += s
        g = gw[off + j * ni : off + (j + 1) * ni]
        for k in range(ni):
            h = Hin[k * B : (k + 1) * B]
            s = 0.0
            for b in range(B):
                s += T[b] * h[b]
            g[k] += s


@njit(cache=True)
def _transpose_mul(w, off, ni, no, Dl, E, B):
    """``E[k, :] = Σ_j W[j, k] Dl[j, :]``."""
    for i in range(ni * B):
        E[i] = 0.0
    for j in range(no):
        row = w[off + j * ni : off + (j + 1) * ni]
        d = Dl[j * B : (j + 1) * B]
        for k in range(ni):
            wk = row[k]
            e = E[k * B : (k + 1) * B]
            for b in range(B):
                e[b] += wk * d[b]


@njit(cache=True)
def backward(w, n_in, L, W, n_out, act, U, A, Hh, Gout, cb, want_w, gw, Gin, want_in, D1, D2, T, B):
    """Backpropagate ``Gout[:, b]·o_b`` after :func:`forward` at ``U``.

    If ``want_w``, ``gw += Σ_b cb_b ∇_w (Gout[:, b]·o_b)``; if ``want_in``,
    ``Gin[:, b] = ∇_u (Gout[:, b]·o_b)`` (not weighted).
    """
    WB = W * B
    for i in range(n_out * B):
        D1[i] = Gout[i]
    off = _offset(L, n_in, W)
    if want_w:
        _acc_weights(gw, off, W, n_out, Hh[(L - 1) * WB : L * WB], D1, cb, T, B)
    _transpose_mul(w, off, W, n_out, D1, D2, B)
    for l in range(L - 1, -1, -1):
        # D2 = ∂/∂h_l → ∂/∂a_l
        for i in range(WB):
            D2[i] *= _dphi(A[l * WB + i], Hh[l * WB + i], act)
        D1, D2 = D2, D1
        off = _offset(l, n_in, W)
        ni = n_in if l == 0 else W
        Hin = U if l == 0 else Hh[(l - 1) * WB : l * WB]
        if want_w:
            _acc_weights(gw, off, ni, W, Hin, D1, cb, T, B)
        if l > 0:
            _transpose_mul(w, off, W, W, D1, D2, B)
        elif want_in:
            _transpose_mul(w, 0, n_in, W, D1, Gin, B)


@njit(cache=True)
def tangent(w, n_in, L, W, act, V, A, Hh, Ta, Th, B):
    """Forward-mode derivative along the input directions ``V[:, b]`` after :func:`forward`.

    ``Ta`` gets ``ȧ_l = W_l ḣ_{l−1}`` (``ḣ_{−1} = v``), ``Th`` gets ``ḣ_l = φ'(a_l) ȧ_l``;
    biases do not enter.
    """
    WB = W * B
    for l in range(L):
        Hin = V if l == 0 else Th[(l - 1) * WB : l * WB]
        _linear(w, _offset(l, n_in, W), n_in if l == 0 else W, W, Hin, Ta[l * WB :], B, False)
        for i in range(l * WB, (l + 1) * WB):
            Th[i] = _dphi(A[i], Hh[i], act) * Ta[i]


@njit(cache=True, fastmath=_FM)
def _acc_pair_weights(gw, off, ni, no, Hin, Tin, Da, Db, cb, T, B):
    """``gW[j, k] += Σ_b cb_b (Da[j, b] Hin[k, b] + Db[j, b] Tin[k, b])``, ``gb[j] += Σ_b cb_b Da[j, b]``."""
    bo = off + no * ni
    Ta = T[:B]
    Tb = T[B:]
    for j in range(no):
        da = Da[j * B : (j + 1) * B]
        db = Db[j * B : (j + 1) * B]
        s = 0.0
        for b in range(B):
            Ta[b] = cb[b] * da[b]
            Tb[b] = cb[b] * db[b]
            s += Ta[b]
        gw[bo + j] += s
        g = gw[off + j * ni : off + (j + 1) * ni]
        for k in range(ni):
            h = Hin[k * B : (k + 1) * B]
            t = Tin[k * B : (k + 1) * B]
            s = 0.0
            for b in range(B):
                s += Ta[b] * h[b] + Tb[b] * t[b]
            g[k] += s


@njit(cache=True, fastmath=_FM)
def input_grad_backward(w, n_in, L, W, act, U, V, A, Hh, Ta, Th, cb, gw, D1, D2, D3, D4, T, B):
    """``gw += Σ_b cb_b ∇_w r_b`` with ``r_b = V[:, b]·∇_u D(U[:, b])`` for a net with one
    output, ``V`` held fixed.

    After :func:`forward` at ``U`` and :func:`tangent` along ``V``, ``r = W_L ḣ_{L−1}``, a
    function of ``w`` through the primal ``a_l`` and the tangent ``ȧ_l``.  Reverse mode over the
    pair, with ``ḡ_l = ∂r/∂ḣ_l`` and ``g_l = ∂r/∂h_l``: at the output ``∂r/∂W_L = ḣ_{L−1}``
    (no bias term), ``ḡ_{L−1} = W_Lᵀ``, ``g_{L−1} = 0``; then for each hidden layer ``l``
    downwards

    ``β = ḡ_l ⊙ φ'(a_l)`` (``= ∂r/∂ȧ_l``),  ``α = g_l ⊙ φ'(a_l) + ḡ_l ⊙ φ''(a_l) ⊙ ȧ_l`` (``= ∂r/∂a_l``),

    ``∂r/∂W_l = α h_{l−1}ᵀ + β ḣ_{l−1}ᵀ``, ``∂r/∂b_l = α``, ``ḡ_{l−1} = W_lᵀ β``,
    ``g_{l−1} = W_lᵀ α`` (``h_{−1} = u``, ``ḣ_{−1} = v``).  With ``v = ∇_u D`` this is
    ``∇_w ½|∇_u D|²`` (R1); the gradient penalty weights it by ``cb`` (docs/theory.md §1).
    """
    WB = W * B
    off = _offset(L, n_in, W)
    th = Th[(L - 1) * WB : L * WB]
    for k in range(W):
        s = 0.0
        for b in range(B):
            s += cb[b] * th[k * B + b]
        gw[off + k] += s
        wk = w[off + k]
        for b in range(B):
            D1[k * B + b] = wk  # ḡ_{L−1}
            D2[k * B + b] = 0.0  # g_{L−1}
    for l in range(L - 1, -1, -1):
        for i in range(WB):
            j = l * WB + i
            dp = _dphi(A[j], Hh[j], act)
            gb = D1[i]
            D1[i] = gb * dp  # β
            D2[i] = D2[i] * dp + gb * _d2phi(Hh[j], act) * Ta[j]  # α
        off = _offset(l, n_in, W)
        if l == 0:
            _acc_pair_weights(gw, off, n_in, W, U, V, D2, D1, cb, T, B)
        else:
            _acc_pair_weights(gw, off, W, W, Hh[(l - 1) * WB : l * WB], Th[(l - 1) * WB : l * WB],
                              D2, D1, cb, T, B)
            _transpose_mul(w, off, W, W, D1, D3, B)
            _transpose_mul(w, off, W, W, D2, D4, B)
            D1, D3 = D3, D1
            D2, D4 = D4, D2
