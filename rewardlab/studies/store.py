"""The results directory of a study: one JSON file per finished run, written atomically.

Layout of ``OUT/``::

    study.json            the spec, the profile and the planned runs (rewritten by each ablate)
    runs/<key>.json       one finished run: config, seed, metrics, learning curve, versions
    failed/<key>.json     the traceback of a run that raised (removed when it later succeeds)
    report.md, results.csv, bars.png, curves.png    written by ``rewardlab report``

A run file appears only complete: it is written to a temporary file in the same directory and
moved into place with ``os.replace``, which is atomic on POSIX and Windows. A run whose file is
there is finished and is skipped by the next ``ablate``; anything else (never started, killed
half-way, raised) is run again. ``<key>`` is a hash of the runner, the run config and the seed
(:func:`rewardlab.studies.spec.run_key`), so a changed setting is a new run, never a stale hit.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from rewardlab.core.errors import RewardlabError
from rewardlab.studies.spec import Run, Study

STUDY_FILE = "study.json"
RUNS_DIR = "runs"
FAILED_DIR = "failed"
FORMAT_VERSION = 1
_PACKAGES = ("rewardlab", "numpy", "torch", "gymnasium", "pettingzoo", "mujoco", "stable-baselines3", "ray")


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600 files; results are meant to be shared
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.lru_cache(maxsize=1)
def _git_commit() -> str | None:
    """The commit of the rewardlab checkout in use (with "+dirty" for local changes), if any."""
    package_dir = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=package_dir, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
                               cwd=package_dir, capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


def versions() -> dict[str, str]:
    """Python, platform, the versions of the packages a result depends on, and rewardlab's commit."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    commit = _git_commit()
    if commit:
        found["rewardlab_commit"] = commit
    for package in _PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays and tuples (floats keep every bit through repr)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalar or array
        return to_jsonable(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


class ResultStore:
    """Reads and writes one study's results directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs_dir = self.root / RUNS_DIR
        self.failed_dir = self.root / FAILED_DIR

    # --- the plan -------------------------------------------------------------------------------
    def write_plan(self, study: Study, runs: Iterable[Run]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(exist_ok=True)
        plan = {
            "format": FORMAT_VERSION,
            "study": study.to_dict(),
            "runner": study.runner,
            "metrics": study.metrics,
            "derived": study.derived,
            "curve_metric": study.curve_metric,
            "report": study.report,
            "axes": [axis.name for axis in study.axes],
            "runs": [run.to_dict() for run in runs],
        }
        write_json_atomic(self.root / STUDY_FILE, plan)

    def read_plan(self) -> dict[str, Any]:
        path = self.root / STUDY_FILE
        if not path.exists():
            raise RewardlabError(
                f"report: {str(self.root)!r} is not a study results directory (no {STUDY_FILE}); "
                "run `rewardlab ablate SPEC --out DIR` first"
            )
        with open(path) as handle:
            return json.load(handle)

    # --- runs -----------------------------------------------------------------------------------
    def run_path(self, key: str) -> Path:
        return self.runs_dir / f"{key}.json"

    def is_finished(self, key: str) -> bool:
        return self.read_run(key) is not None

    def read_run(self, key: str) -> dict[str, Any] | None:
        """The finished run ``key``, or None if it is missing or unreadable (then it is redone)."""
        path = self.run_path(key)
        try:
            with open(path) as handle:
                record = json.load(handle)
        except (OSError, json.JSONDecodeError):
            return None
        return record if isinstance(record, dict) and record.get("key") == key else None

    def write_run(self, record: Mapping[str, Any]) -> Path:
        path = self.run_path(record["key"])
        write_json_atomic(path, to_jsonable(record))
        (self.failed_dir / f"{record['key']}.json").unlink(missing_ok=True)
        return path

    def write_failure(self, key: str, payload: Mapping[str, Any]) -> None:
        write_json_atomic(self.failed_dir / f"{key}.json", to_jsonable(payload))

    def remove_stale_temporaries(self) -> int:
        """Delete temporary files left by a writer that was killed before its os.replace."""
        removed = 0
        for folder in (self.root, self.runs_dir, self.failed_dir):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    tmp.unlink(missing_ok=True)
                    removed += 1
        return removed

    def finished_keys(self) -> set[str]:
        if not self.runs_dir.is_dir():
            return set()
        return {p.stem for p in self.runs_dir.glob("*.json") if self.read_run(p.stem) is not None}


def make_record(run: Run, runner: str, study_name: str, metrics: Mapping[str, Any], curve: Any,
                wall_time_s: float) -> dict[str, Any]:
    """The JSON document of one finished run."""
    return {
        "format": FORMAT_VERSION,
        "key": run.key,
        "study": study_name,
        "runner": runner,
        **run.to_dict(),
        "metrics": to_jsonable(dict(metrics)),
        "curve": to_jsonable(list(curve or [])),
        "wall_time_s": float(wall_time_s),
        "versions": versions(),
    }
