"""The core on simulators with known behaviour: random streams, RewardSpec, the base step and the adapters."""

from __future__ import annotations

import pickle
import struct
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, parallel_api_test
from toy_sims import ToyGameSim, ToyGridParams, ToyGridSim

from rewardlab.core.adapters import (
    RewardlabAECEnv,
    RewardlabEnv,
    RewardlabParallelEnv,
    RewardlabVectorEnv,
)
from rewardlab.core.adapters.sb3_vec_env import RewardlabSB3VecEnv
from rewardlab.core.adapters.spaces import from_joint, to_joint
from rewardlab.core.errors import RewardlabError
from rewardlab.core.reward import RewardSpec, combine, resolve_reward
from rewardlab.core.rng import BatchedRNG
from rewardlab.core.sim import BatchedSim, StepOutcome

# ------------------------------------------------------------------ random streams


def test_rng_rows_draw_the_same_stream_as_a_lone_instance():
    batch = BatchedRNG(4)
    batch.seed(np.arange(10, 14))
    lone = BatchedRNG(1)
    lone.seed(12)
    a = batch.uniform((5,))
    b = lone.uniform((5,))
    np.testing.assert_array_equal(a[2], b[0])
    # drawing for a subset advances only that subset
    batch.uniform((3,), rows=np.array([0]))
    np.testing.assert_array_equal(batch.uniform((2,))[2], lone.uniform((2,))[0])


def test_rng_distributions_have_the_right_moments():
    rng = BatchedRNG(2)
    rng.seed(np.array([1, 2]))
    u = rng.uniform((200_000,))
    assert abs(u.mean() - 0.5) < 0.005 and u.min() >= 0.0 and u.max() < 1.0
    z = rng.normal((200_000,))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    k = rng.integers(6, (60_000,))
    counts = np.bincount(k.ravel(), minlength=6)
    assert counts.min() > 0.9 * 20_000 and k.max() == 5
    # different seeds give different streams
    assert not np.allclose(u[0], u[1])


def test_rng_permutation_is_a_permutation():
    rng = BatchedRNG(3)
    rng.seed(0)
    perm = rng.permutation(7)
    assert (np.sort(perm, axis=1) == np.arange(7)).all()


# ------------------------------------------------------------------ RewardSpec


def test_reward_presets_and_overrides_resolve():
    sim = ToyGameSim()
    assert resolve_reward(None, sim).name == "private"
    spec = resolve_reward({"preset": "integrated", "weights": {"cost": -2.0}}, sim)
    assert spec.social == "integrated" and spec.weights["cost"] == -2.0 and spec.weights["gain"] == 1.0
    assert spec.name == "custom"
    bare = resolve_reward({"weights": {"bonus": 1.0}}, sim)
    assert dict(bare.weights) == {"bonus": 1.0} and bare.social == "private"


@pytest.mark.parametrize(
    "reward, message",
    [
        ("nope", "unknown reward preset 'nope'; expected one of 'bonus_only', 'cooperative'"),
        ({"weights": {"gian": 1.0}}, "unknown reward term 'gian'; expected one of 'bonus', 'cost', 'gain'"),
        ({"social": "anarchy"}, "unknown social mode 'anarchy'; expected one of .*'inequity_averse'"),
        ({"social": "inequity_averse", "social_params": {"gamma": 1}}, "unknown parameter of social mode"),
        ({"terminate_on": ["crash"]}, "unknown terminate_on event 'crash'; expected one of 'big_action'"),
        ({"wieghts": {}}, "unknown key"),
        ({"weights": {"gain": float("nan")}}, "must be finite"),
        (3, "reward= takes a preset name"),
    ],
)
def test_bad_reward_specs_list_valid_choices(reward, message):
    with pytest.raises(RewardlabError, match=message):
        ToyGameSim(reward=reward)


