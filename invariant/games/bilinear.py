"""Linear–quadratic (bilinear) game with constant Gaussian gradient noise (MATH.md §8).

``g = θᵀCω + lam/2 |θ|² − gam/2 |ω|² + a·θ + b·ω``; the per-sample gradient is
``∇g + ξ`` with ``ξ_θ ~ N(0, Σ_θ)``, ``ξ_ω ~ N(0, Σ_ω)`` independent.  Its SDEs are OU
processes, so every long-run quantity has an exact reference (``invariant.exact``).

Packed constants ``p``: ``[dθ, dω, lam, gam, C (row-major), a, b, Lθ, Lω, Cᵀ (row-major)]``
with ``L`` the lower-triangular Cholesky factors of the ``Σ`` stored column by column
(column ``i`` contiguous).  Every product is then a sequence of contiguous axpys (``L z``
one per normal drawn, ``C ω`` one per row of ``Cᵀ``, ``Cᵀθ`` one per row of ``C``), which
vectorise; a dot product per row would be a chain of dependent additions.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ConfigError
from .base import Game
from .validate import matrix, number, psd_matrix, vector

# Helpers are inlined and kernels compiled without the NRT (they allocate nothing): a call
# that hands `p` and `out` across a function boundary would otherwise count references to
# them, atomic operations that cost as much as a small game's whole step
# (invariant.games.dirac measures it).
_helper = njit(cache=True, inline="always")
_kernel = njit(cache=True, _nrt=False)


@_helper
def _offsets(p):
    dt = int(p[0])
    do = int(p[1])
    c0 = 4
    a0 = c0 + dt * do
    b0 = a0 + dt
    lt0 = b0 + do
    lo0 = lt0 + dt * dt
    ct0 = lo0 + do * do
    return dt, do, c0, a0, b0, lt0, lo0, ct0


@_helper
def _add_C_omega(p, dt, do, ct0, v, out):
    # out[:dt] += C v[dt:], one axpy per column of C (row of Cᵀ); slices index from 0, so
    # the loops carry no negative-index wraparound and vectorise
    for j in range(do):
        vj = v[dt + j]
        row = p[ct0 + j * dt: ct0 + (j + 1) * dt]
        for i in range(dt):
            out[i] += row[i] * vj


@_helper
def _add_Ct_theta(p, dt, do, c0, v, out):
    # out[dt:] += Cᵀ v[:dt], one axpy per row of C
    tail = out[dt:]
    for i in range(dt):
        vi = v[i]
        row = p[c0 + i * do: c0 + (i + 1) * do]
        for j in range(do):
            tail[j] += row[j] * vi


@_kernel
def loss(x, p, data):
    dt, do, c0, a0, b0, lt0, lo0, ct0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    s = 0.0
    om = x[dt:]
    for i in range(dt):
        # row slices: no wraparound in the dot products, so consecutive rows overlap
        row = p[c0 + i * do: c0 + (i + 1) * do]
        ci = 0.0
        for j in range(do):
            ci += row[j] * om[j]
        s += x[i] * ci + 0.5 * lam * x[i] * x[i] + p[a0 + i] * x[i]
    for j in range(do):
        s += -0.5 * gam * x[dt + j] * x[dt + j] + p[b0 + j] * x[dt + j]
    return s


@_kernel
def loss_with_grad(x, gx, p, data):
    # g from ∇g in O(d): θᵀCω = θ·(∇θg − lam θ − a), so
    # g = θ·∇θg − lam/2 |θ|² − gam/2 |ω|² + b·ω (loss() costs a dθ × dω product)
    dt, do, c0, a0, b0, lt0, lo0, ct0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    s = 0.0
    for i in range(dt):
        s += x[i] * (gx[i] - 0.5 * lam * x[i])
    for j in range(do):
        w = x[dt + j]
        s += w * (p[b0 + j] - 0.5 * gam * w)
    return s


@_kernel
def grad(x, p, data, out):
    dt, do, c0, a0, b0, lt0, lo0, ct0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    for i in range(dt):
        out[i] = lam * x[i] + p[a0 + i]
    _add_C_omega(p, dt, do, ct0, x, out)
    for j in range(do):
        out[dt + j] = -gam * x[dt + j] + p[b0 + j]
    _add_Ct_theta(p, dt, do, c0, x, out)


@_kernel
def hvp(x, p, data, v, out):
    dt, do, c0, a0, b0, lt0, lo0, ct0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    for i in range(dt):
        out[i] = lam * v[i]
    _add_C_omega(p, dt, do, ct0, v, out)
    for j in range(do):
        out[dt + j] = -gam * v[dt + j]
    _add_Ct_theta(p, dt, do, c0, v, out)


@_helper
def _chol_noise(p, l0, off, n, rng, out, scale):
    # out[off:off+n] = scale · L z; column i of L (rows i..n-1) is contiguous at p[l0 + i·n + i:]
    seg = out[off: off + n]
    for r in range(n):
        seg[r] = 0.0
    for i in range(n):
        zi = scale * rng.standard_normal()
        col = p[l0 + i * n + i: l0 + (i + 1) * n]
        below = seg[i:]
        for r in range(n - i):
            below[r] += col[r] * zi


@_kernel
def noise(x, p, data, rng, out):
    dt, do, c0, a0, b0, lt0, lo0, ct0 = _offsets(p)
    _chol_noise(p, lt0, 0, dt, rng, out, 1.0)
    _chol_noise(p, lo0, dt, do, rng, out, 1.0)


@_kernel
def batch_grad(x, p, data, rng, batch_size, player, out):
    dt, do, c0, a0, b0, lt0, lo0, ct0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    # the mean of batch_size i.i.d. N(0, Σ) draws is exactly N(0, Σ / batch_size)
    scale = 1.0 / np.sqrt(batch_size)
    if player == 0:
        _chol_noise(p, lt0, 0, dt, rng, out, scale)
        for i in range(dt):
            out[i] += lam * x[i] + p[a0 + i]
        _add_C_omega(p, dt, do, ct0, x, out)
    else:
        _chol_noise(p, lo0, dt, do, rng, out, scale)
        for j in range(do):
            out[dt + j] += -gam * x[dt + j] + p[b0 + j]
        _add_Ct_theta(p, dt, do, c0, x, out)


@njit(cache=True)
def sample_grads(x, p, data, rng, out):
    d = x.shape[0]
    row = np.empty(d)
    for k in range(out.shape[0]):
        batch_grad(x, p, data, rng, 1, 0, row)
        batch_grad(x, p, data, rng, 1, 1, row)
        for i in range(d):
            out[k, i] = row[i]


class BilinearGame(Game):
    """Bilinear game with closed-form constant noise covariances."""

    def sigma(self, x=None, n=None, rng=None) -> np.ndarray:
        return self.info["Sigma"].copy()


def from_config(table: dict) -> BilinearGame:
    """Build the game from the ``[game]`` table of a config (DESIGN.md ◆ Config)."""
    allowed = {"name", "C", "lam", "gam", "a", "b", "Sigma_theta", "Sigma_omega"}
    for key in table:
        if key not in allowed:
            raise ConfigError(f"game.{key}", f"unknown key for game 'bilinear'; allowed: {', '.join(sorted(allowed))}")
    if "C" not in table:
        raise ConfigError("game.C", "required: the dθ × dω coupling matrix, e.g. [[1.0, 0.4], [-0.3, 0.8]]")
    C = matrix(table["C"], "game.C")
    dt, do = C.shape
    lam = number(table.get("lam", 0.0), "game.lam")
    gam = number(table.get("gam", 0.0), "game.gam")
    a = vector(table.get("a", np.zeros(dt)), "game.a", dt)
    b = vector(table.get("b", np.zeros(do)), "game.b", do)
    St = psd_matrix(table.get("Sigma_theta", np.eye(dt)), "game.Sigma_theta", dt)
    So = psd_matrix(table.get("Sigma_omega", np.eye(do)), "game.Sigma_omega", do)
    return make(C, lam, gam, a, b, St, So)


def make(C, lam=0.0, gam=0.0, a=None, b=None, Sigma_theta=None, Sigma_omega=None) -> BilinearGame:
    """Build a bilinear game from arrays (see module docstring for ``g``)."""
    C = np.atleast_2d(np.asarray(C, dtype=np.float64))
    dt, do = C.shape
    a = np.zeros(dt) if a is None else np.asarray(a, dtype=np.float64)
    b = np.zeros(do) if b is None else np.asarray(b, dtype=np.float64)
    St = np.eye(dt) if Sigma_theta is None else np.asarray(Sigma_theta, dtype=np.float64)
    So = np.eye(do) if Sigma_omega is None else np.asarray(Sigma_omega, dtype=np.float64)
    params = np.concatenate([
        [dt, do, lam, gam], C.ravel(), a, b, _psd_factor(St).T.ravel(), _psd_factor(So).T.ravel(), C.T.ravel(),
    ])
    Sigma = np.zeros((dt + do, dt + do))
    Sigma[:dt, :dt] = St
    Sigma[dt:, dt:] = So
    info = dict(C=C, lam=float(lam), gam=float(gam), a=a, b=b, Sigma=Sigma)
    return BilinearGame("bilinear", dt, do, params, __name__, affine=True, info=info)


def _psd_factor(S):
    """Lower-triangular L with L Lᵀ = S, also for singular PSD S."""
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        # semi-definite: factor S + εI, then correct with the eigen-square-root's triangularisation
        w, V = np.linalg.eigh(S)
        B = V * np.sqrt(np.clip(w, 0.0, None))
        # QR of Bᵀ gives B = R ᵀ Qᵀ with Rᵀ lower triangular and (Rᵀ)(Rᵀ)ᵀ = B Bᵀ = S
        R = np.linalg.qr(B.T, mode="r")
        return R.T
