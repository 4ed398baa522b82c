"""Bad and adversarial input ends in a clear RewardlabError (or correct behaviour), never a bare
NumPy/Python error, a silent reshape or a lost run: environments, adapters, studies, checkpoints, CLI."""

from __future__ import annotations

import json
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rewardlab
from rewardlab.cli import main as cli_main
from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError
from rewardlab.core.registry import all_specs, make_sim
from rewardlab.core.rng import _SEED_SALT, _mix
from rewardlab.core.safe_pickle import UnsafePickleError, safe_loads
from rewardlab.studies.spec import evaluate_expression, load_study
from rewardlab.studies.store import ResultStore, process_alive, write_json_atomic

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------
# The shared parameter validator


@dataclass(frozen=True)
class _Params:
    count: int = 3
    rate: float = 0.5
    window: tuple[float, float] = (1.0, 2.0)
    weights: tuple[float, ...] = (1.0, 2.0, 3.0)
    mode: str = "a"
    noisy: bool = False
    limit: float | None = None

    def __post_init__(self):
        check.integers(self, count=(1, 100))
        check.numbers(self, ("rate",), low=0.0, high=1.0)
        check.ordered_pair(self, "window", low=0.0)
        check.sequence(self, "weights", length=3)
        check.choice(self, "mode", ("a", "b"))
        check.flags(self, "noisy")
        check.numbers(self, ("limit",), low=0.0, low_open=True, optional=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 2.0}, r"count must be an integer >= 1 and <= 100, got 2\.0 \(float\)"),
        ({"count": True}, r"count must be an integer .* got True \(bool\)"),
        ({"count": 101}, r"count must be an integer >= 1 and <= 100, got 101 \(int\)"),
        ({"rate": float("nan")}, r"rate must be a finite number >= 0\.0 and <= 1\.0, got nan \(float\)"),
        ({"rate": "0.5"}, r"rate must be a finite number .* got '0\.5' \(str\)"),
        ({"rate": 1e300}, r"rate must be a finite number"),
        ({"window": (2.0, 1.0)}, r"window must be a pair \(low, high\) of finite numbers with low <= high"),
        ({"window": (float("nan"), 1.0)}, r"window must be a pair"),
        ({"window": (-1.0, 1.0)}, r"window must be a pair .*each >= 0\.0, got \(-1\.0, 1\.0\)"),
        ({"window": "ab"}, r"window must be a pair"),
        ({"weights": (1.0, 2.0)}, r"weights must be 3 finite numbers, got \(1\.0, 2\.0\)"),
        ({"weights": (1.0, None, 2.0)}, r"weights must be 3 finite numbers"),
        ({"mode": "c"}, r"mode must be one of 'a', 'b', got 'c' \(str\)"),
        ({"mode": ["a"]}, r"mode must be one of"),
        ({"noisy": "no"}, r"noisy must be True or False, got 'no' \(str\)"),
        ({"limit": 0.0}, r"limit must be a finite number > 0\.0 or None, got 0\.0"),
    ],
)
def test_the_core_validator_names_argument_value_and_valid_range(kwargs, message):
    with pytest.raises(RewardlabError, match=message):
        _Params(**kwargs)


def test_the_core_validator_normalises_pairs_and_sequences_to_floats():
    p = _Params(window=[1, 3], weights=np.array([1, 2, 3]), limit=2)
    assert p.window == (1.0, 3.0) and type(p.window[0]) is float
    assert p.weights == (1.0, 2.0, 3.0)
    assert check.MAX_INTEGER == 10**9  # the default size ceiling of every integer


@pytest.mark.parametrize(
    ("env_id", "kwargs", "argument"),
    [
        ("rewardlab/CommonsFishery-v0", {"num_agents": 10**7}, "num_agents"),
        ("rewardlab/CommonsFishery-v0", {"horizon": 10**12}, "horizon"),
        ("rewardlab/CommonsFishery-v0", {"norm_effort": float("nan")}, "norm_effort"),
        ("rewardlab/CommonsOstrom-v0", {"num_agents": 10**6}, "num_agents"),
        ("rewardlab/CommonsOstrom-v0", {"treatment": ["baseline"]}, "treatment"),
        ("rewardlab/CommonsHarvest-v0", {"regrowth_probs": (float("nan"), 0, 0, 0)}, "regrowth_probs"),
        ("rewardlab/CommonsHarvest-v0", {"view_side": 10**6}, "view_side"),
        ("rewardlab/CommonsHarvest-v0", {"ascii_map": 5}, "ascii_map"),
        ("rewardlab/CommonsPunishment-v0", {"payoffs": (3.0, 0.0, 4.0, float("inf"))}, "payoffs"),
        ("rewardlab/CommonsPunishment-v0", {"payoffs": "RSTP"}, "payoffs"),
        ("rewardlab/CommonsPunishment-v0", {"rounds_per_game": 10**6}, "rounds_per_game"),
    ],
)
def test_commons_parameters_go_through_the_core_validator(env_id, kwargs, argument):
    with pytest.raises(RewardlabError, match=rf"^{env_id}: {argument} must be .* got "):
        gym.make(env_id, **kwargs)


