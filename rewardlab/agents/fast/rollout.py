"""The fast backend's rollout: the MLP-Gaussian policy acts in NumPy on CPU.

A rollout step runs the policy on a few dozen rows, where each torch call's fixed dispatch cost is
larger than its arithmetic. Here observation normalisation, reward scaling and action rescaling
run in NumPy on host copies of the statistics (:class:`HostNorm`), writing into preallocated
buffers that torch reads without a copy; the one-hot agent ids are written once per rollout; and
actor and critic run as NumPy matmuls on zero-copy views of the parameters (as one network with
side-by-side, then block-diagonal, weights when they read the same input through equal hidden
layers). The values agree with the reference rollout's torch forward up to float32 rounding
(tests/agents/test_agents_fast.py). Above ``NUMPY_POLICY_MAX_WORK`` the layers run in torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rewardlab.agents.distributions import LOG_SQRT_2PI
from rewardlab.agents.envs import RolloutLog
from rewardlab.agents.policies import RunningNorm

#: the policy acts in NumPy while every layer's rows x fan-in x fan-out is at most this (64 rows
#: of a 64-64 network): above it NumPy's BLAS starts threads, which made larger rollouts slower
NUMPY_POLICY_MAX_WORK = 64 * 64 * 64


class HostNorm:
    """A :class:`RunningNorm`'s statistics as NumPy arrays, for the rollout's per-step work.

    ``update`` and ``normalize`` are RunningNorm's formulas (the same parallel-variance update, in
    double precision); ``store`` writes the statistics back into the module's buffers (done when
    the rollout ends, so checkpoints see them).
    """

    def __init__(self, norm: RunningNorm) -> None:
        self.enabled = norm.enabled
        self.clip = norm.clip
        self.mean = norm.mean.detach().cpu().numpy().copy()
        self.var = norm.var.detach().cpu().numpy().copy()
        self.count = float(norm.count)
        self.std = np.sqrt(self.var + 1e-8)

    def update(self, x: np.ndarray) -> None:
        """x: (samples, dim) in float64."""
        if not self.enabled:
            return
        n = x.shape[0]
        batch_mean = np.add.reduce(x, 0) / n
        deviation = x - batch_mean
        batch_var = np.add.reduce(deviation * deviation, 0) / n
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean += delta * n / total
        m2 = self.var * self.count + batch_var * n + delta * delta * self.count * n / total
        self.var = m2 / total
        self.count = total
        self.std = np.sqrt(self.var + 1e-8)

    def normalize(self, x: np.ndarray, out: np.ndarray) -> None:
        """Normalised x written (rounded to out's dtype) into ``out``."""
        if not self.enabled:
            out[...] = x
            return
        np.clip((x - self.mean) / self.std, -self.clip, self.clip, out=out, casting="same_kind")

    def store(self, norm: RunningNorm) -> None:
        norm.mean.copy_(torch.from_numpy(self.mean))
        norm.var.copy_(torch.from_numpy(self.var))
        norm.count.fill_(self.count)


def numpy_layers(net: nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W^T, b) of each linear layer of ``net`` as zero-copy NumPy views of the (CPU) parameters:
    they follow every in-place optimiser step."""
    return [
        (layer.weight.detach().numpy().T, layer.bias.detach().numpy()) for layer in net if isinstance(layer, nn.Linear)
    ]


def pair_numpy_layers(
    first: list[tuple[np.ndarray, np.ndarray]], second: list[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """One network computing [first(x), second(x)] for two networks on the same input with equal
    hidden layers: side-by-side first-layer weights, block-diagonal after that (copies; None if
    the hidden layers differ)."""
    if len(first) != len(second) or any(a[0].shape != b[0].shape for a, b in zip(first[:-1], second[:-1], strict=True)):
        return None
    joint = []
    for i, ((wa, ba), (wb, bb)) in enumerate(zip(first, second, strict=True)):
        if i == 0:
            weight = np.concatenate([wa, wb], axis=1)
        else:
            weight = np.zeros((wa.shape[0] + wb.shape[0], wa.shape[1] + wb.shape[1]), dtype=wa.dtype)
            weight[: wa.shape[0], : wa.shape[1]] = wa
            weight[wa.shape[0] :, wa.shape[1] :] = wb
        joint.append((weight, np.concatenate([ba, bb])))
    return joint


def numpy_mlp(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray, activation: str) -> np.ndarray:
    """The MLP's forward pass in NumPy float32 (tanh or ReLU hidden layers)."""
    last = len(layers) - 1
    for i, (weight_t, bias) in enumerate(layers):
        x = x @ weight_t
        x += bias
        if i < last:
            if activation == "tanh":
                np.tanh(x, out=x)
            else:
                np.maximum(x, 0.0, out=x)
    return x


class NumpyPolicy:
    """The actor's Gaussian and the critic in NumPy, for one rollout (the policy is fixed during it)."""

    def __init__(self, agent) -> None:
        cfg, actor, critic = agent.config, agent.model.actor, agent.model.critic
        rows = agent.num_envs * agent.num_agents
        self.activation = cfg.activation
        self.actor, self.critic = numpy_layers(actor.net), numpy_layers(critic.net)
        # one network for both when they read one input through equal hidden layers (4x the
        # work in the block-diagonal layers: only while that stays small)
        self.joint = None if cfg.centralized_critic else pair_numpy_layers(self.actor, self.critic)
        if self.joint is not None and max(rows * w.size for w, _ in self.joint) > NUMPY_POLICY_MAX_WORK:
            self.joint = None
        used = self.joint if self.joint is not None else self.actor + self.critic
        self.usable = max(rows * w.size for w, _ in used) <= NUMPY_POLICY_MAX_WORK
        log_std = actor.log_std.detach()
        self.std, self.inv_std = log_std.exp().numpy(), torch.exp(-log_std).numpy()
        self.log_norm = float(log_std.sum() + log_std.shape[0] * LOG_SQRT_2PI)

    def act(self, obs: np.ndarray, state: np.ndarray, action: np.ndarray, logp: np.ndarray, value: np.ndarray) -> None:
        """Sample actions (torch's generator, as DiagGaussian.sample) and write them, their
        log-probabilities and the values into the given rows."""
        if self.joint is not None:
            both = numpy_mlp(self.joint, obs, self.activation)
            mean, value[:] = both[:, :-1], both[:, -1]
        else:
            mean = numpy_mlp(self.actor, obs, self.activation)
            value[:] = numpy_mlp(self.critic, state, self.activation)[:, 0]
        np.multiply(torch.randn(mean.shape).numpy(), self.std, out=action)
        action += mean
        z = (action - mean) * self.inv_std
        np.subtract(np.add.reduce(z * z, -1) * -0.5, self.log_norm, out=logp)


@torch.no_grad()
def rollout(agent) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict[str, float]]:
    """``PPO._rollout`` of an MLP-Gaussian policy: the same batch, value of the last observation
    and statistics, up to float32 rounding of the policy's outputs."""
    cfg, sim, model = agent.config, agent.sim, agent.model
    T, B, n = cfg.num_steps, agent.num_envs, agent.num_agents
    N, dev, central = B * n, agent.device, cfg.centralized_critic
    inputs = HostInputs(agent)
    obs_host = np.zeros((T, N, inputs.actor_width), dtype=np.float32)
    state_host = np.zeros((T, N, inputs.critic_width), dtype=np.float32) if central else obs_host
    inputs.write_ids(obs_host, state_host)
    act_buf = torch.empty((T, N, agent.layout.dim), device=dev)
    logp_buf, value_buf = torch.empty((T, N), device=dev), torch.empty((T, N), device=dev)
    rewards = np.empty((T, B, n), dtype=np.float64)
    dones = np.empty((T, B), dtype=bool)
    actor, critic = model.actor, model.critic
    policy = NumpyPolicy(agent) if dev.type == "cpu" else None
    if policy is not None and not policy.usable:
        policy = None
    log = RolloutLog()
    for t in range(T):
        inputs.observe(agent._obs, obs_host[t], state_host[t] if central else None, update=True)
        if policy is not None:
            policy.act(obs_host[t], state_host[t], act_buf[t].numpy(), logp_buf[t].numpy(), value_buf[t].numpy())
            action = act_buf[t]
        else:
            x = torch.from_numpy(obs_host[t]).to(dev)
            dist = actor.dist(x)
            action = dist.sample()
            act_buf[t], logp_buf[t] = action, dist.log_prob(action)
            value_buf[t] = critic(torch.from_numpy(state_host[t]).to(dev) if central else x)
        step = sim.step(agent._to_env(action), autoreset=True)
        agent.global_step += B
        reward = np.asarray(step.reward, dtype=np.float64)
        done = np.asarray(step.done)
        rewards[t] = agent._scale_reward(reward, done)
        time_limit = np.asarray(step.truncated) & ~np.asarray(step.terminated)
        if time_limit.any():  # bootstrap through time limits: r += gamma * V(s_final)
            final_value = critic(inputs.critic_input(step.final_obs)).reshape(B, n).cpu().numpy()
            rewards[t] += cfg.gamma * final_value * time_limit[:, None]
        dones[t] = done
        log.add(step, reward, done)
        agent._obs = step.obs
    inputs.store(model)
    next_value = critic(inputs.critic_input(agent._obs))
    batch = {
        "obs": torch.from_numpy(obs_host).to(dev),
        "state": torch.from_numpy(state_host).to(dev),
        "actions": act_buf,
        "logp": logp_buf,
        "values": value_buf,
        "rewards": torch.as_tensor(rewards.reshape(T, N), dtype=torch.float32, device=dev),
        "dones": torch.as_tensor(np.repeat(dones, n, axis=1), dtype=torch.float32, device=dev),
    }
    return batch, next_value, log.stats()


