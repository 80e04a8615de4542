"""The CPU chain loops: ``sde_chunk`` and ``sga_chunk`` (docs/kernels.md).

Parallel over blocks of chains; each chain draws from its inline PCG64 stream
(:mod:`invariant.engine.pcg64`) and is replayed from its last test when caught outside the
escape radius.  Everything here is CPU-only; the per-step helpers they call are shared with
the CUDA kernels (``chain.py``, ``step.py``).
"""
# <header>
import numpy as np
from numba import carray, njit, prange

from invariant.engine.pcg64 import copy as _stream_copy
from invariant.engine.pcg64 import load as _stream_load
from invariant.engine.pcg64 import slot as _stream_slot
from invariant.engine.pcg64 import store as _stream_store
from invariant.engine.scratch import stack_ptr
from invariant.engine.templates._stub import (
    CORRECTED,
    FD_STEP,
    HOOK_ROWS,
    N_APPLIED,
    N_OBS,
    N_OBS_MAX,
    SIGMA_VARIES,
    USE_B1,
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
from invariant.engine.templates.scratch_stack import _dims, _flow_work, _svec, _tri, _tri_queue, _vec
from invariant.engine.templates.step import _drift, _em_corrected, _em_update

# </header>


@njit(cache=True, inline="always")
def _obs_vec(n):
    # n <= N_OBS + N_APPLIED + 1 observables (or their sums, and their count) on the stack
    return carray(stack_ptr(N_OBS_MAX), n)


@njit(cache=True, inline="always")
def _hook_work(d):
    # the hook's scratch: HOOK_WORK rows and copies of x and ∇g for a hook that draws, else none
    return np.empty((HOOK_ROWS, d))


# A chain's escape test (|x|² > r2max, NaN or Inf) runs at its events: every statistics step
# and kept draw, at least every CHECK_EVERY steps, and at the end of a chunk.  A chain found
# outside goes back to its last test and runs again, with the same draws and a test after
# every step, to the first step it was outside: that step and state are reported, the chain
# stops there, and no state outside the radius is ever booked or kept.  The replay is the
# chain loop itself (its events every step, nothing booked), so the kernels hold one copy of
# the step.  (An excursion that leaves and comes back between two tests goes unnoticed;
# the chain loops carry no test per step.)
CHECK_EVERY = 16


@njit(cache=True, inline="always")
def _checkpoint(x, xc, s, sc, ns, rng, rc):
    # a state found inside the escape radius (and the first ns entries of the optimiser's
    # state) and the stream there: a chain caught outside at the next test is replayed from
    # here to the step it left
    for i in range(x.shape[0]):
        xc[i] = x[i]
    for i in range(ns):
        sc[i] = s[i]
    _stream_copy(rc, rng)


@njit(cache=True, inline="always")
def _restore(x, xc, s, sc, ns, rng, rc):
    # back to the checkpoint, to replay from it
    for i in range(x.shape[0]):
        x[i] = xc[i]
    for i in range(ns):
        s[i] = sc[i]
    _stream_copy(rng, rc)


@njit(cache=True, inline="always")
def _pass_done(c, out, replay, x, xc, s, sc, ns, rng, rc, status, div_step, div_x):
    # after a pass of a chain loop that found the chain outside at step `out` (-1: never):
    # true when the chain is done (inside, or replayed to the step it left and stopped there);
    # false when it is back at its checkpoint, to be replayed
    if out < 0:
        return True
    if replay:
        _stop(c, out, x, status, div_step, div_x)
        return True
    _restore(x, xc, s, sc, ns, rng, rc)
    return False


@njit(cache=True, inline="always")
def _open_streams(rng, hrng, streams, c, n_chains):
    # chain c's stream, and the hook's (row n_chains + c, present when the hook draws), into
    # the block's stream slots: drawn inline, their words stay in registers
    _stream_load(rng, streams, c)
    if streams.shape[0] > n_chains:
        _stream_load(hrng, streams, c + n_chains)


@njit(cache=True, inline="always")
def _close_streams(rng, hrng, streams, c, n_chains):
    _stream_store(rng, streams, c)
    if streams.shape[0] > n_chains:
        _stream_store(hrng, streams, c + n_chains)


MAX_BLOCKS = 256


@njit(cache=True, inline="always")
def _block(blk, n_blocks, n_chains):
    # chains [lo, hi) of block blk: the chain loops run over at most MAX_BLOCKS blocks, so
    # that scratch memory is set up once per block, not per chain (results do not depend on
    # the blocking: chain c draws from its own generators only)
    return blk * n_chains // n_blocks, (blk + 1) * n_chains // n_blocks


@njit(cache=True, parallel=True)
def sde_chunk(X, status, div_step, div_x, p, data, streams, d_theta, kc, kn, lr, scale, dt, s_th, s_om,
              step0, n_steps, burn, stat_every, obs_every, thin, r2max, draws, shift, acc_n,
              acc_s1, acc_s2, acc_obs, proj):
    """Advance every live chain by ``n_steps`` Euler–Maruyama steps (docs/theory.md §3, §4b).

    ``x ← x + dt·b(x) + scale·P(L(x) z + γ H L(x) z′)`` with ``scale = sqrt(dt·lr/N)``, the
    drift ``b`` of coefficients ``kc`` and the noise's ``kn = (s_om, γ)``
    (:class:`invariant.optimizers.SDECoefficients`; the Hessian–vector products where the
    module's ``USE_B1``); with the module's ``CORRECTED`` (plain SGDA at order 2), the noise
    factor is the corrected ``L + lr·M`` (docs/theory.md §3, ``s_th``, ``s_om`` the scheme's
    signs); chain ``c`` draws only from its PCG64 stream ``streams[c]``
    (:mod:`invariant.engine.pcg64`; the words are updated in place), so results do not
    depend on the number of threads.  A hook that draws random numbers gets its own
    stream ``streams[n_chains + c]`` (``streams`` then holds 2·n_chains rows), so the chains
    do not depend on the hook either.  The moments are booked every ``stat_every`` steps
    after ``burn``, the observables every ``obs_every``.  ``acc_obs`` has ``N_OBS + 1``
    columns: the standard six observables, then the hook's, then how many times they were
    booked; ``acc_s2`` the second-moment sums the module's ``MOMENTS``
    tracks, with ``proj`` (``N_PROJ`` × d) the projections' rows (:mod:`invariant.moments`).
    """
    n_chains = X.shape[0]
    n_blocks = min(n_chains, MAX_BLOCKS)
    for blk in prange(n_blocks):
        d, dth = _dims(X.shape[1], d_theta)
        x = _vec(d)
        gx = _vec(d)
        u = _vec(d)
        v = _vec(d)
        w = _vec(d)
        b = _vec(d)
        z = _vec(d)
        z2 = _vec(d)
        hv = _vec(d)
        fw = _flow_work(d)
        y = _vec(d)
        xc = _vec(d)
        sh = _vec(d)
        s1 = _vec(d)
        s2 = _tri(d)
        yq = _tri_queue(d)
        so = _obs_vec(N_OBS + 1)
        obs = _obs_vec(N_OBS)
        hwork = _hook_work(d)
        rng = _stream_slot()
        hrng = _stream_slot()
        rc = _stream_slot()
        rs = _stream_slot()
        lo, hi = _block(blk, n_blocks, n_chains)
        for c in range(lo, hi):
            if status[c] != 0:
                continue
            _open_streams(rng, hrng, streams, c, n_chains)
            for i in range(d):
                x[i] = X[c, i]
            n = _stage(c, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so)
            q = 0
            ns, no, nd = _first_events(c, step0, burn, stat_every, obs_every, thin, draws)
            upto = step0 + n_steps  # the chunk's end is an event too
            nxt = min(ns, no, nd, step0 + CHECK_EVERY, upto)
            jc = step0
            _checkpoint(x, xc, xc, xc, 0, rng, rc)
            start = step0
            replay = False
            while True:  # once, and once more to replay a chain found outside
                out = -1
                for step in range(start, upto + 1):  # every pass ends at an event
                    _drift(x, p, data, USE_B1, kc, dth, gx, u, v, w, fw, b)
                    if step == nxt:
                        # the escape test, at the events only (no test per step) and before
                        # x_step is booked or kept
                        if _escaped(x, r2max):
                            out = step
                            break
                        if step == upto:
                            break
                        if replay:
                            nxt = step + 1
                        else:
                            jc = step
                            _checkpoint(x, xc, xc, xc, 0, rng, rc)
                            # book-keeping of x_step uses the gradient the drift just computed
                            n, q, ns, no, nd = _book(c, step, n, q, ns, no, nd, x, gx, p, data, dth, burn,
                                                     stat_every, obs_every, thin, draws, sh, s1, s2, yq,
                                                     so, obs, hrng, hwork, proj)
                            nxt = min(ns, no, nd, step + CHECK_EVERY, upto)
                    if CORRECTED:
                        _em_corrected(x, p, data, rng, rs, FD_STEP, dt, scale, lr, SIGMA_VARIES, s_th, s_om, dth,
                                      b, gx, u, v, w, y, z)
                    else:
                        _em_update(x, p, data, rng, dt, scale, kn, dth, b, z, z2, hv)
                if _pass_done(c, out, replay, x, xc, xc, xc, 0, rng, rc, status, div_step, div_x):
                    break
                start = nxt = jc
                replay = True
            _close_streams(rng, hrng, streams, c, n_chains)
            _flush(s2, yq, q)
            _unstage(c, n, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so)
            for i in range(d):
                X[c, i] = x[i]


@njit(cache=True, parallel=True)
def sga_chunk(X, status, div_step, div_x, p, data, streams, d_theta, lr, batch_size, scheme, S, op, step0,
              n_steps, burn, stat_every, obs_every, thin, r2max, draws, shift, acc_n, acc_s1, acc_s2,
              acc_obs, proj):
    """Advance every live chain by ``n_steps`` steps of stochastic descent–ascent (docs/theory.md §2)
    with the module's optimiser (``OPTIMIZER``, docs/theory.md §4b).

    ``scheme``: 0 = SML, 1 = ALT-D (discriminator first), 2 = ALT-G (generator first).
    ``S`` (chains, N_S·d): the optimiser's state, updated in place; ``op``: its packed
    constants (:meth:`invariant.optimizers.Optimizer.params`).
    ``acc_obs`` has ``N_OBS + N_APPLIED + 1`` columns: after the ``N_OBS`` of
    :func:`sde_chunk`, the observables of the update itself, booked with the state the
    update starts from (its applied gradients every ``stat_every`` steps, with the moments;
    the terms that need ∇g and g every ``obs_every``), then the count of the latter.
    Streams as in :func:`sde_chunk`.
    """
    n_chains = X.shape[0]
    ap = N_OBS
    n_blocks = min(n_chains, MAX_BLOCKS)
    for blk in prange(n_blocks):
        d, dth = _dims(X.shape[1], d_theta)
        x = _vec(d)
        x_old = _vec(d)
        xc = _vec(d)
        gx = _vec(d)
        gb = _vec(d)
        gc = _vec(d)
        hv = _vec(d)
        s = _svec(d)
        sc = _svec(d)
        ns_ = S.shape[1]
        sh = _vec(d)
        s1 = _vec(d)
        s2 = _tri(d)
        yq = _tri_queue(d)
        so = _obs_vec(N_OBS + N_APPLIED + 1)
        obs = _obs_vec(N_OBS)
        hwork = _hook_work(d)
        rng = _stream_slot()
        hrng = _stream_slot()
        rc = _stream_slot()
        lo, hi = _block(blk, n_blocks, n_chains)
        for c in range(lo, hi):
            if status[c] != 0:
                continue
            _open_streams(rng, hrng, streams, c, n_chains)
            for i in range(d):
                x[i] = X[c, i]
            for i in range(ns_):
                s[i] = S[c, i]
            n = _stage(c, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so)
            q = 0
            # with obs_every = 1 the next booked state's g (obs[0]) is g(x_old + Δ): the
            # remainder waits for it instead of evaluating the loss once more
            pend = False
            pend_g = 0.0
            pend_lin = 0.0
            ns, no, nd = _first_events(c, step0, burn, stat_every, obs_every, thin, draws)
            upto = step0 + n_steps
            nxt = min(ns, no, nd, step0 + CHECK_EVERY, upto)
            jc = step0
            _checkpoint(x, xc, s, sc, ns_, rng, rc)
            start = step0
            replay = False
            while True:  # once, and once more to replay a chain found outside (as in sde_chunk)
                out = -1
                for step in range(start, upto + 1):
                    booked = step == ns  # a moments step: the update books its applied gradients
                    exact = step == no  # an observables step: and its terms that need ∇g, g
                    if step == nxt:
                        if _escaped(x, r2max):  # the escape test, as in sde_chunk
                            out = step
                            break
                        if step == upto:
                            break
                        if replay:
                            nxt = step + 1
                        else:
                            jc = step
                            _checkpoint(x, xc, s, sc, ns_, rng, rc)
                            if exact:
                                _grad(x, p, data, gx)
                            n, q, ns, no, nd = _book(c, step, n, q, ns, no, nd, x, gx, p, data, dth, burn,
                                                     stat_every, obs_every, thin, draws, sh, s1, s2, yq,
                                                     so, obs, hrng, hwork, proj)
                            nxt = min(ns, no, nd, step + CHECK_EVERY, upto)
                    pend, pend_g, pend_lin = _sga_step(x, x_old, s, p, data, rng, batch_size, scheme, lr, op, step,
                                                       dth, gx, gb, gc, hv, booked, exact, so, ap, obs, obs_every,
                                                       pend, pend_g, pend_lin)
                if _pass_done(c, out, replay, x, xc, s, sc, ns_, rng, rc, status, div_step, div_x):
                    break
                start = nxt = jc
                replay = True
                pend = False  # the stopped chain's statistics are not used
            if pend:
                so[ap + 5] += (_loss(x, p, data) - pend_g - pend_lin) / lr
            _close_streams(rng, hrng, streams, c, n_chains)
            _flush(s2, yq, q)
            _unstage(c, n, acc_n, acc_s1, acc_s2, acc_obs, shift, sh, s1, s2, so)
            for i in range(d):
                X[c, i] = x[i]
            for i in range(ns_):
                S[c, i] = s[i]
