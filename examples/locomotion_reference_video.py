"""Record a short video of a reference gait played back kinematically (no physics).

    MUJOCO_GL=osmesa python examples/locomotion_reference_video.py --motion trot --out trot.mp4

The robot is posed at each control step of the procedural reference (root trajectory and the
joint angles from the inverse kinematics) and rendered with MuJoCo's offscreen renderer (OSMesa
on a CPU machine, EGL on a GPU machine). Writes an mp4 (or a gif when the name ends in .gif).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUJOCO_GL", "osmesa")

import gymnasium as gym  # noqa: E402
import imageio  # noqa: E402

import rewardlab  # noqa: E402, F401  (registers the ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--motion", default="trot", help="trot, walk, pace, bound, pronk or jump")
    parser.add_argument("--speed", type=float, default=None, help="m/s (default 0.5; 0 for the jump)")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--out", default=None, help="default: reference_<motion>.mp4")
    args = parser.parse_args()
    speed = args.speed if args.speed is not None else (0.0 if args.motion == "jump" else 0.5)
    out = args.out or f"reference_{args.motion}.mp4"
    env = gym.make("rewardlab/LocoImitation-v0", motion=args.motion, speed=speed,
                   random_start_phase=False, render_mode="rgb_array")
    env.reset(seed=0)
    sim = env.unwrapped.sim
    steps = int(args.seconds / sim.params.control_dt)
    frames = []
    for step in range(steps):
        sim.pose_reference(step)
        frames.append(env.render())
    fps = round(1.0 / sim.params.control_dt)
    if out.endswith(".gif"):
        imageio.mimsave(out, frames, duration=1000.0 / fps, loop=0)
    else:
        imageio.mimsave(out, frames, fps=fps)
    print(f"wrote {len(frames)} frames ({frames[0].shape[1]}x{frames[0].shape[0]}, {fps} fps) to {out}")
    env.close()


if __name__ == "__main__":
    main()
