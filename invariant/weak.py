"""Weak approximation orders of the SDEs against the discrete training (docs/theory.md §3, §8).

For a test function φ and a learning rate η, the weak error at horizon ``T`` is
``e(η) = E φ(x_k) − E φ(X_{kη})`` with ``k = round(T/η)`` discrete steps of the scheme and
the SDE at time ``kη`` (both from the same initial law).  Over a ladder of learning rates the
slope of ``log|e|`` on ``log η`` is the weak order: 1 for the SML-SDE against every scheme,
2 for the ALT-SDE against its ALT scheme and for the order-2 SML-SDE against SML (docs/theory.md §8).

Observables.  The headline order uses the linear observables φ = x_i (the error is the max
over coordinates of ``|E x_k,i − E X_i|``).  Covariance errors are reported apart (absolute,
and relative to the SDE's covariance): since the noise injected per step differs from the
scheme's at O(η³), absolute covariance errors are O(η²) for every pairing and relative ones
O(η) for every SDE (docs/theory.md §3).  ``E|x|²`` mixes both and is shown only for illustration.

Initial law.  A point mass at the config's ``x0 + offset`` (``offset`` a number added to
every coordinate, or a vector; default 1: the mean error starts from a point away from the
equilibrium, otherwise a linear game's means would not move at all), or with
``init = "gaussian"`` the law ``N(x0 + offset, init_scale² I)``.

Two methods.

* ``"exact"`` (affine games, ``game.affine``): the discrete moments from the exact affine
  recursion (``exact.discrete_moments``), the SDE's from matrix exponentials
  (``exact.ou_moments``) — no Monte Carlo, ``exact: true``.
* ``"monte-carlo"`` (any game): ``paths`` chains of each discrete scheme with the game's real
  minibatch gradients, and of each SDE with Euler–Maruyama at steps ``η/substeps`` and half
  that, Richardson-extrapolated (the fine and the coarse path share their Brownian increments:
  common random numbers, replayed through a twin generator), so the SDE reference errs by
  O(dt²·η/N) only.  The SDE's deterministic part is the ODE ``x' = b(x)`` solved to 1e-12
  (``scipy.integrate.solve_ivp``), its noise-induced part ``E φ(X^{dt}) − φ(X̄^{dt})``
  (``X̄^{dt}`` the same Euler scheme without noise) is what the paths estimate.  Variance is
  cut by a martingale control variate: the linear response ``Σ_j Λ_{j+1} δ_j`` of the final
  state to each step's noise δ_j (Λ the product of the noise-free flow's Jacobians), which has
  mean zero exactly, is subtracted path by path.  The standard errors come from 64
  independent blocks of paths; a fit leaves out (and reports as ``below_noise``) the
  learning rates whose error is within ``2`` standard errors of zero.

Turinici's check (:func:`step_halving`): a curve against the cumulative learning rate has
converged when ``lr/2`` with twice the steps gives the same curve within error; the report
applies it to each scheme's mean curve ``E x(t)`` on the ladder.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import scipy.linalg as sla
from scipy.integrate import solve_ivp

from . import exact
from .engine import pcg64, render
from .engine.build import load_generated, step_constants
from .options.weak import (
    DEFAULT_LRS,
    N_BLOCKS,
    WEAK_KEYS,
    WeakOptions,
    validate_options,
)
from .errors import ConfigError
from .optimizers import LINEAR, SDE_ORDERS, Optimizer
from .orders import NOISE_Z, fit_order, order_line  # noqa: F401  (order_line re-exported)
from .schemes import SCHEME_ID, Scheme

__all__ = [
    "COMPARISONS",
    "DEFAULT_LRS",
    "WEAK_KEYS",
    "WeakOptions",
    "fit_order",
    "format_report",
    "optimizer_comparisons",
    "step_halving",
    "validate_options",
    "weak_order",
]

COMPARISONS = (
    ("sml-1", "sml", 1),
    ("sml-1", "alt-d", 1),
    ("sml-1", "alt-g", 1),
    ("sml-2", "sml", 2),
    ("alt-d-2", "alt-d", 2),
    ("alt-g-2", "alt-g", 2),
)
"""(SDE, discrete scheme, expected weak order) of every comparison reported (docs/theory.md §8)."""

DIFFUSIONS = ("plain", "corrected")
"""The SDEs' noises compared by default: each order-2 SDE is reported with its plain and its
corrected diffusion (docs/theory.md §3), order-1 SDEs with the plain one only."""


def _with_diffusions(comparisons, diffusions):
    """``(sde, scheme, expected, diffusion)`` rows: a 3-tuple stands for every diffusion of
    ``diffusions`` its SDE has (the corrected one at order 2 only), a 4-tuple for itself."""
    out = []
    for c in comparisons:
        if len(c) == 4:
            out.append(tuple(c))
            continue
        for dif in diffusions:
            if dif == "plain" or _split_sde(c[0])[1] == 2:
                out.append((*c, dif))
    return out


def _sde_scheme(sde: str, lr: float, N: int, diffusion: str, optimizer: Optimizer = Optimizer()) -> Scheme:
    # "alt-d-2", or an optimiser's "momentum:alt-d-1" (its parameters those of ``optimizer``)
    name, order = _split_sde(sde.split(":")[-1])
    return Scheme(name, lr, N, order, optimizer, corrected=diffusion == "corrected")


def optimizer_comparisons(optimizer: Optimizer, scheme: str) -> tuple:
    """The comparisons of an optimiser other than plain SGDA: each of its SDEs (docs/theory.md
    §4b) against its chain, ``("momentum:alt-d-1", "momentum:alt-d", 1)``."""
    chain = f"{optimizer.name}:{scheme}"
    return tuple((f"{chain}-{o}", chain, o) for o in SDE_ORDERS.get(optimizer.name, ()))

def step_halving(curve, lr: float, tol: float = 0.0, z: float = 3.0) -> dict:
    """Turinici's criterion: has the curve against cumulative learning rate converged at ``lr``?

    Parameters
    ----------
    curve : callable
        ``curve(lr) -> (t, y)`` or ``(t, y, se)``: the curve at learning rate ``lr`` against
        the cumulative learning rate ``t = kη`` (``y`` of shape ``(len(t),)`` or
        ``(len(t), m)``; ``se`` its standard error, e.g. Monte Carlo).
    lr : float
        The learning rate checked; the curve at ``lr/2`` (twice the steps) is its reference.
    tol : float
        Absolute tolerance added to the statistical one (use it for exact curves).
    z : float
        Allowed multiple of the standard error of the difference.

    Returns
    -------
    dict
        ``lr``, ``max_diff`` (sup over the common times of ``|y_lr − y_{lr/2}|``), ``max_z``
        (of the difference over its standard error, None without errors), ``tolerance`` (at
        the worst time), ``converged``.
    """
    a = curve(lr)
    b = curve(lr / 2)
    t1, y1 = np.asarray(a[0], float), np.asarray(a[1], float)
    t2, y2 = np.asarray(b[0], float), np.asarray(b[1], float)
    s1 = np.asarray(a[2], float) if len(a) > 2 else np.zeros_like(y1)
    s2 = np.asarray(b[2], float) if len(b) > 2 else np.zeros_like(y2)
    # common times: those of the coarse curve, interpolated on the fine one if not on its grid
    if y2.ndim == 1:
        y2i = np.interp(t1, t2, y2)
        s2i = np.interp(t1, t2, s2)
    else:
        y2i = np.column_stack([np.interp(t1, t2, y2[:, j]) for j in range(y2.shape[1])])
        s2i = np.column_stack([np.interp(t1, t2, s2[:, j]) for j in range(s2.shape[1])])
    diff = np.abs(y1 - y2i)
    se = np.sqrt(s1**2 + s2i**2)
    allowed = tol + z * se
    with np.errstate(divide="ignore", invalid="ignore"):
        zz = np.where(se > 0, diff / se, np.nan)
    i = np.unravel_index(int(np.argmax(diff - allowed)), diff.shape)
    return {
        "lr": float(lr),
        "max_diff": float(diff.max()),
        "max_z": float(np.nanmax(zz)) if np.any(se > 0) else None,
        "tolerance": float(allowed[i]),
        "converged": bool(np.all(diff <= allowed)),
    }


# --------------------------------------------------------------------------- set-up
def _split_sde(name: str):
    scheme, order = name.rsplit("-", 1)
    return scheme, int(order)


def _initial(cfg, opts: WeakOptions):
    d = cfg.game.d
    m0 = np.asarray(cfg.x0, dtype=float) + np.broadcast_to(np.asarray(opts.offset, dtype=float), (d,))
    P0 = (opts.init_scale**2) * np.eye(d)
    return m0, P0


def _observable_names(game):
    names = list(game.param_names)
    cov = [f"cov[{names[i]},{names[j]}]" for i in range(game.d) for j in range(i, game.d)]
    return names, cov


def _errors_from_moments(md, Pd, ms, Ps):
    """Per-observable errors (discrete minus SDE) from means and covariances."""
    d = md.shape[-1]
    iu = np.triu_indices(d)
    mean = md - ms
    cov = (Pd - Ps)[..., iu[0], iu[1]]
    second = (np.trace(Pd, axis1=-2, axis2=-1) + np.sum(md**2, -1)) - (np.trace(Ps, axis1=-2, axis2=-1) + np.sum(ms**2, -1))
    scale = np.max(np.abs(Ps[..., iu[0], iu[1]]), axis=-1)
    # the spread tr Cov: its error and the SDE's (docs/theory.md §3.5: the long-run quantity)
    trace = np.stack([np.trace(Pd - Ps, axis1=-2, axis2=-1), np.trace(Ps, axis1=-2, axis2=-1)], -1)
    return mean, cov, second, scale, trace


# --------------------------------------------------------------------------- exact path
def _exact(cfg, opts, comparisons):
    game = cfg.game
    N = cfg.scheme.batch_size
    opt = cfg.scheme.optimizer
    m0, P0 = _initial(cfg, opts)
    lrs = opts.lrs
    ts = opt.time_scale  # SDE time per unit of lr (momentum: 1/(1 − β))
    steps = [int(round(opts.horizon / (lr * ts))) for lr in lrs]
    sde_mom, disc_mom, curves = {}, {}, {}
    for sde, dif in sorted({(c[0], c[3]) for c in comparisons}):
        for lr, k in zip(lrs, steps, strict=True):
            sch = _sde_scheme(sde, lr, N, dif, opt)
            if ":" in sde:  # another optimiser's SDE (docs/theory.md §4b)
                A, c, D = exact.optimizer_sde(game, sch)
            else:
                A, c = exact.drift(game, sch.name, sch.order, lr)
                D = exact.diffusion(game, lr, N, sch.correction)
            sde_mom[sde, dif, lr] = exact.ou_moments(A, c, D, m0, P0, k * lr * ts)
    for scheme in sorted({c[1] for c in comparisons}):
        for lr, k in zip(lrs, steps, strict=True):
            if ":" in scheme:
                md, Pd, xs = exact.optimizer_moments(game, _sde_scheme(f"{scheme}-1", lr, N, "plain", opt),
                                                     m0, P0, k, path=True)
                disc_mom[scheme, lr] = (md, Pd)
                curves[scheme, lr] = (np.arange(k + 1) * lr * ts, xs)
                continue
            M, mc, Q = exact.discrete(game, scheme, lr, N)
            disc_mom[scheme, lr] = exact.discrete_moments(M, mc, Q, m0, P0, k)
            # the mean curve E x_j, j = 0..k, for Turinici's check
            xs = [m0]
            for _ in range(k):
                xs.append(M @ xs[-1] + mc)
            curves[scheme, lr] = (np.arange(k + 1) * lr, np.array(xs))
    rows = []
    for sde, scheme, expected, dif in comparisons:
        est = {}
        for lr in lrs:
            md, Pd = disc_mom[scheme, lr]
            ms, Ps = sde_mom[sde, dif, lr]
            est[lr] = _errors_from_moments(md, Pd, ms, Ps)
        rows.append(_comparison(cfg, (sde, dif), scheme, expected, lrs, steps, est, None))
    return rows, curves


# --------------------------------------------------------------------------- Monte Carlo path
def _weak_kernels(game_module: str):
    return load_generated("invariant_weak", kernels_text(game_module), game_module)


def kernels_text(game_module: str) -> str:
    """The weak-order paths' kernel module: the engine's step (templates ``step.py``) and the
    paths (``weak_paths.py``)."""
    return render.cpu_module(f"Weak-error paths for the game {game_module}.", game_module,
                             ["step.py", "weak_paths.py"], step_constants())


def _streams(entropy, n) -> np.ndarray:
    """PCG64 words of ``n`` streams spawned from ``SeedSequence(entropy)``, as the engine's."""
    return pcg64.streams(pcg64.generators(np.random.SeedSequence(entropy), n))


