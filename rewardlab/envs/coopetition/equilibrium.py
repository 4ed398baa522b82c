"""Game-theoretic solvers of the coopetition stage games: best-response Nash and the social optimum.

They live with the environments because two episode metrics (``welfare_pct_optimum``,
``value_added_pct_optimum``) and the ``"nash"`` trust baseline need them;
``rewardlab.baselines.coopetition`` re-exports them with the closed forms and heuristics.

* :func:`nash_equilibrium` -- best-response iteration (Gauss-Seidel over agents) on a reward
  mode's one-shot utility; each best response is a vectorised 201-point grid search refined
  three times around the best point (a resolution of 5e-9 of the bound).
* :func:`social_optimum` -- the joint action maximising welfare sum_i pi_i: coordinate ascent
  from three starts (all at 100 %, 50 % and 10 % of the bounds) with the same line search.
* :func:`unilateral_deviation_gain` -- the independent check of an equilibrium on a dense grid.
* :func:`team_nash_effort` -- the TR-3 closed-form Nash effort (the case-study rubric uses it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError, choices
from rewardlab.core.reward import RewardSpec, as_spec
from rewardlab.envs.coopetition.stage_game import StageGame

Utility = Callable[[np.ndarray], np.ndarray]
SOCIAL = ("private", "integrated", "cooperative", "trust_integrated")


@dataclass
class Solution:
    """A joint action and what it gives.

    Attributes:
        actions: (n,) the joint action.
        utilities: (n,) each agent's utility under the mode solved for.
        payoffs: (n,) private payoffs pi_i.
        welfare: sum over active agents of pi_i.
        converged: whether the iteration met its tolerance.
        iterations: sweeps used.
    """

    actions: np.ndarray
    utilities: np.ndarray
    payoffs: np.ndarray
    welfare: float
    converged: bool
    iterations: int


def _mode_spec(game: StageGame, reward: str | RewardSpec | Mapping[str, Any],
               presets: Mapping[str, Any] | None) -> RewardSpec:
    """The RewardSpec a reward mode, preset name, spec or spec mapping stands for."""
    if isinstance(reward, RewardSpec):
        return reward
    if not isinstance(reward, str):
        return RewardSpec(**dict(reward))
    if presets is not None and reward in presets:
        return as_spec(presets[reward], reward)
    if reward in SOCIAL:
        return RewardSpec(dict.fromkeys(game.payoff_terms, 1.0), social=reward)
    raise RewardlabError(f"{game.env_id}: unknown reward mode {reward!r}; expected one of {choices(SOCIAL)}"
                         + (f" or a preset {choices(presets)}" if presets else ""))


def mode_utility(game: StageGame, reward: str | RewardSpec | Mapping[str, Any] = "private",
                 presets: Mapping[str, Any] | None = None) -> Utility:
    """The one-shot utility (..., n) -> (..., n) of a reward mode on ``game``.

    ``reward`` is a social mode name applied to the private payoff pi_i (``private``,
    ``integrated``, ``cooperative``, ``trust_integrated``), a RewardSpec, or a preset name found
    in ``presets`` (a simulator's ``reward_presets``), so that term weights (loyalty, reciprocity)
    are honoured exactly as in the environment.
    """
    spec = _mode_spec(game, reward, presets)
    if spec.social not in SOCIAL:
        raise RewardlabError(f"{game.env_id}: the oracles solve social modes {choices(SOCIAL)}, not {spec.social!r}")
    if spec.social == "trust_integrated" and game.trust_effective is None:
        raise RewardlabError(f"{game.env_id}: social mode 'trust_integrated' needs a game with trust")
    d = np.asarray(game.interdependence, dtype=float)
    if spec.social == "trust_integrated":
        d = d * game.trust_effective

    def utility(a: np.ndarray) -> np.ndarray:
        terms = game.terms(a)
        r = np.zeros(np.shape(a))
        for name, w in spec.weights.items():
            if w != 0.0:
                r = r + w * terms[name]
        for name in spec.factors:
            r = r * terms[name]
        if spec.social == "private":
            return r
        if game.interdependence_of is not None:  # D depends on the joint action
            u = r + np.einsum("...ij,...j->...i", game.interdependence_of(a), r)
        else:
            u = r + r @ d.T
        if spec.social == "cooperative":
            # as the core defines it: the mean over all n agent slots (masked agents count as 0),
            # given to every slot; with masks it is the active members' mean scaled by m / n
            return np.repeat(u.mean(axis=-1, keepdims=True), u.shape[-1], axis=-1)
        return u

    return utility


def _line_search(values: Callable[[np.ndarray], np.ndarray], high: float, grid: int = 201, rounds: int = 4):
    """argmax of a scalar function on [0, high]: a grid, then finer grids around the best point."""
    lo, hi = 0.0, float(high)
    best_x, best_v = 0.0, -np.inf
    for _ in range(rounds):
        xs = np.linspace(lo, hi, grid)
        v = values(xs)
        k = int(np.argmax(v))
        if v[k] > best_v:
            best_x, best_v = float(xs[k]), float(v[k])
        step = (hi - lo) / (grid - 1)
        lo, hi = max(0.0, xs[k] - step), min(float(high), xs[k] + step)
    return best_x, best_v


def best_response(game: StageGame, utility: Utility, profile: np.ndarray, agent: int, grid: int = 201) -> float:
    """Agent ``agent``'s utility-maximising action against ``profile`` (the others fixed)."""

    def values(xs: np.ndarray) -> np.ndarray:
        profiles = np.repeat(profile[None, :], len(xs), axis=0)
        profiles[:, agent] = xs
        return utility(profiles)[:, agent]

    x, v = _line_search(values, game.bounds[agent], grid)
    current = float(utility(profile[None])[0, agent])
    return float(profile[agent]) if current >= v else x  # keep the incumbent on ties


def _solution(game: StageGame, utility: Utility, a: np.ndarray, converged: bool, iterations: int) -> Solution:
    payoff = game.payoff(a[None])[0]
    active = np.ones(len(a), bool) if game.active is None else game.active
    return Solution(a.copy(), utility(a[None])[0], payoff, float(payoff[active].sum()), converged, iterations)


def _players(game: StageGame) -> np.ndarray:
    return np.flatnonzero(np.ones(game.num_agents, bool) if game.active is None else game.active)


def nash_equilibrium(
    game: StageGame,
    reward: str | RewardSpec | Mapping[str, Any] = "private",
    presets: Mapping[str, Any] | None = None,
    start: np.ndarray | None = None,
    tol: float = 1e-9,
    max_iter: int = 500,
    grid: int = 201,
) -> Solution:
    """A pure Nash equilibrium of the one-shot game under a reward mode, by best-response iteration.

    Converged when no agent's action moves by more than ``tol`` x its bound in a sweep.
    """
    utility = mode_utility(game, reward, presets)
    a = 0.5 * game.bounds if start is None else np.asarray(start, dtype=float).copy()
    if game.active is not None:
        a = a * game.active
    players = _players(game)
    for sweep in range(1, max_iter + 1):
        moved = 0.0
        for i in players:
            new = best_response(game, utility, a, i, grid)
            moved = max(moved, abs(new - a[i]) / game.bounds[i])
            a[i] = new
        if moved <= tol:
            return _solution(game, utility, a, True, sweep)
    return _solution(game, utility, a, False, max_iter)


def social_optimum(game: StageGame, grid: int = 201, max_iter: int = 200) -> Solution:
    """The joint action maximising welfare sum_i pi_i (active agents), by coordinate ascent."""
    active = np.ones(game.num_agents, bool) if game.active is None else game.active
    players = _players(game)

    def welfare_of(a: np.ndarray) -> np.ndarray:
        return (game.payoff(a) * active).sum(axis=-1)

    def utility(a: np.ndarray) -> np.ndarray:  # every agent maximises the welfare
        return np.repeat(welfare_of(a)[..., None], game.num_agents, axis=-1)

    best, best_w, best_iter, best_conv = None, -np.inf, 0, False
    for fraction in (1.0, 0.5, 0.1):
        a = fraction * game.bounds * active
        converged, sweeps = False, 0
        for sweeps in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
            moved = 0.0
            for i in players:
                new = best_response(game, utility, a, i, grid)
                moved = max(moved, abs(new - a[i]) / game.bounds[i])
                a[i] = new
            if moved <= 1e-9:
                converged = True
                break
        w = float(welfare_of(a[None])[0])
        if w > best_w:
            best, best_w, best_iter, best_conv = a.copy(), w, sweeps, converged
    return _solution(game, utility, best, best_conv, best_iter)


def unilateral_deviation_gain(game: StageGame, utility: Utility, profile: np.ndarray, grid: int = 401) -> np.ndarray:
    """(n,) the largest utility gain each agent gets by deviating alone to a point of a grid."""
    gains = np.zeros(game.num_agents)
    base = utility(profile[None])[0]
    for i in _players(game):
        xs = np.linspace(0.0, game.bounds[i], grid)
        profiles = np.repeat(profile[None], grid, axis=0)
        profiles[:, i] = xs
        gains[i] = max(0.0, float(utility(profiles)[:, i].max() - base[i]))
    return gains


def team_nash_effort(omega: float, beta: float, cost: float, members: int, bound: float,
                     loyalty: float = 0.0, phi_b: float = 0.0, phi_c: float = 0.0) -> float:
    """TR-3 symmetric Nash effort per member, with loyalty theta (0: the private game).

    Member i's marginal utility omega beta X^(beta-1) (1 + theta phi_B) / n - c (1 - theta phi_C)
    is zero at X_N = (omega beta (1 + theta phi_B) / (n c (1 - theta phi_C))) ** (1 / (1 - beta)).
    """
    marginal = omega * beta * (1.0 + loyalty * phi_b) / (members * cost * (1.0 - loyalty * phi_c))
    total = marginal ** (1.0 / (1.0 - beta))
    return float(min(total / members, bound))
