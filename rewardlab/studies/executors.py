"""Run a study's runs: in local worker processes or as Ray tasks, skipping finished ones.

Each run is independent: a fresh call of the study's runner (``module:function`` or
``file.py:function``, by default :func:`rewardlab.agents.run.train_and_evaluate`) with the run's
config and seed. The runner returns an object with ``.metrics`` (name -> float) and ``.curve``
(a list of ``{"step": int, "return": float, ...}``), or a mapping with those two keys.

Local backend: a ``concurrent.futures.ProcessPoolExecutor`` over ``spawn``ed processes (no state
inherited from the parent, the same on Linux, macOS and Windows). A worker writes each run's file
itself the moment the run ends, so killing the parent loses only the runs in flight. Before each
run the worker seeds Python's, NumPy's and (if loaded) torch's global generators with the run's
seed, so a result never depends on which runs the worker did before. Each worker gets
``cpu_count // workers`` threads for torch/BLAS so that the workers do not oversubscribe the cores.
A worker claims its run in the results folder first (see :mod:`rewardlab.studies.store`), so two
``ablate`` processes on one folder never run a run twice, and it exits as soon as its parent is
gone (a killed ``ablate`` leaves no workers computing for nobody).

Ray backend: one task per run (``num_cpus=1``); the driver writes each result as it arrives.
``--address`` joins a running cluster (``auto`` or ``ray://host:10001``); without it a local Ray
instance with ``--workers`` CPUs is started and stopped. Every node needs rewardlab installed
(``pip install rewardlab[ray]``) and, for a ``file.py:function`` runner, that file at the same path.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import importlib.util
import multiprocessing
import os
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardlab.core.errors import RewardlabError
from rewardlab.studies.model import Run, Study
from rewardlab.studies.store import ResultStore, make_record

BACKENDS = ("local", "ray")
_RUNNERS: dict[str, Callable[..., Any]] = {}
_MAX_POOL_RESTARTS = 2


def default_workers() -> int:
    """min(2, number of CPUs): the quick profiles are sized for a 2-core laptop."""
    return max(1, min(2, os.cpu_count() or 1))


def load_runner(path: str) -> Callable[..., Any]:
    """Import ``module:function`` or ``/path/to/file.py:function``."""
    if path in _RUNNERS:
        return _RUNNERS[path]
    target, _, func_name = path.rpartition(":")
    if not target or not func_name:
        raise RewardlabError(f"study: runner must be 'module:function' or 'file.py:function', got {path!r}")
    if target.endswith(".py"):
        file_path = Path(target)
        if not file_path.is_file():
            raise RewardlabError(f"study: runner file {target!r} does not exist")
        module_name = f"_rewardlab_runner_{abs(hash(str(file_path.resolve())))}"
        module = sys.modules.get(module_name)
        if module is None:
            module_spec = importlib.util.spec_from_file_location(module_name, file_path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_name] = module
            module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as err:
            raise RewardlabError(f"study: cannot import runner module {target!r}: {err}") from err
    func = getattr(module, func_name, None)
    if not callable(func):
        raise RewardlabError(f"study: runner module {target!r} has no function {func_name!r}")
    _RUNNERS[path] = func
    return func


def _limit_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _seed_globals(seed: int) -> None:
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def _metrics_and_curve(result: Any) -> tuple[Mapping[str, Any], list]:
    if isinstance(result, Mapping):
        metrics, curve = result.get("metrics"), result.get("curve", [])
    else:
        metrics, curve = getattr(result, "metrics", None), getattr(result, "curve", [])
    if not isinstance(metrics, Mapping):
        raise RewardlabError(
            f"study: the runner returned {type(result).__name__}; expected an object or mapping with "
            "'metrics' (name -> float) and 'curve'"
        )
    return metrics, list(curve or [])


def execute_run(run_dict: Mapping[str, Any], runner: str, study_name: str, threads: int = 1,
                log_dir: str | None = None) -> dict[str, Any]:
    """Run one (setting, seed) and return ``{"ok": True, "record": ...}`` or ``{"ok": False, ...}``.

    ``log_dir`` is passed to the runner (None: the run writes no files of its own). Never raises
    for a failing runner: its traceback comes back for the failure log.
    """
    run = Run(
        key=run_dict["key"],
        setting=tuple(tuple(pair) for pair in run_dict["setting"]),
        env=run_dict["env"],
        seed=int(run_dict["seed"]),
        config=run_dict["config"],
    )
    started = time.perf_counter()
    try:
        _limit_threads(threads)
        func = load_runner(runner)
        _limit_threads(threads)  # the runner's module may have imported torch
        _seed_globals(run.seed)
        config = dict(run.config)
        env_id = config.pop("env")
        result = func(env_id, **config, seed=run.seed, log_dir=log_dir, progress=False)
        metrics, curve = _metrics_and_curve(result)
        record = make_record(run, runner, study_name, metrics, curve, time.perf_counter() - started)
        return {"ok": True, "key": run.key, "record": record}
    except Exception as err:  # a failing run must not take the study down
        return {
            "ok": False,
            "key": run.key,
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(),
            "run": run.to_dict(),
            "wall_time_s": time.perf_counter() - started,
        }


def run_files_dir(study: Study, store: ResultStore, key: str) -> str | None:
    """Where a run writes its own files when the study keeps them (``keep_run_files``)."""
    return str(store.root / "run_files" / key) if study.keep_run_files else None


def _local_task(run_dict: Mapping[str, Any], runner: str, study_name: str, out_dir: str, threads: int,
                log_dir: str | None) -> dict:
    """Executed in a worker process: claim the run, run it, write the result file, then return."""
    store = ResultStore(out_dir)
    key = run_dict["key"]
    if not store.claim(key):
        return {"ok": True, "key": key, "elsewhere": True, "wall_time_s": float("nan")}
    try:
        if store.read_run(key) is not None:  # finished by another ablate since this one looked
            return {"ok": True, "key": key, "elsewhere": True, "wall_time_s": float("nan")}
        outcome = execute_run(run_dict, runner, study_name, threads, log_dir)
        if outcome["ok"]:
            store.write_run(outcome["record"])
            return {"ok": True, "key": outcome["key"], "wall_time_s": outcome["record"]["wall_time_s"]}
        store.write_failure(outcome["key"], outcome)
        return {k: outcome[k] for k in ("ok", "key", "error", "wall_time_s")}
    finally:
        store.release(key)


def _exit_when_orphaned(parent: int, interval_s: float = 1.0) -> None:
    """Poll the parent's pid; exit this worker at once when the parent is gone.

    A killed parent cannot tell its pool to stop, and the worker would compute its run to the
    end for nobody (the next ``ablate`` takes its claim over). ``os._exit`` skips cleanup that
    could block on the dead parent's queues.
    """
    while True:
        time.sleep(interval_s)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(threads: int, parent: int | None = None) -> None:
    _limit_threads(threads)
    if parent is not None:
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True,
                         name="rewardlab-orphan-watch").start()


@dataclass
class AblateSummary:
    """What one ``ablate`` invocation did."""

    planned: int
    skipped: int
    finished: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    elsewhere: list[str] = field(default_factory=list)  # claimed or finished by another ablate

    @property
    def ok(self) -> bool:
        return not self.failed


OnDone = Callable[[Run, Mapping[str, Any]], None]


def run_local(study: Study, runs: list[Run], store: ResultStore, workers: int, on_done: OnDone) -> None:
    """Run ``runs`` in a pool of ``workers`` spawned processes; restart the pool if a worker dies."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    pending = list(runs)
    reported: set[str] = set()
    restarts = 0
    while pending:
        context = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(
            max_workers=min(workers, len(pending)), mp_context=context, initializer=_init_worker,
            initargs=(threads, os.getpid()),
        )
        futures = {
            pool.submit(_local_task, run.to_dict(), study.runner, study.name, str(store.root), threads,
                        run_files_dir(study, store, run.key)): run
            for run in pending
        }
        try:
            for future in cf.as_completed(futures):
                run = futures[future]
                outcome = future.result()
                reported.add(run.key)
                on_done(run, outcome)
            pool.shutdown(wait=True)
            return
        except BrokenProcessPool:
            # A worker died (killed, out of memory, crashed in C code). Runs whose file is on disk
            # are kept; the others are resubmitted to a fresh pool.
            pool.shutdown(wait=False, cancel_futures=True)
            restarts += 1
            on_disk = store.finished_keys()
            for run in pending:  # written by a worker just before the pool broke
                if run.key in on_disk and run.key not in reported:
                    reported.add(run.key)
                    on_done(run, {"ok": True, "key": run.key, "wall_time_s": float("nan")})
            pending = [run for run in pending if run.key not in reported]
            if restarts > _MAX_POOL_RESTARTS:
                for run in pending:
                    on_done(run, {"ok": False, "key": run.key, "error": "worker process died", "wall_time_s": 0.0})
                return
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def run_ray(study: Study, runs: list[Run], store: ResultStore, workers: int, address: str | None,
            on_done: OnDone) -> None:
    """Run ``runs`` as Ray tasks; the driver writes each result file as it arrives."""
    try:
        import ray
    except ImportError as err:
        raise RewardlabError("ablate: --backend ray needs Ray: pip install 'rewardlab[ray]'") from err
    started_here = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        started_here = True
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(execute_run)
        refs = {}
        for run in runs:  # the driver holds the claims of the runs it submits
            if store.claim(run.key):
                # with keep_run_files the folder must be one that every node can write (shared storage)
                log_dir = run_files_dir(study, store, run.key)
                refs[task.remote(run.to_dict(), study.runner, study.name, 1, log_dir)] = run
            else:
                on_done(run, {"ok": True, "key": run.key, "elsewhere": True, "wall_time_s": float("nan")})
        waiting = list(refs)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            for ref in done:
                run = refs[ref]
                try:
                    outcome = ray.get(ref)
                except Exception as err:  # the task's worker died or could not start
                    outcome = {"ok": False, "key": run.key, "error": f"{type(err).__name__}: {err}",
                               "traceback": traceback.format_exc(), "run": run.to_dict(), "wall_time_s": 0.0}
                if outcome["ok"]:
                    store.write_run(outcome["record"])
                    outcome = {"ok": True, "key": run.key, "wall_time_s": outcome["record"]["wall_time_s"]}
                else:
                    store.write_failure(run.key, outcome)
                store.release(run.key)
                on_done(run, outcome)
    finally:
        if started_here:
            ray.shutdown()


