"""Golden trajectories: the driving simulators' outputs, hashed step by step, must not change.

For each driving id at B = 1 and B = 8, a seeded random policy drives 300 steps with autoreset;
every step's observations, reward, raw reward terms, terminations, truncations, events, info and
episode metrics and returns are hashed (SHA-1 over dtype, shape and bytes) and compared with
``driving_golden.json``, recorded from the simulator before it was split into modules. A
restructuring that keeps the simulator's arithmetic must keep every hash.

The hashes hold for the NumPy build and CPU they were recorded on (transcendental functions may
differ in the last bit elsewhere, and a trajectory amplifies such a bit). On another platform,
re-record them from a commit known to be good::

    python tests/driving/test_driving_golden.py --write
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np
import pytest

import rewardlab

FIXTURE = Path(__file__).with_name("driving_golden.json")
IDS = ("DrivingHighway-v0", "DrivingIntersection-v0", "DrivingTown-v0", "DrivingMultiEgo-v0")
BATCHES = (1, 8)
STEPS = 300
# what is hashed, grouped so that a failure names the part of the output that changed
GROUPS = {
    "observations": ("obs", "final_obs"),
    "rewards": ("reward", "terms", "episode_returns"),
    "ends": ("terminated", "truncated", "events"),
    "info": ("info", "episode_metrics"),
}


def hash_into(h, value) -> None:
    """Feed ``value`` (an array, None, or a dict of them, keys in sorted order) into the hash ``h``."""
    if isinstance(value, dict):
        for key in sorted(value):
            h.update(key.encode())
            hash_into(h, value[key])
    elif value is None:
        h.update(b"None")
    else:
        a = np.ascontiguousarray(value)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())


def record(env_id: str, num_envs: int, steps: int = STEPS) -> dict[str, list[str]]:
    """Per group, the short hash of every step's outputs."""
    sim = rewardlab.make_sim(f"rewardlab/{env_id}", num_envs=num_envs)
    sim.reset(seed=2024)
    rng = np.random.default_rng(11)
    out: dict[str, list[str]] = {group: [] for group in GROUPS}
    for _ in range(steps):
        # steering scaled down so that episodes last long enough to meet traffic and signals
        actions = rng.uniform(-1.0, 1.0, (num_envs, sim.num_egos, 2)) * np.array([0.3, 1.0])
        step = sim.step(actions, autoreset=True)
        for group, names in GROUPS.items():
            h = hashlib.sha1()
            for name in names:
                h.update(name.encode())
                hash_into(h, getattr(step, name))
            out[group].append(h.hexdigest()[:12])
    return out


def _key(env_id: str, num_envs: int) -> str:
    return f"{env_id} B={num_envs}"


@pytest.mark.parametrize("num_envs", BATCHES)
@pytest.mark.parametrize("env_id", IDS)
def test_driving_outputs_match_golden_hashes(env_id, num_envs):
    golden = json.loads(FIXTURE.read_text())
    expected = golden["runs"][_key(env_id, num_envs)]
    got = record(env_id, num_envs)
    where = (f"(recorded with NumPy {golden['numpy']} on {golden['machine']}; "
             f"here NumPy {np.__version__} on {platform.machine()})")
    for group in GROUPS:
        pairs = enumerate(zip(expected[group], got[group], strict=True))
        first = next((i for i, (a, b) in pairs if a != b), None)
        assert first is None, f"{env_id} B={num_envs}: {group} differ from step {first} on {where}"


def test_golden_runs_cover_episode_ends():
    """The fixture's runs reach the resets: in the town at B = 8 several episodes end (and restart)."""
    sim = rewardlab.make_sim("rewardlab/DrivingTown-v0", num_envs=8)
    sim.reset(seed=2024)
    rng = np.random.default_rng(11)
    ended = 0
    for _ in range(STEPS):
        step = sim.step(rng.uniform(-1.0, 1.0, (8, 1, 2)) * np.array([0.3, 1.0]), autoreset=True)
        ended += int(np.count_nonzero(step.terminated | step.truncated))
    assert ended >= 4


def main() -> None:
    if sys.argv[1:] != ["--write"]:
        raise SystemExit(__doc__)
    runs = {_key(env_id, b): record(env_id, b) for env_id in IDS for b in BATCHES}
    golden = {"numpy": np.__version__, "machine": platform.machine(), "runs": runs}
    FIXTURE.write_text(json.dumps(golden) + "\n")
    print(f"wrote {FIXTURE} ({len(runs)} runs)")


if __name__ == "__main__":
    main()
