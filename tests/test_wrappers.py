"""Tests of rewardlab.wrappers on plain Gymnasium envs, PettingZoo's own envs and rewardlab envs.

Every closed form is checked against a computation that does not go through the wrapper: the
telescoping identity of potential-based shaping from the recorded observations, the penalties
from ``np.diff`` of the action sequence, reweighting and social modes against rewardlab's own
RewardSpec (a second implementation), and inequity aversion against an explicit double loop.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from pettingzoo.utils.wrappers import BaseParallelWrapper
from toy_sims import ToyGameSim, ToyGridSim

import rewardlab
from rewardlab.core.adapters import RewardlabEnv, RewardlabParallelEnv, RewardlabVectorEnv
from rewardlab.core.errors import RewardlabError
from rewardlab.wrappers import (
    ActionRatePenalty,
    InequityAversion,
    ParallelActionRatePenalty,
    ParallelPotentialShaping,
    ParallelTermReweighting,
    PotentialShaping,
    SocialReward,
    TermReweighting,
    VectorActionRatePenalty,
    VectorPotentialShaping,
    VectorTermReweighting,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # PettingZoo's old creation API, on import
    from pettingzoo.classic import rps_v2
    from pettingzoo.test import api_test, parallel_api_test
    from pettingzoo.utils.conversions import parallel_to_aec

# rps_v2 warns about PettingZoo's old creation API when it is first used
pytestmark = pytest.mark.filterwarnings("ignore:The old environment creation API:DeprecationWarning")

GAMMA = 0.9


def cartpole(steps: int = 500) -> gym.Env:
    return gym.make("CartPole-v1", max_episode_steps=steps)


def pendulum(steps: int = 200) -> gym.Env:
    return gym.make("Pendulum-v1", max_episode_steps=steps)


def toy_grid(**kwargs) -> RewardlabEnv:
    return RewardlabEnv(ToyGridSim(env_id="toy/Grid-v0", **kwargs))


def toy_game(**kwargs) -> RewardlabEnv:
    return RewardlabEnv(ToyGameSim(env_id="toy/Game-v0", **kwargs))


def toy_game_parallel(**kwargs) -> RewardlabParallelEnv:
    return RewardlabParallelEnv(ToyGameSim(env_id="toy/Game-v0", **kwargs))


def rps() -> rps_v2.parallel_env:
    return rps_v2.parallel_env(max_cycles=6)


def phi_vector(obs) -> float:
    """A potential with no special structure, for any flat observation."""
    x = np.asarray(obs, dtype=np.float64).ravel()
    return float(np.sin(3.0 * x).sum() + 0.3 * (x**2).sum() + 0.1 * x[0])


def rollout(env: gym.Env, seed: int, actions_seed: int, max_steps: int = 10_000):
    """One episode with seeded random actions: observations s_0..s_T, actions, rewards, infos, ends."""
    env.action_space.seed(actions_seed)
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards, infos = [obs], [], [], []
    for _ in range(max_steps):
        action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            return observations, actions, np.array(rewards), infos, terminated, truncated
    raise AssertionError("episode did not end")


# ----------------------------------------------------------------------------- potential shaping


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda: cartpole(500), "terminated"),  # random CartPole falls long before 500 steps
        (lambda: cartpole(6), "truncated"),
        (lambda: pendulum(40), "truncated"),
        (lambda: toy_grid(size=3, horizon=50), "terminated"),  # reaches the goal
        (lambda: toy_grid(size=20, horizon=4), "truncated"),
        (lambda: toy_game(horizon=5), "truncated"),
    ],
    ids=["CartPole-term", "CartPole-trunc", "Pendulum-trunc", "ToyGrid-term", "ToyGrid-trunc", "ToyGame-trunc"],
)
def test_potential_shaping_telescopes(make, expect):
    for seed in (0, 1, 2):
        base = rollout(make(), seed, seed + 10)
        shaped = rollout(PotentialShaping(make(), phi_vector, gamma=GAMMA), seed, seed + 10)
        observations, _, raw_rewards, _, terminated, truncated = base
        assert (terminated, truncated) == (expect == "terminated", expect == "truncated")
        assert all(np.array_equal(a, b) for a, b in zip(observations, shaped[0], strict=True))
        # F_t from the difference of the two rollouts, not from what the wrapper reports
        shaping = shaped[2] - raw_rewards
        reported = np.array([info["reward_terms"]["potential_shaping"] for info in shaped[3]])
        np.testing.assert_allclose(shaping, reported, atol=1e-9)
        T = len(shaping)
        discounted = float(np.sum(GAMMA ** np.arange(T) * shaping))
        phi_end = 0.0 if terminated else phi_vector(observations[-1])
        np.testing.assert_allclose(discounted, GAMMA**T * phi_end - phi_vector(observations[0]), atol=1e-9)
        # and step by step, the definition
        phis = [phi_vector(o) for o in observations]
        if terminated:
            phis[-1] = 0.0
        np.testing.assert_allclose(shaping, GAMMA * np.array(phis[1:]) - np.array(phis[:-1]), atol=1e-9)


def test_potential_shaping_passes_info_and_restarts_each_episode():
    seen = []

    def phi(obs, info):
        seen.append(dict(info))
        return float(obs[0])

    env = PotentialShaping(toy_grid(size=20, horizon=3), phi, gamma=1.0, use_info=True)
    for seed in (3, 4):
        obs0, _ = env.reset(seed=seed)
        total = 0.0
        for _ in range(3):
            obs, reward, terminated, truncated, info = env.step(2)
            total += info["reward_terms"]["potential_shaping"]
        assert truncated and not terminated
        np.testing.assert_allclose(total, obs[0] - obs0[0], atol=1e-12)  # gamma = 1: Phi(s_T) - Phi(s_0)
    assert any("reward_terms" in info for info in seen)  # the step's info reached the potential


@pytest.mark.parametrize("per_agent", [False, True])
@pytest.mark.parametrize("end", ["terminated", "truncated"])
def test_parallel_potential_shaping_telescopes_per_agent(per_agent, end):
    weights = {"agent_0": 1.0, "agent_1": -2.0, "agent_2": 0.5}
    if per_agent:
        potential = {a: (lambda obs, w=w: w * phi_vector(obs)) for a, w in weights.items()}
    else:
        potential = phi_vector

    def phi_of(agent, obs):
        return potential[agent](obs) if per_agent else phi_vector(obs)

    def run(env):
        obs, _ = env.reset(seed=5)
        history, rewards = [obs], []
        for t in range(20):
            # agent_1's action space is [0, 2]; an action above 1.5 ends a "bonus_only" episode
            big = end == "terminated" and t == 3
            actions = {a: np.array([0.3 + 0.1 * i + (1.4 if big and a == "agent_1" else 0.0)], np.float32)
                       for i, a in enumerate(env.possible_agents)}
            obs, rew, term, trunc, info = env.step(actions)
            history.append(obs)
            rewards.append((rew, info))
            if all(term.values()) or all(trunc.values()):
                return history, rewards, term, trunc
        raise AssertionError("episode did not end")

    make = lambda: toy_game_parallel(reward="bonus_only", horizon=6)  # noqa: E731
    base_obs, base_rewards, term, trunc = run(make())
    shaped_obs, shaped_rewards, _, _ = run(ParallelPotentialShaping(make(), potential, gamma=GAMMA))
    terminated = all(term.values())
    assert terminated == (end == "terminated") and all(trunc.values()) == (end == "truncated")
    T = len(base_rewards)
    for agent in weights:
        shaping = np.array([s[0][agent] - b[0][agent] for s, b in zip(shaped_rewards, base_rewards, strict=True)])
        reported = [s[1][agent]["reward_terms"]["potential_shaping"] for s in shaped_rewards]
        np.testing.assert_allclose(shaping, reported, atol=1e-9)
        phi_end = 0.0 if terminated else phi_of(agent, base_obs[-1][agent])
        expected = GAMMA**T * phi_end - phi_of(agent, base_obs[0][agent])
        np.testing.assert_allclose(np.sum(GAMMA ** np.arange(T) * shaping), expected, atol=1e-9)


def test_parallel_potential_shaping_on_pettingzoo_rps():
    # rps observes the opponent's last move (3 = none yet); the episode truncates at max_cycles
    phi = lambda obs: float(obs) ** 2  # noqa: E731
    env = ParallelPotentialShaping(rps(), phi, gamma=GAMMA)
    raw = rps()
    env.reset(seed=1)
    raw.reset(seed=1)
    obs0 = {a: 3 for a in env.possible_agents}
    moves = [(0, 1), (2, 2), (1, 0), (2, 1), (0, 0), (1, 2)]
    totals = dict.fromkeys(env.possible_agents, 0.0)
    for t, (m0, m1) in enumerate(moves):
        actions = {"player_0": m0, "player_1": m1}
        obs, rew, term, trunc, _ = env.step(actions)
        _, raw_rew, _, _, _ = raw.step(actions)
        for a in env.possible_agents:
            totals[a] += GAMMA**t * (rew[a] - raw_rew[a])
    assert all(trunc.values()) and not any(term.values())
    for a in env.possible_agents:
        np.testing.assert_allclose(totals[a], GAMMA ** len(moves) * phi(obs[a]) - phi(obs0[a]), atol=1e-12)


def _vector_reference(make_wrapped, seeds, actions, mode, key):
    """What each instance's reward and term ``key`` must be, from B single wrapped envs."""
    B = len(seeds)
    envs = [make_wrapped() for _ in range(B)]
    for env, seed in zip(envs, seeds, strict=True):
        env.reset(seed=seed)
    needs_reset = np.zeros(B, dtype=bool)
    terms, rewards = np.zeros(actions.shape[:2]), np.zeros(actions.shape[:2])
    for t in range(actions.shape[0]):
        for i, env in enumerate(envs):
            if mode == AutoresetMode.NEXT_STEP and needs_reset[i]:
                env.reset()
                needs_reset[i] = False
                continue  # the reset step: no reward, no shaping, no penalty
            _, rewards[t, i], terminated, truncated, info = env.step(actions[t, i])
            terms[t, i] = info["reward_terms"][key]
            if terminated or truncated:
                if mode == AutoresetMode.NEXT_STEP:
                    needs_reset[i] = True
                else:
                    env.reset()
    return terms, rewards


