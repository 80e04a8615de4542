"""What the generated CUDA kernel modules import: the device decorator, the chains' random
streams (xoroshiro128+, one per chain) and the check that a GPU is there.

Nothing here imports ``numba.cuda`` at module load: :func:`require` is the one place that
does, so that a machine without ``numba-cuda`` can import the engine and be told, as a
config error, what is missing.  The CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set before
``numba.cuda`` is first imported) counts as a GPU: it runs the same kernels, slowly, in Python.
"""
from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np

from ..errors import ConfigError

INSTALL_HINT = ('install the extra with  pip install "invariant[cuda]"  and run on a machine with an NVIDIA GPU '
                '(or set NUMBA_ENABLE_CUDASIM=1 for the slow CUDA simulator)')


def simulated() -> bool:
    """True when Numba's CUDA simulator stands in for a GPU."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def require():
    """``numba.cuda``, once it is known to work: a GPU (or the simulator) is there.

    Raises
    ------
    ConfigError
        Naming ``simulation.backend``, what is missing and the fix.
    """
    try:
        from numba import cuda
    except ImportError as exc:  # numba without its CUDA target, or numba-cuda broken
        raise ConfigError("simulation.backend", f"'cuda' needs numba-cuda, which does not import ({exc}); "
                                                f"{INSTALL_HINT}") from None
    try:
        ok = cuda.is_available()
    except Exception:  # noqa: BLE001 — a broken driver is "not available" too
        ok = False
    if not ok:
        raise ConfigError("simulation.backend", f"'cuda' needs an NVIDIA GPU with a working driver and none was "
                                                f"found; use backend = 'cpu', or {INSTALL_HINT}")
    return cuda


def device(fn):
    """Compile ``fn`` as a CUDA device function.  NVVM inlines it into its callers (as the
    CPU engine inlines the game's kernels), so the chain's local vectors stay in registers."""
    from numba import cuda

    return cuda.jit(device=True)(fn)


def seed_states(seed: int, n: int, stream: int = 0) -> np.ndarray:
    """``n`` xoroshiro128+ states on the host: state ``c`` is the stream of ``(seed, stream)``
    jumped ``c · 2**64`` steps ahead, so stream ``c`` depends on ``(seed, stream, c)`` only.

    The 64-bit seed comes from ``numpy.random.SeedSequence`` (``stream > 0`` spawns an
    independent sequence for, e.g., the observable hook's own draws).
    """
    from numba.core.errors import NumbaWarning
    from numba.cuda.random import init_xoroshiro128p_states_cpu, xoroshiro128p_dtype

    seq = np.random.SeedSequence(seed, spawn_key=(stream,) if stream else ())
    s = int(seq.generate_state(1, np.uint64)[0])
    states = np.empty(n, dtype=xoroshiro128p_dtype)
    # under the simulator numba compiles the seeding in object mode (and says so), where
    # numpy reports the generator's intended 64-bit wraparound as overflow
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("ignore", NumbaWarning)
        init_xoroshiro128p_states_cpu(states, s, 0)
    return states


@contextlib.contextmanager
def quiet_wraparound():
    """Silence the simulator's numpy, which reports the generators' intended 64-bit
    wraparound as overflow (kernels run there as Python; a GPU reports nothing)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        yield


def rng_draws(dtype: str):
    """Device functions ``(normal, uniform)`` of one state ``rng[0]`` in ``dtype``."""
    from numba.cuda import random as r

    if dtype == "float32":
        return r.xoroshiro128p_normal_float32, r.xoroshiro128p_uniform_float32
    return r.xoroshiro128p_normal_float64, r.xoroshiro128p_uniform_float64
