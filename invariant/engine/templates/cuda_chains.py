"""The CUDA chain kernels: ``sde_kernel`` and ``sga_kernel``, one thread per chain (docs/kernels.md).

Rendered after the game's kernels and the shared per-step helpers (``step.py``,
``chain.py``, the hook adapter), all translated into device functions by
:mod:`invariant.engine.cuda_build`; this body is the device's own: the draws of the game
kernels from xoroshiro128+ states, and the chain loops.
"""
# <header>
from numba import cuda, float64, int64
from numba.cuda.random import xoroshiro128p_dtype

from invariant.engine.cuda_device import device, simulated
from invariant.engine.templates._stub import (
    D_S,
    _F,
    _NORMAL,
    _UNIFORM,
    _UNIFORM64,
    D_THETA,
    D_TRI,
    FD_STEP,
    HOOK_ROWS,
    N_APPLIED,
    N_OBS,
    Q_TRI,
    D,
    _grad,
    _loss,
)
from invariant.engine.templates.chain import (
    _book,
    _escaped,
    _first_events,
    _flush,
    _sga_step,
    _stage,
    _stop,
    _unstage,
)
from invariant.engine.templates.step import _drift, _em_corrected, _em_update

# </header>

THREADS = 128  # threads per block


@device
def _rng_standard_normal(rng):
    return _NORMAL(rng, 0)


@device
def _rng_random(rng):
    return _UNIFORM(rng, 0)


@device
def _rng_integers(rng, lo, hi):
    # lo + floor(u·(hi − lo)), u uniform on [0, 1) in float64; the min guards the rounding of u·n up to n
    k = lo + int64(_UNIFORM64(rng, 0) * (hi - lo))
    return min(k, hi - 1)


@device
def _zeroed(a):
    for i in range(a.shape[0]):
        a[i] = 0.0
    return a


N_SGA = N_OBS + N_APPLIED  # observables of an SGA chain (a compile-time length)


@device
def _copy_state(dst, i, src, j):
    # one xoroshiro128+ state, field by field (the simulator copies no whole records)
    dst[i]['s0'] = src[j]['s0']
    dst[i]['s1'] = src[j]['s1']


@device
def _stream_copy(dst, src):
    # the step's stream copy (templates/step.py): one xoroshiro128+ state slot
    _copy_state(dst, 0, src, 0)


@device
def _load(c, X, states, rng, hrng, x):
    # the chain's state and its generators (the hook's own, when it draws, at states[n + c])
    n = X.shape[0]
    for i in range(D):
        x[i] = X[c, i]
    _copy_state(rng, 0, states, c)
    _copy_state(hrng, 0, states, (c + n) % states.shape[0])


@device
def _store(c, X, states, rng, hrng, x):
    n = X.shape[0]
    for i in range(D):
        X[c, i] = x[i]
    _copy_state(states, c, rng, 0)
    if states.shape[0] > n:
        _copy_state(states, c + n, hrng, 0)


@cuda.jit(cache=not simulated())
def sde_kernel(X, status, div_step, div_x, p, data, states, kc, kn, lr, scale, dt, use_b1, s_th, s_om, corrected,
               varies, step0, n_steps, burn, stat_every, obs_every, thin, r2max, draws, shift, acc_n, acc_s1, acc_s2,
               acc_obs, proj):
    """Advance chain ``c`` (this thread) by ``n_steps`` Euler–Maruyama steps (docs/theory.md §3, §4b),
    as the CPU ``sde_chunk`` does: ``x ← x + dt·b(x) + scale·P(L(x) z + γ H L(x) z′)``
    (``corrected``: the factor ``L + lr·M`` of plain SGDA, differentiating ``L`` where Σ
    ``varies``); the chain's sums are staged in thread-local memory for the chunk."""
    c = cuda.grid(1)
    if c >= X.shape[0] or status[c] != 0:
        return
    x = cuda.local.array(D, _F)
    gx = cuda.local.array(D, _F)
    u = cuda.local.array(D, _F)
    v = cuda.local.array(D, _F)
    w = cuda.local.array(D, _F)
    b = cuda.local.array(D, _F)
    z = cuda.local.array(D, _F)
    z2 = cuda.local.array(D, _F)
    hv = cuda.local.array(D, _F)
    fw = cuda.local.array((3, D), _F)
    y = cuda.local.array(D, _F)
    sh = cuda.local.array(D, float64)
    s1 = cuda.local.array(D, float64)
    s2 = cuda.local.array(D_TRI, float64)
    yq = cuda.local.array((Q_TRI, D), float64)
    so = cuda.local.array(N_OBS + 1, float64)
    obs = cuda.local.array(N_OBS, float64)
    hwork = cuda.local.array((HOOK_ROWS, D), float64)
    rng = cuda.local.array(1, xoroshiro128p_dtype)
    hrng = cuda.local.array(1, xoroshiro128p_dtype)
    rs = cuda.local.array(1, xoroshiro128p_dtype)
    _load(c, X, states, rng, hrng, x)
    n = _stage(c, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so)
    q = 0
    ns, no, nd = _first_events(c, step0, burn, stat_every, obs_every, thin, draws)
    nxt = min(ns, no, nd)
    for k in range(n_steps):
        step = step0 + k
        _drift(x, p, data, use_b1, kc, D_THETA, gx, u, v, w, fw, b)
        if step == nxt:
            # book-keeping of x_step uses the gradient the drift just computed
            n, q, ns, no, nd = _book(c, step, n, q, ns, no, nd, x, gx, p, data, D_THETA, burn, stat_every,
                                     obs_every, thin, draws, sh, s1, s2, yq, so, obs, hrng, hwork, proj)
            nxt = min(ns, no, nd)
        if corrected:
            _em_corrected(x, p, data, rng, rs, FD_STEP, dt, scale, lr, varies, s_th, s_om, D_THETA, b, gx, u, v, w,
                          y, z)
        else:
            _em_update(x, p, data, rng, dt, scale, kn, D_THETA, b, z, z2, hv)
        if _escaped(x, r2max):
            _stop(c, step + 1, x, status, div_step, div_x)
            break
    _flush(s2, yq, q)
    _unstage(c, n, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so)
    _store(c, X, states, rng, hrng, x)


