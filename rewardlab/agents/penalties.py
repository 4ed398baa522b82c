"""Policy-smoothness losses added to the PPO policy loss.

==========================  ====================================================  ==============
loss                        definition (batch mean)                               paper
==========================  ====================================================  ==============
action Jacobian (autograd)  lambda * ||d a / d s||_F^2, a = policy mode            Xie et al. 2026
action Jacobian (LPN)       lambda * ||K(phi)||_F^2 (exact for a = K s + k)        Xie et al. 2026
CAPS temporal               lambda_T * ||pi(s_t) - pi(s_{t+1})||_2                 Mysore et al.
CAPS spatial                lambda_S * ||pi(s) - pi(s~)||_2, s~ ~ N(s, sigma^2)   Mysore et al.
Lipschitz gradient penalty  lambda_L * ||grad_s log pi(a | s)||^2 (lambda 0.002)  Chen et al.
==========================  ====================================================  ==============

The autograd Jacobian is batched: ``torch.func.vmap(torch.func.jacrev(f))`` evaluates the
per-sample Jacobians (N, m, d) in one vectorised backward per output dimension, and the result
stays differentiable with respect to the network's parameters. ``method="sum"`` is the classic
alternative: since samples are independent, d(sum_n a_n[j]) / d s_n is row j of sample n's
Jacobian, so m backward passes of ``autograd.grad(create_graph=True)`` give all of them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import jacrev, vmap


def action_jacobian(
    fn: Callable[..., torch.Tensor], states: torch.Tensor, *context: torch.Tensor, method: str = "vmap"
) -> torch.Tensor:
    """Per-sample Jacobians d fn(s, *context) / d s, shape (N, m, d), differentiable in fn's parameters.

    Args:
        fn: maps states (N, d) (and per-sample ``context`` tensors, e.g. the LPN's phase, which
            are not differentiated) to actions (N, m), row by row (no mixing across the batch).
        states: (N, d).
        method: "vmap" (torch.func) or "sum" (m backward passes over the batch sum).
    """
    if method == "vmap":

        def one(s: torch.Tensor, *ctx: torch.Tensor) -> torch.Tensor:
            return fn(s.unsqueeze(0), *(c.unsqueeze(0) for c in ctx)).squeeze(0)

        return vmap(jacrev(one, argnums=0))(states, *context)
    if method == "sum":
        states = states.detach().requires_grad_(True)
        actions = fn(states, *context)
        rows = [
            torch.autograd.grad(actions[:, j].sum(), states, create_graph=True)[0]
            for j in range(actions.shape[-1])
        ]
        return torch.stack(rows, dim=1)
    raise ValueError(f"unknown Jacobian method {method!r}; expected 'vmap' or 'sum'")


def jacobian_penalty(
    fn: Callable[..., torch.Tensor], states: torch.Tensor, *context: torch.Tensor, method: str = "vmap"
) -> torch.Tensor:
    """mean_n ||d fn(s_n) / d s_n||_F^2 through autograd."""
    return action_jacobian(fn, states, *context, method=method).pow(2).sum(dim=(-2, -1)).mean()


def lpn_jacobian_penalty(gains: torch.Tensor) -> torch.Tensor:
    """mean_n ||K(phi_n)||_F^2: the exact action-Jacobian penalty of a = K(phi) s + k(phi)."""
    return gains.pow(2).sum(dim=(-2, -1)).mean()


def caps_temporal(
    actions_t: torch.Tensor, actions_next: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """mean ||a_t - a_{t+1}||_2 over pairs of consecutive steps of the same episode (``valid``)."""
    dist = (actions_t - actions_next).norm(dim=-1)
    if valid is None:
        return dist.mean()
    valid = valid.to(dist.dtype)
    return (dist * valid).sum() / valid.sum().clamp_min(1.0)


def caps_spatial(
    fn: Callable[[torch.Tensor], torch.Tensor], states: torch.Tensor, sigma: float, actions: torch.Tensor | None = None
) -> torch.Tensor:
    """mean ||pi(s) - pi(s + sigma * eps)||_2 with eps ~ N(0, I)."""
    if actions is None:
        actions = fn(states)
    perturbed = fn(states + sigma * torch.randn_like(states))
    return (actions - perturbed).norm(dim=-1).mean()


def lipschitz_penalty(log_prob_fn: Callable[[torch.Tensor], torch.Tensor], states: torch.Tensor) -> torch.Tensor:
    """mean_n ||grad_s log pi(a_n | s_n)||^2; ``log_prob_fn(states) -> (N,)`` with actions fixed."""
    states = states.detach().requires_grad_(True)
    grad = torch.autograd.grad(log_prob_fn(states).sum(), states, create_graph=True)[0]
    return grad.pow(2).sum(-1).mean()
