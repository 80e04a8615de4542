"""What the numerical search samples: the SDE's ``b`` and ``σσᵀ`` on geometric shells of
directions, local refinement of the worst samples, and trends of shell extremes over the
radii (``docs/theory.md §4``).

A search cannot prove a bound at infinity, so its constants are read off the outermost
shells and their trend over the last decade of radii (:data:`TAIL_DECADE`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy.stats import norm as _normal
from scipy.stats import qmc

from ..games.base import Game
from ..schemes import Scheme
from .linalg import psd_sqrt, sym

TAIL_DECADE = 10.0   # trends are read over the last decade of radii
TREND = 0.3          # |log-log slope| above which a quantity is "still growing/decaying"
AXES_D = 8           # up to this dimension the ±e_i directions are added on every shell


def directions(d: int, n: int, seed: int, axes: bool) -> np.ndarray:
    """``n`` scrambled-Sobol directions on the unit sphere (plus ``±e_i`` when ``axes``)."""
    m = max(1, math.ceil(math.log2(max(n, 2))))
    U = qmc.Sobol(d, scramble=True, seed=seed).random_base2(m)[:n]
    Z = _normal.ppf(np.clip(U, 1e-12, 1 - 1e-12))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    if axes:
        E = np.eye(d)
        Z = np.vstack([Z, E, -E])
    return Z


class Problem:
    """Counts evaluations of ``b`` and ``σσᵀ`` (the game's, or an exact affine one's).

    The objectives the local refinement maximises are its methods (:meth:`ratio`,
    :meth:`lam_min`, :meth:`lam_max`, :meth:`generator`), so every evaluation is counted.
    """

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
        return sym(self.scheme.diffusion(self.game, x))

    def factor(self, x):
        """The noise columns ``σ(x)``: the symmetric square root of ``σσᵀ(x)`` (docs/theory.md §4.4)."""
        self.evals += 1
        return psd_sqrt(self.D(x))

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

    def jvp(self, x, v):
        """``∇b(x) v``: for ``b0`` the game's Hessian–vector product (``∇b0 = SH``, ``S = −1`` on
        θ), for ``lr·b1`` (order 2) a central difference along ``v``; ``Av`` when affine."""
        if self.affine is not None:
            return self.affine[0] @ v
        self.evals += 1
        game, sch = self.game, self.scheme
        out = game.hvp(x, v)
        out[: game.d_theta] *= -1.0
        if sch.order == 2:
            nv = float(np.linalg.norm(v))
            h = 1e-6 * max(1.0, float(np.linalg.norm(x))) / max(nv, 1e-300)
            out += sch.lr * (sch.b1(game, x + h * v) - sch.b1(game, x - h * v)) / (2 * h)
        return out

    def ratio(self, x) -> float:
        """``x·b(x)/|x|²`` (C2)."""
        return float(x @ self.b(x)) / float(x @ x)

    def _eigvalsh_D(self, x):
        w = np.linalg.eigvalsh(self.D(x))
        self.evals += 1
        return w

    def lam_min(self, x) -> float:
        """``λ_min(σσᵀ(x))`` (C3)."""
        return float(self._eigvalsh_D(x)[0])

    def lam_max(self, x) -> float:
        """``‖σσᵀ(x)‖₂`` (C1)."""
        return float(self._eigvalsh_D(x)[-1])

    def generator(self, V, x) -> float:
        """``LV(x)`` of a candidate ``V`` (C4)."""
        b, D = self.both(x)
        return V.gen(x, b, D)


def sigma_source(game) -> str:
    """How the game's ``Σ`` is obtained, for :attr:`~invariant.conditions.Searched.sigma`."""
    if type(game).sigma is Game.sigma:
        return "Monte Carlo estimate from 20000 per-sample gradients per point (Game.sigma)"
    return f"closed form / quadrature ({type(game).__name__}.sigma)"


@dataclass
class ShellValues:
    """A searched quantity on the shells: ``values[i, j]`` at ``X[i, j]`` unless the local
    refinement found a worse point, kept in ``moved[(i, j)]``."""

    values: np.ndarray
    X: np.ndarray
    moved: dict = field(default_factory=dict)

    def point(self, i, j) -> np.ndarray:
        return self.moved.get((i, j), self.X[i, j])


