"""CommonsOstrom-v0: payoffs, the oracle's Nash (8 each) and optimum (36), sanctions, talk."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import rewardlab
from rewardlab.baselines.commons import ostrom_best_response, ostrom_efficient
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.commons.ostrom import (
    OstromParams,
    best_response,
    group_optimum_total,
    net_return,
    payoff,
    symmetric_nash,
)

ENV_ID = "rewardlab/CommonsOstrom-v0"


def _multisets(n: int, e: int) -> np.ndarray:
    """Every token profile up to a permutation of players: C(n + e, n) rows (43,758 for 8, 10)."""
    return np.array(list(itertools.combinations_with_replacement(range(e + 1), n)))


def _payoff_by_hand(x: list[int], p: OstromParams) -> list[float]:
    """U_i = w (e - x_i) + (x_i / X) (a X - b X^2), the published form, with a loop."""
    total = sum(x)
    out = []
    for xi in x:
        share = xi / total if total > 0 else 0.0
        out.append(p.wage * (p.endowment - xi) + share * (p.a * total - p.b * total**2))
    return out


def test_payoff_function_matches_published_form():
    p = OstromParams()
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = rng.integers(0, p.endowment + 1, size=p.num_agents)
        np.testing.assert_allclose(payoff(x, p), _payoff_by_hand(list(x), p), rtol=1e-12)


@pytest.mark.parametrize("endowment", [10, 25])
def test_oracle_nash_and_optimum_from_brute_force(endowment):
    p = OstromParams(endowment=endowment)
    assert symmetric_nash(p) == 8
    assert group_optimum_total(p) == 36
    # brute force over token vectors (profiles up to permutation; the game is symmetric)
    profiles = _multisets(p.num_agents, min(endowment, 12))
    welfare = payoff(profiles, p).sum(axis=1)
    assert profiles[np.argmax(welfare)].sum() == 36
    # pure Nash: no player gains by a unilateral deviation to any token count
    u = payoff(profiles, p)
    stable = np.ones(len(profiles), dtype=bool)
    for i in range(p.num_agents):
        for dev in range(endowment + 1):
            other = profiles.copy()
            other[:, i] = dev
            stable &= payoff(other, p)[:, i] <= u[:, i] + 1e-12
    equilibria = profiles[stable]
    symmetric = [row for row in equilibria if len(set(row)) == 1]
    assert [int(row[0]) for row in symmetric] == [8]
    assert np.all(np.abs(equilibria.sum(axis=1) - 64) <= 1)  # discreteness allows X = 63..65
    # a second derivation: first-order conditions of the continuous game
    assert (p.a - p.wage) / (2 * p.b) == 36
    assert (p.a - p.wage) / (p.b * (p.num_agents + 1)) == 8


def test_best_response_line():
    p = OstromParams()
    for others in range(0, 71):
        # continuous best response 36 - X_-i / 2, clipped to [0, e], rounded (ties to the smaller)
        expected = np.clip(36 - others / 2, 0, p.endowment)
        assert abs(best_response(others, p) - expected) <= 0.5


def test_env_pays_the_payoff_and_reports_efficiency():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    p = env.unwrapped.sim.params
    action = np.zeros((8, 3), dtype=np.int64)
    action[:, 0] = 8
    returns = np.zeros(8)
    for _ in range(p.horizon):
        _, _, _, truncated, info = env.step(action)
        returns += info["agent_rewards"]
        np.testing.assert_allclose(info["agent_rewards"], _payoff_by_hand([8] * 8, p))
    assert truncated
    metrics = info["episode_metrics"]
    assert metrics["group_tokens"] == 64
    assert metrics["efficiency_pct"] == pytest.approx(100 * 128 / 324)
    assert metrics["reward"] == pytest.approx(returns.mean())
    assert net_return(36, p) == pytest.approx(324)


def test_selfish_best_responders_settle_at_nash_and_efficient_group_at_36():
    sim = rewardlab.make_sim(ENV_ID, num_envs=3)
    p = sim.params
    obs = sim.reset(seed=0)
    # start from three different first rounds: nobody, everybody, half the endowment
    first = np.zeros((3, 8, 3), dtype=np.int64)
    first[1, :, 0] = 10
    first[2, :, 0] = 5
    step = sim.step(first)
    for _ in range(p.horizon - 1):
        step = sim.step(ostrom_best_response(step.obs, p))
    np.testing.assert_array_equal(step.info["tokens"], 8)
    nash_eff = step.episode_metrics["efficiency_pct"]

    obs = sim.reset(seed=0)
    for _ in range(p.horizon):
        step = sim.step(ostrom_efficient(3, p))
    assert obs.shape == (3, 8, 29)
    np.testing.assert_array_equal(step.info["group_tokens"], 36)
    np.testing.assert_allclose(step.episode_metrics["efficiency_pct"], 100.0)
    assert np.all(step.episode_metrics["reward"] > 0)
    assert np.all(nash_eff < 60)


def test_sanctions_cost_the_fee_and_fine_the_target():
    sim = rewardlab.make_sim(ENV_ID, num_envs=1, treatment="sanctioning")
    sim.reset(seed=0)
    actions = np.zeros((1, 8, 3), dtype=np.int64)
    actions[0, :, 0] = 5
    actions[0, 0, 1] = 1  # player 0 sanctions player 1
    actions[0, 2, 1] = 7  # player 2 sanctions player (2 + 7) % 8 = 1
    actions[0, 3, 1] = 2  # player 3 sanctions player 5
    step = sim.step(actions)
    fee = np.zeros(8)
    fee[[0, 2, 3]] = -5
    fine = np.zeros(8)
    fine[1] = -20
    fine[5] = -10
    np.testing.assert_allclose(step.terms["sanction_fee"], fee[None])
    np.testing.assert_allclose(step.terms["fine"], fine[None])
    # player 1 sees 2 fines received (self first), player 0 sees player 1's at relative 1
    obs = step.obs[0]
    assert obs[1, 16] == pytest.approx(2 / 7) and obs[0, 17] == pytest.approx(2 / 7)
    # without the sanctioning treatment the same actions sanction nobody
    base = rewardlab.make_sim(ENV_ID, num_envs=1)
    base.reset(seed=0)
    out = base.step(actions)
    assert not out.terms["sanction_fee"].any() and not out.terms["fine"].any()


def test_pledges_are_shown_and_bind_when_asked():
    sim = rewardlab.make_sim(ENV_ID, num_envs=1, treatment="communication", binding_pledges=True)
    sim.reset(seed=0)
    actions = np.zeros((1, 8, 3), dtype=np.int64)
    actions[0, :, 0] = 9
    actions[0, :, 2] = 4
    step = sim.step(actions)
    np.testing.assert_array_equal(step.info["tokens"], 9)  # no pledge yet: nothing binds
    np.testing.assert_allclose(step.obs[0, :, 8:16], 0.4)
    step = sim.step(actions)
    np.testing.assert_array_equal(step.info["tokens"], 4)
    baseline = rewardlab.make_sim(ENV_ID, num_envs=1)
    obs = baseline.reset(seed=0)
    obs = baseline.step(actions).obs
    assert not obs[0, :, 8:16].any()  # no talk channel in the baseline


def test_bad_parameters_name_the_env():
    with pytest.raises(RewardlabError, match="CommonsOstrom-v0.*treatment"):
        gym.make(ENV_ID, treatment="anarchy")
    with pytest.raises(RewardlabError, match="CommonsOstrom-v0.*num_agents"):
        gym.make(ENV_ID, num_agents=1)
