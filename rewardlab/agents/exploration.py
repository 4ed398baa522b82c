"""Roach's exploration loss: after an episode ends in a failure, pull the policy's actions of the
steps before it towards a prior that would have avoided that failure.

Zhang et al. 2021 ("End-to-End Urban Driving by Imitating a Reinforcement Learning Coach",
Section 3.1) add to PPO's loss

    L_exp = lambda_exp * mean over samples and action dimensions of KL(pi(.|s) || p_z)

on the samples of the last N steps before an episode ended with event z, where p_z is a Beta prior
per action dimension (the other dimensions, and every other sample, contribute KL(pi || pi) = 0).
The priors and constants of the authors' code (``explore_coef`` 0.05, 100 steps at 10 Hz):

=====================  ===================  ========================================================
event that ended it    prior                on the Beta's (0, 1) axis
=====================  ===================  ========================================================
blocked                "go"                 acceleration Beta(alpha 2.5, beta 1.0): towards throttle
route deviation        "turn"               steering Beta(1, 1): uniform
collision, red light   "stop"               acceleration Beta(alpha 1.0, beta 1.5): towards braking
=====================  ===================  ========================================================

A simulator declares its priors as ``exploration_priors``: an ordered tuple of ``(event, {action
index: (alpha, beta)})``; where an ending step has several events, the last matching entry wins
(Roach's order: a collision or red light overrides a deviation, which overrides blocked). The
PPO settings are ``exploration_coef`` (lambda_exp; 0 turns the loss off) and ``exploration_steps``
(N, in simulator steps; with ``action_repeat`` k the last ceil(N / k) decisions get the prior).

One departure from the authors' code: the marked steps stop at the start of the episode that
ended (Roach's rollout buffer also marks the end of the episode before it when an episode is
shorter than N steps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

#: ``(event, {action index: (alpha, beta)})``, in order of precedence (the last match wins)
Priors = Sequence[tuple[str, dict[int, tuple[float, float]]]]


def beta_kl(alpha: torch.Tensor, beta: torch.Tensor, alpha_q: torch.Tensor, beta_q: torch.Tensor) -> torch.Tensor:
    """KL(Beta(alpha, beta) || Beta(alpha_q, beta_q)), elementwise:

        log B(alpha_q, beta_q) - log B(alpha, beta) + (alpha - alpha_q) psi(alpha)
        + (beta - beta_q) psi(beta) + (alpha_q - alpha + beta_q - beta) psi(alpha + beta)
    """
    def log_beta_fn(a, b):
        return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)

    return (
        log_beta_fn(alpha_q, beta_q)
        - log_beta_fn(alpha, beta)
        + (alpha - alpha_q) * torch.digamma(alpha)
        + (beta - beta_q) * torch.digamma(beta)
        + (alpha_q - alpha + beta_q - beta) * torch.digamma(alpha + beta)
    )


def prior_of(events: dict[str, np.ndarray], instance: int, priors: Priors) -> dict[int, tuple[float, float]]:
    """The prior for the episode of ``instance`` that ended with ``events`` ({} when none applies)."""
    chosen: dict[int, tuple[float, float]] = {}
    for event, prior in priors:
        flags = events.get(event)
        if flags is not None and bool(flags[instance]):
            chosen = prior
    return chosen


def prior_targets(
    ended_events: list[dict[str, np.ndarray]],
    dones: np.ndarray,
    priors: Priors,
    decisions: int,
    action_dim: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prior concentrations and a mask, (T, B, action_dim) each, for one rollout.

    ``ended_events[t]``: event name -> (B,) bool, the events of the step that ended an episode at
    decision t (False where none ended); ``dones``: (T, B). The ``decisions`` decisions before each
    ending (within its episode and the rollout) get that ending's prior.
    """
    T, B = dones.shape
    alpha = np.ones((T, B, action_dim), dtype=np.float32)
    beta = np.ones((T, B, action_dim), dtype=np.float32)
    mask = np.zeros((T, B, action_dim), dtype=bool)
    episode_start = np.zeros(B, dtype=np.int64)
    for t in range(T):
        for i in np.flatnonzero(dones[t]):
            first = max(episode_start[i], t - decisions)
            for dim, (a, b) in prior_of(ended_events[t], i, priors).items():
                alpha[first:t, i, dim] = a
                beta[first:t, i, dim] = b
                mask[first:t, i, dim] = True
            episode_start[i] = t + 1
    return alpha, beta, mask


def decisions_for(exploration_steps: int, action_repeat: int) -> int:
    """Decisions that cover the last ``exploration_steps`` simulator steps."""
    return math.ceil(exploration_steps / action_repeat)


def exploration_loss(alpha: torch.Tensor, beta: torch.Tensor, prior_alpha: torch.Tensor,
                     prior_beta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean KL(pi || prior) over samples and action dimensions; unmarked entries count 0."""
    target_alpha = torch.where(mask, prior_alpha, alpha.detach())
    target_beta = torch.where(mask, prior_beta, beta.detach())
    return beta_kl(alpha, beta, target_alpha, target_beta).mean()
