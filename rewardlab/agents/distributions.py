"""Action distributions of rewardlab's policies.

===================  =======================================  ===============================
distribution         parameters (per sample)                  action the environment receives
===================  =======================================  ===============================
``DiagGaussian``     mean (m,), state-independent log-std (m) a in [-1, 1] (clipped), rescaled
                                                              to the agent's Box bounds
``BetaDist``         alpha, beta = 1 + softplus(h) (m each)   x in (0, 1) rescaled to the bounds
``MultiCategorical`` logits of each of k categorical factors  integers, one per factor
===================  =======================================  ===============================

Each distribution gives ``sample()``, ``log_prob(a)`` and ``entropy()`` summed over action
dimensions (one number per sample), and ``mode()``, the deterministic action that evaluation and
the smoothness penalties use. The Gaussian log-std is a learned vector that does not depend on the
observation (the CleanRL continuous-control choice); the Beta's bounded support is the CaRL choice
for driving.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Beta samples are kept this far from 0 and 1 so that log-probabilities stay finite.
BETA_EPS = 1e-6


class DiagGaussian:
    """Independent Gaussians with means ``mean`` (N, m) and log-std ``log_std`` (m,) or (N, m)."""

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor) -> None:
        self.mean = mean
        self.log_std = log_std.expand_as(mean)
        self.std = self.log_std.exp()

    def sample(self) -> torch.Tensor:
        return self.mean + self.std * torch.randn_like(self.mean)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        # -|z|^2 / 2 - sum(log-std) - m log sqrt(2 pi), z = (a - mean) e^{-log-std}: the ops of the
        # fast backend's hand-written gradient (rewardlab.agents.fast.update), so both backends'
        # log-probabilities of the same mean and log-std agree to the last bit
        z = (actions - self.mean) * torch.exp(-self.log_std)
        return z.square().sum(-1) * -0.5 - (self.log_std.sum(-1) + self.log_std.shape[-1] * LOG_SQRT_2PI)

    def entropy(self) -> torch.Tensor:
        return (0.5 + LOG_SQRT_2PI + self.log_std).sum(-1)

    def mode(self) -> torch.Tensor:
        return self.mean


class BetaDist:
    """Independent Beta distributions on (0, 1) with concentrations ``alpha``, ``beta`` (N, m).

    Closed forms, written with the ops torch.distributions.Beta uses (a Beta is the first
    coordinate of a Dirichlet(alpha, beta)), so results are bit for bit those of
    ``torch.distributions.Beta`` without building a distribution object on every call:

        log p(x) = (alpha - 1) log x + (beta - 1) log(1 - x) + lgamma(alpha + beta) - lgamma(alpha) - lgamma(beta)
        H = lgamma(alpha) + lgamma(beta) - lgamma(a0) - (2 - a0) digamma(a0)
            - (alpha - 1) digamma(alpha) - (beta - 1) digamma(beta),   a0 = alpha + beta
    """

    def __init__(self, alpha: torch.Tensor, beta: torch.Tensor) -> None:
        self.alpha = alpha
        self.beta = beta

    @property
    def _concentration(self) -> torch.Tensor:
        # built on demand: mode() alone (the smoothness penalties, also under torch.func.vmap) needs none
        return torch.stack([self.alpha, self.beta], -1)

    def sample(self) -> torch.Tensor:
        with torch.no_grad():  # the Dirichlet sampler that torch.distributions.Beta.sample calls: same draws
            draw = torch._sample_dirichlet(self._concentration).select(-1, 0)
        return draw.clamp(BETA_EPS, 1.0 - BETA_EPS)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        x = actions.clamp(BETA_EPS, 1.0 - BETA_EPS)
        heads_tails = torch.stack([x, 1.0 - x], -1)
        conc = self._concentration
        per_dim = (
            torch.xlogy(conc - 1.0, heads_tails).sum(-1) + torch.lgamma(conc.sum(-1)) - torch.lgamma(conc).sum(-1)
        )
        return per_dim.sum(-1)

    def entropy(self) -> torch.Tensor:
        conc = self._concentration
        a0 = conc.sum(-1)
        per_dim = (
            torch.lgamma(conc).sum(-1)
            - torch.lgamma(a0)
            - (2 - a0) * torch.digamma(a0)
            - ((conc - 1.0) * torch.digamma(conc)).sum(-1)
        )
        return per_dim.sum(-1)

    def mode(self) -> torch.Tensor:
        # the mean, not the arg-max: it is smooth in the parameters and defined for alpha, beta >= 1
        return self.alpha / (self.alpha + self.beta)


class MultiCategorical:
    """k independent categorical factors; ``logits`` (N, sum(nvec)) split by ``nvec``.

    Discrete(n) is the case k = 1; actions are (N,) then, (N, k) otherwise.
    """

    def __init__(self, logits: torch.Tensor, nvec: tuple[int, ...], flat: bool) -> None:
        self.nvec = nvec
        self.flat = flat
        self.logits = [F.log_softmax(chunk, dim=-1) for chunk in torch.split(logits, list(nvec), dim=-1)]

    def sample(self) -> torch.Tensor:
        draws = [torch.multinomial(lg.exp(), 1).squeeze(-1) for lg in self.logits]
        actions = torch.stack(draws, dim=-1)
        return actions[..., 0] if self.flat else actions

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        actions = actions.long()
        if self.flat:
            actions = actions[..., None]
        parts = [lg.gather(-1, actions[..., i : i + 1]).squeeze(-1) for i, lg in enumerate(self.logits)]
        return torch.stack(parts, dim=-1).sum(-1)

    def entropy(self) -> torch.Tensor:
        return torch.stack([-(lg.exp() * lg).sum(-1) for lg in self.logits], dim=-1).sum(-1)

    def mode(self) -> torch.Tensor:
        actions = torch.stack([lg.argmax(-1) for lg in self.logits], dim=-1)
        return actions[..., 0] if self.flat else actions


def beta_params(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """alpha, beta >= 1 from an unconstrained head output (N, 2m): unimodal Betas only."""
    alpha_raw, beta_raw = raw.chunk(2, dim=-1)
    return 1.0 + F.softplus(alpha_raw), 1.0 + F.softplus(beta_raw)
