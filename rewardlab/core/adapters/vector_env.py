"""A rewardlab simulator as a native Gymnasium ``VectorEnv`` of B instances.

Registered as every id's ``vector_entry_point``::

    envs = gym.make_vec("rewardlab/CoopSLCD-v0", num_envs=1024)

Instance i behaves step for step like ``gym.make(id)`` reset with ``seed + i``. Finished
instances reset in the same step (``AutoresetMode.SAME_STEP``): ``info["final_obs"]`` holds their
last observations and ``info["episode_metrics"]`` their metrics, each with a ``_key`` mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rewardlab.core.adapters.spaces import from_joint, joint_space, to_joint
from rewardlab.core.registry import make_sim
from rewardlab.core.sim import BatchedSim


class RewardlabVectorEnv(VectorEnv):
    def __init__(self, sim: BatchedSim) -> None:
        self.sim = sim
        self.num_envs = sim.num_envs
        self.single_observation_space = joint_space(sim.observation_spaces)
        self.single_action_space = joint_space(sim.action_spaces)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = sim.render_mode
        self.metadata = {
            "render_modes": list(sim.render_modes),
            "render_fps": sim.render_fps,
            "autoreset_mode": AutoresetMode.SAME_STEP,
        }

    @property
    def reward_spec(self):
        return self.sim.reward_spec

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if isinstance(seed, (list, tuple, np.ndarray)):
            raise ValueError(
                f"{self.sim.env_id}: the native vector env takes one integer seed "
                "(instance i is seeded with seed + i), not a list"
            )
        obs = self.sim.reset(seed=seed)
        return to_joint(obs, self.sim.num_agents), {}

    def step(self, actions):
        n = self.sim.num_agents
        sim = self.sim
        actions = from_joint(actions, self.num_envs, n, sim.action_shape, sim.env_id, self.action_space)
        step = sim.step(actions, autoreset=True)
        infos: dict[str, Any] = dict(step.info)
        infos["reward_terms"] = {k: to_joint(v, n) for k, v in step.terms.items()}
        infos["agent_rewards"] = step.reward
        infos["events"] = step.events
        if step.final_obs is not None:
            done = step.done
            infos["final_obs"] = to_joint(step.final_obs, n)
            infos["_final_obs"] = done
            infos["episode_metrics"] = step.episode_metrics
            infos["_episode_metrics"] = done
        rewards = np.add.reduce(step.reward, axis=1)  # step.reward.sum(axis=1) without its wrapper
        return to_joint(step.obs, n), rewards, step.terminated, step.truncated, infos

    def render(self):
        return self.sim.render(0)

    def close_extras(self, **kwargs):
        self.sim.close()


def make_vector_env(num_envs: int, env_id: str, **kwargs: Any) -> RewardlabVectorEnv:
    """Gymnasium vector entry point of every rewardlab id."""
    return RewardlabVectorEnv(make_sim(env_id, num_envs=num_envs, **kwargs))
