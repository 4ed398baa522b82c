"""A rewardlab simulator as a Stable-Baselines3 ``VecEnv`` with one slot per (instance, agent).

SB3 then trains one policy shared by all agents (parameter sharing). Slot ``b * n + i`` is agent
i of instance b. Continuous actions are normalised: the slots act in [-1, 1] and each slot's
action is rescaled to its own agent's bounds (SB3's Gaussian policies explore around 0 with unit
scale, and agents' bounds may differ, e.g. a hub and its suppliers); ``normalize_actions=False``
keeps the raw bounds where all agents share them. With ``agent_id=True`` a one-hot agent index is
appended to each observation so that the shared policy can tell agents apart.

    venv = rewardlab.sb3_vec_env("rewardlab/CommonsHarvest-v0", num_envs=64)
    model = stable_baselines3.PPO("MlpPolicy", venv).learn(100_000)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from rewardlab.core.errors import RewardlabError
from rewardlab.core.registry import make_sim
from rewardlab.core.sim import BatchedSim, as_action_array, squeezed


class RewardlabSB3VecEnv(VecEnv):
    def __init__(self, sim: BatchedSim, agent_id: bool = False, normalize_actions: bool = True) -> None:
        self.sim = sim
        n = sim.num_agents
        self._agent_id = agent_id and n > 1
        obs_space = sim.observation_spaces[0]
        if self._agent_id:
            if len(obs_space.shape) != 1:
                raise ValueError(f"{sim.env_id}: agent_id=True needs flat observations")
            low = np.concatenate([np.min([s.low for s in sim.observation_spaces], axis=0), np.zeros(n)])
            high = np.concatenate([np.max([s.high for s in sim.observation_spaces], axis=0), np.ones(n)])
            obs_space = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        else:
            low = np.min([s.low for s in sim.observation_spaces], axis=0)
            high = np.max([s.high for s in sim.observation_spaces], axis=0)
            obs_space = spaces.Box(low, high, dtype=obs_space.dtype)
        act_space = sim.action_spaces[0]
        is_box = isinstance(act_space, spaces.Box)
        shared_bounds = not is_box or all(
            np.array_equal(s.low, act_space.low) and np.array_equal(s.high, act_space.high)
            for s in sim.action_spaces
        )
        self._rescale = is_box and (normalize_actions or not shared_bounds)
        if self._rescale:
            act_space = spaces.Box(-1.0, 1.0, shape=act_space.shape, dtype=np.float32)
        super().__init__(sim.num_envs * n, obs_space, act_space)
        self.render_mode = sim.render_mode
        self._actions: np.ndarray | None = None
        self._seed: int | None = None
        self._eye = np.eye(n, dtype=np.float32)

    def observation_slots(self, obs: np.ndarray) -> np.ndarray:
        """Simulator observations (k, n, ...) as slot observations (k * n, ...)."""
        flat = obs.reshape(-1, *obs.shape[2:])
        if self._agent_id:
            one_hot = np.tile(self._eye, (obs.shape[0], 1))
            flat = np.concatenate([flat.astype(np.float32), one_hot], axis=1)
        return flat

    def reset(self):
        obs = self.sim.reset(seed=self._seed)
        self._seed = None
        return self.observation_slots(obs)

    def seed(self, seed: int | None = None) -> Sequence[None | int]:
        self._seed = seed
        return [seed] * self.num_envs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def sim_actions(self, slot_actions: np.ndarray) -> np.ndarray:
        """Slot actions (B * n, ...) as simulator actions (B, n, ...), rescaled to agents' bounds."""
        sim = self.sim
        actions = as_action_array(slot_actions, sim.env_id, "VecEnv actions")
        shape = (self.num_envs, *self.action_space.shape)
        if squeezed(actions.shape) != squeezed(shape):  # only axes of length 1 may differ
            raise RewardlabError(
                f"{sim.env_id}: the SB3 VecEnv takes one action per slot (num_envs x num_agents = "
                f"{self.num_envs}), shape {shape}, got shape {actions.shape}"
            )
        actions = actions.reshape(sim.num_envs, sim.num_agents, *sim.action_shape)
        if self._rescale:
            unit = (np.clip(actions, -1.0, 1.0) + 1.0) / 2.0
            actions = sim._box_low + unit * (sim._box_high - sim._box_low)
        return actions

    def step_wait(self):
        sim, n = self.sim, self.sim.num_agents
        step = sim.step(self.sim_actions(self._actions), autoreset=True)
        obs = self.observation_slots(step.obs)
        rewards = step.reward.reshape(-1).astype(np.float32)
        done = step.done
        dones = done if n == 1 else np.repeat(done, n)  # step.done is a fresh array
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for b in np.flatnonzero(done):
            final = self.observation_slots(step.final_obs[b : b + 1])
            metrics = {k: float(v[b]) for k, v in step.episode_metrics.items()}
            for i in range(n):
                slot = b * n + i
                infos[slot]["terminal_observation"] = final[i]
                infos[slot]["TimeLimit.truncated"] = bool(step.truncated[b])
                infos[slot]["episode"] = {"r": float(step.episode_returns[b, i]), "l": int(metrics["length"])}
                infos[slot]["episode_metrics"] = metrics
        return obs, rewards, dones, infos

    def close(self) -> None:
        self.sim.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [self.sim.render(b) for b in range(self.sim.num_envs)]

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self, attr_name, getattr(self.sim, attr_name, None))] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.sim, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        result = getattr(self.sim, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)


def sb3_vec_env(
    env_id: str, num_envs: int = 1, agent_id: bool = False, normalize_actions: bool = True, **kwargs: Any
) -> RewardlabSB3VecEnv:
    """An SB3 VecEnv over ``num_envs`` instances of ``env_id`` (num_envs x n_agents slots)."""
    sim = make_sim(env_id, num_envs=num_envs, **kwargs)
    return RewardlabSB3VecEnv(sim, agent_id=agent_id, normalize_actions=normalize_actions)
