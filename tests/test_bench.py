"""`rewardlab bench`: peers that are missing, the JSON result, ratios from the same run.

No test asserts on a timing: rates depend on the machine and its load. What is checked is the
structure, that a missing peer never gets a number, and that every derived figure is computed
from the rows measured in the same run.
"""

from __future__ import annotations

import json
import sys

import pytest

from rewardlab.bench import cases as bench_cases
from rewardlab.bench import run_bench
from rewardlab.bench.cases import Comparison
from rewardlab.bench.report import SCHEMA
from rewardlab.bench.scaling import plot_scaling, sizes_up_to
from rewardlab.bench.timing import NOT_INSTALLED, Case, PeerMissing, measure
from rewardlab.cli import main

PEER_BUILDS = {
    "coopetition_gym": lambda: bench_cases.coopetition_gym_single("TrustDilemma"),
    "meltingpot": bench_cases.melting_pot_single,
    "highway_env": lambda: bench_cases.highway_env_single("highway-fast-v0", {}),
    "stable_baselines3": bench_cases.sb3_ppo,
}


def block(monkeypatch, *modules: str) -> None:
    """Make ``modules`` unimportable, as if not installed (None in sys.modules: ImportError)."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("module", sorted(PEER_BUILDS))
def test_a_peer_that_is_not_importable_raises_peer_missing_with_how_to_install(monkeypatch, module):
    block(monkeypatch, module)
    with pytest.raises(PeerMissing) as err:
        PEER_BUILDS[module]()
    assert "install" in str(err.value) or "docs/performance.md" in str(err.value)


def counting_case(key: str, per_call: int, agents: int = 1, simulated_seconds: float | None = None) -> Case:
    """A case whose step function does a little fixed work and reports ``per_call`` env-steps."""
    def build():
        def step() -> int:
            sum(range(200))
            return per_call
        return step
    return Case(key, key, "test", build, instances=per_call, agents=agents, simulated_seconds=simulated_seconds)


def test_not_installed_peer_row_has_no_number_and_its_comparisons_none(monkeypatch):
    block(monkeypatch, "coopetition_gym")

    def builder(quick):
        cases, comparisons = bench_cases.coopetition(quick)
        keep = {"coopetition:CoopTrustDilemma-v0:single", "coopetition:TrustDilemma:peer"}
        return [c for c in cases if c.key in keep], [c for c in comparisons if c.numerator in keep]

    result = run_bench(["coopetition"], rounds=1, seconds=0.01, builders={"coopetition": builder})
    rows = {row["key"]: row for row in result["families"]["coopetition"]["rows"]}
    peer = rows["coopetition:TrustDilemma:peer"]
    assert peer["status"] == NOT_INSTALLED
    assert "github.com/vikpant/coopetition-gym" in peer["install"]
    assert not {"env_steps_per_s", "agent_steps_per_s", "rounds"} & set(peer)
    ours = rows["coopetition:CoopTrustDilemma-v0:single"]
    assert ours["status"] == "measured" and ours["env_steps_per_s"]["cpu"] > 0
    (comparison,) = result["families"]["coopetition"]["comparisons"]
    assert comparison["status"].startswith("not measured")
    assert "cpu" not in comparison and "wall" not in comparison


def test_json_schema_and_ratios_are_computed_from_rows_of_the_same_run():
    cases = [
        counting_case("single", 1, agents=3, simulated_seconds=0.1),
        counting_case("batched", 16, agents=3, simulated_seconds=0.1),
        counting_case("peer", 1, agents=3, simulated_seconds=1.0),
        counting_case("raw", 1),
        counting_case("env", 1),
    ]
    comparisons = [
        Comparison("per step", "batched", "single"),
        Comparison("per agent-step", "single", "peer", per="agent-step"),
        Comparison("per simulated second", "single", "peer", per="simulated second"),
        Comparison("overhead", "env", "raw", kind="overhead"),
    ]
    result = run_bench(["toy"], rounds=2, seconds=0.01, command="rewardlab bench --family toy",
                       builders={"toy": lambda quick: (cases, comparisons)})
    assert json.loads(json.dumps(result)) == result  # plain JSON types only
    assert result["schema"] == SCHEMA
    assert set(result) == {"schema", "date", "machine", "command", "settings", "load_average", "families"}
    assert result["command"] == "rewardlab bench --family toy"
    assert result["settings"] == {"quick": False, "rounds": 2, "seconds": 0.01}
    assert len(result["load_average"]["before"]) == 3 and len(result["load_average"]["after"]) == 3
    assert result["machine"]["cpus"] >= 1
    block_ = result["families"]["toy"]
    rows = {row["key"]: row for row in block_["rows"]}
    for row in rows.values():
        assert row["status"] == "measured"
        assert len(row["rounds"]) == 2
        # the best round is kept, clock by clock
        assert row["env_steps_per_s"]["cpu"] == max(r["cpu"] for r in row["rounds"])
        assert row["env_steps_per_s"]["wall"] == max(r["wall"] for r in row["rounds"])
    single = rows["single"]["env_steps_per_s"]
    assert rows["single"]["agent_steps_per_s"]["cpu"] == pytest.approx(3 * single["cpu"])
    assert rows["single"]["simulated_seconds_per_s"]["wall"] == pytest.approx(0.1 * single["wall"])
    assert "agent_steps_per_s" not in rows["raw"]  # one agent: env-steps are agent-steps
    figures = {c["label"]: c for c in block_["comparisons"]}
    for clock in ("cpu", "wall"):
        rate = {key: rows[key]["env_steps_per_s"][clock] for key in rows}
        assert figures["per step"][clock] == pytest.approx(rate["batched"] / rate["single"])
        # 3 agents on both sides: the agent-step ratio equals the env-step ratio
        assert figures["per agent-step"][clock] == pytest.approx(rate["single"] / rate["peer"])
        # a peer step covering 1 s against 0.1 s: ten times fewer steps per simulated second
        assert figures["per simulated second"][clock] == pytest.approx(0.1 * rate["single"] / rate["peer"])
        assert figures["overhead"][clock] == pytest.approx(rate["raw"] / rate["env"] - 1.0)


def test_measure_interleaves_rounds_across_cases():
    order = []

    def tracked(key):
        def build():
            def step():
                order.append(key)
                return 1
            return step
        return Case(key, key, "test", build)

    rows = measure([tracked("a"), tracked("b")], rounds=3, seconds=0.0)
    # a warm-up call each, then one call per case per round, alternating
    assert order == ["a", "b", "a", "b", "a", "b", "a", "b"]
    assert [len(r.rounds) for r in rows] == [3, 3]


def test_cli_bench_runs_without_peers_and_says_which_are_missing(monkeypatch, capsys):
    block(monkeypatch, "coopetition_gym")
    assert main(["bench", "--family", "coopetition", "--quick", "--rounds", "1", "--seconds", "0.01", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["families"]["coopetition"]["rows"]
    peers = [r for r in rows if r["source"] == "Coopetition-Gym"]
    assert len(peers) == 3 and all(r["status"] == NOT_INSTALLED and "env_steps_per_s" not in r for r in peers)
    ours = [r for r in rows if r["source"] == "rewardlab"]
    assert {r["instances"] for r in ours} == {1, 64, 4096}
    assert all(r["status"] == "measured" for r in ours)
    assert main(["bench", "--family", "coopetition", "--quick", "--rounds", "1", "--seconds", "0.01"]) == 0
    table = capsys.readouterr().out
    assert "not installed" in table and "load average" in table


def test_cli_bench_rejects_bad_arguments(capsys):
    assert main(["bench", "--rounds", "0"]) == 2
    assert "--rounds" in capsys.readouterr().err
    assert main(["bench", "--plot", "x.png"]) == 2
    assert "--scaling" in capsys.readouterr().err


def test_simulated_seconds_per_step_match_the_envs():
    import gymnasium as gym

    import rewardlab

    cases, _ = bench_cases.locomotion(quick=True)
    by_key = {c.key: c for c in cases}
    assert by_key["locomotion:LocoImitation-v0:single"].simulated_seconds == rewardlab.make_sim(
        "rewardlab/LocoImitation-v0").params.control_dt
    assert by_key["locomotion:ant:single"].simulated_seconds == gym.make("Ant-v5").unwrapped.dt
    driving, _ = bench_cases.driving(quick=True)
    assert driving[0].simulated_seconds == rewardlab.make_sim("rewardlab/DrivingHighway-v0").params.dt
    # highway-env rows: one step is 1 / policy_frequency seconds (1 Hz by default, 10 Hz configured)
    assert [c.simulated_seconds for c in driving if c.source == "highway-env"] == [1.0, 1.0, 0.1]


def test_sb3_arguments_translate_rewardlab_ppo_defaults():
    settings = bench_cases.ppo_settings()
    slots = settings["num_envs"] * 2  # CoopSLCD: two agents, one slot each
    args = bench_cases.sb3_arguments(settings, slots)
    # PPOConfig: 16 instances x 2 agents x 128 steps = 4096 samples in 4 minibatches
    assert args["batch_size"] == 16 * 2 * 128 // 4 == 1024
    assert args["n_epochs"] == 4 and args["n_steps"] == 128
    assert args["clip_range_vf"] == 0.2  # clip_vloss=True clips the value loss at clip_coef
    assert args["policy_kwargs"]["net_arch"] == {"pi": [64, 64], "vf": [64, 64]}
    assert args["policy_kwargs"]["log_std_init"] == -0.5
    assert settings["anneal_lr"] is False  # SB3 keeps a float learning rate constant


def test_scaling_sizes_and_plot(tmp_path):
    assert sizes_up_to(4096) == [1, 4, 16, 64, 256, 1024, 4096]
    assert sizes_up_to(100) == [1, 4, 16, 64, 100]
    result = {
        "date": "2026-12-07T00:00:00+00:00",
        "machine": {"cpus": 2},
        "load_average": {"before": [1.0, 1.0, 1.0], "after": [1.0, 1.0, 1.0]},
        "curves": {"toy": {"env_id": "rewardlab/Toy-v0", "points": [
            {"instances": 1, "env_steps_per_s": {"cpu": 10.0, "wall": 9.0}},
            {"instances": 4, "env_steps_per_s": {"cpu": 35.0, "wall": 30.0}},
        ]}},
    }
    path = tmp_path / "scaling.png"
    plot_scaling(result, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
