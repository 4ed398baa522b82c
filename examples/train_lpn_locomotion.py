"""Train the Linear Policy Net with the action Jacobian penalty on quadruped imitation.

    python examples/train_lpn_locomotion.py --steps 200000 [--device auto]

a = K(phi) s + k(phi): the gains come from a small network of the gait phase phi, which the
locomotion observation holds as (cos, sin) at entries 46 and 47. The penalty lambda ||K(phi)||_F^2
is analytic (no extra backward pass). Compare with --policy mlp (autograd Jacobian penalty) or
--penalty 0; smoothness_sm (lower is smoother) is among the reported metrics.
"""

import argparse

from rewardlab.agents import train_and_evaluate

parser = argparse.ArgumentParser()
parser.add_argument("--env", default="rewardlab/LocoImitation-v0")
parser.add_argument("--policy", choices=("lpn", "mlp"), default="lpn")
parser.add_argument("--penalty", type=float, default=0.1)
parser.add_argument("--steps", type=int, default=50_000)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--device", default="cpu")
parser.add_argument("--log-dir", default=None)
args = parser.parse_args()

agent_kwargs = {
    "num_envs": 16,
    "num_steps": 128,
    "policy": args.policy,
    "jacobian_penalty": args.penalty,
    "hidden_sizes": (256, 256),
    "init_log_std": -1.0,
}
if args.policy == "lpn":
    agent_kwargs["phase_index"] = [46, 47]
result = train_and_evaluate(
    args.env,
    algo="ppo",
    reward="imitation",
    agent_kwargs=agent_kwargs,
    total_steps=args.steps,
    seed=args.seed,
    device=args.device,
    log_dir=args.log_dir,
    progress=True,
)
for key in ("return", "imitation_return", "smoothness_sm", "action_rate", "update_time_s"):
    if key in result.metrics:
        print(f"{key:>18}: {result.metrics[key]:.4f}")
