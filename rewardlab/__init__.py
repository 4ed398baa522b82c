"""rewardlab: environments for reward-design research in multi-agent and control RL.

Importing rewardlab registers every environment with Gymnasium under ``rewardlab/``::

    import gymnasium as gym
    import rewardlab

    env = gym.make("rewardlab/CoopSLCD-v0", reward="integrated")
    par = rewardlab.parallel_env("rewardlab/CoopSLCD-v0")      # PettingZoo Parallel
    aec = rewardlab.aec_env("rewardlab/CoopSLCD-v0")           # PettingZoo AEC
    sim = rewardlab.make_sim("rewardlab/CoopSLCD-v0", num_envs=4096)  # batched arrays
"""

from rewardlab.core.adapters.pettingzoo_env import aec_env, parallel_env
from rewardlab.core.errors import RewardlabError
from rewardlab.core.registry import all_specs, get_spec, make_sim, register_all
from rewardlab.core.reward import RewardSpec

__version__ = "0.1.0"


def sb3_vec_env(env_id: str, num_envs: int = 1, agent_id: bool = False, normalize_actions: bool = True, **kwargs):
    """A Stable-Baselines3 VecEnv with one slot per (instance, agent); see core.adapters.sb3_vec_env."""
    from rewardlab.core.adapters.sb3_vec_env import sb3_vec_env as _make

    return _make(env_id, num_envs=num_envs, agent_id=agent_id, normalize_actions=normalize_actions, **kwargs)


register_all()

__all__ = [
    "RewardSpec",
    "RewardlabError",
    "aec_env",
    "all_specs",
    "get_spec",
    "make_sim",
    "parallel_env",
    "sb3_vec_env",
]