def run_vector(envs, actions, seed, key, mode=None):
    """Step a vector env through ``actions``; in DISABLED mode reset the rows that ended."""
    envs.reset(seed=seed)
    terms, rewards, ends = [], [], np.zeros(2, dtype=int)
    for step_actions in actions:
        _, reward, terminated, truncated, info = envs.step(step_actions)
        terms.append(None if key is None else np.asarray(info["reward_terms"][key]))
        rewards.append(np.asarray(reward, dtype=np.float64))
        ends += [terminated.sum(), truncated.sum()]
        if mode == AutoresetMode.DISABLED and (terminated | truncated).any():
            envs.reset(options={"reset_mask": terminated | truncated})
    return np.array(terms), np.array(rewards), ends


MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]


def gym_vec(env_id, num_envs, mode, steps):
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync", max_episode_steps=steps,
                        vector_kwargs={"autoreset_mode": mode})


@pytest.mark.parametrize("mode", MODES)
def test_vector_potential_shaping_matches_single_envs(mode):
    B, T = 4, 120

    def batched_phi(obs):
        return np.array([phi_vector(o) for o in obs])

    # CartPole episodes end by termination and by truncation (15 steps) within T steps
    envs = VectorPotentialShaping(gym_vec("CartPole-v1", B, mode, 15), batched_phi, gamma=GAMMA)
    actions = np.random.default_rng(0).integers(0, 2, size=(T, B))
    got, _, ends = run_vector(envs, actions, 10, "potential_shaping", mode)
    assert ends.min() > 0
    reference_mode = AutoresetMode.SAME_STEP if mode == AutoresetMode.DISABLED else mode
    expected, _ = _vector_reference(lambda: PotentialShaping(cartpole(15), phi_vector, GAMMA),
                                    [10 + i for i in range(B)], actions, reference_mode, "potential_shaping")
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_vector_potential_shaping_on_rewardlab_vector_env():
    B, T = 3, 40
    sim = ToyGridSim(num_envs=B, size=4, horizon=6, env_id="toy/Grid-v0")
    envs = VectorPotentialShaping(RewardlabVectorEnv(sim), lambda obs: 2.0 * obs[:, 0] - obs[:, 1], gamma=GAMMA)
    actions = np.random.default_rng(1).integers(0, 3, size=(T, B))
    got, _, ends = run_vector(envs, actions, 3, "potential_shaping")
    assert ends.min() > 0  # the grid ends by reaching the goal and by the time limit
    expected, _ = _vector_reference(
        lambda: PotentialShaping(toy_grid(size=4, horizon=6), lambda obs: 2.0 * obs[0] - obs[1], GAMMA),
        [3 + i for i in range(B)], actions, AutoresetMode.SAME_STEP, "potential_shaping",
    )
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_potential_shaping_argument_errors():
    with pytest.raises(RewardlabError, match=r"PotentialShaping: gamma must be .* in \(0, 1\], got 1.5"):
        PotentialShaping(cartpole(), phi_vector, gamma=1.5)
    with pytest.raises(RewardlabError, match="PotentialShaping: potential must be callable"):
        PotentialShaping(cartpole(), 3.0)
    env = PotentialShaping(cartpole(), lambda obs: float("nan"))
    with pytest.raises(RewardlabError, match="PotentialShaping: potential must return a finite number"):
        env.reset(seed=0)
    env = PotentialShaping(cartpole(), lambda obs: obs)
    with pytest.raises(RewardlabError, match=r"potential must return a scalar, got an array of shape \(4,\)"):
        env.reset(seed=0)
    with pytest.raises(RewardlabError, match="PotentialShaping: step\\(\\) before reset\\(\\)"):
        PotentialShaping(cartpole(), phi_vector).step(0)
    with pytest.raises(RewardlabError, match="ParallelPotentialShaping: potential must have one entry per agent"):
        ParallelPotentialShaping(rps(), {"player_0": phi_vector})
    with pytest.raises(RewardlabError, match=r"VectorPotentialShaping: potential must map .* shape \(2,\)"):
        envs = VectorPotentialShaping(gym.make_vec("CartPole-v1", num_envs=2), lambda obs: obs)
        envs.reset(seed=0)


