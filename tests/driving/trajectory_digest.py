"""Before/after check for changes that must keep the driving simulators bit for bit identical.

Hashes (SHA-1) every step's outputs (observation, reward, terms, terminated, truncated, info,
events, episode metrics and returns, final observation) together with the simulator's state
(egos, traffic, obstacles, counters, routes, Frenet coordinates, layout arrays; ``--outputs-only``
leaves the state out, for a checkout that names it differently) over ``--steps``
steps with random actions and autoreset, for every driving id at B = 1 and B = 64, BEV
observations, and the ``roach`` and ``highway`` presets (20 configurations). Run it on two
checkouts and compare::

    PYTHONPATH=/path/to/old python tests/driving/trajectory_digest.py old.json
    python tests/driving/trajectory_digest.py new.json
    python tests/driving/trajectory_digest.py --compare old.json new.json

It is a tool, not a test (pytest collects only ``test_*.py``): the digests depend on the NumPy
build and the CPU, so they are compared between checkouts on one machine, never stored.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np
from test_driving_golden import hash_into  # this folder is on the path when run as a script

import rewardlab

IDS = ("DrivingHighway-v0", "DrivingIntersection-v0", "DrivingTown-v0", "DrivingMultiEgo-v0")
CONFIGS = ((1, {}), (64, {}), (16, {"obs": "bev"}), (16, {"reward": "roach"}), (64, {"reward": "highway"}))
STATE = ("ego_x", "ego_y", "ego_heading", "ego_speed", "traffic.station", "traffic.speed", "traffic.lane",
         "traffic.road", "traffic.active", "traffic.desired_speed", "traffic.lateral", "traffic.length",
         "obstacles.station", "obstacles.active", "obstacles.x", "obstacles.y", "progress", "route_idx",
         "time", "infractions.counts", "routes", "ego_s", "ego_d")
LAYOUT = ("xy", "hdg", "length", "width", "speed_limit", "stop_s", "centers", "green", "light_offset",
          "ramp_offset", "merge_start", "merge_end", "half_box")
OUTPUTS = ("obs", "reward", "terms", "terminated", "truncated", "info", "events", "episode_metrics",
           "episode_returns", "final_obs")


def _attribute(obj, dotted: str):
    for name in dotted.split("."):
        obj = getattr(obj, name)
    return obj


def digest(env_id: str, num_envs: int, steps: int, outputs_only: bool = False,
           **kwargs) -> tuple[str, list[str]]:
    """(digest of the run, short digest of every step)."""
    sim = rewardlab.make_sim(env_id, num_envs=num_envs, **kwargs)
    sim.reset(seed=123)
    rng = np.random.default_rng(7)
    run, per_step = hashlib.sha1(), []
    for _ in range(steps):
        actions = rng.uniform(-1, 1, (num_envs, sim.num_egos, 2)) * np.array([0.3, 1.0])
        step = sim.step(actions, autoreset=True)
        h = hashlib.sha1()
        for name in OUTPUTS:
            hash_into(h, getattr(step, name))
        if not outputs_only:  # the state's names are those of this checkout
            for name in STATE:
                hash_into(h, _attribute(sim, name))
            for name in LAYOUT:
                hash_into(h, getattr(sim.layout, name))
        per_step.append(h.hexdigest()[:12])
        run.update(h.digest())
    return run.hexdigest(), per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", help="JSON file to write the digests to")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--outputs-only", action="store_true",
                        help="hash the step outputs only (for checkouts whose simulator state is named "
                             "differently)")
    parser.add_argument("--grid-kwargs", default="{}",
                        help="JSON keyword arguments added for the grid ids (intersection, town), not to the "
                             "names; e.g. '{\"pedestrians_per_crossing\": 0}' to compare with code from "
                             "before pedestrians")
    args = parser.parse_args()
    if args.compare:
        old, new = (json.load(open(path)) for path in args.compare)
        differ = 0
        for name, (run, steps) in old.items():
            other = new.get(name, [None, []])
            if other[0] != run:
                differ += 1
                pairs = enumerate(zip(steps, other[1], strict=False))
                first = next((i for i, (a, b) in pairs if a != b), None)
                print(f"DIFFERENT {name}: first at step {first}")
        print(f"{len(old)} configurations, {differ} different")
        raise SystemExit(1 if differ else 0)
    results = {}
    for env_id in IDS:
        for num_envs, kwargs in CONFIGS:
            name = f"{env_id} B={num_envs} {kwargs}"
            grid = env_id in ("DrivingIntersection-v0", "DrivingTown-v0")
            extra = json.loads(args.grid_kwargs) if grid else {}
            results[name] = digest(f"rewardlab/{env_id}", num_envs, args.steps, args.outputs_only,
                                   **kwargs, **extra)
            print(name, results[name][0][:16], flush=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
