"""Agent benchmarks: rewardlab PPO vs Stable-Baselines3 PPO, and the cost of the Jacobian penalty.

    python benchmarks/bench_agents.py                  # both parts, best of 3, CPU
    python benchmarks/bench_agents.py --part throughput --env rewardlab/CoopSLCD-v0 --num-envs 64
    python benchmarks/bench_agents.py --part penalty --device auto

Part 1 (throughput) trains both PPOs on the same vectorised rewardlab environment with the same
hyperparameters (rollout num_envs x num_steps, 4 epochs, 4 minibatches, 64-64 tanh networks,
observation and reward normalisation, log-std init -0.5) and prints instance-steps per second of
training (rollout + update) side by side. rewardlab steps the batched simulator directly; SB3
steps it through rewardlab.sb3_vec_env (one slot per instance and agent, no Python loop over
environments either), so the difference is the agents' own overhead.

Part 2 (penalty) collects one rollout on the quadruped imitation task and times PPO updates on it
(4 epochs x 4 minibatches) for: MLP without penalty, MLP + autograd Jacobian penalty (vmap and
sum methods), LPN without penalty, LPN + analytic ||K(phi)||_F^2, LPN + autograd Jacobian.
Figures are the best of ``--repeats`` runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def rewardlab_ppo_sps(env_id: str, num_envs: int, num_steps: int, updates: int, seed: int, device: str) -> float:
    import rewardlab
    from rewardlab.agents import PPO

    sim = rewardlab.make_sim(env_id, num_envs=num_envs)
    agent = PPO(
        sim,
        {"num_steps": num_steps, "num_minibatches": 4, "update_epochs": 4, "init_log_std": -0.5, "anneal_lr": False,
         "torch_threads": torch.get_num_threads()},
        seed=seed,
        device=device,
    )
    agent.train_one_update(updates + 1)  # warm-up (first-call allocations)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(updates):
        agent.train_one_update(updates + 1)
    steps = updates * num_envs * num_steps
    return steps / (time.perf_counter() - start), steps / (time.process_time() - cpu)


def sb3_ppo_sps(
    env_id: str, num_envs: int, num_steps: int, updates: int, seed: int, device: str, batched: bool = True
) -> float:
    """SB3 PPO on rewardlab.sb3_vec_env (batched) or on DummyVecEnv(gym.make) (RL-Zoo's way)."""
    import gymnasium as gym
    import stable_baselines3 as sb3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    import rewardlab

    if batched:
        venv = rewardlab.sb3_vec_env(env_id, num_envs=num_envs, agent_id=True)
    else:  # one gym.make per instance, joint action for multi-agent ids, a Python loop over them
        venv = make_vec_env(lambda: gym.make(env_id), n_envs=num_envs, seed=seed)
    venv = VecNormalize(venv, gamma=0.99)
    slots = venv.num_envs
    batch = slots * num_steps
    model = sb3.PPO(
        "MlpPolicy",
        venv,
        n_steps=num_steps,
        batch_size=batch // 4,
        n_epochs=4,
        policy_kwargs={"log_std_init": -0.5},
        seed=seed,
        device=device,
        verbose=0,
    )
    model.learn(batch)  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    model.learn(updates * batch, reset_num_timesteps=False)
    steps = updates * num_envs * num_steps
    return steps / (time.perf_counter() - start), steps / (time.process_time() - cpu)


def throughput(args) -> None:
    import rewardlab

    sim = rewardlab.make_sim(args.env, num_envs=1)
    n = sim.num_agents
    print(f"\n## PPO training throughput on {args.env} ({n} agents), {args.num_envs} instances x {args.num_steps} steps")
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, best of {args.repeats}\n")
    # interleaved repeats, best of each: the machine may be shared, so every agent sees the same load
    runs = {"ours": [], "batched": [], "dummy": []}
    for rep in range(args.repeats):
        runs["ours"].append(rewardlab_ppo_sps(args.env, args.num_envs, args.num_steps, args.updates, rep, args.device))
        runs["batched"].append(sb3_ppo_sps(args.env, args.num_envs, args.num_steps, args.updates, rep, args.device))
        runs["dummy"].append(
            sb3_ppo_sps(args.env, args.num_envs, args.num_steps, args.updates, rep, args.device, batched=False)
        )
    best = {k: (max(w for w, _ in v), max(c for _, c in v)) for k, v in runs.items()}
    rows = [
        ("rewardlab PPO", "BatchedSim, one sample per (instance, agent)", "ours"),
        ("SB3 PPO", "rewardlab.sb3_vec_env (same batched sim)", "batched"),
        ("SB3 PPO", "DummyVecEnv of gym.make (RL-Zoo default), joint action", "dummy"),
    ]
    print("| agent | environment interface | instance-steps/s (wall) | per CPU-second | rewardlab / this (wall, CPU) |")
    print("|---|---|---:|---:|---:|")
    for agent, interface, key in rows:
        wall, cpu = best[key]
        ratio = f"{best['ours'][0] / wall:.2f}x, {best['ours'][1] / cpu:.2f}x"
        print(f"| {agent} | {interface} | {wall:,.0f} | {cpu:,.0f} | {ratio} |")


PENALTY_CASES = [
    ("MLP, no penalty", {"policy": "mlp"}),
    ("MLP + autograd Jacobian (vmap)", {"policy": "mlp", "jacobian_penalty": 0.1, "jacobian_method": "vmap"}),
    ("MLP + autograd Jacobian (sum)", {"policy": "mlp", "jacobian_penalty": 0.1, "jacobian_method": "sum"}),
    ("LPN, no penalty", {"policy": "lpn"}),
    ("LPN + analytic ||K||_F^2", {"policy": "lpn", "jacobian_penalty": 0.1, "jacobian_method": "analytic"}),
    ("LPN + autograd Jacobian (vmap)", {"policy": "lpn", "jacobian_penalty": 0.1, "jacobian_method": "vmap"}),
]


def penalty(args) -> None:
    import rewardlab
    from rewardlab.agents import PPO

    env_id = args.penalty_env
    print(f"\n## PPO update time with smoothness penalties on {env_id}")
    batch = args.num_envs_penalty * args.num_steps_penalty
    print(f"batch {batch} samples, 4 epochs x 4 minibatches of {batch // 4}, device {args.device}, best of {args.repeats}\n")
    results = {name: np.inf for name, _ in PENALTY_CASES}
    for rep in range(args.repeats):  # interleaved: every case sees the same machine load
        for name, settings in PENALTY_CASES:
            sim = rewardlab.make_sim(env_id, num_envs=args.num_envs_penalty)
            config = {"num_steps": args.num_steps_penalty, "hidden_sizes": (256, 256), "torch_threads": args.threads, **settings}
            if settings["policy"] == "lpn":
                config["phase_index"] = args.phase_index
            agent = PPO(sim, config, seed=rep, device=args.device)
            rollout, _ = agent._rollout()
            agent._update(rollout)  # warm-up
            for _ in range(args.update_reps):
                start = time.process_time() if args.cpu_time else time.perf_counter()
                agent._update(rollout)
                if agent.device.type == "cuda":
                    torch.cuda.synchronize()
                elapsed = (time.process_time() if args.cpu_time else time.perf_counter()) - start
                results[name] = min(results[name], elapsed)
            sim.close()
    base_mlp = results["MLP, no penalty"]
    base_lpn = results["LPN, no penalty"]
    clock = "CPU" if args.cpu_time else "wall"
    print(f"| policy and penalty | update time (s, {clock}) | vs MLP no penalty | vs LPN no penalty |")
    print("|---|---:|---:|---:|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.3f} | {seconds / base_mlp:.2f}x | {seconds / base_lpn:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "throughput", "penalty"), default="all")
    parser.add_argument("--env", default="rewardlab/CoopSLCD-v0")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--num-steps", type=int, default=128)
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--penalty-env", default="rewardlab/LocoImitation-v0")
    parser.add_argument("--phase-index", type=int, nargs="+", default=[46, 47], help="the (cos, sin) phase entries")
    parser.add_argument("--num-envs-penalty", type=int, default=16)
    parser.add_argument("--num-steps-penalty", type=int, default=64)
    parser.add_argument("--update-reps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--cpu-time", action="store_true", help="penalty part: process CPU time instead of wall clock")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU (both agents)")
    args = parser.parse_args()
    from rewardlab.agents import resolve_device

    args.device = str(resolve_device(args.device))
    torch.set_num_threads(args.threads)
    if args.part in ("all", "throughput"):
        throughput(args)
    if args.part in ("all", "penalty"):
        penalty(args)


if __name__ == "__main__":
    main()