# ----------------------------------------------------------------------------- action penalties


def expected_penalties(actions: np.ndarray, initial=None, scale=1.0):
    """||Δa||^2 and ||Δ²a||^2 per step from np.diff, with the documented first-step conventions."""
    a = np.asarray(actions, dtype=np.float64).reshape(len(actions), -1) / scale
    if initial is not None:
        pad = np.asarray(initial, dtype=np.float64).reshape(1, -1) / scale
        a = np.concatenate([pad, pad, a])
        return (np.diff(a, 1, axis=0) ** 2).sum(1)[1:], (np.diff(a, 2, axis=0) ** 2).sum(1)
    rate = np.concatenate([[0.0], (np.diff(a, 1, axis=0) ** 2).sum(1)])
    acc = np.concatenate([[0.0, 0.0], (np.diff(a, 2, axis=0) ** 2).sum(1)])[: len(a)]
    return rate, acc


@pytest.mark.parametrize("initial", [None, "zeros", "ones"])
@pytest.mark.parametrize("make", [lambda: pendulum(30), lambda: toy_game(horizon=9)], ids=["Pendulum", "ToyGame"])
def test_action_rate_penalty_matches_finite_differences(make, initial):
    w1, w2 = 0.3, 0.07
    space = make().action_space
    init = None if initial is None else getattr(np, initial)(space.shape)
    for seed in (0, 1):  # two episodes of the same wrapped env: the history restarts at reset
        base = rollout(make(), seed, seed)
        env = ActionRatePenalty(make(), rate_weight=w1, acc_weight=w2, initial_action=init)
        if seed == 1:
            rollout(env, 0, 0)
        shaped = rollout(env, seed, seed)
        rate, acc = expected_penalties(base[1], init)
        np.testing.assert_allclose(base[2] - shaped[2], w1 * rate + w2 * acc, atol=1e-9)
        np.testing.assert_allclose([i["reward_terms"]["action_rate"] for i in shaped[3]], rate, atol=1e-12)
        np.testing.assert_allclose([i["reward_terms"]["action_acc"] for i in shaped[3]], acc, atol=1e-12)
        if init is None:
            assert rate[0] == 0.0 and acc[0] == acc[1] == 0.0 and rate[1] > 0 and acc[2] > 0
        else:
            assert rate[0] > 0.0 and acc[0] > 0.0


