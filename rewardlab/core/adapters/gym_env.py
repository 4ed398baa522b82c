"""A rewardlab simulator as a single Gymnasium ``Env`` (B = 1).

Multi-agent simulators take the joint action: observations (n, *obs_shape), actions
(n, *action_shape) (MultiDiscrete for n Discrete agents), and the reward is the sum of the
agents' rewards. Each agent's reward is in ``info["agent_rewards"]`` and every raw term in
``info["reward_terms"]``. When an episode ends, ``info["episode_metrics"]`` holds the family's
metrics for it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rewardlab.core.adapters.spaces import from_joint, joint_space, to_joint
from rewardlab.core.registry import make_sim
from rewardlab.core.sim import BatchedSim, Step


def step_info(step: Step, index: int, num_agents: int) -> dict[str, Any]:
    """The info dict of instance ``index``: per-agent arrays (n,), scalars for one agent."""

    def per_agent(values: np.ndarray) -> np.ndarray | float:
        row = values[index]
        return float(row[0]) if num_agents == 1 else row.copy()

    info: dict[str, Any] = {k: np.asarray(v[index]).copy() for k, v in step.info.items()}
    info["reward_terms"] = {k: per_agent(v) for k, v in step.terms.items()}
    info["reward_terms"]["reward"] = per_agent(step.reward)
    info["agent_rewards"] = step.reward[index].copy()
    info["events"] = {k: bool(v[index]) for k, v in step.events.items()}
    if step.episode_metrics is not None and step.done[index]:
        info["episode_metrics"] = {k: float(v[index]) for k, v in step.episode_metrics.items()}
    return info


class RewardlabEnv(gym.Env):
    """Gymnasium view of one simulator instance. Build it with ``gym.make("rewardlab/...")``."""

    def __init__(self, sim: BatchedSim) -> None:
        if sim.num_envs != 1:
            raise ValueError("RewardlabEnv wraps a simulator with num_envs=1")
        self.sim = sim
        self.observation_space = joint_space(sim.observation_spaces)
        self.action_space = joint_space(sim.action_spaces)
        self.render_mode = sim.render_mode
        self.metadata = {"render_modes": list(sim.render_modes), "render_fps": sim.render_fps}

    @property
    def reward_spec(self):
        return self.sim.reward_spec

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        obs = self.sim.reset(seed=seed)
        return to_joint(obs, self.sim.num_agents)[0], {}

    def step(self, action):
        actions = from_joint(np.asarray(action)[None], 1, self.sim.num_agents, self.sim.action_shape)
        step = self.sim.step(actions)
        obs = to_joint(step.obs, self.sim.num_agents)[0]
        reward = float(step.reward[0].sum())
        info = step_info(step, 0, self.sim.num_agents)
        return obs, reward, bool(step.terminated[0]), bool(step.truncated[0]), info

    def render(self):
        return self.sim.render(0)

    def close(self):
        self.sim.close()


def make_env(env_id: str, **kwargs: Any) -> RewardlabEnv:
    """Gymnasium entry point of every rewardlab id."""
    return RewardlabEnv(make_sim(env_id, num_envs=1, **kwargs))
