"""Throughput of the locomotion environments next to raw MuJoCo physics on the same model.

    python benchmarks/bench_locomotion.py [--batch 64] [--seconds 2] [--repeats 3]

Prints control steps per second (one control step = 5 physics steps of 0.004 s at 50 Hz) for:

* ``raw mj_step``: a Python loop over MjData instances of the same MjModel, setting ``ctrl`` and
  calling ``mujoco.mj_step(model, data, 5)``: the physics alone, single thread;
* ``raw rollout``: the same physics for the whole batch in one ``mujoco.rollout`` call (threads);
* ``single env``: ``gym.make("rewardlab/LocoImitation-v0")``, one instance, actions, rewards,
  observations, metrics;
* ``batched env``: ``gym.make_vec(..., num_envs=B)``, per instance.

Each figure is the best of ``--repeats`` runs (the machine may be shared). The env overhead is
(raw-loop rate / env rate - 1): the share of time an env step adds on top of the physics it runs.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import mujoco
import numpy as np
from mujoco import rollout

import rewardlab  # noqa: F401  (registers the ids)
from rewardlab.envs.locomotion.model import STANDING_POSE, QuadrupedModel, read_xml

ENV_ID = "rewardlab/LocoImitation-v0"


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


def bench_raw(batch: int, seconds: float) -> tuple[float, float]:
    qm = QuadrupedModel(read_xml(None))
    model = qm.model
    datas = [mujoco.MjData(model) for _ in range(batch)]
    for d in datas:
        d.qpos[2] = 0.285
        d.qpos[3] = 1.0
        d.qpos[7:] = STANDING_POSE
    rng = np.random.default_rng(0)
    ctrl = STANDING_POSE + 0.2 * rng.uniform(-1, 1, size=(batch, 12))

    def loop():
        for i, d in enumerate(datas):
            d.ctrl[:] = ctrl[i]
            mujoco.mj_step(model, d, 5)

    loop_rate = _timed(loop, seconds) * batch
    threads = min(batch, os.cpu_count() or 1)
    pool = rollout.Rollout(nthread=threads if batch > 1 else 0)
    scratch = [mujoco.MjData(model) for _ in range(max(threads, 1))]
    state = np.zeros((batch, qm.state_size))
    for i, d in enumerate(datas):
        mujoco.mj_getState(model, d, state[i], qm.state_spec)
    control = np.repeat(ctrl[:, None, :], 5, axis=1)
    out_state = np.zeros((batch, 5, qm.state_size))
    out_sensor = np.zeros((batch, 5, model.nsensordata))
    models = [model] * batch

    def threaded():
        pool.rollout_.rollout(models, scratch, 5, int(mujoco.mjtState.mjSTATE_CTRL), state, None, control,
                              out_state, out_sensor, None)
        state[:] = out_state[:, -1]

    return loop_rate, _timed(threaded, seconds) * batch


def bench_single(seconds: float) -> float:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    actions = np.random.default_rng(1).uniform(-0.2, 0.2, size=(4096, 12)).astype(np.float32)
    index = [0]

    def step():
        _, _, terminated, truncated, _ = env.step(actions[index[0] % 4096])
        index[0] += 1
        if terminated or truncated:
            env.reset()

    return _timed(step, seconds)


def bench_batched(batch: int, seconds: float) -> float:
    env = gym.make_vec(ENV_ID, num_envs=batch)
    env.reset(seed=0)
    actions = np.random.default_rng(1).uniform(-0.2, 0.2, size=(64, batch, 12)).astype(np.float32)
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
    args = parser.parse_args()
    best: dict[str, float] = {}
    for _ in range(args.repeats):
        raw1, _ = bench_raw(1, args.seconds)
        raw_b, rollout_b = bench_raw(args.batch, args.seconds)
        figures = {
            "raw mj_step, 1 instance": raw1,
            f"raw mj_step loop, {args.batch} instances": raw_b,
            f"raw rollout, {args.batch} instances": rollout_b,
            "single env": bench_single(args.seconds),
            f"batched env, {args.batch} instances": bench_batched(args.batch, args.seconds),
        }
        for name, value in figures.items():
            best[name] = max(best.get(name, 0.0), value)
    print(f"{ENV_ID}: control steps/s (5 physics steps each), best of {args.repeats}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for name, value in best.items():
        print(f"  {name:<40s} {value:>10.0f}")
    raw = best["raw mj_step, 1 instance"]
    single = best["single env"]
    batched = best[f"batched env, {args.batch} instances"]
    print(f"  single env overhead over raw physics:   {raw / single - 1:>9.0%}")
    print(f"  batched env overhead over raw physics:  {raw / batched - 1:>9.0%}"
          " (negative: faster than one thread of raw physics)")
    print(f"  batched env / single env, per step:     {batched / single:>9.2f}x")


if __name__ == "__main__":
    main()
