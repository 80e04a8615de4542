"""One renderer for every generated kernel module, CPU and CUDA (docs/kernels.md).

The kernels are written as real Python in :mod:`invariant.engine.templates`.  Each template
opens with a ``# <header>`` … ``# </header>`` block of imports: real modules' (kept), and
the names a generated header binds (from ``templates._stub``) or another template defines
(from ``templates.<name>``), which are there for linters only.  :func:`module` joins the
bodies of the templates a kernel module needs under one generated header, which holds the
imports, the module's constants (state dimensions, observable counts, the SDE order, …) and
the bindings of the game's kernels; the callers (:mod:`.build`, :mod:`.cuda_build`,
:mod:`invariant.weak`, :mod:`invariant.schedule`) choose the templates and the constants,
and :func:`.build.load_generated` writes the text to the kernel cache and imports it.
"""
from __future__ import annotations

import ast
import functools
import importlib
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
_OPEN, _CLOSE = "# <header>", "# </header>"
_LINT_ONLY = "invariant.engine.templates"  # imports of stub and sibling names: dropped

GAME_KERNELS = ("batch_grad", "grad", "loss", "noise")
"""The game kernels every module binds (``_grad`` for ``grad``, …; games/base.py)."""
OPTIONAL_KERNELS = {"hvp": "_hvp_from_grad", "loss_with_grad": "_loss_from_x"}
"""Optional game kernels and the template function (``step.py``) that stands in for each."""

CPU_IMPORTS = ("import numpy as np", "from numba import njit, prange")
"""What every CPU module imports, for the game bindings and a hook's source."""


@dataclass(frozen=True)
class Source:
    """Code that is not a template (a hook's source, translated functions), placed as is."""

    text: str


@dataclass(frozen=True)
class Template:
    """A template's real imports (one statement each) and its body (after the header block)."""

    imports: tuple
    body: str


@functools.cache
def template(name: str) -> Template:
    """The template ``templates/<name>``, split at its header block."""
    text = (TEMPLATES / name).read_text()
    start, end = text.find(_OPEN), text.find(_CLOSE)
    if start < 0 or end < start:
        raise ValueError(f"template {name} has no '{_OPEN}' … '{_CLOSE}' block")
    imports = []
    for node in ast.parse(text[start:end]).body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ValueError(f"the header block of template {name} may hold imports only")
        if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_LINT_ONLY)):
            imports.append(ast.unparse(node))
    return Template(tuple(imports), text[end + len(_CLOSE):].strip("\n") + "\n")


def body(name: str) -> str:
    """The code of template ``name`` without its docstring and header block."""
    return template(name).body


SHARED_KERNELS = {"batch_grad": "_batch_shared", "noise": "_noise_shared"}
"""Shared minibatches: the template functions (``shared_batch.py``) bound in place of these
kernels; they call the game's ``shared_batch_grad`` (else ``_shared_from_samples`` over its
``sample_grads``) and ``shared_noise``."""


def game_bindings(game_module: str, batches: str = "independent") -> tuple[list, list, list]:
    """``(imports, bindings, tail)`` of a CPU module for the game kernels of ``game_module``.

    The game's kernels are inlined into the chain loops (numba IR inlining): a call boundary
    would cost reference-count updates on every array argument, every step.  An optional
    kernel the game lacks is bound, in ``tail`` (after the templates' bodies), to its stand-in;
    so are ``_batch_grad`` and ``_noise`` with ``batches = "shared"`` (:data:`SHARED_KERNELS`).
    """
    game = importlib.import_module(game_module)
    shared = batches == "shared"
    bindings, tail = [], []

    def bind(k):
        bindings.append(f'_{k} = njit(inline="always")(_game.{k}.py_func)')

    for k in GAME_KERNELS + tuple(OPTIONAL_KERNELS):
        if shared and k in SHARED_KERNELS:
            tail.append(f"_{k} = {SHARED_KERNELS[k]}")
        elif hasattr(game, k):
            bind(k)
        else:
            tail.append(f"_{k} = {OPTIONAL_KERNELS[k]}")
    if shared:
        bind("sample_grads")
        for k, stand_in in (("shared_batch_grad", "_shared_from_samples"), ("shared_noise", None)):
            if hasattr(game, k):
                bind(k)
            elif stand_in:
                tail.append(f"_{k} = {stand_in}")
    return [f"import {game_module} as _game"], bindings, tail


def module(title: str, parts, constants: dict, bindings=(), imports=(), tail=()) -> str:
    """The text of a generated kernel module.

    Parameters
    ----------
    title : str
        What the module holds (its first comment lines).
    parts : sequence of str or Source
        Template names (``"step.py"``) and other code, in module order.
    constants : dict
        ``name: value`` or ``name: (value, comment)``: the header's constants.
    bindings : sequence of str
        Statements binding names to things imported (the game's kernels).
    imports : sequence of str
        Imports beyond those of the templates.
    tail : sequence of str
        Statements that bind names to functions of the bodies (they follow them).
    """
    names = [p for p in parts if isinstance(p, str)]
    seen = list(imports)
    for name in names:
        seen += template(name).imports
    lines = [f"# Generated by invariant.engine.render -- do not edit.  {title}",
             f"# Templates: {', '.join(names)} (invariant/engine/templates).", ""]
    lines += _merged(seen)
    lines.append("")
    for k, v in constants.items():
        value, comment = v if isinstance(v, tuple) else (v, "")
        lines.append(f"{k} = {value!r}" + (f"  # {comment}" if comment else ""))
    lines += ["", *bindings]
    out = "\n".join(lines) + "\n"
    for p in parts:
        out += "\n\n" + (p.text.strip("\n") + "\n" if isinstance(p, Source) else body(p))
    if tail:
        out += "\n\n" + "\n".join(tail) + "\n"
    return out


def _merged(statements) -> list:
    """Import statements, one per module: ``import m`` first, then ``from m import a, b``."""
    plain, named = set(), {}
    for st in statements:
        for node in ast.parse(st).body:
            if isinstance(node, ast.Import):
                plain.update(ast.unparse(ast.Import([a])) for a in node.names)
            else:
                names = named.setdefault(node.module, set())
                names.update(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
    return sorted(plain) + [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(named.items())]


def cpu_module(title: str, game_module: str, parts, constants: dict, batches: str = "independent") -> str:
    """A CPU kernel module: :func:`module` with the game's kernels of ``game_module`` bound
    (for ``batches = "shared"``, through ``shared_batch.py``'s stand-ins)."""
    imports, bindings, tail = game_bindings(game_module, batches)
    if batches == "shared":
        parts = ["shared_batch.py", *parts]
    return module(title, parts, constants, bindings, [*imports, *CPU_IMPORTS], tail)
