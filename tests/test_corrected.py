"""The corrected diffusion of the order-2 SDEs (docs/theory.md §3.6–3.7): config, exact laws,
the engine's chains against the exact chain law, and the ALT-D/ALT-G symmetry."""
import numpy as np
import pytest
from conftest import make_config

from invariant import config, engine, exact, stationary, summary
from invariant.errors import ConfigError

LRS = (0.2, 0.1, 0.05, 0.025)


def _default_game():
    return config.load(None).game


def _tr_rel_error(game, scheme, lr, N, order, correction):
    A, c = exact.drift(game, scheme, order, lr)
    P = exact.stationary(A, c, exact.diffusion(game, lr, N, correction))[1]
    Pd = exact.discrete_stationary(*exact.discrete(game, scheme, lr, N))[1]
    return np.trace(P) / np.trace(Pd) - 1.0, P


def test_diffusion_key_defaults_and_refusals():
    assert config.load(None).scheme.corrected  # the default example: ALT-D, order 2
    assert config.load(None).resolved["simulation"]["diffusion"] == "corrected"
    assert not make_config(training={"scheme": "sml"}).scheme.corrected  # sml: order 1
    assert not make_config(simulation={"diffusion": "plain"}).scheme.corrected
    with pytest.raises(ConfigError) as exc:
        make_config(simulation={"order": 1, "diffusion": "corrected"})
    assert exc.value.field == "simulation.diffusion"
    with pytest.raises(ConfigError) as exc:
        make_config(simulation={"diffusion": "fancy"})
    assert exc.value.field == "simulation.diffusion"


def test_exact_relative_trace_error_is_second_order_only_when_corrected():
    # the bilinear default: tr Cov of each SDE's law against the ALT-D chain's (docs/theory.md §3.5)
    game = _default_game()
    plain = np.array([_tr_rel_error(game, "alt-d", lr, 4, 2, None)[0] for lr in LRS])
    corr = np.array([_tr_rel_error(game, "alt-d", lr, 4, 2, "alt-d")[0] for lr in LRS])
    print("plain", np.round(100 * plain, 3), "corrected", np.round(100 * corr, 3))
    # the figures at lr 0.05 / 0.1 / 0.2: −2.4/−4.7/−9.2 % plain, −0.15/−0.58/−2.3 % corrected
    assert corr[[2, 1, 0]] == pytest.approx([-0.0015, -0.0058, -0.0228], abs=6e-4)
    slope = lambda e: np.polyfit(np.log(LRS[1:]), np.log(np.abs(e[1:])), 1)[0]  # noqa: E731
    assert abs(slope(plain) - 1) < 0.1 and abs(slope(corr) - 2) < 0.15


def test_corrected_alt_d_and_alt_g_share_their_diagonal_blocks_to_second_order():
    # the chains' θθ and ωω blocks are equal (docs/theory.md §3.8); the corrected SDEs differ by O(η²)
    game = _default_game()
    dth = game.d_theta
    gaps = {}
    for corr in (False, True):
        g = []
        for lr in LRS:
            Pd = _tr_rel_error(game, "alt-d", lr, 4, 2, "alt-d" if corr else None)[1]
            Pg = _tr_rel_error(game, "alt-g", lr, 4, 2, "alt-g" if corr else None)[1]
            g.append(max(np.abs(Pd[:dth, :dth] - Pg[:dth, :dth]).max(), np.abs(Pd[dth:, dth:] - Pg[dth:, dth:]).max())
                     / np.abs(Pd).max())
        gaps[corr] = np.array(g)
    slope = lambda e: np.polyfit(np.log(LRS[1:]), np.log(e[1:]), 1)[0]  # noqa: E731
    print({k: np.round(v, 6) for k, v in gaps.items()})
    assert abs(slope(gaps[False]) - 1) < 0.15 and abs(slope(gaps[True]) - 2) < 0.2


@pytest.mark.statistical
@pytest.mark.parametrize("lr", [0.05, 0.1])
def test_simulated_corrected_sde_matches_the_exact_alt_d_chain(lr):
    # the done-criterion of the corrected SDE: tr Cov within its MCSE (z ≤ 3) + 1 % of the chain's
    cfg = config.load(None, {"training.lr": lr, "simulation.chains": 256, "simulation.t_end": 400.0,
                             "simulation.seed": 11})
    r = engine.simulate(cfg)
    m = stationary.moments(r)
    sch = cfg.scheme
    chain = np.trace(exact.discrete_stationary(*exact.discrete(cfg.game, "alt-d", lr, sch.batch_size))[1])
    A, c = exact.drift(cfg.game, "alt-d", 2, lr)
    em = np.trace(exact.discrete_stationary(np.eye(cfg.game.d) + cfg.dt * A, cfg.dt * c,
                                            cfg.dt * exact.diffusion(cfg.game, lr, sch.batch_size, "alt-d"))[1])
    print(f"lr {lr}: simulated tr Cov {m.trace_cov:.5f} ± {m.trace_cov_mcse:.5f}, EM law {em:.5f}, chain {chain:.5f}")
    assert r.n_diverged == 0
    assert abs(m.trace_cov - chain) <= 3 * m.trace_cov_mcse + 0.01 * chain
    assert abs(m.trace_cov - em) <= 4 * m.trace_cov_mcse  # what is simulated, exactly
    run = summary.run_section(r)
    assert run["diffusion"] == "corrected" and run["sde"] == {"scheme": "alt-d", "order": 2, "diffusion": "corrected"}
