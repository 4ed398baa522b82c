"""The report of a study: what it tests, its budget, and IQM with bootstrap CIs over seeds.

For each metric (the spec's ``metrics`` plus its ``derived`` ones) and each setting, the report
gives, per environment, the interquartile mean (IQM) of the metric over seeds and its percentile
stratified-bootstrap confidence interval: the estimator of rliable's ``get_interval_estimates``
with ``aggregate_iqm`` (Agarwal et al., 2021), computed by :func:`iqm_interval` for all
replications at once (``reps`` replications, the resampling generator seeded with ``seed`` for
each cell so that each cell is reproducible alone). When a setting ran on several environments,
"all envs" rows treat the environments as rliable's tasks: the score matrix is
(seeds x environments), the IQM is over all its entries and the bootstrap resamples seeds within
each environment (stratified), using the seeds that finished on every environment.

The printed report (``report.md``) opens with the spec's description and claim, the budget
(runs, training steps, evaluation episodes, and the spec's own budget when a profile reduced
it), then one table per metric headed by its definition and its better direction (the spec's
``description`` and ``higher_is_better``). A metric with one value on every run of each
environment cannot tell the settings apart; it is named and left out of the tables and plots.

Other outputs in the results directory: ``results.csv`` (every cell, one row per metric, setting
and environment), ``bars.png`` (IQM with CI per setting, one panel per metric and environment)
and ``curves.png`` (learning curves of ``curve_metric``, a curve field or an episode metric the
agents log as ``metric/<name>``: IQM over seeds against environment steps with the 25-75 %
band, one panel per environment, and per reward when the curve is the return and the settings'
rewards differ, since returns in different reward units do not compare).
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError
from rewardlab.studies.plots import plot_bars, plot_curves
from rewardlab.studies.report_data import (
    ALL_ENVS,
    DEFAULT_REPS,
    DEFAULT_SEED,
    Budget,
    Cell,
    StudyReport,
    columns_with_data,
    curve_label,
    split_curves_by_reward,
)
from rewardlab.studies.spec import (
    DEFAULT_RUNNER,
    Study,
    evaluate_expression,
    parse_study,
    short_env,
)
from rewardlab.studies.store import ResultStore


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


def iqm_interval_rliable(scores: np.ndarray, reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                         confidence: float = 0.95) -> tuple[float, float, float]:
    """:func:`iqm_interval` computed by rliable itself, one replication at a time (the reference)."""
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


#: resampled scores held in memory at once by :func:`iqm_interval` (float64 values)
_BOOTSTRAP_CHUNK = 4_000_000


def iqm_interval(scores: np.ndarray, reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                 confidence: float = 0.95) -> tuple[float, float, float]:
    """IQM of ``scores`` (runs x tasks) and its percentile stratified-bootstrap CI.

    The estimator of rliable's ``get_interval_estimates`` with ``aggregate_iqm`` (Agarwal et al.,
    2021), computed for all replications at once: each replication resamples the runs of every
    task with replacement (the draws of ``np.random.choice(runs, (runs, tasks))`` from a
    generator seeded with ``seed``, in rliable's order), the statistic is the 25 %-trimmed mean of
    all resampled scores, and the interval is the (1 - confidence) / 2 and (1 + confidence) / 2
    percentiles of the replications. :func:`iqm_interval_rliable` is the one-by-one reference.
    """
    from scipy.stats import trim_mean

    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    runs, tasks = scores.shape
    point = float(trim_mean(scores, 0.25, axis=None))
    generator = np.random.RandomState(seed)
    columns = np.arange(tasks)
    statistics = np.empty(int(reps))
    chunk = max(1, _BOOTSTRAP_CHUNK // scores.size)
    for start in range(0, int(reps), chunk):
        count = min(chunk, int(reps) - start)
        # randint(0, runs) is what np.random.choice(runs, shape) draws: one stream, in order
        rows = generator.randint(0, runs, size=(count, runs, tasks))
        resampled = scores[rows, columns].reshape(count, runs * tasks)
        statistics[start:start + count] = trim_mean(resampled, 0.25, axis=1)
    alpha = (1.0 - confidence) / 2
    low, high = np.percentile(statistics, [100 * alpha, 100 * (1.0 - alpha)])
    return point, float(low), float(high)


def run_metrics(record: Mapping[str, Any], metric_names: Sequence[str], derived: Mapping[str, str]) -> dict[str, float]:
    """The metric values of one run, derived metrics included (NaN where absent)."""
    raw = {k: float(v) for k, v in record.get("metrics", {}).items() if isinstance(v, (int, float))}
    values = {m: raw.get(m, math.nan) for m in metric_names}
    for name, expression in derived.items():
        values[name] = evaluate_expression(expression, raw)
    return values


def _planned_study(plan: Mapping[str, Any]) -> Study | None:
    """The spec of a results directory, parsed again with its profile (None if it no longer parses)."""
    study = plan.get("study") or {}
    try:
        return parse_study(study.get("spec"), profile=study.get("profile"), source=study.get("source", "<spec>"))
    except RewardlabError:
        return None


def _reward_label(reward: Any) -> str:
    if reward is None:
        return "default"
    if isinstance(reward, str):
        return reward
    return json.dumps(reward, sort_keys=True, separators=(", ", ": "))


def _budget(plan: Mapping[str, Any], records: Sequence[Mapping[str, Any]], envs: int, settings: int) -> Budget:
    runs = plan["runs"]
    configs = [run["config"] for run in runs]
    rollouts = set()
    for config in configs:
        agent = config.get("agent_kwargs") or {}
        if isinstance(agent.get("num_envs"), int) and isinstance(agent.get("num_steps"), int):
            rollouts.add((agent["num_envs"], agent["num_steps"]))
    trained = set()
    for record in records:
        steps = [p["step"] for p in record.get("curve") or [] if isinstance(p.get("step"), (int, float))]
        if steps:
            trained.add(int(max(steps)))
    budget = Budget(
        runs=len(runs), envs=envs, settings=settings, seeds=sorted({int(run["seed"]) for run in runs}),
        total_steps=sorted({int(c["total_steps"]) for c in configs}),
        trained_steps=sorted(trained),
        eval_episodes=sorted({int(c.get("eval_episodes", 0)) for c in configs}),
        rollouts=sorted(rollouts),
        worker_time_s=float(sum(float(r.get("wall_time_s", 0.0)) for r in records)),
        default_runner=plan.get("runner", DEFAULT_RUNNER) == DEFAULT_RUNNER,
    )
    study = plan.get("study") or {}
    raw = study.get("spec") or {}
    if study.get("profile"):
        spec_steps = (raw.get("base") or {}).get("total_steps")
        if isinstance(spec_steps, int) and [spec_steps] != budget.total_steps:
            budget.spec_total_steps = spec_steps
        spec_seeds = raw.get("seeds")
        count = len(spec_seeds) if isinstance(spec_seeds, list) else spec_seeds
        if isinstance(count, int) and count != len(budget.seeds):
            budget.spec_seeds = count
    return budget


def _constant_metrics(values: Mapping[str, Mapping[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Metrics whose finite values are equal on every run of each environment, whatever the setting.

    ``values`` is metric -> env -> the values of all its finished runs. A metric that cannot vary
    cannot tell the settings apart (for instance a function of the environment's parameters only).
    Environments with fewer than two runs say nothing either way.
    """
    constant = {}
    for metric, per_env in values.items():
        seen = {env: np.asarray(v, dtype=np.float64) for env, v in per_env.items()}
        seen = {env: v[np.isfinite(v)] for env, v in seen.items()}
        seen = {env: v for env, v in seen.items() if v.size}
        if not seen or max(v.size for v in seen.values()) < 2:
            continue
        if all(np.ptp(v) <= 1e-9 * max(1.0, float(np.max(np.abs(v)))) for v in seen.values()):
            constant[metric] = {env: float(v[0]) for env, v in seen.items()}
    return constant


def build_report(out: str | Path, reps: int | None = None, seed: int | None = None) -> StudyReport:
    """Read a results directory and compute every cell (missing runs are listed, not fatal)."""
    store = ResultStore(out)
    plan = store.read_plan()
    options = plan.get("report") or {}
    reps = int(reps if reps is not None else options.get("reps", DEFAULT_REPS))
    seed = int(seed if seed is not None else options.get("seed", DEFAULT_SEED))
    confidence = float(options.get("confidence", 0.95))
    if reps < 1:
        raise RewardlabError(f"report: --reps must be a positive integer, got {reps}")
    derived = plan.get("derived") or {}
    metric_names = list(plan.get("metrics") or [])
    all_metrics = metric_names + [d for d in derived if d not in metric_names]
    axes = [a for a in plan.get("axes", []) if a != "env"]
    study = _planned_study(plan)

    settings: dict[str, dict[str, str]] = {}
    rewards: dict[str, str] = {}
    envs: list[str] = []
    by_cell: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    curves: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}
    per_env_values: dict[str, dict[str, list[float]]] = {m: {} for m in all_metrics}
    missing = []
    finished_records = []
    for run in plan["runs"]:
        label = run["setting_label"]
        settings.setdefault(label, {axis: value for axis, value in run["setting"] if axis != "env"})
        rewards.setdefault(label, _reward_label(run["config"].get("reward")))
        env = short_env(run["env"])
        if env not in envs:
            envs.append(env)
        record = store.read_run(run["key"])
        if record is None:
            missing.append(run)
            continue
        finished_records.append(record)
        values = run_metrics(record, metric_names, derived)
        by_cell.setdefault((label, env), {})[int(run["seed"])] = values
        for metric, value in values.items():
            per_env_values[metric].setdefault(env, []).append(value)
        curves.setdefault((label, env), []).append(record.get("curve") or [])
    constant = _constant_metrics(per_env_values)
    reported = [m for m in all_metrics if m not in constant]

    cells: dict[tuple[str, str, str], Cell] = {}
    for metric in reported:
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

    about = plan.get("study", {})
    raw = about.get("spec") or {}
    return StudyReport(
        name=about.get("name", Path(out).name), profile=about.get("profile"), axes=axes,
        settings=list(settings.items()), envs=envs, metrics=reported, cells=cells,
        planned=len(plan["runs"]), finished=len(finished_records), missing=missing, reps=reps, seed=seed,
        confidence=confidence, curves=curves, curve_metric=plan.get("curve_metric", "return"),
        description=study.description if study else str(raw.get("description", "")),
        claim=study.claim if study else str(raw.get("claim", "")),
        metric_info=dict(study.metric_info) if study else {},
        constant=constant, rewards=rewards,
        budget=_budget(plan, finished_records, len(envs), len(settings)),
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

#: the width the printed report is written for (a terminal's default)
WIDTH = 80


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


def column_decimals(values: Sequence[float]) -> int:
    """Decimals that give the largest finite magnitude in ``values`` three significant digits.

    One count for a whole table column, so that its numbers line up and compare at a glance.
    """
    finite = [abs(v) for v in values if np.isfinite(v)]
    largest = max(finite, default=0.0)
    if largest == 0.0:
        return 3
    return int(min(6, max(0, 2 - math.floor(math.log10(largest)))))


def _fixed(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}" if np.isfinite(x) else "nan"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    """A markdown table padded to aligned columns (readable printed as well as rendered)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "| " + " | ".join(padded) + " |"

    cells = (("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right, strict=True))
    rule = "|" + "|".join(cells) + "|"
    return [line(headers), rule, *(line(r) for r in rows)]


def _paragraph(label: str, text: str) -> list[str]:
    return textwrap.wrap(f"**{label}** {' '.join(text.split())}", WIDTH, break_on_hyphens=False)


def _count(values: Sequence[int], unit: str) -> str:
    shown = " or ".join(f"{v:,}" for v in values)
    return f"{shown} {unit}"


def budget_text(report: StudyReport) -> str:
    """One paragraph: how many runs, how long each trained, how each was scored."""
    b = report.budget
    if b is None:
        return ""
    parts = [
        f"{b.runs} runs = {b.envs} environment{'s' if b.envs != 1 else ''} x {b.settings} "
        f"setting{'s' if b.settings != 1 else ''} x {len(b.seeds)} seed{'s' if len(b.seeds) != 1 else ''}."
    ]
    each = f"Each run trains for {_count(b.total_steps, 'environment steps')}"
    if b.rollouts:
        each += " (in updates of " + " or ".join(f"{e} environments x {s} steps" for e, s in b.rollouts) + ")"
    if b.default_runner:
        parts.append(
            each + ", then is scored on the mean of "
            f"{_count(b.eval_episodes, 'evaluation episodes')} of its deterministic policy; "
            "the cells below are over seeds of those scores."
        )
    else:
        parts.append(each + f" and is scored by the study's runner ({_count(b.eval_episodes, 'evaluation episodes')}).")
    if b.trained_steps and b.trained_steps != b.total_steps:
        parts.append(f"The finished runs trained {_count(b.trained_steps, 'steps')} (whole updates).")
    if report.profile:
        scale = []
        if b.spec_total_steps is not None:
            scale.append(f"{b.spec_total_steps:,} steps per run")
        if b.spec_seeds is not None:
            scale.append(f"{b.spec_seeds} seeds")
        if scale:
            parts.append(
                f"This is the `{report.profile}` profile; the spec's own budget is "
                + " and ".join(scale)
                + ", so read these numbers as a smoke-scale result."
            )
    if b.worker_time_s > 0:
        parts.append(f"The {report.finished} finished runs took {b.worker_time_s:,.0f} s of worker time.")
    return " ".join(parts)


def markdown(report: StudyReport) -> str:
    """The report as markdown, readable printed at 80 columns: what was tested, then one table per metric."""
    lines = [f"# Study `{report.name}`" + (f" (profile `{report.profile}`)" if report.profile else ""), ""]
    if report.description:
        lines += textwrap.wrap(" ".join(report.description.split()), WIDTH) + [""]
    if report.claim:
        lines += _paragraph("Claim tested.", report.claim) + [""]
    budget = budget_text(report)
    if budget:
        lines += _paragraph("Budget.", budget) + [""]
    status = f"{report.finished} of {report.planned} runs finished."
    if report.missing:
        status += (
            f" {len(report.missing)} are missing: rerun `rewardlab ablate` with the same spec and --out to finish them."
        )
    lines += _paragraph("Runs.", status) + [""]
    cells = (
        f"IQM is the interquartile mean over seeds (the mean of the middle half); the interval is its "
        f"{report.confidence:.0%} percentile stratified-bootstrap CI ({report.reps:,} replications, "
        f"seed {report.seed}; the estimator of rliable); n is the number of scores in the cell."
    )
    if any(env == ALL_ENVS for _, _, env in report.cells):
        cells += (
            f" The `{ALL_ENVS}` rows pool the seed x environment scores of a setting; their IQM "
            "trims the highest and lowest quarter, so an effect on one environment can vanish "
            "there: read the rows of each environment."
        )
    lines += _paragraph("Cells.", cells) + [""]
    for metric, per_env in report.constant.items():
        shown = ", ".join(f"{fmt(v)} on {env}" for env, v in per_env.items())
        lines += _paragraph(
            "Left out.",
            f"`{metric}` has one value on every run of each environment ({shown}): it cannot tell the settings apart.",
        ) + [""]
    axis_headers = report.axes or ["setting"]
    multi_env = len(report.envs) > 1
    for metric in report.metrics:
        columns = columns_with_data(report, metric)
        info = report.metric_info.get(metric)
        lines.append(f"## {metric}" + (f" ({info.direction()})" if info else ""))
        lines.append("")
        description = info.description if info and info.description else "(no description in the spec)"
        lines += textwrap.wrap(description, WIDTH) + [""]
        if not columns:
            lines += ["_not reported by any finished run_", ""]
            continue
        found = [
            c
            for c in (report.cells.get((metric, s, col)) for s, _ in report.settings for col in columns)
            if c is not None and c.n
        ]
        decimals = column_decimals([x for c in found for x in (c.iqm, c.ci_low, c.ci_high)])
        rows = []
        for column in columns:
            first = True
            for label, values in report.settings:
                cell = report.cells.get((metric, label, column))
                if cell is None or cell.n == 0:
                    continue  # a setting that did not run on this environment, or does not report the metric
                setting = [values.get(a, "") for a in report.axes] if report.axes else [label]
                env_cell = [column if first else ""] if multi_env else []
                rows.append(
                    env_cell
                    + setting
                    + [
                        _fixed(cell.iqm, decimals),
                        f"[{_fixed(cell.ci_low, decimals)}, {_fixed(cell.ci_high, decimals)}]",
                        str(cell.n),
                    ]
                )
                first = False
        headers = (["env"] if multi_env else []) + axis_headers + ["IQM", f"{report.confidence:.0%} CI", "n"]
        right = [False] * (len(headers) - 3) + [True, True, True]
        lines += table(headers, rows, right) + [""]
    lines += _paragraph("Figures.", figures_text(report))
    return "\n".join(lines)


def figures_text(report: StudyReport) -> str:
    text = (
        "bars.png: the IQM and CI of each setting, one panel per metric and environment. "
        f"curves.png: {curve_label(report)} against environment steps during training, IQM over "
        "seeds with the 25-75 % band, one panel per environment"
    )
    if split_curves_by_reward(report):
        text += (
            " and reward (a return is in its own reward's units, so returns under different rewards are not comparable)"
        )
    return text + ". results.csv: every cell with its mean and standard deviation."


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
                    writer.writerow(
                        [
                            metric,
                            label,
                            column,
                            cell.n,
                            repr(cell.iqm),
                            repr(cell.ci_low),
                            repr(cell.ci_high),
                            repr(cell.mean),
                            repr(cell.std),
                        ]
                    )
    return buffer.getvalue()


def write_report(
    out: str | Path, reps: int | None = None, seed: int | None = None, plots: bool = True
) -> tuple[StudyReport, str, list[Path]]:
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
