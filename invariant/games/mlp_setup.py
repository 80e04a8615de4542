"""Constant inputs of the ``mlp`` game (:mod:`invariant.games.mlp`): its data set, its
deterministic initial parameters and the quadrature rule of its latent law."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import ConfigError

DEFAULT_DATA = "mixture1d.csv"

__all__ = ["DEFAULT_DATA", "resolve_data", "load_data", "init_params", "quadrature_rule"]


def resolve_data(path) -> Path:
    """Find a data file: as given (relative to the current directory), then in the project's
    ``data/`` folder, then (for the default only) the copy shipped inside the package."""
    p = Path(path).expanduser()
    root = Path(__file__).resolve().parent.parent.parent  # the project (or site-packages)
    candidates = [p]
    if not p.is_absolute():
        candidates += [root / "data" / p, root / p]
    if str(path) == DEFAULT_DATA or (p.name == DEFAULT_DATA and p.parent.name in ("", "data")):
        candidates.append(Path(__file__).resolve().parent / DEFAULT_DATA)
    for c in candidates:
        if c.is_file():
            return c
    raise ConfigError("game.data", f"data file {str(path)!r} not found (looked in: {', '.join(map(str, candidates))})")


def load_data(path) -> np.ndarray:
    """Read a one-column data file (``#`` comments, one number per line) as ``(M, 1)``."""
    f = resolve_data(path)
    try:
        a = np.loadtxt(f, delimiter=",", comments="#", ndmin=2)
    except ValueError as exc:
        raise ConfigError("game.data", f"cannot read {str(f)!r} as numbers ({exc})") from None
    return a


def _check_data(a, field="game.data") -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] != 1:
        raise ConfigError(field, f"the mlp game needs 1-D data (one column), got shape {a.shape}")
    if a.shape[0] < 2:
        raise ConfigError(field, f"needs at least 2 data points, got {a.shape[0]}")
    if not np.all(np.isfinite(a)):
        raise ConfigError(field, "must hold finite numbers only")
    return np.ascontiguousarray(a)


def init_params(width: int, seed: int = 0) -> np.ndarray:
    """Deterministic Glorot-like initial ``x0 = (θ, ω)`` for ``width`` hidden units.

    Weights ``~ N(0, 2/(fan_in + fan_out)) = N(0, 2/(1 + H))`` for both layers of both
    networks; hidden biases ``~ N(0, 1)`` (spreads the units' kinks over the data's range, so
    no unit starts dead or all kinks at 0); output biases 0.
    """
    H = int(width)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x6D6C70]))
    std = math.sqrt(2.0 / (1 + H))
    out = []
    for _ in range(2):  # θ then ω: same layout
        a1 = std * rng.standard_normal(H)
        b1 = rng.standard_normal(H)
        a2 = std * rng.standard_normal(H)
        out.append(np.concatenate([a1, b1, a2, [0.0]]))
    return np.concatenate(out)


def quadrature_rule(kind: str, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and probability weights of a ``nodes``-point rule for ``E f(z)``, ``z ~ N(0, 1)``.

    ``"quantile"``: Gauss–Legendre on ``u ∈ (0, 1)`` mapped by ``z = Φ⁻¹(u)``; ``"hermite"``:
    Gauss–Hermite (probabilists').  Weights are normalised to sum 1.
    """
    if kind == "hermite":
        z, w = np.polynomial.hermite_e.hermegauss(nodes)
    elif kind == "quantile":
        from scipy.special import ndtri

        t, w = np.polynomial.legendre.leggauss(nodes)
        z = ndtri(0.5 * (t + 1.0))
    else:
        raise ValueError(f"unknown quadrature {kind!r}")
    return z, w / w.sum()
