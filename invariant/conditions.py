"""Conditions for a unique invariant measure: C1–C4 of MATH.md §4, and local stability.

For the SDE a config selects, ``dX = b(X) dt + σ(X) dW`` with ``b = b0 + lr·b1`` (order 2)
or ``b0`` (order 1) and ``σσᵀ = (lr/N) blockdiag(Σ_θ, Σ_ω)`` (MATH.md §3), this module checks

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

and gives a verdict (:func:`verdict`): ``"unique"`` (C3 + C4 with bounded σ), ``"exists"``
(C4 without ellipticity or with unbounded σ) or ``"not established"``, with a one-sentence
reason naming the failing condition.  :func:`local_analysis` finds the equilibria of ``b0``
and of ``b0 + lr·b1`` and reads their Jacobian eigenvalues (rotation, contraction,
instability) for every scheme's game term, in the style of Mescheder et al. (2018).

Two paths (:func:`check`):

``exact``
    When the drift is affine and the diffusion constant (declared by the game, ``game.affine``,
    or detected numerically), the closed forms of MATH.md §4 are used: ``c = −λ_max((A+Aᵀ)/2)``,
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
``conditions.*`` fields of summary.json (DESIGN.md ◆).
"""
from __future__ import annotations

import importlib
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import scipy.linalg as sla
from scipy import optimize
from scipy.stats import norm as _normal
from scipy.stats import qmc

from .errors import ConfigError
from .games.validate import integer, number
from .schemes import SCHEMES, Scheme
from .jsontypes import plain

__all__ = [
    "DEFAULTS",
    "validate_options",
    "Searched",
    "BoundedDiffusion",
    "BoundedJacobian",
    "Dissipativity",
    "Ellipticity",
    "Lyapunov",
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
    "sphere_max",
    "verdict",
    "format_report",
]

DEFAULTS = {
    "lyapunov": "auto",        # auto | norm2 | quadratic | "pkg.module:function"
    "method": "auto",          # auto (exact when affine) | search (always search numerically)
    "radius_min": 1e-2,        # innermost shell radius
    "radius_max": 1e4,         # search bound
    "shells": 31,              # geometric shells between radius_min and radius_max (5 per decade)
    "directions": None,        # scrambled-Sobol directions per shell
    "local_starts": None,      # local optimisations per condition, from the worst samples
    "local_evals": None,       # budget of drift+diffusion evaluations for all local optimisations
    "equilibrium_starts": None,  # scipy.optimize.root starts per drift
    "equilibrium_evals": None,   # budget of drift evaluations for all root searches
    "seed": 0,                 # Sobol scrambling seed
}
"""Defaults of the ``[conditions]`` config section (every key optional).

``None`` means "auto": the budget follows the dimension ``d`` (:data:`AUTO`), since an
evaluation of ``b`` and ``σσᵀ`` costs about ``d`` times more in a ``d``-parameter network.
"""

AUTO = {
    "small": {"directions": 64, "local_starts": 3, "local_evals": 1500, "equilibrium_starts": 6,
              "equilibrium_evals": 2000},
    "large": {"directions": 32, "local_starts": 1, "local_evals": 600, "equilibrium_starts": 2,
              "equilibrium_evals": 300},
}
"""Auto budgets: ``small`` for ``d <= 10``, ``large`` above (e.g. the ``mlp`` game, d = 50)."""
_SMALL_D = 10

LYAPUNOV_BUILTIN = ("auto", "norm2", "quadratic")
_TAIL_DECADE = 10.0   # trends are read over the last decade of radii
_TREND = 0.3          # |log-log slope| above which a quantity is "still growing/decaying"


# --------------------------------------------------------------------------- options
def validate_options(table: dict | None) -> dict:
    """Validate a ``[conditions]`` config table; return it with every default filled in.

    Raises
    ------
    ConfigError
        Naming ``conditions.<key>`` and what is allowed.
    """
    table = dict(table or {})
    for key in table:
        if key not in DEFAULTS:
            raise ConfigError(f"conditions.{key}", f"unknown key; allowed: {', '.join(DEFAULTS)}")
    out = dict(DEFAULTS)
    out.update(table)
    lyap = out["lyapunov"]
    if not isinstance(lyap, str) or (lyap not in LYAPUNOV_BUILTIN and ":" not in lyap):
        raise ConfigError("conditions.lyapunov",
                          f"must be one of {', '.join(map(repr, LYAPUNOV_BUILTIN))} or 'pkg.module:function', got {lyap!r}")
    if lyap not in LYAPUNOV_BUILTIN:
        _import_function(lyap)
    if out["method"] not in ("auto", "search"):
        raise ConfigError("conditions.method", f"must be 'auto' (exact when the drift is affine) or 'search', got {out['method']!r}")
    out["radius_min"] = number(out["radius_min"], "conditions.radius_min", low=0.0, strict=True)
    out["radius_max"] = number(out["radius_max"], "conditions.radius_max", low=0.0, strict=True)
    if out["radius_max"] < 10 * out["radius_min"]:
        raise ConfigError("conditions.radius_max", f"must be at least 10 × radius_min = {10 * out['radius_min']:g}, got {out['radius_max']:g}")
    out["shells"] = integer(out["shells"], "conditions.shells", low=4)
    for key, low in (("directions", 2), ("local_starts", 0), ("local_evals", 0), ("equilibrium_starts", 1),
                     ("equilibrium_evals", 10)):
        if out[key] is not None and out[key] != "auto":
            out[key] = integer(out[key], f"conditions.{key}", low=low)
        else:
            out[key] = None
    out["seed"] = integer(out["seed"], "conditions.seed", low=0)
    return out


def _budget(opts: dict, d: int) -> dict:
    """Options with the "auto" budgets resolved for dimension ``d``."""
    auto = AUTO["small" if d <= _SMALL_D else "large"]
    return {k: (auto[k] if v is None and k in auto else v) for k, v in opts.items()}


def _import_function(target: str) -> Callable:
    module, _, attr = target.partition(":")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError("conditions.lyapunov", f"cannot import {target!r} ({exc})") from None
    if not callable(fn):
        raise ConfigError("conditions.lyapunov", f"{target!r} is not callable")
    return fn


