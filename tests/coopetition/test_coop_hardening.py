"""Bad input to the coopetition games ends in a clear RewardlabError; batches equal single envs.

* every parameter of every coopetition id rejects a representative bad value of each kind (NaN,
  inf, wrong type, out of range, reversed pair, wrong length, absurd size), and the message names
  the environment, the argument and what was given;
* a batched simulator stepped past its horizon without a reset raises, and changes nothing;
* ``gym.make_vec`` with B = 8 equals 8 single environments bit for bit over 100 random steps.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import gymnasium as gym
import numpy as np
import pytest

import rewardlab
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.coopetition.payoff import agent_sum, geometric_synergy

COOP_IDS = [s.id for s in rewardlab.all_specs() if s.id.startswith("rewardlab/Coop")]
NAN, INF = float("nan"), float("inf")


def _matrix(n: int, off: float, diagonal: float = 0.0) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(diagonal if i == j else off for j in range(n)) for i in range(n))


#: field -> bad values, each a value or a function of n (the id's number of agents). Every field
#: of every coopetition parameter class must be listed (checked below), so a new parameter
#: cannot go in without its validation being tested.
BAD_VALUES = {
    # CoopParams
    "num_agents": [1, 2.0, "3", True, 10**7, 101],
    "horizon": [0, 1e12, 10**12, NAN, "100", True],
    "bounds": [NAN, (INF,), (-1.0,), (0.0,), (1e-9,), "100", (1e10,), lambda n: (50.0,) * (n + 1), None],
    "agent_names": ["ab", lambda n: ("same",) * n, lambda n: tuple(f"a{i}" for i in range(n + 1)), 3],
    "observe_others": ["no", 1, None],
    "interdependence": [
        "strong", lambda n: _matrix(n, NAN), lambda n: _matrix(n, 2.0), lambda n: _matrix(n, 0.5, diagonal=0.5),
        lambda n: _matrix(n + 1, 0.5), ((0.0, 1.0),),
    ],
    "interdependence_phases": ["x", lambda n: (_matrix(n, 0.2),) * 2, lambda n: (_matrix(n, INF),)],
    "phase_starts": [(0, 2.5), (1,), (0, 10**12), "0", (), (0, 5, 5), (0, True)],
    "movers_in_turn": ["yes", 0],
    # InterdependenceParams (TR-1)
    "theta": [NAN, -1.0, INF, "20", None, 1e12],
    "value_kind": ["exp", 1],
    "value_beta": [NAN, 1.5, -0.1, "0.5"],
    "gamma": [NAN, -0.5, "high", INF, True],
    "gamma_range": [(NAN, 1.0), (0.9, 0.2), (0.5, 0.5), (1.0,), "ab", (-1.0, 1.0), (0.2, INF)],
    "alpha": [
        lambda n: (NAN,) + (1.0 / n,) * (n - 1), (0.9, 0.9), lambda n: (1.0 / (n + 1),) * (n + 1),
        lambda n: (2.0,) + (-1.0 / (n - 1),) * (n - 1), "equal", 0.5,
    ],
    "alpha_phases": ["x", lambda n: ((1.0 / n,) * n,) * 2, lambda n: ((NAN,) * n,), lambda n: ((0.9,) * n,)],
    "matching": ["speed-dating", None],
    "pair_interdependence": [NAN, 2.0, "0.4", -1.5],
    "interdependence_by_pair": ["no", None],
    # TrustParams (TR-2)
    "kappa": [NAN, 0.0, -1.0, INF, "3"],
    "signal_units": ["furlongs", None],
    "lambda_pos": [NAN, 1.5, None, -0.1],
    "lambda_neg": [NAN, 2.0, "0.3"],
    "mu_r": [INF, -0.5],
    "delta_r": [NAN, 1.01],
    "xi": [NAN, -0.5, INF, "0.5"],
    "trust0": [NAN, 1.5, -0.1],
    "reputation0": [NAN, 1.5, "0"],
    "trust_baseline": ["median", NAN, 1.5, -0.1, None, True],
    "success_trust": [NAN, 2.0],
    "share_adjust": [NAN, -0.1, 1.1],
    "reputation_shares": ["yes", 1],
    # TeamParams (TR-3)
    "omega": [NAN, 0.0, -1.0, INF, "25"],
    "beta": [NAN, 1.0, -0.1],
    "cost": [NAN, 0.0, INF],
    "endowment": [NAN, -1.0, INF, "50"],
    "production": ["cubic", None],
    "multiplier": [NAN, 0.0, -2.0],
    "loyalty0": [NAN, 1.5],
    "loyalty_rate": [NAN, -0.1, 2.0],
    "phi_b": [NAN, 1.5],
    "phi_c": [INF, -0.3],
    "active_phases": [(0,), lambda n: (n + 1,), (2.5,), (1, 1), "8", (True,)],
    "coalition_threshold": [NAN, 1.5],
    "solo_productivity": [NAN, -0.35],
    # ReciprocityParams (TR-4)
    "window": [0, 2.5, 10**9, "5", True],
    "kappa_r": [NAN, 0.0, -1.0, "1"],
    "lambda_r": [NAN, -1.0, INF],
    "rho0": [NAN, -1.0],
    "eta": [NAN, 0.0, INF, "1"],
    "omega_r": [NAN, -0.6],
    "sanction_norm": [NAN, 1.5, -0.25],
    "sanction_fine": [NAN, -5.0, INF],
    "sanction_max_level": [0, 2.5, 10**12, "4"],
    "sanction_forgive": [NAN, -0.5],
    # CournotParams
    "demand_intercept": [NAN, 0.0, -100.0, INF],
    "demand_slope": [NAN, 0.0, "1"],
    "unit_cost": [NAN, -10.0, 100.0, 1e12],
}


def _params_class(env_id):
    return type(rewardlab.make_sim(env_id)).Params


@pytest.mark.parametrize("env_id", COOP_IDS)
def test_every_parameter_rejects_bad_values_naming_env_argument_and_value(env_id):
    sim = rewardlab.make_sim(env_id)
    n = sim.num_agents
    fields = [f.name for f in dataclasses.fields(type(sim).Params) if f.init]
    assert set(fields) <= set(BAD_VALUES), f"no bad values listed for {set(fields) - set(BAD_VALUES)}"
    tried = 0
    for name in fields:
        for bad in BAD_VALUES[name]:
            value = bad(n) if callable(bad) else bad
            with pytest.raises(RewardlabError) as err:
                rewardlab.make_sim(env_id, **{name: value})
            message = str(err.value)
            assert message.startswith(f"{env_id}: "), message
            # the argument named (num_agents is named when it makes another field's size wrong)
            assert (name in message or "num_agents" in message) and " must " in message, (name, value, message)
            tried += 1
    assert tried >= 3 * len(fields)


@pytest.mark.parametrize(
    "env_id, kwargs, expected",
    [
        # the case: NaN in a share used to surface as a TypeError at the first step
        ("rewardlab/CoopTrustDilemma-v0", {"alpha": (NAN, 1)},
         "rewardlab/CoopTrustDilemma-v0: alpha must be 2 non-negative finite shares summing to 1, "
         "got (nan, 1) (tuple)"),
        ("rewardlab/CoopTrustDilemma-v0", {"num_agents": 10**7},
         "rewardlab/CoopTrustDilemma-v0: num_agents must be an integer >= 2 and <= 100, got 10000000 (int)"),
        ("rewardlab/CoopCournot-v0", {"num_agents": 10**7},
         "rewardlab/CoopCournot-v0: num_agents must be an integer >= 2 and <= 100, got 10000000 (int)"),
        ("rewardlab/CoopPublicGoods-v0", {"horizon": 1e12},
         "rewardlab/CoopPublicGoods-v0: horizon must be an integer >= 1 and <= 1000000, got 1000000000000.0 (float)"),
        ("rewardlab/CoopSynergySearch-v0", {"gamma_range": (0.9, 0.2)},
         "rewardlab/CoopSynergySearch-v0: gamma_range must be a pair (low, high) of finite numbers with low < high, "
         "each >= 0.0 and <= 1000000000.0, got (0.9, 0.2) (tuple)"),
        ("rewardlab/CoopSLCD-v0", {"kappa": NAN},
         "rewardlab/CoopSLCD-v0: kappa must be a finite number > 0.0 and <= 1000000000.0, got nan (float)"),
        ("rewardlab/CoopSLCD-v0", {"trust_baseline": "median"},
         "rewardlab/CoopSLCD-v0: trust_baseline must be a fraction in [0, 1] or 'nash', got 'median' (str)"),
        ("rewardlab/CoopReciprocalDilemma-v0", {"window": 10**9},
         "rewardlab/CoopReciprocalDilemma-v0: window must be an integer >= 1 and <= 10000, got 1000000000 (int)"),
        ("rewardlab/CoopApacheProject-v0", {"active_phases": (41,)},
         "rewardlab/CoopApacheProject-v0: active_phases must be a sequence of integers >= 1 and <= 40, "
         "got (41,) (tuple)"),
        ("rewardlab/CoopTrustDilemma-v0", {"bounds": (100.0, NAN)},
         "rewardlab/CoopTrustDilemma-v0: bounds must be one number or 2 numbers (one per agent), each finite, "
         ">= 1e-06 and <= 1000000000.0, got (100.0, nan) (tuple)"),
        ("rewardlab/CoopLoyaltyTeam-v0", {"production": "cubic"},
         "rewardlab/CoopLoyaltyTeam-v0: production must be one of 'linear', 'power', got 'cubic' (str)"),
        ("rewardlab/CoopCournot-v0", {"unit_cost": 100.0},
         "rewardlab/CoopCournot-v0: unit_cost must be below demand_intercept (100.0), got 100.0 (float)"),
        ("rewardlab/CoopRecoveryRace-v0", {"trust0": 0.8},
         "rewardlab/CoopRecoveryRace-v0: trust0 (0.8) must not exceed 1 - reputation0 (0.5)"),
        ("rewardlab/CoopDynamicPartnerSelection-v0",
         {"num_agents": 5, "interdependence": _matrix(5, 0.4), "agent_names": ()},
         "rewardlab/CoopDynamicPartnerSelection-v0: matching='assortative' pairs agents: "
         "num_agents must be even, got 5"),
    ],
)
def test_bad_parameter_messages_say_what_was_given_and_what_is_valid(env_id, kwargs, expected):
    with pytest.raises(RewardlabError) as err:
        rewardlab.make_sim(env_id, **kwargs)
    assert str(err.value) == expected


def test_gym_make_reports_the_same_errors():
    with pytest.raises(RewardlabError, match=r"CoopTrustDilemma-v0: alpha must be 2 non-negative finite shares"):
        gym.make("rewardlab/CoopTrustDilemma-v0", alpha=(NAN, 1.0))
    with pytest.raises(RewardlabError, match=r"CoopTeamProduction-v0: horizon must be an integer"):
        gym.make_vec("rewardlab/CoopTeamProduction-v0", num_envs=2, horizon=10**12)


def test_valid_edge_values_are_accepted_and_stored_as_numbers():
    sim = rewardlab.make_sim("rewardlab/CoopTrustDilemma-v0", bounds=50, alpha=np.array([0.25, 0.75]),
                             phase_starts=np.array([0, 10]), horizon=np.int64(20), trust_baseline=0.0)
    assert sim.params.bounds == (50.0, 50.0)
    assert sim.params.alpha == (0.25, 0.75)
    assert sim.params.phase_starts == (0, 10)
    hash(sim.params)  # the oracle caches key on the parameters
    sim = rewardlab.make_sim("rewardlab/CoopSynergySearch-v0", gamma_range=[0.0, 2.0])
    assert sim.params.gamma_range == (0.0, 2.0)
    assert rewardlab.make_sim("rewardlab/CoopCournot-v0", num_agents=100).num_agents == 100


def test_synergy_of_many_agents_is_finite_and_matches_the_geometric_mean():
    # (prod a_i) ** (1/n) overflows past 100 ** 155 and underflows below 0.1 ** 324
    a = np.full((5, 100), 100.0)
    a[1] = 0.0001
    a[2] = np.linspace(1.0, 100.0, 100)
    a[3, 7] = 0.0
    a[4] = 1e9
    a[4, -1] = 0.0  # the running product is inf before the 0: inf * 0 would be NaN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = geometric_synergy(a)
    mean_log = sum(math.log(x) for x in a[2]) / 100
    assert g[0] == pytest.approx(100.0, rel=1e-12)
    assert g[1] == pytest.approx(0.0001, rel=1e-12)
    assert g[2] == pytest.approx(math.exp(mean_log), rel=1e-12)
    assert g[3] == 0.0
    assert g[4] == 0.0
    # a game with 100 agents at full investment: every reward finite
    n = 100
    sim = rewardlab.make_sim("rewardlab/CoopTrustDilemma-v0", num_agents=n, interdependence=_matrix(n, 0.5),
                             horizon=2)
    sim.reset(seed=0)
    step = sim.step(np.full((1, n, 1), 100.0))
    assert np.all(np.isfinite(step.reward))
    assert step.terms["synergy_share"][0, 0] == pytest.approx(0.7 * 100.0 / n, rel=1e-12)


# ------------------------------------------------------------------ past the end of an episode
@pytest.mark.parametrize("env_id", COOP_IDS)
def test_stepping_past_the_horizon_without_reset_is_an_error_that_changes_nothing(env_id):
    horizon = 3
    sim = rewardlab.make_sim(env_id, num_envs=3, horizon=horizon)
    sim.reset(seed=0)
    rng = np.random.default_rng(0)
    bounds = sim.bounds[None, :, None]
    for _ in range(horizon):
        step = sim.step(rng.uniform(0, 1, (3, sim.num_agents, 1)) * bounds)
    assert step.truncated.all() or step.terminated.any()
    t_before = sim.t.copy()
    obs_before = sim._observe()
    with pytest.raises(RewardlabError) as err:
        sim.step(rng.uniform(0, 1, (3, sim.num_agents, 1)) * bounds)
    assert str(err.value) == (
        f"{env_id}: step() past the end of the episode (horizon {horizon}) for instance(s) 0, 1, 2 of 3; "
        "reset them first (reset(mask=...)) or step with autoreset=True"
    )
    assert np.array_equal(sim.t, t_before)
    assert np.array_equal(sim._observe(), obs_before)
    # resetting some instances is not enough: the error names those still at the horizon
    sim.reset(mask=np.array([True, False, True]))
    with pytest.raises(RewardlabError, match=r"for instance\(s\) 1 of 3"):
        sim.step(np.zeros((3, sim.num_agents, 1)))
    sim.reset(mask=np.array([False, True, False]))
    assert sim.step(np.zeros((3, sim.num_agents, 1))).reward.shape == (3, sim.num_agents)


def test_autoreset_steps_on_past_the_horizon():
    sim = rewardlab.make_sim("rewardlab/CoopReputationMarket-v0", num_envs=2, horizon=2)
    sim.reset(seed=0)
    ends = [sim.step(np.full((2, 5, 1), 40.0), autoreset=True).truncated.all() for _ in range(7)]
    assert ends == [False, True, False, True, False, True, False]


def test_terminated_instances_may_step_on_until_the_horizon():
    # RecoveryRace ends an episode early on success; a batch evaluated until every instance
    # is done (baselines.coopetition.evaluate) steps the early finishers on, as before
    sim = rewardlab.make_sim("rewardlab/CoopRecoveryRace-v0", num_envs=2, horizon=70, success_trust=0.5)
    sim.reset(seed=0)
    actions = np.array([[[100.0], [100.0]], [[0.0], [0.0]]])  # instance 0 rebuilds trust, 1 does not
    ended_at = None
    for t in range(70):
        step = sim.step(actions)
        if step.terminated[0] and ended_at is None:
            ended_at = t
        assert not step.terminated[1]
    assert ended_at is not None and ended_at < 69
    assert step.truncated[1]
    with pytest.raises(RewardlabError, match=r"horizon 70\) for instance\(s\) 0, 1 of 2"):
        sim.step(actions)


# ------------------------------------------------------------------ batch = single environments
def test_agent_sum_adds_left_to_right_whatever_the_batch():
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 8):
        x = rng.uniform(-100.0, 100.0, (64, n)) * rng.uniform(0.0, 1.0, (64, 1)) ** 3
        expected = []
        for row in x.tolist():
            total = row[0]
            for value in row[1:]:
                total += value  # Python floats: IEEE double additions, left to right
            expected.append(total)
        assert agent_sum(x).tolist() == expected
        assert [agent_sum(x[i : i + 1])[0] for i in range(64)] == expected
    x = rng.uniform(0.0, 100.0, (64, 40))  # beyond 8 agents: still the same in any batch
    assert np.array_equal(agent_sum(x), [agent_sum(x[i : i + 1])[0] for i in range(64)])
    assert np.array_equal(agent_sum(x.reshape(8, 8, 40)).ravel(), agent_sum(x))


def _mismatches(t, obs, reward, term, trunc, info, vec_out, i):
    """What differs between a single env's step and instance i of the vector env's step."""
    vec_obs, vec_reward, vec_term, vec_trunc, vec_info = vec_out
    found = []
    if (term, trunc) != (vec_term[i], vec_trunc[i]):
        found.append((t, i, "done"))
    if term or trunc:
        if not np.array_equal(obs, vec_info["final_obs"][i]):
            found.append((t, i, "final_obs"))
        found += [(t, i, f"metric {key}") for key, value in info["episode_metrics"].items()
                  if not np.array_equal(value, vec_info["episode_metrics"][key][i], equal_nan=True)]
    if reward != vec_reward[i] or not np.array_equal(info["agent_rewards"], vec_info["agent_rewards"][i]):
        found.append((t, i, "reward"))
    found += [(t, i, f"term {key}") for key, value in vec_info["reward_terms"].items()
              if not np.array_equal(info["reward_terms"][key], value[i])]
    found += [(t, i, key) for key in ("trust", "reputation", "alpha", "loyalty", "active", "kindness", "price")
              if key in vec_info and not np.array_equal(info[key], vec_info[key][i])]
    return found


def _compare_vector_with_singles(env_id, reward, steps, num_envs=8):
    vec = gym.make_vec(env_id, num_envs=num_envs, reward=reward)
    singles = [gym.make(env_id, reward=reward) for _ in range(num_envs)]
    vec_obs, _ = vec.reset(seed=11)
    for i, env in enumerate(singles):
        assert np.array_equal(env.reset(seed=11 + i)[0], vec_obs[i])
    rng = np.random.default_rng(5)
    space = vec.single_action_space
    mismatches = []
    for t in range(steps):
        actions = rng.uniform(space.low, space.high, (num_envs, *space.shape)).astype(space.dtype)
        if t % 13 == 0:
            actions[:, 0] = 0.0  # a zero investment: exact zeros in products and shares
        vec_out = vec.step(actions)
        for i, env in enumerate(singles):
            obs, reward_i, term, trunc, info = env.step(actions[i])
            mismatches += _mismatches(t, obs, reward_i, term, trunc, info, vec_out, i)
            if term or trunc:
                obs, _ = env.reset()
            if not np.array_equal(obs, vec_out[0][i]):
                mismatches.append((t, i, "obs"))
    vec.close()
    return mismatches


@pytest.mark.parametrize("env_id", COOP_IDS)
def test_make_vec_equals_single_envs_bit_for_bit(env_id):
    assert _compare_vector_with_singles(env_id, None, steps=100) == []


@pytest.mark.parametrize(
    "env_id, reward",
    [
        ("rewardlab/CoopReputationMarket-v0", "trust_integrated"),
        ("rewardlab/CoopGraduatedSanction-v0", "reciprocal"),
        ("rewardlab/CoopIndirectReciprocity-v0", "trust_integrated"),
        ("rewardlab/CoopApacheProject-v0", "loyal"),
        ("rewardlab/CoopCoalitionFormation-v0", "loyal"),
    ],
)
def test_make_vec_equals_single_envs_with_the_family_social_modes(env_id, reward):
    assert _compare_vector_with_singles(env_id, reward, steps=40) == []
