"""`rewardlab list`: the registered environments with their agents, spaces and reward presets."""

from __future__ import annotations

import argparse

from rewardlab.core.registry import FAMILIES, all_specs, make_sim

HELP = "list the registered environments, their agents, spaces and reward presets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", choices=FAMILIES, help="only this family")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table (for the docs)")


def _space(space) -> str:
    name = type(space).__name__
    if name == "Box":
        return f"Box{tuple(space.shape)}"
    if name == "Discrete":
        return f"Discrete({space.n})"
    if name == "MultiDiscrete":
        return f"MultiDiscrete({space.nvec.tolist()})"
    return str(space)


def environment_rows(family: str | None = None) -> list[dict[str, str]]:
    """One row per registered id, read off a freshly built simulator."""
    rows = []
    for spec in all_specs():
        if family and spec.family != family:
            continue
        sim = make_sim(spec.id)
        agents = sim.agents
        rows.append(
            {
                "id": spec.id,
                "family": spec.family,
                "agents": f"{len(agents)}" if len(agents) > 3 else ", ".join(agents),
                "num_agents": len(agents),
                "observation": _space(sim.observation_spaces[0]),
                "action": _space(sim.action_spaces[0]),
                "presets": ", ".join(
                    f"**{p}**" if p == sim.default_reward else p for p in sim.reward_presets
                ),
                "summary": spec.summary,
            }
        )
        sim.close()
    return rows


def markdown_table(rows: list[dict[str, str]]) -> str:
    header = "| id | agents | observation (per agent) | action (per agent) | reward presets (default in bold) | |"
    lines = [header, "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| `{r['id']}` | {r['agents']} | {r['observation']} | {r['action']} | {r['presets']} | {r['summary']} |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rows = environment_rows(args.family)
    if args.markdown:
        print(markdown_table(rows))
        return 0
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    wide = console.width >= 150  # the one-line summaries only fit a wide terminal
    table = Table(title=f"rewardlab environments ({len(rows)}); ids are rewardlab/<name>",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", no_wrap=True)
    table.add_column("agents", justify="right")
    table.add_column("obs / action", overflow="fold", min_width=16)
    table.add_column("reward presets (default first)", overflow="fold", min_width=16)
    if wide:
        table.add_column("summary")
    for r in rows:
        presets = r["presets"].split(", ")
        default = [p for p in presets if p.startswith("**")]
        ordered = [p.strip("*") for p in default + [p for p in presets if p not in default]]
        agents = r["agents"] if wide else str(r["num_agents"])  # names: the wide table or --markdown
        cells = [r["id"].removeprefix("rewardlab/"), agents, f"{r['observation']}\n{r['action']}", ", ".join(ordered)]
        table.add_row(*cells, *([r["summary"]] if wide else []))
    console.print(table)
    return 0
