"""Learning-rate schedules and the FDR scheduler (docs/theory.md §5–6; invariant.schedule)."""
import numba
import numpy as np
import pytest

from invariant import config, exact, schedule
from invariant.errors import ConfigError
from conftest import REFERENCE_GAME, make_config


def _cfg(scheme="alt-d", lr=0.1, chains=8, x0=None, seed=3):
    sim = {"chains": chains, "seed": seed, "t_end": 1000.0}
    if x0 is not None:
        sim.update(x0=list(x0), init_scale=0.0)
    return make_config(training={"scheme": scheme, "lr": lr}, simulation=sim)


def test_schedule_table_is_validated_with_the_field_named():
    base = {"game": dict(REFERENCE_GAME), "training": {"lr": 0.05}}
    cfg = config.from_dict({**base, "training": {"lr": 0.05, "schedule": {"kind": "yaida"}}})
    o = cfg.schedule
    assert (o.kind, o.tolerance, o.decay, o.z, o.center, o.ratio) == ("yaida", 0.01, 0.9, 0.0, "origin", "sum")
    assert cfg.resolved["training"]["schedule"]["kind"] == "yaida"
    assert config.from_dict(base).schedule is None
    assert config.from_dict(cfg.resolved).schedule.as_dict() == o.as_dict()  # what --resume reads back
    for bad, field in (({"kind": "bogus"}, "kind"), ({"decay": 1.5}, "decay"), ({"foo": 1}, "foo"),
                       ({"lr_min": 1.0}, "lr_min"), ({"tolerance": 0.0}, "tolerance"), ({"batch": 0}, "batch"),
                       ({"ratio": "max"}, "ratio"), ({"step_factor": 2.0}, "step_factor"),
                       ({"iterations": 1.5}, "iterations")):
        with pytest.raises(ConfigError) as exc:
            config.from_dict({**base, "training": {"lr": 0.05, "schedule": bad}})
        assert exc.value.field == f"training.schedule.{field}", (bad, exc.value.field)
    with pytest.raises(ConfigError) as exc:
        config.from_dict({**base, "training": {"lr": 0.05, "schedule": "fdr"}})
    assert exc.value.field == "training.schedule"


@pytest.mark.parametrize("scheme", ["sml", "alt-d"])
def test_ratios_are_one_at_stationarity_at_fixed_lr(scheme):
    # started from the chain's exact stationary mean, the logged ratios (half-running window
    # of the applied-gradient FDR, docs/theory.md §5) sit at 1 within their standard errors
    cfg = _cfg(scheme)
    m, _ = exact.discrete_stationary(*exact.discrete(cfg.game, scheme, 0.1, 4))
    cfg = _cfg(scheme, x0=m, chains=16)
    r = schedule.train(cfg, schedule.validate_options({"kind": "fixed"}), iterations=40000)
    assert np.all(r.final_lr == 0.1) and np.all(r.decays == 0)
    last = np.array([ch[-1] for ch in r.checks])  # iteration, lr, Rθ, SEθ, Rω, SEω, R, SE, decided
    for col in (2, 4, 6):
        R, se = last[:, col], last[:, col + 1]
        z = (R.mean() - 1.0) / (R.std(ddof=1) / np.sqrt(len(R)))
        print(scheme, col, R.mean(), np.median(se), R.std(ddof=1))
        assert abs(z) < 3
        # the batch-means standard error is calibrated: it matches the spread across runs
        assert 0.5 < np.median(se) / R.std(ddof=1) < 2.0


def test_fdr_scheduler_waits_for_stationarity_then_halves_the_rate():
    cfg = _cfg(x0=[3.0] * 5)
    o = schedule.validate_options({"kind": "fdr"})
    r = schedule.train(cfg, o, iterations=60000)
    assert np.all(r.decays >= 1)
    for c in range(cfg.chains):
        hist = r.lr_history(c)
        assert hist[0] == (0, 0.1)
        rates = [h[1] for h in hist]
        assert np.allclose(np.array(rates[1:]) / np.array(rates[:-1]), 0.5)
        assert r.final_lr[c] == pytest.approx(rates[-1])
        # a decision needs a window of ≥ min_window iterations with |R − 1| + 2 SE < 0.1
        ch = r.checks[c]
        dec = ch[ch[:, 8] > 0]
        assert np.all(np.abs(dec[:, 6] - 1) + 2 * dec[:, 7] < 0.1)
        assert hist[1][0] >= 2 * o.min_window
    # the recorded rates are the schedule, the cumulative lr its sum
    assert np.all(np.diff(r.lr, axis=1) <= 0)
    assert np.all(np.diff(r.t, axis=1) > 0)
    assert r.t[:, -1] == pytest.approx(r.t[:, -2] + r.lr[:, -2] * (r.iterations[-1] - r.iterations[-2]), rel=0.2)
    assert r.X.shape == (cfg.chains, len(r.iterations), cfg.game.d)


def test_yaida_rule_decays_tenfold_and_baselines_follow_their_formulas():
    cfg = _cfg()
    r = schedule.train(cfg, schedule.validate_options({"kind": "yaida"}), iterations=20000)
    for c in range(cfg.chains):
        rates = [h[1] for h in r.lr_history(c)]
        if len(rates) > 1:
            assert np.allclose(np.array(rates[1:]) / np.array(rates[:-1]), 0.1) or rates[-1] == pytest.approx(1e-4)
    it = 10000
    step = schedule.train(cfg, schedule.validate_options({"kind": "step", "step_every": 2500, "step_factor": 0.5}),
                          iterations=it)
    k = step.iterations[:-1]
    assert np.allclose(step.lr[:, :-1], 0.1 * 0.5 ** (k // 2500))
    inv = schedule.train(cfg, schedule.validate_options({"kind": "inverse-time", "t0": 100.0}), iterations=it)
    assert np.allclose(inv.lr[:, :-1], 0.1 / (1 + k / 100.0))
    assert inv.t[0, -1] == pytest.approx(np.sum(0.1 / (1 + np.arange(it) / 100.0)))


def test_lr_min_is_a_floor():
    cfg = _cfg()
    o = schedule.validate_options({"kind": "yaida", "tolerance": 0.5, "lr_min": 0.02})
    r = schedule.train(cfg, o, iterations=20000)
    assert np.all(r.final_lr >= 0.02) and np.all(r.lr[np.isfinite(r.lr)] >= 0.02)


def test_runs_are_reproducible_and_independent_of_threads():
    cfg = _cfg(chains=4)
    o = schedule.validate_options({"kind": "fdr"})
    default = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = schedule.train(cfg, o, iterations=5000)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = schedule.train(cfg, o, iterations=5000)
    finally:
        numba.set_num_threads(default)
    assert np.array_equal(a.X, b.X, equal_nan=True) and np.array_equal(a.lr, b.lr, equal_nan=True)
    # run c starts where the engine's chain c starts
    from invariant import engine

    e = engine.simulate(make_config(training={"scheme": "alt-d", "lr": 0.1},
                                    simulation={"chains": 4, "seed": 3, "t_end": 20.0, "dynamics": "sga"}))
    assert np.allclose(a.X[:, 0], cfg.x0 + cfg.init_scale * np.array(
        [g.standard_normal(cfg.game.d) for g in engine.run._generators(3, 4)]))
    assert e.X.shape == (4, cfg.game.d)