def test_action_rate_penalty_normalize_uses_box_bounds():
    # Pendulum's torque is in [-2, 2]: normalised actions are a / 2
    base = rollout(pendulum(12), 0, 0)
    shaped = rollout(ActionRatePenalty(pendulum(12), rate_weight=1.0, acc_weight=1.0, normalize=True), 0, 0)
    rate, acc = expected_penalties(base[1], scale=2.0)
    np.testing.assert_allclose(base[2] - shaped[2], rate + acc, atol=1e-9)


@pytest.mark.parametrize("normalize", [False, True])
def test_parallel_action_rate_penalty_per_agent(normalize):
    w1, w2 = 0.5, 0.25
    rng = np.random.default_rng(0)
    agents = toy_game_parallel().possible_agents
    # agent i acts in [0, 1 + i]; the sequences differ per agent
    actions = [{a: rng.uniform(0, 1 + i, size=1).astype(np.float32) for i, a in enumerate(agents)} for _ in range(6)]

    def run(env):
        env.reset(seed=2)
        return [env.step(step_actions)[1:5:3] for step_actions in actions]

    raw = run(toy_game_parallel(horizon=6))
    shaped = run(ParallelActionRatePenalty(toy_game_parallel(horizon=6), w1, w2, normalize=normalize))
    for i, agent in enumerate(agents):
        half_range = (1.0 + i) / 2.0
        seq = np.array([step[agent] for step in actions], dtype=np.float64)
        if normalize:
            seq = seq - half_range  # the centre; differences do not see it, the scale does
        rate, acc = expected_penalties(seq, scale=half_range if normalize else 1.0)
        penalty = np.array([r[0][agent] - s[0][agent] for r, s in zip(raw, shaped, strict=True)])
        np.testing.assert_allclose(penalty, w1 * rate + w2 * acc, atol=1e-9)
        np.testing.assert_allclose([s[1][agent]["reward_terms"]["action_acc"] for s in shaped], acc, atol=1e-12)


@pytest.mark.parametrize("initial", [None, [0.5]])
@pytest.mark.parametrize("mode", MODES)
def test_vector_action_rate_penalty_matches_single_envs(mode, initial):
    B, T = 3, 40
    envs = VectorActionRatePenalty(gym_vec("Pendulum-v1", B, mode, 7), 0.3, 0.1, initial_action=initial)
    actions = np.random.default_rng(2).uniform(-2, 2, size=(T, B, 1)).astype(np.float32)
    got_rate, got_rewards, ends = run_vector(envs, actions, 5, "action_rate", mode)
    assert ends[1] > 0
    reference_mode = AutoresetMode.SAME_STEP if mode == AutoresetMode.DISABLED else mode
    rate, rewards = _vector_reference(lambda: ActionRatePenalty(pendulum(7), 0.3, 0.1, initial_action=initial),
                                      [5 + i for i in range(B)], actions, reference_mode, "action_rate")
    np.testing.assert_allclose(got_rate, rate, atol=1e-9)
    np.testing.assert_allclose(got_rewards, rewards, atol=1e-5)


def test_vector_action_rate_penalty_on_rewardlab_vector_env():
    B, T = 2, 20
    make_sim = lambda n: ToyGameSim(num_envs=n, horizon=4, env_id="toy/Game-v0")  # noqa: E731
    envs = VectorActionRatePenalty(RewardlabVectorEnv(make_sim(B)), 0.2, 0.05, normalize=True)
    actions = np.random.default_rng(3).uniform(0, 1, size=(T, B, 3, 1)).astype(np.float32)
    got_acc, got_rewards, _ = run_vector(envs, actions, 1, "action_acc")
    acc, rewards = _vector_reference(lambda: ActionRatePenalty(toy_game(horizon=4), 0.2, 0.05, normalize=True),
                                     [1 + i for i in range(B)], actions, AutoresetMode.SAME_STEP, "action_acc")
    np.testing.assert_allclose(got_acc, acc, atol=1e-9)
    np.testing.assert_allclose(got_rewards, rewards, atol=1e-6)


