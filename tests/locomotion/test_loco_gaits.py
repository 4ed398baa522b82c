"""Reference motions: contact schedules, foot trajectories and the inverse kinematics."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from rewardlab.envs.locomotion.gaits import GAITS, GRAVITY, MOTIONS, ReferenceMotion
from rewardlab.envs.locomotion.model import STANDING_POSE, QuadrupedModel, read_xml


@pytest.fixture(scope="module")
def robot():
    return QuadrupedModel(read_xml(None))


def _mujoco_feet(robot, root_pos, joints):
    """World foot-site positions computed by MuJoCo's own kinematics, an independent check."""
    data = mujoco.MjData(robot.model)
    out = np.empty((len(joints), 4, 3))
    for i in range(len(joints)):
        data.qpos[:3] = root_pos[i]
        data.qpos[3:7] = (1.0, 0.0, 0.0, 0.0)
        data.qpos[7:] = joints[i]
        mujoco.mj_kinematics(robot.model, data)
        out[i] = data.site_xpos[robot.foot_sites]
    return out


@pytest.mark.parametrize("motion", MOTIONS)
def test_inverse_kinematics_reproduces_the_foot_targets(robot, motion):
    ref = ReferenceMotion(robot.legs, motion, speed=0.0 if motion == "jump" else 0.5).tabulate()
    feet = _mujoco_feet(robot, ref.root_pos, ref.joint_pos)
    assert np.abs(feet - ref.foot_pos).max() < 1e-3  # < 1 mm (in fact ~1e-15)
    # and the joint targets respect the joint ranges of the model
    assert np.all(ref.joint_pos >= np.tile(robot.joint_low, 1) - 1e-9)
    assert np.all(ref.joint_pos <= np.tile(robot.joint_high, 1) + 1e-9)


def test_forward_kinematics_matches_mujoco_on_random_poses(robot):
    rng = np.random.default_rng(0)
    joints = rng.uniform(robot.joint_low, robot.joint_high, size=(20, 12))
    root = np.zeros((20, 3))
    np.testing.assert_allclose(robot.legs.forward(joints), _mujoco_feet(robot, root, joints), atol=1e-12)
    # round trip on poses with the knee bent backwards (the IK's branch)
    reachable = joints.copy()
    reachable[:, 2::3] = rng.uniform(-2.6, -0.9, size=(20, 4))
    back = robot.legs.inverse(robot.legs.forward(reachable))
    np.testing.assert_allclose(robot.legs.forward(back), robot.legs.forward(reachable), atol=1e-9)


def test_out_of_reach_targets_raise(robot):
    far = robot.legs.forward(STANDING_POSE)[None].copy()
    far[..., 2] -= 0.5
    with pytest.raises(ValueError, match="reach"):
        robot.legs.inverse(far)
    with pytest.raises(ValueError, match="reach"):
        ReferenceMotion(robot.legs, "trot", speed=4.0)


