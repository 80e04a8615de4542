"""Every linear optimiser on an affine game as an exact affine Gaussian recursion of its
augmented state (docs/theory.md §4b, §8).

On an affine game, ``∇g(x) = H x + f``, a player's minibatch gradient is ``∇g + ξ`` with
``ξ ~ N(0, Σ/N)`` drawn afresh for each move (independent blocks per player's batch,
docs/theory.md §2).  Every optimiser of :data:`invariant.optimizers.LINEAR` then moves its
augmented state ``z = (x, s)`` — ``s`` the optimiser's state as the engine stores it (velocity
for momentum, the last field ``−F̂`` for optimistic GDA, nothing otherwise) — by

    ``z⁺ = A z + a + ε``,  ``ε ~ N(0, Q)`` independent of ``z``,

the map :func:`invariant.optimizers.step` draws from.  Notation: ``S = blockdiag(−I_θ, I_ω)``,
``E = blockdiag(η I_θ, ρη I_ω)`` (TTUR), ``D = E S`` and ``Π_p`` the projector on player ``p``'s
block; ``−F̂ = S ĝ`` is the ascent–descent step direction.
"""
from __future__ import annotations

import numpy as np

from ..gaussian import sym as _sym
from ..optimizers import LINEAR
from ..schemes import Scheme
from .affine import _positive, _scheme, _signs, affine_parts
from .chains import _compose, discrete_moments, discrete_stationary


def _parts(game, scheme: Scheme):
    """``H, f, Σ/N, S, D = E S`` of the game under the scheme's learning rates."""
    lr = _positive(scheme.lr, "lr")
    N = _positive(scheme.batch_size, "batch_size")
    H, f, Sigma = affine_parts(game, scheme.batches)
    s = _signs(game)
    eta = np.where(np.arange(game.d) < game.d_theta, lr, scheme.optimizer.lr_ratio * lr)
    return H, f, Sigma / N, np.diag(s), np.diag(eta * s)


def _gaussian(M, c, loads, K):
    """``(M, c, Q)`` of ``z ↦ M z + c + Σ_j G_j ξ_j`` with independent ``ξ_j ~ N(0, K)``."""
    return M, c, _sym(sum(G @ K @ G.T for G in loads))


def _player_move(H, f, K, D, P, beta):
    """One player's move (projector ``P``) from its minibatch gradient at the current ``x``.

    SGD (``beta`` None): ``x ↦ x + P D (H x + f + ξ)``.  Heavy ball on ``z = (x, v)``:
    ``v⁺ = v + P((β − 1) v + D(Hx + f + ξ))``, ``x⁺ = x + P v⁺``, i.e.
    ``A = [[I + PDH, βP], [PDH, I − P + βP]]``, ``a = (PDf, PDf)``, noise ``(PDξ, PDξ)``.
    """
    d = H.shape[0]
    I = np.eye(d)
    PD = P @ D
    if beta is None:
        return _gaussian(I + PD @ H, PD @ f, [PD], K)
    M = np.block([[I + PD @ H, beta * P], [PD @ H, I - P + beta * P]])
    return _gaussian(M, np.concatenate([PD @ f, PD @ f]), [np.vstack([PD, PD])], K)


def _player_steps(game, scheme: Scheme, H, f, K, D):
    """SGD or heavy ball under SML / ALT-D (``n_critic`` ω moves, then θ) / ALT-G."""
    opt = scheme.optimizer
    beta = opt.momentum if opt.name == "momentum" else None
    d, dt = game.d, game.d_theta
    Pt = np.diag((np.arange(d) < dt).astype(float))
    Po = np.eye(d) - Pt
    name = _scheme(scheme.name)
    if opt.n_critic > 1 and name != "alt-d":
        raise ValueError(f"n_critic = {opt.n_critic} needs scheme 'alt-d' (got {name!r})")
    if name == "sml":  # both players from the same x: the move with P = I
        return _player_move(H, f, K, D, np.eye(d), beta)
    theta, omega = _player_move(H, f, K, D, Pt, beta), _player_move(H, f, K, D, Po, beta)
    if name == "alt-g":
        return _compose(theta, omega)
    out = omega
    for _ in range(opt.n_critic - 1):
        out = _compose(out, omega)
    return _compose(out, theta)


