"""Throughput of the locomotion environments next to raw MuJoCo physics on the same model.

    python benchmarks/bench_locomotion.py [--batch 64] [--seconds 2] [--repeats 3]

For each id, prints control steps per second (one control step = 5 physics steps of 0.004 s,
50 Hz) of:

* ``raw mj_step, single env's states`` and ``raw rollout (1 x), single env's states``: the
  physics of the single env's own trajectory (2000 steps with the timed run's actions, falls and
  resets included, recorded in an untimed pass), replayed step by step the two cheapest ways
  from Python: ``mj_setState`` + ``ctrl`` + ``mj_step(model, data, 5)`` on one MjData, and the
  env's own one-instance ``mujoco.rollout`` call. The single env's overhead is taken over the
  faster of the two (same process, interleaved with the env runs, best of ``--repeats``);
* ``raw mj_step``: the physics alone, single thread. The batched env's own trajectory (the
  states and servo targets of its B instances over 200 steps, recorded in an untimed pass with
  the same actions) is replayed: for each recorded instance-step ``mj_setState`` + ``ctrl`` +
  ``mj_step(model, data, 5)``, so raw and env step the same states with the same contacts;
* ``raw rollout``: the same recorded states, B at a time, in one ``mujoco.rollout`` call on a
  thread pool (the call the batched env makes);
* ``raw thread pool``: the alternative, a ``ThreadPoolExecutor`` whose workers each loop
  ``mj_step`` over a slice of the B recorded states (MuJoCo releases the GIL);
* ``single env``: ``gym.make(id)``: actions, physics, rewards, observations, metrics, resets;
* ``batched env``: ``gym.make_vec(id, num_envs=B)``, per instance.

Gymnasium's ``Ant-v5``, with its overhead over its own raw physics beside the quadruped's, is in
`rewardlab bench --family locomotion`: an env is compared with a peer by the work each adds to
its own physics, since the two models' physics cost differ.

Actions are uniform in [-0.2, 0.2] (servo targets within 0.2 rad of standing). Each figure is the
best of ``--repeats`` runs: the development machine is shared (the load average before and after
is printed). Overhead = raw rate / env rate - 1 by CPU time: the time an env step adds on top of
the physics it runs. A raw replay runs in a tight loop, with the physics' code and data hot in
the caches; inside an env the same call follows the Python work of the previous step and costs
more (see ``--breakdown``), which counts as overhead here.

    python benchmarks/bench_locomotion.py --breakdown

prints instead where a single-env step's time goes, layer by layer (Gymnasium wrappers, the core
adapter, the core step, and the simulator's physics, reward terms, observation and the rest).

    python benchmarks/bench_locomotion.py --against ad20bfb

times instead the single env with ``rewardlab/envs/locomotion/sim.py`` as of a git revision (the
rest of the package as checked out) against the current one, interleaved with raw physics.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import mujoco
import numpy as np
from mujoco import rollout

import rewardlab  # noqa: F401  (registers the ids)

ENV_IDS = ("rewardlab/LocoImitation-v0", "rewardlab/LocoJoystick-v0")


def _timed(fn, seconds: float) -> tuple[float, float]:
    """Calls of ``fn`` per wall-clock second and per CPU second (all threads) over ``seconds``."""
    fn()  # warm-up
    count, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            cpu = max(time.process_time() - cpu_start, 1e-9)
            return count / elapsed, count / cpu


def _scaled(rates: tuple[float, float], factor: int) -> tuple[float, float]:
    return rates[0] * factor, rates[1] * factor


def _actions(count: int, batch: int) -> np.ndarray:
    return np.random.default_rng(1).uniform(-0.2, 0.2, size=(count, batch, 12)).astype(np.float32)


def record(env_id: str, batch: int, steps: int) -> tuple[object, np.ndarray, np.ndarray]:
    """The model, and the (state, servo target) of every instance and step of a batched run.

    ``gym.make_vec`` with the same actions as the timed run: the raw figures then step exactly
    the states the env stepped (falls and resets included).
    """
    env = gym.make_vec(env_id, num_envs=batch)
    env.reset(seed=0)
    sim = env.sim
    actions = _actions(64, batch)
    states, targets = [], []
    for t in range(steps):
        states.append(sim.state.copy())
        env.step(actions[t % 64])
        targets.append(sim.joint_pos_target.copy())
    return sim.qm, np.array(states), np.array(targets)


def record_single(env_id: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(state, servo target) of every step of a single-env run with the timed run's actions."""
    env = gym.make(env_id)
    env.reset(seed=0)
    sim = env.unwrapped.sim
    actions = _actions(4096, 1)[:, 0]
    states, targets = [], []
    for t in range(steps):
        states.append(sim.state[0].copy())
        _, _, terminated, truncated, _ = env.step(actions[t % 4096])
        targets.append(sim.joint_pos_target[0].copy())
        if terminated or truncated:
            env.reset()
    return np.array(states), np.array(targets)


