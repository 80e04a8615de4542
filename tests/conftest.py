import os

# Multithreaded OpenBLAS on the suite's small matrices (bootstraps of autocorrelations, EDMD)
# is many times slower than one thread on a shared 2-core machine; set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402

from invariant import config  # noqa: E402

# docs/design.md's example with a non-square C, offsets and correlated noise: the exact-reference game
REFERENCE_GAME = {
    "name": "bilinear",
    "C": [[1.0, 0.4], [-0.3, 0.8], [0.2, -0.5]],
    "lam": 0.3,
    "gam": 0.5,
    "a": [0.2, -0.1, 0.3],
    "b": [0.5, -0.4],
    "Sigma_theta": [[1.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 0.7]],
    "Sigma_omega": [[0.8, 0.2], [0.2, 0.6]],
}


def make_config(game=None, training=None, simulation=None):
    """A validated Config from partial tables (defaults: the reference game, a short run)."""
    sim = {"chains": 16, "t_end": 40.0, "t_burn": 5.0, "dt": 0.01, "seed": 7}
    sim.update(simulation or {})
    tr = {"scheme": "alt-d", "lr": 0.05, "batch_size": 4}
    tr.update(training or {})
    return config.from_dict({"game": dict(game or REFERENCE_GAME), "training": tr, "simulation": sim})


@pytest.fixture
def small_config():
    return make_config()


def kill_after_checkpoints(monkeypatch, n: int = 2):
    """Make the engine raise KeyboardInterrupt right after its ``n``-th checkpoint, as a run
    killed there; returns the function that undoes it."""
    from invariant.engine import run as run_mod

    write, calls = run_mod._write_checkpoint, []

    def killed(*args):
        write(*args)
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "_write_checkpoint", killed)
    return lambda: monkeypatch.setattr(run_mod, "_write_checkpoint", write)
