"""Run configuration: the TOML schema of docs/design.md ◆ Config, validated before any simulation.

Every problem raises :class:`~invariant.errors.ConfigError` naming the dotted key and
what is allowed; the command line turns it into exit status 2 and one line.
"""
from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from . import games
from .errors import ConfigError  # noqa: F401  (re-exported)
from .games.validate import choice, integer, number, vector
from .options.conditions import validate_options as conditions_options
from .options.mixing import validate_options as mixing_options
from .options.moments import MomentOptions
from .options.moments import validate_options as moment_options
from .options.schedule import validate_options as schedule_options
from .options.weak import validate_options as weak_options
from .optimizers import OPTIMIZER_KEYS, SDE_ORDERS
from .optimizers import from_table as optimizer_options
from .schemes import BATCHES, SCHEMES, Scheme, default_order

SECTIONS = ("game", "training", "simulation", "conditions", "mixing", "weak")
TRAINING_KEYS = ("scheme", "lr", "batch_size", "batches", "schedule", *OPTIMIZER_KEYS)
SIMULATION_KEYS = (
    "dynamics", "order", "chains", "t_end", "t_burn", "dt", "seed", "escape_radius",
    "keep_draws", "keep_chains", "stat_every", "obs_every", "x0", "init_scale", "chunks", "backend", "dtype",
    "diffusion", "moments", "projections", "projection_vectors",
)
BACKENDS = ("cpu", "cuda")
DTYPES = ("float64", "float32")
MAX_STEPS = 2**53
"""Most steps a run may take: step counts stay exact integers (as floats and in the kernels'
64-bit counters), and a run of more steps would not end."""
MAX_KEEP_DRAWS = 10**7
"""Most draws kept per chain: the analyses of the kept draws grow with their number (10⁸
took minutes), and so does memory (``keep_chains × keep_draws × d × 8`` bytes)."""


@dataclass
class Config:
    """A validated run configuration.

    Attributes mirror the TOML keys; ``resolved`` is the full key table with every default
    filled in (what the run records and what ``--resume`` reads back).
    """

    game: games.Game
    scheme: Scheme
    dynamics: str
    chains: int
    t_end: float
    t_burn: float
    dt: float
    seed: int
    escape_radius: float
    keep_draws: int
    keep_chains: int
    stat_every: int
    obs_every: int
    x0: np.ndarray
    init_scale: float
    chunks: int
    resolved: dict = field(repr=False)
    conditions: dict = field(default_factory=dict)  # [conditions] options, defaults filled in (invariant.conditions)
    mixing: object = None  # [mixing] options, invariant.mixing.MixingOptions
    schedule: object = None  # [training.schedule] options, invariant.schedule.ScheduleOptions (None if absent)
    weak: object = None  # [weak] options, invariant.weak.WeakOptions (None if absent)
    backend: str = "cpu"  # where the chains run: "cpu" (numba threads) or "cuda" (one GPU thread per chain)
    dtype: str = "float64"  # precision of the chain states ("float32" with backend = "cuda" only)
    moments: MomentOptions = field(default_factory=MomentOptions)  # the second moments streamed (options.moments)

    @property
    def step_time(self) -> float:
        """SDE time per step: ``dt`` for the SDE, ``lr`` for the discrete chains (``lr/(1 − β)``
        under momentum: its effective learning rate, docs/theory.md §4b)."""
        return self.dt if self.dynamics == "sde" else self.scheme.lr * self.scheme.optimizer.time_scale

    @property
    def steps(self) -> int:
        return int(round(self.t_end / self.step_time))

    @property
    def burn_steps(self) -> int:
        return int(round(self.t_burn / self.step_time))

    @property
    def chunk_steps(self) -> int:
        """Steps between checkpoints: ``chunks`` chunks of equal length (the last shorter)."""
        return max(1, math.ceil(self.steps / self.chunks))

    @property
    def n_chunks(self) -> int:
        """Checkpoints a run writes (at most ``chunks``, at most one per step)."""
        return math.ceil(self.steps / self.chunk_steps)

    @property
    def thin(self) -> int:
        """Steps between kept draws, so that at most ``keep_draws`` are kept."""
        return max(1, math.ceil((self.steps - self.burn_steps) / self.keep_draws))

    @property
    def n_draws(self) -> int:
        return (self.steps - self.burn_steps - 1) // self.thin


def default_text() -> str:
    """The embedded default example (docs/design.md's bilinear ALT-D game)."""
    return resources.files("invariant").joinpath("default.toml").read_text()


