"""Study specs: grid expansion, profiles, run keys, derived metrics and clear errors."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import yaml

from rewardlab.core.errors import RewardlabError
from rewardlab.studies.spec import evaluate_expression, load_study, parse_study, run_key

SPEC = {
    "name": "grid",
    "runner": "somewhere:runner",
    "envs": ["CoopSLCD-v0", "rewardlab/CoopTrustDilemma-v0"],
    "base": {"algo": "ippo", "total_steps": 1000, "reward": "integrated", "agent_kwargs.num_envs": 8},
    "grid": {
        "reward.social": ["private", "cooperative"],
        "agent_kwargs.minibatch_size": [64, 256, 1024],
        "policy": {"mlp": {}, "lpn": {"agent_kwargs.policy": "lpn", "agent_kwargs.jacobian_penalty": 0.1}},
    },
    "seeds": 3,
    "metrics": ["welfare"],
    "profiles": {
        "quick": {
            "seeds": [7, 8],
            "base.total_steps": 50,
            "grid.agent_kwargs.minibatch_size": [64],
            "envs": ["CoopSLCD-v0"],
        },
        "full": {"base": {"device": "auto", "agent_kwargs.num_envs": 64}},
    },
}


def test_grid_is_the_cartesian_product_times_seeds():
    study = parse_study(SPEC)
    runs = study.runs()
    assert len(runs) == 2 * 2 * 3 * 2 * 3
    expected = list(itertools.product(
        ["rewardlab/CoopSLCD-v0", "rewardlab/CoopTrustDilemma-v0"], ["private", "cooperative"],
        [64, 256, 1024], ["mlp", "lpn"], [0, 1, 2]))
    got = [(r.env, r.config["reward"]["social"], r.config["agent_kwargs"]["minibatch_size"],
            r.config["agent_kwargs"].get("policy", "mlp"), r.seed) for r in runs]
    assert got == expected
    lpn = next(r for r in runs if dict(r.setting)["policy"] == "lpn")
    assert lpn.config["agent_kwargs"] == {"num_envs": 8, "minibatch_size": 64, "policy": "lpn",
                                          "jacobian_penalty": 0.1}
    # a preset name refined by a dotted key becomes the dict form that reward= accepts
    assert runs[0].config["reward"] == {"preset": "integrated", "social": "private"}
    assert runs[0].config["algo"] == "ippo" and runs[0].config["total_steps"] == 1000
    assert runs[0].setting_label == "reward.social=private, agent_kwargs.minibatch_size=64, policy=mlp"


def test_run_keys_are_stable_unique_and_follow_the_config():
    runs = parse_study(SPEC).runs()
    assert len({r.key for r in runs}) == len(runs)
    again = parse_study(yaml.safe_load(yaml.safe_dump(SPEC, sort_keys=False))).runs()
    assert [r.key for r in again] == [r.key for r in runs]
    first = runs[0]
    assert first.key == run_key("somewhere:runner", first.config, first.seed)
    changed = dict(first.config, total_steps=1001)
    assert run_key("somewhere:runner", changed, first.seed) != first.key
    assert run_key("other:runner", first.config, first.seed) != first.key


def test_profile_overrides():
    quick = parse_study(SPEC, profile="quick")
    runs = quick.runs()
    assert quick.profile == "quick"
    assert len(runs) == 1 * 2 * 1 * 2 * 2
    assert {r.seed for r in runs} == {7, 8}
    assert {r.config["total_steps"] for r in runs} == {50}
    assert {r.config["agent_kwargs"]["minibatch_size"] for r in runs} == {64}
    assert {r.env for r in runs} == {"rewardlab/CoopSLCD-v0"}
    full = parse_study(SPEC, profile="full")
    assert {r.config["device"] for r in full.runs()} == {"auto"}
    assert {r.config["agent_kwargs"]["num_envs"] for r in full.runs()} == {64}
    assert len(full.runs()) == len(parse_study(SPEC).runs())
    # the same setting under two profiles is the same run: quick results are reused by nothing else
    base_keys = {r.key for r in parse_study(SPEC).runs()}
    assert not base_keys & {r.key for r in runs}


def test_default_profile_and_yaml_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SPEC, "default_profile": "quick"}))
    assert load_study(path).profile == "quick"
    assert load_study(path, profile="full").profile == "full"


def test_file_runner_is_resolved_against_the_spec_folder(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SPEC, "runner": "runner.py:go"}))
    assert load_study(path).runner == f"{(tmp_path / 'runner.py').resolve()}:go"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grid": {"learning_rate": [1, 2]}}, "dotted run setting"),
        ({"base": {"lr": 3}}, "unknown run setting 'lr'"),
        ({"envs": None, "base": {"total_steps": 5}}, "no environment"),
        ({"seeds": 0}, "at least 1"),
        ({"seeds": [1, 1]}, "duplicate seeds"),
        ({"colour": "red"}, "unknown field"),
        ({"grid": {"algo": []}}, "no values"),
        ({"derived": {"x": "__import__('os')"}}, "unknown function"),
        ({"derived": {"x": "a.b"}}, "may use only"),
        ({"base": {"total_steps": -1}}, "positive integer"),
        ({"base": {"reward": 3, "reward.social": "private", "total_steps": 5}}, "not a mapping"),
        ({"metrics": {"w": {"describe": "x"}}}, r"metric 'w': unknown field\(s\) 'describe'"),
        ({"metrics": {"w": {"higher_is_better": "yes"}}}, "higher_is_better must be true, false or absent"),
        ({"metrics": ["w", "w"]}, "listed twice"),
        ({"metrics": [3]}, "each item of metrics"),
        ({"derived": {"x": {"description": "no expression"}}}, "needs an expression"),
    ],
)
def test_bad_specs_raise_clear_errors(change, message):
    spec = {**SPEC, **change}
    with pytest.raises(RewardlabError, match=message):
        parse_study(spec)


def test_unknown_profile_and_bad_override():
    with pytest.raises(RewardlabError, match="unknown profile 'tiny'.*'full', 'quick'"):
        parse_study(SPEC, profile="tiny")
    with pytest.raises(RewardlabError, match="cannot override 'budget'"):
        parse_study({**SPEC, "profiles": {"p": {"budget": 3}}}, profile="p")


def test_derived_metrics():
    metrics = {"integrated_return": 8.0, "private_return": 6.0}
    expression = "(integrated_return - private_return) / integrated_return"
    assert evaluate_expression(expression, metrics) == (8.0 - 6.0) / 8.0
    assert evaluate_expression("max(private_return, 7) ** 2 - abs(-1)", metrics) == 48.0
    assert math.isnan(evaluate_expression(expression, {"integrated_return": 0.0, "private_return": 1.0}))
    assert math.isnan(evaluate_expression("missing + 1", metrics))


SHIPPED = Path(__file__).resolve().parents[2] / "studies"


@pytest.mark.parametrize("name", ["carl_minibatch", "smoothness", "coopetition_modes", "commons_sanctions"])
def test_shipped_studies_expand_on_registered_envs(name):
    from rewardlab.core.registry import get_spec

    path = SHIPPED / f"{name}.yaml"
    quick, full = load_study(path, profile="quick"), load_study(path, profile="full")
    assert quick.name == name and quick.metrics and quick.claim
    assert len(quick.runs()) < len(full.runs())
    assert max(r.config["total_steps"] for r in quick.runs()) < min(r.config["total_steps"] for r in full.runs())
    for run in quick.runs() + full.runs():
        assert get_spec(run.env).id == run.env


def test_ablate_cli_rejects_unknown_env_ids_and_profiles(tmp_path, capsys):
    from rewardlab.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "envs": ["NoSuchEnv-v0"], "base": {"total_steps": 10}}))
    assert main(["ablate", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    assert "unknown environment id 'rewardlab/NoSuchEnv-v0'" in capsys.readouterr().err
    assert main(["ablate", str(path), "--profile", "quick", "--dry-run"]) == 2
    assert "unknown profile 'quick'" in capsys.readouterr().err


def test_metric_descriptions_and_directions():
    from rewardlab.studies.spec import MetricInfo

    study = parse_study({**SPEC, "metrics": [
        "plain", {"welfare": {"description": "team  welfare,\n as %", "higher_is_better": True}}],
        "derived": {"cost": {"expression": "plain * 2", "description": "twice", "higher_is_better": False},
                    "ratio": "plain / welfare"}})
    assert study.metrics == ["plain", "welfare"]
    assert study.derived == {"cost": "plain * 2", "ratio": "plain / welfare"}
    assert study.metric_info["welfare"] == MetricInfo("team welfare, as %", True)
    assert study.metric_info["cost"].direction() == "lower is better"
    assert study.metric_info["plain"].direction() == "direction not stated"
    assert "ratio" not in study.metric_info
    mapping = parse_study({**SPEC, "metrics": {"welfare": {"description": "w"}}})
    assert mapping.metrics == ["welfare"] and mapping.metric_info["welfare"].description == "w"


@pytest.mark.parametrize("name", ["coopetition_modes", "carl_minibatch", "smoothness", "commons_sanctions"])
def test_shipped_study_metrics_state_definition_and_direction(name):
    study = load_study(SHIPPED / f"{name}.yaml", profile="quick")
    for metric in study.metrics:
        info = study.metric_info[metric]
        assert len(info.description) > 20, f"{name}: {metric} has no description"
