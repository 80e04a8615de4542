"""A chain's per-step book-keeping, shared by the CPU and CUDA chain loops (docs/kernels.md).

Observables, the shifted moment sums, the events (statistics steps, kept draws), the escape
test.  Rendered into the engine's CPU module before ``cpu_chains.py`` and translated into
CUDA device functions before ``cuda_chains.py``; what only one backend needs lives there.
"""
# <header>
from numba import njit

from invariant.engine.templates._stub import (
    MOMENTS,
    N_OBS,
    N_PROJ,
    N_STD,
    OPTIMIZER,
    Q_TRI,
    _loss,
    _loss_with_grad,
)
from invariant.engine.templates.hook_plain import _observe_extra
from invariant.engine.templates.step import _opt_update, _sga_update

# </header>


@njit(cache=True, inline="always")
def _sums(x, g):
    # (|x|², x·g, |g|²) of two vectors of one length, in four interleaved partial sums once
    # they are long: a single running sum is a chain of dependent additions (numba keeps
    # their order), the slowest part of a 64-D statistics step but for the covariance, and
    # of a 64-D escape test
    n = x.shape[0]
    m = n - n % 4 if n >= 8 else 0
    a0 = a1 = a2 = a3 = 0.0
    b0 = b1 = b2 = b3 = 0.0
    c0 = c1 = c2 = c3 = 0.0
    for i in range(0, m, 4):
        a0 += x[i] * x[i]
        a1 += x[i + 1] * x[i + 1]
        a2 += x[i + 2] * x[i + 2]
        a3 += x[i + 3] * x[i + 3]
        b0 += x[i] * g[i]
        b1 += x[i + 1] * g[i + 1]
        b2 += x[i + 2] * g[i + 2]
        b3 += x[i + 3] * g[i + 3]
        c0 += g[i] * g[i]
        c1 += g[i + 1] * g[i + 1]
        c2 += g[i + 2] * g[i + 2]
        c3 += g[i + 3] * g[i + 3]
    for i in range(m, n):
        a0 += x[i] * x[i]
        b0 += x[i] * g[i]
        c0 += g[i] * g[i]
    return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3), (c0 + c1) + (c2 + c3)


@njit(cache=True, inline="always")
def _observe(x, gx, p, data, dth, hrng, hwork, obs):
    r2t, tg, gt2 = _sums(x[:dth], gx[:dth])
    r2o, og, go2 = _sums(x[dth:], gx[dth:])
    obs[0] = _loss_with_grad(x, gx, p, data)
    obs[1] = r2t + r2o
    obs[2] = tg
    obs[3] = og
    obs[4] = gt2
    obs[5] = go2
    _observe_extra(x, gx, p, data, hrng, hwork, obs[N_STD:])


@njit(cache=True, inline="always")
def _rank1(s2, y):
    # s2 += y yᵀ on the packed upper triangle, one contiguous axpy per row (slices index
    # from 0: no negative-index wraparound, so the axpy vectorises)
    d = y.shape[0]
    k = 0
    for i in range(d):
        yi = y[i]
        row = s2[k: k + d - i]
        tail = y[i:]
        for j in range(d - i):
            row[j] += yi * tail[j]
        k += d - i


@njit(cache=True, inline="always")
def _rank8(s2, yq):
    # s2 += y₀y₀ᵀ, …, y₇y₇ᵀ (the rows of yq): each entry takes the eight additions in that
    # order, exactly as eight _rank1 calls would, but is loaded and stored once.  The update
    # of a large packed triangle is bound by memory traffic, and each sweep evicts the
    # game's constants from the L1 cache (64-D: one sweep per four statistics steps cost
    # 13 % of the step, same-process A/B)
    d = yq.shape[1]
    k = 0
    for i in range(d):
        a0 = yq[0, i]
        a1 = yq[1, i]
        a2 = yq[2, i]
        a3 = yq[3, i]
        a4 = yq[4, i]
        a5 = yq[5, i]
        a6 = yq[6, i]
        a7 = yq[7, i]
        row = s2[k: k + d - i]
        t0 = yq[0, i:]
        t1 = yq[1, i:]
        t2 = yq[2, i:]
        t3 = yq[3, i:]
        t4 = yq[4, i:]
        t5 = yq[5, i:]
        t6 = yq[6, i:]
        t7 = yq[7, i:]
        for j in range(d - i):
            v = row[j]
            v += a0 * t0[j]
            v += a1 * t1[j]
            v += a2 * t2[j]
            v += a3 * t3[j]
            v += a4 * t4[j]
            v += a5 * t5[j]
            v += a6 * t6[j]
            v += a7 * t7[j]
            row[j] = v
        k += d - i


