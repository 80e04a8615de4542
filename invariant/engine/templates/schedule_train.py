"""Scheduled SGA training, one independent run per chain (invariant.schedule, docs/theory.md §6).

Each run takes the engine's SGA step (``step.py``), books the applied-gradient terms of the
exact discrete FDR2 (docs/theory.md §5) over batches of iterations, and changes its
learning rate by the schedule's rule; it draws from its PCG64 stream ``streams[c]``.
"""
# <header>
import numpy as np
from numba import njit, prange

from invariant.engine.pcg64 import load as _stream_load
from invariant.engine.pcg64 import slot as _stream_slot
from invariant.engine.pcg64 import store as _stream_store
from invariant.engine.templates._stub import MAX_BATCHES
from invariant.engine.templates.step import _sga_update

# </header>

N_CHECK = 9  # iteration, lr, R_theta, SE_theta, R_omega, SE_omega, R_sum, SE_sum, decayed


@njit(cache=True, inline="always")
def _ratio(vals, a, q, a2, q2, lo, hi, lr, spread):
    # R = Σa/Σq over batches [lo, hi) (columns a (+ a2), q (+ q2); a2 < 0: none).  Its error:
    # the applied-gradient FDR telescopes, Σ(a − q) = (|x_lo − c|² − |x_end − c|²)/(2 lr), so
    # R − 1 is a boundary term whose standard deviation at stationarity is
    # sqrt(2 Var|x − c|²)/(2 lr Σq) (``spread`` = Var|x − c|² over the window's snapshots)
    sa = 0.0
    sq = 0.0
    for i in range(lo, hi):
        sa += vals[i, a] + (vals[i, a2] if a2 >= 0 else 0.0)
        sq += vals[i, q] + (vals[i, q2] if q2 >= 0 else 0.0)
    if sq <= 0.0 or hi - lo < 2:
        return np.nan, np.inf
    return sa / sq, np.sqrt(2.0 * spread) / (2.0 * lr * sq)


@njit(cache=True, inline="always")
def _spread(bats, cen, lo, hi, i0, i1):
    # sample variance of |x − c|² over the snapshots [lo, hi), coordinates [i0, i1)
    m1 = 0.0
    m2 = 0.0
    for b in range(lo, hi):
        r = 0.0
        for i in range(i0, i1):
            e = bats[b, i] - cen[i]
            r += e * e
        m1 += r
        m2 += r * r
    n = hi - lo
    m1 /= n
    return max(m2 / n - m1 * m1, 0.0) * n / (n - 1.0)


@njit(cache=True, inline="always")
def _centred(bat, batg, batx, dth, lo, hi, blen, center_window, cen, vals):
    # per-batch terms about the centre c: (θ − c)·∇̂θ = θ·∇̂θ − c·Σ∇̂θ (likewise ω, with the
    # minus sign of ascent); c = mean state over the batches before the window, [0, lo)
    d = batx.shape[1]
    for i in range(d):
        cen[i] = 0.0
    if center_window and lo > 0:
        for b in range(lo):
            for i in range(d):
                cen[i] += batx[b, i]
        for i in range(d):
            cen[i] /= lo * blen
    for b in range(lo, hi):
        ct = 0.0
        co = 0.0
        for i in range(dth):
            ct += cen[i] * batg[b, i]
        for i in range(dth, d):
            co += cen[i] * batg[b, i]
        vals[b, 0] = bat[b, 0] - ct
        vals[b, 1] = bat[b, 1]
        vals[b, 2] = -(bat[b, 2] - co)
        vals[b, 3] = bat[b, 3]


