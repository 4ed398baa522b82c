"""Figures and tables of the smoothness study that the generic report does not draw.

    rewardlab ablate studies/smoothness.yaml --profile medium --out results/smoothness_medium
    python studies/smoothness_figures.py results/smoothness_medium --out docs/studies/img

Reads a results folder of ``studies/smoothness.yaml`` (whose runs keep their checkpoints:
``keep_run_files: true``) and writes

* ``smoothness_actions.png``: for one run of each variant (the lowest seed), one evaluation
  episode of the deterministic policy from the same start: the joint-target actions of one leg
  over the first two seconds, and the amplitude spectrum of the actions (mean over the 12 joints
  of |FFT| of the mean-removed sequence, as CAPS's Sm weighs it) over the whole episode;
* ``smoothness_competence.md``: samples to competence per variant and seed, read from each run's
  learning curve (the stochastic training episodes of each update, smoothed over ``--window``
  updates): the first instance-step at which the mean episode length reached 450 of 500 steps and
  at which the imitation reward per step reached 0.6 and 0.7 (``-`` when never).

The evaluation episode starts from seed ``--episode-seed`` (the same start for every variant).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")

#: the joints drawn in the trace panel: the front-right leg (hip, thigh, calf)
LEG_JOINTS = (0, 1, 2)
JOINT_NAMES = ("FR hip", "FR thigh", "FR calf")
LEVELS = (("length", 450.0), ("imitation_per_step", 0.6), ("imitation_per_step", 0.7))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="results folder of studies/smoothness.yaml")
    parser.add_argument("--out", type=Path, default=None, help="folder for the figure and the table (default: results)")
    parser.add_argument("--episode-seed", type=int, default=2_000_000)
    parser.add_argument("--window", type=int, default=20, help="updates in the moving average of the curves")
    return parser.parse_args(argv)


def finished_runs(results: Path) -> list[dict]:
    """The run records in ``results/runs``, ordered by variant (plan order) and seed."""
    plan = json.loads((results / "study.json").read_text())
    order = {key: i for i, key in enumerate(run["key"] for run in plan["runs"])}
    records = [json.loads(path.read_text()) for path in sorted((results / "runs").glob("*.json"))]
    return sorted(records, key=lambda record: order.get(record["key"], len(order)))


def variant_of(record: dict) -> str:
    return dict(record["setting"]).get("variant", "?")


def episode_actions(checkpoint: Path, seed: int) -> tuple[np.ndarray, float]:
    """The actions (steps, 12) of one deterministic evaluation episode of a saved agent, and the control rate (Hz)."""
    from rewardlab.agents.envs import clone_sim
    from rewardlab.agents.ppo import PPO

    agent = PPO.load(checkpoint)
    sim = clone_sim(agent.sim, 1)
    obs = sim.reset(seed=seed)
    steps = 0
    while True:
        step = sim.step(agent.predict(obs), autoreset=False)
        obs = step.obs
        steps += 1
        if bool(step.terminated.any() or step.truncated.any()) or steps >= sim.episode_steps:
            break
    actions = sim.action_log[0, :steps].copy()
    rate = float(sim.control_rate)
    sim.close()
    return actions, rate


def amplitude_spectrum(actions: np.ndarray, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and the mean over dimensions of (2/N)|FFT| of the mean-removed actions."""
    n = len(actions)
    centred = actions - actions.mean(axis=0)
    amplitude = 2.0 / n * np.abs(np.fft.rfft(centred, axis=0))
    return np.fft.rfftfreq(n, d=1.0 / sample_rate), amplitude.mean(axis=1)


def plot_actions(traces: dict[str, np.ndarray], sample_rate: float, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(LEG_JOINTS) + 1, 1, figsize=(9, 2.2 * (len(LEG_JOINTS) + 1)))
    window = int(2 * sample_rate)
    for row, (joint, name) in enumerate(zip(LEG_JOINTS, JOINT_NAMES, strict=True)):
        ax = axes[row]
        for variant, actions in traces.items():
            shown = actions[:window, joint]
            ax.plot(np.arange(len(shown)) / sample_rate, shown, label=variant, linewidth=1)
        ax.set_ylabel(f"{name}\naction (rad)")
        ax.set_xlabel("time (s)")
    axes[0].set_title("joint-target actions, first 2 s of one evaluation episode")
    ax = axes[-1]
    for variant, actions in traces.items():
        freq, amp = amplitude_spectrum(actions, sample_rate)
        ax.semilogy(freq[1:], amp[1:], label=variant, linewidth=1)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("mean |FFT| (rad)")
    ax.set_title("amplitude spectrum of the actions over the episode (mean over 12 joints)")
    ax.legend(fontsize=8, ncol=len(traces), loc="upper center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def smoothed(curve: list[dict], key: str, window: int) -> tuple[np.ndarray, np.ndarray]:
    steps = np.array([point["step"] for point in curve], dtype=float)
    if key == "imitation_per_step":
        values = np.array([point.get("metric/imitation_return", np.nan) / max(point.get("length", np.nan), 1.0)
                           for point in curve])
    else:
        values = np.array([point.get(key, np.nan) for point in curve], dtype=float)
    out = np.full(len(values), np.nan)
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1): i + 1]
        if np.isfinite(chunk).any():
            out[i] = np.nanmean(chunk)
    return steps, out


def first_step(curve: list[dict], key: str, level: float, window: int) -> float:
    steps, values = smoothed(curve, key, window)
    reached = np.flatnonzero(values >= level)
    return float(steps[reached[0]]) if len(reached) else float("nan")


def competence_table(records: list[dict], window: int) -> str:
    head = ["variant", "seed", "train s"] + [f"steps to {key.replace('_', ' ')} {level:g}" for key, level in LEVELS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for record in records:
        cells = [variant_of(record), str(record["seed"]), f"{record['metrics'].get('train_time_s', float('nan')):.0f}"]
        for key, level in LEVELS:
            step = first_step(record["curve"], key, level, window)
            cells.append("-" if np.isnan(step) else f"{step / 1e6:.2f}M")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out = args.out or args.results
    records = finished_runs(args.results)
    if not records:
        raise SystemExit(f"smoothness_figures: no finished runs in {args.results}/runs")
    table = competence_table(records, args.window)
    out.mkdir(parents=True, exist_ok=True)
    (out / "smoothness_competence.md").write_text(table)
    print(table)
    traces: dict[str, np.ndarray] = {}
    sample_rate = 50.0
    for record in records:
        variant = variant_of(record)
        checkpoint = args.results / "run_files" / record["key"] / "checkpoint.pt"
        if variant in traces or not checkpoint.exists():
            continue
        traces[variant], sample_rate = episode_actions(checkpoint, args.episode_seed)
        print(f"{variant}: episode of {len(traces[variant])} steps from {checkpoint}")
    if traces:
        plot_actions(traces, sample_rate=sample_rate, path=out / "smoothness_actions.png")
        print(f"wrote {out / 'smoothness_actions.png'}")


if __name__ == "__main__":
    main()
