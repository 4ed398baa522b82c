"""Every reference game defaults to Coopetition-Gym v1's parameters; the TR-2 update follows its equations.

The table below is written from the reference's sources (Coopetition-Gym v1, Pant and Yu, MIT):
``envs/dyadic_envs.py`` (TrustDilemma, PartnerHoldUp), ``envs/ecosystem_envs.py``
(PlatformEcosystem, DynamicPartnerSelection), ``envs/benchmark_envs.py`` (RecoveryRace,
SynergySearch), ``envs/case_study_envs.py`` and ``core/interdependence.py`` (SLCD,
RenaultNissan), ``envs/extended_envs.py`` (CooperativeNegotiation, ReputationMarket),
``envs/collective_action_envs.py`` (the TR-3 games) and ``envs/reciprocity_envs.py`` (the TR-4
games). ``tools/compare_coopetition.py`` checks the payoffs themselves against the reference
when it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab
from rewardlab.envs.coopetition import SHARP_CALIBRATION, renault_nissan_phase, sharp_calibration
from rewardlab.envs.coopetition.payoff import trust_update

# id: (endowments, horizon, theta, gamma, alpha, D as (value off the diagonal) or full matrix)
TR1_TR2_TR4 = {
    "PartnerHoldUp": ((120, 80), 100, 20.0, 0.60, (0.6, 0.4), ((0, 0.35), (0.85, 0))),
    "PlatformEcosystem": ((150, 80, 80, 80, 80), 100, 25.0, 0.75, (0.30, 0.175, 0.175, 0.175, 0.175),
                          ((0, .25, .25, .25, .25), (.75, 0, 0, 0, 0), (.75, 0, 0, 0, 0), (.75, 0, 0, 0, 0),
                           (.75, 0, 0, 0, 0))),
    "DynamicPartnerSelection": ((100,) * 6, 50, 18.0, 0.55, (1 / 6,) * 6, 0.40),
    "RenaultNissan": ((90, 100), 100, 22.0, 0.58, (0.48, 0.52), ((0, 0.51), (0.66, 0))),
    "TrustDilemma": ((100, 100), 100, 20.0, 0.70, (0.5, 0.5), 0.60),
    "RecoveryRace": ((100, 100), 150, 20.0, 0.60, (0.5, 0.5), 0.55),
    "SLCD": ((100, 100), 100, 20.0, 0.65, (0.55, 0.45), ((0, 0.64), (0.86, 0))),
    "CooperativeNegotiation": ((100, 100), 100, 20.0, 0.60, (0.5, 0.5), 0.55),
    "ReputationMarket": ((100,) * 5, 100, 18.0, 0.50, (0.2,) * 5, 0.35),
    "ReciprocalDilemma": ((100, 100), 100, 20.0, 0.65, (0.5, 0.5), 0.5),
    "GiftExchange": ((100, 80), 100, 20.0, 0.65, (0.5, 0.5), ((0, 0.4), (0.7, 0))),
    "IndirectReciprocity": ((100,) * 4, 150, 20.0, 0.65, (0.25,) * 4, 0.4),
    "GraduatedSanction": ((100,) * 6, 200, 20.0, 0.65, (1 / 6,) * 6, 0.35),
    "AppleAppStore": ((100, 80, 60), 66, 20.0, 0.65, (1 / 3,) * 3, ((0, .3, .2), (.8, 0, .15), (.85, .1, 0))),
}

# id: (lambda+, lambda-, mu_R, delta_R, xi, T0, R0, baseline as a fraction of the endowment)
TRUST = {
    "RenaultNissan": (0.08, 0.25, 0.55, 0.02, 0.50, 0.70, 0.02, 0.30),
    "TrustDilemma": (0.15, 0.45, 0.50, 0.02, 0.60, 0.50, 0.0, 0.40),
    "RecoveryRace": (0.08, 0.35, 0.70, 0.01, 0.40, 0.25, 0.50, 0.35),
    "SLCD": (0.08, 0.28, 0.50, 0.02, 0.45, 0.65, 0.0, 0.30),
    "CooperativeNegotiation": (0.12, 0.40, 0.65, 0.02, 0.55, 0.50, 0.0, 0.35),
    "ReputationMarket": (0.10, 0.30, 0.55, 0.015, 0.45, 0.50, 0.0, 0.35),
    "ReciprocalDilemma": (0.10, 0.30, 0.60, 0.03, 0.50, 0.50, 0.0, 0.30),
    "GiftExchange": (0.10, 0.30, 0.60, 0.03, 0.50, 0.50, 0.0, 0.30),
    "IndirectReciprocity": (0.10, 0.30, 0.60, 0.03, 0.50, 0.50, 0.0, 0.30),
    "GraduatedSanction": (0.10, 0.30, 0.60, 0.03, 0.50, 0.50, 0.0, 0.40),
    "AppleAppStore": (0.10, 0.30, 0.60, 0.03, 0.50, 0.60, 0.0, 0.30),
}

# id: (window k, rho0, eta, lambda_R, omega)
TR4 = {
    "ReciprocalDilemma": (5, 1.0, 1.0, 1.0, 0.6),
    "GiftExchange": (3, 1.2, 1.5, 1.2, 0.8),
    "IndirectReciprocity": (7, 0.8, 1.0, 1.5, 0.5),
    "GraduatedSanction": (10, 0.6, 1.5, 1.8, 1.0),
    "AppleAppStore": (4, 1.0, 1.2, 1.0, 0.8),
}

# id: (agents, horizon, omega, beta, c, phi_B, phi_C, initial loyalty); effort bound 50, D = .55
TR3 = {
    "TeamProduction": (4, 100, 25.0, 0.7, 1.0, 0.0, 0.0, 0.0),
    "LoyaltyTeam": (4, 100, 25.0, 0.7, 1.0, 0.8, 0.3, 0.5),
    "CoalitionFormation": (6, 150, 25.0, 0.7, 1.0, 0.7, 0.3, 0.5),
    "ApacheProject": (40, 60, 30.0, 0.7, 1.0, 0.75, 0.25, 0.35),  # phase "maturity": loyalty .5 x .70
}


def _d(value, n):
    return np.asarray(value, float) if np.ndim(value) else value * (1.0 - np.eye(n))


@pytest.mark.parametrize("game", list(TR1_TR2_TR4))
def test_value_and_interdependence_parameters_are_the_references(game):
    endowments, horizon, theta, gamma, alpha, d = TR1_TR2_TR4[game]
    p = rewardlab.make_sim(f"rewardlab/Coop{game}-v0").params
    n = len(endowments)
    assert p.bounds == tuple(float(e) for e in endowments) and p.horizon == horizon
    assert p.value_kind == "log" and p.theta == theta and p.gamma == gamma
    assert np.allclose(p.alpha, alpha, atol=1e-12)
    assert np.array_equal(p.interdependence_table()[0], _d(d, n))


def test_synergy_search_draws_the_references_gamma_range():
    p = rewardlab.make_sim("rewardlab/CoopSynergySearch-v0").params
    assert p.gamma_range == (0.2, 0.9) and p.theta == 20.0 and p.bounds == (100.0, 100.0)


@pytest.mark.parametrize("game", list(TRUST))
def test_trust_settings_and_fixed_baselines_are_the_references(game):
    lam_pos, lam_neg, mu_r, delta_r, xi, trust0, reputation0, baseline = TRUST[game]
    sim = rewardlab.make_sim(f"rewardlab/Coop{game}-v0")
    p = sim.params
    assert (p.lambda_pos, p.lambda_neg, p.mu_r, p.delta_r, p.xi) == (lam_pos, lam_neg, mu_r, delta_r, xi)
    assert (p.trust0, p.reputation0, p.trust_baseline) == (trust0, reputation0, baseline)
    assert np.allclose(sim.trust_baseline, baseline * np.asarray(p.bounds))


@pytest.mark.parametrize("game", list(TR4))
def test_reciprocity_parameters_are_the_references(game):
    window, rho0, eta, lambda_r, omega = TR4[game]
    p = rewardlab.make_sim(f"rewardlab/Coop{game}-v0").params
    assert (p.window, p.rho0, p.eta, p.lambda_r, p.omega_r) == (window, rho0, eta, lambda_r, omega)


@pytest.mark.parametrize("game", list(TR3))
def test_team_parameters_are_the_references(game):
    n, horizon, omega, beta, cost, phi_b, phi_c, loyalty0 = TR3[game]
    p = rewardlab.make_sim(f"rewardlab/Coop{game}-v0").params
    assert (p.num_agents, p.horizon, p.omega, p.beta, p.cost) == (n, horizon, omega, beta, cost)
    assert (p.phi_b, p.phi_c, p.loyalty0) == (phi_b, phi_c, loyalty0)
    assert p.bounds == (50.0,) * n and p.num_phases == 1
    assert np.array_equal(p.interdependence_table()[0], 0.55 * (1.0 - np.eye(n)))


def test_public_goods_is_the_references():
    p = rewardlab.make_sim("rewardlab/CoopPublicGoods-v0").params
    assert (p.num_agents, p.endowment, p.multiplier, p.production) == (5, 50.0, 2.0, "linear")
    assert (p.phi_b, p.phi_c) == (0.6, 0.2)


def test_renault_nissan_plays_one_phase_per_episode():
    sim = rewardlab.make_sim("rewardlab/CoopRenaultNissan-v0")
    assert sim.params.num_phases == 1 and sim.agents == ("nissan", "renault")
    crisis = rewardlab.make_sim("rewardlab/CoopRenaultNissan-v0", **renault_nissan_phase("crisis")).params
    assert crisis.interdependence == ((0.0, 0.35), (0.72, 0.0)) and (crisis.trust0, crisis.reputation0) == (0.30, 0.45)


def test_sharp_calibration_is_a_named_alternative():
    """rewardlab's sharper dilemmas stay reachable by name and are not the defaults."""
    for env_id, kwargs in SHARP_CALIBRATION.items():
        default = rewardlab.make_sim(env_id).params
        sharp = rewardlab.make_sim(env_id, **sharp_calibration(env_id)).params
        assert not kwargs or sharp != default, env_id
    trust_dilemma = "rewardlab/CoopTrustDilemma-v0"
    assert rewardlab.make_sim(trust_dilemma, **sharp_calibration(trust_dilemma)).params.gamma == 1.5
    with pytest.raises(ValueError, match="no sharp calibration"):
        sharp_calibration("rewardlab/CoopCournot-v0")


