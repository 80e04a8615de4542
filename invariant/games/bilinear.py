"""Linear–quadratic (bilinear) game with constant Gaussian gradient noise (docs/theory.md §8).

``g = θᵀCω + lam/2 |θ|² − gam/2 |ω|² + a·θ + b·ω``; the per-sample gradient is
``∇g + ξ`` with ``ξ = (ξ_θ, ξ_ω) ~ N(0, [[Σ_θ, Σ_θω], [Σ_θωᵀ, Σ_ω]])`` (``Σ_θω = 0`` unless
given: one sample's two gradients are then independent).  Each player's minibatch of its own
sees only its block; a shared minibatch sees ``Σ_θω`` too (docs/theory.md §2).  Its SDEs are
OU processes, so every long-run quantity has an exact reference (``invariant.exact``).

Packed constants ``p``: ``[dθ, dω, lam, gam, a, b]``.  The matrices are rows of ``data``
(width ``d``): ``C`` (dθ rows), ``Cᵀ`` (dω rows), then ``Lθᵀ``, ``Lωᵀ`` and the joint ``Lᵀ``
(d rows) with ``L`` the lower-triangular Cholesky factors of ``Σ_θ``, ``Σ_ω`` and the joint
``Σ`` (row ``i`` of ``Lᵀ`` is column ``i`` of ``L``).  Every product is then a sequence of axpys over whole rows (``L z`` one per normal
drawn, ``C ω`` one per row of ``Cᵀ``, ``Cᵀθ`` one per row of ``C``), which vectorise; a dot
product per row would be a chain of dependent additions.  Rows of a 2-D array start where
numpy put them, not at the odd offsets of a packed vector, and the axpys of ``L z`` run over
whole columns, zeros above the diagonal included: a column that starts one entry further
down than the last re-reads what the last one just stored, a load the CPU cannot forward
from the store, which made the triangular loop 6–8 % slower in a step of 64-D (same-process
A/B on the bench's bare loop).
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
    # dθ, dω, where a and b start in p, and the first rows of Cᵀ, Lθᵀ, Lωᵀ in data (C's is 0)
    dt = int(p[0])
    do = int(p[1])
    return dt, do, 4, 4 + dt, dt, dt + do, 2 * dt + do


@_helper
def _drift_terms(x, p, data, out):
    # out += ∇g(x): the population gradient added to what out holds (a minibatch's noise);
    # the ω block goes through slices from 0: an index dt + j may be negative as far as numba
    # knows, and its wraparound select turns the vectorised loop into gathers and scatters
    dt, do, a0, b0, ct0, lt0, lo0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    pa = p[a0: a0 + dt]
    pb = p[b0: b0 + do]
    om = x[dt:]
    oo = out[dt:]
    for i in range(dt):
        out[i] += lam * x[i] + pa[i]
    for j in range(do):
        oo[j] += -gam * om[j] + pb[j]
    _add_C_omega(data, dt, do, ct0, x, out)
    _add_Ct_theta(data, dt, do, x, out)


@_helper
def _add_C_omega(data, dt, do, ct0, v, out):
    # out[:dt] += C v[dt:], one axpy per column of C (row of Cᵀ); slices and rows index from
    # 0, so the loops carry no negative-index wraparound and vectorise
    for j in range(do):
        vj = v[dt + j]
        row = data[ct0 + j]
        for i in range(dt):
            out[i] += row[i] * vj


@_helper
def _add_Ct_theta(data, dt, do, v, out):
    # out[dt:] += Cᵀ v[:dt], one axpy per row of C
    tail = out[dt:]
    for i in range(dt):
        vi = v[i]
        row = data[i]
        for j in range(do):
            tail[j] += row[j] * vi


@_kernel
def loss(x, p, data):
    dt, do, a0, b0, ct0, lt0, lo0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    pa = p[a0: a0 + dt]
    pb = p[b0: b0 + do]
    om = x[dt:]
    s = 0.0
    for i in range(dt):
        row = data[i]
        ci = 0.0
        for j in range(do):
            ci += row[j] * om[j]
        s += x[i] * ci + 0.5 * lam * x[i] * x[i] + pa[i] * x[i]
    for j in range(do):
        s += -0.5 * gam * om[j] * om[j] + pb[j] * om[j]
    return s


@_kernel
def loss_with_grad(x, gx, p, data):
    # g from ∇g in O(d): θᵀCω = θ·(∇θg − lam θ − a), so
    # g = θ·∇θg − lam/2 |θ|² − gam/2 |ω|² + b·ω (loss() costs a dθ × dω product)
    dt, do, a0, b0, ct0, lt0, lo0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    pb = p[b0: b0 + do]
    om = x[dt:]
    s = 0.0
    for i in range(dt):
        s += x[i] * (gx[i] - 0.5 * lam * x[i])
    for j in range(do):
        w = om[j]
        s += w * (pb[j] - 0.5 * gam * w)
    return s


@_kernel
def grad(x, p, data, out):
    for i in range(out.shape[0]):
        out[i] = 0.0
    _drift_terms(x, p, data, out)


@_kernel
def hvp(x, p, data, v, out):
    dt, do, a0, b0, ct0, lt0, lo0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    vo = v[dt:]
    oo = out[dt:]
    for i in range(dt):
        out[i] = lam * v[i]
    for j in range(do):
        oo[j] = -gam * vo[j]
    _add_C_omega(data, dt, do, ct0, v, out)
    _add_Ct_theta(data, dt, do, v, out)


@_helper
def _chol_noise(data, l0, off, n, rng, out, scale):
    # out[off:off+n] = scale · L z, one axpy per column of L (row l0 + i of data) over the
    # whole block, zeros above the diagonal included (see the module docstring)
    seg = out[off: off + n]
    for r in range(n):
        seg[r] = 0.0
    for i in range(n):
        zi = scale * rng.standard_normal()
        col = data[l0 + i]
        for r in range(n):
            seg[r] += col[r] * zi


@_kernel
def noise(x, p, data, rng, out):
    dt, do, a0, b0, ct0, lt0, lo0 = _offsets(p)
    _chol_noise(data, lt0, 0, dt, rng, out, 1.0)
    _chol_noise(data, lo0, dt, do, rng, out, 1.0)


@_kernel
def batch_grad(x, p, data, rng, batch_size, player, out):
    dt, do, a0, b0, ct0, lt0, lo0 = _offsets(p)
    lam = p[2]
    gam = p[3]
    # the mean of batch_size i.i.d. N(0, Σ) draws is exactly N(0, Σ / batch_size)
    scale = 1.0 / np.sqrt(batch_size)
    if player == 0:
        _chol_noise(data, lt0, 0, dt, rng, out, scale)
        pa = p[a0: a0 + dt]
        for i in range(dt):
            out[i] += lam * x[i] + pa[i]
        _add_C_omega(data, dt, do, ct0, x, out)
    else:
        _chol_noise(data, lo0, dt, do, rng, out, scale)
        om = x[dt:]
        oo = out[dt:]
        pb = p[b0: b0 + do]
        for j in range(do):
            oo[j] += -gam * om[j] + pb[j]
        _add_Ct_theta(data, dt, do, x, out)


@_kernel
def shared_noise(x, p, data, rng, out):
    dt, do, a0, b0, ct0, lt0, lo0 = _offsets(p)
    _chol_noise(data, lo0 + do, 0, dt + do, rng, out, 1.0)


@_kernel
def shared_batch_grad(x, p, data, rng, batch_size, out):
    # one minibatch for both players: its mean noise is exactly N(0, Σ / batch_size), Σ joint
    dt, do, a0, b0, ct0, lt0, lo0 = _offsets(p)
    _chol_noise(data, lo0 + do, 0, dt + do, rng, out, 1.0 / np.sqrt(batch_size))
    _drift_terms(x, p, data, out)


@njit(cache=True)
def sample_grads(x, p, data, rng, out):
    # a row is one sample's gradients of both players: the joint law, Σ_θω included
    d = x.shape[0]
    row = np.empty(d)
    for k in range(out.shape[0]):
        shared_batch_grad(x, p, data, rng, 1, row)
        for i in range(d):
            out[k, i] = row[i]


class BilinearGame(Game):
    """Bilinear game with closed-form constant noise covariances."""

    def sigma(self, x=None, n=None, rng=None) -> np.ndarray:
        S = self.info["Sigma"].copy()
        S[: self.d_theta, self.d_theta:] = 0.0
        S[self.d_theta:, : self.d_theta] = 0.0
        return S

    def sigma_cross(self, x=None, n=None, rng=None) -> np.ndarray:
        return self.info["Sigma"][: self.d_theta, self.d_theta:].copy()


def from_config(table: dict) -> BilinearGame:
    """Build the game from the ``[game]`` table of a config (docs/design.md ◆ Config)."""
    allowed = {"name", "C", "lam", "gam", "a", "b", "Sigma_theta", "Sigma_omega", "Sigma_theta_omega"}
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
    Sto = matrix(table.get("Sigma_theta_omega", np.zeros((dt, do))), "game.Sigma_theta_omega")
    if Sto.shape != (dt, do):
        raise ConfigError("game.Sigma_theta_omega", f"must be dθ × dω = {dt} × {do}, got {Sto.shape[0]} × {Sto.shape[1]}")
    joint = np.block([[St, Sto], [Sto.T, So]])
    if np.linalg.eigvalsh(joint).min() < -1e-12 * max(1.0, np.abs(joint).max()):
        raise ConfigError("game.Sigma_theta_omega", "the joint covariance [[Sigma_theta, Sigma_theta_omega], "
                                                    "[Sigma_theta_omegaᵀ, Sigma_omega]] is not positive semi-definite: "
                                                    "shrink the cross block")
    return make(C, lam, gam, a, b, St, So, Sto)


def make(C, lam=0.0, gam=0.0, a=None, b=None, Sigma_theta=None, Sigma_omega=None,
         Sigma_theta_omega=None) -> BilinearGame:
    """Build a bilinear game from arrays (see module docstring for ``g`` and the noise)."""
    C = np.atleast_2d(np.asarray(C, dtype=np.float64))
    dt, do = C.shape
    a = np.zeros(dt) if a is None else np.asarray(a, dtype=np.float64)
    b = np.zeros(do) if b is None else np.asarray(b, dtype=np.float64)
    St = np.eye(dt) if Sigma_theta is None else np.asarray(Sigma_theta, dtype=np.float64)
    So = np.eye(do) if Sigma_omega is None else np.asarray(Sigma_omega, dtype=np.float64)
    Sto = np.zeros((dt, do)) if Sigma_theta_omega is None else np.asarray(Sigma_theta_omega, dtype=np.float64)
    Sigma = np.block([[St, Sto], [Sto.T, So]])
    params = np.concatenate([[dt, do, lam, gam], a, b])
    data = np.zeros((3 * (dt + do), dt + do))
    rows = (0, dt, dt + do, 2 * dt + do, 2 * (dt + do))
    for r0, M in zip(rows, (C, C.T, _psd_factor(St).T, _psd_factor(So).T, _psd_factor(Sigma).T)):
        data[r0: r0 + M.shape[0], : M.shape[1]] = M
    info = dict(C=C, lam=float(lam), gam=float(gam), a=a, b=b, Sigma=Sigma)
    return BilinearGame("bilinear", dt, do, params, __name__, data=data, affine=True, info=info,
                        sampled_batches=False)


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