def test_action_rate_penalty_argument_errors():
    with pytest.raises(RewardlabError, match=r"ActionRatePenalty: needs a Box action space .* Discrete\(2\)"):
        ActionRatePenalty(cartpole(), rate_weight=1.0)
    with pytest.raises(RewardlabError, match=r"ActionRatePenalty: rate_weight must be .* in \[0, inf\], got -1"):
        ActionRatePenalty(pendulum(), rate_weight=-1.0)
    with pytest.raises(RewardlabError, match="ActionRatePenalty: acc_weight must be a finite real number"):
        ActionRatePenalty(pendulum(), acc_weight="big")
    with pytest.raises(RewardlabError, match=r"initial_action must be a finite array of shape \(1,\)"):
        ActionRatePenalty(pendulum(), rate_weight=1.0, initial_action=[0.0, 0.0])
    with pytest.raises(RewardlabError, match="normalize=True needs finite action bounds"):
        ActionRatePenalty(_unbounded(), normalize=True)
    env = ActionRatePenalty(pendulum(), rate_weight=1.0)
    env.reset(seed=0)
    with pytest.raises(RewardlabError, match=r"ActionRatePenalty: actions must be finite, got array\(\[nan\]"):
        env.step(np.array([np.nan], np.float32))
    with pytest.raises(RewardlabError, match=r"ActionRatePenalty: actions of shape \(2,\) do not fit the space Box"):
        env.step(np.zeros(2, np.float32))
    envs = VectorActionRatePenalty(gym.make_vec("Pendulum-v1", num_envs=2), rate_weight=1.0)
    envs.reset(seed=0)
    with pytest.raises(RewardlabError, match=r"VectorActionRatePenalty: actions must be finite"):
        envs.step(np.array([[0.0], [np.inf]], np.float32))
    with pytest.raises(
        RewardlabError, match=r"VectorActionRatePenalty: actions of shape \(3, 1\) do not fit 2 instances"
    ):
        envs.step(np.zeros((3, 1), np.float32))
    with pytest.raises(RewardlabError, match="ParallelActionRatePenalty: agent 'player_0' needs a Box action space"):
        ParallelActionRatePenalty(rps(), rate_weight=1.0)
    with pytest.raises(RewardlabError, match="ParallelActionRatePenalty: initial_action must have one entry per agent"):
        ParallelActionRatePenalty(toy_game_parallel(), rate_weight=1.0, initial_action={"agent_0": [0.0]})


def _unbounded() -> gym.Env:
    class Unbounded(gym.Env):
        observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,))
        action_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,))

    return Unbounded()


# ----------------------------------------------------------------------------- term reweighting


def test_term_reweighting_equals_rewardlab_reward_spec():
    spec = {"weights": {"gain": 2.0, "cost": -1.5, "bonus": 0.25}, "factors": ["bonus"]}
    for seed in (0, 1):
        reference = rollout(toy_game(reward=spec), seed, seed)
        wrapped = rollout(TermReweighting(toy_game(), spec["weights"], spec["factors"]), seed, seed)
        assert len(reference[2]) == len(wrapped[2])
        np.testing.assert_allclose(wrapped[2], reference[2], atol=1e-9)
        # and by hand from the reported per-agent terms: summed over agents like the adapter
        terms = [info["reward_terms"] for info in wrapped[3]]
        by_hand = [np.sum((2.0 * t["gain"] - 1.5 * t["cost"] + 0.25 * t["bonus"]) * t["bonus"]) for t in terms]
        np.testing.assert_allclose(wrapped[2], by_hand, atol=1e-9)


def test_term_reweighting_over_terms_of_other_wrappers_on_plain_gym_envs():
    # Pendulum reports no terms; stacked wrappers add theirs, and "action_rate" can be reweighted
    env = TermReweighting(ActionRatePenalty(pendulum(20)), {"action_rate": -2.0, "action_acc": -1.0})
    base = rollout(pendulum(20), 0, 0)
    got = rollout(env, 0, 0)
    rate, acc = expected_penalties(base[1])
    np.testing.assert_allclose(got[2], -2.0 * rate - acc, atol=1e-9)
    env = TermReweighting(PotentialShaping(cartpole(), phi_vector, GAMMA), {"potential_shaping": 1.0})
    shaped = rollout(PotentialShaping(cartpole(), phi_vector, GAMMA), 4, 4)
    np.testing.assert_allclose(rollout(env, 4, 4)[2], shaped[2] - 1.0, atol=1e-9)  # CartPole pays 1 a step


def test_parallel_term_reweighting_equals_rewardlab_reward_spec():
    spec = {"weights": {"gain": -1.0, "cost": 3.0}, "factors": ["gain"]}

    def run(env):
        env.reset(seed=7)
        out = []
        for t in range(7):
            actions = {a: np.array([0.1 * (t + i)], np.float32) for i, a in enumerate(env.possible_agents)}
            out.append(env.step(actions)[1])
        return out

    reference = run(toy_game_parallel(reward=spec))
    got = run(ParallelTermReweighting(toy_game_parallel(), spec["weights"], spec["factors"]))
    for ref, new in zip(reference, got, strict=True):
        assert ref.keys() == new.keys()
        np.testing.assert_allclose(list(new.values()), list(ref.values()), atol=1e-9)


