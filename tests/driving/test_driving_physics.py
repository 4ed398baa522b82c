"""Kinematics, IDM, lane bookkeeping and signals of the driving family, against independent forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

import rewardlab
from rewardlab.envs.driving.traffic import (
    GREEN,
    RED,
    YELLOW,
    IDMParams,
    RoadIndex,
    idm_acceleration,
    idm_equilibrium_gap,
    lane_leaders,
    light_states,
)
from rewardlab.envs.driving.vehicle import bicycle_step, box_corners, boxes_overlap

LF = LR = 1.4


def test_bicycle_straight_line_matches_constant_acceleration():
    x, y, psi, v = np.zeros(1), np.zeros(1), np.array([0.3]), np.array([10.0])
    dt, a = 0.1, 1.5
    for k in range(1, 31):
        x, y, psi, v, _ = bicycle_step(x, y, psi, v, np.array([a]), np.zeros(1), dt, LF, LR, 40.0)
        t = k * dt
        dist = 10.0 * t + 0.5 * a * t * t
        np.testing.assert_allclose([x[0], y[0]], [dist * np.cos(0.3), dist * np.sin(0.3)], atol=1e-9)
        assert v[0] == pytest.approx(10.0 + a * t, abs=1e-12)
        assert psi[0] == pytest.approx(0.3, abs=1e-12)


def test_bicycle_braking_stops_at_closed_form_distance():
    x, y, psi, v = np.zeros(1), np.zeros(1), np.zeros(1), np.array([5.0])
    x, y, psi, v, _ = bicycle_step(x, y, psi, v, np.array([-8.0]), np.zeros(1), 1.0, LF, LR, 40.0)
    assert v[0] == 0.0
    assert x[0] == pytest.approx(5.0**2 / (2 * 8.0), abs=1e-12)


@pytest.mark.parametrize("delta", [0.05, -0.2, 0.45])
def test_bicycle_constant_steering_traces_the_closed_form_circle(delta):
    v0, dt, psi0 = 8.0, 0.1, 0.7
    beta = np.arctan(LR / (LF + LR) * np.tan(delta))
    radius = LR / np.sin(beta)  # signed: positive turns left
    center = np.array([-radius * np.sin(psi0 + beta), radius * np.cos(psi0 + beta)])
    x, y, psi, v = np.zeros(1), np.zeros(1), np.array([psi0]), np.array([v0])
    for k in range(1, 80):
        x, y, psi, v, yaw_rate = bicycle_step(x, y, psi, v, np.zeros(1), np.array([delta]), dt, LF, LR, 40.0)
        heading = psi0 + v0 * k * dt / radius
        expected = center + radius * np.array([np.sin(heading + beta), -np.cos(heading + beta)])
        np.testing.assert_allclose([x[0], y[0]], expected, atol=1e-9)
        assert np.cos(psi[0] - heading) == pytest.approx(1.0, abs=1e-12)
        assert yaw_rate[0] == pytest.approx(v0 / radius, rel=1e-9)


def _segments_intersect(p1, p2, q1, q2):
    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    return orient(p1, p2, q1) != orient(p1, p2, q2) and orient(q1, q2, p1) != orient(q1, q2, p2)


def _inside(point, corners):
    signs = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        signs.append(np.sign((b[0] - a[0]) * (point[1] - a[1]) - (b[1] - a[1]) * (point[0] - a[0])))
    return all(s >= 0 for s in signs) or all(s <= 0 for s in signs)


def test_box_overlap_matches_edge_and_corner_tests():
    rng = np.random.default_rng(0)
    n = 400
    def boxes():  # x, y, heading, length, width
        return (rng.uniform(-3, 3, n), rng.uniform(-3, 3, n), rng.uniform(-np.pi, np.pi, n),
                rng.uniform(2, 5, n), rng.uniform(1, 2.5, n))

    a = boxes()
    b = boxes()
    sat = boxes_overlap(*a, *b)
    ca, cb = box_corners(*a), box_corners(*b)
    for i in range(n):
        brute = any(_inside(p, cb[i]) for p in ca[i]) or any(_inside(p, ca[i]) for p in cb[i]) or any(
            _segments_intersect(ca[i][j], ca[i][(j + 1) % 4], cb[i][k], cb[i][(k + 1) % 4])
            for j in range(4) for k in range(4))
        assert sat[i] == brute, i
    assert 0.1 < sat.mean() < 0.9  # both outcomes exercised


def test_idm_equilibrium_gap_closed_form_and_steady_state():
    p = IDMParams()
    v0 = 30.0
    for v in (5.0, 15.0, 25.0):
        root = brentq(lambda g, v=v: idm_acceleration(np.array(v), v0, np.array(g), 0.0, p), 0.5, 1e4)
        assert idm_equilibrium_gap(v, v0, p) == pytest.approx(root, rel=1e-9)
    # a follower behind a leader at constant 20 m/s settles at the equilibrium gap
    v_lead, dt = 20.0, 0.05
    gap, v = 60.0, 12.0
    for _ in range(int(120 / dt)):
        a = idm_acceleration(np.array(v), v0, np.array(gap), v - v_lead, p)
        v_new = max(v + a * dt, 0.0)
        gap += (v_lead - 0.5 * (v + v_new)) * dt
        v = v_new
    assert v == pytest.approx(v_lead, abs=1e-4)
    assert gap == pytest.approx(idm_equilibrium_gap(v_lead, v0, p), rel=1e-4)


def test_idm_platoon_in_the_simulator_settles_at_the_equilibrium_gap():
    """Two traffic vehicles on one lane of a highway sim, stepped by the sim's own traffic model."""
    sim = rewardlab.make_sim("rewardlab/DrivingHighway-v0", num_envs=1, reward="highway")
    sim.reset(seed=0)
    sim.ego_x[:] = 1e4  # park the ego far away from every lane
    sim._update_frenet(sim.rows)
    sim.traffic.active[:] = False
    sim.obstacles.active[:] = False
    v_lead, v0 = 18.0, 30.0
    sim.traffic.active[0, :2] = True
    sim.traffic.road[0, :2] = 0
    sim.traffic.lane[0, :2] = 0
    sim.traffic.station[0, :2] = [-900.0, -960.0]  # far upstream: the unseen part of the road goes on
    sim.traffic.speed[0, :2] = [v_lead, 10.0]
    sim.traffic.desired_speed[0, :2] = [v_lead, v0]  # the leader is at its desired speed: it holds it exactly
    sim.traffic.length[0, :2] = 4.5
    sim.traffic.decision_timer[0, :2] = 1e9  # no lane changes
    for _ in range(600):
        sim._move_road_users()
    gap = sim.traffic.station[0, 0] - sim.traffic.station[0, 1] - 4.5
    assert sim.traffic.speed[0, 0] == pytest.approx(v_lead, abs=1e-9)
    assert sim.traffic.speed[0, 1] == pytest.approx(v_lead, abs=1e-3)
    assert gap == pytest.approx(idm_equilibrium_gap(v_lead, v0, sim.params.idm), rel=1e-3)


