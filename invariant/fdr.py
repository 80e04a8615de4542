"""Fluctuation–dissipation relations at stationarity (docs/theory.md §5), streamed by the engine.

Every relation is ``E_μ[Lφ] = 0`` for a test function φ, rearranged as ``lhs = rhs``:

* **FDR1** (φ = g): ``E[|∇_θ g|² − |∇_ω g|² − η b₁·∇g] = (η/2N) E[Tr(Σ_θ H_θθ) + Tr(Σ_ω H_ωω)]``;
* **FDR2** (φ = |θ|², |ω|²): ``E[θ·(∇_θ g − ηb₁^θ)] = (η/2N) E Tr Σ_θ`` and
  ``E[ω·(∇_ω g + ηb₁^ω)] = −(η/2N) E Tr Σ_ω``, and their difference (``fdr2_sum``);
* for the **SGA chains** the exact discrete forms (docs/theory.md §5), written with the minibatch
  gradient ∇̂ actually applied and the parameter it was applied to:
  ``E[θ·∇̂_θ] = (η/2)E|∇̂_θ|²``, ``E[ω·∇̂_ω] = −(η/2)E|∇̂_ω|²``, and for φ = g, with Δ the
  whole step, ``E[−∇g(x)·Δ]/η = E[g(x+Δ) − g(x) − ∇g(x)·Δ]/η`` (both exact at
  stationarity for every scheme, whatever η);
* the **general residual** ``r(φ) = E[Lφ]`` of user observables (:class:`Observable`).

b₁ terms are those of the drift that was run (order 2: ALT-SDE or the order-2 SML-SDE,
whatever the scheme; order 1: none).

**Streaming.**  The terms are per-step observables of the engine: the standard ones
(``θ·∇_θ g``, ``|∇_θ g|²``, …), those of the SGA update (``engine.APPLIED_OBSERVABLES``)
and the hook built by :func:`hook`, which per statistics step draws ``u = L(x) z`` from a
generator of its own (``E[uuᵀ] = blockdiag(Σ_θ, Σ_ω)``, so ``u_θᵀ H_θθ u_θ`` and ``|u_θ|²``
are unbiased for ``Tr(Σ_θ H_θθ)`` and ``Tr Σ_θ``) and forms b₁ from two Hessian–vector
products, as the engine's drift does.  Its products are free of η and of the scheme's
signs, so one compiled kernel serves every learning rate and scheme.  Long runs need no
stored paths.  For affine games (constant Σ and H) the right-hand sides are exact constants.

**Uncertainty.**  Chains are independent: the MCSE of each side and of the residual is the
spread of the per-chain time averages across live chains (≥ 4 of them), else batch means
over the run's chunks.  ``z = residual / mcse``.

**Euler–Maruyama.**  An SDE run simulates the Euler–Maruyama chain with step ``dt``, whose
exact invariant relation carries one more term: with b the drift that was run,
``E|θ⁺|² = E|θ|²`` gives ``lhs = rhs + (dt/2)E|b_θ|²`` (``−(dt/2)E|b_ω|²`` for ω) and
``E g(x⁺) = E g(x)`` gives ``lhs = rhs + (dt/2)E[bᵀHb]`` (up to O(dt²) for non-quadratic g).
It is reported as ``dt_term`` (exact for FDR2; for FDR1 ``bᵀHb`` drops the ``η²b₁ᵀHb₁`` part,
an O(η²·dt) error) and ``residual = lhs − rhs − dt_term``: lhs and rhs keep docs/theory.md §5's form (the rhs
of FDR2 is exactly ``(η/2N) tr Σ`` for constant Σ) while the residual and z test the chains
actually simulated.  ``residual_sde = lhs − rhs`` is given too.  SGA runs have no dt term.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass

import numpy as np

from .engine import Hook

__all__ = [
    "Observable",
    "hook",
    "analyse",
    "running",
    "summary_section",
    "exact_reference",
    "RELATIONS",
    "quadratic_observable",
]

RELATIONS = ("fdr1", "fdr2_theta", "fdr2_omega", "fdr2_sum")
MIN_CHAINS_BETWEEN = 4  # below this many live chains the MCSE comes from batch means over chunks

_SIGMA_NAMES = ("tr_sigma_h_theta", "tr_sigma_h_omega", "tr_sigma_theta", "tr_sigma_omega", "b0_h_b0")
# u = H(∇_θ g, 0) ("Hgt") and v = H(0, ∇_ω g) ("Hgo"), as in the engine's drift; b₁ follows with
# the scheme's signs (s_th, s_om): b₁^θ = −½u_θ + ½s_th v_θ, b₁^ω = ½s_om u_ω − ½v_ω
# ("Hb0" = H b₀; "_theta"/"_omega": the product over that block only)
_B1_NAMES = (
    "theta_dot_Hgt", "theta_dot_Hgo", "omega_dot_Hgt", "omega_dot_Hgo",
    "gtheta_dot_Hgt", "gtheta_dot_Hgo", "gomega_dot_Hgt", "gomega_dot_Hgo",
    "Hgt_dot_Hb0_theta", "Hgo_dot_Hb0_theta", "Hgt_dot_Hb0_omega", "Hgo_dot_Hb0_omega",
    "Hgt_sq_theta", "Hgt_dot_Hgo_theta", "Hgo_sq_theta", "Hgt_sq_omega", "Hgt_dot_Hgo_omega", "Hgo_sq_omega",
)
_SGA_NAMES = ("tr_sigma_theta", "tr_sigma_omega")


@dataclass(frozen=True)
class Observable:
    """A user test function φ whose generator residual ``E_μ[Lφ]`` the run streams.

    Parameters
    ----------
    name : str
        A Python identifier; the hook columns are ``L0[name]`` (``b₀·∇φ``), for order 2
        ``Hgt_theta[name]`` … (the b₁ pieces), ``Q[name]`` (``uᵀ∇²φ u``) and, for SDE runs,
        ``B[name]`` (``b₀ᵀ∇²φ b₀``, for the Euler–Maruyama term ``−(dt/2)E[bᵀ∇²φ b]``, exact
        at order 1, to O(η·dt) at order 2).
    source : str
        Numba source defining ``@njit(cache=True, inline="always") def <name>(x, u, grad)``:
        fill ``grad[:] = ∇φ(x)`` and return ``uᵀ ∇²φ(x) u`` (a float).  Then
        ``Lφ = b·∇φ + ½(η/N) E_u[uᵀ∇²φ u]`` with ``E[uuᵀ] = blockdiag(Σ_θ, Σ_ω)``.
    """

    name: str
    source: str

    def __post_init__(self):
        if not self.name.isidentifier() or keyword.iskeyword(self.name) or self.name.startswith("_"):
            raise ValueError(f"observable name must be a public Python identifier, got {self.name!r}")
        if f"def {self.name}(" not in self.source:
            raise ValueError(f"observable source must define {self.name}(x, u, grad)")


def quadratic_observable(name: str, weights) -> Observable:
    """``φ(x) = Σ_i w_i x_i²`` (e.g. ``|θ|²`` with weights 1 on θ): a ready-made :class:`Observable`."""
    w = [float(v) for v in np.asarray(weights, dtype=float).ravel()]
    src = (
        f"_W_{name} = np.array({w!r})\n\n\n"
        f"@njit(cache=True, inline=\"always\")\n"
        f"def {name}(x, u, grad):\n"
        f"    q = 0.0\n"
        f"    for i in range(x.shape[0]):\n"
        f"        grad[i] = 2.0 * _W_{name}[i] * x[i]\n"
        f"        q += 2.0 * _W_{name}[i] * u[i] * u[i]\n"
        f"    return q\n"
    )
    return Observable(name, src)


def _obs_names(obs: Observable, b1: bool, sde: bool) -> tuple:
    n = obs.name
    mid = (f"Hgt_theta[{n}]", f"Hgt_omega[{n}]", f"Hgo_theta[{n}]", f"Hgo_omega[{n}]") if b1 else ()
    return (f"L0[{n}]",) + mid + (f"Q[{n}]",) + ((f"B[{n}]",) if sde else ())


# --------------------------------------------------------------------------- the hook
_CALL_SITE = "def _fdr_observables(x, gx, u, v, hv, hw, gphi, dth, out):"
_CALL_ARGS = "x, gx, u, v, hv, hw, gphi, dth, out"


def _call_site(observables, k: int, b1: bool, sde: bool) -> str:
    """The generated ``_fdr_observables`` (templates/fdr_hook.py): one call of the template's
    ``_fdr_observable`` per user observable, its jitted function and first column the only
    arguments that change."""
    lines = ['@njit(cache=True, inline="always")', _CALL_SITE]
    for o in observables:
        lines.append(f"    _fdr_observable({o.name}, {k}, {_CALL_ARGS})")
        k += len(_obs_names(o, b1, sde))
    if not observables:
        lines.append("    pass")
    return "\n".join(lines) + "\n"


def hook(cfg, observables=()) -> Hook:
    """The engine hook that streams the FDR terms for the run ``cfg`` describes.

    Parameters
    ----------
    cfg : invariant.config.Config
        Only ``cfg.dynamics`` matters: the hook is free of η, of the order and of the scheme's
        signs (one compiled kernel per game for SDE runs, one for SGA runs).
    observables : sequence of Observable
        User test functions whose generator residual ``E[Lφ]`` is streamed as well.

    Returns
    -------
    Hook
        With its own random-number streams (``rng=True``): chains are bit-identical with
        and without it.  SDE runs: ``Tr(Σ_θ H_θθ)``, ``Tr(Σ_ω H_ωω)``, ``Tr Σ_θ``, ``Tr Σ_ω``
        (unbiased one-draw estimates), ``b₀ᵀHb₀`` and the b₁ products (used at order 2).
        SGA runs: ``Tr Σ_θ``, ``Tr Σ_ω`` (the applied-gradient terms come from the engine).
    """
    observables = tuple(observables)
    names_seen = set()
    for o in observables:
        if not isinstance(o, Observable):
            raise TypeError("observables must be fdr.Observable instances")
        if o.name in names_seen:
            raise ValueError(f"observable {o.name!r} given twice")
        names_seen.add(o.name)
    sga = cfg.dynamics == "sga"
    # the b₁ products are streamed at order 1 too (two more Hessian–vector products per
    # statistics step): one compiled kernel per game then serves every SDE run
    b1 = not sga
    names = _SGA_NAMES if sga else _SIGMA_NAMES + (_B1_NAMES if b1 else ())
    # on SGA chains the user residuals are the SDE generator (b₁ left out) on the chain's
    # states: biased by O(η), unlike the exact discrete FDRs
    sources = tuple(o.source for o in observables) + (_call_site(observables, len(names), b1, not sga),)
    for o in observables:
        names = names + _obs_names(o, b1, not sga)
    return Hook(tuple(names), "fdr_hook.py", (("FDR_SGA", sga), ("FDR_B1", b1)), sources, rng=True, work=6)


# --------------------------------------------------------------------------- analysis
@dataclass
class _Lin:
    """``value = coef · (per-chain observable means) + const`` for one side of a relation."""

    coef: np.ndarray
    const: float = 0.0

    def __call__(self, means):
        return np.asarray(means) @ self.coef + self.const


def _col(result):
    idx = {n: i for i, n in enumerate(result.obs_names)}
    n_obs = len(result.obs_names)

    def vec(**terms):
        v = np.zeros(n_obs)
        for name, c in terms.items():
            v[idx[name]] += c
        return v

    return idx, vec


def _affine_constants(game, scheme=None):
    """The Σ terms of the relations for an affine game: ``tr Σ_θ``, ``tr Σ_ω`` and the θ and ω
    parts of ``tr(Σ H)``; for a corrected SDE (``scheme.corrected``) those of ``(N/η)σσᵀ``,
    the corrected diffusion (docs/theory.md §3), in place of ``Σ``."""
    from . import exact

    H, _, Sigma = exact.affine_parts(game)
    if scheme is not None and (scheme.corrected or scheme.batches == "shared"):
        # the noise of the SDE's direction: corrected, or with the shared batch's cross block
        Sigma = exact.diffusion(game, scheme.lr, scheme.batch_size, scheme.correction,
                                scheme.batches) * (scheme.batch_size / scheme.lr)
    dt = game.d_theta
    th, om = slice(0, dt), slice(dt, game.d)
    SH = np.diag(Sigma @ H)
    return {
        "tr_sigma_theta": float(np.trace(Sigma[th, th])),
        "tr_sigma_omega": float(np.trace(Sigma[om, om])),
        "tr_sigma_h_theta": float(SH[th].sum()),
        "tr_sigma_h_omega": float(SH[om].sum()),
    }


def _needs(result, names):
    missing = [n for n in names if n not in result.obs_names]
    if missing:
        raise ValueError(
            f"the run lacks the FDR observables {', '.join(missing)}: simulate with "
            "hook=invariant.fdr.hook(cfg)"
        )


def _relations(result):
    """Linear forms (lhs, rhs, dt_term) of the four relations, and the form's name."""
    cfg = result.config
    sch = cfg.scheme
    eta, N = sch.lr, sch.batch_size
    idx, vec = _col(result)
    affine = bool(getattr(cfg.game, "affine", False))
    consts = _affine_constants(cfg.game, sch if cfg.dynamics == "sde" else None) if affine else None
    rel = {}
    if cfg.dynamics == "sga":
        _needs(result, ("applied_theta_dot_grad", "step_dissipation"))
        rel["fdr2_theta"] = (_Lin(vec(applied_theta_dot_grad=1.0)), _Lin(vec(applied_grad_theta_sq=eta / 2)), None)
        rel["fdr2_omega"] = (_Lin(vec(applied_omega_dot_grad=1.0)), _Lin(vec(applied_grad_omega_sq=-eta / 2)), None)
        rel["fdr2_sum"] = (_Lin(vec(applied_theta_dot_grad=1.0, applied_omega_dot_grad=-1.0)),
                           _Lin(vec(applied_grad_theta_sq=eta / 2, applied_grad_omega_sq=eta / 2)), None)
        rel["fdr1"] = (_Lin(vec(step_dissipation=1.0)), _Lin(vec(step_remainder=1.0)), None)
        return rel, "discrete"
    _needs(result, _SIGMA_NAMES)
    order2 = sch.order == 2
    if order2:
        _needs(result, _B1_NAMES)
    s_th, s_om = sch.b1_signs
    e = eta if order2 else 0.0
    # θ·b₁^θ, ω·b₁^ω, ∇_θg·b₁^θ, ∇_ωg·b₁^ω as coefficient vectors
    tb1 = vec(theta_dot_Hgt=-0.5, theta_dot_Hgo=0.5 * s_th) if order2 else vec()
    ob1 = vec(omega_dot_Hgt=0.5 * s_om, omega_dot_Hgo=-0.5) if order2 else vec()
    gtb1 = vec(gtheta_dot_Hgt=-0.5, gtheta_dot_Hgo=0.5 * s_th) if order2 else vec()
    gob1 = vec(gomega_dot_Hgt=0.5 * s_om, gomega_dot_Hgo=-0.5) if order2 else vec()
    k = eta / (2 * N)
    dt = cfg.dt

    def rhs(name_t, name_o, ct, co):
        if affine:
            return _Lin(vec(), ct * consts[name_t] + co * consts[name_o])
        return _Lin(vec(**{name_t: ct}) + vec(**{name_o: co}))

    # |b_θ|² = |∇_θ g|² − 2η ∇_θg·b₁^θ + η²|b₁^θ|², |b_ω|² = |∇_ω g|² + 2η ∇_ωg·b₁^ω + η²|b₁^ω|²
    bt2 = vec(grad_theta_sq=1.0) - 2 * e * gtb1
    bo2 = vec(grad_omega_sq=1.0) + 2 * e * gob1
    # bᵀHb = b₀ᵀHb₀ + 2η b₁·Hb₀ + O(η²) (H symmetric: a zero-sum game)
    bhb = vec(b0_h_b0=1.0)
    if order2:
        bt2 = bt2 + e * e * vec(Hgt_sq_theta=0.25, Hgt_dot_Hgo_theta=-0.5 * s_th, Hgo_sq_theta=0.25)
        bo2 = bo2 + e * e * vec(Hgt_sq_omega=0.25, Hgt_dot_Hgo_omega=-0.5 * s_om, Hgo_sq_omega=0.25)
        bhb = bhb + 2 * e * vec(Hgt_dot_Hb0_theta=-0.5, Hgo_dot_Hb0_theta=0.5 * s_th,
                                Hgt_dot_Hb0_omega=0.5 * s_om, Hgo_dot_Hb0_omega=-0.5)
    lt = vec(theta_dot_grad_theta=1.0) - e * tb1
    lo = vec(omega_dot_grad_omega=1.0) + e * ob1
    rel["fdr2_theta"] = (_Lin(lt), rhs("tr_sigma_theta", "tr_sigma_omega", k, 0.0), _Lin(dt / 2 * bt2))
    rel["fdr2_omega"] = (_Lin(lo), rhs("tr_sigma_theta", "tr_sigma_omega", 0.0, -k), _Lin(-dt / 2 * bo2))
    rel["fdr2_sum"] = (_Lin(lt - lo), rhs("tr_sigma_theta", "tr_sigma_omega", k, k), _Lin(dt / 2 * (bt2 + bo2)))
    l1 = vec(grad_theta_sq=1.0, grad_omega_sq=-1.0) - e * (gtb1 + gob1)
    rel["fdr1"] = (_Lin(l1), rhs("tr_sigma_h_theta", "tr_sigma_h_omega", k, k), _Lin(dt / 2 * bhb))
    return rel, "sde"


