"""Stationary Fokker–Planck equation of a 2-D game on a grid (docs/theory.md §3, §4).

The law ``p(t, x)`` of ``dX = b(X)dt + σ(X)dW`` solves ``∂_t p = −∇·F`` with flux
``F = b p − ½ ∇·(D p)``, ``D = σσᵀ``.  For a 2-D game (``dθ = dω = 1``) ``D`` is diagonal,
``D = (η/N) diag(Σ_θ(x), Σ_ω(x))`` (docs/theory.md §3), and each flux component is
``F_i = b̃_i p − ½ D_ii ∂_i p`` with ``b̃_i = b_i − ½ ∂_i D_ii``.

Discretisation: finite volumes on a uniform cell-centred grid, zero flux through the outer
boundary, and the Scharfetter–Gummel flux across each face,
``F = (ε/h)[B(−Pe) p_L − B(Pe) p_R]``, ``ε = D_face/2``, ``Pe = b̃ h/ε``, ``B(s) = s/(eˢ − 1)``,
which is exact for constant coefficients on the face, second-order accurate where diffusion
dominates and reduces to first-order upwinding of the drift where it vanishes — so
degenerate diffusion (the Dirac-GAN's ``Σ_θ ∝ ψ²`` at ``ψ = 0``) needs no special case, and
the discrete operator ``Q`` (``dp/dt = Q p``) conserves mass and keeps ``p ≥ 0``.

The stationary density is the normalised null vector of ``Q`` (sparse LU); the spectral
gap ``κ = −Re λ₂`` comes from the eigenvalues of ``Q`` nearest 0 (shift-invert Arnoldi),
with an error bar from the same computation on a grid half as fine.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .diagnostics import chain_bootstrap
from .stationary import joint_density


@dataclass
class FPSolution:
    """Stationary density and spectral gap of a 2-D Fokker–Planck operator.

    Attributes
    ----------
    x, y : ndarray
        Cell centres along each axis (θ, then ω).
    density : ndarray (nx, ny)
        Stationary density at the cell centres (cell averages), ``Σ p hx hy = 1``.
    bounds : tuple
        ``((x_lo, x_hi), (y_lo, y_hi))``.
    gap : float
        Spectral gap ``−Re λ₂`` (NaN if not computed).
    gap_error : float
        ``|gap − gap on a grid half as fine|`` (NaN if not computed).
    density_error : float
        L1 distance to the density on a grid half as fine (NaN if not computed).
    lambda2 : complex
        The second eigenvalue (largest real part after 0).
    eigenvalues : ndarray
        Eigenvalues found near 0, by decreasing real part.
    names : tuple of str
    """

    x: np.ndarray
    y: np.ndarray
    density: np.ndarray
    bounds: tuple
    gap: float = float("nan")
    gap_error: float = float("nan")
    density_error: float = float("nan")
    lambda2: complex = complex("nan")
    eigenvalues: np.ndarray = field(default_factory=lambda: np.array([]))
    names: tuple = ("theta[0]", "omega[0]")

    @property
    def shape(self) -> tuple:
        return self.density.shape

    @property
    def hx(self) -> float:
        return float(self.x[1] - self.x[0])

    @property
    def hy(self) -> float:
        return float(self.y[1] - self.y[0])

    @property
    def cell_area(self) -> float:
        return self.hx * self.hy

    @property
    def edges(self) -> tuple:
        (a, b), (c, d) = self.bounds
        return np.linspace(a, b, len(self.x) + 1), np.linspace(c, d, len(self.y) + 1)

    def probabilities(self) -> np.ndarray:
        """Mass of each cell."""
        return self.density * self.cell_area

    def marginal(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """``(centres, density)`` of the marginal along ``axis`` (0: θ, 1: ω)."""
        if axis == 0:
            return self.x, self.density.sum(1) * self.hy
        return self.y, self.density.sum(0) * self.hx

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the grid density."""
        P = self.probabilities()
        X, Y = np.meshgrid(self.x, self.y, indexing="ij")
        m = np.array([np.sum(P * X), np.sum(P * Y)])
        dx, dy = X - m[0], Y - m[1]
        c = np.array([[np.sum(P * dx * dx), np.sum(P * dx * dy)], [np.sum(P * dx * dy), np.sum(P * dy * dy)]])
        # cell averages of x² carry h²/12 beyond the centres'
        c += np.diag([self.hx**2, self.hy**2]) / 12.0
        return m, c


