"""Print a ``formula`` game's kernels (docs/kernels.md): the expressions of
:mod:`.formula_calc`, common subexpressions eliminated by sympy, as ``njit`` functions of
the game protocol (``invariant/games/base.py``) appended to the template
``invariant/engine/templates/formula.py``.

Only what depends on the formula is printed: the expressions, the draws of its random
inputs and the sums over its rules; the helpers are the template's.  The kernels follow the
protocol's speed rules: the state and the constants are read into scalars first, nothing is
allocated, a row of ``data`` is indexed from 0, and an index never comes from ``x``.
"""
from __future__ import annotations

import re

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from .formula_calc import Derived, Group, gaussian_mean, random_part
from .formula_spec import Spec


class _Printer(NumPyPrinter):
    """numpy's printer with ``np.`` for numpy, exact floats and the template's helpers."""

    def _module_format(self, fqn, register=True):
        out = super()._module_format(fqn, register)
        return "np." + out[len("numpy."):] if out.startswith("numpy.") else out

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_sigmoid(self, expr):
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_logsigmoid(self, expr):
        return f"_logsigmoid({self._print(expr.args[0])})"

    def _print_softplus(self, expr):
        return f"_softplus({self._print(expr.args[0])})"


_PRINTER = _Printer({"fully_qualified_modules": True})


def pr(e) -> str:
    """``e`` as Python; a zero as ``0.0`` (an accumulator starts as a float)."""
    out = _PRINTER.doprint(e)
    return "0.0" if out == "0" else out


class Rows:
    """The ``data`` array of a game: rule tables and finite laws' values, one block of rows each."""

    def __init__(self):
        self.blocks, self.n = [], 0
        self.at = {}

    def add(self, key, block) -> int:
        if key not in self.at:
            block = np.atleast_2d(np.asarray(block, dtype=np.float64))
            self.at[key] = self.n
            self.blocks.append(block)
            self.n += block.shape[0]
        return self.at[key]

    def array(self) -> np.ndarray:
        if not self.blocks:
            return np.zeros((0, 1))
        width = max(b.shape[1] for b in self.blocks)
        out = np.zeros((self.n, width))
        r = 0
        for b in self.blocks:
            out[r: r + b.shape[0], : b.shape[1]] = b
            r += b.shape[0]
        return out


