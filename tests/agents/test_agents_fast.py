"""``PPOConfig(backend="fast")`` computes what the reference PPO computes.

The hand-written gradient equals autograd's gradient of the reference loss; a whole fast update
equals a reference update from the same batch; the NumPy rollout equals the reference rollout from
the same random draws (up to float32 rounding); the flat-vector Adam equals torch.optim.Adam over
the separate parameters; and the fast backend's training curve stays close to the reference's.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from toy_sims import ToyGameSim
from tracking_sim import TrackingSim

import rewardlab
from rewardlab.agents import MAPPO, PPO
from rewardlab.agents import fast as fast_backend
from rewardlab.agents.fast.rollout import HostNorm
from rewardlab.agents.fast.update import FlatParameters, flat_adam
from rewardlab.agents.policies import RunningNorm
from rewardlab.agents.ppo import gae
from rewardlab.core.errors import RewardlabError


def with_advantages(agent: PPO, batch: dict[str, torch.Tensor], next_value: torch.Tensor) -> dict[str, torch.Tensor]:
    cfg = agent.config
    batch["advantages"] = gae(batch["rewards"], batch["values"], batch["dones"], next_value, cfg.gamma, cfg.gae_lambda)
    batch["returns"] = batch["advantages"] + batch["values"]
    return batch


def reference_twin(agent: PPO) -> PPO:
    """A reference agent with the fast agent's settings, parameters, statistics and a copy of its simulator."""
    twin = type(agent)(
        copy.deepcopy(agent.sim), {**_settings(agent), "backend": "reference"}, seed=agent.seed, _reset=False
    )
    twin.model.load_state_dict(agent.model.state_dict())
    twin._obs = agent._obs
    return twin


def _settings(agent: PPO) -> dict:
    return {
        key: getattr(agent.config, key)
        for key in (
            "num_steps",
            "activation",
            "clip_vloss",
            "ent_coef",
            "hidden_sizes",
            "critic_hidden_sizes",
            "norm_adv",
            "learning_rate",
            "update_epochs",
            "num_minibatches",
            "minibatch_size",
        )
    }


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
def test_handwritten_gradient_equals_autograd_of_the_reference_loss(agent_cls, sim, settings):
    cfg = {
        "num_steps": 16,
        "learning_rate": 0.05,
        "update_epochs": 2,
        "num_minibatches": 2,
        "backend": "fast",
        **settings,
    }
    agent = agent_cls(sim, cfg, seed=0)
    # equal hidden layers on one input: actor and critic run as one batched pair
    assert agent.fast.step.paired == (agent_cls is PPO and "critic_hidden_sizes" not in settings)
    batch = with_advantages(agent, *agent.fast.rollout()[:2])
    agent.fast.update(batch)  # a large step away from the rollout's policy: ratios leave the clip range
    T, N = batch["logp"].shape
    idx = torch.randperm(T * N, generator=torch.Generator().manual_seed(1))[:64]
    flat = {name: value.reshape(T * N, *value.shape[2:]) for name, value in batch.items()}
    mb = {name: value[idx] for name, value in flat.items()}
    col = {name: mb[name].unsqueeze(-1) for name in ("logp", "values", "advantages", "returns")}
    step, grads = agent.fast.step, agent.fast.flat
    step.begin_update(1, 64, agent.device)
    step(
        mb["obs"],
        mb["state"],
        mb["actions"],
        col["logp"],
        col["values"],
        col["advantages"],
        col["returns"],
        agent.config,
    )
    terms = step.finish_update(agent.config)
    hand_grad = grads.grad.clone()
    grads.grad.zero_()
    reference = agent._loss(mb, idx, flat, N)  # the reference loss on the same parameters
    reference["loss"].backward()  # accumulates into the parameters' .grad: views of the flat gradient
    auto_grad = grads.grad.clone()
    assert 0.0 < terms["clipfrac"] < 1.0  # both branches of the clipped surrogate are exercised
    for name in ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac"):
        assert terms[name] == pytest.approx(float(reference[name].detach()), rel=1e-5, abs=1e-7), name
    assert torch.isfinite(hand_grad).all()
    torch.testing.assert_close(hand_grad, auto_grad, rtol=1e-4, atol=1e-6)
    assert hand_grad.abs().max() > 1e-3


