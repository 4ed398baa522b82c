"""Adapters that present a batched simulator through the APIs users train with."""

from rewardlab.core.adapters.gym_env import RewardlabEnv, make_env
from rewardlab.core.adapters.pettingzoo_env import (
    RewardlabAECEnv,
    RewardlabParallelEnv,
    aec_env,
    parallel_env,
)
from rewardlab.core.adapters.vector_env import RewardlabVectorEnv, make_vector_env

__all__ = [
    "RewardlabAECEnv",
    "RewardlabEnv",
    "RewardlabParallelEnv",
    "RewardlabVectorEnv",
    "aec_env",
    "make_env",
    "make_vector_env",
    "parallel_env",
]
