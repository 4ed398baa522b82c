"""The coopetition oracles, checked independently: grids of unilateral deviations, grids of joint
actions, closed forms derived by hand, and the heuristics' scores."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import rewardlab
from rewardlab.baselines import coopetition as oracles
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.coopetition import sharp_calibration

COOP_IDS = [s.id for s in rewardlab.all_specs() if s.id.startswith("rewardlab/Coop")]
MODES = ("private", "integrated", "cooperative")


def _game(env_id, **kwargs):
    sim = rewardlab.make_sim(env_id, **kwargs)
    phase = sim.params.num_phases - 1
    return sim, sim.stage_game(phase)


@pytest.mark.parametrize("env_id", COOP_IDS)
def test_nash_has_no_profitable_unilateral_deviation(env_id):
    sim, game = _game(env_id)
    presets = type(sim).reward_presets
    modes = [m for m in (*MODES, "trust_integrated", "loyal", "reciprocal") if m in presets]
    for mode in modes:
        nash = oracles.nash_equilibrium(game, mode, presets=presets)
        assert nash.converged, (env_id, mode)
        utility = oracles.mode_utility(game, mode, presets)
        scale = max(1.0, float(np.abs(nash.utilities).max()))
        gains = oracles.unilateral_deviation_gain(game, utility, nash.actions, grid=401)
        assert gains.max() <= 1e-3 * scale, (env_id, mode, gains)


def _grid_welfare(game, points):
    active = np.ones(game.num_agents, bool) if game.active is None else game.active
    return (game.payoff(points) * active).sum(axis=-1)


@pytest.mark.parametrize("env_id", COOP_IDS)
def test_social_optimum_is_not_beaten_by_any_grid_point(env_id):
    sim, game = _game(env_id)
    best = oracles.social_optimum(game)
    n = game.num_agents
    rng = np.random.default_rng(0)
    if n == 2:
        axes = [np.linspace(0.0, b, 201) for b in game.bounds]
        points = np.array(list(itertools.product(*axes)))
    else:
        fractions = np.linspace(0.0, 1.0, 101)
        symmetric = fractions[:, None] * game.bounds[None, :]
        random = rng.uniform(0.0, 1.0, (20000, n)) * game.bounds
        # random points near the optimum too, where a coarse grid is weakest
        near = np.clip(best.actions + rng.normal(0.0, 0.02, (20000, n)) * game.bounds, 0.0, game.bounds)
        points = np.concatenate([symmetric, random, near])
    grid_best = float(_grid_welfare(game, points).max())
    assert grid_best <= best.welfare + 1e-9 * max(1.0, abs(best.welfare)), (env_id, grid_best, best.welfare)
    # and the optimum is at least as good as every mode's Nash equilibrium
    for mode in MODES:
        assert oracles.nash_equilibrium(game, mode, presets=type(sim).reward_presets).welfare <= best.welfare + 1e-6


def test_team_production_closed_forms_match_the_numeric_solvers():
    sim, game = _game("rewardlab/CoopTeamProduction-v0")
    p = sim.params
    nash = oracles.nash_equilibrium(game, "private")
    closed = oracles.team_nash_effort(p.omega, p.beta, p.cost, 4, 50.0)
    # every profile with the Nash total effort is an equilibrium: compare totals and payoffs
    assert nash.actions.sum() == pytest.approx(4 * closed, rel=1e-5)
    assert closed * 4 == pytest.approx((p.omega * p.beta / (4 * p.cost)) ** (1 / (1 - p.beta)))
    optimum = oracles.social_optimum(game)
    assert optimum.actions == pytest.approx(np.full(4, oracles.team_optimum_effort(p.omega, p.beta, p.cost, 4, 50.0)))
    # an uncapped case: a small omega puts the optimum inside the bounds
    small, small_game = _game("rewardlab/CoopTeamProduction-v0", omega=3.0)
    opt = oracles.social_optimum(small_game)
    expected = oracles.team_optimum_effort(3.0, 0.7, 1.0, 4, 50.0)
    assert expected < 50.0
    assert opt.actions.sum() == pytest.approx(4 * expected, rel=1e-5)


def test_loyalty_nash_closed_form_matches_best_response():
    sim, game = _game("rewardlab/CoopLoyaltyTeam-v0", omega=6.0)
    p = sim.params
    nash = oracles.nash_equilibrium(game, "loyal", presets=type(sim).reward_presets)
    closed = oracles.team_nash_effort(p.omega, p.beta, p.cost, 4, 50.0, p.loyalty0, p.phi_b, p.phi_c)
    plain = oracles.team_nash_effort(p.omega, p.beta, p.cost, 4, 50.0)
    assert plain < closed < 50.0
    assert nash.actions.sum() == pytest.approx(4 * closed, rel=1e-5)


def test_apache_closed_forms_per_phase():
    sim = rewardlab.make_sim("rewardlab/CoopApacheProject-v0")
    p = sim.params
    for phase, members in enumerate(p.active_phases):
        game = sim.stage_game(phase)
        nash = oracles.nash_equilibrium(game, "private")
        closed = oracles.team_nash_effort(p.omega, p.beta, p.cost, members, 50.0)
        assert nash.actions[game.active].sum() == pytest.approx(members * closed, rel=1e-4, abs=1e-6)
        assert np.all(nash.actions[~game.active] == 0.0)
        optimum = oracles.social_optimum(game)
        effort = oracles.team_optimum_effort(p.omega, p.beta, p.cost, members, 50.0)
        assert optimum.actions[game.active] == pytest.approx(effort)


def test_public_goods_closed_forms():
    sim, game = _game("rewardlab/CoopPublicGoods-v0")
    nash = oracles.nash_equilibrium(game, "private")
    optimum = oracles.social_optimum(game)
    assert nash.actions == pytest.approx(np.full(5, oracles.public_goods_nash_contribution(2.0, 5, 50.0)))
    assert optimum.actions == pytest.approx(np.full(5, oracles.public_goods_optimum_contribution(2.0, 5, 50.0)))
    assert optimum.welfare == pytest.approx(5 * 50 * 2.0)


@pytest.mark.parametrize("firms", [2, 3, 5])
def test_cournot_nash_and_collusion(firms):
    sim, game = _game("rewardlab/CoopCournot-v0", num_agents=firms)
    assert sim.agents == tuple(f"firm_{i}" for i in range(firms))
    nash = oracles.nash_equilibrium(game, "private")
    q_star = oracles.cournot_nash_quantity(100.0, 1.0, 10.0, firms)
    assert q_star == pytest.approx(90.0 / (firms + 1))
    assert sim.params.nash_quantity == pytest.approx(q_star)
    assert nash.actions == pytest.approx(np.full(firms, q_star), abs=1e-5)
    collusive = oracles.cournot_collusive_quantity(100.0, 1.0, 10.0, firms)
    assert sim.params.collusive_quantity == pytest.approx(collusive)
    optimum = oracles.social_optimum(game)
    assert optimum.actions.sum() == pytest.approx(firms * collusive, rel=1e-6)
    assert optimum.welfare == pytest.approx(45.0 * 45.0)  # monopoly profit ((a - c) / 2)^2 / b
    # the even collusive split is an equilibrium of the cooperative (joint-profit) reward
    coop = oracles.mode_utility(game, "cooperative")
    gains = oracles.unilateral_deviation_gain(game, coop, np.full(firms, collusive))
    assert gains.max() <= 1e-6


def test_welfare_pct_optimum_is_100_for_the_optimum_and_less_for_nash():
    env_id = "rewardlab/CoopSLCD-v0"
    sim, game = _game(env_id)
    optimum = oracles.social_optimum(game)
    nash = oracles.nash_equilibrium(game, "private")
    best = oracles.evaluate(env_id, oracles.ProfilePolicy(optimum.actions), episodes=2)
    selfish = oracles.evaluate(env_id, oracles.ProfilePolicy(nash.actions), episodes=2)
    assert best["welfare_pct_optimum"] == pytest.approx(100.0, abs=1e-6)
    assert best["welfare"] == pytest.approx(100 * optimum.welfare)
    assert selfish["welfare_pct_optimum"] < 100.0
    assert best["cooperation_level"] == pytest.approx(optimum.actions.mean() / 100.0)


def test_welfare_pct_optimum_follows_the_phases():
    env_id = "rewardlab/CoopApacheProject-v0"
    sim = rewardlab.make_sim(env_id, **sharp_calibration(env_id))
    per_phase = [oracles.social_optimum(sim.stage_game(k)) for k in range(4)]

    class PhaseOptimum:
        def __call__(self, obs, sim):
            phase = sim.phase[0]
            return np.broadcast_to(per_phase[phase].actions[None, :, None], (sim.num_envs, 40, 1)).copy()

    result = oracles.evaluate(env_id, PhaseOptimum(), episodes=1, **sharp_calibration(env_id))
    assert result["welfare"] == pytest.approx(15 * sum(s.welfare for s in per_phase))
    assert result["welfare_pct_optimum"] == pytest.approx(100.0)


def test_heuristics():
    env_id = "rewardlab/CoopTrustDilemma-v0"
    tft = oracles.evaluate(env_id, oracles.TitForTat(start=1.0), episodes=2)
    assert tft["cooperation_level"] == pytest.approx(1.0)
    zero = oracles.evaluate(env_id, oracles.ConstantPolicy(0.0), episodes=2)
    assert zero["cooperation_level"] == 0.0 and zero["final_mean_trust"] < 0.01
    half = oracles.evaluate(env_id, oracles.ConstantPolicy(0.5), episodes=2)
    assert half["cooperation_level"] == pytest.approx(0.5) and half["final_mean_trust"] > 0.9
    rand = oracles.evaluate(env_id, oracles.RandomPolicy(seed=0), episodes=4)
    assert 0.4 < rand["cooperation_level"] < 0.6
    # tit-for-tat answers the other's last action
    sim = rewardlab.make_sim(env_id)
    obs = sim.reset(seed=0)
    obs = sim.step(np.array([[[20.0], [70.0]]])).obs
    np.testing.assert_allclose(oracles.TitForTat()(obs, sim)[0, :, 0], [70.0, 20.0], rtol=1e-6)
    with pytest.raises(RewardlabError, match="fraction"):
        oracles.ConstantPolicy(1.5)


def test_score_vs_oracle_and_errors():
    score = oracles.score_vs_oracle(80.0, 100.0)
    assert score == {"pct": 80.0, "gap_pct": -20.0}
    assert oracles.score_vs_oracle(-50.0, -100.0)["gap_pct"] == pytest.approx(50.0)
    with pytest.raises(RewardlabError):
        oracles.score_vs_oracle(1.0, 0.0)
    _, game = _game("rewardlab/CoopSLCD-v0")
    with pytest.raises(RewardlabError, match="unknown reward mode 'selfish'"):
        oracles.mode_utility(game, "selfish")
    _, team = _game("rewardlab/CoopTeamProduction-v0")
    with pytest.raises(RewardlabError, match="trust"):
        oracles.mode_utility(team, "trust_integrated")


DETERMINISTIC_FIRST_STEP = [i for i in COOP_IDS if not i.endswith(("SynergySearch-v0", "IndirectReciprocity-v0"))]


@pytest.mark.parametrize("env_id", DETERMINISTIC_FIRST_STEP)
def test_oracle_utilities_equal_the_environment_rewards_on_the_first_step(env_id):
    """The oracles solve the game the agents are rewarded by: every preset's one-shot utility
    equals the environment's reward for the same joint action at the first step."""
    cls = rewardlab.get_spec(env_id).load()
    rng = np.random.default_rng(1)
    for preset in cls.reward_presets:
        sim = rewardlab.make_sim(env_id, num_envs=6, reward=preset)
        sim.reset(seed=0)
        a = rng.uniform(0.0, 1.0, (6, sim.num_agents)) * sim.bounds
        a[0] = sim.bounds * 0.5
        reward = sim.step(a[:, :, None]).reward
        utility = oracles.mode_utility(sim.stage_game(0), preset, cls.reward_presets)(a)
        np.testing.assert_allclose(reward, utility, rtol=1e-10, atol=1e-10, err_msg=f"{env_id} {preset}")


