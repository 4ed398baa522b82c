"""What a training run writes and returns, shared by rewardlab's agents and the SB3 runners.

``config.json`` (the run's settings, then the budget it used), TensorBoard events of every update's
statistics, ``curve.json``, ``metrics.json``, and the :class:`RunResult` handed back to studies and
the CLI.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError


@dataclass
class RunResult:
    """What a training run produced.

    Attributes:
        metrics: mean over the evaluation episodes of every episode metric of the environment
            ("return", "length", the family's metrics), plus "train_time_s" (wall clock of
            training) and "update_time_s" (mean wall clock per update).
        curve: one dict per update, with at least "step" (instance-steps so far) and "return"
            (mean return of the episodes finished in that update; the last known value, or NaN
            before the first episode ends).
        checkpoint: where the trained agent was saved (when ``log_dir`` was given).
        episodes: every episode metric per evaluation episode (the values ``metrics`` averages).
        trained_steps: the instance-steps actually trained: whole updates, so a budget that is
            not a multiple of an update is rounded down (and up to one update at least).
    """

    metrics: dict[str, float]
    curve: list[dict[str, float]] = field(default_factory=list)
    checkpoint: str | None = None
    episodes: dict[str, np.ndarray] = field(default_factory=dict)
    trained_steps: int | None = None


class RunLogger:
    """TensorBoard scalars for every statistic of an update, and a rich progress bar.

    Statistics are PPO's update stats: losses, penalties, "term/<name>" (mean raw reward term per
    step), "metric/<name>" (episode metrics), return, SPS.
    """

    def __init__(self, log_dir: str | Path | None, total_steps: int, progress: bool, title: str = "train") -> None:
        self.writer = None
        if log_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(log_dir))
        self.progress = None
        if progress:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} steps"),
                TextColumn("{task.fields[sps]:>8,.0f} SPS"),
                TextColumn("return {task.fields[ret]:>9.3f}"),
                TimeRemainingColumn(),
            )
            self.task = self.progress.add_task(title, total=int(total_steps), sps=0.0, ret=float("nan"))
            self.progress.start()

    def log(self, stats: dict[str, float]) -> None:
        step = int(stats["step"])
        if self.writer is not None:
            for name, value in stats.items():
                if name in ("step",) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    continue
                tag = name if "/" in name else (f"episode/{name}" if name in ("return", "length") else f"train/{name}")
                self.writer.add_scalar(tag, value, step)
        if self.progress is not None:
            self.progress.update(
                self.task, completed=step, sps=stats.get("sps", 0.0), ret=stats.get("return", float("nan"))
            )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.progress is not None:
            self.progress.stop()


def curve_point(stats: dict[str, float], last_return: float) -> dict[str, float]:
    point = {k: (int(v) if k in ("step", "update") else float(v)) for k, v in stats.items()}
    point.setdefault("return", last_return)
    return point


def check_run_dir(log_dir: str | Path | None) -> None:
    """Raise a RewardlabError unless ``log_dir`` is None, a directory, or a path that can become one."""
    if log_dir is None:
        return
    path = Path(log_dir)
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise RewardlabError(f"--out {str(path)!r}: {str(parent)!r} is a file; give a run directory")
            break


def write_run_config(log_dir: Path, config: dict[str, Any]) -> None:
    check_run_dir(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "config.json").write_text(json.dumps(config, indent=2, default=str, sort_keys=True))


def record_budget(log_path: Path, trained_steps: int, eval_episodes: int) -> None:
    """Add what the run used to its config.json, beside the requested ``total_steps``."""
    path = log_path / "config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    config["trained_steps"] = int(trained_steps)
    config["eval_episodes"] = int(eval_episodes)
    write_run_config(log_path, config)
