"""Exact fluctuation–dissipation sides at the invariant laws of an affine game's SDE and
chain (docs/theory.md §5, §8)."""
from __future__ import annotations

import numpy as np

from ..gaussian import bilinear as gaussian_bilinear
from .affine import _positive, _scheme, affine_parts, diffusion, drift_terms
from .chains import discrete_stationary
from .optimizers import discrete
from .ou import stationary


def fdr(game, scheme: str, order: int, lr: float, batch_size: int, correction: str | None = None,
        batches: str = "independent") -> dict:
    """Exact fluctuation–dissipation sides at the SDE's invariant law (docs/theory.md §5).

    The SDE is ``dX = (AX + c)dt + σdW`` with ``(A, c) = drift(game, scheme, order, lr)``
    and ``σσᵀ = D = diffusion(game, lr, batch_size, correction)`` (``(η/N)Σ`` when plain); its
    invariant law is ``N(m, P)``.  Each relation is
    ``E_μ[Lφ] = 0`` rearranged, so ``lhs == rhs`` up to round-off.

    Parameters
    ----------
    game : Game
        An affine game.
    scheme : {"sml", "alt-d", "alt-g"}
    order : {1, 2}
        For ``order == 2`` the ``b1`` terms of §5 are kept (for the order-2 SML-SDE too:
        they come from the drift, whatever the scheme); ``order == 1`` drops them.
    lr : float
    batch_size : int
    correction : {None, "sml", "alt-d", "alt-g"}
        The corrected diffusion of that scheme (docs/theory.md §3), as in :func:`diffusion`.
    batches : {"independent", "shared"}
        As in :func:`diffusion`: shared minibatches add ``−2 tr(Σ_θω H_ωθ)`` to FDR1's ``tr(Σ H)``.

    Returns
    -------
    dict
        ``mean``, ``cov``: the invariant law.  ``fdr2_theta``, ``fdr2_omega``,
        ``fdr2_sum``, ``fdr1``: each a dict with ``lhs``, ``rhs`` and ``residual =
        lhs − rhs``:

        * ``fdr2_theta``: ``E[θ·(∇_θ g − η b1^θ)]`` vs ``(η/2N) tr Σ_θ``;
        * ``fdr2_omega``: ``E[ω·(∇_ω g + η b1^ω)]`` vs ``−(η/2N) tr Σ_ω``;
        * ``fdr2_sum``: θ minus ω relation, vs ``(η/2N)(tr Σ_θ + tr Σ_ω)``;
        * ``fdr1`` (``φ = g``): ``E[|∇_θ g|² − |∇_ω g|² − η b1·∇g]`` vs
          ``(η/2N)(tr(Σ_θ H_θθ) + tr(Σ_ω H_ωω))``.

        With a ``correction`` the right-hand sides hold ``½ tr D_θθ``, ``−½ tr D_ωω`` and
        ``½ tr(D H)`` in place of the ``Σ`` terms.

    Notes
    -----
    FDR1 uses ``∇²g``'s diagonal blocks; it is ``E[Lg] = 0`` only when ``H`` is the
    Hessian of a scalar ``g`` (zero-sum game, symmetric ``H``).
    """
    lr = _positive(lr, "lr")
    N = _positive(batch_size, "batch_size")
    H, f, _ = affine_parts(game)
    dt = game.d_theta
    A0, c0, A1, c1 = drift_terms(game, scheme, order)
    A, c = A0 + lr * A1, c0 + lr * c1
    D = diffusion(game, lr, N, correction, batches)
    m, P = stationary(A, c, D)
    d = game.d
    I = np.eye(d)
    th, om = slice(0, dt), slice(dt, d)
    zt, zo = np.zeros(dt), np.zeros(d - dt)
    DH = np.diag(D @ H)

    def rel(lhs, rhs):
        return {"lhs": float(lhs), "rhs": float(rhs), "residual": float(lhs - rhs)}

    # FDR2, θ: E[θ·(g_θ − η b1^θ)]
    lt = gaussian_bilinear(m, P, I[th], zt, H[th] - lr * A1[th], f[th] - lr * c1[th])
    rt = 0.5 * float(np.trace(D[th, th]))
    # FDR2, ω: E[ω·(g_ω + η b1^ω)]
    lo = gaussian_bilinear(m, P, I[om], zo, H[om] + lr * A1[om], f[om] + lr * c1[om])
    ro = -0.5 * float(np.trace(D[om, om]))
    # FDR1: E[|g_θ|² − |g_ω|² − η b1·∇g]
    l1 = (
        gaussian_bilinear(m, P, H[th], f[th], H[th], f[th])
        - gaussian_bilinear(m, P, H[om], f[om], H[om], f[om])
        - lr * gaussian_bilinear(m, P, A1, c1, H, f)
    )
    r1 = 0.5 * float(DH.sum())
    return {
        "mean": m,
        "cov": P,
        "fdr2_theta": rel(lt, rt),
        "fdr2_omega": rel(lo, ro),
        "fdr2_sum": rel(lt - lo, rt - ro),
        "fdr1": rel(l1, r1),
    }


