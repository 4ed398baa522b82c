"""The reward of the locomotion family: every term, constant and preset, in one place.

The simulators (:mod:`.sim`) measure; this module scores. A step of either task fills a
measurement record (:class:`ImitationErrors` or :class:`JoystickMeasurements`, one entry per
instance); the term functions below turn it into named raw terms with no weight built in; a
preset (a :class:`~rewardlab.core.reward.RewardSpec`) holds every coefficient; the constants of
the terms (kernel scales, the tracking sigma, the air-time target...) live once, in a frozen
config dataclass that ``gym.make(..., reward_config=...)`` replaces. This follows MuJoCo
Playground's Go1 joystick (``reward_config.scales`` plus the constants beside them) and
Gymnasium's ``_get_rew``: to change a weight, pick or write a preset; to change a constant,
pass a config.

Imitation (Peng et al. 2020, "Learning Agile Robotic Locomotion Skills by Imitating Animals",
quadruped kernels; raw values in [0, 1]; weights of the ``imitation`` preset in brackets)::

    pose            exp(-5 sum_j (q_ref - q)^2)                                          [0.5]
    joint_velocity  exp(-0.1 sum_j (qdot_ref - qdot)^2)                                   [0.05]
    end_effector    exp(-40 sum_feet ||x_ref - x||^2), feet in the trunk frame            [0.2]
    root_pose       exp(-20 (||p_ref - p||^2 + 0.5 theta^2)), theta: angle between the
                    reference and trunk orientations                                      [0.15]
    root_velocity   exp(-2 (||v_ref - v||^2 + 0.1 ||w_ref - w||^2)), world frame          [0.1]

Joystick (MuJoCo Playground, ``locomotion/go1/joystick.py``: its terms and its
``reward_config.scales``, which are the ``joystick`` preset's weights in brackets; c is the
command (vx, vy, yaw rate), "moving" means ||c|| > ``command_threshold``)::

    tracking_lin_vel  exp(-||c_xy - v_xy||^2 / sigma), trunk-frame velocity            [1.0]
    tracking_ang_vel  exp(-(c_yaw - w_z)^2 / sigma), trunk-frame yaw rate               [0.5]
    lin_vel_z         v_z^2, world frame                                               [-0.5]
    ang_vel_xy        ||w_xy||^2, world frame                                          [-0.05]
    orientation       ||g_xy||^2, gravity in the trunk frame                           [-5.0]
    dof_pos_limits    sum_j of how far q_j is outside 0.95 x its joint range           [-1.0]
    pose              exp(-sum_j k_j (q_j - q_stand,j)^2), k = 1, 1, 0.1 (hip, thigh,
                      calf)                                                            [0.5]
    termination       1 on the step the robot falls                                    [-1.0]
    stand_still       sum_j |q_j - q_stand,j| while not moving                         [-1.0]
    torques           ||tau||_2 + ||tau||_1, mean over the physics steps               [-2e-4]
    energy            sum_j |tau_j qdot_j|, mean over the physics steps                [-1e-3]
    feet_clearance    sum_feet |z_foot - h_max| sqrt(||v_foot,xy||)                    [-2.0]
    feet_height       sum_feet touching down (peak swing height / h_max - 1)^2, moving [-0.2]
    feet_slip         sum_feet in contact ||v_foot,xy||^2, moving                      [-0.1]
    feet_air_time     sum_feet touching down (air time - 0.1 s), moving                [0.1]
    base_height       (h - h_stand)^2 (legged_gym's term; not in Playground's Go1)     [0]

Both tasks: ``action_rate`` ||a_t - a_{t-1}||^2 and ``action_acc`` ||a_t - 2 a_{t-1} + a_{t-2}||^2
(weight 0 except in the presets named after them, -0.01; Playground's Go1 joystick weighs
action_rate -0.01, so ``joystick+action_rate`` is its ``reward_config.scales`` term for term).

Where rewardlab departs from Playground (docs/locomotion.md gives the reasons): the step reward
is the weighted sum itself, neither multiplied by the control period (0.02 s) nor clipped at 0
(``gymnasium.wrappers.ClipReward(env, min_reward=0.0)`` restores the clip); the torque and
energy terms average the physics steps of a control step instead of reading its last one; foot
velocities are finite differences over the control step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.core.reward import RewardSpec

SMOOTHNESS_TERMS = ("action_rate", "action_acc")
SMOOTHNESS_WEIGHT = -0.01

# ----------------------------------------------------------------------------- imitation
IMITATION_TERMS = ("pose", "joint_velocity", "end_effector", "root_pose", "root_velocity")
#: Peng et al.'s weights of the five kernels (they sum to 1).
IMITATION_WEIGHTS = {"pose": 0.5, "joint_velocity": 0.05, "end_effector": 0.2, "root_pose": 0.15, "root_velocity": 0.1}
IMITATION_PRESETS = {
    "imitation": RewardSpec(weights=dict(IMITATION_WEIGHTS)),
    "imitation+action_rate": RewardSpec(weights={**IMITATION_WEIGHTS, "action_rate": SMOOTHNESS_WEIGHT}),
    "imitation+action_acc": RewardSpec(weights={**IMITATION_WEIGHTS, "action_acc": SMOOTHNESS_WEIGHT}),
}


@dataclass(frozen=True)
class ImitationRewardConfig:
    """Kernel scales of the imitation terms (Peng et al. 2020, quadruped)."""

    pose_scale: float = 5.0
    joint_velocity_scale: float = 0.1
    end_effector_scale: float = 40.0
    root_pose_scale: float = 20.0
    #: weight of the squared root rotation angle against the squared root position error
    root_rotation_weight: float = 0.5
    root_velocity_scale: float = 2.0
    #: weight of the squared root angular-velocity error against the linear one
    root_angular_velocity_weight: float = 0.1


@dataclass
class ImitationErrors:
    """What the imitation simulator measures each step, against the reference (arrays (B,)).

    Every entry is a sum of squared differences reference - robot, except ``root_angle``.
    """

    joint_pos: np.ndarray  #: sum over the 12 joints, rad^2
    joint_vel: np.ndarray  #: sum over the 12 joints, (rad/s)^2
    end_effector: np.ndarray  #: sum over the 4 feet of squared distances, trunk frame, m^2
    root_pos: np.ndarray  #: squared distance of the root, m^2
    root_angle: np.ndarray  #: rotation angle between the reference and trunk orientations, rad
    root_lin_vel: np.ndarray  #: root linear velocity, world frame, (m/s)^2
    root_ang_vel: np.ndarray  #: root angular velocity, world frame, (rad/s)^2


def imitation_terms(e: ImitationErrors, config: ImitationRewardConfig) -> dict[str, np.ndarray]:
    """The five imitation kernels, (B,) each, in [0, 1]."""
    c = config
    root_pose_error = e.root_pos + c.root_rotation_weight * np.square(e.root_angle)
    root_velocity_error = e.root_lin_vel + c.root_angular_velocity_weight * e.root_ang_vel
    return {
        "pose": np.exp(-c.pose_scale * e.joint_pos),
        "joint_velocity": np.exp(-c.joint_velocity_scale * e.joint_vel),
        "end_effector": np.exp(-c.end_effector_scale * e.end_effector),
        "root_pose": np.exp(-c.root_pose_scale * root_pose_error),
        "root_velocity": np.exp(-c.root_velocity_scale * root_velocity_error),
    }


def imitation_score(terms: dict[str, np.ndarray]) -> np.ndarray:
    """Peng et al.'s imitation reward of a step, whatever the training reward (the
    ``imitation_return`` episode metric sums it)."""
    w = IMITATION_WEIGHTS
    return (((w["pose"] * terms["pose"] + w["joint_velocity"] * terms["joint_velocity"])
             + w["end_effector"] * terms["end_effector"]) + w["root_pose"] * terms["root_pose"]) + (
        w["root_velocity"] * terms["root_velocity"]
    )


# ----------------------------------------------------------------------------- joystick
JOYSTICK_TERMS = (
    "tracking_lin_vel", "tracking_ang_vel", "lin_vel_z", "ang_vel_xy", "orientation", "dof_pos_limits",
    "pose", "termination", "stand_still", "torques", "energy", "feet_clearance", "feet_height", "feet_slip",
    "feet_air_time", "base_height",
)
#: MuJoCo Playground's Go1 joystick ``reward_config.scales`` but its action_rate (-0.01), which
#: the ``joystick+action_rate`` preset adds.
JOYSTICK_WEIGHTS = {
    "tracking_lin_vel": 1.0, "tracking_ang_vel": 0.5,
    "lin_vel_z": -0.5, "ang_vel_xy": -0.05, "orientation": -5.0,
    "dof_pos_limits": -1.0, "pose": 0.5,
    "termination": -1.0, "stand_still": -1.0,
    "torques": -0.0002, "energy": -0.001,
    "feet_clearance": -2.0, "feet_height": -0.2, "feet_slip": -0.1, "feet_air_time": 0.1,
}
JOYSTICK_PRESETS = {
    "joystick": RewardSpec(weights=dict(JOYSTICK_WEIGHTS)),
    "joystick+action_rate": RewardSpec(weights={**JOYSTICK_WEIGHTS, "action_rate": SMOOTHNESS_WEIGHT}),
    "joystick+action_acc": RewardSpec(weights={**JOYSTICK_WEIGHTS, "action_acc": SMOOTHNESS_WEIGHT}),
}


@dataclass(frozen=True)
class JoystickRewardConfig:
    """Constants of the joystick terms (MuJoCo Playground's Go1 joystick values)."""

    #: width of the velocity-tracking kernels, (m/s)^2 and (rad/s)^2
    tracking_sigma: float = 0.25
    #: air time a foot must exceed to earn ``feet_air_time``, s
    air_time_target: float = 0.1
    #: below this command norm ||(vx, vy, yaw rate)|| the robot is asked to stand still
    command_threshold: float = 0.01
    #: target swing height of the feet (foot centre above the ground), m
    max_foot_height: float = 0.1
    #: per-joint weights of the ``pose`` kernel: hip abduction, hip flexion, knee
    pose_weights: tuple[float, float, float] = (1.0, 1.0, 0.1)
    #: ``dof_pos_limits`` counts the distance outside this fraction of each joint's limits
    soft_joint_limit_factor: float = 0.95


@dataclass
class JoystickMeasurements:
    """What the joystick simulator measures each step (leading axis B; the 4 feet FR, FL, RR, RL)."""

    command: np.ndarray  #: (B, 3) commanded vx, vy (m/s, trunk frame) and yaw rate (rad/s)
    lin_vel: np.ndarray  #: (B, 3) trunk linear velocity, trunk frame
    ang_vel: np.ndarray  #: (B, 3) trunk angular velocity, trunk frame (a gyro)
    world_lin_vel: np.ndarray  #: (B, 3) trunk linear velocity, world frame
    world_ang_vel: np.ndarray  #: (B, 3) trunk angular velocity, world frame
    gravity: np.ndarray  #: (B, 3) unit gravity vector in the trunk frame
    height: np.ndarray  #: (B,) root height, m
    joint_pos: np.ndarray  #: (B, 12) joint angles, rad
    torque_l2: np.ndarray  #: (B,) ||tau||_2, mean over the physics steps, N m
    torque_l1: np.ndarray  #: (B,) ||tau||_1, mean over the physics steps, N m
    power: np.ndarray  #: (B,) sum_j |tau_j qdot_j|, mean over the physics steps, W
    contact: np.ndarray  #: (B, 4) bool, the foot touches the ground
    first_contact: np.ndarray  #: (B, 4) bool, the foot touched down this step
    air_time: np.ndarray  #: (B, 4) time since the foot left the ground, this step included, s
    swing_peak: np.ndarray  #: (B, 4) highest foot height since the foot left the ground, m
    foot_height: np.ndarray  #: (B, 4) foot centre height, m
    foot_vel_xy: np.ndarray  #: (B, 4, 2) horizontal foot velocity over the step, world frame
    fallen: np.ndarray  #: (B,) bool, the robot fell this step


class JoystickReward:
    """The joystick terms of one robot: its standing pose, joint limits and standing height are
    fixed when the simulator is built; :meth:`terms` scores a step's measurements."""

    def __init__(self, config: JoystickRewardConfig, standing_pose: np.ndarray, joint_low: np.ndarray,
                 joint_high: np.ndarray, stand_height: float) -> None:
        self.config = config
        self.standing_pose = np.asarray(standing_pose, dtype=np.float64)
        self.pose_weights = np.tile(np.asarray(config.pose_weights, dtype=np.float64), 4)
        # Playground scales the limits themselves (not about their midpoint)
        self.soft_low = config.soft_joint_limit_factor * np.asarray(joint_low, dtype=np.float64)
        self.soft_high = config.soft_joint_limit_factor * np.asarray(joint_high, dtype=np.float64)
        self.stand_height = stand_height

    def terms(self, m: JoystickMeasurements) -> dict[str, np.ndarray]:
        """Raw joystick terms, (B,) each."""
        c = self.config
        command = m.command
        command_norm = np.sqrt(np.square(command).sum(axis=1))
        moving = command_norm > c.command_threshold
        still = command_norm < c.command_threshold
        lin_error = np.square(command[:, :2] - m.lin_vel[:, :2]).sum(axis=1)
        yaw_error = np.square(command[:, 2] - m.ang_vel[:, 2])
        offset = m.joint_pos - self.standing_pose
        outside = np.maximum(self.soft_low - m.joint_pos, 0.0) + np.maximum(m.joint_pos - self.soft_high, 0.0)
        foot_speed_sq = np.square(m.foot_vel_xy).sum(axis=2)  # (B, 4)
        clearance = np.abs(m.foot_height - c.max_foot_height) * np.sqrt(np.sqrt(foot_speed_sq))
        peak_error = np.square(m.swing_peak / c.max_foot_height - 1.0)
        return {
            "tracking_lin_vel": np.exp(-lin_error / c.tracking_sigma),
            "tracking_ang_vel": np.exp(-yaw_error / c.tracking_sigma),
            "lin_vel_z": np.square(m.world_lin_vel[:, 2]),
            "ang_vel_xy": np.square(m.world_ang_vel[:, :2]).sum(axis=1),
            "orientation": np.square(m.gravity[:, :2]).sum(axis=1),
            "dof_pos_limits": outside.sum(axis=1),
            "pose": np.exp(-(self.pose_weights * np.square(offset)).sum(axis=1)),
            "termination": m.fallen.astype(np.float64),
            "stand_still": np.abs(offset).sum(axis=1) * still,
            "torques": m.torque_l2 + m.torque_l1,
            "energy": m.power,
            "feet_clearance": clearance.sum(axis=1),
            "feet_height": (peak_error * m.first_contact).sum(axis=1) * moving,
            "feet_slip": (foot_speed_sq * m.contact).sum(axis=1) * moving,
            "feet_air_time": ((m.air_time - c.air_time_target) * m.first_contact).sum(axis=1) * moving,
            "base_height": np.square(m.height - self.stand_height),
        }


def tracking_score(terms: dict[str, np.ndarray]) -> np.ndarray:
    """The velocity-tracking part of the joystick reward (the ``tracking_return`` metric sums
    it): tracking_lin_vel + 0.5 tracking_ang_vel, at most 1.5 a step."""
    w = JOYSTICK_WEIGHTS
    return w["tracking_lin_vel"] * terms["tracking_lin_vel"] + w["tracking_ang_vel"] * terms["tracking_ang_vel"]


# ----------------------------------------------------------------------------- both tasks
def smoothness_terms(change: np.ndarray, change_of_change: np.ndarray) -> dict[str, np.ndarray]:
    """``action_rate`` and ``action_acc`` from the action differences (B, 12) a_t - a_{t-1} and
    (a_t - a_{t-1}) - (a_{t-1} - a_{t-2})."""
    return {
        "action_rate": np.square(change).sum(axis=1),
        "action_acc": np.square(change_of_change).sum(axis=1),
    }
