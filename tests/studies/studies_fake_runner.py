"""Cheap deterministic runners for the study tests (loaded by path: ``file.py:function``).

``seeded_runner`` computes its metrics from a NumPy generator seeded by the run's seed and a hash
of its config, so equal (config, seed) give bitwise equal results and different settings differ.
``sleepy_runner`` does the same after sleeping ``agent_kwargs.sleep_s`` seconds (for kill tests).
``failing_runner`` raises for seed 1.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np


def _generator(env_id: str, config: dict, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(json.dumps({"env": env_id, **config}, sort_keys=True).encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def seeded_runner(env_id, *, algo="ppo", reward=None, env_kwargs=None, agent_kwargs=None, total_steps,
                  seed, eval_episodes=10, device="cpu", log_dir=None, progress=False):
    config = {"algo": algo, "reward": reward, "env_kwargs": env_kwargs, "agent_kwargs": agent_kwargs,
              "total_steps": total_steps, "eval_episodes": eval_episodes}
    rng = _generator(env_id, config, seed)
    level = float((agent_kwargs or {}).get("level", 1.0))
    returns = level + rng.normal(0.0, 0.1, size=eval_episodes)
    private = 1.0 + rng.random()
    steps = np.linspace(total_steps / 4, total_steps, 4).astype(int)
    curve = [{"step": int(s), "return": float(level * s / total_steps + rng.normal(0, 0.01))} for s in steps]
    metrics = {
            "score": float(returns.mean()),
            "private_return": private,
            "integrated_return": private * (1.5 + rng.random()),
            "train_time_s": time.perf_counter() % 1.0,  # wall-clock-like: differs between calls
    }
    if "NoScore" in env_id:  # an environment that does not report this metric
        del metrics["score"]
    return {"metrics": metrics, "curve": curve}


def sleepy_runner(env_id, **kwargs):
    time.sleep(float((kwargs.get("agent_kwargs") or {}).get("sleep_s", 0.0)))
    return seeded_runner(env_id, **kwargs)


def failing_runner(env_id, **kwargs):
    if kwargs["seed"] == 1:
        raise RuntimeError("this run fails on purpose")
    return seeded_runner(env_id, **kwargs)


def crash_once_runner(env_id, **kwargs):
    """Kills its own worker process the first time it runs seed 0 (marker file in agent_kwargs.marker)."""
    import os
    import signal
    from pathlib import Path

    marker = Path((kwargs.get("agent_kwargs") or {})["marker"])
    if kwargs["seed"] == 0 and not marker.exists():
        marker.write_text("crashed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return seeded_runner(env_id, **kwargs)
