"""Throughput of the driving family's settings: single envs, make_vec, bird's-eye view, pedestrians.

    python benchmarks/bench_driving.py                  # every group, 5 interleaved rounds of 1 s
    python benchmarks/bench_driving.py --quick          # a smoke run
    python benchmarks/bench_driving.py --only pedestrians   # grid single envs without / with pedestrians

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
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batches, 2 rounds of 0.25 s")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5; quick 2)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per row per round (default 1)")
    parser.add_argument("--only", choices=GROUPS, help="run one group of rows only")
    args = parser.parse_args()
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
