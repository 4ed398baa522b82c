"""The batched simulator protocol that every rewardlab family implements.

A simulator steps ``num_envs`` (B) independent instances of an environment with ``num_agents``
(n) agents each, as arrays: actions ``(B, n, *action_shape)``, observations
``(B, n, *obs_shape)``, one array ``(B, n)`` per named raw reward term. It knows nothing about
Gymnasium or PettingZoo; the adapters in ``rewardlab.core.adapters`` present it as those.

A family subclasses :class:`BatchedSim` and implements five hooks::

    class FisherySim(BatchedSim):
        Params = FisheryParams              # frozen dataclass, the documented parameters
        reward_terms = ("catch", "effort_cost", "fine")
        reward_presets = {"private": RewardSpec(weights={"catch": 1.0, ...})}
        default_reward = "private"

        def _setup(self): ...               # set agents, observation_spaces, action_spaces
        def _reset(self, rows): ...         # re-initialise the state of instances `rows`
        def _observe(self, rows): ...       # observations of instances `rows`, (len(rows), n, ...)
        def _step(self, actions): ...       # advance all instances, return a StepOutcome
        def _episode_metrics(self, rows): ...  # {name: (len(rows),)} for instances that ended

The base class validates actions, seeds the per-instance random streams (``self.rng``),
combines terms into rewards with the RewardSpec, tracks episode returns, and (optionally)
resets finished instances in the same step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from rewardlab.core.errors import RewardlabError, choices
from rewardlab.core.reward import RewardSpec, SocialMode, combine, resolve_reward
from rewardlab.core.rng import BatchedRNG, fresh_entropy


@dataclass
class StepOutcome:
    """What a family's ``_step`` returns: raw terms and episode ends, before reward combination.

    Attributes:
        terms: term name -> (B, n) raw value. Every name in ``reward_terms`` must be present.
        terminated: (B,) bool, the episode reached a terminal state.
        truncated: (B,) bool, the episode was cut (time limit).
        info: per-instance arrays with leading axis B (stock, trust, positions, ...).
        events: event name -> (B,) bool; names listed in ``BatchedSim.events``. A RewardSpec's
            ``terminate_on`` turns events into terminations.
    """

    terms: dict[str, np.ndarray]
    terminated: np.ndarray
    truncated: np.ndarray
    info: dict[str, np.ndarray] = field(default_factory=dict)
    events: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Step:
    """One batched transition, as every adapter consumes it.

    ``obs`` are the observations after the step; where ``autoreset`` was asked and an instance
    ended, they are its first observations of the next episode and ``final_obs`` holds the last
    ones. ``episode_metrics`` has a value per instance where ``done`` and NaN elsewhere.
    """

    obs: np.ndarray
    reward: np.ndarray
    terms: dict[str, np.ndarray]
    terminated: np.ndarray
    truncated: np.ndarray
    info: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    episode_metrics: dict[str, np.ndarray] | None = None
    episode_returns: np.ndarray | None = None
    final_obs: np.ndarray | None = None

    @property
    def done(self) -> np.ndarray:
        return self.terminated | self.truncated


class BatchedSim:
    """Base class of rewardlab's batched simulators (see the module docstring)."""

    Params: ClassVar[type]
    reward_terms: ClassVar[tuple[str, ...]] = ()
    reward_presets: ClassVar[Mapping[str, RewardSpec | Mapping[str, Any]]] = {}
    default_reward: ClassVar[str] = ""
    events: ClassVar[tuple[str, ...]] = ()
    social_modes: ClassVar[Mapping[str, SocialMode]] = {}
    social_mode_params: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    render_modes: ClassVar[tuple[str, ...]] = ("rgb_array",)
    render_fps: ClassVar[int] = 10
    #: True where the game is played in turns: the AEC adapter then lets later movers observe
    #: earlier movers' actions of the same round through ``aec_observation``.
    sequential: ClassVar[bool] = False
    #: True for environments without randomness, where every seed gives the same trajectory.
    seed_independent: ClassVar[bool] = False

    # set by _setup
    agents: tuple[str, ...]
    observation_spaces: tuple[spaces.Box, ...]
    action_spaces: tuple[spaces.Space, ...]

    def __init__(
        self,
        num_envs: int = 1,
        reward: str | Mapping[str, Any] | RewardSpec | None = None,
        render_mode: str | None = None,
        env_id: str | None = None,
        **params: Any,
    ) -> None:
        self.env_id = env_id or type(self).__name__
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise RewardlabError(f"{self.env_id}: num_envs must be a positive integer, got {num_envs!r}")
        if render_mode is not None and render_mode not in self.render_modes:
            raise RewardlabError(
                f"{self.env_id}: unknown render_mode {render_mode!r}; expected None or one of "
                f"{choices(self.render_modes)}"
            )
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.params = build_params(self.Params, params, self.env_id)
        self.rng = BatchedRNG(self.num_envs)
        self._seeded = False
        self._setup()
        self.num_agents = len(self.agents)
        self._check_spaces()
        self.reward_spec = resolve_reward(reward, self)
        self.episode_return = np.zeros((self.num_envs, self.num_agents))
        self.episode_length = np.zeros(self.num_envs, dtype=np.int64)
        self._actions_shape = (self.num_envs, self.num_agents, *self.action_shape)
        self._box_actions = isinstance(self.action_spaces[0], spaces.Box)

    # ----------------------------------------------------------------- family hooks
    def _setup(self) -> None:
        raise NotImplementedError

    def _reset(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def _step(self, actions: np.ndarray) -> StepOutcome:
        raise NotImplementedError

    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def render_frame(self, index: int = 0) -> np.ndarray:
        """An RGB frame (H, W, 3) uint8 of instance ``index``."""
        raise NotImplementedError(f"{self.env_id} does not render")

    def aec_observation(self, obs: np.ndarray, agent: int, actions: np.ndarray, acted: np.ndarray) -> np.ndarray:
        """Agent ``agent``'s observation in AEC play, given the actions committed this round.

        ``obs`` is its observation from the start of the round, ``actions`` (n, ...) the round's
        actions so far and ``acted`` (n,) which agents have moved. Sequential games override this.
        """
        return obs

    @property
    def interdependence(self) -> np.ndarray:
        """D_ij: how much agent i values agent j's payoff, (n, n) or (B, n, n); zero diagonal."""
        return np.zeros((self.num_agents, self.num_agents))

    # ----------------------------------------------------------------- public API
    def reset(self, seed: int | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        """(Re)start instances; returns observations (B, n, ...) of all instances.

        With ``seed``, instance i's stream is keyed by ``seed + i``. With ``mask`` only the masked
        instances restart (their streams continue unless a seed is given).
        """
        rows = np.arange(self.num_envs) if mask is None else np.flatnonzero(mask)
        if seed is not None:
            self.rng.seed(seed_keys(seed, rows, self.env_id), rows)
            self._seeded = True
        elif not self._seeded:
            self.rng.seed(fresh_entropy() + np.arange(self.num_envs))
            self._seeded = True
        if len(rows):
            self._reset(rows)
            self.episode_return[rows] = 0.0
            self.episode_length[rows] = 0
        return self._observe()

    def step(self, actions: np.ndarray, autoreset: bool = False) -> Step:
        """Advance every instance by one step with ``actions`` of shape (B, n, *action_shape)."""
        actions = self.validate_actions(actions)
        out = self._step(actions)
        if not out.terms.keys() >= set(self.reward_terms):
            missing = set(self.reward_terms) - set(out.terms)
            raise RuntimeError(f"{self.env_id}: _step did not report term(s) {choices(missing)}")
        spec = self.reward_spec
        reward = combine(spec, out.terms, self)
        terminated = out.terminated.copy()  # the family's array is left alone
        for event in spec.terminate_on:
            terminated |= out.events[event]
        truncated = out.truncated & ~terminated
        self.episode_return += reward
        self.episode_length += 1
        step = Step(obs=self._observe(), reward=reward, terms=out.terms, terminated=terminated,
                    truncated=truncated, info=out.info, events=out.events)
        done = terminated | truncated
        if done.any():
            rows = np.flatnonzero(done)
            step.episode_metrics = self._collect_metrics(rows)
            step.episode_returns = np.where(done[:, None], self.episode_return, np.nan)
            if autoreset:
                step.final_obs = step.obs.copy()
                self._reset(rows)
                self.episode_return[rows] = 0.0
                self.episode_length[rows] = 0
                step.obs[rows] = self._observe(rows)
        return step

    def render(self, index: int = 0) -> np.ndarray | None:
        if self.render_mode is None:
            return None
        if not self._seeded:  # no state to draw yet (Gymnasium's ResetNeeded, for every adapter)
            raise RewardlabError(f"{self.env_id}: render() before reset(); call reset() first")
        return self.render_frame(index)

    def close(self) -> None:
        """Release renderers and other resources (nothing by default)."""

    # ----------------------------------------------------------------- helpers
    @property
    def action_shape(self) -> tuple[int, ...]:
        return self.action_spaces[0].shape

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return self.observation_spaces[0].shape

    @property
    def discrete_actions(self) -> bool:
        return isinstance(self.action_spaces[0], (spaces.Discrete, spaces.MultiDiscrete))

    def validate_actions(self, actions: Any) -> np.ndarray:
        """Check shape, dtype and finiteness; clip continuous actions to their bounds."""
        expected = (self.num_envs, self.num_agents, *self.action_shape)
        actions = as_action_array(actions, self.env_id, "actions")
        if actions.shape != expected:
            # Only axes of length 1 may be added or dropped (e.g. (B,) for one agent with
            # Discrete actions): any other reshape of an array of the right size would move
            # values between agents or components, so (6, 5) for (5, 6) is an error.
            if squeezed(actions.shape) == squeezed(expected):
                actions = actions.reshape(expected)
            else:
                raise RewardlabError(
                    f"{self.env_id}: actions have shape {actions.shape}, expected {expected} "
                    f"(num_envs, num_agents, *action_space.shape) for action space "
                    f"{self.action_spaces[0]}"
                )
        if self.discrete_actions:
            if actions.dtype.kind == "b":
                raise RewardlabError(f"{self.env_id}: discrete actions must be integers, got dtype bool")
            if not np.issubdtype(actions.dtype, np.integer):
                if actions.dtype.kind == "f" and np.all(np.isfinite(actions)) and np.all(actions == np.round(actions)):
                    actions = actions.astype(np.int64)
                else:
                    raise RewardlabError(
                        f"{self.env_id}: discrete actions must be integers, got dtype {actions.dtype}"
                    )
            low, high = self._discrete_bounds
            if np.any(actions < low) or np.any(actions >= high):
                raise RewardlabError(
                    f"{self.env_id}: actions out of range for action space {self.action_spaces[0]}"
                )
            return actions
        if not np.issubdtype(actions.dtype, np.number) or actions.dtype.kind == "c":
            raise RewardlabError(
                f"{self.env_id}: actions must be real numbers, got dtype {actions.dtype}"
            )
        actions = actions.astype(np.float64, copy=False)
        if not np.all(np.isfinite(actions)):
            raise RewardlabError(f"{self.env_id}: actions contain NaN or inf")
        return np.clip(actions, self._clip_low, self._clip_high)

    def shape_agent_action(self, agent: int, action: Any) -> np.ndarray:
        """One agent's action as an array of its space's shape (only length-1 axes may differ)."""
        name = self.agents[agent]
        space = self.action_spaces[agent]
        array = as_action_array(action, self.env_id, f"action of {name}")
        if array.shape != space.shape:
            if squeezed(array.shape) != squeezed(space.shape):
                raise RewardlabError(
                    f"{self.env_id}: action of {name} has shape {array.shape}, expected {space.shape} "
                    f"for action space {space}"
                )
            array = array.reshape(space.shape)
        return array

    def validate_agent_action(self, agent: int, action: Any) -> np.ndarray:
        """One agent's action, checked as :meth:`validate_actions` checks the joint one.

        The PettingZoo adapters call it on each agent's turn, so that AEC and Parallel play
        accept, reject and clip the same actions (float64 for Box actions, int64 for discrete
        ones: nothing is rounded to the space's dtype before the simulator sees it).
        """
        action = self.shape_agent_action(agent, action)
        # checked in place in a joint action whose other entries are valid (0, or the lowest
        # discrete action), in the agent's dtype kind: the joint checks then judge it alone
        joint = np.zeros(self._actions_shape, dtype=np.float64 if self._box_actions else np.int64)
        if not self._box_actions:
            joint[0] = self._discrete_bounds[0]
        return self.validate_actions(_with_row(joint, agent, action))[0, agent]

    def _check_spaces(self) -> None:
        shapes = {s.shape for s in self.action_spaces}
        obs_shapes = {s.shape for s in self.observation_spaces}
        if len(shapes) != 1 or len(obs_shapes) != 1:
            raise RuntimeError(f"{self.env_id}: all agents must share action and observation shapes")
        if len(self.action_spaces) != len(self.agents) or len(self.observation_spaces) != len(self.agents):
            raise RuntimeError(f"{self.env_id}: one observation and action space per agent")
        first = self.action_spaces[0]
        if isinstance(first, spaces.Box):
            self._box_low = np.stack([s.low for s in self.action_spaces]).astype(np.float64)
            self._box_high = np.stack([s.high for s in self.action_spaces]).astype(np.float64)
            # the bounds of every instance and agent, (B, n, *action_shape)
            batch_shape = (self.num_envs, *self._box_low.shape)
            self._clip_low = np.broadcast_to(self._box_low, batch_shape).copy()
            self._clip_high = np.broadcast_to(self._box_high, batch_shape).copy()
        elif isinstance(first, spaces.Discrete):
            self._discrete_bounds = (
                np.array([s.start for s in self.action_spaces]),
                np.array([s.start + s.n for s in self.action_spaces]),
            )
        elif isinstance(first, spaces.MultiDiscrete):
            self._discrete_bounds = (0, np.stack([s.nvec for s in self.action_spaces]))
        else:
            raise RuntimeError(f"{self.env_id}: unsupported action space {first}")

    def _collect_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        metrics = {
            "return": self.episode_return[rows].sum(axis=1),
            "return_per_agent": self.episode_return[rows].mean(axis=1),
            "length": self.episode_length[rows].astype(np.float64),
        }
        metrics.update(self._episode_metrics(rows))
        full = {}
        for name, values in metrics.items():
            column = np.full(self.num_envs, np.nan)
            column[rows] = values
            full[name] = column
        return full


def _with_row(joint: np.ndarray, agent: int, action: np.ndarray) -> np.ndarray:
    """``joint`` with instance 0's agent ``agent`` set to ``action``, in ``action``'s dtype kind
    (a float action in an integer array would be truncated before it is checked)."""
    dtype = np.result_type(joint.dtype, action.dtype) if action.dtype.kind != "b" else action.dtype
    out = joint.astype(dtype)
    out[0, agent] = action
    return out


def squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape without its axes of length 1 (the only axes an action's shape may add or drop)."""
    return tuple(d for d in shape if d != 1)


def as_action_array(actions: Any, owner: str, argument: str = "action") -> np.ndarray:
    """``np.asarray(actions)``, with a RewardlabError for ragged nested lists and non-numbers.

    NumPy raises a bare ValueError for a ragged list and makes an object (or string) array of
    mixed content; both are reported with what was passed.
    """
    try:
        array = np.asarray(actions)
    except (ValueError, TypeError) as err:
        raise RewardlabError(
            f"{owner}: {argument} must be a rectangular array of numbers, got {_describe(actions)} ({err})"
        ) from None
    if array.dtype.kind not in "biuf":
        raise RewardlabError(f"{owner}: {argument} must be real numbers (int or float), got {_describe(actions)}")
    return array


def _describe(value: Any) -> str:
    """What a user passed, in a few words: the shape and dtype of an array, else its repr."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def seed_keys(seed: Any, rows: np.ndarray, owner: str) -> np.ndarray:
    """The stream keys ``seed + i`` (mod 2**64) of instances ``rows``, as uint64.

    Like Gymnasium, any non-negative integer is a seed (2**63 and beyond included); a negative
    one, a float or a bool is an error. Below 2**63 the keys are those of the int64 arithmetic
    used before, so every seeded trajectory is unchanged.
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise RewardlabError(f"{owner}: seed must be None or a non-negative integer, got {seed!r}")
    with np.errstate(over="ignore"):
        return np.uint64(int(seed) % 2**64) + np.asarray(rows).astype(np.uint64)


def build_params(params_cls: type, overrides: Mapping[str, Any], env_id: str) -> Any:
    """Instantiate a family's parameter dataclass, with errors that name the environment."""
    valid = {f.name for f in dataclasses.fields(params_cls) if f.init}
    unknown = set(overrides) - valid
    if unknown:
        raise RewardlabError(
            f"{env_id}: unknown argument(s) {choices(unknown)}; valid arguments are "
            f"{choices(valid | {'reward', 'render_mode', 'num_envs'})}"
        )
    try:
        return params_cls(**overrides)
    except (TypeError, ValueError) as err:
        raise RewardlabError(f"{env_id}: {err}") from err
