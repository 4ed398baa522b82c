"""Throughput of the coopetition family: single env (Gymnasium) and vectorised (sim.step, B = 4096).

    python benchmarks/bench_coopetition.py                 # every id, best of 3
    python benchmarks/bench_coopetition.py --ids SLCD TrustDilemma --breakdown

Single env: ``gym.make(id)`` stepped with pre-drawn random joint actions (reset at episode end).
Vectorised: ``sim.step(actions, autoreset=True)`` on B instances with pre-drawn random actions,
on one thread (OMP/MKL/OpenBLAS threads = 1). Figures are env-steps per second (one instance
advancing one step), the best of ``--repeats`` runs; the machine may be shared, so run it twice.
The reference column is Coopetition-Gym v1's Gymnasium throughput on a 2-core machine
(facts.md section 1); the ratio is rewardlab's vectorised figure over it.

``--breakdown`` splits the vectorised step into the core's parts (action validation, reward
combination, observation) and the family's ``_step``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import rewardlab  # noqa: E402
from rewardlab.core.reward import combine  # noqa: E402

REFERENCE = {"SLCD": 2300.0, "TrustDilemma": 2200.0, "TeamProduction": 1000.0, "AppleAppStore": 1100.0,
             "ApacheProject": 15.0}


def _short(env_id: str) -> str:
    return env_id.split("/")[1][len("Coop"):].rsplit("-v", 1)[0]


def single_env_rate(env_id: str, steps: int, repeats: int) -> float:
    env = gym.make(env_id)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(256)]
    best = 0.0
    for _ in range(repeats):
        env.reset(seed=0)
        start = time.perf_counter()
        for t in range(steps):
            _, _, term, trunc, _ = env.step(actions[t % 256])
            if term or trunc:
                env.reset()
        best = max(best, steps / (time.perf_counter() - start))
    return best


def vector_rate(env_id: str, num_envs: int, steps: int, repeats: int) -> float:
    sim = rewardlab.make_sim(env_id, num_envs=num_envs)
    sim.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(0, 1, (num_envs, sim.num_agents, 1)) * sim.bounds[None, :, None] for _ in range(8)]
    for t in range(sim.params.horizon + 1):  # warm up, including an episode end (oracle cache)
        sim.step(actions[t % 8], autoreset=True)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for t in range(steps):
            sim.step(actions[t % 8], autoreset=True)
        best = max(best, steps * num_envs / (time.perf_counter() - start))
    return best


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
    parser.add_argument("--steps", type=int, default=300, help="vectorised steps per run")
    parser.add_argument("--single-steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--breakdown", action="store_true")
    args = parser.parse_args(argv)
    ids = [s.id for s in rewardlab.all_specs() if s.id.startswith("rewardlab/Coop")]
    if args.ids:
        ids = [i for i in ids if _short(i) in args.ids]
    print(f"B = {args.num_envs}, one thread, best of {args.repeats}; env-steps/s")
    print(f"{'environment':<26}{'agents':>7}{'single env':>13}{'vectorised':>14}{'reference':>11}{'ratio':>9}")
    for env_id in ids:
        name = _short(env_id)
        n = rewardlab.make_sim(env_id).num_agents
        single = single_env_rate(env_id, args.single_steps, args.repeats)
        vector = vector_rate(env_id, args.num_envs, args.steps, args.repeats)
        ref = REFERENCE.get(name)
        ref_text = f"{ref:>11,.0f}" if ref else f"{'-':>11}"
        ratio = f"{vector / ref:>8,.0f}x" if ref else f"{'-':>9}"
        print(f"{name:<26}{n:>7}{single:>13,.0f}{vector:>14,.0f}{ref_text}{ratio}", flush=True)
        if args.breakdown:
            for part, micros in breakdown(env_id, args.num_envs, args.steps).items():
                print(f"    {part:<22}{micros:>9.1f} us per batched step")


if __name__ == "__main__":
    main()
