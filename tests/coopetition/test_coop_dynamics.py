"""Coopetition payoffs and dynamics checked against independent scalar re-computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rewardlab
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.coopetition import sharp_calibration

COOP_IDS = [s.id for s in rewardlab.all_specs() if s.id.startswith("rewardlab/Coop")]


def _random_actions(sim, rng):
    return rng.uniform(0.0, 1.0, (sim.num_envs, sim.num_agents, 1)) * sim.bounds[None, :, None]


def test_twenty_one_ids_registered():
    assert len(COOP_IDS) == 21
    names = {i.split("/")[1][4:-3] for i in COOP_IDS}
    assert {"SLCD", "RenaultNissan", "ApacheProject", "AppleAppStore", "Cournot", "PublicGoods"} <= names


def test_slcd_payoff_matches_scalar_formula():
    sim = rewardlab.make_sim("rewardlab/CoopSLCD-v0", num_envs=5)
    sim.reset(seed=0)
    a = _random_actions(sim, np.random.default_rng(0))
    step = sim.step(a)
    theta, gamma, alpha = 20.0, 0.65, (0.55, 0.45)
    for b in range(5):
        x = a[b, :, 0]
        synergy = math.sqrt(x[0] * x[1])
        for i in range(2):
            assert step.terms["endowment_kept"][b, i] == pytest.approx(100.0 - x[i])
            assert step.terms["individual_value"][b, i] == pytest.approx(theta * math.log(1 + x[i]))
            assert step.terms["synergy_share"][b, i] == pytest.approx(alpha[i] * gamma * synergy)


def test_power_individual_value_override():
    """value_kind="power" (f(a) = a ** value_beta, the reference's alternative; docs/coopetition.md
    recommends it for a sharper dilemma) reaches the step's terms and the stage game."""
    sim = rewardlab.make_sim("rewardlab/CoopTrustDilemma-v0", num_envs=3, value_kind="power")
    sim.reset(seed=0)
    a = _random_actions(sim, np.random.default_rng(5))
    step = sim.step(a)
    np.testing.assert_allclose(step.terms["individual_value"], a[:, :, 0] ** 0.75, rtol=1e-12)
    game = sim.stage_game(0)
    np.testing.assert_allclose(game.terms(a[:, :, 0])["individual_value"], a[:, :, 0] ** 0.75, rtol=1e-12)


def test_group_synergy_is_geometric_mean_and_zero_if_anyone_invests_nothing():
    sim = rewardlab.make_sim("rewardlab/CoopPlatformEcosystem-v0", num_envs=2)
    sim.reset(seed=0)
    a = np.array([[10.0, 20.0, 30.0, 40.0, 50.0], [10.0, 0.0, 30.0, 40.0, 50.0]])[:, :, None]
    step = sim.step(a)
    g = (10 * 20 * 30 * 40 * 50) ** (1 / 5)
    np.testing.assert_allclose(step.terms["synergy_share"][0], np.array([0.30, 0.175, 0.175, 0.175, 0.175]) * 0.75 * g)
    np.testing.assert_array_equal(step.terms["synergy_share"][1], 0.0)


def _scalar_trust_step(T, R, s, D, lp=0.10, ln=0.30, mu=0.60, dr=0.03, xi=0.5):
    """The TR-2 rules of facts.md, one (i, j) pair at a time."""
    n = len(s)
    T2, R2 = np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            sj = s[j]
            if sj > 0:
                dT = lp * sj * max(0.0, min(1 - T[i, j], (1 - R[i, j]) - T[i, j]))
                dR = -dr * R[i, j]
            elif sj < 0:
                dT = ln * sj * T[i, j] * (1 + xi * D[i, j])
                dR = mu * abs(sj) * (1 - R[i, j])
            else:
                dT, dR = 0.0, -dr * R[i, j]
            R2[i, j] = R[i, j] + dR
            T2[i, j] = min(max(T[i, j] + dT, 0.0), 1 - R[i, j])  # TR-2: the ceiling at time t
    return T2, R2


def test_trust_dynamics_match_the_scalar_rules():
    env_id = "rewardlab/CoopReputationMarket-v0"
    sim = rewardlab.make_sim(env_id, **sharp_calibration(env_id), num_envs=3)
    sim.reset(seed=0)
    rng = np.random.default_rng(1)
    D = np.asarray(sim.params.interdependence)
    for _ in range(12):
        T, R = sim.trust.copy(), sim.reputation.copy()
        a = _random_actions(sim, rng)
        sim.step(a)
        for b in range(3):
            s = np.tanh(3.0 * (a[b, :, 0] - sim.trust_baseline) / sim.bounds)
            T2, R2 = _scalar_trust_step(T[b], R[b], s, D)
            np.testing.assert_allclose(sim.trust[b], T2, atol=1e-12)
            np.testing.assert_allclose(sim.reputation[b], R2, atol=1e-12)


