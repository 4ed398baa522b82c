"""CommonsFishery-v0: Schaefer dynamics vs closed forms, sanctions, norms, heuristic populations."""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab
from rewardlab.baselines.commons import run_fishery_population, run_fishery_scenario
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.commons._common import gini

ENV_ID = "rewardlab/CommonsFishery-v0"
K, R, Q, PRICE, COST = 100.0, 0.4, 0.01, 1.0, 0.25  # the defaults, written out independently


def _levels_for_totals(totals: np.ndarray, n: int = 5, top: int = 10) -> np.ndarray:
    """Per-fisher effort levels (one unit each) that add up to each total."""
    levels = np.zeros((len(totals), n), dtype=np.int64)
    remaining = totals.copy()
    for i in range(n):
        levels[:, i] = np.minimum(remaining, top)
        remaining -= levels[:, i]
    return levels


def _equilibrium(totals: np.ndarray, steps: int = 600):
    """Run constant efforts to equilibrium; returns final stock and last-step total catch."""
    sim = rewardlab.make_sim(
        ENV_ID, num_envs=len(totals), institution="none", collapse_fraction=0.0, horizon=steps
    )
    sim.reset(seed=0)
    actions = np.zeros((len(totals), 5, 3), dtype=np.int64)
    actions[:, :, 0] = _levels_for_totals(totals)
    for _ in range(steps):
        step = sim.step(actions)
    return step.info["stock"], step.info["catch"].sum(axis=1), step.terms


