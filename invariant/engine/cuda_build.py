"""Generate, cache and load the CUDA chain kernels for a game module (``backend = "cuda"``).

The CPU engine inlines the game's ``@njit`` kernels into its chain loops
(:mod:`invariant.engine.build`).  The device has no numpy generator and no heap, so here the
game's kernels — and the engine's own per-step helpers (drift, book-keeping, accumulators,
events, the observable hook) — are *translated* into CUDA device functions, one rule each:

* ``rng.standard_normal()``, ``rng.random()``, ``rng.integers(lo, hi)`` become draws from
  the chain's xoroshiro128+ state ``rng`` (a one-element local array); any other method of
  ``rng`` is an error naming the function (:data:`RNG_METHODS`, ``games/base.py``);
* ``np.empty(n)`` / ``np.zeros(n)`` (a scratch vector, ``n <= d``) become thread-local
  arrays of the compile-time length ``d``, cut to ``n``;
* numpy's scalar functions (``np.exp``, ``np.sqrt``, …) become ``math``'s;
* in float32 mode every float literal becomes a float32 constant, so that state arithmetic
  stays in float32 (docs/theory.md §3's step, in single precision).

The templates translated are those the two backends share (:data:`SHARED`: the training
step and the chain's book-keeping) and the hook's adapter; the CPU-only ones (its chain
loops, its stack or heap scratch) are not.  The renderer (:mod:`.render`) joins them, with
the device's own chain loops (``templates/cuda_chains.py``), into one module per (game
module, state dimensions, hook, dtype) in the kernel cache folder, keyed by a hash of its
text and of the game's sources (:func:`invariant.engine.build.load_generated`).
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
import textwrap

from numba.core.registry import CPUDispatcher

from ..options.moments import FULL, MomentOptions, kernel_constants
from . import build, render
from .build import Hook
from .render import Source
from .scratch import STACK_D_MAX

_NO_HOOK = Hook()
SHARED = ("step.py", "chain.py")
"""The templates of per-chain helpers both backends use (the CPU's own: ``cpu_chains.py``,
``scratch_stack.py``, ``scratch_heap.py``)."""

RNG_METHODS = {"standard_normal": "_rng_standard_normal", "random": "_rng_random", "integers": "_rng_integers"}
"""The generator methods a game may call, and the device function each becomes."""

_ALLOC = ("empty", "zeros")
_MATH = {
    "exp": "exp", "log": "log", "log1p": "log1p", "expm1": "expm1", "sqrt": "sqrt", "tanh": "tanh",
    "sin": "sin", "cos": "cos", "tan": "tan", "arctan": "atan", "arctan2": "atan2", "arcsin": "asin",
    "arccos": "acos", "sinh": "sinh", "cosh": "cosh", "floor": "floor", "ceil": "ceil", "hypot": "hypot",
    "isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite", "power": "pow", "fabs": "fabs", "abs": "fabs",
}
ROOTS = render.GAME_KERNELS + tuple(render.OPTIONAL_KERNELS)
"""The game kernels the chain loops call (``loss_with_grad`` is optional, games/base.py)."""


class _ToDevice(ast.NodeTransformer):
    """The translation rules of the module docstring, applied to one function."""

    def __init__(self, where: str, rename: dict, float32: bool):
        self.where = where
        self.rename = rename
        self.float32 = float32

    def visit_Name(self, node):
        if node.id in self.rename and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Name(self.rename[node.id], ast.Load()), node)
        return node

    def visit_Constant(self, node):
        if self.float32 and type(node.value) is float:
            return ast.copy_location(ast.Call(ast.Name("_F", ast.Load()), [node], []), node)
        return node

    def visit_Attribute(self, node):
        # rng.<method> anywhere but in a call of an allowed method
        if isinstance(node.value, ast.Name) and node.value.id == "rng" and node.attr not in RNG_METHODS:
            raise ValueError(f"{self.where} uses rng.{node.attr}; on the cuda backend game kernels draw only "
                             f"through rng.{'(), rng.'.join(RNG_METHODS)}() (see invariant/games/base.py)")
        return self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            owner = f.value.id
            if f.attr in RNG_METHODS and owner not in ("np", "math", "numpy"):
                if node.keywords or len(node.args) != (2 if f.attr == "integers" else 0):
                    raise ValueError(f"{self.where} calls {owner}.{f.attr} with arguments the cuda backend does not "
                                     f"take: draw one number a call, as {owner}.standard_normal(), {owner}.random() "
                                     f"or {owner}.integers(lo, hi)")
                node.args = [self.visit(a) for a in node.args]
                return ast.copy_location(ast.Call(ast.Name(RNG_METHODS[f.attr], ast.Load()),
                                                  [ast.Name(owner, ast.Load())] + node.args, []), node)
            if owner in ("np", "numpy") and f.attr in _ALLOC:
                if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Tuple):
                    raise ValueError(f"{self.where}: on the cuda backend a kernel may allocate only 1-D float "
                                     f"vectors of length <= d, as np.{f.attr}(n)")
                # cuda.local.array(LOCAL_N, _F)[:n], zeroed for np.zeros: in the caller's frame
                local = ast.Call(ast.parse("cuda.local.array", mode="eval").body,
                                 [ast.Name("LOCAL_N", ast.Load()), ast.Name("_F", ast.Load())], [])
                vec = ast.Subscript(local, ast.Slice(None, self.visit(node.args[0]), None), ast.Load())
                if f.attr == "zeros":
                    vec = ast.Call(ast.Name("_zeroed", ast.Load()), [vec], [])
                return ast.copy_location(vec, node)
            if owner in ("np", "numpy") and f.attr in _MATH:
                node.args = [self.visit(a) for a in node.args]
                return ast.copy_location(ast.Call(ast.Attribute(ast.Name("math", ast.Load()), _MATH[f.attr],
                                                                ast.Load()), node.args, []), node)
        return self.generic_visit(node)


def _local_names(fn: ast.FunctionDef) -> set:
    args = fn.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def device_function(fn: ast.FunctionDef, where: str, globals_rename: dict, float32: bool) -> str:
    """The source of ``fn`` as a CUDA device function (decorators replaced by ``@device``).

    ``globals_rename`` maps global names the function reads to the names they have in the
    generated module (a local of the same name shadows the global and is left alone).
    """
    rename = {k: v for k, v in globals_rename.items() if k not in _local_names(fn)}
    fn = _ToDevice(where, rename, float32).visit(fn)
    fn.name = globals_rename.get(fn.name, fn.name)
    fn.decorator_list = [ast.Name("device", ast.Load())]
    return ast.unparse(fn)  # unparse needs no source locations


def _jitted(module_name: str, name: str) -> ast.FunctionDef:
    """The source of ``module_name.name``, an ``njit`` function, undecorated."""
    disp = getattr(importlib.import_module(module_name), name)
    fn = ast.parse(textwrap.dedent(inspect.getsource(disp.py_func))).body[0]
    fn.decorator_list = []
    return fn


@functools.lru_cache(maxsize=64)  # a sweep renders the same modules again and again
def game_source(game_module: str, float32: bool) -> tuple[list, list, str, list]:
    """The ``numba.njit`` functions the engine's kernels reach from the game's ``loss, grad,
    hvp, noise, batch_grad`` (and ``loss_with_grad``), translated, wherever they are defined
    (the game's module or one it imports them from): ``name`` of the ``i``-th module met is
    ``_g<i>_name`` here, and the other globals these functions read are bound likewise.

    Returns ``(imports, bindings, functions, aliases)``: the aliases bind ``_loss``, … (or an
    optional kernel's stand-in) to the translated functions, so they follow them.
    """
    mods = [game_module]  # modules met, in order: their index makes the prefix
    game = importlib.import_module(game_module)
    todo = [(game_module, k) for k in ROOTS if k in vars(game)]
    seen, funcs, binds = set(), [], set()
    while todo:  # what the kernels call, and what that calls: only those need the device
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        mod_name, name = key
        mod = importlib.import_module(mod_name)
        prefix = f"_g{mods.index(mod_name)}_"
        fn = _jitted(mod_name, name)
        rename = {}
        for ref in {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} - _local_names(fn):
            value = vars(mod).get(ref)
            if isinstance(value, CPUDispatcher):
                where = value.py_func.__module__
                if where not in mods:
                    mods.append(where)
                rename[ref] = f"_g{mods.index(where)}_{value.py_func.__name__}"
                todo.append((where, value.py_func.__name__))
            elif ref in vars(mod) and not ref.startswith("__"):
                rename[ref] = prefix + ref
                binds.add(f"{prefix}{ref} = _m{mods.index(mod_name)}.{ref}")
        fn.name = name
        funcs.append(device_function(fn, f"{mod_name}.{name}", {**rename, name: prefix + name}, float32))
    imports = [f"import {m} as _m{i}" for i, m in enumerate(mods)]
    aliases = [f"_{k} = _g0_{k}" if k in vars(game) else f"_{k} = {render.OPTIONAL_KERNELS[k]}" for k in ROOTS
               if k in vars(game) or k in render.OPTIONAL_KERNELS]
    return tuple(imports), tuple(sorted(binds)), "\n\n\n".join(sorted(funcs)), tuple(aliases)


@functools.lru_cache(maxsize=64)
def engine_source(hook: Hook, float32: bool) -> str:
    """The shared templates (:data:`SHARED`), ``hook``'s sources, template and adapter,
    translated: both backends share one definition of the step, the accumulators, the events
    and the observables.  A hook's module-level assignments (constant arrays) are kept as
    they are.
    """
    out = []
    hook_parts = [p.text if isinstance(p, Source) else render.body(p) for p in hook.parts]
    for text in [render.body(t) for t in SHARED] + hook_parts:
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef):
                out.append(device_function(node, f"engine {node.name}", {}, float32))
            elif isinstance(node, ast.Assign):
                out.append(ast.unparse(node))
    return "\n\n\n".join(out)


def n_observables(hook: Hook) -> int:
    """Observables of every statistics step: the standard six, then the hook's."""
    return len(build.STANDARD_OBSERVABLES) + len(hook.names)


# what the translated functions use beyond the templates' imports: math's functions,
# thread-local arrays, the device decorator, the state's dtype and the draws of its streams
_DEVICE_IMPORTS = ("import math", "import numpy as np", "from numba import cuda, float32, float64",
                   "from invariant.engine.cuda_device import device, rng_draws")


def kernels_text(game_module: str, d: int, d_theta: int, hook: Hook = _NO_HOOK, dtype: str = "float64",
                 optimizer: str = "sgd", order: int = 1, moments: MomentOptions = FULL) -> str:
    """The source of :func:`kernels`' module."""
    float32 = dtype == "float32"
    n_obs = n_observables(hook)
    constants = dict(
        D=(int(d), "state dimension, dθ: compile-time constants, so the chain's vectors fit registers"),
        D_THETA=int(d_theta), D_TRI=(moments.tracked_size(d), "second-moment sums per chain"),
        Q_TRI=(1 if d <= STACK_D_MAX or not moments.full else 8,
               "outer products queued before they are added to them (as on the CPU)"),
        **kernel_constants(moments, d),
        LOCAL_N=(int(d), "length of every thread-local scratch vector a game kernel allocates"),
        N_STD=len(build.STANDARD_OBSERVABLES), N_APPLIED=len(build.APPLIED_OBSERVABLES), N_OBS=n_obs,
        HOOK_WORK=int(hook.work) if hook.rng else 0,
        HOOK_ROWS=(max(hook.rows, 1), "rows of the hook's scratch (its work rows and copies of x, ∇g; at least one)"),
        SHARED=(False, "each player draws its own minibatch (shared batches run on the CPU)"),
        **build.optimizer_constants(optimizer, d, order, dtype),
    )
    constants.update(hook.constants)
    imports, binds, funcs, aliases = game_source(game_module, float32)
    bindings = [f"_F = {dtype}", f'_NORMAL, _UNIFORM = rng_draws("{dtype}")', '_, _UNIFORM64 = rng_draws("float64")',
                *binds]
    title = (f"CUDA kernels, one thread per chain.  Game kernels: {game_module}; observable hook: "
             f"{','.join(hook.names) or 'none'}; state dtype {dtype}.")
    parts = [Source(funcs), Source(engine_source(hook, float32)), "cuda_chains.py"]
    return render.module(title, parts, constants, bindings, [*imports, *_DEVICE_IMPORTS], aliases)


def kernels(game_module: str, d: int, d_theta: int, hook: Hook = _NO_HOOK, dtype: str = "float64",
            optimizer: str = "sgd", order: int = 1, moments: MomentOptions = FULL):
    """The CUDA kernel module (``sde_kernel``, ``sga_kernel``) for ``game_module`` and states
    of dimension ``d`` with ``dim θ = d_theta``, accumulating ``hook``'s observables.

    State vectors are thread-local arrays of the compile-time length ``d`` (registers for
    small ``d``); ``dtype`` (``"float64"`` or ``"float32"``) is that of the state and of the
    game's constants, accumulators are float64 in both; ``sga_kernel`` trains with
    ``optimizer`` (:data:`invariant.optimizers.OPTIMIZERS`), ``sde_kernel`` simulates its SDE of
    ``order`` (only consensus's differs from SGD's); the second moments streamed are
    ``moments``' (:mod:`invariant.options.moments`).
    """
    text = kernels_text(game_module, d, d_theta, hook, dtype, optimizer, order, moments)
    return build.load_generated(f"invariant_cuda_{dtype}", text, game_module)