def _jac_b0(game, x):
    """Jacobian of ``b0 = (−∇_θ g, ∇_ω g)``."""
    s = np.r_[-np.ones(game.d_theta), np.ones(game.d_omega)]
    return s[:, None] * game.hessian(x)


def _sensitivities(game, lr, k, m0):
    """Λ_j (j = 0..k): the noise-free gradient flow's sensitivity of x_k to a perturbation of
    x_j, from the flow maps expm(lr·J) along its path (a deterministic control-variate
    coefficient: any choice keeps the estimator unbiased; a good one cuts the variance)."""
    d = game.d
    sch = Scheme("sml", lr, 1, 1)
    xs = [np.array(m0, float)]
    for _ in range(k):
        xs.append(_rk4(lambda y: sch.drift(game, y), xs[-1], lr))
    Lam = np.empty((k + 1, d, d))
    Lam[k] = np.eye(d)
    for j in range(k - 1, -1, -1):
        Lam[j] = Lam[j + 1] @ sla.expm(lr * _jac_b0(game, xs[j]))
    return np.ascontiguousarray(Lam)


def _rk4(f, x, h):
    k1 = f(x)
    k2 = f(x + 0.5 * h * k1)
    k3 = f(x + 0.5 * h * k2)
    k4 = f(x + h * k3)
    return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def _ode(game, sch, x0, T):
    sol = solve_ivp(lambda t, y: sch.drift(game, y), (0.0, T), np.asarray(x0, float), method="DOP853",
                    rtol=1e-12, atol=1e-13)
    if not sol.success:
        raise RuntimeError(f"the noise-free SDE path failed to integrate: {sol.message}")
    return sol.y[:, -1]