# --------------------------------------------------------------------------- results
@dataclass
class Searched:
    """What was examined to reach the constants (MATH.md §4: "say what they searched").

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
class BoundedDiffusion:
    """C1, the diffusion part: ``sup_x ‖σσᵀ(x)‖₂`` (MATH.md §4).

    ``sup_norm`` is the largest spectral norm of ``σσᵀ`` found (so ``sqrt(sup_norm)`` bounds
    ``‖σ‖``); ``growth`` the log-log slope of the shell maxima over the last decade of radii
    (0 for a bounded, saturating ``σσᵀ``; 2 for ``Σ ∝ |x|²``); ``holds`` is false when the
    maxima still grow at the search bound.
    """

    holds: bool
    sup_norm: float
    growth: float | None
    exact: bool
    worst: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    reason: str = ""


@dataclass
class BoundedJacobian:
    """C1, the drift part: ``sup_x ‖∇b(x)‖₂`` (spectral norm; finite differences when searched)."""

    holds: bool
    sup_norm: float
    growth: float | None
    exact: bool
    worst: list = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    reason: str = ""


@dataclass
class Dissipativity:
    """C2: ``x·b(x) ≤ −c|x|²`` for ``|x| ≥ R``; weak form ``x·b ≤ −α|x|² + β`` (MATH.md §4).

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
    """C3: ``λ_min = inf_x λ_min(σσᵀ(x)) > 0`` (MATH.md §4).

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
    """C4: ``LV ≤ −1`` for ``|x| ≥ R*``; geometric form ``LV ≤ −aV + β`` (MATH.md §4).

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
        ``"b0"`` or ``"<scheme>-2"`` (``b0 + lr·b1`` of that scheme, MATH.md §3).
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
        ``alt-g-2``): the game term ``b1^{ALT} − b1^{SML}`` shifts them (MATH.md §3).
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
    """

    equilibria_b0: list
    equilibria_b: list
    schemes: dict
    diffusion_eigenvalues: list | None
    controllable: bool | None
    local_covariance: list | None
    starts: int
    summary: str


@dataclass
class Conditions:
    """All of C1–C4, the verdict and the local analysis for one SDE (MATH.md §4)."""

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

    def to_dict(self) -> dict:
        """The ``conditions.*`` fields of summary.json (DESIGN.md ◆; numpy-free but may hold
        inf/nan, which :func:`invariant.storage.jsonable` writes as null)."""
        return plain(asdict(self))


# --------------------------------------------------------------------------- linear algebra
def _sym(M):
    return 0.5 * (M + M.T)


def lyapunov_matrix(A) -> np.ndarray | None:
    """``Q`` solving ``AᵀQ + QA = −I`` (MATH.md §4's automatic quadratic ``V``).

    Returns None unless ``A`` is Hurwitz (``max Re λ(A) < 0``), the case where ``Q`` is
    positive definite and ``V(y) = yᵀQy`` gives ``dV/dt = −|y|²`` along ``y' = Ay``.
    """
    A = np.asarray(A, dtype=np.float64)
    if not np.max(np.linalg.eigvals(A).real) < 0:
        return None
    Q = _sym(sla.solve_continuous_lyapunov(A.T, -np.eye(A.shape[0])))
    if np.linalg.eigvalsh(Q)[0] <= 0:
        return None
    return Q


def sphere_max(B, g) -> tuple[float, np.ndarray]:
    """``max_{|u|=1} uᵀBu + g·u`` and its maximiser (the trust-region subproblem).

    Exact: from the eigen-decomposition of the symmetric ``B`` and the secular equation
    ``Σ g̃_i² / (4(μ − λ_i)²) = 1``, ``μ > λ_max``, including the "hard case".
    """
    B = _sym(np.asarray(B, dtype=np.float64))
    g = np.asarray(g, dtype=np.float64)
    lam, V = np.linalg.eigh(B)
    gt = V.T @ g
    lmax = lam[-1]
    gn = float(np.linalg.norm(g))
    scale = max(float(np.max(np.abs(lam))), gn, 1e-300)
    if gn <= 1e-15 * scale:
        return float(lmax), V[:, -1].copy()
    top = np.abs(lam - lmax) <= 1e-12 * scale
    gap = lmax - lam
    if np.all(np.abs(gt[top]) <= 1e-13 * gn):
        u = np.zeros_like(gt)
        u[~top] = gt[~top] / (2 * gap[~top])
        s2 = float(u @ u)
        if s2 <= 1.0:  # hard case: μ = λ_max, fill the rest of the unit norm along the top space
            u[np.argmax(top)] = math.sqrt(1.0 - s2)
            return float(lam @ u**2 + gt @ u), V @ u

    def phi(s):
        return float(np.sum(gt**2 / (4 * (s + gap) ** 2)) - 1.0)

    lo, hi = 1e-14 * scale, gn / 2 + 1e-14 * scale
    s = lo if phi(lo) <= 0 else optimize.brentq(phi, lo, hi, xtol=1e-15 * scale, rtol=1e-14, maxiter=500)
    u = gt / (2 * (s + gap))
    u /= np.linalg.norm(u)
    return float(lam @ u**2 + gt @ u), V @ u


def _last_crossing(F, hi: float) -> float:
    """For ``F(r) > 0`` exactly on ``[0, R)`` with ``F(hi) ≤ 0``: return ``R``."""
    lo = 0.0
    if F(hi) > 0:
        return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if F(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return hi


# --------------------------------------------------------------------------- affine drift
def affine_drift(game, scheme: Scheme):
    """The affine pieces ``(A, c, D, why)`` of the SDE, or None when it is not affine.

    ``b(x) = Ax + c`` and constant ``σσᵀ = D``.  A game declaring ``affine = True`` uses the
    closed forms of :mod:`invariant.exact`; any other game is tested numerically: ``A`` from
    unit central differences at 0 (exact for an affine map), then ``b(x) = Ax + c`` and
    ``D(x) = D(0)`` to 1e-9 relative at 12 points of radii 0.5 to 50.
    """
    from . import exact

    if getattr(game, "affine", False):
        try:
            A, c = exact.drift(game, scheme.name, scheme.order, scheme.lr)
            D = exact.diffusion(game, scheme.lr, scheme.batch_size)
            return A, c, D, "affine drift and constant diffusion declared by the game"
        except (ValueError, KeyError):
            pass
    d = game.d
    x0 = np.zeros(d)
    try:
        c = scheme.drift(game, x0)
        D0 = _sym(scheme.diffusion(game, x0))
        A = np.column_stack([(scheme.drift(game, e) - scheme.drift(game, -e)) / 2 for e in np.eye(d)])
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(c)) and np.all(np.isfinite(D0))):
            return None
        dirs = _directions(d, 4, seed=12345, axes=False)
        nA = float(np.linalg.norm(A, 2))
        for r in (0.5, 5.0, 50.0):
            for u in dirs:
                x = r * u
                b = scheme.drift(game, x)
                if np.linalg.norm(b - (A @ x + c)) > 1e-9 * (np.linalg.norm(b) + nA * r + np.linalg.norm(c)) + 1e-300:
                    return None
                Dx = scheme.diffusion(game, x)
                if np.linalg.norm(Dx - D0) > 1e-9 * np.linalg.norm(D0) + 1e-300:
                    return None
    except (FloatingPointError, ValueError, ZeroDivisionError):
        return None
    return A, c, D0, "affine drift and constant diffusion detected numerically (12 test points, 1e-9 relative)"


def exact_conditions(A, c, D, lyapunov: str = "auto"):
    """C1–C4 in closed form for ``b(x) = Ax + c``, constant ``σσᵀ = D`` (MATH.md §4).

    Parameters
    ----------
    A, c, D : ndarray
    lyapunov : {"auto", "norm2", "quadratic"}

    Returns
    -------
    (BoundedDiffusion, BoundedJacobian, Dissipativity, Ellipticity, Lyapunov)
        All with ``exact = True``.  C2: ``c = −λ_max(A_s)``, ``A_s = (A+Aᵀ)/2``; its ``R`` (for
        ``c/2``) from exact sphere maximisations; ``β = ¼cᵀ(−A_s − αI)⁻¹c`` with ``α = c/2``.
        C4, ``V = |x|²``: ``LV = 2xᵀA_sx + 2c·x + Tr D``, ``R*`` exact, ``a = −λ_max(A_s)``,
        ``β = Tr D + cᵀ(−2A_s − aI)⁻¹c``.  C4, quadratic ``V = (x−m)ᵀQ(x−m)``, ``Am + c = 0``,
        ``AᵀQ + QA = −I``: ``LV = −|x−m|² + Tr(QD)``, so ``R* = |m| + sqrt(1 + Tr(QD))``,
        ``a = 1/λ_max(Q)``, ``β = Tr(QD)``.
    """
    A = np.asarray(A, dtype=np.float64)
    off = np.asarray(c, dtype=np.float64)
    D = _sym(np.asarray(D, dtype=np.float64))
    d = A.shape[0]
    As = _sym(A)
    lam_s = np.linalg.eigvalsh(As)
    lmax = float(lam_s[-1])
    w = np.linalg.eigvalsh(D)
    trD = float(np.trace(D))
    scale = max(float(np.max(np.abs(A))), 1e-300)

    bd = BoundedDiffusion(True, float(w[-1]), 0.0, True, reason="σσᵀ is constant")
    nA = float(np.linalg.norm(A, 2))
    bj = BoundedJacobian(True, nA, 0.0, True, reason="∇b = A is constant")

    # C2
    cc = -lmax
    if cc > 1e-12 * scale:
        alpha = cc / 2
        B = As + alpha * np.eye(d)
        R = 0.0 if np.linalg.norm(off) == 0 else 1.0 / _first_root_t(lambda t: sphere_max(B, t * off)[0])
        beta = float(0.25 * off @ np.linalg.solve(-B, off))
        _, u = sphere_max(B, off / R) if R > 0 else (None, np.linalg.eigh(As)[1][:, -1])
        diss = Dissipativity(True, cc, R, alpha, alpha, beta, 0.0, True,
                             worst=[_pt(R * u if R > 0 else u, lmax)],
                             reason=f"c = −λ_max((A+Aᵀ)/2) = {cc:.4g} > 0")
    else:
        u = np.linalg.eigh(As)[1][:, -1]
        diss = Dissipativity(False, cc, None, None, None, None, 0.0, True, worst=[_pt(u, lmax)],
                             reason=f"λ_max((A+Aᵀ)/2) = {lmax:.4g} ≥ 0: x·b/|x|² → {lmax:.4g} along its eigenvector")

    # C3
    lmin = float(w[0])
    tolD = 1e-12 * max(float(w[-1]), 1e-300)
    ell = Ellipticity(lmin > tolD, lmin, 0.0, True, worst=[_pt(np.zeros(d), lmin)],
                      reason=(f"λ_min(σσᵀ) = {lmin:.4g} > 0" if lmin > tolD else
                              f"σσᵀ is singular (λ_min = {lmin:.3g}): no noise along {_fmt_vec(np.linalg.eigh(D)[1][:, 0])}"))

    # C4
    alpha_A = float(np.max(np.linalg.eigvals(A).real))
    if abs(alpha_A) <= 1e-12 * scale:
        alpha_A = 0.0  # round-off of a centre or a zero eigenvalue
    cands = []
    if lyapunov in ("auto", "norm2"):
        if lmax < 0:
            k = 0.5 * (trD + 1.0)
            nl = -lmax
            hi = (np.linalg.norm(off) + math.sqrt(float(off @ off) + 4 * nl * k)) / (2 * nl) * (1 + 1e-9) + 1e-300

            def F(r):
                if r == 0:
                    return k
                return r * r * sphere_max(As, off / r)[0] + k

            Rs = _last_crossing(F, hi)
            a = nl
            M = -(2 * As + a * np.eye(d))
            beta = trD + float(off @ np.linalg.solve(M, off))
            u = sphere_max(As, off / Rs)[1] if Rs > 0 else np.linalg.eigh(As)[1][:, -1]
            cands.append(Lyapunov(True, "norm2", Rs, a, beta, True, worst=[_pt(Rs * u, -1.0)],
                                  reason=f"LV = 2x·b + Tr σσᵀ ≤ −1 for |x| ≥ R* = {Rs:.4g}"))
        else:
            cands.append(Lyapunov(False, "norm2", None, None, None, True,
                                  reason=f"LV = 2x·b + Tr σσᵀ ≥ Tr σσᵀ > −1 along ± the top eigenvector of (A+Aᵀ)/2 "
                                         f"(eigenvalue {lmax:.3g} ≥ 0: C2 fails)"))
    if lyapunov in ("auto", "quadratic"):
        Q = lyapunov_matrix(A)
        if Q is not None:
            m = np.linalg.solve(A, -off)
            tQD = float(np.sum(Q * D))
            Rs = float(np.linalg.norm(m) + math.sqrt(1.0 + tQD))
            a = 1.0 / float(np.linalg.eigvalsh(Q)[-1])
            um = m / np.linalg.norm(m) if np.linalg.norm(m) > 0 else np.eye(d)[0]
            cands.append(Lyapunov(True, "quadratic", Rs, a, tQD, True, Q=Q.tolist(), centre=m.tolist(),
                                  worst=[_pt(m + math.sqrt(1.0 + tQD) * um, -1.0)],
                                  reason=f"V = (x−m)ᵀQ(x−m), AᵀQ + QA = −I: LV = −|x−m|² + Tr(Qσσᵀ) ≤ −1 for |x| ≥ R* = {Rs:.4g}"))
        else:
            cands.append(Lyapunov(False, "quadratic", None, None, None, True,
                                  reason=f"the drift matrix is not Hurwitz (spectral abscissa α(A) = {alpha_A:.4g} ≥ 0): "
                                         f"no quadratic V, and no invariant law"))
    return bd, bj, diss, ell, _choose(cands)


def _first_root_t(T):
    """Smallest ``t > 0`` with ``T(t) = 0`` for a continuous nondecreasing ``T`` with ``T(0) < 0``."""
    hi = 1.0
    while T(hi) <= 0:
        hi *= 2
        if hi > 1e300:
            return math.inf
    return optimize.brentq(T, 0.0, hi, xtol=1e-300, rtol=1e-13, maxiter=500)


def _pt(x, value) -> dict:
    x = np.asarray(x, dtype=np.float64)
    return {"x": x.tolist(), "r": float(np.linalg.norm(x)), "value": float(value)}


def _choose(cands: list) -> Lyapunov:
    """The first candidate ``V`` that holds (``|x|²`` before the quadratic one), all listed."""
    best = next((c for c in cands if c.holds), cands[0])
    best.candidates = [{"V": c.V, "holds": c.holds, "R_star": c.R_star, "a": c.a, "beta": c.beta,
                        "reason": c.reason} for c in cands]
    if not best.holds and len(cands) > 1:
        best.reason = "; ".join(f"{_vname(c.V)}: {c.reason}" for c in cands)
    return best


def _vname(v: str) -> str:
    return {"norm2": "V = |x|²", "quadratic": "quadratic V"}.get(v, f"V = {v}")


# --------------------------------------------------------------------------- numerical search
def _directions(d: int, n: int, seed: int, axes: bool) -> np.ndarray:
    """``n`` scrambled-Sobol directions on the unit sphere (plus ``±e_i`` when ``axes``)."""
    m = max(1, math.ceil(math.log2(max(n, 2))))
    U = qmc.Sobol(d, scramble=True, seed=seed).random_base2(m)[:n]
    Z = _normal.ppf(np.clip(U, 1e-12, 1 - 1e-12))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    if axes:
        E = np.eye(d)
        Z = np.vstack([Z, E, -E])
    return Z


class _Problem:
    """Counts evaluations of ``b`` and ``σσᵀ`` (the game's, or an exact affine one's)."""

    def __init__(self, game, scheme: Scheme, affine=None):
        self.game, self.scheme = game, scheme
        self.d = game.d
        self.evals = 0
        self.affine = affine

    def b(self, x):
        self.evals += 1
        if self.affine is not None:
            return self.affine[0] @ x + self.affine[1]
        return self.scheme.drift(self.game, x)

    def D(self, x):
        if self.affine is not None:
            return self.affine[2]
        return _sym(self.scheme.diffusion(self.game, x))

    def both(self, x):
        x = np.asarray(x, dtype=np.float64)
        return self.b(x), self.D(x)

    def jacobian(self, x, central=True):
        """Finite-difference ``∇b(x)`` (exact ``A`` for an affine problem)."""
        if self.affine is not None:
            return self.affine[0]
        d = self.d
        h = 1e-6 * max(1.0, float(np.linalg.norm(x)))
        J = np.empty((d, d))
        b0 = None if central else self.b(x)
        for i in range(d):
            e = np.zeros(d)
            e[i] = h
            if central:
                J[:, i] = (self.b(x + e) - self.b(x - e)) / (2 * h)
            else:
                J[:, i] = (self.b(x + e) - b0) / h
        return J


class _Quantity:
    """A candidate Lyapunov function: ``V(x)`` and ``LV(x; b, D)``."""

    def __init__(self, name, value, gen, Q=None, centre=None):
        self.name, self.value, self.gen, self.Q, self.centre = name, value, gen, Q, centre


def _norm2():
    return _Quantity("norm2", lambda x: float(x @ x), lambda x, b, D: float(2 * x @ b + np.trace(D)))


def _quadratic(Q, m):
    Q = np.asarray(Q)
    m = np.asarray(m)

    def value(x):
        y = x - m
        return float(y @ Q @ y)

    def gen(x, b, D):
        return float(2 * (x - m) @ Q @ b + np.sum(Q * D))

    return _Quantity("quadratic", value, gen, Q=Q, centre=m)


def _user(target: str):
    fn = _import_function(target)

    def parts(x):
        out = fn(np.array(x, dtype=np.float64))
        if isinstance(out, tuple):
            v, g, H = out
            return float(v), np.asarray(g, dtype=np.float64), np.asarray(H, dtype=np.float64)
        return float(out), None, None

    def value(x):
        return parts(x)[0]

    def gen(x, b, D):
        v, g, H = parts(x)
        if g is None:
            g, H = _fd_grad_hess(lambda y: parts(y)[0], x)
        return float(g @ b + 0.5 * np.sum(H * D))

    return _Quantity(target, value, gen)


def _fd_grad_hess(f, x):
    d = x.size
    h = 1e-4 * max(1.0, float(np.linalg.norm(x)))
    f0 = f(x)
    g = np.empty(d)
    H = np.empty((d, d))
    E = np.eye(d) * h
    fp = np.array([f(x + E[i]) for i in range(d)])
    fm = np.array([f(x - E[i]) for i in range(d)])
    g[:] = (fp - fm) / (2 * h)
    for i in range(d):
        H[i, i] = (fp[i] - 2 * f0 + fm[i]) / (h * h)
        for j in range(i + 1, d):
            H[i, j] = H[j, i] = (f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j]) + f(x - E[i] - E[j])) / (4 * h * h)
    return g, H


def _slope(r, v):
    """Log-log slope of positive ``v`` against ``r`` over the last decade of radii (None if undefined)."""
    r = np.asarray(r, dtype=float)
    v = np.asarray(v, dtype=float)
    sel = r >= r[-1] / _TAIL_DECADE
    if sel.sum() < 2 or not np.all(np.isfinite(v[sel])) or np.any(v[sel] <= 0):
        return None
    return float(np.polyfit(np.log(r[sel]), np.log(v[sel]), 1)[0])


def _erratic(r, v) -> bool:
    """True when positive shell extremes ``v`` jump up and down by more than 10× between
    neighbouring shells over the last decade: the shells are under-sampled (a rare set of
    directions carries the extreme), so a bound read off them is not established."""
    r = np.asarray(r, dtype=float)
    v = np.asarray(v, dtype=float)
    sel = r >= r[-1] / _TAIL_DECADE
    w = v[sel]
    if w.size < 3 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        return False
    steps = np.diff(np.log(w))
    return bool(np.max(np.abs(steps)) > math.log(10.0) and np.any(steps > 0) and np.any(steps < 0))


class _OutOfBudget(Exception):
    pass


def _refine(prob, objective, x0, maxfun):
    """Maximise ``objective(x)`` over the sphere ``|x| = |x0|`` by L-BFGS-B on ``u ↦ r u/|u|``.

    At most ``maxfun`` objective evaluations, finite-difference gradients included; returns
    the best point seen, its value and the evaluations used.
    """
    r = float(np.linalg.norm(x0))
    best = [objective(x0), np.asarray(x0, dtype=np.float64)]
    if r == 0 or maxfun < 3:
        return best[1], best[0], 1
    used = [1]

    def f(u):
        if used[0] >= maxfun:
            raise _OutOfBudget
        used[0] += 1
        nu = np.linalg.norm(u)
        if not np.isfinite(nu) or nu == 0:
            return np.inf
        x = r * u / nu
        val = objective(x)
        if not np.isfinite(val):
            return np.inf
        if val > best[0] or not np.isfinite(best[0]):
            best[0], best[1] = val, x
        return -val

    try:
        optimize.minimize(f, x0 / r, method="L-BFGS-B", options={"maxfun": int(maxfun), "maxiter": int(maxfun), "eps": 1e-7})
    except (_OutOfBudget, ValueError, FloatingPointError, np.linalg.LinAlgError):
        pass
    return best[1], best[0], used[0]


def search_conditions(game, scheme: Scheme, options: dict | None = None, quantities=None, affine=None,
                      extra_points=()):
    """C1–C4 by an honest numerical search (see the module docstring).

    Parameters
    ----------
    game : Game
    scheme : Scheme
        Its ``drift`` and ``diffusion`` are the SDE's ``b`` and ``σσᵀ``.
    options : dict, optional
        The ``[conditions]`` options (:data:`DEFAULTS`).
    quantities : list, optional
        Candidate Lyapunov functions (default ``[|x|²]``).
    affine : tuple, optional
        ``(A, c, D)``: search the exact affine coefficients instead of the game's.
    extra_points : sequence of arrays
        Points added to the search (equilibria, the initial state).

    Returns
    -------
    (BoundedDiffusion, BoundedJacobian, Dissipativity, Ellipticity, list[Lyapunov], Searched)
    """
    opts = _budget(validate_options(options), game.d)
    t0 = time.perf_counter()
    prob = _Problem(game, scheme, affine)
    d = game.d
    quantities = [_norm2()] if quantities is None else list(quantities)
    radii = np.geomspace(opts["radius_min"], opts["radius_max"], opts["shells"])
    # directions: scrambled Sobol on every shell, plus ±e_i (a network's degenerate subspaces,
    # e.g. dead units, lie along axes) on every shell for d <= 8, on the outer decade above
    dirs = _directions(d, opts["directions"], opts["seed"], axes=True)
    ns, nd = radii.size, dirs.shape[0]
    nq = len(quantities)
    X = radii[:, None, None] * dirs[None, :, :]
    evaluated = np.ones((ns, nd), dtype=bool)
    axes = "all shells" if d <= 8 else "outer decade"
    if d > 8:
        evaluated[radii < radii[-1] / _TAIL_DECADE, opts["directions"]:] = False
    q = np.empty((ns, nd))
    lmin = np.empty((ns, nd))
    lmax = np.empty((ns, nd))
    bres = np.empty((ns, nd))
    LV = np.empty((nq, ns, nd))
    VV = np.empty((nq, ns, nd))
    b_origin = prob.b(np.zeros(d))
    with np.errstate(all="ignore"):
        for i in range(ns):
            for j in range(nd):
                if not evaluated[i, j]:  # neutral values: never a max, a min or a start
                    q[i, j] = lmax[i, j] = bres[i, j] = -np.inf
                    lmin[i, j] = np.inf
                    LV[:, i, j] = -np.inf
                    VV[:, i, j] = np.inf
                    continue
                x = X[i, j]
                b, D = prob.both(x)
                q[i, j] = float(x @ b) / (radii[i] ** 2)
                w = np.linalg.eigvalsh(D) if np.all(np.isfinite(D)) else np.array([np.nan, np.nan])
                lmin[i, j], lmax[i, j] = w[0], w[-1]
                bres[i, j] = np.linalg.norm(b - b_origin) / radii[i]
                for k, Vq in enumerate(quantities):
                    LV[k, i, j] = Vq.gen(x, b, D)
                    VV[k, i, j] = Vq.value(x)
    for arr in (q, lmax, bres):
        arr[~np.isfinite(arr) & evaluated] = np.inf
    LV[~np.isfinite(LV) & evaluated[None]] = np.inf
    lmin[~np.isfinite(lmin) & evaluated] = -np.inf

    # extra points (origin, equilibria, x0) for the inf/sup of σσᵀ
    extra = [np.zeros(d)] + [np.asarray(p, dtype=np.float64) for p in extra_points]
    ex_l = []
    for p in extra:
        D = prob.D(p)
        w = np.linalg.eigvalsh(D) if np.all(np.isfinite(D)) else np.array([-np.inf, np.inf])
        ex_l.append((p, w[0], w[-1]))

    # local refinement budget: C2 (2 start sets), C3, C1, each V
    n_obj = 4 + nq
    starts = opts["local_starts"]
    per_start = opts["local_evals"] // max(1, n_obj * starts) if starts else 0
    n_starts = 0
    n_local = 0

    def top(values, k, mask=None, largest=True):
        v = np.where(mask, values, -np.inf if largest else np.inf) if mask is not None else values
        flat = np.argsort(-v if largest else v, axis=None)[:k]
        return [np.unravel_index(f, v.shape) for f in flat if np.isfinite(v.flat[f])]

    def run_refine(obj, idx_list, store, largest=True):
        nonlocal n_starts, n_local
        out = []
        for (i, j) in idx_list:
            if per_start < 3:
                break
            x, val, used = _refine(prob, obj if largest else (lambda y: -obj(y)), X[i, j], per_start)
            n_starts += 1
            n_local += used
            val = val if largest else -val
            if np.isfinite(val) and ((val > store[i, j]) if largest else (val < store[i, j])):
                store[i, j] = val
                X_ref[(id(store), i, j)] = x
            out.append((i, j))
        return out

    X_ref = {}

    def point(store, i, j):
        return X_ref.get((id(store), i, j), X[i, j])

    tail = radii >= opts["radius_max"] / 2
    if not tail.any():
        tail[-1] = True
    tail_mask = np.broadcast_to(tail[:, None], q.shape)

    # ---- C2
    qobj = lambda x: float(x @ prob.b(x)) / float(x @ x)  # noqa: E731
    half = max(1, starts // 2 + starts % 2)
    run_refine(qobj, top(q, half, tail_mask), q)
    run_refine(qobj, top(q, starts - half), q)
    qmax = q.max(axis=1)
    c = float(-qmax[tail].max())
    growth = _slope(radii, -qmax) if np.all(qmax[radii >= radii[-1] / _TAIL_DECADE] < 0) else None
    finite_q = np.abs(qmax[np.isfinite(qmax)])
    negligible = finite_q.size > 0 and bool(np.all(np.abs(qmax[tail]) <= 1e-9 * max(finite_q.max(), 1e-300)))
    fading = negligible or (growth is not None and growth < -_TREND)
    superlinear = growth is not None and growth > _TREND
    c_at = None
    if np.isfinite(c) and c > 0 and not fading:
        if superlinear:
            # any c works for R large enough: state the c that holds from R = the first shell
            # >= 1 beyond which x·b < 0 on every searched shell
            k = _tail_start(qmax < 0)
            k = max(k, int(np.searchsorted(radii, 1.0)))
            k = min(k, ns - 1)
            R = float(radii[k])
            c = c_at = float(-qmax[k:].max())
            reason = (f"superlinear dissipation (max x·b/|x|² on the shells ∝ −|x|^{growth:.2f}): "
                      f"x·b ≤ −{c:.4g}|x|² on every shell from R = {R:.4g}, larger c from larger R")
        else:
            k = min(_tail_start(qmax <= -c / 2), ns - 1)  # the last shell passes: the tail's max is −c
            R = float(radii[k])
            c_at = c / 2
            reason = (f"x·b ≤ −{c:.4g}|x|² on the outer shells, ≤ −{c_at:.4g}|x|² on every shell from R = {R:.4g}")
        alpha = c_at if superlinear else c / 2
        alpha = min(alpha, c / 2)
        beta = float(max(0.0, np.max((q + alpha) * radii[:, None] ** 2)))
        holds = True
    else:
        R = alpha = beta = None
        holds = False
        if fading:
            c = 0.0  # the limit of −x·b/|x|²: the dissipation fades away
        if negligible:
            reason = (f"x·b/|x|² → 0 at large |x| (|max| ≤ {np.abs(qmax[tail]).max() + 0.0:.3g} on the outer shells: "
                      "the drift vanishes or saturates there): no uniform c > 0")
        elif fading:
            reason = (f"x·b/|x|² → 0 at large |x| (its max on the shells ∝ |x|^{growth:.2f}, "
                      f"{qmax[-1]:.3g} at |x| = {radii[-1]:.3g}): no uniform c > 0")
        else:
            reason = f"x·b/|x|² reaches {-c:.4g} ≥ 0 at |x| ≈ {radii[int(np.argmax(np.where(tail, qmax, -np.inf)))]:.3g}"
        wi = top(q, 1, tail_mask)
        if wi:
            reason += f" (worst direction {_fmt_vec(point(q, *wi[0]) / radii[wi[0][0]])})"
    worst2 = [_pt(point(q, i, j), q[i, j]) for (i, j) in top(q, 3, tail_mask)]
    diss = Dissipativity(holds, c, R, c_at, alpha, beta, growth, False,
                         worst=worst2, profile={"r": radii.tolist(), "max_ratio": qmax.tolist()}, reason=reason)

    # ---- C3
    def lmin_obj(x):
        w = np.linalg.eigvalsh(prob.D(x))
        prob.evals += 1
        return float(w[0])

    run_refine(lmin_obj, top(lmin, starts, largest=False), lmin, largest=False)
    shell_min = lmin.min(axis=1)
    ex_min = min(ex_l, key=lambda t: t[1])
    lam_min = float(min(shell_min.min(), ex_min[1]))
    ref = float(np.nanmedian(np.where(np.isfinite(lmax), lmax, np.nan)))
    ref = ref if np.isfinite(ref) and ref > 0 else 1.0
    g3 = _slope(radii, shell_min)
    decaying = g3 is not None and g3 < -_TREND
    rough3 = _erratic(radii, shell_min)
    ell_holds = lam_min > 1e-9 * ref and not decaying and not rough3
    if ell_holds:
        reason3 = f"λ_min(σσᵀ) ≥ {lam_min:.4g} over the search"
    elif rough3 and lam_min > 1e-9 * ref and not decaying:
        reason3 = "inconclusive: the shell minima of λ_min jump by more than 10× between shells (under-sampled)"
    elif decaying and lam_min > 1e-9 * ref:
        reason3 = f"λ_min(σσᵀ) still decays at the search bound (∝ |x|^{g3:.2f}): infimum 0"
    else:
        wi = np.unravel_index(np.argmin(lmin), lmin.shape)
        xw = ex_min[0] if ex_min[1] <= lmin[wi] else point(lmin, *wi)
        reason3 = f"σσᵀ degenerate: λ_min = {lam_min:.3g} at x = {_fmt_vec(xw)}"
    worst3 = [_pt(point(lmin, i, j), lmin[i, j]) for (i, j) in top(lmin, 3, largest=False)]
    if ex_min[1] <= lam_min:
        worst3.insert(0, _pt(ex_min[0], ex_min[1]))
    ell = Ellipticity(bool(ell_holds), lam_min, g3, False, worst=worst3,
                      profile={"r": radii.tolist(), "min_lambda": shell_min.tolist()}, reason=reason3)

    # ---- C1 (σσᵀ)
    def lmax_obj(x):
        w = np.linalg.eigvalsh(prob.D(x))
        prob.evals += 1
        return float(w[-1])

    run_refine(lmax_obj, top(lmax, starts, tail_mask), lmax)
    shell_max = lmax.max(axis=1)
    sup = float(max(shell_max.max(), max(t[2] for t in ex_l)))
    g1 = _slope(radii, shell_max)
    rough1 = _erratic(radii, shell_max)
    bounded = np.isfinite(sup) and (g1 is None or g1 < _TREND) and not rough1
    if shell_max[-1] == 0:
        g1, bounded, rough1 = 0.0, True, False
    reason1 = (f"sup ‖σσᵀ‖ = {sup:.4g} (flat at the search bound)" if bounded else
               "inconclusive: the shell maxima of ‖σσᵀ‖ jump by more than 10× between shells (under-sampled)"
               if rough1 and (g1 is None or g1 < _TREND) else
               f"‖σσᵀ‖ grows like |x|^{g1:.2f} (max {shell_max[-1]:.3g} at |x| = {radii[-1]:.3g})")
    bd = BoundedDiffusion(bool(bounded), sup, g1, False,
                          worst=[_pt(point(lmax, i, j), lmax[i, j]) for (i, j) in top(lmax, 3)],
                          profile={"r": radii.tolist(), "max_norm": shell_max.tolist()}, reason=reason1)

    # ---- C1 (∇b): central-difference Jacobians where b varies most on each shell (d <= 10);
    # above, a lower bound max_k |∇b v_k| over 4 random unit v_k (forward differences)
    small = d <= _SMALL_D
    per_shell = 2 if small else 1
    probes = None if small else _directions(d, 4, opts["seed"] + 7, axes=False)
    jn = np.zeros(ns)
    jworst = []

    def jnorm(x):
        with np.errstate(all="ignore"):
            if small:
                J = prob.jacobian(x, central=True)
                return float(np.linalg.norm(J, 2)) if np.all(np.isfinite(J)) else np.inf
            h = 1e-6 * max(1.0, float(np.linalg.norm(x)))
            bx = prob.b(x)
            v = max(float(np.linalg.norm(prob.b(x + h * p) - bx)) / h for p in probes)
            return v if np.isfinite(v) else np.inf

    for i in range(ns):
        for j in np.argsort(-np.where(np.isfinite(bres[i]), bres[i], -np.inf))[:per_shell]:
            v = jnorm(X[i, j])
            if v >= jn[i]:
                jn[i] = v
                if i >= ns - 3:
                    jworst.append(_pt(X[i, j], v))
    jsup = float(max(jn.max(), jnorm(np.zeros(d))))
    gj = _slope(radii, jn)
    roughj = _erratic(radii, jn)
    jb = np.isfinite(jsup) and (gj is None or gj < _TREND) and not roughj
    bj = BoundedJacobian(bool(jb), jsup, gj, False, worst=jworst[-3:],
                         profile={"r": radii.tolist(), "max_norm": jn.tolist()},
                         reason=(f"sup ‖∇b‖ = {jsup:.4g} (flat at the search bound)" if jb else
                                 "inconclusive: the shell maxima of ‖∇b‖ jump by more than 10× between shells"
                                 if roughj and (gj is None or gj < _TREND) else
                                 f"‖∇b‖ grows like |x|^{gj:.2f} ({jn[-1]:.3g} at |x| = {radii[-1]:.3g})"))

    # ---- C4 for each V
    lyaps = []
    for k, Vq in enumerate(quantities):
        L = LV[k]
        Vk = VV[k]

        def lv_obj(x, Vq=Vq):
            b, D = prob.both(x)
            return Vq.gen(x, b, D)

        Rt = _rstar(radii, L.max(axis=1))
        idx_r = np.searchsorted(radii, Rt / 10 ** 0.2) if Rt is not None else 0
        mask = np.broadcast_to((np.arange(ns) >= idx_r)[:, None], L.shape)
        with np.errstate(all="ignore"):
            margin = np.where(evaluated, (L + 1.0) / (1.0 + np.abs(Vk)), -np.inf)
        chosen = top(margin, starts, mask)
        for (i, j) in chosen:
            if per_start < 3:
                break
            x, val, used = _refine(prob, lv_obj, X[i, j], per_start)
            n_starts += 1
            n_local += used
            if np.isfinite(val) and val > L[i, j]:
                L[i, j] = val
                X_ref[(id(L), i, j)] = x
        Lmax = L.max(axis=1)
        Rs = _rstar(radii, Lmax)
        # radial unboundedness of V on the shells
        vmin = Vk.min(axis=1)
        dec = radii >= radii[-1] / _TAIL_DECADE
        Ve = Vk[evaluated]
        unbounded = bool(np.all(Ve >= -1e-12 * np.abs(Ve).max()) and np.all(np.diff(vmin[dec]) > 0)
                         and vmin[-1] > Vk[0][evaluated[0]].max())
        ok = Rs is not None and Rs <= opts["radius_max"] / _TAIL_DECADE and unbounded
        a = beta4 = None
        if ok:
            with np.errstate(all="ignore"):
                rs = np.max(np.where(evaluated & (Vk > 0), L / Vk, -np.inf), axis=1)  # largest LV/V per shell
            gr = _slope(radii, -rs) if np.all(rs[radii >= radii[-1] / _TAIL_DECADE] < 0) else None
            if gr is not None and gr > _TREND:  # LV/V → −∞: use the shells from max(R*, 1) on
                rate = float(rs[radii >= max(Rs, 1.0)].max()) if np.any(radii >= max(Rs, 1.0)) else float(rs[-1])
            else:
                rate = float(rs[tail].max())
            if rate < 0:
                a = -rate / 2
                beta4 = float(max(0.0, np.max(L[evaluated] + a * Vk[evaluated])))
            reason4 = (f"LV ≤ −1 on every searched shell from R* = {Rs:.4g} to {radii[-1]:.3g}")
        elif not unbounded:
            reason4 = "V is not radially unbounded (or negative) on the searched shells"
        elif Rs is None:
            i = int(np.argmax(np.where(tail, Lmax, -np.inf)))
            reason4 = f"LV = {Lmax[i]:.3g} > −1 at |x| = {radii[i]:.3g} (outer shells)"
        else:
            reason4 = f"LV ≤ −1 only from |x| = {Rs:.3g}, less than a decade inside the search bound: inconclusive"
        if ok:
            worst4 = [_pt(point(L, i, j), L[i, j]) for (i, j) in top(margin, 3, mask)]
        else:  # the largest LV on the outer decade: where the condition fails
            worst4 = [_pt(point(L, i, j), L[i, j])
                      for (i, j) in top(L, 3, np.broadcast_to((radii >= radii[-1] / _TAIL_DECADE)[:, None], L.shape))]
        lyaps.append(Lyapunov(bool(ok), Vq.name, Rs if ok else None, a, beta4, False,
                              Q=None if Vq.Q is None else np.asarray(Vq.Q).tolist(),
                              centre=None if Vq.centre is None else np.asarray(Vq.centre).tolist(),
                              worst=worst4, profile={"r": radii.tolist(), "max_LV": Lmax.tolist()}, reason=reason4))

    sigma_src = _sigma_source(game) if affine is None else "constant (exact affine coefficients)"
    jac = ("central-difference Jacobians (spectral norm) at the 2 points per shell where b varies most" if small
           else "lower bound max_k |∇b v_k| from 4 random directional derivatives at 1 point per shell")
    searched = Searched(
        method="search", why="",
        radii={"min": float(radii[0]), "max": float(radii[-1]), "count": int(ns), "centre": "origin"},
        directions=int(nd), axes=axes, seed=int(opts["seed"]),
        local=(f"L-BFGS-B over the direction on the shell of each start (finite-difference gradients), "
               f"≤ {per_start} evaluations per start, from the {starts} worst samples per condition; "
               f"‖∇b‖: {jac}"),
        starts=n_starts, local_evals=n_local, evaluations=prob.evals,
        seconds=time.perf_counter() - t0, sigma=sigma_src,
    )
    return bd, bj, diss, ell, lyaps, searched


def _tail_start(ok) -> int:
    """Smallest ``k`` with ``ok[k:]`` all true (``len(ok)`` when the last entry fails)."""
    k = len(ok)
    while k > 0 and ok[k - 1]:
        k -= 1
    return k


def _rstar(radii, Lmax):
    """Smallest shell radius from which ``LV ≤ −1`` on every outer shell (None if the last fails)."""
    ok = Lmax <= -1.0
    k = len(radii)
    while k > 0 and ok[k - 1]:
        k -= 1
    if k == len(radii):
        return None
    return float(radii[k]) if k > 0 else 0.0


def _sigma_source(game) -> str:
    from .games.base import Game

    if type(game).sigma is Game.sigma:
        return "Monte Carlo estimate from 20000 per-sample gradients per point (Game.sigma)"
    return f"closed form / quadrature ({type(game).__name__}.sigma)"


# --------------------------------------------------------------------------- local analysis
def _classify(eigs, scale) -> tuple[str, float, float, str]:
    eigs = np.asarray(eigs)
    tol = 1e-7 * max(1.0, scale)
    re = eigs.real
    im = np.abs(eigs.imag)
    rmax = float(re.max())
    freq = float(im.max())
    rate = -rmax
    if rmax > tol:
        kind = "unstable"
        desc = (f"unstable: spirals out at rate {rmax:.4g} (frequency {freq:.4g})" if freq > tol
                else f"unstable: grows at rate {rmax:.4g}")
    elif rmax < -tol:
        kind = "contraction"
        desc = (f"contraction at rate {rate:.4g} with rotation at frequency {freq:.4g} (stable focus)" if freq > tol
                else f"contraction at rate {rate:.4g} (stable node)")
    else:
        if np.any((np.abs(re) <= tol) & (im > tol)):
            kind = "rotation"
            desc = f"rotation without contraction: eigenvalues ±{freq:.4g}i on the imaginary axis (a centre)"
        else:
            kind = "degenerate"
            desc = "degenerate: a zero eigenvalue (a neutral direction, e.g. a line of equilibria)"
        rate = 0.0 if abs(rate) <= tol else rate
    return kind, rate, freq, desc


def _equilibrium(name, x, J, residual, param_names) -> Equilibrium:
    eig = np.linalg.eigvals(J)
    eig = eig[np.lexsort((eig.imag, eig.real))]
    kind, rate, freq, desc = _classify(eig, float(np.max(np.abs(J))) if J.size else 1.0)
    return Equilibrium(
        drift=name, x=np.asarray(x).tolist(), residual=float(residual),
        eigenvalues=[[float(e.real), float(e.imag)] for e in eig], kind=kind, rate=float(rate),
        frequency=float(freq), description=desc, jacobian=np.asarray(J).tolist(),
        damping={n: float(-J[i, i]) + 0.0 for i, n in enumerate(param_names)},
    )


def _jacobians_at_b0_zero(game, x, lr):
    """Exact ``∇b0`` and each scheme's ``∇(b0 + lr·b1)`` at a zero of ``b0`` from the Hessian.

    At ``∇g = 0`` every term of ``b1`` (MATH.md §3, ``Scheme.b1``) vanishes to first order
    except through ``∂(∇g) = H``: ``∇b1 = Π_θ(−½HΠ_θH + ½s_θHΠ_ωH) + Π_ω(½s_ωHΠ_θH − ½HΠ_ωH)``.
    """
    d, dt = game.d, game.d_theta
    H = game.hessian(x)
    Pt = np.diag((np.arange(d) < dt).astype(float))
    Po = np.eye(d) - Pt
    S = np.diag(np.where(np.arange(d) < dt, -1.0, 1.0))
    J0 = S @ H
    out = {"b0": J0}
    for name in SCHEMES:
        st, so = Scheme(name, lr, 1, 2).b1_signs
        J1 = Pt @ (-0.5 * H @ Pt @ H + 0.5 * st * H @ Po @ H) + Po @ (0.5 * so * H @ Pt @ H - 0.5 * H @ Po @ H)
        out[f"{name}-2"] = J0 + lr * J1
    return out


def local_analysis(game, scheme: Scheme, options: dict | None = None) -> Local:
    """Equilibria of ``b0`` and of ``b0 + lr·b1`` and their linearisations (Mescheder et al.).

    Zeros are found by ``scipy.optimize.root`` (``hybr``) from ``equilibrium_starts`` starts
    (the game's ``x0``, the origin, and scrambled-Sobol points in a ball of radius
    ``max(1, 2|x0|)``), within ``equilibrium_evals`` drift evaluations, and de-duplicated.
    For an affine game the unique zero ``A⁻¹(−c)`` is used.  At the first zero of ``b0`` the
    Jacobians of ``b0`` and of the three schemes' order-2 drifts are compared: the game term
    ``b1^{ALT} − b1^{SML}`` (MATH.md §3) moves the eigenvalues, e.g. on the Dirac-GAN SML's
    order-2 drift spirals out at rate ``lr·f'(0)²/2`` while ALT-D/ALT-G keep a centre.

    Returns
    -------
    Local
    """
    opts = _budget(validate_options(options), game.d)
    d = game.d
    names = game.param_names
    lr, N = scheme.lr, scheme.batch_size
    b0s = Scheme(scheme.name, lr, N, 1)
    b2s = Scheme(scheme.name, lr, N, 2)
    bname = f"{scheme.name}-2"
    from . import exact

    eq0, eqb = [], []
    starts = opts["equilibrium_starts"]
    declared = getattr(game, "affine", False)
    if declared:
        try:
            for sch, store, nm in ((b0s, eq0, "b0"), (b2s, eqb, bname)):
                A, c = exact.drift(game, sch.name, sch.order, lr)
                # the unique zero, or (singular A) the least-norm one of an affine set of zeros
                m = np.linalg.lstsq(A, -c, rcond=None)[0]
                res = float(np.linalg.norm(A @ m + c))
                if res <= 1e-10 * (1.0 + float(np.linalg.norm(c))):
                    store.append(_equilibrium(nm, m, A, res, names))
        except (ValueError, KeyError, np.linalg.LinAlgError):
            declared = False
    if not declared:
        x0 = np.asarray(game.x0, dtype=np.float64)
        rad = max(1.0, 2 * float(np.linalg.norm(x0)))
        pts = [x0, np.zeros(d)]
        if starts > 2:
            U = qmc.Sobol(d, scramble=True, seed=opts["seed"] + 1).random_base2(max(1, math.ceil(math.log2(starts))))
            pts += list((2 * U[: starts - 2] - 1) * rad / math.sqrt(d) * 1.5)
        pts = pts[:starts]
        budget = opts["equilibrium_evals"] // (2 * len(pts))
        for sch, store, nm in ((b0s, eq0, "b0"), (b2s, eqb, bname)):
            fun = lambda x, sch=sch: sch.drift(game, x)  # noqa: E731
            found = []
            for p in pts:
                try:
                    with np.errstate(all="ignore"):
                        res = optimize.root(fun, p, method="hybr", options={"maxfev": max(budget, d + 2)})
                except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                    continue
                x = res.x
                if not np.all(np.isfinite(x)):
                    continue
                r = float(np.linalg.norm(fun(x)))
                scale = 1.0 + float(np.linalg.norm(fun(x + 1e-3)))
                if r > 1e-8 * scale:
                    continue
                if any(np.linalg.norm(x - y) <= 1e-5 * (1 + np.linalg.norm(y)) for y, _ in found):
                    continue
                found.append((x, r))
            found.sort(key=lambda t: np.linalg.norm(t[0] - x0))
            for x, r in found:
                if nm == "b0":
                    J = _jacobians_at_b0_zero(game, x, lr)["b0"]
                else:
                    J = _Problem(game, sch).jacobian(x)
                store.append(_equilibrium(nm, x, J, r, names))

    schemes = {}
    Deig = None
    ctrl = None
    Ploc = None
    if eq0:
        xs = np.asarray(eq0[0].x)
        if getattr(game, "affine", False):
            try:
                Js = {"b0": exact.drift(game, "sml", 1, lr)[0]}
                for s in SCHEMES:
                    Js[f"{s}-2"] = exact.drift(game, s, 2, lr)[0]
            except (ValueError, KeyError):
                Js = _jacobians_at_b0_zero(game, xs, lr)
        else:
            Js = _jacobians_at_b0_zero(game, xs, lr)
        for k, J in Js.items():
            e = _equilibrium(k, xs, J, 0.0, names)
            schemes[k] = {"eigenvalues": e.eigenvalues, "kind": e.kind, "rate": e.rate,
                          "frequency": e.frequency, "description": e.description}
        with np.errstate(all="ignore"):
            Dx = _sym(scheme.diffusion(game, xs))
        if np.all(np.isfinite(Dx)):
            Deig = np.linalg.eigvalsh(Dx).tolist()
            A = np.asarray(Js["b0" if scheme.order == 1 else f"{scheme.name}-2"])
            K = np.hstack([np.linalg.matrix_power(A, k) @ Dx for k in range(d)])
            sv = np.linalg.svd(K, compute_uv=False)
            ctrl = bool(sv.size and sv[-1] > 1e-10 * max(sv[0], 1e-300)) if d > 0 else None
            if ctrl and np.max(np.linalg.eigvals(A).real) < 0:
                Ploc = _sym(sla.solve_continuous_lyapunov(A, -Dx)).tolist()
    summary = _local_summary(eq0, eqb, schemes, Deig, scheme, names, ctrl, Ploc)
    return Local(eq0, eqb, schemes, Deig, ctrl, Ploc, starts, summary)


def _local_summary(eq0, eqb, schemes, Deig, scheme, names, ctrl=None, Ploc=None) -> str:
    if not eq0:
        return (f"no equilibrium of b0 found from the {len(eqb) and 'same ' or ''}starts tried"
                + (f"; b0 + lr·b1 has {len(eqb)}" if eqb else ""))
    e = eq0[0]
    parts = [f"at x* = {_fmt_vec(e.x)}: b0 {e.description}"]
    if len(names) <= 6:
        parts.append("self-damping −∂b0_i/∂x_i: " + ", ".join(f"{n} {v:.3g}" for n, v in e.damping.items()))
    own = schemes.get(f"{scheme.name}-2")
    if own:
        parts.append(f"with {scheme.name.upper()}'s order-2 term: {own['description']}")
    others = [f"{k}: {v['kind']} (max Re λ = {0.0 - v['rate']:.3g})" for k, v in schemes.items() if k != "b0"]
    if others:
        parts.append("schemes at order 2 — " + ", ".join(others))
    if Deig is not None and Deig[0] <= 1e-12 * max(abs(Deig[-1]), 1e-300):
        if ctrl:
            parts.append(f"σσᵀ(x*) is degenerate (eigenvalues {_fmt_vec(Deig)}) but the linearisation is "
                         "controllable (Kalman rank d): locally the drift carries the noise into every direction")
        else:
            parts.append(f"σσᵀ(x*) is degenerate (eigenvalues {_fmt_vec(Deig)})"
                         + (" and the linearisation is not controllable" if ctrl is False else ""))
    if Ploc is not None:
        parts.append(f"local Gaussian approximation N(x*, P) with tr P = {np.trace(Ploc):.3g}")
    extra = len(eqb) - len(eq0)
    if extra > 0:
        parts.append(f"b0 + lr·b1 has {extra} further (spurious) equilibri{'um' if extra == 1 else 'a'}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- verdict
def verdict(bounded_diffusion: BoundedDiffusion, ellipticity: Ellipticity, lyapunov: Lyapunov,
            dissipativity: Dissipativity | None = None) -> tuple[str, str]:
    """``("unique" | "exists" | "not established", one-sentence reason)`` (MATH.md §4).

    ``unique``: C3 and C4 hold with bounded σ; ``exists``: C4 holds but C3 (or the bound on
    σ) fails; otherwise ``not established``, naming the failing condition.
    """
    V = _vname(lyapunov.V)
    c2 = ""
    if dissipativity is not None and not dissipativity.holds and lyapunov.holds:
        c2 = f" (C2 fails, c = {dissipativity.c:.3g}, but {V} proves C4)"
    if lyapunov.holds and ellipticity.holds and bounded_diffusion.holds:
        return "unique", (f"C3 (λ_min = {ellipticity.lambda_min:.3g}) and C4 ({V}, R* = {lyapunov.R_star:.3g}) "
                          f"hold with bounded σ (sup ‖σσᵀ‖ = {bounded_diffusion.sup_norm:.3g}){c2}.")
    if lyapunov.holds:
        fails = []
        if not ellipticity.holds:
            fails.append(f"C3 fails ({ellipticity.reason})")
        if not bounded_diffusion.holds:
            fails.append(f"C1 fails ({bounded_diffusion.reason})")
        return "exists", f"C4 holds ({V}, R* = {lyapunov.R_star:.3g}){c2} but " + " and ".join(fails) + "."
    return "not established", f"C4 fails: {lyapunov.reason}."


# --------------------------------------------------------------------------- driver
def check(game, scheme: Scheme, options: dict | None = None, local: bool = True) -> Conditions:
    """C1–C4, the verdict and the local analysis for the SDE of ``game`` under ``scheme``.

    Parameters
    ----------
    game : Game
    scheme : Scheme
        ``(name, lr, batch_size, order)``: the drift ``b0 (+ lr·b1)`` and ``σσᵀ = (lr/N)Σ``.
    options : dict, optional
        The ``[conditions]`` section (:data:`DEFAULTS`; validated here).
    local : bool
        Run :func:`local_analysis` too (it also supplies the quadratic ``V``'s centre).

    Returns
    -------
    Conditions
    """
    opts = validate_options(options)
    t0 = time.perf_counter()
    aff = affine_drift(game, scheme) if opts["method"] == "auto" else None
    loc = local_analysis(game, scheme, opts) if local else None
    notes = []
    lyap_opt = opts["lyapunov"]
    builtin = lyap_opt in LYAPUNOV_BUILTIN
    if aff is not None and builtin:
        A, c, D, why = aff
        bd, bj, diss, ell, ly = exact_conditions(A, c, D, lyap_opt)
        searched = Searched(method="exact", why=why, seconds=time.perf_counter() - t0,
                            sigma=_sigma_source(game))
        exact_flag = True
        alpha_A = float(np.max(np.linalg.eigvals(A).real))
        if ly.holds and not ell.holds:
            Kr = np.hstack([np.linalg.matrix_power(A, k) @ D for k in range(game.d)])
            sv = np.linalg.svd(Kr, compute_uv=False)
            ctrl = bool(sv[-1] > 1e-10 * max(sv[0], 1e-300))
            notes.append("The drift is affine with spectral abscissa "
                         f"{alpha_A:.4g} < 0, so the invariant law N(m, P) exists and is unique even without C3 "
                         "(every solution converges to it); "
                         + ("P is non-singular: (A, σσᵀ) satisfies the Kalman rank condition (hypoelliptic)."
                            if ctrl else "P is singular: (A, σσᵀ) is not controllable."))
    else:
        quantities = []
        if lyap_opt in ("auto", "norm2"):
            quantities.append(_norm2())
        if lyap_opt in ("auto", "quadratic"):
            qv = _auto_quadratic(game, scheme, loc, aff)
            if qv is not None:
                quantities.append(qv)
            elif lyap_opt == "quadratic":
                quantities.append(None)
        if not builtin:
            quantities.append(_user(lyap_opt))
        extra = [np.asarray(e.x) for e in (loc.equilibria_b if loc else [])] + [np.asarray(game.x0)]
        real_q = [q for q in quantities if q is not None]
        bd, bj, diss, ell, lys, searched = search_conditions(
            game, scheme, opts, real_q, affine=None if aff is None else aff[:3], extra_points=extra)
        if None in quantities:
            lys.append(Lyapunov(False, "quadratic", None, None, None, False,
                                reason="no stable equilibrium of b found: no linearisation to build Q from"))
        elif lyap_opt == "auto" and len(real_q) == 1 and real_q[0].name == "norm2":
            lys.append(Lyapunov(False, "quadratic", None, None, None, False,
                                reason=_no_quadratic_reason(loc)))
        ly = _choose(lys)
        searched.why = ("user Lyapunov function: searched on the exact affine coefficients" if aff is not None
                        else "drift not affine (neither declared nor detected)" if opts["method"] == "auto"
                        else "method = 'search' requested")
        searched.seconds = time.perf_counter() - t0
        exact_flag = False
    v, reason = verdict(bd, ell, ly, diss)
    if loc is not None and loc.equilibria_b:
        e = loc.equilibria_b[0]
        if e.kind == "contraction" and not ly.holds:
            failing = [n for n, ok in (("C2", diss.holds), ("C4", ly.holds)) if not ok]
            notes.append(f"Locally the equilibrium x* = {_fmt_vec(e.x)} of b is stable ({e.description}), "
                         f"but globally {' and '.join(failing)} fail: "
                         "the local contraction does not extend to the whole space.")
    if not diss.holds and ly.holds:
        notes.append(f"C2 fails (c = {diss.c:.3g}) while C4 holds with {_vname(ly.V)}: the drift is stable "
                     "but not dissipative in |x| (non-normal).")
    return Conditions(
        game=game.name, scheme=scheme.name, order=scheme.order, lr=scheme.lr, batch_size=scheme.batch_size,
        sde=scheme.sde_name, exact=exact_flag, bounded_diffusion=bd, bounded_jacobian=bj,
        dissipativity=diss, ellipticity=ell, lyapunov=ly, verdict=v, reason=reason, local=loc,
        searched=searched, notes=notes,
    )


def _no_quadratic_reason(loc) -> str:
    if loc is None:
        return "the local analysis was not run: no linearisation to build Q from"
    if not loc.equilibria_b:
        return "no equilibrium of b found: no linearisation to build Q from"
    e = loc.equilibria_b[0]
    return f"the linearisation at x* = {_fmt_vec(e.x)} is not stable ({e.description}): no quadratic V"


def _auto_quadratic(game, scheme, loc, aff):
    """The quadratic ``V`` from the Lyapunov equation at the stable equilibrium nearest ``x0``."""
    if aff is not None:
        A, c = aff[0], aff[1]
        Q = lyapunov_matrix(A)
        if Q is None:
            return None
        return _quadratic(Q, np.linalg.solve(A, -c))
    if loc is None:
        return None
    for e in loc.equilibria_b:
        Q = lyapunov_matrix(np.asarray(e.jacobian))
        if Q is not None:
            return _quadratic(Q, np.asarray(e.x))
    return None


def check_config(cfg, local: bool = True) -> Conditions:
    """:func:`check` for a validated :class:`~invariant.config.Config` (its ``conditions`` options)."""
    c = check(cfg.game, cfg.scheme, getattr(cfg, "conditions", None), local=local)
    if getattr(cfg, "dynamics", "sde") == "sga":
        c.notes.append(f"The run simulates the discrete chains; these conditions are those of the "
                       f"approximating SDE ({cfg.scheme.sde_name}).")
    return c


# --------------------------------------------------------------------------- report
def _fmt_vec(v) -> str:
    v = np.asarray(v, dtype=float).ravel()
    big = float(np.max(np.abs(v))) if v.size else 0.0
    v = np.where(np.abs(v) <= 1e-12 * max(big, 1.0), 0.0, v) + 0.0
    if v.size > 6:
        return "(" + ", ".join(f"{t:.3g}" for t in v[:5]) + f", … {v.size} entries, |x| = {np.linalg.norm(v):.3g})"
    return "(" + ", ".join(f"{t:.3g}" for t in v) + ")"


def _f(x, fmt=".4g") -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return format(x + 0.0, fmt)


def format_report(c: Conditions) -> str:
    """A readable table of C1–C4, the local analysis and the verdict (``invariant check``)."""
    yes = lambda b: "yes" if b else "NO"  # noqa: E731
    s = c.searched
    how = ("exact (MATH.md §4 closed forms): " + s.why) if c.exact else (
        f"numerical search: {s.radii.get('count')} shells |x| = {_f(s.radii.get('min'), '.3g')}…{_f(s.radii.get('max'), '.3g')}, "
        f"{s.directions} directions (±axes on {s.axes or 'no shell'}), {s.starts} local optimisations, "
        f"{s.evaluations} evaluations, {s.seconds:.2f} s")
    lines = [
        f"{c.game} game, {c.scheme} lr={c.lr:g} N={c.batch_size}, SDE {c.sde} (order {c.order})",
        f"  method: {how}",
        f"  {'condition':<28} {'holds':<6} constants",
    ]
    d, e, b, j, ly = c.dissipativity, c.ellipticity, c.bounded_diffusion, c.bounded_jacobian, c.lyapunov
    ge, le = ("=", "=") if c.exact else ("≥", "≤")  # a search bounds a sup from below, an inf from above
    lines.append(f"  {'C1 bounded σσᵀ':<28} {yes(b.holds):<6} sup ‖σσᵀ‖ {ge} {_f(b.sup_norm)}"
                 + ("" if b.holds else f": {b.reason}"))
    lines.append(f"  {'C1 bounded ∇b':<28} {yes(j.holds):<6} sup ‖∇b‖ {ge} {_f(j.sup_norm)}"
                 + ("" if j.holds else f": {j.reason}"))
    if d.holds:
        c2 = (f"c = {_f(d.c)}; x·b ≤ −{_f(d.c_at_R)}|x|² for |x| ≥ R = {_f(d.R)}; "
              f"weak: α = {_f(d.alpha)}, β = {_f(d.beta)}")
    else:
        c2 = f"c = {_f(d.c)}: {d.reason}"
    lines.append(f"  {'C2 dissipativity':<28} {yes(d.holds):<6} {c2}")
    lines.append(f"  {'C3 uniform ellipticity':<28} {yes(e.holds):<6} inf λ_min(σσᵀ) {le} {_f(e.lambda_min)}"
                 + ("" if e.holds else f": {e.reason}"))
    lab = f"C4 Lyapunov ({_vname(ly.V).replace('V = ', '')})"
    if ly.holds:
        c4 = f"LV ≤ −1 for |x| ≥ R* = {_f(ly.R_star)}; LV ≤ −aV + β with a = {_f(ly.a)}, β = {_f(ly.beta)}"
    else:
        c4 = ly.reason
    lines.append(f"  {lab:<28} {yes(ly.holds):<6} {c4}")
    for cand in ly.candidates:
        if cand["V"] != ly.V:
            lines.append(f"  {'   also tried ' + _vname(cand['V']).replace('V = ', ''):<28} {yes(cand['holds']):<6} {cand['reason']}")
    if "Monte Carlo" in s.sigma:
        lines.append(f"  Σ: {s.sigma} — λ_min and sup ‖σσᵀ‖ carry its sampling error")
    if c.local is not None:
        lines.append(f"  local: {c.local.summary}")
    for n in c.notes:
        lines.append(f"  note: {n}")
    lines.append(f"verdict: {c.verdict} — {c.reason}")
    return "\n".join(lines)
