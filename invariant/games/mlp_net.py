"""One multilayer perceptron: forward pass, backpropagation and backpropagation through its input
gradient, as ``numba.njit`` helpers of the general MLP GAN (:mod:`invariant.games.mlp_deep`,
docs/theory.md §1).

A net maps ``u ∈ R^{n_in}`` through ``L`` hidden layers of ``W`` units to ``o ∈ R^{n_out}``::

    a_0 = W_0 u + b_0,  h_l = φ(a_l),  a_l = W_l h_{l-1} + b_l  (l = 1..L-1),  o = W_L h_{L-1} + b_L

(linear output).  Its parameters ``w`` are the layers in order, each its weight matrix by rows
(``n_out_l × n_in_l``) then its bias, so ``|w| = W(n_in + 1) + (L−1) W(W + 1) + n_out(W + 1)``
(:func:`net_size`).  Activations ``φ`` (code ``act``): 0 ``tanh`` (``φ' = 1 − h²``,
``φ'' = −2h(1 − h²)``), 1 ``relu`` (``φ' = 1[a > 0]``), 2 ``leaky_relu`` with slope
``LEAKY = 0.2`` for ``a ≤ 0``; both ReLUs have ``φ'' = 0`` (almost everywhere).

Scratch: ``A``, ``Hh`` (and the tangent's ``Ta``, ``Th``) hold ``L·W`` values, layer ``l`` at
``[lW, (l+1)W)``; ``d1 … d4`` are vectors of length ``max(W, n_in, n_out)``.  Nothing is
allocated here.  Rows of ``w`` are taken as slices from 0 so that the inner loops index with
their own (non-negative) counters.
"""
from __future__ import annotations

import math

from numba import njit

ACTIVATIONS = ("tanh", "relu", "leaky_relu")
LEAKY = 0.2
"""Slope of ``leaky_relu`` for negative inputs."""


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
def _affine(w, off, ni, no, hin, a):
    """``a[:no] = W hin + b`` for the layer whose weights start at ``w[off]``."""
    bo = off + no * ni
    for j in range(no):
        row = w[off + j * ni : off + (j + 1) * ni]
        s = w[bo + j]
        for k in range(ni):
            s += row[k] * hin[k]
        a[j] = s


@njit(cache=True)
def forward(w, n_in, L, W, n_out, act, u, A, Hh, o):
    """``o[:n_out] = net(u)``, keeping pre-activations in ``A`` and activations in ``Hh``."""
    _affine(w, 0, n_in, W, u, A)
    for j in range(W):
        Hh[j] = _phi(A[j], act)
    for l in range(1, L):
        _affine(w, _offset(l, n_in, W), W, W, Hh[(l - 1) * W : l * W], A[l * W :])
        for j in range(l * W, (l + 1) * W):
            Hh[j] = _phi(A[j], act)
    _affine(w, _offset(L, n_in, W), W, n_out, Hh[(L - 1) * W : L * W], o)


@njit(cache=True)
def _backlayer(w, off, ni, no, hin, delta, c, gw, e, want_e):
    """One layer of backpropagation with ``delta = ∂/∂a`` of its output.

    ``gw[off:…] += c ∂/∂(W, b)`` (skipped for ``c = 0``); ``e[:ni] = Wᵀ delta`` if ``want_e``.
    """
    bo = off + no * ni
    if c != 0.0:
        for j in range(no):
            cd = c * delta[j]
            g = gw[off + j * ni : off + (j + 1) * ni]
            for k in range(ni):
                g[k] += cd * hin[k]
            gw[bo + j] += cd
    if want_e:
        for k in range(ni):
            e[k] = 0.0
        for j in range(no):
            row = w[off + j * ni : off + (j + 1) * ni]
            dj = delta[j]
            for k in range(ni):
                e[k] += row[k] * dj


@njit(cache=True)
def backward(w, n_in, L, W, n_out, act, u, A, Hh, gout, c, gw, gin, want_in, d1, d2):
    """Backpropagate ``gout·o`` after :func:`forward` at ``u``.

    ``gw += c ∇_w (gout·o)`` (skipped for ``c = 0``) and, if ``want_in``,
    ``gin[:n_in] = ∇_u (gout·o)`` (not scaled by ``c``).
    """
    for j in range(n_out):
        d1[j] = gout[j]
    _backlayer(w, _offset(L, n_in, W), W, n_out, Hh[(L - 1) * W : L * W], d1, c, gw, d2, True)
    for l in range(L - 1, -1, -1):
        # d2 = ∂/∂h_l → ∂/∂a_l
        for j in range(W):
            d2[j] *= _dphi(A[l * W + j], Hh[l * W + j], act)
        d1, d2 = d2, d1
        if l > 0:
            _backlayer(w, _offset(l, n_in, W), W, W, Hh[(l - 1) * W : l * W], d1, c, gw, d2, True)
        else:
            _backlayer(w, 0, n_in, W, u, d1, c, gw, gin, want_in)


