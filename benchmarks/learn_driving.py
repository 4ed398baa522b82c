"""Learning benchmark: samples and wall clock for rewardlab's PPO to reach driving-score levels.

    python benchmarks/learn_driving.py --reward carl --steps 2000000                 # DrivingTown-v0
    python benchmarks/learn_driving.py --reward roach --steps 2000000
    python benchmarks/learn_driving.py --env rewardlab/DrivingHighway-v0 --reward carl --steps 1000000
    python benchmarks/learn_driving.py --reward carl --set num_envs=128 --set env.action=discrete

Trains from the settings ``rewardlab train`` ships for the id (``tuned_ppo.yml``; ``--no-tuned``:
PPOConfig's defaults) with the ``--set`` values laid over them (``env.KEY=VALUE`` sets an
environment parameter), and every ``--eval-every`` instance-steps evaluates the deterministic
policy on ``--eval-episodes`` fresh episodes (seed + 1,000,000, the evaluation ``rewardlab train``
runs at the end). Each evaluation prints one row:

* steps: instance-steps trained so far; train_s: wall clock of training only (evaluations excluded);
* DS: mean driving score (route completion x infraction penalties, 0-100); RC: mean route completion %;
* done: share of episodes that completed their route;
* red, coll, block, dev: red lights run, collisions, blocked events and route deviations per episode;
* train DS: the mean driving score of the stochastic training episodes of the last update.

At the end it prints the first evaluation at which the driving score reached each ``--levels``
value: samples and training wall clock. A measurement, not a test: the figures depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

#: printed columns (header, width, format) and the row keys they show
COLUMNS = [("steps", 10, "d"), ("train_s", 8, ".0f"), ("DS", 6, ".1f"), ("RC", 6, ".1f"), ("done", 5, ".2f"),
           ("red", 5, ".2f"), ("coll", 5, ".2f"), ("block", 5, ".2f"), ("dev", 5, ".2f"), ("train DS", 8, ".1f")]
ROW_KEYS = ["steps", "train_s", "driving_score", "route_completion", "route_completed", "red_lights", "collisions",
            "blocked", "route_deviation", "train_driving_score"]
EVAL_METRICS = ROW_KEYS[2:-1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="rewardlab/DrivingTown-v0")
    parser.add_argument("--reward", default="carl", help="reward preset: carl or roach (or any driving preset)")
    parser.add_argument("--steps", type=int, default=2_000_000, help="training budget, instance-steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="PPO setting, or env.KEY=VALUE for an environment parameter (repeatable)")
    parser.add_argument("--no-tuned", action="store_true", help="start from PPOConfig's defaults, not tuned_ppo.yml")
    parser.add_argument("--eval-every", type=int, default=250_000, help="instance-steps between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=32)
    parser.add_argument("--levels", type=float, nargs="+", default=[50.0, 60.0, 70.0, 80.0, 90.0])
    parser.add_argument("--json", default=None, help="also write the rows and the summary to this file")
    parser.add_argument("--save", default=None, metavar="PATH", help="save the trained agent (PPO.save) to PATH")
    return parser.parse_args(argv)


def evaluate(agent, episodes: int) -> dict[str, float]:
    """Means over fresh deterministic episodes of the metrics the table shows."""
    result = agent.evaluate_episodes(episodes)
    return {name: float(np.mean(result[name])) for name in EVAL_METRICS if name in result}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from rewardlab.agents.ppo import PPO, PPOConfig
    from rewardlab.agents.run import make_env_sim
    from rewardlab.agents.tuned import tuned_settings
    from rewardlab.commands.train import parse_reward, parse_settings

    agent_kwargs, env_kwargs = parse_settings(args.settings)
    shipped = {} if args.no_tuned else tuned_settings(args.env)
    agent_kwargs = {**shipped, **agent_kwargs}
    config = PPOConfig.from_kwargs(f"{args.env} (ppo)", agent_kwargs)
    sim = make_env_sim(args.env, config.num_envs, parse_reward(args.reward), env_kwargs)
    agent = PPO(sim, config, seed=args.seed, device="cpu")
    print(f"# {args.env} reward {args.reward} seed {args.seed} steps {args.steps}")
    print(f"# agent {agent_kwargs}  env {env_kwargs}  load average {os.getloadavg()[0]:.1f}")
    print(" ".join(f"{name:>{width}}" for name, width, _ in COLUMNS), flush=True)

    rows: list[dict[str, float]] = []
    train_time = 0.0
    next_eval = args.eval_every
    num_updates = max(1, args.steps // agent.steps_per_update)
    last: dict[str, float] = {}
    phase_time = {"rollout_time_s": 0.0, "update_time_s": 0.0}
    while agent.update < num_updates:
        start = time.perf_counter()
        stats = agent.train_one_update(num_updates)
        train_time += time.perf_counter() - start
        for key in phase_time:
            phase_time[key] += stats[key]
        if np.isfinite(stats.get("metric/driving_score", float("nan"))):
            last = stats
        if agent.global_step >= next_eval or agent.update == num_updates:
            next_eval += args.eval_every
            row = {"steps": agent.global_step, "train_s": train_time}
            row.update(evaluate(agent, args.eval_episodes))
            row["train_driving_score"] = float(last.get("metric/driving_score", float("nan")))
            rows.append(row)
            cells = zip(COLUMNS, ROW_KEYS, strict=True)
            print(" ".join(f"{row.get(key, float('nan')):>{width}{form}}" for (_, width, form), key in cells),
                  flush=True)

    summary: dict[str, dict[str, float] | None] = {}
    print(f"\n{'first evaluation with':<22} {'steps':>10} {'train_s':>8}")
    for level in args.levels:
        name = f"DS >= {level:g}"
        hit = next((r for r in rows if r["driving_score"] >= level), None)
        summary[name] = None if hit is None else {"steps": hit["steps"], "train_s": hit["train_s"]}
        cells = ("not reached", "") if hit is None else (f"{hit['steps']}", f"{hit['train_s']:.0f}")
        print(f"{name:<22} {cells[0]:>10} {cells[1]:>8}")
    print(f"# training {train_time:.0f} s: rollouts {phase_time['rollout_time_s']:.0f} s, "
          f"updates {phase_time['update_time_s']:.0f} s; {agent.global_step / max(train_time, 1e-9):.0f} steps/s; "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.save:
        agent.save(args.save)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "agent": agent_kwargs, "env": env_kwargs, "rows": rows, "summary": summary,
                       "train_s": train_time, **phase_time}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
