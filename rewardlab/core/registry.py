"""The one table of rewardlab environments: it drives registration, the docs table and the tests.

Each family package (``rewardlab.envs.<family>``) exports ``ENVS``, a tuple of :class:`EnvSpec`.
An id maps to a simulator class (by import path, so that ``import rewardlab`` does not import
MuJoCo) and the parameter overrides that define that id.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rewardlab.core.errors import RewardlabError, choices

FAMILIES = ("coopetition", "commons", "driving", "locomotion")


@dataclass(frozen=True)
class EnvSpec:
    """One registered environment id.

    Attributes:
        id: ``rewardlab/<Family><Name>-v<N>``.
        entry_point: ``"module:SimClass"``, a BatchedSim subclass.
        family: one of FAMILIES.
        summary: one line for tables.
        kwargs: parameter overrides that define this id (a scenario, a calibrated case).
        multi_agent: whether the PettingZoo adapters apply (two or more agents).
        test_steps: how many steps the registry-wide determinism test rolls out.
    """

    id: str
    entry_point: str
    family: str
    summary: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    multi_agent: bool = True
    test_steps: int = 200

    def load(self) -> type:
        module, _, name = self.entry_point.partition(":")
        return getattr(importlib.import_module(module), name)


def all_specs() -> tuple[EnvSpec, ...]:
    specs: list[EnvSpec] = []
    for family in FAMILIES:
        specs.extend(importlib.import_module(f"rewardlab.envs.{family}").ENVS)
    return tuple(specs)


def get_spec(env_id: str) -> EnvSpec:
    if env_id.startswith("rewardlab:"):
        env_id = env_id[len("rewardlab:") :]
    specs = {s.id: s for s in all_specs()}
    if env_id not in specs:
        raise RewardlabError(f"unknown environment id {env_id!r}; registered ids are {choices(specs)}")
    return specs[env_id]


def make_sim(env_id: str, num_envs: int = 1, **kwargs: Any):
    """Build the batched simulator of ``env_id`` with B = ``num_envs`` instances.

    ``kwargs`` are the environment's parameters plus ``reward=`` and ``render_mode=``.
    """
    spec = get_spec(env_id)
    sim_cls = spec.load()
    return sim_cls(num_envs=num_envs, env_id=spec.id, **{**spec.kwargs, **kwargs})


def register_all() -> None:
    """Register every id with Gymnasium (single env and native vector env)."""
    import gymnasium as gym

    for spec in all_specs():
        if spec.id in gym.registry:
            continue
        gym.register(
            id=spec.id,
            entry_point="rewardlab.core.adapters.gym_env:make_env",
            vector_entry_point="rewardlab.core.adapters.vector_env:make_vector_env",
            kwargs={"env_id": spec.id},
            disable_env_checker=False,
        )
