"""Policies and critics: the MLP and the Linear Policy Net (LPN).

=========  ==========================================================  ==========================
policy     action mean (Gaussian) / head output                        d a / d s
=========  ==========================================================  ==========================
``mlp``    a = W_L tanh(... tanh(W_1 s + b_1) ...) + b_L                autograd (any network)
``lpn``    a = K(phi) s + k(phi); [vec K, k] = MLP(phi)                 K(phi), no extra pass
=========  ==========================================================  ==========================

The LPN is the time-varying linear feedback policy of Xie, Karol & Hodgins: a compact network of
the phase (or time) phi outputs the gain matrix K (m x d) and the bias k (m); the action is linear
in the state s. phi is taken from the observation (``phase_index``: which entries hold it; they
are removed from s) or computed by a callable ``phase_fn(obs) -> (N, p)``. phi is treated as an
input that the penalty does not differentiate (it is detached), so the policy's Jacobian with
respect to s is exactly K(phi).

Inputs are observations normalised by :class:`RunningNorm` (a running mean and variance kept in
the module's buffers, so that checkpoints and evaluation use the same statistics). Weights are
orthogonally initialised (gain sqrt(2) in hidden layers, 0.01 on the actor's output, 1 on the
critic's), as in CleanRL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rewardlab.agents.distributions import BetaDist, DiagGaussian, MultiCategorical, beta_params

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}


@dataclass(frozen=True)
class ActionLayout:
    """What the actor outputs for an action space.

    Attributes:
        kind: "box" or "discrete".
        dim: action dimensions m (box) or categorical factors k (discrete).
        nvec: sizes of the categorical factors (discrete only).
        flat: True for Discrete (actions (N,)), False for MultiDiscrete (actions (N, k)).
    """

    kind: str
    dim: int
    nvec: tuple[int, ...] = ()
    flat: bool = False


def layer_init(layer: nn.Linear, gain: float = math.sqrt(2.0), bias: float = 0.0) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.constant_(layer.bias, bias)
    return layer


def mlp(sizes: Sequence[int], activation: str, out_gain: float) -> nn.Sequential:
    """Linear layers with ``activation`` between them; the last layer has no activation."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        last = i == len(sizes) - 2
        layers.append(layer_init(nn.Linear(sizes[i], sizes[i + 1]), out_gain if last else math.sqrt(2.0)))
        if not last:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class RunningNorm(nn.Module):
    """Observation normalisation by running mean and variance (parallel-variance update)."""

    def __init__(self, dim: int, clip: float = 10.0, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled
        self.clip = clip
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    def update(self, x: torch.Tensor) -> None:
        # no grad-mode switch needed: the buffers and the observations never require grad
        if not self.enabled:
            return
        x = x.reshape(-1, self.mean.shape[0]).double()
        batch_mean = x.mean(0)
        batch_var = x.var(0, unbiased=False)
        n = x.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean += delta * n / total
        m2 = self.var * self.count + batch_var * n + delta.pow(2) * self.count * n / total
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return x
        # in double precision (the statistics' own), rounded once at the end
        std = (self.var + 1e-8).sqrt()
        return ((x.double() - self.mean) / std).clamp(-self.clip, self.clip).to(x.dtype)


class MLPActor(nn.Module):
    """An MLP from the (normalised) observation to the distribution's parameters."""

    def __init__(
        self,
        obs_dim: int,
        layout: ActionLayout,
        distribution: str,
        hidden: Sequence[int],
        activation: str,
        init_log_std: float,
    ) -> None:
        super().__init__()
        self.layout = layout
        self.distribution = distribution if layout.kind == "box" else "categorical"
        if self.distribution == "categorical":
            out = sum(layout.nvec)
        elif self.distribution == "beta":
            out = 2 * layout.dim
        else:
            out = layout.dim
        self.net = mlp([obs_dim, *hidden, out], activation, out_gain=0.01)
        if self.distribution == "gaussian":
            self.log_std = nn.Parameter(torch.full((layout.dim,), float(init_log_std)))

    def dist(self, x: torch.Tensor):
        return self._dist(self.net(x))

    def _dist(self, out: torch.Tensor):
        if self.distribution == "gaussian":
            return DiagGaussian(out, self.log_std)
        if self.distribution == "beta":
            return BetaDist(*beta_params(out))
        return MultiCategorical(out, self.layout.nvec, self.layout.flat)

    def mean_action(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic action (distribution mode) as a differentiable function of x."""
        return self.dist(x).mode()


class LPNActor(nn.Module):
    """Linear Policy Net: a = K(phi) s + k(phi) with [vec K, k] = MLP(phi); Gaussian actions.

    Args:
        obs_dim: length of the (flattened) observation.
        layout: a box action layout.
        phase_index: observation entries that hold phi (removed from s), or None with ``phase_fn``.
        phase_fn: callable obs (N, obs_dim) -> phi (N, p); s is then the whole observation.
        phase_dim: p, the length of phi returned by ``phase_fn``.
    """

    def __init__(
        self,
        obs_dim: int,
        layout: ActionLayout,
        hidden: Sequence[int],
        activation: str,
        init_log_std: float,
        phase_index: int | Sequence[int] | None = None,
        phase_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        phase_dim: int = 1,
    ) -> None:
        super().__init__()
        if layout.kind != "box":
            raise ValueError("the Linear Policy Net needs a continuous (Box) action space")
        if (phase_index is None) == (phase_fn is None):
            raise ValueError("the Linear Policy Net needs exactly one of phase_index or phase_fn")
        self.layout = layout
        self.distribution = "gaussian"
        self.phase_fn = phase_fn
        if phase_index is not None:
            idx = [phase_index] if isinstance(phase_index, (int, np.integer)) else list(phase_index)
            idx = sorted({int(i) % obs_dim for i in idx})
            keep = [i for i in range(obs_dim) if i not in idx]
            self.register_buffer("phase_idx", torch.tensor(idx, dtype=torch.long))
            self.register_buffer("state_idx", torch.tensor(keep, dtype=torch.long))
            phase_dim = len(idx)
            self.state_dim = len(keep)
        else:
            self.phase_idx = None
            self.state_idx = None
            self.state_dim = obs_dim
        m = layout.dim
        self.gain_net = mlp([phase_dim, *hidden, m * self.state_dim + m], activation, out_gain=0.01)
        self.log_std = nn.Parameter(torch.full((m,), float(init_log_std)))

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, phi) from observations x; phi is detached (an input, not differentiated)."""
        if self.phase_fn is not None:
            return x, self.phase_fn(x).detach()
        return x.index_select(-1, self.state_idx), x.index_select(-1, self.phase_idx).detach()

    def gains(self, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """K (N, m, d_s) and k (N, m) at phases phi (N, p)."""
        m, d = self.layout.dim, self.state_dim
        out = self.gain_net(phi)
        return out[..., : m * d].reshape(*out.shape[:-1], m, d), out[..., m * d :]

    def forward_with_gains(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, phi = self.split(x)
        gain, bias = self.gains(phi)
        return apply_gains(gain, bias, s), gain

    def mean_of(self, s: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        gain, bias = self.gains(phi)
        return apply_gains(gain, bias, s)

    def dist(self, x: torch.Tensor) -> DiagGaussian:
        return DiagGaussian(self.forward_with_gains(x)[0], self.log_std)

    def mean_action(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_gains(x)[0]


def apply_gains(gain: torch.Tensor, bias: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """K s + k per sample, as a broadcast multiply and sum (on CPU much cheaper than a batched
    matmul of many tiny m x d matrices, forward and backward)."""
    return (gain * s.unsqueeze(-2)).sum(-1) + bias


class Critic(nn.Module):
    def __init__(self, in_dim: int, hidden: Sequence[int], activation: str) -> None:
        super().__init__()
        self.net = mlp([in_dim, *hidden, 1], activation, out_gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class ActorCritic(nn.Module):
    """Actor and critic with separate networks and their own input normalisers.

    The critic's input is the actor's observation (PPO, IPPO) or a centralised state (MAPPO:
    every agent's observation and the agent's one-hot id).
    """

    def __init__(self, actor: nn.Module, critic: Critic, obs_norm: RunningNorm, state_norm: RunningNorm) -> None:
        super().__init__()
        self.actor = actor
        self.critic = critic
        self.obs_norm = obs_norm
        self.state_norm = state_norm


def build_actor(
    policy: str,
    obs_dim: int,
    layout: ActionLayout,
    distribution: str,
    hidden: Sequence[int],
    activation: str,
    init_log_std: float,
    phase_index=None,
    phase_fn=None,
    phase_dim: int = 1,
) -> nn.Module:
    if policy == "lpn":
        if distribution != "gaussian":
            raise ValueError(f"the Linear Policy Net takes distribution='gaussian', got {distribution!r}")
        return LPNActor(obs_dim, layout, hidden, activation, init_log_std, phase_index, phase_fn, phase_dim)
    return MLPActor(obs_dim, layout, distribution, hidden, activation, init_log_std)
