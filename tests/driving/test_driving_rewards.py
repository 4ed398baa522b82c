"""The driving rewards against hand computations: Roach's speed term, CaRL's lane factor and
penalty windows, the presets' weights; and the route driver against policies that quit."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import rewardlab
from rewardlab.baselines.driving import QUITTING, episode_returns
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.driving import infractions as inf
from rewardlab.envs.driving import rewards as rw
from rewardlab.envs.driving.params import DrivingParams
from rewardlab.envs.driving.traffic import RED
from rewardlab.envs.driving.vehicle import EGO_LENGTH

sys.path.insert(0, os.path.dirname(__file__))
from driving_scenes import make_scene, place_ego, put_vehicle  # noqa: E402

INTERSECTION = "rewardlab/DrivingIntersection-v0"


def _step(sim, steer=0.0, accel=0.0):
    return sim.step(np.array([[[steer, accel]]]))


def _ramp(d, d0):
    """Roach's hazard ramp clip(d - d0, 0, 5) / 5, written out."""
    return min(max(d - d0, 0.0), 5.0) / 5.0


def _v_des_behind_vehicle(v_max, d):
    """Roach's desired speed with one vehicle ahead at ``d``: a hazard only within 9.5 m."""
    return v_max * (_ramp(d, 8.0) if d <= 9.5 else 1.0)


def _distance_to_vehicle(sim, i):
    x, y, _ = sim.traffic.pose()
    return float(np.hypot(x[0, i] - sim.ego_x[0, 0], y[0, i] - sim.ego_y[0, 0]))


# ----------------------------------------------------------------- Roach's speed term
def test_roach_speed_at_standstill_and_at_the_limit_without_hazards():
    sim = make_scene(reward="roach")
    limit = sim.layout.speed_limit[0]
    place_ego(sim, 20, speed=0.0)
    step = _step(sim, 0.0, -1.0)
    assert sim.ego_speed[0, 0] == 0.0
    # v_des = v_max = the limit: 1 - |0 - limit| / limit = 0
    assert step.terms["r_speed"][0, 0] == pytest.approx(0.0, abs=1e-12)
    sim = make_scene(reward="roach")
    place_ego(sim, 20, speed=limit)
    step = _step(sim)
    assert sim.ego_speed[0, 0] == pytest.approx(limit, abs=1e-12)
    assert step.terms["r_speed"][0, 0] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("case", ["standstill", "at_v_des", "at_limit"])
def test_roach_speed_behind_a_hazard_vehicle(case):
    """A car 9 m ahead after the step (centre to centre, inside Roach's 9.5 m range):
    v_des = limit x (9 - 8) / 5 = 0.2 limit."""
    sim = make_scene(reward="roach")
    limit = sim.layout.speed_limit[0]
    # standstill: both stand; at v_des: both drive at 0.2 limit (the gap stays); at the limit:
    # the car stands 9 m + one step of the ego's travel ahead
    speed, lead, gap = {"standstill": (0.0, 0.0, 9.0), "at_v_des": (0.2 * limit, 0.2 * limit, 9.0),
                        "at_limit": (limit, 0.0, 9.0 + 0.1 * limit)}[case]
    place_ego(sim, 20, speed=speed)
    put_vehicle(sim, 0, ds=gap, speed=lead)
    step = _step(sim, 0.0, -1.0 if case == "standstill" else 0.0)
    assert not step.events["collision"][0]
    d = _distance_to_vehicle(sim, 0)
    assert d == pytest.approx(9.0, abs=0.1)  # the standing car creeps (IDM toward 1 m/s)
    v = sim.ego_speed[0, 0]
    v_des = _v_des_behind_vehicle(limit, d)
    assert step.terms["r_speed"][0, 0] == pytest.approx(1.0 - abs(v - v_des) / limit, abs=1e-9)
    # by case, with v_des = 0.2 limit: 1 - 0.2, 1, 1 - (limit - 0.2 limit) / limit = 0.2
    expected = {"standstill": 0.8, "at_v_des": 1.0, "at_limit": 0.2}[case]
    assert step.terms["r_speed"][0, 0] == pytest.approx(expected, abs=0.02)
    assert 0.0 < v_des < 0.3 * limit


