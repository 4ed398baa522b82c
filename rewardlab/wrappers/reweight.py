"""Reweight the reward terms an environment reports in ``info["reward_terms"]``.

The reward becomes the recombination of the raw terms of the step:

    r = (sum_k w_k * term_k) * prod_m term_m          (weights w_k, factor terms m)

the same algebra as rewardlab's :class:`~rewardlab.core.reward.RewardSpec`, but applied from the
outside, so it works on any environment that reports its terms: every rewardlab environment,
a third-party environment that fills ``info["reward_terms"]``, or a stack of rewardlab wrappers
(``ActionRatePenalty`` reports ``action_rate`` and ``action_acc``, ``PotentialShaping``
reports ``potential_shaping``). The environment's own reward is ignored unless it is itself a
term (rewardlab envs report it as ``"reward"``).

The available terms are read from the first step's info. A weight or factor naming a term
that is not there raises a :class:`~rewardlab.core.errors.RewardlabError` that lists the
available ones; so does a later step that stops reporting a term in use.

Term values may be scalars, per-agent arrays (a multi-agent Gymnasium env with the joint
action: the reward is the sum over agents, as rewardlab's adapter sums them), or, in a
PettingZoo env's per-agent info, a scalar for that agent, a ``{agent: value}`` dict, or an array
indexed like ``possible_agents``.

=============================  =====================================
``TermReweighting``            Gymnasium ``Env`` wrapper
``ParallelTermReweighting``    PettingZoo ``ParallelEnv`` wrapper
``VectorTermReweighting``      Gymnasium ``VectorEnv`` wrapper
=============================  =====================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import VectorEnv, VectorWrapper
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from rewardlab.core.errors import RewardlabError, choices
from rewardlab.wrappers._common import check_number


class _Recombination:
    """The validated weights and factors, and the check of a step's terms against them."""

    def __init__(self, owner: str, weights: Mapping[str, float], factors: Iterable[str]):
        self.owner = owner
        if not isinstance(weights, Mapping):
            raise RewardlabError(f"{owner}: weights must be a dict {{term: weight}}, got {weights!r}")
        if isinstance(factors, str) or not all(isinstance(f, str) for f in factors):
            raise RewardlabError(f"{owner}: factors must be a list of term names, got {factors!r}")
        self.weights = {
            str(term): check_number(owner, f"weights[{term!r}]", w) for term, w in weights.items()
        }
        self.factors = tuple(factors)
        if not self.weights:
            raise RewardlabError(f"{owner}: weights must name at least one term")
        self.available: tuple[str, ...] | None = None

    @property
    def used(self) -> tuple[str, ...]:
        return (*self.weights, *self.factors)

    def check(self, terms: Any, where: str) -> None:
        """Validate ``terms`` (one info's ``reward_terms``); the first call fixes ``available``."""
        if not isinstance(terms, Mapping):
            raise RewardlabError(
                f"{self.owner}: the environment must report info['reward_terms'] as a dict of "
                f"term values{where}, got {type(terms).__name__}"
            )
        first = self.available is None
        if first:
            self.available = tuple(terms)
        missing = [t for t in self.used if t not in terms]
        if missing:
            known = self.available if first else tuple(terms)
            raise RewardlabError(
                f"{self.owner}: unknown reward term(s) {choices(missing)}{where}; the environment "
                f"reports {choices(known)}"
            )

    def combine(self, value_of) -> np.ndarray:
        total = sum(w * value_of(t) for t, w in self.weights.items())
        for term in self.factors:
            total = total * value_of(term)
        return np.asarray(total, dtype=np.float64)