def _euler(game, sch, x0, dt, n):
    x = np.array(x0, float)
    for _ in range(n):
        x = x + dt * sch.drift(game, x)
    return x


def _block_moments(sx, sxx, counts):
    mean = sx / counts[:, None]
    second = sxx / counts[:, None, None]
    cov = second - mean[:, :, None] * mean[:, None, :]
    return mean, cov


def _monte_carlo(cfg, opts, comparisons, progress=False):
    game = cfg.game
    N = cfg.scheme.batch_size
    d, dth = game.d, game.d_theta
    m0, P0 = _initial(cfg, opts)
    ker = _weak_kernels(game.kernels)
    nb = N_BLOCKS
    n = opts.paths
    counts = np.array([(b + 1) * n // nb - b * n // nb for b in range(nb)], float)
    lrs = opts.lrs
    steps = [int(round(opts.horizon / lr)) for lr in lrs]
    sdes = sorted({(c[0], c[3]) for c in comparisons})
    # an SDE's plain and corrected paths draw the same normals (common random numbers), and
    # the plain ones those they drew before the corrected diffusion existed
    sde_index = {sde: i for i, sde in enumerate(sorted({c[0] for c in comparisons}))}
    schemes = sorted({c[1] for c in comparisons})
    disc, sde_est, curves = {}, {}, {}
    for li, (lr, k) in enumerate(zip(lrs, steps, strict=True)):
        rng0 = np.random.default_rng([opts.seed, li, 7])
        X0 = m0 + opts.init_scale * rng0.standard_normal((n, d)) if opts.init == "gaussian" else np.tile(m0, (n, 1))
        X0 = np.ascontiguousarray(X0)
        Lam = _sensitivities(game, lr, k, m0)
        for si, scheme in enumerate(schemes):
            xbar = m0.copy()
            sch = Scheme(scheme, lr, N, 1)
            for _ in range(k):
                xbar = sch.step(game, xbar)
            streams = _streams([opts.seed, li, 100 + si], nb)
            sx = np.zeros((nb, d))
            sxx = np.zeros((nb, d, d))
            traj = np.zeros((nb, k + 1, d))
            ker.discrete_paths(X0, m0, game.params, game.data, streams, dth, lr, N, SCHEME_ID[scheme], k, Lam,
                               xbar, sx, sxx, traj)
            disc[scheme, lr] = _block_moments(sx, sxx, counts)
            tb = traj / counts[:, None, None]
            curves[scheme, lr] = (np.arange(k + 1) * lr, tb.mean(0), tb.std(0, ddof=1) / math.sqrt(nb))
            if progress:
                print(f"  weak-order: {scheme} lr={lr:g} done", flush=True)
        for sde, dif in sdes:
            sch = _sde_scheme(sde, lr, N, dif)
            s_th, s_om = sch.b1_signs
            m = opts.substeps
            xbar_ode = _ode(game, sch, m0, k * lr)
            xbar_f = _euler(game, sch, m0, lr / (2 * m), 2 * m * k)
            xbar_c = _euler(game, sch, m0, lr / m, m * k)
            streams = _streams([opts.seed, li, 200 + sde_index[sde]], nb)
            twins = streams.copy()
            sx_f, sx_c = np.zeros((nb, d)), np.zeros((nb, d))
            sxx_f, sxx_c = np.zeros((nb, d, d)), np.zeros((nb, d, d))
            ker.sde_paths(X0, m0, game.params, game.data, streams, twins, dth, lr, N, sch.order == 2, sch.sde.drift, s_th,
                          s_om, sch.corrected, not game.affine, k, m, Lam, xbar_f, xbar_c, sx_f, sxx_f, sx_c, sxx_c)
            if not np.array_equal(streams, twins):
                raise RuntimeError(
                    f"the {game.kernels} noise kernel draws a variable number of normals per call: the "
                    "Richardson coupling of the SDE reference needs a fixed number")
            mf, cf = _block_moments(sx_f, sxx_f, counts)
            mc, cc = _block_moments(sx_c, sxx_c, counts)
            # E X_T ≈ X̄_ode + 2(E X^{dt/2} − X̄^{dt/2}) − (E X^{dt} − X̄^{dt}); Cov likewise
            mean = xbar_ode + 2 * (mf - xbar_f) - (mc - xbar_c)
            cov = 2 * cf - cc
            sde_est[sde, dif, lr] = (mean, cov)
            if progress:
                print(f"  weak-order: {sde} ({dif}) lr={lr:g} done", flush=True)
    rows = []
    for sde, scheme, expected, dif in comparisons:
        est, se = {}, {}
        for lr in lrs:
            md, Pd = disc[scheme, lr]
            ms, Ps = sde_est[sde, dif, lr]
            mean, cov, second, scale, trace = _errors_from_moments(md, Pd, ms, Ps)  # per block
            est[lr] = (mean.mean(0), cov.mean(0), second.mean(0), scale.mean(0), trace.mean(0))
            se[lr] = tuple(a.std(0, ddof=1) / math.sqrt(nb) for a in (mean, cov, second, trace))
        rows.append(_comparison(cfg, (sde, dif), scheme, expected, lrs, steps, est, se))
    return rows, curves


# --------------------------------------------------------------------------- assembly
def _comparison(cfg, sde_dif, scheme, expected, lrs, steps, est, se):
    """One ``comparisons[]`` entry of the weak-order JSON; ``sde_dif`` is ``(sde, diffusion)``."""
    sde, dif = sde_dif
    names, cov_names = _observable_names(cfg.game)
    lrs = list(lrs)
    mean = np.array([est[lr][0] for lr in lrs])  # (n_lr, d)
    cov = np.array([est[lr][1] for lr in lrs])
    second = np.array([est[lr][2] for lr in lrs])
    scale = np.array([est[lr][3] for lr in lrs])
    trace = np.array([est[lr][4] for lr in lrs])  # (n_lr, 2): tr(Pd − Ps), tr Ps
    mc = se is not None
    if mc:
        mean_se = np.array([se[lr][0] for lr in lrs])
        cov_se = np.array([se[lr][1] for lr in lrs])
        second_se = np.array([se[lr][2] for lr in lrs])
        trace_se = np.array([se[lr][3][0] for lr in lrs])
    # headline: max over coordinates of |mean error| (its SE: that of the arg-max coordinate)
    arg = np.argmax(np.abs(mean), axis=1)
    head = np.abs(mean[np.arange(len(lrs)), arg])
    head_se = mean_se[np.arange(len(lrs)), arg] if mc else None
    fit = fit_order(lrs, head, head_se)
    by = {}
    for i, nm in enumerate(names):
        f = fit_order(lrs, mean[:, i], mean_se[:, i] if mc else None)
        by[nm] = {"kind": "mean", "errors": mean[:, i].tolist(), "se": mean_se[:, i].tolist() if mc else None,
                  "order": f["order"], "order_interval": f["order_interval"], "below_noise": f["below_noise"]}
    for i, nm in enumerate(cov_names):
        f = fit_order(lrs, cov[:, i], cov_se[:, i] if mc else None)
        by[nm] = {"kind": "cov", "errors": cov[:, i].tolist(), "se": cov_se[:, i].tolist() if mc else None,
                  "order": f["order"], "order_interval": f["order_interval"], "below_noise": f["below_noise"]}
    f = fit_order(lrs, second, second_se if mc else None)
    by["|x|^2"] = {"kind": "second moment (mixes mean and covariance errors)", "errors": second.tolist(),
                   "se": second_se.tolist() if mc else None, "order": f["order"],
                   "order_interval": f["order_interval"], "below_noise": f["below_noise"]}
    # covariance errors apart: max over entries, absolute and relative to the SDE's covariance
    carg = np.argmax(np.abs(cov), axis=1)
    cmax = np.abs(cov[np.arange(len(lrs)), carg])
    cmax_se = cov_se[np.arange(len(lrs)), carg] if mc else None
    fc = fit_order(lrs, cmax, cmax_se)
    rel = cmax / scale
    fr = fit_order(lrs, rel, cmax_se / scale if mc else None)
    ft = fit_order(lrs, trace[:, 0], trace_se if mc else None)
    trel = trace[:, 0] / trace[:, 1]
    ftr = fit_order(lrs, trel, trace_se / trace[:, 1] if mc else None)
    return {
        "sde": sde,
        "diffusion": dif,
        "scheme": scheme,
        "expected_order": expected,
        "lrs": lrs,
        "steps": list(steps),
        "errors": head.tolist(),
        "error_se": head_se.tolist() if mc else None,
        "order": fit["order"],
        "order_interval": fit["order_interval"],
        "local_orders": fit["local_orders"],
        "below_noise": fit["below_noise"],
        "note": fit["note"],
        "exact": not mc,
        "mean": {"errors": head.tolist(), "order": fit["order"], "order_interval": fit["order_interval"]},
        "cov": {"errors": cmax.tolist(), "se": cmax_se.tolist() if mc else None, "order": fc["order"],
                "order_interval": fc["order_interval"], "below_noise": fc["below_noise"]},
        "cov_relative": {"errors": rel.tolist(), "order": fr["order"], "order_interval": fr["order_interval"],
                         "below_noise": fr["below_noise"]},
        # the spread tr Cov: discrete minus SDE, and relative to the SDE's
        "cov_trace": {"errors": trace[:, 0].tolist(), "se": trace_se.tolist() if mc else None, "order": ft["order"],
                      "order_interval": ft["order_interval"], "below_noise": ft["below_noise"]},
        "cov_trace_relative": {"errors": trel.tolist(), "order": ftr["order"], "order_interval": ftr["order_interval"],
                               "below_noise": ftr["below_noise"]},
        "by_observable": by,
    }


def _halving(curves, lrs, exact: bool, rel_tol: float = 0.01) -> dict:
    """Turinici's check on each scheme's mean curve, for every lr whose half is on the ladder."""
    out = {}
    lrs = sorted(lrs, reverse=True)
    for scheme in sorted({s for s, _ in curves}):
        rows = []
        for lr in lrs:
            half = [l2 for l2 in lrs if abs(l2 - lr / 2) <= 1e-12 * lr]
            if not half:
                continue
            ref = {lr: curves[scheme, lr], lr / 2: curves[scheme, half[0]]}
            tol = rel_tol * float(np.max(np.abs(ref[lr][1])))
            r = step_halving(lambda l, ref=ref: ref[min(ref, key=lambda q: abs(q - l))], lr, tol=tol, z=3.0)
            rows.append(r)
        # the largest lr from which every smaller lr on the ladder passes too
        conv = None
        for r in sorted(rows, key=lambda r: r["lr"]):
            if not r["converged"]:
                break
            conv = r["lr"]
        out[scheme] = {"checks": rows, "largest_converged_lr": conv,
                       "tolerance": f"{rel_tol:g} × max|E x|" + ("" if exact else " + 3 standard errors")}
    return out


def weak_order(cfg, options: WeakOptions | None = None, method: str = "auto", comparisons=COMPARISONS,
               progress: bool = False, diffusions=DIFFUSIONS, **overrides) -> dict:
    """Weak errors and fitted orders of each SDE against each discrete scheme (docs/design.md ◆).

    Parameters
    ----------
    cfg : invariant.config.Config
        Game, batch size and ``x0`` come from it (its scheme and lr do not matter).
    options : WeakOptions, optional
        Defaults to the config's ``[weak]`` table, else :class:`WeakOptions()`.
    method : {"auto", "exact", "monte-carlo"}
        ``"auto"``: exact for affine games, Monte Carlo otherwise.
    comparisons : sequence of (sde, scheme, expected_order) or (…, diffusion)
    progress : bool
    diffusions : sequence of {"plain", "corrected"}
        The noises of each order-2 SDE of a 3-tuple comparison (order 1: plain only).
    **overrides
        Fields of :class:`WeakOptions` (``lrs``, ``horizon``, ``paths``, ``seed``, …).

    Returns
    -------
    dict
        The weak-order JSON: ``horizon``, ``observables``, ``comparisons[]`` (``sde``,
        ``diffusion``, ``scheme``, ``lrs``, ``errors``, ``by_observable``, ``order``,
        ``order_interval``, ``exact`` and more) at ``horizon``, ``horizons`` and
        ``by_horizon[]`` (``horizon``, ``comparisons``: the same at every horizon of
        ``options.horizons``, ``horizon`` first), ``step_halving``, ``method``, ``initial``,
        ``batch_size``, ``paths`` (Monte Carlo), ``notes``.
    """
    opts = options or getattr(cfg, "weak", None) or WeakOptions()
    if overrides:
        opts = opts.updated(overrides, cfg.game.d)
    if method == "auto":
        method = "exact" if getattr(cfg.game, "affine", False) else "monte-carlo"
    if method not in ("exact", "monte-carlo"):
        raise ValueError(f"method must be 'auto', 'exact' or 'monte-carlo', got {method!r}")
    if cfg.scheme.batches == "shared":
        raise ConfigError("training.batches", "weak orders compare every scheme (ALT ones too), whose players "
                                              "draw their own minibatches: drop batches for weak-order")
    opt = cfg.scheme.optimizer
    if not opt.plain:  # the run's optimiser: its SDEs against its chain
        if method != "exact":
            raise ConfigError("training.optimizer", f"weak orders of optimizer = {opt.name!r} (lr_ratio, n_critic as "
                                                    "given) are computed exactly, on affine games only (the Monte "
                                                    "Carlo paths run plain SGDA); use an affine game such as bilinear")
        if opt.name not in LINEAR or not SDE_ORDERS.get(opt.name):
            raise ConfigError("training.optimizer", f"optimizer = {opt.name!r} has no SDE here (docs/theory.md §4b)")
        comparisons, diffusions = optimizer_comparisons(opt, cfg.scheme.name), ("plain",)
    comparisons = _with_diffusions(comparisons, diffusions)
    by_horizon, curves = [], None
    for T in opts.horizons:
        at = replace(opts, horizon=T)
        if method == "exact":
            rows, c = _exact(cfg, at, comparisons)
        else:
            rows, c = _monte_carlo(cfg, at, comparisons, progress)
        by_horizon.append({"horizon": T, "comparisons": rows})
        curves = c if T == opts.horizon else curves
    names, cov_names = _observable_names(cfg.game)
    m0, _ = _initial(cfg, opts)
    notes = [
        "headline errors: max over coordinates of |E x_k − E X_T| (linear observables); covariance errors "
        "apart: absolute O(η²) and relative O(η) for every plain SDE, O(η³) and O(η²) from the noise for the "
        "corrected ones (docs/theory.md §3); from a spread-out initial law the order-2 drift's O(η²) error in "
        "carrying that spread adds to both",
    ]
    if method == "monte-carlo":
        notes.append("SDE reference: Richardson-extrapolated Euler–Maruyama (dt = lr/%d and lr/%d, shared Brownian "
                     "increments) around the ODE solved to 1e-12; martingale control variates; SEs from %d blocks"
                     % (opts.substeps, 2 * opts.substeps, N_BLOCKS))
    return {
        "horizon": opts.horizon,
        "observables": names + cov_names + ["|x|^2"],
        "headline_observables": names,
        "method": method,
        "game": cfg.game.name,
        "batch_size": cfg.scheme.batch_size,
        "initial": {"law": opts.init, "mean": m0.tolist(), "scale": opts.init_scale},
        "paths": opts.paths if method == "monte-carlo" else None,
        "comparisons": by_horizon[0]["comparisons"],
        "horizons": list(opts.horizons),
        "by_horizon": by_horizon,
        "step_halving": _halving(curves, opts.lrs, method == "exact"),
        "notes": notes,
    }


def _o(v, fmt=".2f") -> str:
    return format(v, fmt) if v is not None else "—"


def format_report(res: dict) -> str:
    """A plain-text table of a :func:`weak_order` result: one block per horizon."""
    lines = [f"weak orders ({res['method']}, {res['game']} game, N = {res['batch_size']}"
             + (f", {res['paths']} paths" if res.get("paths") else "")
             + f", initial law {res['initial']['law']}" + ")"]
    for block in res.get("by_horizon") or [{"horizon": res["horizon"], "comparisons": res["comparisons"]}]:
        comps = block["comparisons"]
        lines.append(f" T = {block['horizon']:g}")
        lines.append(f"  {'SDE':8s} {'noise':9s} {'scheme':6s} {'expect':>6s} {'mean':>6s} {'95% interval':>17s}   "
                     f"{'cov (abs)':>9s} {'cov (rel)':>9s} {'trCov rel':>9s} {'|x|²':>6s}   errors over lr = "
                     + ", ".join(f"{v:g}" for v in comps[0]["lrs"]))
        for c in comps:
            lo, hi = c["order_interval"]
            iv = f"[{lo:.3f}, {hi:.3f}]" if lo is not None else "—"
            errs = ", ".join(("(%.1e)" if b else "%.1e") % e for e, b in zip(c["errors"], c["below_noise"], strict=True))
            lines.append(f"  {c['sde']:8s} {c.get('diffusion', 'plain'):9s} {c['scheme']:6s} {c['expected_order']:6d} "
                         f"{_o(c['order'], '.3f'):>6s} {iv:>17s}   {_o(c['cov']['order']):>9s} "
                         f"{_o(c['cov_relative']['order']):>9s} {_o(c['cov_trace_relative']['order']):>9s} "
                         f"{_o(c['by_observable']['|x|^2']['order']):>6s}   {errs}")
            if c["note"]:
                lines.append(f"      note: {c['note']}")
    for scheme, h in res["step_halving"].items():
        lc = h["largest_converged_lr"]
        lines.append(f"  step halving (Turinici), {scheme}: "
                     + (f"E x(t) unchanged by halving lr from {lc:g} on ({h['tolerance']})" if lc is not None
                        else f"not converged on this ladder ({h['tolerance']})"))
    return "\n".join(lines)
