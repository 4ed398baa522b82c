"""Stable-Baselines3 runners and their RL-Zoo hyperparameter files."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import yaml

import rewardlab
from rewardlab.agents import train_and_evaluate
from rewardlab.baselines.sb3 import HYPERPARAMS_DIR, ZOO_KEYS, algorithm_classes, load_hyperparams
from rewardlab.commands.evaluate import LoadedPolicy
from rewardlab.core.errors import RewardlabError


def test_every_id_has_zoo_hyperparameters_that_sb3_accepts():
    classes = algorithm_classes()
    for name in ("ppo", "a2c", "sac"):
        table = yaml.safe_load((HYPERPARAMS_DIR / f"{name}.yml").read_text())
        valid = set(inspect.signature(classes[f"sb3-{name}"].__init__).parameters)
        for env_id, entry in table.items():
            unknown = set(entry) - valid - set(ZOO_KEYS)
            assert not unknown, (name, env_id, unknown)
        for spec in rewardlab.all_specs():
            sim = rewardlab.make_sim(spec.id)
            if name == "sac" and sim.discrete_actions:
                continue
            assert spec.id in table, (name, spec.id)
            sim.close()


def test_sb3_ppo_runs_on_a_multi_agent_sim_and_reloads(tmp_path):
    result = train_and_evaluate(
        "toy_sims:ToyGameSim",
        algo="sb3-ppo",
        agent_kwargs={"num_envs": 2, "n_steps": 16, "batch_size": 32, "n_epochs": 1},
        total_steps=64,
        seed=0,
        eval_episodes=3,
        log_dir=tmp_path,
    )
    for key in ("return", "length", "final_mean_action", "train_time_s", "update_time_s"):
        assert np.isfinite(result.metrics[key]), key
    assert result.metrics["length"] == 7.0
    # slot-steps = instance-steps x 3 agents: SB3 ran 64 instance-steps (two rollouts of 2 x 16)
    assert result.curve and result.curve[-1]["step"] == 64
    policy = LoadedPolicy(tmp_path)
    per_episode = policy.episodes(3, seed=None)
    assert np.nanmean(per_episode["return"]) == pytest.approx(result.metrics["return"])


def test_sb3_errors_are_clear():
    with pytest.raises(RewardlabError, match="unknown setting.*'bogus'"):
        train_and_evaluate("toy_sims:ToyGameSim", algo="sb3-ppo", agent_kwargs={"bogus": 1}, total_steps=8, seed=0)
    with pytest.raises(RewardlabError, match="Box"):
        train_and_evaluate("toy_sims:ToyGridSim", algo="sb3-sac", total_steps=8, seed=0)


def test_zoo_default_entry():
    assert load_hyperparams("sb3-ppo", "toy_sims:ToyGameSim")["n_envs"] == 8
    assert load_hyperparams("sb3-ppo", "rewardlab/LocoImitation-v0")["n_envs"] == 16
