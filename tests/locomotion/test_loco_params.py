"""Every parameter of both locomotion ids is validated when the environment is built.

* each field of ``LocoParams`` (and each constant of the task's ``reward_config``) rejects a bad
  value of each kind that applies (NaN, inf, wrong type, out of range, reversed pair, wrong
  length, absurd size) with a RewardlabError naming the environment, the argument and what was
  given, before any MuJoCo model is built; a field added without bad values listed here fails;
* the defaults and a few valid non-defaults still build and step to finite outputs.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import rewardlab
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.locomotion import rewards
from rewardlab.envs.locomotion.params import LocoParams

LOCO_IDS = ["rewardlab/LocoImitation-v0", "rewardlab/LocoJoystick-v0"]
NAN, INF = float("nan"), float("inf")
_PAIR = [(NAN, 1.0), (1.0, -1.0), (-10.0, 1.0), (0.0, INF), "ab", (0.5,), (0.1, 0.2, 0.3), 0.5]

#: field -> bad values for both ids. Every LocoParams field must be listed (checked below).
BAD_VALUES = {
    "xml_file": [3, "no_such_robot.xml", ["a.xml"]],
    "motion": ["gallop", None, 1],
    "speed": [NAN, INF, 10.0, -10.0, "0.5", None, True],
    "frequency": [NAN, 0.0, -1.0, 1e-9, 26.0, INF, "2"],
    "body_height": [NAN, 0.0, -0.27, 5.0, "0.27", None],
    "swing_height": [NAN, -0.1, 1.0, INF, "0.08"],
    "sway": ["no", 1, None],
    "episode_seconds": [NAN, 0.0, 0.001, 1e12, INF, "10", None],
    "control_dt": [NAN, 0.0, -0.02, 2.0, INF, "0.02"],
    "action_scale": [NAN, 0.0, -1.0, 100.0, "1"],
    "action_mode": ["delta", None],
    "random_start_phase": ["yes", 0],
    "observe_reference_root": ["yes", 1, None],
    "init_noise": [NAN, -0.1, 10.0, INF, "0.05"],
    "terminate_height": [NAN, 5.0, -5.0, "0.14", None],
    "terminate_tilt": [NAN, -0.1, 4.0, INF],
    "max_root_error": [NAN, 0.0, -1.0, INF, 1e9],
    "max_root_rotation_error": [NAN, 0.0, 4.0, "1.5"],
    "min_imitation_reward": [NAN, 1.0, -0.1, "0.5"],
    "spectral_cutoff": [NAN, 0.0, -5.0, 1e9],
    "command_vx": _PAIR,
    "command_vy": _PAIR,
    "command_yaw": _PAIR,
    "gait_frequency": [NAN, 0.0, INF, 1e6, "2"],
    "friction_range": [(NAN, 1.0), (2.0, 1.0), (0.0, 1.0), (1.0, 10.0), 1.0, (1.0,)],
    "payload_range": [(-5.0, 1.0), (5.0, 1.0), (0.0, INF), "heavy"],
    "motor_strength_range": [(0.0, 1.0), (1.2, 0.8), (NAN, 1.0)],
    "max_latency_steps": [-1, 11, 1.0, "2", True, 10**9],
    "obs_noise": [NAN, -1.0, INF, 1e3, "0"],
    "num_threads": [-1, 2.0, 10**6, "4", True],
    "reward_config": ["x", 1, {"pose_scale": 5.0}],
}

#: reward-config constant -> bad values (given as ``reward_config=Config(name=value)``).
CONFIG_BAD_VALUES = {
    rewards.ImitationRewardConfig: {
        "pose_scale": [NAN, -5.0, INF, 1e9, "5"],
        "joint_velocity_scale": [NAN, -0.1],
        "end_effector_scale": [NAN, -40.0, INF],
        "root_pose_scale": [NAN, -20.0],
        "root_rotation_weight": [NAN, -0.5, INF],
        "root_velocity_scale": [NAN, -2.0],
        "root_angular_velocity_weight": [NAN, -0.1, None],
    },
    rewards.JoystickRewardConfig: {
        "tracking_sigma": [NAN, 0.0, -0.25, INF, "0.25"],
        "air_time_target": [NAN, -0.1, 1e9],
        "command_threshold": [NAN, -0.01, INF],
        "max_foot_height": [NAN, 0.0, 5.0],
        "pose_weights": [(1.0, 1.0), (1.0, NAN, 0.1), (1.0, -1.0, 0.1), "abc", None],
        "soft_joint_limit_factor": [NAN, 0.0, 1.5],
    },
}
TASK_CONFIG = {"rewardlab/LocoImitation-v0": rewards.ImitationRewardConfig,
               "rewardlab/LocoJoystick-v0": rewards.JoystickRewardConfig}


def _fields(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def _error(env_id, **kwargs) -> str:
    with pytest.raises(RewardlabError) as err:
        rewardlab.make_sim(env_id, **kwargs)
    return str(err.value)


@pytest.mark.parametrize("env_id", LOCO_IDS)
def test_every_parameter_rejects_bad_values_naming_env_argument_and_value(env_id):
    fields = _fields(type(rewardlab.make_sim(env_id)).Params)
    assert set(fields) <= set(BAD_VALUES), f"no bad values listed for {set(fields) - set(BAD_VALUES)}"
    tried = 0
    for name in fields:
        for value in BAD_VALUES[name]:
            message = _error(env_id, **{name: value})
            assert message.startswith(f"{env_id}: {name} must "), (name, value, message)
            assert ", got " in message, message
            tried += 1
    assert tried >= 3 * len(fields)


@pytest.mark.parametrize("env_id", LOCO_IDS)
def test_every_reward_constant_rejects_bad_values(env_id):
    config_cls = TASK_CONFIG[env_id]
    bad = CONFIG_BAD_VALUES[config_cls]
    assert set(_fields(config_cls)) == set(bad), f"every {config_cls.__name__} field needs bad values"
    for name, values in bad.items():
        for value in values:
            message = _error(env_id, reward_config=config_cls(**{name: value}))
            assert message.startswith(f"{env_id}: reward_config.{name} must be "), (name, value, message)
            assert message.endswith(f", got {value!r} ({type(value).__name__})"), message


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        # the cases: NaN used to pass and reach the reference motion or the initial state
        ({"speed": NAN}, "speed must be a finite number >= -5.0 and <= 5.0, got nan (float)"),
        ({"swing_height": NAN}, "swing_height must be a finite number >= 0.0 and <= 0.5 or None, got nan (float)"),
        ({"init_noise": NAN},
         "init_noise must be a finite number >= 0.0 and <= 3.141592653589793, got nan (float)"),
        # sizes: the action log holds every step of an episode; the reference table every frame
        ({"episode_seconds": 1e12},
         "episode_seconds must be a finite number >= 0.02 and <= 2000.0, got 1000000000000.0 (float)"),
        ({"episode_seconds": 500.0, "control_dt": 0.004},
         "episode_seconds must be a finite number >= 0.004 and <= 400.0, got 500.0 (float)"),
        ({"frequency": 1e-9}, "frequency must be a finite number >= 0.1 and <= 25.0 or None, got 1e-09 (float)"),
        ({"friction_range": (2.0, 1.0)},
         "friction_range must be a pair (low, high) of finite numbers with low <= high, each >= 0.05 and <= 5.0, "
         "got (2.0, 1.0) (tuple)"),
        ({"max_latency_steps": 2.0}, "max_latency_steps must be an integer >= 0 and <= 10, got 2.0 (float)"),
        ({"xml_file": 3}, "xml_file must be None or the path of an MJCF file, got 3 (int)"),
        ({"reward_config": rewards.ImitationRewardConfig(pose_scale=NAN)},
         "reward_config.pose_scale must be a finite number >= 0.0 and <= 1000000.0, got nan (float)"),
    ],
)
def test_bad_parameter_messages_say_what_was_given_and_what_is_valid(kwargs, expected):
    assert _error("rewardlab/LocoImitation-v0", **kwargs) == f"rewardlab/LocoImitation-v0: {expected}"


def test_gym_make_reports_the_same_errors():
    with pytest.raises(RewardlabError, match=r"^rewardlab/LocoImitation-v0: speed must be a finite number"):
        gym.make("rewardlab/LocoImitation-v0", speed=NAN)
    with pytest.raises(RewardlabError, match=r"^rewardlab/LocoJoystick-v0: command_vx must be a pair"):
        gym.make_vec("rewardlab/LocoJoystick-v0", num_envs=2, command_vx=(1.0, -1.0))


@pytest.mark.parametrize("env_id", LOCO_IDS)
def test_defaults_still_build_and_step(env_id):
    sim = rewardlab.make_sim(env_id)
    assert sim.params == LocoParams()
    sim.reset(seed=0)
    step = sim.step(np.zeros((1, 1, 12)))
    assert np.isfinite(step.reward).all()


def test_valid_non_defaults_build_and_are_stored_as_numbers():
    sim = rewardlab.make_sim(
        "rewardlab/LocoJoystick-v0", command_vx=[0.0, 2], command_yaw=np.array([-1.0, 1.0]),
        friction_range=(0.5, 1.5), max_latency_steps=np.int64(2), obs_noise=np.float64(0.5), terminate_height=-1.0,
        reward_config=rewards.JoystickRewardConfig(pose_weights=[1, 1, 0], tracking_sigma=1.0),
    )
    assert sim.params.command_vx == (0.0, 2.0)
    assert sim.params.command_yaw == (-1.0, 1.0)
    assert sim.reward_config.pose_weights == (1.0, 1.0, 0.0)
    sim.reset(seed=1)
    assert np.isfinite(sim.step(np.zeros((1, 1, 12))).reward).all()
    # the frequency ceiling follows the control period: two reference frames a cycle
    sim = rewardlab.make_sim("rewardlab/LocoImitation-v0", motion="jump", speed=0.0, frequency=None,
                             control_dt=0.04, episode_seconds=80.0, min_imitation_reward=0.0)
    assert sim.episode_steps == 2000
    assert "frequency must be a finite number >= 0.1 and <= 12.5 or None" in _error(
        "rewardlab/LocoImitation-v0", control_dt=0.04, frequency=13.0)