# ------------------------------------------------------------------------------------------------
# Reward specs


@pytest.mark.parametrize(
    ("reward", "message"),
    [
        ({"weights": {"catch": "1"}}, r"reward weights\['catch'\] must be a real number, got str '1'"),
        ({"weights": {"catch": None}}, r"reward weights\['catch'\] must be a real number, got NoneType"),
        ({"weights": {"catch": [1.0]}}, r"reward weights\['catch'\] must be a real number, got list"),
        ({"weights": "catch"}, r"reward 'weights' must be a dict of name -> number, got str 'catch'"),
        ({"bonus_weights": [1.0]}, r"reward 'bonus_weights' must be a dict"),
        ({"factors": "catch"}, r"reward 'factors' must be a list of names, got 'catch'"),
        ({"social": 3}, r"reward 'social' must be a name \(str\), got 3"),
        (
            {"social": "inequity_averse", "social_params": {"alpha": "x"}},
            r"reward social_params\[.alpha.\] must be a real number",
        ),
    ],
)
def test_reward_dicts_are_type_checked_when_resolved(reward, message):
    with pytest.raises(RewardlabError, match=rf"rewardlab/CommonsFishery-v0: {message}"):
        gym.make("rewardlab/CommonsFishery-v0", reward=reward)


# ------------------------------------------------------------------------------------------------
# Actions


def test_a_right_size_wrong_shape_action_is_not_reshaped():
    sim = make_sim("rewardlab/CommonsPunishment-v0")
    sim.reset(seed=0)
    shape = sim.action_spaces[0].shape
    n = sim.num_agents
    assert (n, *shape) == (5, 6)
    with pytest.raises(RewardlabError, match=r"actions have shape \(6, 5\), expected \(1, 5, 6\)"):
        sim.step(np.zeros((6, 5), dtype=np.int64))
    env = gym.make("rewardlab/DrivingMultiEgo-v0")
    env.reset(seed=0)
    joint = env.action_space.sample()
    assert joint.shape[0] != joint.shape[1]
    with pytest.raises(RewardlabError, match=rf"action has shape \({joint.shape[1]}, {joint.shape[0]}\), "
                       rf"expected \({joint.shape[0]}, {joint.shape[1]}\)"):
        env.step(joint.T)
    venv = gym.make_vec("rewardlab/DrivingMultiEgo-v0", num_envs=2)
    venv.reset(seed=0)
    with pytest.raises(RewardlabError, match=r"actions have shape \(2, 2, \d+\)"):
        venv.step(np.zeros((2, 2, joint.shape[0])))


def test_ragged_lists_and_scalars_are_reported_as_given():
    env = gym.make("rewardlab/CoopTrustDilemma-v0")
    env.reset(seed=0)
    with pytest.raises(RewardlabError, match=r"CoopTrustDilemma-v0: action must be a rectangular array of numbers, "
                       r"got list \[\[0\.1\], \[0\.2, 0\.3\]\]"):
        env.step([[0.1], [0.2, 0.3]])
    with pytest.raises(RewardlabError, match=r"action has shape \(\), expected \(2, 1\)"):
        env.step(0.5)
    with pytest.raises(RewardlabError, match=r"must be real numbers \(int or float\), got list \['a', 'b'\]"):
        env.step(["a", "b"])


# ------------------------------------------------------------------------------------------------
# Episodes and seeds


