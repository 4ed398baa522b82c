"""Soak every registered id with adversarial actions and count what happens (outside CI).

    python tools/soak.py                       # 100,000 steps per id, every id
    python tools/soak.py --steps 2000 --ids rewardlab/CoopSLCD-v0 rewardlab/DrivingTown-v0
    python tools/soak.py --json soak.json      # also write the counts as JSON

Each step draws one kind of action for a single-instance simulator (``make_sim(id)``):

==================  ====================================================  ==================
kind                what                                                  documented outcome
==================  ====================================================  ==================
valid               uniform inside the action space                       stepped
boundary            every entry at its lower or upper bound               stepped
out_of_range        Box: beyond the bounds, up to +-1e300                 stepped (clipped)
                    discrete: one past either end                         RewardlabError
nonfinite           NaN, +inf or -inf in one entry                        RewardlabError
wrong_dtype         strings, booleans; non-integral floats (discrete)     RewardlabError
wrong_shape         an extra axis, a missing entry, a ragged list         RewardlabError
==================  ====================================================  ==================

Episodes restart when they end. It counts, per id: steps, outcomes per kind (stepped, a
RewardlabError, any other exception by type), steps whose observation, reward or any raw term
held NaN or inf, and observations outside their space; the exit status is 1 if any step broke a
documented outcome.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

import numpy as np
from gymnasium import spaces

KINDS = ("valid", "boundary", "out_of_range", "nonfinite", "wrong_dtype", "wrong_shape")


def _action(kind: str, sim, rng: np.random.Generator):
    """One action of ``kind`` and whether the documented outcome is a RewardlabError."""
    shape = sim._actions_shape
    box = isinstance(sim.action_spaces[0], spaces.Box)
    if box:
        low, high = sim._clip_low, sim._clip_high
    else:
        low = np.broadcast_to(np.asarray(sim._discrete_bounds[0]), shape)
        high = np.broadcast_to(np.asarray(sim._discrete_bounds[1]), shape)
    if kind == "valid":
        if box:
            return rng.uniform(low, high), False
        return rng.integers(low, high), False
    if kind == "boundary":
        pick = rng.random(shape) < 0.5
        return (np.where(pick, low, high) if box else np.where(pick, low, high - 1)), False
    if kind == "out_of_range":
        sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        if box:
            return np.where(sign < 0, low, high) + sign * 10.0 ** rng.uniform(-3, 300, shape), False
        return np.where(sign < 0, low - 1, high).astype(np.int64), True
    if kind == "nonfinite":
        action = (rng.uniform(low, high) if box else rng.integers(low, high)).astype(np.float64)
        action.flat[rng.integers(action.size)] = rng.choice([np.nan, np.inf, -np.inf])
        return action, True
    if kind == "wrong_dtype":
        return _wrong_dtype_action(shape, box, low, high, rng), True
    return _wrong_shape_action(shape, rng), True


def _wrong_dtype_action(shape: tuple, box: bool, low: np.ndarray, high: np.ndarray, rng: np.random.Generator):
    """An action of the right shape and the wrong dtype: strings, booleans, objects or fractions."""
    choice = rng.integers(3)
    if choice == 0:
        return np.full(shape, "0.5")
    if choice == 1:
        return np.zeros(shape, dtype=bool)
    if box:
        return np.full(shape, "x", dtype=object)
    return rng.integers(low, high) + 0.5


def _wrong_shape_action(shape: tuple, rng: np.random.Generator):
    """An action of the wrong shape: an extra axis, one number short, or ragged."""
    choice = rng.integers(3)
    if choice == 0:
        return np.zeros((*shape, 2))
    if choice == 1:
        return np.zeros(int(np.prod(shape)) - 1) if np.prod(shape) > 1 else np.zeros(2)
    return [[0.0], [0.0, 0.0]]


def soak(env_id: str, steps: int, seed: int) -> dict:
    from rewardlab.core.errors import RewardlabError
    from rewardlab.core.registry import make_sim

    sim = make_sim(env_id)
    sim.reset(seed=seed)
    rng = np.random.default_rng(seed)
    outcomes: Counter = Counter()
    broken: Counter = Counter()
    nonfinite_steps = outside_space = 0
    started = time.perf_counter()
    for _ in range(steps):
        kind = KINDS[rng.integers(len(KINDS))]
        action, should_raise = _action(kind, sim, rng)
        try:
            step = sim.step(action, autoreset=True)
        except RewardlabError:
            outcomes[f"{kind}:RewardlabError"] += 1
            if not should_raise:
                broken[f"{kind}: RewardlabError for an action that should step"] += 1
            continue
        except Exception as err:  # noqa: BLE001 - counted and reported: the point of a soak
            outcomes[f"{kind}:{type(err).__name__}"] += 1
            broken[f"{kind}: {type(err).__name__}: {str(err)[:120]}"] += 1
            continue
        outcomes[f"{kind}:stepped"] += 1
        if should_raise:
            broken[f"{kind}: stepped, expected a RewardlabError"] += 1
        values = [step.obs, step.reward, *step.terms.values()]
        if not all(np.all(np.isfinite(np.asarray(v, dtype=np.float64))) for v in values):
            nonfinite_steps += 1
        obs = step.final_obs if step.final_obs is not None else step.obs
        for i, space in enumerate(sim.observation_spaces):
            if not space.contains(np.asarray(obs[0, i], dtype=space.dtype)):
                outside_space += 1
                break
    sim.close()
    return {
        "id": env_id,
        "steps": steps,
        "outcomes": dict(sorted(outcomes.items())),
        "nonfinite_steps": nonfinite_steps,
        "obs_outside_space": outside_space,
        "broken": dict(broken),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="adversarial steps per id (default 100000)")
    parser.add_argument("--ids", nargs="*", default=None, help="ids to soak (default: every registered id)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the counts to this JSON file")
    args = parser.parse_args(argv)

    from rewardlab.core.registry import all_specs

    ids = args.ids or [spec.id for spec in all_specs()]
    results = []
    for env_id in ids:
        result = soak(env_id, args.steps, args.seed)
        results.append(result)
        errors = sum(v for k, v in result["outcomes"].items() if not k.endswith(":stepped"))
        print(f"{env_id:45s} {result['steps']:>8d} steps  {errors:>7d} rejected  "
              f"nonfinite {result['nonfinite_steps']}  outside {result['obs_outside_space']}  "
              f"broken {sum(result['broken'].values())}  ({result['seconds']} s)", flush=True)
        for what, count in result["broken"].items():
            print(f"    {count:>7d} x {what}", flush=True)
    totals: Counter = Counter()
    for result in results:
        for key, value in result["outcomes"].items():
            totals[key.split(":", 1)[1] if not key.endswith(":stepped") else "stepped"] += value
    summary = {
        "ids": len(results),
        "steps": sum(r["steps"] for r in results),
        "outcomes": dict(sorted(totals.items())),
        "nonfinite_steps": sum(r["nonfinite_steps"] for r in results),
        "obs_outside_space": sum(r["obs_outside_space"] for r in results),
        "broken": sum(sum(r["broken"].values()) for r in results),
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"summary": summary, "per_id": results}, handle, indent=1)
    return 1 if summary["broken"] or summary["nonfinite_steps"] or summary["obs_outside_space"] else 0


if __name__ == "__main__":
    sys.exit(main())
