"""`rewardlab bench`: rewardlab and its peers timed side by side in one process.

    from rewardlab.bench import run_bench
    result = run_bench(["coopetition"], quick=True)   # the JSON-ready dict `--json` prints

For each family the rows are rewardlab's single env, its ``gym.make_vec`` at several sizes and
every installed peer (Coopetition-Gym, Melting Pot, highway-env, Gymnasium's Ant-v5 with both
envs' raw physics, Stable-Baselines3 PPO). All rows of a family are timed interleaved in rounds
(best round kept, by CPU time and by wall time), and each ratio is taken between two rows of the
same run. A peer that is not installed is reported as such, with no figure. docs/performance.md
shows the tables and how to read them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

from rewardlab.bench.cases import BUILDERS, FAMILIES, Comparison
from rewardlab.bench.report import format_tables, load_average, result_dict
from rewardlab.bench.timing import Case, Row, measure

#: (rounds, seconds per row per round) for --quick (about a minute for every family) and full
QUICK = (3, 0.25)
FULL = (5, 1.0)


def run_bench(
    families: Sequence[str] = FAMILIES,
    quick: bool = False,
    rounds: int | None = None,
    seconds: float | None = None,
    command: str = "rewardlab bench",
    progress: Callable[[str], None] | None = None,
    builders: dict[str, Callable[[bool], tuple[list[Case], list[Comparison]]]] | None = None,
) -> dict:
    """Time every family in ``families`` and return the result (see docs/performance.md)."""
    default_rounds, default_seconds = QUICK if quick else FULL
    rounds = default_rounds if rounds is None else rounds
    seconds = default_seconds if seconds is None else seconds
    builders = BUILDERS if builders is None else builders
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load_average()
    results: dict[str, tuple[list[Row], list[Comparison]]] = {}
    for family in families:
        if progress:
            progress(f"{family}: building")
        cases, comparisons = builders[family](quick)
        results[family] = (measure(cases, rounds, seconds, progress=progress and (
            lambda text, family=family: progress(f"{family}: {text}"))), comparisons)
    settings = {"command": command, "quick": quick, "rounds": rounds, "seconds": seconds}
    return result_dict(results, settings, load_before, load_average(), started)


__all__ = ["FAMILIES", "format_tables", "run_bench"]