def test_vector_term_reweighting_on_native_and_sync_vector_envs():
    spec = {"weights": {"gain": 1.0, "cost": -3.0}, "factors": ["bonus"]}
    actions = np.random.default_rng(4).uniform(0, 1, size=(12, 4, 3, 1)).astype(np.float32)

    def native(reward=None):
        sim = ToyGameSim(num_envs=4, horizon=5, env_id="toy/Game-v0", **({"reward": reward} if reward else {}))
        return RewardlabVectorEnv(sim)

    def sync(reward=None):
        kwargs = {"reward": reward} if reward else {}
        return gym.vector.SyncVectorEnv([lambda: toy_game(horizon=5, **kwargs) for _ in range(4)],
                                        autoreset_mode=AutoresetMode.SAME_STEP)

    for make in (native, sync):
        _, expected, ends = run_vector(make(spec), actions, 0, None)
        _, got, _ = run_vector(VectorTermReweighting(make(), spec["weights"], spec["factors"]), actions, 0, None)
        assert ends[1] > 0  # Gymnasium's SAME_STEP moves the ending step's terms to info["final_info"]
        np.testing.assert_allclose(got, expected, atol=1e-9)
    envs = VectorTermReweighting(native(), {"speed": 1.0})
    envs.reset(seed=0)
    with pytest.raises(
        RewardlabError,
        match=r"VectorTermReweighting: unknown reward term\(s\) 'speed'; "
        r"the environment reports 'bonus', 'cost', 'gain'",
    ):
        envs.step(actions[0])


class ReportTerms(BaseParallelWrapper):
    """A third-party env (rps) that reports its reward as terms, shared in one of two layouts."""

    def __init__(self, env, layout):
        super().__init__(env)
        self.layout = layout

    def step(self, actions):
        obs, rew, term, trunc, infos = self.env.step(actions)
        agents = self.env.possible_agents
        if self.layout == "dict":
            shared = {"win": {a: float(rew[a] > 0) for a in agents}, "loss": {a: float(rew[a] < 0) for a in agents}}
        else:
            shared = {"win": np.array([float(rew[a] > 0) for a in agents]),
                      "loss": np.array([float(rew[a] < 0) for a in agents])}
        return obs, rew, term, trunc, {a: {**infos.get(a, {}), "reward_terms": shared} for a in agents}


@pytest.mark.parametrize("layout", ["dict", "array"])
def test_parallel_term_reweighting_on_pettingzoo_rps(layout):
    env = ParallelTermReweighting(ReportTerms(rps(), layout), {"win": 3.0, "loss": -0.5})
    env.reset(seed=0)
    for m0, m1 in [(0, 1), (1, 0), (2, 2)]:
        _, rewards, _, _, _ = env.step({"player_0": m0, "player_1": m1})
        raw = rps()
        raw.reset(seed=0)
        _, raw_rewards, _, _, _ = raw.step({"player_0": m0, "player_1": m1})
        for a, r in raw_rewards.items():
            assert rewards[a] == (3.0 if r > 0 else -0.5 if r < 0 else 0.0)


def test_term_reweighting_errors_list_the_available_terms():
    env = TermReweighting(toy_game(), {"gain": 1.0, "speed": 2.0})
    env.reset(seed=0)
    with pytest.raises(
        RewardlabError,
        match=r"TermReweighting: unknown reward term\(s\) 'speed'; "
        r"the environment reports 'bonus', 'cost', 'gain', 'reward'",
    ):
        env.step(env.action_space.sample())
    env = TermReweighting(toy_game(), {"gain": 1.0}, factors=["missing"])
    env.reset(seed=0)
    with pytest.raises(RewardlabError, match=r"unknown reward term\(s\) 'missing'"):
        env.step(env.action_space.sample())
    env = TermReweighting(cartpole(), {"alive": 1.0})
    env.reset(seed=0)
    with pytest.raises(RewardlabError, match=r"TermReweighting: the environment must report info\['reward_terms'\]"):
        env.step(0)
    env = ParallelTermReweighting(rps(), {"win": 1.0})
    env.reset(seed=0)
    with pytest.raises(RewardlabError, match=r"ParallelTermReweighting: .*reward_terms.* for agent 'player_0'"):
        env.step({"player_0": 0, "player_1": 0})
    with pytest.raises(RewardlabError, match=r"TermReweighting: weights\['gain'\] must be a finite real number"):
        TermReweighting(toy_game(), {"gain": float("inf")})
    with pytest.raises(RewardlabError, match="TermReweighting: weights must name at least one term"):
        TermReweighting(toy_game(), {})
    with pytest.raises(RewardlabError, match="TermReweighting: factors must be a list of term names"):
        TermReweighting(toy_game(), {"gain": 1.0}, factors="bonus")


# ----------------------------------------------------------------------------- social modes


def run_parallel(env, steps, seed=3):
    env.reset(seed=seed)
    out = []
    for t in range(steps):
        actions = {a: np.array([0.05 + 0.13 * ((t * 7 + i * 3) % 8)], np.float32)
                   for i, a in enumerate(env.possible_agents)}
        out.append(env.step(actions))
    return out


