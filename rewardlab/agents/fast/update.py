"""The fast backend's update: the optimiser step on one flat parameter vector, and the PPO loss
gradient of the MLP-Gaussian policy written by hand.

Why: with the hyperparameters rewardlab ships (minibatches of 256 samples, 10 epochs x 16
minibatches per update) an update is 160 tiny optimiser steps, and every torch call costs a few
dispatch overhead whatever its size. Autograd, ``torch.optim`` and per-parameter foreach
kernels spend most of a minibatch in that overhead. Two things remove it:

* :class:`FlatParameters` puts every parameter of the model in one contiguous tensor and every
  gradient in another (the modules' parameters and their ``.grad`` become views of them; autograd
  accumulates into the views in place). Zeroing, the global gradient norm, clipping and Adam
  (:func:`flat_adam`: torch's fused Adam on the one vector) are then a
  handful of ops on two vectors, whatever the number of layers.
* :class:`MLPGaussianStep` computes the PPO loss of an MLP actor with a diagonal Gaussian (a
  state-independent log-std) and an MLP critic, and writes its gradient straight into the flat
  gradient (``torch.mm(..., out=view)``), without an autograd graph:

  ===========================  ============================================================
  quantity                     gradient of the loss L
  ===========================  ============================================================
  z = (a - mu) e^{-ls}          log p = -1/2 |z|^2 - sum(ls) - m log sqrt(2 pi)
  r = exp(log p - log p_old)    dL/dlog p_i = r_i * (-A_i) * [unclipped term active] / M
  mu (action mean)              dL/dmu_ij = dL/dlog p_i * z_ij e^{-ls_j}
  ls (log-std)                  dL/dls_j = sum_i dL/dlog p_i (z_ij^2 - 1) - c_ent
  v (value)                     dL/dv_i = c_vf (v_i - R_i) / M (clipped: CleanRL's max rule)
  layer y = h W^T + b           dW = dy^T h, db = sum_i dy_i, dh = dy W
  h = tanh(y) / relu(y)         dy = dh (1 - h^2) / dh [h > 0]
  ===========================  ============================================================

  A is the minibatch-normalised advantage, M the minibatch size; the PPO surrogate
  max(-A r, -A clip(r, 1 - eps, 1 + eps)) passes its gradient through r exactly where the
  unclipped term is the larger one. tests/agents/test_agents_fast.py checks every gradient
  against the reference loss (:meth:`rewardlab.agents.ppo.PPO._loss`) through autograd.

  When actor and critic read the same input through equal hidden layers (PPO/IPPO with the
  default sizes), :func:`paired_order` stores hidden layer k of both next to each other in the
  flat vector, and one batched matmul over the (2, out, in) pair serves both networks, forward
  and backward. The loss statistics (policy and value loss, entropy, approximate KL, clip
  fraction) are not reduced per minibatch: the per-sample terms are written into per-update
  buffers by the ops that compute them anyway, and :meth:`MLPGaussianStep.finish_update`
  reduces them once.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from rewardlab.agents.distributions import LOG_SQRT_2PI

#: hidden layers of at least this many elements compute tanh(y) as 2 sigmoid(2 y) - 1: torch's CPU
#: tanh costs several times its sigmoid on large tensors; the identity rounds differently from
#: torch.tanh (within 2.5e-7 absolute in float32), which the closeness tests allow for
TANH_VIA_SIGMOID_MIN_NUMEL = 4096


class FlatParameters:
    """Every parameter of ``params`` stored in one flat tensor, every gradient in another.

    The parameters keep their identity (``nn.Parameter`` objects, state-dict keys) but their data
    and ``.grad`` become views into ``self.data`` and ``self.grad``. ``load_state_dict`` copies in
    place and autograd accumulates into an existing ``.grad`` in place, so the views stay valid.
    """

    def __init__(self, params: Iterable[nn.Parameter]) -> None:
        self.params = list(params)
        first = self.params[0]
        total = sum(p.numel() for p in self.params)
        self.data = torch.empty(total, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.data)
        self.offsets: dict[int, tuple[int, int]] = {}
        offset = 0
        with torch.no_grad():
            for p in self.params:
                end = offset + p.numel()
                self.data[offset:end].copy_(p.reshape(-1))
                p.data = self.data[offset:end].view_as(p)
                p.grad = self.grad[offset:end].view_as(p)
                self.offsets[id(p)] = (offset, end)
                offset = end

    def grad_of(self, p: nn.Parameter) -> torch.Tensor:
        """The view of the flat gradient that holds ``p``'s gradient."""
        start, end = self.offsets[id(p)]
        return self.grad[start:end].view_as(p)

    def pair(self, first: nn.Parameter, second: nn.Parameter) -> tuple[torch.Tensor, torch.Tensor]:
        """Views (2, *shape) of the data and gradient of two same-shaped parameters stored next to
        each other (see :func:`paired_order`)."""
        start, middle = self.offsets[id(first)]
        middle2, end = self.offsets[id(second)]
        if middle != middle2 or first.shape != second.shape:
            raise ValueError("pair() needs two same-shaped parameters stored next to each other")
        return self.data[start:end].view(2, *first.shape), self.grad[start:end].view(2, *first.shape)

    def zero_grad(self) -> None:
        self.grad.zero_()

    def clip_divisor(self, max_norm: float) -> torch.Tensor:
        """The divisor that brings the gradient to global L2 norm <= ``max_norm``:
        max(1, (|g| + 1e-6) / max_norm), i.e. 1 / torch.nn.utils.clip_grad_norm_'s factor."""
        return ((torch.linalg.vector_norm(self.grad) + 1e-6) / max_norm).clamp_(min=1.0)