def test_trust_signal_is_normalised_by_the_endowment():
    """A constant action 5 below the baseline erodes trust gradually instead of collapsing it."""
    env_id = "rewardlab/CoopTrustDilemma-v0"
    sim = rewardlab.make_sim(env_id, **{**sharp_calibration(env_id), "trust_baseline": 0.3})
    sim.reset(seed=0)
    np.testing.assert_array_equal(sim.trust_baseline, [30.0, 30.0])
    below = np.full((1, 2, 1), 0.3 * 100.0 - 5.0)
    for _ in range(3):
        sim.step(below)
    assert sim.trust[0, 0, 1] == pytest.approx(0.5 * (1 - 0.3 * math.tanh(0.15) * 1.25) ** 3)  # 0.42
    raw = 0.5  # the reference: kappa = 1 on raw units, tanh(-5) ~ -1
    for _ in range(3):
        raw += 0.30 * math.tanh(-5.0) * raw * (1 + 0.5 * 0.5)
    assert raw < 0.13


def test_default_trust_baseline_is_the_private_nash_action():
    from rewardlab.baselines.coopetition import nash_equilibrium

    sim = rewardlab.make_sim("rewardlab/CoopSLCD-v0", **sharp_calibration("rewardlab/CoopSLCD-v0"))
    nash = nash_equilibrium(sim.stage_game(0), "private").actions
    np.testing.assert_allclose(sim.trust_baseline, nash)
    sim.reset(seed=0)
    trust0 = sim.trust[0, 0, 1]
    sim.step((nash + 5.0)[None, :, None])
    assert sim.trust[0, 0, 1] > trust0  # investing above the selfish level builds trust
    with pytest.raises(RewardlabError, match="trust_baseline"):
        rewardlab.make_sim("rewardlab/CoopSLCD-v0", trust_baseline="median")


def test_recovery_race_terminates_when_trust_recovered():
    sim = rewardlab.make_sim("rewardlab/CoopRecoveryRace-v0", **sharp_calibration("rewardlab/CoopRecoveryRace-v0"))
    sim.reset(seed=0)
    full = np.full((1, 2, 1), 100.0)
    for _ in range(150):
        step = sim.step(full)
        if step.terminated[0]:
            break
    assert step.terminated[0] and not step.truncated[0]
    assert np.all(sim.trust[0][~np.eye(2, dtype=bool)] >= 0.9)
    assert 20 < sim.t[0] < 150  # reputation must first decay below 0.1 (0.5 * 0.97^t)


def test_renault_nissan_interdependence_follows_the_phases():
    sim = rewardlab.make_sim("rewardlab/CoopRenaultNissan-v0", **sharp_calibration("rewardlab/CoopRenaultNissan-v0"))
    sim.reset(seed=0)
    seen = []
    for _ in range(100):
        sim.step(np.full((1, 2, 1), 50.0))
        d = sim.interdependence
        seen.append((d[0, 1], d[1, 0]))  # (nissan on renault, renault on nissan)
    assert seen[0] == (0.78, 0.66) and seen[24] == (0.78, 0.66)
    assert seen[25] == (0.51, 0.66) and seen[50] == (0.35, 0.72) and seen[99] == (0.28, 0.65)


@pytest.mark.parametrize("env_id", ["rewardlab/CoopAppleAppStore-v0", "rewardlab/CoopRenaultNissan-v0"])
def test_vector_env_with_instances_in_different_phases_matches_single_envs(env_id):
    """Masked resets put instances in different phases (alpha, D per instance); must match."""
    sim = rewardlab.make_sim(env_id, num_envs=2, reward="integrated", **sharp_calibration(env_id))
    singles = [rewardlab.make_sim(env_id, reward="integrated", **sharp_calibration(env_id)) for _ in range(2)]
    sim.reset(seed=3)
    for i, s in enumerate(singles):
        s.reset(seed=3 + i)
    rng = np.random.default_rng(0)
    for t in range(60):
        a = _random_actions(sim, rng)
        step = sim.step(a)
        for i, s in enumerate(singles):
            single = s.step(a[i : i + 1])
            np.testing.assert_allclose(step.reward[i], single.reward[0], rtol=1e-12)
            np.testing.assert_array_equal(step.obs[i], single.obs[0])
        if t == 19:  # restart instance 0 only: from now on it is 20 steps behind instance 1
            sim.reset(seed=50, mask=np.array([True, False]))
            singles[0].reset(seed=50)
    assert sim.phase[0] != sim.phase[1]
    if env_id.endswith("RenaultNissan-v0"):
        assert sim.interdependence.ndim == 3


