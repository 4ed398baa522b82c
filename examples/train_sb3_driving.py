"""Train Stable-Baselines3 PPO on the driving task with two reward designs (CaRL vs Roach).

    python examples/train_sb3_driving.py --steps 100000

Hyperparameters come from rewardlab/baselines/hyperparams/ppo.yml (RL-Zoo format); agent_kwargs
override them. The same run with rewardlab's own PPO is algo="ppo".
"""

import argparse

from rewardlab.agents import train_and_evaluate

parser = argparse.ArgumentParser()
parser.add_argument("--env", default="rewardlab/DrivingHighway-v0")
parser.add_argument("--algo", default="sb3-ppo", help="sb3-ppo, sb3-sac, sb3-a2c or ppo")
parser.add_argument("--steps", type=int, default=20_000)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

for reward in ("carl", "roach"):
    result = train_and_evaluate(args.env, algo=args.algo, reward=reward, total_steps=args.steps, seed=args.seed)
    m = result.metrics
    print(f"{reward:>6}: driving score {m['driving_score']:.1f}, route completion {m['route_completion']:.1f}, "
          f"collisions {m['collisions']:.2f}")