class HostInputs:
    """The actor's and critic's inputs (normalised observations, then the one-hot agent id) built
    in NumPy with the rollout's running statistics (:class:`HostNorm`)."""

    def __init__(self, agent) -> None:
        model, cfg = agent.model, agent.config
        self.n, self.d, self.device, self.central = (
            agent.num_agents,
            agent.obs_dim,
            agent.device,
            cfg.centralized_critic,
        )
        self.obs_norm = HostNorm(model.obs_norm)
        self.state_norm = HostNorm(model.state_norm) if self.central else None
        self.actor_ids, self.critic_ids = agent.use_agent_id, agent.critic_agent_id
        self.actor_width = self.d + (self.n if self.actor_ids else 0)
        self.critic_width = (self.n * self.d if self.central else self.d) + (self.n if self.critic_ids else 0)

    def write_ids(self, obs: np.ndarray, state: np.ndarray) -> None:
        """The one-hot ids into the last columns of (..., B*n, width) buffers."""
        n, d = self.n, self.d
        if self.actor_ids:
            obs[..., d:] = np.tile(np.eye(n, dtype=np.float32), (obs.shape[-2] // n, 1))
        if self.central and self.critic_ids:
            state[..., n * d :] = np.tile(np.eye(n, dtype=np.float32), (state.shape[-2] // n, 1))

    def observe(self, obs: np.ndarray, x_out: np.ndarray, state_out: np.ndarray | None, update: bool) -> None:
        """Normalise observations (B, n, ...) into the actor input rows ``x_out`` (and the critic's)."""
        n, d = self.n, self.d
        raw = np.asarray(obs, dtype=np.float64).reshape(-1, d)
        if update:
            self.obs_norm.update(raw)
        self.obs_norm.normalize(raw, x_out[:, :d])
        if state_out is not None:
            joint = raw.reshape(-1, n * d)
            if update:
                self.state_norm.update(joint)
            B = joint.shape[0]
            self.state_norm.normalize(joint[:, None, :], state_out[:, : n * d].reshape(B, n, n * d))

    def critic_input(self, obs: np.ndarray) -> torch.Tensor:
        """The critic's input for observations (B, n, ...), without updating the statistics."""
        rows = np.asarray(obs).shape[0] * self.n
        x = np.zeros((rows, self.actor_width), dtype=np.float32)
        state = np.zeros((rows, self.critic_width), dtype=np.float32) if self.central else x
        self.write_ids(x, state)
        self.observe(obs, x, state if self.central else None, update=False)
        return torch.from_numpy(state).to(self.device)

    def store(self, model) -> None:
        self.obs_norm.store(model.obs_norm)
        if self.central:
            self.state_norm.store(model.state_norm)
