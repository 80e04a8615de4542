"""Exact linear–Gaussian references for affine (linear–quadratic) games (MATH.md §8).

For a game whose gradient field is affine, ``∇g(x) = H x + f``, with constant gradient-noise
covariances ``Σ = blockdiag(Σ_θ, Σ_ω)`` (``game.affine`` is true, e.g. the ``bilinear``
game), every object of the toolkit has a closed form:

* the SDE drifts of MATH.md §3 are affine, ``b(x) = A x + c`` (:func:`drift`), and the
  diffusion is constant (:func:`diffusion`), so the SDEs are Ornstein–Uhlenbeck processes;
* their invariant law is ``N(m, P)`` (:func:`stationary`, MATH.md §4) with exact mixing rate
  ``κ = −α(A)`` (:func:`mixing_rate`);
* the discrete SGA chains of MATH.md §2 are exact affine Gaussian recursions
  ``x⁺ = M x + m0 + N(0, Q)`` (:func:`discrete`) with Gaussian invariant law
  (:func:`discrete_stationary`);
* transient moments of both are exact (:func:`ou_moments`, :func:`discrete_moments`), so
  weak errors carry no Monte Carlo error;
* the conditional laws of MATH.md §7 (:func:`conditional`) and the fluctuation–dissipation
  relations of MATH.md §5 (:func:`fdr` for the SDEs, :func:`discrete_fdr` for the chains)
  are Gaussian expectations.

Conventions.  ``x = (θ, ω)``; ``S = blockdiag(−I_θ, +I_ω)`` so that ``b0 = S ∇g`` and its
Jacobian is ``J = S H``; blocks ``H_θω = ∂(∇_θ g)/∂ω`` (dθ × dω) and ``H_ωθ = ∂(∇_ω g)/∂θ``.
Schemes are named ``"sml"``, ``"alt-d"``, ``"alt-g"``.  The two players' minibatches are
independent (MATH.md §2), so only the diagonal blocks ``Σ_θ``, ``Σ_ω`` of ``Σ`` enter.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

__all__ = [
    "SCHEMES",
    "affine_parts",
    "drift_terms",
    "drift",
    "diffusion",
    "stationary",
    "spectral_abscissa",
    "mixing_rate",
    "dissipativity_constant",
    "discrete",
    "discrete_stationary",
    "ou_moments",
    "discrete_moments",
    "conditional",
    "gaussian_bilinear",
    "fdr",
    "discrete_fdr",
]

SCHEMES = ("sml", "alt-d", "alt-g")


# --------------------------------------------------------------------------- helpers
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


def _sym(P):
    return 0.5 * (P + P.T)


def affine_parts(game):
    """Constant pieces of an affine game: ``∇g(x) = H x + f`` and the noise blocks.

    Parameters
    ----------
    game : invariant.games.base.Game
        A game with ``game.affine`` true (affine gradient field, constant ``Σ``).

    Returns
    -------
    H : ndarray, shape (d, d)
        Jacobian of the gradient field (``game.hessian``), constant for an affine game.
    f : ndarray, shape (d,)
        ``∇g(0)``.
    Sigma : ndarray, shape (d, d)
        ``blockdiag(Σ_θ, Σ_ω)`` (MATH.md §1, §3): ``game.info["Sigma"]`` when present, else
        ``game.sigma(0)``; any cross block is dropped (independent minibatches, MATH.md §2).

    Raises
    ------
    ValueError
        If the game is not declared affine.
    """
    if not getattr(game, "affine", False):
        raise ValueError(
            f"game {getattr(game, 'name', '?')!r} is not affine: exact references need an affine "
            "gradient field and constant noise (MATH.md §8)"
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
    Sigma[:dt, dt:] = 0.0
    Sigma[dt:, :dt] = 0.0
    return H, f, _sym(Sigma)


def _signs(game) -> np.ndarray:
    """Diagonal of ``S = blockdiag(−I_θ, +I_ω)`` (b0 = S ∇g)."""
    return np.concatenate([-np.ones(game.d_theta), np.ones(game.d_omega)])


def _game_term_matrix(H, dt, scheme):
    """``K`` with ``c_scheme(x) = K ∇g(x)`` (MATH.md §3).

    ALT-D: ``c = (−H_θω ∇_ω g, 0)``; ALT-G: ``c = (0, −H_ωθ ∇_θ g)``; SML: ``c = 0``.
    """
    K = np.zeros_like(H)
    if scheme == "alt-d":
        K[:dt, dt:] = -H[:dt, dt:]
    elif scheme == "alt-g":
        K[dt:, :dt] = -H[dt:, :dt]
    return K


# --------------------------------------------------------------------------- SDE coefficients
def drift_terms(game, scheme: str, order: int = 2):
    """Affine pieces of the SDE drift ``b = b0 + lr·b1`` (MATH.md §3).

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
        ``b1(x) = A1 x + c1`` with ``b1 = c_scheme − ½ J b0`` (MATH.md §3, one-step moment
        matching): ``A1 = K H − ½ J²``, ``c1 = K f − ½ J S f``, ``K`` the scheme's game term
        (``c_scheme = K ∇g``).  Zero when ``order == 1``.

    Notes
    -----
    ``b1 = c − ½ J b0`` equals the ``¼∇|∇g|²`` forms printed in MATH.md §3 for a zero-sum
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
    """Affine SDE drift ``b(x) = A x + c = b0(x) + lr·b1(x)`` (MATH.md §3).

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


def diffusion(game, lr: float, batch_size: int, correction: str | None = None):
    """Diffusion matrix ``D = σσᵀ`` of the SDEs (MATH.md §3).

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
        MATH.md §3's optional diffusion correction
        ``D = (η/N)[Σ + η(R − ½(JΣ + ΣJᵀ))]`` matching the scheme's one-step covariance to
        ``O(η³)`` (``R = 0`` for SML, ``[[0, −H_θωΣ_ω], [−Σ_ωH_ωθ, 0]]`` for ALT-D,
        ``[[0, Σ_θH_θω], [H_ωθΣ_θ, 0]]`` for ALT-G).  May fail to be PSD for large η.

    Returns
    -------
    D : ndarray, shape (d, d)
    """
    lr = _positive(lr, "lr")
    N = _positive(batch_size, "batch_size")
    H, _, Sigma = affine_parts(game)
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


# --------------------------------------------------------------------------- stationary OU law
def spectral_abscissa(A) -> float:
    """``α(A) = max Re λ(A)`` (MATH.md §4)."""
    return float(np.max(np.linalg.eigvals(np.asarray(A, dtype=np.float64)).real))


def mixing_rate(A) -> float:
    """Exact mixing rate ``κ = −α(A)`` of the OU process ``dX = (AX + c)dt + σ dW`` (MATH.md §4).

    The L² spectral gap of the OU generator; positive iff an invariant measure exists (with
    non-degenerate noise).  A defective ``A`` adds a polynomial prefactor ``t^k e^{−κt}``.
    """
    return -spectral_abscissa(A)


def dissipativity_constant(A) -> float:
    """Supremum of the C2 constants for the linear drift ``Ax + c`` (MATH.md §4).

    ``−λ_max((A + Aᵀ)/2)``; C2 holds iff it is positive.  It can be ≤ 0 while
    :func:`mixing_rate` is positive (non-normal ``A``).
    """
    A = np.asarray(A, dtype=np.float64)
    return -float(np.linalg.eigvalsh(_sym(A))[-1])


def stationary(A, c, D):
    """Invariant law ``N(m, P)`` of ``dX = (AX + c) dt + σ dW``, ``σσᵀ = D`` (MATH.md §4).

    Parameters
    ----------
    A : ndarray, shape (d, d)
    c : ndarray, shape (d,)
    D : ndarray, shape (d, d)

    Returns
    -------
    m : ndarray, shape (d,)
        Solves ``A m + c = 0``.
    P : ndarray, shape (d, d)
        Solves ``A P + P Aᵀ + D = 0`` (``scipy.linalg.solve_continuous_lyapunov``),
        symmetrised.

    Raises
    ------
    ValueError
        If ``α(A) ≥ 0``: no invariant probability measure.
    """
    A = np.asarray(A, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    alpha = spectral_abscissa(A)
    if not alpha < 0:
        raise ValueError(
            f"spectral abscissa α(A) = {alpha:.6g} ≥ 0: the OU process has no invariant measure "
            "(MATH.md §4)"
        )
    m = np.linalg.solve(A, -c)
    P = sla.solve_continuous_lyapunov(A, -D)
    return m, _sym(P)


# --------------------------------------------------------------------------- discrete chains
def discrete(game, scheme: str, lr: float, batch_size: int):
    """The SGA chain of MATH.md §2 as an exact affine Gaussian recursion.

    ``x⁺ = M x + m0 + ε``, ``ε ~ N(0, Q)`` independent of ``x``.

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

    Returns
    -------
    M : ndarray, shape (d, d)
    m0 : ndarray, shape (d,)
    Q : ndarray, shape (d, d)

    Notes
    -----
    A half-update of player ``p`` is ``x ↦ U_p x + u_p + η S Π_p ξ_p`` with
    ``U_p = I + η S Π_p H``, ``u_p = η S Π_p f`` (``Π_p`` the projector on ``p``'s block).
    The chain composes the two half-maps in the scheme's order, so in ALT the first
    mover's noise reaches the second mover through ``U``:
    ALT-D ``Q = η² (U_θ Σ̃_ω U_θᵀ + Σ̃_θ)/N``, ALT-G ``Q = η² (U_ω Σ̃_θ U_ωᵀ + Σ̃_ω)/N``
    (``Σ̃_p = Π_p Σ Π_p``), SML ``Q = η² Σ/N``.
    """
    scheme = _scheme(scheme)
    lr = _positive(lr, "lr")
    N = _positive(batch_size, "batch_size")
    H, f, Sigma = affine_parts(game)
    d, dt = game.d, game.d_theta
    s = _signs(game)
    I = np.eye(d)
    proj_t = np.zeros(d)
    proj_t[:dt] = 1.0
    proj_o = 1.0 - proj_t
    St = np.diag(proj_t) @ Sigma @ np.diag(proj_t) / N  # embedded Σ_θ/N
    So = np.diag(proj_o) @ Sigma @ np.diag(proj_o) / N
    if scheme == "sml":
        M = I + lr * s[:, None] * H
        m0 = lr * s * f
        Q = lr * lr * (St + So)
        return M, m0, _sym(Q)
    # half-maps (sign S is −1 on θ, +1 on ω; the noise sign drops out of covariances)
    Ut = I - lr * proj_t[:, None] * H
    ut = -lr * proj_t * f
    Uo = I + lr * proj_o[:, None] * H
    uo = lr * proj_o * f
    if scheme == "alt-d":  # ω first, then θ
        M = Ut @ Uo
        m0 = Ut @ uo + ut
        Q = lr * lr * (Ut @ So @ Ut.T + St)
    else:  # alt-g: θ first, then ω
        M = Uo @ Ut
        m0 = Uo @ ut + uo
        Q = lr * lr * (Uo @ St @ Uo.T + So)
    return M, m0, _sym(Q)


def discrete_stationary(M, m0, Q):
    """Invariant law ``N(m, P)`` of ``x⁺ = M x + m0 + N(0, Q)``.

    Parameters
    ----------
    M : ndarray, shape (d, d)
    m0 : ndarray, shape (d,)
    Q : ndarray, shape (d, d)

    Returns
    -------
    m : ndarray
        Solves ``(I − M) m = m0``.
    P : ndarray
        Solves ``M P Mᵀ − P + Q = 0`` (``scipy.linalg.solve_discrete_lyapunov``).  No time
        rescaling is involved: it is comparable directly with the SDE's stationary
        covariance (both are laws in state space; MATH.md §2 clock ``t = kη``).

    Raises
    ------
    ValueError
        If the spectral radius of ``M`` is ≥ 1 (no invariant law).
    """
    M = np.asarray(M, dtype=np.float64)
    m0 = np.asarray(m0, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    rho = float(np.max(np.abs(np.linalg.eigvals(M))))
    if not rho < 1:
        raise ValueError(f"spectral radius ρ(M) = {rho:.6g} ≥ 1: the chain has no invariant law")
    m = np.linalg.solve(np.eye(M.shape[0]) - M, m0)
    P = sla.solve_discrete_lyapunov(M, Q)
    return m, _sym(P)


# --------------------------------------------------------------------------- transient moments
def _ou_step(A, c, D, t):
    """``(E(t), s(t), G(t))`` with ``E = e^{At}``, ``s = ∫₀ᵗ e^{Au} c du``,
    ``G = ∫₀ᵗ e^{Au} D e^{Aᵀu} du`` (Van Loan for a short step, then doubling)."""
    d = A.shape[0]
    norm = float(np.linalg.norm(A, 1)) * abs(t)
    k = max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0.5 else 0
    h = t / 2.0**k
    # Van Loan: expm([[−A, D], [0, Aᵀ]] h) = [[·, F12], [0, F22]], e^{Ah} = F22ᵀ, G(h) = F22ᵀ F12
    Z = np.zeros((2 * d, 2 * d))
    Z[:d, :d] = -A
    Z[:d, d:] = D
    Z[d:, d:] = A.T
    F = sla.expm(Z * h)
    E = F[d:, d:].T
    G = _sym(E @ F[:d, d:])
    # mean: expm([[A, c], [0, 0]] h) = [[e^{Ah}, s(h)], [0, 1]]
    Y = np.zeros((d + 1, d + 1))
    Y[:d, :d] = A
    Y[:d, d] = c
    s = sla.expm(Y * h)[:d, d]
    for _ in range(k):  # (E, s, G)(2h) from (E, s, G)(h): PSD sums, stable for any A
        G = _sym(G + E @ G @ E.T)
        s = s + E @ s
        E = E @ E
    return E, s, G


def ou_moments(A, c, D, m0, P0, t):
    """Mean and covariance at time ``t`` of ``dX = (AX + c)dt + σdW``, ``σσᵀ = D``, ``X₀ ~ (m0, P0)``.

    Parameters
    ----------
    A, c, D : ndarray
        Drift ``Ax + c`` and diffusion ``D`` (:func:`drift`, :func:`diffusion`).
    m0 : ndarray, shape (d,)
        Initial mean.
    P0 : ndarray, shape (d, d)
        Initial covariance (zeros for a point mass).
    t : float or array_like of float
        Time(s) ≥ 0 (SDE time, ``t = kη`` for ``k`` steps of the chain).

    Returns
    -------
    mean : ndarray, shape (d,) or (len(t), d)
        ``e^{At} m0 + ∫₀ᵗ e^{Au} c du``.
    cov : ndarray, shape (d, d) or (len(t), d, d)
        ``e^{At} P0 e^{Aᵀt} + ∫₀ᵗ e^{Au} D e^{Aᵀu} du``.

    Notes
    -----
    Valid for any ``A`` (stable or not): the integrals come from Van Loan's block-matrix
    exponential over a short step ``t/2^k`` followed by ``k`` doublings
    ``G(2h) = G(h) + e^{Ah} G(h) e^{Aᵀh}``, which avoids the cancellation that a single
    Van Loan exponential suffers at large ``t``.
    """
    A = np.asarray(A, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    m0 = np.asarray(m0, dtype=np.float64)
    P0 = np.asarray(P0, dtype=np.float64)
    ts = np.asarray(t, dtype=np.float64)
    if np.any(ts < 0) or not np.all(np.isfinite(ts)):
        raise ValueError("t must be finite and ≥ 0")
    if ts.ndim == 0:
        E, s, G = _ou_step(A, c, D, float(ts))
        return E @ m0 + s, _sym(E @ P0 @ E.T + G)
    means, covs = [], []
    for ti in ts.ravel():
        mu, cv = ou_moments(A, c, D, m0, P0, float(ti))
        means.append(mu)
        covs.append(cv)
    return np.array(means), np.array(covs)


def _compose(first, second):
    """Affine Gaussian map ``second ∘ first`` (each ``(M, m0, Q)``)."""
    M1, c1, Q1 = first
    M2, c2, Q2 = second
    return M2 @ M1, M2 @ c1 + c2, _sym(M2 @ Q1 @ M2.T + Q2)


def discrete_moments(M, m0, Q, mean0, cov0, k: int):
    """Mean and covariance after ``k`` steps of ``x⁺ = M x + m0 + N(0, Q)``.

    Parameters
    ----------
    M, m0, Q : ndarray
        The chain (:func:`discrete`).
    mean0 : ndarray, shape (d,)
    cov0 : ndarray, shape (d, d)
        Moments of ``x₀``.
    k : int
        Number of steps, ≥ 0.

    Returns
    -------
    mean : ndarray, shape (d,)
    cov : ndarray, shape (d, d)

    Notes
    -----
    Exact: the ``k``-step map is the ``k``-fold composition of the one-step affine Gaussian
    map, formed by repeated squaring (``O(log k)`` matrix products).
    """
    M = np.asarray(M, dtype=np.float64)
    m0 = np.asarray(m0, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    k = int(k)
    if k < 0:
        raise ValueError("k must be ≥ 0")
    d = M.shape[0]
    result = (np.eye(d), np.zeros(d), np.zeros((d, d)))
    power = (M, m0, _sym(Q))
    while k:
        if k & 1:
            result = _compose(result, power)
        k >>= 1
        if k:
            power = _compose(power, power)
    Mk, sk, Qk = result
    mean0 = np.asarray(mean0, dtype=np.float64)
    cov0 = np.asarray(cov0, dtype=np.float64)
    return Mk @ mean0 + sk, _sym(Mk @ cov0 @ Mk.T + Qk)


# --------------------------------------------------------------------------- conditional laws
def conditional(m, P, d_theta: int, which: str, at):
    """Gaussian conditional law of one player's parameters given the other's (MATH.md §7).

    Parameters
    ----------
    m : ndarray, shape (d,)
    P : ndarray, shape (d, d)
        Joint law ``N(m, P)`` of ``x = (θ, ω)`` (e.g. from :func:`stationary`).
    d_theta : int
        Dimension of ``θ``.
    which : {"theta_given_omega", "omega_given_theta"}
        ``θ | ω = at`` (the generator's mixed strategy against a fixed discriminator) or
        ``ω | θ = at``.
    at : array_like
        The conditioning value (length dω, resp. dθ).

    Returns
    -------
    mean : ndarray
        ``m_1 + P_12 P_22⁻¹ (at − m_2)``.
    cov : ndarray
        ``P_11 − P_12 P_22⁻¹ P_21``.
    """
    m = np.asarray(m, dtype=np.float64)
    P = np.asarray(P, dtype=np.float64)
    at = np.atleast_1d(np.asarray(at, dtype=np.float64))
    t = np.arange(int(d_theta))
    o = np.arange(int(d_theta), m.shape[0])
    if which == "theta_given_omega":
        i, j = t, o
    elif which == "omega_given_theta":
        i, j = o, t
    else:
        raise ValueError(f"which must be 'theta_given_omega' or 'omega_given_theta'; got {which!r}")
    if at.shape != (j.size,):
        raise ValueError(f"at must have length {j.size}; got shape {at.shape}")
    Pij = P[np.ix_(i, j)]
    Pjj = P[np.ix_(j, j)]
    # K = P_ij P_jj⁻¹ via a solve with the symmetric P_jj
    K = np.linalg.solve(Pjj, Pij.T).T
    mean = m[i] + K @ (at - m[j])
    cov = P[np.ix_(i, i)] - K @ Pij.T
    return mean, _sym(cov)


# --------------------------------------------------------------------------- FDRs
def gaussian_bilinear(m, P, U, u, V, v) -> float:
    """``E[(U x + u)·(V x + v)]`` for ``x ~ N(m, P)``: ``tr(U P Vᵀ) + (Um+u)·(Vm+v)``."""
    U = np.asarray(U, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    return float(np.sum((U @ P) * V) + (U @ m + u) @ (V @ m + v))


def fdr(game, scheme: str, order: int, lr: float, batch_size: int) -> dict:
    """Exact fluctuation–dissipation sides at the SDE's invariant law (MATH.md §5).

    The SDE is ``dX = (AX + c)dt + σdW`` with ``(A, c) = drift(game, scheme, order, lr)``
    and ``σσᵀ = (η/N)Σ``; its invariant law is ``N(m, P)``.  Each relation is
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

    Notes
    -----
    FDR1 uses ``∇²g``'s diagonal blocks; it is ``E[Lg] = 0`` only when ``H`` is the
    Hessian of a scalar ``g`` (zero-sum game, symmetric ``H``).
    """
    lr = _positive(lr, "lr")
    N = _positive(batch_size, "batch_size")
    H, f, Sigma = affine_parts(game)
    dt = game.d_theta
    A0, c0, A1, c1 = drift_terms(game, scheme, order)
    A, c = A0 + lr * A1, c0 + lr * c1
    D = (lr / N) * Sigma
    m, P = stationary(A, c, D)
    d = game.d
    I = np.eye(d)
    th, om = slice(0, dt), slice(dt, d)
    zt, zo = np.zeros(dt), np.zeros(d - dt)
    tr_t = float(np.trace(Sigma[th, th]))
    tr_o = float(np.trace(Sigma[om, om]))

    def rel(lhs, rhs):
        return {"lhs": float(lhs), "rhs": float(rhs), "residual": float(lhs - rhs)}

    # FDR2, θ: E[θ·(g_θ − η b1^θ)]
    lt = gaussian_bilinear(m, P, I[th], zt, H[th] - lr * A1[th], f[th] - lr * c1[th])
    rt = lr / (2 * N) * tr_t
    # FDR2, ω: E[ω·(g_ω + η b1^ω)]
    lo = gaussian_bilinear(m, P, I[om], zo, H[om] + lr * A1[om], f[om] + lr * c1[om])
    ro = -lr / (2 * N) * tr_o
    # FDR1: E[|g_θ|² − |g_ω|² − η b1·∇g]
    l1 = (
        gaussian_bilinear(m, P, H[th], f[th], H[th], f[th])
        - gaussian_bilinear(m, P, H[om], f[om], H[om], f[om])
        - lr * gaussian_bilinear(m, P, A1, c1, H, f)
    )
    r1 = lr / (2 * N) * (float(np.sum(Sigma[th, th] * H[th, th].T)) + float(np.sum(Sigma[om, om] * H[om, om].T)))
    return {
        "mean": m,
        "cov": P,
        "fdr2_theta": rel(lt, rt),
        "fdr2_omega": rel(lo, ro),
        "fdr2_sum": rel(lt - lo, rt - ro),
        "fdr1": rel(l1, r1),
    }


def discrete_fdr(game, scheme: str, lr: float, batch_size: int) -> dict:
    """Exact discrete FDR2 sides at the SGA chain's invariant law (MATH.md §5, §6).

    With ``x ~ N(m, P)`` the chain's invariant law and independent minibatch noises
    ``ξ_θ ~ N(0, Σ_θ/N)``, ``ξ_ω ~ N(0, Σ_ω/N)``, the applied gradients are affine in
    ``z = (x, ξ_θ, ξ_ω)``: SML ``∇̂ = ∇g(x) + ξ``; ALT-D ``∇̂_ω = ∇_ω g(x) + ξ_ω``,
    ``∇̂_θ = ∇_θ g(θ, ω⁺) + ξ_θ``; ALT-G ``∇̂_θ = ∇_θ g(x) + ξ_θ``,
    ``∇̂_ω = ∇_ω g(θ⁺, ω) + ξ_ω``.

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
    H, f, Sigma = affine_parts(game)
    d, dt = game.d, game.d_theta
    do = d - dt
    M, m0, Q = discrete(game, scheme, lr, batch_size)
    m, P = discrete_stationary(M, m0, Q)
    # z = (x, ξ_θ, ξ_ω)
    nz = d + d
    mz = np.concatenate([m, np.zeros(d)])
    Pz = np.zeros((nz, nz))
    Pz[:d, :d] = P
    Pz[d:d + dt, d:d + dt] = Sigma[:dt, :dt] / N
    Pz[d + dt:, d + dt:] = Sigma[dt:, dt:] / N
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
