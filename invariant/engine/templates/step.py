"""The training step: each scheme's update, its SDE drift and its noise, defined once.

Rendered into every CPU kernel module (the engine's chains, the weak-order paths, the
scheduler) and translated for the CUDA kernels (docs/kernels.md).  The SGA update is one
descent–ascent step of SML, ALT-D or ALT-G (docs/theory.md §2); the SDE step is
Euler–Maruyama with the drift b0 + lr·b1 (docs/theory.md §3).  ``schemes.py`` holds the
same update as readable numpy (tests/test_step_parity.py checks they agree).
"""
# <header>
import math

import numpy as np
from numba import njit

from invariant.engine.pcg64 import copy as _stream_copy
from invariant.engine.templates._stub import (
    FD_STEP,
    FLOW_B1,
    NOISE_HVP,
    OPTIMIZER,
    _batch_grad,
    _grad,
    _hvp,
    _loss,
    _noise,
)

# </header>


@njit(cache=True, inline="always")
def _loss_from_x(x, gx, p, data):
    # g(x) for a game without the optional loss_with_grad (games/base.py)
    return _loss(x, p, data)


@njit(cache=True, inline="always")
def _fd_step(x, v):
    # the central differences' step along v, FD_STEP·(1 + |x|)/|v| (invariant.numerics.fd_step,
    # docs/theory.md §1); 0 for v = 0
    nx = 0.0
    nv = 0.0
    for i in range(x.shape[0]):
        nx += x[i] * x[i]
        nv += v[i] * v[i]
    if nv == 0.0:
        return 0.0
    return FD_STEP * (1.0 + math.sqrt(nx)) / math.sqrt(nv)


@njit(cache=True)
def _hvp_from_grad(x, p, data, v, out):
    # H v for a game without hvp (games/base.py): a central difference of the gradient along v
    # (invariant.numerics.central_hvp)
    d = x.shape[0]
    t = _fd_step(x, v)
    if t == 0.0:
        for i in range(d):
            out[i] = 0.0
        return
    y = np.empty(d)
    g = np.empty(d)
    for i in range(d):
        y[i] = x[i] + t * v[i]
    _grad(y, p, data, out)
    for i in range(d):
        y[i] = x[i] - t * v[i]
    _grad(y, p, data, g)
    for i in range(d):
        out[i] = (out[i] - g[i]) / (2.0 * t)


@njit(cache=True, inline="always")
def _block_hvps(x, p, data, gx, dth, w, u, v):
    # the two Jacobian–vector products of b₁ (docs/theory.md §3): u = H (∇θg, 0) and
    # v = H (0, ∇ωg), through the scratch w
    d = x.shape[0]
    for i in range(d):
        w[i] = gx[i] if i < dth else 0.0
    _hvp(x, p, data, w, u)
    for i in range(d):
        w[i] = gx[i] if i >= dth else 0.0
    _hvp(x, p, data, w, v)


@njit(cache=True, inline="always")
def _drift0(x, p, data, use_b1, kc, dth, gx, u, v, w, out):
    # b = (−∇θg + k_tu u_θ + k_tv v_θ, k_o ∇ωg + k_ou u_ω + k_ov v_ω) with the Jacobian–vector
    # products u = H (gθ, 0) = (Hθθ gθ, Hωθ gθ), v = H (0, gω) = (Hθω gω, Hωω gω) and
    # kc = (k_o, k_tu, k_tv, k_ou, k_ov, k_flow) (docs/theory.md §3, §4b;
    # invariant.optimizers.sde_coefficients).  Plain SGDA's order 2 is k_o = 1 and
    # (k_tu, k_tv, k_ou, k_ov) = lr/2 (−1, s_th, s_om, −1): ALT-D flips the θ game term,
    # ALT-G the ω one
    d = x.shape[0]
    _grad(x, p, data, gx)
    for i in range(dth):
        out[i] = -gx[i]
    # the ω block through slices from 0: an index dth + i may be negative as far as numba
    # knows, and its wraparound select turns the vectorised loop into gathers and scatters
    go = gx[dth:]
    oo = out[dth:]
    k_o = kc[0]
    for i in range(d - dth):
        oo[i] = k_o * go[i]
    if use_b1:
        _block_hvps(x, p, data, gx, dth, w, u, v)
        for i in range(dth):
            out[i] += kc[1] * u[i] + kc[2] * v[i]
        for i in range(dth, d):
            out[i] += kc[3] * u[i] + kc[4] * v[i]


