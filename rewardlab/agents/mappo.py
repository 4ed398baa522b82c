"""MAPPO: PPO with parameter sharing and a centralised critic (Yu et al. 2022).

Every agent acts from its own observation with one shared actor (and a one-hot agent id when
n > 1); the critic sees the concatenation of all agents' observations of the instance plus the
agent's id, so it can value the joint situation while execution stays decentralised. Everything
else is :class:`rewardlab.agents.ppo.PPO`.

    sim = rewardlab.make_sim("rewardlab/CoopSLCD-v0", num_envs=64)
    agent = MAPPO(sim, {"num_steps": 32}, seed=0).learn(100_000)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from rewardlab.agents.ppo import PPO, PPOConfig


class MAPPO(PPO):
    """PPO whose critic is centralised: ``PPOConfig.centralized_critic`` is forced on."""

    algo_name = "mappo"

    def __init__(
        self,
        env: Any,
        config: PPOConfig | dict[str, Any] | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        _reset: bool = True,
    ) -> None:
        config = config if isinstance(config, PPOConfig) else PPOConfig.from_kwargs("MAPPO", config)
        config = dataclasses.replace(config, centralized_critic=True)
        super().__init__(env, config, seed=seed, device=device, _reset=_reset)
