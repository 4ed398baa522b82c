"""Per-step overhead of rewardlab's core: the base step, the adapters and Gymnasium's wrappers.

    python benchmarks/bench_core.py            # full figures (about a minute)
    python benchmarks/bench_core.py --quick    # a smoke run
    python benchmarks/bench_core.py --vec rewardlab/CoopTrustDilemma-v0   # make_vec stepping, B = 1-256

A zero-work simulator (defined below: its ``_step`` only advances a clock and hands back
preallocated terms) isolates what the core costs per step, apart from any physics:

* ``BatchedSim.step``            the base step at B = 1: action validation, reward combination,
                                 terminate_on, episode accounting, the Step record;
* ``RewardlabEnv.step``          the Gymnasium adapter on top (joint layout, the info dict);
* ``gym.make(...).step``         what a user calls: Gymnasium's wrappers on top of that;
* ``RewardlabVectorEnv.step`` and ``RewardlabSB3VecEnv.step`` at B = 1,024 (per batched step).

Then the two single environments whose throughput targets depend on this overhead,
``rewardlab/LocoImitation-v0`` and ``rewardlab/DrivingHighway-v0`` through ``gym.make`` with
random actions (resets included), and the part of each step spent outside the family's hooks
(``_step``, ``_observe``, ``_episode_metrics``) and the resets: the core's and Gymnasium's
share, measured by timing the hooks inside the same run (the timers add about 0.3 us); and the
same with the hooks replaced by a recorded step (the core's cost for that family's terms,
events and info, free of the family's own noise).

Every figure is the best of ``--repeats`` runs in microseconds per step (lower is better), in
wall-clock time and, where a whole loop is timed, in CPU time of this process
(``time.process_time``): the development machine is shared, and the CPU figure leaves out the
time other processes held the core. OMP/MKL/OpenBLAS threads are pinned to 1 before NumPy is
imported.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402

import rewardlab  # noqa: E402, F401  (registers the ids)
from rewardlab.core.adapters import RewardlabEnv, RewardlabVectorEnv  # noqa: E402
from rewardlab.core.adapters.sb3_vec_env import RewardlabSB3VecEnv  # noqa: E402
from rewardlab.core.reward import RewardSpec  # noqa: E402
from rewardlab.core.sim import BatchedSim, StepOutcome  # noqa: E402


@dataclass(frozen=True)
class ZeroParams:
    num_agents: int = 1
    action_dim: int = 12
    obs_dim: int = 48
    horizon: int = 0


class ZeroSim(BatchedSim):
    """A simulator that does no work: the shape of a locomotion step (one agent, 12 continuous
    actions, 4 terms of which 3 weighted, an event, two info arrays), every array preallocated.
    Its episodes never end unless ``horizon`` is set (then a clock counts the steps)."""

    Params = ZeroParams
    reward_terms = ("progress", "energy", "alive", "fall")
    reward_presets = {
        "default": RewardSpec(weights={"progress": 1.0, "energy": -0.01, "alive": 0.1}),
        "terminating": RewardSpec(
            weights={"progress": 1.0, "energy": -0.01, "alive": 0.1}, bonus_weights={"fall": -1.0},
            terminate_on=("fell",),
        ),
    }
    default_reward = "default"
    events = ("fell",)

    def _setup(self) -> None:
        p, b = self.params, self.num_envs
        self.agents = tuple(f"agent_{i}" for i in range(p.num_agents))
        self.observation_spaces = tuple(
            spaces.Box(-np.inf, np.inf, shape=(p.obs_dim,), dtype=np.float32) for _ in self.agents
        )
        self.action_spaces = tuple(
            spaces.Box(-1.0, 1.0, shape=(p.action_dim,), dtype=np.float32) for _ in self.agents
        )
        self.t = np.zeros(b, dtype=np.int64)
        self.obs = np.zeros((b, p.num_agents, p.obs_dim), dtype=np.float32)
        zeros = np.zeros((b, p.num_agents))
        self.terms = {"progress": zeros, "energy": zeros, "alive": zeros + 1.0, "fall": zeros}
        self.no = np.zeros(b, dtype=bool)
        self.info = {"speed": np.zeros(b), "height": np.zeros(b)}
        self.events_out = {"fell": self.no}

    def _reset(self, rows: np.ndarray) -> None:
        self.t[rows] = 0

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        return self.obs.copy() if rows is None else self.obs[rows]

    def _step(self, actions: np.ndarray) -> StepOutcome:
        truncated = self.no
        if self.params.horizon:
            self.t += 1
            truncated = self.t >= self.params.horizon
        return StepOutcome(
            terms=self.terms, terminated=self.no, truncated=truncated, info=self.info, events=self.events_out
        )


def best_us(repeats: int, steps: int, step) -> tuple[float, float]:
    """Best of ``repeats`` runs of ``steps`` calls of ``step(i)``: (wall-clock, process CPU)
    microseconds per call. On a shared machine the CPU figure leaves out the time other
    processes held the core; both are printed."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(steps):
            step(i)
        best_wall = min(best_wall, (time.perf_counter() - wall) / steps * 1e6)
        best_cpu = min(best_cpu, (time.process_time() - cpu) / steps * 1e6)
    return best_wall, best_cpu