def bernoulli(s):
    """``B(s) = s/(eˢ − 1)`` (``B(0) = 1``), evaluated without overflow."""
    s = np.asarray(s, dtype=np.float64)
    out = np.ones_like(s)
    small = np.abs(s) < 1e-8
    big = s > 700.0
    neg = s < -700.0
    mid = ~(small | big | neg)
    out[mid] = s[mid] / np.expm1(s[mid])
    out[small] = 1.0 - 0.5 * s[small]
    out[big] = s[big] * np.exp(-np.minimum(s[big], 745.0))
    out[neg] = -s[neg]
    return out


def _face_coefficients(b, D_left, D_right, h):
    """Scharfetter–Gummel coefficients ``(c0, c1)`` of ``F = c0 p_L − c1 p_R``."""
    eps = 0.25 * (D_left + D_right)  # D_face / 2
    bt = b - 0.5 * (D_right - D_left) / h
    c0 = np.maximum(bt, 0.0)
    c1 = np.maximum(-bt, 0.0)
    pos = eps > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pe = np.where(pos, bt * h / np.where(pos, eps, 1.0), 0.0)
    c0 = np.where(pos, eps / h * bernoulli(-pe), c0)
    c1 = np.where(pos, eps / h * bernoulli(pe), c1)
    return c0, c1


def operator(drift, diffusion, bounds, shape):
    """The finite-volume Fokker–Planck matrix ``Q`` (``dp/dt = Q p``) on a uniform grid.

    Parameters
    ----------
    drift : callable
        ``drift(X) -> (n, 2)`` for points ``X`` of shape ``(n, 2)``.
    diffusion : callable
        ``diffusion(X) -> (n, 2)``: the diagonal ``(D_xx, D_yy)`` of ``D = σσᵀ`` at ``X``.
    bounds : ((x_lo, x_hi), (y_lo, y_hi))
    shape : (nx, ny)

    Returns
    -------
    Q : scipy.sparse.csr_matrix (nx·ny, nx·ny)
        Cell ``(i, j)`` is index ``i·ny + j``; columns sum to 0 (mass conservation).
    x, y : ndarray
        Cell centres.
    """
    (xa, xb), (ya, yb) = bounds
    nx, ny = shape
    hx, hy = (xb - xa) / nx, (yb - ya) / ny
    x = xa + hx * (np.arange(nx) + 0.5)
    y = ya + hy * (np.arange(ny) + 0.5)
    Xc, Yc = np.meshgrid(x, y, indexing="ij")
    Dc = np.asarray(diffusion(np.column_stack([Xc.ravel(), Yc.ravel()])), dtype=np.float64).reshape(nx, ny, 2)
    # x-faces between (i, j) and (i+1, j)
    Xf, Yf = np.meshgrid(xa + hx * np.arange(1, nx), y, indexing="ij")
    bx = np.asarray(drift(np.column_stack([Xf.ravel(), Yf.ravel()])), dtype=np.float64)[:, 0].reshape(nx - 1, ny)
    c0x, c1x = _face_coefficients(bx, Dc[:-1, :, 0], Dc[1:, :, 0], hx)
    # y-faces between (i, j) and (i, j+1)
    Xg, Yg = np.meshgrid(x, ya + hy * np.arange(1, ny), indexing="ij")
    by = np.asarray(drift(np.column_stack([Xg.ravel(), Yg.ravel()])), dtype=np.float64)[:, 1].reshape(nx, ny - 1)
    c0y, c1y = _face_coefficients(by, Dc[:, :-1, 1], Dc[:, 1:, 1], hy)
    idx = np.arange(nx * ny).reshape(nx, ny)
    rows, cols, vals = [], [], []

    def add(L, R, c0, c1, h):
        L, R, c0, c1 = L.ravel(), R.ravel(), c0.ravel() / h, c1.ravel() / h
        rows.extend([L, L, R, R])
        cols.extend([L, R, L, R])
        vals.extend([-c0, c1, c0, -c1])

    add(idx[:-1, :], idx[1:, :], c0x, c1x, hx)
    add(idx[:, :-1], idx[:, 1:], c0y, c1y, hy)
    Q = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nx * ny, nx * ny))
    return Q, x, y


def _lu(A):
    return spla.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A")


def stationary_density(Q, cell_area: float) -> np.ndarray:
    """Normalised null vector of ``Q`` (``Σ p · cell_area = 1``) by a sparse LU solve."""
    n = Q.shape[0]
    A = Q.tolil()
    A[n - 1, :] = np.full(n, cell_area)
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    p = _lu(A).solve(rhs)
    p = np.clip(p, 0.0, None)
    return p / (p.sum() * cell_area)