def test_trust_update_follows_tr2_with_the_ceiling_before_the_steps_damage():
    """By hand, one violation and one cooperation step (TR-2: every right-hand side at time t)."""
    off = 1.0 - np.eye(2)
    trust = np.array([[0.0, 0.6], [0.6, 0.0]])
    reputation = np.array([[0.0, 0.3], [0.3, 0.0]])
    d = 0.5 * off
    s = np.array([[0.0, -0.5], [0.8, 0.0]])  # agent 1 defects (s = -.5), agent 0 cooperates (s = .8)
    new_t, new_r = trust_update(trust, reputation, s, 1.0 + 0.5 * d, off, 0.10, 0.30, 0.60, 0.03)
    # 0 watching 1: erosion .30 x .5 x .6 x (1 + .5 x .5) = .1125 -> T = .4875; damage .6 x .5 x .7 = .21
    assert new_t[0, 1] == pytest.approx(0.6 - 0.1125)
    assert new_r[0, 1] == pytest.approx(0.3 + 0.21)
    # 1 watching 0: gain .10 x .8 x (.7 - .6) = .008 -> T = .608 (<= old ceiling .7); decay .03 x .3
    assert new_t[1, 0] == pytest.approx(0.608)
    assert new_r[1, 0] == pytest.approx(0.3 - 0.009)
    # a trust above the new ceiling is kept (clipped to the old ceiling, Theta^t, as the reference does)
    high_t, high_r = trust_update(np.array([[0.0, 0.68], [0.68, 0.0]]), reputation, s, 1.0 + 0.5 * d, off,
                                  0.10, 0.0, 0.60, 0.03)  # lambda- = 0: no erosion
    assert high_r[0, 1] == pytest.approx(0.51) and high_t[0, 1] == pytest.approx(0.68)


def _compare_tool():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "compare_coopetition.py"
    spec = importlib.util.spec_from_file_location("compare_coopetition", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_tool_says_so_and_fails_without_the_reference(monkeypatch, capsys):
    tool = _compare_tool()
    monkeypatch.setattr(tool, "import_reference", lambda: None)
    assert tool.main(["--profiles", "3"]) == 2
    err = capsys.readouterr().err
    assert "Coopetition-Gym v1" in err and "not importable" in err


def test_compare_tool_covers_every_reference_game_and_reads_float32_parameters_back():
    tool = _compare_tool()
    assert len(tool.GAMES) == 20 and set(tool.GAMES) == set(SHARP_CALIBRATION)
    stored = np.array([0.55, 0.175, 0.015, 0.86], dtype=np.float32)  # as the reference stores them
    assert np.float64(stored[0]) != 0.55
    assert tool.exact(stored).tolist() == [0.55, 0.175, 0.015, 0.86]
