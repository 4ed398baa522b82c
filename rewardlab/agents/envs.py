"""What rewardlab's agents step: a BatchedSim directly, or a Gymnasium VectorEnv seen as one.

Agents talk to the batched-simulator interface (``reset(seed) -> obs (B, n, ...)``,
``step(actions, autoreset=True) -> Step``). A rewardlab ``VectorEnv`` is unwrapped to its
simulator; any other Gymnasium ``VectorEnv`` (one agent) is adapted by :class:`VectorEnvSim`.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from rewardlab.core.errors import RewardlabError
from rewardlab.core.registry import make_sim
from rewardlab.core.sim import BatchedSim, Step


class VectorEnvSim:
    """A single-agent Gymnasium VectorEnv with same-step autoreset, presented as a BatchedSim.

    Episode returns and lengths are counted here; ``info["episode_metrics"]`` (rewardlab) is
    passed through where the env reports it.
    """

    def __init__(self, env: gym.vector.VectorEnv) -> None:
        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode != AutoresetMode.SAME_STEP:
            raise RewardlabError(
                f"{env}: rewardlab agents need a VectorEnv with autoreset_mode=SAME_STEP, got {mode}; "
                "build it with gym.make_vec(..., vector_kwargs={'autoreset_mode': AutoresetMode.SAME_STEP})"
            )
        self.env = env
        self.env_id = getattr(getattr(env, "spec", None), "id", None) or type(env).__name__
        self.num_envs = env.num_envs
        self.num_agents = 1
        self.agents = ("agent_0",)
        self.observation_spaces = (env.single_observation_space,)
        self.action_spaces = (env.single_action_space,)
        self.episode_return = np.zeros((self.num_envs, 1))
        self.episode_length = np.zeros(self.num_envs, dtype=np.int64)

    obs_shape = property(lambda self: self.observation_spaces[0].shape)
    action_shape = property(lambda self: self.action_spaces[0].shape)
    discrete_actions = property(
        lambda self: isinstance(self.action_spaces[0], (spaces.Discrete, spaces.MultiDiscrete))
    )

    def reset(self, seed: int | None = None) -> np.ndarray:
        obs, _ = self.env.reset(seed=seed)
        self.episode_return[:] = 0.0
        self.episode_length[:] = 0
        return np.asarray(obs)[:, None]

    def step(self, actions: np.ndarray, autoreset: bool = True) -> Step:
        actions = np.asarray(actions)[:, 0]
        obs, reward, terminated, truncated, info = self.env.step(actions)
        reward = np.asarray(reward, dtype=np.float64)[:, None]
        done = np.asarray(terminated) | np.asarray(truncated)
        self.episode_return += reward
        self.episode_length += 1
        step = Step(
            obs=np.asarray(obs)[:, None],
            reward=reward,
            terms=info.get("reward_terms", {}) if isinstance(info.get("reward_terms"), dict) else {},
            terminated=np.asarray(terminated, dtype=bool),
            truncated=np.asarray(truncated, dtype=bool),
            info={},
            events={},
        )
        if done.any():
            metrics = {
                "return": np.where(done, self.episode_return[:, 0], np.nan),
                "length": np.where(done, self.episode_length, np.nan).astype(np.float64),
            }
            extra = info.get("episode_metrics")
            if isinstance(extra, dict):
                for key, values in extra.items():
                    metrics.setdefault(key, np.where(done, np.asarray(values, dtype=np.float64), np.nan))
            step.episode_metrics = metrics
            step.episode_returns = np.where(done[:, None], self.episode_return, np.nan)
            final = info.get("final_obs")
            final_obs = np.asarray(obs).copy()
            if final is not None:
                for b in np.flatnonzero(done):
                    final_obs[b] = final[b]
            step.final_obs = final_obs[:, None]
            self.episode_return[done] = 0.0
            self.episode_length[done] = 0
        return step

    def close(self) -> None:
        self.env.close()


def as_sim(env: Any) -> BatchedSim | VectorEnvSim:
    """The batched-simulator view of ``env`` (a BatchedSim, a rewardlab or other VectorEnv)."""
    if isinstance(env, (BatchedSim, VectorEnvSim)):
        return env
    sim = getattr(env, "sim", None)
    if isinstance(sim, BatchedSim):
        return sim
    if isinstance(env, gym.vector.VectorEnv):
        return VectorEnvSim(env)
    raise RewardlabError(
        f"rewardlab agents: expected a rewardlab BatchedSim or a Gymnasium VectorEnv, got {type(env).__name__}"
    )


def clone_sim(sim: BatchedSim, num_envs: int, render_mode: str | None = None) -> BatchedSim:
    """A fresh simulator of the same class, parameters and reward design with ``num_envs`` instances."""
    if not isinstance(sim, BatchedSim):
        raise RewardlabError(
            f"rewardlab agents: cannot build an evaluation copy of {type(sim).__name__}; pass eval_env="
        )
    params = {f.name: getattr(sim.params, f.name) for f in dataclasses.fields(sim.params) if f.init}
    return type(sim)(num_envs=num_envs, reward=sim.reward_spec, render_mode=render_mode, env_id=sim.env_id, **params)


def run_episodes(
    sim: Any,
    act: Any,
    episodes: int,
    seed: int,
    max_steps: int = 100_000,
    frame_callback: Any = None,
) -> dict[str, np.ndarray]:
    """Play the first episode of each of ``episodes`` instances of ``sim`` with ``act(obs) -> actions``.

    Returns every episode metric as an array of ``episodes`` values (NaN where an instance did not
    finish within ``max_steps``). ``frame_callback(sim)`` runs before each step (video).
    """
    for name, value in (("episodes", episodes), ("max_steps", max_steps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise RewardlabError(f"evaluate: --{name.replace('_', '-')} must be a positive integer, got {value!r}")
    episodes = min(int(episodes), sim.num_envs)
    obs = sim.reset(seed=seed)
    collected: dict[str, np.ndarray] = {}
    seen = np.zeros(sim.num_envs, dtype=bool)
    for _ in range(max_steps):
        if frame_callback is not None:
            frame_callback(sim)
        step = sim.step(act(obs), autoreset=True)
        obs = step.obs
        if step.episode_metrics is not None:
            new = np.asarray(step.done) & ~seen
            for name, values in step.episode_metrics.items():
                column = collected.setdefault(name, np.full(sim.num_envs, np.nan))
                column[new] = np.asarray(values, dtype=np.float64)[new]
            seen |= new
        if seen[:episodes].all():
            break
    return {name: values[:episodes] for name, values in collected.items()}


def summarize(per_episode: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean of each metric over the episodes that finished."""
    return {name: float(np.nanmean(v)) for name, v in per_episode.items() if np.isfinite(v).any()}


