"""Shipped settings of rewardlab's PPO per environment id, like RL Baselines3 Zoo's per-env YAML.

``rewardlab train`` starts from these settings and lays the user's ``--set`` values over them;
the run's config.json records the settings that were used. Studies and ``train_and_evaluate``
take their ``agent_kwargs`` as given (a study spec states every setting it depends on).

    from rewardlab.agents.tuned import tuned_settings

    tuned_settings("rewardlab/DrivingTown-v0")            # {} for an id without shipped settings
    tuned_settings("rewardlab/DrivingTown-v0", "roach")   # with the entry's settings for that preset

The settings live in ``tuned_ppo.yml`` beside this module, one entry per environment id, each
with a comment saying what was measured with them and the command that measures it. An entry's
``by_reward`` maps a reward preset's name to the settings that replace the entry's own when a run
uses that preset (two rewards of one environment can need different settings).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

TUNED_FILE = Path(__file__).with_name("tuned_ppo.yml")
BY_REWARD = "by_reward"


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, Any]]:
    with open(TUNED_FILE) as handle:
        table = yaml.safe_load(handle) or {}
    return {str(env_id): dict(settings or {}) for env_id, settings in table.items()}


def tuned_settings(env_id: str, reward: Any = None) -> dict[str, Any]:
    """The shipped PPOConfig settings for ``env_id`` (a copy), or {} when none are shipped.

    ``reward``: the run's reward; a preset name listed under the entry's ``by_reward`` lays that
    preset's settings over the entry's (any other reward gets the entry's own).
    """
    entry = _table().get(env_id, {})
    settings = {key: value for key, value in entry.items() if key != BY_REWARD}
    if isinstance(reward, str):
        settings.update((entry.get(BY_REWARD) or {}).get(reward) or {})
    return {key: (list(value) if isinstance(value, list) else value) for key, value in settings.items()}


def tuned_rewards(env_id: str) -> list[str]:
    """The reward presets with settings of their own in the entry for ``env_id``."""
    return sorted(_table().get(env_id, {}).get(BY_REWARD) or {})


def tuned_ids() -> list[str]:
    """The environment ids with shipped settings."""
    return sorted(_table())
