"""Optimisers as the user meets them (docs/theory.md §4b): config validation, runs with a
state that resumes bit-identically, the summary's record of them."""
import json

import numpy as np
import pytest
from conftest import kill_after_checkpoints, make_config

from invariant import config, engine, summary
from invariant.errors import ConfigError

SGA = {"dynamics": "sga", "chains": 8, "t_end": 30.0, "t_burn": 3.0, "seed": 5}


@pytest.mark.parametrize("training,field", [
    ({"optimizer": "lion"}, "training.optimizer"),
    ({"optimizer": "adam", "momentum": 0.9}, "training.momentum"),
    ({"optimizer": "momentum", "momentum": 1.0}, "training.momentum"),
    ({"optimizer": "adam", "beta2": 0.0}, "training.beta2"),
    ({"optimizer": "adam", "eps": 0.0}, "training.eps"),
    ({"optimizer": "extragradient", "scheme": "alt-d"}, "training.scheme"),
    ({"n_critic": 5, "scheme": "sml"}, "training.n_critic"),
    ({"lr_ratio": 0.0}, "training.lr_ratio"),
    ({"optimizer": "consensus", "scheme": "sml", "consensus": -1.0}, "training.consensus"),
])
def test_bad_optimizer_keys_name_the_field(training, field):
    with pytest.raises(ConfigError) as e:
        make_config(training=training, simulation={"dynamics": "sga"})
    assert e.value.field == field


@pytest.mark.parametrize("training,order,field", [
    ({"optimizer": "adam"}, 1, "simulation.dynamics"),
    ({"optimizer": "momentum"}, 2, "simulation.order"),
])
def test_sdes_that_do_not_exist_are_refused(training, order, field):
    with pytest.raises(ConfigError) as e:
        make_config(training=training, simulation={"dynamics": "sde", "order": order})
    assert e.value.field == field


def test_the_scheduler_refuses_other_optimizers():
    with pytest.raises(ConfigError) as e:
        make_config(training={"optimizer": "momentum", "schedule": {"kind": "yaida"}})
    assert e.value.field == "training.schedule"


def test_defaults_and_the_record_of_a_run():
    cfg = make_config(training={"optimizer": "momentum", "momentum": 0.75}, simulation=SGA)
    assert cfg.scheme.order == 1  # momentum's SDE has order 1 only
    assert cfg.step_time == pytest.approx(0.05 / 0.25)  # the effective learning rate
    assert cfg.resolved["training"]["optimizer"] == "momentum"
    assert cfg.resolved["training"]["momentum"] == 0.75
    assert "beta1" not in cfg.resolved["training"]
    assert config.from_dict(json.loads(json.dumps(cfg.resolved))).resolved == cfg.resolved


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "momentum", "optimistic"])
def test_runs_with_a_state_resume_bit_identically(optimizer, tmp_path, monkeypatch):
    scheme = "sml" if optimizer == "optimistic" else "alt-d"
    cfg = make_config(training={"optimizer": optimizer, "scheme": scheme}, simulation={**SGA, "chunks": 6})
    full = engine.simulate(cfg, tmp_path / "full")
    assert full.opt_state.shape == (8, cfg.scheme.optimizer.state_size(cfg.game.d))
    assert np.abs(full.opt_state).max() > 0
    undo = kill_after_checkpoints(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        engine.simulate(cfg, tmp_path / "killed")
    undo()
    assert 0 < engine.load(tmp_path / "killed").steps_done < full.steps_done
    resumed = engine.resume(tmp_path / "killed")
    for name in ("X", "opt_state", "acc_s1", "acc_s2", "acc_obs", "draws", "status"):
        assert np.array_equal(getattr(full, name), getattr(resumed, name), equal_nan=True), name


def test_summary_records_the_optimizer_and_skips_the_fdrs():
    cfg = make_config(training={"optimizer": "extragradient", "scheme": "sml", "lr_ratio": 2.0}, simulation=SGA)
    r = engine.simulate(cfg)
    assert summary.run_section(r)["optimizer"] == {"optimizer": "extragradient", "lr_ratio": 2.0, "n_critic": 1}
    assert "skipped" in summary.fdr_section(r)