def test_any_non_negative_seed_is_accepted_and_small_seeds_keep_their_streams():
    env = gym.make("rewardlab/CoopTrustDilemma-v0")
    env.reset(seed=2**63)
    env.reset(seed=2**70)
    sim = make_sim("rewardlab/CommonsFishery-v0", num_envs=3)
    sim.reset(seed=41)
    # keys of seeds 41, 42, 43, computed here from SplitMix64's finaliser
    expected = [_mix(np.array([s], dtype=np.uint64) + _SEED_SALT)[0] for s in (41, 42, 43)]
    assert sim.rng.keys.tolist() == [int(k) for k in expected]
    sim.reset(seed=2**64 - 1)  # instance 1 wraps to key 0, as in uint64 arithmetic
    assert int(sim.rng.keys[1]) == int(_mix(np.array([0], dtype=np.uint64) + _SEED_SALT)[0])


def test_negative_seeds_are_rejected_by_every_adapter():
    with pytest.raises(RewardlabError, match=r"seed must be None or a non-negative integer, got -1"):
        gym.make_vec("rewardlab/CoopTrustDilemma-v0", num_envs=2).reset(seed=-1)
    with pytest.raises(RewardlabError, match=r"seed must be None or a non-negative integer, got -1"):
        rewardlab.parallel_env("rewardlab/CoopTrustDilemma-v0").reset(seed=-1)
    with pytest.raises(RewardlabError, match=r"got 1\.5"):
        make_sim("rewardlab/CoopTrustDilemma-v0").reset(seed=1.5)


def test_a_gymnasium_env_stepped_past_its_end_raises():
    env = gym.make("rewardlab/CoopTrustDilemma-v0")
    env.reset(seed=0)
    action = env.action_space.low
    ended = False
    for _ in range(10_000):
        *_, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            ended = True
            break
    assert ended
    with pytest.raises(RewardlabError, match=r"step\(\) after the episode ended; call reset\(\)"):
        env.step(action)
    env.reset(seed=0)
    env.step(action)  # a reset starts a new episode


# ------------------------------------------------------------------------------------------------
# The adapters agree


def _parallel_and_aec(env_id):
    par = rewardlab.parallel_env(env_id)
    aec = rewardlab.aec_env(env_id)
    par.reset(seed=3)
    aec.reset(seed=3)
    return par, aec


def _aec_round(aec, actions):
    for agent in aec.possible_agents:
        assert aec.agent_selection == agent
        aec.step(actions[agent])
    return {a: aec.rewards[a] for a in aec.possible_agents}


def test_aec_and_parallel_accept_reject_and_clip_the_same_box_actions():
    par, aec = _parallel_and_aec("rewardlab/CoopTrustDilemma-v0")
    agents = par.possible_agents
    rng = np.random.default_rng(0)
    for _ in range(3):
        # float64 actions with bits below float32's precision, and finite huge values (clipped)
        actions = {a: np.array([rng.uniform(0.0, 1.0) + 1e-12]) for a in agents}
        actions[agents[0]] = np.array([1e300])
        _, par_rewards, *_ = par.step(actions)
        assert _aec_round(aec, actions) == par_rewards  # bit for bit
    for bad, message in (([np.nan], "NaN or inf"), ([[0.1, 0.2]], r"action of \w+ has shape \(1, 2\)")):
        actions = {a: np.array([0.5]) for a in agents}
        actions[agents[1]] = np.array(bad)
        with pytest.raises(RewardlabError, match=message):
            par.step(actions)
        aec.step(actions[agents[0]])
        with pytest.raises(RewardlabError, match=message):
            aec.step(actions[agents[1]])


def test_aec_and_parallel_treat_discrete_actions_alike():
    par, aec = _parallel_and_aec("rewardlab/CommonsHarvest-v0")
    agents = par.possible_agents
    actions = dict.fromkeys(agents, 1)
    actions[agents[0]] = 1.5
    with pytest.raises(RewardlabError, match="discrete actions must be integers"):
        par.step(actions)
    with pytest.raises(RewardlabError, match="discrete actions must be integers"):
        aec.step(1.5)
    actions[agents[0]] = 2.0  # an integral float is the integer 2 in both
    _, par_rewards, *_ = par.step(actions)
    assert _aec_round(aec, actions) == par_rewards


def test_aec_step_after_every_agent_is_done_raises():
    aec = rewardlab.aec_env("rewardlab/CoopTrustDilemma-v0")
    aec.reset(seed=0)
    for _ in range(100_000):
        if not aec.agents:
            break
        agent = aec.agent_selection
        done = aec.terminations[agent] or aec.truncations[agent]
        aec.step(None if done else np.array([0.5]))
    assert not aec.agents
    with pytest.raises(RewardlabError, match=r"step\(\) after every agent is done; call reset\(\)"):
        aec.step(np.array([0.5]))
    with pytest.raises(RewardlabError, match=r"step\(\) before reset\(\)"):
        rewardlab.aec_env("rewardlab/CoopTrustDilemma-v0").step(np.array([0.5]))


