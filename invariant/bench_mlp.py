"""An MLP GAN's SGA chains against a PyTorch CPU loop of the same training (docs/design.md ◆ bench JSON).

The case: the general ``mlp`` game on ``ring8`` (2-D data, latent dimension 2), generator and
discriminator each two hidden layers of 22 ReLU units (``d`` = 1213), vanilla loss, no
regulariser, simultaneous SGDA with ``lr = 0.01`` and independent minibatches of 64 per player,
64 chains.  Three steppers advance 64 chains one iteration per step:

``engine``
    the generated kernel ``sga_chunk`` as a run calls it (:class:`invariant.bench_sga.EngineSga`):
    ``prange`` over chains, statistics on;
``torch_loop``
    PyTorch as a practitioner writes it: per chain, ``nn.Sequential`` nets, the generator's loss
    on a latent batch and the discriminator's on a data batch and a second latent batch (the
    generator's output detached), ``torch.autograd.grad`` and in-place updates;
``torch_batched``
    the same with all chains at once: weights stacked along a chain axis, layers as
    ``torch.baddbmm``, one backward pass for every chain (per-chain losses summed: their
    gradients do not mix) — the fastest way we know to run many small nets in PyTorch.

PyTorch runs on the same cores (``torch.set_num_threads`` = numba's threads); without it the
torch rows are left out with a message.  ``ratio_vs_torch`` is engine ÷ the faster torch stepper
(chain-steps per second, best of interleaved repetitions, :mod:`invariant.bench_timing`).
"""
from __future__ import annotations

import numba
import numpy as np

from . import config as config_mod
from .bench_sga import EngineSga
from .bench_timing import measure

LR = 0.01
BATCH_SIZE = 64
CHAINS = 64
SEED = 20240601
TABLE = {"name": "mlp", "data": "ring8", "latent_dim": 2, "loss": "vanilla", "regularizer": "none",
         "generator": {"depth": 2, "width": 22, "activation": "relu"},
         "discriminator": {"depth": 2, "width": 22, "activation": "relu"}}
TARGET = 3.0
"""The engine's chain-steps per second, at least this many times the faster torch stepper's."""


class MlpCase:
    """The benchmark's run configuration (the shape :class:`~invariant.bench_sga.EngineSga` reads)."""

    name = "mlp-ring8"

    def __init__(self):
        self.cfg = self.config(2)

    @property
    def d(self) -> int:
        return self.cfg.game.d

    def config(self, chains: int, seed: int = SEED) -> config_mod.Config:
        return config_mod.from_dict({
            "game": TABLE,
            "training": {"scheme": "sml", "lr": LR, "batch_size": BATCH_SIZE},
            "simulation": {"dynamics": "sga", "chains": chains, "t_end": 10.0, "t_burn": 0.0, "seed": seed,
                           "keep_draws": 2, "keep_chains": 1},
        })

    def initial_state(self, chains: int, seed: int = SEED) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return self.cfg.x0 + self.cfg.init_scale * rng.standard_normal((chains, self.d))


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _nets(torch, chains: int, dim: int, n_z: int, width: int, depth: int):
    """Per chain a generator and a discriminator (``nn.Sequential``, ReLU), torch's default init."""
    nn = torch.nn

    def mlp(n_in, n_out):
        layers, n = [], n_in
        for _ in range(depth):
            layers += [nn.Linear(n, width, dtype=torch.float64), nn.ReLU()]
            n = width
        return nn.Sequential(*layers, nn.Linear(n, n_out, dtype=torch.float64))

    return [(mlp(n_z, dim), mlp(dim, 1)) for _ in range(chains)]


class TorchLoop:
    """PyTorch, one chain after another: SML with independent minibatches (see the module docstring)."""

    def __init__(self, torch, data: np.ndarray, chains: int, n_z: int, width: int, depth: int):
        self.torch = torch
        self.data = torch.as_tensor(data, dtype=torch.float64)
        self.nets = _nets(torch, chains, data.shape[1], n_z, width, depth)
        self.n_z = n_z
        self.gen = torch.Generator().manual_seed(SEED)

    def __call__(self, n_steps: int) -> None:
        torch, F = self.torch, self.torch.nn.functional
        M, N = self.data.shape[0], BATCH_SIZE
        for _ in range(n_steps):
            for G, D in self.nets:
                z = torch.randn(N, self.n_z, dtype=torch.float64, generator=self.gen)
                loss_g = F.logsigmoid(-D(G(z))).mean()  # θ minimises g's fake term f(−D(G(z)))
                g_th = torch.autograd.grad(loss_g, list(G.parameters()))
                y = self.data[torch.randint(M, (N,), generator=self.gen)]
                z2 = torch.randn(N, self.n_z, dtype=torch.float64, generator=self.gen)
                loss_d = (F.logsigmoid(D(y)) + F.logsigmoid(-D(G(z2).detach()))).mean()
                g_om = torch.autograd.grad(loss_d, list(D.parameters()))
                with torch.no_grad():
                    for w, g in zip(G.parameters(), g_th, strict=True):
                        w -= LR * g
                    for w, g in zip(D.parameters(), g_om, strict=True):
                        w += LR * g