def discrete_fdr(game, scheme: str, lr: float, batch_size: int, batches: str = "independent") -> dict:
    """Exact discrete FDR2 sides at the SGA chain's invariant law (docs/theory.md §5, §6).

    With ``x ~ N(m, P)`` the chain's invariant law and independent minibatch noises
    ``ξ_θ ~ N(0, Σ_θ/N)``, ``ξ_ω ~ N(0, Σ_ω/N)``, the applied gradients are affine in
    ``z = (x, ξ_θ, ξ_ω)``: SML ``∇̂ = ∇g(x) + ξ``; ALT-D ``∇̂_ω = ∇_ω g(x) + ξ_ω``,
    ``∇̂_θ = ∇_θ g(θ, ω⁺) + ξ_θ``; ALT-G ``∇̂_θ = ∇_θ g(x) + ξ_θ``,
    ``∇̂_ω = ∇_ω g(θ⁺, ω) + ξ_ω``.  Shared minibatches (SML) correlate ``ξ_θ`` and ``ξ_ω``
    through ``Σ_θω/N``.

    Parameters
    ----------
    game : Game
    scheme : {"sml", "alt-d", "alt-g"}
    lr : float
    batch_size : int

    Returns
    -------
    dict
        ``mean``, ``cov``: the chain's invariant law.  For ``p`` in ``theta``, ``omega``:

        * ``applied[p]``: ``lhs = E[θ·∇̂_θ]`` (``−E[ω·∇̂_ω]``), ``rhs = (η/2)E|∇̂_p|²`` —
          exact for every scheme (from ``E|x⁺_p|² = E|x_p|²``);
        * ``current[p]``: ``lhs = E[θ·∇_θ g]`` (``−E[ω·∇_ω g]``) at the current point,
          ``rhs = (η/2)(E|∇_p g|² + tr Σ_p/N)`` — exact for SML only;
        * ``sde_rhs[p]``: ``(η/2N) tr Σ_p``, the SDE-form denominator (biased, §6).

        Each entry holds ``lhs``, ``rhs``, ``residual`` and ``ratio = lhs / rhs``.
    """
    scheme = _scheme(scheme)
    lr = _positive(lr, "lr")
    N = _positive(batch_size, "batch_size")
    H, f, Sigma = affine_parts(game, batches)
    d, dt = game.d, game.d_theta
    do = d - dt
    M, m0, Q = discrete(game, scheme, lr, batch_size, batches)
    m, P = discrete_stationary(M, m0, Q)
    # z = (x, ξ_θ, ξ_ω)
    nz = d + d
    mz = np.concatenate([m, np.zeros(d)])
    Pz = np.zeros((nz, nz))
    Pz[:d, :d] = P
    Pz[d:, d:] = Sigma / N  # the noises (ξ_θ, ξ_ω): blockdiag unless the batch is shared
    th, om = slice(0, dt), slice(dt, d)
    Xt = np.zeros((dt, nz))
    Xt[:, th] = np.eye(dt)
    Xo = np.zeros((do, nz))
    Xo[:, om] = np.eye(do)
    Nt = np.zeros((dt, nz))
    Nt[:, d:d + dt] = np.eye(dt)
    No = np.zeros((do, nz))
    No[:, d + dt:] = np.eye(do)
    # population gradients at the current point, as maps of z
    Gt = np.zeros((dt, nz))
    Gt[:, :d] = H[th]
    Go = np.zeros((do, nz))
    Go[:, :d] = H[om]
    gt, go = f[th], f[om]
    # applied gradients
    At, at_ = Gt + Nt, gt
    Ao, ao = Go + No, go
    if scheme == "alt-d":  # ∇̂_θ at (θ, ω + η∇̂_ω)
        At = At + lr * H[th, om] @ Ao
        at_ = at_ + lr * H[th, om] @ ao
    elif scheme == "alt-g":  # ∇̂_ω at (θ − η∇̂_θ, ω)
        Ao = Ao - lr * H[om, th] @ At
        ao = ao - lr * H[om, th] @ at_

    def rel(lhs, rhs):
        return {"lhs": float(lhs), "rhs": float(rhs), "residual": float(lhs - rhs),
                "ratio": float(lhs / rhs) if rhs != 0 else float("nan")}

    zt, zo = np.zeros(dt), np.zeros(do)
    E = gaussian_bilinear
    tr_t = float(np.trace(Sigma[th, th])) / N
    tr_o = float(np.trace(Sigma[om, om])) / N
    app_t = E(mz, Pz, Xt, zt, At, at_)
    app_o = -E(mz, Pz, Xo, zo, Ao, ao)
    cur_t = E(mz, Pz, Xt, zt, Gt, gt)
    cur_o = -E(mz, Pz, Xo, zo, Go, go)
    return {
        "mean": m,
        "cov": P,
        "applied": {
            "theta": rel(app_t, lr / 2 * E(mz, Pz, At, at_, At, at_)),
            "omega": rel(app_o, lr / 2 * E(mz, Pz, Ao, ao, Ao, ao)),
        },
        "current": {
            "theta": rel(cur_t, lr / 2 * (E(mz, Pz, Gt, gt, Gt, gt) + tr_t)),
            "omega": rel(cur_o, lr / 2 * (E(mz, Pz, Go, go, Go, go) + tr_o)),
        },
        "sde_rhs": {
            "theta": rel(app_t, lr / 2 * tr_t),
            "omega": rel(app_o, lr / 2 * tr_o),
        },
    }