def test_parallel_with_mismatched_agent_shapes_names_the_agent():
    par = rewardlab.parallel_env("rewardlab/DrivingMultiEgo-v0")
    par.reset(seed=0)
    actions = {a: par.action_space(a).sample() for a in par.possible_agents}
    last = par.possible_agents[-1]
    actions[last] = np.zeros(5)
    with pytest.raises(RewardlabError, match=rf"action of {last} has shape \(5,\), expected \(2,\)"):
        par.step(actions)


def test_sb3_vec_env_with_the_wrong_action_count_is_an_error():
    venv = rewardlab.sb3_vec_env("rewardlab/CoopTrustDilemma-v0", num_envs=2)
    venv.reset()
    with pytest.raises(RewardlabError, match=r"one action per slot .* shape \(4, 1\), got shape \(3, 1\)"):
        venv.step(np.zeros((3, 1)))


def test_render_before_reset_is_an_error_in_every_adapter():
    par = rewardlab.parallel_env("rewardlab/DrivingMultiEgo-v0", render_mode="rgb_array")
    with pytest.raises(RewardlabError, match=r"render\(\) before reset\(\); call reset\(\) first"):
        par.render()
    par.reset(seed=0)
    assert par.render().ndim == 3


# ------------------------------------------------------------------------------------------------
# The results store


def _plan_dir(tmp_path) -> tuple[Path, dict]:
    run = {"key": "k1", "setting_label": "s", "setting": [["a", "1"]], "env": "rewardlab/CoopSLCD-v0",
           "seed": 0, "config": {}}
    plan = {"runs": [run], "metrics": ["score"], "derived": {}, "axes": ["a"]}
    write_json_atomic(tmp_path / "study.json", plan)
    return tmp_path, run


def test_unreadable_or_metricless_run_files_count_as_unfinished(tmp_path):
    out, _ = _plan_dir(tmp_path)
    store = ResultStore(out)
    store.runs_dir.mkdir()
    (store.runs_dir / "k1.json").write_bytes(b'{"key": "k1", "metrics": {"score": 1.0}, "x": "\xff\xfe"}')
    assert store.read_run("k1") is None and store.finished_keys() == set()
    (store.runs_dir / "k1.json").write_text(json.dumps({"key": "k1", "metrics": None}))
    assert store.read_run("k1") is None
    (store.runs_dir / "k1.json").write_text(json.dumps({"key": "k1", "metrics": {"score": 1.0}}))
    assert store.finished_keys() == {"k1"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"runs": [', r"cannot be read as a study plan \(JSONDecodeError"),
        (b"\xff\xfe\x00", r"cannot be read as a study plan \(UnicodeDecodeError"),
        (b'{"runs": null}', r"is not a valid study plan: 'runs' must be a list"),
        (b'{"runs": [], "metrics": 3}', r"'metrics' must be a list or null"),
        (b'{"runs": [{"key": "k"}]}', r"run 0 must be an object with key, setting_label"),
    ],
)
def test_a_corrupted_study_json_is_a_clear_error(tmp_path, content, message):
    (tmp_path / "study.json").write_bytes(content)
    with pytest.raises(RewardlabError, match=message):
        ResultStore(tmp_path).read_plan()
    assert cli_main(["report", str(tmp_path), "--no-plots"]) == 2


def test_only_temporaries_of_dead_writers_on_this_host_are_removed(tmp_path):
    store = ResultStore(tmp_path)
    store.runs_dir.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(dead.stdout)
    from rewardlab.studies.store import _HOST

    live = store.runs_dir / f".k1.json.{_HOST}.{os.getpid()}.abc.tmp"
    stale = store.runs_dir / f".k2.json.{_HOST}.{dead_pid}.abc.tmp"
    other_host = store.runs_dir / f".k3.json.elsewhere.{dead_pid}.abc.tmp"
    users = store.runs_dir / ".notes.tmp"
    for path in (live, stale, other_host, users):
        path.write_text("{")
    assert not process_alive(dead_pid)
    assert store.remove_stale_temporaries() == 1
    assert not stale.exists() and live.exists() and other_host.exists() and users.exists()


