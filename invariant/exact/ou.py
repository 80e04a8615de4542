"""The Ornstein–Uhlenbeck SDE of an affine game: invariant law, mixing rate, transient
moments (docs/theory.md §4, §8)."""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ..gaussian import sym as _sym


def spectral_abscissa(A) -> float:
    """``α(A) = max Re λ(A)`` (docs/theory.md §4)."""
    return float(np.max(np.linalg.eigvals(np.asarray(A, dtype=np.float64)).real))


def mixing_rate(A) -> float:
    """Exact mixing rate ``κ = −α(A)`` of the OU process ``dX = (AX + c)dt + σ dW`` (docs/theory.md §4).

    The L² spectral gap of the OU generator; positive iff an invariant measure exists (with
    non-degenerate noise).  A defective ``A`` adds a polynomial prefactor ``t^k e^{−κt}``.
    """
    return -spectral_abscissa(A)


def dissipativity_constant(A) -> float:
    """Supremum of the C2 constants for the linear drift ``Ax + c`` (docs/theory.md §4).

    ``−λ_max((A + Aᵀ)/2)``; C2 holds iff it is positive.  It can be ≤ 0 while
    :func:`mixing_rate` is positive (non-normal ``A``).
    """
    A = np.asarray(A, dtype=np.float64)
    return -float(np.linalg.eigvalsh(_sym(A))[-1])


def stationary(A, c, D):
    """Invariant law ``N(m, P)`` of ``dX = (AX + c) dt + σ dW``, ``σσᵀ = D`` (docs/theory.md §4).

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
            "(docs/theory.md §4)"
        )
    m = np.linalg.solve(A, -c)
    P = sla.solve_continuous_lyapunov(A, -D)
    return m, _sym(P)


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