@dataclass
class Grid:
    """The searched shells and every quantity sampled on them (built by :func:`sample`).

    Attributes
    ----------
    radii : ndarray, shape (ns,)
    X : ndarray, shape (ns, nd, d)
        The points: ``radii[i] · directions[j]``.
    evaluated : ndarray of bool, shape (ns, nd)
        False where a point was skipped (axes off the outer decade in high dimension); the
        fields hold neutral values there (never a max, a min or a start).
    axes : str
        Where the ``±e_i`` directions were used.
    radius_max : float
        The search bound.
    ratio, lam_min, lam_max : ShellValues
        ``x·b/|x|²``, ``λ_min(σσᵀ)`` and ``‖σσᵀ‖``.
    spread : ndarray
        ``|b(x) − b(0)|/|x|``: where ``b`` varies most (where ``‖∇b‖`` is probed).
    LV, V : list
        Per candidate ``V``: the ShellValues of ``LV`` and the array of ``V``.
    extra : list of (x, λ_min, λ_max)
        ``σσᵀ`` at the origin and the extra points (equilibria, ``x0``).
    """

    radii: np.ndarray
    X: np.ndarray
    evaluated: np.ndarray
    axes: str
    radius_max: float
    ratio: ShellValues
    lam_min: ShellValues
    lam_max: ShellValues
    spread: np.ndarray
    LV: list
    V: list
    extra: list

    @property
    def tail(self) -> np.ndarray:
        """The outer shells ``|x| ≥ radius_max/2`` (at least the last one)."""
        tail = self.radii >= self.radius_max / 2
        if not tail.any():
            tail[-1] = True
        return tail

    @property
    def tail_mask(self) -> np.ndarray:
        return np.broadcast_to(self.tail[:, None], self.evaluated.shape)

    @property
    def decade(self) -> np.ndarray:
        """The shells of the last decade of radii."""
        return self.radii >= self.radii[-1] / TAIL_DECADE

    def profile(self, name: str, values) -> dict:
        return {"r": self.radii.tolist(), name: np.asarray(values).tolist()}


def shell_points(opts: dict, d: int):
    """``(radii, X, evaluated)``: the searched points ``X[i, j] = radii[i]·u_j`` and which are used.

    Directions: scrambled Sobol on every shell, plus ``±e_i`` (a network's degenerate
    subspaces, e.g. dead units, lie along axes) on every shell for ``d <= AXES_D``, on the
    outer decade above.  ``opts`` are the options with their budgets resolved.
    """
    radii = np.geomspace(opts["radius_min"], opts["radius_max"], opts["shells"])
    dirs = directions(d, opts["directions"], opts["seed"], axes=True)
    X = radii[:, None, None] * dirs[None, :, :]
    evaluated = np.ones(X.shape[:2], dtype=bool)
    if d > AXES_D:
        evaluated[radii < radii[-1] / TAIL_DECADE, opts["directions"]:] = False
    return radii, X, evaluated


def sample(prob: Problem, opts: dict, quantities: list, extra_points=()) -> Grid:
    """Evaluate ``b``, ``σσᵀ`` and each candidate's ``V`` and ``LV`` on the shells
    (:func:`shell_points`).  Non-finite values count as the worst for their condition."""
    d = prob.d
    radii, X, evaluated = shell_points(opts, d)
    q, lmin, lmax, spread = (np.empty(X.shape[:2]) for _ in range(4))
    LV, VV = (np.empty((len(quantities),) + X.shape[:2]) for _ in range(2))
    b_origin = prob.b(np.zeros(d))
    with np.errstate(all="ignore"):
        for i, j in np.ndindex(*X.shape[:2]):
            if not evaluated[i, j]:  # neutral values: never a max, a min or a start
                q[i, j] = lmax[i, j] = spread[i, j] = -np.inf
                lmin[i, j] = np.inf
                LV[:, i, j] = -np.inf
                VV[:, i, j] = np.inf
                continue
            x = X[i, j]
            b, D = prob.both(x)
            q[i, j] = float(x @ b) / (radii[i] ** 2)
            w = np.linalg.eigvalsh(D) if np.all(np.isfinite(D)) else np.array([np.nan, np.nan])
            lmin[i, j], lmax[i, j] = w[0], w[-1]
            spread[i, j] = np.linalg.norm(b - b_origin) / radii[i]
            for k, Vq in enumerate(quantities):
                LV[k, i, j] = Vq.gen(x, b, D)
                VV[k, i, j] = Vq.value(x)
    for arr in (q, lmax, spread):
        arr[~np.isfinite(arr) & evaluated] = np.inf
    LV[~np.isfinite(LV) & evaluated[None]] = np.inf
    lmin[~np.isfinite(lmin) & evaluated] = -np.inf
    extra = [np.zeros(d)] + [np.asarray(p, dtype=np.float64) for p in extra_points]
    return Grid(radii, X, evaluated, "all shells" if d <= AXES_D else "outer decade", opts["radius_max"],
                ShellValues(q, X), ShellValues(lmin, X), ShellValues(lmax, X), spread,
                [ShellValues(L, X) for L in LV], list(VV), _diffusion_extremes(prob, extra))


