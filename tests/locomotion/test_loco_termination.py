"""Early termination of LocoImitation-v0 on tracking error: root rotation and imitation reward."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rewardlab  # noqa: F401  (registers the ids)
from rewardlab.core.errors import RewardlabError
from rewardlab.core.registry import make_sim
from rewardlab.envs.locomotion.model import quat_to_matrix

ID = "rewardlab/LocoImitation-v0"


def _strayed_when_turned(yaw: float, **kwargs) -> bool:
    """Whether the task ends with the robot on the reference but its trunk turned by ``yaw`` rad."""
    sim = make_sim(ID, num_envs=1, random_start_phase=False, **kwargs)
    sim.reset(seed=0)
    sim.step(np.zeros((1, 1, 12)))
    sim.pose_reference(int(sim.t[0]))
    reference = sim.state[0, 4:8].copy()
    turn = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])  # about the vertical
    w1, v1, w2, v2 = turn[0], turn[1:], reference[0], reference[1:]
    sim.state[0, 4:8] = np.concatenate([[w1 * w2 - v1 @ v2], w1 * v2 + w2 * v1 + np.cross(v1, v2)])
    contact, fallen = np.ones((1, 4), bool), np.zeros(1, bool)
    effort = {"power": np.zeros(1), "torque_l1": np.zeros(1)}
    _, _, strayed, _ = sim._task_terms(quat_to_matrix(sim.state[:, 4:8]), contact, effort, fallen)
    return bool(strayed[0])


def test_root_rotation_error_ends_imitation_only_past_the_limit():
    assert not _strayed_when_turned(1.2)  # off by default
    assert not _strayed_when_turned(0.7, max_root_rotation_error=0.8)
    assert _strayed_when_turned(0.9, max_root_rotation_error=0.8)
    assert _strayed_when_turned(1.7, max_root_rotation_error=np.pi / 2)  # Peng et al.'s limit


def _episode_rewards(**kwargs) -> tuple[list[float], bool]:
    """Rewards of one episode of zero actions (standing on a moving trot) and how it ended."""
    sim = make_sim(ID, num_envs=1, speed=0.5, random_start_phase=False, init_noise=0.0, **kwargs)
    sim.reset(seed=0)
    rewards = []
    for _ in range(sim.episode_steps):
        step = sim.step(np.zeros((1, 1, 12)))
        rewards.append(float(step.reward[0, 0]))
        if step.done[0]:
            return rewards, bool(step.terminated[0] and not step.info["fallen"][0])
    return rewards, False


def test_min_imitation_reward_ends_on_the_first_step_below_it():
    free, _ = _episode_rewards()
    threshold = 0.5
    below = [t for t, r in enumerate(free) if r < threshold]
    assert below, "standing still must score below the threshold at some step"
    cut, by_tracking = _episode_rewards(min_imitation_reward=threshold)
    # the same trajectory up to the first step under the threshold, which ends the episode
    assert len(cut) == below[0] + 1 < len(free)
    assert cut == pytest.approx(free[: len(cut)], abs=0.0)
    assert by_tracking and cut[-1] < threshold <= min(cut[:-1], default=threshold)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"max_root_rotation_error": 0.0}, "max_root_rotation_error"),
        ({"max_root_rotation_error": 4.0}, "max_root_rotation_error"),
        ({"min_imitation_reward": 1.0}, "min_imitation_reward"),
        ({"min_imitation_reward": -0.1}, "min_imitation_reward"),
    ],
)
def test_bad_termination_limits_name_the_env_and_the_argument(kwargs, word):
    with pytest.raises(RewardlabError, match=f"LocoImitation-v0.*{word}"):
        gym.make(ID, **kwargs)