@njit(cache=True, inline="always")
def _drift(x, p, data, use_b1, kc, dth, gx, u, v, w, fw, out):
    # the SDE's drift (_drift0), plus k_flow (∇b₀)b₀ by a central difference along b₀ where
    # FLOW_B1 (consensus at order 2; invariant.schemes.flow_derivative takes the same step),
    # fw three rows of scratch.  gx then holds ∇g(x) again
    _drift0(x, p, data, use_b1, kc, dth, gx, u, v, w, out)
    if FLOW_B1:
        d = x.shape[0]
        h = _fd_step(x, out)
        if h > 0.0:
            xs = fw[0]
            bp = fw[1]
            bm = fw[2]
            for i in range(d):
                xs[i] = x[i] + h * out[i]
            _drift0(xs, p, data, use_b1, kc, dth, gx, u, v, w, bp)
            for i in range(d):
                xs[i] = x[i] - h * out[i]
            _drift0(xs, p, data, use_b1, kc, dth, gx, u, v, w, bm)
            c = kc[5] / (2.0 * h)
            for i in range(d):
                out[i] += c * (bp[i] - bm[i])
            _grad(x, p, data, gx)


@njit(cache=True, inline="always")
def _em_update(x, p, data, rng, dt, scale, kn, dth, b, z, z2, hv):
    # x ← x + dt·b + scale·P(L(x) z + γ H L(x) z′), b the drift at x, kn = (s_om, γ) and
    # P = blockdiag(I, s_om I) (docs/theory.md §3, §4b); z′ is drawn where NOISE_HVP (consensus)
    d = x.shape[0]
    _noise(x, p, data, rng, z)
    if NOISE_HVP:
        _noise(x, p, data, rng, z2)
        _hvp(x, p, data, z2, hv)
        for i in range(d):
            z[i] += kn[1] * hv[i]
    s_om = kn[0]
    if s_om != 1.0:
        for i in range(dth, d):
            z[i] *= s_om
    for i in range(d):
        x[i] += dt * b[i] + scale * z[i]


@njit(cache=True, inline="always")
def _noise_slope(x, p, data, rng, rs, h, gx, dth, a, c, lo, hi, w, y1, y2, out):
    # out[lo:hi] = −½ (v·∇)L(x) z on block [lo, hi), v = (−a ∇θg, c ∇ωg), by a central
    # difference of the noise kernel at the same normals z: the stream is set back to rs
    # before each call.  The step t moves x by h·(1 + |x|∞) along v/|v|∞, h ≈ ε^(1/3), which
    # balances the difference's O(t²) error against its O(ε/t) rounding (docs/theory.md §3)
    d = x.shape[0]
    vmax = 0.0
    xmax = 0.0
    for i in range(d):
        vi = -a * gx[i] if i < dth else c * gx[i]
        vmax = max(vmax, abs(vi))
        xmax = max(xmax, abs(x[i]))
    if not vmax > 0.0:  # no motion (or a NaN, caught by the chain's escape test)
        for i in range(lo, hi):
            out[i] = 0.0
        return
    t = h * (1.0 + xmax) / vmax
    for i in range(d):
        w[i] = x[i] + t * (-a * gx[i] if i < dth else c * gx[i])
    _noise(w, p, data, rng, y1)
    _stream_copy(rng, rs)
    for i in range(d):
        w[i] = x[i] - t * (-a * gx[i] if i < dth else c * gx[i])
    _noise(w, p, data, rng, y2)
    _stream_copy(rng, rs)
    for i in range(lo, hi):
        out[i] = -0.25 * (y1[i] - y2[i]) / t


