"""Affine games' constant pieces and their SDEs' affine drift and constant diffusion
(docs/theory.md §3, §8)."""
from __future__ import annotations

import numpy as np

from ..gaussian import sym as _sym

SCHEMES = ("sml", "alt-d", "alt-g")


def _scheme(scheme: str) -> str:
    s = str(scheme).lower().replace("_", "-")
    if s not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}; got {scheme!r}")
    return s


def _order(order) -> int:
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2; got {order!r}")
    return int(order)


def _positive(value, name: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return v


def affine_parts(game, batches: str = "independent"):
    """Constant pieces of an affine game: ``∇g(x) = H x + f`` and the noise blocks.

    Parameters
    ----------
    game : invariant.games.base.Game
        A game with ``game.affine`` true (affine gradient field, constant ``Σ``).
    batches : {"independent", "shared"}
        The players' minibatches (docs/theory.md §2): shared ones keep the cross block.

    Returns
    -------
    H : ndarray, shape (d, d)
        Jacobian of the gradient field (``game.hessian``), constant for an affine game.
    f : ndarray, shape (d,)
        ``∇g(0)``.
    Sigma : ndarray, shape (d, d)
        The covariance of the noise of the two minibatch gradients ``(∇̂θ, ∇̂ω)`` per sample
        (docs/theory.md §1–§3): ``blockdiag(Σ_θ, Σ_ω)`` for independent minibatches (any cross
        block dropped), with the cross block ``Σ_θω`` for shared ones; from ``game.info["Sigma"]``
        when present, else ``game.sigma(0)`` and ``game.sigma_cross(0)``.

    Raises
    ------
    ValueError
        If the game is not declared affine.
    """
    if not getattr(game, "affine", False):
        raise ValueError(
            f"game {getattr(game, 'name', '?')!r} is not affine: exact references need an affine "
            "gradient field and constant noise (docs/theory.md §8)"
        )
    d, dt = game.d, game.d_theta
    x0 = np.zeros(d)
    H = np.asarray(game.hessian(x0), dtype=np.float64)
    f = np.asarray(game.grad(x0), dtype=np.float64)
    info = getattr(game, "info", None) or {}
    Sigma = info.get("Sigma")
    Sigma = np.asarray(game.sigma(x0) if Sigma is None else Sigma, dtype=np.float64).copy()
    if Sigma.shape != (d, d):
        raise ValueError(f"Sigma must be {d}×{d}; got {Sigma.shape}")
    if batches == "shared":
        if "Sigma" not in info:
            Sigma[:dt, dt:] = game.sigma_cross(x0)
            Sigma[dt:, :dt] = Sigma[:dt, dt:].T
    elif batches == "independent":
        Sigma[:dt, dt:] = 0.0
        Sigma[dt:, :dt] = 0.0
    else:
        raise ValueError(f"batches must be 'independent' or 'shared', got {batches!r}")
    return H, f, _sym(Sigma)


def _signs(game) -> np.ndarray:
    """Diagonal of ``S = blockdiag(−I_θ, +I_ω)`` (b0 = S ∇g)."""
    return np.concatenate([-np.ones(game.d_theta), np.ones(game.d_omega)])


def _game_term_matrix(H, dt, scheme):
    """``K`` with ``c_scheme(x) = K ∇g(x)`` (docs/theory.md §3).

    ALT-D: ``c = (−H_θω ∇_ω g, 0)``; ALT-G: ``c = (0, −H_ωθ ∇_θ g)``; SML: ``c = 0``.
    """
    K = np.zeros_like(H)
    if scheme == "alt-d":
        K[:dt, dt:] = -H[:dt, dt:]
    elif scheme == "alt-g":
        K[dt:, :dt] = -H[dt:, :dt]
    return K


def drift_terms(game, scheme: str, order: int = 2):
    """Affine pieces of the SDE drift ``b = b0 + lr·b1`` (docs/theory.md §3).

    Parameters
    ----------
    game : Game
        An affine game (see :func:`affine_parts`).
    scheme : {"sml", "alt-d", "alt-g"}
        Which discrete scheme the order-2 term matches.
    order : {1, 2}
        1 gives ``b1 = 0`` for every scheme.

    Returns
    -------
    A0, c0 : ndarray
        ``b0(x) = A0 x + c0`` with ``b0 = (−∇_θ g, +∇_ω g)``: ``A0 = J = S H``, ``c0 = S f``.
    A1, c1 : ndarray
        ``b1(x) = A1 x + c1`` with ``b1 = c_scheme − ½ J b0`` (docs/theory.md §3, one-step moment
        matching): ``A1 = K H − ½ J²``, ``c1 = K f − ½ J S f``, ``K`` the scheme's game term
        (``c_scheme = K ∇g``).  Zero when ``order == 1``.

    Notes
    -----
    ``b1 = c − ½ J b0`` equals the ``¼∇|∇g|²`` forms printed in docs/theory.md §3 for a zero-sum
    game (symmetric ``H``); ``tests/test_exact.py`` checks this against finite differences.
    """
    scheme, order = _scheme(scheme), _order(order)
    H, f, _ = affine_parts(game)
    s = _signs(game)
    J = s[:, None] * H
    A0, c0 = J, s * f
    if order == 1:
        return A0, c0, np.zeros_like(A0), np.zeros_like(c0)
    K = _game_term_matrix(H, game.d_theta, scheme)
    A1 = K @ H - 0.5 * J @ J
    c1 = K @ f - 0.5 * J @ c0
    return A0, c0, A1, c1


def drift(game, scheme: str, order: int, lr: float):
    """Affine SDE drift ``b(x) = A x + c = b0(x) + lr·b1(x)`` (docs/theory.md §3).

    Parameters
    ----------
    game : Game
        An affine game.
    scheme : {"sml", "alt-d", "alt-g"}
        Scheme whose order-2 correction is used (irrelevant for ``order == 1``).
    order : {1, 2}
        1: SML-SDE drift ``b0 = (−∇_θ g, +∇_ω g)`` for every scheme; 2: ``b0 + lr·b1`` with
        ``b1 = c_scheme − ½ J b0`` (ALT-SDE for ALT-D / ALT-G, Remark-3.1 SDE for SML).
    lr : float
        Learning rate η.

    Returns
    -------
    A : ndarray, shape (d, d)
    c : ndarray, shape (d,)
    """
    lr = _positive(lr, "lr")
    A0, c0, A1, c1 = drift_terms(game, scheme, order)
    return A0 + lr * A1, c0 + lr * c1


def diffusion(game, lr: float, batch_size: int, correction: str | None = None, batches: str = "independent"):
    """Diffusion matrix ``D = σσᵀ`` of the SDEs (docs/theory.md §3).

    Parameters
    ----------
    game : Game
        An affine game.
    lr : float
        Learning rate η.
    batch_size : int
        Minibatch size N.
    correction : {None, "sml", "alt-d", "alt-g"}
        None (default): ``D = (η/N) Σ``, ``Σ = blockdiag(Σ_θ, Σ_ω)``.  A scheme name gives
        docs/theory.md §3's optional diffusion correction
        ``D = (η/N)[Σ + η(R − ½(JΣ + ΣJᵀ))]`` matching the scheme's one-step covariance to
        ``O(η³)`` (``R = 0`` for SML, ``[[0, −H_θωΣ_ω], [−Σ_ωH_ωθ, 0]]`` for ALT-D,
        ``[[0, Σ_θH_θω], [H_ωθΣ_θ, 0]]`` for ALT-G).  May fail to be PSD for large η.
    batches : {"independent", "shared"}
        Shared minibatches (SML) put ``S Σ S`` in place of ``Σ``, ``S = blockdiag(−I, I)``:
        the noise of the descent–ascent direction, whose cross block is ``−Σ_θω``
        (docs/theory.md §2).

    Returns
    -------
    D : ndarray, shape (d, d)
    """
    lr = _positive(lr, "lr")
    N = _positive(batch_size, "batch_size")
    H, _, Sigma = affine_parts(game, batches)
    s = _signs(game)
    Sigma = s[:, None] * Sigma * s[None, :]
    D = (lr / N) * Sigma
    if correction is None:
        return D
    scheme = _scheme(correction)
    dt = game.d_theta
    J = _signs(game)[:, None] * H
    R = np.zeros_like(H)
    St, So = Sigma[:dt, :dt], Sigma[dt:, dt:]
    if scheme == "alt-d":
        R[:dt, dt:] = -H[:dt, dt:] @ So
        R[dt:, :dt] = -So @ H[:dt, dt:].T
    elif scheme == "alt-g":
        R[:dt, dt:] = St @ H[dt:, :dt].T
        R[dt:, :dt] = H[dt:, :dt] @ St
    return _sym(D + (lr * lr / N) * (R - 0.5 * (J @ Sigma + Sigma @ J.T)))
