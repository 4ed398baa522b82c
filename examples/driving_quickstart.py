"""The driving family in a few lines: presets, reward terms, metrics, BEV, batching, multi-ego.

    python examples/driving_quickstart.py
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import rewardlab
from rewardlab.baselines.driving import RouteDriver

# 1. A single Gymnasium env with CaRL's reward; every raw term is in info["reward_terms"].
env = gym.make("rewardlab/DrivingHighway-v0", reward="carl")
obs, _ = env.reset(seed=0)
obs, reward, terminated, truncated, info = env.step(np.array([0.0, 0.3], dtype=np.float32))
print("carl reward", reward, "terms", {k: round(v, 3) for k, v in info["reward_terms"].items()})

# 2. The same scene under Roach's summed reward, with a bird's-eye view observation.
env = gym.make("rewardlab/DrivingIntersection-v0", reward="roach", obs="bev")
obs, _ = env.reset(seed=0)
print("BEV observation", obs.shape, obs.dtype)

# 3. A batched simulator driven by the heuristic route driver; episode metrics when done.
sim = rewardlab.make_sim("rewardlab/DrivingTown-v0", num_envs=8, reward={"preset": "carl", "terminate_on": []})
driver = RouteDriver(sim)
sim.reset(seed=0)
for _ in range(sim.params.max_steps):
    step = sim.step(driver.act())
print("town Driving Score per instance", np.round(step.episode_metrics["driving_score"], 1))

# 4. Several egos sharing the highway, as a PettingZoo Parallel env.
par = rewardlab.parallel_env("rewardlab/DrivingMultiEgo-v0", reward="highway")
obs, _ = par.reset(seed=0)
obs, rewards, terms, truncs, infos = par.step({a: np.array([0.0, 0.2], dtype=np.float32) for a in par.agents})
print("multi-ego rewards", rewards)
