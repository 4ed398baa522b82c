"""The hand-written PPO gradient and the flat-vector optimiser compute what autograd and
torch.optim compute (rewardlab/agents/handgrad.py); the sigmoid form of tanh and the rollout's
NumPy normaliser stay within their stated tolerances."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from toy_sims import ToyGameSim
from tracking_sim import TrackingSim

from rewardlab.agents import MAPPO, PPO
from rewardlab.agents.handgrad import FlatAdam, FlatParameters
from rewardlab.agents.policies import TANH_VIA_SIGMOID_MIN_NUMEL, HostNorm, RunningNorm, tanh_


def minibatch(agent: PPO, batch: dict[str, torch.Tensor], size: int, seed: int) -> tuple[dict, torch.Tensor]:
    """Rows ``idx`` of every field of the batch (the critic reads obs when there is no state)."""
    T, N = batch["logp"].shape
    idx = torch.randperm(T * N, generator=torch.Generator().manual_seed(seed))[:size]
    mb = {name: value.reshape(T * N, *value.shape[2:])[idx] for name, value in batch.items()}
    mb.setdefault("state", mb["obs"])
    return mb, idx


@pytest.mark.parametrize(
    "agent_cls, sim, settings",
    [
        (PPO, TrackingSim(num_envs=6), {"activation": "tanh", "clip_vloss": True}),
        (PPO, TrackingSim(num_envs=6), {"activation": "relu", "clip_vloss": False, "ent_coef": 0.01}),
        (PPO, TrackingSim(num_envs=6), {"hidden_sizes": (16,), "critic_hidden_sizes": (8, 8, 8), "norm_adv": False}),
        (MAPPO, ToyGameSim(num_envs=6), {"activation": "tanh", "ent_coef": 0.02}),  # central critic: separate state
    ],
    ids=["tanh-clipped-value", "relu-entropy", "uneven-depths", "mappo"],
)
def test_handwritten_gradient_equals_autograd(agent_cls, sim, settings):
    cfg = {"num_steps": 16, "learning_rate": 0.05, "update_epochs": 2, "num_minibatches": 2, **settings}
    agent = agent_cls(sim, cfg, seed=0)
    assert agent._handgrad is not None
    # equal hidden layers on one input: actor and critic run as one batched pair
    assert agent._handgrad.paired == (agent_cls is PPO and "critic_hidden_sizes" not in settings)
    batch, _ = agent._rollout()
    agent._update(batch)  # a large step away from the rollout's policy: ratios leave the clip range
    mb, idx = minibatch(agent, batch, 64, seed=1)
    col = {name: mb[name].unsqueeze(-1) for name in ("logp", "values", "advantages", "returns")}
    agent._handgrad.begin_update(1, 64, agent.device)
    agent._handgrad(mb["obs"], mb["state"], mb["actions"], col["logp"], col["values"], col["advantages"], col["returns"], agent.config)
    terms = agent._handgrad.finish_update(agent.config)
    hand_grad = agent.flat.grad.clone()
    agent.flat.grad.fill_(float("nan"))  # the hand-written step must overwrite every element
    ref = agent._autograd_loss(mb, idx, None, "vmap", False, 0, 0)
    auto_grad = agent.flat.grad.clone()
    assert 0.0 < terms["clipfrac"] < 1.0  # both branches of the clipped surrogate are exercised
    for name in ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac"):
        assert terms[name] == pytest.approx(float(ref[name].detach()), rel=1e-5, abs=1e-7), name
    assert torch.isfinite(hand_grad).all()
    torch.testing.assert_close(hand_grad, auto_grad, rtol=1e-4, atol=1e-6)
    assert hand_grad.abs().max() > 1e-3


def test_flat_parameters_are_the_modules_parameters_and_grads():
    agent = PPO(TrackingSim(num_envs=4), {"num_steps": 8, "policy": "lpn", "phase_index": -1, "jacobian_penalty": 0.1}, seed=0)
    assert agent._handgrad is None  # the LPN and the penalty go through autograd
    flat = agent.flat
    start, end = flat.grad.data_ptr(), flat.grad.data_ptr() + flat.grad.numel() * flat.grad.element_size()
    before = {name: p.detach().clone() for name, p in agent.model.named_parameters()}
    agent._update(agent._rollout()[0])
    for name, p in agent.model.named_parameters():
        assert start <= p.grad.data_ptr() < end, name  # autograd accumulated into the flat gradient
        assert p.data_ptr() in range(flat.data.data_ptr(), flat.data.data_ptr() + flat.data.numel() * 4), name
        assert not torch.equal(p.detach(), before[name]), name  # Adam moved it through the flat vector
    assert sum(p.numel() for p in agent.model.parameters()) == flat.data.numel()


@pytest.mark.parametrize("fused", [True, False], ids=["fused-kernel", "seven-ops"])
def test_flat_adam_with_clipping_equals_torch_and_loads_its_state(fused):
    """FlatAdam.step(clip_divisor) == clip_grad_norm_ then torch.optim.Adam, over 25 steps."""
    torch.manual_seed(0)
    shapes = [(5, 3), (5,), (2, 5), (2,)]
    ref_params = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    ours_params = [torch.nn.Parameter(p.detach().clone()) for p in ref_params]
    reference = torch.optim.Adam(ref_params, lr=3e-3, eps=1e-5, foreach=False)
    flat = FlatParameters(ours_params)
    ours = FlatAdam(flat, lr=3e-3, eps=1e-5)
    ours._fused = fused and ours._fused
    clipped_steps = 0
    for step in range(25):
        grads = [torch.randn(s) * (0.1 if step % 2 else 3.0) for s in shapes]  # clipped every other step
        for p, g in zip(ref_params, grads, strict=True):
            p.grad = g.clone()
        for p, g in zip(ours_params, grads, strict=True):
            flat.grad_of(p).copy_(g)
        if step == 10:  # annealing writes the learning rate into the first param group
            reference.param_groups[0]["lr"] = ours.param_groups[0]["lr"] = 1e-3
        norm = torch.nn.utils.clip_grad_norm_(ref_params, 1.0, foreach=False)
        clipped_steps += int(norm > 1.0)
        reference.step()
        ours.step(flat.clip_divisor(1.0))
    assert clipped_steps >= 10
    for a, b in zip(ref_params, ours_params, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=1e-6)
    # a checkpoint written by torch.optim.Adam over the separate parameters (checkpoint format 1)
    restored = FlatAdam(FlatParameters([torch.nn.Parameter(p.detach().clone()) for p in ref_params]), lr=0.0)
    restored.load_state_dict(reference.state_dict())
    assert restored.step_count == 25 and restored.param_groups[0]["lr"] == 1e-3
    state = reference.state_dict()["state"]
    assert torch.equal(restored.exp_avg, torch.cat([state[i]["exp_avg"].reshape(-1) for i in range(4)]))
    again = FlatAdam(FlatParameters([torch.nn.Parameter(p.detach().clone()) for p in ref_params]), lr=0.0)
    again.load_state_dict(ours.state_dict())
    assert torch.equal(again.exp_avg_sq, ours.exp_avg_sq) and again.step_count == 25


def test_tanh_via_sigmoid_is_within_stated_tolerance_of_torch_tanh():
    """policies.tanh_ (2 sigmoid(2y) - 1 on large tensors): values within 2.5e-7 and the
    derivative within 5e-7 of the exact tanh, in and out of autograd; small tensors are torch.tanh."""
    ramp = torch.linspace(-30.0, 30.0, 400_000)
    tiny = torch.logspace(-12.0, 1.0, 50_000)
    y = torch.cat([ramp, tiny, -tiny]).reshape(-1, 100)
    assert y.numel() >= TANH_VIA_SIGMOID_MIN_NUMEL
    exact = torch.tanh(y.double())
    with torch.no_grad():
        fast = tanh_(y.clone())
    assert (fast.double() - exact).abs().max() <= 2.5e-7
    leaf = y.clone().requires_grad_()
    fast_grad_mode = tanh_(leaf * 1.0)  # autograd through the sigmoid form
    assert torch.equal(fast_grad_mode.detach(), fast)
    (grad,) = torch.autograd.grad(fast_grad_mode.sum(), leaf)
    assert (grad.double() - (1.0 - exact**2)).abs().max() <= 5e-7
    # the hand-written backward's rule: 1 - h^2 with h the computed value
    assert (torch.ops.aten.tanh_backward(torch.ones_like(fast), fast).double() - (1.0 - exact**2)).abs().max() <= 5e-7
    small = torch.randn(16, 64)
    with torch.no_grad():
        assert torch.equal(tanh_(small.clone()), torch.tanh(small))
    # the sigmoid form is not torch.tanh bit for bit (else this test would not be needed)
    assert not torch.equal(fast, torch.tanh(y))


def test_host_normaliser_matches_running_norm():
    torch.manual_seed(0)
    module, reference = RunningNorm(5), RunningNorm(5)
    host = HostNorm(module)
    for _ in range(20):
        x = (3.0 + 2.0 * torch.randn(16, 5)).double()
        host.update(x.numpy())
        reference.update(x)
    host.store(module)
    torch.testing.assert_close(module.mean, reference.mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(module.var, reference.var, rtol=1e-12, atol=1e-12)
    assert float(module.count) == float(reference.count)
    x = 10.0 * torch.randn(32, 5)
    out = np.empty((32, 5), dtype=np.float32)
    host.normalize(x.double().numpy(), out)
    assert torch.equal(torch.from_numpy(out), module(x))  # the same IEEE operations: the same bits
    assert out.max() == 10.0 or out.min() == -10.0  # clipped at +-10


@pytest.mark.parametrize("agent_cls, sim_cls", [(PPO, TrackingSim), (MAPPO, ToyGameSim)], ids=["ppo", "mappo"])
def test_numpy_rollout_policy_matches_the_torch_one(monkeypatch, agent_cls, sim_cls):
    """The CPU rollout's NumPy forward (small batches) and the torch forward give the same batch
    up to float32 rounding, from the same torch random draws."""
    import rewardlab.agents.ppo as ppo_module

    batches = []
    for work in (ppo_module.NUMPY_POLICY_MAX_WORK, 0):  # NumPy, then torch
        monkeypatch.setattr(ppo_module, "NUMPY_POLICY_MAX_WORK", work)
        agent = agent_cls(sim_cls(num_envs=4), {"num_steps": 12}, seed=5)
        batches.append(agent._rollout()[0])
    numpy_batch, torch_batch = batches
    for name in ("obs", "actions", "logp", "values", "advantages"):
        torch.testing.assert_close(numpy_batch[name], torch_batch[name], rtol=1e-4, atol=1e-5, msg=name)
    assert not torch.equal(numpy_batch["values"], torch_batch["values"])  # two different computations


def test_paired_layout_loads_a_torch_adam_state_by_parameter():
    """With actor and critic paired the flat order differs from model.parameters(); an optimizer
    state saved by torch.optim.Adam (checkpoint format 1) still lands on the right parameters."""
    agent = PPO(TrackingSim(num_envs=2), {"num_steps": 4}, seed=0)
    assert agent._handgrad.paired
    params = list(agent.model.parameters())
    assert [id(p) for p in agent.flat.params] != [id(p) for p in params]
    reference = torch.optim.Adam(params, lr=1e-3)
    for i, p in enumerate(params):
        p.grad = torch.full_like(p, float(i + 1))  # a different gradient per parameter
    reference.step()
    agent.optimizer.load_state_dict(reference.state_dict())
    state = reference.state_dict()["state"]
    for i, p in enumerate(params):
        start, end = agent.flat.offsets[id(p)]
        assert torch.equal(agent.optimizer.exp_avg[start:end], state[i]["exp_avg"].reshape(-1))


@pytest.mark.parametrize("clip_vloss", [True, False])
def test_update_statistics_equal_the_autograd_path(clip_vloss):
    """A whole update (minibatches of unequal size: 96 samples in 40 + 40 + 16) reports the
    statistics that the autograd path reports, and moves the parameters the same way."""
    settings = {"num_steps": 16, "minibatch_size": 40, "update_epochs": 2, "clip_vloss": clip_vloss, "ent_coef": 0.01}
    results = []
    for hand_written in (True, False):
        agent = PPO(TrackingSim(num_envs=6), settings, seed=0)
        assert agent._handgrad is not None
        if not hand_written:
            agent._handgrad = None
        batch, _ = agent._rollout()
        torch.manual_seed(1)  # the same minibatch order for both
        stats = agent._update(batch)
        results.append((stats, agent.flat.data.clone()))
    (hand, hand_params), (auto, auto_params) = results
    assert hand.keys() == auto.keys()
    for name in hand:
        assert hand[name] == pytest.approx(auto[name], rel=1e-4, abs=1e-6), name
    torch.testing.assert_close(hand_params, auto_params, rtol=1e-4, atol=1e-6)