class RolloutLog:
    """What a rollout reports: mean raw reward and reward terms, and the finished episodes' metrics."""

    def __init__(self) -> None:
        self.rewards: list[np.ndarray] = []
        self.terms: dict[str, list[np.ndarray]] = {}
        self.finished: dict[str, list[np.ndarray]] = {}

    def add(self, step: Any, reward: np.ndarray, done: np.ndarray) -> None:
        self.rewards.append(reward)
        for name, values in step.terms.items():
            self.terms.setdefault(name, []).append(values)
        if step.episode_metrics is not None:
            for name, values in step.episode_metrics.items():
                self.finished.setdefault(name, []).append(np.asarray(values, dtype=np.float64)[done])

    def stats(self) -> dict[str, float]:
        stats: dict[str, float] = {"reward_per_step": float(np.mean(self.rewards))}
        for name, values in self.terms.items():
            stats[f"term/{name}"] = float(np.mean(values))
        episodes = 0
        for name, chunks in self.finished.items():
            values = np.concatenate(chunks)
            episodes = max(episodes, len(values))
            if len(values):
                stats[name if name in ("return", "length") else f"metric/{name}"] = float(np.mean(values))
        stats["episodes"] = float(episodes)
        return stats


DEVICES = ("auto", "cpu", "cuda", "cuda:<index>", "mps")


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` is CUDA where present, else CPU; a device this machine lacks is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise RewardlabError(f"--device: unknown device {device!r}; expected one of {', '.join(DEVICES)}") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RewardlabError(
                f"--device {device!r}: CUDA is not available on this machine (torch.cuda.is_available() "
                "is False); use --device cpu or auto"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise RewardlabError(
                f"--device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    elif resolved.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RewardlabError(f"--device {device!r}: MPS is not available on this machine; use cpu or auto")
    elif resolved.type != "cpu":
        raise RewardlabError(f"--device: unsupported device {device!r}; expected one of {', '.join(DEVICES)}")
    return resolved


def make_env_sim(env_id: str, num_envs: int, reward: Any = None, env_kwargs: dict[str, Any] | None = None):
    """A batched simulator for a registered id or a ``"module:SimClass"`` entry point."""
    kwargs = dict(env_kwargs or {})
    for reserved in ("num_envs", "reward"):
        if reserved in kwargs:
            raise RewardlabError(f"{env_id}: pass {reserved} as its own argument, not in env_kwargs")
    if reward is not None:
        kwargs["reward"] = reward
    if ":" in env_id and not env_id.startswith("rewardlab"):
        module, _, name = env_id.partition(":")
        try:
            sim_cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as err:
            raise RewardlabError(f"cannot load simulator class {env_id!r}: {err}") from err
        return sim_cls(num_envs=num_envs, **kwargs)
    return make_sim(env_id, num_envs=num_envs, **kwargs)
