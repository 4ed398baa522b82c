"""Per-run tables of the carl_minibatch study that the generic report does not print.

    rewardlab ablate studies/carl_minibatch.yaml --profile medium --out results/carl_minibatch_medium
    python studies/carl_minibatch_tables.py results/carl_minibatch_medium

Reads a results folder of ``studies/carl_minibatch.yaml`` and prints two markdown tables, one row
per run (reward, minibatch size, seed), from each run's learning curve, whose points are the
stochastic training episodes that ended in each update:

* **plateau**: the evaluation driving score (deterministic policy) and the mean training driving
  score in each ``--block`` of environment steps. A flat last pair of blocks is the plateau the
  study's verdict needs;
* **samples to a level**: the first environment step at which the training driving score,
  averaged over the last ``--window`` updates, reached each of ``--levels`` (``-`` when never).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from rewardlab.studies.store import ResultStore

CURVE_KEY = "metric/driving_score"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="results folder of studies/carl_minibatch.yaml")
    parser.add_argument("--block", type=float, default=1e6, help="environment steps per block of the plateau table")
    parser.add_argument("--window", type=int, default=8, help="updates in the moving average of the level table")
    parser.add_argument(
        "--levels", type=float, nargs="+", default=[50.0, 70.0, 80.0], help="training driving scores of the level table"
    )
    args = parser.parse_args(argv)
    if not (args.results / "runs").is_dir():
        parser.error(f"results: {args.results} has no runs/ folder; give the --out folder of `rewardlab ablate`")
    if args.block <= 0 or args.window < 1:
        parser.error(f"--block must be > 0 and --window >= 1, got {args.block} and {args.window}")
    return args


def finished_runs(results: Path) -> list[dict]:
    """The finished run records of a results folder, sorted by reward, minibatch size and seed."""
    store = ResultStore(results)  # skips half-written or unreadable run files, as `report` does
    records = [store.read_run(key) for key in store.finished_keys()]

    def order(record: dict) -> tuple:
        setting = dict(record["setting"])
        return (setting.get("reward", ""), int(setting.get("agent_kwargs.minibatch_size", 0)), record["seed"])

    return sorted(records, key=order)


def training_scores(curve: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Environment steps and training driving score of each update (NaN where no episode ended)."""
    steps = np.array([point["step"] for point in curve], dtype=float)
    scores = np.array([point.get(CURVE_KEY, math.nan) for point in curve], dtype=float)
    return steps, scores


def block_means(curve: list[dict], block: float) -> list[float]:
    """Mean training score of the updates whose step lies in (k * block, (k + 1) * block]."""
    steps, scores = training_scores(curve)
    blocks = int(math.ceil(steps.max() / block)) if len(steps) else 0
    means = []
    for k in range(blocks):
        inside = (steps > k * block) & (steps <= (k + 1) * block) & ~np.isnan(scores)
        means.append(float(scores[inside].mean()) if inside.any() else math.nan)
    return means


def first_step_at(curve: list[dict], level: float, window: int) -> float:
    """First step at which the mean training score of the last ``window`` updates reached ``level``."""
    steps, scores = training_scores(curve)
    for i in range(window - 1, len(scores)):
        chunk = scores[i - window + 1 : i + 1]
        chunk = chunk[~np.isnan(chunk)]
        if len(chunk) and chunk.mean() >= level:
            return float(steps[i])
    return math.nan


def plateau_table(records: list[dict], block: float) -> str:
    width = max(len(block_means(record["curve"], block)) for record in records)
    heads = [f"{k * block / 1e6:g}-{(k + 1) * block / 1e6:g}M" for k in range(width)]
    lines = [
        "| reward | minibatch | seed | evaluation DS | " + " | ".join(heads) + " |",
        "|---|---:|---:|---:|" + "---:|" * width,
    ]
    for record in records:
        setting = dict(record["setting"])
        means = block_means(record["curve"], block)
        cells = [f"{m:.1f}" if not math.isnan(m) else "-" for m in means] + [""] * (width - len(means))
        lines.append(
            f"| {setting['reward']} | {setting['agent_kwargs.minibatch_size']} | {record['seed']} | "
            f"{record['metrics']['driving_score']:.1f} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def level_table(records: list[dict], levels: list[float], window: int) -> str:
    lines = [
        "| reward | minibatch | seed | " + " | ".join(f"DS {level:g}" for level in levels) + " |",
        "|---|---:|---:|" + "---:|" * len(levels),
    ]
    for record in records:
        setting = dict(record["setting"])
        cells = []
        for level in levels:
            step = first_step_at(record["curve"], level, window)
            cells.append("-" if math.isnan(step) else f"{step / 1e6:.2f}M")
        lines.append(
            f"| {setting['reward']} | {setting['agent_kwargs.minibatch_size']} | {record['seed']} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    records = finished_runs(args.results)
    if not records:
        raise SystemExit(f"carl_minibatch_tables: no finished runs in {args.results / 'runs'}")
    print(f"Training driving score per block of {args.block:g} environment steps:\n")
    print(plateau_table(records, args.block))
    print(f"\nSteps to a training driving score (mean over {args.window} updates):\n")
    print(level_table(records, args.levels, args.window))


if __name__ == "__main__":
    main()
