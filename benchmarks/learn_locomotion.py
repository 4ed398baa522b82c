"""Learning benchmark: samples and wall clock for rewardlab's PPO to learn the trot of LocoImitation-v0.

    python benchmarks/learn_locomotion.py --steps 10000000                     # shipped settings, MLP
    python benchmarks/learn_locomotion.py --steps 10000000 --policy lpn        # the Linear Policy Net
    python benchmarks/learn_locomotion.py --steps 2000000 --set gamma=0.99 --set env.init_noise=0.1

Trains from the settings ``rewardlab train`` ships for the environment (``tuned_ppo.yml``) with
the ``--set`` values laid over them (``env.KEY=VALUE`` sets an environment parameter), and every
``--eval-every`` instance-steps evaluates the deterministic policy on ``--eval-episodes`` fresh
episodes (the evaluation ``rewardlab train`` runs at the end). Each evaluation prints one row:

* steps: instance-steps trained so far; train_s: wall clock of training only (evaluations excluded);
* length: mean evaluation episode length (500 = the 10 s limit); full: share of full-length episodes;
* imit/step: imitation reward per step, sum of ``imitation_return`` over sum of lengths (at most 1;
  the PD tracker of the reference scores 0.864 on the default trot);
* speed: the root's mean forward speed over the episodes, m/s (the reference trots at 0.5);
* train length, train imit/step: the same for the stochastic training episodes of the last update.

At the end it prints the first evaluation at which the mean length reached 500 (and 450) and
the imitation reward per step reached each ``--levels`` value: samples and training wall clock.
A measurement, not a test: the figures depend on the machine and its load.
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

ENV_ID = "rewardlab/LocoImitation-v0"
#: printed columns: header, width, format, row key
COLUMNS = [("steps", 10, "d", "steps"), ("train_s", 8, ".0f", "train_s"), ("length", 7, ".1f", "length"),
           ("full", 5, ".2f", "full"), ("imit/step", 9, ".3f", "imitation_per_step"), ("speed", 6, ".2f", "speed"),
           ("train length", 12, ".1f", "train_length"), ("train imit/step", 15, ".3f", "train_imitation_per_step")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000_000, help="training budget, instance-steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policy", choices=("mlp", "lpn"), default="mlp")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="PPO setting, or env.KEY=VALUE for an environment parameter (repeatable)")
    parser.add_argument("--reward", default=None, help="reward preset (default: the env's, imitation)")
    parser.add_argument("--no-tuned", action="store_true", help="start from PPOConfig's defaults, not tuned_ppo.yml")
    parser.add_argument("--eval-every", type=int, default=500_000, help="instance-steps between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=16)
    parser.add_argument("--levels", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.75])
    parser.add_argument("--json", default=None, help="also write the rows and the summary to this file")
    parser.add_argument("--save", default=None, metavar="PATH", help="save the trained agent (PPO.save) to PATH")
    return parser.parse_args(argv)


def evaluate(agent, episodes: int, control_dt: float) -> dict[str, float]:
    """Deterministic evaluation on fresh episodes (seed + 1,000,000, as the runner's)."""
    result = agent.evaluate_episodes(episodes)
    length = np.asarray(result["length"], dtype=np.float64)
    imitation = np.asarray(result["imitation_return"], dtype=np.float64)
    return {
        "length": float(length.mean()),
        "full": float(np.mean(length >= 500)),
        "imitation_per_step": float(imitation.sum() / max(length.sum(), 1.0)),
        # forward speed of the root over the episodes (the reference's is ``speed``): a policy that
        # lags behind ends on the root error, not on a fall
        "speed": float(np.sum(result["distance"]) / max(length.sum() * control_dt, 1e-9)),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # the LPN takes phi from the simulator's phase entries (46, 47)
    agent, agent_kwargs, env_kwargs = build_agent(ENV_ID, args, {"policy": "lpn"} if args.policy == "lpn" else None)
    sim = agent.sim
    print(f"# {ENV_ID} seed {args.seed} policy {args.policy} steps {args.steps}")
    print(f"# agent {agent_kwargs}  env {env_kwargs}  load average {os.getloadavg()[0]:.1f}")
    print_header(COLUMNS)

    def evaluate_row(agent, last: dict[str, float]) -> dict[str, float]:
        row = evaluate(agent, args.eval_episodes, sim.params.control_dt)
        train_length = float(last.get("length", float("nan")))
        row["train_length"] = train_length
        row["train_imitation_per_step"] = float(last.get("metric/imitation_return", float("nan"))) / max(
            train_length, 1.0
        )
        return row

    rows, train_time, phase_time = train_with_evaluations(
        agent, args.steps, args.eval_every, evaluate_row, lambda stats: finite(stats, "length"), COLUMNS
    )
    targets = [("length >= 450", lambda r: r["length"] >= 450), ("length = 500", lambda r: r["length"] >= 500)]
    targets += [
        (f"imit/step >= {level:g}", lambda r, level=level: r["imitation_per_step"] >= level) for level in args.levels
    ]
    summary = print_summary(rows, targets, agent, train_time, phase_time)
    save_outputs(args, agent, {"agent": agent_kwargs, "env": env_kwargs}, rows, summary, train_time, phase_time)
    return 0


if __name__ == "__main__":
    sys.exit(main())
