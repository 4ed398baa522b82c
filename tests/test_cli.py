"""The `rewardlab` command line and the README's environment table."""

from __future__ import annotations

import re
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