def test_apache_phases_activate_contributors_and_mask_the_rest():
    sim = rewardlab.make_sim("rewardlab/CoopApacheProject-v0", **sharp_calibration("rewardlab/CoopApacheProject-v0"))
    sim.reset(seed=0)
    counts = []
    for _ in range(60):
        step = sim.step(np.full((1, 40, 1), 25.0))
        counts.append(int(sim.active[0].sum()))
        inactive = ~sim.active[0]
        for term in step.terms.values():
            assert np.all(term[0, inactive] == 0.0)
    assert counts[0] == 8 and counts[15] == 15 and counts[30] == 40 and counts[59] == 35
    d = sim.interdependence
    assert d[0, 1] == 0.3 and d[0, 39] == 0.0  # contributor 39 left in the last phase


def test_team_production_formula():
    sim = rewardlab.make_sim("rewardlab/CoopLoyaltyTeam-v0")
    sim.reset(seed=0)
    a = np.array([[10.0, 20.0, 30.0, 40.0]])
    step = sim.step(a[:, :, None])
    q = 25.0 * 100.0**0.7
    pi = q / 4 - a[0]
    np.testing.assert_allclose(step.terms["team_share"][0], q / 4)
    np.testing.assert_allclose(step.terms["effort_cost"][0], -a[0])
    for i in range(4):
        others = np.delete(pi, i).mean()
        assert step.terms["loyalty_benefit"][0, i] == pytest.approx(0.5 * 0.8 * others)
        assert step.terms["loyalty_cost_relief"][0, i] == pytest.approx(0.5 * 0.3 * a[0, i])
    # loyalty moves toward the others' mean effort fraction
    expected = 0.5 + 0.05 * (np.array([(100 - x) / 3 / 50 for x in a[0]]) - 0.5)
    np.testing.assert_allclose(sim.loyalty[0], expected)


def test_reciprocity_signal_uses_the_mean_of_the_last_k_actions():
    sim = rewardlab.make_sim("rewardlab/CoopReciprocalDilemma-v0")
    sim.reset(seed=0)
    rng = np.random.default_rng(3)
    history = []
    for _ in range(12):
        a = _random_actions(sim, rng)
        step = sim.step(a)
        x = a[0, :, 0]
        if history:
            past = np.array(history[-5:])
            expected_phi = np.tanh(3.0 * (x - past.mean(axis=0)) / 100.0)
        else:
            expected_phi = np.zeros(2)
        np.testing.assert_allclose(step.info["kindness"][0], expected_phi, atol=1e-12)
        history.append(x)


def test_graduated_sanctions_escalate_and_forgive():
    sim = rewardlab.make_sim("rewardlab/CoopGraduatedSanction-v0")
    sim.reset(seed=0)
    low = np.full((1, 6, 1), 50.0)
    low[0, 0, 0] = 5.0  # agent 0 violates the norm (25 % of 100)
    fines = [float(-sim.step(low).terms["sanction"][0, 0]) for _ in range(6)]
    assert fines == [5.0, 10.0, 15.0, 20.0, 20.0, 20.0]
    ok = np.full((1, 6, 1), 50.0)
    step = sim.step(ok)
    assert step.terms["sanction"][0, 0] == 0.0 and sim.sanction_level[0, 0] == 3.5


def test_cournot_profit():
    sim = rewardlab.make_sim("rewardlab/CoopCournot-v0")
    sim.reset(seed=0)
    step = sim.step(np.array([[[10.0], [20.0], [30.0]]]))
    price = 100 - 60
    np.testing.assert_allclose(step.terms["revenue"][0] + step.terms["production_cost"][0],
                               np.array([10, 20, 30]) * (price - 10))


RANDOM_STATE_IDS = ("rewardlab/CoopSynergySearch-v0", "rewardlab/CoopIndirectReciprocity-v0")


@pytest.mark.parametrize("env_id", [i for i in COOP_IDS if i not in RANDOM_STATE_IDS])
def test_step_terms_equal_stage_game_terms_on_the_first_step(env_id):
    """The oracles' one-shot game uses the same formulas as the step."""
    sim = rewardlab.make_sim(env_id, num_envs=4)
    sim.reset(seed=0)
    a = _random_actions(sim, np.random.default_rng(0))
    step = sim.step(a)
    game = sim.stage_game(0)
    expected = game.terms(a[:, :, 0])
    for name in game.payoff_terms:
        np.testing.assert_allclose(step.terms[name], expected[name], rtol=1e-12, atol=1e-12)


