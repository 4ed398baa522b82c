"""`rewardlab bench`: throughput of rewardlab and its installed peers, measured side by side.

    rewardlab bench --quick                      # every family, about a minute
    rewardlab bench --family driving commons     # some families, best of 5 rounds of 1 s
    rewardlab bench --quick --json > bench.json  # the result as JSON
    rewardlab bench --scaling --plot scaling.png # env-steps/s against instances, 1 to 4,096

Peers that are not installed are listed as "not installed" with how to install them;
`pip install 'rewardlab[bench]'` installs those on the package index. docs/performance.md
explains the rows, the ratios and how to read per-step against per-simulated-second figures.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from rewardlab.bench.cases import FAMILIES

HELP = "time rewardlab's envs and each installed peer side by side (interleaved, best of N)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", nargs="+", choices=FAMILIES, default=None,
                        help="families to time (default: all); 'training' is PPO against SB3 PPO")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 0.25 s per row: about a minute in all")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of tables")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (best kept); default 5, quick 3")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds per row per round; default 1, quick 0.25")
    parser.add_argument("--scaling", action="store_true",
                        help="instead: make_vec env-steps/s against instances (1 to 4,096), one env per family")
    parser.add_argument("--max-instances", type=int, default=4096, help="--scaling: the largest batch")
    parser.add_argument("--plot", metavar="PNG", help="--scaling: also draw the curve to this file")


def _check(args: argparse.Namespace) -> None:
    from rewardlab.core.errors import RewardlabError

    if args.rounds is not None and args.rounds < 1:
        raise RewardlabError(f"--rounds must be a positive integer, got {args.rounds}")
    if args.seconds is not None and not args.seconds > 0:
        raise RewardlabError(f"--seconds must be a positive number of seconds, got {args.seconds}")
    if args.max_instances < 1:
        raise RewardlabError(f"--max-instances must be a positive integer, got {args.max_instances}")
    if args.plot and not args.scaling:
        raise RewardlabError("--plot draws the --scaling curve; add --scaling")


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    _check(args)
    command = "rewardlab " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else "rewardlab bench"
    if args.scaling:
        from rewardlab.bench.scaling import format_scaling, plot_scaling, run_scaling

        result = run_scaling(args.family or None, quick=args.quick, rounds=args.rounds, seconds=args.seconds,
                             max_instances=args.max_instances, command=command, progress=_progress)
        print(json.dumps(result, indent=2) if args.json else format_scaling(result))
        if args.plot:
            plot_scaling(result, args.plot)
            print(f"wrote {args.plot}", file=sys.stderr)
        return 0
    from rewardlab.bench import format_tables, run_bench

    result = run_bench(args.family or FAMILIES, quick=args.quick, rounds=args.rounds, seconds=args.seconds,
                       command=command, progress=_progress)
    print(json.dumps(result, indent=2) if args.json else format_tables(result))
    return 0