def _generator_forms(result):
    """Linear forms ``(E[Lφ], dt_term)`` for the user observables among the hook's columns."""
    cfg = result.config
    sch = cfg.scheme
    eta, N = sch.lr, sch.batch_size
    idx, vec = _col(result)
    order2 = cfg.dynamics == "sde" and sch.order == 2
    s_th, s_om = sch.b1_signs
    out = {}
    for name in result.obs_names:
        if not name.startswith("L0["):
            continue
        o = name[3:-1]
        v = vec(**{f"L0[{o}]": 1.0})
        if order2 and f"Hgt_theta[{o}]" in idx:
            for key, c in ((f"Hgt_theta[{o}]", -0.5), (f"Hgo_theta[{o}]", 0.5 * s_th),
                           (f"Hgt_omega[{o}]", 0.5 * s_om), (f"Hgo_omega[{o}]", -0.5)):
                v[idx[key]] += eta * c
        v[idx[f"Q[{o}]"]] += eta / (2 * N)
        # Euler–Maruyama: E[φ(x⁺) − φ(x)] = 0 gives E[Lφ] = −(dt/2)E[bᵀ∇²φ b] + O(dt²)
        dtv = vec(**{f"B[{o}]": -cfg.dt / 2}) if f"B[{o}]" in idx else vec()
        out[o] = (_Lin(v), _Lin(dtv))
    return out


