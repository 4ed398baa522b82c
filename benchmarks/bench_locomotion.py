"""Throughput of the locomotion environments next to raw MuJoCo physics on the same model.

    python benchmarks/bench_locomotion.py [--batch 64] [--seconds 2] [--repeats 3]

For each id, prints control steps per second (one control step = 5 physics steps of 0.004 s,
50 Hz) of:

* ``raw mj_step``: the physics alone, single thread. The env's own trajectory (its states and
  servo targets, recorded in an untimed pass with the same actions) is replayed: for each
  recorded step ``mj_setState`` + ``ctrl`` + ``mj_step(model, data, 5)``, so raw and env step
  the same states with the same contacts;
* ``raw rollout``: the same recorded states, B at a time, in one ``mujoco.rollout`` call on a
  thread pool (the call the batched env makes);
* ``raw thread pool``: the alternative, a ``ThreadPoolExecutor`` whose workers each loop
  ``mj_step`` over a slice of the B recorded states (MuJoCo releases the GIL);
* ``single env``: ``gym.make(id)``: actions, physics, rewards, observations, metrics, resets;
* ``batched env``: ``gym.make_vec(id, num_envs=B)``, per instance.

Actions are uniform in [-0.2, 0.2] (servo targets within 0.2 rad of standing). Each figure is the
best of ``--repeats`` runs: the development machine is shared. Overhead = raw rate / env rate - 1:
the time an env step adds on top of the physics it runs.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import mujoco
import numpy as np
from mujoco import rollout

import rewardlab  # noqa: F401  (registers the ids)

ENV_IDS = ("rewardlab/LocoImitation-v0", "rewardlab/LocoJoystick-v0")


def _timed(fn, seconds: float) -> float:
    """Calls of ``fn`` per second over about ``seconds``."""
    fn()  # warm-up
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def _actions(count: int, batch: int) -> np.ndarray:
    return np.random.default_rng(1).uniform(-0.2, 0.2, size=(count, batch, 12)).astype(np.float32)


def record(env_id: str, steps: int) -> tuple[object, np.ndarray, np.ndarray]:
    """The model, and the (state, servo target) of every step of a single-env run."""
    env = gym.make(env_id)
    env.reset(seed=0)
    sim = env.unwrapped.sim
    actions = _actions(steps, 1)[:, 0]
    states, targets = [], []
    for a in actions:
        states.append(sim.state[0].copy())
        _, _, terminated, truncated, _ = env.step(a)
        targets.append(sim.joint_pos_target[0].copy())
        if terminated or truncated:
            env.reset()
    return sim.qm, np.array(states), np.array(targets)


def bench_raw(qm, states: np.ndarray, targets: np.ndarray, batch: int, seconds: float) -> dict[str, float]:
    model = qm.model
    data = mujoco.MjData(model)
    n = len(states)
    index = [0]

    def replay_one():
        k = index[0] % n
        index[0] += 1
        mujoco.mj_setState(model, data, states[k], qm.state_spec)
        data.ctrl[:] = targets[k]
        mujoco.mj_step(model, data, 5)

    single = _timed(replay_one, seconds)
    threads = min(batch, os.cpu_count() or 1)
    chunks = n // batch
    pool = rollout.Rollout(nthread=threads)
    scratch = [mujoco.MjData(model) for _ in range(threads)]
    models = [model] * batch
    out_state = np.zeros((batch, 5, qm.state_size))
    out_sensor = np.zeros((batch, 5, model.nsensordata))
    batched_states = states[: chunks * batch].reshape(chunks, batch, -1).copy()
    controls = np.repeat(targets[: chunks * batch].reshape(chunks, batch, 1, 12), 5, axis=2).copy()

    def replay_rollout():
        c = index[0] % chunks
        index[0] += 1
        pool.rollout_.rollout(models, scratch, 5, int(mujoco.mjtState.mjSTATE_CTRL), batched_states[c], None,
                              controls[c], out_state, out_sensor, None)

    datas = [mujoco.MjData(model) for _ in range(batch)]
    executor = ThreadPoolExecutor(max_workers=threads)
    slices = np.array_split(np.arange(batch), threads)

    def work(rows, c):
        for i in rows:
            mujoco.mj_setState(model, datas[i], batched_states[c, i], qm.state_spec)
            datas[i].ctrl[:] = controls[c, i, 0]
            mujoco.mj_step(model, datas[i], 5)

    def replay_pool():
        c = index[0] % chunks
        index[0] += 1
        list(executor.map(work, slices, [c] * len(slices)))

    figures = {
        "raw mj_step (1 thread)": single,
        f"raw rollout ({batch} x, {threads} threads)": _timed(replay_rollout, seconds) * batch,
        f"raw thread pool ({batch} x, {threads} threads)": _timed(replay_pool, seconds) * batch,
    }
    executor.shutdown()
    return figures


def bench_single(env_id: str, seconds: float) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    actions = _actions(4096, 1)[:, 0]
    index = [0]

    def step():
        _, _, terminated, truncated, _ = env.step(actions[index[0] % 4096])
        index[0] += 1
        if terminated or truncated:
            env.reset()

    return _timed(step, seconds)


def bench_batched(env_id: str, batch: int, seconds: float) -> float:
    env = gym.make_vec(env_id, num_envs=batch)
    env.reset(seed=0)
    actions = _actions(64, batch)
    index = [0]

    def step():
        env.step(actions[index[0] % 64])
        index[0] += 1

    return _timed(step, seconds) * batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--env", choices=ENV_IDS, action="append", help="default: both ids")
    args = parser.parse_args()
    for env_id in args.env or ENV_IDS:
        qm, states, targets = record(env_id, 20 * args.batch)
        best: dict[str, float] = {}
        for _ in range(args.repeats):
            figures = bench_raw(qm, states, targets, args.batch, args.seconds)
            figures["single env"] = bench_single(env_id, args.seconds)
            figures[f"batched env ({args.batch} x)"] = bench_batched(env_id, args.batch, args.seconds)
            for name, value in figures.items():
                best[name] = max(best.get(name, 0.0), value)
        print(f"{env_id}: control steps/s (5 physics steps each), best of {args.repeats}; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        for name, value in best.items():
            print(f"  {name:<36s} {value:>9.0f}")
        raw = best["raw mj_step (1 thread)"]
        threaded = best[f"raw rollout ({args.batch} x, {min(args.batch, os.cpu_count() or 1)} threads)"]
        single = best["single env"]
        batched = best[f"batched env ({args.batch} x)"]
        print(f"  single env overhead over raw mj_step:      {raw / single - 1:>7.0%}")
        print(f"  batched env overhead over raw rollout:     {threaded / batched - 1:>7.0%}")
        print(f"  batched env overhead over raw mj_step:     {raw / batched - 1:>7.0%}  (negative: faster)")
        print(f"  batched env / single env, per step:        {batched / single:>7.2f}x")


if __name__ == "__main__":
    main()
