"""Every parameter of every driving id is validated when the environment is built.

* each field of each id's parameter class (and each IDM/MOBIL constant of ``idm=``) rejects a
  bad value of each kind that applies (NaN, inf, wrong type, out of range, reversed pair, wrong
  length, absurd size) with a RewardlabError naming the environment, the argument and what was
  given; a field added without bad values listed here fails the test;
* the layout's real vehicle capacity is the ceiling of ``num_vehicles``: the maximum resets and
  steps, one more is refused at construction (it used to fail at reset);
* the defaults and a few valid non-defaults still build, and step to finite outputs.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import rewardlab
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.driving.traffic import IDMParams

DRIVING_IDS = [s.id for s in rewardlab.all_specs() if s.id.startswith("rewardlab/Driving")]
NAN, INF = float("nan"), float("inf")

#: field -> bad values for every driving id that has the field. Every field of every driving
#: parameter class must be listed (checked below).
BAD_VALUES = {
    # DrivingParams
    "obs": ["image", 1, None],
    "action": ["steer", None],
    "num_vehicles": [0, -1, 2.5, "28", True, 10**5, 10**12],
    "min_vehicles": [0, 29, 21.0, "21", NAN],
    "num_egos": [0, 17, 2.0, "1", True, 10**7],
    "max_steps": [0, 10**7, 1e12, NAN, "400", True],
    "dt": [NAN, INF, 0.0, -0.1, 2.0, "0.1", None, True],
    "speed_limit_range": [(NAN, 30.0), (30.0, 20.0), (0.0, 10.0), (10.0, 50.0), (10.0, INF), "fast", (10.0,),
                          (10.0, 20.0, 30.0)],
    "route_length": [NAN, INF, 20.0, 5.0, -100.0, 1e12, "500", None],
    "reward_speed_range": [(NAN, 1.0), (10.0, 10.0), (20.0, 10.0), (-1.0, 10.0), (1.0, 60.0), "ab"],
    "route_deviation_margin": [NAN, -1.0, INF, 1e9, "3"],
    "blocked_time": [NAN, -1.0, 0.0, INF, "10"],
    "off_road_fraction": [NAN, -0.1, 1.5, "0.95", None],
    "ttc_window": [0, 2.5, 10**9, "500", True],
    "comfort_window": [0, 2.5, 10**9, "500"],
    "comfort_bounds": ["loose", 1, None],
    "roach_max_speed": [NAN, 0.0, -6.0, 100.0, INF, "6"],
    "bev_size": [4, 1024, 64.0, "64", True, 10**9],
    "bev_resolution": [NAN, 0.0, -1.0, 0.01, 20.0, INF, "1"],
    "bev_dtype": ["float16", None],
    "idm": ["x", None, {"a": 3.0}, IDMParams(a=NAN), IDMParams(b=0.0), IDMParams(politeness=2.0)],
    # HighwayParams
    "num_lanes": [1, 6, 3.0, "3", True],
    "min_radius": [NAN, 50.0, INF, 1e9, "300"],
    "ramp_probability": [NAN, 2.0, -0.1, "0.5"],
    "static_obstacle_probability": [NAN, 1.5, -1.0, INF],
    "ramp_spawn_probability": [NAN, 1.01, "0.15"],
    # GridParams
    "grid": [(0, 1), (4, 1), (1.0, 1.0), (1,), (1, 1, 1), "11", 2, (True, 1), (1, 10**9)],
    "lanes_per_direction": [0, 4, 2.0, "2", True],
    "block_range": [(NAN, 100.0), (130.0, 90.0), (10.0, 100.0), (100.0, 1e6), "ab", (100.0,)],
    "arm_range": [(70.0, 100.0), (150.0, 110.0), (NAN, NAN), (100.0, INF)],
    "green_range": [(NAN, 1.0), (14.0, 8.0), (0.0, 5.0), (8.0, INF), (8.0, 1e9), 10.0],
    "right_turn_probability": [NAN, 2.0, -1.0, "0.5"],
    "start_distance": [(70.0, 30.0), (-1.0, 30.0), (NAN, 30.0), (30.0, 1e9)],
    "pedestrians_per_crossing": [-1, 5, 1.0, "1", True],
    "pedestrian_speed_range": [(0.0, 1.0), (1.5, 1.2), (1.0, 5.0), (NAN, 1.0)],
    "pedestrian_max_wait": [NAN, -1.0, INF, 1e9, "20"],
}

#: IDM/MOBIL constant -> bad values (given as ``idm=IDMParams(name=value)``).
IDM_BAD_VALUES = {
    "a": [NAN, 0.0, -3.0, INF, 1e9, "3"],
    "b": [NAN, 0.0, -5.0, INF],
    "a_max": [NAN, 0.0, 1e9],
    "b_max": [NAN, -9.0, INF],
    "time_gap": [NAN, -1.0, INF, "1.5"],
    "jam_distance": [NAN, -5.0, 1e9],
    "delta": [NAN, 0.0, -4.0, INF],
    "politeness": [NAN, -0.1, 1.5],
    "threshold": [NAN, -0.2, INF],
    "b_safe": [NAN, 0.0, -2.0],
    "lane_change_delay": [NAN, -1.0, INF, None],
}


def _fields(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def _params_class(env_id):
    return type(rewardlab.make_sim(env_id)).Params


def _error(env_id, **kwargs) -> str:
    with pytest.raises(RewardlabError) as err:
        rewardlab.make_sim(env_id, **kwargs)
    return str(err.value)


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_every_parameter_rejects_bad_values_naming_env_argument_and_value(env_id):
    fields = _fields(_params_class(env_id))
    assert set(fields) <= set(BAD_VALUES), f"no bad values listed for {set(fields) - set(BAD_VALUES)}"
    tried = 0
    for name in fields:
        for value in BAD_VALUES[name]:
            message = _error(env_id, **{name: value})
            assert message.startswith(f"{env_id}: "), message
            # a bad IDMParams field is named idm.<field>
            assert (f"{name} must" in message or f"{name}." in message) and ", got " in message, (name, value, message)
            tried += 1
    assert tried >= 3 * len(fields)


@pytest.mark.parametrize("env_id", ["rewardlab/DrivingHighway-v0", "rewardlab/DrivingTown-v0"])
def test_every_idm_constant_rejects_bad_values(env_id):
    assert set(_fields(IDMParams)) == set(IDM_BAD_VALUES), "every IDMParams field needs bad values"
    for name, values in IDM_BAD_VALUES.items():
        for value in values:
            message = _error(env_id, idm=IDMParams(**{name: value}))
            assert message.startswith(f"{env_id}: idm.{name} must be a finite number"), (name, value, message)
            assert message.endswith(f", got {value!r} ({type(value).__name__})"), message


@pytest.mark.parametrize(
    "env_id, kwargs, expected",
    [
        # the cases: each used to pass construction and fail or go wrong later
        ("rewardlab/DrivingHighway-v0", {"dt": NAN},
         "rewardlab/DrivingHighway-v0: dt must be a finite number > 0.0 and <= 1.0, got nan (float)"),
        ("rewardlab/DrivingHighway-v0", {"route_length": NAN},
         "rewardlab/DrivingHighway-v0: route_length must be a finite number > 20.0 and <= 650, got nan (float)"),
        ("rewardlab/DrivingHighway-v0", {"idm": "x"},
         "rewardlab/DrivingHighway-v0: idm must be a IDMParams, got 'x' (str)"),
        # the highway's 3 lanes and on-ramp, 40 placement sites each
        ("rewardlab/DrivingHighway-v0", {"num_vehicles": 100000},
         "rewardlab/DrivingHighway-v0: num_vehicles must be an integer >= 1 and <= 160, got 100000 (int)"),
        ("rewardlab/DrivingHighway-v0", {"blocked_time": -1},
         "rewardlab/DrivingHighway-v0: blocked_time must be a finite number > 0.0 and <= 1000000.0, got -1 (int)"),
        ("rewardlab/DrivingHighway-v0", {"off_road_fraction": NAN},
         "rewardlab/DrivingHighway-v0: off_road_fraction must be a finite number >= 0.0 and <= 1.0, got nan (float)"),
        ("rewardlab/DrivingHighway-v0", {"ramp_probability": 2.0},
         "rewardlab/DrivingHighway-v0: ramp_probability must be a finite number >= 0.0 and <= 1.0, got 2.0 (float)"),
        ("rewardlab/DrivingIntersection-v0", {"green_range": (NAN, 1)},
         "rewardlab/DrivingIntersection-v0: green_range must be a pair (low, high) of finite numbers with "
         "low <= high, each >= 1.0 and <= 300.0, got (nan, 1) (tuple)"),
        ("rewardlab/DrivingTown-v0", {"block_range": (130.0, 90.0)},
         "rewardlab/DrivingTown-v0: block_range must be a pair (low, high) of finite numbers with "
         "low <= high, each >= 60.0 and <= 500.0, got (130.0, 90.0) (tuple)"),
        ("rewardlab/DrivingHighway-v0", {"reward_speed_range": (30.0, 20.0)},
         "rewardlab/DrivingHighway-v0: reward_speed_range must be a pair (low, high) of finite numbers with "
         "low < high, each >= 0.0 and <= 40.0, got (30.0, 20.0) (tuple)"),
        ("rewardlab/DrivingTown-v0", {"grid": (4, 1)},
         "rewardlab/DrivingTown-v0: grid must be a pair (nx, ny) of integers >= 1 and <= 3, got (4, 1) (tuple)"),
        ("rewardlab/DrivingTown-v0", {"route_length": 600.0},
         "rewardlab/DrivingTown-v0: route_length must be a finite number > 20.0 and <= 550, got 600.0 (float)"),
        ("rewardlab/DrivingMultiEgo-v0", {"num_egos": 5},
         "rewardlab/DrivingMultiEgo-v0: num_egos must be an integer >= 1 and <= 4, got 5 (int)"),
        ("rewardlab/DrivingHighway-v0", {"idm": IDMParams(delta=NAN)},
         "rewardlab/DrivingHighway-v0: idm.delta must be a finite number > 0.0 and <= 100.0, got nan (float)"),
        # cross-field limits: the uint8 route bits of the bird's-eye raster, and its size
        ("rewardlab/DrivingTown-v0", {"obs": "bev", "num_egos": 6},
         "rewardlab/DrivingTown-v0: num_egos must be <= 5 with obs='bev' (one raster bit per ego's route), "
         "got 6 (int)"),
        ("rewardlab/DrivingHighway-v0", {"obs": "bev", "bev_resolution": 0.05},
         "rewardlab/DrivingHighway-v0: bev_resolution must be coarse enough for the static raster "
         "(770 m x 510 m) to fit 67108864 pixels, got 0.05 (float)"),
    ],
)
def test_bad_parameter_messages_say_what_was_given_and_what_is_valid(env_id, kwargs, expected):
    assert _error(env_id, **kwargs) == expected


def test_gym_make_reports_the_same_errors():
    with pytest.raises(RewardlabError, match=r"^rewardlab/DrivingHighway-v0: dt must be a finite number"):
        gym.make("rewardlab/DrivingHighway-v0", dt=NAN)
    with pytest.raises(RewardlabError, match=r"^rewardlab/DrivingTown-v0: num_vehicles must be an integer"):
        gym.make_vec("rewardlab/DrivingTown-v0", num_envs=2, num_vehicles=10**12)


@pytest.mark.parametrize(
    "env_id, kwargs, capacity",
    [
        # roads x lane slots x 40 sites: highway 1 x (lanes + ramp); grid 2 (nx + ny) x lanes per direction
        ("rewardlab/DrivingHighway-v0", {"num_lanes": 2}, 1 * 3 * 40),
        ("rewardlab/DrivingHighway-v0", {}, 1 * 4 * 40),
        ("rewardlab/DrivingIntersection-v0", {}, 4 * 2 * 40),
        ("rewardlab/DrivingTown-v0", {}, 8 * 1 * 40),
        ("rewardlab/DrivingTown-v0", {"grid": (3, 3), "lanes_per_direction": 2}, 12 * 2 * 40),
    ],
)
def test_num_vehicles_ceiling_is_the_layout_capacity(env_id, kwargs, capacity):
    message = _error(env_id, num_vehicles=capacity + 1, **kwargs)
    assert f"num_vehicles must be an integer >= 1 and <= {capacity}, got {capacity + 1} (int)" in message
    sim = rewardlab.make_sim(env_id, num_vehicles=capacity, **kwargs)
    sim.reset(seed=3)
    step = sim.step(np.zeros((1, sim.num_egos, 2)))
    assert np.isfinite(step.reward).all()
    assert sim.traffic.num_vehicles == capacity


@pytest.mark.parametrize("env_id", DRIVING_IDS)
def test_defaults_still_build_and_step(env_id):
    sim = rewardlab.make_sim(env_id)
    defaults = _params_class(env_id)()
    spec_kwargs = next(s.kwargs for s in rewardlab.all_specs() if s.id == env_id)
    for name in _fields(type(defaults)):
        expected = spec_kwargs.get(name, getattr(defaults, name))
        assert getattr(sim.params, name) == expected, name
    sim.reset(seed=0)
    step = sim.step(np.zeros((1, sim.num_egos, 2)))
    assert np.isfinite(step.reward).all()


def test_valid_non_defaults_build_and_are_stored_as_numbers():
    sim = rewardlab.make_sim(
        "rewardlab/DrivingTown-v0", grid=[2, np.int64(1)], green_range=[5, 9], dt=np.float64(0.05),
        num_vehicles=np.int64(200), min_vehicles=200, idm=IDMParams(politeness=0.5, lane_change_delay=0.0),
        obs="bev", num_egos=5, bev_resolution=0.5, blocked_time=0.1, off_road_fraction=1.0,
    )
    assert sim.params.grid == (2, 1)
    assert sim.params.green_range == (5.0, 9.0)
    hash(sim.params)
    sim.reset(seed=1)
    step = sim.step(np.zeros((1, 5, 2)))
    assert np.isfinite(step.reward).all()
    sim = rewardlab.make_sim("rewardlab/DrivingHighway-v0", route_length=650.0, num_lanes=5, min_radius=100.0,
                             ramp_probability=1.0, speed_limit_range=(40.0, 40.0), roach_max_speed=6.0)
    sim.reset(seed=2)
    assert np.isfinite(sim.step(np.zeros((1, 1, 2))).reward).all()
