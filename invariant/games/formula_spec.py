"""What a ``formula`` game's ``[game]`` table says, read into sympy (docs/theory.md §1).

The table names the players' parameters, the per-sample loss ``ĝ(θ, ω; ξ)`` as an
expression, its constants and the laws of the random inputs ``ξ``.  This module checks
every field and turns the expressions into sympy without ``eval``: each is parsed with
Python's ``ast`` and only numbers, the declared names (``t``, ``t[0]``, ``C[0, 1]``),
``+ − * / **`` and the smooth functions of :data:`FUNCTIONS` are accepted, so an error
names the field and the place in the expression.

Symbols (names chosen so that they cannot clash with a user's or a kernel's names):
``_x{i}`` the state ``x = (θ, ω)``, ``_c{k}`` the constant packed at ``p[k]``,
``_e{j}`` the ``j``-th scalar random input.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..errors import ConfigError
from .bilinear import _psd_factor
from .mlp_setup import resolve_data
from .validate import matrix, number, psd_matrix, vector


class sigmoid(sp.Function):
    """``σ(t) = 1/(1 + e^{−t})``; ``σ' = σ(t)σ(−t)``."""

    def fdiff(self, argindex=1):
        a = self.args[0]
        return sigmoid(a) * sigmoid(-a)


class logsigmoid(sp.Function):
    """``log σ(t) = −log(1 + e^{−t})`` (the GAN's ``f``); its derivative is ``σ(−t)``."""

    def fdiff(self, argindex=1):
        return sigmoid(-self.args[0])


class softplus(sp.Function):
    """``log(1 + e^t)``; its derivative is ``σ(t)``."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos,
             "tan": sp.tan, "tanh": sp.tanh, "sinh": sp.sinh, "cosh": sp.cosh, "atan": sp.atan,
             "sigmoid": sigmoid, "logsigmoid": logsigmoid, "softplus": softplus}
"""The functions an expression may call: smooth wherever they are defined."""
NONSMOOTH = {"abs", "Abs", "max", "Max", "min", "Min", "sign", "Heaviside", "floor", "ceil",
             "round", "relu", "clip", "where", "Piecewise"}
"""Names refused with the reason: ``grad`` and ``hvp`` need two derivatives everywhere."""
_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
_LAWS = "normal = [mean, sd], normal = { mean = [...], cov = [[...]] }, values = [...] (with probs = [...]), or data = \"file.csv\""


@dataclass
class Law:
    """One independent block of random inputs and its law.

    ``kind`` is ``"normal"`` (``ξ = mean + factor·z``, ``z`` standard normal, ``factor`` lower
    triangular), ``"values"`` (a scalar taking ``values[i]`` with probability ``probs[i]``) or
    ``"data"`` (the columns of a uniformly drawn row of ``rows``).
    """

    field: str
    kind: str
    symbols: tuple
    mean: np.ndarray | None = None
    factor: np.ndarray | None = None
    values: np.ndarray | None = None
    probs: np.ndarray | None = None
    rows: np.ndarray | None = None

    def rule(self, nodes: int) -> tuple[np.ndarray, np.ndarray]:
        """``(weights, points)``: exact for ``values`` and ``data``, a ``nodes``-point
        probabilists' Gauss–Hermite rule per used column of ``factor`` for ``normal``."""
        if self.kind == "values":
            return self.probs, self.values[:, None]
        if self.kind == "data":
            return np.full(len(self.rows), 1.0 / len(self.rows)), self.rows
        cols = [i for i in range(self.factor.shape[1]) if np.any(self.factor[:, i] != 0.0)]
        xk, wk = np.polynomial.hermite_e.hermegauss(nodes)
        wk = wk / wk.sum()
        if not cols:
            return np.ones(1), self.mean[None, :].copy()
        grids = np.meshgrid(*([xk] * len(cols)), indexing="ij")
        Z = np.stack([g.ravel() for g in grids], axis=1)
        W = np.prod(np.meshgrid(*([wk] * len(cols)), indexing="ij"), axis=0).ravel()
        return W, self.mean[None, :] + Z @ self.factor[:, cols].T

    def centre(self) -> np.ndarray:
        """The law's mean (where the one-pass covariance sums are shifted to)."""
        if self.kind == "normal":
            return self.mean
        w, P = self.rule(0)
        return w @ P


@dataclass
class Spec:
    """A checked ``formula`` table: symbols, their display names, values and laws."""

    theta: list
    omega: list
    consts: list  # (symbol, value), p[2 + k] for the k-th
    laws: list
    loss: sp.Expr
    loss_theta: sp.Expr | None
    names: dict = field(default_factory=dict)  # symbol -> the user's name

    @property
    def x(self) -> list:
        return self.theta + self.omega


