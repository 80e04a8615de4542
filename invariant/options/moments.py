"""Which second moments the engine streams per chain: ``simulation.moments`` (docs/design.md
◆ Config additions).

* ``"full"``: the packed upper triangle of ``Σ x xᵀ``, d(d+1)/2 sums per chain (the full
  covariance); the default for d ≤ :data:`FULL_D_MAX`.
* ``"diagonal"``: ``Σ x_i²``, d sums (the per-coordinate variances).
* ``"projections"``: ``Σ x_i²`` and the packed triangle of ``Σ z zᵀ`` for K fixed linear
  projections ``z = P x`` (``P``: K × d), d + K(K+1)/2 sums: the variances and the full
  covariance ``P Cov Pᵀ`` of the projections; the default for d > :data:`FULL_D_MAX`.

The sums of ``x`` itself (d per chain) are streamed in every mode: the mean is always full.
Validated here, below :mod:`invariant.config`; the kernels read the mode as header
constants (:func:`kernel_constants`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..games.validate import choice, integer

__all__ = ["FULL", "FULL_D_MAX", "FULL_MAX_BYTES", "MODES", "MomentOptions", "PROJECTION_SPAWN_KEY", "validate_options"]

MODES = ("full", "diagonal", "projections")
MODE_ID = {m: i for i, m in enumerate(MODES)}  # the kernels' MOMENTS constant
FULL_D_MAX = 64
"""Largest d whose default is ``"full"``: above it the default is ``"projections"``."""
FULL_MAX_BYTES = 2**29
"""Most bytes the ``"full"`` sums of all chains may take (512 MiB) when d > FULL_D_MAX: above
it a run must track ``"diagonal"`` or ``"projections"`` (the sums, and their copy in every
checkpoint)."""
DEFAULT_K = 16
PROJECTION_SPAWN_KEY = 2**31 + 1
"""Spawn key of the projections' random stream under the run's seed: apart from every
chain's stream and the hook's (``engine.run``)."""


@dataclass(frozen=True)
class MomentOptions:
    """What the engine streams beyond ``Σ x`` (module docstring).

    Attributes
    ----------
    mode : {"full", "diagonal", "projections"}
    k : int
        Number of projections (0 unless ``mode == "projections"``).
    vectors : ndarray (k, d) or None
        User-given projection rows (``simulation.projection_vectors``); None: random
        orthonormal rows drawn from the run's seed (:meth:`matrix`).
    path : str or None
        Where ``vectors`` were read from (absolute), as the resolved config records it.
    """

    mode: str = "full"
    k: int = 0
    vectors: np.ndarray | None = None
    path: str | None = None

    @property
    def full(self) -> bool:
        return self.mode == "full"

    def tracked_size(self, d: int) -> int:
        """Second-moment sums per chain: d(d+1)/2 (full), d + K(K+1)/2 (else, K = 0 when diagonal)."""
        return d * (d + 1) // 2 if self.full else d + self.k * (self.k + 1) // 2

    def matrix(self, d: int, seed: int) -> np.ndarray:
        """``P`` (k × d): the user's rows, or the first k rows of a random orthogonal matrix
        (QR of a Gaussian matrix drawn from ``SeedSequence(seed, spawn_key=(PROJECTION_SPAWN_KEY,))``,
        signs fixed by R's diagonal, so that P is a function of the seed alone); (0, d) when
        no projection is tracked."""
        if self.vectors is not None:
            return np.array(self.vectors, dtype=float)
        if self.k == 0:
            return np.zeros((0, d))
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PROJECTION_SPAWN_KEY,)))
        q, r = np.linalg.qr(rng.standard_normal((d, self.k)))
        return (q * np.sign(np.diag(r))).T.copy()

    def as_dict(self) -> dict:
        out = {"moments": self.mode}
        if self.mode == "projections":
            out["projections"] = self.k
            if self.path is not None:
                out["projection_vectors"] = self.path
        return out


FULL = MomentOptions()
"""Today's moments, the default of the kernels' builders."""


def kernel_constants(opts: MomentOptions, d: int) -> dict:
    """The header constants of the kernels' moment sums (templates/chain.py ``_accumulate``)."""
    return dict(MOMENTS=(MODE_ID[opts.mode], f"second moments streamed: {opts.mode} (invariant.options.moments)"),
                N_PROJ=(int(opts.k), "projections z = P x whose covariance is streamed"))


def _read_vectors(value, d: int) -> tuple:
    """``(rows, absolute path)`` of ``simulation.projection_vectors``: a .npy or .csv file of
    shape (K, d), 1 ≤ K ≤ d, finite."""
    key = "simulation.projection_vectors"
    if not isinstance(value, str):
        raise ConfigError(key, f"must be the path of a .npy or .csv file of shape (K, {d}), got {value!r}")
    path = Path(value).expanduser().resolve()
    try:
        rows = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise ConfigError(key, f"cannot read {path} as a .npy or comma-separated .csv array: {exc}") from None
    rows = np.asarray(rows, dtype=float)
    if rows.ndim == 1:
        rows = rows[None, :]
    if rows.ndim != 2 or rows.shape[1] != d or not 1 <= rows.shape[0] <= d:
        raise ConfigError(key, f"{path} holds an array of shape {rows.shape}; it must be (K, {d}) with "
                               f"1 ≤ K ≤ {d} (one projection per row, d = {d} columns)")
    if not np.all(np.isfinite(rows)):
        raise ConfigError(key, f"{path} holds NaN or Inf entries; every entry must be finite")
    return rows, str(path)


def validate_options(sim: dict, d: int, chains: int) -> MomentOptions:
    """``simulation.moments``, ``projections``, ``projection_vectors`` for states of dimension
    ``d`` and ``chains`` chains; ConfigError naming the key and the fix."""
    mode = choice(sim.get("moments", "full" if d <= FULL_D_MAX else "projections"), "simulation.moments", MODES)
    given = [k for k in ("projections", "projection_vectors") if k in sim]
    if mode != "projections" and given:
        raise ConfigError(f"simulation.{given[0]}", f"applies to moments = 'projections' only (moments = "
                                                    f"{mode!r}); drop it or set moments = 'projections'")
    if mode == "full":
        need = chains * (d * (d + 1) // 2) * 8
        # above FULL_D_MAX the triangle dominates a chain's memory (below, the chains' number
        # does, and invariant.runner's estimate names simulation.chains)
        if d > FULL_D_MAX and need > FULL_MAX_BYTES:
            raise ConfigError("simulation.moments", f"'full' streams d(d+1)/2 = {d * (d + 1) // 2} sums per chain: "
                                                    f"{need} bytes for {chains} chains, above {FULL_MAX_BYTES} "
                                                    "bytes; use 'projections' (the default for d > "
                                                    f"{FULL_D_MAX}) or 'diagonal'")
        return MomentOptions("full")
    if mode == "diagonal":
        return MomentOptions("diagonal")
    if "projection_vectors" in sim:
        rows, path = _read_vectors(sim["projection_vectors"], d)
        if "projections" in sim and integer(sim["projections"], "simulation.projections", low=1) != rows.shape[0]:
            raise ConfigError("simulation.projections", f"is {sim['projections']}, but projection_vectors holds "
                                                        f"{rows.shape[0]} rows; drop projections or make them agree")
        return MomentOptions("projections", rows.shape[0], rows, path)
    k = integer(sim.get("projections", min(DEFAULT_K, d)), "simulation.projections", low=1)
    if k > d:
        raise ConfigError("simulation.projections", f"at most d = {d} orthonormal projections exist, got {k}; "
                                                    f"lower it (or track moments = 'full')")
    return MomentOptions("projections", k)
