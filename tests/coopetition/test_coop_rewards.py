"""Reward modes of the coopetition family: never silently ignored, each recomputed independently."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rewardlab
from rewardlab.core.errors import RewardlabError

COOP_IDS = [s.id for s in rewardlab.all_specs() if s.id.startswith("rewardlab/Coop")]


def _rewards(env_id, reward, steps=15, seed=0):
    env = gym.make(env_id, reward=reward)
    env.reset(seed=seed)
    space = env.action_space
    space.seed(seed)
    out = []
    for _ in range(steps):
        _, _, term, trunc, info = env.step(space.sample())
        out.append(info["agent_rewards"])
        if term or trunc:
            break
    return np.array(out)


def _has_interdependence(sim) -> bool:
    paired = getattr(sim, "_pair_d", False) and sim.params.pair_interdependence > 0
    return bool(np.any(sim.params.interdependence_table() != 0.0) or paired)


@pytest.mark.parametrize("env_id", COOP_IDS)
def test_cooperative_and_integrated_differ_from_private(env_id):
    sim = rewardlab.make_sim(env_id)
    assert _has_interdependence(sim) or env_id.endswith("Cournot-v0")
    private = _rewards(env_id, "private")
    assert not np.allclose(_rewards(env_id, "cooperative"), private)
    if _has_interdependence(sim):
        assert not np.allclose(_rewards(env_id, "integrated"), private)


@pytest.mark.parametrize("env_id", COOP_IDS)
def test_unknown_mode_is_an_error(env_id):
    with pytest.raises(RewardlabError, match="unknown reward preset 'selfish'"):
        gym.make(env_id, reward="selfish")
    with pytest.raises(RewardlabError, match="unknown social mode 'selfish'"):
        gym.make(env_id, reward={"social": "selfish"})


TRUST_IDS = [i for i in COOP_IDS if "trust_integrated" in rewardlab.get_spec(i).load().reward_presets]


@pytest.mark.parametrize("env_id", TRUST_IDS)
def test_trust_integrated_recomputed_from_terms_and_trust(env_id):
    env = gym.make(env_id, reward="trust_integrated")
    sim = env.unwrapped.sim
    env.reset(seed=1)
    space = env.action_space
    space.seed(2)
    payoff = sim.payoff_terms
    trust, rep = sim.trust[0].copy(), sim.reputation[0].copy()
    for _ in range(20):
        _, _, term, trunc, info = env.step(space.sample())
        pi = sum(np.asarray(info["reward_terms"][k]) for k in payoff)
        d = sim.interdependence
        d = d[0] if d.ndim == 3 else d
        n = len(pi)
        t_eff = np.minimum(trust, 1 - rep)
        expected = [pi[i] + sum(t_eff[i, j] * d[i, j] * pi[j] for j in range(n) if j != i) for i in range(n)]
        np.testing.assert_allclose(info["agent_rewards"], expected, rtol=1e-10)
        # TR-2 clips the new trust to the ceiling before this step's damage, 1 - R^t
        assert 0.0 <= info["trust"].min() and np.all(info["trust"] <= 1 - rep + 1e-12)
        trust, rep = info["trust"].copy(), info["reputation"].copy()
        if term or trunc:
            break


def test_trust_integrated_differs_from_integrated_and_private():
    env_id = "rewardlab/CoopSLCD-v0"
    trust = _rewards(env_id, "trust_integrated")
    assert not np.allclose(trust, _rewards(env_id, "integrated"))
    assert not np.allclose(trust, _rewards(env_id, "private"))


def test_extra_presets_add_their_terms():
    env = gym.make("rewardlab/CoopLoyaltyTeam-v0", reward="loyal")
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    t = info["reward_terms"]
    expected = t["endowment"] + t["effort_cost"] + t["team_share"] + t["loyalty_benefit"] + t["loyalty_cost_relief"]
    np.testing.assert_allclose(info["agent_rewards"], expected)
    env = gym.make("rewardlab/CoopReciprocalDilemma-v0", reward="reciprocal")
    env.reset(seed=0)
    for a in ([50.0, 50.0], [60.0, 70.0], [90.0, 20.0]):
        _, _, _, _, info = env.step(np.array(a, dtype=np.float32))
    t = info["reward_terms"]
    pi = t["endowment_kept"] + t["individual_value"] + t["synergy_share"] + t["sanction"]
    np.testing.assert_allclose(info["agent_rewards"], pi + t["reciprocity"])
    assert np.any(t["reciprocity"] != 0.0)


def test_reciprocity_rewards_answering_kindness_with_kindness():
    sim = rewardlab.make_sim("rewardlab/CoopReciprocalDilemma-v0", num_envs=2, reward="reciprocal")
    sim.reset(seed=0)
    for _ in range(5):
        sim.step(np.full((2, 2, 1), 40.0))
    # partner 1 raises its contribution; agent 0 raises too (instance 0) or cuts (instance 1)
    step = sim.step(np.array([[[60.0], [80.0]], [[20.0], [80.0]]]))
    assert step.terms["reciprocity"][0, 0] > 0.0 > step.terms["reciprocity"][1, 0]
    assert step.terms["reciprocity_signal"][0, 0] == pytest.approx(step.terms["reciprocity_signal"][1, 0])


@pytest.mark.parametrize("env_id", ["rewardlab/CoopSLCD-v0", "rewardlab/CoopCoalitionFormation-v0",
                                    "rewardlab/CoopRenaultNissan-v0"])
def test_episode_metrics_are_sums_of_the_step_payoffs(env_id):
    env = gym.make(env_id, reward="cooperative")
    sim = env.unwrapped.sim
    env.reset(seed=0)
    space = env.action_space
    space.seed(0)
    welfare = integrated = coop = 0.0
    steps = 0
    while True:
        action = space.sample()
        _, _, term, trunc, info = env.step(action)
        pi = sum(np.asarray(info["reward_terms"][k]) for k in sim.payoff_terms)
        d = sim.interdependence
        d = d[0] if d.ndim == 3 else d
        welfare += pi.sum()
        integrated += (pi + d @ pi).sum()
        coop += np.mean(np.asarray(action).reshape(-1) / sim.bounds)
        steps += 1
        if term or trunc:
            break
    metrics = info["episode_metrics"]
    assert metrics["welfare"] == pytest.approx(welfare)
    assert metrics["private_return"] == pytest.approx(welfare)
    assert metrics["integrated_return"] == pytest.approx(integrated)
    assert metrics["cooperation_level"] == pytest.approx(coop / steps)
    assert 0.0 < metrics["welfare_pct_optimum"] < 100.0