def test_a_run_claimed_by_a_live_process_is_not_claimed_again_and_a_dead_claim_is_taken_over(tmp_path):
    store = ResultStore(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from rewardlab.studies.store import ResultStore
            print(ResultStore({str(tmp_path)!r}).claim("k1"), flush=True)
            sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
    )
    assert holder.stdout.readline().strip() == "True"
    assert not store.claim("k1")  # held by a live process
    holder.stdin.close()
    holder.wait()
    assert store.claim("k1")  # its holder is gone: taken over
    assert store.claim("k1")  # this process's own claim
    store.release("k1")
    assert not store.claim_path("k1").exists()


def _counting_spec(tmp_path: Path, seeds: int, sleep_s: float) -> Path:
    runner = tmp_path / "counting_runner.py"
    runner.write_text(textwrap.dedent(f"""
        import os, time

        def run(env_id, *, seed, agent_kwargs=None, **_):
            with open({str(tmp_path / "executions.log")!r}, "a") as log:
                log.write(f"{{seed}} {{os.getpid()}}\\n")
            time.sleep({sleep_s})
            return {{"metrics": {{"score": float(seed)}}, "curve": []}}
    """))
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(f"""
        name: counting
        runner: counting_runner.py:run
        envs: [rewardlab/CoopSLCD-v0]
        base: {{total_steps: 10}}
        seeds: {seeds}
        metrics: [score]
    """))
    return spec


def _ablate_process(spec: Path, out: Path, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rewardlab.cli", "ablate", str(spec), "--out", str(out),
                             "--workers", str(workers)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_two_ablate_processes_on_one_folder_never_run_a_run_twice(tmp_path):
    spec = _counting_spec(tmp_path, seeds=4, sleep_s=0.3)
    out = tmp_path / "out"
    first, second = _ablate_process(spec, out, workers=1), _ablate_process(spec, out, workers=1)
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0
    seeds = [line.split()[0] for line in (tmp_path / "executions.log").read_text().splitlines()]
    assert sorted(seeds) == [str(s) for s in range(4)]  # each run executed exactly once
    assert len(list((out / "runs").glob("*.json"))) == 4
    assert not list((out / "claims").glob("*.claim"))  # every claim released


def test_killing_the_parent_makes_its_workers_exit(tmp_path):
    spec = _counting_spec(tmp_path, seeds=2, sleep_s=600)
    parent = _ablate_process(spec, tmp_path / "out", workers=2)
    log = tmp_path / "executions.log"
    for _ in range(1200):
        if log.exists() and len(log.read_text().splitlines()) == 2:
            break
        time.sleep(0.1)
    workers = [int(line.split()[1]) for line in log.read_text().splitlines()]
    assert len(workers) == 2 and all(process_alive(pid) for pid in workers)
    os.kill(parent.pid, signal.SIGKILL)  # the parent alone
    parent.wait()
    for _ in range(600):
        if not any(process_alive(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert not any(process_alive(pid) for pid in workers)


def test_derived_metrics_that_go_complex_are_nan():
    assert math.isnan(evaluate_expression("(a - b) ** 0.5", {"a": 0.0, "b": 1.0}))
    assert math.isnan(evaluate_expression("abs((a - b) ** 0.5)", {"a": 0.0, "b": 1.0}))
    assert evaluate_expression("(b - a) ** 0.5", {"a": 0.0, "b": 4.0}) == 2.0


# ------------------------------------------------------------------------------------------------
# Study specs are validated before anything runs


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(text))
    return path


_BASE_SPEC = """
    name: check
    envs: [{env}]
    base: {{total_steps: 100, agent_kwargs: {agent}, reward: {reward}}}
    grid: {grid}
    seeds: 1
    metrics: [{metric}]
"""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"env": "rewardlab/CoopSLDC-v0"},
            r"unknown environment id 'rewardlab/CoopSLDC-v0'; registered ids are .*'rewardlab/CoopSLCD-v0'",
        ),
        ({"reward": "integrated_x"}, r"unknown reward preset 'integrated_x'; expected one of .*'integrated'"),
        (
            {"agent": "{lerning_rate: 0.1}"},
            r"unknown agent setting\(s\) 'lerning_rate'; valid settings are .*'learning_rate'",
        ),
        ({"agent": "{learning_rate: abc}"}, r"learning_rate must be a finite number >= 0\.0, got 'abc' \(str\)"),
        (
            {"grid": "{env_kwargs.horizn: [5]}"},
            r"unknown argument\(s\) 'horizn'; valid arguments are .*'horizon'",
        ),
        (
            {"grid": "{agent_kwargs.num_env: [2]}"},
            r"unknown agent setting\(s\) 'num_env'; valid settings are .*'num_envs'",
        ),
        (
            {"metric": "welfare_pct_optimun"},
            r"metric 'welfare_pct_optimun' is reported by none of the study's environments; "
            r"expected one of .*'welfare_pct_optimum'",
        ),
        (
            {"grid": "{env_kwargs.horizon: [0]}"},
            r"setting 'env_kwargs.horizon=0': rewardlab/CoopSLCD-v0: "
            r"horizon must be an integer >= 1 and <= 1000000, got 0 \(int\)",
        ),
    ],
)
def test_a_study_spec_is_validated_before_anything_runs(tmp_path, fields, message):
    values = {"env": "rewardlab/CoopSLCD-v0", "agent": "{}", "reward": "private", "grid": "{}",
              "metric": "return", **fields}
    path = _spec(tmp_path, _BASE_SPEC.format(**values))
    with pytest.raises(RewardlabError, match=message):
        load_study(path)
    assert cli_main(["ablate", str(path), "--dry-run"]) == 2


