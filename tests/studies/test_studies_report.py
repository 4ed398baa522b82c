"""Report helpers: learning-curve statistics and number formatting."""

from __future__ import annotations

import math

import numpy as np

from rewardlab.studies.report import curve_statistics, fmt


def test_curve_statistics_interpolates_and_skips_nan_points():
    first = [{"step": 10, "return": math.nan}, {"step": 20, "return": 2.0}, {"step": 40, "return": 4.0}]
    second = [{"step": 20, "return": 1.0}, {"step": 30, "return": 3.0}, {"step": 40, "return": 5.0}]
    steps, values = curve_statistics([first, second], "return")
    assert steps.tolist() == [20.0, 40.0]
    assert values.tolist() == [[2.0, 4.0], [1.0, 5.0]]
    assert curve_statistics([[{"step": 1}]], "return") is None


def test_fmt_keeps_three_significant_digits():
    assert [fmt(x) for x in (12345.6, 123.45, 12.345, 1.2345, 0.012345, 0.0012345, 0.0)] == [
        "12346", "123.5", "12.35", "1.234", "0.012", "1.23e-03", "0.000"]
    assert fmt(np.nan) == "nan"


def test_settings_on_different_envs_get_only_their_metrics(tmp_path):
    from pathlib import Path

    from rewardlab.studies.executors import ablate
    from rewardlab.studies.report import build_report, markdown
    from rewardlab.studies.spec import parse_study

    runner = Path(__file__).resolve().parent / "studies_fake_runner.py"
    study = parse_study({
        "name": "mixed", "runner": f"{runner}:seeded_runner", "seeds": 2,
        "base": {"total_steps": 8},
        "grid": {"setting": {"a": {"env": "EnvA-v0"}, "b": {"env": "EnvNoScore-v0"}}},
        "metrics": ["score", "private_return"],
    })
    ablate(study, tmp_path, workers=1)
    text = markdown(build_report(tmp_path))
    score = text.split("## score")[1].split("## private_return")[0]
    assert "EnvA-v0" in score and "EnvNoScore-v0" not in score
    assert "| a |" in score and "| b |" not in score
    both = text.split("## private_return")[1]
    assert "| a |" in both and "| b |" in both and "all envs" not in both
