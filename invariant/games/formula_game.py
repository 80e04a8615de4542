"""Games from a formula: write the per-sample loss, get the kernels (docs/theory.md §1, §3).

``[game] name = "formula"`` takes the players' parameters, the per-sample loss
``ĝ(θ, ω; ξ)`` as an expression over them, constants and random inputs ``ξ``, and the laws
of ``ξ`` (:mod:`.formula_spec` reads and checks them).  sympy differentiates the loss and
takes the expectations (:mod:`.formula_calc`): ``g = E ĝ``, ``∇g``, ``H v``, the per-sample
gradients and ``Σ = Cov_ξ(∇ĝ)`` per player; the kernels of the game protocol
(``invariant/games/base.py``) are printed from them (:mod:`.formula_code`) into a module of
the kernel cache and compiled like a hand-written game's.

Accuracy.  Expectations are exact where sympy takes them (terms polynomial in normal
inputs) and for finite laws and data sets (exact means over their points).  A normal input
that enters a term non-polynomially is integrated by a ``nodes``-point probabilists'
Gauss–Hermite rule (default 32; the error contract of the ``dirac`` game, whose rule this
is: it decays like ``exp(−c sqrt(nodes)/r)`` with ``r`` the scale on which the term varies
in standard units; raise ``nodes`` when it is steep), a tensor product when a term reads
several such inputs.  The sampled game (``batch_grad``, ``sample_grads``) always draws
``ξ`` from its law; where a player's per-sample gradient is affine in normal inputs only,
a minibatch mean is drawn as one draw at the inputs' mean (exact in law, as the
hand-written ``bilinear`` game and ``data/user_game`` draw it).

Noise factor.  Where ``Σ`` does not depend on ``x`` its lower Cholesky factor is computed
once and packed in ``p`` (columns of zeros draw no normal); otherwise the ``noise`` kernel
factors ``Σ(x)`` at each call, unrolled, so states are limited to :data:`MAX_D`.

Packed constants ``p``: ``[dθ, dω, constants in the table's order (vectors and matrices by
rows), then L (d × d by rows) when Σ is constant]``.
"""
from __future__ import annotations

import numpy as np

from ..engine import build, render
from ..errors import ConfigError
from . import formula_calc, formula_code, formula_spec
from .base import Game
from .bilinear import _psd_factor
from .validate import integer

MAX_D = 16
"""Largest state of a formula game: its kernels are unrolled (``d²`` terms for ``hvp``)."""
KEYS = ("name", "theta", "omega", "loss", "loss_theta", "constants", "xi", "nodes")


class FormulaGame(Game):
    """A game whose kernels were printed from its formula; ``Σ(x)`` from its own kernel."""

    def sigma(self, x, n=None, rng=None) -> np.ndarray:
        """``blockdiag(Σ_θ, Σ_ω)(x)``, exact or by the game's rule (``n``, ``rng`` unused)."""
        out = np.empty((self.d, self.d))
        self.module.sigma(np.asarray(x, dtype=np.float64), self.params, self.data, out)
        return out

    def generator_loss(self, x) -> float:
        """The generator's own loss: ``E loss_theta`` when given, else ``g``."""
        fn = getattr(self.module, "generator_loss", self.module.loss)
        return float(fn(np.asarray(x, dtype=np.float64), self.params, self.data))


def from_config(table: dict) -> FormulaGame:
    """Build the game from the ``[game]`` table of a config (docs/design.md ◆ Config)."""
    for key in table:
        if key not in KEYS:
            raise ConfigError(f"game.{key}", f"unknown key for game 'formula'; allowed: {', '.join(KEYS)}")
    nodes = integer(table.get("nodes", 32), "game.nodes", low=2)
    spec = formula_spec.read(table)
    if len(spec.x) > MAX_D:
        raise ConfigError("game.theta", f"a formula game has at most {MAX_D} parameters in all, got {len(spec.x)}")
    derived = formula_calc.derive(spec)
    values = {s: v for s, v in spec.consts}
    params = [len(spec.theta), len(spec.omega), *values.values()]
    const_index = {s: 2 + k for k, s in enumerate(values)}
    info = {k: table[k] for k in KEYS if k in table}
    factor = None
    if not any(c.rules for c in derived.cov) and not any(
            e.free_symbols & set(spec.x) for c in derived.cov for row in c.exact for e in row):
        S = _constant_sigma(derived, values, len(spec.theta))
        L = np.zeros_like(S)
        dt = len(spec.theta)
        L[:dt, :dt] = _psd_factor(S[:dt, :dt])
        L[dt:, dt:] = _psd_factor(S[dt:, dt:])
        factor = (L, len(params))
        params += list(L.ravel())
        info["Sigma"] = S
    source, data = formula_code.kernels(spec, derived, nodes, const_index, factor)
    text = render.module("Kernels of a formula game (invariant.games.formula_game).",
                         ["formula.py", render.Source(source)], {}, imports=["import numpy as np"])
    module = build.load_generated("invariant_formula", text, __name__, own_folder=True)
    affine = factor is not None and formula_calc.is_affine(derived, spec)
    # the exact kernels sum over the rule tables' rows (data's), a sample reads a row per law
    return FormulaGame("formula", len(spec.theta), len(spec.omega), np.array(params, dtype=np.float64),
                       module.__name__, data=data, affine=affine, info=info,
                       exact_cost=float(max(1, data.shape[0])))


def _constant_sigma(derived, values: dict, dt: int) -> np.ndarray:
    """The numbers of a ``Σ`` that does not depend on ``x``."""
    blocks = [np.array([[float(e.xreplace(values)) for e in row] for row in c.exact]).reshape(len(c.exact), -1)
              for c in derived.cov]
    d = sum(len(b) for b in blocks)
    S = np.zeros((d, d))
    S[:dt, :dt] = blocks[0]
    S[dt:, dt:] = blocks[1]
    return S


def make(theta, omega, loss, constants=None, xi=None, loss_theta=None, nodes=32) -> FormulaGame:
    """A game from its per-sample loss (the Python face of ``[game] name = "formula"``).

    Parameters
    ----------
    theta, omega : list of str
        The generator's and the discriminator's parameter names; ``"t[3]"`` declares a
        vector, used as ``t[0]``, ``t[1]``, ``t[2]``.
    loss : str
        The per-sample loss ``ĝ``: θ minimises it, ω maximises it (docs/theory.md §1).
    constants : dict, optional
        ``name: number``, list (a vector) or list of rows (a matrix, used as ``C[i, j]``).
    xi : dict, optional
        ``name: law``, the laws independent of each other: ``{"normal": [mean, sd]}``,
        ``{"normal": {"mean": [...], "cov": [[...]]}}`` (a vector), ``{"values": [...],
        "probs": [...]}``, ``{"data": "file.csv"}`` (a uniformly drawn row; a vector when the
        file has several columns).
    loss_theta : str, optional
        The generator's own per-sample loss (non-saturating games); ``loss`` stays what the
        discriminator maximises and what ``g`` reports.
    nodes : int
        Gauss–Hermite points per normal input that a term reads non-polynomially.

    Raises
    ------
    ConfigError
        Naming the ``game.<key>`` at fault (an unknown symbol, a loss that does not depend
        on a player, a function that is not differentiable, a law that is not supported).
    """
    table = {"name": "formula", "theta": theta, "omega": omega, "loss": loss, "nodes": nodes}
    for key, value in (("constants", constants), ("xi", xi), ("loss_theta", loss_theta)):
        if value is not None:
            table[key] = value
    return from_config(table)