def discrete_optimizer(game, scheme: Scheme):
    """The chain of ``scheme.optimizer`` on an affine game as ``z⁺ = A z + a + N(0, Q)``.

    Parameters
    ----------
    game : Game
        An affine game (:func:`invariant.exact.affine_parts`).
    scheme : Scheme
        Scheme, learning rate η, batch size N and optimiser (:data:`invariant.optimizers.LINEAR`).

    Returns
    -------
    A : ndarray, shape (n, n)
    a : ndarray, shape (n,)
    Q : ndarray, shape (n, n)
        On ``z = (x, s)``, ``n = d + len(s)``: ``s`` as in the run state (``Optimizer.state_size``).

    Notes
    -----
    docs/theory.md §4b, with ``J = S H``, ``K = Σ/N``:

    * SGD, momentum: the player moves (:func:`_player_move`) composed in the scheme's order;
    * extragradient: ``A = I + DH + (DH)²``, ``a = (I + DH) D f``, ``Q = D K Dᵀ + DH D K Dᵀ (DH)ᵀ``;
    * optimistic, ``z = (x, −F̂ₖ₋₁)``: ``A = [[I + 2EJ, −E], [J, 0]]``, ``a = (2ESf, Sf)``,
      noise ``(2ES ξ, S ξ)``;
    * consensus: ``A = I + E(S − γH)H``, ``a = E(S − γH) f``,
      ``Q = D K Dᵀ + γ² EH K HᵀE`` (two independent batches).

    Raises
    ------
    ValueError
        For RMSProp / Adam (not linear), a non-affine game, or ``n_critic > 1`` outside ALT-D.
    """
    opt = scheme.optimizer
    if opt.name not in LINEAR:
        raise ValueError(f"optimizer {opt.name!r} is not linear on an affine game: no exact law "
                         f"(linear ones: {', '.join(LINEAR)})")
    H, f, K, S, D = _parts(game, scheme)
    if opt.name in ("sgd", "momentum"):
        return _player_steps(game, scheme, H, f, K, D)
    if _scheme(scheme.name) != "sml":
        raise ValueError(f"optimizer {opt.name!r} is simultaneous: scheme must be 'sml'")
    I = np.eye(game.d)
    E = D @ S
    B = D @ H
    if opt.name == "extragradient":  # x½ = x + D(Hx + f + ξ₁), x⁺ = x + D(Hx½ + f + ξ₂)
        return _gaussian(I + B + B @ B, (I + B) @ D @ f, [B @ D, D], K)
    if opt.name == "optimistic":
        J = S @ H
        A = np.block([[I + 2 * E @ J, -E], [J, np.zeros_like(J)]])
        return _gaussian(A, np.concatenate([2 * D @ f, S @ f]), [np.vstack([2 * D, S])], K)
    G = E @ (S - opt.consensus * H)  # consensus: x⁺ = x + E(S ĝ₁ − γ H ĝ₂)
    return _gaussian(I + G @ H, G @ f, [D, opt.consensus * E @ H], K)


def optimizer_stationary(game, scheme: Scheme):
    """Exact stationary law ``N(m, P)`` of the parameters ``x`` under ``scheme.optimizer``.

    The x-marginal of :func:`discrete_stationary` of :func:`discrete_optimizer`'s augmented
    map (docs/theory.md §4b).

    Returns
    -------
    m : ndarray, shape (d,)
    P : ndarray, shape (d, d)

    Raises
    ------
    ValueError
        If the augmented map's spectral radius is ≥ 1 (no invariant law), or as
        :func:`discrete_optimizer`.
    """
    m, P = discrete_stationary(*discrete_optimizer(game, scheme))
    d = game.d
    return m[:d], P[:d, :d]


