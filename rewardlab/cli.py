"""The ``rewardlab`` command line: one verb per module in ``rewardlab.commands``.

Each verb module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys

VERBS = {
    "list": "rewardlab.commands.list_envs",
    "train": "rewardlab.commands.train",
    "eval": "rewardlab.commands.evaluate",
    "render": "rewardlab.commands.render",
    "ablate": "rewardlab.commands.ablate",
    "report": "rewardlab.commands.report",
    "validate": "rewardlab.commands.validate",
    "bench": "rewardlab.commands.bench",
}


def _available_verbs() -> dict[str, object]:
    modules = {}
    for verb, module_name in VERBS.items():
        try:
            modules[verb] = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewardlab", description="Environments and studies for reward-design research."
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb, module in _available_verbs().items():
        # argparse %-formats help strings: a literal % must be doubled or the help prints a dict
        verb_parser = sub.add_parser(verb, help=module.HELP.replace("%", "%%"), description=module.HELP,
                                     epilog=getattr(module, "EPILOG", None))
        module.add_arguments(verb_parser)
        verb_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from rewardlab.core.errors import RewardlabError

    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except RewardlabError as err:
        print(f"rewardlab {args.verb}: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader closed the pipe (`rewardlab ablate --dry-run | head`): stop without a traceback,
        # and point stdout at /dev/null so that the interpreter's final flush does not raise again
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
