"""Potential-based reward shaping (Ng, Harada & Russell, 1999) for any environment.

Each step adds the shaping reward

    F_t = gamma * Phi(s_{t+1}) - Phi(s_t)

to the environment's reward, with a potential ``Phi`` the user supplies (a callable on the
observation, or on ``(observation, info)``). Over an episode of T steps the discounted shaping
telescopes:

    sum_{t<T} gamma^t F_t = gamma^T Phi(s_T) - Phi(s_0)

so the shaped discounted return of every trajectory differs from the original one by a term
that depends on the start state only, and the optimal policies are the same.

**Episode ends.** On *termination* the next state is absorbing and its potential is taken as 0
(``Phi(s_T) := 0``, Phi is not even evaluated there): Ng et al.'s policy-invariance result needs
all absorbing states to share one potential, otherwise the agent is paid for *where* it ends an
episode (a high-potential terminal state would become a goal of its own). On *truncation* (a
time limit) the state is not terminal -- the task would go on and a learner bootstraps from
``V(s_T)`` -- so ``Phi(s_T)`` is kept: zeroing it would charge ``-gamma Phi(s_T)`` for an event
that is not part of the MDP and bias every truncated return.

==========================  ==============================================================
``PotentialShaping``        Gymnasium ``Env`` wrapper
``ParallelPotentialShaping`` PettingZoo ``ParallelEnv`` wrapper; one shared Phi or one per agent
``VectorPotentialShaping``  Gymnasium ``VectorEnv`` wrapper; a batched Phi, any autoreset mode
==========================  ==============================================================

The shaping reward of the step is reported in ``info["reward_terms"]["potential_shaping"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from rewardlab.core.errors import RewardlabError
from rewardlab.wrappers._common import (
    check_agent_keys,
    check_callable,
    check_number,
    finite_scalar,
    with_terms,
)

Potential = Callable[..., float]
TERM = "potential_shaping"


def _check_gamma(owner: str, gamma: Any) -> float:
    return check_number(owner, "gamma", gamma, low=0.0, high=1.0, low_open=True)


class PotentialShaping(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds ``F = gamma * Phi(s') - Phi(s)`` to a Gymnasium environment's reward.

    ``Phi(s')`` is 0 when the step terminates (not when it truncates); see the module docstring
    for why. Use the ``gamma`` of the learner, or the telescoping (and with it the policy
    invariance) holds only approximately.

    Args:
        env: any Gymnasium environment.
        potential: ``Phi(obs) -> float``, or ``Phi(obs, info) -> float`` with ``use_info=True``.
        gamma: discount factor in (0, 1].
        use_info: pass the step's (or reset's) info dict as the second argument of ``potential``.

    Example:
        >>> import gymnasium as gym
        >>> from rewardlab.wrappers import PotentialShaping
        >>> env = PotentialShaping(gym.make("CartPole-v1"), lambda obs: -abs(obs[2]), gamma=0.99)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(0)
        >>> "potential_shaping" in info["reward_terms"]
        True
    """

    def __init__(self, env: gym.Env, potential: Potential, gamma: float = 0.99, *, use_info: bool = False):
        gym.utils.RecordConstructorArgs.__init__(self, potential=potential, gamma=gamma, use_info=use_info)
        gym.Wrapper.__init__(self, env)
        owner = type(self).__name__
        check_callable(owner, "potential", potential)
        self.potential = potential
        self.gamma = _check_gamma(owner, gamma)
        self.use_info = bool(use_info)
        self._last_potential: float | None = None

    def _phi(self, obs: Any, info: dict[str, Any]) -> float:
        value = self.potential(obs, info) if self.use_info else self.potential(obs)
        return finite_scalar(type(self).__name__, "potential", value)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._last_potential = self._phi(obs, info)
        return obs, info

    def step(self, action):
        if self._last_potential is None:
            raise RewardlabError(f"{type(self).__name__}: step() before reset()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        next_potential = 0.0 if terminated else self._phi(obs, info)
        shaping = self.gamma * next_potential - self._last_potential
        self._last_potential = next_potential
        return obs, float(reward) + shaping, terminated, truncated, with_terms(info, {TERM: shaping})


class ParallelPotentialShaping(BaseParallelWrapper):
    """Adds ``F_i = gamma * Phi_i(o_i') - Phi_i(o_i)`` to each agent's reward in a PettingZoo env.

    Each agent's potential is evaluated on its own observation (and info). An agent's
    ``Phi_i(o_i')`` is 0 on the step that terminates it, and kept on truncation. An agent that
    appears in the middle of an episode gets no shaping on its first reward. A potential that
    needs the global state can read it from the environment it closes over (``env.state()``).

    Args:
        env: any PettingZoo ``ParallelEnv``.
        potential: one callable shared by all agents, or a dict ``{agent: callable}`` covering
            every agent in ``env.possible_agents``.
        gamma: discount factor in (0, 1].
        use_info: call ``potential(obs, info)`` with the agent's info dict.

    Example:
        >>> from pettingzoo.classic import rps_v2
        >>> from rewardlab.wrappers import ParallelPotentialShaping
        >>> env = ParallelPotentialShaping(rps_v2.parallel_env(), lambda obs: float(obs == 3))
        >>> obs, infos = env.reset(seed=0)
    """

    def __init__(
        self,
        env: ParallelEnv,
        potential: Potential | Mapping[str, Potential],
        gamma: float = 0.99,
        *,
        use_info: bool = False,
    ):
        super().__init__(env)
        owner = type(self).__name__
        agents = list(env.possible_agents)
        if isinstance(potential, Mapping):
            check_agent_keys(owner, "potential", potential, agents)
            for agent, phi in potential.items():
                check_callable(owner, f"potential[{agent!r}]", phi)
            self.potentials = dict(potential)
        else:
            check_callable(owner, "potential", potential)
            self.potentials = dict.fromkeys(agents, potential)
        self.gamma = _check_gamma(owner, gamma)
        self.use_info = bool(use_info)
        self._last_potential: dict[str, float] = {}

    def _phi(self, agent: str, obs: Any, info: Mapping[str, Any] | None) -> float:
        phi = self.potentials.get(agent)
        if phi is None:
            raise RewardlabError(f"{type(self).__name__}: no potential for agent {agent!r}")
        value = phi(obs, info or {}) if self.use_info else phi(obs)
        return finite_scalar(type(self).__name__, f"potential of agent {agent!r}", value)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self._last_potential = {a: self._phi(a, o, infos.get(a)) for a, o in obs.items()}
        return obs, infos

    def step(self, actions: dict[str, Any]):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        next_potential = {
            a: 0.0 if terminations.get(a, False) else self._phi(a, o, infos.get(a)) for a, o in obs.items()
        }
        shaped = dict(rewards)
        new_infos = dict(infos)
        for agent, reward in rewards.items():
            shaping = 0.0
            if agent in self._last_potential and agent in next_potential:
                shaping = self.gamma * next_potential[agent] - self._last_potential[agent]
            shaped[agent] = float(reward) + shaping
            new_infos[agent] = with_terms(infos.get(agent), {TERM: shaping})
        self._last_potential = next_potential
        return obs, shaped, terminations, truncations, new_infos


class VectorPotentialShaping(VectorWrapper):
    """Potential-based shaping for a Gymnasium ``VectorEnv``, with a batched potential.

    ``potential`` maps the batch of observations, shape ``(num_envs, *obs_shape)``, to a
    ``(num_envs,)`` array (array observations only). All three autoreset modes are handled:

    * ``NEXT_STEP``: the step that only resets an instance gets no shaping (its reward is 0 too).
    * ``SAME_STEP``: ``Phi`` is evaluated on ``info["final_obs"]`` of instances that truncated;
      the new episode's first observation becomes their ``Phi(s_0)``.
    * ``DISABLED``: ``reset(options={"reset_mask": mask})`` re-reads ``Phi(s_0)`` of the masked rows.

    ``info["reward_terms"]["potential_shaping"]`` holds the ``(num_envs,)`` shaping rewards.

    Args:
        env: a Gymnasium ``VectorEnv``.
        potential: ``Phi(obs_batch) -> (num_envs,) array``.
        gamma: discount factor in (0, 1].

    Example:
        >>> import gymnasium as gym
        >>> from rewardlab.wrappers import VectorPotentialShaping
        >>> envs = gym.make_vec("CartPole-v1", num_envs=4)
        >>> envs = VectorPotentialShaping(envs, lambda obs: -abs(obs[:, 2]), gamma=0.99)
        >>> obs, info = envs.reset(seed=0)
    """

    def __init__(self, env: VectorEnv, potential: Callable[[np.ndarray], np.ndarray], gamma: float = 0.99):
        super().__init__(env)
        owner = type(self).__name__
        check_callable(owner, "potential", potential)
        self.potential = potential
        self.gamma = _check_gamma(owner, gamma)
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self._last_potential: np.ndarray | None = None
        self._autoreset = np.zeros(self.num_envs, dtype=bool)

    def _phi(self, obs: np.ndarray) -> np.ndarray:
        value = np.asarray(self.potential(obs), dtype=np.float64)
        if value.shape != (self.num_envs,):
            raise RewardlabError(
                f"{type(self).__name__}: potential must map a batch of observations to an array of "
                f"shape ({self.num_envs},), got shape {value.shape}"
            )
        if not np.all(np.isfinite(value)):
            raise RewardlabError(f"{type(self).__name__}: potential returned non-finite values {value}")
        return value

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        phi = self._phi(obs)
        mask = (options or {}).get("reset_mask")
        if mask is None or self._last_potential is None:
            self._last_potential = phi
            self._autoreset[:] = False
        else:
            mask = np.asarray(mask, dtype=bool)
            self._last_potential = np.where(mask, phi, self._last_potential)
            self._autoreset[mask] = False
        return obs, info

    def _final_obs(self, obs: np.ndarray, info: dict[str, Any], done: np.ndarray) -> np.ndarray:
        """``obs`` with the rows of instances that just ended replaced by their last observation."""
        final = info.get("final_obs")
        if final is None:
            raise RewardlabError(
                f"{type(self).__name__}: a SAME_STEP vector env must report info['final_obs']"
            )
        out = np.array(obs, copy=True)
        for row in np.flatnonzero(done):  # only the (few) rows that ended this step
            out[row] = np.asarray(final[row])
        return out

    def step(self, actions):
        if self._last_potential is None:
            raise RewardlabError(f"{type(self).__name__}: step() before reset()")
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool)
        done = terminated | truncated
        phi_obs = self._phi(obs)
        if self.autoreset_mode == AutoresetMode.SAME_STEP and truncated.any():
            phi_next = np.where(truncated, self._phi(self._final_obs(obs, info, truncated)), phi_obs)
        else:
            phi_next = phi_obs
        phi_next = np.where(terminated, 0.0, phi_next)
        shaping = self.gamma * phi_next - self._last_potential
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            shaping = np.where(self._autoreset, 0.0, shaping)
            self._autoreset = done
        self._last_potential = phi_obs
        shaped = np.asarray(rewards, dtype=np.float64) + shaping
        return obs, shaped, terminated, truncated, with_terms(info, {TERM: shaping})
