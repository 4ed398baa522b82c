"""Throughput of every coopetition game: single env and the batched simulator, and where a
batched step's time goes.

    python benchmarks/bench_coopetition.py                 # every id, 5 interleaved rounds
    python benchmarks/bench_coopetition.py --ids SLCD TrustDilemma --breakdown

`rewardlab bench --family coopetition` compares three games with Coopetition-Gym in the same
run; this script covers all twenty games and the simulator's parts, and has no peer column.

Single env: ``gym.make(id)`` stepped with pre-drawn random joint actions (reset at episode end).
Batched: ``sim.step(actions, autoreset=True)`` on B instances with pre-drawn random actions, on
one thread (OMP/MKL/OpenBLAS threads = 1). Figures are env-steps per second (one instance
advancing one step) per CPU-second of this process and per wall-clock second; all rows are
timed interleaved in rounds and each keeps its best round (the machine may be shared; the load
average is printed).

``--breakdown`` splits the batched step into the core's parts (action validation, reward
combination, observation) and the family's ``_step``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import rewardlab  # noqa: E402
from rewardlab.bench.cases import rewardlab_single  # noqa: E402
from rewardlab.bench.timing import Case, measure  # noqa: E402
from rewardlab.core.reward import combine  # noqa: E402


def _short(env_id: str) -> str:
    return env_id.split("/")[1][len("Coop"):].rsplit("-v", 1)[0]


def sim_stepper(env_id: str, num_envs: int):
    """One batched ``sim.step`` per call on B instances (warmed up over a whole episode)."""
    sim = rewardlab.make_sim(env_id, num_envs=num_envs)
    sim.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(0, 1, (num_envs, sim.num_agents, 1)) * sim.bounds[None, :, None] for _ in range(8)]
    for t in range(sim.params.horizon + 1):  # warm up, including an episode end (oracle cache)
        sim.step(actions[t % 8], autoreset=True)
    index = [0]

    def step() -> int:
        sim.step(actions[index[0] % 8], autoreset=True)
        index[0] += 1
        return num_envs

    return step


def breakdown(env_id: str, num_envs: int, steps: int) -> dict[str, float]:
    """Microseconds per batched step spent in each part of BatchedSim.step."""
    sim = rewardlab.make_sim(env_id, num_envs=num_envs)
    sim.reset(seed=0)
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, (num_envs, sim.num_agents, 1)) * sim.bounds[None, :, None]
    parts = {"validate_actions": 0.0, "family _step": 0.0, "combine (reward)": 0.0, "observe": 0.0}
    for t in range(steps):
        if t % sim.params.horizon == 0:
            sim.reset()
        t0 = time.perf_counter()
        actions = sim.validate_actions(raw)
        t1 = time.perf_counter()
        out = sim._step(actions)
        t2 = time.perf_counter()
        combine(sim.reward_spec, out.terms, sim)
        t3 = time.perf_counter()
        sim._observe()
        t4 = time.perf_counter()
        parts["validate_actions"] += t1 - t0
        parts["family _step"] += t2 - t1
        parts["combine (reward)"] += t3 - t2
        parts["observe"] += t4 - t3
    sim.reset()
    start = time.perf_counter()
    for _ in range(steps):
        sim.step(raw, autoreset=True)
    total = time.perf_counter() - start
    result = {k: 1e6 * v / steps for k, v in parts.items()}
    result["whole sim.step"] = 1e6 * total / steps
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="*", help="short names (SLCD, TrustDilemma, ...); default all")
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5, help="seconds per row per round")
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--breakdown-steps", type=int, default=300)
    args = parser.parse_args(argv)
    ids = [s.id for s in rewardlab.all_specs() if s.id.startswith("rewardlab/Coop")]
    if args.ids:
        ids = [i for i in ids if _short(i) in args.ids]
    cases = []
    for env_id in ids:
        cases.append(Case(f"{env_id}:single", env_id, "rewardlab", lambda env_id=env_id: rewardlab_single(env_id)))
        cases.append(Case(f"{env_id}:sim", env_id, "rewardlab",
                          lambda env_id=env_id: sim_stepper(env_id, args.num_envs), instances=args.num_envs))
    load_before = os.getloadavg()
    rows = {row.case.key: row for row in measure(cases, args.rounds, args.seconds)}
    load_after = os.getloadavg()
    print(f"B = {args.num_envs}, one thread, {args.rounds} interleaved rounds of {args.seconds:g} s, best kept; "
          f"env-steps per CPU-second (per wall-second); {os.cpu_count()} CPUs, load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'environment':<26}{'agents':>7}{'single env':>22}{'batched sim.step':>26}")
    for env_id in ids:
        single, batched = rows[f"{env_id}:single"], rows[f"{env_id}:sim"]
        n = rewardlab.make_sim(env_id).num_agents
        print(f"{_short(env_id):<26}{n:>7}{f'{single.cpu_rate:,.0f} ({single.wall_rate:,.0f})':>22}"
              f"{f'{batched.cpu_rate:,.0f} ({batched.wall_rate:,.0f})':>26}", flush=True)
        if args.breakdown:
            for part, micros in breakdown(env_id, args.num_envs, args.breakdown_steps).items():
                print(f"    {part:<22}{micros:>9.1f} us per batched step")


if __name__ == "__main__":
    main()
