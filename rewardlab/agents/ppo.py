"""Proximal Policy Optimisation, written to be read top to bottom: GAE, then the agent's rollout,
loss, update, evaluation and checkpoints (its settings are :class:`PPOConfig`, in
:mod:`rewardlab.agents.config`).

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
``centralized_critic=True`` (:class:`MAPPO`) the critic sees every agent's observation and the
agent id.

    sim = rewardlab.make_sim("rewardlab/CoopSLCD-v0", num_envs=64)
    agent = PPO(sim, PPOConfig(num_steps=64), seed=0)
    agent.learn(total_steps=200_000)
    print(agent.evaluate(episodes=10))

A step counts one instance-step (B per simulator step); a batch holds
num_steps x num_envs x num_agents samples. ``PPOConfig(backend="fast")`` runs the same algorithm
through :mod:`rewardlab.agents.fast` (a NumPy rollout policy and a hand-written gradient for the
MLP-Gaussian policy); this module is the reference it is tested against.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces

import rewardlab.agents.exploration as exploration
import rewardlab.agents.fast as fast
import rewardlab.agents.penalties as penalties
from rewardlab.agents.checkpoint import CHECKPOINT_FORMAT, first_line, read_checkpoint
from rewardlab.agents.config import PPOConfig
from rewardlab.agents.distributions import DiagGaussian
from rewardlab.agents.envs import RolloutLog, as_sim, clone_sim, resolve_device, run_episodes, summarize
from rewardlab.agents.policies import ActionLayout, ActorCritic, Critic, RunningNorm, build_actor
from rewardlab.core.errors import RewardlabError

__all__ = ["ALGORITHMS", "CHECKPOINT_FORMAT", "MAPPO", "PPO", "PPOConfig", "gae", "resolve_device"]


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    next_value: torch.Tensor,
    gamma: float,
    gae_lambda: float,
) -> torch.Tensor:
    """Generalised advantage estimation (Schulman et al. 2016) over a rollout (T, N).

    ``dones[t]`` marks that the episode ended at step t, so ``values[t + 1]`` belongs to the next
    episode and is not bootstrapped from:

        delta_t = r_t + gamma V(s_{t+1}) (1 - d_t) - V(s_t)
        A_t     = delta_t + gamma lambda (1 - d_t) A_{t+1}
    """
    advantages = torch.zeros_like(rewards)
    last_advantage = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        following = next_value if t == rewards.shape[0] - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * following * nonterminal - values[t]
        last_advantage = delta + gamma * gae_lambda * nonterminal * last_advantage
        advantages[t] = last_advantage
    return advantages


@dataclasses.dataclass
class HeldStep:
    """One decision's transition over the held simulator steps (``PPOConfig.action_repeat``)."""

    reward: np.ndarray  #: (B, n), summed over the held steps
    done: np.ndarray  #: (B,)
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: np.ndarray | None  #: the last observation of the episodes that ended
    obs: np.ndarray  #: the observation after the last held step
    events: dict[str, np.ndarray]  #: event name -> (B,): the events of the step that ended each episode


