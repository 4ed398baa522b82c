"""Reference Driving Scores: the IDM/pure-pursuit route driver on every driving scenario.

    python examples/driving_route_driver.py [--episodes 64] [--seed 1000]

One episode per instance, batched; the reward preset is ``carl`` with its infraction
terminations switched off (``terminate_on=[]``) so that every route is driven to its end or to
the time limit and all infractions are counted, as the CARLA leaderboard does.
"""

from __future__ import annotations

import argparse

from rewardlab.baselines.driving import evaluate

SCENARIOS = ("rewardlab/DrivingHighway-v0", "rewardlab/DrivingIntersection-v0", "rewardlab/DrivingTown-v0",
             "rewardlab/DrivingMultiEgo-v0")
COLUMNS = ("driving_score", "route_completion", "route_completed", "collisions", "red_lights", "off_road",
           "route_deviation", "blocked", "speeding", "ttc_violations", "comfort_violations")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    print("| scenario | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for env_id in SCENARIOS:
        m = evaluate(env_id, episodes=args.episodes, seed=args.seed, reward={"preset": "carl", "terminate_on": []})
        m["route_completed"] *= 100.0  # percent of routes finished
        print(f"| {env_id.split('/')[1]} | " + " | ".join(f"{m[c]:.2f}" for c in COLUMNS) + " |")


if __name__ == "__main__":
    main()
