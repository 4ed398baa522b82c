"""Action-rate and action-acceleration penalties for any environment with Box actions.

Each step the reward loses

    rate_weight * ||a_t - a_{t-1}||^2  +  acc_weight * ||a_t - 2 a_{t-1} + a_{t-2}||^2

(squared Euclidean norms of the flattened action; the finite-difference first and second
derivatives of the action sequence, the smoothness penalties of legged-locomotion rewards). The
action is taken as passed to ``step`` (before any clipping by the env); a non-finite action is a
RewardlabError rather than a NaN reward.

**First steps after a reset.** The episode has no a_{-1}, a_{-2}. Two conventions, chosen with
``initial_action``:

* ``initial_action=None`` (default): a term that needs an action from before the episode is
  not charged. The rate term is 0 on the first step; the acceleration term is 0 on the first
  two steps. Nothing is assumed about what the actuator did before the reset.
* ``initial_action=a0`` (an array of the action's shape, e.g. zeros or a robot's default
  joint targets): the history is padded with it, a_{-1} = a_{-2} = a0, so the first steps pay
  for the jump away from a0.

With ``normalize=True`` the actions are first mapped to [-1, 1] with the Box bounds (which must
be finite), so the weights mean the same on every joint whatever its range.

The *raw* (unweighted) squared norms are reported in ``info["reward_terms"]["action_rate"]`` and
``info["reward_terms"]["action_acc"]`` (rewardlab's convention: terms are raw, weights apply on
top), so a logger or a :class:`~rewardlab.wrappers.TermReweighting` downstream can use them; the
reward itself has already lost ``rate_weight * action_rate + acc_weight * action_acc``.

==================================  =====================================
``ActionRatePenalty``               Gymnasium ``Env`` wrapper
``ParallelActionRatePenalty``       PettingZoo ``ParallelEnv`` wrapper, per-agent histories
``VectorActionRatePenalty``         Gymnasium ``VectorEnv`` wrapper, per-instance histories
==================================  =====================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from rewardlab.core.errors import RewardlabError
from rewardlab.wrappers._common import check_agent_keys, check_number, with_terms

RATE, ACC = "action_rate", "action_acc"


class _ActionHistory:
    """The last two (normalised, flattened) actions of one actor and the two penalties."""

    def __init__(self, owner: str, who: str, space: spaces.Space, normalize: bool, initial_action: Any):
        if not isinstance(space, spaces.Box):
            raise RewardlabError(
                f"{owner}: {who}needs a Box action space (differences of actions are undefined "
                f"otherwise), got {space}"
            )
        self.owner = owner
        self.space = space
        self.normalize = bool(normalize)
        if self.normalize:
            if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
                raise RewardlabError(f"{owner}: normalize=True needs finite action bounds, got {space}")
            self.center = ((space.high.astype(np.float64) + space.low) / 2.0).ravel()
            self.half_range = ((space.high.astype(np.float64) - space.low) / 2.0).ravel()
            self.half_range[self.half_range == 0] = 1.0  # a fixed coordinate never moves anyway
        self.initial = None
        if initial_action is not None:
            initial = np.asarray(initial_action, dtype=np.float64)
            if initial.shape != space.shape or not np.all(np.isfinite(initial)):
                raise RewardlabError(
                    f"{owner}: {who}initial_action must be a finite array of shape {space.shape}, "
                    f"got {initial_action!r}"
                )
            self.initial = self._flat(initial)
        self.reset()

    def _flat(self, action: Any, num_envs: int | None = None) -> np.ndarray:
        """One action as a flat vector, or ``num_envs`` actions as rows; finite, normalised."""
        size = int(np.prod(self.space.shape))
        flat = np.asarray(action, dtype=np.float64)
        if flat.size != size * (num_envs or 1):
            fits = f"{num_envs} instances of {self.space}" if num_envs else f"the space {self.space}"
            raise RewardlabError(f"{self.owner}: actions of shape {flat.shape} do not fit {fits}")
        flat = flat.reshape(num_envs, size) if num_envs else flat.ravel()
        if not np.all(np.isfinite(flat)):
            raise RewardlabError(f"{self.owner}: actions must be finite, got {action!r}")
        return (flat - self.center) / self.half_range if self.normalize else flat

    def reset(self) -> None:
        # previous[0] = a_{t-1}, previous[1] = a_{t-2}; None where the episode has none
        self.previous: list[np.ndarray | None] = [self.initial, self.initial]

    def push(self, action: Any) -> tuple[float, float]:
        """Record a_t and return (||a_t - a_{t-1}||^2, ||a_t - 2 a_{t-1} + a_{t-2}||^2)."""
        current = self._flat(action)
        last, before = self.previous
        rate = 0.0 if last is None else float(np.sum((current - last) ** 2))
        acc = 0.0 if last is None or before is None else float(np.sum((current - 2.0 * last + before) ** 2))
        self.previous = [current, last]
        return rate, acc


def _check_weights(owner: str, rate_weight: Any, acc_weight: Any) -> tuple[float, float]:
    return (
        check_number(owner, "rate_weight", rate_weight, low=0.0),
        check_number(owner, "acc_weight", acc_weight, low=0.0),
    )


class ActionRatePenalty(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Subtracts action-rate and action-acceleration penalties from a Gymnasium env's reward.

    Args:
        env: a Gymnasium environment with a ``Box`` action space.
        rate_weight: w1 >= 0 on ``||a_t - a_{t-1}||^2``.
        acc_weight: w2 >= 0 on ``||a_t - 2 a_{t-1} + a_{t-2}||^2``.
        initial_action: the action assumed before the episode, or None to not charge terms that
            need it (see the module docstring).
        normalize: map actions to [-1, 1] with the Box bounds before differencing.

    Example:
        >>> import gymnasium as gym
        >>> from rewardlab.wrappers import ActionRatePenalty
        >>> env = ActionRatePenalty(gym.make("Pendulum-v1"), rate_weight=0.1, acc_weight=0.01)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> info["reward_terms"]["action_rate"]  # first step: no previous action to differ from
        0.0
    """

    def __init__(
        self,
        env: gym.Env,
        rate_weight: float = 0.0,
        acc_weight: float = 0.0,
        *,
        initial_action: Any = None,
        normalize: bool = False,
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self, rate_weight=rate_weight, acc_weight=acc_weight, initial_action=initial_action, normalize=normalize
        )
        gym.Wrapper.__init__(self, env)
        owner = type(self).__name__
        self.rate_weight, self.acc_weight = _check_weights(owner, rate_weight, acc_weight)
        self._history = _ActionHistory(owner, "", env.action_space, normalize, initial_action)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._history.reset()
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        rate, acc = self._history.push(action)
        obs, reward, terminated, truncated, info = self.env.step(action)
        penalty = self.rate_weight * rate + self.acc_weight * acc
        return obs, float(reward) - penalty, terminated, truncated, with_terms(info, {RATE: rate, ACC: acc})


