"""LocoJoystick: the quadruped follows a commanded body velocity (vx, vy, yaw rate), drawn per episode.

The MuJoCo machinery (stepping, state, observations, metrics) is :class:`LocoBase` in
:mod:`rewardlab.envs.locomotion.sim`; the reward terms and presets are in
:mod:`rewardlab.envs.locomotion.rewards`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardlab.envs.locomotion import rewards
from rewardlab.envs.locomotion.model import STANDING_POSE
from rewardlab.envs.locomotion.rotations import cross, rotate, rotate_back
from rewardlab.envs.locomotion.sim import LocoBase


class LocoJoystickSim(LocoBase):
    """Follow a commanded body velocity (vx, vy, yaw rate), drawn per episode."""

    reward_terms = (*rewards.JOYSTICK_TERMS, *rewards.SMOOTHNESS_TERMS)
    reward_presets = rewards.JOYSTICK_PRESETS
    default_reward = "joystick"
    default_reward_config = rewards.JoystickRewardConfig()
    extra_obs = 3
    task_metric = "tracking_return"
    needs_torque_norm = True

    def _setup(self) -> None:
        super()._setup()
        b = self.num_envs
        self.command = np.zeros((b, 3))
        # per-foot clocks of the feet_* terms, kept between steps
        self.air_time = np.zeros((b, 4))
        self.swing_peak = np.zeros((b, 4))
        self.was_in_contact = np.ones((b, 4), dtype=bool)
        self.stand_height = self.qm.nominal_height
        self.reward = rewards.JoystickReward(
            self.reward_config, STANDING_POSE, self.qm.joint_low, self.qm.joint_high, self.stand_height
        )
        # the observation's gait clock (cos, sin) at every step of an episode, computed once
        p = self.params
        angle = 2 * np.pi * p.gait_frequency * np.arange(self.episode_steps + 1) * p.control_dt
        self._clock = np.stack([np.cos(angle), np.sin(angle)], axis=1)

    def _initial_state(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        qpos = np.zeros((len(rows), 19))
        qpos[:, 2] = self.stand_height
        qpos[:, 3] = 1.0
        qpos[:, 7:] = STANDING_POSE
        return qpos, np.zeros((len(rows), 18))

    def _reset_task(self, rows: np.ndarray) -> None:
        p = self.params
        u = self.rng.uniform((3,), rows)
        lows = np.array([p.command_vx[0], p.command_vy[0], p.command_yaw[0]])
        highs = np.array([p.command_vx[1], p.command_vy[1], p.command_yaw[1]])
        self.command[rows] = lows + u * (highs - lows)
        self.air_time[rows] = 0.0
        self.swing_peak[rows] = 0.0
        self.was_in_contact[rows] = True

    def _task_obs(self, sel, frame: Any = None) -> np.ndarray:
        t = self.t[sel]
        if len(t) and t.max() > self.episode_steps:  # stepped on past the time limit
            angle = 2 * np.pi * self.params.gait_frequency * t * self.params.control_dt
            return np.concatenate([np.cos(angle)[:, None], np.sin(angle)[:, None], self.command[sel]], axis=1)
        return np.concatenate([self._clock[t], self.command[sel]], axis=1)

    def _task_terms(self, rot, contact, effort, fallen):
        state = self.state
        dt = self.params.control_dt
        local, local_vel = self.qm.legs.forward_with_velocity(state[:, 8:20], state[:, 26:38])
        relative = rotate(rot, local)  # feet from the root, world frame
        feet = state[:, None, 1:4] + relative
        self.feet_prev = feet
        # foot velocities at the end of the step (what Playground's foot velocity sensors read):
        # v_root + R (w_body x p_local + J(q) qdot)
        body_ang_vel = state[:, 23:26]
        foot_vel = state[:, None, 20:23] + rotate(rot, cross(body_ang_vel[:, None, :], local) + local_vel)
        # a foot's air time and swing peak run from lift-off to touch-down (Playground's bookkeeping)
        first_contact = contact & ~self.was_in_contact
        self.air_time += dt
        np.maximum(self.swing_peak, feet[:, :, 2], out=self.swing_peak)
        measured = rewards.JoystickMeasurements(
            command=self.command,
            lin_vel=rotate_back(rot, state[:, 20:23]),
            ang_vel=state[:, 23:26],  # MuJoCo's free-joint angular velocity is in the body frame
            world_lin_vel=state[:, 20:23],
            world_ang_vel=rotate(rot, body_ang_vel),
            gravity=-rot[:, 2, :],
            height=state[:, 3],
            joint_pos=state[:, 8:20],
            torque_l2=effort["torque_l2"],
            torque_l1=effort["torque_l1"],
            power=effort["power"],
            contact=contact,
            first_contact=first_contact,
            air_time=self.air_time.copy(),
            swing_peak=self.swing_peak.copy(),
            foot_height=feet[:, :, 2],
            foot_vel_xy=foot_vel[:, :, :2],
            fallen=fallen,
        )
        terms = self.reward.terms(measured)
        self.air_time[contact] = 0.0
        self.swing_peak[contact] = 0.0
        self.was_in_contact = contact
        return terms, rewards.tracking_score(terms), np.zeros(self.num_envs, dtype=bool), None