class TermReweighting(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The reward of a Gymnasium env recombined from its ``info["reward_terms"]``.

    Args:
        env: a Gymnasium environment that reports ``info["reward_terms"]`` on every step.
        weights: ``{term: weight}``; terms left out weigh 0.
        factors: term names multiplied onto the weighted sum.

    Example:
        >>> import gymnasium as gym
        >>> from rewardlab.wrappers import ActionRatePenalty, TermReweighting
        >>> env = ActionRatePenalty(gym.make("Pendulum-v1"))     # reports "action_rate"
        >>> env = TermReweighting(env, {"action_rate": -1.0})     # reward = -||a_t - a_{t-1}||^2
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> reward == -info["reward_terms"]["action_rate"]
        True
    """

    def __init__(self, env: gym.Env, weights: Mapping[str, float], factors: Iterable[str] = ()):
        gym.utils.RecordConstructorArgs.__init__(self, weights=weights, factors=factors)
        gym.Wrapper.__init__(self, env)
        self._recombination = _Recombination(type(self).__name__, weights, factors)

    @property
    def weights(self) -> dict[str, float]:
        return dict(self._recombination.weights)

    @property
    def factors(self) -> tuple[str, ...]:
        return self._recombination.factors

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        terms = info.get("reward_terms")
        self._recombination.check(terms, "")

        def value_of(term: str) -> np.ndarray:
            return np.asarray(terms[term], dtype=np.float64)

        new_reward = float(np.sum(self._recombination.combine(value_of)))
        return obs, new_reward, terminated, truncated, info


class ParallelTermReweighting(BaseParallelWrapper):
    """Each agent's reward of a PettingZoo env recombined from its ``info["reward_terms"]``.

    Args:
        env: a PettingZoo ``ParallelEnv`` whose agents' infos report ``reward_terms``.
        weights: ``{term: weight}``; terms left out weigh 0.
        factors: term names multiplied onto the weighted sum.

    Example::

        # a rewardlab env reports its raw terms (here "gain", "cost") in every agent's info
        env = ParallelTermReweighting(rewardlab.parallel_env(env_id), {"gain": 1.0, "cost": -2.0})
    """

    def __init__(self, env: ParallelEnv, weights: Mapping[str, float], factors: Iterable[str] = ()):
        super().__init__(env)
        self._recombination = _Recombination(type(self).__name__, weights, factors)
        self._agent_index = {a: i for i, a in enumerate(env.possible_agents)}

    @property
    def weights(self) -> dict[str, float]:
        return dict(self._recombination.weights)

    @property
    def factors(self) -> tuple[str, ...]:
        return self._recombination.factors

    def _value(self, agent: str, term: str, value: Any) -> float:
        if isinstance(value, Mapping):
            value = value[agent]
        array = np.asarray(value, dtype=np.float64)
        if array.size == 1:
            return float(array.reshape(()))
        if array.shape == (len(self._agent_index),):
            return float(array[self._agent_index[agent]])
        raise RewardlabError(
            f"{type(self).__name__}: reward term {term!r} of agent {agent!r} must be a scalar, a dict "
            f"keyed by agent or an array of length {len(self._agent_index)}, got shape {array.shape}"
        )

    def step(self, actions: dict[str, Any]):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        new_rewards = dict(rewards)
        for agent in rewards:
            terms = (infos.get(agent) or {}).get("reward_terms")
            self._recombination.check(terms, f" for agent {agent!r}")

            def value_of(term: str, agent: str = agent, terms: Mapping = terms) -> float:
                return self._value(agent, term, terms[term])

            new_rewards[agent] = float(self._recombination.combine(value_of))
        return obs, new_rewards, terminations, truncations, infos


class VectorTermReweighting(VectorWrapper):
    """The rewards of a Gymnasium ``VectorEnv`` recombined from its ``info["reward_terms"]``.

    Each term is an array with the instances on its first axis, ``(num_envs,)`` or
    ``(num_envs, n_agents)`` (rewardlab's native vector env); per-agent values are summed, as the
    vector env sums its agents' rewards. Keys that start with ``_`` (Gymnasium's masks of which
    instances reported a key) are not terms.

    Args:
        env: a Gymnasium ``VectorEnv`` that reports ``info["reward_terms"]``.
        weights: ``{term: weight}``; terms left out weigh 0.
        factors: term names multiplied onto the weighted sum.

    Example::

        envs = gym.make_vec("rewardlab/<Name>-v0", num_envs=64)
        envs = VectorTermReweighting(envs, {"<term>": 1.0, "<other term>": -0.5})
    """

    def __init__(self, env: VectorEnv, weights: Mapping[str, float], factors: Iterable[str] = ()):
        super().__init__(env)
        self._recombination = _Recombination(type(self).__name__, weights, factors)

    @property
    def weights(self) -> dict[str, float]:
        return dict(self._recombination.weights)

    @property
    def factors(self) -> tuple[str, ...]:
        return self._recombination.factors

    def _terms(self, info: Mapping[str, Any]) -> Any:
        """The step's terms; an instance that ended under Gymnasium's SAME_STEP autoreset has
        them in ``info["final_info"]`` (its ``info`` is already the new episode's reset info)."""
        top = info.get("reward_terms")
        final_info = info.get("final_info")
        final = final_info.get("reward_terms") if isinstance(final_info, Mapping) else None
        if not isinstance(final, Mapping):
            return {k: v for k, v in top.items() if not str(k).startswith("_")} if isinstance(top, Mapping) else top
        top = top if isinstance(top, Mapping) else {}
        ended = np.asarray(info.get("_final_info", np.ones(self.num_envs, bool)), dtype=bool)
        merged = {}
        for key in dict.fromkeys([*top, *final]):
            if str(key).startswith("_"):
                continue
            source = top[key] if key in top else final[key]
            value = np.array(source, dtype=np.float64) if key in top else np.zeros_like(source, dtype=np.float64)
            if key in final:
                value[ended] = np.asarray(final[key], dtype=np.float64)[ended]
            merged[key] = value
        return merged

    def step(self, actions):
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        terms = self._terms(info)
        self._recombination.check(terms, "")

        def value_of(term: str) -> np.ndarray:
            value = np.asarray(terms[term], dtype=np.float64)
            if value.ndim == 0 or value.shape[0] != self.num_envs:
                raise RewardlabError(
                    f"{type(self).__name__}: reward term {term!r} must have the instances on its first "
                    f"axis ({self.num_envs}, ...), got shape {value.shape}"
                )
            return value.reshape(self.num_envs, -1)

        new_rewards = self._recombination.combine(value_of).sum(axis=1)
        return obs, new_rewards, terminated, truncated, info
