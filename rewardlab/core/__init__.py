"""The few abstractions every family, agent and study uses."""

from rewardlab.core.errors import RewardlabError
from rewardlab.core.registry import EnvSpec, all_specs, get_spec, make_sim
from rewardlab.core.reward import RewardSpec
from rewardlab.core.sim import BatchedSim, Step, StepOutcome

__all__ = [
    "BatchedSim",
    "EnvSpec",
    "RewardSpec",
    "RewardlabError",
    "Step",
    "StepOutcome",
    "all_specs",
    "get_spec",
    "make_sim",
]