def test_roach_ignores_vehicles_beyond_its_range_and_beside_the_ego():
    sim = make_scene(reward="roach")
    limit = sim.layout.speed_limit[0]
    place_ego(sim, 20, speed=limit)
    put_vehicle(sim, 0, ds=12.0, speed=limit)  # 12 m > 9.5 m: no hazard, v_des = limit
    step = _step(sim)
    assert step.terms["r_speed"][0, 0] == pytest.approx(1.0, abs=1e-9)


def test_roach_fixed_six_metres_per_second_option():
    """Roach's original v_max = 6 m/s: at the limit the error is divided by 6."""
    sim = make_scene(reward="roach", roach_max_speed=6.0)
    limit = sim.layout.speed_limit[0]
    place_ego(sim, 20, speed=limit)
    step = _step(sim)
    assert step.terms["r_speed"][0, 0] == pytest.approx(1.0 - (limit - 6.0) / 6.0, abs=1e-9)
    sim = make_scene(reward="roach", roach_max_speed=6.0)
    place_ego(sim, 20, speed=0.0)
    put_vehicle(sim, 0, ds=9.0, speed=0.0)
    step = _step(sim, 0.0, -1.0)
    d = _distance_to_vehicle(sim, 0)
    assert step.terms["r_speed"][0, 0] == pytest.approx(1.0 - _v_des_behind_vehicle(6.0, d) / 6.0, abs=1e-9)
    assert step.terms["r_speed"][0, 0] == pytest.approx(1.0 - 0.2, abs=0.02)


def test_roach_speed_before_a_red_light():
    """The stop line 7 m from the ego's centre on red: v_des = limit x (7 - 5) / 5."""
    sim = make_scene(INTERSECTION, reward="roach")
    limit = sim.layout.speed_limit[0]
    stop = sim.routes["stop_s"][0, 0, 0]
    idx = int(np.searchsorted(sim.routes["s"][0, 0], stop - 7.0))
    place_ego(sim, idx, speed=0.0)
    k, g = sim.routes["stop_light"][0, 0, 0], sim.routes["stop_group"][0, 0, 0]
    lay = sim.layout
    lay.light_offset[0, k] = 0.0
    sim.time[0] = 1.0 if g == 1 else lay.green[0, k, 0] + lay.yellow[0, k] + lay.all_red[0, k] + 1.0
    sim._perceive_rows(sim.rows)
    assert sim.cache["lights"][0, k, g] == RED
    step = _step(sim, 0.0, -1.0)
    d = sim.cache["stop_dist"][0, 0] + 0.5 * EGO_LENGTH
    assert 6.0 < d < 8.0
    v_des = limit * _ramp(d, 5.0)
    assert sim.ego_speed[0, 0] == 0.0
    assert step.terms["r_speed"][0, 0] == pytest.approx(1.0 - v_des / limit, abs=1e-9)


def _objects(x, y, cos_heading=1.0, pedestrian=False, on_road=True):
    one = np.ones((1, 1, 1))
    return dict(objects_x=one * x, objects_y=one * y, objects_cos_heading=one * cos_heading,
                objects_pedestrian=one.astype(bool) & pedestrian, objects_on_road=one.astype(bool) & on_road,
                objects_present=one.astype(bool))


def _hazards(**objects):
    m = rw.Measurements.__new__(rw.Measurements)
    for k, v in objects.items():
        setattr(m, k, v)
    return rw.roach_hazard_distances(m)


