"""Constant inputs of the ``mlp`` game (:mod:`invariant.games.mlp`): its data set (read by
:mod:`invariant.datasets`), its deterministic initial parameters and the quadrature rule of
its latent law."""
from __future__ import annotations

import math

import numpy as np

from ..datasets import MIXTURE1D_FILE, resolve_data
from ..datasets import read_csv as load_data
from ..errors import ConfigError

DEFAULT_DATA = MIXTURE1D_FILE

__all__ = ["DEFAULT_DATA", "resolve_data", "load_data", "init_params", "quadrature_rule"]


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
