"""The smoothness losses against independent computations (finite differences, closed forms)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tracking_sim import TrackingSim

from rewardlab.agents import PPO, penalties
from rewardlab.agents.policies import ActionLayout, LPNActor, MLPActor


@pytest.fixture(autouse=True)
def _double():
    """Finite differences need double precision."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def finite_difference_jacobian(fn, states: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central differences, one input coordinate at a time: (N, m, d)."""
    columns = []
    for j in range(states.shape[1]):
        step = torch.zeros_like(states)
        step[:, j] = eps
        columns.append((fn(states + step) - fn(states - step)) / (2 * eps))
    return torch.stack(columns, dim=-1)


def make_mlp(distribution: str, seed: int = 0) -> MLPActor:
    torch.manual_seed(seed)
    actor = MLPActor(5, ActionLayout("box", 3), distribution, (16, 16), "tanh", 0.0)
    # the output layer starts at gain 0.01; scale it up so the Jacobian is far from zero
    with torch.no_grad():
        actor.net[-1].weight.mul_(100.0)
    return actor


@pytest.mark.parametrize("method", ["vmap", "sum"])
@pytest.mark.parametrize("distribution", ["gaussian", "beta"])
def test_autograd_jacobian_equals_finite_differences(method, distribution):
    actor = make_mlp(distribution)
    states = torch.randn(12, 5, generator=torch.Generator().manual_seed(1))
    jac = penalties.action_jacobian(actor.mean_action, states, method=method)
    with torch.no_grad():
        reference = finite_difference_jacobian(actor.mean_action, states)
    assert jac.shape == (12, 3, 5)
    assert reference.abs().max() > 1e-2  # a non-trivial policy
    torch.testing.assert_close(jac, reference, atol=1e-4, rtol=0)
    penalty = penalties.jacobian_penalty(actor.mean_action, states, method=method)
    assert penalty.item() == pytest.approx(float(reference.pow(2).sum((1, 2)).mean()), abs=1e-4)


def test_jacobian_penalty_gradient_matches_finite_differences_in_a_parameter():
    """The penalty is differentiable in the policy's weights (it is a loss), and correctly so."""
    actor = make_mlp("gaussian")
    states = torch.randn(6, 5, generator=torch.Generator().manual_seed(2))
    weight = actor.net[0].weight
    penalty = penalties.jacobian_penalty(actor.mean_action, states)
    (grad,) = torch.autograd.grad(penalty, weight)
    eps = 1e-6
    for i, j in [(0, 0), (3, 2), (7, 4)]:
        original = weight.data[i, j].item()
        weight.data[i, j] = original + eps
        up = penalties.jacobian_penalty(actor.mean_action, states, method="sum").item()
        weight.data[i, j] = original - eps
        down = penalties.jacobian_penalty(actor.mean_action, states, method="sum").item()
        weight.data[i, j] = original
        assert grad[i, j].item() == pytest.approx((up - down) / (2 * eps), abs=1e-4)


def make_lpn(seed: int = 0) -> LPNActor:
    torch.manual_seed(seed)
    actor = LPNActor(6, ActionLayout("box", 3), (16,), "tanh", 0.0, phase_index=2)
    with torch.no_grad():
        actor.gain_net[-1].weight.mul_(100.0)
    return actor


@pytest.mark.parametrize("method", ["vmap", "sum"])
def test_lpn_analytic_penalty_equals_autograd(method):
    actor = make_lpn()
    x = torch.randn(10, 6, generator=torch.Generator().manual_seed(3))
    mean, gains = actor.forward_with_gains(x)
    s, phi = actor.split(x)
    assert s.shape == (10, 5) and phi.shape == (10, 1)
    torch.testing.assert_close(phi[:, 0], x[:, 2])
    jac = penalties.action_jacobian(actor.mean_of, s, phi, method=method)
    torch.testing.assert_close(jac, gains, atol=1e-10, rtol=0)  # d a / d s is exactly K(phi)
    analytic = penalties.lpn_jacobian_penalty(gains)
    autograd = penalties.jacobian_penalty(actor.mean_of, s, phi, method=method)
    assert analytic.item() == pytest.approx(autograd.item(), rel=1e-10)
    assert analytic.item() > 1e-3
    # and the LPN's action is linear in s at a fixed phase: finite differences agree too
    with torch.no_grad():
        reference = finite_difference_jacobian(lambda s_: actor.mean_of(s_, phi), s)
    torch.testing.assert_close(reference, gains, atol=1e-4, rtol=0)
    torch.testing.assert_close(mean, actor.mean_of(s, phi))


