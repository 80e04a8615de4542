"""Write the toy data sets the ``mlp`` game and the examples train on (MATH.md §1, §7).

Run from anywhere: ``python data/make_datasets.py``.  The output is deterministic (fixed
seed, exact component counts), so re-running it reproduces the shipped files byte for byte.

``data/mixture1d.csv``
    M = 256 points of a balanced two-component 1-D Gaussian mixture: modes at -2 and +2,
    standard deviation 0.25, exactly 128 points each (the modes are 16 standard deviations
    apart, so every point is unambiguously assigned to its mode by its sign).  One number
    per line.  A copy goes to ``invariant/games/mixture1d.csv``, the package data the
    ``mlp`` game loads by default when the project's ``data/`` folder is not there.
``data/mixture2d.csv``
    512 points of the "8 Gaussians" 2-D mixture: 8 modes equally spaced on the circle of
    radius 2 (angles 2πj/8, j = 0..7), isotropic standard deviation 0.05, exactly 64 points
    each.  Two comma-separated columns ``x,y``.

Both files start with ``#`` comment lines (read them with
``numpy.loadtxt(path, delimiter=",", comments="#", ndmin=2)``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SEED = 20240607
"""Seed of the generator every data set is drawn from (one stream per data set)."""

HERE = Path(__file__).resolve().parent
PACKAGE_COPY = HERE.parent / "invariant" / "games" / "mixture1d.csv"


def mixture1d(rng: np.random.Generator, m: int = 256, modes=(-2.0, 2.0), std: float = 0.25) -> np.ndarray:
    """``m`` points, ``m / len(modes)`` around each mode (balanced exactly), shuffled."""
    per = m // len(modes)
    if per * len(modes) != m:
        raise ValueError("m must be a multiple of the number of modes")
    pts = np.concatenate([mu + std * rng.standard_normal(per) for mu in modes])
    return rng.permutation(pts)


def mixture2d(rng: np.random.Generator, m: int = 512, k: int = 8, radius: float = 2.0,
              std: float = 0.05) -> np.ndarray:
    """``m`` points, ``m / k`` around each of ``k`` modes on a circle, shuffled; shape (m, 2)."""
    per = m // k
    if per * k != m:
        raise ValueError("m must be a multiple of k")
    ang = 2.0 * np.pi * np.arange(k) / k
    centres = radius * np.column_stack([np.cos(ang), np.sin(ang)])
    pts = np.concatenate([c + std * rng.standard_normal((per, 2)) for c in centres])
    return pts[rng.permutation(m)]


def main() -> None:
    # independent streams, so changing one data set never changes the other
    rng1, rng2 = (np.random.default_rng(s) for s in np.random.SeedSequence(SEED).spawn(2))
    y = mixture1d(rng1)
    header1 = (
        "mixture1d: 256 points, balanced 2-component Gaussian mixture, modes -2 and +2, std 0.25\n"
        f"written by data/make_datasets.py (seed {SEED}); one value per line"
    )
    for path in (HERE / "mixture1d.csv", PACKAGE_COPY):
        np.savetxt(path, y, fmt="%.6f", header=header1, comments="# ")
    xy = mixture2d(rng2)
    header2 = (
        "mixture2d: 512 points, 8 Gaussians on the circle of radius 2 (angles 2*pi*j/8), std 0.05\n"
        f"written by data/make_datasets.py (seed {SEED}); columns x,y\n"
        "x,y"
    )
    np.savetxt(HERE / "mixture2d.csv", xy, fmt="%.6f", delimiter=",", header=header2, comments="# ")


if __name__ == "__main__":
    main()
