"""Social reward modes and inequity aversion for any PettingZoo ``ParallelEnv``.

Both wrappers take the rewards r_j of the agents that received one this step and give each
agent i a utility U_i that depends on the others' rewards.

**Social modes** (:class:`SocialReward`), with D a user interdependence matrix indexed like
``env.possible_agents`` (zero diagonal; D_ij is how much agent i values agent j's reward):

==============  ============================================================================
``private``     U_i = r_i
``cooperative`` U_i = (1/n) sum_j r_j, the team mean, to every agent
``integrated``  U_i = r_i + sum_{j != i} D_ij r_j (an agent absent from this step counts r_j = 0)
==============  ============================================================================

**Inequity aversion** (:class:`InequityAversion`; Fehr & Schmidt 1999):

    U_i = r_i - alpha/(n-1) sum_j max(x_j - x_i, 0) - beta/(n-1) sum_j max(x_i - x_j, 0)

where n is the number of agents rewarded this step, alpha weighs disadvantageous inequity
("envy") and beta advantageous inequity ("guilt"). With ``smoothing = 0`` the comparison uses
this step's rewards, x_j = r_j. With ``smoothing = gamma * lambda`` in (0, 1) it uses the
temporally smoothed rewards of Hughes et al. (2018, "Inequity aversion improves cooperation in
intertemporal social dilemmas"):

    e_j^t = gamma * lambda * e_j^{t-1} + r_j^t,      e_j = 0 at reset,      x_j = e_j^t

so an agent compares what the others have been earning lately, not the last step only, which is
what makes the model bite in games where rewards are sparse (one agent is paid on a step the
other is not). The envy and guilt sums (divided by n - 1, before alpha and beta) are reported in
``info["reward_terms"]["envy"]`` and ``["guilt"]``.

Both wrappers also report each agent's reward before the mix as
``info["reward_terms"]["private_reward"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from rewardlab.core.errors import RewardlabError, check_choice
from rewardlab.wrappers._common import check_agent_keys, check_number, with_terms

SOCIAL_MODES = ("private", "cooperative", "integrated")


def _interdependence(owner: str, matrix: Any, agents: list[str]) -> np.ndarray:
    """D as an (n, n) array indexed like ``agents``; accepts an array or ``{i: {j: D_ij}}``."""
    n = len(agents)
    if isinstance(matrix, Mapping):
        check_agent_keys(owner, "interdependence", matrix, agents)
        d = np.zeros((n, n))
        index = {a: k for k, a in enumerate(agents)}
        for i, row in matrix.items():
            if not isinstance(row, Mapping) or set(row) - set(agents):
                raise RewardlabError(
                    f"{owner}: interdependence[{i!r}] must be a dict {{agent: weight}} over the "
                    f"agents {agents}, got {row!r}"
                )
            for j, value in row.items():
                d[index[i], index[j]] = check_number(owner, f"interdependence[{i!r}][{j!r}]", value)
        matrix = d
    try:
        d = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise RewardlabError(f"{owner}: interdependence must be a numeric ({n}, {n}) array: {error}") from None
    if d.shape != (n, n) or not np.all(np.isfinite(d)):
        raise RewardlabError(
            f"{owner}: interdependence must be a finite ({n}, {n}) array indexed like possible_agents "
            f"{agents}, got shape {d.shape}"
        )
    if np.any(np.diag(d) != 0.0):
        raise RewardlabError(
            f"{owner}: interdependence must have a zero diagonal (an agent's own reward has weight 1 "
            f"by definition), got diagonal {np.diag(d).tolist()}"
        )
    return d


def _rewards_array(rewards: Mapping[str, Any]) -> tuple[list[str], np.ndarray]:
    agents = list(rewards)
    return agents, np.array([float(rewards[a]) for a in agents], dtype=np.float64)


def _with_private(infos: Mapping[str, Any], agents: list[str], r: np.ndarray, extra=None) -> dict[str, Any]:
    new_infos = dict(infos)
    for k, agent in enumerate(agents):
        terms = {"private_reward": float(r[k])}
        if extra is not None:
            terms.update({name: float(values[k]) for name, values in extra.items()})
        new_infos[agent] = with_terms(infos.get(agent), terms)
    return new_infos


class SocialReward(BaseParallelWrapper):
    """Mixes the agents' rewards of a PettingZoo env: private, cooperative or integrated.

    Args:
        env: any PettingZoo ``ParallelEnv``.
        mode: ``"private"``, ``"cooperative"`` (team mean) or ``"integrated"``.
        interdependence: D for ``"integrated"``: an (n, n) array indexed like
            ``env.possible_agents`` or a dict ``{i: {j: D_ij}}`` (missing entries are 0); the
            diagonal must be 0. Not allowed with the other modes.

    Example:
        >>> from pettingzoo.classic import rps_v2
        >>> from rewardlab.wrappers import SocialReward
        >>> env = SocialReward(rps_v2.parallel_env(), "integrated", [[0.0, 0.5], [0.5, 0.0]])
        >>> obs, infos = env.reset(seed=0)
        >>> obs, rewards, *_ = env.step({"player_0": 0, "player_1": 1})  # paper beats rock
        >>> rewards   # r = (-1, 1): U_0 = -1 + 0.5 * 1, U_1 = 1 + 0.5 * (-1)
        {'player_0': -0.5, 'player_1': 0.5}
    """

    def __init__(self, env: ParallelEnv, mode: str = "cooperative", interdependence: Any = None):
        super().__init__(env)
        owner = type(self).__name__
        check_choice(owner, "social mode", mode, SOCIAL_MODES)
        self.mode = mode
        self._agents = list(env.possible_agents)
        self._index = {a: k for k, a in enumerate(self._agents)}
        if mode == "integrated":
            if interdependence is None:
                raise RewardlabError(f"{owner}: mode 'integrated' needs an interdependence matrix D")
            self.interdependence = _interdependence(owner, interdependence, self._agents)
        elif interdependence is not None:
            raise RewardlabError(
                f"{owner}: interdependence is only used by mode 'integrated', not {mode!r}"
            )
        else:
            self.interdependence = None

    def mix(self, rewards: Mapping[str, float]) -> dict[str, float]:
        """The social utilities of one step's rewards ``{agent: r}``."""
        agents, r = _rewards_array(rewards)
        if not agents or self.mode == "private":
            u = r
        elif self.mode == "cooperative":
            u = np.full_like(r, r.mean())
        else:
            full = np.zeros(len(self._agents))  # absent agents contribute r_j = 0
            rows = [self._index[a] for a in agents]
            full[rows] = r
            u = r + self.interdependence[rows] @ full
        return {a: float(u[k]) for k, a in enumerate(agents)}

    def step(self, actions: dict[str, Any]):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        agents, r = _rewards_array(rewards)
        return obs, self.mix(rewards), terminations, truncations, _with_private(infos, agents, r)


