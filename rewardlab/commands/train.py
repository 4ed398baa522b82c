"""`rewardlab train`: train an agent on an environment id and write a run directory.

    rewardlab train --env rewardlab/CoopSLCD-v0 --algo mappo --reward integrated \\
        --set num_envs=64 --set learning_rate=1e-3 --set env.horizon=50 --steps 200000 --seed 1

``--set key=value`` sets an agent setting (a PPOConfig field, or an SB3 keyword argument);
``--set env.<name>=value`` sets an environment parameter. Values are read as YAML (``1e-3``,
``true``, ``[64, 64]``). ``--reward`` is a preset name or a YAML/JSON reward dict
(``'{preset: carl, weights: {ttc: 0.5}}'``). The run directory holds config.json (with the seed),
TensorBoard events (``tensorboard --logdir DIR``), curve.json, metrics.json and the checkpoint.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import yaml

from rewardlab.core.errors import RewardlabError

HELP = "train an agent (rewardlab PPO/MAPPO or Stable-Baselines3) on an environment"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rewardlab.agents.run import ALGOS

    parser.add_argument("--env", required=True, help="environment id, e.g. rewardlab/CoopSLCD-v0")
    parser.add_argument("--algo", default="ppo", choices=ALGOS, help="algorithm (default: ppo)")
    parser.add_argument("--reward", default=None, help="reward preset name or a YAML/JSON reward dict")
    parser.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
        help="agent setting (repeatable); env.<name>=value sets an environment parameter",
    )
    parser.add_argument("--steps", type=int, default=100_000, help="training budget in instance-steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", default=None, help="run directory (default: runs/<env>-<algo>-s<seed>-<time>)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_settings(pairs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``KEY=VALUE`` strings to (agent settings, environment parameters)."""
    agent: dict[str, Any] = {}
    env: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RewardlabError(f"--set expects KEY=VALUE, got {pair!r}")
        if key.startswith("env."):
            env[key[4:]] = parse_value(value)
        else:
            agent[key] = parse_value(value)
    return agent, env


def parse_reward(text: str | None) -> Any:
    if text is None:
        return None
    value = parse_value(text)
    if isinstance(value, (str, dict)):
        return value
    raise RewardlabError(f"--reward expects a preset name or a reward dict, got {text!r}")


def default_run_dir(env_id: str, algo: str, seed: int) -> Path:
    name = env_id.split("/")[-1].replace(":", "_")
    return Path("runs") / f"{name}-{algo}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from rewardlab.agents.run import train_and_evaluate
    from rewardlab.commands.evaluate import metrics_table

    agent_kwargs, env_kwargs = parse_settings(args.settings)
    out = Path(args.out) if args.out else default_run_dir(args.env, args.algo, args.seed)
    result = train_and_evaluate(
        args.env,
        algo=args.algo,
        reward=parse_reward(args.reward),
        env_kwargs=env_kwargs,
        agent_kwargs=agent_kwargs,
        total_steps=args.steps,
        seed=args.seed,
        eval_episodes=args.eval_episodes,
        device=args.device,
        log_dir=out,
        progress=not args.no_progress,
    )
    console = Console()
    console.print(metrics_table({k: [v] for k, v in result.metrics.items()}, title=f"{args.algo} on {args.env}"))
    console.print(f"run directory: {out}  (tensorboard --logdir {out})")
    return 0