def ablate(study: Study, out: str | Path, *, backend: str = "local", workers: int | None = None,
           address: str | None = None, on_done: OnDone | None = None,
           on_start: Callable[[int, int], None] | None = None) -> AblateSummary:
    """Expand ``study``, skip the runs finished in ``out`` and execute the rest.

    Args:
        study: the parsed spec (with its profile applied).
        out: the results directory (created if needed).
        backend: ``local`` (processes on this machine) or ``ray``.
        workers: concurrent runs (local) or CPUs of the local Ray instance; default min(2, CPUs).
        address: a Ray cluster to join (only with ``backend="ray"``).
        on_done: called in the parent as ``on_done(run, outcome)`` after each run.
        on_start: called once as ``on_start(planned, to_run)`` before the first run starts.
    """
    if backend not in BACKENDS:
        raise RewardlabError(f"ablate: unknown backend {backend!r}; expected one of 'local', 'ray'")
    if address and backend != "ray":
        raise RewardlabError("ablate: --address is for --backend ray")
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise RewardlabError(f"ablate: --workers must be at least 1, got {workers}")
    runs = study.runs()
    store = ResultStore(out)
    store.write_plan(study, runs)
    store.remove_stale_temporaries()
    finished = store.finished_keys()
    todo = [run for run in runs if run.key not in finished]
    summary = AblateSummary(planned=len(runs), skipped=len(runs) - len(todo))
    if on_start is not None:
        on_start(len(runs), len(todo))

    def done(run: Run, outcome: Mapping[str, Any]) -> None:
        if outcome.get("elsewhere"):
            summary.elsewhere.append(run.key)
        elif outcome["ok"]:
            summary.finished.append(run.key)
        else:
            summary.failed[run.key] = outcome.get("error", "failed")
        if on_done is not None:
            on_done(run, outcome)

    if todo:
        if backend == "local":
            run_local(study, todo, store, workers, done)
        else:
            run_ray(study, todo, store, workers, address, done)
    return summary


def pending_runs(study: Study, out: str | Path) -> list[Run]:
    """The runs of ``study`` that have no finished result in ``out``."""
    finished = ResultStore(out).finished_keys()
    return [run for run in study.runs() if run.key not in finished]
