"""PD gait trackers: the heuristic baselines of the locomotion tasks.

:class:`PDGaitTracker` replays an imitation reference; :class:`PDJoystickTrotter` trots at a
joystick command.

It plays the reference motion back through the robot's own position servos. For the next
reference frame it commands

    q* = q_ref + (tau_ff + K_d qdot_ref) / K_p,   tau_ff = -J_l(q_ref)^T m (a_ref + g e_z) / n_stance

for every leg l in stance in the reference: the feed-forward torque that carries the robot's
weight and accelerates it as the reference root does (the push-off of a jump or a pronk, the
LIP sway of a pace or a walk, the surge of a bound; ``accel_gain`` scales a_ref), shared equally
between the stance feet (so the net force points from their centroid, the reference's
zero-moment point, to the CoM and has no moment about it), and the servo's damping at the
reference joint speed, both turned into a position offset of the servo (K_p, K_d read from the
model). ``J_l`` is the trunk-frame Jacobian of the foot position with respect to the leg's joints
(central differences of the forward kinematics). Optionally, ``balance_gain`` tilts the stance
legs against the trunk's roll and pitch (an over-correction of the stance feet toward where a
level trunk would have them), ``position_gain`` / ``yaw_gain`` shift and turn the stance feet
against the root's position and heading error, and ``height_gain`` (off by default: it excites
the trot and the bound) stretches them against a height error. It is a non-learning reference
point for the imitation reward; with the default gaits it holds every motion (figures in
docs/locomotion.md, ``examples/locomotion_pd_tracker.py``).

Example::

    sim = rewardlab.make_sim("rewardlab/LocoImitation-v0", num_envs=8, random_start_phase=False)
    tracker = PDGaitTracker(sim)
    sim.reset(seed=0)
    for _ in range(500):
        step = sim.step(tracker(sim), autoreset=True)
"""

from __future__ import annotations

import numpy as np

from rewardlab.envs.locomotion.joystick import LocoJoystickSim
from rewardlab.envs.locomotion.model import STANDING_POSE, quat_to_matrix
from rewardlab.envs.locomotion.sim import LocoImitationSim

GRAVITY = 9.81


class PDGaitTracker:
    """Actions (B, 1, 12) that make a :class:`LocoImitationSim` replay its reference."""

    def __init__(
        self,
        sim: LocoImitationSim,
        gravity_compensation: bool = True,
        balance_gain: float = 1.0,
        position_gain: float = 0.5,
        yaw_gain: float = 1.0,
        max_shift: float = 0.05,
        accel_gain: float = 1.0,
        height_gain: float = 0.0,
    ) -> None:
        if not isinstance(sim, LocoImitationSim):
            raise TypeError("PDGaitTracker needs a LocoImitationSim (rewardlab/LocoImitation-v0)")
        model = sim.qm.model
        self.kp = model.actuator_gainprm[:, 0].copy()
        self.kd = -model.actuator_biasprm[:, 2].copy()
        self.gravity_compensation = gravity_compensation
        self.balance_gain = balance_gain
        self.position_gain = position_gain
        self.yaw_gain = yaw_gain
        self.height_gain = height_gain
        self.max_shift = max_shift
        self.weight = sim.qm.total_mass * GRAVITY
        ref = sim.ref
        # feed-forward torques per reference frame: they depend on the reference only
        jac = leg_jacobians(sim, ref.joint_pos)  # (K, 4, 3, 3): foot xyz by leg joint
        stance = ref.contact.astype(np.float64)
        # force the stance feet must supply: weight plus mass x the reference root's acceleration
        # (the push-off of a jump, the sway of a pace), never pulling
        accel = (np.roll(ref.root_lin_vel, -1, axis=0) - np.roll(ref.root_lin_vel, 1, axis=0)) / (2 * ref.dt)
        force = sim.qm.total_mass * accel_gain * accel
        force[:, 2] = np.maximum(force[:, 2] + sim.qm.total_mass * GRAVITY, 0.0)
        share = stance / np.maximum(stance.sum(axis=1, keepdims=True), 1.0)  # (K, 4)
        # tau = -J^T f with the ground reaction f = share x force on each stance foot
        tau = -np.einsum("kl,kc,klcj->klj", share, force, jac).reshape(len(stance), 12)
        self.feed_forward = tau if gravity_compensation else np.zeros_like(tau)

    def targets(self, sim: LocoImitationSim) -> np.ndarray:
        """Servo targets (B, 12) for the next control step."""
        k, _ = sim._ref_index(sim.t + 1)
        ref = sim.ref
        joints = ref.joint_pos[k]
        if self.balance_gain or self.position_gain or self.yaw_gain or self.height_gain:
            rot = quat_to_matrix(sim.state[:, 4:8])
            yaw = np.arctan2(rot[:, 1, 0], rot[:, 0, 0])
            c, s = np.cos(yaw), np.sin(yaw)
            unyaw = np.zeros_like(rot)
            unyaw[:, 0, 0], unyaw[:, 0, 1], unyaw[:, 1, 0], unyaw[:, 1, 1], unyaw[:, 2, 2] = c, s, -s, c, 1.0
            tilt = unyaw @ rot
            level = ref.foot_local[k]
            # attitude: feet where a level trunk would have them, over-corrected by balance_gain,
            # so the stance servos push the trunk back toward level harder than tracking does
            seen = np.einsum("bji,bfj->bfi", tilt, level)
            feet = level - self.balance_gain * (seen - level)
            # position and heading: stance feet shifted against the root's error move the root
            root_ref = sim.reference_state(sim.t + 1)["root_pos"]
            error = np.einsum("bij,bj->bi", unyaw[:, :2, :2], root_ref[:, :2] - sim.state[:, 1:3])
            shift = np.clip(self.position_gain * error, -self.max_shift, self.max_shift)
            feet[:, :, :2] -= shift[:, None, :]
            # height: stance legs stretched when the trunk is low, folded when it is high
            lift = np.clip(self.height_gain * (root_ref[:, 2] - sim.state[:, 3]), -self.max_shift, self.max_shift)
            feet[:, :, 2] -= lift[:, None]
            turn = np.clip(self.yaw_gain * yaw, -0.3, 0.3)
            ct, st = np.cos(turn)[:, None], np.sin(turn)[:, None]
            x, y = feet[:, :, 0].copy(), feet[:, :, 1].copy()
            feet[:, :, 0], feet[:, :, 1] = ct * x - st * y, st * x + ct * y
            stance = ref.contact[k][:, :, None]
            joints = sim.qm.legs.inverse(np.where(stance, feet, level), strict=False)
        return joints + (self.feed_forward[k] + self.kd * ref.joint_vel[k]) / self.kp

    def __call__(self, sim: LocoImitationSim) -> np.ndarray:
        target = self.targets(sim)
        p = sim.params
        if p.action_mode == "absolute":
            action = (target - STANDING_POSE) / p.action_scale
        else:
            action = (target - ref_next(sim)) / p.action_scale
        return np.clip(action, -1.0, 1.0)[:, None, :]


