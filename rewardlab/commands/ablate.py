"""``rewardlab ablate SPEC``: run a reward-ablation study (resumable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "Run a reward-ablation study: every (setting, seed) of a YAML spec, resuming finished runs."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="the study spec (YAML), e.g. studies/coopetition_modes.yaml; it is "
                        "checked (env ids, presets, agent settings, grid keys, metrics) before any run. Its "
                        "runner (module:function or file.py:function) is imported and executed: run only "
                        "specs you trust")
    parser.add_argument("--profile", default=None,
                        help="a profile of the spec (quick: a laptop CPU in minutes; full: paper scale)")
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="local worker processes (default) or Ray tasks")
    parser.add_argument("--address", default=None,
                        help="Ray cluster to join (with --backend ray), e.g. auto or ray://host:10001")
    parser.add_argument("--workers", type=int, default=None,
                        help="concurrent runs (local) or CPUs of a local Ray instance; default min(2, CPUs)")
    parser.add_argument("--out", default=None, help="results directory (default results/<study name>)")
    parser.add_argument("--dry-run", action="store_true", help="list the runs still to do and exit")


def outcome_line(run, outcome: dict) -> str:
    """One line of the progress log for a run that ended (rich markup; the error text escaped)."""
    from rich.markup import escape

    name = f"{run.env.split('/')[-1]}  {escape(run.setting_label)}  seed={run.seed}"
    if outcome.get("elsewhere"):
        return f"  skip  {name}  (claimed or finished by another ablate on this folder)"
    if outcome["ok"]:
        return f"  done  {name}  ({outcome.get('wall_time_s', float('nan')):.1f} s)"
    error = escape(str(outcome.get("error")))
    return f"  [red]FAILED[/red] {run.env}  {escape(run.setting_label)}  seed={run.seed}: {error}"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rewardlab.core.errors import RewardlabError
    from rewardlab.studies.executors import ablate, default_workers, pending_runs
    from rewardlab.studies.spec import DEFAULT_RUNNER, load_study

    if args.workers is not None and args.workers < 1:
        raise RewardlabError(f"--workers must be a positive integer, got {args.workers}")
    study = load_study(args.spec, profile=args.profile)
    out = Path(args.out) if args.out else Path("results") / study.name
    if out.exists() and not out.is_dir():
        raise RewardlabError(f"--out {str(out)!r} is a file; give a results directory (created if missing)")
    console = Console(stderr=True)
    if study.runner == DEFAULT_RUNNER:
        from rewardlab.core.registry import get_spec

        for env_id in sorted({run.env for run in study.runs()}):
            get_spec(env_id)  # an unknown id fails here, with the list of registered ids
    if args.dry_run:
        todo = pending_runs(study, out)
        for run in todo:
            print(f"{run.key}  {run.env}  {run.setting_label}  seed={run.seed}")
        print(f"{len(todo)} of {len(study.runs())} runs to do in {out}")
        return 0

    workers = default_workers() if args.workers is None else args.workers
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task(f"{study.name} ({study.profile or 'spec'})", total=None, failed=0)
        failures = 0

        def on_start(planned: int, todo: int) -> None:
            progress.update(task, total=planned, completed=planned - todo)
            progress.console.print(
                f"{study.name}: {planned} runs planned, {planned - todo} already finished in {out}, "
                f"{todo} to run on {args.backend} with {workers} worker(s)", soft_wrap=True
            )

        def on_done(run, outcome) -> None:
            nonlocal failures
            failures += not outcome.get("elsewhere") and not outcome["ok"]
            progress.console.print(outcome_line(run, outcome), soft_wrap=True, markup=True, highlight=False)
            progress.update(task, advance=1, failed=failures)

        try:
            summary = ablate(study, out, backend=args.backend, workers=workers, address=args.address,
                             on_done=on_done, on_start=on_start)
        except KeyboardInterrupt:
            console.print(f"interrupted: finished runs are kept in {out}; run the same command to resume")
            return 130
    if summary.failed:
        console.print(f"{len(summary.failed)} run(s) failed; tracebacks in {out / 'failed'}; "
                      "run the same command to retry them", style="red")
        return 1
    if summary.elsewhere:
        print(f"{study.name}: {len(summary.elsewhere)} run(s) left to another ablate on {out}; "
              "run the same command when it is done to check", file=sys.stderr)
        return 0
    print(f"{study.name}: {summary.planned} runs finished ({summary.skipped} from before) in {out}",
          file=sys.stderr)
    return 0