@pytest.mark.parametrize("env_id", DETERMINISTIC_FIRST_STEP)
def test_nash_survives_deviations_paid_by_the_environment(env_id):
    """The Nash of every preset on the first round's game, checked against the rewards the
    environment itself pays (not the oracle's utility): every active agent's deviations to a
    401-point grid over its bound and a 41-point grid within 1 % of its Nash action, one
    instance per deviation, gain no more than 1e-3 of the payoff scale."""
    cls = rewardlab.get_spec(env_id).load()
    game = rewardlab.make_sim(env_id).stage_game(0)
    players = np.flatnonzero(np.ones(game.num_agents, bool) if game.active is None else game.active)
    for preset in cls.reward_presets:
        nash = oracles.nash_equilibrium(game, preset, presets=cls.reward_presets)
        rows, owners = [nash.actions], [-1]
        for i in players:
            bound = game.bounds[i]
            xs = np.concatenate([np.linspace(0.0, bound, 401),
                                 np.clip(nash.actions[i] + np.linspace(-0.01, 0.01, 41) * bound, 0.0, bound)])
            deviations = np.repeat(nash.actions[None], len(xs), axis=0)
            deviations[:, i] = xs
            rows.append(deviations)
            owners += [i] * len(xs)
        profiles = np.vstack(rows)
        owners = np.asarray(owners)
        sim = rewardlab.make_sim(env_id, num_envs=len(profiles), reward=preset)
        sim.reset(seed=0)
        reward = sim.step(profiles[:, :, None]).reward
        np.testing.assert_allclose(reward[0], nash.utilities, rtol=1e-9, atol=1e-9)
        scale = max(1.0, float(np.abs(reward[0]).max()))
        for i in players:
            gain = reward[owners == i, i].max() - reward[0, i]
            assert gain <= 1e-3 * scale, (env_id, preset, i, gain)


