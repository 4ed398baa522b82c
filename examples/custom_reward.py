"""A custom reward on a rewardlab environment, two ways: a reward= override and wrappers.

    python examples/custom_reward.py

The environment is the Samsung-Sony S-LCD joint venture (a trust-and-reputation coopetition
game): each round both partners choose how much of their endowment (0..100) to invest in the
venture. The raw reward terms are ``endowment_kept``, ``individual_value``, ``synergy_share``
(their sum is the payoff) and ``trust_level`` (weight 0 in every preset, there for shaping).
Both partners follow a fixed schedule here, so every number printed is reproducible.

1. ``gym.make(id, reward={...})`` overrides a preset inside the environment.
2. ``rewardlab.wrappers`` reshape the reward from the outside; the same wrappers work on any
   Gymnasium or PettingZoo environment.
"""

import gymnasium as gym
import numpy as np

import rewardlab
from rewardlab.wrappers import (
    InequityAversion,
    ParallelActionRatePenalty,
    ParallelTermReweighting,
    SocialReward,
)

ENV_ID = "rewardlab/CoopSLCD-v0"


def investment(t: int) -> np.ndarray:
    """Round t's investments: Samsung steady at 60, Sony oscillating between 20 and 60."""
    return np.array([[60.0], [40.0 + 20.0 * np.sin(0.5 * t)]], dtype=np.float32)


def gym_return(env: gym.Env) -> float:
    """Total reward of one episode (the joint env's reward is the sum over both partners)."""
    env.reset(seed=0)
    total, t, done = 0.0, 0, False
    while not done:
        _, reward, terminated, truncated, _ = env.step(investment(t))
        total, t, done = total + reward, t + 1, terminated or truncated
    return total


def parallel_returns(env) -> dict[str, float]:
    """Each partner's return over one episode of a PettingZoo Parallel env."""
    env.reset(seed=0)
    totals, t = dict.fromkeys(env.possible_agents, 0.0), 0
    while env.agents:
        actions = dict(zip(env.possible_agents, investment(t), strict=True))
        _, rewards, _, _, _ = env.step(actions)
        for agent, reward in rewards.items():
            totals[agent] += reward
        t += 1
    return totals


# 1. Preset override: the "private" payoff plus a bonus for the trust the partners hold.
payoff = {"endowment_kept": 1.0, "individual_value": 1.0, "synergy_share": 1.0}
with_trust = {**payoff, "trust_level": 20.0}
print(f"joint return, private preset:           {gym_return(gym.make(ENV_ID)):9.1f}")
print(f"joint return, integrated preset:        {gym_return(gym.make(ENV_ID, reward='integrated')):9.1f}")
print(f"joint return, private + 20 trust_level: "
      f"{gym_return(gym.make(ENV_ID, reward={'preset': 'private', 'weights': {'trust_level': 20.0}})):9.1f}")

# 2a. The same reweighting as a wrapper that reads info["reward_terms"]: identical returns.
wrapped = parallel_returns(ParallelTermReweighting(rewardlab.parallel_env(ENV_ID), with_trust))
inside = parallel_returns(rewardlab.parallel_env(ENV_ID, reward={"weights": with_trust}))
assert np.allclose(list(wrapped.values()), list(inside.values()))

# 2b. Shaping a preset cannot express: a penalty on changing one's investment (per partner),
#     then an integrated social reward with our own D, then Hughes et al.'s smoothed inequity
#     aversion on the result.
env = ParallelActionRatePenalty(rewardlab.parallel_env(ENV_ID), rate_weight=0.05)
env = SocialReward(env, "integrated", {"samsung": {"sony": 0.3}, "sony": {"samsung": 0.5}})
env = InequityAversion(env, alpha=1.0, beta=0.2, smoothing=0.9)
shaped = parallel_returns(env)
private = parallel_returns(rewardlab.parallel_env(ENV_ID))

print(f"\n{'partner':>8} {'private':>9} {'+trust':>9} {'rate+D+IA':>10}")
for agent in private:
    print(f"{agent:>8} {private[agent]:9.1f} {wrapped[agent]:9.1f} {shaped[agent]:10.1f}")
