"""Gaussian algebra shared by the exact references and the estimators: symmetrisation,
conditional laws (docs/theory.md §7) and expectations of bilinear forms (docs/theory.md §5)."""
from __future__ import annotations

import numpy as np

WHICH = ("theta_given_omega", "omega_given_theta")


def sym(P):
    """``(P + Pᵀ)/2``: removes the round-off asymmetry of a computed covariance."""
    return 0.5 * (P + P.T)


def conditional(m, P, target, given, at):
    """Law of ``x[target]`` given ``x[given] = at`` for ``x ~ N(m, P)`` (docs/theory.md §7).

    Parameters
    ----------
    m, P : ndarray
        Joint mean and covariance.
    target, given : ndarray of int
        Index sets of the conditioned and conditioning coordinates.
    at : array_like
        Conditioning value (length ``len(given)``).

    Returns
    -------
    mean : ndarray
        ``m_1 + P_12 P_22⁻¹ (at − m_2)``.
    cov : ndarray
        ``P_11 − P_12 P_22⁻¹ P_21``.
    """
    m = np.asarray(m, dtype=np.float64)
    P = np.asarray(P, dtype=np.float64)
    Pij = P[np.ix_(target, given)]
    Pjj = P[np.ix_(given, given)]
    # K = P_12 P_22⁻¹ through a solve with the symmetric P_22 (no inverse)
    K = np.linalg.solve(Pjj, Pij.T).T
    mean = m[target] + K @ (np.asarray(at, dtype=np.float64) - m[given])
    cov = P[np.ix_(target, target)] - K @ Pij.T
    return mean, sym(cov)


def player_indices(d_theta: int, d: int, which: str):
    """``(target, given)`` index sets of ``θ | ω`` or ``ω | θ`` for ``x = (θ, ω)``."""
    t = np.arange(int(d_theta))
    o = np.arange(int(d_theta), int(d))
    if which == "theta_given_omega":
        return t, o
    if which == "omega_given_theta":
        return o, t
    raise ValueError(f"which must be 'theta_given_omega' or 'omega_given_theta'; got {which!r}")


def player_conditional(m, P, d_theta: int, which: str, at):
    """One player's conditional law given the other's parameters (docs/theory.md §7).

    ``which = "theta_given_omega"`` is the generator's mixed strategy against a fixed
    discriminator ``ω = at``; ``"omega_given_theta"`` the discriminator's against ``θ = at``.
    Returns ``(mean, cov)`` as :func:`conditional`.
    """
    m = np.asarray(m, dtype=np.float64)
    at = np.atleast_1d(np.asarray(at, dtype=np.float64))
    i, j = player_indices(d_theta, m.shape[0], which)
    if at.shape != (j.size,):
        raise ValueError(f"at must have length {j.size}; got shape {at.shape}")
    return conditional(m, P, i, j, at)


def bilinear(m, P, U, u, V, v) -> float:
    """``E[(U x + u)·(V x + v)]`` for ``x ~ N(m, P)``: ``tr(U P Vᵀ) + (Um+u)·(Vm+v)``."""
    U = np.asarray(U, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    return float(np.sum((U @ P) * V) + (U @ m + u) @ (V @ m + v))