def test_a_valid_spec_loads_and_lists_its_runs(tmp_path):
    values = {"env": "rewardlab/CoopSLCD-v0", "agent": "{num_envs: 2}", "reward": "integrated", "grid": "{}",
              "metric": "welfare_pct_optimum"}
    study = load_study(_spec(tmp_path, _BASE_SPEC.format(**values)))
    assert len(study.runs()) == 1


# ------------------------------------------------------------------------------------------------
# Checkpoints


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def saved_agent(tmp_path_factory):
    from rewardlab.agents.ppo import PPO

    sim = make_sim("rewardlab/CoopTrustDilemma-v0", num_envs=2)
    agent = PPO(sim, {"num_envs": 2, "num_steps": 8, "num_minibatches": 1, "update_epochs": 1}, seed=0)
    path = agent.save(tmp_path_factory.mktemp("ckpt") / "checkpoint.pt")
    return agent, path


def test_a_checkpoint_round_trips_through_the_safe_loaders(saved_agent):
    from rewardlab.agents.ppo import PPO

    agent, path = saved_agent
    loaded = PPO.load(path)
    assert loaded.sim.env_id == agent.sim.env_id
    obs = agent._obs
    np.testing.assert_array_equal(loaded.predict(obs, True), agent.predict(obs, True))


