"""The calculus of a ``formula`` game: expectations over ``ξ`` and covariances, by sympy
where it can, by a rule over ``ξ`` otherwise (docs/theory.md §1).

Every kernel of a game is the expectation over ``ξ`` of a per-sample expression: ``g = E ĝ``,
``∇g = E ∇ĝ``, ``H v = E (∂∇ĝ/∂x) v``, and ``Σ = Cov(∇ĝ)`` per player.  The independence of
the laws makes these split: the terms of a sum are grouped by the random inputs they read
(two terms that share a law fall in one group), and each group's expectation needs only its
own laws.  A group whose laws are all normal and whose terms are polynomials in its inputs
is *exact*: sympy writes ``ξ = mean + factor·z`` and replaces each monomial of ``z`` by its
moment.  Any other group is left to the kernels, as a weighted sum over the tensor product of
its laws' rules (:meth:`formula_spec.Law.rule`): exact for finite laws and data sets, Gauss–
Hermite for normal inputs that enter non-polynomially.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .formula_spec import Spec


@dataclass
class Group:
    """Terms reading the random inputs of ``laws`` (indices into ``Spec.laws``): one sum
    ``parts[i]`` per expression of the list that was split."""

    laws: tuple
    exact: bool
    parts: list


def _num(v: float):
    return sp.Integer(int(v)) if float(v).is_integer() else sp.Float(float(v))


def split(exprs, spec: Spec) -> list:
    """The groups of ``exprs``' terms; the one reading no random input (``laws == ()``) first."""
    owner = {s: i for i, law in enumerate(spec.laws) for s in law.symbols}
    terms = []
    for i, e in enumerate(exprs):
        for t in sp.Add.make_args(sp.expand_mul(e)):
            terms.append((i, t, {owner[s] for s in t.free_symbols if s in owner}))
    parent = list(range(len(spec.laws)))

    def root(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for _, _, laws in terms:
        ls = sorted(laws)
        for b in ls[1:]:
            parent[root(b)] = root(ls[0])
    sets = {}
    for i, t, laws in terms:
        key = tuple(sorted({j for j in range(len(spec.laws)) if laws and root(j) == root(min(laws))}))
        sets.setdefault(key, [sp.Integer(0)] * len(exprs))[i] += t
    groups = []
    for key in sorted(sets, key=lambda k: (len(k) > 0, k)):
        parts = sets[key]
        syms = [s for j in key for s in spec.laws[j].symbols]
        exact = all(spec.laws[j].kind == "normal" for j in key) and all(p.is_polynomial(*syms) for p in parts)
        groups.append(Group(key, exact, parts))
    if not groups or groups[0].laws:
        groups.insert(0, Group((), True, [sp.Integer(0)] * len(exprs)))
    return groups


def _standard(group: Group, spec: Spec) -> tuple[dict, list]:
    """``ξ = mean + factor·z`` for the group's normal laws: the substitution and the ``z``."""
    sub, zs = {}, []
    for j in group.laws:
        law = spec.laws[j]
        z = [sp.Symbol(f"_z{j}_{i}", real=True) for i in range(law.factor.shape[1])]
        zs += z
        for r, s in enumerate(law.symbols):
            sub[s] = _num(law.mean[r]) + sum(_num(law.factor[r, i]) * z[i]
                                             for i in range(len(z)) if law.factor[r, i] != 0.0)
    return sub, zs


def _moment(monom) -> sp.Expr:
    """``E Π z_k^{a_k}`` for independent standard normals."""
    out = sp.Integer(1)
    for a in monom:
        out *= 0 if a % 2 else sp.factorial2(a - 1)
    return out


def _terms(e, sub, zs) -> dict:
    if not zs:
        return {(): e}
    return dict(sp.Poly(sp.expand(e.xreplace(sub)), *zs).terms())


def expect_exact(group: Group, spec: Spec) -> list:
    """``E parts[i]`` for an exact group (polynomials in normal inputs)."""
    sub, zs = _standard(group, spec)
    return [sum((c * _moment(m) for m, c in _terms(p, sub, zs).items()), sp.Integer(0)) for p in group.parts]


def cov_exact(group: Group, spec: Spec) -> list:
    """``Cov(parts[i], parts[j])`` for an exact group, as a nested list.

    Only the monomials of ``z`` that vary enter, so no term cancels against another:
    ``Cov = Σ_{α,β≠0} c_iα c_jβ (E z^{α+β} − E z^α E z^β)``.
    """
    sub, zs = _standard(group, spec)
    polys = [{m: c for m, c in _terms(p, sub, zs).items() if any(m)} for p in group.parts]
    n = len(polys)
    out = [[sp.Integer(0)] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            s = sp.Integer(0)
            for a, ca in polys[i].items():
                for b, cb in polys[j].items():
                    s += ca * cb * (_moment(tuple(u + v for u, v in zip(a, b, strict=True))) - _moment(a) * _moment(b))
            out[i][j] = out[j][i] = sp.expand(s)
    return out


@dataclass
class Expectation:
    """``E exprs[i] = exact[i] + Σ_G Σ_rows w·G.parts[i]`` over the ``rules`` groups."""

    exact: list
    rules: list


def expect(exprs, spec: Spec) -> Expectation:
    """Split ``exprs`` and take every exact group's expectation symbolically."""
    groups = split(exprs, spec)
    exact = [sp.Integer(0)] * len(exprs)
    rules = []
    for g in groups:
        if g.exact:
            exact = [a + b for a, b in zip(exact, expect_exact(g, spec), strict=True)]
        else:
            rules.append(g)
    return Expectation(exact, rules)


@dataclass
class Covariance:
    """``Cov(h) = exact + Σ_G Cov_G`` over the ``rules`` groups (computed by the kernels)."""

    exact: list
    rules: list


def covariance(h, spec: Spec) -> Covariance:
    """The covariance of the per-sample vector ``h`` over ``ξ`` (its groups are independent)."""
    n = len(h)
    exact = [[sp.Integer(0)] * n for _ in range(n)]
    rules = []
    for g in split(h, spec):
        if not g.laws:
            continue
        if g.exact:
            c = cov_exact(g, spec)
            exact = [[exact[i][j] + c[i][j] for j in range(n)] for i in range(n)]
        else:
            rules.append(g)
    return Covariance(exact, rules)


@dataclass
class Derived:
    """Every per-sample expression the kernels need, for a checked :class:`Spec`."""

    value: sp.Expr  # ĝ: the loss ω maximises (and θ minimises when zero-sum)
    value_theta: sp.Expr | None  # θ's own per-sample loss (non-saturating), or None
    h: list  # per-sample gradient field (∇_θ of θ's loss, ∇_ω ĝ)
    v: list  # the direction of hvp
    hv: list  # per-sample (∂h/∂x) v
    grad: Expectation
    hvp: Expectation
    loss: Expectation
    loss_theta: Expectation | None
    cov: tuple  # (Covariance of h_θ, of h_ω)


def derive(spec: Spec) -> Derived:
    """Differentiate the losses and take their expectations (docs/theory.md §1, §3)."""
    own = spec.loss_theta if spec.loss_theta is not None else spec.loss
    h = [sp.diff(own, s) for s in spec.theta] + [sp.diff(spec.loss, s) for s in spec.omega]
    v = [sp.Symbol(f"_v{i}", real=True) for i in range(len(h))]
    hv = [sum((sp.diff(hi, s) * vj for s, vj in zip(spec.x, v, strict=True)), sp.Integer(0)) for hi in h]
    dt = len(spec.theta)
    return Derived(
        spec.loss, spec.loss_theta, h, v, hv, expect(h, spec), expect(hv, spec), expect([spec.loss], spec),
        expect([spec.loss_theta], spec) if spec.loss_theta is not None else None,
        (covariance(h[:dt], spec), covariance(h[dt:], spec)),
    )


def is_affine(d: Derived, spec: Spec) -> bool:
    """True when ``∇g`` is affine in ``x`` and ``Σ`` does not depend on ``x`` (exact analyses)."""
    xs = set(spec.x)
    if d.grad.rules or any(c.rules for c in d.cov):
        return False
    for e in d.grad.exact:
        if not e.is_polynomial(*spec.x) or (e.free_symbols & xs and sp.Poly(e, *spec.x).total_degree() > 1):
            return False
    return not any(e.free_symbols & xs for c in d.cov for row in c.exact for e in row)


def random_part(h, spec: Spec) -> tuple[list, list, list]:
    """``(fixed, random, laws)``: the terms of each ``h[i]`` without and with random inputs,
    and the indices of the laws the latter read."""
    owner = {s: i for i, law in enumerate(spec.laws) for s in law.symbols}
    fixed, rand, laws = [], [], set()
    for e in h:
        f, r = sp.Integer(0), sp.Integer(0)
        for t in sp.Add.make_args(sp.expand_mul(e)):
            used = {owner[s] for s in t.free_symbols if s in owner}
            laws |= used
            if used:
                r += t
            else:
                f += t
        fixed.append(f)
        rand.append(r)
    return fixed, rand, sorted(laws)


def gaussian_mean(rand, laws, spec: Spec) -> bool:
    """True when a minibatch mean of ``rand`` is ``rand`` at a mean of the inputs: every
    input it reads is normal and it is affine in them, so the mean of ``B`` draws is one draw
    of ``ξ̄ ~ N(mean, cov/B)`` (what the hand-written games draw)."""
    syms = [s for j in laws for s in spec.laws[j].symbols]
    if not all(spec.laws[j].kind == "normal" for j in laws):
        return False
    return all(e.is_polynomial(*syms) and (not syms or sp.Poly(e, *syms).total_degree() <= 1) for e in rand)