def eigenvalues_near_zero(Q, k: int = 24) -> np.ndarray:
    """The ``k`` eigenvalues of ``Q`` nearest 0 (shift-invert Arnoldi), by decreasing real part.

    The shift sits just right of 0 (``Q`` is singular).  A mode whose eigenvalue has a small
    real part but a large imaginary part lies far from 0 in modulus; ``k`` must be large
    enough to reach it (the slowest oscillating mode has modulus ``|κ + iω|``, and about
    ``ω/κ`` real eigenvalues of sum modes come closer).
    """
    n = Q.shape[0]
    k = int(min(k, n - 2))
    sigma = 1e-9 * float(np.abs(Q.diagonal()).max())
    lu = _lu(Q - sigma * sp.eye(n))
    op = spla.LinearOperator((n, n), matvec=lu.solve, dtype=np.float64)
    # a fixed start vector: ARPACK's default is random, and identical runs would differ at 1e-11
    v0 = np.random.default_rng(0).standard_normal(n)
    mu = spla.eigs(op, k=k, which="LM", return_eigenvectors=False, tol=1e-9, ncv=min(n - 1, max(2 * k + 1, 40)),
                   v0=v0)
    vals = 1.0 / mu + sigma
    return vals[np.argsort(-vals.real)]


def spectral_gap(Q, k: int = 24) -> tuple[float, complex, np.ndarray]:
    """``(κ, λ₂, eigenvalues)``: ``κ = −Re λ₂``, ``λ₂`` the eigenvalue after 0 with the largest real part."""
    vals = eigenvalues_near_zero(Q, k)
    i0 = int(np.argmin(np.abs(vals)))
    rest = np.delete(vals, i0)
    lam2 = rest[int(np.argmax(rest.real))]
    return float(-lam2.real), complex(lam2), vals