class Writer:
    """Lines of one kernel module; ``tag`` numbers the temporaries so no two sections clash."""

    def __init__(self, spec: Spec, rows: Rows, nodes: int, const_index: dict):
        self.spec, self.rows, self.nodes, self.const_index = spec, rows, nodes, const_index
        self.tag = 0

    def cse(self, exprs, indent: str) -> tuple[list, list]:
        """``(lines, printed)``: assignments of the common subexpressions and the reduced exprs."""
        self.tag += 1
        repl, red = sp.cse(list(exprs), symbols=sp.numbered_symbols(f"_t{self.tag}_"), optimizations=None)
        return [f"{indent}{s} = {pr(e)}" for s, e in repl], [pr(e) for e in red]

    def reads(self, body: list, extra=()) -> list:
        """Scalar reads of the state, the direction ``v`` and the constants the body uses."""
        used = set(re.findall(r"\b_[xvc]\d+\b", "\n".join(body)))
        out = [f"    {s} = x[{i}]" for i, s in enumerate(self.spec.x) if str(s) in used]
        out += [f"    {s} = v[{i}]" for i, s in enumerate(extra) if str(s) in used]
        return out + [f"    {s} = p[{k}]" for s, k in self.const_index.items() if str(s) in used]

    # ----------------------------------------------------------------- rules
    def rule_rows(self, group: Group) -> tuple[int, int]:
        """Rows ``[lo, hi)`` of ``data`` holding the group's rule: ``[w, ξ…]`` per point."""
        w, P = np.ones(1), np.zeros((1, 0))
        for j in group.laws:
            wj, Pj = self.spec.laws[j].rule(self.nodes)
            w = np.outer(w, wj).ravel()
            P = np.concatenate([np.repeat(P, len(wj), axis=0), np.tile(Pj, (len(P), 1))], axis=1)
        lo = self.rows.add(("rule", group.laws, self.nodes), np.column_stack([w, P]))
        return lo, lo + len(w)

    def group_syms(self, group: Group) -> list:
        return [s for j in group.laws for s in self.spec.laws[j].symbols]

    def rule_loop(self, group: Group, indent: str) -> list:
        lo, hi = self.rule_rows(group)
        lines = [f"{indent}for _k in range({lo}, {hi}):", f"{indent}    _r = data[_k]", f"{indent}    _w = _r[0]"]
        lines += [f"{indent}    {s} = _r[{c + 1}]" for c, s in enumerate(self.group_syms(group))]
        return lines

    def expectation(self, ex, acc: str, indent: str = "    ") -> list:
        """Lines setting ``{acc}{i}`` to ``E exprs[i]`` (:class:`formula_calc.Expectation`)."""
        lines, printed = self.cse(ex.exact, indent)
        lines += [f"{indent}{acc}{i} = {e}" for i, e in enumerate(printed)]
        for g in ex.rules:
            idx = [i for i, e in enumerate(g.parts) if e != 0]
            lines += self.rule_loop(g, indent)
            sub, printed = self.cse([g.parts[i] for i in idx], indent + "    ")
            lines += sub + [f"{indent}    {acc}{i} += _w * ({e})" for i, e in zip(idx, printed, strict=True)]
        return lines

    def covariance(self, cov, tag: str, indent: str = "    ") -> list:
        """Lines setting ``_S{tag}_{i}_{j}`` (``j <= i``) to the covariance ``cov``.

        A rule group's covariance is a one-pass sum shifted by the value at the laws' mean,
        which avoids the cancellation of ``E h² − (E h)²`` when the spread is small."""
        n = len(cov.exact)
        lines, printed = self.cse([cov.exact[i][j] for i in range(n) for j in range(i + 1)], indent)
        k = 0
        for i in range(n):
            for j in range(i + 1):
                lines.append(f"{indent}_S{tag}_{i}_{j} = {printed[k]}")
                k += 1
        for gi, g in enumerate(cov.rules):
            idx = [i for i, e in enumerate(g.parts) if e != 0]
            centre = np.concatenate([self.spec.laws[j].centre() for j in g.laws])
            lines += [f"{indent}{s} = {float(c)!r}" for s, c in zip(self.group_syms(g), centre, strict=True)]
            sub, pc = self.cse([g.parts[i] for i in idx], indent)
            lines += sub + [f"{indent}_h{gi}_{i} = {e}" for i, e in zip(idx, pc, strict=True)]
            lines += [f"{indent}_m{gi}_{i} = 0.0" for i in idx]
            lines += [f"{indent}_q{gi}_{i}_{j} = 0.0" for a, i in enumerate(idx) for j in idx[: a + 1]]
            lines += self.rule_loop(g, indent)
            sub, pc = self.cse([g.parts[i] for i in idx], indent + "    ")
            lines += sub + [f"{indent}    _d{i} = {e} - _h{gi}_{i}" for i, e in zip(idx, pc, strict=True)]
            lines += [f"{indent}    _m{gi}_{i} += _w * _d{i}" for i in idx]
            lines += [f"{indent}    _q{gi}_{i}_{j} += _w * _d{i} * _d{j}" for a, i in enumerate(idx) for j in idx[: a + 1]]
            lines += [f"{indent}_S{tag}_{i}_{j} += _q{gi}_{i}_{j} - _m{gi}_{i} * _m{gi}_{j}"
                      for a, i in enumerate(idx) for j in idx[: a + 1]]
        return lines

    # ----------------------------------------------------------------- draws
    def draw(self, j: int, indent: str, scale: str | None) -> list:
        """Lines drawing law ``j``'s inputs (a normal law's ``z`` times ``scale`` when given)."""
        law = self.spec.laws[j]
        if law.kind == "normal":
            lines = []
            for i in range(law.factor.shape[1]):
                if np.any(law.factor[:, i] != 0.0):
                    lines.append(f"{indent}_z{j}_{i} = " + (f"{scale} * " if scale else "") + "rng.standard_normal()")
            for r, s in enumerate(law.symbols):
                terms = ([repr(float(law.mean[r]))] if law.mean[r] != 0.0 else []) + [
                    f"{float(law.factor[r, i])!r} * _z{j}_{i}" if law.factor[r, i] != 1.0 else f"_z{j}_{i}"
                    for i in range(law.factor.shape[1]) if law.factor[r, i] != 0.0]
                lines.append(f"{indent}{s} = {' + '.join(terms) or '0.0'}")
            return lines
        if law.kind == "values":
            at = self.rows.add(("values", j), np.vstack([np.cumsum(law.probs), law.values]))
            return [f"{indent}{law.symbols[0]} = data[{at + 1}][_pick(rng, data[{at}], {law.values.size})]"]
        at = self.rows.add(("data", j), law.rows)
        return [f"{indent}_r = data[{at} + rng.integers(0, {law.rows.shape[0]})]"] + [
            f"{indent}{s} = _r[{c}]" for c, s in enumerate(law.symbols)]


