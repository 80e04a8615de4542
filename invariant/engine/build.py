"""Generate, cache and load the chain kernels for a game module and an observable hook.

Numba cannot cache a kernel that receives jitted functions as arguments (each process
would recompile).  Instead the kernel templates (:mod:`invariant.engine.templates`) are
rendered once per (game kernel module, hook, state dimensions, SDE order) into a small
module on disk whose game functions are globals (:mod:`.render`); numba then caches its
compiled kernels beside it like any other module (docs/kernels.md).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numba

from ..optimizers import OPTIMIZER_ID, STATE_VECTORS
from ..options.moments import FULL, MomentOptions, kernel_constants
from ..schemes import fd_step
from ..storage import atomic_write
from . import render
from .render import Source
from .scratch import STACK_D_MAX

_INLINED = ("scratch.py", "pcg64.py")  # engine modules whose functions the generated kernels inline


@dataclass(frozen=True)
class Hook:
    """Per-step observables accumulated by the engine beyond the standard six.

    A hook is a kernel template and the constants it reads, so that a run folder records
    what it was (``hook.json``, :meth:`as_dict`) and a resumed run rebuilds it from its
    config rather than running code the folder holds (docs/design.md, The run folder).

    Parameters
    ----------
    names : tuple of str
        Names of the extra observables, in output order.
    template : str
        The template (``invariant/engine/templates``) defining ``observe_extra(x, gx, p,
        data, out)``, an ``@njit(cache=True)`` function filling ``out[:len(names)]`` from
        the state ``x`` and the population gradient ``gx = ∇g(x)``.  It may call the game's
        kernels ``_loss, _grad, _hvp, _noise, _batch_grad`` (module globals of the generated
        file).  With ``rng=True`` the signature is ``observe_extra(x, gx, p, data, rng, work,
        out)``.  The default, ``hook_none.py``, fills nothing.
    constants : tuple of (str, object)
        Constants of the template, set by the generated header.
    sources : tuple of str
        Code placed as is before the template: the user's own functions (``fdr.Observable``,
        Python API only) and the generated lines that call them.
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
    template: str = "hook_none.py"
    constants: tuple = ()
    sources: tuple = ()
    rng: bool = False
    work: int = 0

    @property
    def parts(self) -> list:
        """What the hook adds to a kernel module, in order: its sources, its template and the
        adapter the chain loops call (``_observe_extra``)."""
        return [*(Source(s) for s in self.sources), self.template, self.adapter]

    @property
    def adapter(self) -> str:
        """The template of the adapter the chain loops call (``_observe_extra``)."""
        return "hook_rng.py" if self.rng else "hook_plain.py"

    @property
    def rows(self) -> int:
        """Rows of the hook's scratch array: its work rows and copies of x and ∇g (rng hooks)."""
        return int(self.work) + 2 if self.rng else 0

    def as_dict(self) -> dict:
        """What ``hook.json`` records: compared, never run, when the run is resumed."""
        return {"names": list(self.names), "template": self.template,
                "constants": {k: v for k, v in self.constants}, "sources": list(self.sources),
                "rng": bool(self.rng), "work": int(self.work)}


STANDARD_OBSERVABLES = (
    "g", "r2", "theta_dot_grad_theta", "omega_dot_grad_omega", "grad_theta_sq", "grad_omega_sq",
)
APPLIED_OBSERVABLES = (
    "applied_theta_dot_grad", "applied_grad_theta_sq", "applied_omega_dot_grad", "applied_grad_omega_sq",
    "step_dissipation", "step_remainder",
)
"""Observables of the update itself, appended (after the hook's) for SGA chains only: with ∇̂
the minibatch gradient actually applied and the parameter it was applied to, ``θ·∇̂_θ``,
``|∇̂_θ|²``, ``ω·∇̂_ω``, ``|∇̂_ω|²`` (docs/theory.md §5's exact discrete FDR2), and with ``Δ`` the whole
step, ``−∇g(x)·Δ/lr`` and ``(g(x+Δ) − g(x) − ∇g(x)·Δ)/lr`` (an exact discrete FDR1).  They are
booked for SGD only (zero under the other optimisers of docs/theory.md §4b, whose relations differ).
The first four cost the update nothing: they are booked with the moments, every ``stat_every``
steps (:data:`WITH_MOMENTS`); the last two, which need ``∇g`` and ``g``, with the other
observables, every ``obs_every``."""