@njit(cache=True, inline="always")
def _corrected_noise(x, p, data, rng, rs, h, lr, varies, s_th, s_om, dth, gx, u, v, w, y, z):
    # z = (L + lr·M) z0: the corrected diffusion factor of docs/theory.md §3 applied to the
    # normals z0 that one call of the noise kernel draws, gx = ∇g(x).  M z0 = −½ J L z0
    # plus the scheme's R (two Hessian–vector products of L z0: u = H (Lz0)θ, v = H (Lz0)ω,
    # so that J L z0 = (−(u + v)θ, (u + v)ω)) plus, where Σ varies (varies, a constant once
    # inlined), −½ (v_θ·∇)Lθ z0 and −½ (v_ω·∇)Lω z0 along v_θ = (−∇θg, s_th ∇ωg),
    # v_ω = (−s_om ∇θg, ∇ωg): b0 for SML, ALT's own order of moves otherwise
    d = x.shape[0]
    if varies:
        _stream_copy(rs, rng)
        if s_th == s_om:
            _noise_slope(x, p, data, rng, rs, h, gx, dth, 1.0, 1.0, 0, d, w, u, v, y)
        else:
            _noise_slope(x, p, data, rng, rs, h, gx, dth, 1.0, s_th, 0, dth, w, u, v, y)
            _noise_slope(x, p, data, rng, rs, h, gx, dth, s_om, 1.0, dth, d, w, u, v, y)
    _noise(x, p, data, rng, z)
    _block_hvps(x, p, data, z, dth, w, u, v)
    for i in range(dth):
        z[i] += lr * (0.5 * u[i] + 0.5 * s_th * v[i])
    for i in range(dth, d):
        z[i] -= lr * (0.5 * s_om * u[i] + 0.5 * v[i])
    if varies:
        for i in range(d):
            z[i] += lr * y[i]


@njit(cache=True, inline="always")
def _em_corrected(x, p, data, rng, rs, h, dt, scale, lr, varies, s_th, s_om, dth, b, gx, u, v, w, y, z):
    # x ← x + dt·b + scale·(L + lr·M)(x) z, b and gx = ∇g the drift's at x (docs/theory.md §3)
    _corrected_noise(x, p, data, rng, rs, h, lr, varies, s_th, s_om, dth, gx, u, v, w, y, z)
    for i in range(x.shape[0]):
        x[i] += dt * b[i] + scale * z[i]


@njit(cache=True, inline="always")
def _applied(x, gb, lo, hi, j, so):
    # the update about to be applied to block [lo, hi): x·∇̂ and |∇̂|² (docs/theory.md §5)
    a = 0.0
    q = 0.0
    for i in range(lo, hi):
        a += x[i] * gb[i]
        q += gb[i] * gb[i]
    so[j] += a
    so[j + 1] += q


@njit(cache=True, inline="always")
def _ascend(x, gb, lr, dth):
    # ω += lr ∇̂ω through slices from 0: an index dth + i may be negative as far as numba
    # knows, and its wraparound select turns the vectorised loop into gathers and scatters
    xo = x[dth:]
    go = gb[dth:]
    for i in range(xo.shape[0]):
        xo[i] += lr * go[i]


@njit(cache=True, inline="always")
def _increment(gb, gx, step, lo, hi, delta):
    # δ = step·(∇̂ − ∇g) on block [lo, hi), step = −lr (θ) or +lr (ω): the noise the update
    # of that block injects, at the point where it was applied
    for i in range(lo, hi):
        delta[i] = step * (gb[i] - gx[i])


@njit(cache=True, inline="always")
def _player_step(x, p, data, rng, batch_size, player, lr, dth, gb, booked, so, ap, noisy, gx, delta):
    # one player's move of an alternating step (player 0: θ descends, 1: ω ascends) with its
    # minibatch gradient at the current x; booked and noisy as in _sga_update.  player is a
    # constant at every call, so the branch folds once inlined
    d = x.shape[0]
    if noisy:
        _grad(x, p, data, gx)
    _batch_grad(x, p, data, rng, batch_size, player, gb)
    if player == 0:
        if booked:
            _applied(x, gb, 0, dth, ap, so)
        if noisy:
            _increment(gb, gx, -lr, 0, dth, delta)
        for i in range(dth):
            x[i] -= lr * gb[i]
    else:
        if booked:
            _applied(x, gb, dth, d, ap + 2, so)
        if noisy:
            _increment(gb, gx, lr, dth, d, delta)
        _ascend(x, gb, lr, dth)