def _kernel(head: str, body: list, w: Writer, v=(), deco: str = "_kernel") -> list:
    return ["", "", f"@{deco}", head, *w.reads(body, v), *body]


def kernels(spec: Spec, d: Derived, nodes: int, const_index: dict, noise_factor) -> tuple[str, np.ndarray]:
    """``(source, data)``: the printed kernels of the game and its ``data`` array.

    ``noise_factor`` is ``None`` when ``Σ`` depends on ``x`` (the noise kernel factors it at
    each call), else ``(L, at)``: the lower Cholesky factor of the constant ``Σ`` (``d × d``)
    and where its entries are packed in ``p`` (``p[at + i·d + j] = L[i, j]``).
    """
    rows = Rows()
    w = Writer(spec, rows, nodes, const_index)
    out = []
    body = w.expectation(d.loss, "_a") + ["    return _a0"]
    out += _kernel("def loss(x, p, data):", body, w)
    if d.loss_theta is not None:
        body = w.expectation(d.loss_theta, "_a") + ["    return _a0"]
        out += _kernel("def generator_loss(x, p, data):", body, w)
    n = len(spec.x)
    body = w.expectation(d.grad, "_a") + [f"    out[{i}] = _a{i}" for i in range(n)]
    out += _kernel("def grad(x, p, data, out):", body, w)
    body = w.expectation(d.hvp, "_a") + [f"    out[{i}] = _a{i}" for i in range(n)]
    out += _kernel("def hvp(x, p, data, v, out):", body, w, d.v)
    out += _kernel("def sigma(x, p, data, out):", _sigma_body(w, d, n), w)
    out += _kernel("def noise(x, p, data, rng, out):", _noise_body(w, d, noise_factor), w)
    out += _kernel("def batch_grad(x, p, data, rng, batch_size, player, out):", _batch_body(w, spec, d), w, deco="_sampler")
    out += _kernel("def sample_grads(x, p, data, rng, out):", _samples_body(w, spec, d), w, deco="_sampler")
    return "\n".join(out) + "\n", rows.array()


def _blocks(w: Writer):
    dt = len(w.spec.theta)
    return ((0, dt), (dt, len(w.spec.x)))


def _sigma_body(w: Writer, d: Derived, n: int) -> list:
    body = [f"    out[{i}, {j}] = 0.0" for i in range(n) for j in range(n)]
    for b, (lo, hi) in enumerate(_blocks(w)):
        body += w.covariance(d.cov[b], str(b))
        for i in range(hi - lo):
            for j in range(i + 1):
                body.append(f"    out[{lo + i}, {lo + j}] = _S{b}_{i}_{j}")
                if i != j:
                    body.append(f"    out[{lo + j}, {lo + i}] = _S{b}_{i}_{j}")
    return body


