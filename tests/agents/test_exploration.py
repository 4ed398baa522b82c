"""Roach's exploration loss (PPOConfig.exploration_coef): the Beta KL, which decisions get which
prior, and the agent on the driving simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rewardlab
from rewardlab.agents import PPO
from rewardlab.agents import exploration as ex
from rewardlab.core.errors import RewardlabError


def test_beta_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    a, b, aq, bq = (0.5 + 4 * torch.rand(50, generator=gen, dtype=torch.float64) for _ in range(4))
    expected = torch.distributions.kl_divergence(torch.distributions.Beta(a, b), torch.distributions.Beta(aq, bq))
    torch.testing.assert_close(ex.beta_kl(a, b, aq, bq), expected)
    assert torch.all(ex.beta_kl(a, b, a, b).abs() < 1e-12)


PRIORS = (("blocked", {1: (2.5, 1.0)}), ("route_deviation", {0: (1.0, 1.0)}), ("collision", {1: (1.0, 1.5)}))


def events_at(T: int, B: int, ends: dict[tuple[int, int], tuple[str, ...]]) -> list[dict[str, np.ndarray]]:
    out = []
    for t in range(T):
        flags = {name: np.zeros(B, dtype=bool) for name, _ in PRIORS}
        for (tt, i), names in ends.items():
            if tt == t:
                for name in names:
                    flags[name][i] = True
        out.append(flags)
    return out


def test_prior_targets_mark_the_decisions_before_each_ending_within_its_episode():
    T, B = 10, 3
    dones = np.zeros((T, B), dtype=bool)
    ends = {(2, 0): ("collision",), (8, 0): ("blocked",), (6, 1): ("route_deviation", "collision"), (4, 2): ()}
    for t, i in ends:
        dones[t, i] = True
    alpha, beta, mask = ex.prior_targets(events_at(T, B, ends), dones, PRIORS, decisions=4, action_dim=2)
    # instance 0: a collision at t=2 marks t=0,1 (the episode began at 0); blocked at 8 marks 4..7
    np.testing.assert_array_equal(mask[:, 0, 1], [1, 1, 0, 0, 1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(mask[:, 0, 0], 0)
    np.testing.assert_allclose(beta[:2, 0, 1], 1.5)  # "stop"
    np.testing.assert_allclose(alpha[4:8, 0, 1], 2.5)  # "go"
    # instance 1: two events, the later entry (collision) wins: acceleration only, steering unmarked
    np.testing.assert_array_equal(mask[:, 1, 1], [0, 0, 1, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(mask[:, 1, 0], 0)
    # instance 2: an ending with no prior's event (a time limit) marks nothing
    assert not mask[:, 2].any()


def test_exploration_loss_is_zero_off_the_mask_and_pulls_towards_the_prior():
    raw = torch.zeros(2, 6, 2, requires_grad=True)  # alpha's and beta's pre-activations
    prior_alpha = torch.full((6, 2), 2.5)
    prior_beta = torch.ones(6, 2)
    mask = torch.zeros(6, 2, dtype=torch.bool)

    def loss():
        alpha, beta = 1.0 + torch.nn.functional.softplus(raw)
        return ex.exploration_loss(alpha, beta, prior_alpha, prior_beta, mask)

    assert float(loss().detach()) == 0.0
    mask[:3, 1] = True
    before = float(loss().detach())
    assert before > 0
    optimiser = torch.optim.SGD([raw], lr=0.5)
    for _ in range(100):
        optimiser.zero_grad()
        loss().backward()
        optimiser.step()
    assert float(loss().detach()) < 0.5 * before
    moved = raw.detach()
    assert torch.all(moved[0, :3, 1] > moved[1, :3, 1])  # the marked ones moved towards throttle (alpha > beta)
    assert moved[:, 3:].abs().max() < 1e-6 and moved[:, :, 0].abs().max() < 1e-6  # unmarked: (numerically) untouched


def town_agent(**config) -> PPO:
    sim = rewardlab.make_sim("rewardlab/DrivingTown-v0", num_envs=8, reward="roach")
    base = {"num_steps": 64, "distribution": "beta", "exploration_coef": 0.05, "exploration_steps": 20}
    return PPO(sim, {**base, **config}, seed=0)


def test_the_agent_marks_failures_on_the_driving_simulator_and_reports_the_loss():
    agent = town_agent(action_repeat=2)
    batch, _, _ = agent._rollout()
    mask = batch["explore_mask"].numpy()
    dones = batch["dones"].numpy()
    assert dones.any() and mask.any()  # a random policy fails within 64 decisions
    for t, row in zip(*np.nonzero(mask.any(axis=2)), strict=True):
        # a marked decision lies within the 10 decisions (20 simulator steps, held in pairs)
        # before the first ending that follows it
        following = np.flatnonzero(dones[t + 1 :, row])
        assert following.size and following[0] < 10 and not dones[t, row]
    stats = agent.train_one_update(1)
    assert stats["exploration_loss"] > 0


def test_the_loss_is_off_by_default_and_deterministic():
    first = town_agent().train_one_update(1)
    again = town_agent().train_one_update(1)
    assert first["exploration_loss"] == again["exploration_loss"]
    plain = PPO(rewardlab.make_sim("rewardlab/DrivingTown-v0", num_envs=8, reward="roach"),
                {"num_steps": 64, "distribution": "beta"}, seed=0).train_one_update(1)
    assert "exploration_loss" not in plain


@pytest.mark.parametrize(
    ("env_id", "kwargs", "config", "match"),
    [
        ("rewardlab/DrivingTown-v0", {}, {"distribution": "gaussian"}, "needs distribution='beta'"),
        ("rewardlab/DrivingTown-v0", {"action": "discrete"}, {"distribution": "beta"}, "declares exploration priors"),
        ("rewardlab/CoopSLCD-v0", {}, {"distribution": "beta"}, "declares exploration priors"),
    ],
)
def test_exploration_needs_beta_actions_and_a_simulator_with_priors(env_id, kwargs, config, match):
    with pytest.raises(RewardlabError, match=match):
        PPO(rewardlab.make_sim(env_id, num_envs=2, **kwargs), {"exploration_coef": 0.05, **config}, seed=0)