class PPO:
    """PPO (IPPO with parameter sharing on multi-agent simulators; MAPPO with a central critic).

    Args:
        env: a rewardlab BatchedSim, a rewardlab VectorEnv, or a single-agent Gymnasium VectorEnv
            with same-step autoreset.
        config: a PPOConfig or a dict of its fields.
        seed: seeds torch, the simulator and the minibatch shuffling.
        device: "cpu", "cuda", or "auto".
    """

    algo_name: ClassVar[str] = "ppo"

    def __init__(
        self,
        env: Any,
        config: PPOConfig | dict[str, Any] | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        _reset: bool = True,
    ) -> None:
        self.sim = as_sim(env)
        self.config = config if isinstance(config, PPOConfig) else PPOConfig.from_kwargs(type(self).__name__, config)
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
        # the central critic always needs to know whose value it estimates
        self.critic_agent_id = self.use_agent_id or cfg.centralized_critic
        self.layout = self._action_layout(sim.action_spaces)
        self.model = self._build_model().to(self.device)
        self._action_bounds()
        self.exploration_priors = self._exploration_priors()
        self.fast = fast.FastBackend(self) if cfg.backend == "fast" else None
        if self.fast is not None:
            self.optimizer = self.fast.optimizer
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate, eps=1e-5)
        # training state (all of it goes into checkpoints)
        self.global_step = 0
        self.update = 0
        self.reward_stats = np.array([0.0, 1.0, 1e-4])  # mean, var, count of discounted returns
        self.discounted_return = np.zeros((self.num_envs, self.num_agents))
        self.curve: list[dict[str, float]] = []
        self.env_info: dict[str, Any] = {}
        self._obs = sim.reset(seed=self.seed) if _reset else None

    # ------------------------------------------------------------------ networks and spaces
    def _build_model(self) -> ActorCritic:
        cfg, n = self.config, self.num_agents
        actor_in = self.obs_dim + (n if self.use_agent_id else 0)
        state_dim = self.obs_dim * (n if cfg.centralized_critic else 1)
        critic_in = state_dim + (n if self.critic_agent_id else 0)
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
            raise RewardlabError(f"{self.sim.env_id}: {err}") from err
        critic = Critic(critic_in, cfg.critic_hidden_sizes or cfg.hidden_sizes, cfg.activation)
        return ActorCritic(
            actor,
            critic,
            RunningNorm(self.obs_dim, enabled=cfg.normalize_obs),
            RunningNorm(state_dim, enabled=cfg.normalize_obs),
        )

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
        first, cfg, env_id = action_spaces[0], self.config, self.sim.env_id
        if isinstance(first, spaces.Box):
            if len(first.shape) != 1:
                raise RewardlabError(f"{env_id}: PPO needs 1-D Box actions, got shape {first.shape}")
            return ActionLayout("box", int(first.shape[0]))
        if cfg.policy == "lpn" or cfg.jacobian_penalty or cfg.caps_spatial or cfg.caps_temporal:
            raise RewardlabError(f"{env_id}: the LPN and the smoothness penalties need continuous (Box) actions")
        if isinstance(first, spaces.Discrete):
            if any(s.n != first.n for s in action_spaces):
                raise RewardlabError(f"{env_id}: PPO shares one policy; agents' Discrete sizes differ")
            return ActionLayout("discrete", 1, (int(first.n),), flat=True)
        if isinstance(first, spaces.MultiDiscrete):
            nvec = np.asarray(first.nvec)
            if nvec.ndim != 1 or any(not np.array_equal(s.nvec, nvec) for s in action_spaces):
                raise RewardlabError(f"{env_id}: PPO needs one 1-D MultiDiscrete shared by all agents")
            return ActionLayout("discrete", len(nvec), tuple(int(v) for v in nvec), flat=False)
        raise RewardlabError(f"{env_id}: unsupported action space {first}")

    def _action_bounds(self) -> None:
        action_spaces = self.sim.action_spaces
        if self.layout.kind == "box":
            low = np.stack([s.low for s in action_spaces]).astype(np.float64)
            high = np.stack([s.high for s in action_spaces]).astype(np.float64)
            self.rescale = bool(np.all(np.isfinite(low)) and np.all(np.isfinite(high)))
            if not self.rescale and self.config.distribution == "beta":
                raise RewardlabError(f"{self.sim.env_id}: distribution='beta' needs finite action bounds")
            self.action_low, self.action_span = low, high - low
        else:
            # each agent's first action value: (n,) for Discrete, (n, k) for MultiDiscrete
            self.action_start = np.stack(
                [np.broadcast_to(np.asarray(getattr(s, "start", 0), dtype=np.int64), s.shape) for s in action_spaces]
            )

    def _exploration_priors(self) -> exploration.Priors:
        """The simulator's priors for Roach's exploration loss (none while it is off)."""
        if self.config.exploration_coef == 0:
            return ()
        priors = getattr(self.sim, "exploration_priors", None)
        if self.layout.kind != "box" or not priors:
            raise RewardlabError(
                f"{self.sim.env_id}: exploration_coef={self.config.exploration_coef!r} (Roach's exploration loss) "
                "needs a simulator that declares exploration priors, with continuous actions (the driving family's "
                "steering and acceleration; not action='discrete')"
            )
        return priors

    def _inputs(self, obs: np.ndarray, update_norm: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Actor input (B*n, d_a) and critic input (B*n, d_c) from raw observations (B, n, ...).

        Observations are normalised in double precision (the running statistics are doubles) and
        rounded to float32 once.
        """
        B, n, d = obs.shape[0], self.num_agents, self.obs_dim
        raw = torch.as_tensor(np.asarray(obs, dtype=np.float64), device=self.device).reshape(B, n, d)
        model = self.model
        if update_norm:
            model.obs_norm.update(raw)
        x = model.obs_norm(raw).float()
        ids = torch.eye(n, device=self.device).expand(B, n, n)
        if self.config.centralized_critic:
            joint = raw.reshape(B, n * d)
            if update_norm:
                model.state_norm.update(joint)
            state = model.state_norm(joint).float().unsqueeze(1).expand(B, n, n * d)
        else:
            state = x
        if self.use_agent_id:
            x = torch.cat([x, ids], dim=-1)
        if self.critic_agent_id:
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
            if not self.rescale:
                return a
            if self.config.distribution == "gaussian":
                a = (np.clip(a, -1.0, 1.0) + 1.0) * (self.action_span / 2.0)
            else:
                a = a * self.action_span
            return a + self.action_low
        a = a.reshape(-1, n, *(() if self.layout.flat else (self.layout.dim,))).astype(np.int64)
        return a + self.action_start

    # ------------------------------------------------------------------ acting
    @torch.no_grad()
    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Simulator actions (B, n, ...) for observations (B, n, ...), without learning."""
        x, _ = self._inputs(np.asarray(obs), update_norm=False)
        dist = self.model.actor.dist(x)
        return self._to_env(dist.mode() if deterministic else dist.sample())

    def _acting(self, deterministic: bool = True) -> Callable[[np.ndarray], np.ndarray]:
        """``act(obs)`` for a run of episodes started together: a new decision every ``action_repeat`` steps."""
        repeat = self.config.action_repeat
        if repeat == 1:
            return lambda obs: self.predict(obs, deterministic)
        held = {"step": 0, "actions": None}

        def act(obs: np.ndarray) -> np.ndarray:
            if held["step"] % repeat == 0:
                held["actions"] = self.predict(obs, deterministic)
            held["step"] += 1
            return held["actions"]

        return act

    def _scale_reward(self, reward: np.ndarray, done: np.ndarray) -> np.ndarray:
        """Reward divided by the running std of the discounted return (Gymnasium's NormalizeReward)."""
        if not self.config.normalize_reward:
            return reward
        self.discounted_return = self.discounted_return * self.config.gamma + reward
        discounted, size = self.discounted_return, self.discounted_return.size
        batch_mean = float(discounted.mean())
        batch_var = float(((discounted - batch_mean) ** 2).mean())
        mean, var, count = self.reward_stats
        delta = batch_mean - mean
        total = count + size
        new_mean = mean + delta * size / total
        new_var = (var * count + batch_var * size + delta**2 * count * size / total) / total
        self.reward_stats = np.array([new_mean, new_var, total])
        self.discounted_return[done] = 0.0
        return reward / math.sqrt(new_var + 1e-8)

    # ------------------------------------------------------------------ training
    @property
    def steps_per_update(self) -> int:
        """Simulator instance-steps per update: T decisions x B instances x action_repeat."""
        return self.config.num_steps * self.num_envs * self.config.action_repeat

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
        batch, next_value, rollout_stats = self.fast.rollout() if self.fast else self._rollout()
        advantages = gae(batch["rewards"], batch["values"], batch["dones"], next_value, cfg.gamma, cfg.gae_lambda)
        batch["advantages"] = advantages
        batch["returns"] = batch["advantages"] + batch["values"]
        t1 = time.perf_counter()
        update_stats = self.fast.update(batch) if self.fast else self._update(batch)
        update_stats["explained_variance"] = explained_variance(batch["values"], batch["returns"])
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

    @torch.no_grad()
    def _rollout(self) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict[str, float]]:
        """Step the simulator T times with the current policy.

        Returns the batch (T, B*n, ...): policy inputs, actions, their log-probabilities, values,
        scaled rewards (with the time-limit bootstrap) and episode ends; the value of the last
        observation; and the rollout's statistics.
        """
        cfg, model = self.config, self.model
        B, n = self.num_envs, self.num_agents
        steps: dict[str, list[torch.Tensor]] = {key: [] for key in ("obs", "state", "actions", "logp", "values")}
        rewards, dones, ended_events = [], [], []
        log = RolloutLog()
        for _ in range(cfg.num_steps):
            x, state = self._inputs(self._obs, update_norm=True)
            dist = model.actor.dist(x)
            action = dist.sample()
            for key, value in zip(steps, (x, state, action, dist.log_prob(action), model.critic(state)), strict=True):
                steps[key].append(value)
            step = self._step_held(self._to_env(action), log)
            reward, done = step.reward, step.done
            scaled = self._scale_reward(reward, done)
            time_limit = step.truncated & ~step.terminated
            if time_limit.any():  # bootstrap through time limits: r += gamma * V(s_final)
                final_value = model.critic(self._inputs(step.final_obs, update_norm=False)[1])
                scaled = scaled + cfg.gamma * final_value.reshape(B, n).cpu().numpy() * time_limit[:, None]
            rewards.append(scaled.reshape(B * n))
            dones.append(np.repeat(done, n))
            ended_events.append(step.events)
            self._obs = step.obs
        next_value = model.critic(self._inputs(self._obs, update_norm=False)[1])
        batch = {key: torch.stack(values) for key, values in steps.items()}
        batch["rewards"] = torch.as_tensor(np.stack(rewards), dtype=torch.float32, device=self.device)
        batch["dones"] = torch.as_tensor(np.stack(dones), dtype=torch.float32, device=self.device)
        if cfg.exploration_coef > 0:
            batch.update(self._exploration_targets(ended_events, np.stack(dones)[:, ::n]))
        return batch, next_value, log.stats()

    def _exploration_targets(
        self, ended_events: list[dict[str, np.ndarray]], dones: np.ndarray
    ) -> dict[str, torch.Tensor]:
        """Roach's exploration priors of one rollout (:mod:`rewardlab.agents.exploration`), (T, B*n, m)."""
        cfg, n = self.config, self.num_agents
        decisions = exploration.decisions_for(cfg.exploration_steps, cfg.action_repeat)
        arrays = exploration.prior_targets(ended_events, dones, self.exploration_priors, decisions, self.layout.dim)
        names = ("explore_alpha", "explore_beta", "explore_mask")
        # every agent of an instance shares its ending: rows i*n ... i*n + n-1 are instance i
        return {name: torch.as_tensor(np.repeat(array, n, axis=1), device=self.device)
                for name, array in zip(names, arrays, strict=True)}

    def _step_held(self, actions: np.ndarray, log: RolloutLog) -> HeldStep:
        """Apply ``actions`` for ``action_repeat`` simulator steps; one decision's transition.

        The reward is the sum over the held steps. An instance whose episode ends on a held step
        keeps that step's ending (and its last observation in ``final_obs``); its new episode runs
        the remaining held steps on the same action, and those rewards belong to no transition
        (as the first steps of a frame-skipping agent's episode).
        """
        B = self.num_envs
        ended = np.zeros(B, dtype=bool)
        held = None
        for _ in range(self.config.action_repeat):
            step = self.sim.step(actions, autoreset=True)
            self.global_step += B
            reward = np.asarray(step.reward, dtype=np.float64)
            done = np.asarray(step.done)
            log.add(step, reward, done)
            if held is None:  # the first held step (the only one without action_repeat)
                held = HeldStep(reward, done.copy(), np.asarray(step.terminated).copy(),
                                np.asarray(step.truncated).copy(), step.final_obs, step.obs,
                                {name: np.asarray(flags) & done for name, flags in step.events.items()})
                ended = done.copy()
                continue
            live = ~ended
            held.reward = held.reward + np.where(live[:, None], reward, 0.0)
            new_end = done & live
            if new_end.any():
                held.terminated = held.terminated | (np.asarray(step.terminated) & new_end)
                held.truncated = held.truncated | (np.asarray(step.truncated) & new_end)
                final = np.array(held.final_obs if held.final_obs is not None else step.final_obs)
                final[new_end] = np.asarray(step.final_obs)[new_end]
                held.final_obs = final
                held.done = held.done | new_end
                held.events = {name: held.events.get(name, np.zeros(B, dtype=bool)) | (np.asarray(flags) & new_end)
                               for name, flags in step.events.items()}
                ended |= new_end
            held.obs = step.obs
        return held

    def _update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Epochs of shuffled minibatches over the batch; returns the mean of each loss term."""
        cfg = self.config
        T, N = batch["logp"].shape
        total = T * N
        flat = {key: value.reshape(total, *value.shape[2:]) for key, value in batch.items()}
        history: dict[str, list[float]] = {}
        for idx in self.minibatches(total):
            terms = self._loss({key: value[idx] for key, value in flat.items()}, idx, flat, N)
            self.optimizer.zero_grad()
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
            self.optimizer.step()
            for name, value in terms.items():
                if name != "loss":
                    history.setdefault(name, []).append(float(value.detach()))
            if cfg.target_kl is not None and history["approx_kl"][-1] > cfg.target_kl:
                break  # early stop: the policy moved too far from the one that collected the batch
        return {name: float(np.mean(values)) for name, values in history.items()}

    def minibatches(self, total: int):
        """Indices of each minibatch: ``update_epochs`` passes over a fresh permutation of the batch."""
        cfg = self.config
        size = min(int(cfg.minibatch_size) if cfg.minibatch_size else max(1, total // cfg.num_minibatches), total)
        for _epoch in range(cfg.update_epochs):
            order = torch.randperm(total, device=self.device)
            for start in range(0, total, size):
                yield order[start : start + size]

    def _loss(
        self, mb: dict[str, torch.Tensor], idx: torch.Tensor, flat: dict[str, torch.Tensor], N: int
    ) -> dict[str, torch.Tensor]:
        """The PPO loss of one minibatch ("loss") and its terms (any policy, distribution and penalty)."""
        cfg, model = self.config, self.model
        x = mb["obs"]
        if cfg.policy == "lpn":  # keep K(phi): the analytic Jacobian penalty reuses it
            mean, gains = model.actor.forward_with_gains(x)
            dist = DiagGaussian(mean, model.actor.log_std)
        else:
            dist, gains = model.actor.dist(x), None
        log_ratio = dist.log_prob(mb["actions"]) - mb["logp"]
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
        entropy = dist.entropy().mean()
        loss = pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
        terms = {
            "policy_loss": pg_loss,
            "value_loss": v_loss,
            "entropy": entropy,
            "approx_kl": approx_kl,
            "clipfrac": clipfrac,
        }
        if cfg.exploration_coef > 0:
            terms["exploration_loss"] = exploration.exploration_loss(
                dist.alpha, dist.beta, mb["explore_alpha"], mb["explore_beta"], mb["explore_mask"])
            loss = loss + cfg.exploration_coef * terms["exploration_loss"]
        for name, (weight, value) in self._smoothness(x, idx, flat, dist, gains, N).items():
            loss = loss + weight * value
            terms[name] = value
        terms["loss"] = loss
        return terms

    def _smoothness(self, x, idx, flat, dist, gains, N) -> dict[str, tuple[float, torch.Tensor]]:
        """The enabled smoothness losses on minibatch inputs x, as name -> (weight, value)."""
        cfg, actor = self.config, self.model.actor
        out: dict[str, tuple[float, torch.Tensor]] = {}
        if cfg.jacobian_penalty > 0:
            method = cfg.jacobian_method
            if method == "auto":
                method = "analytic" if cfg.policy == "lpn" else "vmap"
            if method == "analytic":
                value = penalties.lpn_jacobian_penalty(gains)
            elif cfg.policy == "lpn":  # autograd through the LPN, w.r.t. s at fixed phi
                s, phi = actor.split(x)
                value = penalties.jacobian_penalty(actor.mean_of, s, phi, method=method)
            else:
                value = penalties.jacobian_penalty(actor.mean_action, x, method=method)
            out["jacobian_penalty"] = (cfg.jacobian_penalty, value)
        if cfg.caps_temporal > 0:  # sample (t, i) is row t*N + i: its successor is N rows on
            total = flat["obs"].shape[0]
            following = (idx + N).clamp(max=total - 1)
            valid = (idx + N < total) & (flat["dones"][idx] == 0)
            next_mean = actor.mean_action(flat["obs"][following])
            out["caps_temporal"] = (cfg.caps_temporal, penalties.caps_temporal(dist.mode(), next_mean, valid))
        if cfg.caps_spatial > 0:
            value = penalties.caps_spatial(actor.mean_action, x, cfg.caps_sigma, dist.mode())
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
            raise RewardlabError(
                f"{sim.env_id}: evaluation env has {sim.num_agents} agents, the agent {self.num_agents}"
            )
        seed = self.seed + 1_000_000 if seed is None else seed
        try:
            return run_episodes(sim, self._acting(deterministic), episodes, seed, max_steps, frame_callback)
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
        """Restore an agent saved by :meth:`save`, as the algorithm that saved it (``ALGORITHMS``).

        Nothing in the file can run code: the tensors are read with ``torch.load(weights_only=True)``
        and the rest with an allow-list unpickler (:mod:`rewardlab.core.safe_pickle`). A truncated,
        empty or foreign file is a RewardlabError that names it.
        """
        path = Path(path)
        top, state = read_checkpoint(path)
        agent_cls = ALGORITHMS.get(top.get("algo"), cls)
        config = dict(state["config"])
        if "backend" not in config:  # saved before the backends were separated: the fast path ran
            config["backend"] = "fast" if fast.unsupported(PPOConfig(**config)) is None else "reference"
        try:
            agent = agent_cls(state["sim"], PPOConfig(**config), seed=state["seed"], device=device, _reset=False)
            agent.model.load_state_dict(top["model"])
            saved_optimizer = fast.adam_state(top["optimizer"], agent.optimizer, list(agent.model.parameters()))
            agent.optimizer.load_state_dict(saved_optimizer)
        except (KeyError, TypeError, RuntimeError, ValueError) as err:
            if isinstance(err, RewardlabError):
                raise
            raise RewardlabError(
                f"{path}: the checkpoint does not fit its agent ({type(err).__name__}: {first_line(err)})"
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


class MAPPO(PPO):
    """MAPPO (Yu et al. 2022): PPO whose critic is centralised (``centralized_critic`` forced on).

    Every agent acts from its own observation with one shared actor (and a one-hot agent id when
    n > 1); the critic sees the concatenation of all agents' observations of the instance plus the
    agent's id, so it can value the joint situation while execution stays decentralised.
    """

    algo_name: ClassVar[str] = "mappo"

    def __init__(
        self,
        env: Any,
        config: PPOConfig | dict[str, Any] | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        _reset: bool = True,
    ) -> None:
        config = config if isinstance(config, PPOConfig) else PPOConfig.from_kwargs("MAPPO", config)
        config = dataclasses.replace(config, centralized_critic=True)
        super().__init__(env, config, seed=seed, device=device, _reset=_reset)


#: the agent class of each checkpoint's "algo" (what :meth:`PPO.load` rebuilds)
ALGORITHMS: dict[str, type[PPO]] = {"ppo": PPO, "ippo": PPO, "mappo": MAPPO}


# ---------------------------------------------------------------------- helpers
def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """1 - Var[returns - values] / Var[returns] (NaN when the returns do not vary)."""
    var_returns = float(returns.var())
    return float("nan") if var_returns == 0 else 1.0 - float((returns - values).var()) / var_returns
