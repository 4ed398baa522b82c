"""Train MAPPO (centralised critic, shared actor) on a coopetition game and compare reward modes.

    python examples/train_mappo_coopetition.py --steps 50000

Each reward mode is one run of rewardlab.agents.train_and_evaluate; the table shows how the
learned policies differ in cooperation level and welfare.
"""

import argparse

from rewardlab.agents import train_and_evaluate

parser = argparse.ArgumentParser()
parser.add_argument("--env", default="rewardlab/CoopTeamProduction-v0")
parser.add_argument("--steps", type=int, default=24_000)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

print(f"{'reward':<12} {'return':>12} {'cooperation':>12} {'% of optimum':>13}")
for reward in ("private", "integrated", "cooperative"):
    result = train_and_evaluate(
        args.env,
        algo="mappo",
        reward=reward,
        agent_kwargs={"num_envs": 16, "num_steps": 100, "learning_rate": 1e-3, "gamma": 0.95},
        total_steps=args.steps,
        seed=args.seed,
    )
    m = result.metrics
    print(f"{reward:<12} {m['return']:>12.0f} {m['cooperation_level']:>12.2f} {m['welfare_pct_optimum']:>13.1f}")
