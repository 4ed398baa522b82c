"""Parameters of the locomotion environments (:class:`LocoParams`), validated when an env is made.

Every field is checked through :mod:`rewardlab.core.params`; the reward constants of
``reward_config=`` are checked as ``reward_config.<name>``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.locomotion import rewards
from rewardlab.envs.locomotion.gaits import MOTIONS

#: Ceiling of episode_seconds / control_dt: the per-instance action log holds every step.
MAX_EPISODE_STEPS = 100_000
#: Bounds of the domain-randomisation ranges (low, high).
_RANDOMISATION_BOUNDS = {"friction_range": (0.05, 5.0), "payload_range": (-2.0, 20.0),
                         "motor_strength_range": (0.1, 3.0)}


def _check_reward_config(config: Any) -> None:
    """The reward constants of ``reward_config=``; messages name the field as ``reward_config.<name>``."""
    try:
        if isinstance(config, rewards.ImitationRewardConfig):
            check.numbers(config, ("pose_scale", "joint_velocity_scale", "end_effector_scale", "root_pose_scale",
                                   "root_rotation_weight", "root_velocity_scale", "root_angular_velocity_weight"),
                          low=0.0, high=1e6)
        elif isinstance(config, rewards.JoystickRewardConfig):
            check.numbers(config, ("tracking_sigma",), low=0.0, low_open=True, high=1e6)
            check.numbers(config, ("air_time_target", "command_threshold"), low=0.0, high=100.0)
            check.numbers(config, ("max_foot_height",), low=0.0, low_open=True, high=1.0)
            check.sequence(config, "pose_weights", length=3, low=0.0, high=1e6)
            check.numbers(config, ("soft_joint_limit_factor",), low=0.0, low_open=True, high=1.0)
    except RewardlabError as err:
        raise RewardlabError(f"reward_config.{err}") from None


@dataclass(frozen=True)
class LocoParams:
    """Parameters of the locomotion environments (SI units; see the module docstring).

    Attributes:
        xml_file: MJCF of a robot with the rewardlab quadruped layout; None for the shipped one.
        motion: reference motion to imitate: trot, walk, pace, bound, pronk or jump.
        speed: reference forward speed, m/s (0 for the jump).
        frequency: reference cycles per second (None: the motion's default).
        body_height: reference root height, m.
        swing_height: reference foot clearance, m (None: the gait's default, 0.08 or 0.05).
        sway: the reference root sways as a linear inverted pendulum over the stance feet (False:
            it runs straight, which the pace and the bound cannot follow; for ablations).
        episode_seconds: episode length before truncation, s.
        control_dt: control period, s (50 Hz); a whole number of physics steps.
        action_scale: radians per unit action.
        action_mode: "absolute" (around the standing pose) or "residual" (around the reference).
        random_start_phase: start each episode at a random reference frame (reference state
            initialisation).
        observe_reference_root: imitation observes where the reference root will be at the next
            step, relative to the trunk, in the trunk frame (entries 60-62), as Peng et al.
            2020's policies observe the target root position; without it (False: 60 entries, the
            layout before this option) a policy cannot see that it lags behind the reference
            until the root error ends the episode.
        init_noise: uniform noise on the initial joint angles, rad.
        terminate_height: the episode ends when the root is lower, m.
        terminate_tilt: the episode ends when the trunk tilts more, rad.
        max_root_error: imitation ends when the root is farther from the reference, m.
        max_root_rotation_error: imitation ends when the trunk's orientation differs from the
            reference's by more, rad (None: no limit; Peng et al. 2020 end at pi/2).
        min_imitation_reward: imitation ends on a step whose imitation reward (Peng et al.'s
            weighted sum, at most 1) is lower (None: no limit): early termination on tracking
            error.
        spectral_cutoff: cut-off of the high-frequency energy share, Hz.
        command_vx, command_vy, command_yaw: joystick command ranges (m/s, m/s, rad/s).
        gait_frequency: frequency of the phase clock in the joystick observation, Hz.
        friction_range, payload_range, motor_strength_range, max_latency_steps, obs_noise:
            domain randomisation and observation noise (off by default).
        num_threads: threads stepping the batch (0: min(B, CPU count)); results do not depend
            on it.
        reward_config: constants of the reward terms (:mod:`.rewards`): an
            ``ImitationRewardConfig`` or a ``JoystickRewardConfig`` for the task; None for the
            published values.
    """

    xml_file: str | None = None
    motion: str = "trot"
    speed: float = 0.5
    frequency: float | None = None
    body_height: float = 0.27
    swing_height: float | None = None
    sway: bool = True
    episode_seconds: float = 10.0
    control_dt: float = 0.02
    action_scale: float = 1.0
    action_mode: str = "absolute"
    random_start_phase: bool = True
    observe_reference_root: bool = True
    init_noise: float = 0.05
    terminate_height: float = 0.14
    terminate_tilt: float = 1.0
    max_root_error: float = 0.6
    max_root_rotation_error: float | None = None
    min_imitation_reward: float | None = None
    spectral_cutoff: float = 5.0
    command_vx: tuple[float, float] = (-0.5, 1.0)
    command_vy: tuple[float, float] = (-0.3, 0.3)
    command_yaw: tuple[float, float] = (-0.8, 0.8)
    gait_frequency: float = 2.0
    friction_range: tuple[float, float] | None = None
    payload_range: tuple[float, float] | None = None
    motor_strength_range: tuple[float, float] | None = None
    max_latency_steps: int = 0
    obs_noise: float = 0.0
    num_threads: int = 0
    reward_config: rewards.ImitationRewardConfig | rewards.JoystickRewardConfig | None = None

    def __post_init__(self) -> None:
        xml = self.xml_file
        if xml is not None and not (isinstance(xml, str | os.PathLike) and os.path.isfile(xml)):
            raise RewardlabError(
                f"xml_file must be None or the path of an MJCF file, got {xml!r} ({type(xml).__name__})"
            )
        check.choice(self, "motion", MOTIONS)
        check.choice(self, "action_mode", ("absolute", "residual"))
        check.flags(self, "sway", "random_start_phase", "observe_reference_root")
        check.numbers(self, ("control_dt",), low=0.0, low_open=True, high=1.0)
        check.numbers(self, ("episode_seconds",), low=self.control_dt, high=MAX_EPISODE_STEPS * self.control_dt)
        check.numbers(self, ("speed",), low=-5.0, high=5.0)
        # the reference needs two frames a cycle at least
        check.numbers(self, ("frequency",), low=0.1, high=0.5 / self.control_dt, optional=True)
        check.numbers(self, ("body_height",), low=0.0, low_open=True, high=1.0)
        check.numbers(self, ("swing_height",), low=0.0, high=0.5, optional=True)
        check.numbers(self, ("action_scale",), low=0.0, low_open=True, high=10.0)
        check.numbers(self, ("init_noise", "terminate_tilt"), low=0.0, high=math.pi)
        check.numbers(self, ("terminate_height",), low=-1.0, high=1.0)
        check.numbers(self, ("max_root_error",), low=0.0, low_open=True, high=1e6)
        check.numbers(self, ("max_root_rotation_error",), low=0.0, low_open=True, high=math.pi, optional=True)
        check.numbers(self, ("min_imitation_reward",), low=0.0, high=1.0, high_open=True, optional=True)
        check.numbers(self, ("spectral_cutoff",), low=0.0, low_open=True, high=1e3)
        check.numbers(self, ("gait_frequency",), low=0.0, low_open=True, high=100.0)
        check.numbers(self, ("obs_noise",), low=0.0, high=100.0)
        for name in ("command_vx", "command_vy", "command_yaw"):
            check.ordered_pair(self, name, low=-5.0, high=5.0)
        for name, (low, high) in _RANDOMISATION_BOUNDS.items():
            if getattr(self, name) is not None:  # None: not randomised
                check.ordered_pair(self, name, low=low, high=high)
        check.integers(self, max_latency_steps=(0, 10), num_threads=(0, 1024))
        check.instance(self, "reward_config", (rewards.ImitationRewardConfig, rewards.JoystickRewardConfig),
                       optional=True)
        _check_reward_config(self.reward_config)
