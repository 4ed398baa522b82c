"""Throughput of the driving family's settings: single envs, make_vec, bird's-eye view, pedestrians.

    python benchmarks/bench_driving.py                  # every group, 5 interleaved rounds of 1 s
    python benchmarks/bench_driving.py --quick          # a smoke run
    python benchmarks/bench_driving.py --only pedestrians   # grid single envs without / with pedestrians
    python benchmarks/bench_driving.py --breakdown      # CPU time per part of a batched town step, B = 64
    python benchmarks/bench_driving.py --train-split runs/split   # the simulator's share of PPO training

`rewardlab bench --family driving` compares DrivingHighway with highway-env (per step, per
simulated second, and highway-env at rewardlab's 10 Hz) in the same run; this script covers the
other scenarios and settings and has no peer rows.

Rows (``--only`` picks one group): ``single``: ``gym.make(id)`` for the three single-ego ids;
``batched``: ``gym.make_vec`` with vector observations for DrivingHighway and DrivingTown, and
DrivingHighway with episodes that only end at the time limit (``terminate_on=[]``: the
simulator without the resets that carl's infraction terminations cause under random actions);
``bev``: ``gym.make_vec`` with the 10 x 64 x 64 bird's-eye view; ``pedestrians``: the grid
scenarios' single env with ``pedestrians_per_crossing`` 0 and 1. Random actions are uniform
over the whole action space, drawn before the clock starts; resets count. All rows of the run
are timed interleaved in rounds, each keeping its best round, per CPU-second of this process and
per wall-clock second (on a shared machine the wall figure also counts the time other processes
held the cores); the load average is printed. OMP/MKL/OpenBLAS threads are pinned to 1.

``--breakdown`` steps ``make_sim("rewardlab/DrivingTown-v0", num_envs=64)`` (a study's batch)
with clipped Gaussian actions (a fresh PPO policy's) and autoreset, and prints the CPU time per
batched step of each part of the step, measured by wrapping the simulator's methods with a timer.
``--train-split`` runs ``rewardlab train --env rewardlab/DrivingTown-v0 --steps 200000 --set
num_envs=64 --set num_steps=128 --set num_minibatches=8`` in this process and prints the CPU
time of PPO's ``learn`` and, within it, of the simulator's steps (resets and observations
included).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from rewardlab.bench.cases import rewardlab_single, rewardlab_vector  # noqa: E402
from rewardlab.bench.timing import Case, measure  # noqa: E402

GROUPS = ("single", "batched", "bev", "pedestrians")


def cases_for(group: str, quick: bool) -> list[Case]:
    batch, bev_batch = (64, 32) if quick else (1024, 256)
    if group == "single":
        return [Case(f"single:{name}", f"rewardlab {name}", "rewardlab",
                     lambda name=name: rewardlab_single(f"rewardlab/{name}"), note="single env, vector obs")
                for name in ("DrivingHighway-v0", "DrivingIntersection-v0", "DrivingTown-v0")]
    if group == "batched":
        rows = [Case(f"batched:{name}", f"rewardlab {name}", "rewardlab",
                     lambda name=name: rewardlab_vector(f"rewardlab/{name}", batch), instances=batch,
                     note="make_vec, vector obs")
                for name in ("DrivingHighway-v0", "DrivingTown-v0")]
        no_end = {"reward": {"preset": "carl", "terminate_on": []}}
        rows.append(Case("batched:no-end", "rewardlab DrivingHighway-v0", "rewardlab",
                         lambda: rewardlab_vector("rewardlab/DrivingHighway-v0", batch, **no_end),
                         instances=batch,
                         note="make_vec, vector obs, no terminations"))
        return rows
    if group == "bev":
        return [Case("bev", "rewardlab DrivingHighway-v0", "rewardlab",
                     lambda: rewardlab_vector("rewardlab/DrivingHighway-v0", bev_batch, obs="bev"),
                     instances=bev_batch, note="make_vec, BEV 10x64x64 uint8")]
    return [Case(f"pedestrians:{name}:{per}", f"rewardlab {name}", "rewardlab",
                 lambda name=name, per=per: rewardlab_single(f"rewardlab/{name}",
                                                             pedestrians_per_crossing=per),
                 note=f"single env, pedestrians_per_crossing={per}")
            for name in ("DrivingIntersection-v0", "DrivingTown-v0") for per in (0, 1)]


def _timed(method, label: str, spent: dict[str, float]):
    """``method`` wrapped to add its CPU time to ``spent[label]``."""
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - start
    return wrapper


def train_split(out_dir: str) -> None:
    """CPU time of a study's PPO training and of the simulator's steps within it."""
    from rewardlab.agents.ppo import PPO
    from rewardlab.cli import main as cli
    from rewardlab.core.sim import BatchedSim
    from rewardlab.envs.driving.sim import DrivingSim

    parts = [(PPO, "learn", "PPO.learn"), (BatchedSim, "step", "simulator steps"),
             (DrivingSim, "_reset", "resets"), (DrivingSim, "_observe", "observations")]
    spent = dict.fromkeys([label for _, _, label in parts], 0.0)
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in parts]
    for owner, name, label in parts:
        setattr(owner, name, _timed(getattr(owner, name), label, spent))
    try:
        cli(["train", "--env", "rewardlab/DrivingTown-v0", "--steps", "200000", "--set", "num_envs=64",
             "--set", "num_steps=128", "--set", "num_minibatches=8", "--no-progress", "--eval-episodes", "1",
             "--out", out_dir])
    finally:
        for owner, name, method in originals:
            setattr(owner, name, method)
    learn = spent["PPO.learn"]
    print(f"load average {os.getloadavg()[0]:.2f}")
    for label, seconds in spent.items():
        print(f"{label:20s} {seconds:7.1f} s CPU  {100 * seconds / learn:5.1f} % of PPO.learn")


def breakdown(num_envs: int = 64, steps: int = 600, warmup: int = 100) -> None:
    """CPU time per batched step of each part of a town step (parts nest: see the indentation)."""
    import rewardlab
    from rewardlab.core.sim import BatchedSim
    from rewardlab.envs.driving import checks, pedestrians, sim, traffic

    parts = [  # (owner, method, label)
        (BatchedSim, "step", "BatchedSim.step (everything)"),
        (sim.DrivingSim, "_step", "  DrivingSim._step"),
        (sim.DrivingSim, "_move_road_users", "    pedestrians and traffic"),
        (traffic.Traffic, "_change_lanes", "      of which MOBIL lane changes"),
        (traffic.Traffic, "_respawn", "      of which respawns"),
        (pedestrians.Pedestrians, "step", "      of which pedestrians"),
        (sim.DrivingSim, "_move_egos", "    egos: bicycle, Frenet, route place"),
        (sim.DrivingSim, "_perceive_rows", "    perception (also at resets)"),
        (checks.InfractionMonitor, "check", "    infraction checks"),
        (sim.DrivingSim, "_measure", "    measurements for the reward"),
        (sim.DrivingSim, "_reset", "  resets"),
        (sim.DrivingSim, "_observe", "  observations"),
        (sim.DrivingSim, "_episode_metrics", "  episode metrics"),
    ]
    spent = dict.fromkeys([label for _, _, label in parts], 0.0)
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in parts]
    try:
        env = rewardlab.make_sim("rewardlab/DrivingTown-v0", num_envs=num_envs)
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        actions = np.clip(rng.normal(0.0, 1.0, (warmup + steps, num_envs, 1, 2)), -1.0, 1.0)
        for a in actions[:warmup]:
            env.step(a, autoreset=True)
        for owner, name, label in parts:
            setattr(owner, name, _timed(getattr(owner, name), label, spent))
        for a in actions[warmup:]:
            env.step(a, autoreset=True)
    finally:
        for owner, name, method in originals:
            setattr(owner, name, method)
    total = spent[parts[0][2]]
    print(f"DrivingTown-v0, B = {num_envs}, {steps} steps; load average {os.getloadavg()[0]:.2f}")
    for label, seconds in spent.items():
        print(f"{label:42s} {1e6 * seconds / steps:8.0f} us per step  {100 * seconds / total:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batches, 2 rounds of 0.25 s")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5; quick 2)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per row per round (default 1)")
    parser.add_argument("--only", choices=GROUPS, help="run one group of rows only")
    parser.add_argument("--breakdown", action="store_true",
                        help="CPU time of each part of a batched town step (B = 64) instead of the rows")
    parser.add_argument("--train-split", metavar="RUN_DIR",
                        help="train as a study does (into RUN_DIR) and print the simulator's CPU share")
    args = parser.parse_args()
    if args.train_split:
        train_split(args.train_split)
        return
    if args.breakdown:
        breakdown()
        return
    rounds = args.rounds or (2 if args.quick else 5)
    seconds = args.seconds or (0.25 if args.quick else 1.0)
    groups = [args.only] if args.only else [g for g in GROUPS if g != "pedestrians"]
    cases = [case for group in groups for case in cases_for(group, args.quick)]
    load_before = os.getloadavg()[0]
    rows = measure(cases, rounds, seconds)
    print(f"{rounds} interleaved rounds of {seconds:g} s, best kept; {os.cpu_count()} CPUs, load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"| {'environment':32s} | {'setting':46s} | {'B':>5s} | {'steps/s (CPU)':>13s} "
          f"| {'steps/s (wall)':>14s} |")
    print(f"|{'-' * 34}|{'-' * 48}|{'-' * 7}|{'-' * 15}|{'-' * 16}|")
    for row in rows:
        c = row.case
        print(f"| {c.label:32s} | {c.note:46s} | {c.instances:5d} | {row.cpu_rate:13,.0f} "
              f"| {row.wall_rate:14,.0f} |")


if __name__ == "__main__":
    main()
