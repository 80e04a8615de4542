"""Mixing rate κ of the invariant measure (docs/theory.md §4), by independent methods.

``‖P_t(x, ·) − μ‖ ≤ C(x) e^{−κt}``: κ is the spectral gap of the generator, ``−α(A)`` for an
Ornstein–Uhlenbeck process.  Three estimators, each with a bootstrap interval over
independent chains (the chains, not the draws, are the independent units):

1. **autocorrelation** (:func:`autocorrelation_rate`): the chain-averaged autocorrelation
   functions of the coordinates, fitted jointly past their head by one damped oscillation
   ``e^{−κt}cos(ωt + φ)`` (matrix pencil with shared poles, :func:`fit_decay`), so
   oscillating decay (complex eigenvalues) is handled.  The same pass gives integrated
   autocorrelation times (Sokal's automatic window on the chain-averaged autocovariance,
   :func:`integrated_time`) with emcee's reliability rule (chains longer than 50 τ), and
   arviz's ESS and R-hat, for the coordinates, ``g`` and ``|x|²``.
2. **relaxation** (:func:`relaxation_rate`): ensembles started at dispersed points in
   antithetic pairs ``m ± v`` sharing their noise (:func:`relaxation_run`, their own runs,
   saved in ``DIR/relaxation/``); the distance of the law at time t to the stationary one
   (mean error, covariance error, W1 of the marginals) against t; κ from a pencil fit of
   the pairs' half-differences of means.
3. **spectral** (:func:`spectral_rate`): extended dynamic mode decomposition (EDMD) of the
   transition operator on a polynomial basis at a lag τ, ``κ = −log|λ₂|/τ``.

:func:`analyse` gathers them (plus the Fokker–Planck gap of a 2-D game as a reference),
maps the rates of Euler–Maruyama chains back to the SDE (:func:`em_correction`), picks the
headline (the reliable estimate with the narrowest relative interval), and flags
disagreement: two estimates whose intervals do not overlap.  Every estimate from kept draws,
and the integrated time, is flagged unreliable when the draws are spaced more than
:data:`MAX_RATE_SPACING` of ``1/κ`` apart (:func:`flag_sparse_draws`, :mod:`.spacing`): the
decay is then not resolved and the estimates are biased without their intervals showing it.  No function here simulates
except :func:`relaxation_run`, which is the relaxation experiment itself.

Calibration (exact OU paths, 64 chains × 1000 draws 0.35 apart, 100 replications): on the
default game (complex eigenvalues, κ = 0.404) the autocorrelation estimate has bias −1.3 %,
rmse 3.5 %, 95 %-interval coverage 0.89; on the non-normal game (κ = 0.139, three times
slower) −4.5 %, 18 %, 0.95.  (The default game's shortfall: a noise-driven bias of −1 % that
the chain bootstrap reproduces — replicas average 0.9 % below the estimate — so the
percentile interval sits about two biases low; the basic, BC and BCa intervals cover there,
55–56/60, but drop to 52–54/60 on the non-normal game, where the percentile one gives
59/60.  Left as percentile.)  EDMD (exact Euler–Maruyama chains of the engine runs, 350 time
units, 40 seeds, mapped to the SDE): default game bias −0.8 %, sd 1.4 %, coverage 38/40 with
intervals 6.0 % of κ wide; non-normal game −0.8 %, 4.4 %, 38/40, 18 % wide.  Every bilinear
game with complex eigenvalues has all its eigenvalues on one real part, so EDMD's ``λ₂`` is
the largest of tied moduli: the estimate is biased by the selection (half a standard
error), and the bootstrap follows the selected mode (:func:`edmd_rate`) — re-selecting the
maximum in every replica had put the interval below κ (coverage 50/60 on the default game).
Coupled relaxation pairs of an OU process carry no noise.

Modules: :mod:`.acf` (method 1), :mod:`.relaxation` (the experiment's runs and folder) and
:mod:`.relaxation_fit` (method 2), :mod:`.edmd` (method 3), :mod:`.pencil` (the decay fit of
methods 1 and 2), :mod:`.estimate` (:class:`RateEstimate`), :mod:`.spacing` (draws close
enough for κ), :mod:`.draws` (the kept draws and
observables), :mod:`.summary` (all together); the statistics of chains (integrated times,
ESS, the chain bootstrap) are :mod:`invariant.diagnostics`, the ``[mixing]`` options
:mod:`invariant.options.mixing`.
"""
# (``acf`` is the submodule :mod:`.acf`; the function is :func:`invariant.diagnostics.acf`)
from ..diagnostics import (
    MIN_TAUS,
    SOKAL_C,
    IntegratedTime,
    autocovariance,
    integrated_time,
)
from ..options.mixing import MIXING_KEYS, MixingOptions, validate_options
from .acf import acf_rate, autocorrelation_rate, coordinate_acfs
from .draws import draw_spacing, live_draws, observables
from .edmd import _edmd_frequency, default_degree, edmd_rate, poly_basis, spectral_rate  # noqa: F401 (tests)
from .estimate import RateEstimate
from .pencil import N_NOISE, DecayFit, fit_decay
from .relaxation import (
    RELAX_DIR,
    ensure_relaxation,
    load_relaxation,
    relaxation_run,
    relaxation_starts,
)
from .relaxation_fit import (
    Relaxation,
    relaxation_curves,
    relaxation_rate,
    scaled_errors,
)
from .spacing import MAX_RATE_SPACING, SpacingCheck, check_spacing
from .summary import (
    Mixing,
    _to_sde,  # noqa: F401 (tests)
    analyse,
    compare,
    em_correction,
    exact_rate,
    flag_sparse_draws,
    summary_section,
)

__all__ = [
    "MAX_RATE_SPACING",
    "MIN_TAUS",
    "MIXING_KEYS",
    "N_NOISE",
    "RELAX_DIR",
    "SOKAL_C",
    "DecayFit",
    "IntegratedTime",
    "Mixing",
    "MixingOptions",
    "RateEstimate",
    "Relaxation",
    "SpacingCheck",
    "acf_rate",
    "analyse",
    "autocorrelation_rate",
    "autocovariance",
    "check_spacing",
    "compare",
    "coordinate_acfs",
    "default_degree",
    "draw_spacing",
    "edmd_rate",
    "em_correction",
    "ensure_relaxation",
    "exact_rate",
    "fit_decay",
    "flag_sparse_draws",
    "integrated_time",
    "live_draws",
    "load_relaxation",
    "observables",
    "poly_basis",
    "relaxation_curves",
    "relaxation_rate",
    "relaxation_run",
    "relaxation_starts",
    "scaled_errors",
    "spectral_rate",
    "summary_section",
    "validate_options",
]