def _noise_body(w: Writer, d: Derived, factor) -> list:
    """``out = L z``: ``L`` packed in ``p`` (constant ``Σ``, zero columns draw nothing) or the
    unrolled Cholesky factor of ``Σ(x)`` (semi-definite ``Σ`` gives zero columns)."""
    body = []
    if factor is not None:
        L, at = factor
        n = L.shape[0]
        for lo, hi in _blocks(w):
            cols = [j for j in range(lo, hi) if np.any(L[:, j] != 0.0)]
            body += [f"    _z{j} = rng.standard_normal()" for j in cols]
            for i in range(lo, hi):
                terms = [f"p[{at + i * n + j}] * _z{j}" for j in cols if L[i, j] != 0.0]
                body.append(f"    out[{i}] = {' + '.join(terms) or '0.0'}")
        return body
    for b, (lo, hi) in enumerate(_blocks(w)):
        m = hi - lo
        body += w.covariance(d.cov[b], str(b))
        for j in range(m):
            s = " - ".join([f"_S{b}_{j}_{j}"] + [f"_L{j}_{k} * _L{j}_{k}" for k in range(j)])
            body.append(f"    _L{j}_{j} = np.sqrt(max({s}, 0.0))")
            for i in range(j + 1, m):
                s = " - ".join([f"_S{b}_{i}_{j}"] + [f"_L{i}_{k} * _L{j}_{k}" for k in range(j)])
                body.append(f"    _L{i}_{j} = ({s}) / _L{j}_{j} if _L{j}_{j} > 0.0 else 0.0")
        body += [f"    _z{j} = rng.standard_normal()" for j in range(m)]
        body += [f"    out[{lo + i}] = " + " + ".join(f"_L{i}_{k} * _z{k}" for k in range(i + 1)) for i in range(m)]
    return body


def _batch_body(w: Writer, spec: Spec, d: Derived) -> list:
    """Player 0 fills ``out[:dθ]``, player 1 ``out[dθ:]``, with minibatch-mean gradients."""
    body = []
    for b, (lo, hi) in enumerate(_blocks(w)):
        body.append("    if player == 0:" if b == 0 else "    else:")
        fixed, rand, laws = random_part(d.h[lo:hi], spec)
        ind = "        "
        if gaussian_mean(rand, laws, spec):
            # the mean of B draws of an affine function of normal inputs is one draw at
            # ξ̄ ~ N(mean, cov/B)
            body.append(f"{ind}_sc = 1.0 / np.sqrt(batch_size)")
            for j in laws:
                body += w.draw(j, ind, "_sc")
            sub, pc = w.cse(d.h[lo:hi], ind)
            body += sub + [f"{ind}out[{lo + i}] = {e}" for i, e in enumerate(pc)]
            continue
        body += [f"{ind}_b{i} = 0.0" for i in range(hi - lo)]
        body.append(f"{ind}for _n in range(batch_size):")
        for j in laws:
            body += w.draw(j, ind + "    ", None)
        sub, pc = w.cse(rand, ind + "    ")
        body += sub + [f"{ind}    _b{i} += {e}" for i, e in enumerate(pc)]
        sub, pc = w.cse(fixed, ind)
        body += sub + [f"{ind}out[{lo + i}] = {e} + _b{i} / batch_size" for i, e in enumerate(pc)]
    return body


def _samples_body(w: Writer, spec: Spec, d: Derived) -> list:
    """One draw of every random input per row; both players' gradients from it."""
    body = ["    for _s in range(out.shape[0]):"]
    for j in range(len(spec.laws)):
        body += w.draw(j, "        ", None)
    sub, pc = w.cse(d.h, "        ")
    return body + sub + [f"        out[_s, {i}] = {e}" for i, e in enumerate(pc)]
