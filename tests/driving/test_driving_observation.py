"""Observations: the vector layout and the bird's-eye-view raster on hand-built scenes."""

from __future__ import annotations

import os
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rewardlab
from rewardlab.envs.driving.observation import BEV_CHANNELS
from rewardlab.envs.driving.perception import perceive

sys.path.insert(0, os.path.dirname(__file__))
from driving_scenes import make_scene as _sim  # noqa: E402
from driving_scenes import place_ego as _place_ego  # noqa: E402
from driving_scenes import put_vehicle as _put_vehicle  # noqa: E402


def test_vector_observation_sees_the_vehicle_ahead():
    sim = _sim(reward="carl")
    _place_ego(sim, 20, speed=10.0)
    _put_vehicle(sim, 0, ds=12.0, speed=7.0)
    obs = sim._observe()[0, 0]
    assert obs.shape == (91,)
    first = obs[28:35]
    assert first[0] == 1.0  # present
    assert first[1] * 50 == pytest.approx(12.0, abs=0.5)  # about 12 m ahead in the ego frame
    assert abs(first[2] * 50) < 0.5
    assert first[3] * 20 == pytest.approx(-3.0, abs=0.3)  # closing at 3 m/s
    assert obs[35] == 0.0  # no second object
    assert obs[90] * 50 == pytest.approx(12.0 - 0.5 * (4.6 + 4.5), abs=3.0)  # hazard distance


@pytest.mark.parametrize("env_id", ["rewardlab/DrivingHighway-v0", "rewardlab/DrivingIntersection-v0"])
def test_bev_layers_on_a_hand_built_scene(env_id):
    sim = _sim(env_id, reward="carl", obs="bev")
    _place_ego(sim, 20, speed=5.0)
    _put_vehicle(sim, 0, ds=10.0, speed=5.0) if not sim.layout.straight else None
    if sim.layout.straight:  # a vehicle 10 m ahead on the ego's road and lane
        road = sim.routes["start_road"][0, 0]
        sim.traffic.active[0, 0] = True
        sim.traffic.road[0, 0], sim.traffic.lane[0, 0] = road, sim.routes["start_lane"][0, 0]
        sim.traffic.station[0, 0] = sim.ego_s[0, 0, road] + 10.0
        sim._perceive_rows(sim.rows)
    bev = sim._observe()[0, 0]
    assert bev.shape == (len(BEV_CHANNELS), 64, 64) and bev.dtype == np.uint8
    ch = {n: bev[i] > 0 for i, n in enumerate(BEV_CHANNELS)}
    ego_r, ego_c = 48, 32
    assert ch["road"][ego_r, ego_c] and ch["route"][ego_r - 4 : ego_r, ego_c].all()
    assert not ch["shoulder"][ego_r, ego_c]
    assert not ch["road"][ego_r, ego_c + 20]  # 20 m to the right: off the road
    rows = np.flatnonzero(ch["vehicles"][:, ego_c])
    assert rows.size and abs(rows.mean() - (ego_r - 10)) < 2.0  # drawn 10 px ahead
    assert not ch["pedestrians"].any()


def test_bev_stop_line_takes_its_signal_colour():
    sim = _sim("rewardlab/DrivingIntersection-v0", reward="carl", obs="bev")
    stop = sim.routes["stop_s"][0, 0, 0]
    idx = int(np.searchsorted(sim.routes["s"][0, 0], stop - 20.0))
    _place_ego(sim, idx, speed=0.0)
    lay = sim.layout
    k, g = sim.routes["stop_light"][0, 0, 0], sim.routes["stop_group"][0, 0, 0]
    lay.light_offset[0, k] = 0.0
    for t, channel in ((1.0 if g == 1 else lay.green[0, k, 0] + 6.0, "red_lights"),
                       (1.0 if g == 0 else lay.green[0, k, 0] + 6.0, "green_lights")):
        sim.time[0] = t
        sim._perceive_rows(sim.rows)
        bev = sim._observe()[0, 0] > 0
        hit = np.flatnonzero(bev[BEV_CHANNELS.index(channel)][:, 32 - 3: 32 + 3].any(axis=1))
        assert hit.size, channel
        assert abs(hit.mean() - (48 - 20 - 2.3)) < 3.0  # the line ~20 m ahead of the ego's front


