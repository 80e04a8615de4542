"""What a generated header defines, so that the templates can be linted (docs/kernels.md).

A template imports these names inside its ``# <header>`` block; :mod:`invariant.engine.render`
replaces the block with the header it generates, which binds each name to its real value
(a constant of the module, or one of the game's kernels inlined).  Nothing imports this
module at run time: the placeholders below only say what each name is.
"""
# --- constants of every engine module (invariant.engine.build, cuda_build)
D = 1  # state dimension (stack kernels and CUDA: a compile-time constant)
D_THETA = 1  # dim θ: x = (θ, ω)
D_FLOW = 3  # 3·D: three stack rows of scratch for the SDE drift's central difference
D_TRI = 1  # entries of the second-moment sums tracked per chain (invariant.moments)
Q_TRI = 1  # outer products queued before they join the packed covariance sums (1 or 8)
MOMENTS = 0  # the second moments streamed: 0 full (packed x xᵀ), 1 diagonal, 2 diagonal + projections
N_PROJ = 0  # projections z = P x whose covariance is streamed (MOMENTS = 2), else 0
N_STD = 6  # standard observables (build.STANDARD_OBSERVABLES)
N_APPLIED = 6  # observables of an SGA update (build.APPLIED_OBSERVABLES)
N_OBS = 6  # observables of a statistics step: the standard ones, then the hook's
N_OBS_MAX = 13  # N_OBS + N_APPLIED + 1 (a literal: the length of a stack vector)
USE_B1 = False  # the SDE drift is b0 + lr·b1 (order 2) or b0 (order 1)
OPTIMIZER = 0  # the SGA chains' optimiser (invariant.optimizers.OPTIMIZER_ID; 0 is SGD)
N_S = 0  # vectors of the optimiser's state per chain (0, 1 or 2 of length D)
D_S = 1  # entries of a stack vector holding the optimiser's state (N_S·D, at least 1)
FLOW_B1 = False  # the SDE drift adds k_flow (∇b₀)b₀ (consensus at order 2)
NOISE_HVP = False  # the SDE noise adds γ H L z′ (consensus)
CORRECTED = False  # the SDE's noise factor is the corrected L + lr·M (docs/theory.md §3) or L
SIGMA_VARIES = True  # Σ depends on x (the corrected factor then differentiates L along the step)
SHARED = False  # one minibatch for both players (templates/shared_batch.py): _noise is the joint one
FD_STEP = 6e-6  # relative step of the central differences (drift, corrected noise): ε^(1/3) of the dtype
HOOK_WORK = 0  # work rows of a hook that draws (Hook.work)
HOOK_ROWS = 0  # rows of the hook's scratch array
MAX_BATCHES = 256  # the scheduler's batch sums per window (invariant.schedule)
# --- CUDA modules (invariant.engine.cuda_build)
_F = float  # the state's numba dtype (float64 or float32)
LOCAL_N = 1  # length of a thread-local scratch vector a game kernel allocates


def _NORMAL(rng, i): ...  # a draw of the state's dtype from xoroshiro128+ state rng[i]
def _UNIFORM(rng, i): ...
def _UNIFORM64(rng, i): ...


# --- the game's kernels (games/base.py), inlined into the chain loops
def _batch_grad(x, p, data, rng, batch_size, player, out): ...
def _grad(x, p, data, out): ...
def _hvp(x, p, data, v, out): ...
def _loss(x, p, data): ...
def _noise(x, p, data, rng, out): ...
def _loss_with_grad(x, gx, p, data): ...
def _sample_grads(x, p, data, rng, out): ...  # shared batches only (templates/shared_batch.py)
def _shared_batch_grad(x, p, data, rng, batch_size, out): ...
def _shared_noise(x, p, data, rng, out): ...


# --- an observable hook (invariant.engine.build.Hook): its template defines observe_extra
def observe_extra(*args): ...


# --- the FDR hook (templates/fdr_hook.py, invariant.fdr.hook)
FDR_SGA = False  # the chains are SGA's (Tr Σ only) rather than the SDE's
FDR_B1 = True  # stream the b₁ products (SDE runs, both orders)


def _fdr_observables(x, gx, u, v, hv, hw, gphi, dth, out): ...  # generated: one call per user observable
