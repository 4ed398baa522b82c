"""PPO learns, is deterministic under a seed, and resumes from a checkpoint bit for bit."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from toy_sims import ToyGameSim, ToyGridSim
from tracking_sim import TrackingSim

import rewardlab
from rewardlab.agents import MAPPO, PPO, PPOConfig, resolve_device, train_and_evaluate
from rewardlab.core.errors import RewardlabError

#: the best an observation-blind (constant) policy earns on TrackingSim: 8 steps * 2 dims * var(U(-.8, .8))
CONSTANT_POLICY_RETURN = -8 * 2 * 0.8**2 / 3
FAST = {"num_steps": 32, "learning_rate": 1e-3, "init_log_std": -1.0}


@pytest.mark.parametrize(
    "settings",
    [{"policy": "mlp"}, {"policy": "lpn", "phase_index": -1}, {"distribution": "beta", "init_log_std": 0.0}],
    ids=["mlp-gaussian", "lpn", "mlp-beta"],
)
def test_ppo_learns_tracking_to_threshold(settings):
    """20k instance-steps (about 5 CPU-seconds): tracking error below 1/7 of a blind policy's."""
    agent = PPO(TrackingSim(num_envs=16), {**FAST, **settings}, seed=0)
    before = agent.evaluate(episodes=32)["return"]
    agent.learn(16 * 32 * 40)
    after = agent.evaluate(episodes=32)["return"]
    assert before < CONSTANT_POLICY_RETURN + 0.5  # the untrained policy is no better than blind
    assert after > -0.5, f"PPO reached only {after:.3f} (blind policy {CONSTANT_POLICY_RETURN:.3f})"


def test_ppo_learns_discrete_grid():
    """ToyGridSim: walking right is optimal (return ~0.975); a uniform random walk gets ~0.83."""
    agent = PPO(ToyGridSim(num_envs=16), {"num_steps": 32}, seed=0)
    random_return = agent.evaluate(episodes=64, deterministic=False)["return"]
    agent.learn(16 * 32 * 30)
    trained = agent.evaluate(episodes=64)
    assert random_return < 0.9
    assert trained["return"] > 0.96
    assert trained["length"] < 3.0


def params_of(agent: PPO) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in agent.model.state_dict().items()}