def _declare(entries, field_: str, prefix: str, start: int, names: dict, scope: dict) -> list:
    """Parameter symbols for ``["t", "w[3]"]``; vectors expand to their entries."""
    if not isinstance(entries, (list, tuple)) or not entries:
        raise ConfigError(field_, f"must be a non-empty list of names, e.g. [\"t\"] or [\"t[3]\"] for a vector; got {entries!r}")
    out = []
    for e in entries:
        m = _NAME.match(e) if isinstance(e, str) else None
        if m is None:
            raise ConfigError(field_, f"{e!r} is not a name or a vector name like \"t[3]\"")
        base, size = m.group(1), m.group(2)
        _fresh(base, field_, scope)
        if size is None:
            s = sp.Symbol(f"{prefix}{start + len(out)}", real=True)
            names[s] = base
            scope[base] = s
            out.append(s)
        else:
            vec = []
            for i in range(int(size)):
                s = sp.Symbol(f"{prefix}{start + len(out)}", real=True)
                names[s] = f"{base}[{i}]"
                vec.append(s)
                out.append(s)
            scope[base] = vec
    return out


def _fresh(base: str, field_: str, scope: dict) -> None:
    if base in scope:
        raise ConfigError(field_, f"the name {base!r} is declared twice")
    if base in FUNCTIONS or base in NONSMOOTH:
        raise ConfigError(field_, f"{base!r} is a function name; pick another name")


def _constants(table, field_: str, names: dict, scope: dict) -> list:
    if not isinstance(table, dict):
        raise ConfigError(field_, f"must be a table of name = number (or list of numbers), got {table!r}")
    out = []
    for key, value in table.items():
        f = f"{field_}.{key}"
        if not isinstance(key, str) or not _NAME.match(key) or "[" in key:
            raise ConfigError(f, "a constant's name must be a plain name")
        _fresh(key, f, scope)
        arr = np.asarray(value, dtype=object)
        if arr.ndim == 0:
            vals = np.array([[number(value, f)]])
        elif arr.ndim == 1:
            vals = vector(value, f)[None, :]
        else:
            vals = matrix(value, f)
        syms = np.empty(vals.shape, dtype=object)
        for idx in np.ndindex(*vals.shape):
            s = sp.Symbol(f"_c{2 + len(out)}", real=True)
            label = key if arr.ndim == 0 else f"{key}[{idx[1]}]" if arr.ndim == 1 else f"{key}[{idx[0]}, {idx[1]}]"
            names[s] = label
            syms[idx] = s
            out.append((s, float(vals[idx])))
        scope[key] = syms[0, 0] if arr.ndim == 0 else list(syms[0]) if arr.ndim == 1 else [list(r) for r in syms]
    return out


def _law(name: str, spec, names: dict, scope: dict, start: int) -> Law:
    f = f"game.xi.{name}"
    if not isinstance(spec, dict) or len(set(spec) - {"probs"}) != 1:
        raise ConfigError(f, f"unsupported law {spec!r}; use {_LAWS}")
    kind = next(k for k in spec if k != "probs")
    if "probs" in spec and kind != "values":
        raise ConfigError(f"{f}.probs", "only a law of values takes probs")
    if kind == "normal" and isinstance(spec["normal"], dict):
        cov = spec["normal"].get("cov")
        mean = vector(spec["normal"].get("mean", [0.0] * len(cov or [])), f"{f}.normal.mean")
        S = psd_matrix(cov, f"{f}.normal.cov", mean.size)
        law = Law(f, "normal", (), mean=mean, factor=_psd_factor(S))
    elif kind == "normal":
        mv = vector(spec["normal"], f"{f}.normal", 2)
        number(mv[1], f"{f}.normal", low=0.0)
        law = Law(f, "normal", (), mean=mv[:1], factor=mv[1:].reshape(1, 1))
    elif kind == "values":
        vals = vector(spec["values"], f"{f}.values")
        probs = vector(spec.get("probs", np.full(vals.size, 1.0 / vals.size)), f"{f}.probs", vals.size)
        if np.any(probs < 0) or abs(probs.sum() - 1.0) > 1e-12:
            raise ConfigError(f"{f}.probs", f"must be >= 0 and sum to 1, got sum {probs.sum():.17g}")
        law = Law(f, "values", (), values=vals, probs=probs / probs.sum())
    elif kind == "data":
        law = Law(f, "data", (), rows=_rows(spec["data"], f"{f}.data"))
    else:
        raise ConfigError(f, f"unsupported law {kind!r}; use {_LAWS}")
    k = law.mean.size if law.kind == "normal" else law.rows.shape[1] if law.kind == "data" else 1
    _fresh(name, f, scope)
    syms = [sp.Symbol(f"_e{start + i}", real=True) for i in range(k)]
    vec = law.kind != "values" and (k > 1 or isinstance(spec.get("normal"), dict))
    for i, s in enumerate(syms):
        names[s] = f"{name}[{i}]" if vec else name
    scope[name] = syms if vec else syms[0]
    law.symbols = tuple(syms)
    return law


def _rows(path, field_: str) -> np.ndarray:
    if not isinstance(path, str):
        raise ConfigError(field_, f"must be the path of a CSV file, got {path!r}")
    try:
        f = resolve_data(path)
        a = np.loadtxt(f, delimiter=",", comments="#", ndmin=2)
    except ConfigError as exc:
        raise ConfigError(field_, exc.message) from None
    except ValueError as exc:
        raise ConfigError(field_, f"cannot read {path!r} as rows of numbers ({exc})") from None
    if a.shape[0] < 1 or not np.all(np.isfinite(a)):
        raise ConfigError(field_, f"{path!r} must hold at least one row of finite numbers")
    return np.ascontiguousarray(a)


