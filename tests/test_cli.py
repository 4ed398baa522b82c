"""The `rewardlab` command line and the README's environment table."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import rewardlab
from rewardlab.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_list_markdown_names_every_registered_id(capsys):
    assert main(["list", "--markdown"]) == 0
    out = capsys.readouterr().out
    for spec in rewardlab.all_specs():
        assert f"`{spec.id}`" in out


def test_readme_environment_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- envs:start -->(.*)<!-- envs:end -->", readme, re.S)
    assert block, "README lacks the generated environment table (run `make tables`)"
    listed = set(re.findall(r"`(rewardlab/[^`]+)`", block.group(1)))
    assert listed == {s.id for s in rewardlab.all_specs()}, "run `make tables` to regenerate"


def test_unknown_env_is_a_clear_error(capsys):
    import pytest

    with pytest.raises(rewardlab.RewardlabError, match="unknown environment id 'rewardlab/Nope-v0'"):
        rewardlab.make_sim("rewardlab/Nope-v0")


def verb_help(verb: str | None, capsys) -> str:
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"] if verb is None else [verb, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_help_texts_are_formatted(capsys, monkeypatch):
    """A bare % in an argparse help string prints the action's dict; every verb's help must not."""
    from rewardlab.cli import VERBS

    monkeypatch.setenv("COLUMNS", "80")
    top = verb_help(None, capsys)
    assert "option_strings" not in top and "%" not in top
    for verb in VERBS:
        if verb not in top:
            continue  # a verb whose optional dependency is not installed
        text = verb_help(verb, capsys)
        assert "option_strings" not in text and "%(" not in text, verb
    assert "claim, budget and metrics" in top


def test_list_fits_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    for spec in rewardlab.all_specs():
        assert spec.id.removeprefix("rewardlab/") in out


def test_train_reports_true_episode_count_and_trained_steps(tmp_path, capsys, monkeypatch):
    """--steps 1000 with 512-step updates trains 512 steps: the summary and config.json say so."""
    import json

    monkeypatch.setenv("COLUMNS", "80")
    out = tmp_path / "run"
    assert main(["train", "--env", "rewardlab/CoopTeamProduction-v0", "--algo", "ppo", "--steps", "1000",
                 "--set", "num_envs=16", "--set", "num_steps=32", "--eval-episodes", "3", "--seed", "1",
                 "--device", "cpu", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 evaluation episode(s)" in printed
    assert "trained 512 steps (asked for 1,000; training runs whole updates)" in printed
    row = next(line for line in printed.splitlines() if line.strip().startswith("welfare_pct_optimum"))
    assert row.split()[-1] == "3"  # the episodes column: the true count, not 1
    assert row.split()[2] != "-"  # a standard deviation over the three episodes
    assert max(len(line) for line in printed.splitlines()) <= 80
    config = json.loads((out / "config.json").read_text())
    assert (config["total_steps"], config["trained_steps"], config["eval_episodes"]) == (1000, 512, 3)


def test_a_percent_in_a_verb_help_prints_as_written(capsys, monkeypatch):
    import rewardlab.commands.report as report_verb

    monkeypatch.setattr(report_verb, "HELP", "IQM and 95% CIs")
    top = verb_help(None, capsys)
    assert "IQM and 95% CIs" in top and "option_strings" not in top


def test_render_enlarges_small_frames_and_says_what_they_show(tmp_path, capsys):
    import matplotlib.image

    out = tmp_path / "frame.png"
    assert main(["render", "--env", "rewardlab/CoopTeamProduction-v0", "--steps", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(each pixel enlarged 4x)" in printed
    assert "One bar per agent" in printed and "Agents from the left: " in printed
    frame = matplotlib.image.imread(out)
    assert frame.shape[0] == 384  # 96 px bars, 4x
    assert main(["render", "--env", "rewardlab/CommonsHarvest-v0", "--steps", "2", "--scale", "1",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "enlarged" not in printed and "white dot on the side it faces" in printed


def test_train_starts_from_the_shipped_settings_and_set_overrides_them(tmp_path, capsys, monkeypatch):
    """An id with an entry in tuned_ppo.yml trains with it; a --set value wins over the entry."""
    import json

    from rewardlab.agents import tuned

    table = tmp_path / "tuned.yml"
    table.write_text("rewardlab/CoopTeamProduction-v0: {num_envs: 8, num_steps: 16, hidden_sizes: [32, 32]}\n")
    monkeypatch.setattr(tuned, "TUNED_FILE", table)
    tuned._table.cache_clear()
    try:
        out = tmp_path / "run"
        assert main(["train", "--env", "rewardlab/CoopTeamProduction-v0", "--steps", "128", "--set", "num_steps=8",
                     "--eval-episodes", "1", "--device", "cpu", "--no-progress", "--out", str(out)]) == 0
    finally:
        tuned._table.cache_clear()
    assert "shipped ppo settings" in capsys.readouterr().out
    agent = json.loads((out / "config.json").read_text())["agent"]
    assert (agent["num_envs"], agent["num_steps"], list(agent["hidden_sizes"])) == (8, 8, [32, 32])


def test_train_takes_the_settings_of_its_reward_preset(tmp_path, capsys, monkeypatch):
    """An entry's by_reward settings replace its own for runs with that preset, and only for them."""
    import json

    from rewardlab.agents import tuned

    table = tmp_path / "tuned.yml"
    table.write_text("rewardlab/CoopTeamProduction-v0: {num_envs: 8, num_steps: 16,\n"
                     "  by_reward: {cooperative: {num_steps: 4, gamma: 0.9}}}\n")
    monkeypatch.setattr(tuned, "TUNED_FILE", table)
    tuned._table.cache_clear()
    try:
        assert tuned.tuned_settings("rewardlab/CoopTeamProduction-v0") == {"num_envs": 8, "num_steps": 16}
        assert tuned.tuned_settings("rewardlab/CoopTeamProduction-v0", {"preset": "cooperative"}) == {
            "num_envs": 8, "num_steps": 16}
        assert tuned.tuned_rewards("rewardlab/CoopTeamProduction-v0") == ["cooperative"]
        out = tmp_path / "run"
        assert main(["train", "--env", "rewardlab/CoopTeamProduction-v0", "--reward", "cooperative", "--steps", "128",
                     "--eval-episodes", "1", "--device", "cpu", "--no-progress", "--out", str(out)]) == 0
    finally:
        tuned._table.cache_clear()
    agent = json.loads((out / "config.json").read_text())["agent"]
    assert (agent["num_envs"], agent["num_steps"], agent["gamma"]) == (8, 4, 0.9)