WITH_MOMENTS = APPLIED_OBSERVABLES[:4]
"""The observables booked with the moments (counted by ``acc_n``), not every ``obs_every``."""


def observable_names(dynamics: str, hook: Hook) -> tuple:
    """Names of the observables a run accumulates, in column order."""
    extra = APPLIED_OBSERVABLES if dynamics == "sga" else ()
    return STANDARD_OBSERVABLES + tuple(hook.names) + extra


def cache_dir() -> Path:
    """Folder of generated kernel modules (``$INVARIANT_CACHE_DIR`` or ``~/.cache/invariant``)."""
    root = os.environ.get("INVARIANT_CACHE_DIR") or Path.home() / ".cache" / "invariant"
    return Path(root) / "kernels"


def step_constants(optimizer: str = "sgd", order: int = 1, dtype: str = "float64") -> dict:
    """The header constants ``step.py`` reads (docs/kernels.md): the optimiser's id, what its
    SDE of ``order`` adds to the plain one (consensus: a noise with H, and at order 2 a
    central difference along the drift), and the relative step of its central differences."""
    return dict(FD_STEP=(fd_step(dtype), "relative step of the central differences (drift, corrected noise), ε^(1/3)"),
                OPTIMIZER=(OPTIMIZER_ID[optimizer], f"the SGA chains' optimiser: {optimizer}"),
                NOISE_HVP=(optimizer == "consensus", "the SDE noise adds γ H L z′"),
                FLOW_B1=(optimizer == "consensus" and order == 2, "the SDE drift adds k_flow (∇b₀)b₀"))


def optimizer_constants(optimizer: str, d: int, order: int = 1, dtype: str = "float64") -> dict:
    """:func:`step_constants`, the vectors of the optimiser's state and the length of a stack
    vector holding them."""
    n_s = STATE_VECTORS.get(optimizer, 0)
    return dict(step_constants(optimizer, order, dtype),
                N_S=(n_s, "vectors of length d in the optimiser's state"),
                D_S=(max(1, n_s * int(d)), "a stack vector of the optimiser's state (at least one entry)"))


def kernels(game_module: str, d: int, d_theta: int, hook: Hook = Hook(), order: int = 1,
            diffusion: str = "plain", sigma_varies: bool = True, optimizer: str = "sgd",
            batches: str = "independent", moments: MomentOptions = FULL):
    """The kernel module for ``game_module`` (dotted name) and states ``x = (θ, ω)`` of
    dimension ``d`` with ``dim θ = d_theta``, with ``hook``'s observables; its ``sga_chunk``
    trains with ``optimizer`` (:data:`invariant.optimizers.OPTIMIZERS`), its ``sde_chunk``
    simulates that optimiser's SDE of ``order`` 1 or 2 (docs/theory.md §3, §4b; only
    consensus's SDE kernels differ from SGD's: the others read their coefficients at run time),
    with the ``"plain"`` noise factor ``L`` or (plain SGDA at order 2) the ``"corrected"``
    ``L + lr·M`` (``sigma_varies``: the game's Σ depends on x, so ``M`` differentiates ``L``
    along the step; False for affine games, whose Σ is constant).  SGA runs take order 1's
    module.  ``batches = "shared"`` draws both players' gradients (and the SDE's noise) from
    one minibatch (SML; docs/theory.md §2).  The chains stream the second moments ``moments``
    says (:mod:`invariant.options.moments`).

    States of dimension ``d <= scratch.STACK_D_MAX`` get kernels specialised for
    ``(d, d_theta)``, whose per-chain vectors live on the stack
    (:mod:`invariant.engine.scratch`); larger states share one module with heap vectors.
    """
    text = kernels_text(game_module, d, d_theta, hook, order, diffusion, sigma_varies, optimizer, batches, moments)
    return load_generated("invariant_kernels", text, game_module)


