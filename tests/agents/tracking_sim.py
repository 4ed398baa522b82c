"""A continuous control task with a known optimum, for the agent tests.

Each step a target t in [-0.8, 0.8]^2 is drawn; the agent observes (t, phase) and is rewarded
-||a - t||^2 for its action a in [-1, 1]^2. The optimal return is 0; a constant policy (the best
one an agent that ignores its observation can do) earns -8 * 2 * 0.64 / 3 = -3.41 per episode of 8
steps. The phase (time / horizon) is the last observation entry, for the Linear Policy Net.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from rewardlab.core.reward import RewardSpec
from rewardlab.core.sim import BatchedSim, StepOutcome


@dataclass(frozen=True)
class TrackingParams:
    horizon: int = 8
    scale: float = 0.8


class TrackingSim(BatchedSim):
    Params = TrackingParams
    reward_terms = ("error",)
    reward_presets = {"default": RewardSpec(weights={"error": -1.0})}
    default_reward = "default"

    def _setup(self):
        self.agents = ("tracker",)
        self.observation_spaces = (spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32),)
        self.action_spaces = (spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32),)
        self.target = np.zeros((self.num_envs, 2))
        self.t = np.zeros(self.num_envs, dtype=np.int64)

    def _reset(self, rows):
        self.t[rows] = 0
        self.target[rows] = self.rng.uniform((2,), rows, -self.params.scale, self.params.scale)

    def _observe(self, rows=None):
        rows = slice(None) if rows is None else rows
        phase = (self.t[rows] / self.params.horizon)[:, None]
        return np.concatenate([self.target[rows], phase], axis=1)[:, None, :].astype(np.float32)

    def _step(self, actions):
        error = ((actions[:, 0] - self.target) ** 2).sum(axis=1)
        self.t += 1
        self.target = self.rng.uniform((2,), None, -self.params.scale, self.params.scale)
        return StepOutcome(
            terms={"error": error[:, None]},
            terminated=np.zeros(self.num_envs, dtype=bool),
            truncated=self.t >= self.params.horizon,
        )

    def _episode_metrics(self, rows):
        return {}
