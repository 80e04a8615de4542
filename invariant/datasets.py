"""Data sets the generative games train on, with their known modes (docs/theory.md §7).

Named sets:

``ring8``
    8 isotropic Gaussians with means ``2 (cos 2πk/8, sin 2πk/8)``, ``k = 0..7``, standard
    deviation 0.02: the ring of Metz, Poole, Pfau & Sohl-Dickstein (Unrolled GANs, ICLR
    2017), also used by VEEGAN (Srivastava et al. 2017) at other radii/scales.
``grid25``
    25 isotropic Gaussians with means on ``{-4, -2, 0, 2, 4}²``, standard deviation 0.05 (the
    2-D grid of VEEGAN and PacGAN, Lin et al. 2018).
``mixture1d``
    The shipped 1-D file ``mixture1d.csv`` (256 points, modes ±2, standard deviation 0.25,
    written by ``data/make_datasets.py``); the same points the ``mlp`` game loads.

``ring8`` and ``grid25`` are generated, not shipped: a fixed seed (``SEED``, one stream per
set) and exactly balanced mode counts (``n // K`` points per mode, the first ``n % K``
modes one more), shuffled; default sizes ``DEFAULT_N``.  The mixture weights are uniform.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError

FIELD = "game.data"
SEED = 20240607
"""Seed of the generated sets (the one ``data/make_datasets.py`` uses)."""
MIXTURE1D_FILE = "mixture1d.csv"
DEFAULT_N = {"ring8": 512, "grid25": 1000}
MIN_POINTS = 2

__all__ = ["DataSet", "NAMES", "load", "resolve_data", "read_csv", "ring8_modes", "grid25_modes"]


@dataclass(frozen=True)
class DataSet:
    """Points of a data set and, where known, its mixture's modes.

    Attributes
    ----------
    name : str
        A named set or the path it was read from.
    samples : ndarray (M, dim)
    modes : ndarray (K, dim) or None
        Component means (None for a CSV: no known modes).
    mode_std : float or None
        The components' common isotropic standard deviation σ.
    weights : ndarray (K,) or None
        Mixture weights (sum 1).
    """

    name: str
    samples: np.ndarray
    modes: np.ndarray | None = None
    mode_std: float | None = None
    weights: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return int(self.samples.shape[1])

    @property
    def n_modes(self) -> int:
        return 0 if self.modes is None else int(self.modes.shape[0])


def ring8_modes(k: int = 8, radius: float = 2.0) -> np.ndarray:
    """``k`` means equally spaced on the circle of ``radius``, the first on the x axis."""
    a = 2.0 * np.pi * np.arange(k) / k
    return radius * np.column_stack([np.cos(a), np.sin(a)])


def grid25_modes(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """``side²`` means on the centred square grid of ``spacing`` (``{-4,…,4}²`` by default)."""
    g = spacing * (np.arange(side) - (side - 1) / 2)
    return np.array([(x, y) for x in g for y in g])


_GENERATED = {"ring8": (ring8_modes, 0.02, 0), "grid25": (grid25_modes, 0.05, 1)}
NAMES = (*_GENERATED, "mixture1d")


def _mixture(modes: np.ndarray, std: float, n: int, rng) -> np.ndarray:
    """``n`` points, balanced over the modes (the first ``n % K`` get one more), shuffled."""
    K = len(modes)
    counts = np.full(K, n // K) + (np.arange(K) < n % K)
    pts = np.repeat(modes, counts, axis=0) + std * rng.standard_normal((n, modes.shape[1]))
    return pts[rng.permutation(n)]


def resolve_data(path) -> Path:
    """Find a data file: as given (relative to the current directory), then in the project's
    ``data/`` folder, then (for ``mixture1d.csv`` only) the copy shipped inside the package."""
    p = Path(path).expanduser()
    root = Path(__file__).resolve().parent.parent  # the project (or site-packages)
    candidates = [p]
    if not p.is_absolute():
        candidates += [root / "data" / p, root / p]
    if str(path) == MIXTURE1D_FILE or (p.name == MIXTURE1D_FILE and p.parent.name in ("", "data")):
        candidates.append(Path(__file__).resolve().parent / "games" / MIXTURE1D_FILE)
    for c in candidates:
        if c.is_file():
            return c
    raise ConfigError(FIELD, f"data file {str(path)!r} not found (looked in: {', '.join(map(str, candidates))}); "
                      f"give a CSV path or one of {', '.join(NAMES)}")


def read_csv(path) -> np.ndarray:
    """Read a data file (``#`` comments, comma-separated columns, one point a row) as ``(M, dim)``."""
    f = resolve_data(path)
    try:
        a = np.loadtxt(f, delimiter=",", comments="#", ndmin=2)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(FIELD, f"cannot read {str(f)!r} as comma-separated numbers ({exc})") from None
    return a


def _checked(a: np.ndarray, name: str) -> np.ndarray:
    if a.shape[0] < MIN_POINTS:
        raise ConfigError(FIELD, f"{name!r} holds {a.shape[0]} point(s); give at least {MIN_POINTS}")
    if not np.all(np.isfinite(a)):
        raise ConfigError(FIELD, f"{name!r} holds NaN or infinite values; give finite numbers only")
    return np.ascontiguousarray(a, dtype=np.float64)


def load(name_or_path, n: int | None = None, seed: int | None = None) -> DataSet:
    """A named data set (``ring8``, ``grid25``, ``mixture1d``) or a CSV file.

    Parameters
    ----------
    name_or_path : str or path
    n : int, optional
        Points of a generated set (default ``DEFAULT_N[name]``); not allowed for a file.
    seed : int, optional
        Seed of a generated set (default: the fixed ``SEED`` stream of that set).

    Returns
    -------
    DataSet

    Raises
    ------
    ConfigError
        ``game.data``: unknown name or missing file, unreadable file, fewer than 2 points,
        non-finite values, or ``n``/``seed`` given for a file.
    """
    key = str(name_or_path)
    if key in _GENERATED:
        make, std, stream = _GENERATED[key]
        n = DEFAULT_N[key] if n is None else int(n)
        if n < MIN_POINTS:
            raise ConfigError(FIELD, f"{key}: n = {n}; give n ≥ {MIN_POINTS}")
        ss = np.random.SeedSequence([SEED, stream] if seed is None else [int(seed), stream])
        modes = make()
        pts = _mixture(modes, std, n, np.random.default_rng(ss))
        return DataSet(key, pts, modes, std, np.full(len(modes), 1.0 / len(modes)))
    if n is not None or seed is not None:
        raise ConfigError(FIELD, f"n and seed apply to the generated sets ({', '.join(_GENERATED)}), not to {key!r}")
    if key == "mixture1d":
        pts = _checked(read_csv(MIXTURE1D_FILE), key)
        return DataSet(key, pts, np.array([[-2.0], [2.0]]), 0.25, np.array([0.5, 0.5]))
    return DataSet(key, _checked(read_csv(key), key))
