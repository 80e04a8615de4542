"""A convergence order fitted with its interval: ``error ≈ A lr^p`` over a ladder of learning
rates (docs/theory.md §8), as the weak-order analysis (:mod:`invariant.weak`) and the
analyses report it."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats
from statsmodels.regression.linear_model import WLS

NOISE_Z = 2.0  # errors within this many standard errors of zero are "below the noise"


# --------------------------------------------------------------------------- fitting
def fit_order(lrs, errors, se=None, level: float = 0.95, noise_z: float = NOISE_Z) -> dict:
    """Fitted slope of ``log|error|`` on ``log lr`` with a confidence interval.

    Parameters
    ----------
    lrs, errors : array_like
        Learning rates and weak errors (signs are ignored).
    se : array_like, optional
        Monte Carlo standard errors of the errors.  Given, points with
        ``|error| < noise_z · se`` are left out as below the noise, the fit is weighted
        (``Var log|e| ≈ (se/e)²``) and the interval is inflated by ``sqrt(χ²/dof)`` when the
        points scatter more than their errors allow.  Without it (exact errors) the fit is
        ordinary least squares and the interval (Student t) measures the departure from a
        pure power law over the ladder.
    level : float
        Confidence level of the interval.

    Returns
    -------
    dict
        ``order``, ``order_interval`` ([lo, hi]), ``used`` (mask of the points fitted),
        ``below_noise`` (mask), ``local_orders`` (slopes between neighbouring learning rates),
        ``note``; with an order, ``intercept`` (of the fitted line ``log|e| = c + order·log lr``).
    """
    lrs = np.asarray(lrs, dtype=float)
    e = np.abs(np.asarray(errors, dtype=float))
    below = np.zeros(len(e), bool)
    if se is not None:
        se = np.asarray(se, dtype=float)
        below = ~(e >= noise_z * se)
    use = np.isfinite(e) & (e > 0) & ~below
    order = np.argsort(lrs)
    with np.errstate(divide="ignore", invalid="ignore"):
        le = np.log(e[order])
        local = np.diff(le) / np.diff(np.log(lrs[order]))
    out = {"used": use.tolist(), "below_noise": below.tolist(),
           "local_orders": [float(v) if np.isfinite(v) else None for v in local], "note": ""}
    n = int(use.sum())
    if n < 2:
        out.update(order=None, order_interval=[None, None],
                   note=("errors below the Monte Carlo noise at all but %d learning rate(s): no order can be fitted" % n)
                   if se is not None else "errors vanish: no order can be fitted")
        return out
    # weighted least squares of log|e| on log lr, Var log|e| ≈ (se/e)² (ordinary without se)
    w = np.ones(n) if se is None else (e[use] / se[use]) ** 2
    x = np.log(lrs[use])
    fit = WLS(np.log(e[use]), np.column_stack([np.ones(n), x]), weights=w).fit()
    slope = float(fit.params[1])
    var = float(fit.normalized_cov_params[1, 1])  # 1 / Σw(x − x̄)²
    q = 0.5 + level / 2
    if se is None:
        if n > 2:
            half = float(stats.t.ppf(q, n - 2) * math.sqrt(fit.scale * var))
        else:
            half = 0.0
            out["note"] = "two points: no interval"
    else:
        chi2 = float(fit.scale) if n > 2 else 1.0  # Σw r²/(n − 2)
        if chi2 > 1.0:
            half = float(stats.t.ppf(q, n - 2) * math.sqrt(chi2 * var))
        else:
            half = float(stats.norm.ppf(q) * math.sqrt(var))
        if below.any():
            lo = ", ".join(f"{v:g}" for v in lrs[below])
            out["note"] = f"error below the Monte Carlo noise (|e| < {noise_z:g} SE) at lr = {lo}: left out"
    out["intercept"] = float(fit.params[0])
    out.update(order=slope, order_interval=[slope - half, slope + half])
    return out


# --------------------------------------------------------------------------- Turinici's check


def order_line(lrs, errors, se=None, noise_z: float = NOISE_Z) -> dict:
    """The fitted power law ``error ≈ A lr^p`` of :func:`fit_order`, evaluated at ``lrs``.

    ``A`` is the (weighted) least-squares intercept that goes with :func:`fit_order`'s slope
    ``p`` over the points it used (a comparison's ``lrs``, ``errors``, ``error_se`` from the
    weak-order JSON).

    Returns
    -------
    dict
        ``order``, ``order_interval``, ``used`` (mask) and ``line`` (the fitted errors at
        ``lrs``; None when no order could be fitted).
    """
    f = fit_order(lrs, errors, se, noise_z=noise_z)
    out = {"order": f["order"], "order_interval": f["order_interval"], "used": f["used"], "line": None}
    if f["order"] is None:
        return out
    out["line"] = np.exp(f["intercept"] + f["order"] * np.log(np.asarray(lrs, dtype=float)))
    return out
