"""CommonsPunishment-v0: payoff, punishment and reputation bookkeeping against a loop reference."""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab
from rewardlab.baselines.commons import punishment_policy
from rewardlab.core.errors import RewardlabError

ENV_ID = "rewardlab/CommonsPunishment-v0"
PD = {(0, 0): 3.0, (0, 1): 0.0, (1, 0): 4.0, (1, 1): 1.0}  # (my move, other move) -> my payoff


class Reference:
    """The rules of the module docstring, written again with plain loops over agents and games."""

    def __init__(self, n, institution, rounds, unjust=-10.0):
        self.n, self.institution, self.rounds = n, institution, rounds
        self.unjust = unjust
        self.rep = [0.0] * n
        self.partner = [None] * n
        self.moves = None
        self.allowed = set()
        self.coop = self.moves_count = self.opp = self.punish = self.just = 0

    def other(self, i, k):
        return (i + 1 + k) % self.n

    def play(self, actions, game_start, bystanders):
        n = self.n
        if game_start:
            self.partner = [self.other(i, int(actions[i][1])) for i in range(n)]
        moves = [int(actions[i][0]) for i in range(n)]
        pay = [0.0] * n
        for i in range(n):
            j = self.partner[i]
            pay[i] += PD[(moves[i], moves[j])]
            pay[j] += PD[(moves[j], moves[i])]
        rep_change = [1.0 if m == 0 else -1.0 for m in moves]
        self.allowed = set()
        for i in range(n):
            j = self.partner[i]
            if self.institution in ("direct", "both"):
                self.allowed |= {(i, j), (j, i)}
            if self.institution in ("third_party", "both"):
                b = bystanders[i]
                assert b not in (i, j)
                self.allowed |= {(b, i), (b, j)}
        self.moves = moves
        self.coop += moves.count(0)
        self.moves_count += n
        for i in range(n):
            self.rep[i] += rep_change[i]
        return pay, [0.0] * n, [0.0] * n

    def punish_step(self, actions):
        n = self.n
        fine, payoff = [0.0] * n, [0.0] * n
        for i in range(n):
            for k in range(n - 1):
                j = self.other(i, k)
                if (i, j) not in self.allowed:
                    continue
                self.opp += 1
                if actions[i][2 + k] == 1:
                    self.punish += 1
                    fine[j] -= 3.0
                    if self.moves[j] == 1:
                        self.just += 1
                        payoff[i] += 2.0
                        self.rep[i] += 2.0
                    else:
                        payoff[i] += self.unjust
                        self.rep[i] -= 3.0
        return [0.0] * n, fine, payoff


@pytest.mark.parametrize("institution", ["none", "direct", "third_party", "both"])
def test_bookkeeping_matches_loop_reference(institution):
    n, rounds, games = 5, 3, 2
    sim = rewardlab.make_sim(
        ENV_ID, num_envs=1, institution=institution, rounds_per_game=rounds, games_per_episode=games
    )
    sim.reset(seed=3)
    ref = Reference(n, institution, rounds)
    rng = np.random.default_rng(1)
    returns = np.zeros(n)
    per_round = 1 if institution == "none" else 2
    for t in range(games * rounds * per_round):
        actions = rng.integers(0, [2, n - 1] + [2] * (n - 1), size=(n, n + 1))
        actions[:, 0] = rng.random(n) < 0.4  # defect 40 % of the time
        step = sim.step(actions[None])
        if t % per_round == 0:
            game_start = t % (rounds * per_round) == 0
            pay, fine, payoff = ref.play(actions.tolist(), game_start, step.info["bystander"][0].tolist())
            assert step.info["partner"][0].tolist() == ref.partner
        else:
            pay, fine, payoff = ref.punish_step(actions.tolist())
        np.testing.assert_allclose(step.terms["pd_payoff"][0], pay)
        np.testing.assert_allclose(step.terms["fine"][0], fine)
        np.testing.assert_allclose(step.terms["punish_payoff"][0], payoff)
        np.testing.assert_allclose(step.info["reputation"][0], ref.rep)
        returns += step.reward[0]
    assert step.truncated[0]
    m = {k: v[0] for k, v in step.episode_metrics.items()}
    assert m["cooperation_pct"] == pytest.approx(100 * ref.coop / ref.moves_count)
    assert m["punishment_pct"] == pytest.approx(100 * ref.punish / ref.opp if ref.opp else 0.0)
    assert m["just_punishment_pct"] == pytest.approx(100 * ref.just / ref.punish if ref.punish else 0.0)
    assert m["mean_reputation"] == pytest.approx(np.mean(ref.rep))
    assert m["reward"] == pytest.approx(returns.mean())
    if institution != "none":
        assert ref.punish > 0 and ref.opp > ref.punish


