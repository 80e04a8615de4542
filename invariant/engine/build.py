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

_TEMPLATE = Path(__file__).with_name("kernels.py.in")


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
    """

    names: tuple = ()
    source: str = (
        "@njit(cache=True)\n"
        "def observe_extra(x, gx, p, data, out):\n"
        "    pass\n"
    )


STANDARD_OBSERVABLES = (
    "g", "r2", "theta_dot_grad_theta", "omega_dot_grad_omega", "grad_theta_sq", "grad_omega_sq",
)


def cache_dir() -> Path:
    """Folder of generated kernel modules (``$INVARIANT_CACHE_DIR`` or ``~/.cache/invariant``)."""
    root = os.environ.get("INVARIANT_CACHE_DIR") or Path.home() / ".cache" / "invariant"
    return Path(root) / "kernels"


def kernels(game_module: str, hook: Hook = Hook()):
    """The kernel module for ``game_module`` (dotted name) with ``hook``'s observables."""
    text = _TEMPLATE.read_text().format(game=game_module, hook=hook.source, hook_name=",".join(hook.names) or "none")
    # numba's cache does not notice edits to inlined functions of other files: key the
    # generated module on the game's source too, so an edited game compiles afresh
    game_source = Path(importlib.util.find_spec(game_module).origin).read_bytes()
    digest = hashlib.sha1(text.encode() + game_source + numba.__version__.encode()).hexdigest()[:16]
    name = f"invariant_kernels_{digest}"
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
