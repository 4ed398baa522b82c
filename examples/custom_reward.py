"""A custom reward on a rewardlab environment, two ways: a reward= override and wrappers.

    python examples/custom_reward.py

The environment is the Ostrom-Walker-Gardner lab common-pool resource: each round 8 players
split 10 tokens between a private account and a shared pool. Its raw reward terms are
``private_account``, ``cpr_return``, ``sanction_fee`` and ``fine``. Here every player follows a
fixed policy (player i puts i tokens in the pool), so the printed numbers are exact.

1. ``gym.make(id, reward={...})`` overrides a preset inside the environment.
2. ``rewardlab.wrappers`` reshape the reward from the outside; the same wrappers work on any
   Gymnasium or PettingZoo environment.
"""

import gymnasium as gym
import numpy as np

import rewardlab
from rewardlab.wrappers import InequityAversion, ParallelPotentialShaping, ParallelTermReweighting

ENV_ID = "rewardlab/CommonsOstrom-v0"
N_PLAYERS = 8
# player i: i tokens in the pool, no sanction, pledge 0   (MultiDiscrete [tokens, target, pledge])
POLICY = np.array([[i, 0, 0] for i in range(N_PLAYERS)])


def gym_return(env: gym.Env) -> float:
    """Total reward of one episode (the joint env's reward is the sum over players)."""
    env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, _ = env.step(POLICY)
        total += reward
        done = terminated or truncated
    return total


def parallel_returns(env) -> dict[str, float]:
    """Each player's return over one episode of a PettingZoo Parallel env."""
    env.reset(seed=0)
    totals = dict.fromkeys(env.possible_agents, 0.0)
    while env.agents:
        actions = {a: POLICY[i] for i, a in enumerate(env.possible_agents)}
        _, rewards, _, _, _ = env.step(actions)
        for agent, reward in rewards.items():
            totals[agent] += reward
    return totals


# 1. Preset override: start from "private" and double the weight of the pool's return.
default = gym_return(gym.make(ENV_ID))
doubled = gym_return(gym.make(ENV_ID, reward={"preset": "private", "weights": {"cpr_return": 2.0}}))
print(f"group return, private preset:          {default:10.1f}")
print(f"group return, cpr_return weighted x2:  {doubled:10.1f}")

# 2a. The same reweighting as a wrapper, reading info["reward_terms"]: identical per-player returns.
weights = {"private_account": 1.0, "cpr_return": 2.0, "sanction_fee": 1.0, "fine": 1.0}
wrapped = parallel_returns(ParallelTermReweighting(rewardlab.parallel_env(ENV_ID), weights))
inside = parallel_returns(rewardlab.parallel_env(ENV_ID, reward={"weights": weights}))
assert np.allclose(list(wrapped.values()), list(inside.values()))

# 2b. A stack of wrappers: Hughes et al. (2018) smoothed inequity aversion, then potential-based
#     shaping that pays for lowering the pool's load (observation index 3n: last group total / (n e)).
env = InequityAversion(rewardlab.parallel_env(ENV_ID), alpha=5.0, beta=0.05, smoothing=0.95)
env = ParallelPotentialShaping(env, lambda obs: -10.0 * float(obs[3 * N_PLAYERS]), gamma=0.99)
averse = parallel_returns(env)
private = parallel_returns(rewardlab.parallel_env(ENV_ID))

print(f"\n{'player':>8} {'tokens':>6} {'private':>9} {'x2 pool':>9} {'IA+shaping':>11}")
for i, agent in enumerate(private):
    print(f"{agent:>8} {i:>6} {private[agent]:9.1f} {wrapped[agent]:9.1f} {averse[agent]:11.1f}")