@pytest.mark.parametrize("gait", list(GAITS))
def test_feet_follow_the_contact_schedule(robot, gait):
    speed = 0.4
    motion = ReferenceMotion(robot.legs, gait, speed=speed, swing_height=0.06)
    spec = GAITS[gait]
    t = np.linspace(0.0, 2 * motion.period, 4001)
    root, feet = motion.sample(t)
    contact = motion.contact(t)
    radius = robot.legs.foot_radius
    # the schedule: each leg's stance share is the duty factor, lift-off at its phase offset
    np.testing.assert_allclose(contact.mean(axis=0), spec.duty, atol=2e-3)
    for leg in range(4):
        liftoff = np.flatnonzero(contact[:-1, leg] & ~contact[1:, leg])[0]
        phase = (t[liftoff + 1] * motion.frequency + spec.offsets[leg] - spec.duty) % 1.0
        assert min(phase, 1 - phase) < 2e-3
    # stance feet are on the ground and do not slide; swing feet are off the ground
    velocity = np.gradient(feet, t, axis=0)
    np.testing.assert_allclose(feet[..., 2][contact], radius, atol=1e-12)
    inner_stance = contact & np.roll(contact, 1, axis=0) & np.roll(contact, -1, axis=0)
    assert np.abs(velocity[..., :2][inner_stance]).max() < 1e-6
    swing = ~contact
    inner = swing & np.roll(swing, 40, axis=0) & np.roll(swing, -40, axis=0)  # away from touch-down
    assert np.all(feet[..., 2][inner] > radius + 1e-4)
    # the swing apex reaches the swing height above the ground (plus the root's arc in a pronk)
    peak = (feet[..., 2] - radius).max()
    flight_rise = GRAVITY * ((1 - spec.duty) * motion.period) ** 2 / 8 if spec.flight else 0
    assert peak == pytest.approx(0.06 + flight_rise, rel=1e-3)
    # one cycle moves each foot, and the root, forward by speed x period
    k = int(round(motion.period / (t[1] - t[0])))
    np.testing.assert_allclose(feet[k:, :, 0] - feet[:-k, :, 0], speed * motion.period, atol=1e-9)
    np.testing.assert_allclose(root[k:, 0] - root[:-k, 0], speed * motion.period, atol=1e-9)


def test_phase_offsets_of_the_named_gaits():
    # (FR, FL, RR, RL) in cycles; facts: trot [0, pi, pi, 0], walk [0, pi/2, pi, 3pi/2], ...
    assert GAITS["trot"].offsets == (0.0, 0.5, 0.5, 0.0)
    assert GAITS["walk"].offsets == (0.0, 0.25, 0.5, 0.75)
    assert GAITS["pace"].offsets == (0.0, 0.5, 0.0, 0.5)
    assert GAITS["bound"].offsets == (0.0, 0.0, 0.5, 0.5)
    assert GAITS["pronk"].offsets == (0.0, 0.0, 0.0, 0.0)


def test_jump_is_ballistic_in_flight(robot):
    motion = ReferenceMotion(robot.legs, "jump", speed=0.0, flight_time=0.2)
    t = np.linspace(0.0, motion.period, 20001)[:-1]
    root, feet = motion.sample(t)
    contact = motion.contact(t)
    flying = ~contact.any(axis=1)
    assert flying.mean() == pytest.approx(0.2 / motion.period, abs=1e-3)
    z = root[flying, 2]
    accel = np.gradient(np.gradient(z, t[flying]), t[flying])
    np.testing.assert_allclose(accel[3:-3], -GRAVITY, rtol=1e-3)
    # the feet leave the ground only in flight, and the height curve is continuous
    inner = flying & np.roll(flying, 5) & np.roll(flying, -5)
    assert inner.sum() > 0 and np.all(feet[inner, :, 2] > robot.legs.foot_radius)
    np.testing.assert_allclose(feet[contact.all(axis=1), :, 2], robot.legs.foot_radius, atol=1e-12)
    assert np.abs(np.diff(root[:, 2])).max() < 1e-3
    with pytest.raises(ValueError, match="vertical"):
        ReferenceMotion(robot.legs, "jump", speed=0.5)


def test_table_velocities_match_finite_differences(robot):
    motion = ReferenceMotion(robot.legs, "trot", speed=0.5)
    ref = motion.tabulate()
    # an independent derivative: a fine-grid IK of the sampled feet, differentiated by numpy
    fine = np.arange(-400, 25 * 400 + 400) * (ref.dt / 400)
    root, feet = motion.sample(fine)
    joints = robot.legs.inverse(feet - root[:, None, :])
    velocity = np.gradient(joints, fine, axis=0)[400::400][:25]
    np.testing.assert_allclose(ref.joint_vel, velocity, atol=2e-3 * np.abs(velocity).max())
    root_velocity = np.gradient(root, fine, axis=0)[400::400][:25]
    np.testing.assert_allclose(ref.root_lin_vel, root_velocity, atol=1e-3)
    # the trot's small LIP surge averages out: the mean speed is the commanded one
    assert ref.root_lin_vel[:, 0].mean() == pytest.approx(0.5, abs=1e-3)
    assert ref.frames == 25 and ref.dt == 0.02 and ref.displacement == pytest.approx(0.25)


