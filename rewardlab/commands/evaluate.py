"""`rewardlab eval`: evaluate a trained agent; a table of episode metrics, optionally a video.

    rewardlab eval runs/CoopSLCD-v0-mappo-s1-.../            # a run directory
    rewardlab eval runs/.../checkpoint.pt --episodes 50 --video episode.mp4

A run directory holds a rewardlab checkpoint (checkpoint.pt) or an SB3 model (model.zip, with
config.json and vecnormalize.pkl beside it). Episodes are fresh instances seeded with
``--seed + i``; the video shows the first of them (instance 0, with the same seed).

What is unpickled: checkpoint.pt is read with ``torch.load(weights_only=True)`` plus an allow-list
of rewardlab's own types, and vecnormalize.pkl through the same allow-list, so a crafted file is
refused. An SB3 model.zip is deserialised by Stable-Baselines3 itself (cloudpickle): evaluate
only models you trust.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError

HELP = "evaluate a trained agent: episode metrics table, optional video"
EPILOG = (
    "checkpoint.pt is read with torch weights_only=True plus an allow-list of rewardlab's types; "
    "an SB3 model.zip is deserialised by Stable-Baselines3 (cloudpickle): evaluate only models you trust"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="run directory, checkpoint.pt or SB3 model.zip")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None, help="default: the training seed + 1000000")
    parser.add_argument("--stochastic", action="store_true", help="sample actions instead of the mode")
    parser.add_argument("--video", default=None, help="write the first episode to this .mp4 or .gif")
    parser.add_argument("--fps", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=100_000, help="per-episode step cap")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print the mean metrics as JSON instead of a table")


def metrics_table(per_episode: dict[str, Any], title: str = "episode metrics"):
    """A rich Table: metric, mean, std, min, max and the number of episodes it averages.

    Each row shows its numbers in one fixed-point format (three significant digits of the row's
    largest magnitude), so that mean, min and max line up; the table fits 80 columns.
    """
    from rich import box
    from rich.table import Table

    from rewardlab.studies.report import column_decimals

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("metric", "mean", "std", "min", "max", "episodes"):
        table.add_column(column, justify="left" if column == "metric" else "right",
                         overflow="fold" if column == "metric" else "ellipsis")
    for name, values in per_episode.items():
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        decimals = column_decimals([values.mean(), values.min(), values.max()])
        std = f"{values.std(ddof=1):.{decimals}f}" if len(values) > 1 else "-"
        table.add_row(name, f"{values.mean():.{decimals}f}", std, f"{values.min():.{decimals}f}",
                      f"{values.max():.{decimals}f}", str(len(values)))
    return table


def write_video(frames: list[np.ndarray], path: str | Path, fps: int) -> Path:
    """Frames to an .mp4 (imageio-ffmpeg) or .gif (imageio); imageio is the ``video`` extra."""
    try:
        import imageio.v2 as imageio
    except ImportError as err:
        raise RewardlabError("writing videos needs imageio: pip install 'rewardlab[video]'") from err
    if not frames:
        raise RewardlabError(f"{path}: no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        imageio.mimsave(path, frames, duration=1000.0 / fps, loop=0)
    elif path.suffix.lower() in (".mp4", ".webm", ".avi", ".mov"):
        try:
            imageio.mimsave(path, frames, fps=fps, macro_block_size=1)
        except (ImportError, ValueError, RuntimeError) as err:
            raise RewardlabError(f"{path}: writing {path.suffix} needs imageio-ffmpeg ({err}); try .gif") from err
    else:
        raise RewardlabError(f"--video: unknown video format {path.suffix!r}; expected .mp4 or .gif")
    return path


def import_user_simulator(config_path: Path) -> None:
    """Import the module of a run's own ``"module:SimClass"`` simulator, named in its config.json.

    The checkpoint loader never imports what a checkpoint names; a run on a simulator class of the
    user's own (``rewardlab train --env mypkg.sims:MySim``) needs that module imported first, as
    ``rewardlab train`` imported it. Registered ids need nothing.
    """
    import importlib

    try:
        env_id = json.loads(config_path.read_text(encoding="utf-8")).get("env_id", "")
    except (OSError, ValueError, AttributeError):
        return  # no readable config: the checkpoint loader reports what it can
    if isinstance(env_id, str) and ":" in env_id and not env_id.startswith("rewardlab"):
        module = env_id.partition(":")[0]
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise RewardlabError(
                f"{config_path}: the run's simulator module {module!r} cannot be imported ({err})"
            ) from None


class LoadedPolicy:
    """A trained agent from a checkpoint: ``act(sim) -> fn(obs)``, an evaluation simulator factory."""

    def __init__(self, target: str | Path, device: str = "cpu") -> None:
        path = Path(target)
        if path.is_dir():
            for name in ("checkpoint.pt", "model.zip"):
                if (path / name).exists():
                    path = path / name
                    break
            else:
                raise RewardlabError(f"{target}: no checkpoint.pt or model.zip in this run directory")
        if not path.exists():
            raise RewardlabError(f"{target}: no such checkpoint")
        self.path = path
        if path.suffix == ".zip":
            self._load_sb3(path, device)
        else:
            from rewardlab.agents.ppo import PPO

            import_user_simulator(path.parent / "config.json")
            self.agent = PPO.load(path, device=device)
            self.kind = self.agent.algo_name
            self.seed = self.agent.seed
            self.env_id = self.agent.sim.env_id
            self.num_agents = self.agent.sim.num_agents

    def _load_sb3(self, path: Path, device: str) -> None:
        from rewardlab.agents.envs import clone_sim
        from rewardlab.baselines.sb3 import load_run

        run = load_run(path, device)
        self.kind = run.config["algo"]
        self.seed = int(run.config["seed"])
        self.env_id = run.config["env_id"]
        self.agent_id = bool(run.config["agent"].get("agent_id", False))
        self._template = run.venv.sim
        self.num_agents = run.venv.sim.num_agents
        self._clone = clone_sim
        self.model = run.model
        self.obs_rms = run.obs_rms

    def episodes(
        self,
        episodes: int,
        seed: int | None,
        deterministic: bool = True,
        max_steps: int = 100_000,
        frame_callback=None,
        render_mode: str | None = None,
    ) -> dict[str, np.ndarray]:
        seed = self.seed + 1_000_000 if seed is None else seed
        if hasattr(self, "agent"):
            return self.agent.evaluate_episodes(
                episodes,
                seed,
                deterministic,
                max_steps=max_steps,
                frame_callback=frame_callback,
                render_mode=render_mode,
            )
        from rewardlab.agents.envs import run_episodes
        from rewardlab.baselines.sb3 import sb3_actor

        sim = self._clone(self._template, episodes, render_mode)
        act = sb3_actor(self.model, sim, self.agent_id, self.obs_rms)
        try:
            return run_episodes(sim, act, episodes, seed, max_steps, frame_callback)
        finally:
            sim.close()


def record_first_episode(policy: LoadedPolicy, seed: int | None, deterministic: bool, max_steps: int):
    frames: list[np.ndarray] = []
    fps = [10]

    def grab(sim) -> None:
        fps[0] = sim.render_fps
        frame = sim.render(0)
        if frame is not None:
            frames.append(np.asarray(frame))

    per_episode = policy.episodes(1, seed, deterministic, max_steps, frame_callback=grab, render_mode="rgb_array")
    return frames, fps[0], per_episode


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    policy = LoadedPolicy(args.checkpoint, device=args.device)
    if args.episodes < 1:
        raise RewardlabError(f"--episodes must be a positive integer, got {args.episodes}")
    per_episode = policy.episodes(args.episodes, args.seed, not args.stochastic, args.max_steps)
    console = Console()
    if args.json:
        print(json.dumps({k: float(np.nanmean(v)) for k, v in per_episode.items()}, indent=2, sort_keys=True))
    else:
        title = f"{policy.kind} on {policy.env_id}: {args.episodes} episode(s)"
        console.print(metrics_table(per_episode, title=title))
    if args.video:
        frames, fps, _ = record_first_episode(policy, args.seed, not args.stochastic, args.max_steps)
        path = write_video(frames, args.video, args.fps or fps)
        console.print(f"video: {path} ({len(frames)} frames)")
    return 0
