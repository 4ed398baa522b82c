"""Locomotion environments: parameters, domain randomisation, batching, pickling, user models."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

import rewardlab  # noqa: F401  (registers the ids)
from rewardlab.core.errors import RewardlabError
from rewardlab.core.registry import make_sim
from rewardlab.envs.locomotion.model import (
    DEFAULT_XML,
    STANDING_POSE,
    QuadrupedModel,
    quat_to_matrix,
    read_xml,
)

DR = dict(
    friction_range=(0.4, 1.2),
    payload_range=(0.0, 3.0),
    motor_strength_range=(0.8, 1.2),
    max_latency_steps=2,
    obs_noise=1.0,
)


def _actions(steps, batch, seed):
    return np.random.default_rng(seed).uniform(-0.3, 0.3, size=(steps, batch, 1, 12))


@pytest.mark.parametrize("env_id", ["rewardlab/LocoImitation-v0", "rewardlab/LocoJoystick-v0"])
def test_batched_equals_single_with_randomisation(env_id):
    batch, steps = 3, 80
    actions = _actions(steps, batch, 1)
    sim = make_sim(env_id, num_envs=batch, **DR)
    singles = [make_sim(env_id, num_envs=1, **DR) for _ in range(batch)]
    obs = sim.reset(seed=10)
    for i, s in enumerate(singles):
        np.testing.assert_array_equal(obs[i], s.reset(seed=10 + i)[0])
    for t in range(steps):
        step = sim.step(actions[t], autoreset=True)
        for i, s in enumerate(singles):
            one = s.step(actions[t, i : i + 1], autoreset=True)
            np.testing.assert_array_equal(step.obs[i], one.obs[0])
            np.testing.assert_array_equal(step.reward[i], one.reward[0])
    # the draws differ between instances: randomisation is per instance
    assert len(set(np.round(sim.friction, 6))) == batch and len(set(sim.latency)) >= 1


def test_randomisation_changes_the_models_and_is_off_by_default():
    plain = make_sim("rewardlab/LocoJoystick-v0", num_envs=2)
    plain.reset(seed=0)
    assert not plain.randomises_model and np.all(plain.friction == 1.0) and np.all(plain.latency == 0)
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=2, **DR)
    sim.reset(seed=0)
    trunk = sim.qm.trunk_body
    for i in range(2):
        m = sim._models[i]
        assert m.geom_friction[0, 0] == pytest.approx(sim.friction[i])
        assert m.body_mass[trunk] == pytest.approx(sim._base_mass + sim.payload[i])
        assert m.actuator_gainprm[0, 0] == pytest.approx(35.0 * sim.strength[i])
        assert 0.4 <= sim.friction[i] <= 1.2 and 0.0 <= sim.payload[i] <= 3.0 and 0.8 <= sim.strength[i] <= 1.2
    assert sim.qm.model.actuator_gainprm[0, 0] == 35.0  # the shared model is untouched


def test_payload_makes_the_robot_sag():
    heights = []
    for payload in ((0.0, 0.0), (6.0, 6.0)):
        sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=1, payload_range=payload, init_noise=0.0)
        sim.reset(seed=0)
        for _ in range(100):
            sim.step(np.zeros((1, 1, 12)))
        heights.append(sim.state[0, 3])
    assert heights[1] < heights[0] - 0.01


def test_action_latency_delays_the_applied_action():
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=1, max_latency_steps=1)
    for seed in range(20):  # find a reset that drew a one-step latency
        sim.reset(seed=seed)
        if sim.latency[0] == 1:
            break
    assert sim.latency[0] == 1
    first = sim.actions_prev.copy()
    a1 = np.full((1, 1, 12), 0.3)
    sim.step(a1)
    # the first step applies the action held before the episode, the second step the first action
    expected = np.clip(STANDING_POSE + first[0], sim.qm.ctrl_low, sim.qm.ctrl_high)
    np.testing.assert_allclose(sim.joint_pos_target[0], expected)
    sim.step(np.zeros((1, 1, 12)))
    np.testing.assert_allclose(sim.joint_pos_target[0], np.clip(STANDING_POSE + 0.3, sim.qm.ctrl_low, sim.qm.ctrl_high))


def test_observation_noise_only_when_asked():
    clean = make_sim("rewardlab/LocoJoystick-v0", num_envs=1)
    noisy = make_sim("rewardlab/LocoJoystick-v0", num_envs=1, obs_noise=1.0)
    a, b = clean.reset(seed=0), noisy.reset(seed=0)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a[0, 0, 34:], b[0, 0, 34:])  # actions, clock, command: exact
    np.testing.assert_array_equal(clean.state, noisy.state)  # noise never touches the physics


def test_pickled_randomised_sim_continues_identically():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=2, **DR)
    sim.reset(seed=5)
    actions = _actions(40, 2, 2)
    for t in range(10):
        sim.step(actions[t], autoreset=True)
    clone = pickle.loads(pickle.dumps(sim))
    for t in range(10, 40):
        a, b = sim.step(actions[t], autoreset=True), clone.step(actions[t], autoreset=True)
        np.testing.assert_array_equal(a.obs, b.obs)
        np.testing.assert_array_equal(a.reward, b.reward)
    assert clone._models[0].geom_friction[0, 0] == pytest.approx(sim.friction[0])


def test_joystick_command_is_drawn_per_episode_and_observed():
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=4, command_vx=(0.2, 0.8))
    obs = sim.reset(seed=0)
    np.testing.assert_allclose(obs[:, 0, -3:], sim.command, atol=1e-6)
    assert np.all((sim.command[:, 0] >= 0.2) & (sim.command[:, 0] < 0.8))
    assert len(set(np.round(sim.command[:, 0], 6))) == 4
    step = sim.step(np.zeros((4, 1, 12)))
    rot_vel = sim.state[:, 20:23]  # the trunk is nearly level: world ~ body velocity
    expected = np.exp(-np.sum((sim.command[:, :2] - rot_vel[:, :2]) ** 2, axis=1) / 0.25)
    np.testing.assert_allclose(step.terms["tracking_lin_vel"][:, 0], expected, atol=1e-3)


def test_residual_action_mode_tracks_the_reference_with_zero_action():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=1, action_mode="residual", random_start_phase=False)
    sim.reset(seed=0)
    sim.step(np.zeros((1, 1, 12)))
    np.testing.assert_allclose(
        sim.joint_pos_target[0], np.clip(sim.ref.joint_pos[1], sim.qm.ctrl_low, sim.qm.ctrl_high)
    )


def test_every_motion_builds_and_steps():
    for motion in ("trot", "walk", "pace", "bound", "pronk", "jump"):
        env = gym.make("rewardlab/LocoImitation-v0", motion=motion, speed=0.0 if motion == "jump" else 0.4)
        obs, _ = env.reset(seed=0)
        obs, reward, *_ = env.step(env.action_space.sample())
        assert np.all(np.isfinite(obs)) and 0.0 <= reward <= 1.0


def test_bad_parameters_name_the_env_and_the_argument():
    cases = [
        ({"motion": "moonwalk"}, "motion"),
        ({"speed": 0.3, "motion": "jump"}, "vertical"),
        ({"speed": 5.0}, "reach"),
        ({"action_mode": "torque"}, "action_mode"),
        ({"friction_range": (2.0, 1.0)}, "friction_range"),
        ({"max_latency_steps": -1}, "max_latency_steps"),
        ({"control_dt": 0.021}, "control_dt"),
        ({"xml_file": "/nonexistent.xml"}, "xml_file"),
    ]
    for kwargs, word in cases:
        with pytest.raises(RewardlabError, match=f"LocoImitation-v0.*{word}"):
            gym.make("rewardlab/LocoImitation-v0", **kwargs)


def test_user_xml_with_the_same_layout(tmp_path):
    # a robot with longer calves and a heavier trunk: the kinematics follow the file
    text = read_xml(None).replace('pos="0 0 -0.213"', 'pos="0 0 -0.25"').replace('mass="5.204"', 'mass="7.0"')
    path = tmp_path / "long_legs.xml"
    path.write_text(text)
    env = gym.make("rewardlab/LocoImitation-v0", xml_file=str(path))
    sim = env.unwrapped.sim
    assert sim.qm.legs.calf == pytest.approx(0.25) and sim.qm.legs.thigh == pytest.approx(0.25)
    obs, _ = env.reset(seed=0)
    assert np.all(np.isfinite(env.step(env.action_space.sample())[0]))
    # a model without the layout is refused with the name of what is missing
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace('name="FR_foot"', 'name="front_right_foot"'))
    with pytest.raises(RewardlabError, match="FR_foot"):
        gym.make("rewardlab/LocoImitation-v0", xml_file=str(broken))
    assert QuadrupedModel(read_xml(DEFAULT_XML)).total_mass == pytest.approx(12.744, abs=1e-3)


def test_rgb_frames_follow_the_robot():
    env = gym.make("rewardlab/LocoImitation-v0", render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    for _ in range(5):
        env.step(env.action_space.sample())
    second = env.render()
    assert first.shape == (240, 320, 3) and first.dtype == np.uint8
    assert not np.array_equal(first, second)
    clone = pickle.loads(pickle.dumps(env.unwrapped))  # the renderer is not pickled, but rebuilt
    np.testing.assert_array_equal(clone.render(), second)
    env.close()


def test_pose_reference_puts_the_feet_on_the_reference():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=1, random_start_phase=False)
    sim.reset(seed=0)
    for step in (0, 7, 31):
        sim.pose_reference(step)
        ref = sim.reference_state(np.array([step]))
        np.testing.assert_allclose(sim._feet_world(sim.state)[0], ref["foot_pos"][0], atol=1e-9)
        # stance feet touch the floor (sphere centre one radius up), swing feet are above it
        heights = sim._feet_world(sim.state)[0, :, 2] - sim.qm.legs.foot_radius
        assert np.all(np.abs(heights[ref["contact"][0]]) < 1e-9)


def test_tracking_error_and_falls_end_the_episode():
    # standing still while the reference trots away: ended by the root error, not by a fall
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=1, speed=0.8, max_root_error=0.3)
    sim.reset(seed=0)
    for _ in range(200):
        step = sim.step(np.zeros((1, 1, 12)))
        if step.done[0]:
            break
    assert step.terminated[0] and not step.info["fallen"][0]
    error = np.linalg.norm(sim.reference_state()["root_pos"][0] - sim.state[0, 1:4])
    assert error > 0.3
    # folded legs drop the trunk below the fall height
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=1)
    sim.reset(seed=0)
    fold = np.tile([0.0, 1.0, -1.0], 4)[None, None, :]  # thighs forward, knees fully bent
    for _ in range(200):
        step = sim.step(fold)
        if step.done[0]:
            break
    assert step.terminated[0] and step.info["fallen"][0]


def test_root_error_ends_imitation_on_position_not_orientation():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=1, random_start_phase=False, max_root_error=0.6)
    sim.reset(seed=0)
    sim.step(np.zeros((1, 1, 12)))
    contact, effort, fallen = np.ones((1, 4), bool), {"power": np.zeros(1), "torque_l1": np.zeros(1)}, np.zeros(1, bool)
    for offset, yaw, ends in ((0.55, 0.0, False), (0.55, 1.0, False), (0.65, 0.0, True)):
        sim.pose_reference(int(sim.t[0]))
        sim.state[0, 2] += offset  # sideways off the reference
        sim.state[0, 4:8] = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))  # turned about the vertical
        rot = quat_to_matrix(sim.state[:, 4:8])
        terms, _, strayed, _ = sim._task_terms(rot, contact, effort, fallen)
        assert strayed[0] == ends, (offset, yaw)
        # the turn still costs root_pose reward: exp(-20 (d^2 + 0.5 yaw^2))
        assert terms["root_pose"][0] == pytest.approx(np.exp(-20 * (offset**2 + 0.5 * yaw**2)), rel=1e-9)


def test_sway_switch_reaches_the_reference():
    swaying = make_sim("rewardlab/LocoImitation-v0", motion="pace").ref
    straight = make_sim("rewardlab/LocoImitation-v0", motion="pace", sway=False).ref
    assert np.ptp(swaying.root_pos[:, 1]) > 0.01 and np.all(straight.root_pos[:, 1] == 0.0)
    np.testing.assert_allclose(swaying.foot_pos, straight.foot_pos, atol=1e-12)  # same footholds


def test_feet_air_time_pays_at_touch_down():
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=1, command_vx=(0.5, 0.5), command_vy=(0.0, 0.0))
    sim.reset(seed=0)
    for _ in range(50):  # settle on four feet
        step = sim.step(np.zeros((1, 1, 12)))
    assert step.info["contact"][0].all() and np.all(sim.air_time == 0.0)
    sim.was_in_contact[:] = np.array([[False, True, True, True]])
    sim.air_time[0, 0] = 0.28  # FR has been in the air; it is on the ground after the next step
    step = sim.step(np.zeros((1, 1, 12)))
    touching = step.info["contact"][0]
    assert touching[0]
    assert step.terms["feet_air_time"][0, 0] == pytest.approx(0.28 + 0.02 - 0.1)
    assert sim.air_time[0, 0] == 0.0


def test_observation_layout_phase_at_46_and_47():
    """studies/smoothness.yaml feeds entries 46 and 47 to the Linear Policy Net as its phase."""
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=2, random_start_phase=True)
    obs = sim.reset(seed=1)[:, 0]
    for _ in range(3):
        k = (sim.frame0 + sim.t) % sim.ref.frames
        np.testing.assert_allclose(obs[:, 46], np.cos(2 * np.pi * k / sim.ref.frames), atol=1e-6)
        np.testing.assert_allclose(obs[:, 47], np.sin(2 * np.pi * k / sim.ref.frames), atol=1e-6)
        next_pose = sim.ref.joint_pos[(k + 1) % sim.ref.frames]
        np.testing.assert_allclose(obs[:, 48:60], next_pose - STANDING_POSE, atol=1e-6)
        np.testing.assert_allclose(obs[:, 0], sim.state[:, 3], atol=1e-6)
        np.testing.assert_allclose(obs[:, 10:22], sim.state[:, 8:20] - STANDING_POSE, atol=1e-6)
        obs = sim.step(np.zeros((2, 1, 12))).obs[:, 0]
    joystick = make_sim("rewardlab/LocoJoystick-v0", num_envs=1)
    obs = joystick.reset(seed=0)[0, 0]
    assert obs.shape == (51,) and obs[46] == pytest.approx(1.0) and obs[47] == pytest.approx(0.0)


def test_thread_count_does_not_change_results():
    actions = _actions(40, 4, 3)
    runs = []
    for threads in (1, 2, 3):
        sim = make_sim("rewardlab/LocoImitation-v0", num_envs=4, num_threads=threads)
        sim.reset(seed=4)
        runs.append([sim.step(a, autoreset=True).obs for a in actions])
    for other in runs[1:]:
        for x, y in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(x, y)


def test_masked_reset_restarts_only_those_instances():
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=3)
    sim.reset(seed=0)
    for _ in range(10):
        sim.step(np.zeros((3, 1, 12)))
    before = sim.state.copy()
    sim.reset(mask=np.array([False, True, False]))
    np.testing.assert_array_equal(sim.state[[0, 2]], before[[0, 2]])
    assert sim.t[1] == 0 and sim.t[0] == 10 and sim.state[1, 3] == pytest.approx(sim.stand_height)


def test_imitation_terms_and_observation_match_mujoco():
    """Every imitation kernel and the observation's body-frame blocks, recomputed from MuJoCo."""
    import mujoco

    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=3, motion="pace")
    sim.reset(seed=4)
    model, data = sim.qm.model, mujoco.MjData(sim.qm.model)
    from rewardlab.baselines.locomotion import PDGaitTracker

    tracker, largest = PDGaitTracker(sim), {}
    for noise in _actions(12, 3, 5) / 10:  # near the reference: kernels well above 0
        actions = np.clip(tracker(sim) + noise, -1.0, 1.0)
        step = sim.step(actions)
        ref = sim.reference_state()
        for i in range(3):
            data.qpos[:], data.qvel[:] = sim.state[i, 1:20], sim.state[i, 20:38]
            mujoco.mj_kinematics(model, data)
            trunk_rot = data.xmat[sim.qm.trunk_body].reshape(3, 3)
            feet = (data.site_xpos[sim.qm.foot_sites] - data.qpos[:3]) @ trunk_rot  # trunk frame
            turn = np.zeros(3)
            mujoco.mju_subQuat(turn, ref["root_quat"][i], data.qpos[3:7])
            omega_world = trunk_rot @ data.qvel[3:6]  # free-joint angular velocity is body-frame
            expected = {
                "pose": np.exp(-5 * np.sum((ref["joint_pos"][i] - data.qpos[7:]) ** 2)),
                "joint_velocity": np.exp(-0.1 * np.sum((ref["joint_vel"][i] - data.qvel[6:]) ** 2)),
                "end_effector": np.exp(-40 * np.sum((ref["foot_local"][i] - feet) ** 2)),
                "root_pose": np.exp(-20 * (np.sum((ref["root_pos"][i] - data.qpos[:3]) ** 2)
                                           + 0.5 * np.linalg.norm(turn) ** 2)),
                "root_velocity": np.exp(-2 * (np.sum((ref["root_lin_vel"][i] - data.qvel[:3]) ** 2)
                                              + 0.1 * np.sum((ref["root_ang_vel"][i] - omega_world) ** 2))),
            }
            for name, value in expected.items():
                assert step.terms[name][i, 0] == pytest.approx(value, rel=1e-9, abs=1e-12), name
                largest[name] = max(largest.get(name, 0.0), value)
            obs = step.obs[i, 0]
            np.testing.assert_allclose(obs[1:4], trunk_rot.T @ [0.0, 0.0, -1.0], atol=1e-6)  # gravity
            np.testing.assert_allclose(obs[4:7], trunk_rot.T @ data.qvel[:3], atol=1e-6)  # body velocity
            np.testing.assert_allclose(obs[7:10], data.qvel[3:6], atol=1e-6)
            np.testing.assert_allclose(obs[22:34], data.qvel[6:], atol=1e-5)
            np.testing.assert_allclose(obs[34:46], actions[i, 0], atol=1e-6)
    assert min(largest.values()) > 0.05  # each kernel was checked where it is far from 0