def discrete(game, scheme: str, lr: float, batch_size: int, batches: str = "independent"):
    """The plain SGA chain of docs/theory.md §2 as an exact affine Gaussian recursion.

    ``x⁺ = M x + m0 + ε``, ``ε ~ N(0, Q)`` independent of ``x``: :func:`discrete_optimizer`
    for plain SGD (one learning rate, one critic step).

    Parameters
    ----------
    game : Game
        An affine game.
    scheme : {"sml", "alt-d", "alt-g"}
        SML: both players step from ``(θ, ω)``.  ALT-D: ``ω`` first, then ``θ`` with the
        gradient at ``(θ, ω⁺)``.  ALT-G: ``θ`` first, then ``ω`` at ``(θ⁺, ω)``.
    lr : float
        Learning rate η.
    batch_size : int
        Minibatch size N; a minibatch-mean gradient is ``∇g + N(0, Σ/N)``, independent for
        the two players.
    batches : {"independent", "shared"}
        Shared (SML): one minibatch for both players, ``Σ`` with its cross block ``Σ_θω``.

    Returns
    -------
    M : ndarray, shape (d, d)
    m0 : ndarray, shape (d,)
    Q : ndarray, shape (d, d)

    Notes
    -----
    A move of player ``p`` is ``x ↦ U_p x + u_p + η S Π_p ξ_p`` with
    ``U_p = I + η S Π_p H``, ``u_p = η S Π_p f`` (``Π_p`` the projector on ``p``'s block).
    The chain composes the two moves in the scheme's order, so in ALT the first
    mover's noise reaches the second mover through ``U``:
    ALT-D ``Q = η² (U_θ Σ̃_ω U_θᵀ + Σ̃_θ)/N``, ALT-G ``Q = η² (U_ω Σ̃_θ U_ωᵀ + Σ̃_ω)/N``
    (``Σ̃_p = Π_p Σ Π_p``), SML ``Q = η² Σ/N``.
    """
    return discrete_optimizer(game, Scheme(_scheme(scheme), lr, batch_size, 1, batches=batches))


def optimizer_sde(game, scheme: Scheme):
    """The SDE of ``scheme``'s optimiser on an affine game as an OU process (docs/theory.md §4b):
    ``(A, c, D)`` with drift ``A x + c`` and constant diffusion ``D``.

    Read off the reference coefficients (:meth:`Scheme.drift`, :meth:`Scheme.diffusion`) at the
    origin and the unit vectors: exact for an affine drift (consensus's order-2 term is a central
    difference, exact up to rounding there too).
    """
    if not getattr(game, "affine", False):
        raise ValueError(f"the {game.name} game is not affine: its SDE is no OU process")
    origin = np.zeros(game.d)
    c = scheme.drift(game, origin)
    A = np.column_stack([scheme.drift(game, e) - c for e in np.eye(game.d)])
    return A, c, _sym(scheme.diffusion(game, origin))


def optimizer_moments(game, scheme: Scheme, mean0, cov0, k: int, path: bool = False):
    """Exact mean and covariance of ``x`` after ``k`` iterations of ``scheme.optimizer`` on an
    affine game from ``x₀ ~ N(mean0, cov0)`` and a zero optimiser state (docs/theory.md §4b).

    Optimistic GDA's first iteration is plain GDA (``x₋₁ = x₀``, as the engine and
    :func:`invariant.optimizers.step` run it): with ``z = (x, s)`` and the map's blocks, it
    is ``z₁ = E(A(x₀, 0) + a + ε)``, ``E = [[I, A_xs], [0, I]]`` (its state is the field drawn
    in that step).  With ``path`` the mean path ``E x_j``, ``j = 0..k``, is returned as well.
    """
    A, a, Q = discrete_optimizer(game, scheme)
    d, n = game.d, A.shape[0]
    m = np.zeros(n)
    m[:d] = mean0
    P = np.zeros((n, n))
    P[:d, :d] = cov0
    means = [m[:d].copy()]
    if scheme.optimizer.name == "optimistic" and k > 0:
        E = np.eye(n)
        E[:d, d:] = A[:d, d:]
        m, P = E @ (A @ m + a), _sym(E @ (A @ P @ A.T + Q) @ E.T)
        means.append(m[:d].copy())
        k -= 1
    if path:
        mj = m
        for _ in range(k):
            mj = A @ mj + a
            means.append(mj[:d].copy())
    m, P = discrete_moments(A, a, Q, m, P, k)
    return (m[:d], P[:d, :d], np.array(means)) if path else (m[:d], P[:d, :d])
