"""Throughput of the driving family against highway-env, side by side on one thread.

    python benchmarks/bench_driving.py            # full figures (a few minutes)
    python benchmarks/bench_driving.py --quick    # a smoke run
    python benchmarks/bench_driving.py --only single --repeats 1   # one group, e.g. for A/B runs
    python benchmarks/bench_driving.py --only pedestrians   # grid single env without / with pedestrians

Prints env-steps/s (best of ``--repeats``), per wall-clock second and per CPU second of this
process (``time.process_time``: on a shared machine the wall-clock figure also counts the time
other processes held the cores), for: the single Gymnasium env (random actions,
resets included), the batched simulator with vector observations at 1,024 instances, the
bird's-eye-view observation at 256 instances, and highway-env's ``highway-v0`` and
``highway-fast-v0`` (policy steps/s, random discrete actions, headless). OMP/MKL/OpenBLAS
threads are pinned to 1 before NumPy is imported.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import rewardlab  # noqa: E402


class Clock:
    """Wall-clock and process CPU time of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def best_of(repeats: int, fn) -> tuple[float, float]:
    """Best (wall, cpu) rates over repeats."""
    results = [fn() for _ in range(repeats)]
    return max(r[0] for r in results), max(r[1] for r in results)


def single_env(env_id: str, steps: int, **kwargs) -> float:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() * np.array([0.2, 1.0], dtype=np.float32) for _ in range(steps)]
    with Clock() as clock:
        for a in actions:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
    return steps / clock.wall, steps / clock.cpu


def pedestrians_ab(env_id: str, chunks: int, steps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Single env without and with pedestrians, alternating ``steps``-step chunks in one process
    (both feel the same load): best (wall, CPU) rate of each over ``chunks`` chunks."""
    envs = [gym.make(env_id, pedestrians_per_crossing=per) for per in (0, 1)]
    for env in envs:
        env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, 2)).astype(np.float32) * np.array([0.2, 1.0], dtype=np.float32)
    best = [[0.0, 0.0], [0.0, 0.0]]
    for _ in range(chunks):
        for i, env in enumerate(envs):
            with Clock() as clock:
                for a in actions:
                    _, _, term, trunc, _ = env.step(a)
                    if term or trunc:
                        env.reset()
            best[i] = [max(best[i][0], steps / clock.wall), max(best[i][1], steps / clock.cpu)]
    return tuple(best[0]), tuple(best[1])


def batched(env_id: str, num_envs: int, steps: int, **kwargs) -> tuple[float, float, float]:
    sim = rewardlab.make_sim(env_id, num_envs=num_envs, **kwargs)
    sim.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, num_envs, sim.num_egos, 2)) * np.array([0.2, 1.0])
    sim.step(actions[0], autoreset=True)  # warm-up
    vehicles = sim.t_active.sum(axis=1).mean()
    with Clock() as clock:
        for a in actions[1:]:
            sim.step(a, autoreset=True)
    n = num_envs * (steps - 1)
    return n / clock.wall, n / clock.cpu, float(vehicles)


def highway_env(env_id: str, steps: int) -> float:
    import highway_env  # noqa: F401  (registers highway-v0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
        env.reset(seed=0)
        env.action_space.seed(0)
        with Clock() as clock:
            for _ in range(steps):
                _, _, term, trunc, _ = env.step(env.action_space.sample())
                if term or trunc:
                    env.reset()
        return steps / clock.wall, steps / clock.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("single", "batched", "bev", "highway-env", "pedestrians"),
                        help="run one group of rows only")
    args = parser.parse_args()
    q = args.quick
    rows = []
    run = (lambda group: args.only in (None, group))  # noqa: E731
    for env_id in ("rewardlab/DrivingHighway-v0", "rewardlab/DrivingIntersection-v0", "rewardlab/DrivingTown-v0"):
        if not run("single"):
            break
        name = env_id.split("/")[1]
        rate = best_of(args.repeats, lambda env_id=env_id: single_env(env_id, 200 if q else 1000))
        rows.append((f"rewardlab {name}", "single env, vector obs", 1, *rate))
    for env_id in ("rewardlab/DrivingHighway-v0", "rewardlab/DrivingTown-v0"):
        if not run("batched"):
            break
        name = env_id.split("/")[1]
        results = [batched(env_id, 64 if q else 1024, 5 if q else 40) for _ in range(args.repeats)]
        vehicles = results[0][2]
        rows.append((f"rewardlab {name}", f"batched, vector obs, {vehicles:.1f} vehicles/inst.", 64 if q else 1024,
                     max(r[0] for r in results), max(r[1] for r in results)))
    # the same with episodes that run to the time limit: the simulator without the resets that
    # random actions cause under carl's infraction terminations (~1 in 20 instances per step)
    no_end = {"reward": {"preset": "carl", "terminate_on": []}}
    if run("batched"):
        results = [batched("rewardlab/DrivingHighway-v0", 64 if q else 1024, 5 if q else 40, **no_end)
                   for _ in range(args.repeats)]
        rows.append(("rewardlab DrivingHighway-v0", "batched, vector obs, no terminations", 64 if q else 1024,
                     max(r[0] for r in results), max(r[1] for r in results)))
    if run("bev"):
        results = [batched("rewardlab/DrivingHighway-v0", 32 if q else 256, 5 if q else 30, obs="bev")
                   for _ in range(args.repeats)]
        rows.append(("rewardlab DrivingHighway-v0", "batched, BEV 10x64x64 uint8", 32 if q else 256,
                     max(r[0] for r in results), max(r[1] for r in results)))
    for env_id in ("rewardlab/DrivingIntersection-v0", "rewardlab/DrivingTown-v0"):
        if args.only != "pedestrians":  # an A/B of the pedestrians' cost, on request only
            break
        name = env_id.split("/")[1]
        without, with_ = pedestrians_ab(env_id, 3 if q else 12, 100 if q else 500)
        rows.append((f"rewardlab {name}", "single env, pedestrians_per_crossing=0 (A/B)", 1, *without))
        rows.append((f"rewardlab {name}", "single env, pedestrians_per_crossing=1 (A/B)", 1, *with_))
    for env_id in ("highway-v0", "highway-fast-v0"):
        if not run("highway-env"):
            break
        rate = best_of(args.repeats, lambda env_id=env_id: highway_env(env_id, 10 if q else 60))
        rows.append((f"highway-env {env_id}", "single env, kinematics obs", 1, *rate))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"| {'environment':36s} | {'setting':46s} | {'B':>5s} | {'steps/s (wall)':>14s} | {'steps/s (CPU)':>13s} |")
    print(f"|{'-' * 38}|{'-' * 48}|{'-' * 7}|{'-' * 16}|{'-' * 15}|")
    for name, setting, b, wall, cpu in rows:
        print(f"| {name:36s} | {setting:46s} | {b:5d} | {wall:14,.0f} | {cpu:13,.0f} |")


if __name__ == "__main__":
    main()