class ParallelActionRatePenalty(BaseParallelWrapper):
    """Per-agent action-rate and action-acceleration penalties for a PettingZoo ``ParallelEnv``.

    Each agent's penalty uses its own action history and is subtracted from its own reward.

    Args:
        env: a PettingZoo ``ParallelEnv`` whose agents all have ``Box`` action spaces.
        rate_weight: w1 >= 0, shared by all agents.
        acc_weight: w2 >= 0, shared by all agents.
        initial_action: None, one array for every agent, or a dict ``{agent: array}``.
        normalize: map actions to [-1, 1] with each agent's Box bounds before differencing.

    Example::

        env = ParallelActionRatePenalty(any_parallel_env_with_box_actions, rate_weight=0.1,
                                        acc_weight=0.01, initial_action={a: zeros, ...})
        obs, rewards, terminations, truncations, infos = env.step(actions)
        infos[agent]["reward_terms"]["action_rate"]   # ||a_t - a_{t-1}||^2 of that agent
    """

    def __init__(
        self,
        env: ParallelEnv,
        rate_weight: float = 0.0,
        acc_weight: float = 0.0,
        *,
        initial_action: Any = None,
        normalize: bool = False,
    ):
        super().__init__(env)
        owner = type(self).__name__
        self.rate_weight, self.acc_weight = _check_weights(owner, rate_weight, acc_weight)
        agents = list(env.possible_agents)
        if isinstance(initial_action, Mapping):
            check_agent_keys(owner, "initial_action", initial_action, agents)
            initial = dict(initial_action)
        else:
            initial = dict.fromkeys(agents, initial_action)
        self._histories = {
            a: _ActionHistory(owner, f"agent {a!r} ", env.action_space(a), normalize, initial[a]) for a in agents
        }

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        for history in self._histories.values():
            history.reset()
        return self.env.reset(seed=seed, options=options)

    def step(self, actions: dict[str, Any]):
        pushed = {a: self._histories[a].push(act) for a, act in actions.items() if a in self._histories}
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        penalised = dict(rewards)
        new_infos = dict(infos)
        for agent, reward in rewards.items():
            rate, acc = pushed.get(agent, (0.0, 0.0))
            penalised[agent] = float(reward) - (self.rate_weight * rate + self.acc_weight * acc)
            new_infos[agent] = with_terms(infos.get(agent), {RATE: rate, ACC: acc})
        return obs, penalised, terminations, truncations, new_infos