def test_roach_hazard_cones():
    # a vehicle 6 m ahead, 5 m to the side: 39.8 degrees off (< 45), 7.8 m away
    d_v, d_p = _hazards(**_objects(6.0, 5.0))
    assert d_v[0, 0] == pytest.approx(np.hypot(6.0, 5.0)) and d_p[0, 0] == np.inf
    # 5 m ahead, 6 m to the side: 50.2 degrees: none; oncoming (160 degrees): none
    assert _hazards(**_objects(5.0, 6.0))[0][0, 0] == np.inf
    assert _hazards(**_objects(6.0, 0.0, cos_heading=np.cos(np.radians(160))))[0][0, 0] == np.inf
    # a pedestrian 8 m ahead: cone 162 / 8.3 = 19.5 degrees; at 15 degrees a hazard, at 25 none
    for angle, hazard in ((15.0, True), (25.0, False)):
        x, y = 8.0 * np.cos(np.radians(angle)), 8.0 * np.sin(np.radians(angle))
        d_v, d_p = _hazards(**_objects(x, y, pedestrian=True))
        assert d_v[0, 0] == np.inf
        assert (d_p[0, 0] == pytest.approx(8.0)) if hazard else d_p[0, 0] == np.inf
    # a pedestrian at the curb (off the carriageway) is none
    assert _hazards(**_objects(5.0, 0.0, pedestrian=True, on_road=False))[1][0, 0] == np.inf
    # the desired speed from each hazard's own standoff
    v = rw.roach_desired_speed(20.0, np.array(9.0), np.array(9.0), np.array(np.inf))
    assert v == pytest.approx(20.0 * min(_ramp(9.0, 8.0), _ramp(9.0, 6.0)))
    no_hazard = np.array(np.inf)
    assert rw.roach_desired_speed(20.0, no_hazard, no_hazard, np.array(7.5)) == pytest.approx(10.0)


def test_roach_preset_weights_give_roach_sum():
    sim = make_scene(reward="roach")
    place_ego(sim, 20, lateral=0.7, speed=10.0, heading_offset=0.05)
    sim.steer_prev[0, 0] = 0.3
    step = _step(sim, 0.0, 0.0)
    t = {k: v[0, 0] for k, v in step.terms.items()}
    assert t["r_action"] == 1.0 and t["r_position"] > 0.5 and t["r_rotation"] > 0.0
    hand = t["r_speed"] - t["r_position"] / 2.0 - t["r_rotation"] - 0.1 - t["terminal_roach"]
    assert step.reward[0, 0] == pytest.approx(hand, abs=1e-12)


# ----------------------------------------------------------------- CaRL's lane factor
def test_lane_factor_in_a_neighbouring_lane_of_the_route():
    """Seed 0's highway route runs in the middle lane: one lane left or right is still its road."""
    for lateral_lanes in (1.0, -1.0):
        sim = make_scene(reward="carl", seed=0)
        assert sim.routes["lanes_left"][0, 0, 20] >= 1 and sim.routes["lanes_right"][0, 0, 20] >= 1
        w = sim.layout.width[0]
        place_ego(sim, 20, lateral=lateral_lanes * w, speed=20.0)
        for _ in range(5):
            step = _step(sim)
            assert step.terms["f_lane"][0, 0] >= 0.8
            assert step.terms["route_progress"][0, 0] > 0.0  # CaRL counts progress in any route lane
            assert step.reward[0, 0] > 0.0


def test_lane_factor_by_hand_and_inside_a_junction():
    sim = make_scene(reward="carl", seed=0)
    w = sim.layout.width[0]
    place_ego(sim, 20, lateral=0.6, speed=0.0)
    step = _step(sim, 0.0, -1.0)
    assert step.terms["f_lane"][0, 0] == pytest.approx(1.0 - 0.6 / (w / 2.0), abs=1e-6)
    # halfway between two lanes: 0
    sim = make_scene(reward="carl", seed=0)
    place_ego(sim, 20, lateral=0.5 * w, speed=0.0)
    assert _step(sim, 0.0, -1.0).terms["f_lane"][0, 0] == pytest.approx(0.0, abs=1e-6)
    # inside the intersection box the factor is not applied
    sim = make_scene(INTERSECTION, reward="carl")
    inside = int(np.flatnonzero(sim.routes["road"][0, 0] < 0)[5])
    place_ego(sim, inside, lateral=1.2, speed=0.0)
    step = _step(sim, 0.0, -1.0)
    assert sim.routes["road"][0, 0, sim.route_idx[0, 0]] < 0
    assert step.terms["f_lane"][0, 0] == 1.0


