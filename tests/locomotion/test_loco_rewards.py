"""The locomotion reward module: terms against hand computations, presets, and what the joystick
reward ranks (a trotting heuristic above standing still on moving commands)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rewardlab.baselines.locomotion import PDJoystickTrotter
from rewardlab.core.errors import RewardlabError
from rewardlab.core.registry import make_sim
from rewardlab.envs.locomotion import rewards
from rewardlab.envs.locomotion.model import STANDING_POSE, quat_to_matrix


def test_imitation_terms_of_one_state_by_hand():
    """The robot on its reference but for four known errors; each kernel computed by hand."""
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=1, random_start_phase=False)
    sim.reset(seed=0)
    sim.step(np.zeros((1, 1, 12)))
    step = int(sim.t[0])
    sim.pose_reference(step)
    ref = sim.reference_state()
    sim.state[0, 8] += 0.3  # FR hip abduction 0.3 rad off: pose error and the FR foot swung about x
    sim.state[0, 26 + 4] += 1.0  # FL thigh 1 rad/s faster than the reference
    sim.state[0, 2] += 0.1  # root 0.1 m sideways
    sim.state[0, 20] += 0.2  # root 0.2 m/s faster along x
    effort = {"power": np.zeros(1), "torque_l1": np.zeros(1)}
    rot = quat_to_matrix(sim.state[:, 4:8])
    terms, score, _, _ = sim._task_terms(rot, np.ones((1, 4), bool), effort, np.zeros(1, bool))
    # rotating the foot by 0.3 rad about the abduction axis moves it by 2 rho sin(0.15), rho its
    # distance from that axis (the axis runs along x through the hip)
    hip = sim.qm.legs.hip_pos[0]
    rho_sq = (ref["foot_local"][0, 0, 1] - hip[1]) ** 2 + (ref["foot_local"][0, 0, 2] - hip[2]) ** 2
    foot_shift_sq = 4.0 * rho_sq * math.sin(0.15) ** 2
    expected = {
        "pose": math.exp(-5.0 * 0.3**2),
        "joint_velocity": math.exp(-0.1 * 1.0**2),
        "end_effector": math.exp(-40.0 * foot_shift_sq),
        "root_pose": math.exp(-20.0 * 0.1**2),
        "root_velocity": math.exp(-2.0 * 0.2**2),
    }
    for name, value in expected.items():
        assert terms[name][0] == pytest.approx(value, rel=1e-9), name
    peng = 0.5 * expected["pose"] + 0.05 * expected["joint_velocity"] + 0.2 * expected["end_effector"] + 0.15 * (
        expected["root_pose"]) + 0.1 * expected["root_velocity"]
    assert score[0] == pytest.approx(peng, rel=1e-12)
    assert 0.2 < expected["end_effector"] < 0.95  # the foot moved a measurable amount


def _measurements(**changes):
    base = dict(
        command=np.array([[0.5, 0.0, 0.3]]), lin_vel=np.array([[0.3, 0.1, 0.0]]), ang_vel=np.array([[0.0, 0.0, 0.1]]),
        world_lin_vel=np.array([[0.3, 0.1, 0.2]]), world_ang_vel=np.array([[0.1, -0.2, 0.1]]),
        gravity=np.array([[0.1, 0.0, -math.sqrt(0.99)]]), height=np.array([0.25]),
        joint_pos=STANDING_POSE[None, :].copy(), torque_l2=np.array([10.0]), torque_l1=np.array([30.0]),
        power=np.array([40.0]), contact=np.array([[True, False, False, True]]),
        first_contact=np.array([[True, False, False, False]]), air_time=np.array([[0.3, 0.1, 0.1, 0.0]]),
        swing_peak=np.array([[0.08, 0.05, 0.05, 0.0]]), foot_height=np.array([[0.02, 0.07, 0.06, 0.02]]),
        foot_vel_xy=np.array([[[0.1, 0.0], [1.0, 0.0], [0.0, 0.64], [0.0, 0.0]]]), fallen=np.array([False]),
    )
    base.update(changes)
    return rewards.JoystickMeasurements(**base)


def test_joystick_terms_by_hand():
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=1)
    reward = sim.reward
    q = STANDING_POSE.copy()
    q[0] = 0.9 * 0.95 * sim.qm.joint_high[0] + 0.0  # inside the soft limit
    q[3] = 0.95 * sim.qm.joint_high[3] + 0.05  # FL hip 0.05 rad past its soft limit
    terms = reward.terms(_measurements(joint_pos=q[None, :]))
    dq = q - STANDING_POSE
    expected = {
        "tracking_lin_vel": math.exp(-(0.2**2 + 0.1**2) / 0.25),
        "tracking_ang_vel": math.exp(-(0.2**2) / 0.25),
        "lin_vel_z": 0.04,
        "ang_vel_xy": 0.01 + 0.04,
        "orientation": 0.01,
        "dof_pos_limits": 0.05,
        "pose": math.exp(-(dq[0] ** 2 + dq[3] ** 2)),  # hips weigh 1
        "termination": 0.0,
        "stand_still": 0.0,  # moving command
        "torques": 40.0,
        "energy": 40.0,
        # |z - 0.1| sqrt(|v|): 0.08 sqrt(0.1) + 0.03 sqrt(1) + 0.04 sqrt(0.64) + 0
        "feet_clearance": 0.08 * math.sqrt(0.1) + 0.03 + 0.04 * 0.8,
        "feet_height": (0.08 / 0.1 - 1.0) ** 2,  # FR touched down
        "feet_slip": 0.1**2,  # FR and RL in contact; RL still
        "feet_air_time": 0.3 - 0.1,
        "base_height": (0.25 - sim.stand_height) ** 2,
    }
    assert set(terms) == set(rewards.JOYSTICK_TERMS)
    for name, value in expected.items():
        assert terms[name][0] == pytest.approx(value, rel=1e-9, abs=1e-15), name
    # a zero command: stand_still counts the pose error, the feet terms stop paying or costing
    still = reward.terms(_measurements(command=np.zeros((1, 3)), joint_pos=q[None, :], fallen=np.array([True])))
    assert still["stand_still"][0] == pytest.approx(np.abs(dq).sum())
    assert still["feet_air_time"][0] == still["feet_slip"][0] == still["feet_height"][0] == 0.0
    assert still["termination"][0] == 1.0


def test_reward_config_changes_the_constants_and_is_checked():
    wide = make_sim("rewardlab/LocoJoystick-v0", num_envs=1,
                    reward_config=rewards.JoystickRewardConfig(tracking_sigma=1.0, air_time_target=0.2))
    terms = wide.reward.terms(_measurements())
    assert terms["tracking_lin_vel"][0] == pytest.approx(math.exp(-0.05 / 1.0))
    assert terms["feet_air_time"][0] == pytest.approx(0.3 - 0.2)
    with pytest.raises(RewardlabError, match="LocoJoystick-v0: reward_config must be a rewards.JoystickRewardConfig"):
        make_sim("rewardlab/LocoJoystick-v0", reward_config=rewards.ImitationRewardConfig())
    loose = make_sim("rewardlab/LocoImitation-v0", num_envs=1,
                     reward_config=rewards.ImitationRewardConfig(pose_scale=1.0))
    assert loose.reward_config.pose_scale == 1.0


def test_presets_hold_playground_scales():
    spec = make_sim("rewardlab/LocoJoystick-v0").reward_presets
    playground = {  # MuJoCo Playground, locomotion/go1/joystick.py, default_config().reward_config.scales
        "tracking_lin_vel": 1.0, "tracking_ang_vel": 0.5, "lin_vel_z": -0.5, "ang_vel_xy": -0.05,
        "orientation": -5.0, "dof_pos_limits": -1.0, "pose": 0.5, "termination": -1.0, "stand_still": -1.0,
        "torques": -0.0002, "action_rate": -0.01, "energy": -0.001, "feet_clearance": -2.0, "feet_height": -0.2,
        "feet_slip": -0.1, "feet_air_time": 0.1,
    }
    assert dict(spec["joystick+action_rate"].weights) == playground
    assert dict(spec["joystick"].weights) == {k: v for k, v in playground.items() if k != "action_rate"}


def _episode_returns(policy_of, seed=0, steps=500, **kwargs):
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=6, **kwargs)
    sim.reset(seed=seed)
    policy = policy_of(sim)
    returns, alive, fell = np.zeros(6), np.ones(6, dtype=bool), np.zeros(6, dtype=bool)
    for _ in range(steps):
        step = sim.step(policy(sim))
        returns += step.reward[:, 0] * alive
        fell |= step.terminated & alive
        alive &= ~step.done
    return returns, ~fell


@pytest.mark.parametrize("seed", [0, 1])
def test_trotter_outscores_standing_still_on_moving_commands(seed):
    """Under the default (Playground) preset, on commands of 0.5 m/s and more, the PD trotter earns
    clearly more per episode than standing still, and stays on its feet."""
    moving = dict(command_vx=(0.5, 0.9), command_vy=(-0.2, 0.2), command_yaw=(-0.6, 0.6))
    trot, trot_upright = _episode_returns(PDJoystickTrotter, seed=seed, **moving)
    stand, _ = _episode_returns(lambda sim: (lambda s: np.zeros((6, 1, 12))), seed=seed, **moving)
    assert trot_upright.all()
    assert trot.mean() > 1.2 * stand.mean()
    assert (trot > stand).all()


def test_trotter_stands_still_on_a_zero_command():
    """On a zero command the trotter holds the standing pose against the weight: the joints stay
    closer to it than under the plain standing targets, so stand_still costs less."""
    still = dict(command_vx=(0.0, 0.0), command_vy=(0.0, 0.0), command_yaw=(0.0, 0.0))
    costs = []
    for policy_of in (PDJoystickTrotter, lambda sim: (lambda s: np.zeros((2, 1, 12)))):
        sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=2, init_noise=0.0, **still)
        sim.reset(seed=0)
        policy, cost = policy_of(sim), 0.0
        for _ in range(100):
            step = sim.step(policy(sim))
            assert not step.done.any()
            cost += step.terms["stand_still"].sum()
        costs.append(cost)
        if len(costs) == 1:  # the trotter's targets do not move while it stands
            np.testing.assert_array_equal(policy(sim)[0], policy(sim)[1])
    assert costs[0] < 0.5 * costs[1]


def test_joystick_foot_velocities_are_mujocos_site_velocities():
    """The feet terms read foot velocities at the end of the step, as Playground's sensors do:
    root velocity + w x r + R J(q) qdot, equal to MuJoCo's own velocity of the foot sites."""
    import mujoco

    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=2)
    sim.reset(seed=0)
    trotter, model = PDJoystickTrotter(sim), sim.qm.model
    data, seen, score = mujoco.MjData(model), {}, sim.reward.terms
    sim.reward.terms = lambda measured: (seen.__setitem__("m", measured), score(measured))[1]
    fastest = 0.0
    for _ in range(40):
        sim.step(trotter(sim))
        for i in range(2):
            data.qpos[:], data.qvel[:] = sim.state[i, 1:20], sim.state[i, 20:38]
            mujoco.mj_forward(model, data)
            for foot, site in enumerate(sim.qm.foot_sites):
                velocity = np.zeros(6)  # (angular, linear), world frame
                mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_SITE, site, velocity, 0)
                np.testing.assert_allclose(seen["m"].foot_vel_xy[i, foot], velocity[3:5], atol=1e-12)
                assert seen["m"].foot_height[i, foot] == pytest.approx(data.site_xpos[site, 2], abs=1e-12)
                fastest = max(fastest, np.linalg.norm(velocity[3:5]))
    assert fastest > 0.3  # swinging feet were checked, not only feet at rest