def _slope(f, a: np.ndarray, agent: int, h: float = 1e-5) -> float:
    """Central finite difference of f (a joint action -> scalar) in agent's action."""
    up, down = a.copy(), a.copy()
    up[agent] += h
    down[agent] -= h
    return (f(up) - f(down)) / (2 * h)


def test_closed_forms_satisfy_the_first_order_conditions_of_the_environment_payoff():
    """A second derivation of the TR-3 and Cournot closed forms: at each closed-form point, the
    finite-difference slope of the stage game's own payoff (the step's formulas) is zero, and
    the hand-computed numbers of docs/coopetition.md come out."""
    _, team = _game("rewardlab/CoopTeamProduction-v0")
    a_nash = oracles.team_nash_effort(25.0, 0.7, 1.0, 4, 50.0)
    assert 4 * a_nash == pytest.approx(136.96, abs=0.01)  # 4.375 ** (10 / 3)
    assert _slope(lambda a: team.payoff(a[None])[0, 0], np.full(4, a_nash), 0) == pytest.approx(0.0, abs=1e-6)
    # loyalty: the loyal preset's utility is flat in the own effort at the closed form
    sim, loyal_game = _game("rewardlab/CoopLoyaltyTeam-v0", omega=6.0)
    p = sim.params
    loyal = oracles.mode_utility(loyal_game, "loyal", type(sim).reward_presets)
    a_loyal = oracles.team_nash_effort(6.0, p.beta, p.cost, 4, 50.0, p.loyalty0, p.phi_b, p.phi_c)
    assert _slope(lambda a: loyal(a[None])[0, 0], np.full(4, a_loyal), 0) == pytest.approx(0.0, abs=1e-6)
    # social optimum (uncapped with omega = 3): welfare flat in each member's effort
    _, small = _game("rewardlab/CoopTeamProduction-v0", omega=3.0)
    a_opt = oracles.team_optimum_effort(3.0, 0.7, 1.0, 4, 50.0)
    assert 4 * a_opt == pytest.approx(2.1 ** (10 / 3), rel=1e-12)
    welfare = lambda a: small.payoff(a[None])[0].sum()  # noqa: E731
    assert _slope(welfare, np.full(4, a_opt), 0) == pytest.approx(0.0, abs=1e-6)
    # Cournot, 3 firms, P = 100 - Q, c = 10: q* = 22.5 and the collusive 15 each
    _, cournot = _game("rewardlab/CoopCournot-v0")
    q_star = oracles.cournot_nash_quantity(100.0, 1.0, 10.0, 3)
    q_coll = oracles.cournot_collusive_quantity(100.0, 1.0, 10.0, 3)
    assert (q_star, q_coll) == (22.5, 15.0)
    assert _slope(lambda q: cournot.payoff(q[None])[0, 0], np.full(3, q_star), 0) == pytest.approx(0.0, abs=1e-6)
    joint = lambda q: cournot.payoff(q[None])[0].sum()  # noqa: E731
    assert _slope(joint, np.full(3, q_coll), 0) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("calibration, gamma, d, optimum", [
    ("reference", 0.70, 0.60, 20.0 / 0.65 - 1.0),  # Coopetition-Gym v1's TrustDilemma: 29.77
    ("sharp", 1.5, 0.5, 79.0),
])
def test_tr1_symmetric_equilibria_by_hand(calibration, gamma, d, optimum):
    """TR-1 with two agents, alpha = 1/2 and D = d (TrustDilemma): the first-order conditions
    theta / (1 + a) = 1 - w gamma / 2, with w = alpha (private), alpha + d (1 - alpha)
    (integrated) and 1 (cooperative, the optimum's), give a = theta / (1 - w gamma / 2) - 1."""
    env_id = "rewardlab/CoopTrustDilemma-v0"
    sim, game = _game(env_id, **(sharp_calibration(env_id) if calibration == "sharp" else {}))
    theta = 20.0
    for mode, w in (("private", 0.5), ("integrated", 0.5 + d * 0.5), ("cooperative", 1.0)):
        expected = theta / (1.0 - w * gamma / 2.0) - 1.0
        nash = oracles.nash_equilibrium(game, mode, presets=type(sim).reward_presets)
        assert nash.actions == pytest.approx([expected, expected], abs=1e-5), mode
    assert oracles.social_optimum(game).actions == pytest.approx([optimum, optimum], abs=1e-5)
    # when the own synergy share alone repays the investment (alpha gamma / 2 >= 1) selfish play
    # invests everything: a larger gamma removes the dilemma instead of sharpening it
    _, rich = _game("rewardlab/CoopTrustDilemma-v0", gamma=4.0)
    assert oracles.nash_equilibrium(rich, "private").actions == pytest.approx([100.0, 100.0])


