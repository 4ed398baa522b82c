"""The data of a study report, and the labels its text and its figures share.

:mod:`rewardlab.studies.report` computes a :class:`StudyReport` and writes it as text;
:mod:`rewardlab.studies.plots` draws it. Both import this module; ``report`` imports ``plots`` to
write the figures, and ``plots`` never imports ``report``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rewardlab.studies.spec import MetricInfo

DEFAULT_REPS = 2000
DEFAULT_SEED = 0
ALL_ENVS = "all envs"


@dataclass
class Cell:
    metric: str
    setting: str
    env: str
    n: int
    iqm: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    mean: float = math.nan
    std: float = math.nan


@dataclass
class Budget:
    """What the runs were given, from the plan, and what they used, from the finished runs."""

    runs: int
    envs: int
    settings: int
    seeds: list[int]
    total_steps: list[int]  # distinct requested training budgets (instance-steps)
    trained_steps: list[int]  # distinct last curve steps of the finished runs
    eval_episodes: list[int]
    rollouts: list[tuple[int, int]]  # distinct (num_envs, num_steps) where the runs give both
    spec_total_steps: int | None = None  # the spec's own budget when the profile changed it
    spec_seeds: int | None = None
    worker_time_s: float = 0.0  # sum of the finished runs' wall clock (training and evaluation)
    default_runner: bool = True  # rewardlab's train_and_evaluate (deterministic evaluation episodes)


@dataclass
class StudyReport:
    name: str
    profile: str | None
    axes: list[str]
    settings: list[tuple[str, dict[str, str]]]  # (label, axis -> value label), in grid order
    envs: list[str]
    metrics: list[str]
    cells: dict[tuple[str, str, str], Cell]  # (metric, setting, env) -> Cell
    planned: int
    finished: int
    missing: list[dict[str, Any]] = field(default_factory=list)
    reps: int = DEFAULT_REPS
    seed: int = DEFAULT_SEED
    confidence: float = 0.95
    curves: dict[tuple[str, str], list[list[dict[str, Any]]]] = field(default_factory=dict)
    curve_metric: str = "return"
    description: str = ""
    claim: str = ""
    metric_info: dict[str, MetricInfo] = field(default_factory=dict)
    constant: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> env -> its one value
    rewards: dict[str, str] = field(default_factory=dict)  # setting -> its reward, as configured
    budget: Budget | None = None


def has_data(report: StudyReport, metric: str, setting: str, column: str) -> bool:
    cell = report.cells.get((metric, setting, column))
    return cell is not None and cell.n > 0


def columns_with_data(report: StudyReport, metric: str) -> list[str]:
    """The environments (and "all envs") where some setting has a value of ``metric``."""
    return [c for c in report.envs + [ALL_ENVS] if any(has_data(report, metric, s, c) for s, _ in report.settings)]


def short_label(report: StudyReport, values: Mapping[str, str], label: str) -> str:
    return " / ".join(values[a] for a in report.axes) if report.axes else label


def curve_label(report: StudyReport) -> str:
    if report.curve_metric == "return":
        return "the return of the training episodes (stochastic policy)"
    return f"{report.curve_metric} of the training episodes (stochastic policy)"


def split_curves_by_reward(report: StudyReport) -> bool:
    return report.curve_metric == "return" and len(set(report.rewards.values())) > 1