# ----------------------------------------------------------------- CaRL's penalty windows
def test_ttc_window_rearms_on_every_violation():
    sim = make_scene(reward="carl", ttc_window=4)
    place_ego(sim, 20, speed=15.0)
    put_vehicle(sim, 0, ds=EGO_LENGTH + 9.0, speed=15.0)

    def violate(now: bool):
        # a stopped car inside the 0.9 s projection, or no car at all
        sim.traffic.active[0, 0] = now
        if now:
            put_vehicle(sim, 0, ds=EGO_LENGTH + 9.0, speed=0.0)
        sim._perceive_rows(sim.rows)
        return _step(sim).terms["f_ttc"][0, 0]

    pattern = [True, False, False, True, False, False, False, False, False]
    seen = [violate(now) for now in pattern]
    # violations at steps 0 and 3: applied on steps 0-2 and 3-6 (window 4), not on 7, 8
    assert seen == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]
    assert DrivingParams().ttc_window == 500


def test_comfort_factor_counts_the_bounds_inside_their_windows():
    steps_since = np.array([[[0, 3, 499, 500, 10**9, 2]]])  # four bounds violated in the last 500 steps
    assert rw.comfort_factor(steps_since, 500)[0, 0] == pytest.approx(1.0 - 0.5 * 4 / 6, abs=1e-15)
    assert rw.comfort_factor(steps_since, 3)[0, 0] == pytest.approx(1.0 - 0.5 * 2 / 6, abs=1e-15)
    assert DrivingParams().comfort_window == 500 and DrivingParams().comfort_bounds == "carla"


def test_comfort_under_constant_braking():
    """Braking at 8 m/s^2 from 30 m/s: no check before 8 samples; then nuPlan's -4.05 m/s^2 bound
    is violated on every step (the filtered acceleration of a constant is that constant, its jerk
    0): f_comfort = 1 - 0.5 / 6. CaRL's CARLA bounds (-20 m/s^2) are not violated."""
    for bounds, later in (("nuplan", 1.0 - 0.5 / 6), ("carla", 1.0)):
        sim = make_scene(reward="carl", comfort_bounds=bounds)
        place_ego(sim, 20, speed=30.0)
        factors = [_step(sim, 0.0, -1.0).terms["f_comfort"][0, 0] for _ in range(20)]
        assert factors[:7] == [1.0] * 7
        assert factors[7:] == pytest.approx([later] * 13, abs=1e-9)


def _savgol_end(y, window, order, deriv, dt):
    """The deriv-th derivative at the last sample of the polynomial fitted to the last window samples."""
    t = np.arange(window) * dt
    fit = np.polyfit(t, y[-window:], order)
    return np.polyval(np.polyder(fit, deriv), t[-1])


def _carl_smooth(y):
    """scipy's savgol_filter(y, 8, 2) as CaRL calls it (mode "interp"), written with polyfit: the
    four first and last outputs from the fits through the first and last 8 samples, output i in
    between from the fit through samples i - 3 ... i + 4 at that window's middle."""
    n = len(y)
    out = np.empty(n)
    for i in range(n):
        if i < 4:
            out[i] = np.polyval(np.polyfit(np.arange(8), y[:8], 2), i)
        elif i >= n - 4:
            out[i] = np.polyval(np.polyfit(np.arange(8), y[-8:], 2), i - (n - 8))
        else:
            out[i] = np.polyval(np.polyfit(np.arange(8), y[i - 3:i + 5], 2), 3.5)
    return out