class VectorActionRatePenalty(VectorWrapper):
    """Action-rate and action-acceleration penalties for a Gymnasium ``VectorEnv``.

    Each instance keeps its own action history, restarted where its episode restarts under the
    env's autoreset mode (``NEXT_STEP``: the reset step's action is ignored by the env and
    charged nothing; ``SAME_STEP``: the step after an end is the new episode's first;
    ``DISABLED``: ``reset(options={"reset_mask": mask})`` restarts the masked rows).
    ``info["reward_terms"]["action_rate"]`` and ``["action_acc"]`` hold ``(num_envs,)`` arrays.

    Args:
        env: a Gymnasium ``VectorEnv`` whose single action space is a ``Box``.
        rate_weight: w1 >= 0.
        acc_weight: w2 >= 0.
        initial_action: None or an array of the single action's shape (see the module docstring).
        normalize: map actions to [-1, 1] with the Box bounds before differencing.

    Example:
        >>> import gymnasium as gym
        >>> from rewardlab.wrappers import VectorActionRatePenalty
        >>> envs = VectorActionRatePenalty(gym.make_vec("Pendulum-v1", num_envs=4), rate_weight=0.1)
        >>> obs, info = envs.reset(seed=0)
        >>> obs, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
        >>> info["reward_terms"]["action_rate"].shape
        (4,)
    """

    def __init__(
        self,
        env: VectorEnv,
        rate_weight: float = 0.0,
        acc_weight: float = 0.0,
        *,
        initial_action: Any = None,
        normalize: bool = False,
    ):
        super().__init__(env)
        owner = type(self).__name__
        self.rate_weight, self.acc_weight = _check_weights(owner, rate_weight, acc_weight)
        # one history object holds the validated bounds and initial action; the batch keeps arrays
        self._template = _ActionHistory(owner, "", env.single_action_space, normalize, initial_action)
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        size = int(np.prod(env.single_action_space.shape))
        self._last = np.zeros((self.num_envs, size))
        self._before = np.zeros((self.num_envs, size))
        self._steps = np.zeros(self.num_envs, dtype=np.int64)  # actions recorded this episode
        self._autoreset = np.zeros(self.num_envs, dtype=bool)

    def _restart(self, rows: np.ndarray) -> None:
        self._steps[rows] = 0
        self._autoreset[rows] = False
        if self._template.initial is not None:
            self._last[rows] = self._template.initial
            self._before[rows] = self._template.initial

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        mask = (options or {}).get("reset_mask")
        self._restart(np.ones(self.num_envs, bool) if mask is None else np.asarray(mask, dtype=bool))
        return self.env.reset(seed=seed, options=options)

    def step(self, actions):
        flat = self._template._flat(actions, self.num_envs)
        known = 2 if self._template.initial is not None else 0
        has_last = (self._steps >= 1) | (known > 0)
        has_before = (self._steps >= 2) | (known > 0)
        rate = np.where(has_last, np.sum((flat - self._last) ** 2, axis=1), 0.0)
        acc = np.where(has_last & has_before, np.sum((flat - 2.0 * self._last + self._before) ** 2, axis=1), 0.0)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            # these rows only reset in this step; their action is not applied
            rate = np.where(self._autoreset, 0.0, rate)
            acc = np.where(self._autoreset, 0.0, acc)
            applied = ~self._autoreset
        else:
            applied = np.ones(self.num_envs, dtype=bool)
        self._before = np.where(applied[:, None], self._last, self._before)
        self._last = np.where(applied[:, None], flat, self._last)
        self._steps += applied
        reset_rows = self._autoreset.copy()
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        done = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._restart(reset_rows)
            self._autoreset = done
        elif self.autoreset_mode == AutoresetMode.SAME_STEP:
            self._restart(done)
        penalty = self.rate_weight * rate + self.acc_weight * acc
        rewards = np.asarray(rewards, dtype=np.float64) - penalty
        return obs, rewards, terminated, truncated, with_terms(info, {RATE: rate, ACC: acc})