def test_stage_game_with_the_drawn_gamma_matches_the_step():
    sim = rewardlab.make_sim("rewardlab/CoopSynergySearch-v0", num_envs=4)
    sim.reset(seed=0)
    a = _random_actions(sim, np.random.default_rng(0))
    step = sim.step(a)
    for b in range(4):
        expected = sim.stage_game(0, gamma=float(sim.gamma[b])).terms(a[b, :, 0])
        np.testing.assert_allclose(step.terms["synergy_share"][b], expected["synergy_share"], rtol=1e-12)


def test_random_pairs_share_pairwise_synergy():
    env_id = "rewardlab/CoopIndirectReciprocity-v0"
    sim = rewardlab.make_sim(env_id, **sharp_calibration(env_id), num_envs=3)
    sim.reset(seed=0)
    a = _random_actions(sim, np.random.default_rng(0))
    step = sim.step(a)
    for b in range(3):
        partner = sim.partner[b]
        assert np.all(partner != np.arange(4)) and np.all(partner[partner] == np.arange(4))
        for i in range(4):
            expected = 0.5 * 1.5 * math.sqrt(a[b, i, 0] * a[b, partner[i], 0])
            assert step.terms["synergy_share"][b, i] == pytest.approx(expected)


@pytest.mark.parametrize("env_id", ["rewardlab/CoopSynergySearch-v0", "rewardlab/CoopIndirectReciprocity-v0"])
def test_random_games_depend_on_the_seed(env_id):
    def rollout(seed):
        sim = rewardlab.make_sim(env_id)
        sim.reset(seed=seed)
        a = np.full((1, sim.num_agents, 1), 40.0)
        a[0, 0, 0] = 80.0
        return np.array([sim.step(a).reward for _ in range(10)])

    assert np.array_equal(rollout(1), rollout(1))
    assert not np.array_equal(rollout(1), rollout(2))


def test_hidden_gamma_is_drawn_per_episode_in_range():
    sim = rewardlab.make_sim("rewardlab/CoopSynergySearch-v0", num_envs=200)
    sim.reset(seed=0)
    assert 0.2 <= sim.gamma.min() < 0.3 and 0.8 < sim.gamma.max() < 0.9


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"bounds": (10.0, -1.0)}, "bounds"),
        ({"alpha": (0.9, 0.9)}, "alpha"),
        ({"interdependence": ((0.0, 1.0),)}, "interdependence"),
        ({"kappa": -1.0}, "kappa"),
        ({"phase_starts": (0, 500)}, "phase_starts"),
        ({"matching": "speed-dating"}, "matching"),
        ({"gamma": "high"}, "gamma must be a finite number"),
        ({"lambda_pos": None}, "lambda_pos must be a finite number"),
        ({"interdependence": "strong"}, "interdependence must be a 2x2 matrix of finite numbers"),
        ({"phase_starts": (0, 50.5)}, "phase_starts must be a sequence of integers"),
        ({"agent_names": "ab"}, "agent_names must be a sequence of 2 distinct names"),
        ({"observe_others": "no"}, "observe_others must be True or False"),
    ],
)
def test_bad_parameters_name_the_env_and_the_argument(kwargs, argument):
    with pytest.raises(RewardlabError, match=rf"CoopTrustDilemma-v0.*{argument}"):
        rewardlab.make_sim("rewardlab/CoopTrustDilemma-v0", **kwargs)


def test_apache_bad_phase_counts():
    with pytest.raises(RewardlabError, match="CoopApacheProject-v0.*active_phases"):
        rewardlab.make_sim("rewardlab/CoopApacheProject-v0", active_phases=(8, 15, 41, 35))


def test_observe_others_false_hides_the_others_actions():
    sim = rewardlab.make_sim("rewardlab/CoopPublicGoods-v0", observe_others=False)
    sim.reset(seed=0)
    obs = sim.step(np.full((1, 5, 1), 25.0)).obs
    assert np.all(obs[0, :, 1:5] == 0.0) and np.all(obs[0, :, 0] == 0.5)


def test_aec_later_movers_see_earlier_moves():
    env = rewardlab.aec_env("rewardlab/CoopGiftExchange-v0")
    env.reset(seed=0)
    assert env.agent_selection == "employer"
    first = env.observe("worker").copy()
    env.step(np.array([60.0], dtype=np.float32))
    assert env.agent_selection == "worker"
    seen = env.observe("worker")
    col = 2 + 1  # own, other, t
    assert first[col] == 0.0 and first[col + 1] == 0.0
    assert seen[col] == pytest.approx(0.6) and seen[col + 1] == 1.0
    env.step(np.array([40.0], dtype=np.float32))
    assert env.observe("employer")[col + 1] == 0.0  # a new round: nobody has moved yet
