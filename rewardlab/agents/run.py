"""One call that trains an agent on an environment id and evaluates it: what studies and the CLI use.

    from rewardlab.agents.run import train_and_evaluate

    result = train_and_evaluate("rewardlab/CoopSLCD-v0", algo="mappo", reward="integrated",
                                agent_kwargs={"num_envs": 32}, total_steps=100_000, seed=0)
    result.metrics["return"], result.curve[-1]["step"]

``algo`` is one of ``ALGOS``: rewardlab's own ``ppo`` (IPPO with parameter sharing on
multi-agent environments; ``ippo`` is the same agent), ``mappo`` (centralised critic), or a
Stable-Baselines3 algorithm ``sb3-<name>`` (see :mod:`rewardlab.baselines.sb3`). ``env_id`` is a
registered id, or ``"package.module:SimClass"`` for a BatchedSim class that is not registered.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from rewardlab.agents.envs import make_env_sim, summarize
from rewardlab.agents.ppo import ALGORITHMS, PPOConfig
from rewardlab.agents.runlog import (
    RunLogger,
    RunResult,
    check_run_dir,
    curve_point,
    record_budget,
    write_run_config,
)
from rewardlab.baselines import sb3 as sb3_baselines
from rewardlab.core.errors import RewardlabError, choices

__all__ = ["ALGOS", "OWN_ALGOS", "SB3_ALGOS", "RunResult", "make_env_sim", "record_budget", "run_agent",
           "train_and_evaluate", "write_run_config"]

OWN_ALGOS = ("ppo", "ippo", "mappo")
SB3_ALGOS = ("sb3-ppo", "sb3-a2c", "sb3-sac", "sb3-td3", "sb3-ddpg", "sb3-dqn")
ALGOS = OWN_ALGOS + SB3_ALGOS


def train_and_evaluate(
    env_id: str,
    *,
    algo: str = "ppo",
    reward=None,
    env_kwargs: dict | None = None,
    agent_kwargs: dict | None = None,
    total_steps: int,
    seed: int,
    eval_episodes: int = 10,
    device: str = "cpu",
    log_dir=None,
    progress: bool = False,
) -> RunResult:
    """Train ``algo`` on ``env_id`` for ``total_steps`` instance-steps, then evaluate it.

    Args:
        env_id: a registered id (or "module:SimClass").
        algo: one of ALGOS.
        reward: a preset name, a reward dict or a RewardSpec (``gym.make(..., reward=)``).
        env_kwargs: environment parameters.
        agent_kwargs: the agent's settings (PPOConfig fields for ppo/ippo/mappo; for SB3 the
            algorithm's keyword arguments plus ``num_envs``, ``policy``); unknown keys raise.
        total_steps: training budget in instance-steps.
        seed: seeds the agent and the environment; evaluation uses seed + 1_000_000.
        eval_episodes: episodes of the deterministic policy averaged in ``metrics``.
        device: "cpu", "cuda" or "auto".
        log_dir: where to write config.json, TensorBoard events, curve.json and the checkpoint.
        progress: show a rich progress bar.
    """
    if algo not in ALGOS:
        raise RewardlabError(f"{env_id}: unknown algo {algo!r}; expected one of {choices(ALGOS)}")
    check_run_dir(log_dir)  # before training, not after it
    if int(total_steps) < 1:
        raise RewardlabError(f"{env_id}: total_steps must be a positive integer, got {total_steps!r}")
    if int(eval_episodes) < 1:
        raise RewardlabError(f"{env_id}: eval_episodes must be a positive integer, got {eval_episodes!r}")
    if algo in SB3_ALGOS:
        return sb3_baselines.train_and_evaluate_sb3(
            env_id,
            algo=algo,
            reward=reward,
            env_kwargs=env_kwargs,
            agent_kwargs=agent_kwargs,
            total_steps=total_steps,
            seed=seed,
            eval_episodes=eval_episodes,
            device=device,
            log_dir=log_dir,
            progress=progress,
        )
    config = PPOConfig.from_kwargs(f"{env_id} ({algo})", agent_kwargs)
    sim = make_env_sim(env_id, config.num_envs, reward, env_kwargs)
    agent_cls = ALGORITHMS[algo]
    agent = agent_cls(sim, config, seed=seed, device=device)
    agent.env_info = {"env_id": env_id, "reward": reward, "env_kwargs": dict(env_kwargs or {}), "algo": algo}
    log_path = Path(log_dir) if log_dir is not None else None
    if log_path is not None:
        write_run_config(
            log_path,
            {
                "env_id": env_id,
                "algo": algo,
                "reward": reward if not hasattr(reward, "to_dict") else reward.to_dict(),
                "reward_spec": sim.reward_spec.to_dict() if hasattr(sim, "reward_spec") else None,
                "env_kwargs": env_kwargs or {},
                "agent": {k: v for k, v in dataclasses.asdict(agent.config).items() if k != "phase_fn"},
                "total_steps": int(total_steps),
                "seed": int(seed),
                "device": str(agent.device),
            },
        )
    return run_agent(agent, total_steps, eval_episodes, log_path, progress, title=f"{algo} {env_id}")


def run_agent(
    agent,
    total_steps: int,
    eval_episodes: int,
    log_path: Path | None,
    progress: bool = False,
    save_every: int = 0,
    title: str = "train",
) -> RunResult:
    """Train a built (or resumed) own agent to ``total_steps``, evaluate it, write the run files.

    ``save_every`` > 0 also checkpoints every that many updates (for long runs); a resumed
    agent continues its update counter, curve and learning-rate schedule.
    """
    logger = RunLogger(log_path, total_steps, progress, title=title)
    start_update = agent.update

    def on_update(_agent, stats: dict[str, float]) -> None:
        logger.log(stats)
        if log_path is not None and save_every > 0 and agent.update % save_every == 0:
            agent.save(log_path / "checkpoint.pt")

    start = time.perf_counter()
    try:
        agent.learn(total_steps, callback=on_update)
    finally:
        logger.close()
    train_time = time.perf_counter() - start
    curve: list[dict[str, float]] = []
    last_return = float("nan")
    for stats in agent.curve:
        last_return = stats.get("return", last_return)
        curve.append(curve_point(stats, last_return))
    episodes = agent.evaluate_episodes(episodes=eval_episodes)
    metrics = summarize(episodes)
    metrics["train_time_s"] = train_time
    new = agent.curve[start_update:]
    metrics["update_time_s"] = float(np.mean([p["update_time_s"] for p in new])) if new else float("nan")
    checkpoint = None
    if log_path is not None:
        checkpoint = str(agent.save(log_path / "checkpoint.pt"))
        (log_path / "curve.json").write_text(json.dumps(curve, default=float))
        (log_path / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
        record_budget(log_path, agent.global_step, eval_episodes)
    agent.sim.close()
    return RunResult(metrics=metrics, curve=curve, checkpoint=checkpoint, episodes=episodes,
                     trained_steps=int(agent.global_step))
