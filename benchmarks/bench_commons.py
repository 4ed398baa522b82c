"""Throughput of the four commons simulators: agent-steps per second of the batched step.

    python benchmarks/bench_commons.py                      # all four, 256 instances
    python benchmarks/bench_commons.py --env Harvest --num-envs 1024 --json

`rewardlab bench --family commons` compares CommonsHarvest with Melting Pot's
commons_harvest__open in the same run; this script covers all four commons simulators
(``sim.step`` directly, no Gymnasium layer) and has no peer column.

One thread (OMP/MKL/OpenBLAS limited to 1 before NumPy loads), random valid actions drawn
before the clock starts, reward combination and observations included (``sim.step``). The four
rows are timed interleaved in rounds, each keeping its best round, per CPU-second of this
process and per wall-clock second; the load average is printed. An agent-step is one agent
acting once in one instance: steps x B x n.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402

import rewardlab  # noqa: E402
from rewardlab.bench.timing import Case, measure  # noqa: E402

ENVS = {
    "Harvest": "rewardlab/CommonsHarvest-v0",
    "Fishery": "rewardlab/CommonsFishery-v0",
    "Ostrom": "rewardlab/CommonsOstrom-v0",
    "Punishment": "rewardlab/CommonsPunishment-v0",
}


def random_actions(sim, steps: int, seed: int) -> np.ndarray:
    """(steps, B, n, ...) valid actions for the simulator's (Multi)Discrete spaces."""
    rng = np.random.default_rng(seed)
    space = sim.action_spaces[0]
    high = np.asarray(getattr(space, "nvec", getattr(space, "n", None)))
    return rng.integers(0, high, size=(steps, sim.num_envs, sim.num_agents, *high.shape))


def sim_stepper(env_id: str, num_envs: int):
    """One batched ``sim.step`` per call, cycling through 64 pre-drawn action batches."""
    sim = rewardlab.make_sim(env_id, num_envs=num_envs)
    actions = random_actions(sim, 64, seed=0)
    sim.reset(seed=0)
    index = [0]

    def step() -> int:
        sim.step(actions[index[0] % 64], autoreset=True)
        index[0] += 1
        return num_envs

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", choices=sorted(ENVS), action="append", help="repeat to pick several")
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per row per round")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()
    names = args.env or list(ENVS)
    agents = {name: rewardlab.make_sim(ENVS[name]).num_agents for name in names}
    cases = [Case(name, ENVS[name], "rewardlab", lambda name=name: sim_stepper(ENVS[name], args.num_envs),
                  instances=args.num_envs, agents=agents[name]) for name in names]
    load_before = os.getloadavg()[0]
    rows = measure(cases, args.rounds, args.seconds)
    load_after = os.getloadavg()[0]
    if args.json:
        for row in rows:
            print(json.dumps({
                "env": row.case.label, "num_envs": args.num_envs, "num_agents": row.case.agents,
                "env_steps_per_cpu_s": row.cpu_rate, "env_steps_per_wall_s": row.wall_rate,
                "agent_steps_per_cpu_s": row.cpu_rate * row.case.agents, "load_average": [load_before, load_after],
            }))
        return
    print(f"one thread, B = {args.num_envs}, {args.rounds} interleaved rounds of {args.seconds:g} s, best kept; "
          f"{os.cpu_count()} CPUs, load average {load_before:.2f} before, {load_after:.2f} after")
    print(f"{'environment':34s} {'agents':>6s} {'env-steps/CPU-s':>16s} {'(wall)':>10s} {'agent-steps/CPU-s':>18s}")
    for row in rows:
        print(f"{row.case.label:34s} {row.case.agents:6d} {row.cpu_rate:16,.0f} {row.wall_rate:10,.0f} "
              f"{row.cpu_rate * row.case.agents:18,.0f}")


if __name__ == "__main__":
    main()
