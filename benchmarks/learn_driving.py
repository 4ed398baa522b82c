"""Learning benchmark: samples and wall clock for rewardlab's PPO to reach driving-score levels.

    python benchmarks/learn_driving.py --reward carl --steps 2000000                 # DrivingTown-v0
    python benchmarks/learn_driving.py --reward roach --steps 2000000
    python benchmarks/learn_driving.py --env rewardlab/DrivingHighway-v0 --reward carl --steps 1000000
    python benchmarks/learn_driving.py --reward carl --set num_envs=128 --set env.action=discrete

Trains from the settings ``rewardlab train`` ships for the id and reward (``tuned_ppo.yml``; ``--no-tuned``:
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
import os
import sys

import numpy as np
from learning_runs import (
    build_agent,
    finite,
    print_header,
    print_summary,
    save_outputs,
    train_with_evaluations,
)

#: printed columns: header, width, format, row key
COLUMNS = [("steps", 10, "d", "steps"), ("train_s", 8, ".0f", "train_s"), ("DS", 6, ".1f", "driving_score"),
           ("RC", 6, ".1f", "route_completion"), ("done", 5, ".2f", "route_completed"),
           ("red", 5, ".2f", "red_lights"), ("coll", 5, ".2f", "collisions"), ("block", 5, ".2f", "blocked"),
           ("dev", 5, ".2f", "route_deviation"), ("train DS", 8, ".1f", "train_driving_score")]
EVAL_METRICS = [key for *_, key in COLUMNS[2:-1]]


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
    agent, agent_kwargs, env_kwargs = build_agent(args.env, args)
    print(f"# {args.env} reward {args.reward} seed {args.seed} steps {args.steps}")
    print(f"# agent {agent_kwargs}  env {env_kwargs}  load average {os.getloadavg()[0]:.1f}")
    print_header(COLUMNS)

    def evaluate_row(agent, last: dict[str, float]) -> dict[str, float]:
        row = evaluate(agent, args.eval_episodes)
        row["train_driving_score"] = float(last.get("metric/driving_score", float("nan")))
        return row

    rows, train_time, phase_time = train_with_evaluations(
        agent, args.steps, args.eval_every, evaluate_row, lambda stats: finite(stats, "metric/driving_score"), COLUMNS
    )
    targets = [(f"DS >= {level:g}", lambda r, level=level: r["driving_score"] >= level) for level in args.levels]
    summary = print_summary(rows, targets, agent, train_time, phase_time)
    save_outputs(args, agent, {"agent": agent_kwargs, "env": env_kwargs}, rows, summary, train_time, phase_time)
    return 0


if __name__ == "__main__":
    sys.exit(main())
