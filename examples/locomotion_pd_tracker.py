"""Score the PD gait tracker, standing targets and random actions on every reference motion.

    python examples/locomotion_pd_tracker.py [--envs 4] [--steps 500] [--sweep]

Prints, per motion, the imitation reward per step (maximum 1) and the mean episode length in
steps (500 = the 10 s time limit) of each policy, over ``--envs`` instances seeded 0..envs-1;
then two ablations of the tracker on the gaits (the reference without its pendulum sway; no
acceleration feed-forward); then the smoothness metrics of the finished episodes (CAPS Sm, mean
action rate, share of action energy above 5 Hz, mechanical power): reference points for the
smoothness study; then the PD joystick trotter against standing still on LocoJoystick-v0
(2 x ``--envs`` instances). ``--sweep`` prints instead the tracker on each gait at 0, 0.3 and
0.8 m/s.
"""

from __future__ import annotations

import argparse

import numpy as np

from rewardlab.baselines.locomotion import PDGaitTracker, PDJoystickTrotter
from rewardlab.core.registry import make_sim

MOTIONS = (("trot", 0.5), ("walk", 0.3), ("pace", 0.5), ("bound", 0.5), ("pronk", 0.3), ("jump", 0.0))


SMOOTHNESS = ("smoothness_sm", "action_rate", "high_freq_energy", "mechanical_power")


def play(sim, policy, steps: int, smoothness: dict | None = None) -> tuple[float, float]:
    """Imitation reward per step and mean episode length, counting unfinished episodes.

    With ``smoothness`` (a dict), the smoothness metrics of finished episodes are appended to it.
    """
    returns, lengths = [], []
    for _ in range(steps):
        step = sim.step(policy(sim), autoreset=True)
        if step.episode_metrics is not None:
            returns += list(step.episode_metrics["imitation_return"][step.done])
            lengths += list(step.episode_metrics["length"][step.done])
            if smoothness is not None:
                for name in SMOOTHNESS:
                    smoothness.setdefault(name, []).extend(step.episode_metrics[name][step.done])
    running = sim.t > 0
    returns += list(sim.sum_task[running])
    lengths += list(sim.t[running])
    return float(np.sum(returns) / np.sum(lengths)), float(np.mean(lengths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--sweep", action="store_true", help="instead: the PD tracker at 0, 0.3 and 0.8 m/s")
    args = parser.parse_args()
    if args.sweep:
        speeds = (0.0, 0.3, 0.8)
        print("| motion | " + " | ".join(f"PD tracker at {v} m/s" for v in speeds) + " |")
        print("|---" * (len(speeds) + 1) + "|")
        for motion, _ in MOTIONS[:5]:
            cells = []
            for speed in speeds:
                sim = make_sim("rewardlab/LocoImitation-v0", num_envs=args.envs, motion=motion, speed=speed)
                sim.reset(seed=0)
                per_step, length = play(sim, PDGaitTracker(sim), args.steps)
                cells.append(f"{per_step:.3f}, {length:.0f}")
            print(f"| {motion} | " + " | ".join(cells) + " |")
        return
    rng = np.random.default_rng(0)
    policies = {
        "PD tracker": None,
        "zero action": lambda sim: np.zeros((sim.num_envs, 1, 12)),
        "random": lambda sim: rng.uniform(-1, 1, (sim.num_envs, 1, 12)),
    }
    print("| motion (speed) | " + " | ".join(policies) + " |")
    print("|---" * (len(policies) + 1) + "|")
    smooth_rows = []
    for motion, speed in MOTIONS:
        cells = []
        for name, policy in policies.items():
            sim = make_sim("rewardlab/LocoImitation-v0", num_envs=args.envs, motion=motion, speed=speed)
            sim.reset(seed=0)
            metrics: dict = {}
            per_step, length = play(sim, PDGaitTracker(sim) if policy is None else policy, args.steps, metrics)
            cells.append(f"{per_step:.3f}, {length:.0f}")
            if name != "zero action" and metrics:
                smooth_rows.append((f"{motion}, {name}", [np.mean(metrics[k]) for k in SMOOTHNESS]))
        print(f"| {motion} ({speed} m/s) | " + " | ".join(cells) + " |")
    print()
    print("| motion (speed) | PD tracker, reference without sway (sway=False) | PD tracker without the acceleration feed-forward (accel_gain=0) |")
    print("|---|---|---|")
    for motion, speed in MOTIONS[:5]:
        cells = []
        for env_kwargs, tracker_kwargs in (({"sway": False}, {}), ({}, {"accel_gain": 0.0})):
            sim = make_sim("rewardlab/LocoImitation-v0", num_envs=args.envs, motion=motion, speed=speed, **env_kwargs)
            sim.reset(seed=0)
            per_step, length = play(sim, PDGaitTracker(sim, **tracker_kwargs), args.steps)
            cells.append(f"{per_step:.3f}, {length:.0f}")
        print(f"| {motion} ({speed} m/s) | " + " | ".join(cells) + " |")
    print()
    print("| motion, policy (finished episodes) | " + " | ".join(SMOOTHNESS) + " |")
    print("|---" * (len(SMOOTHNESS) + 1) + "|")
    for label, values in smooth_rows:
        print(f"| {label} | " + " | ".join(f"{v:.4g}" for v in values) + " |")
    print()
    print("| LocoJoystick-v0 policy | tracking return per step (max 1.5) | mean length | tracking_lin_vel |")
    print("|---|---|---|---|")
    for name, policy in (("PD joystick trotter", None), ("zero action", policies["zero action"])):
        sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=2 * args.envs)
        sim.reset(seed=0)
        policy = PDJoystickTrotter(sim) if policy is None else policy
        total, lengths, tracking = [], [], []
        for _ in range(args.steps):
            step = sim.step(policy(sim), autoreset=True)
            tracking.append(step.terms["tracking_lin_vel"][:, 0].mean())
            if step.episode_metrics is not None:
                total += list(step.episode_metrics["tracking_return"][step.done])
                lengths += list(step.episode_metrics["length"][step.done])
        running = sim.t > 0
        total += list(sim.sum_task[running])
        lengths += list(sim.t[running])
        print(f"| {name} | {np.sum(total) / np.sum(lengths):.3f} | {np.mean(lengths):.0f} | {np.mean(tracking):.3f} |")


if __name__ == "__main__":
    main()