def _weighted(values, n):
    values = np.asarray(values, dtype=float)
    if values.size and np.all(values == values[0]):  # a constant (exact) side: no Monte Carlo error
        return float(values[0]), 0.0
    w = n / n.sum()
    mean = float(w @ values)
    k = len(values)
    se = float(np.sqrt(k / (k - 1) * np.sum(w**2 * (values - mean) ** 2))) if k > 1 else float("nan")
    return mean, se


def _stats(result):
    """Per-chain observable means of the live chains and their sample counts, or, with too few
    chains, per-chunk pooled means (batch means) and their counts."""
    live = result.alive & (result.obs_n > 0)
    if live.sum() >= MIN_CHAINS_BETWEEN:
        return result.obs_chain_means()[live], result.obs_n[live].astype(float), "between-chain"
    ok = (result.hist_n > 0) & np.all(np.isfinite(result.hist_obs), axis=1)
    return result.hist_obs[ok], result.hist_n[ok].astype(float), "batch means over chunks"


def _entry(lin_l, lin_r, lin_dt, means, n):
    lhs_c, rhs_c = lin_l(means), lin_r(means)
    dt_c = lin_dt(means) if lin_dt is not None else np.zeros_like(lhs_c)
    lhs, lhs_se = _weighted(lhs_c, n)
    rhs, rhs_se = _weighted(rhs_c, n)
    dtt, _ = _weighted(dt_c, n)
    res, res_se = _weighted(lhs_c - rhs_c - dt_c, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = res / res_se if res_se > 0 else (0.0 if res == 0 else float("inf"))
    return {
        "lhs": lhs, "rhs": rhs, "dt_term": dtt, "residual": res, "mcse": res_se, "z": float(z),
        "lhs_mcse": lhs_se, "rhs_mcse": rhs_se, "residual_sde": lhs - rhs,
        "ratio": lhs / rhs if rhs != 0 else float("nan"),
    }


def analyse(result) -> dict:
    """FDR sides, residuals and MCSEs of a finished run (the run must carry :func:`hook`).

    Parameters
    ----------
    result : invariant.engine.RunResult

    Returns
    -------
    dict
        ``form``: ``"sde"`` (docs/theory.md §5's SDE relations, for the order that was run) or
        ``"discrete"`` (SGA chains: the exact applied-gradient forms); ``fdr1``,
        ``fdr2_theta``, ``fdr2_omega``, ``fdr2_sum``: each ``{lhs, rhs, dt_term, residual,
        mcse, z, lhs_mcse, rhs_mcse, residual_sde, ratio}``; ``generator``: ``{name: {value,
        dt_term, residual, mcse, z}}`` for the user observables (``value = E[Lφ]``,
        ``residual = value − dt_term``); ``diagnostics`` (SGA: the SDE-form ratios of
        docs/theory.md §6, biased by O(η)); ``mcse_method`` and ``units`` (chains, or chunks for
        batch means); ``exact`` (affine games: :func:`exact_reference`); ``notes``.
    """
    cfg = result.config
    rel, form = _relations(result)
    means, n, method = _stats(result)
    out = {"form": form, "mcse_method": method, "units": len(n), "notes": []}
    if len(n) == 0:
        raise ValueError("no live chain has post-burn-in statistics: nothing to analyse")
    for name in RELATIONS:
        lin_l, lin_r, lin_dt = rel[name]
        out[name] = _entry(lin_l, lin_r, lin_dt, means, n)
    gen = {}
    for o, (lin, lin_dt) in _generator_forms(result).items():
        v, _ = _weighted(lin(means), n)
        dtt, _ = _weighted(lin_dt(means), n)
        r, se = _weighted(lin(means) - lin_dt(means), n)
        gen[o] = {"value": v, "dt_term": dtt, "residual": r, "mcse": se, "z": r / se if se > 0 else float("nan")}
    out["generator"] = gen
    if form == "discrete":
        out["diagnostics"] = _sga_diagnostics(result, means, n)
    info = getattr(cfg.game, "info", {}) or {}
    if info.get("loss") == "non-saturating":
        out["notes"].append("non-saturating loss: ∇g is not the gradient of the loss g, so FDR1 (φ = g) "
                            "does not follow from E[Lφ] = 0; FDR2 does")
    if form == "sde":
        out["notes"].append("residual = lhs − rhs − dt_term: the Euler–Maruyama chain's relation "
                            "(dt_term = O(dt)); residual_sde = lhs − rhs")
        if cfg.scheme.corrected and not getattr(cfg.game, "affine", False):
            out["notes"].append("corrected diffusion: its O(η²/N) part of ½ tr σσᵀ (docs/theory.md §3.6) is not "
                                "among the streamed Σ terms, so the right-hand sides here are those of the plain "
                                "diffusion and the relations carry an O(η²) bias (affine games: exact)")
    if getattr(cfg.game, "affine", False):
        try:
            out["exact"] = exact_reference(cfg)
        except ValueError as exc:  # no invariant law
            out["exact"] = {"error": str(exc)}
    return out


def _sga_diagnostics(result, means, n) -> dict:
    cfg = result.config
    eta, N = cfg.scheme.lr, cfg.scheme.batch_size
    idx, vec = _col(result)
    if getattr(cfg.game, "affine", False):
        c = _affine_constants(cfg.game)
        tr_t, tr_o = _Lin(vec(), c["tr_sigma_theta"]), _Lin(vec(), c["tr_sigma_omega"])
    elif "tr_sigma_theta" in idx:
        tr_t, tr_o = _Lin(vec(tr_sigma_theta=1.0)), _Lin(vec(tr_sigma_omega=1.0))
    else:
        return {}
    out = {}
    for p, num, sgn, tr in (("theta", "applied_theta_dot_grad", 1.0, tr_t), ("omega", "applied_omega_dot_grad", -1.0, tr_o)):
        e = _entry(_Lin(sgn * vec(**{num: 1.0})), _Lin(tr.coef * eta / (2 * N), tr.const * eta / (2 * N)), None, means, n)
        out[f"sde_form_{p}"] = {"lhs": e["lhs"], "rhs": e["rhs"], "ratio": e["ratio"], "residual": e["residual"],
                                "mcse": e["mcse"], "z": e["z"]}
    return out


def exact_reference(cfg) -> dict:
    """Exact FDR sides for an affine game (``invariant.exact``): the OU law's relations for an
    SDE run (no Euler–Maruyama term), the chain's applied-gradient relations for SGA."""
    from . import exact

    sch = cfg.scheme
    if cfg.dynamics == "sga":
        r = exact.discrete_fdr(cfg.game, sch.name, sch.lr, sch.batch_size, sch.batches)
        t, o = r["applied"]["theta"], r["applied"]["omega"]
        # exact.discrete_fdr writes the ω relation as −E[ω·∇̂_ω] = (η/2)E|∇̂_ω|²
        return {
            "fdr2_theta": {"lhs": t["lhs"], "rhs": t["rhs"]},
            "fdr2_omega": {"lhs": -o["lhs"], "rhs": -o["rhs"]},
            "fdr2_sum": {"lhs": t["lhs"] + o["lhs"], "rhs": t["rhs"] + o["rhs"]},
        }
    r = exact.fdr(cfg.game, sch.name, sch.order, sch.lr, sch.batch_size, sch.correction, sch.batches)
    return {k: {"lhs": r[k]["lhs"], "rhs": r[k]["rhs"]} for k in RELATIONS}


def running(result) -> dict:
    """The running FDR diagnostic: each relation's residual per chunk against SDE time.

    Uses the engine's per-chunk history (windowed means over the live chains, after burn-in:
    run with a small ``t_burn`` to watch stationarity set in).  A window's standard error is
    the spread (1.4826 × median absolute deviation) of the residuals of the run's second half
    of windows, taken as the stationary reference, scaled by ``sqrt(n_ref / n_window)`` for
    the window's sample count: z-scores then test each window against stationarity.  (The
    whole-run MCSE would not do: the discrete FDRs telescope along a chain, so their error
    shrinks like 1/n rather than 1/√n.)

    Returns
    -------
    dict
        ``t`` (end of each window), per relation ``{residual, lhs, rhs, mcse, z}`` lists, and
        ``settled_at``: the start of the first window whose own ``|z| < 3`` and from which
        the remaining windows pooled have ``|z| < 2``, for all four relations (None if never,
        or with fewer than 8 windows).
    """
    rel, _ = _relations(result)
    ok = (result.hist_n > 0) & np.all(np.isfinite(result.hist_obs), axis=1)
    t = result.hist_t[ok]
    H = result.hist_obs[ok]
    nw = result.hist_n[ok].astype(float)
    starts = np.concatenate([[result.config.t_burn], t[:-1]])
    out = {"t": t.tolist()}
    settled = []
    m = len(t)
    for name in RELATIONS:
        lin_l, lin_r, lin_dt = rel[name]
        lhs, rhs = lin_l(H), lin_r(H)
        dtt = lin_dt(H) if lin_dt is not None else np.zeros_like(lhs)
        res = lhs - rhs - dtt
        ref = slice(m // 2, m)
        if m >= 8:
            r = res[ref]
            scale = 1.4826 * float(np.median(np.abs(r - np.median(r))))
            se = scale * np.sqrt(float(np.median(nw[ref])) / nw)
        else:
            se = np.full(m, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, res / se, np.nan)
        out[name] = {"residual": res.tolist(), "lhs": lhs.tolist(), "rhs": rhs.tolist(), "mcse": se.tolist(),
                     "z": z.tolist()}
        s_at = None
        if m >= 8 and np.all(np.isfinite(z)):
            for i in range(m):
                pooled = float(np.mean(z[i:])) * np.sqrt(m - i)
                if abs(pooled) < 2 and abs(z[i]) < 3:
                    s_at = float(starts[i])
                    break
        settled.append(s_at)
    out["settled_at"] = None if any(s is None for s in settled) else float(max(settled))
    return out


def summary_section(result) -> dict:
    """``fdr.*`` of summary.json (docs/design.md ◆): the four relations (each with ``lhs, rhs,
    residual, mcse, z`` and more), the user observables' residuals, diagnostics and the
    running residuals (:func:`running`)."""
    a = analyse(result)
    out = {k: v for k, v in a.items()}
    try:
        r = running(result)
        out["running"] = {"t": r["t"], "settled_at": r["settled_at"],
                          **{k: {"residual": r[k]["residual"], "z": r[k]["z"]} for k in RELATIONS}}
    except Exception as exc:  # noqa: BLE001 — a diagnostic must not kill the summary
        out["running"] = {"error": repr(exc)}
    return out