def _mj_step_replay(qm, states: np.ndarray, targets: np.ndarray):
    """A call that replays the next recorded (state, servo target) pair through
    ``mj_setState`` + ``ctrl`` + ``mj_step(model, data, 5)`` on one MjData, cycling."""
    model = qm.model
    data = mujoco.MjData(model)
    index = [0]

    def replay_one():
        k = index[0] % len(states)
        index[0] += 1
        mujoco.mj_setState(model, data, states[k], qm.state_spec)
        data.ctrl[:] = targets[k]
        mujoco.mj_step(model, data, 5)

    return replay_one


def bench_raw_single(qm, states: np.ndarray, targets: np.ndarray, seconds: float) -> dict[str, tuple[float, float]]:
    """Raw physics over the single env's own states: the two cheapest ways from Python.

    ``mj_setState`` + ``ctrl`` + ``mj_step(model, data, 5)`` on one MjData, and the env's own
    call, a one-instance ``mujoco.rollout`` on the calling thread (it also copies the state and
    the sensors of each substep out). The single env's overhead is taken over the faster one.
    """
    model = qm.model
    data = mujoco.MjData(model)
    index = [0]
    step_one = _mj_step_replay(qm, states, targets)

    pool = rollout.Rollout(nthread=0)
    out_state = np.zeros((1, 5, qm.state_size))
    out_sensor = np.zeros((1, 5, model.nsensordata))
    controls = np.repeat(targets[:, None, None, :], 5, axis=2).copy()  # (steps, 1, 5, 12)
    starts = states[:, None, :].copy()
    spec = int(mujoco.mjtState.mjSTATE_CTRL)

    def rollout_one():
        k = index[0] % len(states)
        index[0] += 1
        pool.rollout_.rollout([model], [data], 5, spec, starts[k], None, controls[k], out_state, out_sensor, None)

    return {"raw mj_step, single env's states": _timed(step_one, seconds),
            "raw rollout (1 x), single env's states": _timed(rollout_one, seconds)}


