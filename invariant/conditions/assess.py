"""The verdict on a unique invariant measure for one SDE: C1–C4 by the exact or the searched
path, Hörmander's condition and reachability where the noise is degenerate, the local
analysis, and notes that explain the verdict (``docs/theory.md §4``)."""
from __future__ import annotations

import time

import numpy as np

from .. import exact
from ..errors import ConfigError
from ..optimizers import SDE_ORDERS
from ..options.conditions import LYAPUNOV_BUILTIN, SMALL_D, budget, validate_options
from ..schemes import Scheme
from . import hormander, reach
from .affine import affine_drift, exact_conditions
from .linalg import controllable, lyapunov_matrix
from .local import local_analysis
from .lyapunov import choose, norm2, quadratic, user
from .results import (BoundedDiffusion, Conditions, Dissipativity, Ellipticity, Hormander, Local, Lyapunov,
                      Reachability, Searched)
from .search import search_conditions
from .shells import Problem, shell_points, sigma_source
from .text import fmt_vec, hormander_summary, reach_summary, vname


def verdict(bounded_diffusion: BoundedDiffusion, ellipticity: Ellipticity, lyapunov: Lyapunov,
            dissipativity: Dissipativity | None = None, hormander: Hormander | None = None,
            reachability: Reachability | None = None) -> tuple[str, str]:
    """``("unique" | "unique (hypoelliptic)" | "exists" | "not established", one-sentence reason)``
    (docs/theory.md §4).

    ``unique``: C3 and C4 hold with bounded σ; ``unique (hypoelliptic)``: C3 fails but C4 holds
    with bounded σ, Hörmander's condition holds at every point examined and a stable
    equilibrium is reachable (§4.4); ``exists``: C4 holds but C3 (or the bound on σ) fails
    and hypoellipticity was not shown; otherwise ``not established``, naming the failing
    condition.
    """
    V = vname(lyapunov.V)
    c2 = ""
    if dissipativity is not None and not dissipativity.holds and lyapunov.holds:
        c2 = f" (C2 fails, c = {dissipativity.c:.3g}, but {V} proves C4)"
    if lyapunov.holds and ellipticity.holds and bounded_diffusion.holds:
        return "unique", (f"C3 (λ_min = {ellipticity.lambda_min:.3g}) and C4 ({V}, R* = {lyapunov.R_star:.3g}) "
                          f"hold with bounded σ (sup ‖σσᵀ‖ = {bounded_diffusion.sup_norm:.3g}){c2}.")
    if lyapunov.holds and bounded_diffusion.holds and hormander is not None and hormander.holds \
            and reachability is not None and reachability.holds:
        return "unique (hypoelliptic)", (
            f"C3 fails but C4 ({V}, R* = {lyapunov.R_star:.3g}) holds with bounded σ "
            f"(sup ‖σσᵀ‖ = {bounded_diffusion.sup_norm:.3g}){c2}, Hörmander's condition holds "
            f"({hormander_summary(hormander)}) and a stable equilibrium is reachable ({reach_summary(reachability)}).")
    if lyapunov.holds:
        fails = []
        if not ellipticity.holds:
            fails.append(f"C3 fails ({ellipticity.reason})")
        if not bounded_diffusion.holds:
            fails.append(f"C1 fails ({bounded_diffusion.reason})")
        return "exists", f"C4 holds ({V}, R* = {lyapunov.R_star:.3g}){c2} but " + " and ".join(fails) + "."
    return "not established", f"C4 fails: {lyapunov.reason}."


def hypoelliptic_gap(bounded_diffusion: BoundedDiffusion, hormander: Hormander | None,
                     reachability: Reachability | None) -> str:
    """Why uniqueness by hypoellipticity (docs/theory.md §4.4) was not shown, when C4 holds and C3 fails."""
    gaps = []
    if not bounded_diffusion.holds:
        gaps.append("C1 fails (σ unbounded; the verdict asks for bounded σ, as 'unique' does)")
    if hormander is None or not hormander.holds:
        gaps.append("Hörmander's condition " + ("not examined" if hormander is None or hormander.holds is None
                                               else "fails") + f": {hormander.reason if hormander else 'not run'}")
    if reachability is None or not reachability.holds:
        gaps.append("reachability " + ("not examined" if reachability is None or reachability.holds is None
                                       else "not shown") + f": {reachability.reason if reachability else 'not run'}")
    return "Uniqueness by hypoellipticity (docs/theory.md §4.4) not shown: " + "; ".join(gaps) + "."


