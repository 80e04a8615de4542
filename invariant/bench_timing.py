"""How ``invariant bench`` times a stepper: calibrated calls, best of interleaved repetitions.

A stepper is a callable ``s(n_steps)`` advancing its chains in place.  Every timing is
taken after a warm-up call (which compiles on first use), with enough steps for one call
to last ``target`` seconds; the steppers take turns, and the best of :data:`REPEATS`
calls of each is reported as chain-steps per second.
"""
from __future__ import annotations

import math
import time

REPEATS = 5
STAT_EVERY = 5
"""Steps between statistics in every benched run: fixed (not the config's default, every 0.5
of SDE time) so that the recorded tables stay comparable; at dt = lr = 0.01 it is the
former default, and denser statistics than the default are the harder case."""


def time_call(step, n: int) -> float:
    """Seconds one call ``step(n)`` takes."""
    t0 = time.perf_counter()
    step(n)
    return time.perf_counter() - t0


def calibrate(step, chains: int, target: float) -> tuple[int, float]:
    """Steps enough for one call of ``step`` to last ``target`` seconds, and that call's time."""
    step(1)  # warm-up (compiles on first use)
    n = max(1, 20_000 // chains)
    while True:
        t = time_call(step, n)
        if t >= target:
            return n, t
        n = int(math.ceil(n * min(20.0, max(1.5, 1.25 * target / max(t, 1e-6)))))


def measure(steppers: dict, chains: int, target: float) -> tuple[dict, dict]:
    """Best-of-:data:`REPEATS` chain-steps per second of each stepper, repetitions interleaved.

    The methods take turns (engine, numpy, bare, engine, …), so a burst of load from
    elsewhere on the machine hits all of them rather than one.
    """
    steps, best = {}, {}
    for m, s in steppers.items():
        steps[m], best[m] = calibrate(s, chains, target)
    for _ in range(REPEATS - 1):
        for m, s in steppers.items():
            best[m] = min(best[m], time_call(s, steps[m]))
    return {m: chains * steps[m] / best[m] for m in steppers}, steps
