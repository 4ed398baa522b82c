"""`rewardlab render`: a frame or a short video of an environment under a simple policy.

    rewardlab render --env rewardlab/DrivingHighway-v0 --out frame.png
    rewardlab render --env rewardlab/LocoImitation-v0 --steps 200 --out walk.mp4 --policy zero

Policies: ``random`` (uniform samples from each agent's action space, seeded), ``zero`` (the
middle of each Box, or action 0 of a discrete space). A .png writes the frame after ``--steps``
steps; .mp4 or .gif writes every frame (imageio, the ``video`` extra). Small frames (the
coopetition and commons bar charts are 96 px high) are enlarged by whole pixels to at least
384 px (``--scale`` sets the factor), and the command prints what the frame shows: the
environment's legend and, for bar charts, which agent each bar is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from gymnasium import spaces

from rewardlab.core.errors import RewardlabError

HELP = "render a frame or short video of an environment under a random or constant policy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment id")
    parser.add_argument("--out", default="frame.png", help=".png (last frame), .mp4 or .gif (every frame)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--policy", choices=("random", "zero"), default="random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reward", default=None, help="reward preset (affects terminations)")
    parser.add_argument("--fps", type=int, default=None)
    parser.add_argument("--scale", type=int, default=None,
                        help="enlarge each pixel to SCALE x SCALE (default: small frames to at least 384 px high)")


def simple_policy(sim, kind: str, seed: int):
    """``act(obs) -> actions (B, n, ...)``: seeded uniform samples or the middle of the space."""
    rng = np.random.default_rng(seed)
    space = sim.action_spaces

    def act(obs: np.ndarray) -> np.ndarray:
        rows = []
        for s in space:
            if isinstance(s, spaces.Box):
                low, high = np.nan_to_num(s.low, neginf=-1.0), np.nan_to_num(s.high, posinf=1.0)
                low, high = np.maximum(low, -1e3), np.minimum(high, 1e3)
                if kind == "zero":
                    rows.append(np.broadcast_to((low + high) / 2.0, (sim.num_envs, *s.shape)))
                else:
                    rows.append(rng.uniform(low, high, size=(sim.num_envs, *s.shape)))
            elif isinstance(s, spaces.Discrete):
                if kind == "zero":
                    rows.append(np.full(sim.num_envs, s.start))
                else:
                    rows.append(s.start + rng.integers(0, s.n, size=sim.num_envs))
            else:
                nvec = np.asarray(s.nvec)
                rows.append(np.zeros((sim.num_envs, *nvec.shape), dtype=np.int64) if kind == "zero"
                            else rng.integers(0, nvec, size=(sim.num_envs, *nvec.shape)))
        return np.stack(rows, axis=1)

    return act


#: frames lower than this are enlarged by default (a whole-pixel factor)
MIN_HEIGHT = 384


def enlarge(frames: list[np.ndarray], scale: int | None) -> tuple[list[np.ndarray], int]:
    """Frames with every pixel repeated ``scale`` times each way (default: up to MIN_HEIGHT px)."""
    if scale is None:
        scale = max(1, -(-MIN_HEIGHT // frames[0].shape[0]))
    if scale < 1:
        raise RewardlabError(f"render: --scale must be a positive integer, got {scale}")
    if scale == 1:
        return frames, 1
    return [np.repeat(np.repeat(f, scale, axis=0), scale, axis=1) for f in frames], scale


def legend(sim) -> str:
    """What a frame of ``sim`` shows: its render_frame docstring, and the agents in bar order."""
    text = " ".join((type(sim).render_frame.__doc__ or "").split())  # the family's own, not inherited
    if "self.agents" in text:
        text = text.replace("``self.agents`` order", "agent order").replace("``", "")
        text += " Agents from the left: " + ", ".join(sim.agents) + "."
    return text.replace("``", "")


def render_frames(env_id: str, steps: int, policy: str, seed: int, reward=None, every: bool = True,
                  with_legend: bool = False):
    from rewardlab.agents.envs import make_env_sim

    sim = make_env_sim(env_id, 1, reward, {"render_mode": "rgb_array"})
    act = simple_policy(sim, policy, seed)
    obs = sim.reset(seed=seed)
    frames = [np.asarray(sim.render(0))] if every else []
    for _ in range(steps):
        obs = sim.step(act(obs), autoreset=True).obs
        if every:
            frames.append(np.asarray(sim.render(0)))
    if not every:
        frames.append(np.asarray(sim.render(0)))
    fps = sim.render_fps
    text = legend(sim)
    sim.close()
    return (frames, fps, text) if with_legend else (frames, fps)


def run(args: argparse.Namespace) -> int:
    from rewardlab.commands.evaluate import write_video

    if args.steps < 0:
        raise RewardlabError(f"--steps must be >= 0, got {args.steps}")
    out = Path(args.out)
    still = out.suffix.lower() in (".png", ".jpg", ".jpeg")
    frames, fps, text = render_frames(args.env, args.steps, args.policy, args.seed, args.reward, every=not still,
                                      with_legend=True)
    frames, scale = enlarge(frames, args.scale)
    if still:
        import matplotlib.image

        out.parent.mkdir(parents=True, exist_ok=True)
        matplotlib.image.imsave(out, frames[-1])
    else:
        write_video(frames, out, args.fps or fps)
    print(f"{out}: {len(frames)} frame(s) of {frames[-1].shape[1]}x{frames[-1].shape[0]}"
          + (f" (each pixel enlarged {scale}x)" if scale > 1 else ""))
    if text:
        import textwrap

        print(textwrap.fill(text, 80))
    return 0
