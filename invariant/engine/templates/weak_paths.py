"""Monte Carlo paths of the weak-order analysis (invariant.weak, docs/theory.md §8).

Paths of each discrete scheme (the engine's SGA step, ``step.py``) and Euler–Maruyama paths
of each SDE (the engine's drift and noise), booked with a martingale control variate: the
linear response ``Σ_j Λ_{j+1} δ_j`` of the final state to each step's noise δ_j.  Block b of
the paths draws from the PCG64 stream ``streams[b]`` (:mod:`invariant.engine.pcg64`).
"""
# <header>
import numpy as np
from numba import njit, prange

from invariant.engine.pcg64 import load as _stream_load
from invariant.engine.pcg64 import slot as _stream_slot
from invariant.engine.pcg64 import store as _stream_store
from invariant.engine.templates._stub import FD_STEP, _noise
from invariant.engine.templates.step import _corrected_noise, _drift, _sga_update

# </header>


@njit(cache=True, inline="always")
def _cv_add(Lam, j, delta, cv):
    d = cv.shape[0]
    for i in range(d):
        s = 0.0
        for l in range(d):
            s += Lam[j, i, l] * delta[l]
        cv[i] += s


@njit(cache=True, inline="always")
def _book_path(b, x, xbar, cv, sx, sxx):
    # control-variate-adjusted sums: x − cv and x xᵀ − (x̄ cvᵀ + cv x̄ᵀ)
    d = x.shape[0]
    for i in range(d):
        sx[b, i] += x[i] - cv[i]
        for j in range(d):
            sxx[b, i, j] += x[i] * x[j] - xbar[i] * cv[j] - cv[i] * xbar[j]


@njit(cache=True, parallel=True)
def discrete_paths(X0, m_init, p, data, streams, dth, lr, batch_size, scheme, k, Lam, xbar, sx, sxx, traj):
    """Paths of the discrete scheme (0 SML, 1 ALT-D, 2 ALT-G) with minibatch gradients; block
    b of the paths draws from streams[b] and books into row b of the sums."""
    n, d = X0.shape
    nb = streams.shape[0]
    for b in prange(nb):
        rng = _stream_slot()
        _stream_load(rng, streams, b)
        lo = b * n // nb
        hi = (b + 1) * n // nb
        x = np.empty(d)
        gx = np.empty(d)
        gb = np.empty(d)
        delta = np.empty(d)
        cv = np.empty(d)
        for c in range(lo, hi):
            for i in range(d):
                x[i] = X0[c, i]
                delta[i] = X0[c, i] - m_init[i]
                cv[i] = 0.0
            _cv_add(Lam, 0, delta, cv)
            for i in range(d):
                traj[b, 0, i] += x[i]
            for j in range(k):
                # the step, with δ its noise increment (nothing booked: so is a dummy)
                _sga_update(x, p, data, rng, batch_size, scheme, lr, lr, 1, dth, gb, False, cv, 0, True, gx, delta)
                _cv_add(Lam, j + 1, delta, cv)
                for i in range(d):
                    traj[b, j + 1, i] += x[i]
            _book_path(b, x, xbar, cv, sx, sxx)
        _stream_store(rng, streams, b)


@njit(cache=True, inline="always")
def _sde_noise(x, p, data, rng, rs, lr, corrected, varies, s_th, s_om, dth, gx, u, v, w, y, z):
    # the SDE's noise factor at x applied to one draw of normals: L z, or (L + lr·M) z when
    # corrected (templates/step.py), gx = ∇g(x) from the drift; both are linear in z
    if corrected:
        _corrected_noise(x, p, data, rng, rs, FD_STEP, lr, varies, s_th, s_om, dth, gx, u, v, w, y, z)
    else:
        _noise(x, p, data, rng, z)


@njit(cache=True, parallel=True)
def sde_paths(X0, m_init, p, data, streams, twins, dth, lr, batch_size, use_b1, kc, s_th, s_om, corrected, varies, k,
              m, Lam, xbar_f, xbar_c, sx_f, sxx_f, sx_c, sxx_c):
    """Euler–Maruyama paths at dt = lr/(2m) (fine) and lr/m (coarse) sharing their Brownian
    increments: the coarse step replays the fine steps' two normal vectors through the twin
    stream twins[b] (the words of streams[b]), L(x)(z1 + z2) = noise(z1) + noise(z2) (and
    likewise the corrected factor, ``corrected``; ``varies``: Σ depends on x).  The drift's
    coefficients kc as the engine's (invariant.optimizers.SDECoefficients)."""
    n, d = X0.shape
    nb = streams.shape[0]
    dt_c = lr / m
    dt_f = 0.5 * dt_c
    scale = np.sqrt(dt_f * lr / batch_size)
    for b in prange(nb):
        rng = _stream_slot()
        tw = _stream_slot()
        rs = _stream_slot()
        _stream_load(rng, streams, b)
        _stream_load(tw, twins, b)
        xf = np.empty(d)
        xc = np.empty(d)
        gx = np.empty(d)
        u = np.empty(d)
        v = np.empty(d)
        w = np.empty(d)
        bb = np.empty(d)
        fw = np.empty((3, d))
        z = np.empty(d)
        z2 = np.empty(d)
        y = np.empty(d)
        delta = np.empty(d)
        cvf = np.empty(d)
        cvc = np.empty(d)
        lo = b * n // nb
        hi = (b + 1) * n // nb
        for c in range(lo, hi):
            for i in range(d):
                xf[i] = X0[c, i]
                xc[i] = X0[c, i]
                delta[i] = X0[c, i] - m_init[i]
                cvf[i] = 0.0
            _cv_add(Lam, 0, delta, cvf)
            for i in range(d):
                cvc[i] = cvf[i]
            for j in range(k):
                for _s in range(m):
                    for _h in range(2):
                        _drift(xf, p, data, use_b1, kc, dth, gx, u, v, w, fw, bb)
                        _sde_noise(xf, p, data, rng, rs, lr, corrected, varies, s_th, s_om, dth, gx, u, v, w, y, z)
                        for i in range(d):
                            delta[i] = scale * z[i]
                            xf[i] += dt_f * bb[i] + delta[i]
                        _cv_add(Lam, j + 1, delta, cvf)
                    _drift(xc, p, data, use_b1, kc, dth, gx, u, v, w, fw, bb)
                    _sde_noise(xc, p, data, tw, rs, lr, corrected, varies, s_th, s_om, dth, gx, u, v, w, y, z)
                    _sde_noise(xc, p, data, tw, rs, lr, corrected, varies, s_th, s_om, dth, gx, u, v, w, y, z2)
                    for i in range(d):
                        delta[i] = scale * (z[i] + z2[i])
                        xc[i] += dt_c * bb[i] + delta[i]
                    _cv_add(Lam, j + 1, delta, cvc)
            _book_path(b, xf, xbar_f, cvf, sx_f, sxx_f)
            _book_path(b, xc, xbar_c, cvc, sx_c, sxx_c)
        _stream_store(rng, streams, b)
        _stream_store(tw, twins, b)