@njit(cache=True, inline="always")
def _flush(s2, yq, q):
    # the q outer products still queued, in order
    for r in range(q):
        _rank1(s2, yq[r])


@njit(cache=True, inline="always")
def _project(proj, x, sh, z):
    # z = P (x − sh), the K = N_PROJ tracked projections of the shifted state; read from x
    # and sh, so that z may overwrite the queue row holding y
    for k in range(N_PROJ):
        row = proj[k]
        a = 0.0
        for i in range(x.shape[0]):
            a += row[i] * (x[i] - sh[i])
        z[k] = a


@njit(cache=True, inline="always")
def _accumulate(x, sh, s1, s2, yq, q, proj):
    # shifted sums (shift sh = the chain's state at the end of burn-in) keep the
    # covariance numerically stable without a division per step.  What s2 holds is the
    # module's MOMENTS (docs/design.md ◆ Config additions): 0, the packed triangle of y yᵀ,
    # y = x − sh, added at once (Q_TRI = 1) or queued in yq and added eight rows at a time
    # (Q_TRI = 8); 1, the squares y_i² (d sums); 2, those squares, then the packed triangle
    # of z zᵀ for the N_PROJ projections z = P y (rows of proj).  Returns the queue length.
    d = x.shape[0]
    y = yq[q]
    for i in range(d):
        y[i] = x[i] - sh[i]
        s1[i] += y[i]
    if MOMENTS != 0:
        for i in range(d):
            s2[i] += y[i] * y[i]
        if MOMENTS == 2:
            _project(proj, x, sh, y)
            _rank1(s2[d:], y[:N_PROJ])
    elif Q_TRI == 1:
        _rank1(s2, y)
    else:
        q += 1
        if q == Q_TRI:
            _rank8(s2, yq)
            q = 0
    return q


@njit(cache=True, inline="always")
def _book_observables(x, gx, p, data, dth, so, obs, hrng, hwork):
    # the observables of x (so's last entry counts how often they were booked: they have
    # their own spacing, obs_every, apart from the moments'; docs/performance.md)
    _observe(x, gx, p, data, dth, hrng, hwork, obs)
    for i in range(N_OBS):
        so[i] += obs[i]
    so[so.shape[0] - 1] += 1.0


@njit(cache=True, inline="always")
def _stage(c, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so):
    # chain c's accumulators into the block's scratch (registers or stack for small d): the
    # statistics steps then touch no array indexed by chain
    for i in range(s1.shape[0]):
        sh[i] = shift[c, i]
        s1[i] = acc_s1[c, i]
    for i in range(s2.shape[0]):
        s2[i] = acc_s2[c, i]
    for i in range(so.shape[0]):
        so[i] = acc_obs[c, i]
    return acc_n[c]


@njit(cache=True, inline="always")
def _unstage(c, n, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so):
    acc_n[c] = n
    for i in range(s1.shape[0]):
        shift[c, i] = sh[i]
        acc_s1[c, i] = s1[i]
    for i in range(s2.shape[0]):
        acc_s2[c, i] = s2[i]
    for i in range(so.shape[0]):
        acc_obs[c, i] = so[i]


NEVER = 1 << 62  # an event step no run reaches


@njit(cache=True, inline="always")
def _next_event(step0, burn, every):
    # the first step burn + k·every (k ≥ 0) at or after step0
    if step0 <= burn:
        return burn
    return burn + (step0 - burn + every - 1) // every * every


@njit(cache=True, inline="always")
def _first_events(c, step0, burn, stat_every, obs_every, thin, draws):
    # the first moments step, observables step and kept-draw step at or after step0; from
    # there the chain loops count (one integer compare per step, no remainder: an integer
    # division costs as much as a 2-D Euler–Maruyama step)
    ns = _next_event(step0, burn, stat_every)
    no = _next_event(step0, burn, obs_every)
    nd = NEVER
    if c < draws.shape[0]:
        k = max(step0 - burn, thin)  # draw j is the state after burn + (j + 1)·thin steps
        nd = burn + (k + thin - 1) // thin * thin
        if (nd - burn) // thin > draws.shape[1]:
            nd = NEVER
    return ns, no, nd