@njit(cache=True, inline="always")
def _sga_update(x, p, data, rng, batch_size, scheme, lr, lr_om, n_critic, dth, gb, booked, so, ap, noisy, gx,
                delta):
    # one descent–ascent step of the scheme (docs/theory.md §2): 0 SML, 1 ALT-D (ω first,
    # n_critic times), 2 ALT-G (θ first); θ moves with lr, ω with lr_om (TTUR, docs/theory.md
    # §4b); gb then holds the minibatch gradient applied to each block.
    # booked: x·∇̂ and |∇̂|² of θ, then of ω, each with the parameter it was applied to, are
    # added to so[ap: ap + 4] (the exact discrete FDR2, docs/theory.md §5).  noisy (a constant once
    # inlined): delta gets each block's noise increment ∓lr(∇̂ − ∇g), with gx = ∇g at the
    # point where the block's gradient was applied
    d = x.shape[0]
    if scheme == 0:
        if noisy:
            _grad(x, p, data, gx)
        _batch_grad(x, p, data, rng, batch_size, 0, gb)
        _batch_grad(x, p, data, rng, batch_size, 1, gb)
        if booked:
            _applied(x, gb, 0, dth, ap, so)
            _applied(x, gb, dth, d, ap + 2, so)
        if noisy:
            _increment(gb, gx, -lr, 0, dth, delta)
            _increment(gb, gx, lr_om, dth, d, delta)
        for i in range(dth):
            x[i] -= lr * gb[i]
        _ascend(x, gb, lr_om, dth)
    elif scheme == 1:
        for _ in range(n_critic):
            _player_step(x, p, data, rng, batch_size, 1, lr_om, dth, gb, booked, so, ap, noisy, gx, delta)
        _player_step(x, p, data, rng, batch_size, 0, lr, dth, gb, booked, so, ap, noisy, gx, delta)
    else:
        _player_step(x, p, data, rng, batch_size, 0, lr, dth, gb, booked, so, ap, noisy, gx, delta)
        _player_step(x, p, data, rng, batch_size, 1, lr_om, dth, gb, booked, so, ap, noisy, gx, delta)


@njit(cache=True, inline="always")
def _bias(b, n):
    # 1 − bⁿ, Adam's bias correction after n moves.  Once n(1 − b) ≥ 41.6 > 60 ln 2,
    # bⁿ ≤ e^{−n(1−b)} < 2⁻⁶⁰ and 1 − bⁿ rounds to 1.0 exactly: the power (numba's loop of
    # squarings, or pow; 3–4× the rest of a 2-D Adam step) is skipped without changing a bit
    if n * (1.0 - b) >= 41.6:
        return 1.0
    return 1.0 - b ** n


@njit(cache=True, inline="always")
def _corrections(op, n):
    # Adam's bias corrections (1 − β₁ⁿ, 1 − β₂ⁿ) for a move numbered n (from 1), computed
    # once for the moves that share n; the other optimisers use none
    if OPTIMIZER == 6:
        return _bias(op[4], n), _bias(op[5], n)
    return 1.0, 1.0


@njit(cache=True, inline="always")
def _move(x, s, gb, lo, hi, sign, lr, c1, c2, op):
    # one player's move on block [lo, hi) from its minibatch gradient gb (docs/theory.md §4b):
    # sign −1 for θ (descends), +1 for ω, so sign·gb = −F̂; c1, c2 Adam's bias corrections
    # (_corrections) of this move.  OPTIMIZER is a constant: the branch folds
    if OPTIMIZER == 1:  # heavy ball: v ← βv − lr F̂, x ← x + v
        beta = op[2]
        for i in range(lo, hi):
            s[i] = beta * s[i] + sign * lr * gb[i]
            x[i] += s[i]
    elif OPTIMIZER == 5:  # RMSProp: v ← β₂v + (1 − β₂)F̂², x ← x − lr F̂/(√v + eps)
        b2 = op[5]
        eps = op[6]
        for i in range(lo, hi):
            s[i] = b2 * s[i] + (1.0 - b2) * gb[i] * gb[i]
            x[i] += sign * lr * gb[i] / (math.sqrt(s[i]) + eps)
    elif OPTIMIZER == 6:  # Adam: m (first d entries of s) tracks F̂, v (last d) F̂²
        b1 = op[4]
        b2 = op[5]
        eps = op[6]
        d = x.shape[0]
        for i in range(lo, hi):
            f = -sign * gb[i]
            s[i] = b1 * s[i] + (1.0 - b1) * f
            s[d + i] = b2 * s[d + i] + (1.0 - b2) * f * f
            x[i] -= lr * (s[i] / c1) / (math.sqrt(s[d + i] / c2) + eps)
    else:
        for i in range(lo, hi):
            x[i] += sign * lr * gb[i]


