"""MAPPO (centralised critic, shared actor) beats a random policy on a coopetition game."""

from __future__ import annotations

import numpy as np
from toy_sims import ToyGameSim

import rewardlab
from rewardlab.agents import MAPPO
from rewardlab.agents.envs import run_episodes, summarize
from rewardlab.commands.render import simple_policy

GAME = "rewardlab/CoopTeamProduction-v0"


def test_mappo_beats_random_on_team_production():
    """Four agents, team output 25 (sum a)^0.7 shared, effort cost 1 each; cooperative reward.

    24k instance-steps (~10 CPU-seconds). A uniform random policy (and an untrained one, whose
    mode is mid-range effort) reach ~63 % of the social optimum's welfare; MAPPO must reach 78 %.
    """
    sim = rewardlab.make_sim(GAME, num_envs=16, reward="cooperative")
    probe = rewardlab.make_sim(GAME, num_envs=16, reward="cooperative")
    random = summarize(run_episodes(probe, simple_policy(probe, "random", 0), 16, seed=123))
    agent = MAPPO(sim, {"num_steps": 100, "learning_rate": 1e-3, "gamma": 0.95}, seed=0)
    untrained = agent.evaluate(16)
    agent.learn(16 * 100 * 15)
    trained = agent.evaluate(16)
    assert random["welfare_pct_optimum"] < 70 and untrained["welfare_pct_optimum"] < 70
    assert trained["welfare_pct_optimum"] > 78, trained
    assert trained["return"] > 1.2 * random["return"]


def test_mappo_critic_sees_all_agents():
    sim = ToyGameSim(num_envs=3)
    agent = MAPPO(sim, {"num_steps": 4}, seed=0)
    n, d = sim.num_agents, sim.obs_shape[0]
    assert agent.model.critic.net[0].in_features == n * d + n  # joint observation + agent id
    assert agent.model.actor.net[0].in_features == d + n  # own observation + agent id
    # the critic's input is the same joint state for every agent of an instance, ids aside
    obs = sim.reset(seed=0)
    obs[:, 1, 0] += 5.0  # change only agent 1's observation
    _, state = agent._inputs(obs, update_norm=False)
    state = state.reshape(3, n, -1)[..., : n * d]
    assert np.allclose(state[:, 0].numpy(), state[:, 2].numpy())
    x, _ = agent._inputs(obs, update_norm=False)
    x = x.reshape(3, n, -1)
    assert not np.allclose(x[:, 0, :d].numpy(), x[:, 1, :d].numpy())