def flat_adam(flat: FlatParameters, lr: float, eps: float) -> torch.optim.Adam:
    """``torch.optim.Adam`` over the flat vector as one parameter (fused where the device has the
    fused kernel): one optimiser step is then one kernel, whatever the number of layers. Its
    ``state_dict`` is torch.optim's with a single parameter."""
    vector = nn.Parameter(flat.data)  # shares flat.data's storage: the modules' views follow each step
    vector.grad = flat.grad
    fused = flat.data.device.type in ("cpu", "cuda")
    return torch.optim.Adam([vector], lr=lr, eps=eps, fused=fused)


def _layers(net: nn.Sequential) -> list[nn.Linear]:
    return [layer for layer in net if isinstance(layer, nn.Linear)]


def can_pair(actor: nn.Module, critic: nn.Module) -> bool:
    """Whether actor and critic MLPs have the same hidden layers (then they run as one batched pair)."""
    a, c = _layers(actor.net), _layers(critic.net)
    hidden = zip(a[:-1], c[:-1], strict=True)
    return len(a) == len(c) >= 2 and all(la.weight.shape == lc.weight.shape for la, lc in hidden)


def paired_order(model: nn.Module, actor: nn.Module, critic: nn.Module) -> list[nn.Parameter]:
    """model's parameters with each hidden layer's actor and critic weights (and biases) next to
    each other: layer k of both networks is then one (2, out, in) tensor for a batched matmul."""
    order: list[nn.Parameter] = []
    for la, lc in zip(_layers(actor.net)[:-1], _layers(critic.net)[:-1], strict=True):
        order += [la.weight, lc.weight, la.bias, lc.bias]
    placed = {id(p) for p in order}
    return order + [p for p in model.parameters() if id(p) not in placed]