def test_lpn_with_a_phase_function():
    torch.manual_seed(0)
    actor = LPNActor(4, ActionLayout("box", 2), (8,), "tanh", 0.0, phase_fn=lambda x: x[:, :1] ** 2, phase_dim=1)
    x = torch.randn(5, 4)
    mean, gains = actor.forward_with_gains(x)
    assert gains.shape == (5, 2, 4)
    # phi is an input, not differentiated: the Jacobian through autograd is K even though phi(x)
    jac = penalties.action_jacobian(actor.mean_action, x)
    torch.testing.assert_close(jac, gains, atol=1e-10, rtol=0)


def test_lipschitz_penalty_equals_finite_differences():
    actor = make_mlp("gaussian")
    states = torch.randn(8, 5, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        actions = actor.dist(states).sample()

    def log_prob(s):
        return actor.dist(s).log_prob(actions)

    value = penalties.lipschitz_penalty(log_prob, states)
    with torch.no_grad():
        # log pi(a_n | s_n) depends on s_n only: its gradient is a (N, 1, d) "Jacobian"
        grads = finite_difference_jacobian(lambda s: log_prob(s)[:, None], states)[:, 0]
    assert value.item() == pytest.approx(grads.pow(2).sum(1).mean().item(), rel=1e-5)


def test_caps_losses():
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0], [3.0, 4.0]])
    b = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    assert float(penalties.caps_temporal(a, b)) == pytest.approx((1.0 + 0.0 + 5.0) / 3)
    valid = torch.tensor([True, True, False])
    assert float(penalties.caps_temporal(a, b, valid)) == pytest.approx(0.5)
    # spatial: a linear map W has ||W eps|| with E = sigma * E||W z||; check against numpy sampling
    torch.manual_seed(0)
    W = torch.tensor([[2.0, 0.0], [0.0, 0.5]])
    states = torch.zeros(200_000, 2)
    value = float(penalties.caps_spatial(lambda s: s @ W.T, states, sigma=0.1))
    z = np.random.default_rng(0).normal(size=(200_000, 2)) @ W.numpy().T
    assert value == pytest.approx(0.1 * np.linalg.norm(z, axis=1).mean(), rel=1e-2)


@pytest.mark.parametrize("policy", [{"policy": "mlp"}, {"policy": "lpn", "phase_index": -1}], ids=["mlp", "lpn"])
def test_jacobian_penalty_makes_the_trained_policy_smoother(policy):
    """The penalty is wired into PPO's loss: with lambda = 1 the learned ||da/ds||_F^2 shrinks.

    TrackingSim's optimal policy is a = target (d a / d target = I); 7.7k steps of training bring
    the unpenalised policy to ||J||_F^2 ~ 0.5 on normalised inputs and the penalised one to ~0.2.
    """
    torch.set_default_dtype(torch.float32)  # PPO trains in float32 (the fixture restores the default)
    norms = []
    for weight in (0.0, 1.0):
        settings = {"num_steps": 32, "learning_rate": 1e-3, "init_log_std": -1.0, "jacobian_penalty": weight, **policy}
        agent = PPO(TrackingSim(num_envs=16), settings, seed=0).learn(16 * 32 * 15)
        x, _ = agent._inputs(agent.sim.reset(seed=5), update_norm=False)
        jac = penalties.action_jacobian(agent.model.actor.mean_action, x)
        norms.append(jac.pow(2).sum((1, 2)).mean().item())
    assert norms[0] > 0.3  # the unpenalised policy does follow its observation
    assert norms[1] < 0.6 * norms[0], norms