def _social_by_loops(r, d, mode, alpha=5.0, beta=0.05):
    n = len(r)
    integrated = [r[i] + sum(d[i][j] * r[j] for j in range(n)) for i in range(n)]
    if mode == "integrated":
        return integrated
    if mode == "cooperative":
        return [sum(integrated) / n] * n
    return [
        r[i]
        - alpha / (n - 1) * sum(max(r[j] - r[i], 0) for j in range(n))
        - beta / (n - 1) * sum(max(r[i] - r[j], 0) for j in range(n))
        for i in range(n)
    ]


@pytest.mark.parametrize("mode", ["integrated", "cooperative", "inequity_averse"])
def test_social_modes_match_loop_computation(mode):
    sim = ToyGameSim(num_envs=5, num_agents=4, coupling=0.3, reward={"preset": "private", "social": mode})
    sim.reset(seed=0)
    rng = np.random.default_rng(0)
    step = sim.step(rng.uniform(0, 1, (5, 4, 1)))
    private = step.terms["gain"] - 0.5 * step.terms["cost"]
    for b in range(5):
        expected = _social_by_loops(list(private[b]), sim.interdependence.tolist(), mode)
        np.testing.assert_allclose(step.reward[b], expected, rtol=1e-12)


def test_factors_multiply_the_weighted_sum():
    sim = ToyGameSim(num_envs=2, reward={"weights": {"gain": 1.0}, "factors": ["cost"]})
    sim.reset(seed=0)
    step = sim.step(np.full((2, 3, 1), 0.25))
    np.testing.assert_allclose(step.reward, step.terms["gain"] * 0.25)


def test_bonus_terms_are_added_after_the_factors():
    reward = {"weights": {"gain": 1.0}, "factors": ["cost"], "bonus_weights": {"bonus": -1.0}}
    sim = ToyGameSim(num_envs=2, reward=reward)
    sim.reset(seed=0)
    step = sim.step(np.full((2, 3, 1), 0.25))
    np.testing.assert_allclose(step.reward, step.terms["gain"] * 0.25 - 1.0)
    with pytest.raises(RewardlabError, match="unknown reward term 'bonnus'"):
        ToyGameSim(reward={"bonus_weights": {"bonnus": 1.0}})


def test_reward_spec_pickles():
    spec = RewardSpec(weights={"a": 1.0}, bonus_weights={"b": -1.0}, social="cooperative", social_params={"alpha": 1.0})
    assert pickle.loads(pickle.dumps(spec)) == spec


# ------------------------------------------------------------------ the base step


def test_terminate_on_turns_events_into_terminations():
    sim = ToyGameSim(num_envs=2, reward="bonus_only")
    sim.reset(seed=0)
    actions = np.zeros((2, 3, 1))
    actions[1, 2, 0] = 2.5  # agent 2 may act up to 3.0; > 1.5 fires big_action
    step = sim.step(actions)
    assert step.terminated.tolist() == [False, True]
    assert step.episode_metrics["length"][1] == 1 and np.isnan(step.episode_metrics["length"][0])


def test_autoreset_restarts_only_finished_instances_and_keeps_final_obs():
    sim = ToyGameSim(num_envs=3, horizon=2)
    sim.reset(seed=1)
    sim.step(np.full((3, 3, 1), 0.5), autoreset=True)
    step = sim.step(np.full((3, 3, 1), 0.5), autoreset=True)
    assert step.truncated.all() and not step.terminated.any()
    np.testing.assert_allclose(step.final_obs[:, 0, -1], 1.0)  # t / horizon at the end
    np.testing.assert_allclose(step.obs[:, 0, -1], 0.0)  # first observation of the next episode
    assert (sim.episode_length == 0).all()
    np.testing.assert_allclose(step.episode_metrics["return"], step.episode_returns.sum(axis=1))


def test_episode_return_metric_sums_rewards():
    sim = ToyGameSim(num_envs=1, horizon=4)
    sim.reset(seed=3)
    total = 0.0
    for _ in range(4):
        step = sim.step(np.full((1, 3, 1), 0.3))
        total += step.reward.sum()
    assert step.episode_metrics["return"][0] == pytest.approx(total)


