"""The results directory of a study: one JSON file per finished run, written atomically.

Layout of ``OUT/``::

    study.json            the spec, the profile and the planned runs (rewritten by each ablate)
    runs/<key>.json       one finished run: config, seed, metrics, learning curve, versions
    failed/<key>.json     the traceback of a run that raised (removed when it later succeeds)
    report.md, results.csv, bars.png, curves.png    written by ``rewardlab report``

A run file appears only complete: it is written to a temporary file in the same directory and
moved into place with ``os.replace``, which is atomic on POSIX and Windows. A run whose file is
there and reads as a run record is finished and is skipped by the next ``ablate``; anything else
(never started, killed half-way, raised, a file that is not UTF-8 JSON or has no metrics) is run
again.

Temporary files are named ``.<target>.<host>.<pid>.<random>.tmp``: ``ablate`` deletes only those
of this host whose writing process is gone, never another live process's file or a user's.

Several ``ablate`` processes may share one folder: before a run starts, its worker claims it by
creating ``claims/<key>.claim`` with ``O_CREAT | O_EXCL`` (atomic, so one claimant wins) holding its
host and pid. Another process skips a run whose claim belongs to a live process; a claim whose
process is gone (killed) is taken over. ``<key>`` is a hash of the runner, the run config and the seed
(:func:`rewardlab.studies.spec.run_key`), so a changed setting is a new run, never a stale hit.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from rewardlab.core.errors import RewardlabError
from rewardlab.studies.model import Run, Study

STUDY_FILE = "study.json"
RUNS_DIR = "runs"
FAILED_DIR = "failed"
CLAIMS_DIR = "claims"
_HOST = socket.gethostname().replace(".", "_") or "host"
FORMAT_VERSION = 1
_PACKAGES = ("rewardlab", "numpy", "torch", "gymnasium", "pettingzoo", "mujoco", "stable-baselines3", "ray")


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
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


def process_alive(pid: int, started: str = "") -> bool:
    """Whether process ``pid`` runs on this machine (signal 0 tests without signalling).

    A zombie (exited, not yet reaped: common for orphans in containers) counts as gone. With
    ``started`` (from :func:`process_start`), a different process that reuses the pid counts
    as gone too.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        pass
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc (macOS, Windows): trust the signal test
    state, start = stat
    return state != "Z" and (not started or started == start)


def process_start(pid: int) -> str:
    """The start time of process ``pid`` (clock ticks since boot, from /proc), or "" without /proc."""
    stat = _proc_stat(pid)
    return stat[1] if stat else ""