def test_bev_env_passes_the_gymnasium_checker_and_is_deterministic():
    env = gym.make("rewardlab/DrivingTown-v0", obs="bev", bev_dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped, skip_render_check=True)
    a, b = gym.make("rewardlab/DrivingTown-v0", obs="bev"), gym.make("rewardlab/DrivingTown-v0", obs="bev")
    oa, _ = a.reset(seed=5)
    ob, _ = b.reset(seed=5)
    np.testing.assert_array_equal(oa, ob)
    for action in np.random.default_rng(0).uniform(-0.3, 0.6, (20, 2)):
        np.testing.assert_array_equal(a.step(action)[0], b.step(action)[0])


def test_bev_vector_env_matches_single_envs():
    venv = gym.make_vec("rewardlab/DrivingIntersection-v0", num_envs=2, obs="bev")
    singles = [gym.make("rewardlab/DrivingIntersection-v0", obs="bev") for _ in range(2)]
    obs, _ = venv.reset(seed=9)
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(obs[i], env.reset(seed=9 + i)[0])
    actions = np.random.default_rng(1).uniform(-0.2, 0.5, (15, 2, 2))
    for t in range(15):
        obs, *_ = venv.step(actions[t])
        for i, env in enumerate(singles):
            np.testing.assert_array_equal(obs[i], env.step(actions[t, i])[0])


def test_multi_ego_bev_shows_each_ego_its_own_route():
    sim = rewardlab.make_sim("rewardlab/DrivingMultiEgo-v0", num_envs=1, obs="bev")
    sim.reset(seed=2)
    bev = sim._observe()[0] > 0
    route = BEV_CHANNELS.index("route")
    for k in range(3):
        assert bev[k, route, 42:47, 31:33].all()  # every ego's own route runs on ahead of it


def test_bev_plus_vector_concatenates_both():
    env = gym.make("rewardlab/DrivingHighway-v0", obs="bev+vector")
    obs, _ = env.reset(seed=4)
    assert obs.shape == (91 + 10 * 64 * 64,) and obs.dtype == np.float32
    assert env.observation_space.contains(obs)
    vec = rewardlab.make_sim("rewardlab/DrivingHighway-v0", num_envs=1)
    vec.reset(seed=4)
    np.testing.assert_array_equal(obs[:91], vec._observe()[0, 0])
    bev = rewardlab.make_sim("rewardlab/DrivingHighway-v0", num_envs=1, obs="bev")
    bev.reset(seed=4)
    np.testing.assert_array_equal(obs[91:], bev._observe()[0, 0].reshape(-1) / 255.0)


@pytest.mark.parametrize("env_id", ["rewardlab/DrivingHighway-v0", "rewardlab/DrivingTown-v0",
                                    "rewardlab/DrivingMultiEgo-v0"])
def test_whole_batch_fast_path_matches_row_subsets(env_id):
    # the per-step calls read the state arrays without row copies when every instance is asked
    # (rows is sim.rows); any other rows array takes the gathering path: both must agree bit for
    # bit, for the whole batch and for each instance alone
    sim = rewardlab.make_sim(env_id, num_envs=5)
    sim.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(15):
        sim.step(rng.uniform(-1, 1, (5, sim.num_egos, 2)) * np.array([0.2, 1.0]), autoreset=True)
    fast = perceive(sim, sim.rows)
    slow = perceive(sim, np.arange(5))
    for i in range(5):
        one = perceive(sim, np.array([i]))
        for key in fast:
            np.testing.assert_array_equal(one[key][0], fast[key][i], err_msg=key)
    for key in fast:
        np.testing.assert_array_equal(fast[key], slow[key], err_msg=key)
    objs_fast, objs_slow = sim.objects(), sim.objects(np.arange(5))
    for key in objs_fast:
        np.testing.assert_array_equal(objs_fast[key], objs_slow[key], err_msg=key)
    obs_fast = sim._observe()
    np.testing.assert_array_equal(obs_fast, sim._observe(np.arange(5)))
    np.testing.assert_array_equal(obs_fast[2:3], sim._observe(np.array([2])))