def test_comfort_quantities_follow_carls_filters():
    """Weaving and braking: the simulator's comfort flags against CaRL's filters on its history
    (accelerations a_lon = dv/dt, a_lat = v x yaw rate, |a|, unwrapped yaw)."""
    sim = make_scene(reward="carl", comfort_bounds="nuplan")
    place_ego(sim, 20, speed=12.0)
    rng = np.random.default_rng(5)
    dt = sim.params.dt
    seen = []
    for t in range(30):
        v0 = sim.ego_speed[0, 0]
        steer, accel = 0.3 * np.sin(0.4 * t), rng.uniform(-1.0, 0.6)
        _step(sim, steer, accel)
        hist = sim.infractions.comfort_history[0, 0]
        assert hist[-1, 0] == pytest.approx((sim.ego_speed[0, 0] - v0) / dt, abs=1e-9)
        n = min(t + 1, 15)
        if n < 8:
            assert (sim.infractions.steps_since_comfort[0, 0] > 10**6).all()
            continue
        h = hist[-n:]
        b = inf.COMFORT_BOUNDS["nuplan"]
        a_lon = _savgol_end(h[:, 0], 8, 2, 0, dt)
        a_lat = _savgol_end(h[:, 1], 8, 2, 0, dt)
        lon_jerk = _savgol_end(_carl_smooth(h[:, 0]), n, 2, 1, dt)
        jerk = _savgol_end(_carl_smooth(h[:, 2]), n, 2, 1, dt)
        yaw_rate = _savgol_end(h[:, 3], 5, 2, 1, dt)
        yaw_accel = _savgol_end(h[:, 3], 5, 3, 2, dt)
        expected = [a_lon < b["lon_accel_min"] or a_lon > b["lon_accel_max"], abs(a_lat) > b["lat_accel"],
                    abs(lon_jerk) > b["lon_jerk"], abs(jerk) > b["jerk"], abs(yaw_rate) > b["yaw_rate"],
                    abs(yaw_accel) > b["yaw_accel"]]
        assert list(sim.infractions.steps_since_comfort[0, 0] == 0) == expected, t
        seen.append(expected)
    seen = np.array(seen)
    assert seen.any() and not seen.all()  # some bounds violated, some not: both paths exercised


@pytest.mark.parametrize("kwargs, name", [({"comfort_bounds": "tight"}, "comfort_bounds"),
                                          ({"ttc_window": 0}, "ttc_window"),
                                          ({"roach_max_speed": -6.0}, "roach_max_speed")])
def test_reward_parameters_are_validated(kwargs, name):
    with pytest.raises(RewardlabError, match=name):
        rewardlab.make_sim("rewardlab/DrivingHighway-v0", **kwargs)


# ----------------------------------------------------------------- the route driver's returns
@pytest.mark.parametrize("env_id", ["rewardlab/DrivingHighway-v0", INTERSECTION, "rewardlab/DrivingTown-v0",
                                    "rewardlab/DrivingMultiEgo-v0"])
def test_route_driver_earns_a_positive_roach_return_and_beats_quitting(env_id):
    driver = episode_returns(env_id, "roach", episodes=8, seed=100)
    assert (driver > 0.0).all() and driver.mean() > 50.0, driver
    for quit_policy in QUITTING.values():
        quitting = episode_returns(env_id, "roach", episodes=8, seed=100, policy=quit_policy)
        assert driver.mean() > quitting.mean() + 50.0, (quit_policy.__name__, driver, quitting)


def test_raw_terms_do_not_depend_on_the_reward_preset():
    """The simulator measures, the reward module computes the terms: the same trajectory gives the
    same raw terms under every preset. The presets end episodes on different events, so each
    instance is compared up to and including the first step on which any preset ends it."""
    presets = ("carl", "roach", "highway")
    sims = [rewardlab.make_sim("rewardlab/DrivingMultiEgo-v0", num_envs=16, reward=p) for p in presets]
    for sim in sims:
        sim.reset(seed=11)
    rng = np.random.default_rng(3)
    alive = np.ones(16, dtype=bool)
    compared_ends = 0
    for _ in range(150):
        actions = rng.uniform(-1, 1, (16, 3, 2)) * np.array([0.4, 1.0])
        steps = [sim.step(actions) for sim in sims]
        for other in steps[1:]:
            for k, v in steps[0].terms.items():
                np.testing.assert_array_equal(v[alive], other.terms[k][alive], err_msg=k)
        ended = np.logical_or.reduce([s.done for s in steps])
        compared_ends += int((ended & alive).sum())
        alive &= ~ended
    assert compared_ends >= 4  # episodes ended, so the terminal terms were compared on their steps
