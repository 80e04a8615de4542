"""The game protocol: what every game gives the schemes, the engine and the analyses.

A game is min over ``theta`` / max over ``omega`` of ``g(theta, omega) = E_xi g_hat``
(docs/theory.md §1).  The state is ``x = (theta, omega)`` of length ``d = d_theta + d_omega``.

Numerics live in a *kernel module*: a Python module holding these ``numba.njit(cache=True)``
functions, all taking the packed constants ``p`` (1-D float64, with ``p[0] = d_theta``)
and the data array ``data`` (2-D float64: a data set, one sample per row, or constant
matrices the kernels read by rows, as the bilinear game keeps ``C`` and its noise factors;
shape ``(0, 1)`` for games with neither):

``loss(x, p, data) -> float``
    ``g(x)``.
``grad(x, p, data, out)``
    ``out[:] = (grad_theta g, grad_omega g)`` at ``x`` (the population gradient).
``hvp(x, p, data, v, out)`` (optional)
    ``out[:] = H(x) v`` with ``H = ∂(grad)/∂x`` the ``d x d`` Jacobian of the gradient field:
    the Hessian of ``g`` for a zero-sum game; for a game whose players have different losses
    (the non-saturating GAN) ``grad`` returns each player's own gradient and ``H`` is the
    Jacobian of that field, which is what the order-2 drift of docs/theory.md §3 needs.
    Without it a central difference of ``grad`` stands in (``invariant.numerics.central_hvp``,
    the kernels' ``_hvp_from_grad``: error ≈ ε^(2/3) relative, two gradients per product).
``noise(x, p, data, rng, out)``
    ``out[:] = L(x) z`` with ``L Lᵀ = blockdiag(Sigma_theta, Sigma_omega)(x)`` and ``z`` standard
    normals drawn from the ``numpy.random.Generator`` ``rng`` (docs/theory.md §3).
``batch_grad(x, p, data, rng, batch_size, player, out)``
    the minibatch mean of per-sample gradients over ``batch_size`` i.i.d. draws of ``xi``;
    ``player = 0`` fills ``out[:d_theta]`` with ``grad_theta g_hat_B``, ``player = 1`` fills
    ``out[d_theta:]`` with ``grad_omega g_hat_B``; the other block is left untouched.
``sample_grads(x, p, data, rng, out)``
    per-sample gradients ``(grad_theta g_hat, grad_omega g_hat)`` for ``out.shape[0]`` i.i.d.
    draws of ``xi``, one per row (used to estimate ``Sigma`` where no closed form exists).
``shared_batch_grad(x, p, data, rng, batch_size, out)`` (optional)
    both players' minibatch mean gradients from ONE minibatch of ``batch_size`` draws of
    ``xi`` (``[training] batches = "shared"``, docs/theory.md §2): ``out[:]`` gets the mean of
    ``batch_size`` rows of ``sample_grads``.  Without it the engine averages rows of
    ``sample_grads`` itself (an allocation per step: slower, same law).
``shared_noise(x, p, data, rng, out)`` (optional)
    ``out[:] = L(x) z`` with ``L Lᵀ`` the *joint* covariance of one sample's gradients
    ``(grad_theta g_hat, grad_omega g_hat)``, cross block ``Sigma_theta_omega`` included: the
    noise of the shared-batch SDE (docs/theory.md §2–3).  SDE runs with shared batches need it.
``loss_with_grad(x, gx, p, data) -> float`` (optional)
    ``g(x)`` given ``gx = grad(x)`` already computed, for games where that is cheaper than
    ``loss`` (the bilinear game: O(d) instead of a ``dθ × dω`` product).  The engine books
    ``g`` at every statistics step right after the drift's gradient; without this kernel
    it calls ``loss``.

The engine generates its kernels against these names (``invariant.engine.build``), so a
game written in its own module is compiled and cached exactly like the built-in ones.

In the CPU chain loops ``rng`` is the chain's PCG64 stream drawn inline
(``invariant.engine.pcg64``): ``rng.standard_normal()``, ``rng.random()`` and
``rng.integers(lo, hi)`` give exactly what numpy's ``Generator(PCG64)`` would; kernels
called from Python (``sample_grads``) get numpy generators.  Draw only through these three.
The chain loops test a state against the escape radius at their events (statistics steps,
kept draws, at least every 16 steps), not after every step, so a kernel may be handed a
state beyond the radius, or NaN, a few times before the chain is stopped: it must not
index memory with numbers computed from ``x``.

The GPU backend (``[simulation] backend = "cuda"``) translates the ``njit`` functions these
kernels call, in this module or any other, into CUDA device functions
(``invariant.engine.cuda_build``).  There ``rng`` is the chain's xoroshiro128+ state (the
same three draws); a scratch array is a thread-local vector, so kernels allocate only
1-D vectors of length ``<= d`` (``np.empty(n)``, ``np.zeros(n)``); numpy's scalar functions
(``np.exp``, ``np.sqrt``, …) become ``math``'s; every function they call must be ``njit``.
In float32 runs ``x``, ``p`` and ``data`` are float32 arrays.

Speed: the engine inlines these kernels into its chain loop, and for states of dimension
``d <= 8`` keeps the state in registers.  That holds as long as no kernel hands ``x`` (or
``out``) to a function compiled apart: index ``x`` into scalars first and pass those
(``invariant.games.dirac`` does), or make the helper ``inline="always"``.  Kernels that
allocate nothing run fastest compiled with ``njit(cache=True, _nrt=False)``: no reference
counting of ``p`` and ``out`` at every call.  For large states, loop over slices and rows
that start at 0 (``om = x[dt:]``, then ``om[j]``; a row ``data[i]``) rather than over
``x[dt + j]`` or ``p[k0 + j]``: numba cannot tell such an index is not negative, and the
wraparound it adds turns a vectorised loop into gathers and scatters
(``invariant.games.bilinear`` does this throughout).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

from ..numerics import central_hvp


@dataclass
class Game:
    """A game: its constants and the module of its jitted kernels.

    Parameters
    ----------
    name : str
        Short name used in summaries and reports.
    d_theta, d_omega : int
        Dimensions of the generator's and the discriminator's parameters.
    params : ndarray
        Packed float64 constants handed to every kernel; ``params[0] == d_theta``.
    kernels : str
        Dotted name of the module holding the kernel functions described above.
    data : ndarray, optional
        2-D float64 data array handed to every kernel.
    affine : bool
        True when ``b0`` is affine in ``x`` and ``Sigma`` is constant (exact analyses apply).
    x0 : ndarray, optional
        Default centre of the chains' initial states (zeros if omitted).
    init_scale : float
        Default standard deviation of the initial states around ``x0``.
    info : dict
        Anything the game wants recorded in the run's attributes (its configuration).
    exact_cost : float
        What one exact evaluation (``loss``, ``grad`` or ``noise`` at a point) costs, in
        per-sample gradients (``batch_grad`` with ``batch_size = 1``): 1 for closed forms,
        about the number of points for a quadrature or a sum over a data set.  SGA runs space
        their observables by it (``simulation.obs_every``, docs/performance.md).
    sampled_batches : bool
        True when ``batch_grad`` draws its ``batch_size`` samples (its cost grows with the
        batch); False when it draws the minibatch mean's law at once (the bilinear game's
        Gaussian noise, whose cost does not).
    """

    name: str
    d_theta: int
    d_omega: int
    params: np.ndarray
    kernels: str
    data: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    affine: bool = False
    x0: np.ndarray | None = None
    init_scale: float = 1.0
    info: dict = field(default_factory=dict)
    exact_cost: float = 1.0
    sampled_batches: bool = True

    def __post_init__(self):
        self.params = np.ascontiguousarray(self.params, dtype=np.float64)
        self.data = np.ascontiguousarray(self.data, dtype=np.float64)
        if self.data.ndim != 2:
            raise ValueError("game data must be a 2-D float array")
        if int(self.params[0]) != self.d_theta:
            raise ValueError("params[0] must hold d_theta")
        if self.x0 is None:
            self.x0 = np.zeros(self.d)
        self.x0 = np.asarray(self.x0, dtype=np.float64)
        self.module = importlib.import_module(self.kernels)
        missing = [f for f in KERNEL_FUNCTIONS if not hasattr(self.module, f)]
        if missing:
            raise ValueError(f"game kernel module {self.kernels!r} lacks {', '.join(missing)}")

    @property
    def d(self) -> int:
        return self.d_theta + self.d_omega

    @property
    def param_names(self) -> list[str]:
        return [f"theta[{i}]" for i in range(self.d_theta)] + [
            f"omega[{i}]" for i in range(self.d_omega)
        ]

    def split(self, x):
        """Split state(s) ``x`` (last axis ``d``) into ``(theta, omega)``."""
        x = np.asarray(x)
        return x[..., : self.d_theta], x[..., self.d_theta :]

    # Thin Python views of the kernels, for analyses and tests.
    def loss(self, x) -> float:
        return float(self.module.loss(np.asarray(x, dtype=np.float64), self.params, self.data))

    def grad(self, x) -> np.ndarray:
        out = np.empty(self.d)
        self.module.grad(np.asarray(x, dtype=np.float64), self.params, self.data, out)
        return out

    def hvp(self, x, v) -> np.ndarray:
        if not hasattr(self.module, "hvp"):
            return central_hvp(self.grad, x, v)
        out = np.empty(self.d)
        self.module.hvp(
            np.asarray(x, dtype=np.float64), self.params, self.data,
            np.asarray(v, dtype=np.float64), out,
        )
        return out

    def hessian(self, x) -> np.ndarray:
        """Full Hessian of ``g`` from ``d`` Hessian-vector products."""
        return np.column_stack([self.hvp(x, e) for e in np.eye(self.d)])

    def sample_grads(self, x, n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((n, self.d))
        self.module.sample_grads(np.asarray(x, dtype=np.float64), self.params, self.data, rng, out)
        return out

    def sigma(self, x, n: int = 20000, rng: np.random.Generator | None = None) -> np.ndarray:
        """``blockdiag(Sigma_theta, Sigma_omega)(x)`` (docs/theory.md §1).

        Games with a closed form override this; the default estimates it from ``n``
        per-sample gradients.
        """
        rng = np.random.default_rng(0) if rng is None else rng
        G = self.sample_grads(x, n, rng)
        S = np.cov(G, rowvar=False).reshape(self.d, self.d)
        S[: self.d_theta, self.d_theta :] = 0.0
        S[self.d_theta :, : self.d_theta] = 0.0
        return S

    def sigma_cross(self, x, n: int = 20000, rng: np.random.Generator | None = None) -> np.ndarray:
        """``Sigma_theta_omega(x)``, the ``dθ × dω`` covariance of one sample's two gradients
        (docs/theory.md §2).  Games with a closed form override this; the default estimates it
        from ``n`` per-sample gradients."""
        rng = np.random.default_rng(0) if rng is None else rng
        G = self.sample_grads(x, n, rng)
        S = np.cov(G, rowvar=False).reshape(self.d, self.d)
        return S[: self.d_theta, self.d_theta :].copy()

    def noise_covariance(self, x, batches: str = "independent") -> np.ndarray:
        """Covariance of the per-sample noise of the descent–ascent direction
        ``(−∇θĝ, +∇ωĝ)``: ``blockdiag(Σθ, Σω)`` when each player draws its own minibatch, and
        with the cross block ``−Σθω`` when both use one (docs/theory.md §2)."""
        S = np.array(self.sigma(x), dtype=np.float64)
        if batches == "shared":
            c = -np.asarray(self.sigma_cross(x), dtype=np.float64)
            S[: self.d_theta, self.d_theta :] = c
            S[self.d_theta :, : self.d_theta] = c.T
        elif batches != "independent":
            raise ValueError(f"batches must be 'independent' or 'shared', got {batches!r}")
        return S


KERNEL_FUNCTIONS = ("loss", "grad", "noise", "batch_grad", "sample_grads")
