"""What the learning benchmarks share: train while evaluating, print the table and the summary.

Used by ``learn_locomotion.py`` and ``learn_driving.py`` (run as scripts, so this module is
imported from the scripts' own folder).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

#: (header, width, format, row key) of one printed column
Column = tuple[str, int, str, str]


def build_agent(env_id: str, args, overrides: dict[str, Any] | None = None):
    """rewardlab's PPO on ``env_id`` from the shipped settings (unless ``args.no_tuned``), with
    ``args.settings`` (``--set``) and then ``overrides`` laid over them.

    Returns the agent and the agent and environment settings it was built from.
    """
    from rewardlab.agents.ppo import PPO, PPOConfig
    from rewardlab.agents.run import make_env_sim
    from rewardlab.agents.tuned import tuned_settings
    from rewardlab.commands.train import parse_reward, parse_settings

    agent_kwargs, env_kwargs = parse_settings(args.settings)
    shipped = {} if args.no_tuned else tuned_settings(env_id, parse_reward(getattr(args, "reward", None)))
    agent_kwargs = {**shipped, **agent_kwargs, **(overrides or {})}
    config = PPOConfig.from_kwargs(f"{env_id} (ppo)", agent_kwargs)
    sim = make_env_sim(env_id, config.num_envs, parse_reward(args.reward), env_kwargs)
    return PPO(sim, config, seed=args.seed, device="cpu"), agent_kwargs, env_kwargs


def save_outputs(args, agent, settings: dict[str, Any], rows: list[dict[str, float]], summary: dict,
                 train_time: float, phase_time: dict[str, float]) -> None:
    """``--save``: the trained agent; ``--json``: the arguments, settings, rows and summary."""
    if args.save:
        agent.save(args.save)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), **settings, "rows": rows, "summary": summary, "train_s": train_time,
                       **phase_time}, handle, indent=1)


def print_header(columns: list[Column]) -> None:
    print(" ".join(f"{name:>{width}}" for name, width, _, _ in columns), flush=True)


def print_row(columns: list[Column], row: dict[str, float]) -> None:
    print(" ".join(f"{row.get(key, float('nan')):>{width}{form}}" for _, width, form, key in columns), flush=True)


def train_with_evaluations(
    agent,
    total_steps: int,
    eval_every: int,
    evaluate: Callable[[object, dict[str, float]], dict[str, float]],
    has_episodes: Callable[[dict[str, float]], bool],
    columns: list[Column],
) -> tuple[list[dict[str, float]], float, dict[str, float]]:
    """Train ``agent`` to ``total_steps``; every ``eval_every`` steps and at the end add a row.

    ``evaluate(agent, last_stats)`` gives a row's figures, where ``last_stats`` are the statistics
    of the last update in which ``has_episodes(stats)`` held (training episodes ended). Returns
    the rows, the training wall clock (evaluations excluded) and the rollout and update times.
    """
    rows: list[dict[str, float]] = []
    train_time = 0.0
    next_eval = eval_every
    num_updates = max(1, total_steps // agent.steps_per_update)
    last: dict[str, float] = {}
    phase_time = {"rollout_time_s": 0.0, "update_time_s": 0.0}
    while agent.update < num_updates:
        start = time.perf_counter()
        stats = agent.train_one_update(num_updates)
        train_time += time.perf_counter() - start
        for key in phase_time:
            phase_time[key] += stats[key]
        if has_episodes(stats):
            last = stats
        if agent.global_step >= next_eval or agent.update == num_updates:
            next_eval += eval_every
            row = {"steps": agent.global_step, "train_s": train_time, **evaluate(agent, last)}
            rows.append(row)
            print_row(columns, row)
    return rows, train_time, phase_time


def print_summary(
    rows: list[dict[str, float]],
    targets: list[tuple[str, Callable[[dict[str, float]], bool]]],
    agent,
    train_time: float,
    phase_time: dict[str, float],
) -> dict[str, dict[str, float] | None]:
    """Print the first evaluation that reached each target and the training time; return the former."""
    summary: dict[str, dict[str, float] | None] = {}
    print(f"\n{'first evaluation with':<22} {'steps':>10} {'train_s':>8}")
    for name, reached in targets:
        hit = next((row for row in rows if reached(row)), None)
        summary[name] = None if hit is None else {"steps": hit["steps"], "train_s": hit["train_s"]}
        cells = ("not reached", "") if hit is None else (f"{hit['steps']}", f"{hit['train_s']:.0f}")
        print(f"{name:<22} {cells[0]:>10} {cells[1]:>8}")
    print(f"# training {train_time:.0f} s: rollouts {phase_time['rollout_time_s']:.0f} s, "
          f"updates {phase_time['update_time_s']:.0f} s; {agent.global_step / max(train_time, 1e-9):.0f} steps/s; "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    return summary


def finite(stats: dict[str, float], key: str) -> bool:
    return bool(np.isfinite(stats.get(key, float("nan"))))
