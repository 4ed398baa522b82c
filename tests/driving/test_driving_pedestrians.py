"""Pedestrians at the crosswalks of the grid scenarios: collisions, traffic yielding, walk phases,
and pedestrians_per_crossing = 0 leaving the simulator as it was."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import rewardlab
from rewardlab.envs.driving.observation import BEV_CHANNELS
from rewardlab.envs.driving.traffic import GREEN

sys.path.insert(0, os.path.dirname(__file__))
from driving_scenes import make_scene, place_ego  # noqa: E402

INTERSECTION = "rewardlab/DrivingIntersection-v0"


def _pedestrian_ahead(sim, ahead: float) -> None:
    """Pedestrian 0 standing still on the ego's path, ``ahead`` m in front of its centre."""
    sim.pedestrians.centre_x[0, 0] = sim.ego_x[0, 0] + ahead * np.cos(sim.ego_heading[0, 0])
    sim.pedestrians.centre_y[0, 0] = sim.ego_y[0, 0] + ahead * np.sin(sim.ego_heading[0, 0])
    ped = sim.pedestrians
    ped.position[0, 0], ped.speed[0, 0], ped.wait[0, 0], ped.step_distance[0, 0] = 0.0, 0.0, 1e9, 0.0
    sim.pedestrians.crossing[0, 0] = False
    sim.pedestrians.update_pose(sim.rows)
    sim._perceive_rows(sim.rows)


def _hide_pedestrians(sim) -> None:
    """Every pedestrian far from the map, waiting for ever."""
    sim.pedestrians.centre_x[:], sim.pedestrians.centre_y[:], sim.pedestrians.wait[:] = 1e4, 1e4, 1e9
    sim.pedestrians.crossing[:] = False
    sim.pedestrians.update_pose(sim.rows)
    sim._perceive_rows(sim.rows)


@pytest.mark.parametrize("reward", ["carl", "roach"])
def test_ego_driving_into_a_pedestrian_is_a_pedestrian_collision(reward):
    sim = make_scene(INTERSECTION, reward=reward, pedestrians_per_crossing=1)
    _hide_pedestrians(sim)
    place_ego(sim, 20, speed=5.0)
    _pedestrian_ahead(sim, 3.0)  # box front at 2.3 m, pedestrian's near edge at 2.7 m
    step = sim.step(np.zeros((1, 1, 2)), autoreset=False)
    assert step.events["collision_pedestrian"][0] and step.events["collision"][0]
    assert not step.events["collision_vehicle"][0] and not step.events["collision_static"][0]
    counts = sim.infractions.counts
    assert counts["collision_pedestrian"][0, 0] == 1 and counts["collision_vehicle"][0, 0] == 0
    assert step.terminated[0]  # both presets end the episode on a collision
    if reward == "roach":  # the terminal penalty of a collision: -(1 + speed)
        assert step.terms["terminal_roach"][0, 0] == pytest.approx(1.0 + sim.ego_speed[0, 0])
    else:
        assert step.terms["terminal_carl"][0, 0] == 1.0
    # the Driving Score: route completion x 0.5 (one pedestrian collision) x (1 - outside fraction)
    m = sim._episode_metrics(sim.rows)
    length = sim.routes["length"][0, 0]
    rc = 100.0 * min(sim.progress[0, 0] / length, 1.0)
    outside = min(sim.outside_dist[0, 0] / length, 1.0)
    assert rc > 0.0
    assert m["driving_score"][0] == pytest.approx(rc * 0.5 * (1.0 - outside))
    assert m["collisions_pedestrian"][0] == 1.0 and m["collisions"][0] == 1.0


