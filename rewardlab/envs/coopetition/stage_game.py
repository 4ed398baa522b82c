"""The one-shot game of a coopetition environment at a fixed state: what the oracles solve.

It lives in its own module so that the oracles (``equilibrium``) and the environments (``base``)
both depend on it without depending on each other: ``base`` uses the oracles for its metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class StageGame:
    """The one-shot game of an environment at a fixed state, as the oracles see it.

    Attributes:
        env_id: the environment it came from.
        bounds: (n,) action upper bounds (lower bounds are 0).
        terms: joint actions (..., n) -> {term name: (..., n)}; the same formulas the step uses.
        payoff_terms: the terms whose sum is the private payoff pi_i.
        interdependence: D (n, n) at this state.
        trust_effective: T_eff (n, n) at this state, where the game has trust.
        active: (n,) bool, the agents that play (the others' actions are ignored).
        interdependence_of: where D depends on the joint action (coalition membership), joint
            actions (..., n) -> D (..., n, n); it then replaces ``interdependence``.
    """

    env_id: str
    bounds: np.ndarray
    terms: Callable[[np.ndarray], dict[str, np.ndarray]]
    payoff_terms: tuple[str, ...]
    interdependence: np.ndarray
    trust_effective: np.ndarray | None = None
    active: np.ndarray | None = None
    interdependence_of: Callable[[np.ndarray], np.ndarray] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_agents(self) -> int:
        return len(self.bounds)

    def payoff(self, a: np.ndarray) -> np.ndarray:
        terms = self.terms(a)
        return sum(terms[k] for k in self.payoff_terms)