@pytest.mark.parametrize(
    ("mode", "reference_reward", "kwargs"),
    [
        ("integrated", "integrated", {"interdependence": 0.5 * (np.ones((3, 3)) - np.eye(3))}),
        ("cooperative", "cooperative", {}),  # with coupling 0 below: the core mode is the team mean
        ("private", "private", {}),
    ],
)
def test_social_reward_equals_rewardlab_social_modes(mode, reference_reward, kwargs):
    coupling = 0.5 if mode == "integrated" else 0.0
    reference = run_parallel(toy_game_parallel(reward=reference_reward, coupling=coupling), 6)
    wrapped = run_parallel(SocialReward(toy_game_parallel(coupling=coupling), mode, **kwargs), 6)
    private = run_parallel(toy_game_parallel(coupling=coupling), 6)
    for ref, got, raw in zip(reference, wrapped, private, strict=True):
        np.testing.assert_allclose(list(got[1].values()), list(ref[1].values()), atol=1e-9)
        for agent, info in got[4].items():
            assert info["reward_terms"]["private_reward"] == raw[1][agent]


def test_social_reward_integrated_with_asymmetric_matrix_by_hand():
    d = {"player_0": {"player_1": 2.0}, "player_1": {"player_0": -0.25}}
    env = SocialReward(rps(), "integrated", d)
    env.reset(seed=0)
    _, rewards, *_ = env.step({"player_0": 2, "player_1": 1})  # scissors beats paper: r = (1, -1)
    assert rewards == {"player_0": 1.0 + 2.0 * -1.0, "player_1": -1.0 - 0.25 * 1.0}
    env = SocialReward(rps(), "cooperative")
    env.reset(seed=0)
    _, rewards, *_ = env.step({"player_0": 2, "player_1": 1})
    assert rewards == {"player_0": 0.0, "player_1": 0.0}  # rps is zero-sum: the team mean is 0


def test_social_reward_argument_errors():
    with pytest.raises(RewardlabError, match="SocialReward: unknown social mode 'selfish'; expected one of "
                       "'cooperative', 'integrated', 'private'"):
        SocialReward(rps(), "selfish")
    with pytest.raises(RewardlabError, match="SocialReward: mode 'integrated' needs an interdependence matrix"):
        SocialReward(rps(), "integrated")
    with pytest.raises(
        RewardlabError, match=r"SocialReward: interdependence must be a finite \(2, 2\) array .* got shape \(3, 3\)"
    ):
        SocialReward(rps(), "integrated", np.zeros((3, 3)))
    with pytest.raises(RewardlabError, match="SocialReward: interdependence must have a zero diagonal"):
        SocialReward(rps(), "integrated", np.ones((2, 2)))
    with pytest.raises(RewardlabError, match="SocialReward: interdependence is only used by mode 'integrated'"):
        SocialReward(rps(), "cooperative", np.zeros((2, 2)))
    with pytest.raises(RewardlabError, match="SocialReward: interdependence must have one entry per agent"):
        SocialReward(rps(), "integrated", {"player_0": {"player_1": 1.0}, "player_9": {}})


# ----------------------------------------------------------------------------- inequity aversion


def fehr_schmidt_by_hand(x: dict[str, float], r: dict[str, float], alpha: float, beta: float):
    agents = list(r)
    n = len(agents)
    out = {}
    for i in agents:
        envy = sum(max(x[j] - x[i], 0.0) for j in agents if j != i)
        guilt = sum(max(x[i] - x[j], 0.0) for j in agents if j != i)
        out[i] = r[i] - alpha / (n - 1) * envy - beta / (n - 1) * guilt
    return out


def test_inequity_aversion_equals_rewardlab_social_mode():
    alpha, beta = 1.7, 0.4
    spec = {"preset": "private", "social": "inequity_averse", "social_params": {"alpha": alpha, "beta": beta}}
    reference = run_parallel(toy_game_parallel(reward=spec), 7)
    wrapped = run_parallel(InequityAversion(toy_game_parallel(), alpha=alpha, beta=beta), 7)
    for ref, got in zip(reference, wrapped, strict=True):
        np.testing.assert_allclose(list(got[1].values()), list(ref[1].values()), atol=1e-9)


@pytest.mark.parametrize("smoothing", [0.0, 0.8])
def test_inequity_aversion_smoothed_by_hand(smoothing):
    alpha, beta = 2.0, 0.3
    raw = run_parallel(toy_game_parallel(horizon=7), 7)
    for episode in range(2):  # the smoothed rewards restart at reset
        env = InequityAversion(toy_game_parallel(horizon=7), alpha=alpha, beta=beta, smoothing=smoothing)
        if episode:
            run_parallel(env, 7, seed=11)
        wrapped = run_parallel(env, 7)
        e = dict.fromkeys(raw[0][1], 0.0)
        for raw_step, got in zip(raw, wrapped, strict=True):
            r = raw_step[1]
            e = {a: smoothing * e[a] + r[a] for a in r}
            expected = fehr_schmidt_by_hand(e, r, alpha, beta)
            np.testing.assert_allclose([got[1][a] for a in r], [expected[a] for a in r], atol=1e-9)
            a0 = "agent_0"
            n = len(r)
            np.testing.assert_allclose(
                got[4][a0]["reward_terms"]["envy"], sum(max(e[j] - e[a0], 0) for j in r) / (n - 1), atol=1e-12
            )