def test_pedestrian_in_the_vector_observation_and_the_bev():
    sim = make_scene(INTERSECTION, obs="bev+vector", pedestrians_per_crossing=1)
    _hide_pedestrians(sim)
    place_ego(sim, 20, speed=0.0)
    _pedestrian_ahead(sim, 8.0)
    obs = sim._observe()[0, 0]
    vec = obs[:91]
    assert vec[28] == 0.5  # present, flagged as a pedestrian
    assert vec[29] * 50 == pytest.approx(8.0, abs=1e-4) and abs(vec[30] * 50) < 1e-4
    others = vec[35:84].reshape(7, 7)  # the 3 hidden pedestrians, 10 km away (clipped at 10), then empty
    assert np.all(others[:3, 0] == 0.5) and np.all(np.hypot(others[:3, 1], others[:3, 2]) >= 10.0)
    assert not others[3:].any()
    bev = obs[91:].reshape(len(BEV_CHANNELS), 64, 64) > 0
    peds = np.argwhere(bev[BEV_CHANNELS.index("pedestrians")])
    assert len(peds) >= 1
    assert np.all(np.abs(peds[:, 0] - (48 - 8)) <= 1) and np.all(np.abs(peds[:, 1] - 32) <= 1)
    assert not bev[BEV_CHANNELS.index("vehicles")].any()
    # the rgb_array render paints the pedestrian's colour
    from rewardlab.envs.driving.render import COLOURS

    frame = sim.render_frame(0)
    assert (frame == np.array(COLOURS["pedestrians"], dtype=np.uint8)).all(axis=2).any()


def _traffic_toward_crosswalk(sim, with_pedestrian: bool):
    """Traffic vehicle 0 heading for pedestrian 0's crosswalk (east arm, beyond the junction)
    on the eastbound road's lane 0; the pedestrian stands in that lane if asked."""
    lay = sim.layout
    c = 0  # crosswalk 0: the east arm of intersection 0, crossing its east-west street
    assert sim.pedestrians.road_pos[c] == 0 and sim.pedestrians.arm[c, 0] == 1.0
    w = lay.width[0]
    sim.traffic.active[0, 0] = True
    sim.traffic.road[0, 0], sim.traffic.lane[0, 0] = 0, 0
    # past the stop line: no signal ahead
    sim.traffic.station[0, 0] = sim.pedestrians.station_pos[0, c] - 14.0
    sim.traffic.speed[0, 0], sim.traffic.desired_speed[0, 0], sim.traffic.lateral[0, 0] = 6.0, 10.0, 0.0
    assert sim.traffic.station[0, 0] > lay.stop_s[0, 0, 0]
    if with_pedestrian:
        ped = sim.pedestrians  # in lane 0, standing
        ped.position[0, c], ped.speed[0, c], ped.direction[0, c] = -0.5 * w, 0.0, 1.0
        sim.pedestrians.crossing[0, c] = True
        sim.pedestrians.step_distance[0, c] = 0.0
        sim.pedestrians.update_pose(sim.rows)
    sim._perceive_rows(sim.rows)


@pytest.mark.parametrize("with_pedestrian", [True, False])
def test_traffic_stops_for_a_pedestrian_on_its_crosswalk(with_pedestrian):
    # the town: one lane per direction, so the car cannot change lanes around the pedestrian
    sim = make_scene("rewardlab/DrivingTown-v0", pedestrians_per_crossing=1)
    _hide_pedestrians(sim)
    place_ego(sim, 5, speed=0.0)
    _traffic_toward_crosswalk(sim, with_pedestrian)
    target = sim.pedestrians.station_pos[0, 0]
    fronts = []
    for _ in range(100):
        sim.step(np.array([[[0.0, -1.0]]]), autoreset=False)
        fronts.append(sim.traffic.station[0, 0] + 0.5 * sim.traffic.length[0, 0])
    if with_pedestrian:
        assert max(fronts) < target - 0.5  # never reaches the pedestrian (entry half length 0.5 m)
        assert sim.traffic.speed[0, 0] < 0.05  # and waits, stopped
        assert fronts[-1] > target - 8.0  # close to it, not far back
    else:
        assert max(fronts) > target + 5.0  # drives through the crosswalk


