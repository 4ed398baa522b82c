"""``PPOConfig(backend="fast")``: the same PPO as :mod:`rewardlab.agents.ppo`, with less overhead
per torch call for the small networks and batches of rewardlab's multi-agent games.

=====================  ==========================================================================
part                   what it does instead of the reference
=====================  ==========================================================================
rollout (``rollout``)  the policy acts in NumPy on CPU, on preallocated buffers (float32
                       rounding of the means, log-probabilities and values differs)
update (``update``)    the MLP-Gaussian PPO loss's gradient written by hand, every parameter and
                       gradient in one flat vector, one fused Adam step on it
=====================  ==========================================================================

It takes the MLP policy with a Gaussian distribution, tanh or ReLU hidden layers and no
smoothness penalty (anything else is an error naming the setting). GAE, reward scaling, the
loss's definition and the checkpoints are the reference's. docs/architecture.md lists what it
gains and tests/agents/test_agents_fast.py ties it to the reference.
"""

from __future__ import annotations

import torch

from rewardlab.agents.fast.rollout import rollout
from rewardlab.agents.fast.update import (
    FlatParameters,
    MLPGaussianStep,
    can_pair,
    flat_adam,
    packed_update,
    paired_order,
)
from rewardlab.core.errors import RewardlabError

__all__ = ["FastBackend", "adam_state", "unsupported"]


def unsupported(config) -> str | None:
    """Why ``backend="fast"`` cannot run this configuration (None: it can)."""
    if config.policy != "mlp":
        return f"policy={config.policy!r} (it takes 'mlp')"
    if config.distribution != "gaussian":
        return f"distribution={config.distribution!r} (it takes 'gaussian')"
    if config.activation not in ("tanh", "relu"):
        return f"activation={config.activation!r} (it takes 'tanh' or 'relu')"
    if config.action_repeat != 1:
        return f"action_repeat={config.action_repeat!r} (it takes 1)"
    for name in ("jacobian_penalty", "caps_temporal", "caps_spatial", "lipschitz_penalty"):
        if getattr(config, name):
            return f"{name}={getattr(config, name)!r} (it takes no smoothness penalty)"
    return None


class FastBackend:
    """The fast rollout and update of one agent, and its flat-vector optimiser (``optimizer``)."""

    def __init__(self, agent) -> None:
        cfg, model = agent.config, agent.model
        if agent.layout.kind != "box":
            raise RewardlabError(
                f"{agent.sim.env_id}: backend='fast' needs continuous (Box) actions; use backend='reference'"
            )
        actor, critic = model.actor, model.critic
        self.agent = agent
        # actor and critic reading one input through equal hidden layers run as one batched pair
        paired = not cfg.centralized_critic and can_pair(actor, critic)
        self.flat = FlatParameters(paired_order(model, actor, critic) if paired else list(model.parameters()))
        self.optimizer = flat_adam(self.flat, lr=cfg.learning_rate, eps=1e-5)
        self.step = MLPGaussianStep(actor, critic, self.flat, cfg.activation, paired)

    def rollout(self) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict[str, float]]:
        return rollout(self.agent)

    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        return packed_update(self.agent, self.step, self.flat, batch)


def adam_state(saved: dict, optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter]) -> dict:
    """A saved Adam state made to fit ``optimizer`` (a ``torch.optim.Adam``).

    A state of one flat vector in ``params`` order (the fast backend's, and every checkpoint
    written before the backends were separated) is split per parameter where ``optimizer`` holds
    the separate parameters. The group's settings are the optimiser's own defaults overlaid with
    the saved learning rate, betas and epsilon (older states carry only those).
    """
    states, groups = saved.get("state", {}), saved.get("param_groups", [])
    own = optimizer.param_groups[0]
    group = {key: value for key, value in own.items() if key != "params"}
    if groups:
        group.update({key: groups[0][key] for key in ("lr", "betas", "eps", "initial_lr") if key in groups[0]})
        group["betas"] = tuple(group["betas"])
    group["params"] = list(range(len(own["params"])))
    flat_saved = len(groups) == 1 and len(groups[0]["params"]) == 1 and len(states) == 1
    if not (flat_saved and len(own["params"]) > 1):
        return {"state": dict(states), "param_groups": [group]}
    (flat_state,) = states.values()
    split = {}
    offset = 0
    for index, p in enumerate(params):
        end = offset + p.numel()
        split[index] = {
            "step": flat_state["step"].clone(),
            "exp_avg": flat_state["exp_avg"][offset:end].view_as(p).clone(),
            "exp_avg_sq": flat_state["exp_avg_sq"][offset:end].view_as(p).clone(),
        }
        offset = end
    return {"state": split, "param_groups": [group]}