def diffusion_constants(diffusion: str, sigma_varies: bool) -> dict:
    """The header constants of the SDE's noise factor (templates/step.py ``_corrected_noise``;
    its central difference's step is :func:`step_constants`' ``FD_STEP``)."""
    if diffusion not in ("plain", "corrected"):
        raise ValueError(f"diffusion must be 'plain' or 'corrected', got {diffusion!r}")
    return dict(
        CORRECTED=(diffusion == "corrected", "the noise factor is L + lr·M (docs/theory.md §3), else L"),
        SIGMA_VARIES=(bool(sigma_varies), "Σ depends on x: M differentiates L along the step"),
    )


def kernels_text(game_module: str, d: int, d_theta: int, hook: Hook = Hook(), order: int = 1,
                 diffusion: str = "plain", sigma_varies: bool = True, optimizer: str = "sgd",
                 batches: str = "independent", moments: MomentOptions = FULL) -> str:
    """The source of :func:`kernels`' module (templates ``step.py``, ``chain.py``, the scratch
    of stack or heap vectors, the hook's sources, template and adapter, ``cpu_chains.py``)."""
    small = d <= STACK_D_MAX
    n_obs = len(STANDARD_OBSERVABLES) + len(hook.names)
    constants = {}
    if small:
        constants.update(D=(int(d), "the state dimension these kernels are specialised for, and dθ"),
                         D_THETA=int(d_theta), D_TRI=(moments.tracked_size(d), "second-moment sums per chain"),
                         D_FLOW=(3 * int(d), "three rows of D: scratch of the SDE drift's central difference"))
    constants.update(
        Q_TRI=(1 if small or not moments.full else 8,
               "outer products queued before they are added to the packed covariance sums"),
        **kernel_constants(moments, d),
        N_STD=(len(STANDARD_OBSERVABLES), "g, |x|², θ·∇θg, ω·∇ωg, |∇θg|², |∇ωg|²"),
        N_APPLIED=(len(APPLIED_OBSERVABLES), "SGA chains: observables of the update itself, after the hook's"),
        N_OBS=(n_obs, "observables of every statistics step: the standard ones, then the hook's"),
        N_OBS_MAX=(n_obs + len(APPLIED_OBSERVABLES) + 1, "N_OBS + N_APPLIED + 1 (the count)"),
        # one module per order, so order-1 chain loops carry no branch for b1 (it cost the
        # 2-D step 7–10 %)
        USE_B1=(order == 2 or optimizer == "consensus",
                "the SDE drift uses the Hessian–vector products u, v (order 2, or consensus), docs/theory.md §3"),
        HOOK_WORK=(int(hook.work) if hook.rng else 0, "work rows of the hook's scratch"),
        HOOK_ROWS=(hook.rows, "rows of the hook's scratch: its work rows, then copies of x and ∇g"),
        **optimizer_constants(optimizer, d, order),
    )
    constants.update(diffusion_constants(diffusion, sigma_varies))
    constants.update(SHARED=(batches == "shared", "one minibatch for both players: _noise is the joint factor"))
    constants.update(hook.constants)
    parts = ["step.py", "chain.py", "scratch_stack.py" if small else "scratch_heap.py", *hook.parts, "cpu_chains.py"]
    title = f"Game kernels: {game_module}; observable hook: {','.join(hook.names) or 'none'}."
    return render.cpu_module(title, game_module, parts, constants, batches)


def load_generated(prefix: str, text: str, game_module: str, own_folder: bool = False):
    """Write ``text`` (a module of kernels for ``game_module``) to the cache folder once and
    import it, so that numba caches its kernels on disk (also used by ``invariant.weak`` and
    ``invariant.schedule`` for their own generated kernels).  With ``own_folder`` the module
    goes in a folder of its own: a generated *game* module (``invariant.games.formula_game``),
    whose chain kernels are keyed on its folder's sources, which must then be its own only."""
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
    folder = cache_dir() / name if own_folder else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        atomic_write(path, lambda tmp: tmp.write_text(text))  # concurrent processes never see half a file
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