def zero_work(repeats: int, steps: int, reward: str) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(0)
    results = {}

    sim = ZeroSim(reward=reward)
    sim.reset(seed=0)
    sim_actions = rng.uniform(-1, 1, (steps, 1, 1, 12))
    results["BatchedSim.step (B = 1, autoreset)"] = best_us(
        repeats, steps, lambda i: sim.step(sim_actions[i], autoreset=True)
    )

    single_actions = rng.uniform(-1, 1, (steps, 12)).astype(np.float32)
    env = RewardlabEnv(ZeroSim(reward=reward))
    env.reset(seed=0)

    def env_step(i):
        _, _, term, trunc, _ = env.step(single_actions[i])
        if term or trunc:
            env.reset()

    results["RewardlabEnv.step (B = 1)"] = best_us(repeats, steps, env_step)

    if "rewardlab_bench/Zero-v0" not in gym.registry:
        gym.register("rewardlab_bench/Zero-v0", entry_point=lambda **kw: RewardlabEnv(ZeroSim(**kw)))
    env = gym.make("rewardlab_bench/Zero-v0", reward=reward)
    env.reset(seed=0)
    results["gym.make(...).step (B = 1)"] = best_us(repeats, steps, env_step)
    env.close()

    batch = 1024
    batched_steps = max(steps // 50, 20)
    vec_actions = rng.uniform(-1, 1, (batched_steps, batch, 12)).astype(np.float32)
    venv = RewardlabVectorEnv(ZeroSim(num_envs=batch, reward=reward))
    venv.reset(seed=0)
    results[f"RewardlabVectorEnv.step (B = {batch})"] = best_us(
        repeats, batched_steps, lambda i: venv.step(vec_actions[i])
    )
    sb3 = RewardlabSB3VecEnv(ZeroSim(num_envs=batch, reward=reward))
    sb3.seed(0)
    sb3.reset()
    results[f"RewardlabSB3VecEnv.step (B = {batch})"] = best_us(
        repeats, batched_steps, lambda i: sb3.step(vec_actions[i])
    )
    return results


def registered_single(env_id: str, repeats: int, steps: int) -> tuple[float, float]:
    """(us per gym.make step with resets, us of it outside the family's hooks and the resets)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
    sim = env.unwrapped.sim
    inside = [0.0]

    def timed(hook):
        def run(*args):
            start = time.perf_counter()
            out = hook(*args)
            inside[0] += time.perf_counter() - start
            return out

        return run

    # the family's hooks, timed on the instance: what remains is the core and Gymnasium
    for name in ("_step", "_observe", "_episode_metrics"):
        setattr(sim, name, timed(getattr(sim, name)))
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    best_total, best_outside = float("inf"), float("inf")
    for _ in range(repeats):
        inside[0] = resetting = 0.0
        start = time.perf_counter()
        for a in actions:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                reset_start, hooks_before = time.perf_counter(), inside[0]
                env.reset()
                resetting += time.perf_counter() - reset_start
                inside[0] = hooks_before  # the reset counts whole, hooks included
        total = time.perf_counter() - start
        best_total = min(best_total, total / steps * 1e6)
        best_outside = min(best_outside, (total - inside[0] - resetting) / steps * 1e6)
    env.close()
    return best_total, best_outside


def replayed_core(env_id: str, repeats: int, steps: int) -> tuple[float, float]:
    """us per ``gym.make(env_id).step`` when the family's hooks hand back one recorded step
    (its terms, events, info and observation): the core's and Gymnasium's cost for that
    family's outputs, with no family work and no noise from it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
    sim = env.unwrapped.sim
    env.reset(seed=0)
    env.action_space.seed(0)
    action = env.action_space.sample()
    outcome = sim._step(sim.validate_actions(np.asarray(action).reshape(1, sim.num_agents, *sim.action_shape)))
    outcome.terminated[:] = outcome.truncated[:] = False
    for fired in outcome.events.values():
        fired[:] = False
    obs = sim._observe()
    sim._step = lambda actions: outcome
    sim._observe = lambda rows=None: obs.copy()
    us = best_us(repeats, steps, lambda i: env.step(action))
    env.close()
    return us


def vector_stepping(env_id: str, num_envs: int, repeats: int, steps: int) -> tuple[float, float]:
    """Microseconds per batched step of ``gym.make_vec(env_id, num_envs)`` (``gym.make`` for one
    instance) with pre-drawn random actions, resets included."""
    env = gym.make(env_id) if num_envs == 1 else gym.make_vec(env_id, num_envs=num_envs)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(16)]
    single = num_envs == 1

    def step(i):
        out = env.step(actions[i % 16])
        if single and (out[2] or out[3]):
            env.reset()

    result = best_us(repeats, steps, step)
    env.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few steps: a smoke run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20_000, help="zero-work steps per run")
    parser.add_argument("--env-steps", type=int, default=2_000, help="registered-env steps per run")
    parser.add_argument(
        "--vec", nargs="*", metavar="ENV_ID", help="only time gym.make / gym.make_vec stepping of these ids at --sizes"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 64, 256])
    args = parser.parse_args()
    steps, env_steps = (500, 100) if args.quick else (args.steps, args.env_steps)
    if args.vec:
        print(f"gym.make_vec stepping, best of {args.repeats}; load average {os.getloadavg()[0]:.2f}")
        for env_id in args.vec:
            for size in args.sizes:
                wall, cpu = vector_stepping(env_id, size, args.repeats, max(50, env_steps // max(1, size // 16)))
                print(f"  {env_id:<32s} B = {size:<5d} {wall:9.1f} us/step wall-clock, {cpu:9.1f} CPU", flush=True)
        return

    print(
        f"rewardlab core overhead, best of {args.repeats}; load average {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores (shared machine)"
    )
    for reward in ("default", "terminating"):
        print(f"\nzero-work simulator, reward={reward!r}{' (bonus term, terminate_on)' * (reward != 'default')}")
        for name, (wall, cpu) in zero_work(args.repeats, steps, reward).items():
            print(f"  {name:<44s} {wall:8.2f} us/step wall-clock, {cpu:8.2f} CPU")

    print("\nregistered single envs through gym.make (random actions, resets included; wall-clock)")
    for env_id in ("rewardlab/LocoImitation-v0", "rewardlab/DrivingHighway-v0"):
        total, outside = registered_single(env_id, args.repeats, env_steps)
        print(
            f"  {env_id:<28s} {total:8.1f} us/step ({1e6 / total:5.0f} steps/s), of which outside the "
            f"family's hooks and resets {outside:5.1f} us"
        )
    print("\nthe same envs, the family's hooks replaced by one recorded step (the core's cost for its outputs)")
    for env_id in ("rewardlab/LocoImitation-v0", "rewardlab/DrivingHighway-v0"):
        wall, cpu = replayed_core(env_id, args.repeats, steps)
        print(f"  {env_id:<44s} {wall:8.2f} us/step wall-clock, {cpu:8.2f} CPU")


if __name__ == "__main__":
    main()
