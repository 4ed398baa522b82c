"""The joint-action Gymnasium view of a multi-agent id: its scalar reward is an explicit reduction."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rewardlab


@pytest.mark.parametrize("joint_reward", ["sum", "mean"])
def test_joint_reward_reduces_the_agents_rewards(joint_reward):
    env = gym.make("rewardlab/CoopTeamProduction-v0", reward="private", joint_reward=joint_reward)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        action = rng.uniform(env.action_space.low, env.action_space.high).astype(env.action_space.dtype)
        _, reward, _, _, info = env.step(action)
        per_agent = [float(r) for r in info["agent_rewards"]]
        assert len(per_agent) == 4
        total = per_agent[0] + per_agent[1] + per_agent[2] + per_agent[3]
        expected = total if joint_reward == "sum" else total / 4
        assert reward == pytest.approx(expected, rel=1e-12)
    assert f"reward={joint_reward} over agents of private" in str(env)


def test_sum_is_the_default_and_single_agent_ids_say_their_reward():
    env = gym.make("rewardlab/CoopTrustDilemma-v0")
    assert env.unwrapped.joint_reward == "sum"
    assert "joint action of 2 agents, reward=sum over agents of private" in repr(env.unwrapped)
    single = gym.make("rewardlab/DrivingHighway-v0", reward="roach")
    assert repr(single.unwrapped) == "RewardlabEnv<rewardlab/DrivingHighway-v0, reward=roach>"


def test_unknown_joint_reward_names_env_argument_and_choices():
    with pytest.raises(
        rewardlab.RewardlabError,
        match=r"rewardlab/CoopTrustDilemma-v0: unknown joint_reward 'max'; expected one of 'mean', 'sum'",
    ):
        gym.make("rewardlab/CoopTrustDilemma-v0", joint_reward="max")
