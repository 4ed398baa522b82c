"""studies/carl_minibatch_tables.py: block means and steps to a level, checked by hand."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_tables_module():
    path = REPO / "studies" / "carl_minibatch_tables.py"
    spec = importlib.util.spec_from_file_location("carl_minibatch_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def curve(scores, steps_per_update=250):
    """One point per update; None is an update in which no episode ended."""
    points = []
    for i, score in enumerate(scores):
        point = {"step": steps_per_update * (i + 1)}
        if score is not None:
            point["metric/driving_score"] = score
        points.append(point)
    return points


def write_run(folder: Path, name: str, reward: str, minibatch: int, seed: int, scores, evaluation: float) -> None:
    record = {
        "key": name,
        "setting": [["env", "DrivingTown-v0"], ["reward", reward], ["agent_kwargs.minibatch_size", str(minibatch)]],
        "seed": seed,
        "metrics": {"driving_score": evaluation},
        "curve": curve(scores, steps_per_update=250_000),
    }
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    (folder / "runs" / f"{name}.json").write_text(json.dumps(record))


def test_block_means_skip_updates_without_episodes():
    tables = load_tables_module()
    # steps 250, 500, 750, 1000 | 1250, 1500
    means = tables.block_means(curve([10.0, None, 30.0, 40.0, 50.0, 70.0]), block=1000)
    assert means == pytest.approx([(10 + 30 + 40) / 3, 60.0])


def test_first_step_at_uses_the_moving_average():
    tables = load_tables_module()
    scores = [0.0, 100.0, 0.0, 60.0, 80.0]
    # window 2: means 50, 50, 30, 70 at steps 500, 750, 1000, 1250
    assert tables.first_step_at(curve(scores), 50.0, window=2) == 500
    assert tables.first_step_at(curve(scores), 60.0, window=2) == 1250
    assert tables.first_step_at(curve(scores), 100.0, window=1) == 500
    assert math.isnan(tables.first_step_at(curve(scores), 71.0, window=2))


def test_tables_order_runs_by_reward_minibatch_and_seed(tmp_path, capsys):
    tables = load_tables_module()
    write_run(tmp_path, "b", "roach", 4096, 0, [10.0, 20.0, 30.0, 40.0], 25.9)
    write_run(tmp_path, "a", "carl", 4096, 1, [60.0, 80.0, 90.0, 90.0], 88.0)
    write_run(tmp_path, "c", "carl", 256, 0, [70.0, 90.0, 90.0, 90.0], 91.0)
    tables.main([str(tmp_path), "--block", "500000", "--window", "1", "--levels", "80", "95"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| carl") or line.startswith("| roach")]
    assert rows[:3] == [
        "| carl | 256 | 0 | 91.0 | 80.0 | 90.0 |",
        "| carl | 4096 | 1 | 88.0 | 70.0 | 90.0 |",
        "| roach | 4096 | 0 | 25.9 | 15.0 | 35.0 |",
    ]
    assert rows[3:] == [
        "| carl | 256 | 0 | 0.50M | - |",
        "| carl | 4096 | 1 | 0.50M | - |",
        "| roach | 4096 | 0 | - | - |",
    ]


def test_a_folder_without_runs_is_a_clear_error(tmp_path, capsys):
    tables = load_tables_module()
    with pytest.raises(SystemExit):
        tables.main([str(tmp_path)])
    assert "has no runs/ folder" in capsys.readouterr().err