def test_a_crafted_checkpoint_runs_no_code(tmp_path, saved_agent):
    from rewardlab.agents.ppo import PPO

    _, path = saved_agent
    marker = tmp_path / "pwned"
    top = torch.load(path, weights_only=True)
    top["state"] = pickle.dumps({"sim": _Payload(marker)})
    crafted = tmp_path / "inner.pt"
    torch.save(top, crafted)
    with pytest.raises(RewardlabError, match=r"refusing to load posix\.system|refusing to load os\.system"):
        PPO.load(crafted)
    outer = tmp_path / "outer.pt"
    torch.save({"format": 2, "x": _Payload(marker)}, outer)
    with pytest.raises(RewardlabError, match=r"not a readable rewardlab checkpoint \(UnpicklingError"):
        PPO.load(outer)
    assert not marker.exists()
    with pytest.raises(UnsafePickleError):
        safe_loads(pickle.dumps(_Payload(marker)))
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["empty", "truncated", "foreign", "old_format"])
def test_a_broken_checkpoint_is_a_clean_eval_error(tmp_path, saved_agent, capsys, kind):
    _, path = saved_agent
    target = tmp_path / "checkpoint.pt"
    if kind == "empty":
        target.write_bytes(b"")
    elif kind == "truncated":
        target.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "foreign":
        torch.save({"weights": torch.zeros(3)}, target)
    else:
        torch.save({"format": 1, "algo": "ppo"}, target)
    assert cli_main(["eval", str(target), "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rewardlab eval: {target}: ") and "Traceback" not in err


def test_vecnormalize_statistics_load_safely(tmp_path):
    from stable_baselines3.common.vec_env import VecNormalize

    from rewardlab.baselines.sb3 import load_vecnormalize

    venv = rewardlab.sb3_vec_env("rewardlab/CoopTrustDilemma-v0", num_envs=2)
    normalizer = VecNormalize(venv)
    normalizer.reset()
    normalizer.step(np.zeros((4, 1), dtype=np.float32))
    good = tmp_path / "vecnormalize.pkl"
    normalizer.save(str(good))
    loaded = load_vecnormalize(good, venv)
    np.testing.assert_array_equal(loaded.obs_rms.mean, normalizer.obs_rms.mean)
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(RewardlabError, match=r"bad\.pkl: refusing to load"):
        load_vecnormalize(bad, venv)
    foreign = tmp_path / "foreign.pkl"
    foreign.write_bytes(pickle.dumps({"a": np.zeros(2)}))
    with pytest.raises(RewardlabError, match=r"not SB3 VecNormalize statistics \(found dict\)"):
        load_vecnormalize(foreign, venv)
    assert not marker.exists()


# ------------------------------------------------------------------------------------------------
# The command line


def test_cli_rejects_bad_settings_devices_folders_and_counts(tmp_path, saved_agent, capsys, monkeypatch):
    _, checkpoint = saved_agent
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    env = ["--env", "rewardlab/CoopTrustDilemma-v0", "--steps", "16", "--no-progress"]
    cases = [
        (["train", *env, "--set", "learning_rate=abc"], r"learning_rate must be a finite number >= 0\.0, got 'abc'"),
        (["train", *env, "--out", str(a_file)], r"is a file; give a run directory"),
        (["train", *env, "--device", "gpu"], r"unknown device 'gpu'; expected one of auto, cpu, cuda"),
        (["eval", str(checkpoint), "--max-steps", "0"], r"--max-steps must be a positive integer, got 0"),
        (["ablate", str(tmp_path / "none.yaml"), "--workers", "0"], r"--workers must be a positive integer, got 0"),
    ]
    for argv, message in cases:
        assert cli_main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"rewardlab {argv[0]}: ") and __import__("re").search(message, err), err
    spec = _spec(tmp_path, _BASE_SPEC.format(env="rewardlab/CoopSLCD-v0", agent="{}", reward="private",
                                             grid="{}", metric="return"))
    assert cli_main(["ablate", str(spec), "--out", str(a_file)]) == 2
    assert "is a file; give a results directory" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli_main(["train", *env, "--device", "cuda"]) == 2
    assert "CUDA is not available on this machine" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# Registry-wide adversarial actions: the documented outcome for every id


def _clone(sim):
    return pickle.loads(pickle.dumps(sim))


def _same_step(a, b) -> None:
    np.testing.assert_array_equal(a.obs, b.obs)
    np.testing.assert_array_equal(a.reward, b.reward)


def _valid(space, rng, sim):
    if isinstance(space, spaces.Box):
        return rng.uniform(sim._clip_low, sim._clip_high)
    low, high = sim._discrete_bounds
    return rng.integers(low, high, size=sim._actions_shape)


@pytest.mark.parametrize("env_id", [s.id for s in all_specs()])
def test_adversarial_actions_have_their_documented_outcome(env_id):
    sim = make_sim(env_id)
    sim.reset(seed=1)
    rng = np.random.default_rng(0)
    space = sim.action_spaces[0]
    shape = sim._actions_shape
    box = isinstance(space, spaces.Box)
    if box:
        low, high = sim._clip_low, sim._clip_high
        boundary = [low, high]
        out_of_range = [low - 1e6, high + 1e300, np.where(rng.random(shape) < 0.5, -1e300, 1e300)]
    else:
        low, high = sim._discrete_bounds
        boundary = [np.broadcast_to(low, shape).astype(np.int64),
                    np.broadcast_to(np.asarray(high) - 1, shape).astype(np.int64)]
        out_of_range = [np.broadcast_to(np.asarray(high), shape).astype(np.int64),
                        np.broadcast_to(np.asarray(low) - 1, shape).astype(np.int64)]
    rejected = [np.full(shape, np.nan), np.full(shape, np.inf), np.full(shape, -np.inf), np.full(shape, "a"),
                np.zeros(shape, dtype=bool), np.zeros((*shape, 2)), np.zeros(shape[:-1] + (shape[-1] + 1,)),
                [[0.0], [0.0, 1.0]]]
    if len(shape) >= 3 and shape[1] != shape[2] and 1 not in shape[1:3]:
        rejected.append(np.zeros((shape[0], shape[2], shape[1], *shape[3:])))  # the right size, transposed
    if not box:
        rejected += out_of_range + [np.full(shape, 0.5) + np.broadcast_to(low, shape)]
    for action in boundary:  # accepted: finite rewards, observations inside their space
        step = sim.step(action, autoreset=True)
        assert np.all(np.isfinite(step.reward)) and np.all(np.isfinite(step.obs))
        assert all(sim.observation_spaces[i].contains(step.obs[0, i].astype(sim.observation_spaces[i].dtype))
                   for i in range(sim.num_agents))
    for action in rejected:  # rejected with a RewardlabError, and the state is untouched
        before = _clone(sim)
        with pytest.raises(RewardlabError, match=env_id):
            sim.step(action)
        valid = _valid(space, rng, sim)
        _same_step(sim.step(valid, autoreset=True), before.step(valid, autoreset=True))
    if box:  # out of range: clipped to the bounds, exactly as the clipped action
        for action in out_of_range:
            twin = _clone(sim)
            _same_step(sim.step(action, autoreset=True), twin.step(np.clip(action, low, high), autoreset=True))
    if box:  # float32 and integer actions are numbers too
        sim.step(np.zeros(shape, dtype=np.float32) + low.astype(np.float32).clip(-1e30, 1e30), autoreset=True)
    else:
        sim.step(boundary[0].astype(np.float64), autoreset=True)  # integral floats are those integers
    sim.close()


