"""Agent benchmarks: rewardlab PPO vs Stable-Baselines3 PPO, and the cost of the Jacobian penalty.

    python benchmarks/bench_agents.py                  # both parts, both configurations, best of 3, CPU
    python benchmarks/bench_agents.py --part throughput --configs shipped --agents ours batched --repeats 5
    python benchmarks/bench_agents.py --part throughput --breakdown   # + where the time goes
    python benchmarks/bench_agents.py --part penalty --device auto

Part 1 (throughput) trains both PPOs in one process on the same vectorised rewardlab environment
with the same hyperparameters, in two configurations (``--configs``):

* ``shipped`` (the default first table): the PPO entry rewardlab ships for the environment in
  rewardlab/baselines/hyperparams/ppo.yml (RL-Zoo format; for the coopetition ids the
  ``default`` anchor: 8 instances x 256 steps, minibatches of 256, 10 epochs, 64-64 tanh
  networks, unclipped value loss), translated key by key to both agents; the translation table
  is printed. This is what a user runs.
* ``large``: the first sessions' setting (``LARGE``: 64 instances x 128 steps, 4 epochs x 4
  minibatches of 4096, clipped value loss), where both agents spend most of the update in the
  same matmul and tanh kernels.

For each it prints, side by side, instance-steps per second of training (rollout + update, wall
clock and per CPU-second), the rollout and update CPU seconds per iteration, and rewardlab's
ratio to each agent. rewardlab steps the batched simulator directly; SB3 steps the same
simulator through rewardlab.sb3_vec_env (one slot per instance and agent, no Python loop over
environments either), or a DummyVecEnv of gym.make as RL-Zoo does. ``--breakdown`` profiles one
iteration of each agent with torch.profiler and splits each phase into tanh, matmul, other torch
ops and time outside torch.

Part 2 (penalty) collects one rollout on the quadruped imitation task and times PPO updates on it
(4 epochs x 4 minibatches) for: MLP without penalty (hand-written gradient, and the autograd
loss that every penalty case uses), MLP + autograd Jacobian penalty (vmap and sum methods), MLP +
Lipschitz gradient penalty, LPN without penalty, LPN + analytic ||K(phi)||_F^2, LPN + autograd
Jacobian; 256-256 networks unless ``--hidden-penalty`` says otherwise.
Figures are the best of ``--repeats`` interleaved runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from rewardlab.bench.cases import sb3_arguments

#: SB3/RL-Zoo defaults for the PPO keys an entry of ppo.yml may leave out
SB3_PPO_DEFAULTS = {
    "n_steps": 2048,
    "batch_size": 64,
    "n_epochs": 10,
    "learning_rate": 3e-4,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "clip_range_vf": None,
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "normalize": False,
}
#: ppo.yml keys that do not change what an iteration computes (budget, policy class name)
YML_IGNORED = ("n_timesteps", "policy")

#: the large-minibatch configuration (the first sessions' benchmark): few big minibatches, so
#: both agents spend most of the update in the same matmul and tanh kernels
LARGE = {
    "num_envs": 64,
    "num_steps": 128,
    "update_epochs": 4,
    "num_minibatches": 4,
    "learning_rate": 3e-4,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_coef": 0.2,
    "clip_vloss": True,
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "hidden_sizes": (64, 64),
    "activation": "tanh",
    "init_log_std": -0.5,
    "normalize": True,
}


def shipped_settings(env_id: str) -> tuple[dict, list[tuple[str, str, str, str]]]:
    """The PPO hyperparameters rewardlab ships for ``env_id`` (rewardlab/baselines/hyperparams/
    ppo.yml, RL-Zoo format), as settings both agents get, and the translation table
    (ppo.yml key, its value, rewardlab PPOConfig field, SB3 argument)."""
    from rewardlab.baselines.sb3 import _policy_kwargs, load_hyperparams

    entry = load_hyperparams("sb3-ppo", env_id)
    unknown = set(entry) - set(SB3_PPO_DEFAULTS) - {"n_envs", "policy_kwargs", *YML_IGNORED}
    if unknown:
        raise SystemExit(f"{env_id}: ppo.yml keys {sorted(unknown)} have no translation in this benchmark")
    yml = {**SB3_PPO_DEFAULTS, "n_envs": 8, **entry}
    if not isinstance(yml["learning_rate"], (int, float)):
        raise SystemExit(f"{env_id}: only a constant learning_rate is translated, got {yml['learning_rate']!r}")
    policy_kwargs = _policy_kwargs(yml.get("policy_kwargs")) or {}
    unknown_pk = set(policy_kwargs) - {"log_std_init", "net_arch", "activation_fn", "ortho_init"}
    if unknown_pk or not policy_kwargs.get("ortho_init", True):
        raise SystemExit(f"{env_id}: policy_kwargs {policy_kwargs} has no translation in this benchmark")
    net_arch = policy_kwargs.get("net_arch", {"pi": [64, 64], "vf": [64, 64]})
    if isinstance(net_arch, list):
        net_arch = {"pi": net_arch, "vf": net_arch}
    activation = {torch.nn.Tanh: "tanh", torch.nn.ReLU: "relu"}[policy_kwargs.get("activation_fn", torch.nn.Tanh)]
    settings = {
        "num_envs": int(yml["n_envs"]),
        "num_steps": int(yml["n_steps"]),
        "update_epochs": int(yml["n_epochs"]),
        "minibatch_size": int(yml["batch_size"]),
        "learning_rate": float(yml["learning_rate"]),
        "gamma": float(yml["gamma"]),
        "gae_lambda": float(yml["gae_lambda"]),
        "clip_coef": float(yml["clip_range"]),
        "clip_vloss": yml["clip_range_vf"] is not None,
        "ent_coef": float(yml["ent_coef"]),
        "vf_coef": float(yml["vf_coef"]),
        "max_grad_norm": float(yml["max_grad_norm"]),
        "hidden_sizes": tuple(net_arch["pi"]),
        "critic_hidden_sizes": tuple(net_arch["vf"]),
        "activation": activation,
        "init_log_std": float(policy_kwargs.get("log_std_init", 0.0)),
        "normalize": bool(yml["normalize"]),
    }
    if settings["clip_vloss"] and float(yml["clip_range_vf"]) != settings["clip_coef"]:
        raise SystemExit(f"{env_id}: clip_range_vf != clip_range has no rewardlab translation")
    rows = [
        ("n_envs", yml["n_envs"], "num_envs", "n_envs (instances; x agents slots)"),
        ("n_steps", yml["n_steps"], "num_steps", "n_steps"),
        ("batch_size", yml["batch_size"], "minibatch_size", "batch_size"),
        ("n_epochs", yml["n_epochs"], "update_epochs", "n_epochs"),
        ("learning_rate", yml["learning_rate"], "learning_rate, anneal_lr=False", "learning_rate (constant)"),
        ("gamma", yml["gamma"], "gamma", "gamma (and VecNormalize gamma)"),
        ("gae_lambda", yml["gae_lambda"], "gae_lambda", "gae_lambda"),
        ("clip_range", yml["clip_range"], "clip_coef", "clip_range"),
        ("clip_range_vf", yml["clip_range_vf"], f"clip_vloss={settings['clip_vloss']}", "clip_range_vf"),
        ("ent_coef", yml["ent_coef"], "ent_coef", "ent_coef"),
        ("vf_coef", yml["vf_coef"], "vf_coef", "vf_coef"),
        ("max_grad_norm", yml["max_grad_norm"], "max_grad_norm", "max_grad_norm"),
        ("normalize", yml["normalize"], "normalize_obs, normalize_reward", "VecNormalize(obs, reward)"),
        ("policy_kwargs.net_arch", net_arch, "hidden_sizes, critic_hidden_sizes", "net_arch"),
        ("policy_kwargs.activation_fn", activation, "activation", "activation_fn"),
        ("policy_kwargs.log_std_init", settings["init_log_std"], "init_log_std", "log_std_init"),
        ("(ortho_init, Adam eps)", "True, 1e-5", "always", "SB3 defaults"),
    ]
    return settings, [(a, str(b), c, d) for a, b, c, d in rows]


def rewardlab_config(settings: dict) -> dict:
    """PPOConfig fields for the shared settings."""
    config = {k: v for k, v in settings.items() if k not in ("normalize", "num_envs")}
    config["anneal_lr"] = False  # SB3 keeps a float learning rate constant
    config["normalize_obs"] = config["normalize_reward"] = settings["normalize"]
    return config


class PhaseTimer:
    """Wraps an agent's rollout and update methods: wall and CPU seconds of each, and optionally
    a torch.profiler op table per phase (``profile=True``)."""

    def __init__(self, obj, rollout: str, update: str, profile: bool = False) -> None:
        self.seconds = {"rollout": [0.0, 0.0], "update": [0.0, 0.0]}
        self.ops: dict[str, list] = {"rollout": [], "update": []}
        self.profile = profile
        for phase, name in (("rollout", rollout), ("update", update)):
            setattr(obj, name, self._wrap(phase, getattr(obj, name)))

    def _wrap(self, phase: str, method):
        def timed(*args, **kwargs):
            if self.profile:
                from torch.profiler import ProfilerActivity, profile

                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    wall, cpu = time.perf_counter(), time.process_time()  # not the profiler's start-up
                    out = method(*args, **kwargs)
                    self.seconds[phase][0] += time.perf_counter() - wall
                    self.seconds[phase][1] += time.process_time() - cpu
                self.ops[phase].append(prof.key_averages())
                return out
            wall, cpu = time.perf_counter(), time.process_time()
            out = method(*args, **kwargs)
            self.seconds[phase][0] += time.perf_counter() - wall
            self.seconds[phase][1] += time.process_time() - cpu
            return out

        return timed

    def reset(self) -> None:
        self.seconds = {"rollout": [0.0, 0.0], "update": [0.0, 0.0]}


def rewardlab_ppo(env_id: str, settings: dict, updates: int, seed: int, device: str, profile=False, backend="fast"):
    """Seconds (wall, CPU) for ``updates`` PPO iterations and the per-phase split (or op tables)."""
    import rewardlab
    from rewardlab.agents import PPO

    sim = rewardlab.make_sim(env_id, num_envs=settings["num_envs"])
    config = {**rewardlab_config(settings), "torch_threads": torch.get_num_threads(), "backend": backend}
    agent = PPO(sim, config, seed=seed, device=device)
    agent.train_one_update(updates + 1)  # warm-up (first-call allocations)
    if agent.fast is not None:
        timer = PhaseTimer(agent.fast, "rollout", "update", profile)
    else:
        timer = PhaseTimer(agent, "_rollout", "_update", profile)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(updates):
        agent.train_one_update(updates + 1)
    if agent.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start, time.process_time() - cpu), timer


def sb3_ppo(env_id: str, settings: dict, updates: int, seed: int, device: str, batched=True, profile=False):
    """SB3 PPO on rewardlab.sb3_vec_env (batched) or on DummyVecEnv(gym.make) (RL-Zoo's way)."""
    import gymnasium as gym
    import stable_baselines3 as sb3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    import rewardlab

    num_envs = settings["num_envs"]
    if batched:
        venv = rewardlab.sb3_vec_env(env_id, num_envs=num_envs, agent_id=True)
    else:  # one gym.make per instance, joint action for multi-agent ids, a Python loop over them
        venv = make_vec_env(lambda: gym.make(env_id), n_envs=num_envs, seed=seed)
    if settings["normalize"]:
        venv = VecNormalize(venv, gamma=settings["gamma"])
    batch = venv.num_envs * settings["num_steps"]
    model = sb3.PPO("MlpPolicy", venv, **sb3_arguments(settings, venv.num_envs), seed=seed, device=device,
                    verbose=0)
    model.learn(batch)  # warm-up
    timer = PhaseTimer(model, "collect_rollouts", "train", profile)
    start, cpu = time.perf_counter(), time.process_time()
    model.learn(updates * batch, reset_num_timesteps=False)
    return (time.perf_counter() - start, time.process_time() - cpu), timer


AGENTS = {
    "ours": ("rewardlab PPO", "BatchedSim, one sample per (instance, agent)"),
    "batched": ("SB3 PPO", "rewardlab.sb3_vec_env (the same batched sim)"),
    "dummy": ("SB3 PPO", "DummyVecEnv of gym.make (RL-Zoo default), joint action"),
}


def _run(key: str, args, settings: dict, seed: int, profile: bool = False):
    common = (args.env, settings, args.updates, seed, args.device)
    if key == "ours":
        return rewardlab_ppo(*common, profile=profile)
    return sb3_ppo(*common, batched=key == "batched", profile=profile)


def configurations(args) -> list[tuple[str, dict, list]]:
    """(title, settings, translation rows) of each configuration asked for with --configs."""
    out = []
    for name in args.configs:
        if name == "shipped":
            settings, rows = shipped_settings(args.env)
            out.append(("shipped hyperparameters (rewardlab/baselines/hyperparams/ppo.yml)", settings, rows))
        else:
            settings = {**LARGE, "num_envs": args.num_envs, "num_steps": args.num_steps, "activation": args.activation}
            out.append(("large minibatches", settings, []))
    return out


def describe(settings: dict, n: int) -> str:
    batch = settings["num_envs"] * n * settings["num_steps"]
    minibatch = settings.get("minibatch_size") or batch // settings["num_minibatches"]
    per_epoch = -(-batch // minibatch)
    critic = settings.get("critic_hidden_sizes") or settings["hidden_sizes"]
    return (
        f"{settings['num_envs']} instances x {n} agents x {settings['num_steps']} steps = {batch} samples per update, "
        f"{settings['update_epochs']} epochs x {per_epoch} minibatches of {minibatch} "
        f"({settings['update_epochs'] * per_epoch} gradient steps per update), "
        f"actor {'-'.join(map(str, settings['hidden_sizes']))} and critic {'-'.join(map(str, critic))} "
        f"{settings['activation']} (separate), orthogonal init, Adam lr {settings['learning_rate']} eps 1e-5 "
        f"(constant), clipped surrogate ({settings['clip_coef']}), "
        f"value loss {'clipped' if settings['clip_vloss'] else 'unclipped'}, "
        f"vf_coef {settings['vf_coef']}, ent_coef {settings['ent_coef']}, grad-norm clip {settings['max_grad_norm']}, "
        f"GAE ({settings['gamma']}, {settings['gae_lambda']}), observation and reward normalisation "
        f"{'on' if settings['normalize'] else 'off'}, log-std init {settings['init_log_std']}, "
        "one-hot agent id in the observation."
    )


def throughput(args) -> None:
    import rewardlab

    sim = rewardlab.make_sim(args.env, num_envs=1)
    n = sim.num_agents
    for title, settings, rows in configurations(args):
        print(f"\n## PPO training throughput on {args.env} ({n} agents): {title}\n")
        if rows:
            print("| ppo.yml key | value | rewardlab PPOConfig | SB3 PPO |")
            print("|---|---|---|---|")
            for row in rows:
                print("| " + " | ".join(row) + " |")
            print()
        print("Both agents: " + describe(settings, n))
        print(
            f"device {args.device}, torch threads {torch.get_num_threads()}, {args.updates} timed updates after one "
            f"warm-up, best of {args.repeats} interleaved runs. One step = one instance-step ({n} samples).\n"
        )
        keys = [k for k in AGENTS if k in args.agents]
        runs: dict[str, list] = {k: [] for k in keys}
        for rep in range(args.repeats):  # interleaved: every agent sees the same machine load
            for key in keys:
                runs[key].append(_run(key, args, settings, rep))
        steps = args.updates * settings["num_envs"] * settings["num_steps"]
        best = {}
        for key, results in runs.items():
            wall = min(r[0][0] for r in results)
            cpu = min(r[0][1] for r in results)
            phases = {ph: min(r[1].seconds[ph][1] for r in results) / args.updates for ph in ("rollout", "update")}
            best[key] = (steps / wall, steps / cpu, phases)
        ours = best.get("ours")
        print(
            "| agent | environment interface | instance-steps/s (wall) | per CPU-s | policy samples/s (wall) "
            "| rollout CPU s/iter | update CPU s/iter | rewardlab / this (wall, CPU) |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for key in keys:
            sps, cps, phases = best[key]
            ratio = f"{ours[0] / sps:.2f}x, {ours[1] / cps:.2f}x" if ours else "-"
            agent, interface = AGENTS[key]
            samples = sps * (1 if key == "dummy" else n)  # a joint action is one sample per instance-step
            print(
                f"| {agent} | {interface} | {sps:,.0f} | {cps:,.0f} | {samples:,.0f} "
                f"| {phases['rollout']:.3f} | {phases['update']:.3f} | {ratio} |"
            )
        if args.breakdown:
            breakdown(args, settings, [k for k in keys if k != "dummy"])


#: torch.profiler op groups for the breakdown (self time; in-place and out-of-place variants)
OP_GROUPS = (
    # rewardlab's tanh on large tensors is 2 sigmoid(2y) - 1: its sigmoid counts here, the two
    # scalar ops around it under "other"
    (
        "activation forward",
        ("aten::tanh", "aten::tanh_", "aten::relu", "aten::relu_", "aten::sigmoid", "aten::sigmoid_"),
    ),
    ("activation backward", ("aten::tanh_backward", "aten::threshold_backward", "aten::sigmoid_backward")),
    ("matmul (addmm, mm, bmm)", ("aten::addmm", "aten::mm", "aten::bmm", "aten::baddbmm")),
)


def breakdown(args, settings, keys) -> None:
    """One profiled update per agent: where the CPU time goes, by phase and op group."""
    print(
        "\n### Where the time goes: one iteration under torch.profiler (best of --repeats), wall ms; "
        "profiling inflates every op a little\n"
    )
    print(
        "| agent | phase | total | activation forward | activation backward | matmul "
        "| other torch ops and autograd/optimizer overhead | outside torch (Python, NumPy, simulator) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for key in keys:
        args_one = argparse.Namespace(**{**vars(args), "updates": 1})
        # best of --repeats profiled iterations, per phase (the quietest moment of a shared machine)
        rows: dict[str, tuple[float, list[float], float, float]] = {}
        for rep in range(args.repeats):
            _, timer = _run(key, args_one, settings, rep, profile=True)
            for phase in ("rollout", "update"):
                phase_ms = timer.seconds[phase][0] * 1e3  # wall time of the profiled call, as op times are
                self_ms = {e.key: e.self_cpu_time_total / 1e3 for e in timer.ops[phase][-1]}
                torch_total = sum(self_ms.values())
                groups = [sum(self_ms.get(op, 0.0) for op in ops) for _, ops in OP_GROUPS]
                row = (phase_ms, groups, torch_total - sum(groups), max(phase_ms - torch_total, 0.0))
                if phase not in rows or phase_ms < rows[phase][0]:
                    rows[phase] = row
        for phase, (phase_ms, groups, other, outside) in rows.items():
            cells = " | ".join(f"{g:.1f}" for g in groups)
            print(f"| {AGENTS[key][0]} | {phase} | {phase_ms:.1f} | {cells} | {other:.1f} | {outside:.1f} |")


PENALTY_CASES = [
    ("MLP, no penalty, fast backend", {"policy": "mlp", "backend": "fast"}),  # the hand-written gradient
    ("MLP, no penalty", {"policy": "mlp"}),  # the reference autograd loss, like for like with the penalties
    ("MLP + autograd Jacobian (vmap)", {"policy": "mlp", "jacobian_penalty": 0.1, "jacobian_method": "vmap"}),
    ("MLP + autograd Jacobian (sum)", {"policy": "mlp", "jacobian_penalty": 0.1, "jacobian_method": "sum"}),
    ("MLP + Lipschitz gradient penalty", {"policy": "mlp", "lipschitz_penalty": 0.002}),
    ("LPN, no penalty", {"policy": "lpn"}),
    ("LPN + analytic ||K||_F^2", {"policy": "lpn", "jacobian_penalty": 0.1, "jacobian_method": "analytic"}),
    ("LPN + autograd Jacobian (vmap)", {"policy": "lpn", "jacobian_penalty": 0.1, "jacobian_method": "vmap"}),
]


def penalty(args) -> None:
    import rewardlab
    from rewardlab.agents import PPO
    from rewardlab.agents.ppo import gae

    env_id = args.penalty_env
    print(f"\n## PPO update time with smoothness penalties on {env_id}")
    batch = args.num_envs_penalty * args.num_steps_penalty
    print(
        f"batch {batch} samples, 4 epochs x 4 minibatches of {batch // 4}, device {args.device}, "
        f"best of {args.repeats}\n"
    )
    results = {name: np.inf for name, _ in PENALTY_CASES}
    for rep in range(args.repeats):  # interleaved: every case sees the same machine load
        for name, settings in PENALTY_CASES:
            sim = rewardlab.make_sim(env_id, num_envs=args.num_envs_penalty)
            config = {
                "num_steps": args.num_steps_penalty,
                "hidden_sizes": tuple(args.hidden_penalty),
                "torch_threads": args.threads,
                **settings,
            }
            if settings["policy"] == "lpn":
                config["phase_index"] = args.phase_index
            agent = PPO(sim, config, seed=rep, device=args.device)
            batch, next_value, _ = agent._rollout()
            batch["advantages"] = gae(batch["rewards"], batch["values"], batch["dones"], next_value, 0.99, 0.95)
            batch["returns"] = batch["advantages"] + batch["values"]
            update = agent.fast.update if agent.fast else agent._update
            update(batch)  # warm-up
            for _ in range(args.update_reps):
                start = time.process_time() if args.cpu_time else time.perf_counter()
                update(batch)
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


def study(args) -> None:
    """The main job end to end: ``rewardlab ablate <spec> --profile quick`` (training and
    evaluation of every run) once per variant, interleaved, best of ``--repeats``, in CPU seconds
    of the command and its workers (the machine may be shared: wall clock is printed beside)."""
    import os
    import resource
    import subprocess
    import sys
    import tempfile

    import yaml

    spec = yaml.safe_load(Path(args.study).read_text())
    variants = [(f"backend={backend}", None, backend) for backend in args.study_backends]
    if args.before_tree:  # an earlier checkout, e.g. made by: git worktree add /tmp/before <commit>
        variants.insert(0, (f"before ({args.before_tree})", args.before_tree, None))
    best = {label: (np.inf, np.inf) for label, _, _ in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for label, tree, backend in variants:
                spec_path = Path(args.study)
                if backend is not None:
                    variant = yaml.safe_load(yaml.safe_dump(spec))
                    kwargs = variant["profiles"]["quick"].setdefault("base.agent_kwargs", {})
                    kwargs["backend"] = backend
                    spec_path = Path(tmp) / f"{backend}.yaml"
                    spec_path.write_text(yaml.safe_dump(variant))
                env = dict(
                    os.environ, PYTHONPATH=str(Path(tree).resolve()) if tree else os.environ.get("PYTHONPATH", "")
                )
                out = Path(tmp) / f"out-{rep}-{len(label)}-{backend}"
                command = [
                    sys.executable,
                    "-m",
                    "rewardlab.cli",
                    "ablate",
                    str(spec_path),
                    "--profile",
                    "quick",
                    "--workers",
                    str(args.study_workers),
                    "--out",
                    str(out),
                ]
                before, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
                subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, cwd=tree or None)
                after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter() - wall
                cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                best[label] = (min(best[label][0], cpu), min(best[label][1], wall))
                print(
                    f"rep {rep} {label}: {cpu:.1f} CPU-s, {wall:.1f} s wall, load {os.getloadavg()[0]:.1f}", flush=True
                )
    reference = best.get("backend=reference", (np.nan, np.nan))[0]
    print(f"\n| variant | CPU s (best of {args.repeats}) | wall s | reference / variant |")
    print("|---|---:|---:|---:|")
    for label, (cpu, wall) in best.items():
        print(f"| {label} | {cpu:.1f} | {wall:.1f} | {reference / cpu:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "throughput", "penalty", "study"), default="all")
    parser.add_argument(
        "--study", default="studies/coopetition_modes.yaml", help="study part: the spec (its quick profile)"
    )
    parser.add_argument("--study-backends", nargs="+", default=["reference", "fast"], choices=("reference", "fast"))
    parser.add_argument("--study-workers", type=int, default=2, help="study part: ablate --workers")
    parser.add_argument("--before-tree", help="study part: also run an earlier checkout of the repository (its root)")
    parser.add_argument("--env", default="rewardlab/CoopSLCD-v0")
    parser.add_argument("--num-envs", type=int, default=64, help="large-minibatch configuration: instances")
    parser.add_argument("--num-steps", type=int, default=128, help="large-minibatch configuration: rollout length")
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--penalty-env", default="rewardlab/LocoImitation-v0")
    parser.add_argument("--phase-index", type=int, nargs="+", default=[46, 47], help="the (cos, sin) phase entries")
    parser.add_argument("--num-envs-penalty", type=int, default=16)
    parser.add_argument("--num-steps-penalty", type=int, default=64)
    parser.add_argument("--hidden-penalty", type=int, nargs="+", default=[256, 256],
                        help="penalty part: hidden sizes of the networks (the smoothness study uses 64 64)")
    parser.add_argument("--update-reps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=("shipped", "large"),
        default=["shipped", "large"],
        help="throughput part: the env's ppo.yml entry, and/or the large-minibatch setting "
        "(--num-envs, --num-steps, --activation)",
    )
    parser.add_argument(
        "--agents", nargs="+", default=list(AGENTS), choices=list(AGENTS), help="throughput part: which agents"
    )
    parser.add_argument(
        "--activation", choices=("tanh", "relu"), default="tanh", help="throughput part: both agents' networks"
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="throughput part: profile one update of each agent by op group"
    )
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
    if args.part == "study":
        study(args)


if __name__ == "__main__":
    main()