def load(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Read and validate a TOML config (the embedded default when ``path`` is None).

    ``overrides`` maps ``"simulation.chains"``-style keys to values (command-line options).
    """
    table = read_table(path)
    for key, value in (overrides or {}).items():
        section, name = key.split(".")
        table.setdefault(section, {})[name] = value
    return from_dict(table)


def read_table(path: str | Path | None = None) -> dict:
    """The config's TOML as nested dicts, unvalidated (the embedded default when ``path`` is None)."""
    if path is None:
        text, where = default_text(), "default example"
    else:
        try:
            text, where = Path(path).read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise ConfigError("config", f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError("config", f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                                        f"offset {exc.start}); save it as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{where} is not valid TOML: {exc}") from None


def _stat_every(sim: dict, post_steps: int, step_time: float) -> int:
    """``simulation.stat_every``: steps between the statistics samples, at least two of them
    in the ``post_steps`` steps after burn-in (fewer leave no moments to report)."""
    if "stat_every" not in sim:
        # statistics every ~0.5 units of SDE time: a time average of samples Δ apart has
        # variance ≈ 1 + |λ|²Δ²/12 times that of every step for a mode λ
        # (docs/theory.md §4.7): ≤ 2 % for means, ≤ 8 % for second moments of modes with
        # |λ| ≤ 1, at a cost measured in docs/performance.md ("How often statistics are taken")
        return max(1, min(int(round(0.5 / step_time)), post_steps // 2))
    return _spacing(sim, "stat_every", post_steps)


def _spacing(sim: dict, key: str, post_steps: int) -> int:
    """A given ``simulation.<key>``: steps between samples, leaving at least two of them."""
    every = integer(sim[key], f"simulation.{key}", low=1)
    if post_steps // every < 2:
        raise ConfigError(f"simulation.{key}", f"{every} steps between samples leaves fewer than 2 samples in the "
                                               f"{post_steps} steps after burn-in; at most {max(1, post_steps // 2)}")
    return every


OBS_SHARE = 0.05
"""The share of an SGA run's time the default ``obs_every`` budgets for the observables."""


def _obs_every(sim: dict, post_steps: int, stat_every: int, dynamics: str, game, batch_size: int,
               optimizer) -> int:
    """``simulation.obs_every``: steps between the observables' samples (the loss, the FDR
    terms, a hook's), apart from the moments' ``stat_every`` (docs/performance.md, "How often
    statistics are taken").

    Default: ``stat_every`` for SDE runs (their steps evaluate the exact drift and noise
    already) and where ``stat_every`` is set; for SGA runs, a spacing that gives the
    observables about ``OBS_SHARE`` of the run.  A training step costs ``n_critic + 1``
    minibatch gradients of ``batch_size`` per-sample gradients each (one each if the game
    draws a minibatch's mean at once: ``game.sampled_batches``), an observables step three
    exact evaluations (g and ∇g, Σ for the FDR terms, g after the step) of
    ``game.exact_cost`` each."""
    if "obs_every" in sim:
        return _spacing(sim, "obs_every", post_steps)
    if dynamics == "sde" or "stat_every" in sim:
        return stat_every
    batch_cost = batch_size if game.sampled_batches else 1
    cost = 3.0 * game.exact_cost / (batch_cost * (optimizer.n_critic + 1))  # in training steps
    return max(stat_every, min(math.ceil(cost / OBS_SHARE), max(1, post_steps // 2)))


def _check_sde(optimizer, order: int) -> None:
    """Refuse an SDE the toolkit does not have for the optimiser (docs/theory.md §4b)."""
    orders = SDE_ORDERS.get(optimizer.name, ())
    if not orders:
        raise ConfigError("simulation.dynamics", f"optimizer = {optimizer.name!r} has no SDE here (the SDEs of "
                                                 "adaptive methods are not verified, docs/theory.md §4b); "
                                                 "set dynamics = 'sga'")
    if order not in orders:
        raise ConfigError("simulation.order", f"optimizer = {optimizer.name!r} has an SDE of order "
                                              f"{' or '.join(map(str, orders))} only, got {order}")
def _diffusion(sim: dict, order: int, optimizer) -> str:
    """``simulation.diffusion``: the order-2 SDE's noise, ``"corrected"`` (the default for plain
    SGDA: it matches the scheme's one-step covariance to O(lr³), docs/theory.md §3) or
    ``"plain"``; order 1 and the other optimisers' SDEs (docs/theory.md §4b) are plain."""
    corrected_ok = order == 2 and optimizer.plain
    diffusion = choice(sim.get("diffusion", "corrected" if corrected_ok else "plain"), "simulation.diffusion",
                       ("plain", "corrected"))
    if diffusion == "corrected" and order != 2:
        raise ConfigError("simulation.diffusion", "'corrected' needs order = 2 (the correction is O(lr²), "
                                                  "below the order-1 SDE's error); drop diffusion or set order = 2")
    if diffusion == "corrected" and not corrected_ok:
        raise ConfigError("simulation.diffusion", f"'corrected' is derived for plain SGDA; optimizer = "
                                                  f"{optimizer.name!r} (lr_ratio, n_critic as given) has the plain "
                                                  "noise of docs/theory.md §4b: drop diffusion")
    return diffusion


def _batches(tr: dict, scheme: str, optimizer, dynamics: str, backend: str) -> str:
    """``training.batches``: each player's own minibatch (``"independent"``, the default) or one
    minibatch for both (``"shared"``, SML only: one backward pass; docs/theory.md §2)."""
    batches = choice(tr.get("batches", "independent"), "training.batches", BATCHES)
    if batches == "independent":
        return batches
    if scheme != "sml":
        raise ConfigError("training.batches", f"'shared' is for simultaneous training (scheme = 'sml'); "
                                              f"{scheme} evaluates the players at different points, so "
                                              "each draws its own minibatch: drop batches")
    if optimizer.name == "consensus":
        raise ConfigError("training.batches", "'shared' is not derived for consensus (its Hessian term "
                                              "draws a batch of its own): drop batches")
    if backend != "cpu":
        raise ConfigError("training.batches", "'shared' runs on backend = 'cpu' only")
    if "schedule" in tr:
        raise ConfigError("training.batches", "the FDR scheduler draws independent batches: drop batches")
    return batches


def _check_shared(game, dynamics: str) -> None:
    if dynamics == "sde" and not hasattr(game.module, "shared_noise"):
        raise ConfigError("training.batches", f"the SDE of shared batches needs the game's joint noise factor "
                                              f"(kernel shared_noise, docs/theory.md §2); {game.name!r} has "
                                              "none: run dynamics = 'sga', or drop batches")


def from_dict(table: dict) -> Config:
    """Validate a config given as nested dicts (the parsed TOML)."""
    table = copy.deepcopy(table)
    for section in table:
        if section not in SECTIONS:
            raise ConfigError(section, f"unknown section; allowed: {', '.join(SECTIONS)}")
        if not isinstance(table[section], dict):
            raise ConfigError(section, "must be a table, e.g. [game]")
    for section, allowed in (("training", TRAINING_KEYS), ("simulation", SIMULATION_KEYS)):
        for key in table.get(section, {}):
            if key not in allowed:
                raise ConfigError(f"{section}.{key}", f"unknown key; allowed: {', '.join(allowed)}")
    if "game" not in table:
        raise ConfigError("game", "required section: [game] with name = 'bilinear' | 'dirac' | 'mlp' | 'pkg.module:factory'")
    tr = table.get("training", {})
    sim = table.get("simulation", {})

    scheme_name = choice(tr.get("scheme", "alt-d"), "training.scheme", SCHEMES)
    lr = number(tr.get("lr", 0.05), "training.lr", low=0.0, strict=True)
    batch_size = integer(tr.get("batch_size", 1), "training.batch_size", low=1)
    optimizer = optimizer_options(tr, scheme_name)
    dynamics = choice(sim.get("dynamics", "sde"), "simulation.dynamics", ("sde", "sga"))
    order = sim.get("order", default_order(scheme_name, optimizer))
    if type(order) is not int or order not in (1, 2):
        raise ConfigError("simulation.order", f"must be 1 (b0 only) or 2 (b0 + lr·b1), got {order!r}")
    diffusion = _diffusion(sim, order, optimizer)
    if dynamics == "sde":
        _check_sde(optimizer, order)
    chains = integer(sim.get("chains", 64), "simulation.chains", low=1)
    t_end = number(sim.get("t_end", 400.0), "simulation.t_end", low=0.0, strict=True)
    t_burn = number(sim.get("t_burn", 0.125 * t_end), "simulation.t_burn", low=0.0)
    if t_burn >= t_end:
        raise ConfigError("simulation.t_burn", f"must be < t_end = {t_end:g}, got {t_burn:g}")
    dt = number(sim.get("dt", 0.01), "simulation.dt", low=0.0, strict=True)
    seed = integer(sim.get("seed", 12345), "simulation.seed", low=0)
    escape_radius = number(sim.get("escape_radius", 1e6), "simulation.escape_radius", low=0.0, strict=True)
    keep_draws = integer(sim.get("keep_draws", 1000), "simulation.keep_draws", low=2)
    if keep_draws > MAX_KEEP_DRAWS:
        raise ConfigError("simulation.keep_draws", f"at most {MAX_KEEP_DRAWS:.0e} draws per chain are kept "
                                                   f"(the analyses grow with their number), got {keep_draws:.3g}")
    keep_chains = integer(sim.get("keep_chains", 256), "simulation.keep_chains", low=1)
    chunks = integer(sim.get("chunks", 100), "simulation.chunks", low=1)
    backend = choice(sim.get("backend", "cpu"), "simulation.backend", BACKENDS)
    dtype = choice(sim.get("dtype", "float64"), "simulation.dtype", DTYPES)
    if dtype == "float32" and backend != "cuda":
        raise ConfigError("simulation.dtype", "'float32' needs backend = 'cuda' (the CPU engine runs in float64); "
                                              "drop dtype or set backend = 'cuda'")

    step_time = dt if dynamics == "sde" else lr * optimizer.time_scale
    if t_end < 4 * step_time:
        raise ConfigError("simulation.t_end", f"must cover several steps of {step_time:g} (SDE time per step); got {t_end:g}")
    if t_end - t_burn < 4 * step_time:
        raise ConfigError("simulation.t_burn", f"leaves fewer than 4 steps after burn-in; lower it below {t_end - 4 * step_time:g}")
    if t_end / step_time > MAX_STEPS:
        raise ConfigError("simulation.t_end", f"t_end / {'dt' if dynamics == 'sde' else 'lr'} = {t_end:g} / "
                                              f"{step_time:g} = {t_end / step_time:.3g} steps, more than a run can take "
                                              f"({MAX_STEPS:.3g}); lower t_end or raise the step")
    post_steps = round(t_end / step_time) - round(t_burn / step_time)
    stat_every = _stat_every(sim, post_steps, step_time)
    batches = _batches(tr, scheme_name, optimizer, dynamics, backend)

    game = games.from_config(table["game"])
    obs_every = _obs_every(sim, post_steps, stat_every, dynamics, game, batch_size, optimizer)
    if batches == "shared":
        _check_shared(game, dynamics)
    if backend == "cuda" and getattr(game, "cpu_only", False):
        raise ConfigError("simulation.backend", f"game {game.name!r} with this configuration runs on the CPU only; "
                                                "set backend = 'cpu'")
    x0 = vector(sim.get("x0", game.x0), "simulation.x0", game.d)
    init_scale = number(sim.get("init_scale", game.init_scale), "simulation.init_scale", low=0.0)
    moments = moment_options(sim, game.d, chains)

    resolved = {
        "game": table["game"],
        "training": {"scheme": scheme_name, "lr": lr, "batch_size": batch_size, "batches": batches,
                     **optimizer.as_dict()},
        "simulation": {
            "dynamics": dynamics, "order": order, "chains": chains, "t_end": t_end,
            "t_burn": t_burn, "dt": dt, "seed": seed, "escape_radius": escape_radius,
            "keep_draws": keep_draws, "keep_chains": keep_chains, "stat_every": stat_every,
            "obs_every": obs_every, "x0": x0.tolist(), "init_scale": init_scale, "chunks": chunks,
            "backend": backend, "dtype": dtype, "diffusion": diffusion, **moments.as_dict(),
        },
    }
    cond = conditions_options(table.get("conditions"))
    resolved["conditions"] = dict(cond)
    mixing = mixing_options(table.get("mixing"), t_end, chains, game.d, step_time)
    resolved["mixing"] = mixing.as_dict()
    schedule = weak = None
    if "schedule" in tr:  # read by invariant.schedule.train; `invariant run` keeps training.lr fixed
        if not optimizer.plain:
            raise ConfigError("training.schedule", "the FDR scheduler steers plain SGDA (docs/theory.md §6): "
                              "remove it, or train with optimizer = 'sgd', lr_ratio = 1, n_critic = 1")
        schedule = schedule_options(tr["schedule"], lr)
        resolved["training"]["schedule"] = schedule.as_dict()
    if "weak" in table:  # read by `invariant weak-order`
        weak = weak_options(table["weak"], game.d)
        resolved["weak"] = weak.as_dict()
    return Config(
        game=game, scheme=Scheme(scheme_name, lr, batch_size, order, optimizer, diffusion == "corrected", batches),
        dynamics=dynamics,
        chains=chains, t_end=t_end, t_burn=t_burn, dt=dt, seed=seed,
        escape_radius=escape_radius, keep_draws=keep_draws, keep_chains=keep_chains,
        stat_every=stat_every, obs_every=obs_every, x0=x0, init_scale=init_scale, chunks=chunks, resolved=resolved, conditions=cond,
        mixing=mixing, schedule=schedule, weak=weak, backend=backend, dtype=dtype, moments=moments,
    )