class TorchBatched:
    """PyTorch with every chain at once: stacked weights, ``baddbmm`` layers, one backward pass."""

    def __init__(self, torch, data: np.ndarray, chains: int, n_z: int, width: int, depth: int):
        self.torch = torch
        self.data = torch.as_tensor(data, dtype=torch.float64)
        self.gen = torch.Generator().manual_seed(SEED)
        self.chains, self.n_z = chains, n_z
        dim = data.shape[1]

        def stack(n_in, n_out):
            sizes = [n_in] + [width] * depth + [n_out]
            out = []
            for a, b in zip(sizes[:-1], sizes[1:], strict=True):
                bound = 1.0 / np.sqrt(a)
                W = (torch.rand(chains, a, b, dtype=torch.float64, generator=self.gen) * 2 - 1) * bound
                c = (torch.rand(chains, 1, b, dtype=torch.float64, generator=self.gen) * 2 - 1) * bound
                out += [W.requires_grad_(), c.requires_grad_()]
            return out

        self.theta, self.omega = stack(n_z, dim), stack(dim, 1)

    def _net(self, params, h):
        n = len(params) // 2
        for i in range(n):
            h = self.torch.baddbmm(params[2 * i + 1], h, params[2 * i])
            if i < n - 1:
                h = self.torch.relu(h)
        return h

    def __call__(self, n_steps: int) -> None:
        torch, F = self.torch, self.torch.nn.functional
        C, M, N = self.chains, self.data.shape[0], BATCH_SIZE
        for _ in range(n_steps):
            z = torch.randn(C, N, self.n_z, dtype=torch.float64, generator=self.gen)
            loss_g = F.logsigmoid(-self._net(self.omega, self._net(self.theta, z))).mean(dim=(1, 2)).sum()
            g_th = torch.autograd.grad(loss_g, self.theta)
            y = self.data[torch.randint(M, (C, N), generator=self.gen)]
            z2 = torch.randn(C, N, self.n_z, dtype=torch.float64, generator=self.gen)
            fake = self._net(self.theta, z2).detach()
            loss_d = (F.logsigmoid(self._net(self.omega, y)) + F.logsigmoid(-self._net(self.omega, fake))).mean(dim=(1, 2)).sum()
            g_om = torch.autograd.grad(loss_d, self.omega)
            with torch.no_grad():
                for w, g in zip(self.theta, g_th, strict=True):
                    w -= LR * g
                for w, g in zip(self.omega, g_om, strict=True):
                    w += LR * g


def run(target: float) -> dict:
    """Chain-steps per second of the engine and (if importable) the two torch steppers."""
    case = MlpCase()
    game = case.cfg.game
    X0 = case.initial_state(CHAINS)
    steppers = {"engine": EngineSga(case, X0, SEED)}
    torch = _torch()
    note = None
    if torch is None:
        note = "PyTorch is not installed: the torch baselines were skipped (pip install torch)"
    else:
        torch.set_num_threads(numba.get_num_threads())
        spec = TABLE["generator"]
        args = (torch, game.dataset.samples, CHAINS, TABLE["latent_dim"], spec["width"], spec["depth"])
        steppers.update(torch_loop=TorchLoop(*args), torch_batched=TorchBatched(*args))
    rates, steps = measure(steppers, CHAINS, target)
    row = {"name": case.name, "dim": case.d, "chains": CHAINS, "batch_size": BATCH_SIZE, "steps": steps["engine"],
           **rates, "steps_by_method": steps, "torch": getattr(torch, "__version__", None), "note": note}
    if torch is not None:
        best = max(rates["torch_loop"], rates["torch_batched"])
        row.update(ratio_vs_torch=rates["engine"] / best, ratio_vs_torch_loop=rates["engine"] / rates["torch_loop"],
                   ratio_vs_torch_batched=rates["engine"] / rates["torch_batched"])
    return row
