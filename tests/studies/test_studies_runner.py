"""The study runner: atomic results, resume after a kill, determinism, Ray, and the report.

The runs use the cheap deterministic runners of studies_fake_runner.py (loaded by file path), so
these tests exercise the machinery, not training.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from rewardlab.cli import main as cli_main
from rewardlab.studies.executors import ablate
from rewardlab.studies.report import build_report, markdown, rliable_modules, write_report
from rewardlab.studies.spec import load_study
from rewardlab.studies.store import ResultStore

HERE = Path(__file__).resolve().parent
RUNNERS = HERE / "studies_fake_runner.py"
REPO = HERE.parent.parent


def write_spec(folder: Path, runner: str = "seeded_runner", seeds: int = 3, **extra) -> Path:
    spec = {
        "name": "fake",
        "runner": f"{RUNNERS}:{runner}",
        "envs": ["EnvA-v0", "EnvB-v0"],
        "base": {"total_steps": 400, "agent_kwargs": {"level": 1.0}},
        "grid": {"agent_kwargs.level": [1.0, 3.0]},
        "seeds": seeds,
        "metrics": ["score"],
        "derived": {"contribution": "(integrated_return - private_return) / integrated_return"},
        "report": {"reps": 500, "seed": 3},
    }
    spec.update(extra)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def deterministic_part(record: dict) -> dict:
    """What must be bitwise equal between two executions: all but wall-clock fields and versions."""
    metrics = {k: v for k, v in record["metrics"].items() if not k.endswith("_time_s")}
    return {"key": record["key"], "config": record["config"], "seed": record["seed"],
            "metrics": metrics, "curve": record["curve"]}


def records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))}


def test_runs_are_written_with_config_metrics_curve_and_versions(tmp_path):
    study = load_study(write_spec(tmp_path))
    summary = ablate(study, tmp_path / "out", workers=2)
    assert summary.ok and summary.planned == 12 and len(summary.finished) == 12 and summary.skipped == 0
    found = records(tmp_path / "out")
    assert set(found) == {r.key for r in study.runs()}
    record = found[study.runs()[0].key]
    assert record["config"]["agent_kwargs"]["level"] == 1.0 and record["seed"] == 0
    assert set(record["metrics"]) >= {"score", "private_return", "integrated_return"}
    assert [p["step"] for p in record["curve"]] == [100, 200, 300, 400]
    assert {"python", "numpy", "rewardlab"} <= set(record["versions"])
    assert not list((tmp_path / "out" / "runs").glob(".*.tmp"))
    plan = json.loads((tmp_path / "out" / "study.json").read_text())
    assert [r["key"] for r in plan["runs"]] == [r.key for r in study.runs()]
    # a second invocation finds everything finished and runs nothing
    again = ablate(study, tmp_path / "out", workers=2)
    assert again.skipped == 12 and not again.finished


def test_same_seeds_give_bitwise_identical_results(tmp_path):
    study = load_study(write_spec(tmp_path))
    ablate(study, tmp_path / "a", workers=2)
    ablate(study, tmp_path / "b", workers=1)
    a, b = records(tmp_path / "a"), records(tmp_path / "b")
    assert a.keys() == b.keys()
    for key in a:
        assert json.dumps(deterministic_part(a[key])) == json.dumps(deterministic_part(b[key]))
    # and different seeds or settings do give different numbers (the check above can fail)
    scores = [r["metrics"]["score"] for r in a.values()]
    assert len(set(scores)) == len(scores)


def test_killed_study_resumes_without_losing_finished_runs(tmp_path):
    spec = write_spec(tmp_path, runner="sleepy_runner", seeds=4,
                      base={"total_steps": 400, "agent_kwargs": {"level": 1.0, "sleep_s": 0.5}})
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "rewardlab.cli", "ablate", str(spec), "--out", str(out), "--workers", "2"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    runs_dir = out / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(runs_dir.glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its workers, with runs in flight
    process.wait()
    before = {p.name: p.read_bytes() for p in runs_dir.glob("*.json")}
    study = load_study(spec)
    assert 3 <= len(before) < len(study.runs()), "the kill must land mid-study"
    (runs_dir / ".deadbeef.json.half.tmp").write_text('{"key": "dead')  # not named by ablate: kept

    resumed = ablate(study, out, workers=2)
    assert resumed.ok and resumed.skipped == len(before)
    assert len(resumed.finished) == len(study.runs()) - len(before)
    for name, content in before.items():  # finished runs are neither lost nor redone
        assert (runs_dir / name).read_bytes() == content
    # the killed workers' temporaries are gone; a file ablate cannot prove its own is left alone
    assert [p.name for p in runs_dir.glob(".*.tmp")] == [".deadbeef.json.half.tmp"]

    uninterrupted = tmp_path / "uninterrupted"
    ablate(study, uninterrupted, workers=2)
    assert markdown(build_report(out)) == markdown(build_report(uninterrupted))
    for key, record in records(uninterrupted).items():
        assert deterministic_part(record) == deterministic_part(records(out)[key])


def test_a_killed_worker_process_is_replaced_and_its_run_redone(tmp_path):
    marker = tmp_path / "crashed"
    spec = write_spec(tmp_path, runner="crash_once_runner", seeds=2,
                      base={"total_steps": 400, "agent_kwargs": {"level": 1.0, "marker": str(marker)}})
    study = load_study(spec)
    summary = ablate(study, tmp_path / "out", workers=2)
    assert marker.exists(), "a worker was killed"
    assert summary.ok and len(records(tmp_path / "out")) == len(study.runs())


def test_failing_runs_are_logged_and_retried(tmp_path):
    spec = write_spec(tmp_path, runner="failing_runner", seeds=2)
    out = tmp_path / "out"
    assert cli_main(["ablate", str(spec), "--out", str(out), "--workers", "1"]) == 1
    failed = sorted((out / "failed").glob("*.json"))
    assert len(failed) == 4  # seed 1 of 2 settings x 2 envs
    assert "fails on purpose" in json.loads(failed[0].read_text())["traceback"]
    assert len(records(out)) == 4
    report = build_report(out)
    assert report.finished == 4 and len(report.missing) == 4


def test_ray_backend_runs_a_two_run_study(tmp_path):
    ray = pytest.importorskip("ray")
    spec = write_spec(tmp_path, seeds=2, envs=["EnvA-v0"], grid={})
    study = load_study(spec)
    assert len(study.runs()) == 2
    # through the CLI: ablate starts a local Ray instance with --workers CPUs and stops it after
    assert cli_main(["ablate", str(spec), "--backend", "ray", "--workers", "2", "--out", str(tmp_path / "ray")]) == 0
    assert not ray.is_initialized()
    ablate(study, tmp_path / "local", workers=1)
    via_ray, local = records(tmp_path / "ray"), records(tmp_path / "local")
    assert via_ray.keys() == local.keys()
    for key in local:
        assert deterministic_part(via_ray[key]) == deterministic_part(local[key])


@pytest.mark.filterwarnings("ignore:random_state is deprecated:FutureWarning")
def test_report_matches_rliable_called_directly(tmp_path, capsys):
    study = load_study(write_spec(tmp_path, seeds=5))
    out = tmp_path / "out"
    ablate(study, out, workers=2)
    assert cli_main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "## score" in printed and "## contribution" in printed
    assert printed.strip() == (out / "report.md").read_text().strip()
    assert (out / "bars.png").stat().st_size > 0 and (out / "curves.png").stat().st_size > 0

    library, metrics = rliable_modules()
    rows = {(r["metric"], r["setting"], r["env"]): r for r in csv.DictReader(open(out / "results.csv"))}
    by_run = {r.key: r for r in study.runs()}
    found = records(out)

    def scores(metric, level, env):
        values = []
        for key, record in sorted(found.items(), key=lambda kv: kv[1]["seed"]):
            run = by_run[key]
            if run.env == f"rewardlab/{env}" and run.config["agent_kwargs"]["level"] == level:
                m = record["metrics"]
                values.append(m["score"] if metric == "score" else
                              (m["integrated_return"] - m["private_return"]) / m["integrated_return"])
        return np.array(values)

    def direct(matrix):
        np.random.seed(3)  # rliable resamples with np.random.choice (the global generator)
        point, interval = library.get_interval_estimates(
            {"x": matrix}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=500,
            random_state=np.random.RandomState(3))
        return point["x"][0], interval["x"][0, 0], interval["x"][1, 0]

    for metric in ("score", "contribution"):
        for level in (1.0, 3.0):
            setting = f"agent_kwargs.level={level}"
            per_env = {env: scores(metric, level, env) for env in ("EnvA-v0", "EnvB-v0")}
            for env, values in per_env.items():
                row = rows[(metric, setting, env)]
                assert int(row["n"]) == 5
                expected = direct(values[:, None])
                assert (float(row["iqm"]), float(row["ci_low"]), float(row["ci_high"])) == expected
            row = rows[(metric, setting, "all envs")]
            matrix = np.stack([per_env["EnvA-v0"], per_env["EnvB-v0"]], axis=1)
            assert int(row["n"]) == 10
            assert (float(row["iqm"]), float(row["ci_low"]), float(row["ci_high"])) == direct(matrix)
            assert float(row["ci_low"]) <= float(row["iqm"]) <= float(row["ci_high"])
    # the bootstrap seed is honoured: another seed moves the CI, not the point estimate
    other, _, _ = write_report(out, seed=4, plots=False)
    base = build_report(out)
    cell, moved = base.cells[("score", "agent_kwargs.level=1.0", "all envs")], \
        other.cells[("score", "agent_kwargs.level=1.0", "all envs")]
    assert cell.iqm == moved.iqm and (cell.ci_low, cell.ci_high) != (moved.ci_low, moved.ci_high)


def test_report_of_a_directory_without_a_study_is_a_clear_error(tmp_path, capsys):
    assert cli_main(["report", str(tmp_path)]) == 2
    assert "not a study results directory" in capsys.readouterr().err
    assert ResultStore(tmp_path).finished_keys() == set()