def _diffusion_extremes(prob: Problem, points) -> list:
    """``(x, λ_min, λ_max)`` of ``σσᵀ(x)`` at each point (for the inf/sup of C1 and C3)."""
    out = []
    for p in points:
        D = prob.D(p)
        w = np.linalg.eigvalsh(D) if np.all(np.isfinite(D)) else np.array([-np.inf, np.inf])
        out.append((p, w[0], w[-1]))
    return out


def top(values, k, mask=None, largest=True) -> list:
    """Indices of the ``k`` largest (or smallest) finite ``values`` (within ``mask``)."""
    v = np.where(mask, values, -np.inf if largest else np.inf) if mask is not None else values
    flat = np.argsort(-v if largest else v, axis=None)[:k]
    return [np.unravel_index(f, v.shape) for f in flat if np.isfinite(v.flat[f])]


class _OutOfBudget(Exception):
    pass


def refine(objective, x0, maxfun):
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


@dataclass
class Refiner:
    """Local refinement from the worst samples, within a budget of evaluations per start.

    ``starts`` per condition, ``per_start`` evaluations each (none below 3); ``n_starts``
    and ``n_local`` count what was run, for :class:`~invariant.conditions.Searched`.
    """

    starts: int
    per_start: int
    n_starts: int = 0
    n_local: int = 0

    @classmethod
    def for_budget(cls, opts: dict, n_quantities: int) -> Refiner:
        """Split ``local_evals`` over the objectives: C2 (2 start sets), C3, C1 and each ``V``."""
        starts = opts["local_starts"]
        n_obj = 4 + n_quantities
        return cls(starts, opts["local_evals"] // max(1, n_obj * starts) if starts else 0)

    def improve(self, objective, picks, vals: ShellValues, largest=True) -> None:
        """Refine from each sample ``picks[k] = (i, j)`` of ``vals``; keep a worse point found."""
        obj = objective if largest else (lambda y: -objective(y))
        for (i, j) in picks:
            if self.per_start < 3:
                break
            x, val, used = refine(obj, vals.X[i, j], self.per_start)
            self.n_starts += 1
            self.n_local += used
            val = val if largest else -val
            if np.isfinite(val) and ((val > vals.values[i, j]) if largest else (val < vals.values[i, j])):
                vals.values[i, j] = val
                vals.moved[(i, j)] = x


def slope(r, v):
    """Log-log slope of positive ``v`` against ``r`` over the last decade of radii (None if undefined)."""
    r = np.asarray(r, dtype=float)
    v = np.asarray(v, dtype=float)
    sel = r >= r[-1] / TAIL_DECADE
    if sel.sum() < 2 or not np.all(np.isfinite(v[sel])) or np.any(v[sel] <= 0):
        return None
    return float(np.polyfit(np.log(r[sel]), np.log(v[sel]), 1)[0])


def erratic(r, v) -> bool:
    """True when positive shell extremes ``v`` jump up and down by more than 10× between
    neighbouring shells over the last decade: the shells are under-sampled (a rare set of
    directions carries the extreme), so a bound read off them is not established."""
    r = np.asarray(r, dtype=float)
    v = np.asarray(v, dtype=float)
    sel = r >= r[-1] / TAIL_DECADE
    w = v[sel]
    if w.size < 3 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        return False
    steps = np.diff(np.log(w))
    return bool(np.max(np.abs(steps)) > math.log(10.0) and np.any(steps > 0) and np.any(steps < 0))


def tail_start(ok) -> int:
    """Smallest ``k`` with ``ok[k:]`` all true (``len(ok)`` when the last entry fails)."""
    k = len(ok)
    while k > 0 and ok[k - 1]:
        k -= 1
    return k
