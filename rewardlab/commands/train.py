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

import numpy as np
import yaml

from rewardlab.core.errors import RewardlabError

HELP = "train an agent (rewardlab PPO/MAPPO or Stable-Baselines3) on an environment"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rewardlab.agents.run import ALGOS

    parser.add_argument("--env", help="environment id, e.g. rewardlab/CoopSLCD-v0 (required unless --resume)")
    parser.add_argument("--algo", default="ppo", choices=ALGOS, help="algorithm (default: ppo)")
    parser.add_argument("--reward", default=None, help="reward preset name or a YAML/JSON reward dict")
    parser.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
        help="agent setting (repeatable); env.<name>=value sets an environment parameter",
    )
    parser.add_argument("--steps", type=int, default=None,
                        help="training budget in instance-steps (default 100000; with --resume: the run's own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", default=None, help="run directory (default: runs/<env>-<algo>-s<seed>-<time>)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--save-every", type=int, default=0, metavar="UPDATES",
                        help="also checkpoint every this many updates (rewardlab agents)")
    parser.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue a rewardlab-agent run from RUN_DIR/checkpoint.pt to --steps (exactly as if uninterrupted)",
    )


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


def with_tuned_settings(env_id: str, algo: str, agent_kwargs: dict[str, Any], reward: Any = None) -> dict[str, Any]:
    """The shipped settings for ``env_id`` and ``reward`` (rewardlab's agents only) under the user's
    ``--set`` values."""
    from rewardlab.agents.run import OWN_ALGOS
    from rewardlab.agents.tuned import TUNED_FILE, tuned_settings

    shipped = tuned_settings(env_id, reward) if algo in OWN_ALGOS else {}
    if shipped:
        kept = {k: v for k, v in shipped.items() if k not in agent_kwargs}
        print(f"{env_id}: shipped {algo} settings from {TUNED_FILE.name} {kept} (--set overrides them)")
    return {**shipped, **agent_kwargs}


def default_run_dir(env_id: str, algo: str, seed: int) -> Path:
    name = env_id.split("/")[-1].replace(":", "_")
    return Path("runs") / f"{name}-{algo}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(args: argparse.Namespace) -> int:
    from rewardlab.agents.run import OWN_ALGOS, train_and_evaluate

    if args.resume:
        return resume(args)
    if not args.env:
        raise RewardlabError("train needs --env ID (or --resume RUN_DIR)")
    if args.steps is None:
        args.steps = 100_000
    agent_kwargs, env_kwargs = parse_settings(args.settings)
    agent_kwargs = with_tuned_settings(args.env, args.algo, agent_kwargs, parse_reward(args.reward))
    out = Path(args.out) if args.out else default_run_dir(args.env, args.algo, args.seed)
    if args.save_every and args.algo not in OWN_ALGOS:
        raise RewardlabError(f"--save-every applies to rewardlab's agents {OWN_ALGOS}, not {args.algo}")
    if args.save_every:
        return train_own_with_saves(args, agent_kwargs, env_kwargs, out)
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
    report(result, f"{args.algo} on {args.env}", out, args.steps, args.eval_episodes)
    return 0


def report(result, title: str, out: Path, requested_steps: int, eval_episodes: int) -> None:
    """Print the evaluation table (per-episode statistics) and what the run trained and evaluated.

    The agents train whole updates (``num_envs x num_steps`` instance-steps each), so the steps
    trained can differ from the budget asked for; both are printed and kept in config.json.
    """
    from rich.console import Console

    from rewardlab.agents.runlog import record_budget
    from rewardlab.commands.evaluate import LoadedPolicy, metrics_table

    episodes, trained = result.episodes, result.trained_steps
    if not episodes or trained is None:
        # an SB3 run: its evaluation episodes again (same policy, same seeds, deterministic)
        policy = LoadedPolicy(out)
        if not episodes:
            episodes = policy.episodes(eval_episodes, seed=None)
        if trained is None and hasattr(policy, "model"):
            trained = int(policy.model.num_timesteps) // policy.num_agents
            record_budget(out, trained, eval_episodes)
    count = max((np.asarray(v).size for v in episodes.values()), default=0)
    console = Console()
    console.print(metrics_table(episodes, title=f"{title}: {count} evaluation episode(s), deterministic policy"))
    line = f"trained {trained:,} steps" if trained is not None else "trained"
    if trained is not None and trained != requested_steps:
        line += f" (asked for {requested_steps:,}; training runs whole updates)"
    timing = [f"{result.metrics[k]:.1f} s training" for k in ("train_time_s",) if k in result.metrics]
    console.print(", ".join([line, *timing]))
    console.print(f"run directory: {out}  (tensorboard --logdir {out})")


def train_own_with_saves(args: argparse.Namespace, agent_kwargs: dict, env_kwargs: dict, out: Path) -> int:
    """train_and_evaluate's path for rewardlab agents, with periodic checkpoints."""
    import dataclasses

    from rewardlab.agents import MAPPO, PPO, PPOConfig
    from rewardlab.agents.envs import make_env_sim
    from rewardlab.agents.run import run_agent
    from rewardlab.agents.runlog import write_run_config

    config = PPOConfig.from_kwargs(f"{args.env} ({args.algo})", agent_kwargs)
    reward = parse_reward(args.reward)
    sim = make_env_sim(args.env, config.num_envs, reward, env_kwargs)
    agent = (MAPPO if args.algo == "mappo" else PPO)(sim, config, seed=args.seed, device=args.device)
    agent.env_info = {"env_id": args.env, "reward": reward, "env_kwargs": env_kwargs, "algo": args.algo}
    write_run_config(
        out,
        {
            "env_id": args.env,
            "algo": args.algo,
            "reward": reward,
            "reward_spec": sim.reward_spec.to_dict(),
            "env_kwargs": env_kwargs,
            "agent": {k: v for k, v in dataclasses.asdict(config).items() if k != "phase_fn"},
            "total_steps": args.steps,
            "seed": args.seed,
            "device": str(agent.device),
        },
    )
    result = run_agent(
        agent,
        args.steps,
        args.eval_episodes,
        out,
        not args.no_progress,
        args.save_every,
        title=f"{args.algo} {args.env}",
    )
    report(result, f"{args.algo} on {args.env}", out, args.steps, args.eval_episodes)
    return 0


def resume(args: argparse.Namespace) -> int:
    import json

    from rewardlab.agents import PPO
    from rewardlab.agents.run import run_agent

    run_dir = Path(args.resume)
    if not (run_dir / "checkpoint.pt").exists():
        raise RewardlabError(f"--resume {run_dir}: no checkpoint.pt (only rewardlab-agent runs resume)")
    agent = PPO.load(run_dir / "checkpoint.pt", device=args.device)
    config_path = run_dir / "config.json"
    total = args.steps
    if total is None and config_path.exists():
        # the run's own budget: the learning-rate schedule then matches the uninterrupted run
        total = json.loads(config_path.read_text()).get("total_steps")
    if total is None:
        raise RewardlabError(f"--resume {run_dir}: no config.json with total_steps; pass --steps")
    result = run_agent(
        agent,
        total,
        args.eval_episodes,
        run_dir,
        not args.no_progress,
        args.save_every,
        title=f"resume {agent.sim.env_id}",
    )
    report(result, f"{agent.algo_name} on {agent.sim.env_id} (resumed)", run_dir, total, args.eval_episodes)
    return 0