class MLPGaussianStep:
    """The PPO loss of an MLP-Gaussian actor and an MLP critic, and its gradient, without autograd.

    Per update: :meth:`begin_update`, then one call per minibatch, which fills ``flat.grad``
    with the gradient of ``pg_loss - ent_coef * entropy + vf_coef * v_loss`` (the loss of
    ``PPO._loss``; every gradient element is written, nothing to zero), then
    :meth:`finish_update` for the statistics.
    """

    def __init__(
        self, actor: nn.Module, critic: nn.Module, flat: FlatParameters, activation: str, paired: bool = False
    ) -> None:
        self.paired = paired
        if paired:  # hidden layer k of both networks as (2, out, in) weights, (2, 1, out) biases
            self.pairs = []
            for la, lc in zip(_layers(actor.net)[:-1], _layers(critic.net)[:-1], strict=True):
                weight, weight_grad = flat.pair(la.weight, lc.weight)
                bias, bias_grad = flat.pair(la.bias, lc.bias)
                self.pairs.append((weight, bias.unsqueeze(1), weight_grad, bias_grad))
        # detached views of the parameters (they share the flat storage, so they follow every
        # optimiser step): no op here records an autograd graph, with no no_grad() per call
        self.actor_layers = [(layer.weight.detach(), layer.bias.detach()) for layer in _layers(actor.net)]
        self.critic_layers = [(layer.weight.detach(), layer.bias.detach()) for layer in _layers(critic.net)]
        self.actor_grads = [(flat.grad_of(la.weight), flat.grad_of(la.bias)) for la in _layers(actor.net)]
        self.critic_grads = [(flat.grad_of(lc.weight), flat.grad_of(lc.bias)) for lc in _layers(critic.net)]
        self.log_std = actor.log_std.detach()
        self.log_std_grad = flat.grad_of(actor.log_std)
        self.activation = activation
        if activation == "tanh":
            self._act_backward = torch.ops.aten.tanh_backward  # dh * (1 - h^2): autograd's own kernel
        elif activation == "relu":
            self._act_backward = lambda grad, h: torch.ops.aten.threshold_backward(grad, h, 0.0)
        else:
            raise ValueError(f"no hand-written gradient for activation {activation!r}")

    def _forward(self, layers, x: torch.Tensor) -> list[torch.Tensor]:
        """Inputs of every layer, then the output (the network's forward pass)."""
        outs = [x]
        last = len(layers) - 1
        tanh = self.activation == "tanh"
        for i, (weight, bias) in enumerate(layers):
            if i < last and tanh and x.shape[0] * weight.shape[0] >= TANH_VIA_SIGMOID_MIN_NUMEL:
                # tanh as 2 sigmoid(2 y) - 1, with the first doubling done by the matmul
                # (2 (x W^T + b) exactly: scaling by 2 is exact in binary floating point)
                y = torch.addmm(bias, outs[-1], weight.t(), beta=2.0, alpha=2.0)
                torch.sigmoid_(y).mul_(2.0).sub_(1.0)
            else:
                y = F.linear(outs[-1], weight, bias)
                if i < last:
                    y = y.tanh_() if tanh else y.relu_()
            outs.append(y)
        return outs

    def _backward(self, layers, grads, outs: list[torch.Tensor], d_out: torch.Tensor) -> None:
        grad = d_out
        for i in range(len(layers) - 1, -1, -1):
            weight_grad, bias_grad = grads[i]
            torch.mm(grad.t(), outs[i], out=weight_grad)
            torch.sum(grad, 0, out=bias_grad)
            if i > 0:
                grad = self._act_backward(torch.mm(grad, layers[i][0]), outs[i])

    def _forward_paired(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Actor mean, value and the paired hidden activations (2, M, h) of input x (M, d): one
        batched matmul per hidden layer for both networks."""
        M = x.shape[0]
        h = x.expand(2, M, x.shape[1])
        outs = [h]
        tanh = self.activation == "tanh"
        for weight, bias, _, _ in self.pairs:
            if tanh and M * weight.shape[1] >= TANH_VIA_SIGMOID_MIN_NUMEL:  # as _forward
                h = torch.baddbmm(bias, h, weight.transpose(1, 2), beta=2.0, alpha=2.0)
                torch.sigmoid_(h).mul_(2.0).sub_(1.0)
            else:
                h = torch.baddbmm(bias, h, weight.transpose(1, 2))
                h = h.tanh_() if tanh else h.relu_()
            outs.append(h)
        (w_mean, b_mean), (w_value, b_value) = self.actor_layers[-1], self.critic_layers[-1]
        return F.linear(h[0], w_mean, b_mean), F.linear(h[1], w_value, b_value), outs

    def _backward_paired(self, outs: list[torch.Tensor], d_mean: torch.Tensor, d_value: torch.Tensor) -> None:
        last = outs[-1]
        grad = torch.empty_like(last)
        for k, (d_out, layers, grads) in enumerate(
            ((d_mean, self.actor_layers, self.actor_grads), (d_value, self.critic_layers, self.critic_grads))
        ):
            weight_grad, bias_grad = grads[-1]
            torch.mm(d_out.t(), last[k], out=weight_grad)
            torch.sum(d_out, 0, out=bias_grad)
            torch.mm(d_out, layers[-1][0], out=grad[k])
        for i in range(len(self.pairs) - 1, -1, -1):
            weight, _, weight_grad, bias_grad = self.pairs[i]
            grad = self._act_backward(grad, outs[i + 1])
            torch.bmm(grad.transpose(1, 2), outs[i], out=weight_grad)
            torch.sum(grad, 1, out=bias_grad)
            if i > 0:
                grad = torch.bmm(grad, weight)

    def begin_update(self, epochs: int, total: int, device: torch.device) -> None:
        """Per-sample buffers for one update. Each minibatch writes its log-ratio, ratio,
        normalised advantage and value-loss term there (as the ``out=`` of ops the gradient
        needs anyway) and :meth:`finish_update` reduces them once, instead of ten small
        reductions per minibatch."""
        shape = (epochs * total, 1)
        self._log_ratio, self._ratio = torch.empty(shape, device=device), torch.empty(shape, device=device)
        self._neg_adv, self._value_term = torch.empty(shape, device=device), torch.empty(shape, device=device)
        self._log_std_sums: list[torch.Tensor] = []
        self._lengths: list[int] = []
        self._filled = 0

    def __call__(
        self,
        obs: torch.Tensor,
        state: torch.Tensor,
        actions: torch.Tensor,
        old_logp: torch.Tensor,
        old_values: torch.Tensor,
        advantages: torch.Tensor,
        returns: torch.Tensor,
        cfg,
    ) -> torch.Tensor | None:
        """One minibatch: obs (M, d), state (M, d_c), actions (M, m); the per-sample scalars as
        (M, 1) columns (the minibatch's column views, no reshapes). Fills ``flat.grad``; returns
        the minibatch's approximate KL when ``cfg.target_kl`` is set (else None)."""
        M = obs.shape[0]
        a, b = self._filled, self._filled + M
        self._filled = b
        self._lengths.append(M)
        if self.paired:  # obs is also the critic's input
            mean, value, outs = self._forward_paired(obs)
        else:
            a_outs, c_outs = self._forward(self.actor_layers, obs), self._forward(self.critic_layers, state)
            mean, value = a_outs[-1], c_outs[-1]  # (M, m), (M, 1)
        # actor: log-prob as DiagGaussian.log_prob computes it (the rollout's own formula)
        log_std = self.log_std
        log_std_sum = log_std.sum()
        self._log_std_sums.append(log_std_sum)
        inv_std = torch.exp(-log_std)
        z = (actions - mean) * inv_std
        log_ratio = torch.sub(
            z.square().sum(-1, keepdim=True) * -0.5 - (log_std_sum + log_std.shape[0] * LOG_SQRT_2PI),
            old_logp,
            out=self._log_ratio[a:b],
        )
        ratio = torch.exp(log_ratio, out=self._ratio[a:b])
        if cfg.norm_adv and M > 1:
            std, mean_adv = torch.std_mean(advantages)
            neg_adv = torch.div(mean_adv - advantages, std + 1e-8, out=self._neg_adv[a:b])  # -A, normalised
        else:
            neg_adv = torch.neg(advantages, out=self._neg_adv[a:b])
        unclipped = neg_adv * ratio
        clipped = neg_adv * ratio.clamp(1.0 - cfg.clip_coef, 1.0 + cfg.clip_coef)
        d_logp = unclipped.mul_(unclipped >= clipped).div_(M)  # d pg_loss / d log p, (M, 1)
        d_logp_z = d_logp * z
        torch.sub((d_logp_z * z).sum(0), d_logp.sum() + cfg.ent_coef, out=self.log_std_grad)
        d_mean = d_logp_z.mul_(inv_std)
        # critic
        if cfg.clip_vloss:
            error = value - returns
            change = value - old_values
            clipped_error = old_values + change.clamp(-cfg.clip_coef, cfg.clip_coef) - returns
            sq, sq_clipped = error.square(), clipped_error.square()
            torch.maximum(sq, sq_clipped, out=self._value_term[a:b])
            d_value = torch.where(sq >= sq_clipped, error, clipped_error * (change.abs() <= cfg.clip_coef))
            d_value.mul_(cfg.vf_coef / M)
        else:
            error = torch.sub(value, returns, out=self._value_term[a:b])
            d_value = error * (cfg.vf_coef / M)
        if self.paired:
            self._backward_paired(outs, d_mean, d_value)
        else:
            self._backward(self.actor_layers, self.actor_grads, a_outs, d_mean)
            self._backward(self.critic_layers, self.critic_grads, c_outs, d_value)
        if cfg.target_kl is not None:
            return ((ratio - 1.0) - log_ratio).mean()
        return None

    @torch.no_grad()
    def finish_update(self, cfg) -> dict[str, float]:
        """The update's loss statistics: per minibatch as ``PPO._loss`` reports them,
        averaged over the minibatches taken."""
        n = self._filled
        log_ratio, ratio = self._log_ratio[:n], self._ratio[:n]
        neg_adv, value_term = self._neg_adv[:n], self._value_term[:n]
        per_sample = {
            "policy_loss": torch.maximum(
                neg_adv * ratio, neg_adv * ratio.clamp(1.0 - cfg.clip_coef, 1.0 + cfg.clip_coef)
            ),
            "value_loss": 0.5 * (value_term if cfg.clip_vloss else value_term.square()),
            "approx_kl": (ratio - 1.0) - log_ratio,
            "clipfrac": ((ratio - 1.0).abs() > cfg.clip_coef).float(),
        }
        stats = {}
        equal = len(set(self._lengths)) == 1
        for name, values in per_sample.items():
            values = values.double().view(-1)
            if equal:  # the mean of equal minibatches' means is the mean of all samples
                stats[name] = float(values.mean())
            else:
                stats[name] = float(torch.stack([part.mean() for part in values.split(self._lengths)]).mean())
        m = self.log_std.shape[0]
        stats["entropy"] = float(torch.stack(self._log_std_sums).double().mean()) + m * (0.5 + LOG_SQRT_2PI)
        return stats


def packed_update(
    agent, step: MLPGaussianStep, flat: FlatParameters, batch: dict[str, torch.Tensor]
) -> dict[str, float]:
    """``PPO._update`` for the MLP-Gaussian policy: the same epochs of shuffled minibatches and the
    same loss, its gradient from ``step``; returns the same statistics.

    Every per-sample field sits side by side in one (total, F) matrix, so that a minibatch is one
    row gather (``index_select``) instead of one advanced-indexing op per field.
    """
    cfg = agent.config
    T, N = batch["logp"].shape
    total = T * N
    names = ["obs", "actions", "logp", "values", "advantages", "returns"]
    if cfg.centralized_critic:
        names.append("state")
    columns = [batch[name].reshape(total, -1) for name in names]
    widths = [column.shape[1] for column in columns]
    packed = torch.cat(columns, dim=1)
    step.begin_update(cfg.update_epochs, total, agent.device)
    for idx in agent.minibatches(total):
        mb = dict(zip(names, packed.index_select(0, idx).split(widths, 1), strict=True))  # (M, width) views
        approx_kl = step(
            mb["obs"],
            mb.get("state", mb["obs"]),
            mb["actions"],
            mb["logp"],
            mb["values"],
            mb["advantages"],
            mb["returns"],
            cfg,
        )
        flat.grad.div_(flat.clip_divisor(cfg.max_grad_norm))
        agent.optimizer.step()
        if cfg.target_kl is not None and float(approx_kl) > cfg.target_kl:
            break
    return step.finish_update(cfg)
