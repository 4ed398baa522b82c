"""Cournot market: n firms choose quantities; collusion can emerge in repeated play.

=====================  ==========================================================================
Agents                 ``firm_0 ... firm_{n-1}`` (``num_agents`` firms, 3 by default)
Action space (each)    Box(0, q_max, (1,)): quantity, q_max = ``bounds`` (100, = a / b with the
                       default demand; it does not follow a or b when they are overridden)
Observation            base layout + [last price / a]
Parameters             :class:`CournotParams`: demand_intercept a, demand_slope b, unit_cost c (+ base)
Reward terms           ``revenue`` q_i P, ``production_cost`` -c q_i (their sum is the profit pi_i)
Presets                ``private``, ``integrated`` (= private: D = 0 unless ``interdependence`` is
                       given), ``cooperative`` (joint profit / n)
=====================  ==========================================================================

Price P = max(0, a - b sum_j q_j); profit pi_i = q_i (P - c). Nash quantity (each firm's first
order condition a - b Q - b q_i - c = 0, symmetric): q* = (a - c) / (b (n + 1)). Collusive
(joint-profit maximising, split evenly): Q = (a - c) / (2 b), q = (a - c) / (2 b n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.coopetition.base import (
    MAX_AGENTS,
    MAX_SCALE,
    CoopParams,
    CoopSim,
    StageGame,
    check_given,
    coop_presets,
)
from rewardlab.envs.coopetition.payoff import agent_sum

PAYOFF_TERMS = ("revenue", "production_cost")


@dataclass(frozen=True)
class CournotParams(CoopParams):
    """Linear inverse demand P = a - b Q and constant unit cost c (c < a)."""

    num_agents: int = 3
    bounds: tuple[float, ...] = (100.0,)
    demand_intercept: float = 100.0
    demand_slope: float = 1.0
    unit_cost: float = 10.0

    def __post_init__(self) -> None:
        check.integers(self, num_agents=(2, MAX_AGENTS))  # before naming that many firms
        if isinstance(self.agent_names, tuple) and not self.agent_names:
            object.__setattr__(self, "agent_names", tuple(f"firm_{i}" for i in range(self.num_agents)))
        super().__post_init__()
        check.numbers(self, ("demand_intercept", "demand_slope"), low=0.0, low_open=True, high=MAX_SCALE)
        check.numbers(self, "unit_cost", low=0.0, high=MAX_SCALE)
        if self.unit_cost >= self.demand_intercept:
            raise RewardlabError(
                f"unit_cost must be below demand_intercept ({self.demand_intercept}), got {check_given(self.unit_cost)}"
            )

    @property
    def nash_quantity(self) -> float:
        return (self.demand_intercept - self.unit_cost) / (self.demand_slope * (self.num_agents + 1))

    @property
    def collusive_quantity(self) -> float:
        return (self.demand_intercept - self.unit_cost) / (2.0 * self.demand_slope * self.num_agents)


def cournot_terms(q: np.ndarray, a: float, b: float, c: float) -> dict[str, np.ndarray]:
    price = np.maximum(a - b * q.sum(axis=-1, keepdims=True), 0.0)
    return {"revenue": q * price, "production_cost": -c * q}


class CournotSim(CoopSim):
    """n-firm Cournot competition (see the module docstring)."""

    Params = CournotParams
    payoff_terms = PAYOFF_TERMS
    reward_terms = PAYOFF_TERMS
    reward_presets = coop_presets(PAYOFF_TERMS)
    seed_independent = True

    def _setup_game(self) -> None:
        self.price = np.zeros(self.num_envs)
        self.extra_obs = (("last_price",), np.zeros(1), np.ones(1))

    def _reset_game(self, rows):
        self.price = self.price.copy()
        self.price[rows] = 0.0

    def _play(self, q):
        p = self.params
        total = agent_sum(q)
        self.price = np.maximum(p.demand_intercept - p.demand_slope * total, 0.0)
        revenue = q * self._spread(self.price, self.num_agents)
        cost = -p.unit_cost * q
        return {"revenue": revenue, "production_cost": cost}, revenue + cost, {"price": self.price}, None

    def _fill_extra(self, obs, sel, m):
        obs[:, :, self._extra_col] = self._spread(self.price[sel] / self.params.demand_intercept, self.num_agents)

    def stage_game(self, phase: int = 0) -> StageGame:
        p = self.params

        def terms(q):
            return cournot_terms(q, p.demand_intercept, p.demand_slope, p.unit_cost)

        return StageGame(self.env_id, self.bounds.copy(), terms, PAYOFF_TERMS, self._d_table[phase])
