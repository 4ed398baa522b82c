"""Joint spaces: how n per-agent spaces become one space for a single controller."""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces


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


def from_joint(actions: np.ndarray, num_envs: int, num_agents: int, action_shape: tuple[int, ...]) -> np.ndarray:
    """Joint actions (B, *joint_shape) to the simulator layout (B, n, *action_shape)."""
    actions = np.asarray(actions)
    expected = num_envs * num_agents * math.prod(action_shape)
    if actions.size != expected:
        return actions  # the simulator's validation reports the bad shape
    return actions.reshape((num_envs, num_agents, *action_shape))
