"""The heuristic route driver completes most routes with a high Driving Score."""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab
from rewardlab.baselines.driving import RouteDriver, evaluate


@pytest.mark.parametrize(
    "env_id, min_ds",
    [("rewardlab/DrivingHighway-v0", 85.0), ("rewardlab/DrivingIntersection-v0", 85.0),
     ("rewardlab/DrivingTown-v0", 75.0)],
)
def test_route_driver_reference_driving_score(env_id, min_ds):
    m = evaluate(env_id, episodes=24, seed=100, reward={"preset": "carl", "terminate_on": []})
    assert m["driving_score"] >= min_ds, m
    assert m["route_completion"] >= 85.0, m
    assert m["red_lights"] <= 0.1 and m["off_road"] == 0.0 and m["route_deviation"] == 0.0, m


def test_route_driver_beats_doing_nothing_under_carl():
    sim = rewardlab.make_sim("rewardlab/DrivingHighway-v0", num_envs=8, reward="carl")
    driver = RouteDriver(sim)
    sim.reset(seed=3)
    total_driver = np.zeros(8)
    for _ in range(100):
        total_driver += sim.step(driver.act()).reward[:, 0]
    sim.reset(seed=3)
    total_idle = np.zeros(8)
    for _ in range(100):
        total_idle += sim.step(np.zeros((8, 1, 2))).reward[:, 0]
    assert (total_driver > total_idle).all()