def test_every_shipped_setting_is_a_valid_ppo_setting():
    import rewardlab
    from rewardlab.agents import PPOConfig
    from rewardlab.agents.tuned import tuned_ids, tuned_rewards, tuned_settings
    from rewardlab.core.registry import get_spec

    for env_id in tuned_ids():
        get_spec(env_id)  # a registered id
        PPOConfig.from_kwargs(env_id, tuned_settings(env_id))  # unknown keys or bad values raise
        for reward in tuned_rewards(env_id):
            rewardlab.make_sim(env_id, num_envs=1, reward=reward)  # a preset of the environment, or an error
            PPOConfig.from_kwargs(f"{env_id} ({reward})", tuned_settings(env_id, reward))



def test_a_closed_pipe_ends_the_command_quietly(monkeypatch, capsys):
    # stdout is a pipe whose reader has gone away, as behind `| head` once head has exited
    read_end, write_end = os.pipe()
    os.close(read_end)
    closed_pipe = io.TextIOWrapper(os.fdopen(write_end, "wb"), line_buffering=True)
    monkeypatch.setattr(sys, "stdout", closed_pipe)
    spec = str(ROOT / "studies" / "coopetition_modes.yaml")
    assert main(["ablate", spec, "--dry-run", "--out", str(ROOT / "results" / "never_written")]) == 1
    assert "Traceback" not in capsys.readouterr().err
    closed_pipe.write("after the pipe closed\n")  # now /dev/null: the final flush cannot raise again
    closed_pipe.flush()