def test_pedestrians_start_crossing_only_on_their_walk_phase():
    sim = rewardlab.make_sim(INTERSECTION, num_envs=16, pedestrians_per_crossing=2)
    sim.reset(seed=3)
    rng = np.random.default_rng(0)
    centre = sim.layout.centers[:, 0, :]  # the only intersection
    starts = walks_seen = 0
    for _ in range(500):
        lights = sim.cache["lights"][:, 0, :].copy()  # the signals the step starts from
        before, q_before = sim.pedestrians.crossing.copy(), sim.pedestrians.position.copy()
        step = sim.step(rng.uniform(-1, 1, (16, 1, 2)) * [0.1, 0.3], autoreset=True)
        done = step.terminated | step.truncated
        # the arm each crosswalk lies on, from its geometry: east / west arms cross the east-west
        # street and walk with the north-south green (group 0), north / south arms with group 1
        ped = sim.pedestrians
        ew_arm = np.abs(ped.centre_x - centre[:, :1]) > np.abs(ped.centre_y - centre[:, 1:])
        walk = np.where(ew_arm, lights[:, :1] == GREEN, lights[:, 1:] == GREEN)
        started = sim.pedestrians.crossing & ~before & ~done[:, None]
        assert not (started & ~walk).any()
        starts += started.sum()
        walks_seen += (walk & ~before).sum()
        # waiting pedestrians do not move; crossing ones move at their speed (or finished)
        waiting = ~before & ~sim.pedestrians.crossing & ~done[:, None]
        moved = np.abs(sim.pedestrians.position - q_before)
        assert np.all(moved[waiting] == 0.0)
        walking = before & sim.pedestrians.crossing & ~done[:, None]
        assert np.allclose(moved[walking], sim.pedestrians.speed[walking] * sim.params.dt)
    assert starts > 20 and walks_seen > starts
    lo, hi = sim.params.pedestrian_speed_range
    assert np.all((sim.pedestrians.speed >= lo) & (sim.pedestrians.speed <= hi))
    # every pedestrian stays on its crosswalk: |q| at most the curb position
    curb = sim.params.lanes_per_direction * sim.layout.width[:, None] + 1.5
    assert np.all(np.abs(sim.pedestrians.position) <= curb + 1e-9)


def test_no_pedestrians_leaves_the_simulator_as_before():
    """pedestrians_per_crossing = 0: no pedestrian objects, entries, random draws or output keys
    (bit-for-bit equality with the code from before pedestrians is checked with
    tests/driving/trajectory_digest.py --grid-kwargs, see docs/driving.md)."""
    rows = {}
    for per in (0, 1):
        sim = rewardlab.make_sim("rewardlab/DrivingTown-v0", num_envs=4, pedestrians_per_crossing=per)
        sim.reset(seed=11)
        rows[per] = sim
    none, some = rows[0], rows[1]
    assert none.num_pedestrians == 0 and some.num_pedestrians == 16  # 4 crossings x 4 crosswalks
    n, e = none.params.num_vehicles, none.num_egos
    assert none.num_objects == n + e and some.num_objects == n + e + 16
    assert none.pedestrians is None and "collision_pedestrian" not in none.infractions.counts
    # the pedestrians draw after everything else at reset: layout, routes, egos, traffic equal
    for name in ("ego_x", "ego_y", "ego_heading", "ego_speed"):
        assert np.array_equal(getattr(none, name), getattr(some, name)), name
    for name in ("station", "speed", "lane", "road", "active", "desired_speed"):
        assert np.array_equal(getattr(none.traffic, name), getattr(some.traffic, name)), name
    for name in ("length", "width", "stop_s", "centers", "green", "light_offset", "half_box"):
        assert np.array_equal(getattr(none.layout, name), getattr(some.layout, name)), name
    step = none.step(np.zeros((4, 1, 2)), autoreset=True)
    assert "collision_pedestrian" not in step.events
    step = some.step(np.zeros((4, 1, 2)), autoreset=True)
    assert "collision_pedestrian" in step.events


def test_pedestrian_parameters_are_checked():
    from rewardlab.core.errors import RewardlabError

    with pytest.raises(RewardlabError, match="pedestrians_per_crossing"):
        rewardlab.make_sim(INTERSECTION, num_envs=1, pedestrians_per_crossing=-1)
    with pytest.raises(RewardlabError, match="pedestrian_speed_range"):
        rewardlab.make_sim(INTERSECTION, num_envs=1, pedestrian_speed_range=(0.0, 1.0))
