"""`rewardlab bench --scaling`: env-steps per second of ``gym.make_vec`` against the number of
instances (1, 4, 16, ..., 4,096), for one env of each family, all sizes interleaved in rounds."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

from rewardlab.bench.cases import rewardlab_vector
from rewardlab.bench.report import load_average, machine
from rewardlab.bench.timing import Case, measure

#: the env drawn for each family
SCALING_ENVS = {
    "coopetition": "rewardlab/CoopSLCD-v0",
    "commons": "rewardlab/CommonsHarvest-v0",
    "driving": "rewardlab/DrivingHighway-v0",
    "locomotion": "rewardlab/LocoImitation-v0",
}


def sizes_up_to(max_instances: int) -> list[int]:
    """1, 4, 16, ... (powers of 4) up to ``max_instances``, which is always the last size."""
    sizes, size = [], 1
    while size < max_instances:
        sizes.append(size)
        size *= 4
    return [*sizes, max_instances]


def run_scaling(
    families: Sequence[str] | None = None,
    quick: bool = False,
    rounds: int | None = None,
    seconds: float | None = None,
    max_instances: int = 4096,
    command: str = "rewardlab bench --scaling",
    progress: Callable[[str], None] | None = None,
) -> dict:
    families = [f for f in (families or SCALING_ENVS) if f in SCALING_ENVS]
    rounds = rounds or (2 if quick else 3)
    seconds = seconds or (0.25 if quick else 1.0)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load_average()
    curves = {}
    for family in families:
        env_id = SCALING_ENVS[family]
        if progress:
            progress(f"{family}: {env_id}")
        cases = [Case(f"{env_id}:{size}", f"B={size}", "rewardlab",
                      lambda size=size, env_id=env_id: rewardlab_vector(env_id, size), instances=size)
                 for size in sizes_up_to(max_instances)]
        rows = measure(cases, rounds, seconds)
        curves[family] = {
            "env_id": env_id,
            "points": [{"instances": r.case.instances, "env_steps_per_s": {"cpu": r.cpu_rate, "wall": r.wall_rate}}
                       for r in rows],
        }
    return {
        "schema": "rewardlab-bench-scaling/1",
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "command": command,
        "settings": {"rounds": rounds, "seconds": seconds, "max_instances": max_instances},
        "load_average": {"before": load_before, "after": load_average()},
        "curves": curves,
    }


def format_scaling(result: dict) -> str:
    sizes = sorted({p["instances"] for c in result["curves"].values() for p in c["points"]})
    lines = [
        f"rewardlab bench --scaling, {result['date']}, {result['machine']['cpus']} CPUs",
        f"command: {result['command']}",
        f"make_vec env-steps per CPU-second, {result['settings']['rounds']} interleaved rounds of "
        f"{result['settings']['seconds']:g} s, best kept",
        "load average (1, 5, 15 min): before {} after {}".format(*(
            " ".join(f"{x:.2f}" for x in result["load_average"][k]) for k in ("before", "after"))),
        f"{'env':<30}" + "".join(f"{s:>12,}" for s in sizes),
    ]
    for curve in result["curves"].values():
        by_size = {p["instances"]: p["env_steps_per_s"]["cpu"] for p in curve["points"]}
        lines.append(f"{curve['env_id']:<30}" + "".join(
            f"{by_size[s]:>12,.0f}" if s in by_size else f"{'-':>12}" for s in sizes))
    return "\n".join(lines)


def plot_scaling(result: dict, path: str) -> None:
    """Log-log plot of env-steps per CPU-second against instances, one line per env."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for curve in result["curves"].values():
        points = curve["points"]
        ax.plot([p["instances"] for p in points], [p["env_steps_per_s"]["cpu"] for p in points], marker="o",
                label=curve["env_id"].split("/")[-1])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("instances B (gym.make_vec)")
    ax.set_ylabel("env-steps per CPU-second")
    load = result["load_average"]["before"][0]
    ax.set_title(f"rewardlab make_vec throughput, {result['date'][:10]}, "
                 f"{result['machine']['cpus']} CPUs, load {load:.1f}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