def assert_same_params(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


SMOOTH = {"num_steps": 14, "jacobian_penalty": 0.1, "caps_temporal": 0.1, "caps_spatial": 0.1}


@pytest.mark.parametrize(
    "agent_cls, sim_cls, settings",
    [
        (PPO, TrackingSim, {"num_steps": 16, "policy": "lpn", "phase_index": -1, "jacobian_penalty": 0.1}),
        (MAPPO, ToyGameSim, {**SMOOTH, "lipschitz_penalty": 0.002}),
        (PPO, ToyGridSim, {"num_steps": 16}),
        (PPO, TrackingSim, {"num_steps": 16, "num_minibatches": 2}),
        (PPO, TrackingSim, {"num_steps": 16, "num_minibatches": 2, "backend": "fast"}),
        (MAPPO, ToyGameSim, {"num_steps": 16, "backend": "fast"}),
    ],
    ids=["ppo-lpn", "mappo-penalties", "ppo-discrete", "ppo-mlp-gaussian", "ppo-fast", "mappo-fast"],
)
def test_training_is_deterministic_under_a_seed(agent_cls, sim_cls, settings):
    runs = []
    for seed in (3, 3, 4):
        agent = agent_cls(sim_cls(num_envs=4), settings, seed=seed).learn(4 * 16 * 3)
        runs.append((params_of(agent), [c["policy_loss"] for c in agent.curve]))
    assert_same_params(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert any(not torch.equal(runs[0][0][k], runs[2][0][k]) for k in runs[0][0])


@pytest.mark.parametrize(
    "agent_cls, sim_cls, settings",
    [
        (PPO, TrackingSim, {"num_steps": 16, "policy": "lpn", "phase_index": -1, "jacobian_penalty": 0.1}),
        (MAPPO, ToyGameSim, SMOOTH),
        (PPO, ToyGridSim, {"num_steps": 16}),
        (MAPPO, "rewardlab/CoopSLCD-v0", {"num_steps": 16}),
        (PPO, "rewardlab/CoopSLCD-v0", {"num_steps": 16, "minibatch_size": 16, "update_epochs": 3}),
        (PPO, "rewardlab/CoopSLCD-v0", {"num_steps": 16, "minibatch_size": 16, "update_epochs": 3, "backend": "fast"}),
        (MAPPO, "rewardlab/CoopSLCD-v0", {"num_steps": 16, "backend": "fast"}),
    ],
    ids=["ppo-lpn", "mappo-penalties", "ppo-discrete", "mappo-coop-slcd", "ppo-coop-slcd", "ppo-coop-slcd-fast",
         "mappo-coop-slcd-fast"],
)
def test_checkpoint_resume_is_bit_for_bit(tmp_path, agent_cls, sim_cls, settings):
    total = 4 * 16 * 4  # four updates
    make = (
        (lambda: rewardlab.make_sim(sim_cls, num_envs=4)) if isinstance(sim_cls, str) else (lambda: sim_cls(num_envs=4))
    )
    whole = agent_cls(make(), settings, seed=7).learn(total)

    first = agent_cls(make(), settings, seed=7)
    first.learn(total, callback=lambda agent, stats: stats["update"] < 2)
    assert first.update == 2
    path = first.save(tmp_path / "ckpt.pt")
    del first
    torch.manual_seed(12345)  # disturb the global RNG: the checkpoint must restore it
    np.random.seed(12345)
    resumed = PPO.load(path)
    assert type(resumed) is agent_cls and resumed.update == 2
    resumed.learn(total)
    assert resumed.update == whole.update == 4
    assert resumed.global_step == whole.global_step
    assert_same_params(params_of(whole), params_of(resumed))
    states_a = whole.optimizer.state_dict()["state"].values()
    states_b = resumed.optimizer.state_dict()["state"].values()
    for group_a, group_b in zip(states_a, states_b, strict=True):
        for key in group_a:
            assert torch.equal(group_a[key], group_b[key])
    np.testing.assert_array_equal(whole._obs, resumed._obs)


def test_train_and_evaluate_contract(tmp_path):
    result = train_and_evaluate(
        "toy_sims:ToyGameSim",
        algo="mappo",
        reward="cooperative",
        env_kwargs={"horizon": 5},
        agent_kwargs={"num_envs": 4, "num_steps": 10},
        total_steps=120,
        seed=0,
        eval_episodes=3,
        log_dir=tmp_path / "run",
    )
    # the env's episode metrics, plus timings
    for key in ("return", "return_per_agent", "length", "final_mean_action", "train_time_s", "update_time_s"):
        assert key in result.metrics and np.isfinite(result.metrics[key]), key
    assert result.metrics["length"] == 5.0
    assert [p["step"] for p in result.curve] == [40, 80, 120]
    assert all("return" in p for p in result.curve)
    for name in ("config.json", "curve.json", "metrics.json", "checkpoint.pt"):
        assert (tmp_path / "run" / name).exists()
    agent = PPO.load(result.checkpoint)
    assert type(agent) is MAPPO and agent.sim.reward_spec.name == "cooperative"
    assert agent.sim.params.horizon == 5
    again = train_and_evaluate(
        "toy_sims:ToyGameSim",
        algo="mappo",
        reward="cooperative",
        env_kwargs={"horizon": 5},
        agent_kwargs={"num_envs": 4, "num_steps": 10},
        total_steps=120,
        seed=0,
        eval_episodes=3,
    )
    timeless = {k: v for k, v in result.metrics.items() if not k.endswith("_s")}
    assert timeless == {k: v for k, v in again.metrics.items() if not k.endswith("_s")}


def test_bad_settings_raise_clear_errors():
    with pytest.raises(RewardlabError, match="unknown agent setting.*'bogus'.*valid settings are.*'num_steps'"):
        train_and_evaluate("toy_sims:ToyGameSim", agent_kwargs={"bogus": 1}, total_steps=10, seed=0)
    with pytest.raises(RewardlabError, match="unknown algo 'dqn'"):
        train_and_evaluate("toy_sims:ToyGameSim", algo="dqn", total_steps=10, seed=0)
    with pytest.raises(RewardlabError, match="distribution"):
        PPOConfig(distribution="laplace")
    with pytest.raises(RewardlabError, match="Box"):
        PPO(ToyGridSim(num_envs=2), {"jacobian_penalty": 1.0})
    with pytest.raises(RewardlabError, match="phase_index or phase_fn"):
        PPO(ToyGameSim(num_envs=2), {"policy": "lpn"})
    with pytest.raises(RewardlabError, match=r"^ToyGameSim: phase_index 9 outside the observation \(length 4\)"):
        PPO(ToyGameSim(num_envs=2), {"policy": "lpn", "phase_index": 9})


def test_lpn_phase_index_counts_in_the_observation_not_the_agent_id():
    """With n > 1 a one-hot id follows the observation; phase_index=-1 is still the observation's last entry."""
    agent = PPO(ToyGameSim(num_envs=2), {"policy": "lpn", "phase_index": -1}, seed=0)
    assert agent.use_agent_id and agent.obs_dim == 4
    assert agent.model.actor.phase_idx.tolist() == [3]
    assert agent.model.actor.state_idx.tolist() == [0, 1, 2, 4, 5, 6]  # 3 observation entries + 3 id entries


def test_gymnasium_vector_env():
    envs = gym.make_vec(
        "CartPole-v1", num_envs=4, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}
    )
    agent = PPO(envs, {"num_steps": 64}, seed=0).learn(4 * 64 * 3)
    assert agent.curve[-1]["episodes"] > 0 and np.isfinite(agent.curve[-1]["return"])
    next_step = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    with pytest.raises(RewardlabError, match="SAME_STEP"):
        PPO(next_step)


def test_device_auto():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    agent = PPO(ToyGameSim(num_envs=2), {"num_steps": 4}, seed=0, device="auto")
    assert next(agent.model.parameters()).device.type == expected
