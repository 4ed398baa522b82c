"""A rewardlab simulator as a single Gymnasium ``Env`` (B = 1).

Multi-agent simulators take the joint action: observations (n, *obs_shape), actions
(n, *action_shape) (MultiDiscrete for n Discrete agents), and one scalar reward that reduces the
agents' rewards as ``joint_reward`` says: ``"sum"`` (the default) or ``"mean"``. Whatever the
reward preset, a single-agent learner on this view is then one controller of all agents trained
on the team's summed (or averaged) reward; to train each agent on its own reward use the
PettingZoo views or ``rewardlab.sb3_vec_env`` (one slot per agent). The reduction is in the
env's ``repr``. Each agent's reward is in ``info["agent_rewards"]`` and every raw term in
``info["reward_terms"]``. When an episode ends, ``info["episode_metrics"]`` holds the family's
metrics for it.

    env = gym.make("rewardlab/CoopTrustDilemma-v0", reward="private", joint_reward="mean")
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rewardlab.core.adapters.spaces import joint_space, single_action, to_joint
from rewardlab.core.errors import RewardlabError, choices
from rewardlab.core.registry import make_sim
from rewardlab.core.sim import BatchedSim, Step


def step_info(step: Step, index: int, num_agents: int) -> dict[str, Any]:
    """The info dict of instance ``index``: per-agent arrays (n,), scalars for one agent."""
    info: dict[str, Any] = {key: np.array(values[index]) for key, values in step.info.items()}
    reward = step.reward
    if num_agents == 1:
        terms = {key: float(values[index, 0]) for key, values in step.terms.items()}
        terms["reward"] = float(reward[index, 0])
    else:
        terms = {key: values[index].copy() for key, values in step.terms.items()}
        terms["reward"] = reward[index].copy()
    info["reward_terms"] = terms
    info["agent_rewards"] = reward[index].copy()
    info["events"] = {key: bool(values[index]) for key, values in step.events.items()}
    if step.episode_metrics is not None and step.done[index]:
        info["episode_metrics"] = {k: float(v[index]) for k, v in step.episode_metrics.items()}
    return info


#: reductions of a multi-agent step's rewards to the joint-action env's scalar reward
JOINT_REWARDS = ("sum", "mean")


class RewardlabEnv(gym.Env):
    """Gymnasium view of one simulator instance. Build it with ``gym.make("rewardlab/...")``."""

    _ended = False  # the episode ended and reset() has not been called since

    joint_reward = "sum"  # how a multi-agent step's rewards become the scalar reward

    def __init__(self, sim: BatchedSim, joint_reward: str = "sum") -> None:
        if sim.num_envs != 1:
            raise ValueError("RewardlabEnv wraps a simulator with num_envs=1")
        if joint_reward not in JOINT_REWARDS:
            raise RewardlabError(
                f"{sim.env_id}: unknown joint_reward {joint_reward!r}; expected one of {choices(JOINT_REWARDS)} "
                "(the reduction of the agents' rewards to the joint-action env's scalar reward)"
            )
        self.sim = sim
        self.joint_reward = joint_reward
        self.observation_space = joint_space(sim.observation_spaces)
        self.action_space = joint_space(sim.action_spaces)
        self.render_mode = sim.render_mode
        self.metadata = {"render_modes": list(sim.render_modes), "render_fps": sim.render_fps}
        # an action of the joint shape is reshaped straight to the simulator's (1, n, *shape)
        self._joint_action_shape = self.action_space.shape
        self._sim_action_shape = (1, sim.num_agents, *sim.action_shape)

    @property
    def reward_spec(self):
        return self.sim.reward_spec

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        obs = self.sim.reset(seed=seed)
        self._ended = False
        return to_joint(obs, self.sim.num_agents)[0], {}

    def step(self, action):
        sim = self.sim
        n = sim.num_agents
        if self._ended:  # families index per-step tables by time: one step more would overrun them
            raise RewardlabError(f"{sim.env_id}: step() after the episode ended; call reset()")
        if type(action) is np.ndarray and action.shape == self._joint_action_shape:
            actions = action.reshape(self._sim_action_shape)
        else:  # other shapes (only axes of length 1 may differ) and lists, reported as given
            actions = single_action(action, self.action_space, self._sim_action_shape, sim.env_id)
        step = sim.step(actions)
        obs = step.obs[0, 0] if n == 1 else step.obs[0]
        reward = float(step.reward[0].sum())
        if self.joint_reward == "mean":
            reward /= n
        info = step_info(step, 0, n)
        terminated, truncated = bool(step.terminated[0]), bool(step.truncated[0])
        self._ended = terminated or truncated
        return obs, reward, terminated, truncated, info

    def __repr__(self) -> str:
        sim = self.sim
        reward = getattr(getattr(sim, "reward_spec", None), "name", None) or "default"
        if sim.num_agents == 1:
            return f"RewardlabEnv<{sim.env_id}, reward={reward}>"
        return (f"RewardlabEnv<{sim.env_id}, joint action of {sim.num_agents} agents, "
                f"reward={self.joint_reward} over agents of {reward}>")

    def __str__(self) -> str:  # Gymnasium's wrappers print <Wrapper<str(env)>>
        return f"<{self!r}>"

    def render(self):
        return self.sim.render(0)

    def close(self):
        self.sim.close()


def make_env(env_id: str, joint_reward: str = "sum", **kwargs: Any) -> RewardlabEnv:
    """Gymnasium entry point of every rewardlab id (``joint_reward``: see the module docstring)."""
    return RewardlabEnv(make_sim(env_id, num_envs=1, **kwargs), joint_reward=joint_reward)
