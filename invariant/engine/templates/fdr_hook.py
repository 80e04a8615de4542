"""The FDR hook (``invariant.fdr.hook``; docs/theory.md §5, docs/kernels.md): per statistics
step, the terms of the fluctuation–dissipation relations that the chain's standard
observables lack.

It draws ``u = L(x) z`` from its own stream (``E[uuᵀ] = blockdiag(Σ_θ, Σ_ω)``), so that
``u_θᵀ H_θθ u_θ`` and ``|u_θ|²`` are one-draw unbiased estimates of ``Tr(Σ_θ H_θθ)`` and
``Tr Σ_θ``, and forms the b₁ products from two Hessian–vector products, as the engine's
drift does.  The column order is ``fdr._SIGMA_NAMES`` + ``fdr._B1_NAMES`` (SDE runs) or
``fdr._SGA_NAMES`` (SGA runs), then for each user observable ``fdr._obs_names``.  The
generated header sets ``FDR_SGA`` and ``FDR_B1``; the user observables' functions and the
call site ``_fdr_observables`` (one :func:`_fdr_observable` call each) are placed before
this template.
"""
# <header>
from numba import njit

from invariant.engine.templates._stub import FDR_B1, FDR_SGA, SHARED, _fdr_observables, _hvp, _noise
from invariant.engine.templates.step import _block_hvps

# </header>


@njit(cache=True, inline="always")
def _fdr_dot(a, b, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s += a[i] * b[i]
    return s


@njit(cache=True, inline="always")
def _fdr_observable(phi, k, x, gx, u, v, hv, hw, gphi, dth, out):
    # the generator terms of the user observable phi (fdr.Observable) from column k on:
    # b₀·∇φ, the b₁ pieces ∇φ·Hgt, ∇φ·Hgo per block, uᵀ∇²φ u and (SDE) b₀ᵀ∇²φ b₀
    d = x.shape[0]
    bq = 0.0
    if not FDR_SGA:  # b₀ᵀ∇²φ b₀ for the Euler–Maruyama term, before gphi is filled
        for i in range(d):
            v[i] = -gx[i] if i < dth else gx[i]
        bq = phi(x, v, gphi)
    q = phi(x, u, gphi)
    s = 0.0
    for i in range(d):
        s += (-gx[i] if i < dth else gx[i]) * gphi[i]
    out[k] = s
    j = k + 1
    if FDR_B1:
        out[j] = _fdr_dot(hv, gphi, 0, dth)
        out[j + 1] = _fdr_dot(hv, gphi, dth, d)
        out[j + 2] = _fdr_dot(hw, gphi, 0, dth)
        out[j + 3] = _fdr_dot(hw, gphi, dth, d)
        j += 4
    out[j] = q
    if not FDR_SGA:
        out[j + 1] = bq


# not inlined into the chain loop: one call per statistics step costs little next to its six
# Hessian–vector products, and the chain kernels then compile in half the time
@njit(cache=True)
def observe_extra(x, gx, p, data, rng, work, out):
    d = x.shape[0]
    dth = int(p[0])
    u = work[0]
    v = work[1]
    hv = work[2]
    hw = work[3]
    gphi = work[4]
    hb = work[5]
    _noise(x, p, data, rng, u)
    if FDR_SGA:
        out[0] = _fdr_dot(u, u, 0, dth)
        out[1] = _fdr_dot(u, u, dth, d)
    else:
        # Tr(Σ_θ H_θθ), Tr(Σ_ω H_ωω), Tr Σ_θ, Tr Σ_ω, b₀ᵀHb₀ (hb = H b₀)
        for i in range(d):
            v[i] = u[i] if i < dth else 0.0
        _hvp(x, p, data, v, hv)
        # shared batches: u's blocks correlate, and uᵀHu's cross terms join (split over the
        # two columns, whose sum FDR1 reads); independent ones: the cross terms average to 0
        out[0] = _fdr_dot(u, hv, 0, d if SHARED else dth)
        out[2] = _fdr_dot(u, u, 0, dth)
        for i in range(d):
            v[i] = u[i] if i >= dth else 0.0
        _hvp(x, p, data, v, hv)
        out[1] = _fdr_dot(u, hv, 0 if SHARED else dth, d)
        out[3] = _fdr_dot(u, u, dth, d)
        for i in range(d):
            v[i] = -gx[i] if i < dth else gx[i]
        _hvp(x, p, data, v, hb)
        out[4] = _fdr_dot(v, hb, 0, d)
    if FDR_B1:
        # the b₁ products: hv = H(∇_θ g, 0), hw = H(0, ∇_ω g)
        _block_hvps(x, p, data, gx, dth, v, hv, hw)
        out[5] = _fdr_dot(x, hv, 0, dth)
        out[6] = _fdr_dot(x, hw, 0, dth)
        out[7] = _fdr_dot(x, hv, dth, d)
        out[8] = _fdr_dot(x, hw, dth, d)
        out[9] = _fdr_dot(gx, hv, 0, dth)
        out[10] = _fdr_dot(gx, hw, 0, dth)
        out[11] = _fdr_dot(gx, hv, dth, d)
        out[12] = _fdr_dot(gx, hw, dth, d)
        out[13] = _fdr_dot(hv, hb, 0, dth)
        out[14] = _fdr_dot(hw, hb, 0, dth)
        out[15] = _fdr_dot(hv, hb, dth, d)
        out[16] = _fdr_dot(hw, hb, dth, d)
        out[17] = _fdr_dot(hv, hv, 0, dth)
        out[18] = _fdr_dot(hv, hw, 0, dth)
        out[19] = _fdr_dot(hw, hw, 0, dth)
        out[20] = _fdr_dot(hv, hv, dth, d)
        out[21] = _fdr_dot(hv, hw, dth, d)
        out[22] = _fdr_dot(hw, hw, dth, d)
    _fdr_observables(x, gx, u, v, hv, hw, gphi, dth, out)