def check(game, scheme: Scheme, options: dict | None = None, local: bool = True) -> Conditions:
    """C1–C4, the verdict and the local analysis for the SDE of ``game`` under ``scheme``.

    Parameters
    ----------
    game : Game
    scheme : Scheme
        ``(name, lr, batch_size, order)``: the drift ``b0 (+ lr·b1)`` and ``σσᵀ = (lr/N)Σ``.
    options : dict, optional
        The ``[conditions]`` section (:data:`~invariant.options.conditions.DEFAULTS`; validated here).
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
    is_exact = aff is not None and opts["lyapunov"] in LYAPUNOV_BUILTIN
    if is_exact:
        (bd, bj, diss, ell, ly), searched, notes = _exact_path(game, aff, opts["lyapunov"], t0)
    else:
        bd, bj, diss, ell, ly, searched = _search_path(game, scheme, opts, loc, aff, t0)
        notes = []
    hm, rc = _degenerate(game, scheme, opts, aff, loc, ell, ly)
    v, reason = verdict(bd, ell, ly, diss, hm, rc)
    notes += _global_notes(loc, diss, ly)
    if v == "exists" and not ell.holds:
        notes.append(hypoelliptic_gap(bd, hm, rc))
    searched.seconds = time.perf_counter() - t0
    return Conditions(
        game=game.name, scheme=scheme.name, order=scheme.order, lr=scheme.lr, batch_size=scheme.batch_size,
        sde=scheme.sde_name, exact=is_exact, bounded_diffusion=bd, bounded_jacobian=bj,
        dissipativity=diss, ellipticity=ell, lyapunov=ly, verdict=v, reason=reason, local=loc,
        searched=searched, notes=notes, hormander=hm, reachability=rc,
    )


def _degenerate(game, scheme: Scheme, opts: dict, aff, loc: Local | None, ell: Ellipticity, ly: Lyapunov):
    """Hörmander's condition and reachability (docs/theory.md §4.4) where C3 fails: exact for
    affine coefficients, else on the points the C1–C4 search visits."""
    if ell.holds:
        return (Hormander(True, "ellipticity", depth=0, reason="C3 holds: σ alone spans R^d (depth 0)"),
                reach.not_examined("C3 holds: not needed"))
    if aff is not None:
        A, c, D = aff[:3]
        return hormander.exact_hormander(A, D), reach.exact_reachability(A, c, D)
    if game.d > SMALL_D:
        why = (f"d = {game.d} > {SMALL_D}: brackets by nested finite differences at every searched point "
               "are not attempted")
        return Hormander(None, "none", reason=why), reach.not_examined(why)
    prob = Problem(game, scheme)
    o = budget(opts, game.d)
    radii, X, evaluated = shell_points(o, game.d)
    extra = [np.zeros(game.d)] + [np.asarray(e.x) for e in (loc.equilibria_b if loc else [])] + [np.asarray(game.x0)]
    hm = hormander.search_hormander(prob, radii, X, evaluated, extra)
    starts = extra + list(X[evaluated])
    return hm, reach.search_reachability(prob, loc, ly, starts, o["seed"])


def _exact_path(game, aff, lyap_opt: str, t0: float):
    """C1–C4 in closed form, what was done, and a note when C4 holds without C3 (an OU law)."""
    A, c, D, why = aff
    results = exact_conditions(A, c, D, lyap_opt)
    searched = Searched(method="exact", why=why, seconds=time.perf_counter() - t0, sigma=sigma_source(game))
    notes = []
    ly, ell = results[4], results[3]
    if ly.holds and not ell.holds:
        notes.append("The drift is affine with spectral abscissa "
                     f"{exact.spectral_abscissa(A):.4g} < 0, so the invariant law N(m, P) exists and is unique even "
                     "without C3 (every solution converges to it); "
                     + ("P is non-singular: (A, σσᵀ) satisfies the Kalman rank condition (hypoelliptic)."
                        if controllable(A, D) else "P is singular: (A, σσᵀ) is not controllable."))
    return results, searched, notes


def _search_path(game, scheme: Scheme, opts: dict, loc: Local | None, aff, t0: float):
    """C1–C4 by the numerical search, on the exact affine coefficients when there are some."""
    cands, failed = _candidates(loc, opts["lyapunov"])
    extra = [np.asarray(e.x) for e in (loc.equilibria_b if loc else [])] + [np.asarray(game.x0)]
    bd, bj, diss, ell, lys, searched = search_conditions(
        game, scheme, opts, cands, affine=None if aff is None else aff[:3], extra_points=extra)
    if failed is not None:
        lys.append(failed)
    searched.why = ("user Lyapunov function: searched on the exact affine coefficients" if aff is not None
                    else "drift not affine (neither declared nor detected)" if opts["method"] == "auto"
                    else "method = 'search' requested")
    searched.seconds = time.perf_counter() - t0
    return bd, bj, diss, ell, choose(lys), searched


def _candidates(loc: Local | None, lyap_opt: str):
    """The candidate ``V`` to search, and the failed quadratic ``V`` when it cannot be built."""
    cands, failed = [], None
    if lyap_opt in ("auto", "norm2"):
        cands.append(norm2())
    if lyap_opt in ("auto", "quadratic"):
        qv = _auto_quadratic(loc)
        if qv is not None:
            cands.append(qv)
        else:
            reason = ("no stable equilibrium of b found: no linearisation to build Q from" if lyap_opt == "quadratic"
                      else _no_quadratic_reason(loc))
            failed = Lyapunov(False, "quadratic", None, None, None, False, reason=reason)
    if lyap_opt not in LYAPUNOV_BUILTIN:
        cands.append(user(lyap_opt))
    return cands, failed


def _auto_quadratic(loc: Local | None):
    """The quadratic ``V`` from the Lyapunov equation at the first stable equilibrium of ``b``
    (the local analysis lists them nearest ``x0`` first)."""
    for e in (loc.equilibria_b if loc is not None else []):
        Q = lyapunov_matrix(np.asarray(e.jacobian))
        if Q is not None:
            return quadratic(Q, np.asarray(e.x))
    return None


def _no_quadratic_reason(loc: Local | None) -> str:
    if loc is None:
        return "the local analysis was not run: no linearisation to build Q from"
    if not loc.equilibria_b:
        return "no equilibrium of b found: no linearisation to build Q from"
    e = loc.equilibria_b[0]
    return f"the linearisation at x* = {fmt_vec(e.x)} is not stable ({e.description}): no quadratic V"


def _global_notes(loc: Local | None, diss: Dissipativity, ly: Lyapunov) -> list[str]:
    """Notes where local and global behaviour differ: a stable equilibrium without C2/C4, or
    C4 without C2 (a stable, non-normal drift)."""
    notes = []
    if loc is not None and loc.equilibria_b:
        e = loc.equilibria_b[0]
        if e.kind == "contraction" and not ly.holds:
            failing = [n for n, ok in (("C2", diss.holds), ("C4", ly.holds)) if not ok]
            notes.append(f"Locally the equilibrium x* = {fmt_vec(e.x)} of b is stable ({e.description}), "
                         f"but globally {' and '.join(failing)} fail: "
                         "the local contraction does not extend to the whole space.")
    if not diss.holds and ly.holds:
        notes.append(f"C2 fails (c = {diss.c:.3g}) while C4 holds with {vname(ly.V)}: the drift is stable "
                     "but not dissipative in |x| (non-normal).")
    return notes


def check_config(cfg, local: bool = True) -> Conditions:
    """:func:`check` for a validated :class:`~invariant.config.Config` (its ``conditions`` options).

    Raises ConfigError naming ``training.optimizer`` when the optimiser has no SDE (RMSProp,
    Adam): the conditions of docs/theory.md §4 are an SDE's.
    """
    opt = cfg.scheme.optimizer
    if cfg.scheme.order not in SDE_ORDERS.get(opt.name, ()):
        raise ConfigError("training.optimizer", f"{opt.name!r} has no SDE here (docs/theory.md §4b), and the "
                                                "conditions of docs/theory.md §4 are an SDE's: nothing to check")
    c = check(cfg.game, cfg.scheme, getattr(cfg, "conditions", None), local=local)
    if getattr(cfg, "dynamics", "sde") == "sga":
        c.notes.append(f"The run simulates the discrete chains; these conditions are those of the "
                       f"approximating SDE ({cfg.scheme.sde_name}).")
    return c
