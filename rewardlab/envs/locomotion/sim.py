"""MuJoCo quadruped simulators: motion imitation here, velocity tracking in :mod:`.joystick`.

Both step B instances of one Go1-class robot (``assets/quadruped.xml``, or ``xml_file=``) with
``mujoco.rollout``: the whole batch advances in one C++ call (a thread pool over MjData), with no
Python work per instance. The simulator's state is the array of MuJoCo physics states
(time, qpos, qvel), so a pickled simulator continues exactly where it stopped. A single
instance (``gym.make``) runs the same code at B = 1, and every per-instance computation has a
fixed order of operations (elementwise rotations, sums along one axis), so B single envs equal
one batch of B bit for bit in every output.

=====================  ==========================================================================
agents                 ``("robot",)`` (single agent)
action space           Box(-1, 1, (12,)): joint position targets, q* = q_stand + action_scale * a
                       (``action_mode="residual"``: q* = q_ref(t+1) + action_scale * a), clipped
                       to the joint ranges; order FR, FL, RR, RL x (hip, thigh, calf)
observation            float32: root height, projected gravity (3), body-frame linear (3) and
                       angular (3) velocity, q - q_stand (12), joint velocities (12), previous
                       action (12), phase (cos, sin); imitation adds the next reference pose
                       q_ref(t+1) - q_stand (12) and the next reference root position in the
                       trunk frame (3) -> 63 (60 with ``observe_reference_root=False``);
                       joystick adds the command (vx, vy, yaw rate) -> 51
control                50 Hz (``control_dt``), physics 0.004 s (5 substeps), position servos
                       Kp = 35, Kd = 0.5, torque limits 23.7 / 23.7 / 35.55 N m
episode                ``episode_seconds`` (10 s = 500 steps); terminated on a fall (root below
                       ``terminate_height`` or tilted past ``terminate_tilt``) and, when
                       imitating, when the root strays ``max_root_error`` m from the reference
                       (options: ``max_root_rotation_error``, ``min_imitation_reward``)
=====================  ==========================================================================

Reward: the simulators measure (errors against the reference; velocities, contacts, air time,
torques and power of the robot; action differences) and :mod:`.rewards` turns the measurements
into named raw terms; the presets there hold every weight and a config dataclass every constant
(``reward_config=``: an ``ImitationRewardConfig`` or a ``JoystickRewardConfig``). Imitation terms:
Peng et al. 2020's five kernels; joystick terms: MuJoCo Playground's Go1 joystick. Presets:
``imitation`` (default of LocoImitation), ``imitation+action_rate``, ``imitation+action_acc``;
``joystick`` (default of LocoJoystick), ``joystick+action_rate``, ``joystick+action_acc``.

Episode metrics (``info["episode_metrics"]``): ``imitation_return`` (the Peng-weighted sum of the
imitation terms whatever the training reward; joystick: ``tracking_return``), ``smoothness_sm``,
``action_rate``, ``high_freq_energy`` (share above ``spectral_cutoff`` Hz), ``mean_torque``
(mean |tau| over joints and physics steps, N m), ``mechanical_power`` (mean sum_j |tau_j qdot_j|,
W), ``distance`` (root displacement along x, m); see :mod:`.smoothness` for the formulas.

Domain randomisation (off by default; drawn per instance at every reset from ``self.rng``):
``friction_range`` (sliding friction of every geom), ``payload_range`` (kg added to the trunk),
``motor_strength_range`` (scales the servo gains and torque limits), ``max_latency_steps`` (the
action applied is that of k steps ago, k uniform in 0..max), ``obs_noise`` (std of Gaussian noise
on observations).

Rendering (``render_mode="rgb_array"``): 320x240 frames from a tracking camera through
``mujoco.Renderer``, created on first use and never pickled. Without a display and without
``MUJOCO_GL``, importing rewardlab selects EGL (NVIDIA device present) or OSMesa.
"""

from __future__ import annotations

import copy
import math
import os
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces
from mujoco import rollout as mj_rollout