@njit(cache=True)
def tangent(w, n_in, L, W, act, v, A, Hh, Ta, Th):
    """Forward-mode derivative along the input direction ``v`` after :func:`forward`.

    ``Ta`` gets ``ȧ_l = W_l ḣ_{l−1}`` (``ḣ_{−1} = v``), ``Th`` gets ``ḣ_l = φ'(a_l) ȧ_l``;
    biases do not enter.
    """
    for l in range(L):
        ni = n_in if l == 0 else W
        off = _offset(l, n_in, W)
        for j in range(W):
            row = w[off + j * ni : off + (j + 1) * ni]
            s = 0.0
            if l == 0:
                for k in range(ni):
                    s += row[k] * v[k]
            else:
                hp = Th[(l - 1) * W : l * W]
                for k in range(ni):
                    s += row[k] * hp[k]
            Ta[l * W + j] = s
            Th[l * W + j] = _dphi(A[l * W + j], Hh[l * W + j], act) * s


@njit(cache=True)
def input_grad_backward(w, n_in, L, W, act, u, v, A, Hh, Ta, Th, c, gw, d1, d2, d3, d4):
    """``gw += c ∇_w r`` with ``r = v·∇_u D(u)`` for a net with one output, ``v`` held fixed.

    After :func:`forward` at ``u`` and :func:`tangent` along ``v``, ``r = W_L ḣ_{L−1}``, a
    function of ``w`` through the primal ``a_l`` and the tangent ``ȧ_l``.  Reverse mode over the
    pair, with ``ḡ_l = ∂r/∂ḣ_l`` and ``g_l = ∂r/∂h_l``: at the output ``∂r/∂W_L = ḣ_{L−1}``
    (no bias term), ``ḡ_{L−1} = W_Lᵀ``, ``g_{L−1} = 0``; then for each hidden layer ``l``
    downwards

    ``β = ḡ_l ⊙ φ'(a_l)`` (``= ∂r/∂ȧ_l``),  ``α = g_l ⊙ φ'(a_l) + ḡ_l ⊙ φ''(a_l) ⊙ ȧ_l`` (``= ∂r/∂a_l``),

    ``∂r/∂W_l = α h_{l−1}ᵀ + β ḣ_{l−1}ᵀ``, ``∂r/∂b_l = α``, ``ḡ_{l−1} = W_lᵀ β``,
    ``g_{l−1} = W_lᵀ α`` (``h_{−1} = u``, ``ḣ_{−1} = v``).  With ``v = ∇_u D`` this is
    ``∇_w ½|∇_u D|²`` (R1); the gradient penalty scales ``v`` (docs/theory.md §1).
    """
    off = _offset(L, n_in, W)
    for k in range(W):
        gw[off + k] += c * Th[(L - 1) * W + k]
        d1[k] = w[off + k]  # ḡ_{L−1}
        d2[k] = 0.0  # g_{L−1}
    for l in range(L - 1, -1, -1):
        for j in range(W):
            i = l * W + j
            dp = _dphi(A[i], Hh[i], act)
            gb = d1[j]
            d1[j] = gb * dp  # β
            d2[j] = d2[j] * dp + gb * _d2phi(Hh[i], act) * Ta[i]  # α
        ni = n_in if l == 0 else W
        off = _offset(l, n_in, W)
        bo = off + W * ni
        for j in range(W):
            ca = c * d2[j]
            cb = c * d1[j]
            g = gw[off + j * ni : off + (j + 1) * ni]
            if l == 0:
                for k in range(ni):
                    g[k] += ca * u[k] + cb * v[k]
            else:
                hp = Hh[(l - 1) * W : l * W]
                tp = Th[(l - 1) * W : l * W]
                for k in range(ni):
                    g[k] += ca * hp[k] + cb * tp[k]
            gw[bo + j] += ca
        if l > 0:
            _backlayer(w, off, W, W, Hh, d1, 0.0, gw, d3, True)
            _backlayer(w, off, W, W, Hh, d2, 0.0, gw, d4, True)
            d1, d3 = d3, d1
            d2, d4 = d4, d2
