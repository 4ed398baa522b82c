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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError, choices
from rewardlab.core.reward import RewardSpec, as_spec
from rewardlab.envs.coopetition.base import StageGame

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


def mode_utility(game: StageGame, reward: str | RewardSpec | Mapping[str, Any] = "private",
                 presets: Mapping[str, Any] | None = None) -> Utility:
    """The one-shot utility (..., n) -> (..., n) of a reward mode on ``game``.

    ``reward`` is a social mode name applied to the private payoff pi_i (``private``,
    ``integrated``, ``cooperative``, ``trust_integrated``), a RewardSpec, or a preset name found
    in ``presets`` (a simulator's ``reward_presets``), so that term weights (loyalty, reciprocity)
    are honoured exactly as in the environment.
    """
    if isinstance(reward, str):
        if presets is not None and reward in presets:
            spec = as_spec(presets[reward], reward)
        elif reward in SOCIAL:
            spec = RewardSpec(dict.fromkeys(game.payoff_terms, 1.0), social=reward)
        else:
            raise RewardlabError(f"{game.env_id}: unknown reward mode {reward!r}; expected one of {choices(SOCIAL)}"
                                 + (f" or a preset {choices(presets)}" if presets else ""))
    elif isinstance(reward, RewardSpec):
        spec = reward
    else:
        spec = RewardSpec(**dict(reward))
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


# --------------------------------------------------------------------- closed forms
def team_nash_effort(omega: float, beta: float, cost: float, members: int, bound: float,
                     loyalty: float = 0.0, phi_b: float = 0.0, phi_c: float = 0.0) -> float:
    """TR-3 symmetric Nash effort per member, with loyalty theta (0: the private game).

    Member i's marginal utility omega beta X^(beta-1) (1 + theta phi_B) / n - c (1 - theta phi_C)
    is zero at X_N = (omega beta (1 + theta phi_B) / (n c (1 - theta phi_C))) ** (1 / (1 - beta)).
    """
    total = (omega * beta * (1.0 + loyalty * phi_b) / (members * cost * (1.0 - loyalty * phi_c))) ** (1.0 / (1.0 - beta))
    return float(min(total / members, bound))


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