def test_light_states_follow_the_two_phase_cycle():
    green = np.array([[[10.0, 7.0]]])
    yellow, all_red, offset = np.array([[3.0]]), np.array([[2.0]]), np.array([[4.0]])
    cycle = 10 + 7 + 2 * (3 + 2)
    for t in np.arange(0.0, 60.0, 0.1):
        phase = (t + 4.0) % cycle
        expect0 = GREEN if phase < 10 else YELLOW if phase < 13 else RED
        start1 = 15.0
        expect1 = (GREEN if start1 <= phase < start1 + 7
                   else YELLOW if start1 + 7 <= phase < start1 + 10 else RED)
        got = light_states(np.array([t]), green, yellow, all_red, offset)[0, 0]
        assert tuple(got) == (expect0, expect1), t
        assert not (got[0] != RED and got[1] != RED)  # never both groups moving


def test_road_index_neighbours_in_any_lane_match_brute_force():
    rng = np.random.default_rng(2)
    b, m, slots, roads = 4, 40, 3, 2
    road = rng.integers(0, roads, (b, m))
    slot = rng.integers(0, slots, (b, m))
    s = rng.uniform(-100, 500, (b, m))
    active = rng.random((b, m)) < 0.85
    index = RoadIndex(road, slot, s, active, slots)
    for target in range(slots):
        lead, foll = index.neighbours(np.full((b, m), target))
        for i in range(b):
            for j in range(m):
                if not active[i, j]:
                    continue
                cand = [k for k in range(m)
                        if active[i, k] and k != j and road[i, k] == road[i, j] and slot[i, k] == target]
                ahead = [k for k in cand if s[i, k] > s[i, j]]
                behind = [k for k in cand if s[i, k] < s[i, j]]
                assert lead[i, j] == (min(ahead, key=lambda k: s[i, k]) if ahead else -1)
                assert foll[i, j] == (max(behind, key=lambda k: s[i, k]) if behind else -1)


def test_lane_leaders_match_brute_force():
    rng = np.random.default_rng(3)
    b, m, count = 5, 36, 30
    lane = rng.integers(0, 5, (b, m))
    s = rng.uniform(-100, 500, (b, m))
    active = rng.random((b, m)) < 0.8
    leader = lane_leaders(lane, s, active, count)
    for i in range(b):
        for j in range(count):
            if not active[i, j]:
                continue
            ahead = [k for k in range(m) if active[i, k] and lane[i, k] == lane[i, j] and s[i, k] > s[i, j]]
            assert leader[i, j] == (min(ahead, key=lambda k: s[i, k]) if ahead else -1)