def test_inequity_aversion_on_pettingzoo_rps_smoothing_remembers():
    env = InequityAversion(rps(), alpha=1.0, beta=0.5, smoothing=0.5)
    env.reset(seed=0)
    _, first, *_ = env.step({"player_0": 0, "player_1": 1})  # r = (-1, 1); e = (-1, 1)
    assert first == {"player_0": -1.0 - 2.0, "player_1": 1.0 - 0.5 * 2.0}
    _, second, *_ = env.step({"player_0": 0, "player_1": 0})  # r = (0, 0); e = (-0.5, 0.5)
    assert second == {"player_0": 0.0 - 1.0, "player_1": 0.0 - 0.5 * 1.0}


def test_inequity_aversion_argument_errors():
    with pytest.raises(RewardlabError, match=r"InequityAversion: alpha must be .* in \[0, inf\], got -1"):
        InequityAversion(rps(), alpha=-1.0)
    with pytest.raises(RewardlabError, match=r"InequityAversion: smoothing must be .* in \[0, 1\), got 1.0"):
        InequityAversion(rps(), smoothing=1.0)
    with pytest.raises(RewardlabError, match="InequityAversion: beta must be a finite real number"):
        InequityAversion(rps(), beta=None)


# ----------------------------------------------------------------------------- API conformance


GYM_WRAPPED = {
    "PotentialShaping-CartPole": lambda: PotentialShaping(cartpole(), phi_vector, GAMMA),
    "PotentialShaping-ToyGrid": lambda: PotentialShaping(toy_grid(), phi_vector, GAMMA),
    "ActionRatePenalty-Pendulum": lambda: ActionRatePenalty(pendulum(), 0.1, 0.1),
    "ActionRatePenalty-ToyGame": lambda: ActionRatePenalty(toy_game(), 0.1, 0.1, normalize=True),
    "TermReweighting-ToyGame": lambda: TermReweighting(toy_game(), {"gain": 1.0, "cost": -1.0}),
    "TermReweighting-Pendulum": lambda: TermReweighting(ActionRatePenalty(pendulum()), {"action_rate": -1.0}),
}


@pytest.mark.parametrize("name", list(GYM_WRAPPED))
def test_gym_wrappers_pass_check_env(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # check_env warns that it is handed a wrapped env
        check_env(GYM_WRAPPED[name](), skip_render_check=True)


PARALLEL_WRAPPED = {
    "PotentialShaping-rps": lambda: ParallelPotentialShaping(rps(), lambda o: float(o), GAMMA),
    "PotentialShaping-ToyGame": lambda: ParallelPotentialShaping(toy_game_parallel(), phi_vector, GAMMA),
    "ActionRatePenalty-ToyGame": lambda: ParallelActionRatePenalty(toy_game_parallel(), 0.1, 0.1),
    "TermReweighting-ToyGame": lambda: ParallelTermReweighting(toy_game_parallel(), {"gain": 1.0}),
    "TermReweighting-rps": lambda: ParallelTermReweighting(ReportTerms(rps(), "dict"), {"win": 1.0}),
    "SocialReward-rps": lambda: SocialReward(rps(), "integrated", [[0.0, 0.3], [0.6, 0.0]]),
    "SocialReward-ToyGame": lambda: SocialReward(toy_game_parallel(), "cooperative"),
    "InequityAversion-rps": lambda: InequityAversion(rps(), 1.0, 0.2, smoothing=0.9),
    "InequityAversion-ToyGame": lambda: InequityAversion(toy_game_parallel(), 5.0, 0.05),
}


@pytest.mark.parametrize("name", list(PARALLEL_WRAPPED))
def test_parallel_wrappers_pass_parallel_api_test(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(PARALLEL_WRAPPED[name](), num_cycles=50)


def test_wrapped_envs_are_deterministic_under_a_seed():
    for make in (*GYM_WRAPPED.values(),):
        first, second = rollout(make(), 9, 9), rollout(make(), 9, 9)
        np.testing.assert_array_equal(first[2], second[2])
    for make in PARALLEL_WRAPPED.values():
        runs = []
        for _ in range(2):
            env = make()
            env.reset(seed=4)
            rewards = []
            for t in range(5):
                for a in env.agents:
                    env.action_space(a).seed(t)
                _, rew, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
                rewards.append(dict(rew))
            runs.append(rewards)
        assert runs[0] == runs[1]


# ----------------------------------------------------------------------------- a registered rewardlab env

REGISTERED = "rewardlab/CoopSLCD-v0"  # multi-agent, Box actions; term names are read from the env


def test_wrappers_on_a_registered_rewardlab_env():
    base_weights = dict(gym.make(REGISTERED).unwrapped.reward_spec.weights)
    weights = {term: 0.5 + k for k, term in enumerate(base_weights)}  # every term reweighted
    reference = rollout(gym.make(REGISTERED, reward={"weights": weights}), 0, 0)
    wrapped = rollout(TermReweighting(gym.make(REGISTERED), weights), 0, 0)
    assert len(reference[2]) >= 10
    np.testing.assert_allclose(wrapped[2], reference[2], rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(ActionRatePenalty(PotentialShaping(gym.make(REGISTERED), phi_vector, GAMMA), 0.1, 0.1),
                  skip_render_check=True)
        stack = InequityAversion(ParallelActionRatePenalty(rewardlab.parallel_env(REGISTERED), 0.1, 0.1), smoothing=0.5)
        parallel_api_test(stack, num_cycles=30)
        api_test(parallel_to_aec(SocialReward(rewardlab.parallel_env(REGISTERED), "cooperative")), num_cycles=30)
