"""``PPOConfig``: every setting of rewardlab's PPO (the keys of ``agent_kwargs`` and ``--set``),
checked when it is built: a wrong type or range is a RewardlabError naming the setting."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import rewardlab.agents.fast as fast
from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError, choices

BACKENDS = ("reference", "fast")


@dataclass
class PPOConfig:
    """Settings of :class:`PPO` (the keys of ``agent_kwargs`` in ``train_and_evaluate``)."""

    num_envs: int = 16  #: simulator instances B (used when the runner builds the simulator)
    num_steps: int = 128  #: rollout length T per update (decisions)
    action_repeat: int = 1  #: hold each sampled action for this many simulator steps, rewards summed
    minibatch_size: int | None = None  #: samples per minibatch; None: batch / num_minibatches
    num_minibatches: int = 4
    update_epochs: int = 4
    learning_rate: float = 3e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None
    norm_adv: bool = True
    normalize_obs: bool = True
    normalize_reward: bool = True
    policy: str = "mlp"  #: "mlp" or "lpn"
    distribution: str = "gaussian"  #: "gaussian" or "beta" (Box actions); discrete is categorical
    hidden_sizes: Sequence[int] = (64, 64)
    critic_hidden_sizes: Sequence[int] | None = None  #: None: hidden_sizes
    lpn_hidden_sizes: Sequence[int] = (32, 32)  #: the LPN's phase network
    activation: str = "tanh"
    init_log_std: float = -0.5  #: initial log-std of the Gaussian (actions scaled to [-1, 1])
    phase_index: int | Sequence[int] | None = None  #: LPN: observation entries holding phi
    phase_fn: Callable[[torch.Tensor], torch.Tensor] | None = None  #: LPN: obs -> phi instead
    phase_dim: int = 1
    agent_id: bool | None = None  #: append a one-hot agent id; None: when n > 1
    centralized_critic: bool = False  #: MAPPO: the critic sees all agents' observations
    jacobian_penalty: float = 0.0  #: lambda of lambda * ||da/ds||_F^2
    jacobian_method: str = "auto"  #: "auto" (analytic for LPN), "analytic", "vmap", "sum"
    caps_temporal: float = 0.0
    caps_spatial: float = 0.0
    caps_sigma: float = 0.05
    lipschitz_penalty: float = 0.0  #: Chen et al. use 0.002
    exploration_coef: float = 0.0  #: Roach's exploration loss weight (Roach: 0.05); needs Beta actions
    exploration_steps: int = 100  #: simulator steps before a failure that get its prior (Roach: 100)
    torch_threads: int | None = 1  #: torch.set_num_threads on CPU (small nets: 1 is fastest); None leaves it
    backend: str = "reference"  #: "reference" (this module) or "fast" (rewardlab.agents.fast; same algorithm)

    def __post_init__(self) -> None:
        try:
            self._check()
        except RewardlabError as err:
            raise RewardlabError(f"PPO: {err}") from None

    def _check(self) -> None:
        """Types and ranges of every setting (``--set learning_rate=abc`` is an error here)."""
        check.integers(self, num_envs=(1, 1 << 20), num_steps=(1, check.MAX_STEPS),
                       num_minibatches=(1, 1 << 20), update_epochs=(1, 10_000), phase_dim=(1, 10_000),
                       action_repeat=(1, 1_000), exploration_steps=(1, check.MAX_STEPS))
        for name in ("minibatch_size", "torch_threads"):
            if getattr(self, name) is not None:
                check.integers(self, {name: 1})
        check.flags(self, "anneal_lr", "clip_vloss", "norm_adv", "normalize_obs", "normalize_reward",
                    "centralized_critic")
        if self.agent_id is not None:
            check.flags(self, "agent_id")
        check.numbers(self, ("learning_rate", "clip_coef", "vf_coef", "max_grad_norm", "ent_coef",
                             "jacobian_penalty", "caps_temporal", "caps_spatial", "caps_sigma",
                             "lipschitz_penalty", "exploration_coef"), low=0.0)
        check.numbers(self, ("gamma", "gae_lambda"), low=0.0, high=1.0)
        check.numbers(self, ("init_log_std",))
        check.numbers(self, ("target_kl",), low=0.0, low_open=True, optional=True)
        for name, valid in (
            ("policy", ("mlp", "lpn")),
            ("distribution", ("gaussian", "beta")),
            ("activation", ("tanh", "relu", "elu")),
            ("jacobian_method", ("auto", "analytic", "vmap", "sum")),
            ("backend", BACKENDS),
        ):
            check.choice(self, name, valid)
        if self.policy == "lpn" and self.distribution != "gaussian":
            raise RewardlabError("policy='lpn' takes distribution='gaussian'")
        if self.exploration_coef > 0 and self.distribution != "beta":
            raise RewardlabError(f"exploration_coef={self.exploration_coef!r} (Roach's exploration loss, a KL to "
                                 "Beta priors) needs distribution='beta'")
        if self.jacobian_method == "analytic" and self.policy != "lpn":
            raise RewardlabError("jacobian_method='analytic' needs policy='lpn'")
        self._check_layers()
        self._check_phase()
        if self.backend == "fast" and (reason := fast.unsupported(self)) is not None:
            raise RewardlabError(f"backend='fast' cannot run {reason}; use backend='reference'")

    def _check_layers(self) -> None:
        for name in ("hidden_sizes", "lpn_hidden_sizes", "critic_hidden_sizes"):
            sizes = getattr(self, name)
            if sizes is None and name == "critic_hidden_sizes":
                continue
            if not _is_int_list(sizes) or not all(1 <= h <= 1 << 16 for h in sizes):
                raise RewardlabError(f"{name} must be a list of positive integers (layer widths), got {sizes!r}")
            setattr(self, name, tuple(int(h) for h in sizes))

    def _check_phase(self) -> None:
        phase = self.phase_index
        if phase is not None and not (_is_int(phase) or _is_int_list(phase)):
            raise RewardlabError(f"phase_index must be None, an index or a list of indices, got {phase!r}")
        if self.phase_fn is not None and not callable(self.phase_fn):
            raise RewardlabError(f"phase_fn must be None or a callable, got {self.phase_fn!r}")

    @classmethod
    def from_kwargs(cls, owner: str, kwargs: dict[str, Any] | None) -> PPOConfig:
        """Build from ``agent_kwargs``; unknown keys raise a RewardlabError listing the valid ones."""
        kwargs = dict(kwargs or {})
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = set(kwargs) - set(valid)
        if unknown:
            raise RewardlabError(
                f"{owner}: unknown agent setting(s) {choices(unknown)}; valid settings are {choices(valid)}"
            )
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise RewardlabError(f"{owner}: {err}") from err
        except RewardlabError as err:
            raise RewardlabError(f"{owner}: {str(err).removeprefix('PPO: ')}") from None



def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_int_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and all(_is_int(v) for v in value)
