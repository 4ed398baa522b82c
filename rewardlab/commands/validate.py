"""`rewardlab validate [CASE]`: score the calibrated coopetition case studies against their rubric.

    rewardlab validate                 # all four cases
    rewardlab validate SLCD --plain    # one case, plain-text table

The rubric (six criteria of 10 points per case, with their historical basis) is in
docs/case_studies.md; the criteria are computed in rewardlab.envs.coopetition.case_studies.
"""

from __future__ import annotations

import argparse

HELP = "score the calibrated coopetition case studies (SLCD, RenaultNissan, ApacheProject, AppleAppStore)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", nargs="?", default=None,
                        help="SLCD, RenaultNissan, ApacheProject or AppleAppStore (default: all)")
    parser.add_argument("--plain", action="store_true", help="plain text instead of a rich table")


def _plain(rows, totals) -> None:
    header = f"{'case':<14} {'key':<4} {'score':>11}  {'criterion':<92} detail"
    print(header)
    print("-" * len(header))
    for c in rows:
        print(f"{c.case:<14} {c.key:<4} {c.score:>5.1f} / {c.points:<3.0f}  {c.description:<92} {c.detail}")
    print()
    for case, (score, points) in totals.items():
        print(f"{case:<14} {score:5.1f} / {points:.0f}  ({100 * score / points:.1f} %)")


def _rich(rows, totals) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Coopetition case-study validation (docs/case_studies.md)")
    for name in ("case", "key", "score", "criterion", "detail"):
        table.add_column(name, overflow="fold")
    for c in rows:
        style = "green" if c.score == c.points else ("yellow" if c.score > 0 else "red")
        table.add_row(c.case, c.key, f"[{style}]{c.score:.1f} / {c.points:.0f}[/{style}]", c.description, c.detail)
    for case, (score, points) in totals.items():
        table.add_row(case, "total", f"[bold]{score:.1f} / {points:.0f}[/bold]", f"{100 * score / points:.1f} %", "")
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    from rewardlab.envs.coopetition.case_studies import CASES, validate

    by_lower = {name.lower(): name for name in CASES}  # `rewardlab validate slcd` works too
    cases = [by_lower.get(args.case.lower(), args.case)] if args.case else list(CASES)
    rows, totals = [], {}
    for case in cases:
        criteria = validate(case)
        rows.extend(criteria)
        totals[case] = (sum(c.score for c in criteria), sum(c.points for c in criteria))
    if args.plain:
        _plain(rows, totals)
    else:
        _rich(rows, totals)
    return 0