def test_value_added_pct_optimum_measures_welfare_above_nobody_investing():
    for env_id in ("rewardlab/CoopPublicGoods-v0", "rewardlab/CoopTrustDilemma-v0"):
        sim, game = _game(env_id)
        nash = oracles.nash_equilibrium(game, "private")
        optimum = oracles.social_optimum(game)
        idle = float(game.payoff(np.zeros((1, game.num_agents)))[0].sum())
        assert sim.idle_welfare_per_phase() == pytest.approx([idle])
        result = oracles.evaluate(env_id, oracles.ProfilePolicy(nash.actions), episodes=2)
        expected = 100 * (nash.welfare - idle) / (optimum.welfare - idle)
        assert result["value_added_pct_optimum"] == pytest.approx(expected, rel=1e-6)
        assert result["value_added_pct_optimum"] < result["welfare_pct_optimum"]
        best = oracles.evaluate(env_id, oracles.ProfilePolicy(optimum.actions), episodes=2)
        assert best["value_added_pct_optimum"] == pytest.approx(100.0)
        zero = oracles.evaluate(env_id, oracles.ConstantPolicy(0.0), episodes=2)
        assert zero["value_added_pct_optimum"] == pytest.approx(0.0, abs=1e-9)
    # the linear public good: contributing nothing is the private Nash, 50 % of the welfare
    # (the endowments kept) but none of the value the group could add
    sim, game = _game("rewardlab/CoopPublicGoods-v0")
    assert game.payoff(np.zeros((1, 5)))[0].sum() == pytest.approx(250.0)
