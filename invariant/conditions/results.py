"""The results of the conditions' checks: one dataclass per condition C1–C4 of
``docs/theory.md §4``, the local analysis and what was searched.

Every result is a plain dataclass; :meth:`Conditions.to_dict` gives the ``conditions.*``
fields of summary.json (``docs/design.md ◆``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..jsontypes import plain

@dataclass
class Searched:
    """What was examined to reach the constants (docs/theory.md §4: "say what they searched").

    Attributes
    ----------
    method : {"exact", "search"}
        ``exact``: closed forms for an affine drift with constant diffusion; ``search``: the
        numerical search described by the other fields.
    why : str
        Why this method (how affinity was established, or why not).
    radii : dict
        ``min``, ``max``, ``count`` of the geometric shells (centred at the origin).
    directions : int
        Directions per shell: scrambled Sobol points mapped to the sphere, plus ``2d``
        coordinate-axis directions when ``axes``.
    axes : str
        Where the ``±e_i`` directions were added: ``"all shells"`` (``d <= 8``) or
        ``"outer decade"``.
    seed : int
        Sobol scrambling seed.
    local : str
        The local optimiser and its budget.
    starts, local_evals : int
        Local optimisations run and the evaluations they used.
    evaluations : int
        Drift (and diffusion) evaluations in all.
    seconds : float
    sigma : str
        How ``Σ`` is obtained (closed form / quadrature, or a Monte Carlo estimate).
    """

    method: str
    why: str
    radii: dict = field(default_factory=dict)
    directions: int = 0
    axes: str = ""
    seed: int = 0
    local: str = ""
    starts: int = 0
    local_evals: int = 0
    evaluations: int = 0
    seconds: float = 0.0
    sigma: str = ""


@dataclass
class SupBound:
    """A searched or exact supremum ``sup_x ‖M(x)‖₂`` (C1, ``docs/theory.md §4``).

    ``sup_norm`` is the largest spectral norm found; ``growth`` the log-log slope of the shell
    maxima over the last decade of radii; ``holds`` is false when the maxima still grow at the
    search bound.
    """

    holds: bool
    sup_norm: float
    growth: float | None
    exact: bool
    worst: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    reason: str = ""


@dataclass
class BoundedDiffusion(SupBound):
    """C1, the diffusion part: ``sup_x ‖σσᵀ(x)‖₂`` (docs/theory.md §4).

    ``sqrt(sup_norm)`` bounds ``‖σ‖``; ``growth`` is 0 for a bounded, saturating ``σσᵀ`` and
    2 for ``Σ ∝ |x|²``.
    """


@dataclass
class BoundedJacobian(SupBound):
    """C1, the drift part: ``sup_x ‖∇b(x)‖₂`` (spectral norm; finite differences when searched)."""


@dataclass
class Dissipativity:
    """C2: ``x·b(x) ≤ −c|x|²`` for ``|x| ≥ R``; weak form ``x·b ≤ −α|x|² + β`` (docs/theory.md §4).

    Attributes
    ----------
    holds : bool
    c : float
        The supremum of admissible constants, ``−limsup_{|x|→∞} x·b/|x|²``: exactly
        ``−λ_max((A+Aᵀ)/2)`` for an affine drift; searched, it is read off the outermost
        shells (``|x| ≥ radius_max/2``).  Negative when C2 fails.
    R : float or None
        The radius that goes with ``c_at_R = c/2``: ``x·b ≤ −(c/2)|x|²`` for ``|x| ≥ R``
        (the supremum ``c`` itself needs ``R → ∞`` unless the drift's offset vanishes).
    c_at_R : float or None
    alpha, beta : float or None
        Weak form with ``α = c/2``: ``β = sup_x (x·b + α|x|²)``.
    growth : float or None
        Log-log slope of ``|max x·b/|x|²|`` over the last decade of shells (searched only):
        ``≈ 0`` for linear dissipation, ``< 0`` when it fades away (C2 fails), ``> 0`` when it
        is superlinear.
    exact : bool
    worst : list of dict
        The points found closest to violating the bound: ``x``, ``r``, ``value = x·b/|x|²``.
    profile : dict
        ``r``: shell radii, ``max_ratio``: the largest ``x·b/|x|²`` found on each shell.
    reason : str
    """

    holds: bool
    c: float
    R: float | None
    c_at_R: float | None
    alpha: float | None
    beta: float | None
    growth: float | None
    exact: bool
    worst: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    reason: str = ""


@dataclass
class Ellipticity:
    """C3: ``λ_min = inf_x λ_min(σσᵀ(x)) > 0`` (docs/theory.md §4).

    ``lambda_min`` is the smallest eigenvalue found (exact for a constant diffusion);
    ``growth`` the log-log slope of the shell minima over the last decade (``< 0``: still
    decaying at the search bound, so the infimum over the unbounded domain is 0).
    """

    holds: bool
    lambda_min: float
    growth: float | None
    exact: bool
    worst: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    reason: str = ""


@dataclass
class Lyapunov:
    """C4: ``LV ≤ −1`` for ``|x| ≥ R*``; geometric form ``LV ≤ −aV + β`` (docs/theory.md §4).

    Attributes
    ----------
    holds : bool
    V : str
        ``"norm2"`` (``|x|²``), ``"quadratic"`` (``(x − x*)ᵀQ(x − x*)``, ``AᵀQ + QA = −I``)
        or the user function's ``"pkg.module:function"``.
    R_star : float or None
        Radius beyond which ``LV ≤ −1`` (exact, or: on every searched shell from it to the
        search bound, which must span at least a decade).
    a, beta : float or None
        Geometric form; exact for the built-in ``V`` on an affine drift (``a = 1/λ_max(Q)``,
        ``β = Tr(QD)`` for the quadratic ``V``), else ``a`` is half the asymptotic rate
        ``−LV/V`` on the outer shells and ``β = sup(LV + aV)`` over the search.
    exact : bool
    Q, centre : list or None
        The quadratic ``V``'s matrix and centre ``x*``.
    worst, profile : as in :class:`Dissipativity` (``value = LV``; ``max_LV`` per shell).
    candidates : list of dict
        Every ``V`` tried (``lyapunov = "auto"`` tries ``|x|²`` and the quadratic ``V``).
    reason : str
    """

    holds: bool
    V: str
    R_star: float | None
    a: float | None
    beta: float | None
    exact: bool
    Q: list | None = None
    centre: list | None = None
    worst: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    candidates: list = field(default_factory=list)
    reason: str = ""


@dataclass
class Equilibrium:
    """A zero ``x*`` of a drift and its linearisation (Mescheder et al. 2018).

    Attributes
    ----------
    drift : str
        ``"b0"`` or ``"<scheme>-2"`` (``b0 + lr·b1`` of that scheme, docs/theory.md §3).
    x : list
    residual : float
        ``|b(x*)|``.
    eigenvalues : list of [re, im]
        Of the Jacobian ``∇b(x*)``.
    kind : str
        ``"contraction"`` (all ``Re λ < 0``), ``"rotation"`` (a centre: ``Re λ = 0``,
        ``Im λ ≠ 0``), ``"unstable"`` or ``"degenerate"`` (a zero eigenvalue).
    rate : float
        ``−max Re λ``: the local contraction rate (negative when unstable).
    frequency : float
        ``max |Im λ|``: the rotation frequency.
    description : str
    jacobian : list
    damping : dict
        ``−∂b_i/∂x_i`` per parameter: how strongly each coordinate is pulled back by itself.
    """

    drift: str
    x: list
    residual: float
    eigenvalues: list
    kind: str
    rate: float
    frequency: float
    description: str
    jacobian: list
    damping: dict


@dataclass
class Local:
    """Local analysis: equilibria of ``b0`` and of ``b0 + lr·b1`` and what the schemes do there.

    Attributes
    ----------
    equilibria_b0, equilibria_b : list of Equilibrium
        Zeros of ``b0`` and of the configured scheme's ``b0 + lr·b1`` (every zero of ``b0``
        is a zero of ``b0 + lr·b1``, which may have extra, spurious ones).
    schemes : dict
        At the first equilibrium of ``b0``: the Jacobian's eigenvalues and kind for the
        order-1 drift ``b0`` and for each scheme's order-2 drift (``sml-2``, ``alt-d-2``,
        ``alt-g-2``): the game term ``b1^{ALT} − b1^{SML}`` shifts them (docs/theory.md §3).
    diffusion_eigenvalues : list or None
        Of ``σσᵀ(x*)`` at that equilibrium.
    controllable : bool or None
        Kalman rank condition ``rank[D, AD, …, A^{d−1}D] = d`` for the linearisation
        ``A = ∇b(x*)`` of the configured drift and ``D = σσᵀ(x*)``: the noise reaches every
        direction locally even where ``σσᵀ(x*)`` is singular (hypoellipticity).
    local_covariance : list or None
        ``P`` solving ``AP + PAᵀ + D = 0`` when ``A`` is Hurwitz: the local Gaussian (OU)
        approximation ``N(x*, P)`` of the invariant law near ``x*``.
    starts : int
        Root-finder starts per drift.
    summary : str
    step_map : dict or None
        The run's optimiser as a discrete map at that equilibrium (docs/theory.md §4b): the
        spectral radius of the one-step Jacobian of its deterministic update on the augmented
        state and whether it contracts (``< 1``); ``applicable`` false, with the ``reason``,
        for RMSProp and Adam (:func:`invariant.conditions.local.step_map`).
    """

    equilibria_b0: list
    equilibria_b: list
    schemes: dict
    diffusion_eigenvalues: list | None
    controllable: bool | None
    local_covariance: list | None
    starts: int
    summary: str
    step_map: dict | None = None


@dataclass
class Hormander:
    """Hörmander's bracket condition (Kalman's rank condition for an affine drift), docs/theory.md §4.4.

    Attributes
    ----------
    holds : bool or None
        The noise columns and their brackets with ``b`` span ``R^d`` at every point examined;
        None when not examined (``reason`` says why).
    method : {"kalman", "brackets", "ellipticity", "none"}
        ``kalman``: exact, ``rank[σ, Aσ, …, A^{d−1}σ]`` for ``b = Ax + c`` and constant ``σ``;
        ``brackets``: the matrix of ``σ_j`` and ``ad_b^k σ_j`` (``[V, b] = (∇b)V − (∇V)b``) at
        the searched points; ``ellipticity``: C3 holds, so ``σ`` alone spans (depth 0).
    s_min : float or None
        Smallest relative singular value found: of the normalised Kalman matrix, or the
        minimum over the points of ``s_d`` of the bracket matrix with unit columns.
    tolerance : float or dict or None
        The rank threshold on ``s_min``: one number (Kalman), or one per bracket depth.
    depth : int or None
        Brackets needed: ``d − 1`` (Kalman), or the deepest any searched point needed.
    rank : int or None
        Kalman's rank (exact path).
    points : int
        Points examined (1 for the exact path: the condition does not depend on ``x``).
    exact : bool
    worst : list of dict
        The points with the smallest ``s_min`` (``value``), with the ``depth`` reached there.
    profile : dict
        ``r``: shell radii, ``min_s``: the smallest ``s_min`` on each shell.
    reason : str
    """

    holds: bool | None
    method: str
    s_min: float | None = None
    tolerance: float | dict | None = None
    depth: int | None = None
    rank: int | None = None
    points: int = 0
    exact: bool = False
    worst: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    reason: str = ""


@dataclass
class Reachability:
    """A point ``x*`` reachable from every ``x`` by ``ẋ = b(x) + σ(x)u`` (docs/theory.md §4.4).

    Attributes
    ----------
    holds : bool or None
        None when not examined (``reason`` says why).
    x_star : list or None
        The stable equilibrium of ``b`` used.
    controllable : bool or None
        Kalman's rank condition for the linearisation at ``x*``: local controllability.
    s_min, tolerance : float or None
        Of that Kalman test (:class:`~invariant.conditions.linalg.Kalman`).
    neighbourhood : dict
        ``level`` ``c`` and Euclidean ``radius`` of the ellipsoid ``(x − x*)ᵀQ(x − x*) ≤ c``
        (``AᵀQ + QA = −I`` at ``x*``) on whose sampled shells ``V_Q`` decreases along ``b``.
    flows : dict
        The noise-free flows ``ẋ = b(x)``: ``points`` selected, how many ``entered`` the
        neighbourhood and ``failed`` to (the flows stop at the third failure), ``radius`` (the starts are the searched points with ``|x| ≤ radius``, a
        set C4 makes every flow enter), ``t_max``, ``longest`` (the latest entry time),
        ``evaluations`` and ``method``.
    exact : bool
    worst : list of dict
        Starts whose flow did not enter (``value``: ``V_Q`` where the flow ended).
    reason : str
    """

    holds: bool | None
    x_star: list | None = None
    controllable: bool | None = None
    s_min: float | None = None
    tolerance: float | None = None
    neighbourhood: dict = field(default_factory=dict)
    flows: dict = field(default_factory=dict)
    exact: bool = False
    worst: list = field(default_factory=list)
    reason: str = ""


@dataclass
class Conditions:
    """All of C1–C4, Hörmander's condition and reachability (degenerate noise), the verdict
    and the local analysis for one SDE (docs/theory.md §4)."""

    game: str
    scheme: str
    order: int
    lr: float
    batch_size: int
    sde: str
    exact: bool
    bounded_diffusion: BoundedDiffusion
    bounded_jacobian: BoundedJacobian
    dissipativity: Dissipativity
    ellipticity: Ellipticity
    lyapunov: Lyapunov
    verdict: str
    reason: str
    local: Local | None
    searched: Searched
    notes: list = field(default_factory=list)
    hormander: Hormander | None = None
    reachability: Reachability | None = None

    def to_dict(self) -> dict:
        """The ``conditions.*`` fields of summary.json (docs/design.md ◆; numpy-free but may hold
        inf/nan, which :func:`invariant.storage.jsonable` writes as null)."""
        return plain(asdict(self))


def worst_point(x, value) -> dict:
    """One entry of a result's ``worst`` list: the point ``x``, its norm ``r`` and ``value``."""
    x = np.asarray(x, dtype=np.float64)
    return {"x": x.tolist(), "r": float(np.linalg.norm(x)), "value": float(value)}
