"""The quadruped stands under its servos, and the PD gait tracker earns a high imitation reward."""

from __future__ import annotations

import numpy as np
import pytest

from rewardlab.baselines.locomotion import PDGaitTracker, PDJoystickTrotter
from rewardlab.core.registry import make_sim
from rewardlab.envs.locomotion.model import STANDING_POSE


def test_stands_for_five_seconds_with_zero_action():
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=2, init_noise=0.0, episode_seconds=6.0)
    sim.reset(seed=0)
    zero = np.zeros((2, 1, 12))
    heights, ups = [], []
    for _ in range(250):  # 5 s at 50 Hz
        step = sim.step(zero)
        assert not step.done.any(), "fell or ended while standing"
        heights.append(sim.state[:, 3].copy())
        ups.append(1 - 2 * (sim.state[:, 5] ** 2 + sim.state[:, 6] ** 2))  # R_zz from the quaternion
    heights, ups = np.array(heights), np.array(ups)
    assert heights.min() > 0.2  # the trunk stays well above the fall threshold (0.14 m)
    assert ups.min() > np.cos(0.2)  # tilted by less than 0.2 rad throughout
    # at rest by the end: joints near the standing pose, no motion
    assert np.abs(sim.state[:, 20:38]).max() < 0.05
    assert np.abs(sim.state[:, 8:20] - STANDING_POSE).max() < 0.25


def _play(sim, policy, steps):
    returns, lengths = [], []
    for _ in range(steps):
        step = sim.step(policy(sim), autoreset=True)
        if step.episode_metrics is not None:
            returns += list(step.episode_metrics["imitation_return"][step.done])
            lengths += list(step.episode_metrics["length"][step.done])
    running = sim.t > 0  # episodes still under way count with their length so far
    returns += list(sim.sum_task[running])
    lengths += list(sim.t[running])
    return np.sum(returns) / np.sum(lengths), np.mean(lengths), len(returns)


def test_pd_tracker_earns_high_imitation_reward_on_trot():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=4, motion="trot", speed=0.5)
    sim.reset(seed=0)
    per_step, mean_length, episodes = _play(sim, PDGaitTracker(sim), 500)
    # all four 10 s episodes run to the time limit and score > 0.85 of the maximum 1.0 per step
    assert episodes == 4 and mean_length == 500
    assert per_step > 0.85
    # a fixed standing target, by contrast, falls behind the reference and is cut early
    idle = make_sim("rewardlab/LocoImitation-v0", num_envs=4, motion="trot", speed=0.5)
    idle.reset(seed=0)
    idle_per_step, idle_length, _ = _play(idle, lambda s: np.zeros((4, 1, 12)), 200)
    assert idle_length < 150 and idle_per_step < per_step - 0.3


@pytest.mark.parametrize(("motion", "speed"), [("pace", 0.5), ("bound", 0.5), ("pronk", 0.3), ("walk", 0.3)])
def test_pd_tracker_holds_every_gait(motion, speed):
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=4, motion=motion, speed=speed)
    sim.reset(seed=0)
    per_step, mean_length, episodes = _play(sim, PDGaitTracker(sim), 300)
    # no falls and a high score; standing still scores 0.40-0.51 and falls within 2 s
    assert episodes == 4 and mean_length == 300
    assert per_step > (0.72 if motion == "walk" else 0.82)
    # the reference's sway and push-off are the tracker's feed-forward: without it, it falls behind
    plain = make_sim("rewardlab/LocoImitation-v0", num_envs=4, motion=motion, speed=speed)
    plain.reset(seed=0)
    plain_per_step, _, _ = _play(plain, PDGaitTracker(plain, gravity_compensation=False), 300)
    assert plain_per_step < per_step - 0.1


def test_gravity_compensation_and_feedback_matter():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=4, motion="trot", speed=0.5)
    sim.reset(seed=0)
    plain = PDGaitTracker(sim, gravity_compensation=False, balance_gain=0.0, position_gain=0.0, yaw_gain=0.0)
    per_step, mean_length, _ = _play(sim, plain, 300)
    assert mean_length < 200 and per_step < 0.8


def test_tracker_rejects_other_envs():
    with pytest.raises(TypeError, match="LocoImitationSim"):
        PDGaitTracker(make_sim("rewardlab/LocoJoystick-v0"))


def test_pd_tracker_jumps_with_the_push_off_feed_forward():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=4, motion="jump", speed=0.0)
    sim.reset(seed=0)
    per_step, mean_length, _ = _play(sim, PDGaitTracker(sim), 300)
    assert mean_length == 300 and per_step > 0.8
    # without the reference's vertical acceleration in the feed-forward the push-off is too weak
    weak = make_sim("rewardlab/LocoImitation-v0", num_envs=4, motion="jump", speed=0.0)
    weak.reset(seed=0)
    weak_per_step, _, _ = _play(weak, PDGaitTracker(weak, accel_gain=0.0), 300)
    assert weak_per_step < per_step - 0.2


def test_joystick_trotter_follows_the_command_better_than_standing():
    def run(policy_of, steps=250):
        sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=8)
        sim.reset(seed=0)
        policy = policy_of(sim)
        tracking = []
        for _ in range(steps):
            step = sim.step(policy(sim), autoreset=True)
            tracking.append(step.terms["tracking_lin_vel"][:, 0].mean())
        return float(np.mean(tracking))

    trot = run(PDJoystickTrotter)
    stand = run(lambda sim: (lambda s: np.zeros((8, 1, 12))))
    assert trot > 0.85 and trot > stand + 0.25


def test_joystick_trotter_feet_stroke_with_the_command():
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=2, command_vx=(0.0, 0.0), command_vy=(0.0, 0.0),
                   command_yaw=(0.0, 0.0))
    sim.reset(seed=0)
    trotter = PDJoystickTrotter(sim, position_gain=0.0)
    still = trotter.targets(sim)
    sim.command[0] = (0.6, 0.0, 0.0)  # same phase, forward command for instance 0 only
    moving = trotter.targets(sim)
    np.testing.assert_allclose(moving[1], still[1])
    feet_still, feet_moving = sim.qm.legs.forward(still[0]), sim.qm.legs.forward(moving[0])
    # in-place feet differ only in x, by +-0.6 m/s x stance time x stroke (|stroke| <= 1/2)
    dx = (feet_moving - feet_still)[:, 0]
    assert np.abs(dx).max() <= 0.6 * trotter.stance_time * 0.5 + 1e-6 and np.abs(dx).max() > 0.01
