"""Joint spaces: how n per-agent spaces become one space for a single controller."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from rewardlab.core.errors import RewardlabError
from rewardlab.core.sim import as_action_array, squeezed


def joint_box(per_agent: tuple[spaces.Box, ...]) -> spaces.Box:
    """Stack n Boxes into one (n, *shape) Box; with one agent, that agent's Box itself."""
    if len(per_agent) == 1:
        return per_agent[0]
    low = np.stack([s.low for s in per_agent])
    high = np.stack([s.high for s in per_agent])
    return spaces.Box(low=low, high=high, dtype=per_agent[0].dtype)


def joint_space(per_agent: tuple[spaces.Space, ...]) -> spaces.Space:
    """The joint action (or observation) space of n agents."""
    first = per_agent[0]
    if len(per_agent) == 1:
        return first
    if isinstance(first, spaces.Box):
        return joint_box(per_agent)
    if isinstance(first, spaces.Discrete):
        if any(s.start != 0 for s in per_agent):
            raise RuntimeError("joint Discrete spaces need start = 0")
        return spaces.MultiDiscrete([s.n for s in per_agent])
    if isinstance(first, spaces.MultiDiscrete):
        return spaces.MultiDiscrete(np.stack([s.nvec for s in per_agent]))
    raise RuntimeError(f"no joint space for {first}")


def to_joint(array: np.ndarray, num_agents: int) -> np.ndarray:
    """(B, n, ...) arrays to the joint layout: the agent axis dropped when n == 1."""
    return array[:, 0] if num_agents == 1 else array


def from_joint(
    actions: Any,
    num_envs: int,
    num_agents: int,
    action_shape: tuple[int, ...],
    owner: str = "rewardlab",
    space: spaces.Space | None = None,
) -> np.ndarray:
    """Joint actions (B, *joint_shape) to the simulator layout (B, n, *action_shape).

    Only axes of length 1 may be added or dropped: an array of the right size in another
    shape (a transpose) would move values between agents. With ``space`` (the batched joint
    space) a wrong shape is an error naming it; without, the array is passed on unchanged
    and the simulator's validation reports it.
    """
    actions = as_action_array(actions, owner, "actions")
    expected = (num_envs, num_agents, *action_shape)
    if actions.shape == expected or squeezed(actions.shape) == squeezed(expected):
        return actions.reshape(expected)
    if space is not None:
        raise RewardlabError(
            f"{owner}: actions have shape {actions.shape}, expected {space.shape} for action space {space}"
        )
    return actions


def single_action(action: np.ndarray, space: spaces.Space, sim_shape: tuple[int, ...], owner: str) -> np.ndarray:
    """One environment's joint action in the simulator layout (1, n, *action_shape).

    A wrong shape is reported as the user passed it (not in the batched layout); only axes of
    length 1 may differ from the space's shape.
    """
    action = as_action_array(action, owner, "action")
    if squeezed(action.shape) != squeezed(space.shape):
        raise RewardlabError(
            f"{owner}: action has shape {action.shape}, expected {space.shape} for action space {space}"
        )
    return action.reshape(sim_shape)