@pytest.mark.parametrize("clip_vloss", [True, False])
def test_a_fast_update_equals_a_reference_update(clip_vloss):
    """A whole update (minibatches of unequal size: 96 samples in 40 + 40 + 16) reports the
    reference's statistics and moves the parameters as the reference's autograd and Adam do."""
    settings = {"num_steps": 16, "minibatch_size": 40, "update_epochs": 2, "clip_vloss": clip_vloss, "ent_coef": 0.01}
    agent = PPO(TrackingSim(num_envs=6), {**settings, "backend": "fast"}, seed=0)
    twin = reference_twin(agent)
    twin_start = {name: p.detach().clone() for name, p in twin.model.named_parameters()}
    batch = with_advantages(agent, *agent.fast.rollout()[:2])
    torch.manual_seed(1)  # the same minibatch order for both
    fast_stats = agent.fast.update(batch)
    torch.manual_seed(1)
    reference_stats = twin._update(batch)
    assert fast_stats.keys() == reference_stats.keys()
    for name in fast_stats:
        assert fast_stats[name] == pytest.approx(reference_stats[name], rel=1e-4, abs=1e-6), name
    for (name, a), b in zip(agent.model.named_parameters(), twin.model.parameters(), strict=True):
        assert not torch.equal(a, twin_start[name]), name
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("agent_cls, sim_cls", [(PPO, TrackingSim), (MAPPO, ToyGameSim)], ids=["ppo", "mappo"])
def test_the_numpy_rollout_equals_the_reference_rollout(agent_cls, sim_cls):
    """From the same parameters and the same torch random draws, the NumPy rollout gives the
    reference rollout's batch up to float32 rounding."""
    agent = agent_cls(sim_cls(num_envs=4), {"num_steps": 12, "backend": "fast"}, seed=5)
    twin = reference_twin(agent)
    torch.manual_seed(9)
    fast_batch, fast_next, fast_stats = agent.fast.rollout()
    torch.manual_seed(9)
    ref_batch, ref_next, ref_stats = twin._rollout()
    for name in ("obs", "state", "actions", "logp", "values", "rewards", "dones"):
        torch.testing.assert_close(fast_batch[name], ref_batch[name], rtol=1e-4, atol=1e-5, msg=name)
    torch.testing.assert_close(fast_next, ref_next, rtol=1e-4, atol=1e-5)
    assert fast_stats.keys() == ref_stats.keys()
    np.testing.assert_allclose(list(fast_stats.values()), list(ref_stats.values()), rtol=1e-6)
    assert not torch.equal(fast_batch["values"], ref_batch["values"])  # two different computations
    torch.testing.assert_close(agent.model.obs_norm.mean, twin.model.obs_norm.mean, rtol=1e-12, atol=1e-12)


def test_fast_training_stays_close_to_the_reference_on_a_coopetition_game():
    """The quick study's setting on one game: 8 updates of both backends from one seed; the
    policies' evaluation welfare agrees to 0.1 % and the per-update losses to 1e-3."""
    results = []
    for backend in ("fast", "reference"):
        sim = rewardlab.make_sim("rewardlab/CoopTrustDilemma-v0", num_envs=16)
        agent = PPO(sim, {"num_steps": 32, "learning_rate": 0.003, "backend": backend}, seed=0).learn(16 * 32 * 8)
        results.append((agent.evaluate(4), [c["value_loss"] for c in agent.curve]))
    (fast_eval, fast_curve), (ref_eval, ref_curve) = results
    assert fast_eval["welfare"] == pytest.approx(ref_eval["welfare"], rel=1e-3)
    np.testing.assert_allclose(fast_curve, ref_curve, rtol=1e-3)


def test_flat_adam_with_clipping_equals_torch_adam_over_separate_parameters():
    """Clipping the flat gradient by its norm, then one Adam step on the flat vector, equals
    clip_grad_norm_ then torch.optim.Adam over the separate parameters, over 25 steps."""
    torch.manual_seed(0)
    shapes = [(5, 3), (5,), (2, 5), (2,)]
    ref_params = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    ours_params = [torch.nn.Parameter(p.detach().clone()) for p in ref_params]
    reference = torch.optim.Adam(ref_params, lr=3e-3, eps=1e-5, foreach=False)
    flat = FlatParameters(ours_params)
    ours = flat_adam(flat, lr=3e-3, eps=1e-5)
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
        flat.grad.div_(flat.clip_divisor(1.0))
        ours.step()
    assert clipped_steps >= 10
    for a, b in zip(ref_params, ours_params, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=1e-6)
    # the flat state, split per parameter, is torch.optim.Adam's state over the separate parameters
    split = fast_backend.adam_state(ours.state_dict(), reference, ref_params)
    state = reference.state_dict()["state"]
    for i in range(len(shapes)):
        torch.testing.assert_close(split["state"][i]["exp_avg_sq"], state[i]["exp_avg_sq"], rtol=1e-5, atol=1e-9)
        assert float(split["state"][i]["step"]) == 25.0
    assert split["param_groups"][0]["lr"] == 1e-3


def test_flat_parameters_are_the_modules_parameters_and_grads():
    agent = PPO(TrackingSim(num_envs=4), {"num_steps": 8, "backend": "fast"}, seed=0)
    flat = agent.fast.flat
    before = {name: p.detach().clone() for name, p in agent.model.named_parameters()}
    agent.train_one_update(1)
    for name, p in agent.model.named_parameters():
        assert p.data_ptr() in range(flat.data.data_ptr(), flat.data.data_ptr() + flat.data.numel() * 4), name
        assert not torch.equal(p.detach(), before[name]), name  # Adam moved it through the flat vector
    assert sum(p.numel() for p in agent.model.parameters()) == flat.data.numel()


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


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"policy": "lpn", "phase_index": -1}, "policy='lpn'"),
        ({"distribution": "beta"}, "distribution='beta'"),
        ({"activation": "elu"}, "activation='elu'"),
        ({"caps_spatial": 0.1}, "caps_spatial=0.1"),
    ],
)
def test_the_fast_backend_names_what_it_cannot_run(settings, named):
    with pytest.raises(RewardlabError, match=f"backend='fast' cannot run {named}"):
        PPO(TrackingSim(num_envs=2), {**settings, "backend": "fast"}, seed=0)