def test_rotation_helpers_agree_with_each_other_and_with_quat_to_matrix():
    from rewardlab.envs.locomotion.rotations import rotate, rotate_back, rotation

    rng = np.random.default_rng(1)
    quat = rng.normal(size=(500, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    rot = rotation(quat)
    np.testing.assert_allclose(rot, quat_to_matrix(quat), rtol=0, atol=1e-15)
    for i in range(0, 500, 7):  # one quaternion alone gets the same matrix as in the batch
        assert rotation(quat[i : i + 1])[0].tolist() == rot[i].tolist()
    vec = rng.normal(size=(500, 3))
    np.testing.assert_allclose(rotate(rot, vec), np.einsum("bij,bj->bi", rot, vec), atol=1e-14)
    np.testing.assert_allclose(rotate_back(rot, vec), np.einsum("bji,bj->bi", rot, vec), atol=1e-14)
    feet = rng.normal(size=(500, 4, 3))
    np.testing.assert_allclose(rotate(rot, feet), np.einsum("bij,bfj->bfi", rot, feet), atol=1e-14)
    r, v = rot[3].ravel().tolist(), vec[3].tolist()
    assert rotate_back(rot, vec)[3].tolist() == [r[j] * v[0] + r[3 + j] * v[1] + r[6 + j] * v[2] for j in range(3)]


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("rewardlab/LocoImitation-v0", {}),
        ("rewardlab/LocoImitation-v0", {"motion": "jump", "speed": 0.0, "action_mode": "residual"}),
        ("rewardlab/LocoImitation-v0", {"max_latency_steps": 2, "friction_range": (0.5, 1.0)}),
        ("rewardlab/LocoImitation-v0", {"observe_reference_root": False, "min_imitation_reward": 0.3,
                                        "max_root_rotation_error": 0.5}),
        ("rewardlab/LocoJoystick-v0", {}),
        ("rewardlab/LocoJoystick-v0", {"payload_range": (0.0, 3.0), "command_vx": (0.5, 1.0)}),
    ],
)
def test_batch_equals_single_instances_in_every_output_bit_for_bit(env_id, kwargs):
    """Stricter than the registry test (rewards to 1e-12): observations, rewards, every term,
    info and metric bit for bit, a batch of 3 against three single instances (``gym.make``'s B = 1)."""
    batch = make_sim(env_id, num_envs=3, **kwargs)
    singles = [make_sim(env_id, num_envs=1, **kwargs) for _ in range(3)]
    batch.reset(seed=20)
    for i, sim in enumerate(singles):
        sim.reset(seed=20 + i)
    rng = np.random.default_rng(9)
    ended = 0
    for _ in range(100):
        actions = rng.uniform(-0.8, 0.8, (3, 1, 12))
        step = batch.step(actions, autoreset=True)
        for i, sim in enumerate(singles):
            one = sim.step(actions[i : i + 1], autoreset=True)
            np.testing.assert_array_equal(step.obs[i], one.obs[0])
            np.testing.assert_array_equal(step.reward[i], one.reward[0])
            np.testing.assert_array_equal(batch.state[i], sim.state[0])
            for name in one.terms:
                np.testing.assert_array_equal(step.terms[name][i], one.terms[name][0], err_msg=name)
            for name in one.info:
                np.testing.assert_array_equal(step.info[name][i], one.info[name][0], err_msg=name)
            assert step.done[i] == one.done[0]
            if one.done[0]:
                ended += 1
                for name, value in one.episode_metrics.items():
                    np.testing.assert_array_equal(step.episode_metrics[name][i], value[0], err_msg=name)
    assert ended > 0


