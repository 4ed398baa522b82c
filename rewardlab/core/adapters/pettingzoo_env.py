"""A rewardlab simulator as a PettingZoo ``ParallelEnv`` or ``AECEnv`` (B = 1).

    env = rewardlab.parallel_env("rewardlab/CoopTrustDilemma-v0", reward="integrated")
    env = rewardlab.aec_env("rewardlab/CoopTrustDilemma-v0")

All agents of an instance start and end their episodes together. In AEC play the agents move
in ``possible_agents`` order and the round is simulated once the last one has moved; in a
sequential game (``BatchedSim.sequential``) later movers observe the actions committed earlier
in the round.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import AgentSelector

from rewardlab.core.adapters.gym_env import step_info
from rewardlab.core.errors import RewardlabError, choices
from rewardlab.core.registry import get_spec, make_sim
from rewardlab.core.sim import BatchedSim


def _metadata(sim: BatchedSim) -> dict[str, Any]:
    name = sim.env_id.split("/")[-1].replace("-", "_").lower()
    return {
        "name": name,
        "render_modes": list(sim.render_modes),
        "render_fps": sim.render_fps,
        "is_parallelizable": True,
    }


def _agent_infos(sim: BatchedSim, step) -> dict[str, dict[str, Any]]:
    """Split the instance's info into one dict per agent (per-agent arrays indexed by agent)."""
    shared = step_info(step, 0, sim.num_agents)
    infos = {}
    for i, agent in enumerate(sim.agents):
        info = dict(shared)
        info["reward_terms"] = {
            k: (v if sim.num_agents == 1 else float(v[i])) for k, v in shared["reward_terms"].items()
        }
        infos[agent] = info
    return infos


class _SimView:
    """What both PettingZoo views share: one simulator instance, its agents and their spaces."""

    def __init__(self, sim: BatchedSim) -> None:
        if sim.num_envs != 1:
            raise ValueError("the PettingZoo adapters wrap a simulator with num_envs=1")
        self.sim = sim
        self.possible_agents = list(sim.agents)
        self.agents: list[str] = []
        # the same space objects on every call, as PettingZoo's API test requires
        self._observation_spaces = dict(zip(sim.agents, sim.observation_spaces, strict=True))
        self._action_spaces = dict(zip(sim.agents, sim.action_spaces, strict=True))
        self.render_mode = sim.render_mode
        self.metadata = _metadata(sim)

    def observation_space(self, agent: str):
        return self._observation_spaces[agent]

    def action_space(self, agent: str):
        return self._action_spaces[agent]

    @property
    def reward_spec(self):
        return self.sim.reward_spec

    def render(self):
        return self.sim.render(0)

    def close(self):
        self.sim.close()


class RewardlabParallelEnv(_SimView, ParallelEnv):
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        obs = self.sim.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return {a: obs[0, i] for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise RewardlabError(f"{self.sim.env_id}: step() after the episode ended; call reset()")
        missing = set(self.possible_agents) - set(actions)
        extra = set(actions) - set(self.possible_agents)
        if missing or extra:
            raise RewardlabError(
                f"{self.sim.env_id}: step() needs one action per agent; missing {choices(missing)}, "
                f"unknown {choices(extra)}"
            )
        # each agent's action shaped against its own space first: a wrong shape is reported for
        # that agent, not as NumPy's stacking error or a reshaped joint action; values, dtypes
        # and bounds are then checked once for the joint action, as AEC checks each turn
        sim = self.sim
        joint = np.stack([sim.shape_agent_action(i, actions[a]) for i, a in enumerate(self.possible_agents)])
        step = sim.step(joint[None])
        obs = {a: step.obs[0, i] for i, a in enumerate(self.agents)}
        rewards = {a: float(step.reward[0, i]) for i, a in enumerate(self.agents)}
        terminations = dict.fromkeys(self.agents, bool(step.terminated[0]))
        truncations = dict.fromkeys(self.agents, bool(step.truncated[0]))
        infos = _agent_infos(self.sim, step)
        if step.done[0]:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        return np.asarray(self.sim._observe()[0]).ravel()


class RewardlabAECEnv(_SimView, AECEnv):
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        self._obs = self.sim.reset(seed=seed)[0]
        self.agents = list(self.possible_agents)
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        # float64 / int64 whatever the space's dtype: the simulator sees each action exactly as
        # Parallel play passes it (a float32 buffer would round a float64 action, an integer
        # one would truncate 1.5 that Parallel rejects)
        dtype = np.int64 if self.sim.discrete_actions else np.float64
        self._round_actions = np.zeros((self.sim.num_agents, *self.sim.action_shape), dtype=dtype)
        self._acted = np.zeros(self.sim.num_agents, dtype=bool)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self._selector = AgentSelector(self.agents)
        self.agent_selection = self._selector.reset()

    def observe(self, agent: str):
        i = self._index[agent]
        if self.sim.sequential and self._acted.any():
            return self.sim.aec_observation(self._obs[i], i, self._round_actions, self._acted)
        return self._obs[i]

    def step(self, action):
        if "_index" not in self.__dict__:
            raise RewardlabError(f"{self.sim.env_id}: step() before reset(); call reset() first")
        if not self.agents:
            raise RewardlabError(
                f"{self.sim.env_id}: step() after every agent is done; call reset() to start a new episode"
            )
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        i = self._index[agent]
        self._round_actions[i] = self.sim.validate_agent_action(i, action)
        self._acted[i] = True
        self._cumulative_rewards[agent] = 0.0
        if self._selector.is_last():
            step = self.sim.step(self._round_actions[None])
            self._obs = step.obs[0]
            self._acted[:] = False
            self.rewards = {a: float(step.reward[0, self._index[a]]) for a in self.agents}
            self.terminations = dict.fromkeys(self.agents, bool(step.terminated[0]))
            self.truncations = dict.fromkeys(self.agents, bool(step.truncated[0]))
            self.infos = _agent_infos(self.sim, step)
        else:
            self._clear_rewards()
        self.agent_selection = self._selector.next()
        self._accumulate_rewards()

    def state(self) -> np.ndarray:
        return np.asarray(self._obs).ravel()


def _multi_agent_sim(env_id: str, kwargs: dict[str, Any]) -> BatchedSim:
    spec = get_spec(env_id)
    if not spec.multi_agent:
        raise RewardlabError(f"{spec.id} is a single-agent environment; use gym.make({spec.id!r})")
    return make_sim(env_id, num_envs=1, **kwargs)


def parallel_env(env_id: str, **kwargs: Any) -> RewardlabParallelEnv:
    """The PettingZoo Parallel API of a multi-agent rewardlab id."""
    return RewardlabParallelEnv(_multi_agent_sim(env_id, kwargs))


def aec_env(env_id: str, **kwargs: Any) -> RewardlabAECEnv:
    """The PettingZoo AEC API of a multi-agent rewardlab id."""
    return RewardlabAECEnv(_multi_agent_sim(env_id, kwargs))
