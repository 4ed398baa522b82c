"""Interleaved, best-of-N timing of many cases in one process.

A :class:`Case` is one row of a benchmark table: something that steps (a rewardlab env, a peer
env, raw physics, a training loop). Its ``build`` is called once, untimed, and hands back a
*step function*: each call advances the work by some amount and returns how many env-steps it
did (B for a batch of B instances, 1 for a single env). :func:`measure` then runs the cases in
rounds: every round gives each case a slice of time in turn, so that on a shared machine every
case feels the same load, and the best round of each case is kept (the one least disturbed by
other processes). Both clocks are read: wall time, and this process's CPU time, which leaves out
the time other processes held the cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

StepFunction = Callable[[], int]

#: status of a row: measured, or a peer that could not be imported (never a number then)
MEASURED = "measured"
NOT_INSTALLED = "not installed"


@dataclass
class Case:
    """One row: what is timed and how to count it.

    ``build`` returns the step function, or raises :class:`PeerMissing` when a peer is not
    importable. ``agents`` turns env-steps into agent-steps; ``simulated_seconds`` is the
    simulated time one env-step covers (None where time is not simulated, e.g. matrix games).
    """

    key: str
    label: str
    source: str
    build: Callable[[], StepFunction]
    instances: int = 1
    agents: int = 1
    simulated_seconds: float | None = None
    note: str = ""


@dataclass
class Row:
    """A case's result: best env-steps per second by CPU time and by wall time (None when the
    case was not measured), or the reason it was not."""

    case: Case
    status: str = MEASURED
    install: str | None = None
    cpu_rate: float | None = None
    wall_rate: float | None = None
    rounds: list[tuple[float, float]] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return self.status == MEASURED and self.cpu_rate is not None


class PeerMissing(Exception):
    """A peer's package is not importable; the message says how to install it."""


def run_for(step: StepFunction, seconds: float) -> tuple[int, float, float]:
    """Call ``step`` until ``seconds`` of wall time have passed (at least once): (env-steps,
    wall seconds, CPU seconds of this process)."""
    steps = 0
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    while True:
        steps += step()
        wall = time.perf_counter() - wall_start
        if wall >= seconds:
            return steps, wall, max(time.process_time() - cpu_start, 1e-9)


def prepare(cases: Sequence[Case]) -> list[tuple[Row, StepFunction | None]]:
    """Build every case (untimed); a peer that is not importable becomes a 'not installed' row."""
    prepared = []
    for case in cases:
        try:
            step = case.build()
        except PeerMissing as missing:
            prepared.append((Row(case, status=NOT_INSTALLED, install=str(missing)), None))
            continue
        step()  # warm-up: first-call allocations, caches
        prepared.append((Row(case), step))
    return prepared


def measure(
    cases: Sequence[Case], rounds: int, seconds: float, progress: Callable[[str], None] | None = None
) -> list[Row]:
    """Time ``cases`` interleaved: ``rounds`` rounds, each giving every case ``seconds`` of wall
    time in turn; each row keeps its best round by CPU time and by wall time."""
    prepared = prepare(cases)
    for r in range(rounds):
        if progress:
            progress(f"round {r + 1}/{rounds}")
        for row, step in prepared:
            if step is None:
                continue
            steps, wall, cpu = run_for(step, seconds)
            row.rounds.append((steps / cpu, steps / wall))
    for row, _ in prepared:
        if row.rounds:
            row.cpu_rate = max(cpu for cpu, _ in row.rounds)
            row.wall_rate = max(wall for _, wall in row.rounds)
    return [row for row, _ in prepared]