@cuda.jit(cache=not simulated())
def sga_kernel(X, status, div_step, div_x, p, data, states, lr, batch_size, scheme, S, op, step0, n_steps, burn,
               stat_every, obs_every, thin, r2max, draws, shift, acc_n, acc_s1, acc_s2, acc_obs, proj):
    """Advance chain ``c`` (this thread) by ``n_steps`` steps of stochastic descent–ascent
    (docs/theory.md §2) with the module's optimiser (docs/theory.md §4b), as the CPU
    ``sga_chunk`` does; ``scheme``: 0 SML, 1 ALT-D, 2 ALT-G; ``S`` the optimisers' states and
    ``op`` its constants.  The update's own observables follow the ``N_OBS`` others in
    ``acc_obs`` (booked as the CPU ``sga_chunk`` books them), then the count."""
    c = cuda.grid(1)
    if c >= X.shape[0] or status[c] != 0:
        return
    ap = N_OBS
    x = cuda.local.array(D, _F)
    x_old = cuda.local.array(D, _F)
    gx = cuda.local.array(D, _F)
    gb = cuda.local.array(D, _F)
    gc = cuda.local.array(D, _F)
    hv = cuda.local.array(D, _F)
    s = cuda.local.array(D_S, _F)
    sh = cuda.local.array(D, float64)
    s1 = cuda.local.array(D, float64)
    s2 = cuda.local.array(D_TRI, float64)
    yq = cuda.local.array((Q_TRI, D), float64)
    so = cuda.local.array(N_SGA + 1, float64)
    obs = cuda.local.array(N_OBS, float64)
    hwork = cuda.local.array((HOOK_ROWS, D), float64)
    rng = cuda.local.array(1, xoroshiro128p_dtype)
    hrng = cuda.local.array(1, xoroshiro128p_dtype)
    _load(c, X, states, rng, hrng, x)
    for i in range(S.shape[1]):
        s[i] = S[c, i]
    n = _stage(c, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so)
    q = 0
    # with obs_every = 1 the next booked state's g (obs[0]) is g(x_old + Δ): the remainder
    # waits for it instead of evaluating the loss once more
    pend = False
    pend_g = 0.0
    pend_lin = 0.0
    ns, no, nd = _first_events(c, step0, burn, stat_every, obs_every, thin, draws)
    nxt = min(ns, no, nd)
    for k in range(n_steps):
        step = step0 + k
        booked = step == ns
        exact = step == no
        if step == nxt:
            if exact:
                _grad(x, p, data, gx)
            n, q, ns, no, nd = _book(c, step, n, q, ns, no, nd, x, gx, p, data, D_THETA, burn, stat_every,
                                     obs_every, thin, draws, sh, s1, s2, yq, so, obs, hrng, hwork, proj)
            nxt = min(ns, no, nd)
        pend, pend_g, pend_lin = _sga_step(x, x_old, s, p, data, rng, batch_size, scheme, lr, op, step, D_THETA, gx,
                                           gb, gc, hv, booked, exact, so, ap, obs, obs_every, pend, pend_g,
                                           pend_lin)
        if _escaped(x, r2max):
            _stop(c, step + 1, x, status, div_step, div_x)
            break
    if pend:
        so[ap + 5] += (_loss(x, p, data) - pend_g - pend_lin) / lr
    _flush(s2, yq, q)
    _unstage(c, n, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so)
    _store(c, X, states, rng, hrng, x)
    for i in range(S.shape[1]):
        S[c, i] = s[i]
