"""Local analysis: the equilibria of ``b0`` and of ``b0 + lr·b1`` and their Jacobian
eigenvalues (rotation, contraction, instability) for every scheme's game term, in the style of
Mescheder et al. (2018) (``docs/theory.md §3–§4``)."""
from __future__ import annotations

import math
from functools import partial

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from .. import exact, optimizers
from ..options.conditions import budget, validate_options
from ..schemes import SCHEMES, Scheme
from .linalg import controllable, sym
from .results import Equilibrium, Local
from .shells import Problem
from .text import fmt_vec


def _classify(eigs, scale) -> tuple[str, float, float, str]:
    """``(kind, rate, frequency, description)`` of a Jacobian's eigenvalues (:class:`Equilibrium`)."""
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


def jacobians_at_b0_zero(game, x, lr):
    """Exact ``∇b0`` and each scheme's ``∇(b0 + lr·b1)`` at a zero of ``b0`` from the Hessian.

    At ``∇g = 0`` every term of ``b1`` (docs/theory.md §3, ``Scheme.b1``) vanishes to first order
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


# --------------------------------------------------------------------------- equilibria
def _affine_zeros(game, drifts, lr, names) -> bool:
    """Append to each drift's store its zero ``A⁻¹(−c)`` (or, singular ``A``, the least-norm one
    of an affine set of zeros) from :mod:`invariant.exact`; False if the closed form fails."""
    try:
        for sch, store, nm in drifts:
            A, c = exact.drift(game, sch.name, sch.order, lr)
            m = np.linalg.lstsq(A, -c, rcond=None)[0]
            res = float(np.linalg.norm(A @ m + c))
            if res <= 1e-10 * (1.0 + float(np.linalg.norm(c))):
                store.append(_equilibrium(nm, m, A, res, names))
    except (ValueError, KeyError, np.linalg.LinAlgError):
        return False
    return True


def _root_starts(game, starts: int, seed: int) -> list:
    """``x0``, the origin and scrambled-Sobol points in a ball of radius ``max(1, 2|x0|)``."""
    d = game.d
    x0 = np.asarray(game.x0, dtype=np.float64)
    rad = max(1.0, 2 * float(np.linalg.norm(x0)))
    pts = [x0, np.zeros(d)]
    if starts > 2:
        U = qmc.Sobol(d, scramble=True, seed=seed + 1).random_base2(max(1, math.ceil(math.log2(starts))))
        pts += list((2 * U[: starts - 2] - 1) * rad / math.sqrt(d) * 1.5)
    return pts[:starts]


def _roots(fun, pts, maxfev: int) -> list:
    """Distinct zeros ``(x, |fun(x)|)`` of ``fun`` found by ``hybr`` from each start."""
    found = []
    for p in pts:
        try:
            with np.errstate(all="ignore"):
                res = optimize.root(fun, p, method="hybr", options={"maxfev": maxfev})
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
    return found


def _searched_zeros(game, drifts, lr, names, opts) -> None:
    """Append to each drift's store its zeros found by root search, nearest ``x0`` first."""
    x0 = np.asarray(game.x0, dtype=np.float64)
    pts = _root_starts(game, opts["equilibrium_starts"], opts["seed"])
    maxfev = max(opts["equilibrium_evals"] // (2 * len(pts)), game.d + 2)
    for sch, store, nm in drifts:
        found = _roots(partial(sch.drift, game), pts, maxfev)
        found.sort(key=lambda t: np.linalg.norm(t[0] - x0))
        for x, r in found:
            J = jacobians_at_b0_zero(game, x, lr)["b0"] if nm == "b0" else Problem(game, sch).jacobian(x)
            store.append(_equilibrium(nm, x, J, r, names))


# --------------------------------------------------------------------------- at the equilibrium
def _linearisations(game, xs, lr) -> dict:
    """``∇b0`` and each scheme's order-2 ``∇b`` at the zero ``xs`` of ``b0`` (exact when affine)."""
    if getattr(game, "affine", False):
        try:
            Js = {"b0": exact.drift(game, "sml", 1, lr)[0]}
            for s in SCHEMES:
                Js[f"{s}-2"] = exact.drift(game, s, 2, lr)[0]
            return Js
        except (ValueError, KeyError):
            pass
    return jacobians_at_b0_zero(game, xs, lr)


def _noise_at(game, scheme: Scheme, xs, A):
    """``(eigenvalues of σσᵀ(x*), Kalman controllability of (A, σσᵀ(x*)), local covariance P)``.

    ``P`` solves ``AP + PAᵀ + σσᵀ(x*) = 0`` (the OU approximation's stationary covariance,
    :func:`invariant.exact.stationary`) when controllable and ``A`` is Hurwitz.
    """
    with np.errstate(all="ignore"):
        Dx = sym(scheme.diffusion(game, xs))
    if not np.all(np.isfinite(Dx)):
        return None, None, None
    d = A.shape[0]
    ctrl = controllable(A, Dx) if d > 0 else None
    Ploc = None
    if ctrl and exact.spectral_abscissa(A) < 0:
        Ploc = exact.stationary(A, np.zeros(d), Dx)[1].tolist()
    return np.linalg.eigvalsh(Dx).tolist(), ctrl, Ploc


# --------------------------------------------------------------------------- the optimiser's map
_NOT_DIFFERENTIABLE = ("its update divides by √v, and v = 0 at a zero-gradient equilibrium: the map is not "
                       "differentiable there (eps only turns it into a steep map of slope lr/eps), so a one-step "
                       "Jacobian says nothing about training; check the run's stationary law instead")


def _map_jacobian(game, scheme: Scheme, z):
    """Central-difference Jacobian of the deterministic map (:func:`invariant.optimizers.step`
    with exact gradients) at ``z = (x, s)``, with steps ``h_j = ε^{1/3} max(1, |z_j|)``."""
    d = game.d

    def step(w):
        x, s = optimizers.step(game, scheme, w[:d], w[d:], 0, None)
        return np.concatenate([x, s])

    n = z.shape[0]
    h = np.finfo(float).eps ** (1 / 3) * np.maximum(1.0, np.abs(z))
    cols = [(step(z + h[j] * e) - step(z - h[j] * e)) / (2 * h[j]) for j, e in enumerate(np.eye(n))]
    return np.column_stack(cols), "central differences of the deterministic step, h_j = ε^(1/3)·max(1, |z_j|)"


def step_map(game, scheme: Scheme, xs) -> dict:
    """The optimiser's deterministic one-step map at the equilibrium ``x*`` (docs/theory.md §4b).

    The map is :func:`invariant.optimizers.step` with exact gradients on the augmented state
    ``z = (x, s)`` (velocity, last field, …), whose fixed point is ``(x*, 0)``.  Its Jacobian
    there is the exact augmented matrix ``A`` of :func:`invariant.exact.discrete_optimizer`
    for an affine game, else central differences (:func:`_map_jacobian`).  The training
    contracts locally iff the spectral radius ``ρ`` is < 1.

    Returns
    -------
    dict
        ``optimizer``, ``scheme``, ``applicable``, ``spectral_radius``, ``contracts``,
        ``state_size``, ``method`` and a one-line ``description`` (or the ``reason`` it is not
        applicable: RMSProp and Adam).
    """
    opt = scheme.optimizer
    label = f"{opt.name}, {scheme.name.upper()}" + ("" if opt.lr_ratio == 1 else f", lr_ratio {opt.lr_ratio:g}") + (
        "" if opt.n_critic == 1 else f", n_critic {opt.n_critic}")
    out = {"optimizer": opt.name, "scheme": scheme.name, "state_size": opt.state_size(game.d)}
    if opt.name not in optimizers.LINEAR:
        return {**out, "applicable": False, "spectral_radius": None, "contracts": None, "method": None,
                "reason": _NOT_DIFFERENTIABLE, "description": f"{label}: not applicable, {_NOT_DIFFERENTIABLE}"}
    z = np.concatenate([np.asarray(xs, dtype=np.float64), np.zeros(out["state_size"])])
    J = None
    if getattr(game, "affine", False):
        try:
            J, method = exact.discrete_optimizer(game, scheme)[0], "the exact augmented map of the affine game"
        except ValueError:
            J = None
    if J is None:
        J, method = _map_jacobian(game, scheme, z)
    rho = float(np.max(np.abs(np.linalg.eigvals(J))))
    neutral = abs(rho - 1.0) <= 1e-10  # round-off of a unit eigenvalue (a line of equilibria, a centre)
    contracts = rho < 1.0 and not neutral
    verdict = "= 1: neutral, no contraction" if neutral else "< 1: contracts" if contracts else "> 1: expands"
    desc = f"{label}: spectral radius of the one-step Jacobian at x*: {rho:.6g} {verdict} ({method})"
    return {**out, "applicable": True, "spectral_radius": rho, "contracts": contracts, "method": method,
            "reason": "", "description": desc}


def local_analysis(game, scheme: Scheme, options: dict | None = None) -> Local:
    """Equilibria of ``b0`` and of ``b0 + lr·b1`` and their linearisations (Mescheder et al.).

    Zeros are found by ``scipy.optimize.root`` (``hybr``) from ``equilibrium_starts`` starts
    (the game's ``x0``, the origin, and scrambled-Sobol points in a ball of radius
    ``max(1, 2|x0|)``), within ``equilibrium_evals`` drift evaluations, and de-duplicated.
    For an affine game the unique zero ``A⁻¹(−c)`` is used.  At the first zero of ``b0`` the
    Jacobians of ``b0`` and of the three schemes' order-2 drifts are compared: the game term
    ``b1^{ALT} − b1^{SML}`` (docs/theory.md §3) moves the eigenvalues, e.g. on the Dirac-GAN SML's
    order-2 drift spirals out at rate ``lr·f'(0)²/2`` while ALT-D/ALT-G keep a centre.

    Returns
    -------
    Local
    """
    opts = budget(validate_options(options), game.d)
    names = game.param_names
    lr, N = scheme.lr, scheme.batch_size
    eq0, eqb = [], []
    drifts = ((Scheme(scheme.name, lr, N, 1), eq0, "b0"), (Scheme(scheme.name, lr, N, 2), eqb, f"{scheme.name}-2"))
    if not (getattr(game, "affine", False) and _affine_zeros(game, drifts, lr, names)):
        _searched_zeros(game, drifts, lr, names, opts)
    schemes = {}
    Deig = ctrl = Ploc = smap = None
    if eq0:
        xs = np.asarray(eq0[0].x)
        Js = _linearisations(game, xs, lr)
        for k, J in Js.items():
            e = _equilibrium(k, xs, J, 0.0, names)
            schemes[k] = {"eigenvalues": e.eigenvalues, "kind": e.kind, "rate": e.rate,
                          "frequency": e.frequency, "description": e.description}
        A = np.asarray(Js["b0" if scheme.order == 1 else f"{scheme.name}-2"])
        Deig, ctrl, Ploc = _noise_at(game, scheme, xs, A)
        smap = step_map(game, scheme, xs)
    summary = _local_summary(eq0, eqb, schemes, Deig, scheme, names, ctrl, Ploc)
    return Local(eq0, eqb, schemes, Deig, ctrl, Ploc, opts["equilibrium_starts"], summary, smap)


def _local_summary(eq0, eqb, schemes, Deig, scheme, names, ctrl=None, Ploc=None) -> str:
    if not eq0:
        return (f"no equilibrium of b0 found from the {len(eqb) and 'same ' or ''}starts tried"
                + (f"; b0 + lr·b1 has {len(eqb)}" if eqb else ""))
    e = eq0[0]
    parts = [f"at x* = {fmt_vec(e.x)}: b0 {e.description}"]
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
            parts.append(f"σσᵀ(x*) is degenerate (eigenvalues {fmt_vec(Deig)}) but the linearisation is "
                         "controllable (Kalman rank d): locally the drift carries the noise into every direction")
        else:
            parts.append(f"σσᵀ(x*) is degenerate (eigenvalues {fmt_vec(Deig)})"
                         + (" and the linearisation is not controllable" if ctrl is False else ""))
    if Ploc is not None:
        parts.append(f"local Gaussian approximation N(x*, P) with tr P = {np.trace(Ploc):.3g}")
    extra = len(eqb) - len(eq0)
    if extra > 0:
        parts.append(f"b0 + lr·b1 has {extra} further (spurious) equilibri{'um' if extra == 1 else 'a'}")
    return "; ".join(parts)
