"""The quadruped model: loading the MJCF, its joint layout, and vectorised leg kinematics.

Every quadruped rewardlab simulates has the layout documented in ``assets/quadruped.xml``: a
free-jointed trunk and four legs (FR, FL, RR, RL), each a chain hip abduction (axis x) -> hip
flexion (axis y) -> knee (axis y) ending in a foot site. :class:`QuadrupedModel` reads the link
offsets from the compiled model, so the forward and inverse kinematics below hold for any robot
with that layout (``xml_file=``), not only for the shipped one.

Leg kinematics, in the trunk frame, for leg ``l`` with hip-abduction origin ``h_l``, lateral
offset ``d_l`` (thigh origin relative to the abduction joint, along y), thigh length ``l1`` and
calf length ``l2``::

    p = h_l + R_x(q0) (0, d_l, 0) + R_x(q0) R_y(q1) [(0, 0, -l1) + R_y(q2) (0, 0, -l2)]

Inverse kinematics (closed form, knee bent backwards, q2 < 0): with the foot target
``(x, y, z) = p - h_l``, the leg-plane depth is ``zl = -sqrt(y^2 + z^2 - d_l^2)``, the abduction
``q0 = atan2(z, y) - atan2(zl, d_l)``, the knee ``q2 = -acos((x^2 + zl^2 - l1^2 - l2^2) /
(2 l1 l2))`` and the hip ``q1 = atan2(-x, -zl) - atan2(l2 sin q2, l1 + l2 cos q2)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import mujoco
import numpy as np

LEGS = ("FR", "FL", "RR", "RL")
JOINTS_PER_LEG = ("hip", "thigh", "calf")
JOINT_NAMES = tuple(f"{leg}_{part}_joint" for leg in LEGS for part in JOINTS_PER_LEG)
DEFAULT_XML = os.path.join(os.path.dirname(__file__), "assets", "quadruped.xml")
#: The nominal standing pose (hip abduction, hip flexion, knee) of every leg, radians.
STANDING_POSE = np.tile([0.0, 0.9, -1.8], 4)


def read_xml(xml_file: str | None) -> str:
    """The MJCF text of ``xml_file`` (the shipped robot when None)."""
    path = DEFAULT_XML if xml_file is None else xml_file
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@dataclass(frozen=True)
class LegGeometry:
    """Link offsets of the four legs, read from a compiled model (metres, trunk frame)."""

    hip_pos: np.ndarray  # (4, 3) abduction-joint origins
    lateral: np.ndarray  # (4,) d_l: thigh origin along y from the abduction joint
    thigh: float  # l1
    calf: float  # l2
    foot_radius: float

    @property
    def reach(self) -> float:
        return self.thigh + self.calf

    def forward(self, q: np.ndarray) -> np.ndarray:
        """Foot positions in the trunk frame, (..., 4, 3), from joint angles (..., 12)."""
        q = np.asarray(q, dtype=np.float64).reshape(*np.shape(q)[:-1], 4, 3)
        q0, q1, q2 = q[..., 0], q[..., 1], q[..., 2]
        # sagittal plane of the leg (before abduction): x forward, z down the leg
        q12 = q1 + q2
        zs = -self.thigh * np.cos(q1) - self.calf * np.cos(q12)
        c, s = np.cos(q0), np.sin(q0)
        foot = np.empty((*q0.shape, 3))
        foot[..., 0] = -self.thigh * np.sin(q1) - self.calf * np.sin(q12)
        foot[..., 1] = c * self.lateral - s * zs
        foot[..., 2] = s * self.lateral + c * zs
        foot += self.hip_pos
        return foot

    def forward_with_velocity(self, q: np.ndarray, q_dot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Foot positions and velocities in the trunk frame, (B, 4, 3) each, from joint angles
        and velocities (B, 12): :meth:`forward` and its time derivative J(q) qdot."""
        b = len(q)
        q = q.reshape(b, 4, 3)
        q_dot = q_dot.reshape(b, 4, 3)
        q0, q1 = q[..., 0], q[..., 1]
        q12 = q1 + q[..., 2]
        w0, w1 = q_dot[..., 0], q_dot[..., 1]
        w12 = w1 + q_dot[..., 2]
        angles = np.stack([q0, q1, q12])
        (c, c1, c12), (s, s1, s12) = np.cos(angles), np.sin(angles)
        zs = -self.thigh * c1 - self.calf * c12  # leg-plane depth (before abduction)
        zs_dot = self.thigh * s1 * w1 + self.calf * s12 * w12
        foot = np.empty((b, 4, 3))
        foot[..., 0] = -self.thigh * s1 - self.calf * s12
        foot[..., 1] = c * self.lateral - s * zs
        foot[..., 2] = s * self.lateral + c * zs
        foot += self.hip_pos
        velocity = np.empty((b, 4, 3))
        velocity[..., 0] = -self.thigh * c1 * w1 - self.calf * c12 * w12
        velocity[..., 1] = -w0 * (s * self.lateral + c * zs) - s * zs_dot
        velocity[..., 2] = w0 * (c * self.lateral - s * zs) + c * zs_dot
        return foot, velocity

    def inverse(self, foot: np.ndarray, strict: bool = True) -> np.ndarray:
        """Joint angles (..., 12) that put the feet at ``foot`` (..., 4, 3), trunk frame.

        Raises ValueError when a target is out of the leg's reach; with ``strict=False`` the leg
        is stretched (or folded) as far as it goes toward it instead.
        """
        rel = np.asarray(foot, dtype=np.float64) - self.hip_pos
        x, y, z = rel[..., 0], rel[..., 1], rel[..., 2]
        d = np.broadcast_to(self.lateral, x.shape)
        depth_sq = y**2 + z**2 - d**2
        if not strict:
            depth_sq = np.maximum(depth_sq, 1e-6)
        if np.any(depth_sq <= 0.0):
            raise ValueError("foot target inside the abduction offset: no leg solution")
        zl = -np.sqrt(depth_sq)
        q0 = np.arctan2(z, y) - np.arctan2(zl, d)
        cos_knee = (x**2 + zl**2 - self.thigh**2 - self.calf**2) / (2.0 * self.thigh * self.calf)
        if not strict:
            cos_knee = np.clip(cos_knee, -1.0, 1.0)
        if np.any(np.abs(cos_knee) > 1.0):
            raise ValueError(
                f"foot target out of reach (leg length {self.reach:.3f} m): lower the speed, "
                "the swing height or raise the body"
            )
        q2 = -np.arccos(cos_knee)
        q1 = np.arctan2(-x, -zl) - np.arctan2(self.calf * np.sin(q2), self.thigh + self.calf * np.cos(q2))
        q0 = (q0 + np.pi) % (2.0 * np.pi) - np.pi
        return np.stack([q0, q1, q2], axis=-1).reshape(*x.shape[:-1], 12)


