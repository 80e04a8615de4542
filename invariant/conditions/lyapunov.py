"""Lyapunov candidates for C4 (``LV ≤ −1`` for ``|x| ≥ R*``, ``docs/theory.md §4``) and their
searched check.

``Lφ = b·∇φ + ½ Tr(σσᵀ∇²φ)``.  The candidates are ``V = |x|²``, the quadratic
``V = (x − x*)ᵀQ(x − x*)`` with ``AᵀQ + QA = −I`` and a user function
``[conditions] lyapunov = "pkg.module:function"`` returning ``V(x)`` or ``(V, ∇V, ∇²V)``.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from ..options.conditions import lyapunov_function
from .results import Lyapunov, worst_point
from .shells import TAIL_DECADE, TREND, Grid, Problem, Refiner, slope, tail_start, top
from .text import vname


class Quantity:
    """A candidate Lyapunov function: ``V(x)`` and ``LV(x; b, D)`` (``D = σσᵀ``)."""

    def __init__(self, name, value, gen, Q=None, centre=None):
        self.name, self.value, self.gen, self.Q, self.centre = name, value, gen, Q, centre


def norm2() -> Quantity:
    """``V = |x|²``: ``LV = 2x·b + Tr D``."""
    return Quantity("norm2", lambda x: float(x @ x), lambda x, b, D: float(2 * x @ b + np.trace(D)))


def quadratic(Q, m) -> Quantity:
    """``V = (x − m)ᵀQ(x − m)``: ``LV = 2(x − m)ᵀQb + Tr(QD)``."""
    Q = np.asarray(Q)
    m = np.asarray(m)

    def value(x):
        y = x - m
        return float(y @ Q @ y)

    def gen(x, b, D):
        return float(2 * (x - m) @ Q @ b + np.sum(Q * D))

    return Quantity("quadratic", value, gen, Q=Q, centre=m)


def user(target: str) -> Quantity:
    """The user's ``V`` (``"pkg.module:function"``); finite differences when it returns ``V`` alone."""
    fn = lyapunov_function(target)

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
            g, H = _fd_grad_hess(value, x)
        return float(g @ b + 0.5 * np.sum(H * D))

    return Quantity(target, value, gen)


def _fd_grad_hess(f, x):
    """Central-difference gradient and Hessian of ``f`` at ``x``."""
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


def choose(cands: list) -> Lyapunov:
    """The first candidate ``V`` that holds (``|x|²`` before the quadratic one), all listed."""
    best = next((c for c in cands if c.holds), cands[0])
    best.candidates = [{"V": c.V, "holds": c.holds, "R_star": c.R_star, "a": c.a, "beta": c.beta,
                        "reason": c.reason} for c in cands]
    if not best.holds and len(cands) > 1:
        best.reason = "; ".join(f"{vname(c.V)}: {c.reason}" for c in cands)
    return best


# --------------------------------------------------------------------------- searched C4
def _rstar(radii, Lmax):
    """Smallest shell radius from which ``LV ≤ −1`` on every outer shell (None if the last fails)."""
    k = tail_start(Lmax <= -1.0)
    if k == len(radii):
        return None
    return float(radii[k]) if k > 0 else 0.0


def _radially_unbounded(g: Grid, V) -> bool:
    """``V ≥ 0`` on the search, its shell minima increase over the last decade and the
    outermost one exceeds ``V`` on the innermost shell."""
    vmin = V.min(axis=1)
    Ve = V[g.evaluated]
    return bool(np.all(Ve >= -1e-12 * np.abs(Ve).max()) and np.all(np.diff(vmin[g.decade]) > 0)
                and vmin[-1] > V[0][g.evaluated[0]].max())


def _geometric(g: Grid, L, V, Rs: float):
    """``(a, β)`` of ``LV ≤ −aV + β``: ``a`` half the asymptotic rate ``−LV/V`` (None if not negative)."""
    radii = g.radii
    with np.errstate(all="ignore"):
        rs = np.max(np.where(g.evaluated & (V > 0), L / V, -np.inf), axis=1)  # largest LV/V per shell
    gr = slope(radii, -rs) if np.all(rs[g.decade] < 0) else None
    if gr is not None and gr > TREND:  # LV/V → −∞: use the shells from max(R*, 1) on
        rate = float(rs[radii >= max(Rs, 1.0)].max()) if np.any(radii >= max(Rs, 1.0)) else float(rs[-1])
    else:
        rate = float(rs[g.tail].max())
    if rate >= 0:
        return None, None
    a = -rate / 2
    return a, float(max(0.0, np.max(L[g.evaluated] + a * V[g.evaluated])))


def _failure(g: Grid, Lmax, Rs, unbounded: bool) -> str:
    if not unbounded:
        return "V is not radially unbounded (or negative) on the searched shells"
    if Rs is None:
        i = int(np.argmax(np.where(g.tail, Lmax, -np.inf)))
        return f"LV = {Lmax[i]:.3g} > −1 at |x| = {g.radii[i]:.3g} (outer shells)"
    return f"LV ≤ −1 only from |x| = {Rs:.3g}, less than a decade inside the search bound: inconclusive"


def search_lyapunov(g: Grid, k: int, V: Quantity, prob: Problem, ref: Refiner) -> Lyapunov:
    """C4 for the ``k``-th candidate ``V`` on the searched shells.

    Local refinement maximises ``LV`` from the samples with the least margin
    ``(LV + 1)/(1 + |V|)`` on the shells from just inside the first estimate of ``R*``;
    ``R*`` must lie at least a decade inside the search bound, and ``V`` must be radially
    unbounded on the shells.
    """
    lv, Vk, radii = g.LV[k], g.V[k], g.radii
    L = lv.values
    Rt = _rstar(radii, L.max(axis=1))
    idx_r = np.searchsorted(radii, Rt / 10 ** 0.2) if Rt is not None else 0
    mask = np.broadcast_to((np.arange(radii.size) >= idx_r)[:, None], L.shape)
    with np.errstate(all="ignore"):
        margin = np.where(g.evaluated, (L + 1.0) / (1.0 + np.abs(Vk)), -np.inf)
    ref.improve(partial(prob.generator, V), top(margin, ref.starts, mask), lv)
    Lmax = L.max(axis=1)
    Rs = _rstar(radii, Lmax)
    unbounded = _radially_unbounded(g, Vk)
    ok = Rs is not None and Rs <= g.radius_max / TAIL_DECADE and unbounded
    if ok:
        a, beta = _geometric(g, L, Vk, Rs)
        reason = f"LV ≤ −1 on every searched shell from R* = {Rs:.4g} to {radii[-1]:.3g}"
        picks = top(margin, 3, mask)
    else:  # the largest LV on the outer decade: where the condition fails
        a = beta = None
        reason = _failure(g, Lmax, Rs, unbounded)
        picks = top(L, 3, np.broadcast_to(g.decade[:, None], L.shape))
    return Lyapunov(bool(ok), V.name, Rs if ok else None, a, beta, False,
                    Q=None if V.Q is None else np.asarray(V.Q).tolist(),
                    centre=None if V.centre is None else np.asarray(V.centre).tolist(),
                    worst=[worst_point(lv.point(i, j), L[i, j]) for (i, j) in picks],
                    profile=g.profile("max_LV", Lmax), reason=reason)
