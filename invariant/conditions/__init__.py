"""Conditions for a unique invariant measure: C1–C4 of docs/theory.md §4, and local stability.

For the SDE a config selects, ``dX = b(X) dt + σ(X) dW`` with ``b = b0 + lr·b1`` (order 2)
or ``b0`` (order 1) and ``σσᵀ = (lr/N) blockdiag(Σ_θ, Σ_ω)`` (docs/theory.md §3), this package checks

* **C1** boundedness: ``sup_x ‖σσᵀ(x)‖`` (:class:`BoundedDiffusion`) and ``sup_x ‖∇b(x)‖``
  (:class:`BoundedJacobian`);
* **C2** dissipativity ``x·b ≤ −c|x|²`` for ``|x| ≥ R`` and its weak form
  ``x·b ≤ −α|x|² + β`` (:class:`Dissipativity`);
* **C3** uniform ellipticity ``inf_x λ_min(σσᵀ(x)) > 0`` (:class:`Ellipticity`);
* **C4** a Lyapunov drift condition ``LV ≤ −1`` for ``|x| ≥ R*`` and its geometric form
  ``LV ≤ −aV + β`` with ``Lφ = b·∇φ + ½ Tr(σσᵀ∇²φ)`` (:class:`Lyapunov`), for
  ``V = |x|²``, for ``V = (x − x*)ᵀQ(x − x*)`` with ``Q`` solving the Lyapunov equation
  ``AᵀQ + QA = −I`` of the drift's linearisation ``A`` at its equilibrium ``x*`` (this proves
  a stable but non-normal drift, where C2 fails), or for a user function;

and, where C3 fails, Hörmander's bracket condition (:class:`Hormander`; Kalman's rank
condition for an affine drift) and the reachability of a stable equilibrium
(:class:`Reachability`), docs/theory.md §4.4; and gives a verdict (:func:`verdict`):
``"unique"`` (C3 + C4 with bounded σ), ``"unique (hypoelliptic)"`` (C4 with bounded σ,
Hörmander's condition and reachability, without C3), ``"exists"`` (C4 without ellipticity or
with unbounded σ) or ``"not established"``, with a one-sentence reason naming the failing
condition.  :func:`local_analysis` finds the equilibria of ``b0``
and of ``b0 + lr·b1`` and reads their Jacobian eigenvalues (rotation, contraction,
instability) for every scheme's game term, in the style of Mescheder et al. (2018).

Two paths (:func:`check`):

``exact``
    When the drift is affine and the diffusion constant (declared by the game, ``game.affine``,
    or detected numerically), the closed forms of docs/theory.md §4 are used: ``c = −λ_max((A+Aᵀ)/2)``,
    ``λ_min(σσᵀ)``, the quadratic ``V`` from the Lyapunov equation with ``R* = |m| +
    sqrt(1 + Tr(QD))``, and the radii from exact trust-region maximisations over spheres.
``search``
    Otherwise an honest numerical search over the unbounded domain: geometric shells of
    radii ``radius_min … radius_max`` around the origin, quasi-random (scrambled Sobol)
    directions plus the coordinate axes in low dimension, and local optimisation
    (L-BFGS-B on the sphere, finite-difference gradients) from the worst samples.  Every
    result states what was searched (:class:`Searched`) and the worst points found.  A
    search cannot prove a bound at infinity: constants are read off the outermost shells
    and their trend over the last decade of radii (a quantity still decaying to 0, or still
    growing, at the search bound is reported as failing the condition).

Every function returns plain dataclasses; :meth:`Conditions.to_dict` gives the
``conditions.*`` fields of summary.json (docs/design.md ◆).

Modules: :mod:`.results` (the dataclasses), :mod:`.linalg` (Lyapunov equation, sphere
maxima, Kalman rank), :mod:`.affine` (the exact path), :mod:`.shells` (what the search
samples and refines), :mod:`.search` (C1–C3 searched), :mod:`.lyapunov` (the candidates
``V`` and C4 searched), :mod:`.local` (equilibria and linearisations), :mod:`.assess`
(:func:`check` and the verdict), :mod:`.hormander` (the bracket condition), :mod:`.reach`
(reachability), :mod:`.text` (:func:`format_report`).  The options are
validated in :mod:`invariant.options.conditions`.
"""
from __future__ import annotations

from ..options.conditions import DEFAULTS, validate_options
from .affine import affine_drift, exact_conditions
from .assess import check, check_config, verdict
from .linalg import kalman, lyapunov_matrix, sphere_max
from .local import local_analysis
from .results import (BoundedDiffusion, BoundedJacobian, Conditions, Dissipativity, Ellipticity, Equilibrium,
                      Hormander, Local, Lyapunov, Reachability, Searched)
from .search import search_conditions
from .text import format_report

__all__ = [
    "DEFAULTS",
    "validate_options",
    "Searched",
    "BoundedDiffusion",
    "BoundedJacobian",
    "Dissipativity",
    "Ellipticity",
    "Lyapunov",
    "Hormander",
    "Reachability",
    "Equilibrium",
    "Local",
    "Conditions",
    "check",
    "check_config",
    "affine_drift",
    "exact_conditions",
    "search_conditions",
    "local_analysis",
    "lyapunov_matrix",
    "kalman",
    "sphere_max",
    "verdict",
    "format_report",
]
