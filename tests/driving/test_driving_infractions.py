"""Each infraction on a hand-built scene; reward presets' terminations; the Driving Score."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from rewardlab.envs.driving import infractions as inf
from rewardlab.envs.driving.traffic import RED
from rewardlab.envs.driving.vehicle import EGO_LENGTH

sys.path.insert(0, os.path.dirname(__file__))
from driving_scenes import make_scene as _sim  # noqa: E402
from driving_scenes import place_ego as _place_ego  # noqa: E402
from driving_scenes import put_vehicle as _put_vehicle  # noqa: E402


def _step(sim, steer=0.0, accel=0.0):
    return sim.step(np.array([[[steer, accel]]]))


def test_clean_driving_commits_no_infraction():
    sim = _sim(reward="roach")
    _place_ego(sim, 5, speed=15.0)
    for _ in range(10):
        step = _step(sim, 0.0, 0.0)
        assert not any(v[0] for v in step.events.values()), step.events
    assert step.terms["f_lane"][0, 0] > 0.9 and step.terms["route_progress"][0, 0] > 0


def test_vehicle_collision_terminates_carl_with_its_terminal_term():
    sim = _sim(reward="carl")
    _place_ego(sim, 20, speed=10.0)
    _put_vehicle(sim, 0, ds=3.0, speed=0.0)
    step = _step(sim)
    assert step.events["collision"][0] and step.events["collision_vehicle"][0]
    assert not step.events["collision_static"][0]
    assert step.terminated[0] and not step.truncated[0]
    t = {k: v[0, 0] for k, v in step.terms.items()}
    assert t["terminal_carl"] == 1.0
    # the terminal -1 x terminal_carl is added after the factors: exactly -1 whatever they are
    expected = t["route_progress"] * t["f_speed"] * t["f_ttc"] * t["f_comfort"] * t["f_lane"] - 1.0
    assert step.reward[0, 0] == pytest.approx(expected, abs=1e-12)
    assert step.episode_metrics["collisions"][0] == 1.0


def test_static_collision_is_its_own_infraction():
    sim = _sim(reward="carl")
    _place_ego(sim, 20, speed=5.0)
    s, d, _ = sim.layout.project(sim.rows, sim.ego_x, sim.ego_y, sim.road_hint)
    sim.obstacles.active[0, 0] = True
    sim.obstacles.road[0, 0] = 0
    sim.obstacles.lane[0, 0] = int(np.floor(-d[0, 0, 0] / sim.layout.width[0]))
    sim.obstacles.station[0, 0] = s[0, 0, 0] + 2.0
    sim.obstacles.update_pose(sim.rows)
    sim._perceive_rows(sim.rows)
    step = _step(sim)
    assert step.events["collision_static"][0] and not step.events["collision_vehicle"][0]
    assert step.episode_metrics["collisions_static"][0] == 1.0


def test_roach_gives_its_terminal_penalty_minus_speed_on_collision():
    sim = _sim(reward="roach")
    _place_ego(sim, 20, speed=12.0)
    _put_vehicle(sim, 0, ds=3.0, speed=0.0)
    step = _step(sim)
    assert step.terminated[0]
    v_after = sim.ego_speed[0, 0]
    assert step.terms["terminal_roach"][0, 0] == pytest.approx(1.0 + v_after, abs=1e-12)
    t = {k: v[0, 0] for k, v in step.terms.items()}
    # Roach: r_speed - |d_lat| / 2 - |heading error| - 0.1 [steering changed] - (1 + v)
    expected = (t["r_speed"] - t["r_position"] / 2 - t["r_rotation"] - 0.1 * t["r_action"]
                - t["terminal_roach"])
    assert step.reward[0, 0] == pytest.approx(expected, abs=1e-12)


def test_roach_terminal_is_minus_one_on_route_deviation():
    sim = _sim("rewardlab/DrivingIntersection-v0", reward="roach", route_deviation_margin=0.5)
    # the ego on the far side of the street: inside a drivable lane of the opposite direction
    w = sim.layout.width[0]
    _place_ego(sim, 10, lateral=2.5 * w, speed=2.0)
    step = _step(sim)
    assert step.events["route_deviation"][0] and not step.events["off_road"][0]
    assert step.terminated[0]
    assert step.terms["terminal_roach"][0, 0] == pytest.approx(1.0, abs=1e-12)
    assert step.reward[0, 0] < -1.0 + step.terms["r_speed"][0, 0] + 1e-12


def test_highway_preset_collision_term_and_normalisation():
    sim = _sim(reward="highway")
    _place_ego(sim, 20, speed=25.0)
    _put_vehicle(sim, 0, ds=3.0, speed=0.0)
    step = _step(sim)
    t = {k: v[0, 0] for k, v in step.terms.items()}
    assert t["hw_collision"] == 1.0 and step.terminated[0]
    expected = (-1.0 + 0.1 * t["hw_right_lane"] + 0.4 * t["hw_high_speed"] + 1.0) / 1.5 * t["hw_on_road"]
    assert step.reward[0, 0] == pytest.approx(expected, abs=1e-12)


def test_red_light_is_detected_when_crossing_on_red():
    sim = _sim("rewardlab/DrivingIntersection-v0", reward="carl")
    stop = sim.routes["stop_s"][0, 0, 0]
    idx = int(np.searchsorted(sim.routes["s"][0, 0], stop - 0.5 * EGO_LENGTH - 0.5)) - 1
    _place_ego(sim, idx, speed=20.0)  # front 0.5 - 1.5 m before the line, 2 m per step
    assert sim.cache["route_station"][0, 0] + 0.5 * EGO_LENGTH < stop
    # force the route's signal group to red: time inside the other group's green
    k, g = sim.routes["stop_light"][0, 0, 0], sim.routes["stop_group"][0, 0, 0]
    lay = sim.layout
    green0 = lay.green[0, k, 0]
    lay.light_offset[0, k] = 0.0
    sim.time[0] = 1.0 if g == 1 else green0 + lay.yellow[0, k] + lay.all_red[0, k] + 1.0
    sim._perceive_rows(sim.rows)
    assert sim.cache["lights"][0, k, g] == RED
    step = _step(sim)
    assert step.events["red_light"][0] and step.terminated[0]
    assert step.terms["terminal_carl"][0, 0] == 1.0


def test_no_red_light_when_crossing_on_green():
    sim = _sim("rewardlab/DrivingIntersection-v0", reward="carl")
    stop = sim.routes["stop_s"][0, 0, 0]
    idx = int(np.searchsorted(sim.routes["s"][0, 0], stop - 0.5 * EGO_LENGTH - 0.5)) - 1
    _place_ego(sim, idx, speed=20.0)
    k, g = sim.routes["stop_light"][0, 0, 0], sim.routes["stop_group"][0, 0, 0]
    lay = sim.layout
    lay.light_offset[0, k] = 0.0
    sim.time[0] = 1.0 if g == 0 else lay.green[0, k, 0] + lay.yellow[0, k] + lay.all_red[0, k] + 1.0
    sim._perceive_rows(sim.rows)
    step = _step(sim)
    assert sim.cache["route_station"][0, 0] + 0.5 * EGO_LENGTH >= stop  # it did cross
    assert not step.events["red_light"][0]


def test_off_road_when_the_whole_box_leaves_the_road():
    sim = _sim(reward="carl")
    _place_ego(sim, 20, lateral=2.0, speed=5.0)  # partly off: not yet off-road
    assert not _step(sim).events["off_road"][0]
    sim = _sim(reward="carl")
    _place_ego(sim, 20, lateral=25.0, speed=5.0)
    step = _step(sim)
    assert step.events["off_road"][0] and step.terminated[0]
    assert step.terms["hw_on_road"][0, 0] == 0.0


def test_blocked_after_standing_still_without_reason():
    sim = _sim(reward="carl", blocked_time=1.0)
    _place_ego(sim, 20, speed=0.0)
    seen = []
    for _ in range(12):
        step = _step(sim, 0.0, -1.0)
        seen.append(step.events["blocked"][0])
        if step.done[0]:
            break
    assert seen.index(True) == 9  # 10 steps of 0.1 s standing still


def test_not_blocked_while_queued_behind_a_vehicle():
    sim = _sim(reward="carl", blocked_time=1.0)
    _place_ego(sim, 20, speed=0.0)
    _put_vehicle(sim, 0, ds=8.0, speed=0.0)
    sim.traffic.decision_timer[:] = 1e9
    for _ in range(15):
        step = _step(sim, 0.0, -1.0)
        assert not step.events["blocked"][0]


def test_speeding_ttc_and_comfort_factors():
    sim = _sim(reward="carl")
    limit = sim.layout.speed_limit[0]
    _place_ego(sim, 20, speed=limit + 1.0)
    step = _step(sim)
    assert step.terms["f_speed"][0, 0] == pytest.approx(1.0 - (sim.ego_speed[0, 0] - limit) / 2.23, abs=1e-12)
    # a stopped car 9 m ahead: no contact yet, but inside the 0.9 s constant-velocity projection
    sim = _sim(reward="carl")
    _place_ego(sim, 20, speed=15.0)
    _put_vehicle(sim, 0, ds=EGO_LENGTH + 9.0, speed=0.0)
    step = _step(sim)
    assert not step.events["collision"][0]
    assert step.terms["f_ttc"][0, 0] == 0.5
    # full braking after 1 s of cruising (the comfort history is full): under nuPlan's bounds it
    # exceeds the longitudinal acceleration and jerk bounds, under CaRL's CARLA bounds none
    for bounds, violated in (("nuplan", True), ("carla", False)):
        sim = _sim(reward="carl", comfort_bounds=bounds)
        _place_ego(sim, 20, speed=15.0)
        for _ in range(10):
            assert _step(sim).terms["f_comfort"][0, 0] == 1.0
        step = _step(sim, 0.0, -1.0)
        k = round((1.0 - step.terms["f_comfort"][0, 0]) * 12.0)
        assert (k >= 2) if violated else (k == 0)
        assert sim.infractions.counts["comfort"][0, 0] == (1 if violated else 0)


def test_driving_score_is_rc_times_the_penalty_product():
    counts = {"collision_vehicle": np.array([2.0]), "collision_static": np.array([1.0]),
              "red_light": np.array([1.0])}
    ds = inf.driving_score(np.array([80.0]), counts, np.array([0.1]))
    assert ds[0] == pytest.approx(80.0 * 0.6 * 0.6 * 0.65 * 0.7 * 0.9, rel=1e-12)
    # end to end: one collision under a reward that does not terminate, then the time limit
    sim = _sim(reward={"preset": "carl", "terminate_on": []}, max_steps=20)
    _place_ego(sim, 20, speed=10.0)
    _put_vehicle(sim, 0, ds=3.0, speed=0.0)
    for _ in range(20):
        step = _step(sim, 0.0, 0.0)
    assert step.truncated[0]
    m = {k: v[0] for k, v in step.episode_metrics.items()}
    assert m["collisions_vehicle"] == 1.0
    expected = m["route_completion"] * 0.6 * (1 - m["outside_lanes"] / 100)
    assert m["driving_score"] == pytest.approx(expected, rel=1e-9)
    assert m["infractions"] >= 1.0
