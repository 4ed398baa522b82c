"""The learning benchmarks run end to end on a tiny budget and write their rows and summary."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture()
def benchmark_module(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name: str):
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return load


def test_learn_driving_writes_a_row_per_evaluation(benchmark_module, tmp_path, capsys):
    out = tmp_path / "driving.json"
    script = benchmark_module("learn_driving")
    script.main(["--reward", "carl", "--steps", "4096", "--eval-every", "2048", "--eval-episodes", "2",
                 "--set", "num_envs=8", "--set", "num_steps=16", "--json", str(out)])
    result = json.loads(out.read_text())
    assert [row["steps"] for row in result["rows"]] == [2048, 4096]  # 8 x 16 x action_repeat 2 per update
    assert result["agent"]["action_repeat"] == 2  # the shipped DrivingTown-v0 settings under the --set values
    assert all(0.0 <= row["driving_score"] <= 100.0 for row in result["rows"])
    assert set(result["summary"]) == {f"DS >= {level}" for level in (50, 60, 70, 80, 90)}
    assert "first evaluation with" in capsys.readouterr().out


def test_learn_locomotion_writes_a_row_per_evaluation(benchmark_module, tmp_path):
    out = tmp_path / "loco.json"
    script = benchmark_module("learn_locomotion")
    script.main(["--steps", "2048", "--eval-every", "1024", "--eval-episodes", "1",
                 "--set", "num_envs=8", "--set", "num_steps=16", "--json", str(out)])
    result = json.loads(out.read_text())
    assert [row["steps"] for row in result["rows"]] == [1024, 2048]
    for row in result["rows"]:
        assert 1 <= row["length"] <= 500 and 0.0 <= row["imitation_per_step"] <= 1.0
    assert "length = 500" in result["summary"]
