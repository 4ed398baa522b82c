"""Throughput of the commons family: agent-steps per second of the batched simulators.

    python benchmarks/bench_commons.py                      # all four, 256 instances
    python benchmarks/bench_commons.py --env Harvest --num-envs 256 --steps 300

One thread (OMP/MKL/OpenBLAS limited to 1 before NumPy loads), random valid actions drawn
before the clock starts, reward combination and observations included (``sim.step``), best of
``--repeats`` runs. An agent-step is one agent acting once in one instance: steps x B x n.

Peer figure (not run here: Melting Pot is not installed in this environment, and its
DeepMind Lab2D engine cannot be installed offline): commons_harvest runs at roughly 50-60
frames/s for all 7 players on a laptop, about 350 agent-steps/s (docs/commons.md).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import rewardlab  # noqa: E402

ENVS = {
    "Harvest": "rewardlab/CommonsHarvest-v0",
    "Fishery": "rewardlab/CommonsFishery-v0",
    "Ostrom": "rewardlab/CommonsOstrom-v0",
    "Punishment": "rewardlab/CommonsPunishment-v0",
}
MELTING_POT_AGENT_STEPS = 350.0


def random_actions(sim, steps: int, seed: int) -> np.ndarray:
    """(steps, B, n, ...) valid actions for the simulator's (Multi)Discrete spaces."""
    rng = np.random.default_rng(seed)
    space = sim.action_spaces[0]
    high = np.asarray(getattr(space, "nvec", getattr(space, "n", None)))
    return rng.integers(0, high, size=(steps, sim.num_envs, sim.num_agents, *high.shape))


def measure(env_id: str, num_envs: int, steps: int, repeats: int) -> dict:
    sim = rewardlab.make_sim(env_id, num_envs=num_envs)
    actions = random_actions(sim, steps, seed=0)
    best = float("inf")
    for _ in range(repeats):
        sim.reset(seed=0)
        start = time.perf_counter()
        for t in range(steps):
            sim.step(actions[t], autoreset=True)
        best = min(best, time.perf_counter() - start)
    agent_steps = steps * num_envs * sim.num_agents
    return {
        "env": env_id,
        "num_envs": num_envs,
        "num_agents": sim.num_agents,
        "steps": steps,
        "seconds": best,
        "env_steps_per_s": steps * num_envs / best,
        "agent_steps_per_s": agent_steps / best,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", choices=sorted(ENVS), action="append", help="repeat to pick several")
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()
    rows = [measure(ENVS[name], args.num_envs, args.steps, args.repeats) for name in (args.env or ENVS)]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"one thread, best of {args.repeats}, {args.steps} steps, B = {args.num_envs}")
    print(f"{'environment':34s} {'agents':>6s} {'env-steps/s':>12s} {'agent-steps/s':>14s} {'vs Melting Pot':>15s}")
    for row in rows:
        ratio = row["agent_steps_per_s"] / MELTING_POT_AGENT_STEPS
        print(
            f"{row['env']:34s} {row['num_agents']:6d} {row['env_steps_per_s']:12,.0f} "
            f"{row['agent_steps_per_s']:14,.0f} {ratio:14,.0f}x"
        )
    print(f"Melting Pot commons_harvest (reported, not run here): ~{MELTING_POT_AGENT_STEPS:.0f} agent-steps/s")


if __name__ == "__main__":
    main()
