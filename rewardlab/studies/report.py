"""The report of a study: IQM and 95 % stratified-bootstrap confidence intervals over seeds.

For each metric (the spec's ``metrics`` plus its ``derived`` ones) and each setting, the report
gives, per environment, the interquartile mean (IQM, ``rliable.metrics.aggregate_iqm``) of the
metric over seeds and its confidence interval from ``rliable.library.get_interval_estimates``
(percentile stratified bootstrap; ``reps`` replications; NumPy's global generator, which rliable's
resampler draws from, seeded with ``seed`` for each cell so that each cell is reproducible alone). When a setting ran on several environments, an
"all envs" column treats the environments as rliable's tasks: the score matrix is
(seeds x environments), the IQM is over all its entries and the bootstrap resamples seeds within
each environment (stratified), using the seeds that finished on every environment.

Outputs in the results directory: ``report.md`` (one markdown table per metric, also printed),
``results.csv`` (the same numbers, one row per metric, setting and environment), ``bars.png``
(IQM with CI per setting, one panel per metric) and ``curves.png`` (learning curves: IQM over
seeds of the curve metric against environment steps, the band from the 25th to the 75th
percentile over seeds, one panel per environment).
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError
from rewardlab.studies.spec import evaluate_expression, short_env
from rewardlab.studies.store import ResultStore

DEFAULT_REPS = 2000
DEFAULT_SEED = 0
ALL_ENVS = "all envs"


def rliable_modules():
    """``(rliable.library, rliable.metrics)``.

    rliable pins ``arch<8``, and arch 7.x calls pandas' ``deprecate_kwarg`` with the pre-3.0
    signature (no warning class), so ``import rliable.library`` fails under pandas 3. The shim
    below supplies the warning class for that one import and then restores pandas' function.
    """
    try:
        from rliable import library, metrics
    except TypeError as err:
        if "deprecate_kwarg" not in str(err):
            raise
        import sys

        import pandas.util._decorators as decorators

        original = decorators.deprecate_kwarg

        def compatible(*args: Any, **kwargs: Any):
            if args and isinstance(args[0], str):  # the pandas < 3 signature
                return original(FutureWarning, *args, **kwargs)
            return original(*args, **kwargs)

        for name in [m for m in sys.modules if m == "arch" or m.startswith("arch.")]:
            del sys.modules[name]  # the half-imported modules of the failed attempt
        decorators.deprecate_kwarg = compatible
        try:
            from rliable import library, metrics
        finally:
            decorators.deprecate_kwarg = original
    except ImportError as err:
        raise RewardlabError("report: needs rliable: pip install 'rewardlab[studies]'") from err
    return library, metrics


def iqm_interval(scores: np.ndarray, reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                 confidence: float = 0.95) -> tuple[float, float, float]:
    """IQM of ``scores`` (runs x tasks) and its stratified-bootstrap CI, through rliable."""
    library, metrics = rliable_modules()
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]

    def aggregate(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(x)])

    # rliable's StratifiedBootstrap draws its resampling indices with np.random.choice, i.e. from
    # NumPy's global generator, whatever random_state says; so the global generator is seeded for
    # the call (and restored after it) to make each cell reproducible on its own.
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # arch: random_state deprecation, degenerate resamples
            point, interval = library.get_interval_estimates(
                {"cell": scores}, aggregate, reps=reps, confidence_interval_size=confidence,
                random_state=np.random.RandomState(seed),
            )
    finally:
        np.random.set_state(saved)
    return float(point["cell"][0]), float(interval["cell"][0, 0]), float(interval["cell"][1, 0])


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


def run_metrics(record: Mapping[str, Any], metric_names: Sequence[str], derived: Mapping[str, str]) -> dict[str, float]:
    """The metric values of one run, derived metrics included (NaN where absent)."""
    raw = {k: float(v) for k, v in record.get("metrics", {}).items() if isinstance(v, (int, float))}
    values = {m: raw.get(m, math.nan) for m in metric_names}
    for name, expression in derived.items():
        values[name] = evaluate_expression(expression, raw)
    return values


def build_report(out: str | Path, reps: int | None = None, seed: int | None = None) -> StudyReport:
    """Read a results directory and compute every cell (missing runs are listed, not fatal)."""
    store = ResultStore(out)
    plan = store.read_plan()
    options = plan.get("report") or {}
    reps = int(reps if reps is not None else options.get("reps", DEFAULT_REPS))
    seed = int(seed if seed is not None else options.get("seed", DEFAULT_SEED))
    confidence = float(options.get("confidence", 0.95))
    derived = plan.get("derived") or {}
    metric_names = list(plan.get("metrics") or [])
    all_metrics = metric_names + [d for d in derived if d not in metric_names]
    axes = [a for a in plan.get("axes", []) if a != "env"]

    settings: dict[str, dict[str, str]] = {}
    envs: list[str] = []
    by_cell: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    curves: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}
    missing = []
    finished = 0
    for run in plan["runs"]:
        label = run["setting_label"]
        settings.setdefault(label, {axis: value for axis, value in run["setting"] if axis != "env"})
        env = short_env(run["env"])
        if env not in envs:
            envs.append(env)
        record = store.read_run(run["key"])
        if record is None:
            missing.append(run)
            continue
        finished += 1
        by_cell.setdefault((label, env), {})[int(run["seed"])] = run_metrics(record, metric_names, derived)
        curves.setdefault((label, env), []).append(record.get("curve") or [])

    cells: dict[tuple[str, str, str], Cell] = {}
    for metric in all_metrics:
        for label in settings:
            env_scores: dict[str, dict[int, float]] = {}
            for env in envs:
                per_seed = by_cell.get((label, env))
                if not per_seed:
                    continue
                values = {s: v[metric] for s, v in sorted(per_seed.items()) if np.isfinite(v[metric])}
                env_scores[env] = values
                cells[(metric, label, env)] = _cell(metric, label, env, np.array(list(values.values()))[:, None],
                                                    reps, seed, confidence)
            if len(env_scores) > 1:
                common = sorted(set.intersection(*(set(v) for v in env_scores.values())))
                matrix = np.array([[env_scores[e][s] for e in env_scores] for s in common]).reshape(len(common), -1)
                cells[(metric, label, ALL_ENVS)] = _cell(metric, label, ALL_ENVS, matrix, reps, seed, confidence)

    study = plan.get("study", {})
    return StudyReport(
        name=study.get("name", Path(out).name), profile=study.get("profile"), axes=axes,
        settings=list(settings.items()), envs=envs, metrics=all_metrics, cells=cells,
        planned=len(plan["runs"]), finished=finished, missing=missing, reps=reps, seed=seed,
        confidence=confidence, curves=curves, curve_metric=plan.get("curve_metric", "return"),
    )


def _cell(metric: str, setting: str, env: str, scores: np.ndarray, reps: int, seed: int, confidence: float) -> Cell:
    cell = Cell(metric, setting, env, n=int(scores.size))
    if scores.size:
        cell.iqm, cell.ci_low, cell.ci_high = iqm_interval(scores, reps, seed, confidence)
        cell.mean = float(np.mean(scores))
        cell.std = float(np.std(scores, ddof=1)) if scores.size > 1 else 0.0
    return cell


# ---------------------------------------------------------------------------------------------
# Rendering


def fmt(x: float) -> str:
    """Three significant digits without scientific notation for the usual range."""
    if not np.isfinite(x):
        return "nan"
    magnitude = abs(x)
    if magnitude >= 1000:
        return f"{x:.0f}"
    if magnitude >= 100:
        return f"{x:.1f}"
    if magnitude >= 10:
        return f"{x:.2f}"
    if magnitude >= 0.01 or magnitude == 0:
        return f"{x:.3f}"
    return f"{x:.2e}"


def _has_data(report: StudyReport, metric: str, setting: str, column: str) -> bool:
    cell = report.cells.get((metric, setting, column))
    return cell is not None and cell.n > 0


def _columns(report: StudyReport, metric: str) -> list[str]:
    """The environments (and "all envs") where some setting has a value of ``metric``."""
    return [c for c in report.envs + [ALL_ENVS] if any(_has_data(report, metric, s, c) for s, _ in report.settings)]


def markdown(report: StudyReport) -> str:
    """The report as markdown: a header, then one table per metric (rows = settings)."""
    lines = [f"# Study `{report.name}`" + (f" (profile `{report.profile}`)" if report.profile else ""), ""]
    lines.append(
        f"{report.finished} of {report.planned} runs finished. Cells: IQM over seeds "
        f"[{report.confidence:.0%} stratified-bootstrap CI, {report.reps} replications, rliable], "
        "n = runs in the cell."
    )
    if report.missing:
        lines.append(f"Missing runs ({len(report.missing)}): rerun `rewardlab ablate` with the same spec and --out.")
    lines.append("")
    axis_headers = report.axes or ["setting"]
    for metric in report.metrics:
        columns = _columns(report, metric)
        lines.append(f"## {metric}")
        lines.append("")
        if not columns:
            lines.append("_not reported by any finished run_")
            lines.append("")
            continue
        lines.append("| " + " | ".join(axis_headers + columns) + " |")
        lines.append("|" + "---|" * len(axis_headers) + "---:|" * len(columns))
        for label, values in report.settings:
            if not any(_has_data(report, metric, label, c) for c in columns):
                continue  # a setting whose environment does not report this metric
            row = [values.get(a, "") for a in report.axes] if report.axes else [label]
            for column in columns:
                cell = report.cells.get((metric, label, column))
                if cell is None or cell.n == 0:
                    row.append("—")
                else:
                    row.append(f"{fmt(cell.iqm)} [{fmt(cell.ci_low)}, {fmt(cell.ci_high)}] n={cell.n}")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


CSV_FIELDS = ("metric", "setting", "env", "n", "iqm", "ci_low", "ci_high", "mean", "std")


def to_csv(report: StudyReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for metric in report.metrics:
        for label, _ in report.settings:
            for column in report.envs + [ALL_ENVS]:
                cell = report.cells.get((metric, label, column))
                if cell is not None:
                    writer.writerow([metric, label, column, cell.n, repr(cell.iqm), repr(cell.ci_low),
                                     repr(cell.ci_high), repr(cell.mean), repr(cell.std)])
    return buffer.getvalue()


def _short_label(report: StudyReport, values: Mapping[str, str], label: str) -> str:
    return " / ".join(values[a] for a in report.axes) if report.axes else label


def plot_bars(report: StudyReport, path: Path) -> Path | None:
    """One panel per metric: the IQM per setting (all envs, or the setting's one env) with its CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in report.metrics if _columns(report, m)]
    if not metrics:
        return None
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    width = max(4.0, 0.55 * len(report.settings) + 1.5)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 3.6 * nrows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for index, metric in enumerate(metrics):
        ax = axes[index // ncols][index % ncols]
        labels, heights, lows, highs, where = [], [], [], [], []
        for label, values in report.settings:
            cell = report.cells.get((metric, label, ALL_ENVS))
            if cell is None:
                found = [report.cells[(metric, label, e)] for e in report.envs if (metric, label, e) in report.cells]
                cell = found[0] if len(found) == 1 else None
            if cell is None or cell.n == 0 or not np.isfinite(cell.iqm):
                continue
            labels.append(_short_label(report, values, label))
            heights.append(cell.iqm)
            lows.append(cell.iqm - cell.ci_low)
            highs.append(cell.ci_high - cell.iqm)
            where.append(cell.env)
        positions = np.arange(len(labels))
        ax.bar(positions, heights, yerr=[lows, highs], capsize=3,
               color=[colours(i % 10) for i in range(len(labels))])
        ax.set_xticks(positions, labels, rotation=45, ha="right", fontsize=8)
        scope = ALL_ENVS if ALL_ENVS in where else ("" if len(set(where)) != 1 else where[0])
        title = f"{metric}" + (f" ({scope})" if scope else "")
        if heights:
            bottom = min(h - lo for h, lo in zip(heights, lows, strict=True))
            top = max(h + hi for h, hi in zip(heights, highs, strict=True))
            # zoom in only where differences would vanish on a zero-based axis (and exist at all)
            if bottom > 0 and bottom > 0.5 * top and top - bottom > 1e-6 * top:
                span = top - bottom
                ax.set_ylim(bottom - 0.15 * span, top + 0.15 * span)
                title += " [axis not from 0]"
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for index in range(len(metrics), nrows * ncols):
        axes[index // ncols][index % ncols].axis("off")
    fig.suptitle(f"{report.name}: IQM and {report.confidence:.0%} CI over seeds", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def curve_statistics(curves: Sequence[Sequence[Mapping[str, Any]]], key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, per-seed values on those steps) for a list of learning curves (one per seed).

    Curves are put on the steps of the first curve by linear interpolation, so seeds that logged
    at slightly different steps can be combined.
    """
    usable = []
    for curve in curves:
        points = [(float(p["step"]), float(p[key])) for p in curve
                  if "step" in p and key in p and np.isfinite(float(p[key]))]  # NaN: no episode ended yet
        if points:
            usable.append(np.array(sorted(points)))
    if not usable:
        return None
    steps = usable[0][:, 0]
    values = np.stack([np.interp(steps, c[:, 0], c[:, 1]) for c in usable])
    return steps, values


def plot_curves(report: StudyReport, path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import trim_mean

    envs = [e for e in report.envs if any(report.curves.get((s, e)) for s, _ in report.settings)]
    panels = []
    for env in envs:
        lines = []
        for label, values in report.settings:
            stats = curve_statistics(report.curves.get((label, env), []), report.curve_metric)
            if stats is not None:
                lines.append((_short_label(report, values, label), *stats))
        if lines:
            panels.append((env, lines))
    if not panels:
        return None
    ncols = min(2, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.0 * ncols, 3.8 * nrows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for index, (env, lines) in enumerate(panels):
        ax = axes[index // ncols][index % ncols]
        for colour, (label, steps, values) in enumerate(lines):
            ax.plot(steps, trim_mean(values, 0.25, axis=0), label=label, color=colours(colour % 10))
            if values.shape[0] > 1:
                ax.fill_between(steps, np.percentile(values, 25, axis=0), np.percentile(values, 75, axis=0),
                                alpha=0.2, color=colours(colour % 10))
        ax.set_title(env, fontsize=10)
        ax.set_xlabel("environment steps")
        ax.set_ylabel(report.curve_metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for index in range(len(panels), nrows * ncols):
        axes[index // ncols][index % ncols].axis("off")
    fig.suptitle(f"{report.name}: learning curves (IQM over seeds, 25-75 % band)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(out: str | Path, reps: int | None = None, seed: int | None = None,
                 plots: bool = True) -> tuple[StudyReport, str, list[Path]]:
    """Compute the report of ``out`` and write report.md, results.csv and the PNGs there."""
    out = Path(out)
    report = build_report(out, reps=reps, seed=seed)
    text = markdown(report)
    (out / "report.md").write_text(text + "\n")
    (out / "results.csv").write_text(to_csv(report))
    written = [out / "report.md", out / "results.csv"]
    if plots:
        for made in (plot_bars(report, out / "bars.png"), plot_curves(report, out / "curves.png")):
            if made is not None:
                written.append(made)
    return report, text, written