from rewardlab.core.errors import RewardlabError
from rewardlab.core.sim import BatchedSim, StepOutcome
from rewardlab.envs.locomotion import rewards, smoothness
from rewardlab.envs.locomotion.gaits import ReferenceMotion
from rewardlab.envs.locomotion.model import (
    STANDING_POSE,
    QuadrupedModel,
    read_xml,
)
from rewardlab.envs.locomotion.params import LocoParams
from rewardlab.envs.locomotion.rotations import rotate, rotate_back, rotation

_CONTROL_SPEC = int(mujoco.mjtState.mjSTATE_CTRL)

#: Gaussian-noise std per observation block, multiplied by ``obs_noise``.
_NOISE_BLOCKS = {"height": 0.02, "gravity": 0.05, "lin_vel": 0.1, "ang_vel": 0.2, "q": 0.01, "qd": 1.5}


class LocoBase(BatchedSim):
    """The MuJoCo machinery shared by both tasks: batched stepping, state, metrics, rendering."""

    Params = LocoParams
    render_fps = 50
    extra_obs = 0
    #: the task needs ||tau||_2 over the substeps (the joystick's torques term)
    needs_torque_norm = False
    #: observation entries of the phase (cos, sin): the phi of a Linear Policy Net, which
    #: rewardlab's PPO reads when its own phase_index is unset
    phase_index = (46, 47)

    # ----------------------------------------------------------------- set-up
    def _setup(self) -> None:
        p = self.params
        self.xml = read_xml(p.xml_file)
        try:
            self._build_physics()
        except ValueError as err:
            raise RewardlabError(f"{self.env_id}: xml_file: {err}") from err
        qm = self.qm
        self.control_rate = 1.0 / p.control_dt
        self.episode_steps = int(round(p.episode_seconds / p.control_dt))
        self.agents = ("robot",)
        self.obs_dim = 1 + 3 + 3 + 3 + 12 + 12 + 12 + 2 + self.extra_obs
        self.observation_spaces = (spaces.Box(-np.inf, np.inf, shape=(self.obs_dim,), dtype=np.float32),)
        self.action_spaces = (spaces.Box(-1.0, 1.0, shape=(12,), dtype=np.float32),)
        b = self.num_envs
        self.state = np.zeros((b, qm.state_size))
        self.t = np.zeros(b, dtype=np.int64)
        self.actions_prev = np.zeros((b, 12))
        self.actions_prev2 = np.zeros((b, 12))
        self.action_log = np.zeros((b, self.episode_steps, 12))
        self.pending = np.zeros((b, p.max_latency_steps + 1, 12))  # latency queue, newest first
        self.latency = np.zeros(b, dtype=np.int64)
        self.friction = np.ones(b)
        self.payload = np.zeros(b)
        self.strength = np.ones(b)
        self.feet_prev = np.zeros((b, 4, 3))
        self.sum_torque = np.zeros(b)
        self.sum_power = np.zeros(b)
        self.sum_task = np.zeros(b)
        self.start_x = np.zeros(b)
        self.joint_pos_target = np.zeros((b, 12))
        self._obs = np.zeros((b, self.obs_dim), dtype=np.float32)
        self._rows = np.arange(b)
        self._min_up = math.cos(p.terminate_tilt)
        self._renderer = None
        self._render_data = None
        config = self.default_reward_config if p.reward_config is None else p.reward_config
        if type(config) is not type(self.default_reward_config):
            raise RewardlabError(
                f"{self.env_id}: reward_config must be a rewards.{type(self.default_reward_config).__name__} "
                f"(or None for the published constants), got {config!r}"
            )
        self.reward_config = config

    @property
    def randomises_model(self) -> bool:
        p = self.params
        return any(r is not None for r in (p.friction_range, p.payload_range, p.motor_strength_range))

    def _build_physics(self) -> None:
        """(Re)create the MjModel(s), the MjData scratch of each thread and the rollout pool."""
        self.qm = QuadrupedModel(self.xml)
        model = self.qm.model
        substeps = self.params.control_dt / model.opt.timestep
        if abs(substeps - round(substeps)) > 1e-6 or round(substeps) < 1:
            raise ValueError(
                f"control_dt ({self.params.control_dt}) must be a whole multiple of the model "
                f"timestep ({model.opt.timestep})"
            )
        self.substeps = int(round(substeps))
        self._per_substep = 1.0 / self.substeps
        b = self.num_envs
        threads = self.params.num_threads or min(b, os.cpu_count() or 1)
        threads = 0 if b == 1 or threads <= 1 else min(threads, b)
        self.threads = threads
        self._pool = mj_rollout.Rollout(nthread=threads)
        self._rollout = self._pool.rollout_.rollout  # the C++ entry point, without the checks
        self._datas = [mujoco.MjData(model) for _ in range(max(threads, 1))]
        if self.randomises_model:
            self._models = [copy.deepcopy(model) for _ in range(b)]
        else:
            self._models = [model] * b
        self._base_mass = float(model.body_mass[self.qm.trunk_body])
        self._base_gain = model.actuator_gainprm[:, 0].copy()
        self._base_bias = model.actuator_biasprm[:, :3].copy()
        self._base_force = model.actuator_forcerange.copy()
        self._base_friction = model.geom_friction[:, 0].copy()
        self._out_state = np.zeros((b, self.substeps, self.qm.state_size))
        self._out_sensor = np.zeros((b, self.substeps, model.nsensordata))
        self._control = np.zeros((b, self.substeps, model.nu))
        self._start_qvel = np.zeros((b, self.substeps, 12))

    def _advance(self) -> None:
        """Run the substeps of every instance from ``self.state`` under ``self._control``.

        Leaves the state after the last substep in ``self.state`` (a new array), the sensors of
        each substep (evaluated at its start) in ``_out_sensor`` (B, substeps, nsensordata) and
        the joint velocities at the start of each substep in ``_start_qvel`` (B, substeps, 12).
        The batch runs in one ``mujoco.rollout`` call (on the thread pool; a single instance on
        the calling thread): the substeps and the copies of their states and sensors all happen
        in C++, with no Python call per substep.
        """
        start_qvel = self._start_qvel
        start_qvel[:, 0] = self.state[:, 26:38]
        self._rollout(
            self._models, self._datas, self.substeps, _CONTROL_SPEC,
            self.state, None, self._control, self._out_state, self._out_sensor, None,
        )
        start_qvel[:, 1:] = self._out_state[:, :-1, 26:38]
        self.state = self._out_state[:, -1].copy()

    def _apply_model_randomisation(self, rows: np.ndarray) -> None:
        for i in rows:  # only at resets and only with domain randomisation on
            m = self._models[i]
            friction = self._base_friction * self.friction[i] if self.params.friction_range else self._base_friction
            m.geom_friction[:, 0] = friction
            m.body_mass[self.qm.trunk_body] = self._base_mass + self.payload[i]
            m.actuator_gainprm[:, 0] = self._base_gain * self.strength[i]
            m.actuator_biasprm[:, :3] = self._base_bias * self.strength[i]
            m.actuator_forcerange[:] = self._base_force * self.strength[i]

    # ----------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # MuJoCo objects do not pickle (and the scratch buffers need not): rebuilt on load
        for key in ("qm", "_pool", "_datas", "_models", "_renderer", "_render_data",
                    "_out_state", "_out_sensor", "_control", "_start_qvel", "_rollout"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._build_physics()
        self._renderer = None
        self._render_data = None
        if self.randomises_model:
            self._apply_model_randomisation(np.arange(self.num_envs))

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ----------------------------------------------------------------- reset
    def _reset(self, rows: np.ndarray) -> None:
        p = self.params
        n = len(rows)
        qpos, qvel = self._initial_state(rows)
        qpos[:, 7:] += self.rng.uniform((12,), rows, -p.init_noise, p.init_noise)
        qpos[:, 7:] = np.clip(qpos[:, 7:], self.qm.joint_low, self.qm.joint_high)
        self.state[rows] = 0.0
        self.state[rows, 1:20] = qpos
        self.state[rows, 20:38] = qvel
        self.t[rows] = 0
        # the action that holds the initial pose, so that the first action rate is meaningful
        if p.action_mode == "absolute":
            first = np.clip((qpos[:, 7:] - STANDING_POSE) / p.action_scale, -1.0, 1.0)
        else:
            first = np.zeros((n, 12))
        self.actions_prev[rows] = first
        self.actions_prev2[rows] = first
        self.pending[rows] = first[:, None, :]
        self.action_log[rows] = 0.0
        self.sum_torque[rows] = 0.0
        self.sum_power[rows] = 0.0
        self.sum_task[rows] = 0.0
        self.start_x[rows] = qpos[:, 0]
        # domain randomisation: always draw (so streams do not depend on which ranges are set)
        u = self.rng.uniform((4,), rows)
        if p.friction_range:
            self.friction[rows] = p.friction_range[0] + u[:, 0] * (p.friction_range[1] - p.friction_range[0])
        if p.payload_range:
            self.payload[rows] = p.payload_range[0] + u[:, 1] * (p.payload_range[1] - p.payload_range[0])
        if p.motor_strength_range:
            lo, hi = p.motor_strength_range
            self.strength[rows] = lo + u[:, 2] * (hi - lo)
        self.latency[rows] = np.floor(u[:, 3] * (p.max_latency_steps + 1)).astype(np.int64)
        if self.randomises_model:
            self._apply_model_randomisation(rows)
        self.feet_prev[rows] = self._feet_world(self.state[rows])
        self._reset_task(rows)
        self._obs[rows] = self._compute_obs(rows)

    # ----------------------------------------------------------------- kinematics helpers
    def _feet_world(self, state: np.ndarray) -> np.ndarray:
        rot = rotation(state[:, 4:8])
        local = self.qm.legs.forward(state[:, 8:20])
        return state[:, None, 1:4] + rotate(rot, local)

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        obs = self._obs if rows is None else self._obs[rows]
        return obs[:, None, :].copy()

    def _compute_obs(self, rows: np.ndarray | None, rot: np.ndarray | None = None, frame: Any = None) -> np.ndarray:
        """Observations (rows, obs_dim) of the current state; ``frame`` as for ``_task_obs``."""
        sel = slice(None) if rows is None else rows
        state = self.state[sel]
        if rot is None:
            rot = rotation(state[:, 4:8])
        lin_vel = rotate_back(rot, state[:, 20:23])
        if self.params.obs_noise > 0:
            joints = state[:, 8:20] - STANDING_POSE
            parts = [state[:, 3:4], -rot[:, 2, :], lin_vel, state[:, 23:26], joints, state[:, 26:38]]
            noise = self.rng.normal((1 + 3 + 3 + 3 + 12 + 12,), rows) * self.params.obs_noise
            scales = np.concatenate(
                [np.full(size, _NOISE_BLOCKS[name]) for name, size in
                 (("height", 1), ("gravity", 3), ("lin_vel", 3), ("ang_vel", 3), ("q", 12), ("qd", 12))]
            )
            parts = [np.concatenate(parts, axis=1) + noise * scales, self.actions_prev[sel], self._task_obs(sel, frame)]
            return np.concatenate(parts, axis=1).astype(np.float32)
        # written block by block into the float32 result: each block is rounded to float32 once,
        # exactly as a float64 concatenation followed by astype would
        obs = np.empty((len(state), self.obs_dim), dtype=np.float32)
        obs[:, 0] = state[:, 3]
        np.negative(rot[:, 2, :], out=obs[:, 1:4])
        obs[:, 4:7] = lin_vel
        obs[:, 7:10] = state[:, 23:26]
        np.subtract(state[:, 8:20], STANDING_POSE, out=obs[:, 10:22])
        obs[:, 22:34] = state[:, 26:38]
        obs[:, 34:46] = self.actions_prev[sel]
        obs[:, 46:] = self._task_obs(sel, frame)
        return obs

    # ----------------------------------------------------------------- step
    def _step(self, actions: np.ndarray) -> StepOutcome:
        p = self.params
        qm = self.qm
        a = actions[:, 0, :]
        if p.max_latency_steps:
            self.pending = np.concatenate([a[:, None, :], self.pending[:, :-1]], axis=1)
            applied = self.pending[self._rows, self.latency]
        else:
            applied = a
        target = applied * p.action_scale
        if p.action_mode == "absolute":
            np.add(STANDING_POSE, target, out=target)
        else:
            np.add(self._reference_joints(self.t + 1), target, out=target)
        np.minimum(np.maximum(target, qm.ctrl_low, out=target), qm.ctrl_high, out=target)
        self.joint_pos_target = target
        self._control[:] = target[:, None, :]
        self._advance()  # new self.state, _out_sensor and _start_qvel
        b = self.num_envs
        self.action_log[self._rows, np.minimum(self.t, self.episode_steps - 1)] = a
        self.t += 1
        # effort over the step: torques act over each substep from the state at its start; the
        # sums run along one contiguous axis, so an instance's figures do not depend on B
        torque = self._out_sensor[:, :, qm.force_sensor_adr]  # (B, substeps, 12)
        power = np.abs(torque * self._start_qvel).reshape(b, -1).sum(axis=1) * self._per_substep
        torque_l1 = np.abs(torque).reshape(b, -1).sum(axis=1) * self._per_substep
        self.sum_power += power
        self.sum_torque += torque_l1
        effort = {"power": power, "torque_l1": torque_l1}
        if self.needs_torque_norm:
            effort["torque_l2"] = np.sqrt(np.square(torque).sum(axis=2)).sum(axis=1) * self._per_substep
        contact = np.greater(self._out_sensor[:, -1, qm.touch_sensor_adr], 1.0)
        # the action differences a - a_prev and (a - a_prev) - (a_prev - a_prev2); the history
        # buffers rotate instead of being copied
        prev, prev2 = self.actions_prev, self.actions_prev2
        change = a - prev
        change_of_change = change - (prev - prev2)
        prev2[:] = a
        self.actions_prev, self.actions_prev2 = prev2, prev

        state = self.state
        rot = rotation(state[:, 4:8])
        fallen = (state[:, 3] < p.terminate_height) | (rot[:, 2, 2] < self._min_up)
        terms, task_value, task_terminated, frame = self._task_terms(rot, contact, effort, fallen)
        terms.update(rewards.smoothness_terms(change, change_of_change))
        self.sum_task += task_value
        self._obs = self._compute_obs(None, rot, frame)
        return StepOutcome(
            terms={name: value[:, None] for name, value in terms.items()},
            terminated=fallen | task_terminated,
            truncated=self.t >= self.episode_steps,
            info={"contact": contact, "torque": torque_l1 / 12.0, "power": power, "fallen": fallen},
        )

    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        p = self.params
        steps = np.maximum(self.t[rows], 1)
        sm = np.empty(len(rows))
        rate = np.empty(len(rows))
        high = np.empty(len(rows))
        for k, i in enumerate(rows):  # at episode ends only: variable-length spectra
            log = self.action_log[i, : min(self.t[i], self.episode_steps)]
            sm[k] = smoothness.smoothness_sm(log, self.control_rate)
            rate[k] = smoothness.action_rate(log)
            high[k] = smoothness.high_freq_energy(log, self.control_rate, p.spectral_cutoff)
        metrics = {
            self.task_metric: self.sum_task[rows].copy(),
            "smoothness_sm": sm,
            "action_rate": rate,
            "high_freq_energy": high,
            "mean_torque": self.sum_torque[rows] / (12.0 * steps),
            "mechanical_power": self.sum_power[rows] / steps,
            "distance": self.state[rows, 1] - self.start_x[rows],
        }
        return metrics

    # ----------------------------------------------------------------- rendering
    def render_frame(self, index: int = 0) -> np.ndarray:
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.qm.model, height=240, width=320)
            self._render_data = mujoco.MjData(self.qm.model)
        data = self._render_data
        mujoco.mj_setState(self.qm.model, data, self.state[index], self.qm.state_spec)
        mujoco.mj_forward(self.qm.model, data)
        self._renderer.update_scene(data, camera="track")
        return self._renderer.render().copy()

    # ----------------------------------------------------------------- task hooks
    task_metric = "task_return"
    default_reward_config: Any = None

    def _initial_state(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _reset_task(self, rows: np.ndarray) -> None:
        pass

    def _task_obs(self, sel, frame: Any = None) -> np.ndarray:
        """Task part of the observation (phase, reference or command) of rows ``sel``.

        ``frame``: what ``_task_terms`` returned as its last item this step (all rows), or None.
        """
        raise NotImplementedError

    def _task_terms(self, rot, contact, effort, fallen):
        """The task's raw reward terms ((B,) each, from :mod:`.rewards`), its per-step score
        (summed into the task metric), its terminations and a value passed on to ``_task_obs``
        (``frame``).

        ``rot``: trunk rotation matrices (B, 3, 3); ``contact``: (B, 4) feet on the ground;
        ``effort``: means over the substeps, (B,) each: ``power`` (sum |tau qdot|),
        ``torque_l1`` (sum |tau|) and, where ``needs_torque_norm``, ``torque_l2`` (||tau||_2);
        ``fallen``: (B,) the robot fell this step.
        """
        raise NotImplementedError

    def _reference_joints(self, steps: np.ndarray) -> np.ndarray:
        return np.broadcast_to(STANDING_POSE, (len(steps), 12))


class LocoImitationSim(LocoBase):
    """Track a procedural reference motion (gait or jump) with Peng et al.'s imitation reward."""

    reward_terms = (*rewards.IMITATION_TERMS, *rewards.SMOOTHNESS_TERMS)
    reward_presets = rewards.IMITATION_PRESETS
    default_reward = "imitation"
    default_reward_config = rewards.ImitationRewardConfig()
    extra_obs = 12
    task_metric = "imitation_return"

    def _setup(self) -> None:
        # the next reference pose (12), and the next reference root position in the trunk frame (3)
        self.extra_obs = 12 + (3 if self.params.observe_reference_root else 0)
        super()._setup()
        p = self.params
        try:
            self.motion = ReferenceMotion(
                self.qm.legs, p.motion, p.speed, p.frequency, p.body_height, p.swing_height, p.control_dt,
                sway=p.sway,
            )
        except ValueError as err:
            raise RewardlabError(f"{self.env_id}: motion={p.motion!r}, speed={p.speed}: {err}") from err
        self.ref = self.motion.tabulate()
        self.frame0 = np.zeros(self.num_envs, dtype=np.int64)
        ref = self.ref
        frames = ref.frames
        # per-frame tables gathered with one index per step: the reference the terms compare
        # against, and the observation's phase (cos, sin) with the next reference pose
        self._ref_pack = np.concatenate(
            [ref.joint_pos, ref.joint_vel, ref.foot_local.reshape(frames, 12), ref.root_pos, ref.root_lin_vel,
             ref.root_ang_vel, ref.root_quat], axis=1,
        )
        angle = 2 * np.pi * np.arange(frames) / frames
        self._phase_obs = np.concatenate(
            [np.cos(angle)[:, None], np.sin(angle)[:, None], np.roll(ref.joint_pos, -1, axis=0) - STANDING_POSE], axis=1
        )
        # segments of _ref_pack[:, :45] (joints, joint velocities, feet, root position, root
        # linear and angular velocity) whose squared errors the kernels sum
        self._segments = np.array([0, 12, 24, 36, 39, 42])

    # reference at absolute step n of the episode clock (frame0 + t)
    def _ref_index(self, steps: np.ndarray, sel: Any = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        n = self.frame0[sel] + steps
        return n % self.ref.frames, n // self.ref.frames

    def _reference_joints(self, steps: np.ndarray) -> np.ndarray:
        k, _ = self._ref_index(steps)
        return self.ref.joint_pos[k]

    def reference_state(self, steps: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The reference at episode step ``steps`` (default: now) of every instance."""
        steps = self.t if steps is None else np.asarray(steps)
        k, cycle = self._ref_index(steps)
        shift = np.zeros((len(k), 3))
        shift[:, 0] = cycle * self.ref.displacement
        return {
            "joint_pos": self.ref.joint_pos[k],
            "joint_vel": self.ref.joint_vel[k],
            "root_pos": self.ref.root_pos[k] + shift,
            "root_quat": self.ref.root_quat[k],
            "root_lin_vel": self.ref.root_lin_vel[k],
            "root_ang_vel": self.ref.root_ang_vel[k],
            "foot_local": self.ref.foot_local[k],
            "foot_pos": self.ref.foot_pos[k] + shift[:, None, :],
            "contact": self.ref.contact[k],
        }

    def pose_reference(self, step: int, index: int = 0) -> None:
        """Put instance ``index`` kinematically at the reference's episode step ``step``.

        For playback and videos (``render()`` then shows the reference); it does not step physics.
        """
        ref = self.reference_state(np.full(self.num_envs, step))
        self.state[index, 1:4] = ref["root_pos"][index]
        self.state[index, 4:8] = ref["root_quat"][index]
        self.state[index, 8:20] = ref["joint_pos"][index]
        self.state[index, 20:23] = ref["root_lin_vel"][index]
        self.state[index, 23:26] = ref["root_ang_vel"][index]
        self.state[index, 26:38] = ref["joint_vel"][index]

    def _initial_state(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.params.random_start_phase:
            self.frame0[rows] = self.rng.integers(self.ref.frames, (), rows)
        else:
            self.frame0[rows] = 0
        k = self.frame0[rows]
        qpos = np.zeros((len(rows), 19))
        qpos[:, 0:3] = self.ref.root_pos[k]
        qpos[:, 3:7] = self.ref.root_quat[k]
        qpos[:, 7:] = self.ref.joint_pos[k]
        qvel = np.zeros((len(rows), 18))
        qvel[:, 0:3] = self.ref.root_lin_vel[k]
        qvel[:, 6:] = self.ref.joint_vel[k]
        return qpos, qvel

    def _task_obs(self, sel, frame: Any = None) -> np.ndarray:
        k = self._ref_index(self.t[sel], sel)[0] if frame is None else frame
        if not self.params.observe_reference_root:
            return self._phase_obs[k]
        k_next, cycle = self._ref_index(self.t[sel] + 1, sel)
        target = self.ref.root_pos[k_next]
        target[:, 0] += cycle * self.ref.displacement
        state = self.state[sel]
        offset = rotate_back(rotation(state[:, 4:8]), target - state[:, 1:4])
        return np.concatenate([self._phase_obs[k], offset], axis=1)

    def _task_terms(self, rot, contact, effort, fallen):
        k, cycle = self._ref_index(self.t)
        state = self.state
        ref = self._ref_pack[k]  # (B, 49), the layout of _ref_pack
        ref[:, 36] += cycle * self.ref.displacement
        # the robot in the same layout: one difference and one segmented sum give all errors
        now = np.empty((len(k), 45))
        now[:, 0:12] = state[:, 8:20]
        now[:, 12:24] = state[:, 26:38]
        now[:, 24:36] = self.qm.legs.forward(state[:, 8:20]).reshape(len(k), 12)
        now[:, 36:39] = state[:, 1:4]
        now[:, 39:42] = state[:, 20:23]
        now[:, 42:45] = rotate(rot, state[:, 23:26])  # angular velocity, world frame
        error_sq = np.square(ref[:, :45] - now)
        # sums along one contiguous axis in a fixed order: the same for any batch size
        sums = np.add.reduceat(error_sq, self._segments, axis=1)  # pose, vel, feet, root, lin, ang
        errors = rewards.ImitationErrors(
            joint_pos=sums[:, 0],
            joint_vel=sums[:, 1],
            end_effector=sums[:, 2],
            root_pos=sums[:, 3],
            # rotation angle between the reference and the trunk: 2 acos |<q_ref, q>|
            root_angle=2.0 * np.arccos(np.minimum(np.abs((ref[:, 45:49] * state[:, 4:8]).sum(axis=1)), 1.0)),
            root_lin_vel=sums[:, 4],
            root_ang_vel=sums[:, 5],
        )
        terms = rewards.imitation_terms(errors, self.reward_config)
        score = rewards.imitation_score(terms)
        p = self.params
        strayed = errors.root_pos > p.max_root_error * p.max_root_error  # root position error alone
        if p.max_root_rotation_error is not None:
            strayed |= errors.root_angle > p.max_root_rotation_error
        if p.min_imitation_reward is not None:
            strayed |= score < p.min_imitation_reward
        return terms, score, strayed, k