def _proc_stat(pid: int) -> tuple[str, str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) ": state is field 3
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _temporary_owner(name: str) -> tuple[str, int] | None:
    """(host, pid) of a temporary named by :func:`write_json_atomic`, or None for any other file."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    parts = name[1:-4].split(".")
    # <target stem>.json.<host>.<pid>.<random>: at least five dot-separated parts
    if len(parts) < 5 or parts[-4] != "json" or not parts[-2].isdigit():
        return None
    return parts[-3], int(parts[-2])


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
        try:
            with open(path, encoding="utf-8") as handle:
                plan = json.load(handle)
        except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise RewardlabError(
                f"report: {str(path)!r} cannot be read as a study plan ({type(err).__name__}: {err}); "
                "run the study's `rewardlab ablate` again to rewrite it"
            ) from None
        problem = _plan_problem(plan)
        if problem:
            raise RewardlabError(
                f"report: {str(path)!r} is not a valid study plan: {problem}; "
                "run the study's `rewardlab ablate` again to rewrite it"
            )
        return plan

    # --- runs -----------------------------------------------------------------------------------
    def run_path(self, key: str) -> Path:
        return self.runs_dir / f"{key}.json"

    def read_run(self, key: str) -> dict[str, Any] | None:
        """The finished run ``key``, or None if it is missing or unreadable (then it is redone)."""
        path = self.run_path(key)
        try:
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):  # missing, not UTF-8 (UnicodeDecodeError), not JSON
            return None
        if not isinstance(record, dict) or record.get("key") != key:
            return None
        metrics = record.get("metrics")
        if not isinstance(metrics, dict):  # "metrics": null or a list is no finished run
            return None
        return record

    def write_run(self, record: Mapping[str, Any]) -> Path:
        path = self.run_path(record["key"])
        write_json_atomic(path, to_jsonable(record))
        (self.failed_dir / f"{record['key']}.json").unlink(missing_ok=True)
        return path

    def write_failure(self, key: str, payload: Mapping[str, Any]) -> None:
        write_json_atomic(self.failed_dir / f"{key}.json", to_jsonable(payload))

    def remove_stale_temporaries(self) -> int:
        """Delete temporary files left by a writer that was killed before its os.replace.

        Only files named by :func:`write_json_atomic` on this host whose process is gone: a live
        writer's file (another ``ablate`` on the same folder) and files of other names are kept.
        """
        removed = 0
        for folder in (self.root, self.runs_dir, self.failed_dir):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    owner = _temporary_owner(tmp.name)
                    if owner is None or owner[0] != _HOST or process_alive(owner[1]):
                        continue
                    tmp.unlink(missing_ok=True)
                    removed += 1
        return removed

    # --- claims: one process per run, across concurrent ablate invocations ------------------------
    def claim_path(self, key: str) -> Path:
        return self.root / CLAIMS_DIR / f"{key}.claim"

    def claim(self, key: str) -> bool:
        """Claim run ``key`` for this process; False if a live process holds it (see the module doc)."""
        path = self.claim_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._claim_holder(path)
                if holder is None:  # being written this instant: leave it, unless long abandoned
                    if not _older_than(path, 60.0):
                        return False
                    holder = ("", 0, "")
                host, pid, started = holder
                if (host and host != _HOST) or pid == os.getpid() or process_alive(pid, started):
                    return pid == os.getpid() and host == _HOST
                # stale: move it aside under a unique name (one renamer wins), then retry
                try:
                    os.replace(path, path.with_name(f".{path.name}.{_HOST}.{os.getpid()}.stale"))
                except FileNotFoundError:
                    continue
                path.with_name(f".{path.name}.{_HOST}.{os.getpid()}.stale").unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{_HOST} {os.getpid()} {process_start(os.getpid()) or '-'}\n")
            return True
        return False

    def release(self, key: str) -> None:
        """Drop this process's claim on ``key`` (after its result or failure is written)."""
        path = self.claim_path(key)
        holder = self._claim_holder(path)
        if holder is not None and holder[:2] == (_HOST, os.getpid()):
            path.unlink(missing_ok=True)

    @staticmethod
    def _claim_holder(path: Path) -> tuple[str, int, str] | None:
        """(host, pid, start time or "") of a claim file, or None while it is empty or unreadable."""
        try:
            host, pid, started = path.read_text(encoding="utf-8").split()
            return host, int(pid), "" if started == "-" else started
        except (OSError, ValueError):
            return None

    def finished_keys(self) -> set[str]:
        if not self.runs_dir.is_dir():
            return set()
        return {p.stem for p in self.runs_dir.glob("*.json") if self.read_run(p.stem) is not None}


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _plan_problem(plan: Any) -> str:
    """What is wrong with a study.json document, or "" when it has what ``report`` reads."""
    if not isinstance(plan, dict):
        return f"expected a JSON object, got {type(plan).__name__}"
    runs = plan.get("runs")
    if not isinstance(runs, list):
        return f"'runs' must be a list, got {runs!r:.60}"
    for key, kind in (("metrics", list), ("derived", dict), ("axes", list), ("report", dict)):
        if plan.get(key) is not None and not isinstance(plan[key], kind):
            return f"{key!r} must be a {kind.__name__} or null, got {plan[key]!r:.60}"
    for index, run in enumerate(runs):
        fields = ("key", "setting_label", "setting", "env", "seed", "config")
        if not isinstance(run, dict) or any(f not in run for f in fields):
            return f"run {index} must be an object with {', '.join(fields)}"
        if not isinstance(run["config"], dict) or not isinstance(run["setting"], list):
            return f"run {index}: 'config' must be an object and 'setting' a list"
    return ""


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
