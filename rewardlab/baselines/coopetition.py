"""Game-theoretic oracles and heuristic policies for the coopetition games.

Every coopetition simulator exposes ``stage_game(phase)``: its one-shot game at a fixed state,
computed with the same formulas as its step. On that game:

* :func:`nash_equilibrium` -- best-response iteration (Gauss-Seidel over agents) on a reward
  mode's one-shot utility; each best response is a vectorised 201-point grid search refined
  three times around the best point (a resolution of 5e-9 of the bound).
* :func:`social_optimum` -- the joint action maximising welfare sum_i pi_i: coordinate ascent
  from three starts (all at 100 %, 50 % and 10 % of the bounds) with the same line search; the
  welfare of these games is concave in the actions (or, for coalitions, piecewise so), and the
  tests check the result against dense grids of joint actions. NumPy only (no SciPy).
* closed forms: :func:`team_nash_effort` / :func:`team_optimum_effort` (TR-3, derived in
  ``rewardlab.envs.coopetition.collective``), :func:`cournot_nash_quantity`,
  :func:`cournot_collusive_quantity`, public goods.
* heuristics: :class:`ConstantPolicy` (0-100 % of the bound), :class:`RandomPolicy`,
  :class:`TitForTat`, :class:`ProfilePolicy` (a fixed joint action, e.g. an oracle's), run over
  B instances at once by :func:`evaluate`.
* :func:`score_vs_oracle` -- a score as % of the oracle's and the reference's gap %.

Example::

    sim = rewardlab.make_sim("rewardlab/CoopSLCD-v0")
    game = sim.stage_game()
    nash = nash_equilibrium(game, reward="integrated")
    best = social_optimum(game)
    evaluate("rewardlab/CoopSLCD-v0", TitForTat())["welfare_pct_optimum"]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError
from rewardlab.envs.coopetition.equilibrium import (  # noqa: F401 (re-exported: the oracles' public home)
    SOCIAL,
    Solution,
    Utility,
    best_response,
    mode_utility,
    nash_equilibrium,
    social_optimum,
    team_nash_effort,
    unilateral_deviation_gain,
)


# --------------------------------------------------------------------- closed forms
def team_optimum_effort(omega: float, beta: float, cost: float, members: int, bound: float) -> float:
    """TR-3 welfare-maximising effort per member: X_O = (omega beta / c) ** (1 / (1 - beta)) / n, capped."""
    total = (omega * beta / cost) ** (1.0 / (1.0 - beta))
    return float(min(total / members, bound))


def public_goods_nash_contribution(multiplier: float, members: int, bound: float) -> float:
    """Linear public good: the marginal private return m / n - 1 < 0 makes 0 dominant when m < n."""
    return 0.0 if multiplier < members else float(bound)


def public_goods_optimum_contribution(multiplier: float, members: int, bound: float) -> float:
    """Linear public good: the marginal social return m - 1 > 0 makes full contribution optimal."""
    return float(bound) if multiplier > 1 else 0.0


def cournot_nash_quantity(a: float, b: float, c: float, n: int) -> float:
    """q* = (a - c) / (b (n + 1))."""
    return (a - c) / (b * (n + 1))


def cournot_collusive_quantity(a: float, b: float, c: float, n: int) -> float:
    """Joint-profit maximising output split evenly: (a - c) / (2 b n)."""
    return (a - c) / (2.0 * b * n)


# --------------------------------------------------------------------- heuristic policies
class ConstantPolicy:
    """Every agent plays ``fraction`` of its bound (0 <= fraction <= 1)."""

    def __init__(self, fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise RewardlabError(f"ConstantPolicy: fraction must lie in [0, 1], got {fraction!r}")
        self.fraction = fraction
        self.name = f"constant_{round(100 * fraction)}"

    def __call__(self, obs: np.ndarray, sim) -> np.ndarray:
        return np.broadcast_to(self.fraction * sim.bounds[None, :, None], (sim.num_envs, sim.num_agents, 1)).copy()


class ProfilePolicy:
    """Every instance plays the joint action ``actions`` (n,), e.g. an oracle's solution."""

    def __init__(self, actions: np.ndarray, name: str = "profile") -> None:
        self.actions = np.asarray(actions, dtype=float)
        self.name = name

    def __call__(self, obs: np.ndarray, sim) -> np.ndarray:
        return np.broadcast_to(self.actions[None, :, None], (sim.num_envs, sim.num_agents, 1)).copy()


class RandomPolicy:
    """Uniform actions in [0, bound], from its own seeded generator."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)

    def __call__(self, obs: np.ndarray, sim) -> np.ndarray:
        return self._rng.uniform(0.0, 1.0, (sim.num_envs, sim.num_agents, 1)) * sim.bounds[None, :, None]

class TitForTat:
    """Open with ``start`` x bound, then match the mean fraction the others played last round.

    Reads the observation's columns 1..n-1 (the others' last actions / bounds), so it needs
    ``observe_others=True``.
    """

    name = "tit_for_tat"

    def __init__(self, start: float = 1.0) -> None:
        self.start = start

    def __call__(self, obs: np.ndarray, sim) -> np.ndarray:
        n = sim.num_agents
        others = obs[:, :, 1:n].mean(axis=2)
        first = obs[:, :, n] == 0.0  # t / horizon = 0: the opening move
        frac = np.where(first, self.start, others)
        return (frac * sim.bounds[None, :])[:, :, None]


def evaluate(env_id: str, policy, episodes: int = 8, seed: int = 0, reward: Any = None,
             **kwargs: Any) -> dict[str, float]:
    """Run ``episodes`` episodes of ``policy`` at once (B = episodes); mean episode metrics."""
    from rewardlab.core.registry import make_sim

    if reward is not None:
        kwargs["reward"] = reward
    sim = make_sim(env_id, num_envs=episodes, **kwargs)
    obs = sim.reset(seed=seed)
    finished: dict[str, np.ndarray] = {}
    done = np.zeros(episodes, bool)
    while not done.all():
        step = sim.step(policy(obs, sim))
        obs = step.obs
        if step.episode_metrics is not None:
            new = step.done & ~done
            for key, values in step.episode_metrics.items():
                finished.setdefault(key, np.full(episodes, np.nan))[new] = values[new]
            done |= step.done
    return {k: float(np.nanmean(v)) for k, v in finished.items()}


def score_vs_oracle(score: float, oracle: float) -> dict[str, float]:
    """``pct``: score as % of the oracle's; ``gap_pct``: (score - oracle) / |oracle| x 100.

    ``pct`` = 100 score / |oracle| reads as "% of the oracle" only when the oracle's score is
    positive; for a negative oracle use ``gap_pct`` (its sign says better or worse either way).
    """
    if oracle == 0:
        raise RewardlabError("score_vs_oracle: the oracle's score is 0; a percentage is undefined")
    return {"pct": 100.0 * score / abs(oracle), "gap_pct": 100.0 * (score - oracle) / abs(oracle)}