class QuadrupedModel:
    """A compiled quadruped: the MjModel, index arrays of its layout and its leg geometry."""

    def __init__(self, xml: str) -> None:
        self.xml = xml
        self.model = mujoco.MjModel.from_xml_string(xml)
        m = self.model
        try:
            self.trunk_body = _id(m, mujoco.mjtObj.mjOBJ_BODY, "trunk")
            joint_ids = [_id(m, mujoco.mjtObj.mjOBJ_JOINT, name) for name in JOINT_NAMES]
            self.foot_sites = np.array([_id(m, mujoco.mjtObj.mjOBJ_SITE, f"{leg}_foot") for leg in LEGS])
            hip_bodies = [_id(m, mujoco.mjtObj.mjOBJ_BODY, f"{leg}_hip") for leg in LEGS]
            thigh_bodies = [_id(m, mujoco.mjtObj.mjOBJ_BODY, f"{leg}_thigh") for leg in LEGS]
            calf_bodies = [_id(m, mujoco.mjtObj.mjOBJ_BODY, f"{leg}_calf") for leg in LEGS]
            touch = [_id(m, mujoco.mjtObj.mjOBJ_SENSOR, f"{leg}_touch") for leg in LEGS]
        except KeyError as err:
            raise ValueError(f"the model lacks {err.args[0]} of the rewardlab quadruped layout") from err
        if m.nq != 19 or m.nv != 18 or m.nu != 12 or m.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError(
                "the model must have one free joint and 12 hinge joints (nq=19, nv=18) and 12 "
                f"actuators; got nq={m.nq}, nv={m.nv}, nu={m.nu}"
            )
        self.qpos_adr = m.jnt_qposadr[joint_ids]
        self.qvel_adr = m.jnt_dofadr[joint_ids]
        if not np.array_equal(self.qpos_adr, np.arange(7, 19)):
            raise ValueError(f"joints must follow the free joint in the order {JOINT_NAMES}")
        if not np.array_equal(m.actuator_trnid[:, 0], joint_ids):
            raise ValueError(f"actuators must drive the joints in the order {JOINT_NAMES}")
        self.joint_low = m.jnt_range[joint_ids, 0].copy()
        self.joint_high = m.jnt_range[joint_ids, 1].copy()
        self.ctrl_low = m.actuator_ctrlrange[:, 0].copy()
        self.ctrl_high = m.actuator_ctrlrange[:, 1].copy()
        self.torque_limit = np.abs(m.actuator_forcerange).max(axis=1)
        self.kp = m.actuator_gainprm[:, 0].copy()
        self.total_mass = float(m.body_subtreemass[self.trunk_body])
        # sensor addresses: actuator forces (12) and foot touch (4)
        frc = [i for i in range(m.nsensor) if m.sensor_type[i] == mujoco.mjtSensor.mjSENS_ACTUATORFRC]
        if len(frc) != 12:
            raise ValueError("the model needs an actuatorfrc sensor per actuator")
        self.force_sensor_adr = _as_slice(m.sensor_adr[frc])
        self.touch_sensor_adr = _as_slice(m.sensor_adr[touch])
        calf_len = -m.body_pos[calf_bodies, 2]
        foot_len = -m.site_pos[self.foot_sites, 2]
        sphere = mujoco.mjtGeom.mjGEOM_SPHERE
        foot_geoms = [g for g in range(m.ngeom) if m.geom_bodyid[g] in calf_bodies and m.geom_type[g] == sphere]
        radius = float(m.geom_size[foot_geoms[0], 0]) if foot_geoms else 0.0
        self.legs = LegGeometry(
            hip_pos=m.body_pos[hip_bodies].copy(),
            lateral=m.body_pos[thigh_bodies, 1].copy(),
            thigh=float(calf_len.mean()),
            calf=float(foot_len.mean()),
            foot_radius=radius,
        )
        self.state_spec = int(mujoco.mjtState.mjSTATE_FULLPHYSICS)
        self.state_size = mujoco.mj_stateSize(m, self.state_spec)
        self.nominal_height = float(-self.legs.forward(STANDING_POSE)[0, 2] + radius)


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """A slice where the addresses are consecutive (a view, cheaper than fancy indexing)."""
    if len(index) and np.array_equal(index, np.arange(index[0], index[0] + len(index))):
        return slice(int(index[0]), int(index[0]) + len(index))
    return index


