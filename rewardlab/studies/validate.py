"""Check a study before anything runs: every error a run would hit at its start is found here.

:func:`validate_study` is called by :func:`rewardlab.studies.spec.load_study`, so ``rewardlab
ablate`` (dry runs too) stops at once with one clear error instead of failing every run in its
workers (with retry advice that cannot help) or finishing with an empty report. For the default
runner (:func:`rewardlab.agents.run.train_and_evaluate`) it checks, for every planned run
configuration:

- the environment id is registered (the error lists the registered ids);
- the environment builds with the run's ``env_kwargs`` and ``reward`` (unknown parameters,
  presets, terms, social modes: the environment's own errors, which list the valid choices);
- ``algo`` is known, and ``agent_kwargs`` are settings of that agent with valid types and values;
- ``eval_episodes`` is a positive integer and ``device`` is usable on this machine;
- every metric (and every name a derived metric reads) is one that at least one of the study's
  environments reports, or one the runner adds (``train_time_s``, ``update_time_s``).

A study with another runner is only checked for what the spec itself defines; its runner owns
the meaning of the run settings.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError, choices
from rewardlab.studies.model import DEFAULT_RUNNER, Run, Study, compile_expression

#: Metrics that the default runner adds to the environment's episode metrics.
RUNNER_METRICS = ("train_time_s", "update_time_s")


def validate_study(study: Study) -> None:
    """Raise a RewardlabError naming the study, the setting and the bad value (see the module doc)."""
    if study.runner != DEFAULT_RUNNER:
        return
    owner = f"study {study.name!r}"
    runs = study.runs()
    reported: set[str] = set(RUNNER_METRICS)
    seen_env: dict[str, set[str]] = {}
    seen_agent: set[str] = set()
    for run in runs:
        config = run.config
        where = f"{owner}, setting {run.setting_label!r}"
        env_key = _key(config.get("env"), config.get("reward"), config.get("env_kwargs"))
        if env_key not in seen_env:
            seen_env[env_key] = _check_env(run, where)
        reported |= seen_env[env_key]
        agent_key = _key(config.get("env"), config.get("algo"), config.get("agent_kwargs"),
                         config.get("eval_episodes"), config.get("device"))
        if agent_key not in seen_agent:
            _check_agent(run, where)
            seen_agent.add(agent_key)
    _check_metrics(owner, study.metrics, study.derived, reported)


def _key(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=repr)


def _check_env(run: Run, where: str) -> set[str]:
    """Build the run's environment once; return the names of its episode metrics."""
    from rewardlab.agents.envs import make_env_sim
    from rewardlab.core.registry import get_spec

    config = run.config
    env_id = config["env"]
    env_kwargs = config.get("env_kwargs") or {}
    if not isinstance(env_kwargs, dict):
        raise RewardlabError(f"{where}: env_kwargs must be a mapping, got {env_kwargs!r}")
    try:
        if ":" not in env_id or env_id.startswith("rewardlab"):
            get_spec(env_id)
        sim = make_env_sim(env_id, 1, config.get("reward"), env_kwargs)
    except RewardlabError as err:
        raise RewardlabError(f"{where}: {err}") from None
    try:
        sim.reset(seed=0)
        return set(sim._collect_metrics(np.arange(1)))
    except Exception:  # a family whose metrics need a finished episode: the common ones only
        return {"return", "return_per_agent", "length"}
    finally:
        sim.close()


def _check_agent(run: Run, where: str) -> None:
    from rewardlab.agents.run import ALGOS, OWN_ALGOS

    config = run.config
    algo = config.get("algo")
    if algo not in ALGOS:
        raise RewardlabError(f"{where}: unknown algo {algo!r}; expected one of {choices(ALGOS)}")
    episodes = config.get("eval_episodes")
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise RewardlabError(f"{where}: eval_episodes must be a positive integer, got {episodes!r}")
    agent_kwargs = config.get("agent_kwargs") or {}
    if not isinstance(agent_kwargs, dict):
        raise RewardlabError(f"{where}: agent_kwargs must be a mapping, got {agent_kwargs!r}")
    try:
        from rewardlab.agents.envs import resolve_device
        from rewardlab.agents.ppo import PPOConfig

        resolve_device(config.get("device", "cpu"))
        if algo in OWN_ALGOS:
            PPOConfig.from_kwargs(f"{config['env']} ({algo})", agent_kwargs)
        else:
            from rewardlab.baselines.sb3 import check_sb3_settings

            check_sb3_settings(config["env"], algo, agent_kwargs)
    except RewardlabError as err:
        raise RewardlabError(f"{where}: {err}") from None


def _names_in(expression: str) -> Iterable[str]:
    tree = compile_expression(expression, "derived metric")
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return [node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called]


def _check_metrics(owner: str, metrics: list[str], derived: dict[str, str], reported: set[str]) -> None:
    for metric in metrics:
        if metric not in reported and metric not in derived:
            raise RewardlabError(
                f"{owner}: metric {metric!r} is reported by none of the study's environments; "
                f"expected one of {choices(reported)} (or a derived metric)"
            )
    for name, expression in derived.items():
        for used in _names_in(expression):
            if used not in reported and used not in metrics:
                raise RewardlabError(
                    f"{owner}: derived metric {name!r} reads {used!r}, which no environment of the study "
                    f"reports; expected one of {choices(reported)}"
                )
