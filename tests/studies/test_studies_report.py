"""The study report: what it prints (claim, budget, metric definitions), its bootstrap and its helpers."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import yaml

from rewardlab.studies.plots import curve_statistics
from rewardlab.studies.report import fmt


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
    assert re.search(r"\| EnvA-v0 +\| a +\|", score) and "| b " not in score
    both = text.split("## private_return")[1]
    assert re.search(r"\| EnvA-v0 +\| a +\|", both) and re.search(r"\| EnvNoScore-v0 +\| b +\|", both)
    assert "| all envs" not in both


REPO = Path(__file__).resolve().parents[2]


def fake_results(out, spec_path, profile, metric_values, curve_key="metric/welfare_pct_optimum"):
    """A results directory of ``spec_path`` with synthetic finished runs (no training).

    ``metric_values(run) -> dict`` gives each run's metrics; the curve logs ``curve_key``.
    """
    from rewardlab.studies.spec import load_study
    from rewardlab.studies.store import ResultStore, make_record

    study = load_study(spec_path, profile=profile)
    store = ResultStore(out)
    store.write_plan(study, study.runs())
    for run in study.runs():
        total = run.config["total_steps"]
        curve = [{"step": s, "return": float(s), curve_key: float(s) / total} for s in (total // 2, total)]
        store.write_run(make_record(run, study.runner, study.name, metric_values(run), curve, 1.5))
    return study


def coop_metrics(run):
    """Synthetic coopetition metrics: the cooperative reward helps on one environment only."""
    effect = 25.0 if (run.env.endswith("TeamProduction-v0") and "cooperative" in run.setting_label) else 0.0
    base = 60.0 + run.seed
    return {"cooperation_level": 0.4 + 0.01 * run.seed + effect / 100, "welfare_pct_optimum": base + effect,
            "value_added_pct_optimum": base - 10 + effect, "private_return": 10.0 + run.seed,
            "integrated_return": 16.0 * (10.0 + run.seed)}


def test_main_job_report_states_claim_budget_and_metric_definitions_at_80_columns(tmp_path):
    from rewardlab.studies.report import build_report, markdown

    study = fake_results(tmp_path, REPO / "studies" / "coopetition_modes.yaml", "quick", coop_metrics)
    text = markdown(build_report(tmp_path))
    flat = " ".join(text.split())
    assert "**Claim tested.** " + " ".join(study.claim.split()) in flat
    assert "72 runs = 4 environments x 6 settings x 3 seeds" in flat
    assert "16,384 environment steps" in flat and "16 environments x 32 steps" in flat
    assert "4 evaluation episodes" in flat
    assert "the spec's own budget is 1,000,000 steps per run and 7 seeds" in flat
    for metric in study.metrics:
        info = study.metric_info[metric]
        assert info.description and info.higher_is_better is True
        assert f"## {metric} (higher is better)" in text
        assert " ".join(info.description.split()) in flat
    # per-environment rows, not only the pooled IQM: the one-environment effect is visible
    welfare = text.split("## welfare_pct_optimum")[1].split("## ")[0]
    assert re.search(r"\| CoopTeamProduction-v0 +\| private +\| ippo +\| +61\.0 \|", welfare)
    assert re.search(r"\| +\| cooperative +\| ippo +\| +86\.0 \|", welfare)
    assert "| all envs" in welfare
    assert "interdependence_contribution" not in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_constant_metric_is_named_and_left_out(tmp_path):
    from rewardlab.studies.report import build_report, markdown

    spec = {
        "name": "constant", "runner": "rewardlab.agents.run:train_and_evaluate",
        "envs": ["CoopTeamProduction-v0", "CoopTrustDilemma-v0"], "base": {"total_steps": 64},
        "grid": {"reward": ["private", "cooperative"]}, "seeds": 2,
        "metrics": {"welfare_pct_optimum": {"description": "welfare as % of the optimum", "higher_is_better": True}},
        "derived": {"ratio": {"expression": "integrated_return / private_return", "description": "a ratio"}},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    fake_results(tmp_path / "out", path, None, coop_metrics)
    report = build_report(tmp_path / "out")
    assert report.metrics == ["welfare_pct_optimum"]
    assert report.constant == {"ratio": {"CoopTeamProduction-v0": 16.0, "CoopTrustDilemma-v0": 16.0}}
    text = markdown(report)
    assert "**Left out.** `ratio` has one value on every run of each environment" in " ".join(text.split())
    assert "## ratio" not in text
    # the curves are returns under two rewards: one panel per reward, and the report says why
    assert report.rewards == {"reward=private": "private", "reward=cooperative": "cooperative"}
    assert "returns under different rewards are not comparable" in " ".join(text.split())


def test_vectorised_bootstrap_equals_rliable_one_replication_at_a_time(monkeypatch):
    import rewardlab.studies.report as report

    rng = np.random.default_rng(7)
    for shape, reps, seed in (((5, 1), 300, 0), ((3, 4), 257, 3), ((6, 2), 100, 11)):
        scores = rng.normal(size=shape)
        expected = report.iqm_interval_rliable(scores, reps, seed)
        assert report.iqm_interval(scores, reps, seed) == expected
        monkeypatch.setattr(report, "_BOOTSTRAP_CHUNK", 7)  # many chunks: the same stream of draws
        assert report.iqm_interval(scores, reps, seed) == expected
        monkeypatch.undo()
    low_high = report.iqm_interval(np.arange(8.0), 500, 0, confidence=0.5)
    assert low_high[1] < low_high[0] < low_high[2]


def test_column_decimals_give_one_format_per_column():
    from rewardlab.studies.report import column_decimals

    assert column_decimals([98.4, 61.0, 5.2]) == 1
    assert column_decimals([0.51, 0.02]) == 3
    assert column_decimals([12345.0, 3.0]) == 0
    assert column_decimals([0.004]) == 5
    assert column_decimals([0.0, np.nan]) == 3
