"""Exact linear–Gaussian references for affine (linear–quadratic) games (docs/theory.md §8).

For a game whose gradient field is affine, ``∇g(x) = H x + f``, with constant gradient-noise
covariances ``Σ = blockdiag(Σ_θ, Σ_ω)`` (``game.affine`` is true, e.g. the ``bilinear``
game), every object of the toolkit has a closed form:

* the SDE drifts of docs/theory.md §3 are affine, ``b(x) = A x + c`` (:func:`drift`), and the
  diffusion is constant (:func:`diffusion`), so the SDEs are Ornstein–Uhlenbeck processes;
* their invariant law is ``N(m, P)`` (:func:`stationary`, docs/theory.md §4) with exact mixing rate
  ``κ = −α(A)`` (:func:`mixing_rate`);
* the discrete SGA chains of docs/theory.md §2 are exact affine Gaussian recursions
  ``x⁺ = M x + m0 + N(0, Q)`` (:func:`discrete`) with Gaussian invariant law
  (:func:`discrete_stationary`), and so is every linear optimiser of docs/theory.md §4b on
  its augmented state (:func:`discrete_optimizer`, :func:`optimizer_stationary`), whose SDE
  is again an OU process (:func:`optimizer_sde`);
* transient moments of both are exact (:func:`ou_moments`, :func:`discrete_moments`), so
  weak errors carry no Monte Carlo error;
* the conditional laws of docs/theory.md §7 (:func:`conditional`) and the fluctuation–dissipation
  relations of docs/theory.md §5 (:func:`fdr` for the SDEs, :func:`discrete_fdr` for the chains)
  are Gaussian expectations.

Conventions.  ``x = (θ, ω)``; ``S = blockdiag(−I_θ, +I_ω)`` so that ``b0 = S ∇g`` and its
Jacobian is ``J = S H``; blocks ``H_θω = ∂(∇_θ g)/∂ω`` (dθ × dω) and ``H_ωθ = ∂(∇_ω g)/∂θ``.
Schemes are named ``"sml"``, ``"alt-d"``, ``"alt-g"``.  The two players' minibatches are
independent (docs/theory.md §2), so only the diagonal blocks ``Σ_θ``, ``Σ_ω`` of ``Σ`` enter.
"""
from __future__ import annotations

from ..gaussian import bilinear as gaussian_bilinear
from ..gaussian import player_conditional as conditional
from .affine import SCHEMES, affine_parts, diffusion, drift, drift_terms
from .chains import discrete_moments, discrete_stationary
from .fdr import discrete_fdr, fdr
from .optimizers import discrete, discrete_optimizer, optimizer_moments, optimizer_sde, optimizer_stationary
from .ou import dissipativity_constant, mixing_rate, ou_moments, spectral_abscissa, stationary

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
    "discrete_optimizer",
    "optimizer_stationary",
    "optimizer_sde",
    "optimizer_moments",
    "ou_moments",
    "discrete_moments",
    "conditional",
    "gaussian_bilinear",
    "fdr",
    "discrete_fdr",
]
