"""Non-default variants of the commons environments through the Gymnasium and PettingZoo checkers.

The registry-wide tests run each id with its defaults; the variants below switch on the code
paths those defaults leave off (treatments, institutions, norm modes, maps, random ends).
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

import rewardlab
from rewardlab.core.errors import RewardlabError

FISHERY = "rewardlab/CommonsFishery-v0"

VARIANTS = [
    ("rewardlab/CommonsOstrom-v0", {"treatment": "communication_sanctioning", "binding_pledges": True}),
    ("rewardlab/CommonsOstrom-v0", {"endowment": 25, "num_agents": 4}),
    ("rewardlab/CommonsFishery-v0", {"institution": "both", "norm_mode": "voted", "stock_noise": 0.1}),
    ("rewardlab/CommonsFishery-v0", {"norm_mode": "learned", "exclusion_threshold": -2.0, "third_party_error": 0.2}),
    ("rewardlab/CommonsHarvest-v0", {"map_name": "closed", "end_probability": 0.15, "horizon": 100}),
    ("rewardlab/CommonsHarvest-v0", {"num_agents": 3, "view_ahead": 4, "view_behind": 2, "view_side": 3}),
    ("rewardlab/CommonsPunishment-v0", {"institution": "none", "partner_selection": False}),
    ("rewardlab/CommonsPunishment-v0", {"institution": "third_party", "public_reputation": False, "num_agents": 6}),
]


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS)
def test_variant_passes_checkers_and_stays_in_its_spaces(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped, skip_render_check=True)
        parallel_api_test(rewardlab.parallel_env(env_id, **kwargs), num_cycles=60)
    obs, _ = env.reset(seed=0)
    space = env.observation_space
    for action in [env.action_space.sample() for _ in range(150)]:
        obs, reward, terminated, truncated, info = env.step(action)
        assert space.contains(obs) and np.isfinite(reward)
        assert set(info["reward_terms"]) >= set(env.unwrapped.sim.reward_terms)
        if terminated or truncated:
            assert info["episode_metrics"]
            obs, _ = env.reset()


@pytest.mark.parametrize(
    ("env_id", "kwargs", "argument"),
    [
        ("rewardlab/CommonsFishery-v0", {"num_agents": 2.5}, "num_agents"),
        ("rewardlab/CommonsFishery-v0", {"horizon": 10.5}, "horizon"),
        ("rewardlab/CommonsOstrom-v0", {"endowment": 2.5}, "endowment"),
        ("rewardlab/CommonsOstrom-v0", {"num_agents": "8"}, "num_agents"),
        ("rewardlab/CommonsHarvest-v0", {"zap_timeout": 4.0}, "zap_timeout"),
        ("rewardlab/CommonsHarvest-v0", {"view_side": -1}, "view_side"),
        ("rewardlab/CommonsPunishment-v0", {"rounds_per_game": True}, "rounds_per_game"),
    ],
)
def test_counts_must_be_integers_and_the_error_names_env_and_argument(env_id, kwargs, argument):
    with pytest.raises(RewardlabError, match=rf"{env_id.split('/')[1]}: {argument} must be an integer >= \d"):
        gym.make(env_id, **kwargs)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "message"),
    [
        ("rewardlab/CommonsOstrom-v0", {"wage": "5"}, r"wage must be a finite number >= 0"),
        (FISHERY, {"carrying_capacity": float("inf")}, r"carrying_capacity must be a finite number > 0"),
        (FISHERY, {"monitor_prob": 1.5}, r"monitor_prob must be a finite number >= 0.0 and <= 1.0"),
        (FISHERY, {"norm_effort": 11.0}, r"norm_effort must be a finite number >= 0.0 and <= 10.0"),
        ("rewardlab/CommonsFishery-v0", {"exclusion_threshold": "low"}, r"exclusion_threshold must be a finite number"),
        ("rewardlab/CommonsHarvest-v0", {"end_probability": "x"}, r"end_probability must be a finite number"),
        ("rewardlab/CommonsPunishment-v0", {"fine": float("nan")}, r"fine must be a finite number >= 0"),
        ("rewardlab/CommonsPunishment-v0", {"rep_unjust": None}, r"rep_unjust must be a finite number"),
        ("rewardlab/CommonsPunishment-v0", {"partner_selection": "no"}, r"partner_selection must be True or False"),
        ("rewardlab/CommonsOstrom-v0", {"binding_pledges": 1}, r"binding_pledges must be True or False"),
        ("rewardlab/CommonsFishery-v0", {"public_reputation": "off"}, r"public_reputation must be True or False"),
    ],
)
def test_bad_numbers_name_the_env_the_argument_and_the_range(env_id, kwargs, message):
    with pytest.raises(RewardlabError, match=rf"{env_id.split('/')[1]}: {message}"):
        gym.make(env_id, **kwargs)
