"""Matrix pencil: curves fitted by shared damped complex exponentials (Hua & Sarkar 1990).

The decay fits of :mod:`.acf` (autocorrelation functions) and :mod:`.relaxation_fit`
(relaxation curves) both model their curves as ``Re Σ_k c_ik e^{λ_k t}`` with poles shared
by every curve — eigenvalues of the generator (docs/theory.md §4) — and take κ from the
dominant decaying pole; their intervals come from refits on chain-bootstrap replicas
(:func:`bootstrap_rates`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..diagnostics import chain_bootstrap

N_NOISE = 24  # random-sign noise replicas that set a pencil's order from the data


@dataclass
class DecayFit:
    """Shared damped complex exponentials fitted to curves by a matrix pencil.

    ``y_i(n Δ) ≈ Re Σ_k c_ik e^{λ_k n Δ}``.

    Attributes
    ----------
    poles : ndarray of complex
        Continuous-time exponents ``λ_k = log(z_k)/Δ``, slowest (largest real part) first.
    amplitudes : ndarray (n_curves, order) of complex
    energy : ndarray
        Share of the fitted signal carried by each pole (sums to 1).
    order : int
    singular_values : ndarray
        Of the block Hankel matrix (normalised by the largest).
    noise_level : float
        Largest singular value of the noise replicas (same normalisation), or NaN.
    rate : float
        ``−Re λ`` of the dominant decaying pole (largest share of the fitted signal; NaN if
        no pole decays).
    frequency : float
        ``|Im λ|`` of that pole (0 for a real, non-oscillating mode).
    growing : bool
        True if the pole carrying most of the signal does not decay: no mixing seen.
    """

    poles: np.ndarray
    amplitudes: np.ndarray
    energy: np.ndarray
    order: int
    singular_values: np.ndarray
    noise_level: float
    rate: float
    frequency: float
    growing: bool


def _hankel(curves: np.ndarray, cols: int) -> np.ndarray:
    """Block Hankel matrix: the Hankel matrices of the curves stacked vertically."""
    return np.vstack([np.lib.stride_tricks.sliding_window_view(y, cols) for y in curves])


def _pencil_poles(curves: np.ndarray, order: int, cols: int):
    Y = _hankel(curves, cols)
    _, S, Vh = np.linalg.svd(Y, full_matrices=False)
    V = Vh[:order].conj().T
    z = np.linalg.eigvals(np.linalg.pinv(V[:-1]) @ V[1:])
    return z, S


def fit_decay(curves, dt: float, order: int | None = 2, noise=None, max_order: int = 8) -> DecayFit:
    """Fit curves by shared damped complex exponentials (matrix pencil, Hua & Sarkar 1990).

    Every curve is modelled as ``Re Σ_k c_ik z_k^n`` with poles ``z_k`` shared by all curves
    (eigenvalues of the dynamics); oscillating decay (complex pairs), several modes and
    non-normal transients (sums of exponentials) are all of this form.  The headline pole is
    the *dominant* decaying one (largest share of the fitted signal): poles that fit noise
    carry little of it, whereas the slowest pole is often one of them.

    Parameters
    ----------
    curves : array_like (n_curves, L) or (L,)
        Samples at times ``0, Δ, …, (L−1)Δ``.
    dt : float
        Spacing Δ.
    order : int or None
        Number of poles.  The default 2 is one damped oscillation ``A e^{−κt}cos(ωt + φ)``
        (or two real exponentials), the model of a tail in which the slowest mode
        dominates.  None: the singular values of the block Hankel matrix that stand above
        the largest singular value of the ``noise`` replicas (at least 2), capped at
        ``max_order`` (``max_order`` when ``noise`` is not given either).
    noise : array_like (replicas, n_curves, L), optional
        Curves of pure noise with the estimate's noise level (random-sign combinations of
        the per-chain curves, :func:`sign_noise`), for ``order=None``.
    max_order : int

    Returns
    -------
    DecayFit
    """
    Y = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    L = Y.shape[1]
    cols = max(2, L // 2)
    S = np.linalg.svd(_hankel(Y, cols), compute_uv=False)
    noise_level = float("nan")
    if noise is not None:
        noise = np.asarray(noise, dtype=np.float64)
        noise_level = max(float(np.linalg.svd(_hankel(nz, cols), compute_uv=False)[0]) for nz in noise) / S[0]
    cap = int(max(1, min(max_order, cols - 1, Y.shape[0] * (L - cols + 1))))
    if order is None:
        order = int(np.sum(S / S[0] > noise_level)) if np.isfinite(noise_level) else cap
        # a real signal's oscillating mode needs a conjugate pair
        order = max(order, 2)
    order = int(min(max(order, 1), cap))
    z, _ = _pencil_poles(Y, order, cols)
    return _finish_fit(Y, z, dt, order, S / S[0], noise_level)


def _finish_fit(Y, z, dt, order, svals, noise_level, near=None) -> DecayFit:
    L = Y.shape[1]
    n = np.arange(L)
    with np.errstate(all="ignore"):
        Z = z[None, :] ** n[:, None]
        c, *_ = np.linalg.lstsq(Z, Y.T.astype(complex), rcond=None)  # (order, n_curves)
        e = np.sum(np.abs(c) ** 2, axis=1) * np.sum(np.abs(Z) ** 2, axis=0)
        lam = np.log(z.astype(complex)) / dt
    e = np.where(np.isfinite(e), e, np.inf)
    energy = e / e.sum() if np.isfinite(e.sum()) and e.sum() > 0 else np.full(order, 1.0 / order)
    idx = np.argsort(-lam.real)
    lam, c, energy = lam[idx], c[idx], energy[idx]
    # no decay: the pole carrying most of the signal does not decay
    growing = bool(not lam[int(np.argmax(energy))].real < 0)
    ok = np.isfinite(lam) & (lam.real < 0)
    if np.any(ok):
        cand = np.flatnonzero(ok)
        # the dominant decaying pole, or (bootstrap) the one nearest the full-data pole
        k = int(cand[np.argmin(np.abs(lam[cand] - near))] if near is not None else cand[np.argmax(energy[cand])])
        rate, freq = float(-lam[k].real), float(abs(lam[k].imag))
    else:
        rate, freq = float("nan"), float("nan")
    return DecayFit(lam, c.T, energy, order, svals, noise_level, rate, freq, growing)


def _refit_rate(Y, dt, order, cols, near) -> float:
    try:
        z, S = _pencil_poles(Y, order, cols)
    except np.linalg.LinAlgError:
        return float("nan")
    return _finish_fit(Y, z, dt, order, S, float("nan"), near).rate


def sign_noise(per_chain: np.ndarray, rng, replicas: int = N_NOISE) -> np.ndarray:
    """Noise replicas of a chain average: ``Σ_c s_c (y_c − ȳ)/C`` with random signs ``s_c``."""
    C = per_chain.shape[0]
    dev = per_chain - per_chain.mean(0)
    s = rng.choice([-1.0, 1.0], size=(replicas, C))
    return np.einsum("rc,c...->r...", s, dev) / C


def bootstrap_rates(per_chain, fit: DecayFit, dt, n_boot, rng) -> np.ndarray:
    """Rates refitted on chain-bootstrap replicas of the chain-averaged curves.

    Each replica is fitted with ``fit``'s order and follows the pole nearest the full-data
    one (no switching between modes).

    Parameters
    ----------
    per_chain : ndarray (chains, n_curves, L)
        Per-chain curves whose average ``fit`` was fitted to.
    fit : DecayFit
    dt : float
        Spacing of the curves.
    n_boot : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray (n_boot,)
        NaN where a refit found no decaying pole.
    """
    cols = max(2, per_chain.shape[-1] // 2)
    near = complex(-fit.rate, fit.frequency) if np.isfinite(fit.rate) else None

    def refit(idx):
        return _refit_rate(per_chain[idx].mean(0), dt, fit.order, cols, near)

    return np.array(chain_bootstrap(refit, per_chain.shape[0], n_boot, rng), dtype=np.float64)