def bench_raw(qm, states: np.ndarray, targets: np.ndarray, seconds: float) -> dict[str, tuple[float, float]]:
    """Raw physics over recorded states (steps, B, nstate) and servo targets (steps, B, 12)."""
    model = qm.model
    steps, batch = states.shape[:2]
    flat_states = states.reshape(steps * batch, -1)
    flat_targets = targets.reshape(steps * batch, 12)
    single = _timed(_mj_step_replay(qm, flat_states, flat_targets), seconds)
    index = [0]
    threads = min(batch, os.cpu_count() or 1)
    pool = rollout.Rollout(nthread=threads)
    scratch = [mujoco.MjData(model) for _ in range(threads)]
    models = [model] * batch
    out_state = np.zeros((batch, 5, qm.state_size))
    out_sensor = np.zeros((batch, 5, model.nsensordata))
    controls = np.repeat(targets[:, :, None, :], 5, axis=2).copy()

    def replay_rollout():
        c = index[0] % steps
        index[0] += 1
        pool.rollout_.rollout(models, scratch, 5, int(mujoco.mjtState.mjSTATE_CTRL), states[c], None,
                              controls[c], out_state, out_sensor, None)

    datas = [mujoco.MjData(model) for _ in range(batch)]
    executor = ThreadPoolExecutor(max_workers=threads)
    slices = np.array_split(np.arange(batch), threads)

    def work(rows, c):
        for i in rows:
            mujoco.mj_setState(model, datas[i], states[c, i], qm.state_spec)
            datas[i].ctrl[:] = targets[c, i]
            mujoco.mj_step(model, datas[i], 5)

    def replay_pool():
        c = index[0] % steps
        index[0] += 1
        list(executor.map(work, slices, [c] * len(slices)))

    figures = {
        "raw mj_step (1 thread)": single,
        f"raw rollout ({batch} x, {threads} threads)": _scaled(_timed(replay_rollout, seconds), batch),
        f"raw thread pool ({batch} x, {threads} threads)": _scaled(_timed(replay_pool, seconds), batch),
    }
    executor.shutdown()
    return figures


def _timed_single_env(env: gym.Env, actions: np.ndarray, seconds: float) -> tuple[float, float]:
    """Steps/s of one Gymnasium env cycling through ``actions``, resetting when an episode ends."""
    env.reset(seed=0)
    index = [0]

    def step():
        _, _, terminated, truncated, _ = env.step(actions[index[0] % len(actions)])
        index[0] += 1
        if terminated or truncated:
            env.reset()

    return _timed(step, seconds)


def bench_single(env_id: str, seconds: float) -> tuple[float, float]:
    return _timed_single_env(gym.make(env_id), _actions(4096, 1)[:, 0], seconds)


def bench_batched(env_id: str, batch: int, seconds: float) -> tuple[float, float]:
    env = gym.make_vec(env_id, num_envs=batch)
    env.reset(seed=0)
    actions = _actions(64, batch)
    index = [0]

    def step():
        env.step(actions[index[0] % 64])
        index[0] += 1

    return _scaled(_timed(step, seconds), batch)