@pytest.fixture(scope="module")
def sb3_run(tmp_path_factory):
    from rewardlab.baselines.sb3 import train_and_evaluate_sb3

    run_dir = tmp_path_factory.mktemp("sb3") / "run"
    train_and_evaluate_sb3("rewardlab/CoopTrustDilemma-v0", algo="sb3-a2c", agent_kwargs={"num_envs": 2, "n_steps": 4},
                           total_steps=16, seed=0, eval_episodes=1, log_dir=run_dir)
    return run_dir


def test_an_sb3_run_whose_config_names_a_missing_or_different_env_is_an_error(sb3_run, tmp_path):
    import shutil

    from rewardlab.baselines.sb3 import load_run

    loaded = load_run(sb3_run / "model.zip")
    assert loaded.config["env_id"] == "rewardlab/CoopTrustDilemma-v0"
    config = json.loads((sb3_run / "config.json").read_text())
    for change, message in (
        ({"env_id": None}, r"config\.json: 'env_id' must be a str, got None"),
        ({"env_id": "rewardlab/CoopTrustDilema-v0"}, r"the run's environment cannot be built: unknown environment id"),
        ({"env_id": "rewardlab/CoopCournot-v0"}, r"the model's observation_space .* is not rewardlab/CoopCournot-v0's"),
    ):
        copy = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        shutil.copytree(sb3_run, copy)
        (copy / "config.json").write_text(json.dumps({**config, **change}))
        with pytest.raises(RewardlabError, match=message):
            load_run(copy / "model.zip")
    (copy / "model.zip").write_bytes(b"PK\x03\x04 truncated")
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(RewardlabError, match=r"model\.zip: not a readable SB3 model"):
        load_run(copy / "model.zip")


def test_rewardlab_eval_loads_sb3_runs_through_the_checked_loader(sb3_run, tmp_path, capsys):
    import shutil

    from rewardlab.cli import main

    assert main(["eval", str(sb3_run), "--episodes", "1", "--json"]) == 0
    assert "welfare_pct_optimum" in capsys.readouterr().out
    copy = tmp_path / "other_env"
    shutil.copytree(sb3_run, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "env_id": "rewardlab/CoopCournot-v0"}))
    assert main(["eval", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "rewardlab eval:" in err and "is not rewardlab/CoopCournot-v0's" in err and "Traceback" not in err


@pytest.mark.parametrize("env_id", [s.id for s in all_specs()])
def test_every_simulator_loads_through_the_checkpoint_allow_list(env_id):
    sim = make_sim(env_id, num_envs=2)
    sim.reset(seed=4)
    rng = np.random.default_rng(1)
    sim.step(_valid(sim.action_spaces[0], rng, sim))
    clone = safe_loads(pickle.dumps(sim, protocol=pickle.HIGHEST_PROTOCOL))
    action = _valid(sim.action_spaces[0], rng, sim)
    _same_step(sim.step(action, autoreset=True), clone.step(action, autoreset=True))