@pytest.mark.parametrize(("gait", "axis"), [("pace", 1), ("bound", 0), ("walk", 1)])
def test_root_sway_solves_the_inverted_pendulum_over_the_support_centre(robot, gait, axis):
    # an independent check of the Fourier solution: finite differences of the sampled root
    # against c'' = (c - p) / T_c^2, away from the instants where the support centre p jumps
    motion = ReferenceMotion(robot.legs, gait, speed=0.4)
    dt = motion.period / 20000
    t = np.arange(-2, 20002) * dt
    root, _ = motion.sample(t)
    centre = motion.support_centre(t)[:, axis] + (0.4 * t if axis == 0 else 0.0)
    accel = (root[2:, axis] - 2 * root[1:-1, axis] + root[:-2, axis]) / dt**2
    rhs = (root[1:-1, axis] - centre[1:-1]) / (motion.body_height / GRAVITY)
    jumps = np.flatnonzero(np.abs(np.diff(centre)) > 1e-4)
    calm = np.ones(len(accel), dtype=bool)
    for j in jumps:
        calm[max(j - 400, 0) : j + 400] = False  # the truncated series rings near the jumps
    assert calm.mean() > 0.5
    scale = np.abs(rhs).max()
    assert scale > 1.0  # a real sway: the pendulum accelerates the root by metres per second^2
    np.testing.assert_allclose(accel[calm], rhs[calm], atol=0.05 * scale)
    # without the sway the root would run straight at constant height and speed
    straight, _ = ReferenceMotion(robot.legs, gait, speed=0.4, sway=False).sample(t)
    np.testing.assert_allclose(straight[:, 1], 0.0)
    assert np.ptp(root[:, axis] - straight[:, axis]) > 0.005


def test_pronk_dips_in_stance_and_flies_ballistically(robot):
    motion = ReferenceMotion(robot.legs, "pronk", speed=0.3)
    t = np.linspace(0.0, motion.period, 20001)
    root, _ = motion.sample(t)
    z, vz = root[:, 2], np.gradient(root[:, 2], t)
    contact = motion.contact(t).all(axis=1)
    flight = (1 - motion.gait.duty) * motion.period
    v0 = GRAVITY * flight / 2
    # lands at -v0 and takes off at +v0: the height is continuous in value and slope
    liftoff = np.flatnonzero(contact[:-1] & ~contact[1:])[0]
    assert vz[liftoff - 2] == pytest.approx(v0, rel=1e-2) and vz[liftoff + 2] == pytest.approx(v0, rel=1e-2)
    assert np.abs(np.diff(z)).max() < 1e-4
    dip = v0 * motion.gait.duty * motion.period / np.pi
    assert z[contact].min() == pytest.approx(motion.body_height - dip, rel=1e-4)
    assert z[~contact].max() == pytest.approx(motion.body_height + GRAVITY * flight**2 / 8, rel=1e-4)


def test_quaternion_matrices_match_mujoco_and_do_not_depend_on_the_batch():
    from rewardlab.envs.locomotion.model import quat_to_matrix

    rng = np.random.default_rng(0)
    quats = rng.normal(size=(257, 4))
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    batch = quat_to_matrix(quats)
    for i in range(0, 257, 16):
        expected = np.zeros(9)
        mujoco.mju_quat2Mat(expected, quats[i])
        np.testing.assert_allclose(batch[i], expected.reshape(3, 3), atol=1e-14)
        np.testing.assert_array_equal(batch[i], quat_to_matrix(quats[i : i + 1])[0])  # bit for bit
