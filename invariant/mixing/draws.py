"""The kept draws of a run's live chains and the observables along them, as the mixing-rate
estimators read them."""
from __future__ import annotations

import numpy as np


def live_draws(result) -> np.ndarray:
    """(live kept chains, n_draws, d) kept draws of chains that never stopped."""
    keep = result.kept_alive
    return result.draws[keep]


def draw_spacing(result) -> float:
    """SDE time between kept draws."""
    c = result.config
    return float(c.thin * c.step_time)


def observables(result, max_evals: int = 40000) -> dict:
    """Observables along the kept draws of live chains: coordinates, ``g`` and ``|x|²``.

    ``g`` is evaluated on the kept draws (no simulation), on at most ``max_evals`` states
    (the first chains).

    Returns
    -------
    dict
        name → ndarray (chains, n_draws).
    """
    x = live_draws(result)
    game = result.game
    out = {name: x[:, :, i] for i, name in enumerate(game.param_names)}
    out["|x|²"] = np.sum(x**2, axis=-1)
    n_ch = int(max(2, min(x.shape[0], max_evals // max(1, x.shape[1]))))
    xs = x[:n_ch]
    loss, p, data = game.module.loss, game.params, game.data
    g = np.empty(xs.shape[:2])
    for c in range(xs.shape[0]):
        for j in range(xs.shape[1]):
            g[c, j] = loss(xs[c, j], p, data)
    out["g"] = g
    return out