def test_actions_are_validated():
    sim = ToyGameSim(num_envs=2)
    sim.reset(seed=0)
    with pytest.raises(RewardlabError, match=r"ToyGameSim: actions have shape \(2, 2, 1\), expected \(2, 3, 1\)"):
        sim.step(np.zeros((2, 2, 1)))
    with pytest.raises(RewardlabError, match="NaN or inf"):
        sim.step(np.full((2, 3, 1), np.inf))
    with pytest.raises(RewardlabError, match="real numbers"):
        sim.step(np.full((2, 3, 1), "a"))
    # out-of-bounds continuous actions are clipped to each agent's own bounds
    step = sim.step(np.full((2, 3, 1), 9.0))
    np.testing.assert_allclose(step.terms["cost"][0], [1.0, 2.0, 3.0])
    grid = ToyGridSim(num_envs=2)
    grid.reset(seed=0)
    with pytest.raises(RewardlabError, match="out of range"):
        grid.step(np.array([[3], [0]]))
    with pytest.raises(RewardlabError, match="integers"):
        grid.step(np.array([[0.5], [1.0]]))


def test_bad_params_name_the_env():
    with pytest.raises(RewardlabError, match="ToyGameSim: unknown argument\\(s\\) 'horizn'"):
        ToyGameSim(horizn=3)
    with pytest.raises(RewardlabError, match="ToyGameSim: num_agents must be >= 2"):
        ToyGameSim(num_agents=1)
    with pytest.raises(RewardlabError, match="num_envs must be a positive integer"):
        ToyGameSim(num_envs=0)
    with pytest.raises(RewardlabError, match="unknown render_mode 'human'"):
        ToyGameSim(render_mode="human")


# ------------------------------------------------------------------ adapters


def test_adapters_pass_the_official_checkers():
    check_env(RewardlabEnv(ToyGameSim()), skip_render_check=True)
    check_env(RewardlabEnv(ToyGridSim()), skip_render_check=True)
    parallel_api_test(RewardlabParallelEnv(ToyGameSim()), num_cycles=30)
    api_test(RewardlabAECEnv(ToyGameSim()), num_cycles=30)


def test_aec_later_movers_see_earlier_actions_in_sequential_games():
    env = RewardlabAECEnv(ToyGameSim(num_agents=3))
    env.reset(seed=0)
    env.step(np.array([0.7], dtype=np.float32))
    seen = env.observe("agent_1")
    assert seen[0] == pytest.approx(0.7)
    env.step(np.array([0.2], dtype=np.float32))
    assert env.observe("agent_2")[1] == pytest.approx(0.2)
    env.step(np.array([0.4], dtype=np.float32))
    # after the round every agent sees the simulated last actions
    np.testing.assert_allclose(env.observe("agent_0")[:3], [0.7, 0.2, 0.4], rtol=1e-6)


def test_vector_env_equals_single_envs_on_toy_grid():
    venv = RewardlabVectorEnv(ToyGridSim(num_envs=4, horizon=6))
    singles = [RewardlabEnv(ToyGridSim(horizon=6)) for _ in range(4)]
    obs, _ = venv.reset(seed=20)
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(env.reset(seed=20 + i)[0], obs[i])
    rng = np.random.default_rng(0)
    for _ in range(40):
        actions = rng.integers(0, 3, size=4)
        obs, rew, term, trunc, info = venv.step(actions)
        for i, env in enumerate(singles):
            o, r, te, tr, _ = env.step(actions[i])
            assert (r, te, tr) == (rew[i], term[i], trunc[i])
            if te or tr:
                np.testing.assert_array_equal(info["final_obs"][i], o)
                o, _ = env.reset()
            np.testing.assert_array_equal(o, obs[i])


def test_sb3_vec_env_rescales_heterogeneous_bounds_and_reports_episodes():
    venv = RewardlabSB3VecEnv(ToyGameSim(num_envs=2, horizon=3), agent_id=True)
    assert venv.num_envs == 6 and venv.action_space.high.tolist() == [1.0]
    venv.seed(0)
    obs = venv.reset()
    np.testing.assert_array_equal(obs[:3, -3:], np.eye(3))
    venv.step(np.array([[1.0], [1.0], [1.0], [-1.0], [0.0], [1.0]]))
    # slot actions in [-1, 1] map onto each agent's own bounds [0, 1 + i]
    np.testing.assert_allclose(venv.sim.last, [[1.0, 2.0, 3.0], [0.0, 1.0, 3.0]])
    for _ in range(2):
        _, rewards, dones, infos = venv.step(np.ones((6, 1)))
    assert dones.all()
    assert infos[4]["episode"]["l"] == 3 and "terminal_observation" in infos[4]