def test_joystick_clock_in_the_observation_past_the_time_limit():
    """The gait clock comes from a per-step table within an episode and from the formula after
    the time limit (stepping on without a reset); both follow the formula."""
    observations = []
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=1, episode_seconds=0.1, gait_frequency=1.7)
    sim.reset(seed=0)
    rows = [sim.step(np.zeros((1, 1, 12))).obs[0, 0] for _ in range(8)]  # 5 steps, then 3 past the limit
    observations.append(np.array(rows))
    angle = 2 * np.pi * 1.7 * np.arange(1, 9) * 0.02
    np.testing.assert_array_equal(observations[0][:, 46], np.cos(angle).astype(np.float32))
    np.testing.assert_array_equal(observations[0][:, 47], np.sin(angle).astype(np.float32))


@pytest.mark.parametrize("env_id", ["rewardlab/LocoImitation-v0", "rewardlab/LocoJoystick-v0"])
def test_linear_policy_net_reads_the_phase_entries_without_settings(env_id):
    """``--set policy=lpn`` alone: PPO takes phi from the simulator's phase_index (46, 47)."""
    from rewardlab.agents.ppo import PPO, PPOConfig

    sim = make_sim(env_id, num_envs=2)
    actor = PPO(sim, PPOConfig(num_envs=2, policy="lpn"), seed=0).model.actor
    assert actor.phase_idx.tolist() == [46, 47]
    assert actor.state_idx.tolist() == [i for i in range(sim.obs_dim) if i not in (46, 47)]


def test_reference_root_observation_is_the_next_target_in_the_trunk_frame():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=3)  # on by default
    assert sim.obs_dim == 63
    assert make_sim("rewardlab/LocoImitation-v0", num_envs=1, observe_reference_root=False).obs_dim == 60
    obs = sim.reset(seed=2)[:, 0]
    actions = np.random.default_rng(0).uniform(-0.3, 0.3, size=(40, 3, 1, 12))
    for t in range(40):
        target = sim.reference_state(sim.t + 1)["root_pos"]
        rot = quat_to_matrix(sim.state[:, 4:8])
        expected = np.einsum("bji,bj->bi", rot, target - sim.state[:, 1:4])  # R^T (p_ref - p)
        np.testing.assert_allclose(obs[:, 60:63], expected, atol=1e-5)
        if t == 0:  # at the reset the robot stands on the reference: the offset is one step of travel
            assert np.all(np.abs(obs[:, 60]) < 0.05)
        obs = sim.step(actions[t]).obs[:, 0]