def breakdown(env_id: str, steps: int = 3000, rounds: int = 5) -> None:
    """Where a single-env step's time goes: mean microseconds per step in each layer.

    Each layer is timed by wrapping its entry point (a wrapper adds well under 1 us); the round
    with the least total time is kept. ``raw`` replays every tenth state the env visits with
    ``mj_setState`` + ``mj_step(model, data, 5)``, after each round (the best replay is kept).
    """
    env = gym.make(env_id)
    env.reset(seed=0)
    adapter = env.unwrapped
    sim = adapter.sim
    spent: dict[str, float] = {}

    def timed(owner, name, key):
        inner = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            result = inner(*args, **kwargs)
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start
            return result

        setattr(owner, name, wrapper)

    for owner, name in ((sim, "_advance"), (sim, "_task_terms"), (sim, "_task_terms_one"), (sim, "_compute_obs"),
                        (sim, "_step"), (sim, "step"), (sim, "_reset"), (adapter, "step")):
        if hasattr(owner, name):  # _task_terms_one exists only in older simulators
            timed(owner, name, f"{type(owner).__name__}.{name}")
    actions = _actions(4096, 1)[:, 0]
    # every tenth state of a run with the same seed and actions, for the raw replay
    states, targets = record_single(env_id, steps)
    states, targets = states[::10], targets[::10]
    model, data = sim.qm.model, mujoco.MjData(sim.qm.model)

    def replay() -> float:
        start = time.perf_counter()
        for state, target in zip(states, targets, strict=True):
            mujoco.mj_setState(model, data, state, sim.qm.state_spec)
            data.ctrl[:] = target
            mujoco.mj_step(model, data, 5)
        return (time.perf_counter() - start) / len(states) * 1e6

    env.reset(seed=0)
    best, raw = None, float("inf")
    for _ in range(rounds):  # interleaved: a round of env steps, then a raw replay
        spent.clear()
        start = time.perf_counter()
        for i in range(steps):
            _, _, terminated, truncated, _ = env.step(actions[i % 4096])
            if terminated or truncated:
                env.reset()
        row = {k: v / steps * 1e6 for k, v in spent.items()}
        row["total"] = (time.perf_counter() - start) / steps * 1e6
        if best is None or row["total"] < best["total"]:
            best = row
        raw = min(raw, replay())
    name = type(sim).__name__
    stepper = f"{name}.step"
    terms = best.get(f"{name}._task_terms", 0.0) + best.get(f"{name}._task_terms_one", 0.0)
    layers = {
        "gymnasium wrappers (PassiveEnvChecker, OrderEnforcing)": best["total"] - best["RewardlabEnv.step"],
        "core adapter RewardlabEnv.step, less sim.step and resets": best["RewardlabEnv.step"] - best[stepper]
        - best.get(f"{name}._reset", 0.0),
        "resets, amortised": best.get(f"{name}._reset", 0.0),
        "core BatchedSim.step around _step (actions, reward, metrics)": best[stepper] - best[f"{name}._step"],
        "_step: physics (mujoco.rollout)": best[f"{name}._advance"],
        "_step: task terms (_task_terms, B = 1: _task_terms_one)": terms,
        "_step: observation (_compute_obs; B = 1: in the rest)": best.get(f"{name}._compute_obs", 0.0),
        "_step: the rest (actions, torques, power, rates, terminations)": best[f"{name}._step"]
        - best[f"{name}._advance"] - terms - best.get(f"{name}._compute_obs", 0.0),
    }
    print(f"{env_id}: single-env step breakdown, us per step (best of {rounds} x {steps} steps; "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"  {'raw mj_setState + mj_step(model, data, 5), same states':<62s} {raw:7.1f}")
    print(f"  {'env.step in all':<62s} {best['total']:7.1f}")
    for label, value in layers.items():
        print(f"    {label:<60s} {value:7.1f}")


def cpu_us(rate: float) -> float:
    """Microseconds per step from steps per second."""
    return 1e6 / rate


