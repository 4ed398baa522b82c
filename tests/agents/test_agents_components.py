"""PPO's parts against independent computations: the closed-form Beta (torch.distributions and
SciPy), GAE (a per-sample loop in double precision), the first minibatch of an update (the
rollout's own policy), and the mapping of discrete actions onto each factor's start."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from toy_sims import ToyGameSim
from tracking_sim import TrackingSim

from rewardlab.agents import MAPPO, PPO
from rewardlab.agents.distributions import BetaDist
from rewardlab.agents.ppo import gae


def test_beta_closed_forms_equal_torch_distributions_and_scipy():
    torch.manual_seed(0)
    alpha = (1.0 + 5.0 * torch.rand(200, 3)).requires_grad_()
    beta = 1.0 + 5.0 * torch.rand(200, 3)
    ours = BetaDist(alpha, beta)
    ref = torch.distributions.Beta(alpha, beta, validate_args=False)
    torch.manual_seed(1)
    draws = ours.sample()
    torch.manual_seed(1)
    assert torch.equal(draws, ref.sample().clamp(1e-6, 1 - 1e-6))  # same sampler, same draws
    x = torch.rand(200, 3)
    assert torch.equal(ours.log_prob(x), ref.log_prob(x.clamp(1e-6, 1 - 1e-6)).sum(-1))
    assert torch.equal(ours.entropy(), ref.entropy().sum(-1))
    grad_ours = torch.autograd.grad(ours.log_prob(x).sum(), alpha)[0]
    grad_ref = torch.autograd.grad(ref.log_prob(x).sum(), alpha)[0]
    assert torch.equal(grad_ours, grad_ref)
    a, b, xs = (t.detach().double().numpy() for t in (alpha, beta, x))
    np.testing.assert_allclose(ours.log_prob(x).detach().numpy(), stats.beta.logpdf(xs, a, b).sum(-1), atol=1e-4)
    np.testing.assert_allclose(ours.entropy().detach().numpy(), stats.beta.entropy(a, b).sum(-1), atol=1e-4)


def test_gae_equals_a_per_sample_loop():
    gen = torch.Generator().manual_seed(0)
    T, N = 6, 3
    rewards, values = torch.randn(T, N, generator=gen), torch.randn(T, N, generator=gen)
    dones = (torch.rand(T, N, generator=gen) < 0.3).float()
    next_value = torch.randn(N, generator=gen)
    got = gae(rewards, values, dones, next_value, gamma=0.9, gae_lambda=0.8)
    r, v, d, nv = (t.double().numpy() for t in (rewards, values, dones, next_value))
    expected = np.zeros((T, N))
    for i in range(N):  # the textbook recursion, one sample at a time, in double precision
        running = 0.0
        for t in reversed(range(T)):
            following = nv[i] if t == T - 1 else v[t + 1, i]
            delta = r[t, i] + 0.9 * following * (1 - d[t, i]) - v[t, i]
            running = delta + 0.9 * 0.8 * (1 - d[t, i]) * running
            expected[t, i] = running
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


@pytest.mark.parametrize(
    "agent_cls, sim, settings",
    [(PPO, TrackingSim(num_envs=4), {"num_steps": 8}), (MAPPO, ToyGameSim(num_envs=4), {"num_steps": 8})],
    ids=["ppo", "mappo"],
)
def test_first_minibatch_sees_the_rollout_policy(agent_cls, sim, settings):
    """Before the first optimiser step the update's log-probs and values are the rollout's own
    (the minibatch gather pairs every field with its sample): ratio 1, value error 0, zero KL."""
    agent = agent_cls(sim, {**settings, "num_minibatches": 1, "update_epochs": 1, "learning_rate": 0.0}, seed=0)
    batch, next_value, _ = agent._rollout()
    cfg = agent.config
    batch["advantages"] = gae(batch["rewards"], batch["values"], batch["dones"], next_value, cfg.gamma, cfg.gae_lambda)
    batch["returns"] = batch["advantages"] + batch["values"]
    stats = agent._update(batch)
    assert stats["approx_kl"] == pytest.approx(0.0, abs=1e-7)
    assert stats["clipfrac"] == 0.0
    returns, values = batch["returns"].flatten().double(), batch["values"].flatten().double()
    assert stats["value_loss"] == pytest.approx(float(0.5 * (returns - values).pow(2).mean()), rel=1e-5)


def test_multidiscrete_env_trains_and_maps_actions_with_each_factors_start():
    """A registered MultiDiscrete game (5 agents, 3 factors): the rollout, update and evaluation
    run, actions land in every agent's space, and _to_env adds each factor's start."""
    import rewardlab

    sim = rewardlab.make_sim("rewardlab/CommonsFishery-v0", num_envs=2)
    agent = PPO(sim, {"num_steps": 8}, seed=0).learn(2 * 8 * 2)
    assert agent.update == 2 and np.isfinite(agent.curve[-1]["policy_loss"])
    obs = sim.reset(seed=3)
    actions = agent.predict(obs)
    assert actions.shape == (2, sim.num_agents, 3) and actions.dtype == np.int64
    assert all(space.contains(actions[b, i]) for b in range(2) for i, space in enumerate(sim.action_spaces))
    indices = torch.tensor([[0, 1, 2]] * (2 * sim.num_agents))
    agent.action_start = np.tile(np.array([5, -1, 2]), (sim.num_agents, 1))  # as a space with start=(5, -1, 2)
    np.testing.assert_array_equal(agent._to_env(indices)[1, 4], [5, 0, 4])
