"""Score the PD gait tracker, standing targets and random actions on every reference motion.

    python examples/locomotion_pd_tracker.py [--envs 4] [--steps 500] [--sweep]

Prints, per motion, the imitation reward per step (maximum 1) and the mean episode length in
steps (500 = the 10 s time limit) of each policy, over ``--envs`` instances seeded 0..envs-1;
then two ablations of the tracker on the gaits (the reference without its pendulum sway; no
acceleration feed-forward); then the smoothness metrics of the finished episodes (CAPS Sm, mean
action rate, share of action energy above 5 Hz, mechanical power): reference points for the
smoothness study; then LocoJoystick-v0 episode returns under its default preset of standing
still, the PD joystick trotter and the PD imitation tracker, per fixed command (``--envs``
episodes each; cells: return (mean length, mean tracking_lin_vel)) and on 4 x ``--envs`` commands
drawn from the default ranges (``--joystick`` prints only these). ``--sweep`` prints instead the
tracker on each gait at 0, 0.3 and 0.8 m/s.
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


#: fixed commands (vx, vy, yaw rate) of the joystick table
COMMANDS = ((0.3, 0.0, 0.0), (0.5, 0.0, 0.0), (0.8, 0.0, 0.0), (-0.5, 0.0, 0.0), (0.0, 0.3, 0.0),
            (0.0, 0.0, 0.8), (0.5, 0.2, 0.4), (0.7, -0.2, -0.5), (0.0, 0.0, 0.0))


def joystick_episodes(policy_name: str, envs: int, steps: int, **env_kwargs) -> tuple[np.ndarray, ...]:
    """Episode return under the default preset, length (500 = no fall) and mean tracking_lin_vel
    per instance: one episode each, seeds 0..envs-1."""
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=envs, **env_kwargs)
    sim.reset(seed=0)
    if policy_name == "PD joystick trotter":
        policy = PDJoystickTrotter(sim)
    elif policy_name == "PD imitation tracker":
        # the imitation tracker of a trot at the commanded forward speed, fed the joystick
        # robot's state; the robot starts on the reference, as LocoImitation-v0 starts it
        imitation = make_sim("rewardlab/LocoImitation-v0", num_envs=envs, motion="trot",
                             speed=env_kwargs["command_vx"][0], random_start_phase=False)
        imitation.reset(seed=0)
        tracker = PDGaitTracker(imitation)
        sim.state[:] = imitation.state

        def policy(joystick):
            imitation.state[:], imitation.t[:] = joystick.state, joystick.t
            return tracker(imitation)
    else:
        def policy(joystick):
            return np.zeros((envs, 1, 12))
    returns, lengths, tracking = np.zeros(envs), np.zeros(envs), np.zeros(envs)
    running = np.ones(envs, dtype=bool)
    for _ in range(steps):
        step = sim.step(policy(sim))
        returns += step.reward[:, 0] * running
        tracking += step.terms["tracking_lin_vel"][:, 0] * running
        lengths += running
        running &= ~step.done
    return returns, lengths, tracking / lengths


def joystick_tables(envs: int, steps: int) -> None:
    """LocoJoystick-v0 under its default preset: standing still, the PD joystick trotter and
    (forward commands) the PD imitation tracker, per fixed command and on drawn commands."""
    names = ("zero action (standing)", "PD joystick trotter", "PD imitation tracker")
    print("| command (vx, vy, yaw rate) | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for command in COMMANDS:
        fixed = {"command_vx": (command[0],) * 2, "command_vy": (command[1],) * 2, "command_yaw": (command[2],) * 2}
        cells = []
        for name in names:
            if name == "PD imitation tracker" and (command[0] <= 0.0 or command[1] or command[2]):
                cells.append("")
                continue
            returns, lengths, tracking = joystick_episodes(name, envs, steps, **fixed)
            cells.append(f"{returns.mean():.0f} ({lengths.mean():.0f}, {tracking.mean():.2f})")
        print(f"| {command} | " + " | ".join(cells) + " |")
    print()
    print(f"| {4 * envs} commands drawn from the default ranges | mean return | min | max | falls | tracking_lin_vel |")
    print("|---|---|---|---|---|---|")
    for name in names[:2]:
        returns, lengths, tracking = joystick_episodes(name, 4 * envs, steps)
        print(f"| {name} | {returns.mean():.0f} | {returns.min():.0f} | {returns.max():.0f} | "
              f"{int((lengths < steps).sum())} | {tracking.mean():.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--sweep", action="store_true", help="instead: the PD tracker at 0, 0.3 and 0.8 m/s")
    parser.add_argument("--joystick", action="store_true", help="instead: only the LocoJoystick-v0 tables")
    args = parser.parse_args()
    if args.joystick:
        joystick_tables(args.envs, args.steps)
        return
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
    print("| motion (speed) | PD tracker, reference without sway (sway=False) "
          "| PD tracker without the acceleration feed-forward (accel_gain=0) |")
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
    joystick_tables(args.envs, args.steps)


if __name__ == "__main__":
    main()