def _env_from_revision(env_id: str, revision: str) -> gym.Env:
    """A single env of ``env_id`` whose simulator is ``rewardlab/envs/locomotion/sim.py`` as of
    git ``revision`` (the rest of the package, the core included, as checked out), wrapped as
    ``gym.make`` wraps it."""
    import importlib.util
    import subprocess
    import tempfile

    from rewardlab.core.adapters.gym_env import RewardlabEnv

    source = subprocess.run(["git", "show", f"{revision}:rewardlab/envs/locomotion/sim.py"], check=True,
                            capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(__file__))).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(f"loco_sim_{revision}", handle.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    os.unlink(handle.name)
    sim_class = getattr(module, env_id.split("/")[1].split("-")[0] + "Sim")
    env = RewardlabEnv(sim_class(num_envs=1, env_id=env_id))
    return gym.wrappers.OrderEnforcing(gym.wrappers.PassiveEnvChecker(env))


def against(env_id: str, revision: str, seconds: float, repeats: int) -> None:
    """Single-env CPU time per step of the simulator at ``revision`` and of the current one,
    interleaved with raw physics on the current env's states, best of ``repeats``."""
    states, targets = record_single(env_id, 2000)
    qm = gym.make(env_id).unwrapped.sim.qm
    envs = {f"single env, sim.py at {revision}": _env_from_revision(env_id, revision), "single env, current": None}
    load_before = os.getloadavg()[0]
    best: dict[str, float] = {}
    for _ in range(repeats):
        raw = bench_raw_single(qm, states, targets, seconds)
        for name, (_, per_cpu) in raw.items():
            best[name] = max(best.get(name, 0.0), per_cpu)
        for name, env in envs.items():
            if env is None:
                rate = bench_single(env_id, seconds)[1]
            else:
                env.reset(seed=0)
                actions = _actions(4096, 1)[:, 0]
                index = [0]

                def step(env=env, actions=actions, index=index):
                    _, _, terminated, truncated, _ = env.step(actions[index[0] % 4096])
                    index[0] += 1
                    if terminated or truncated:
                        env.reset()

                rate = _timed(step, seconds)[1]
            best[name] = max(best.get(name, 0.0), rate)
    raw_rate = max(best["raw mj_step, single env's states"], best["raw rollout (1 x), single env's states"])
    print(f"{env_id}: single env before and after, us per step by CPU time, best of {repeats}; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    for name, rate in best.items():
        extra = "" if name.startswith("raw") else f"  overhead over raw physics {raw_rate / rate - 1:>5.0%}"
        print(f"  {name:<44s} {cpu_us(rate):7.1f}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--env", choices=ENV_IDS, action="append", help="default: both ids")
    parser.add_argument("--breakdown", action="store_true",
                        help="instead: where a single-env step's time goes, layer by layer")
    parser.add_argument("--against", metavar="REV",
                        help="instead: the single env with sim.py as of git revision REV against the current one")
    args = parser.parse_args()
    if args.against:
        for env_id in args.env or ENV_IDS:
            against(env_id, args.against, args.seconds, args.repeats)
        return
    if args.breakdown:
        for env_id in args.env or ENV_IDS:
            breakdown(env_id)
        return
    for env_id in args.env or ENV_IDS:
        qm, states, targets = record(env_id, args.batch, 200)
        single_states, single_targets = record_single(env_id, 2000)
        wall: dict[str, float] = {}
        cpu: dict[str, float] = {}
        load_before = os.getloadavg()[0]
        for _ in range(args.repeats):  # interleaved: raw, single env, batched env, in turn
            figures = bench_raw_single(qm, single_states, single_targets, args.seconds)
            figures.update(bench_raw(qm, states, targets, args.seconds))
            figures["single env"] = bench_single(env_id, args.seconds)
            figures[f"batched env ({args.batch} x)"] = bench_batched(env_id, args.batch, args.seconds)
            for name, (per_wall, per_cpu) in figures.items():
                wall[name] = max(wall.get(name, 0.0), per_wall)
                cpu[name] = max(cpu.get(name, 0.0), per_cpu)
        print(f"{env_id}: control steps/s (5 physics steps each), best of {args.repeats}; "
              f"{os.cpu_count()} CPUs, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
        print(f"  {'':<40s} {'per wall s':>10s} {'per CPU s':>10s}")
        for name in wall:
            print(f"  {name:<40s} {wall[name]:>10.0f} {cpu[name]:>10.0f}")
        threads = min(args.batch, os.cpu_count() or 1)
        rollout_name = f"raw rollout ({args.batch} x, {threads} threads)"
        batched_name = f"batched env ({args.batch} x)"
        raw = "raw mj_step (1 thread)"
        raw_single = max(cpu["raw mj_step, single env's states"], cpu["raw rollout (1 x), single env's states"])
        print("  overheads (raw rate / env rate - 1), by CPU time, the work an env step adds to its physics:")
        print(f"    single env over raw physics, same states: {cpu_us(raw_single):.1f} us raw, "
              f"{cpu_us(cpu['single env']):.1f} us env: {raw_single / cpu['single env'] - 1:>5.0%}")
        print(f"    single env over raw mj_step:        {cpu[raw] / cpu['single env'] - 1:>7.0%}")
        print(f"    batched env over raw rollout:       {cpu[rollout_name] / cpu[batched_name] - 1:>7.0%}")
        print(f"    batched env over raw mj_step:       {cpu[raw] / cpu[batched_name] - 1:>7.0%}")
        print(f"  batched env / single env per step, wall clock: {wall[batched_name] / wall['single env']:.2f}x")


if __name__ == "__main__":
    main()