@njit(cache=True, inline="always")
def _book(c, step, n, q, ns, no, nd, x, gx, p, data, dth, burn, stat_every, obs_every, thin, draws, sh, s1, s2,
          yq, so, obs, hrng, hwork, proj):
    # book-keeping of the state x reached after `step` updates, at a moments step `ns`, an
    # observables step `no` (gx = ∇g(x) there) and/or a kept-draw step `nd`; returns the
    # updated count n, queue length q and the next (ns, no, nd)
    if step == ns:
        if step == burn:
            for i in range(x.shape[0]):
                sh[i] = x[i]
        q = _accumulate(x, sh, s1, s2, yq, q, proj)
        n += 1
        ns += stat_every
    if step == no:
        _book_observables(x, gx, p, data, dth, so, obs, hrng, hwork)
        no += obs_every
    if step == nd:
        j = (step - burn) // thin - 1
        for i in range(x.shape[0]):
            draws[c, j, i] = x[i]
        nd = step + thin if j + 1 < draws.shape[1] else NEVER
    return n, q, ns, no, nd


@njit(cache=True, inline="always")
def _escaped(x, r2max):
    # |x|² in _sums' partial sums (its other two sums go unused and are compiled away)
    r2, _, _ = _sums(x, x)
    return not (r2 <= r2max)  # true for NaN and Inf too


@njit(cache=True, inline="always")
def _stop(c, j, x, status, div_step, div_x):
    # chain c left the escape radius (or became NaN/Inf) at step j, at x
    status[c] = 1
    div_step[c] = j
    for i in range(x.shape[0]):
        div_x[c, i] = x[i]


@njit(cache=True, inline="always")
def _step_lin(x, x_old, gx, lr, j, so):
    # Δ = x − x_old: books −∇g·Δ/lr and returns ∇g·Δ (the remainder
    # (g(x_old + Δ) − g(x_old) − ∇g·Δ)/lr is booked once g(x_old + Δ) is known)
    lin = 0.0
    for i in range(x.shape[0]):
        lin += gx[i] * (x[i] - x_old[i])
    so[j] += -lin / lr
    return lin


@njit(cache=True, inline="always")
def _sga_step(x, x_old, s, p, data, rng, batch_size, scheme, lr, op, k, dth, gx, gb, gc, hv, booked, exact, so, ap,
              obs, obs_every, pend, pend_g, pend_lin):
    # iteration k of the optimiser (OPTIMIZER, its state s and constants op; docs/theory.md
    # §4b) with, for SGD, the exact discrete FDR terms (docs/theory.md §5): at a moments step
    # (booked) the applied gradients, which the update books at no extra cost; at an
    # observables step (exact, gx = ∇g(x)) −∇g·Δ/lr and the remainder
    # (g(x + Δ) − g(x) − ∇g·Δ)/lr.  With obs_every = 1 the next booked state's g (obs[0]) is
    # g(x + Δ): the remainder waits for it (returned pending) instead of evaluating the loss
    # once more.  Returns the pending remainder's (pend, g(x), ∇g·Δ).  Other optimisers book
    # none of them (the relations are SGDA's): their statistics steps cost no extra loss
    if OPTIMIZER != 0:
        _opt_update(x, s, p, data, rng, batch_size, scheme, lr, dth, gb, gc, hv, op, k)
        return pend, pend_g, pend_lin
    if pend:
        so[ap + 5] += (obs[0] - pend_g - pend_lin) / lr
        pend = False
    if exact:
        for i in range(x.shape[0]):
            x_old[i] = x[i]
    _sga_update(x, p, data, rng, batch_size, scheme, lr, op[0] * lr, int(op[1]), dth, gb, booked, so, ap,
                False, gx, gb)
    if exact:
        lin = _step_lin(x, x_old, gx, lr, ap + 4, so)
        if obs_every == 1:
            return True, obs[0], lin
        so[ap + 5] += (_loss(x, p, data) - obs[0] - lin) / lr
    return pend, pend_g, pend_lin
