"""``rewardlab report DIR``: IQM tables with bootstrap CIs, CSV and plots of a study's results."""

from __future__ import annotations

import argparse
import sys

HELP = "report a study: its claim, budget and metrics, IQM and bootstrap CIs per environment (markdown, CSV, plots)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="the results directory written by `rewardlab ablate`")
    parser.add_argument("--reps", type=int, default=None,
                        help="bootstrap replications (default: the spec's report.reps, else 2000; "
                             "the report prints the count)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the bootstrap (default 0)")
    parser.add_argument("--no-plots", action="store_true", help="write only report.md and results.csv")


def run(args: argparse.Namespace) -> int:
    from rewardlab.studies.report import write_report

    report, text, written = write_report(args.dir, reps=args.reps, seed=args.seed, plots=not args.no_plots)
    print(text)
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    if report.missing:
        print(f"warning: {len(report.missing)} of {report.planned} runs have no result yet", file=sys.stderr)
    return 0