class InequityAversion(BaseParallelWrapper):
    """Fehr-Schmidt inequity aversion, optionally temporally smoothed (Hughes et al. 2018).

    Args:
        env: any PettingZoo ``ParallelEnv``.
        alpha: weight >= 0 of disadvantageous inequity (others earn more).
        beta: weight >= 0 of advantageous inequity (others earn less).
        smoothing: gamma * lambda in [0, 1): 0 compares this step's rewards (Fehr-Schmidt);
            above 0 compares the smoothed rewards e^t = smoothing * e^{t-1} + r^t.

    Example:
        >>> from pettingzoo.classic import rps_v2
        >>> from rewardlab.wrappers import InequityAversion
        >>> env = InequityAversion(rps_v2.parallel_env(), alpha=1.0, beta=0.5)
        >>> obs, infos = env.reset(seed=0)
        >>> obs, rewards, *_ = env.step({"player_0": 0, "player_1": 1})
        >>> rewards   # r = (-1, 1): U_0 = -1 - 1.0 * 2, U_1 = 1 - 0.5 * 2
        {'player_0': -3.0, 'player_1': 0.0}
    """

    def __init__(self, env: ParallelEnv, alpha: float = 5.0, beta: float = 0.05, smoothing: float = 0.0):
        super().__init__(env)
        owner = type(self).__name__
        self.alpha = check_number(owner, "alpha", alpha, low=0.0)
        self.beta = check_number(owner, "beta", beta, low=0.0)
        self.smoothing = check_number(owner, "smoothing", smoothing, low=0.0, high=1.0, high_open=True)
        self._smoothed: dict[str, float] = {}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        self._smoothed = {}
        return self.env.reset(seed=seed, options=options)

    def step(self, actions: dict[str, Any]):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        agents, r = _rewards_array(rewards)
        x = np.array([self.smoothing * self._smoothed.get(a, 0.0) for a in agents]) + r
        self._smoothed.update(zip(agents, x.tolist(), strict=True))
        n = len(agents)
        if n < 2:
            envy = guilt = np.zeros(n)
        else:
            diff = x[None, :] - x[:, None]  # diff[i, j] = x_j - x_i
            envy = np.maximum(diff, 0.0).sum(axis=1) / (n - 1)
            guilt = np.maximum(-diff, 0.0).sum(axis=1) / (n - 1)
        u = r - self.alpha * envy - self.beta * guilt
        new_rewards = {a: float(u[k]) for k, a in enumerate(agents)}
        new_infos = _with_private(infos, agents, r, {"envy": envy, "guilt": guilt})
        return obs, new_rewards, terminations, truncations, new_infos