def solve(drift, diffusion, bounds, shape=(128, 128), gap: bool = True, n_eigs: int = 24,
          names=("theta[0]", "omega[0]"), check: bool = True) -> FPSolution:
    """Stationary density (and spectral gap) of ``dX = b dt + σ dW`` on a 2-D box.

    Parameters
    ----------
    drift, diffusion : callable
        See :func:`operator`.
    bounds : ((x_lo, x_hi), (y_lo, y_hi))
        The box; its boundary reflects (zero flux), so it must hold all but a negligible
        part of the mass.
    shape : (nx, ny)
    gap : bool
        Also compute the spectral gap.
    n_eigs : int
        Eigenvalues computed near 0 (see :func:`eigenvalues_near_zero`).
    names : tuple of str
    check : bool
        Solve again on a grid half as fine (``shape // 2``): ``density_error`` is the L1
        distance between the two densities (block-averaged), ``gap_error`` the change of the
        gap.  Both estimate the *coarser* solution's discretisation error, so they bound
        this one's: the scheme is second order where diffusion dominates and first order
        where it vanishes (the Dirac-GAN's ``Σ_θ ≈ 0``), so the error falls by 2–4 per
        halving of ``h``.

    Returns
    -------
    FPSolution
    """
    Q, x, y = operator(drift, diffusion, bounds, shape)
    hx, hy = x[1] - x[0], y[1] - y[0]
    p = stationary_density(Q, hx * hy).reshape(shape)
    sol = FPSolution(x, y, p, tuple(map(tuple, bounds)), names=tuple(names))
    if gap:
        sol.gap, sol.lambda2, sol.eigenvalues = spectral_gap(Q, n_eigs)
    if check:
        cshape = (max(8, shape[0] // 2), max(8, shape[1] // 2))
        Qc, xc, yc = operator(drift, diffusion, bounds, cshape)
        if shape[0] == 2 * cshape[0] and shape[1] == 2 * cshape[1]:
            pc = stationary_density(Qc, (xc[1] - xc[0]) * (yc[1] - yc[0])).reshape(cshape)
            fine = p.reshape(cshape[0], 2, cshape[1], 2).mean(axis=(1, 3))
            sol.density_error = float(np.abs(fine - pc).sum() * (xc[1] - xc[0]) * (yc[1] - yc[0]))
        if gap:
            sol.gap_error = abs(sol.gap - spectral_gap(Qc, n_eigs)[0])
    return sol


# --------------------------------------------------------------------------- games and runs
def game_coefficients(cfg):
    """Vectorised drift and diffusion diagonal of a 2-D game's SDE (docs/theory.md §3).

    Parameters
    ----------
    cfg : Config
        Its game must have ``dθ = dω = 1``; the drift is the SDE's of the config's optimiser and
        order (:meth:`invariant.schemes.Scheme.drift`), the diffusion ``(lr/N)(Σ_θ(x), s_ω²Σ_ω(x))``
        (docs/theory.md §4b; ``b0 + lr·b1`` and ``(lr/N)(Σ_θ, Σ_ω)`` for plain SGDA).

    Returns
    -------
    drift, diffusion : callable
        ``f(X) -> (n, 2)`` for points ``X`` of shape ``(n, 2)``.
    """
    game, sch = cfg.game, cfg.scheme
    if game.d_theta != 1 or game.d_omega != 1:
        raise ValueError(f"the Fokker–Planck solver needs a 2-D game (dθ = dω = 1); {game.name} has "
                         f"dθ = {game.d_theta}, dω = {game.d_omega}")
    c = sch.sde  # the SDE of the run's optimiser (docs/theory.md §4b); raises if it has none
    if c.gamma:
        raise ValueError("the Fokker–Planck solver needs a diagonal diffusion; consensus's noise γ H L z′ "
                         "couples θ and ω")
    scale = (c.lr / sch.batch_size) * np.array([1.0, c.s_om**2])

    def drift(X):
        X = np.ascontiguousarray(X, dtype=np.float64)
        return np.array([sch.drift(game, x) for x in X]).reshape(X.shape)

    if getattr(game, "affine", False):
        S = np.diag(game.sigma(np.zeros(2))) * scale

        def diffusion(X):
            return np.broadcast_to(S, (len(X), 2)).copy()
    else:
        def diffusion(X):
            return np.array([np.diag(game.sigma(x)) for x in np.asarray(X, dtype=np.float64)]) * scale

    return drift, diffusion


def grid_bounds(draws, pad: float = 0.15) -> tuple:
    """Box around the draws: their range widened by ``pad`` of it on each side."""
    x = np.asarray(draws, dtype=np.float64).reshape(-1, 2)
    x = x[np.all(np.isfinite(x), axis=1)]
    lo, hi = x.min(0), x.max(0)
    w = np.where(hi > lo, hi - lo, 1.0)
    return ((lo[0] - pad * w[0], hi[0] + pad * w[0]), (lo[1] - pad * w[1], hi[1] + pad * w[1]))


def from_run(result, shape=(128, 128), pad: float = 0.15, gap: bool = True, n_eigs: int = 24,
             check: bool = True) -> FPSolution:
    """The Fokker–Planck reference for a 2-D run, on a box around its kept draws.

    For ``dynamics = "sga"`` runs this is the law of the SDE approximation, not of the
    chain itself.
    """
    keep = result.kept_alive
    bounds = grid_bounds(result.draws[keep], pad)
    drift, diffusion = game_coefficients(result.config)
    return solve(drift, diffusion, bounds, shape, gap=gap, n_eigs=n_eigs, names=tuple(result.game.param_names),
                 check=check)


def cell_averages(sol: FPSolution, pdf, points: int = 3) -> np.ndarray:
    """Cell averages of a density ``pdf(X) -> (n,)`` on the solution's grid (Gauss–Legendre)."""
    t, w = np.polynomial.legendre.leggauss(points)
    out = np.zeros(sol.shape)
    for a, wa in zip(t, w):
        for b, wb in zip(t, w):
            X, Y = np.meshgrid(sol.x + 0.5 * a * sol.hx, sol.y + 0.5 * b * sol.hy, indexing="ij")
            out += 0.25 * wa * wb * np.asarray(pdf(np.column_stack([X.ravel(), Y.ravel()]))).reshape(sol.shape)
    return out


def l1_to_pdf(sol: FPSolution, pdf) -> float:
    """``∫|p_FP − pdf|`` over the box (cell averages), plus the pdf's mass outside the box."""
    q = cell_averages(sol, pdf)
    inside = q.sum() * sol.cell_area
    return float(np.sum(np.abs(sol.density - q)) * sol.cell_area + max(0.0, 1.0 - inside))


def gaussian_pdf(mean, cov):
    """Density function of ``N(mean, cov)`` for :func:`l1_to_pdf`."""
    from scipy.stats import multivariate_normal

    rv = multivariate_normal(np.asarray(mean, dtype=np.float64), np.asarray(cov, dtype=np.float64))
    return rv.pdf


def compare_draws(sol: FPSolution, result, bins: int = 16, min_count: float = 5.0) -> dict:
    """Distance between a run's draws and the Fokker–Planck density, with its noise level.

    Two comparisons: (i) binned — the FP cells merged into about ``bins × bins`` bins, the
    draws' bin frequencies against the FP bin masses, ``L1 = Σ|p̂_b − p_b|`` (no smoothing
    bias), its noise floor ``E L1`` under Monte Carlo noise alone, ``Σ_b sqrt(2/π)·se_b``
    (``se_b`` from the spread of the bin frequencies across independent chains), and a χ²
    goodness-of-fit test ``Σ_b ((p̂_b − p_b)/se_b)²`` over the bins expecting at least
    ``min_count`` draws per chain (degrees of freedom: those bins − 1); (ii) the kernel
    density estimate of :func:`invariant.stationary.joint_density` on the FP grid against
    the FP density (this one includes the KDE's smoothing bias).

    Parameters
    ----------
    sol : FPSolution
    result : RunResult
        A 2-D run.
    bins : int
        Bins per axis (FP cells are merged in blocks).
    min_count : float

    Returns
    -------
    dict
        ``l1`` (binned), ``l1_noise``, ``l1_noise_q99`` (the 99 % point of the noise-only L1,
        from chain-bootstrap replicas), ``chi2``, ``dof``, ``p_value``, ``l1_kde``, ``bins``
        (``[nbx, nby]``), ``outside`` (share of draws outside the box).
    """
    from scipy.stats import chi2 as chi2_dist

    keep = result.kept_alive
    x = result.draws[keep]  # (C, n, 2)
    x = x[:, np.all(np.isfinite(x), axis=(0, 2))]
    fx, fy = sol.edges
    bx = max(1, len(sol.x) // bins)
    by = max(1, len(sol.y) // bins)
    ex, ey = fx[::bx], fy[::by]
    if ex[-1] < fx[-1]:
        ex = np.append(ex[:-1], fx[-1])
    if ey[-1] < fy[-1]:
        ey = np.append(ey[:-1], fy[-1])
    P = sol.probabilities()
    ix = np.searchsorted(ex, sol.x, side="right") - 1
    iy = np.searchsorted(ey, sol.y, side="right") - 1
    Pb = np.zeros((len(ex) - 1, len(ey) - 1))
    np.add.at(Pb, (ix[:, None], iy[None, :]), P)
    per_chain = np.array([np.histogram2d(c[:, 0], c[:, 1], bins=[ex, ey])[0] / c.shape[0] for c in x])
    phat = per_chain.mean(0)
    C = x.shape[0]
    se = per_chain.std(0, ddof=1) / np.sqrt(C) if C > 1 else np.zeros_like(phat)
    outside = float(max(0.0, 1.0 - phat.sum()))
    l1 = float(np.abs(phat - Pb).sum() + outside)
    noise = float(np.sqrt(2.0 / np.pi) * se.sum())

    # the noise-only L1's upper 99 % point: chain-bootstrap replicas of the frequencies
    def l1_noise(idx):
        return np.abs(per_chain[idx].mean(0) - phat).sum()

    q99 = float(np.quantile(chain_bootstrap(l1_noise, C, 200, np.random.default_rng(0)), 0.99)) if C > 1 else float("nan")
    use = (Pb * x.shape[1] >= min_count) & (se > 0)
    chi2 = float(np.sum(((phat - Pb)[use] / se[use]) ** 2))
    dof = int(max(use.sum() - 1, 1))
    kde = joint_density(result, 0, 1, grid=(sol.x, sol.y))
    l1_kde = float(np.abs(kde.density - sol.density).sum() * sol.cell_area)
    return {"l1": l1, "l1_noise": noise, "l1_noise_q99": q99, "chi2": chi2, "dof": dof, "p_value": float(chi2_dist.sf(chi2, dof)),
            "l1_kde": l1_kde, "bins": [len(ex) - 1, len(ey) - 1], "outside": outside}


def summary_section(sol: FPSolution, comparison: dict | None = None) -> dict:
    """``stationary.fokker_planck`` fields of summary.json."""
    m, c = sol.moments()
    out = {"grid": list(sol.shape), "bounds": [list(b) for b in sol.bounds], "mean": m, "cov": c,
           "gap": sol.gap, "gap_error": sol.gap_error, "density_error": sol.density_error,
           "lambda2": [float(np.real(sol.lambda2)), float(np.imag(sol.lambda2))]}
    if comparison:
        out.update(comparison)
    return out