def _id(model: mujoco.MjModel, kind: mujoco.mjtObj, name: str) -> int:
    index = mujoco.mj_name2id(model, kind, name)
    if index < 0:
        raise KeyError(f"{kind.name[6:].lower()} {name!r}")
    return index


def _quat_matrix_map() -> np.ndarray:
    """M (16, 9) with R.flat = (q q^T).flat @ M for unit quaternions q = (w, x, y, z).

    Every entry of the rotation matrix is a quadratic form of q, e.g. R_00 = w^2 + x^2 - y^2 - z^2
    and R_01 = 2 (x y - w z), so one outer product and one matrix product give all nine.
    """
    w, x, y, z = range(4)
    entries = [
        {(w, w): 1, (x, x): 1, (y, y): -1, (z, z): -1},
        {(x, y): 2, (w, z): -2},
        {(x, z): 2, (w, y): 2},
        {(x, y): 2, (w, z): 2},
        {(w, w): 1, (x, x): -1, (y, y): 1, (z, z): -1},
        {(y, z): 2, (w, x): -2},
        {(x, z): 2, (w, y): -2},
        {(y, z): 2, (w, x): 2},
        {(w, w): 1, (x, x): -1, (y, y): -1, (z, z): 1},
    ]
    m = np.zeros((16, 9))
    for col, terms in enumerate(entries):
        for (i, j), coef in terms.items():
            m[4 * i + j, col] += coef
    return m


_QUAT_TO_MATRIX = _quat_matrix_map()


def quat_to_matrix(quat: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4) in MuJoCo's (w, x, y, z) order."""
    quat = np.asarray(quat, dtype=np.float64)
    # a stack of (1 x 16) @ (16 x 9) products: each quaternion's matrix is computed the same way
    # whatever the batch size (a 2-D (B x 16) product may switch BLAS kernels with B and round
    # differently, and batches must match single instances bit for bit)
    outer = (quat[..., :, None] * quat[..., None, :]).reshape(-1, 1, 16)
    return (outer @ _QUAT_TO_MATRIX).reshape(*quat.shape[:-1], 3, 3)