@pytest.mark.parametrize(
    "payoff_kwargs, just, unjust",
    [({}, 2.0, -10.0), ({"punish_just_payoff": -3.0}, -3.0, -10.0)],
    ids=["standard", "costly"],
)
def test_hand_built_round(payoff_kwargs, just, unjust):
    """One round written out by hand: who plays whom, who may punish whom, what it costs.

    The costly variant of Dasgupta & Musolesi's code makes a just punishment cost the punisher 3
    (instead of paying 2); an unjust one costs 10 in both.
    """
    sim = rewardlab.make_sim(
        ENV_ID, num_envs=1, institution="direct", rounds_per_game=1, games_per_episode=1, **payoff_kwargs
    )
    sim.reset(seed=0)
    play = np.zeros((1, 5, 6), dtype=np.int64)
    play[0, :, 0] = [0, 1, 0, 0, 0]  # agent 1 defects
    play[0, :, 1] = [0, 3, 0, 0, 0]  # 0->1, 1->0, 2->3, 3->4, 4->0
    step = sim.step(play)
    # games: (0,1) 0 gets S=0, 1 gets T=4; (1,0) again: 1 gets 4, 0 gets 0; (2,3),(3,4),(4,0): R=3
    np.testing.assert_allclose(step.terms["pd_payoff"][0], [0 + 0 + 3, 4 + 4, 3, 3 + 3, 3 + 3])
    np.testing.assert_allclose(step.info["reputation"][0], [1, -1, 1, 1, 1])
    # may-punish mask of agent 0 (relative: 1, 2, 3, 4): partners 1 and 4
    np.testing.assert_array_equal(step.obs[0, 0, 3 * 5 + 3 : 4 * 5 + 2], [1, 0, 0, 1])
    punish = np.zeros((1, 5, 6), dtype=np.int64)
    punish[0, 0, 2] = 1  # 0 punishes 1 (a defector, allowed): just
    punish[0, 4, 2 + 0] = 1  # 4 punishes 0 (a cooperator, allowed): unjust
    punish[0, 2, 2 + 3] = 1  # 2 punishes 1: not allowed (2 never met 1), ignored
    step = sim.step(punish)
    np.testing.assert_allclose(step.terms["fine"][0], [-3, -3, 0, 0, 0])
    np.testing.assert_allclose(step.terms["punish_payoff"][0], [just, 0, 0, 0, unjust])
    np.testing.assert_allclose(step.info["reputation"][0], [3, -1, 1, 1, -2])
    m = {k: v[0] for k, v in step.episode_metrics.items()}
    assert m["punishment_pct"] == pytest.approx(100 * 2 / 8)  # 4 games -> 8 ordered pairs, all distinct
    assert m["just_punishment_pct"] == pytest.approx(50.0)
    assert m["cooperation_pct"] == pytest.approx(80.0)


def test_bystander_uniform_over_eligible_agents():
    n, num_envs, rounds = 5, 400, 10
    sim = rewardlab.make_sim(
        ENV_ID, num_envs=num_envs, institution="third_party", rounds_per_game=rounds, games_per_episode=1
    )
    sim.reset(seed=0)
    rng = np.random.default_rng(0)
    counts = np.zeros((n, n))
    for t in range(2 * rounds):
        actions = rng.integers(0, [2, n - 1] + [2] * (n - 1), size=(num_envs, n, n + 1))
        step = sim.step(actions)
        if t % 2 == 0:
            by, partner = step.info["bystander"], step.info["partner"]
            assert not (by == np.arange(n)).any() and not (by == partner).any()
            # relative position of the bystander among the eligible, per focal agent 0
            for i in range(n):
                np.add.at(counts[i], by[:, i], 1)
    # focal 0 with random partners: each eligible agent's share ~ 1/(n-2) given the partner;
    # the bystander must never be agent i itself, and overall draws look uniform over others
    for i in range(n):
        assert counts[i, i] == 0
        shares = counts[i] / counts[i].sum()
        others = np.delete(shares, i)
        assert np.all(np.abs(others - 0.25) < 0.05)


def test_random_partners_without_selection_and_seeds_differ():
    sims = [
        rewardlab.make_sim(ENV_ID, num_envs=64, partner_selection=False, institution="none") for _ in range(2)
    ]
    actions = np.zeros((64, 5, 6), dtype=np.int64)
    partners = []
    for seed, sim in zip((1, 2), sims, strict=True):
        sim.reset(seed=seed)
        step = sim.step(actions)
        partners.append(step.info["partner"])
        assert not (step.info["partner"] == np.arange(5)).any()
    assert not np.array_equal(partners[0], partners[1])


def _heuristic_returns(institution, partner_selection):
    kinds = ["cooperator", "cooperator", "reciprocator", "reciprocator", "defector"]
    sim = rewardlab.make_sim(ENV_ID, num_envs=16, institution=institution, partner_selection=partner_selection)
    obs = sim.reset(seed=0)
    total = np.zeros((16, 5))
    for _ in range(sim.params.horizon):
        step = sim.step(punishment_policy(obs, kinds))
        obs = step.obs
        total += step.reward
    return total.mean(axis=0), step.episode_metrics


def test_heuristics_defectors_lose_under_punishment_and_partner_selection():
    free, _ = _heuristic_returns("none", partner_selection=False)
    assert free[4] > free[:4].max()  # with random partners and no sanction, defection pays best
    for institution in ("direct", "third_party", "both"):
        punished, metrics = _heuristic_returns(institution, partner_selection=False)
        np.testing.assert_allclose(metrics["just_punishment_pct"], 100.0)
        assert np.all(metrics["punishment_pct"] > 0)
        assert punished[4] < punished[:4].min()  # punishment makes it the worst-paid strategy
    shunned, metrics = _heuristic_returns("none", partner_selection=True)
    np.testing.assert_allclose(metrics["top_partner_pct"], 100.0)
    assert shunned[4] < free[4]  # choosing partners by reputation starves the defector of games


def test_bad_parameters_name_the_env():
    with pytest.raises(RewardlabError, match="CommonsPunishment-v0.*institution"):
        rewardlab.make_sim(ENV_ID, institution="mob")
    with pytest.raises(RewardlabError, match="CommonsPunishment-v0.*num_agents"):
        rewardlab.make_sim(ENV_ID, num_agents=2)