def test_stock_converges_to_closed_form_equilibrium_and_yield():
    totals = np.arange(0, 37)
    stock, catch, _ = _equilibrium(totals)
    expected_stock = K * (1 - Q * totals / R)
    np.testing.assert_allclose(stock, expected_stock, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(catch, Q * totals * K * (1 - Q * totals / R), rtol=1e-6, atol=1e-9)


def test_msy_and_rent_optima_from_the_dynamics():
    totals = np.arange(0, 40)
    _, catch, terms = _equilibrium(totals)
    # maximum sustainable yield: r K / 4 at E = r / (2 q), found by scanning the simulated yields
    assert totals[np.argmax(catch)] == R / (2 * Q) == 20
    assert catch.max() == pytest.approx(R * K / 4, rel=1e-6)
    rent = PRICE * catch - COST * totals
    np.testing.assert_allclose(rent, (terms["catch_value"] + terms["effort_cost"]).sum(axis=1), atol=1e-9)
    open_access = (R / Q) * (1 - COST / (PRICE * Q * K))
    assert open_access == 30 and abs(rent[30]) < 1e-6  # zero rent at open access
    assert totals[np.argmax(rent)] == open_access / 2  # rent-maximising effort E_MEY
    p = rewardlab.make_sim(ENV_ID).params
    assert p.msy == R * K / 4 and p.msy_effort == 20 and p.open_access_effort == pytest.approx(30)


def test_overfishing_collapses_and_faster_with_more_effort():
    totals = np.array([42, 46, 50])
    sim = rewardlab.make_sim(ENV_ID, num_envs=3, institution="none")
    sim.reset(seed=0)
    actions = np.zeros((3, 5, 3), dtype=np.int64)
    actions[:, :, 0] = _levels_for_totals(totals)
    survival = np.full(3, np.nan)
    for _ in range(sim.params.horizon):
        step = sim.step(actions)
        if step.episode_metrics is not None:
            ended = step.done & np.isnan(survival)
            survival[ended] = step.episode_metrics["survival_time"][ended]
            assert np.all(step.info["stock"][step.terminated] < 5.0)
        if not np.isnan(survival).any():
            break
    assert not np.isnan(survival).any()
    assert survival[0] > survival[1] > survival[2]


def test_catch_never_exceeds_the_stock():
    sim = rewardlab.make_sim(ENV_ID, num_envs=2, catchability=0.05, institution="none", collapse_fraction=0.0)
    sim.reset(seed=0)
    actions = np.zeros((2, 5, 3), dtype=np.int64)
    actions[:, :, 0] = 10  # wants 2.5 x the stock
    before = sim.stock.copy()
    step = sim.step(actions)
    np.testing.assert_allclose(step.info["catch"].sum(axis=1), before)
    assert np.all(step.info["stock"] >= 0)


def test_sanction_bookkeeping_hand_built():
    sim = rewardlab.make_sim(ENV_ID, num_envs=1, institution="direct", monitor_prob=1.0)
    sim.reset(seed=0)
    assert sim.norm[0] == pytest.approx(4.0)
    actions = np.zeros((1, 5, 3), dtype=np.int64)
    actions[0, :, 0] = [10, 4, 2, 6, 0]
    actions[0, :, 1] = [1, 1, 0, 2, 0]
    step = sim.step(actions)
    # fines received: 0 from {1, 3}; 1 from {3}; 2 from {3}; 3 from {0, 1}; 4 from {3}
    np.testing.assert_allclose(step.terms["fine"][0], -5.0 * np.array([2, 1, 1, 2, 1]))
    np.testing.assert_allclose(step.terms["sanction_cost"][0], -1.0 * np.array([1, 2, 0, 4, 0]))
    np.testing.assert_allclose(step.terms["effort_cost"][0], -0.25 * np.array([10, 4, 2, 6, 0]))
    np.testing.assert_allclose(step.terms["catch_value"][0], 0.01 * np.array([10, 4, 2, 6, 0]) * 100.0)
    np.testing.assert_allclose(step.info["reputation"][0], [-1, 1, 1, -1, 1])
    assert not step.terms["tax"].any()
    for _ in range(sim.params.horizon - 1):
        step = sim.step(np.zeros((1, 5, 3), dtype=np.int64))
    m = {k: v[0] for k, v in step.episode_metrics.items()}
    assert (m["punishments_just"], m["punishments_unjust"]) == (4, 3)
    assert m["above_norm_share"] == pytest.approx(2 / (5 * 200))
    assert m["cooperation_pct"] == pytest.approx(100 * (1 - 2 / 1000))


def test_third_party_enforcer_and_its_errors():
    sim = rewardlab.make_sim(ENV_ID, num_envs=1, institution="third_party", monitor_prob=1.0)
    sim.reset(seed=0)
    actions = np.zeros((1, 5, 3), dtype=np.int64)
    actions[0, :, 0] = [10, 4, 2, 6, 0]
    actions[0, :, 1] = 1  # peer sanctions do nothing under the third-party institution
    step = sim.step(actions)
    np.testing.assert_allclose(step.terms["fine"][0], [-5, 0, 0, -5, 0])
    np.testing.assert_allclose(step.terms["tax"][0], -0.1)
    assert not step.terms["sanction_cost"].any()
    wrong = rewardlab.make_sim(ENV_ID, num_envs=1, institution="third_party", monitor_prob=1.0, third_party_error=1.0)
    wrong.reset(seed=0)
    np.testing.assert_allclose(wrong.step(actions).terms["fine"][0], -5.0)


def test_monitoring_frequency_within_binomial_bound():
    p_monitor, num_envs, steps = 0.3, 256, 40
    sim = rewardlab.make_sim(ENV_ID, num_envs=num_envs, monitor_prob=p_monitor, collapse_fraction=0.0)
    sim.reset(seed=5)
    seen = 0
    for _ in range(steps):
        seen += sim.step(np.zeros((num_envs, 5, 3), dtype=np.int64)).info["visible"].sum()
    trials = num_envs * steps * 5
    assert abs(seen / trials - p_monitor) < 4 * np.sqrt(p_monitor * (1 - p_monitor) / trials)


def test_exclusion_voting_and_learned_norms():
    sim = rewardlab.make_sim(ENV_ID, num_envs=1, institution="none", monitor_prob=1.0, exclusion_threshold=-1.5)
    sim.reset(seed=0)
    actions = np.zeros((1, 5, 3), dtype=np.int64)
    actions[0, :, 0] = [10, 2, 2, 2, 2]
    catches = [sim.step(actions).info["catch"][0, 0] for _ in range(3)]
    assert catches[0] > 0 and catches[1] > 0 and catches[2] == 0  # reputation -2 < -1.5: excluded

    voted = rewardlab.make_sim(ENV_ID, num_envs=1, norm_mode="voted")
    voted.reset(seed=0)
    actions[0, :, 2] = [1, 3, 7, 9, 10]
    assert voted.step(actions).info["norm"][0] == pytest.approx(7.0)

    learned = rewardlab.make_sim(
        ENV_ID, num_envs=1, institution="none", norm_mode="learned", learning_interval=1, learning_rate=1.0
    )
    learned.reset(seed=0)
    actions[0, :, 0] = [3, 6, 2, 2, 2]  # fisher 1 earns most (catch value exceeds effort cost)
    assert learned.step(actions).info["norm"][0] == pytest.approx(6.0)


def test_selfish_population_collapses_faster_without_sanctions():
    for scenario in ("rich_selfish", "scarce_selfish"):
        free = run_fishery_scenario(scenario, "none", num_envs=8)
        for institution in ("direct", "third_party"):
            sanctioned = run_fishery_scenario(scenario, institution, num_envs=8)
            assert sanctioned["survival_time"].mean() > free["survival_time"].mean() + 50
            assert sanctioned["cooperation_pct"].mean() > free["cooperation_pct"].mean()
            assert sanctioned["punishments_just"].mean() > 0
    altruists = run_fishery_scenario("rich_altruistic", "none", num_envs=8)
    np.testing.assert_array_equal(altruists["survival_time"], 200)
    # a selfish majority that votes for the norm legalises over-fishing and the stock collapses
    voted = run_fishery_population(["selfish"] * 4 + ["altruistic"], num_envs=8, norm_mode="voted")
    assert voted["survival_time"].mean() < 100
    assert np.all(voted["punishments_just"] <= 4)  # only the first step, before the vote counts


def test_gini_against_definition():
    assert gini(np.array([1.0, 1.0, 1.0, 1.0])) == 0
    assert gini(np.array([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)
    x = np.random.default_rng(0).random(7)
    brute = sum(abs(a - b) for a in x for b in x) / (2 * len(x) * x.sum())
    assert gini(x) == pytest.approx(brute)


def test_bad_parameters_name_the_env():
    with pytest.raises(RewardlabError, match="CommonsFishery-v0.*monitor_prob"):
        rewardlab.make_sim(ENV_ID, monitor_prob=1.5)
    with pytest.raises(RewardlabError, match="CommonsFishery-v0.*norm_mode"):
        rewardlab.make_sim(ENV_ID, norm_mode="decree")


def test_regrowth_noise_is_mean_preserving_and_seeded():
    num_envs, sigma = 4000, 0.3
    sim = rewardlab.make_sim(ENV_ID, num_envs=num_envs, institution="none", stock_noise=sigma, initial_stock=0.5)
    sim.reset(seed=0)
    step = sim.step(np.zeros((num_envs, 5, 3), dtype=np.int64))
    growth = step.info["stock"] - 50.0  # deterministic growth r B (1 - B/K) = 5 from B = K/2
    expected = R * 50.0 * 0.5
    sd = expected * np.sqrt(np.exp(sigma**2) - 1)  # sd of a mean-one lognormal factor, times 5
    assert abs(growth.mean() - expected) < 4.5 * sd / np.sqrt(num_envs)
    assert growth.std() == pytest.approx(sd, rel=0.1)
    again = rewardlab.make_sim(ENV_ID, num_envs=num_envs, institution="none", stock_noise=sigma, initial_stock=0.5)
    again.reset(seed=0)
    again_step = again.step(np.zeros((num_envs, 5, 3), dtype=np.int64))
    np.testing.assert_array_equal(again_step.info["stock"], step.info["stock"])
