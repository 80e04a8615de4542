"""Generate, cache and load the chain kernels for a game module and an observable hook.

Numba cannot cache a kernel that receives jitted functions as arguments (each process
would recompile).  Instead the kernel template ``kernels.py.in`` is instantiated once per
(game kernel module, hook) as a small module on disk whose game functions are globals;
numba then caches its compiled kernels beside it like any other module.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numba

from .scratch import STACK_D_MAX

_TEMPLATE = Path(__file__).with_name("kernels.py.in")
_PREAMBLE = Path(__file__).with_name("game.py.in")
_INLINED = ("scratch.py", "pcg64.py")  # engine modules whose functions the generated kernels inline


@dataclass(frozen=True)
class Hook:
    """Per-step observables accumulated by the engine beyond the standard six.

    Parameters
    ----------
    names : tuple of str
        Names of the extra observables, in output order.
    source : str
        Python source defining ``observe_extra(x, gx, p, data, out)``, an
        ``@njit(cache=True)`` function filling ``out[:len(names)]`` from the state ``x``
        and the population gradient ``gx = ∇g(x)``.  It may call the game's kernels
        ``_loss, _grad, _hvp, _noise, _batch_grad`` (module globals of the generated file).
        With ``rng=True`` the signature is ``observe_extra(x, gx, p, data, rng, work, out)``.
    rng : bool
        The hook draws random numbers: it receives ``rng``, a PCG64 stream of its own per
        chain (:mod:`invariant.engine.pcg64`; ``rng.standard_normal()``, ``rng.random()``,
        ``rng.integers(lo, hi)``), spawned from the run's seed apart from the chains' streams,
        so the chains are bit-identical with and without the hook, and checkpointed with them;
        and ``work``,
        a ``(work, d)`` scratch array allocated once per chain and chunk (no allocation at
        the statistics steps).  A hook that is not ``inline="always"`` costs one call per
        statistics step but keeps the chain kernels' compile time down.
    work : int
        Rows of the ``work`` scratch array (``rng=True`` only).
    """

    names: tuple = ()
    source: str = (
        "@njit(cache=True, inline=\"always\")\n"
        "def observe_extra(x, gx, p, data, out):\n"
        "    pass\n"
    )
    rng: bool = False
    work: int = 0

    def generated(self) -> str:
        """The hook's source plus the adapter the kernel template calls."""
        if self.rng:
            # a hook compiled apart gets heap copies of x and ∇g (the last two rows of its
            # work array): handing it the chain's own vectors would keep them out of registers
            tail = (f"\n\nHOOK_WORK = {int(self.work)}\n\n\n"
                    "@njit(cache=True, inline=\"always\")\n"
                    "def _hook_work(d):\n"
                    "    return np.empty((HOOK_WORK + 2, d))\n\n\n"
                    "@njit(cache=True, inline=\"always\")\n"
                    "def _observe_extra(x, gx, p, data, rng, work, out):\n"
                    "    xs = work[HOOK_WORK]\n"
                    "    gs = work[HOOK_WORK + 1]\n"
                    "    for i in range(x.shape[0]):\n"
                    "        xs[i] = x[i]\n"
                    "        gs[i] = gx[i]\n"
                    "    observe_extra(xs, gs, p, data, rng, work[:HOOK_WORK], out)\n")
        else:
            tail = ("\n\n@njit(cache=True, inline=\"always\")\n"
                    "def _hook_work(d):\n"
                    "    return np.empty((0, d))\n\n\n"
                    "@njit(cache=True, inline=\"always\")\n"
                    "def _observe_extra(x, gx, p, data, rng, work, out):\n"
                    "    observe_extra(x, gx, p, data, out)\n")
        return self.source.rstrip("\n") + tail

    def as_dict(self) -> dict:
        """What ``hook.json`` records (read back by :meth:`from_dict`)."""
        return {"names": list(self.names), "source": self.source, "rng": bool(self.rng), "work": int(self.work)}

    @classmethod
    def from_dict(cls, h: dict) -> "Hook":
        return cls(tuple(h["names"]), h["source"], bool(h.get("rng", False)), int(h.get("work", 0)))


STANDARD_OBSERVABLES = (
    "g", "r2", "theta_dot_grad_theta", "omega_dot_grad_omega", "grad_theta_sq", "grad_omega_sq",
)
APPLIED_OBSERVABLES = (
    "applied_theta_dot_grad", "applied_grad_theta_sq", "applied_omega_dot_grad", "applied_grad_omega_sq",
    "step_dissipation", "step_remainder",
)
"""Observables of the update itself, appended (after the hook's) for SGA chains only: with ∇̂
the minibatch gradient actually applied and the parameter it was applied to, ``θ·∇̂_θ``,
``|∇̂_θ|²``, ``ω·∇̂_ω``, ``|∇̂_ω|²`` (MATH.md §5's exact discrete FDR2), and with ``Δ`` the whole
step, ``−∇g(x)·Δ/lr`` and ``(g(x+Δ) − g(x) − ∇g(x)·Δ)/lr`` (an exact discrete FDR1)."""