def parse(text, field_: str, scope: dict, names: dict) -> sp.Expr:
    """The sympy expression of ``text``, every name looked up in ``scope``."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(field_, f"must be an expression (a string), got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(field_, f"cannot parse {text!r}: {exc.msg} at column {exc.offset}") from None
    return _Converter(text.strip(), field_, scope).visit(tree.body)


class _Converter(ast.NodeVisitor):
    """ast → sympy for the small language of loss expressions."""

    _OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
            ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}

    def __init__(self, text: str, field_: str, scope: dict):
        self.text, self.field, self.scope = text, field_, scope

    def fail(self, node, why: str):
        where = ast.get_source_segment(self.text, node) or ""
        raise ConfigError(self.field, f"{why} (`{where}` at column {node.col_offset + 1})")

    def generic_visit(self, node):
        self.fail(node, f"{type(node).__name__} is not allowed in a loss expression")

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            self.fail(node, "only numbers may appear as literals")
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)

    def visit_BinOp(self, node):
        op = self._OPS.get(type(node.op))
        if op is None:
            self.fail(node, f"the operator {type(node.op).__name__} is not allowed; use + - * / **")
        return op(self.visit(node.left), self.visit(node.right))

    def visit_UnaryOp(self, node):
        if not isinstance(node.op, (ast.UAdd, ast.USub)):
            self.fail(node, "only unary + and - are allowed")
        v = self.visit(node.operand)
        return -v if isinstance(node.op, ast.USub) else v

    def visit_Name(self, node):
        if node.id not in self.scope:
            known = ", ".join(sorted(self.scope)) or "none"
            self.fail(node, f"unknown symbol {node.id!r}; declared: {known}")
        v = self.scope[node.id]
        if isinstance(v, list):
            self.fail(node, f"{node.id!r} is a vector: index it, e.g. {node.id}[0]")
        return v

    def visit_Subscript(self, node):
        base = node.value
        idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        while isinstance(base, ast.Subscript):  # C[0][1] reads as C[0, 1]
            idx = [base.slice, *idx]
            base = base.value
        if not isinstance(base, ast.Name) or base.id not in self.scope:
            self.fail(node, "only declared vectors and matrices can be indexed")
        v = self.scope[base.id]
        for i in idx:
            if not (isinstance(i, ast.Constant) and isinstance(i.value, int) and not isinstance(i.value, bool)):
                self.fail(node, "indices must be integer literals")
            if not isinstance(v, list) or not 0 <= i.value < len(v):
                self.fail(node, f"index {i.value} is out of range for {base.id!r}")
            v = v[i.value]
        if isinstance(v, list):
            self.fail(node, f"{base.id!r} needs more indices")
        return v

    def visit_Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in NONSMOOTH:
            self.fail(node, f"{name}() is not differentiable everywhere, so grad and hvp would be wrong "
                            "where it switches; write a smooth version, e.g. sqrt(u**2 + eps**2) for abs(u)")
        if name not in FUNCTIONS:
            self.fail(node, f"unknown function {name!r}; allowed: {', '.join(sorted(FUNCTIONS))}")
        if len(node.args) != 1 or node.keywords:
            self.fail(node, f"{name}() takes one argument")
        return FUNCTIONS[name](self.visit(node.args[0]))


def read(table: dict) -> Spec:
    """Check a ``formula`` table's fields and read its expressions (docs/theory.md §1)."""
    names, scope = {}, {}
    theta = _declare(table.get("theta"), "game.theta", "_x", 0, names, scope)
    omega = _declare(table.get("omega"), "game.omega", "_x", len(theta), names, scope)
    consts = _constants(table.get("constants", {}), "game.constants", names, scope)
    xi = table.get("xi", {})
    if not isinstance(xi, dict):
        raise ConfigError("game.xi", f"must be a table of name = law, got {xi!r}")
    laws = []
    for key, spec in xi.items():
        laws.append(_law(key, spec, names, scope, sum(len(lw.symbols) for lw in laws)))
    if "loss" not in table:
        raise ConfigError("game.loss", "required: the per-sample loss ĝ as an expression, e.g. \"c*t*w + y*t\"")
    loss = parse(table["loss"], "game.loss", scope, names)
    loss_theta = parse(table["loss_theta"], "game.loss_theta", scope, names) if "loss_theta" in table else None
    own = (("game.loss_theta", loss_theta, theta, "theta"),) if loss_theta is not None else (("game.loss", loss, theta, "theta"),)
    for fld, expr, syms, who in (*own, ("game.loss", loss, omega, "omega")):
        if not expr.free_symbols & set(syms):
            raise ConfigError(fld, f"does not depend on {who} ({', '.join(names[s] for s in syms)}): "
                                   "its gradient would be zero")
    return Spec(theta, omega, consts, laws, loss, loss_theta, names)