@njit(cache=True, parallel=True)
def train(X, p, data, streams, dth, scheme, batch_size, lr0, kind, use_sum, n_iter, eps, delta, zq, min_window,
          batch, center_window, lr_min, step_every, step_factor, t0, record_every, rec_x, rec_lr,
          rec_t, checks, n_checks, final_lr, n_decays, final_t):
    """One independent scheduled training run per chain (streams[c] its PCG64 stream)."""
    n_chains, d = X.shape
    max_b = MAX_BATCHES
    for c in prange(n_chains):
        rng = _stream_slot()
        _stream_load(rng, streams, c)
        x = X[c].copy()
        gb = np.empty(d)
        cen = np.zeros(d)
        bat = np.zeros((max_b, 4))  # Σθ·∇̂θ, (lr/2)Σ|∇̂θ|², Σω·∇̂ω, (lr/2)Σ|∇̂ω|² per batch
        batg = np.zeros((max_b, d))  # Σ∇̂ per batch
        batx = np.zeros((max_b, d))  # Σx per batch
        bats = np.zeros((max_b, d))  # x at the end of each batch
        vals = np.zeros((max_b, 4))
        cur = np.zeros(4)
        stp = np.zeros(4)  # the step's θ·∇̂θ, |∇̂θ|², ω·∇̂ω, |∇̂ω|²
        curg = np.zeros(d)
        curx = np.zeros(d)
        nb = 0
        blen = batch
        cn = 0
        tcum = 0.0  # cumulative learning rate
        lr = lr0
        nc = 0
        nd = 0
        for k in range(n_iter):
            if kind == 3:
                lr = lr0 * step_factor ** (k // step_every)
            elif kind == 4:
                lr = lr0 / (1.0 + k / t0)
            if k % record_every == 0:
                j = k // record_every
                if j < rec_x.shape[1]:
                    for i in range(d):
                        rec_x[c, j, i] = x[i]
                    rec_lr[c, j] = lr
                    rec_t[c, j] = tcum
            for i in range(d):
                curx[i] += x[i]
            # one SGA step, booking the applied gradients and the parameters they apply to
            for i in range(4):
                stp[i] = 0.0
            _sga_update(x, p, data, rng, batch_size, scheme, lr, lr, 1, dth, gb, True, stp, 0, False, gb, gb)
            cur[0] += stp[0]
            cur[1] += 0.5 * lr * stp[1]
            cur[2] += stp[2]
            cur[3] += 0.5 * lr * stp[3]
            for i in range(d):
                curg[i] += gb[i]
            tcum += lr
            cn += 1
            if cn < blen:
                continue
            # close a batch
            for i in range(4):
                bat[nb, i] = cur[i]
                cur[i] = 0.0
            for i in range(d):
                batg[nb, i] = curg[i]
                batx[nb, i] = curx[i]
                bats[nb, i] = x[i]
                curg[i] = 0.0
                curx[i] = 0.0
            nb += 1
            cn = 0
            if nb == max_b:  # merge pairs: half as many batches, twice as long
                for i in range(max_b // 2):
                    for j in range(4):
                        bat[i, j] = bat[2 * i, j] + bat[2 * i + 1, j]
                    for j in range(d):
                        batg[i, j] = batg[2 * i, j] + batg[2 * i + 1, j]
                        batx[i, j] = batx[2 * i, j] + batx[2 * i + 1, j]
                        bats[i, j] = bats[2 * i + 1, j]
                nb = max_b // 2
                blen *= 2
            # the half-running window: the second half of the batches since the last change
            lo = nb // 2
            _centred(bat, batg, batx, dth, lo, nb, blen, center_window, cen, vals)
            rt, st = _ratio(vals, 0, 1, -1, -1, lo, nb, lr, _spread(bats, cen, lo, nb, 0, dth))
            ro, so = _ratio(vals, 2, 3, -1, -1, lo, nb, lr, _spread(bats, cen, lo, nb, dth, d))
            rs, ss = _ratio(vals, 0, 1, 2, 3, lo, nb, lr, _spread(bats, cen, lo, nb, 0, d))
            ok = (nb - lo) >= 8 and (nb - lo) * blen >= min_window
            decide = False
            if ok and (kind == 1 or kind == 2) and lr > lr_min:
                if use_sum:
                    decide = abs(rs - 1.0) + zq * ss < eps
                else:
                    decide = abs(rt - 1.0) + zq * st < eps and abs(ro - 1.0) + zq * so < eps
            if nc < checks.shape[1]:
                checks[c, nc, 0] = k + 1
                checks[c, nc, 1] = lr
                checks[c, nc, 2] = rt
                checks[c, nc, 3] = st
                checks[c, nc, 4] = ro
                checks[c, nc, 5] = so
                checks[c, nc, 6] = rs
                checks[c, nc, 7] = ss
                checks[c, nc, 8] = 1.0 if decide else 0.0
                nc += 1
            if decide:
                lr = max(lr * (1.0 - delta), lr_min)
                nd += 1
                nb = 0
                blen = batch
        _stream_store(rng, streams, c)
        for i in range(d):
            X[c, i] = x[i]
        n_checks[c] = nc
        final_lr[c] = lr
        n_decays[c] = nd
        final_t[c] = tcum