@njit(cache=True, inline="always")
def _field(x, p, data, rng, batch_size, gb):
    # both players' minibatch gradients at x, each from its own minibatch (θ's drawn first)
    _batch_grad(x, p, data, rng, batch_size, 0, gb)
    _batch_grad(x, p, data, rng, batch_size, 1, gb)


@njit(cache=True, inline="always")
def _opt_update(x, s, p, data, rng, batch_size, scheme, lr, dth, gb, gc, hv, op, k):
    # iteration k (from 0) of an optimiser other than SGD (docs/theory.md §4b; the numpy
    # reference is invariant.optimizers.step): s its state, op its packed constants
    # [ρ, n_critic, β, γ, β₁, β₂, eps], gc and hv scratch.  θ moves with lr, ω with ρ·lr
    d = x.shape[0]
    lr_om = op[0] * lr
    if OPTIMIZER == 2:  # extragradient: x½ = x − η̃F̂(x), x⁺ = x − η̃F̂(x½), fresh batches
        _field(x, p, data, rng, batch_size, gb)
        for i in range(d):
            gc[i] = x[i] - lr * gb[i] if i < dth else x[i] + lr_om * gb[i]
        _field(gc, p, data, rng, batch_size, gb)
        for i in range(d):
            x[i] += -lr * gb[i] if i < dth else lr_om * gb[i]
    elif OPTIMIZER == 3:  # optimistic: x⁺ = x − η̃(2F̂ₖ − F̂ₖ₋₁); s holds −F̂ₖ₋₁, and the
        # first step is plain GDA (x₋₁ = x₀: F̂₋₁ = F̂₀), which keeps the mean's order 2
        _field(x, p, data, rng, batch_size, gb)
        for i in range(d):
            f = -gb[i] if i < dth else gb[i]
            x[i] += (lr if i < dth else lr_om) * (2.0 * f - (f if k == 0 else s[i]))
            s[i] = f
    elif OPTIMIZER == 4:  # consensus: x⁺ = x − η̃(F̂ + γ H ∇̂g), ∇̂g from batches of its own
        _field(x, p, data, rng, batch_size, gb)
        _field(x, p, data, rng, batch_size, gc)
        _hvp(x, p, data, gc, hv)
        gam = op[3]
        for i in range(d):
            f = -gb[i] if i < dth else gb[i]
            x[i] += (lr if i < dth else lr_om) * (f - gam * hv[i])
    elif scheme == 0:  # the players' own optimisers (momentum, RMSProp, Adam), as in SGA
        c1, c2 = _corrections(op, k + 1)  # n counts a player's moves, this one included
        _field(x, p, data, rng, batch_size, gb)
        _move(x, s, gb, 0, dth, -1.0, lr, c1, c2, op)
        _move(x, s, gb, dth, d, 1.0, lr_om, c1, c2, op)
    elif scheme == 1:
        nc = int(op[1])
        for j in range(nc):
            _batch_grad(x, p, data, rng, batch_size, 1, gb)
            c1, c2 = _corrections(op, k * nc + j + 1)
            _move(x, s, gb, dth, d, 1.0, lr_om, c1, c2, op)
        _batch_grad(x, p, data, rng, batch_size, 0, gb)
        c1, c2 = _corrections(op, k + 1)
        _move(x, s, gb, 0, dth, -1.0, lr, c1, c2, op)
    else:
        c1, c2 = _corrections(op, k + 1)
        _batch_grad(x, p, data, rng, batch_size, 0, gb)
        _move(x, s, gb, 0, dth, -1.0, lr, c1, c2, op)
        _batch_grad(x, p, data, rng, batch_size, 1, gb)
        _move(x, s, gb, dth, d, 1.0, lr_om, c1, c2, op)