def test_gym_make_registered_toy_env_errors_are_clear():
    gym.register("rewardlab_test/ToyGrid-v0", entry_point=lambda **kw: RewardlabEnv(ToyGridSim(**kw)))
    env = gym.make("rewardlab_test/ToyGrid-v0", size=4)
    env.reset(seed=0)
    with pytest.raises(RewardlabError, match="shape"):
        env.step(np.array([1, 1]))


# ------------------------------------------------------------------ the per-step path
# combine against a per-element loop over Python floats; validate_actions against np.clip; the
# Gymnasium adapter's step against the simulator's step seen through from_joint / to_joint.


def _combine_by_hand(spec, terms, b, i):
    """Instance b, agent i's private reward from the formula, on Python floats."""

    def term(name):
        values = np.asarray(terms[name])
        return float(values[b, 0] if values.shape[1] == 1 else values[b, i])  # (B, 1) broadcasts

    value = 0.0
    for name, weight in spec.weights.items():
        if weight != 0.0:
            value += float(weight) * term(name)
    for name in spec.factors:
        value *= term(name)
    for name, weight in spec.bonus_weights.items():
        if weight != 0.0:
            value += float(weight) * term(name)
    return value


def _reference_step_info(step, index, num_agents):
    def per_agent(values):
        row = values[index]
        return float(row[0]) if num_agents == 1 else row.copy()

    info = {k: np.asarray(v[index]).copy() for k, v in step.info.items()}
    info["reward_terms"] = {k: per_agent(v) for k, v in step.terms.items()}
    info["reward_terms"]["reward"] = per_agent(step.reward)
    info["agent_rewards"] = step.reward[index].copy()
    info["events"] = {k: bool(v[index]) for k, v in step.events.items()}
    if step.episode_metrics is not None and step.done[index]:
        info["episode_metrics"] = {k: float(v[index]) for k, v in step.episode_metrics.items()}
    return info


def _reference_env_step(env, action):
    sim = env.sim
    actions = from_joint(np.asarray(action)[None], 1, sim.num_agents, sim.action_shape)
    step = sim.step(actions)
    obs = to_joint(step.obs, sim.num_agents)[0]
    info = _reference_step_info(step, 0, sim.num_agents)
    return obs, float(step.reward[0].sum()), bool(step.terminated[0]), bool(step.truncated[0]), info


