"""The figures of a study report: ``bars.png`` (IQM and CI per setting) and ``curves.png``
(learning curves, IQM over seeds with the 25-75 % band). See :mod:`rewardlab.studies.report`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab.studies.report_data import (
    ALL_ENVS,
    StudyReport,
    columns_with_data,
    curve_label,
    short_label,
    split_curves_by_reward,
)


def plot_bars(report: StudyReport, path: Path) -> Path | None:
    """One row of panels per metric, one panel per environment (and all envs): IQM and CI per setting.

    Points with whiskers, not bars: the axis is fitted to the intervals, and a point implies no
    zero baseline, so small differences are visible without being exaggerated.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in report.metrics if columns_with_data(report, m)]
    if not metrics:
        return None
    columns = [c for c in report.envs + [ALL_ENVS] if any(c in columns_with_data(report, m) for m in metrics)]
    width = max(3.0, 0.4 * len(report.settings) + 1.4)
    fig, axes = plt.subplots(
        len(metrics),
        len(columns),
        figsize=(width * len(columns), 3.2 * len(metrics)),
        squeeze=False,
        layout="constrained",  # leaves room for a title wrapped over several lines
    )
    colours = plt.get_cmap("tab10")
    for row, metric in enumerate(metrics):
        info = report.metric_info.get(metric)
        for col, column in enumerate(columns):
            ax = axes[row][col]
            labels = []
            for index, (label, values) in enumerate(report.settings):
                cell = report.cells.get((metric, label, column))
                if cell is None or cell.n == 0 or not np.isfinite(cell.iqm):
                    continue
                ax.errorbar(
                    [len(labels)],
                    [cell.iqm],
                    yerr=[[cell.iqm - cell.ci_low], [cell.ci_high - cell.iqm]],
                    fmt="o",
                    capsize=3,
                    color=colours(index % 10),
                )
                labels.append(short_label(report, values, label))
            if not labels:
                ax.axis("off")
                continue
            ax.set_xticks(np.arange(len(labels)), labels, rotation=45, ha="right", fontsize=7)
            ax.set_xlim(-0.6, len(labels) - 0.4)
            ax.set_title(f"{metric}\n{column}", fontsize=8)
            if col == 0 and info is not None and info.higher_is_better is not None:
                ax.set_ylabel(info.direction(), fontsize=8)
            ax.grid(axis="y", alpha=0.3)
    title = f"{report.name}: IQM and {report.confidence:.0%} CI over seeds, per environment"
    # about 12 characters per inch at this size: a narrow figure wraps the title instead of cutting it
    fig.suptitle(textwrap.fill(title, width=int(12 * width * len(columns))), fontsize=11)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _curve_value(point: Mapping[str, Any], key: str) -> Any:
    if key in point:
        return point[key]
    return point.get(f"metric/{key}")  # an episode metric, as the agents log it during training


def curve_statistics(curves: Sequence[Sequence[Mapping[str, Any]]], key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, per-seed values on those steps) for a list of learning curves (one per seed).

    ``key`` is a field of the curve points, or an episode metric logged as ``metric/<key>``.
    Curves are put on the steps of the first curve by linear interpolation, so seeds that logged
    at slightly different steps can be combined.
    """
    usable = []
    for curve in curves:
        points = []
        for p in curve:
            value = _curve_value(p, key)
            if "step" in p and value is not None and np.isfinite(float(value)):  # NaN: no episode ended yet
                points.append((float(p["step"]), float(value)))
        if points:
            usable.append(np.array(sorted(points)))
    if not usable:
        return None
    steps = usable[0][:, 0]
    values = np.stack([np.interp(steps, c[:, 0], c[:, 1]) for c in usable])
    return steps, values


def _curve_panels(report: StudyReport, groups: list) -> list[tuple[str, Any, list]]:
    """(env, reward group, lines) of every panel with at least one curve; a line is
    (label, steps, values per seed)."""
    panels = []
    for env in report.envs:
        for reward in groups:
            lines = []
            for label, values in report.settings:
                if reward is not None and report.rewards.get(label) != reward:
                    continue
                stats = curve_statistics(report.curves.get((label, env), []), report.curve_metric)
                if stats is not None:
                    lines.append((short_label(report, values, label), *stats))
            if lines:
                panels.append((env, reward, lines))
    return panels


def plot_curves(report: StudyReport, path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import trim_mean

    split = split_curves_by_reward(report)
    groups = list(dict.fromkeys(report.rewards.values())) if split else [None]
    panels = _curve_panels(report, groups)
    if not panels:
        return None
    ncols = min(len(groups) if split else 2, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.6 * nrows), squeeze=False)
    colours = plt.get_cmap("tab10")
    index_of = {label: i for i, (label, _) in enumerate(report.settings)}
    names = {short_label(report, values, label): index_of[label] for label, values in report.settings}
    info = report.metric_info.get(report.curve_metric)
    for index, (env, reward, lines) in enumerate(panels):
        ax = axes[index // ncols][index % ncols]
        for label, steps, values in lines:
            colour = colours(names.get(label, 0) % 10)
            ax.plot(steps, trim_mean(values, 0.25, axis=0), label=label, color=colour)
            if values.shape[0] > 1:
                ax.fill_between(
                    steps, np.percentile(values, 25, axis=0), np.percentile(values, 75, axis=0), alpha=0.2, color=colour
                )
        ax.set_title(env if reward is None else f"{env}\nreward {reward}", fontsize=9)
        ax.set_xlabel("environment steps")
        ylabel = f"return ({reward} units)" if reward is not None else report.curve_metric
        if info is not None and info.higher_is_better is not None:
            ylabel += f"\n{info.direction()}"
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for index in range(len(panels), nrows * ncols):
        axes[index // ncols][index % ncols].axis("off")
    title = f"{report.name}: {curve_label(report)} (IQM over seeds, 25-75 % band)"
    # about 13 characters per inch at this size: a one-panel figure wraps the title instead of cutting it
    fig.suptitle(textwrap.fill(title, width=int(13 * 5.2 * ncols)), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