def ref_next(sim: LocoImitationSim) -> np.ndarray:
    k, _ = sim._ref_index(sim.t + 1)
    return sim.ref.joint_pos[k]


def leg_jacobians(sim: LocoImitationSim, joint_pos: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d(foot position, trunk frame)/d(leg joints): (N, 4, 3, 3) for joint angles (N, 12)."""
    legs = sim.qm.legs
    n = len(joint_pos)
    jac = np.zeros((n, 4, 3, 3))
    for j in range(3):  # three joints per leg: perturb that joint of all legs at once
        delta = np.zeros(12)
        delta[j::3] = eps
        diff = legs.forward(joint_pos + delta) - legs.forward(joint_pos - delta)
        jac[:, :, :, j] = diff / (2 * eps)
    return jac


class PDJoystickTrotter:
    """Actions (B, 1, 12) that trot a :class:`LocoJoystickSim` at its commanded velocity.

    The feet follow an in-place trot (``frequency`` Hz, ``swing_height`` m) whose stance and
    swing strokes are stretched to the command: in stance a foot moves against the commanded
    body velocity (vx, vy) and yaw rate, in swing it returns along the same cycloid as the
    imitation references. Stance feet are also shifted against the integrated velocity error
    (``position_gain``). Joint targets come from the closed-form inverse kinematics, with the
    weight-bearing feed-forward of :class:`PDGaitTracker` (and optionally its attitude
    correction, ``balance_gain``). Below the reward's ``command_threshold`` (a zero command) it
    stands, holding the standing pose against the robot's weight, as the ``stand_still`` term
    asks. It must be called once per step, in order: it integrates.

    The defaults (4 Hz, 6 cm of clearance) keep every command of the default ranges on its feet;
    at 3.125 Hz and 4 cm it fell walking backwards (docs/locomotion.md).
    """

    def __init__(
        self,
        sim: LocoJoystickSim,
        frequency: float = 4.0,
        swing_height: float = 0.06,
        balance_gain: float = 0.0,
        position_gain: float = 1.5,
        max_shift: float = 0.05,
    ) -> None:
        if not isinstance(sim, LocoJoystickSim):
            raise TypeError("PDJoystickTrotter needs a LocoJoystickSim (rewardlab/LocoJoystick-v0)")
        from rewardlab.envs.locomotion.gaits import ReferenceMotion

        model = sim.qm.model
        self.kp = model.actuator_gainprm[:, 0].copy()
        self.motion = ReferenceMotion(
            sim.qm.legs, "trot", speed=0.0, frequency=frequency, swing_height=swing_height,
            dt=sim.params.control_dt, body_height=sim.qm.nominal_height - 0.015,
        )
        self.table = self.motion.tabulate()
        self.balance_gain = balance_gain
        self.position_gain = position_gain
        self.max_shift = max_shift
        self.weight = sim.qm.total_mass * GRAVITY
        self.stance_time = self.motion.gait.duty * self.motion.period
        # integrated velocity error: where the robot is against where the command would have
        # taken it (body frame, m); zeroed at every episode start
        self.drift = np.zeros((sim.num_envs, 2))
        self.command_threshold = sim.reward_config.command_threshold
        # standing: the standing pose plus the servo offset that carries a quarter of the weight
        # on each leg (without it the joints sag by about 0.1 rad under the robot's weight)
        jac = _jacobians(sim.qm.legs, STANDING_POSE[None, :])
        self.standing_targets = STANDING_POSE - (jac[0, :, 2, :] * (self.weight / 4.0)).reshape(12) / self.kp

    def targets(self, sim: LocoJoystickSim) -> np.ndarray:
        table, motion = self.table, self.motion
        k = (sim.t + 1) % table.frames
        phase = motion.leg_phase((sim.t + 1) * sim.params.control_dt)  # (B, 4)
        duty = motion.gait.duty
        stance = phase < duty
        s_stance = phase / duty
        s_swing = np.clip((phase - duty) / (1.0 - duty), 0.0, 1.0)
        # stroke profile in [-1/2, 1/2]: +1/2 at touch-down, -1/2 at lift-off
        stroke = np.where(stance, 0.5 - s_stance, -0.5 + s_swing - np.sin(2 * np.pi * s_swing) / (2 * np.pi))
        feet = table.foot_local[k].copy()  # (B, 4, 3) in-place trot
        command = sim.command
        feet[:, :, 0] += command[:, None, 0] * self.stance_time * stroke
        feet[:, :, 1] += command[:, None, 1] * self.stance_time * stroke
        turn = command[:, None, 2] * self.stance_time * stroke  # yaw stroke about the trunk centre
        x, y = feet[:, :, 0].copy(), feet[:, :, 1].copy()
        feet[:, :, 0], feet[:, :, 1] = x - turn * y, y + turn * x
        if self.balance_gain:
            rot = quat_to_matrix(sim.state[:, 4:8])
            yaw = np.arctan2(rot[:, 1, 0], rot[:, 0, 0])
            c, s = np.cos(yaw), np.sin(yaw)
            unyaw = np.zeros_like(rot)
            unyaw[:, 0, 0], unyaw[:, 0, 1], unyaw[:, 1, 0], unyaw[:, 1, 1], unyaw[:, 2, 2] = c, s, -s, c, 1.0
            tilt = unyaw @ rot
            seen = np.einsum("bji,bfj->bfi", tilt, feet)
            feet = np.where(stance[:, :, None], feet - self.balance_gain * (seen - feet), feet)
        # integral feedback on velocity, applied like the imitation tracker's position feedback:
        # stance feet shifted against the accumulated error move the trunk back on course
        rot = quat_to_matrix(sim.state[:, 4:8])
        velocity = np.matmul(sim.state[:, None, 20:23], rot)[:, 0, :2]
        self.drift[sim.t == 0] = 0.0
        self.drift = np.clip(self.drift + (command[:, :2] - velocity) * sim.params.control_dt, -0.2, 0.2)
        shift = np.clip(self.position_gain * self.drift, -self.max_shift, self.max_shift)
        feet[:, :, :2] -= np.where(stance[:, :, None], shift[:, None, :], 0.0)
        joints = sim.qm.legs.inverse(feet, strict=False)
        jac = _jacobians(sim.qm.legs, joints)
        share = self.weight / np.maximum(stance.sum(axis=1, keepdims=True), 1.0) * stance
        tau = -(jac[:, :, 2, :] * share[:, :, None]).reshape(len(joints), 12)
        return joints + tau / self.kp

    def __call__(self, sim: LocoJoystickSim) -> np.ndarray:
        targets = self.targets(sim)
        still = np.linalg.norm(sim.command, axis=1) < self.command_threshold
        targets[still] = self.standing_targets
        action = (targets - STANDING_POSE) / sim.params.action_scale
        return np.clip(action, -1.0, 1.0)[:, None, :]


def _jacobians(legs, joint_pos: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    n = len(joint_pos)
    jac = np.zeros((n, 4, 3, 3))
    for j in range(3):
        delta = np.zeros(12)
        delta[j::3] = eps
        jac[:, :, :, j] = (legs.forward(joint_pos + delta) - legs.forward(joint_pos - delta)) / (2 * eps)
    return jac
