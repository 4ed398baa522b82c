"""Small simulators with known behaviour, used to test the core independently of the families."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from rewardlab.core.reward import RewardSpec
from rewardlab.core.sim import BatchedSim, StepOutcome


@dataclass(frozen=True)
class ToyGameParams:
    num_agents: int = 3
    horizon: int = 7
    coupling: float = 0.5
    noise: float = 0.1

    def __post_init__(self):
        if self.num_agents < 2:
            raise ValueError(f"num_agents must be >= 2, got {self.num_agents}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")


class ToyGameSim(BatchedSim):
    """n agents pick a in [0, 1]; gain_i = a_i - a_i^2 + noise, cost_i = a_i; D_ij = coupling."""

    Params = ToyGameParams
    reward_terms = ("gain", "cost", "bonus")
    reward_presets = {
        "private": RewardSpec(weights={"gain": 1.0, "cost": -0.5}),
        "integrated": RewardSpec(weights={"gain": 1.0, "cost": -0.5}, social="integrated"),
        "cooperative": RewardSpec(weights={"gain": 1.0, "cost": -0.5}, social="cooperative"),
        "bonus_only": RewardSpec(weights={"bonus": 1.0}, terminate_on=("big_action",)),
    }
    default_reward = "private"
    events = ("big_action",)
    sequential = True

    def _setup(self):
        n = self.params.num_agents
        self.agents = tuple(f"agent_{i}" for i in range(n))
        self.observation_spaces = tuple(
            spaces.Box(-np.inf, np.inf, shape=(n + 1,), dtype=np.float32) for _ in range(n)
        )
        self.action_spaces = tuple(spaces.Box(0.0, 1.0 + i, shape=(1,), dtype=np.float32) for i in range(n))
        self.t = np.zeros(self.num_envs, dtype=np.int64)
        self.last = np.zeros((self.num_envs, n))
        self.offset = np.zeros(self.num_envs)

    @property
    def interdependence(self):
        n = self.num_agents
        return self.params.coupling * (np.ones((n, n)) - np.eye(n))

    def _reset(self, rows):
        self.t[rows] = 0
        self.last[rows] = 0.0
        self.offset[rows] = self.rng.uniform((), rows)

    def _observe(self, rows=None):
        rows = slice(None) if rows is None else rows
        last = self.last[rows]
        t = (self.t[rows] / self.params.horizon)[:, None]
        obs = np.concatenate([last, t], axis=1)
        return np.repeat(obs[:, None, :], self.num_agents, axis=1).astype(np.float32)

    def aec_observation(self, obs, agent, actions, acted):
        obs = obs.copy()
        obs[: self.num_agents][acted] = actions[acted, 0]
        return obs

    def _step(self, actions):
        a = actions[..., 0]
        noise = self.params.noise * self.rng.normal((self.num_agents,))
        self.last = a.copy()
        self.t += 1
        gain = a - a**2 + noise + self.offset[:, None]
        terms = {"gain": gain, "cost": a, "bonus": np.full_like(a, 1.0)}
        big = a.max(axis=1) > 1.5
        return StepOutcome(
            terms=terms,
            terminated=np.zeros(self.num_envs, dtype=bool),
            truncated=self.t >= self.params.horizon,
            info={"mean_action": a.mean(axis=1)},
            events={"big_action": big},
        )

    def _episode_metrics(self, rows):
        return {"final_mean_action": self.last[rows].mean(axis=1)}

    def render_frame(self, index=0):
        frame = np.zeros((32, 32, 3), dtype=np.uint8)
        frame[:, : int(31 * self.last[index, 0]) + 1, 0] = 255
        return frame


@dataclass(frozen=True)
class ToyGridParams:
    size: int = 5
    horizon: int = 20


class ToyGridSim(BatchedSim):
    """One agent walks on a line of `size` cells with Discrete(3) actions; +1 at the right end."""

    Params = ToyGridParams
    reward_terms = ("goal", "step")
    reward_presets = {"default": {"weights": {"goal": 1.0, "step": -0.01}}}
    default_reward = "default"

    def _setup(self):
        self.agents = ("walker",)
        self.observation_spaces = (spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32),)
        self.action_spaces = (spaces.Discrete(3),)
        self.pos = np.zeros(self.num_envs, dtype=np.int64)
        self.t = np.zeros(self.num_envs, dtype=np.int64)

    def _reset(self, rows):
        self.pos[rows] = self.rng.integers(self.params.size - 1, (), rows)
        self.t[rows] = 0

    def _observe(self, rows=None):
        rows = slice(None) if rows is None else rows
        obs = np.stack([self.pos[rows] / (self.params.size - 1), self.t[rows] / self.params.horizon], axis=1)
        return obs[:, None, :].astype(np.float32)

    def _step(self, actions):
        self.pos = np.clip(self.pos + actions[:, 0] - 1, 0, self.params.size - 1)
        self.t += 1
        at_goal = self.pos == self.params.size - 1
        return StepOutcome(
            terms={"goal": at_goal[:, None].astype(float), "step": np.ones((self.num_envs, 1))},
            terminated=at_goal,
            truncated=self.t >= self.params.horizon,
        )