def _assert_identical(got, want, where="value"):
    """Same type, and for arrays the same dtype, shape and bytes; floats bit for bit."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, np.ndarray):
        assert (got.dtype, got.shape) == (want.dtype, want.shape), where
        assert got.tobytes() == want.tobytes(), f"{where}: {got!r} != {want!r}"
    elif isinstance(want, dict):
        assert list(got) == list(want), where
        for key in want:
            _assert_identical(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, float):
        assert struct.pack("<d", got) == struct.pack("<d", want), f"{where}: {got!r} != {want!r}"
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_identical(g, w, f"{where}[{i}]")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def _assert_same_step(got, want):
    for name in (
        "obs",
        "reward",
        "terms",
        "terminated",
        "truncated",
        "info",
        "events",
        "episode_metrics",
        "episode_returns",
        "final_obs",
    ):
        _assert_identical(getattr(got, name), getattr(want, name), name)


# extremes, signed zeros, a subnormal and an infinity among ordinary values
_SPECIAL_VALUES = np.array([0.0, -0.0, 1.5, -2.25, 1e308, -1e308, 5e-324, 3e-200, np.inf, -7.0])


def _draw_term(rng, shape, kind):
    if kind == "bool":
        return rng.random(shape) < 0.5
    if kind == "int":
        return rng.integers(-3, 4, shape)
    if kind == "broadcast":
        shape = (shape[0], 1)
    values = np.where(rng.random(shape) < 0.4, rng.choice(_SPECIAL_VALUES, shape), rng.normal(0, 3, shape))
    if kind == "float32":
        with np.errstate(over="ignore"):
            return values.astype(np.float32)
    return values


@pytest.mark.parametrize("num_envs, num_agents", [(1, 1), (5, 1), (1, 3), (4, 3)])
def test_combine_equals_the_formula_computed_by_hand(num_envs, num_agents):
    """float64 terms (with signed zeros, extremes, a subnormal and infinities): the same bits as
    the formula on Python floats; float32, bool, int and broadcast terms: to float32 rounding."""
    if num_agents == 1:
        sim = ToyGridSim(num_envs=num_envs)
        a, b = "goal", "step"
    else:
        sim = ToyGameSim(num_envs=num_envs, num_agents=num_agents)
        a, b = "gain", "cost"
    specs = [
        RewardSpec(weights={a: 1.0, b: -0.5}),
        RewardSpec(weights={a: 2, b: 0.0}),  # an int weight, a zero weight
        RewardSpec(weights={a: np.float64(0.1), b: np.float64(-0.3)}),  # NumPy weights
        RewardSpec(weights={b: 0.0}, factors=(a,)),  # nothing weighted: zeros times a factor
        RewardSpec(weights={a: -1.0}, factors=(b, a), bonus_weights={b: -1.0, a: 0.0}),
    ]
    rng = np.random.default_rng(7)
    shape = (num_envs, num_agents)
    for spec in specs:
        for kinds in [
            ("float64", "float64"),
            ("float32", "float64"),
            ("float64", "bool"),
            ("broadcast", "float64"),
            ("int", "float64"),
        ]:
            for _ in range(15):
                terms = {a: _draw_term(rng, shape, kinds[0]), b: _draw_term(rng, shape, kinds[1])}
                with np.errstate(all="ignore"):
                    got = combine(spec, terms, sim)
                want = np.array(
                    [[_combine_by_hand(spec, terms, e, i) for i in range(num_agents)] for e in range(num_envs)]
                )
                assert got.dtype == np.float64 and got.shape == shape
                if kinds == ("float64", "float64"):
                    _assert_identical(got + 0.0, want + 0.0, f"{spec} {kinds}")  # -0.0 and 0.0 alike
                else:
                    with np.errstate(all="ignore"):
                        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-300, err_msg=f"{spec} {kinds}")


def test_validate_actions_clips_to_each_agents_bounds_and_rejects_non_finite():
    sim = ToyGameSim(num_envs=2)  # agent i acts in [0, 1 + i]
    rng = np.random.default_rng(3)
    base = rng.uniform(-1.0, 4.0, (2, 3, 1))
    base[0, 0, 0], base[1, 1, 0], base[0, 2, 0] = -0.0, 6e4, 2.5
    huge = base.copy()
    huge[1, 1, 0] = 1e308
    low = np.array([[[0.0], [0.0], [0.0]]])
    high = np.array([[[1.0], [2.0], [3.0]]])
    inputs = [
        base,
        base.astype(np.float32),
        base.astype(np.float16),
        base.tolist(),
        np.asfortranarray(base),
        np.repeat(base, 2, axis=2)[:, :, ::2],  # a strided view
        huge,
        np.full((2, 3, 1), 1e308),
    ]  # finite, but the sum overflows: the exact test decides
    for actions in inputs:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow warning from the finiteness test
            got = sim.validate_actions(actions)
        independent = np.clip(np.asarray(actions).astype(np.float64), low, high)  # an independent computation
        _assert_identical(got, independent)
    for bad in (np.nan, np.inf, -np.inf):
        for dtype in (np.float64, np.float32):
            actions = base.astype(dtype)
            actions[1, 2, 0] = bad
            with pytest.raises(RewardlabError) as err:
                sim.validate_actions(actions)
            assert str(err.value) == "ToyGameSim: actions contain NaN or inf"
    wide = ToyGameSim(num_envs=40)
    actions = rng.uniform(-1.0, 4.0, (40, 3, 1))
    _assert_identical(wide.validate_actions(actions), np.clip(actions, low, high))
    actions[39, 2, 0] = np.nan
    with pytest.raises(RewardlabError, match="NaN or inf"):
        wide.validate_actions(actions)
    grid = ToyGridSim(num_envs=3)
    for actions in [
        np.array([[0], [1], [2]]),
        np.array([[2], [0], [1]], dtype=np.int32),
        np.array([[1], [1], [0]], dtype=np.uint8),
        [[0], [2], [1]],
        np.array([0, 1, 2]),
        np.array([[0.0], [1.0], [2.0]]),
    ]:
        given = np.asarray(actions)  # integers keep their dtype; integral floats become int64
        expected = (given.astype(np.int64) if given.dtype.kind == "f" else given).reshape(3, 1)
        _assert_identical(grid.validate_actions(actions), expected)
    for actions in [np.array([[3], [0], [0]]), np.array([[0], [-1], [0]], dtype=np.int8)]:
        with pytest.raises(RewardlabError, match="ToyGridSim: actions out of range for action space Discrete"):
            grid.validate_actions(actions)


class _SignedSim(BatchedSim):
    """One agent, one action a in [-1, 1]: reward (0 + a) * sign, so signed zeros reach the reward."""

    Params = ToyGridParams
    reward_terms = ("a", "sign", "flag")
    reward_presets = {"default": RewardSpec(weights={"a": 1.0}, factors=("sign",))}
    default_reward = "default"
    events = ("negative",)

    def _setup(self):
        self.agents = ("agent",)
        self.observation_spaces = (gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float64),)
        self.action_spaces = (gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32),)
        self.last = np.zeros((self.num_envs, 2))
        self.t = np.zeros(self.num_envs, dtype=np.int64)

    def _reset(self, rows):
        self.last[rows] = 0.0
        self.t[rows] = 0

    def _observe(self, rows=None):
        return self.last[slice(None) if rows is None else rows][:, None, :].copy()

    def _step(self, actions):
        a = actions[:, :, 0]
        self.t += 1
        self.last = np.concatenate([a, -a], axis=1)
        return StepOutcome(
            terms={"a": a, "sign": np.where(self.t % 2 == 0, -1.0, 1.0)[:, None], "flag": a < 0},
            terminated=np.zeros(self.num_envs, dtype=bool),
            truncated=self.t >= self.params.horizon,
            info={"pair": self.last.copy(), "t": self.t.copy()},
            events={"negative": a[:, 0] < 0},
        )


def test_gym_env_step_equals_the_reference_adapter():
    # numpy's sum of one float is 0.0 + x (-0.0 becomes +0.0): the one-agent reward relies on it
    assert struct.pack("<d", float(np.array([-0.0]).sum())) == struct.pack("<d", -0.0 + 0.0)
    rng = np.random.default_rng(9)
    for make in (
        lambda: ToyGridSim(horizon=8),
        lambda: ToyGameSim(horizon=5),
        lambda: ToyGameSim(horizon=5, reward="bonus_only"),
        lambda: _SignedSim(horizon=9),
    ):
        fast, slow = RewardlabEnv(make()), RewardlabEnv(make())
        _assert_identical(fast.reset(seed=2), slow.reset(seed=2))
        for _ in range(40):
            if isinstance(fast.action_space, gym.spaces.Discrete):
                action = [int(rng.integers(0, 3)), rng.integers(0, 3), np.int32(rng.integers(0, 3))][rng.integers(0, 3)]
            else:
                action = rng.choice([0.0, -0.0, 0.25, -0.75, 2.0], fast.action_space.shape)
                action = [action, action.astype(np.float32), action.tolist()][rng.integers(0, 3)]
            got, want = fast.step(action), _reference_env_step(slow, action)
            _assert_identical(got, want)
            if got[2] or got[3]:
                _assert_identical(fast.reset(), slow.reset())
