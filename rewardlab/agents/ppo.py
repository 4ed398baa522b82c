"""Proximal Policy Optimisation, written to be read top to bottom.

The CleanRL set of implementation details: orthogonal initialisation, Adam with epsilon 1e-5 and
linear learning-rate annealing, generalised advantage estimation, per-minibatch advantage
normalisation, the clipped surrogate objective, a clipped value loss, an entropy bonus, global
gradient-norm clipping, optional early stop on approximate KL, running observation normalisation
and return-based reward scaling. Two additions: the value of the last observation is added to the
reward of a time-limit truncation (so that a time limit is not mistaken for a terminal state), and
the policy-smoothness losses of :mod:`rewardlab.agents.penalties`.

The agent steps a rewardlab batched simulator directly: observations (B, n, ...), rewards (B, n),
episode ends (B,). Every (instance, agent) pair is one sample of one shared policy (IPPO with
parameter sharing; with n > 1 a one-hot agent id is appended to the observation). With
``centralized_critic=True`` (MAPPO) the critic sees every agent's observation and the agent id.

    sim = rewardlab.make_sim("rewardlab/CoopSLCD-v0", num_envs=64)
    agent = PPO(sim, PPOConfig(num_steps=64), seed=0)
    agent.learn(total_steps=200_000)
    print(agent.evaluate(episodes=10))

A step counts one instance-step (B per simulator step); a batch holds
num_steps x num_envs x num_agents samples.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from rewardlab.agents import penalties
from rewardlab.agents.distributions import LOG_SQRT_2PI, DiagGaussian
from rewardlab.agents.envs import as_sim, clone_sim, run_episodes, summarize
from rewardlab.agents.handgrad import FlatAdam, FlatParameters, MLPGaussianStep, can_pair, paired_order
from rewardlab.agents.policies import (
    ActionLayout,
    ActorCritic,
    Critic,
    HostNorm,
    RunningNorm,
    build_actor,
    numpy_layers,
    numpy_mlp,
    pair_numpy_layers,
)
from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError, choices
from rewardlab.core.safe_pickle import UnsafePickleError, safe_loads

#: 2: tensors read with torch.load(weights_only=True), the rest through an allow-list unpickler
CHECKPOINT_FORMAT = 2


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""
#: on CPU a rollout acts in NumPy (see PPO._rollout) while every layer's rows x fan-in x fan-out
#: is at most this (64 rows of a 64-64 network): above it NumPy's OpenBLAS starts threads, which
#: made a 128-row rollout 2.5-25x slower on the shared machine
NUMPY_POLICY_MAX_WORK = 64 * 64 * 64


@dataclass
class PPOConfig:
    """Settings of :class:`PPO` (the keys of ``agent_kwargs`` in ``train_and_evaluate``)."""

    num_envs: int = 16  #: simulator instances B (used when the runner builds the simulator)
    num_steps: int = 128  #: rollout length T per update
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
    torch_threads: int | None = 1  #: torch.set_num_threads on CPU (small nets: 1 is fastest); None leaves it

    def __post_init__(self) -> None:
        try:
            self._check()
        except RewardlabError as err:
            raise RewardlabError(f"PPO: {err}") from None

    def _check(self) -> None:
        """Types and ranges of every setting (``--set learning_rate=abc`` is an error here)."""
        check.integers(self, num_envs=(1, 1 << 20), num_steps=(1, check.MAX_STEPS),
                       num_minibatches=(1, 1 << 20), update_epochs=(1, 10_000), phase_dim=(1, 10_000))
        for name in ("minibatch_size", "torch_threads"):
            if getattr(self, name) is not None:
                check.integers(self, {name: 1})
        check.flags(self, "anneal_lr", "clip_vloss", "norm_adv", "normalize_obs", "normalize_reward",
                    "centralized_critic")
        if self.agent_id is not None:
            check.flags(self, "agent_id")
        check.numbers(self, ("learning_rate", "clip_coef", "vf_coef", "max_grad_norm", "ent_coef",
                             "jacobian_penalty", "caps_temporal", "caps_spatial", "caps_sigma",
                             "lipschitz_penalty"), low=0.0)
        check.numbers(self, ("gamma", "gae_lambda"), low=0.0, high=1.0)
        check.numbers(self, ("init_log_std",))
        check.numbers(self, ("target_kl",), low=0.0, low_open=True, optional=True)
        for name, valid in (
            ("policy", ("mlp", "lpn")),
            ("distribution", ("gaussian", "beta")),
            ("activation", ("tanh", "relu", "elu")),
            ("jacobian_method", ("auto", "analytic", "vmap", "sum")),
        ):
            check.choice(self, name, valid)
        if self.policy == "lpn" and self.distribution != "gaussian":
            raise RewardlabError("policy='lpn' takes distribution='gaussian'")
        if self.jacobian_method == "analytic" and self.policy != "lpn":
            raise RewardlabError("jacobian_method='analytic' needs policy='lpn'")
        for name in ("hidden_sizes", "lpn_hidden_sizes", "critic_hidden_sizes"):
            sizes = getattr(self, name)
            if sizes is None and name == "critic_hidden_sizes":
                continue
            if (isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence)
                    or not all(isinstance(h, (int, np.integer)) and not isinstance(h, bool) and 1 <= h <= 1 << 16
                               for h in sizes)):
                raise RewardlabError(f"{name} must be a list of positive integers (layer widths), got {sizes!r}")
            setattr(self, name, tuple(int(h) for h in sizes))
        phase = self.phase_index
        if phase is not None and not (
            (isinstance(phase, (int, np.integer)) and not isinstance(phase, bool))
            or (isinstance(phase, Sequence) and not isinstance(phase, str)
                and all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in phase))
        ):
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


DEVICES = ("auto", "cpu", "cuda", "cuda:<index>", "mps")


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` is CUDA where present, else CPU; a device this machine lacks is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise RewardlabError(f"--device: unknown device {device!r}; expected one of {', '.join(DEVICES)}") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RewardlabError(
                f"--device {device!r}: CUDA is not available on this machine (torch.cuda.is_available() "
                "is False); use --device cpu or auto"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise RewardlabError(
                f"--device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    elif resolved.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RewardlabError(f"--device {device!r}: MPS is not available on this machine; use cpu or auto")
    elif resolved.type != "cpu":
        raise RewardlabError(f"--device: unsupported device {device!r}; expected one of {', '.join(DEVICES)}")
    return resolved


class PPO:
    """PPO (IPPO with parameter sharing on multi-agent simulators; MAPPO with a central critic).

    Args:
        env: a rewardlab BatchedSim, a rewardlab VectorEnv, or a single-agent Gymnasium VectorEnv
            with same-step autoreset.
        config: a PPOConfig or a dict of its fields.
        seed: seeds torch, the simulator and the minibatch shuffling.
        device: "cpu", "cuda", or "auto".
    """

    algo_name = "ppo"

    def __init__(
        self,
        env: Any,
        config: PPOConfig | dict[str, Any] | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        _reset: bool = True,
    ) -> None:
        self.sim = as_sim(env)
        self.config = config if isinstance(config, PPOConfig) else PPOConfig.from_kwargs("PPO", config)
        self.seed = int(seed)
        self.device = resolve_device(device)
        cfg = self.config
        if cfg.torch_threads is not None and self.device.type == "cpu":
            torch.set_num_threads(int(cfg.torch_threads))
        torch.manual_seed(self.seed)
        sim = self.sim
        self.num_envs, self.num_agents = sim.num_envs, sim.num_agents
        self.obs_dim = int(np.prod(sim.obs_shape, dtype=np.int64))
        self.use_agent_id = (self.num_agents > 1) if cfg.agent_id is None else bool(cfg.agent_id)
        self.layout = self._action_layout(sim.action_spaces)
        id_dim = self.num_agents if self.use_agent_id else 0
        actor_in = self.obs_dim + id_dim
        state_dim = self.obs_dim * (self.num_agents if cfg.centralized_critic else 1)
        if cfg.centralized_critic and not self.use_agent_id:
            id_dim_critic = self.num_agents  # the central critic always needs to know whose value
        else:
            id_dim_critic = id_dim
        phase_index = self._phase_index()
        try:
            actor = build_actor(
                cfg.policy,
                actor_in,
                self.layout,
                cfg.distribution,
                cfg.lpn_hidden_sizes if cfg.policy == "lpn" else cfg.hidden_sizes,
                cfg.activation,
                cfg.init_log_std,
                phase_index,
                cfg.phase_fn,
                cfg.phase_dim,
            )
        except ValueError as err:
            raise RewardlabError(f"{sim.env_id}: {err}") from err
        critic = Critic(state_dim + id_dim_critic, cfg.critic_hidden_sizes or cfg.hidden_sizes, cfg.activation)
        self.model = ActorCritic(
            actor,
            critic,
            RunningNorm(self.obs_dim, enabled=cfg.normalize_obs),
            RunningNorm(state_dim, enabled=cfg.normalize_obs),
        ).to(self.device)
        self.id_dim_critic = id_dim_critic
        # every parameter and gradient in one flat vector: clipping and Adam are a few ops on it
        handgrad = MLPGaussianStep.supports(cfg, actor)
        # the MLP-Gaussian loss with its gradient written out (no autograd graph), actor and critic
        # as one batched pair when they read the same input through equal hidden layers
        paired = handgrad and not cfg.centralized_critic and can_pair(actor, critic)
        order = paired_order(self.model, actor, critic) if paired else list(self.model.parameters())
        self.flat = FlatParameters(order)
        self.optimizer = FlatAdam(self.flat, lr=cfg.learning_rate, eps=1e-5, legacy_order=list(self.model.parameters()))
        self._handgrad = MLPGaussianStep(actor, critic, self.flat, cfg.activation, paired) if handgrad else None
        self._bounds()
        # training state (all of it goes into checkpoints)
        self.global_step = 0
        self.update = 0
        self.reward_stats = np.array([0.0, 1.0, 1e-4])  # mean, var, count of discounted returns
        self.discounted_return = np.zeros((self.num_envs, self.num_agents))
        self.curve: list[dict[str, float]] = []
        self.env_info: dict[str, Any] = {}
        self._obs = sim.reset(seed=self.seed) if _reset else None
        self._eye = torch.eye(self.num_agents, device=self.device)

    # ------------------------------------------------------------------ spaces and inputs
    def _phase_index(self) -> list[int] | None:
        """The LPN's phase entries, counted in the observation (not the appended agent id).

        Unset, a simulator's ``phase_index`` attribute is used where it has one.
        """
        cfg = self.config
        if cfg.policy != "lpn" or cfg.phase_fn is not None:
            return None
        index = cfg.phase_index if cfg.phase_index is not None else getattr(self.sim, "phase_index", None)
        if index is None:
            return None
        index = [index] if isinstance(index, (int, np.integer)) else list(index)
        if any(not -self.obs_dim <= int(i) < self.obs_dim for i in index):
            raise RewardlabError(
                f"{self.sim.env_id}: phase_index {cfg.phase_index!r} outside the observation (length {self.obs_dim})"
            )
        return [int(i) % self.obs_dim for i in index]

    def _action_layout(self, action_spaces) -> ActionLayout:
        first = action_spaces[0]
        if isinstance(first, spaces.Box):
            if len(first.shape) != 1:
                raise RewardlabError(f"{self.sim.env_id}: PPO needs 1-D Box actions, got shape {first.shape}")
            return ActionLayout("box", int(first.shape[0]))
        if self.config.policy == "lpn" or self.config.jacobian_penalty or self.config.caps_spatial or self.config.caps_temporal:
            raise RewardlabError(
                f"{self.sim.env_id}: the LPN and the smoothness penalties need continuous (Box) actions"
            )
        if isinstance(first, spaces.Discrete):
            if any(s.n != first.n for s in action_spaces):
                raise RewardlabError(f"{self.sim.env_id}: PPO shares one policy; agents' Discrete sizes differ")
            return ActionLayout("discrete", 1, (int(first.n),), flat=True)
        if isinstance(first, spaces.MultiDiscrete):
            nvec = np.asarray(first.nvec)
            if nvec.ndim != 1 or any(not np.array_equal(s.nvec, nvec) for s in action_spaces):
                raise RewardlabError(f"{self.sim.env_id}: PPO needs one 1-D MultiDiscrete shared by all agents")
            return ActionLayout("discrete", len(nvec), tuple(int(v) for v in nvec), flat=False)
        raise RewardlabError(f"{self.sim.env_id}: unsupported action space {first}")

    def _bounds(self) -> None:
        spaces_ = self.sim.action_spaces
        if self.layout.kind == "box":
            low = np.stack([s.low for s in spaces_]).astype(np.float64)
            high = np.stack([s.high for s in spaces_]).astype(np.float64)
            self.rescale = bool(np.all(np.isfinite(low)) and np.all(np.isfinite(high)))
            if not self.rescale and self.config.distribution == "beta":
                raise RewardlabError(f"{self.sim.env_id}: distribution='beta' needs finite action bounds")
            self._low_np, self._span = low, high - low
            self._half_span = self._span / 2.0
        else:
            # each agent's first action value: (n,) for Discrete, (n, k) for MultiDiscrete
            self._start_np = np.stack(
                [np.broadcast_to(np.asarray(getattr(s, "start", 0), dtype=np.int64), s.shape) for s in spaces_]
            )

    def _inputs(self, obs: np.ndarray, update_norm: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Actor input (B*n, d_a) and critic input (B*n, d_c) from raw observations (B, n, ...)."""
        B, n = obs.shape[0], obs.shape[1]
        raw = torch.as_tensor(obs, dtype=torch.float32, device=self.device).reshape(B, n, self.obs_dim)
        model = self.model
        if update_norm:
            model.obs_norm.update(raw)
        x = model.obs_norm(raw)
        ids = self._eye.expand(B, n, n)
        if self.config.centralized_critic:
            joint = raw.reshape(B, n * self.obs_dim)
            if update_norm:
                model.state_norm.update(joint)
            state = model.state_norm(joint).unsqueeze(1).expand(B, n, n * self.obs_dim)
        else:
            state = x
        if self.use_agent_id:
            x = torch.cat([x, ids], dim=-1)
        if self.id_dim_critic:
            state = torch.cat([state, ids], dim=-1)
        return x.reshape(B * n, -1), state.reshape(B * n, -1)

    def _to_env(self, actions: torch.Tensor | np.ndarray) -> np.ndarray:
        """Policy actions (B*n, ...) to the simulator's (B, n, *action_shape), in NumPy.

        Gaussian actions are clipped to [-1, 1] and mapped affinely onto the Box bounds; Beta
        samples in (0, 1) are mapped onto them; discrete actions are offset by the space's start.
        """
        n = self.num_agents
        a = actions if isinstance(actions, np.ndarray) else actions.detach().cpu().numpy()
        if self.layout.kind == "box":
            a = a.reshape(-1, n, self.layout.dim).astype(np.float64)
            if self.rescale:
                if self.config.distribution == "gaussian":
                    np.minimum(np.maximum(a, -1.0, out=a), 1.0, out=a)
                    a += 1.0
                    a *= self._half_span
                else:
                    a *= self._span
                a += self._low_np
            return a
        a = a.reshape(-1, n, *(() if self.layout.flat else (self.layout.dim,))).astype(np.int64)
        a += self._start_np
        return a

    # ------------------------------------------------------------------ acting
    @torch.no_grad()
    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Simulator actions (B, n, ...) for observations (B, n, ...), without learning."""
        x, _ = self._inputs(np.asarray(obs), update_norm=False)
        dist = self.model.actor.dist(x)
        return self._to_env(dist.mode() if deterministic else dist.sample())

    def _scale_reward(self, reward: np.ndarray, done: np.ndarray, out: np.ndarray) -> None:
        """Divide by the running std of the discounted return (gymnasium's NormalizeReward), into ``out``."""
        if not self.config.normalize_reward:
            out[...] = reward
            return
        discounted = self.discounted_return
        discounted *= self.config.gamma
        discounted += reward
        size = discounted.size
        b_mean = float(np.add.reduce(discounted, None)) / size
        deviation = discounted - b_mean
        b_var = float(np.add.reduce(deviation * deviation, None)) / size
        mean, var, count = self.reward_stats
        delta = b_mean - mean
        total = count + size
        new_mean = mean + delta * size / total
        new_var = (var * count + b_var * size + delta**2 * count * size / total) / total
        self.reward_stats = np.array([new_mean, new_var, total])
        discounted[done] = 0.0
        np.divide(reward, math.sqrt(new_var + 1e-8), out=out)

    # ------------------------------------------------------------------ training
    @property
    def steps_per_update(self) -> int:
        return self.config.num_steps * self.num_envs

    def learn(
        self,
        total_steps: int,
        callback: Callable[[PPO, dict[str, float]], bool | None] | None = None,
    ) -> PPO:
        """Train until ``global_step >= total_steps`` (instance-steps).

        ``callback(agent, stats)`` runs after each update; returning False stops training (the
        agent can be checkpointed and resumed with the same ``total_steps``).
        """
        num_updates = max(1, int(total_steps) // self.steps_per_update)
        while self.update < num_updates:
            stats = self.train_one_update(num_updates)
            if callback is not None and callback(self, stats) is False:
                break
        return self

    def train_one_update(self, num_updates: int) -> dict[str, float]:
        """Collect one rollout and take the PPO update; returns the update's statistics."""
        cfg = self.config
        if cfg.anneal_lr:
            frac = 1.0 - self.update / max(num_updates, 1)
            for group in self.optimizer.param_groups:
                group["lr"] = frac * cfg.learning_rate
        t0 = time.perf_counter()
        batch, rollout_stats = self._rollout()
        t1 = time.perf_counter()
        update_stats = self._update(batch)
        t2 = time.perf_counter()
        self.update += 1
        stats = {
            "step": self.global_step,
            "update": self.update,
            **rollout_stats,
            **update_stats,
            "learning_rate": self.optimizer.param_groups[0]["lr"],
            "rollout_time_s": t1 - t0,
            "update_time_s": t2 - t1,
            "sps": self.steps_per_update / max(t2 - t0, 1e-9),
        }
        self.curve.append(stats)
        return stats

    @torch.inference_mode()
    def _rollout(self) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """Step the simulator T times with the current policy; returns the batch (T, N, ...) with
        advantages, and the rollout's statistics.

        Why it is written this way (it runs T times per update on a few dozen numbers, so
        per-call overhead is what costs): observation normalisation, reward scaling and action
        rescaling run in NumPy on host copies of the statistics (a ufunc on 20 numbers costs a
        fraction of a torch call), writing straight into preallocated buffers that torch reads
        without a copy on CPU; the one-hot agent ids are written once per rollout; inference mode
        (no autograd bookkeeping); actor and critic read one input when the critic is not
        centralised; per-step statistics are stored, not reduced, and reduced once at the end;
        GAE computes every TD error in one vectorised pass and loops only over the recursion.
        """
        cfg, sim, model = self.config, self.sim, self.model
        T, B, n = cfg.num_steps, self.num_envs, self.num_agents
        N, d = B * n, self.obs_dim
        dev = self.device
        on_cpu = dev.type == "cpu"
        central = cfg.centralized_critic
        obs_norm = HostNorm(model.obs_norm)
        state_norm = HostNorm(model.state_norm) if central else None
        # inputs: normalised observation then one-hot agent id (critic: the joint observation)
        obs_host = np.zeros((T, N, d + (n if self.use_agent_id else 0)), dtype=np.float32)
        if self.use_agent_id:
            obs_host[:, :, d:] = np.tile(np.eye(n, dtype=np.float32), (B, 1))
        if central:
            state_host = np.zeros((T, N, n * d + self.id_dim_critic), dtype=np.float32)
            if self.id_dim_critic:
                state_host[:, :, n * d :] = np.tile(np.eye(n, dtype=np.float32), (B, 1))
        act_buf = torch.empty((T, N, *(() if self.layout.flat else (self.layout.dim,))), device=dev)
        logp_buf = torch.empty((T, N), device=dev)
        value_buf = torch.empty((T, N), device=dev)
        rewards = np.empty((T, B, n), dtype=np.float64)  # scaled, with the time-limit bootstrap
        raw_rewards = np.empty((T, B, n), dtype=np.float64)
        dones = np.empty((T, B), dtype=bool)
        finished: dict[str, list[np.ndarray]] = {}
        terms: dict[str, list[np.ndarray]] = {}
        actor, critic = model.actor, model.critic
        # On CPU an MLP-Gaussian policy acts in NumPy: for a rollout step's few rows a NumPy
        # matmul or tanh costs a fraction of a torch call (about 10 us against 38 us for a 64-64
        # network on 16 rows); the weights are zero-copy views of the parameters. The values
        # agree with the torch forward to float32 rounding (the update recomputes log-probs and
        # values in torch; the first minibatch's ratio is 1 to about 1e-6).
        numpy_policy = on_cpu and cfg.policy == "mlp" and actor.distribution == "gaussian" and cfg.activation in ("tanh", "relu")
        if numpy_policy:
            actor_np, critic_np = numpy_layers(actor.net), numpy_layers(critic.net)
            # actor and critic reading one input through equal hidden layers: one network with
            # side-by-side (then block-diagonal) weights, built once per rollout; output [mean, value]
            joint_np = None if central else pair_numpy_layers(actor_np, critic_np)
            if joint_np is not None and max(N * w.size for w, _ in joint_np) > NUMPY_POLICY_MAX_WORK:
                joint_np = None  # the block-diagonal layers are 4x the work: separate networks
            used = joint_np if joint_np is not None else actor_np + critic_np
            numpy_policy = max(N * w.size for w, _ in used) <= NUMPY_POLICY_MAX_WORK
        if numpy_policy:  # the policy is fixed during the rollout
            log_std = actor.log_std.detach()
            std, inv_std = log_std.exp().numpy(), torch.exp(-log_std).numpy()
            log_norm = float(log_std.sum() + log_std.shape[0] * LOG_SQRT_2PI)
            act_np, logp_np, value_np = act_buf.numpy(), logp_buf.numpy(), value_buf.numpy()
        for t in range(T):
            raw = np.asarray(self._obs, dtype=np.float64).reshape(N, d)
            obs_norm.update(raw)
            obs_norm.normalize(raw, obs_host[t, :, :d])
            x = None if numpy_policy else torch.from_numpy(obs_host[t]).to(dev)
            if central:
                joint = raw.reshape(B, n * d)
                state_norm.update(joint)
                state_norm.normalize(joint[:, None, :], state_host[t, :, : n * d].reshape(B, n, n * d))
                state = None if numpy_policy else torch.from_numpy(state_host[t]).to(dev)
            else:
                state = x
            if numpy_policy:  # DiagGaussian's sample and log_prob, with the log-std terms hoisted
                if joint_np is not None:
                    both = numpy_mlp(joint_np, obs_host[t], cfg.activation)
                    mean, value_np[t] = both[:, :-1], both[:, -1]
                else:
                    mean = numpy_mlp(actor_np, obs_host[t], cfg.activation)
                    value_np[t] = numpy_mlp(critic_np, state_host[t] if central else obs_host[t], cfg.activation)[:, 0]
                action = act_np[t]
                np.multiply(torch.randn(mean.shape).numpy(), std, out=action)  # torch's generator
                action += mean
                z = (action - mean) * inv_std
                np.subtract(np.add.reduce(z * z, -1) * -0.5, log_norm, out=logp_np[t])
            else:
                dist = actor.dist(x)
                action = dist.sample()
                act_buf[t] = action
                logp_buf[t] = dist.log_prob(action)
                value_buf[t] = critic(state)
            step = sim.step(self._to_env(action), autoreset=True)
            self.global_step += B
            reward = np.asarray(step.reward, dtype=np.float64)
            done = np.asarray(step.done)
            raw_rewards[t] = reward
            for name, values in step.terms.items():
                terms.setdefault(name, []).append(values)
            self._scale_reward(reward, done, out=rewards[t])
            cut = np.asarray(step.truncated) & ~np.asarray(step.terminated)
            if cut.any():  # bootstrap through time limits: r += gamma * V(s_final)
                final_state = self._host_inputs(step.final_obs, obs_norm, state_norm, critic_input=True)
                final_value = critic(final_state).reshape(B, n).cpu().numpy()
                rewards[t] += cfg.gamma * final_value * cut[:, None]
            dones[t] = done
            if step.episode_metrics is not None:
                for name, values in step.episode_metrics.items():
                    finished.setdefault(name, []).append(np.asarray(values, dtype=np.float64)[done])
            self._obs = step.obs
        obs_norm.store(model.obs_norm)
        if central:
            state_norm.store(model.state_norm)
        next_value = critic(self._host_inputs(self._obs, obs_norm, state_norm, critic_input=True))
        obs_buf = torch.from_numpy(obs_host).to(dev)
        reward_buf = torch.as_tensor(rewards.reshape(T, N), dtype=torch.float32, device=dev)
        done_buf = torch.as_tensor(np.repeat(dones, n, axis=1), dtype=torch.float32, device=dev)
        advantages = self._gae(reward_buf, value_buf, done_buf, next_value)
        batch = {
            "obs": obs_buf,
            "actions": act_buf,
            "logp": logp_buf,
            "values": value_buf,
            "advantages": advantages,
            "returns": advantages + value_buf,
            "done": done_buf,
        }
        if central:
            batch["state"] = torch.from_numpy(state_host).to(dev)
        stats: dict[str, float] = {"reward_per_step": float(raw_rewards.mean())}
        for name, values in terms.items():
            stats[f"term/{name}"] = float(np.mean(values))
        episodes = 0
        for name, chunks in finished.items():
            values = np.concatenate(chunks)
            episodes = max(episodes, len(values))
            if len(values):
                stats[name if name in ("return", "length") else f"metric/{name}"] = float(np.mean(values))
        stats["episodes"] = float(episodes)
        return batch, stats

    def _host_inputs(self, obs: np.ndarray, obs_norm: HostNorm, state_norm: HostNorm | None, critic_input: bool) -> torch.Tensor:
        """The actor's (or critic's) input for observations (B, n, ...) with the rollout's current
        statistics, without updating them."""
        B, n, d = obs.shape[0], self.num_agents, self.obs_dim
        raw = np.asarray(obs, dtype=np.float64).reshape(B * n, d)
        if critic_input and self.config.centralized_critic:
            out = np.zeros((B * n, n * d + self.id_dim_critic), dtype=np.float32)
            state_norm.normalize(raw.reshape(B, 1, n * d), out[:, : n * d].reshape(B, n, n * d))
            if self.id_dim_critic:
                out[:, n * d :] = np.tile(np.eye(n, dtype=np.float32), (B, 1))
        else:
            out = np.zeros((B * n, d + (n if self.use_agent_id else 0)), dtype=np.float32)
            obs_norm.normalize(raw, out[:, :d])
            if self.use_agent_id:
                out[:, d:] = np.tile(np.eye(n, dtype=np.float32), (B, 1))
        return torch.from_numpy(out).to(self.device)

    def _gae(
        self,
        rewards: torch.Tensor,
        values: torch.Tensor,
        dones: torch.Tensor,
        next_value: torch.Tensor,
        numpy_loop: bool | None = None,
    ) -> torch.Tensor:
        """Generalised advantage estimation (T, N), backwards through the rollout.

        delta_t = r_t + gamma V(s_{t+1}) (1 - d_t) - V(s_t);  A_t = delta_t + gamma lambda (1 - d_t) A_{t+1}.
        The recursion loops in NumPy on CPU tensors (``numpy_loop`` None: by device), in torch
        elsewhere; both are the same float32 operations.
        """
        gamma, gae_lambda = self.config.gamma, self.config.gae_lambda
        nonterminal = 1.0 - dones
        next_values = torch.cat([values[1:], next_value.unsqueeze(0)])
        deltas = rewards + gamma * next_values * nonterminal - values
        decay = gamma * gae_lambda * nonterminal
        advantages = torch.empty_like(rewards)
        if numpy_loop if numpy_loop is not None else rewards.device.type == "cpu":  # ~1 us a step, not ~10
            adv, delta, factor = advantages.numpy(), deltas.numpy(), decay.numpy()
            adv[-1] = delta[-1]
            for t in range(rewards.shape[0] - 2, -1, -1):
                np.multiply(factor[t], adv[t + 1], out=adv[t])
                adv[t] += delta[t]
            return advantages
        last_gae = torch.zeros_like(next_value)
        for t in reversed(range(rewards.shape[0])):
            last_gae = deltas[t] + decay[t] * last_gae
            advantages[t] = last_gae
        return advantages

    def _update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Epochs of shuffled minibatches over the batch; returns the update's statistics.

        Two ways to the same loss: the MLP-Gaussian policy's gradient is written by hand
        (``rewardlab.agents.handgrad.MLPGaussianStep``, tested against autograd); every other
        policy, distribution and smoothness penalty goes through autograd (``_autograd_loss``).
        Both leave the gradient in the flat vector, which one fused kernel clips and steps.
        """
        cfg = self.config
        T, N = batch["logp"].shape
        total = T * N
        # Every per-sample field side by side in one (total, F) matrix: a minibatch is then one
        # row gather (index_select) instead of one advanced-indexing op per field. The fields
        # are column views of it (and of each minibatch).
        names = [name for name in ("obs", "state", "actions", "logp", "values", "advantages", "returns", "done") if name in batch]
        packed = torch.cat([batch[name].reshape(total, -1) for name in names], dim=1)
        columns: dict[str, tuple[int, int, tuple[int, ...]]] = {}
        widths: list[int] = []
        offset = 0
        for name in names:
            width = batch[name].reshape(total, -1).shape[1]
            columns[name] = (offset, offset + width, tuple(batch[name].shape[2:]))
            widths.append(width)
            offset += width

        def fields(rows: torch.Tensor) -> dict[str, torch.Tensor]:
            out = {name: rows[:, a:b].reshape(rows.shape[0], *shape) for name, (a, b, shape) in columns.items()}
            out.setdefault("state", out["obs"])  # the critic reads the actor's input
            return out

        flat = fields(packed)
        mb_size = int(cfg.minibatch_size) if cfg.minibatch_size else max(1, total // cfg.num_minibatches)
        mb_size = min(mb_size, total)
        smooth = cfg.caps_temporal > 0 or cfg.caps_spatial > 0 or cfg.jacobian_penalty > 0 or cfg.lipschitz_penalty > 0
        method = cfg.jacobian_method
        if method == "auto":
            method = "analytic" if cfg.policy == "lpn" else "vmap"
        # statistics stay tensors until the update ends (no host sync per minibatch on a GPU)
        term_values: dict[str, list[torch.Tensor]] = {}
        handgrad = self._handgrad
        if handgrad is not None:
            handgrad.begin_update(cfg.update_epochs, total, self.device)
        stop = False
        for _epoch in range(cfg.update_epochs):
            order = torch.randperm(total, device=self.device)
            for start in range(0, total, mb_size):
                idx = order[start : start + mb_size]
                rows = packed.index_select(0, idx)
                if handgrad is not None:  # the same loss, its gradient written into self.flat.grad
                    mb = dict(zip(names, rows.split(widths, 1), strict=True))  # (M, width) column views
                    approx_kl = handgrad(
                        mb["obs"], mb.get("state", mb["obs"]), mb["actions"], mb["logp"], mb["values"], mb["advantages"], mb["returns"], cfg
                    )
                else:
                    terms = self._autograd_loss(fields(rows), idx, flat, method, smooth, N, total)
                    approx_kl = terms["approx_kl"]
                    for name, value in terms.items():
                        term_values.setdefault(name, []).append(value.detach())
                self.optimizer.step(self.flat.clip_divisor(cfg.max_grad_norm))  # clip, then Adam, in one kernel
                if cfg.target_kl is not None and float(approx_kl) > cfg.target_kl:
                    stop = True
                    break
            if stop:
                break
        if handgrad is not None:
            stats = handgrad.finish_update(cfg)
        else:
            stats = {name: float(torch.stack(values).double().mean()) for name, values in term_values.items()}
        y_pred, y_true = flat["values"], flat["returns"]
        var_y = float(y_true.var())
        stats["explained_variance"] = float("nan") if var_y == 0 else 1.0 - float((y_true - y_pred).var()) / var_y
        return stats

    def _autograd_loss(self, mb, idx, flat, method, smooth, N, total) -> dict[str, torch.Tensor]:
        """The PPO loss of minibatch ``mb`` through autograd, its gradient accumulated into
        ``self.flat.grad``; returns the loss terms (any policy, distribution and penalty)."""
        cfg, model = self.config, self.model
        x = mb["obs"]
        if cfg.policy == "lpn":  # keep K(phi): the analytic penalty reuses it
            mean, gains = model.actor.forward_with_gains(x)
            dist = DiagGaussian(mean, model.actor.log_std)
        else:
            dist, gains = model.actor.dist(x), None
        new_logp = dist.log_prob(mb["actions"])
        entropy = dist.entropy().mean()
        log_ratio = new_logp - mb["logp"]
        ratio = log_ratio.exp()
        with torch.no_grad():
            approx_kl = ((ratio - 1) - log_ratio).mean()
            clipfrac = ((ratio - 1.0).abs() > cfg.clip_coef).float().mean()
        adv = mb["advantages"]
        if cfg.norm_adv and len(idx) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
        new_value = model.critic(mb["state"])
        returns = mb["returns"]
        if cfg.clip_vloss:
            old_value = mb["values"]
            clipped = old_value + (new_value - old_value).clamp(-cfg.clip_coef, cfg.clip_coef)
            v_loss = 0.5 * torch.max((new_value - returns).pow(2), (clipped - returns).pow(2)).mean()
        else:
            v_loss = 0.5 * (new_value - returns).pow(2).mean()
        loss = pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
        terms = {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": entropy, "approx_kl": approx_kl}
        if smooth:
            extra = self._smoothness(x, idx, flat, dist, gains, method, N, total)
            for name, (weight, value) in extra.items():
                loss = loss + weight * value
                terms[name] = value
        self.flat.zero_grad()
        loss.backward()  # accumulates in place into the parameters' .grad, views of self.flat.grad
        terms["clipfrac"] = clipfrac
        return terms

    def _smoothness(self, x, idx, flat, dist, gains, method, N, total) -> dict[str, tuple[float, torch.Tensor]]:
        """The enabled smoothness losses on minibatch inputs x, as name -> (weight, value)."""
        cfg, actor = self.config, self.model.actor
        out: dict[str, tuple[float, torch.Tensor]] = {}
        if cfg.jacobian_penalty > 0:
            if method == "analytic":
                value = penalties.lpn_jacobian_penalty(gains)
            elif cfg.policy == "lpn":  # autograd through the LPN, w.r.t. s at fixed phi
                s, phi = actor.split(x)
                value = penalties.jacobian_penalty(actor.mean_of, s, phi, method=method)
            else:
                value = penalties.jacobian_penalty(actor.mean_action, x, method=method)
            out["jacobian_penalty"] = (cfg.jacobian_penalty, value)
        if cfg.caps_temporal > 0 or cfg.caps_spatial > 0:
            mean = dist.mode()
            if cfg.caps_temporal > 0:
                nxt = (idx + N).clamp(max=total - 1)
                valid = (idx + N < total) & (flat["done"][idx] == 0)
                next_mean = actor.mean_action(flat["obs"][nxt])
                out["caps_temporal"] = (cfg.caps_temporal, penalties.caps_temporal(mean, next_mean, valid))
            if cfg.caps_spatial > 0:
                value = penalties.caps_spatial(actor.mean_action, x, cfg.caps_sigma, mean)
                out["caps_spatial"] = (cfg.caps_spatial, value)
        if cfg.lipschitz_penalty > 0:
            actions = flat["actions"][idx]
            value = penalties.lipschitz_penalty(lambda s_: actor.dist(s_).log_prob(actions), x)
            out["lipschitz_penalty"] = (cfg.lipschitz_penalty, value)
        return out

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(
        self,
        episodes: int = 10,
        seed: int | None = None,
        deterministic: bool = True,
        eval_env: Any = None,
        max_steps: int = 100_000,
        frame_callback: Callable[[Any], None] | None = None,
    ) -> dict[str, float]:
        """Mean of every episode metric over ``episodes`` episodes, one per fresh instance.

        The evaluation simulator is a copy of the training one with B = ``episodes`` (or
        ``eval_env``), seeded with ``seed`` (default: the agent's seed + 1_000_000).
        """
        return summarize(self.evaluate_episodes(episodes, seed, deterministic, eval_env, max_steps, frame_callback))

    @torch.no_grad()
    def evaluate_episodes(
        self,
        episodes: int = 10,
        seed: int | None = None,
        deterministic: bool = True,
        eval_env: Any = None,
        max_steps: int = 100_000,
        frame_callback: Callable[[Any], None] | None = None,
        render_mode: str | None = None,
    ) -> dict[str, np.ndarray]:
        """Every episode metric per evaluation episode (arrays of length ``episodes``)."""
        sim = as_sim(eval_env) if eval_env is not None else clone_sim(self.sim, episodes, render_mode)
        if sim.num_agents != self.num_agents:
            raise RewardlabError(f"{sim.env_id}: evaluation env has {sim.num_agents} agents, the agent {self.num_agents}")
        seed = self.seed + 1_000_000 if seed is None else seed
        try:
            return run_episodes(sim, lambda obs: self.predict(obs, deterministic), episodes, seed, max_steps, frame_callback)
        finally:
            if eval_env is None:
                sim.close()

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The checkpoint document: tensors at the top, everything else in one restricted pickle.

        ``torch.load(weights_only=True)`` reads the top level (tensors, numbers, strings, bytes);
        ``state`` (the simulator, the NumPy arrays and generator state, the config, the curve) is
        read by :func:`rewardlab.core.safe_pickle.safe_loads`, which builds only rewardlab's
        classes, NumPy arrays and Gymnasium spaces: a crafted checkpoint cannot run code.
        """
        cfg = dataclasses.asdict(self.config)
        if cfg.get("phase_fn") is not None:
            raise RewardlabError("PPO.save: a config with phase_fn (a callable) cannot be saved; use phase_index")
        state = {
            "config": cfg,
            "seed": self.seed,
            "global_step": self.global_step,
            "update": self.update,
            "reward_stats": self.reward_stats.copy(),
            "discounted_return": self.discounted_return.copy(),
            "numpy_rng": np.random.get_state(),
            "sim": self.sim,
            "obs": self._obs,
            "curve": list(self.curve),
            "env_info": dict(self.env_info),
        }
        return {
            "format": CHECKPOINT_FORMAT,
            "algo": self.algo_name,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "state": pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL),
        }

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint that :meth:`load` resumes exactly (model, optimizer, RNGs, simulator)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> PPO:
        """Restore an agent saved by :meth:`save`.

        Nothing in the file can run code: the tensors are read with ``torch.load(weights_only=True)``
        and the rest with an allow-list unpickler (:mod:`rewardlab.core.safe_pickle`). A truncated,
        empty or foreign file is a RewardlabError that names it.
        """
        path = Path(path)
        try:
            top = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise RewardlabError(f"{path}: no such checkpoint") from None
        except Exception as err:  # truncated zip, not a torch file, a pickle naming unsafe globals
            raise RewardlabError(
                f"{path}: not a readable rewardlab checkpoint ({type(err).__name__}: {_first_line(err)})"
            ) from None
        if not isinstance(top, dict) or top.get("format") != CHECKPOINT_FORMAT or "state" not in top:
            found = top.get("format") if isinstance(top, dict) else type(top).__name__
            raise RewardlabError(
                f"{path}: not a rewardlab PPO checkpoint of format {CHECKPOINT_FORMAT} (found {found!r}); "
                "checkpoints of format 1 (before safe loading) must be retrained"
            )
        try:
            state = safe_loads(top["state"])
        except UnsafePickleError as err:
            raise RewardlabError(f"{path}: {err}") from None
        from rewardlab.agents.mappo import MAPPO
        from rewardlab.core.sim import BatchedSim

        if not isinstance(state, dict) or not isinstance(state.get("sim"), BatchedSim):
            raise RewardlabError(f"{path}: not a rewardlab PPO checkpoint (no simulator in its state)")
        kind = {"ppo": PPO, "mappo": MAPPO}.get(top.get("algo"), cls)
        try:
            agent = kind(state["sim"], PPOConfig(**state["config"]), seed=state["seed"], device=device, _reset=False)
            agent.model.load_state_dict(top["model"])
            agent.optimizer.load_state_dict(top["optimizer"])
        except (KeyError, TypeError, RuntimeError, ValueError) as err:
            if isinstance(err, RewardlabError):
                raise
            raise RewardlabError(
                f"{path}: the checkpoint does not fit its agent ({type(err).__name__}: {_first_line(err)})"
            ) from None
        agent.global_step = state["global_step"]
        agent.update = state["update"]
        agent.reward_stats = state["reward_stats"]
        agent.discounted_return = state["discounted_return"]
        agent._obs = state["obs"]
        agent.curve = state["curve"]
        agent.env_info = state["env_info"]
        torch.set_rng_state(top["torch_rng"])
        if top["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(top["cuda_rng"])
        np.random.set_state(state["numpy_rng"])
        return agent

