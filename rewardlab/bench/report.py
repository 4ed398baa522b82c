"""Results of `rewardlab bench` as a JSON-ready dict and as plain-text tables.

Every ratio is computed here from two rows measured in the same run; a comparison whose row is
not measured (a peer not installed) has no number.
"""

from __future__ import annotations

import datetime
import os
import platform

from rewardlab.bench.cases import Comparison
from rewardlab.bench.timing import Row

SCHEMA = "rewardlab-bench/1"

#: rate per unit: env-steps/s times this factor
PER = {
    "env-step": lambda case: 1.0,
    "instance-step": lambda case: 1.0,
    "agent-step": lambda case: float(case.agents),
    "simulated second": lambda case: case.simulated_seconds,
}


#: distributions whose versions the result records (those installed)
VERSIONED = ("rewardlab", "numpy", "torch", "gymnasium", "mujoco", "stable-baselines3", "highway-env",
             "coopetition-gym", "dmlab2d")


def _cpu_model() -> str:
    """The CPU's model name where Linux tells it, else the architecture."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "python": platform.python_version(),
        "versions": versions(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages (os.getloadavg)."""
    return [round(x, 2) for x in os.getloadavg()]


def row_dict(row: Row) -> dict:
    case = row.case
    out = {
        "key": case.key,
        "label": case.label,
        "source": case.source,
        "instances": case.instances,
        "agents": case.agents,
        "simulated_seconds_per_step": case.simulated_seconds,
        "status": row.status,
    }
    if not row.measured:
        out["install"] = row.install
        return out
    out["env_steps_per_s"] = {"cpu": row.cpu_rate, "wall": row.wall_rate}
    if case.agents > 1:
        out["agent_steps_per_s"] = {"cpu": row.cpu_rate * case.agents, "wall": row.wall_rate * case.agents}
    if case.simulated_seconds:
        out["simulated_seconds_per_s"] = {
            "cpu": row.cpu_rate * case.simulated_seconds, "wall": row.wall_rate * case.simulated_seconds
        }
    out["rounds"] = [{"cpu": cpu, "wall": wall} for cpu, wall in row.rounds]
    return out


def comparison_dict(comparison: Comparison, rows: dict[str, Row]) -> dict:
    """A comparison's figure by CPU time and by wall time, from the rows' best rates."""
    out = {
        "label": comparison.label,
        "kind": comparison.kind,
        "per": comparison.per,
        "numerator": comparison.numerator,
        "denominator": comparison.denominator,
    }
    num, den = rows.get(comparison.numerator), rows.get(comparison.denominator)
    if num is None or den is None or not (num.measured and den.measured):
        missing = [r.case.label for r in (num, den) if r is not None and not r.measured]
        out["status"] = "not measured: " + (", ".join(missing) + " not installed" if missing else "row not run")
        return out
    out["status"] = "measured"
    for clock in ("cpu", "wall"):
        a = getattr(num, f"{clock}_rate") * PER[comparison.per](num.case)
        b = getattr(den, f"{clock}_rate") * PER[comparison.per](den.case)
        out[clock] = b / a - 1.0 if comparison.kind == "overhead" else a / b
    return out


def result_dict(family_results: dict[str, tuple[list[Row], list[Comparison]]], settings: dict,
                load_before: list[float], load_after: list[float], started: datetime.datetime) -> dict:
    families = {}
    for family, (rows, comparisons) in family_results.items():
        by_key = {row.case.key: row for row in rows}
        families[family] = {
            "rows": [row_dict(row) for row in rows],
            "comparisons": [comparison_dict(c, by_key) for c in comparisons],
        }
    return {
        "schema": SCHEMA,
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "command": settings["command"],
        "settings": {k: v for k, v in settings.items() if k != "command"},
        "load_average": {"before": load_before, "after": load_after},
        "families": families,
    }


def _rate(rates: dict | None, key: str = "cpu") -> str:
    return f"{rates[key]:,.0f}" if rates else "-"


def format_tables(result: dict) -> str:
    """Plain-text tables: one per family, rows then comparisons; figures by CPU time (this
    process) with the wall-clock figure beside it."""
    lines = []
    m = result["machine"]
    lines.append(f"rewardlab bench, {result['date']}, {m['cpus']} CPUs ({m['processor']}), Python {m['python']}")
    lines.append(f"command: {result['command']}")
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items()))
    s = result["settings"]
    lines.append(f"{s['rounds']} interleaved rounds of {s['seconds']:g} s per row, best round kept; "
                 "rates per CPU-second of this process (per wall-second in brackets)")
    before, after = result["load_average"]["before"], result["load_average"]["after"]
    lines.append(f"load average (1, 5, 15 min): before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, "
                 f"after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    for family, block in result["families"].items():
        lines.append("")
        lines.append(f"== {family} ==")
        lines.append(f"{'source':<18} {'row':<46} {'env-steps/s':>22} {'agent-steps/s':>14} {'sim s/s':>10}")
        for row in block["rows"]:
            if row["status"] != "measured":
                lines.append(f"{row['source']:<18} {row['label']:<46} {'not installed':>22}   ({row['install']})")
                continue
            env = f"{_rate(row['env_steps_per_s'])} ({_rate(row['env_steps_per_s'], 'wall')})"
            lines.append(f"{row['source']:<18} {row['label']:<46} {env:>22} "
                         f"{_rate(row.get('agent_steps_per_s')):>14} {_rate(row.get('simulated_seconds_per_s')):>10}")
        for comp in block["comparisons"]:
            if comp["status"] != "measured":
                lines.append(f"  {comp['label']}: {comp['status']}")
            elif comp["kind"] == "overhead":
                lines.append(f"  {comp['label']}: {comp['cpu']:+.0%} CPU ({comp['wall']:+.0%} wall)")
            else:
                lines.append(f"  {comp['label']}: {comp['cpu']:,.2f}x CPU ({comp['wall']:,.2f}x wall)")
    return "\n".join(lines)