def observable_names(dynamics: str, hook: "Hook") -> tuple:
    """Names of the observables a run accumulates, in column order."""
    extra = APPLIED_OBSERVABLES if dynamics == "sga" else ()
    return STANDARD_OBSERVABLES + tuple(hook.names) + extra


def cache_dir() -> Path:
    """Folder of generated kernel modules (``$INVARIANT_CACHE_DIR`` or ``~/.cache/invariant``)."""
    root = os.environ.get("INVARIANT_CACHE_DIR") or Path.home() / ".cache" / "invariant"
    return Path(root) / "kernels"


_STACK_SCRATCH = """
D = {d}  # the state dimension these kernels are specialised for, and dθ
D_THETA = {d_theta}
D_TRI = {d_tri}  # entries of a packed symmetric D × D matrix
Q_TRI = 1  # outer products queued before they are added to the packed covariance sums (1 or 8)


@njit(cache=True, inline="always")
def _dims(d, dth):
    # compile-time dimensions: loops over them unroll, and vectors indexed by constants
    # live in registers
    return D, D_THETA


@njit(cache=True, inline="always")
def _vec(d):
    # a length-D vector on the stack: promoted to registers once the loops are unrolled
    return carray(stack_ptr(D), D)


@njit(cache=True, inline="always")
def _tri(d):
    return carray(stack_ptr(D_TRI), D_TRI)


@njit(cache=True, inline="always")
def _tri_queue(d):
    return carray(stack_ptr(D), (1, D))
"""

_HEAP_SCRATCH = """
Q_TRI = 8  # outer products queued before they are added to the packed covariance sums (1 or 8)

@njit(cache=True, inline="always")
def _dims(d, dth):
    return d, dth


@njit(cache=True, inline="always")
def _vec(d):
    return np.empty(d)


@njit(cache=True, inline="always")
def _tri(d):
    return np.empty(d * (d + 1) // 2)


@njit(cache=True, inline="always")
def _tri_queue(d):
    return np.empty((Q_TRI, d))
"""


def kernels(game_module: str, d: int, d_theta: int, hook: Hook = Hook(), order: int = 1):
    """The kernel module for ``game_module`` (dotted name) and states ``x = (θ, ω)`` of
    dimension ``d`` with ``dim θ = d_theta``, with ``hook``'s observables; its ``sde_chunk``
    simulates the SDE of ``order`` 1 (drift b0) or 2 (b0 + lr·b1), MATH.md §3 (``sga_chunk``
    does not depend on it: SGA runs take order 1's module).

    States of dimension ``d <= scratch.STACK_D_MAX`` get kernels specialised for
    ``(d, d_theta)``, whose per-chain vectors live on the stack
    (:mod:`invariant.engine.scratch`); larger states share one module with heap vectors.
    """
    small = d <= STACK_D_MAX
    n_obs = len(STANDARD_OBSERVABLES) + len(hook.names)
    scratch = (_STACK_SCRATCH.format(d=int(d), d_theta=int(d_theta), d_tri=int(d * (d + 1) // 2))
               if small else _HEAP_SCRATCH)
    text = _TEMPLATE.read_text().format(game=game_module, preamble=game_preamble(game_module),
                                        scratch=scratch, hook=hook.generated(), use_b1=order == 2,
                                        n_obs=n_obs, n_obs_stack=n_obs + len(APPLIED_OBSERVABLES),
                                        hook_name=",".join(hook.names) or "none")
    return load_generated("invariant_kernels", text, game_module)


def game_preamble(game_module: str) -> str:
    """Source every generated kernel module starts with: numpy/numba imports, the game's
    kernels ``_batch_grad, _grad, _hvp, _loss, _noise`` inlined, and the SDE drift ``_drift``."""
    return _PREAMBLE.read_text().split("\n", 2)[2].format(game=game_module)


def load_generated(prefix: str, text: str, game_module: str):
    """Write ``text`` (a module of kernels for ``game_module``) to the cache folder once and
    import it, so that numba caches its kernels on disk (also used by ``invariant.weak`` and
    ``invariant.schedule`` for their own generated kernels)."""
    # numba's cache does not notice edits to inlined functions of other files: key the
    # generated module on the game's source and its sibling modules' (where its helpers may
    # live, as dirac_wgan's do in dirac) and on the engine's inlined helpers, so an edited
    # game or stream compiles afresh
    origin = Path(importlib.util.find_spec(game_module).origin)
    files = sorted(origin.parent.glob("*.py")) + [Path(__file__).with_name(f) for f in _INLINED]
    sources = b"".join(f.read_bytes() for f in files)
    digest = hashlib.sha1(text.encode() + sources + numba.__version__.encode()).hexdigest()[:16]
    name = f"{prefix}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)  # atomic: concurrent processes never see half a file
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
