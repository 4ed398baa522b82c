"""Discrete meta-actions: lane and speed targets reached by the low-level controller."""

from __future__ import annotations

import os
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rewardlab.envs.driving.control import FASTER, IDLE, LANE_LEFT, LANE_RIGHT, SLOWER

sys.path.insert(0, os.path.dirname(__file__))
from driving_scenes import make_scene, place_ego  # noqa: E402


def test_discrete_env_passes_the_checker():
    env = gym.make("rewardlab/DrivingHighway-v0", action="discrete")
    assert isinstance(env.action_space, gym.spaces.Discrete) and env.action_space.n == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped, skip_render_check=True)


def test_meta_actions_change_lane_and_speed():
    sim = make_scene(reward={"preset": "carl", "terminate_on": []}, action="discrete", route_length=640.0)
    nl = int(sim.layout.lanes[0])
    lane = min(int(sim.routes["start_lane"][0, 0]), nl - 1)
    place_ego(sim, 10, speed=20.0)
    sim.meta_speed[:] = 20.0
    target = LANE_LEFT if lane > 0 else LANE_RIGHT
    sim.step(np.array([[target]]))
    for _ in range(40):
        sim.step(np.array([[IDLE]]))
    w = sim.layout.width[0]
    expected = w if target == LANE_LEFT else -w
    assert sim.cache["d_lat"][0, 0] == pytest.approx(expected, abs=0.3)  # one lane over
    for _ in range(2):
        sim.step(np.array([[FASTER]]))
    for _ in range(50):
        sim.step(np.array([[IDLE]]))
    assert sim.ego_active[0, 0]
    assert sim.ego_speed[0, 0] == pytest.approx(min(30.0, sim.layout.speed_limit[0] + 5.0), abs=0.2)
    sim.step(np.array([[SLOWER]]))
    for _ in range(40):
        sim.step(np.array([[IDLE]]))
    assert sim.ego_active[0, 0]
    assert sim.meta_speed[0, 0] == pytest.approx(min(30.0, sim.layout.speed_limit[0] + 5.0) - 5.0)
    assert sim.ego_speed[0, 0] == pytest.approx(sim.meta_speed[0, 0], abs=0.2)


def test_lane_target_stays_on_the_road():
    sim = make_scene(reward="carl", action="discrete")
    place_ego(sim, 10, speed=15.0)
    for _ in range(6):
        sim.step(np.array([[LANE_LEFT]]))
    left = sim.routes["lanes_left"][0, 0, sim.route_idx[0, 0]]
    assert sim.meta_lane[0, 0] == left
