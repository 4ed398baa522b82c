"""PPOConfig.action_repeat: each sampled action is held for k simulator steps, rewards summed."""

from __future__ import annotations

import numpy as np
import pytest
from tracking_sim import TrackingSim

from rewardlab.agents import PPO
from rewardlab.core.errors import RewardlabError
from rewardlab.core.sim import StepOutcome


class RecordingSim(TrackingSim):
    """TrackingSim whose episodes terminate (no time-limit bootstrap) and which records every step."""

    def _setup(self):
        super()._setup()
        self.actions_seen: list[np.ndarray] = []
        self.errors_seen: list[np.ndarray] = []
        self.ended_seen: list[np.ndarray] = []

    def _step(self, actions):
        outcome = super()._step(actions)
        self.actions_seen.append(actions[:, 0].copy())
        self.errors_seen.append(outcome.terms["error"][:, 0].copy())
        self.ended_seen.append(outcome.truncated.copy())
        ended = outcome.truncated
        return StepOutcome(terms=outcome.terms, terminated=ended, truncated=np.zeros_like(ended))


def agent_on(horizon: int, repeat: int, num_envs: int = 3, num_steps: int = 4) -> PPO:
    sim = RecordingSim(num_envs=num_envs, horizon=horizon)
    config = {"num_steps": num_steps, "action_repeat": repeat, "normalize_reward": False}
    return PPO(sim, config, seed=0)


def test_each_action_is_held_and_its_rewards_summed():
    agent = agent_on(horizon=8, repeat=2)
    batch, _, _ = agent._rollout()
    sim = agent.sim
    assert agent.global_step == 3 * 4 * 2 == agent.steps_per_update  # budgets count simulator steps
    actions = np.stack(sim.actions_seen)  # (8 steps, B, 2)
    np.testing.assert_array_equal(actions[0::2], actions[1::2])
    assert not np.array_equal(actions[0], actions[2])  # a new decision every second step
    errors = np.stack(sim.errors_seen)
    expected = -(errors[0::2] + errors[1::2])  # (4 decisions, B)
    np.testing.assert_allclose(batch["rewards"].numpy(), expected, rtol=1e-6)


def test_an_episode_that_ends_inside_a_hold_ends_the_transition_there():
    agent = agent_on(horizon=5, repeat=2)  # ends on step 5, the first step of the third hold
    batch, _, _ = agent._rollout()
    errors = np.stack(agent.sim.errors_seen)
    dones = batch["dones"].numpy()
    np.testing.assert_array_equal(dones[:, 0], [0.0, 0.0, 1.0, 0.0])
    # the third transition holds only step 5; step 6 is the new episode's first step, in no transition
    np.testing.assert_allclose(batch["rewards"].numpy()[2], -errors[4], rtol=1e-6)
    np.testing.assert_allclose(batch["rewards"].numpy()[3], -(errors[6] + errors[7]), rtol=1e-6)


def test_evaluation_holds_the_actions_too():
    agent = agent_on(horizon=6, repeat=3)
    sim = RecordingSim(num_envs=2, horizon=6)
    agent.evaluate_episodes(episodes=2, eval_env=sim)
    actions = np.stack(sim.actions_seen)  # 6 steps
    assert len(actions) == 6
    np.testing.assert_array_equal(actions[0], actions[1])
    np.testing.assert_array_equal(actions[0], actions[2])
    np.testing.assert_array_equal(actions[3], actions[5])
    assert not np.array_equal(actions[2], actions[3])


def test_one_is_the_plain_agent():
    plain = agent_on(horizon=8, repeat=1)
    plain._rollout()
    assert plain.global_step == 3 * 4
    actions = np.stack(plain.sim.actions_seen)
    assert not np.array_equal(actions[0], actions[1])


def test_action_repeat_is_checked_and_the_fast_backend_refuses_it():
    sim = TrackingSim(num_envs=2)
    with pytest.raises(RewardlabError, match="action_repeat"):
        PPO(sim, {"action_repeat": 0}, seed=0)
    with pytest.raises(RewardlabError, match="action_repeat=2"):
        PPO(sim, {"action_repeat": 2, "backend": "fast"}, seed=0)
