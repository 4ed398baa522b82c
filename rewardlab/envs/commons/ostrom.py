"""CommonsOstrom-v0: the Ostrom-Walker-Gardner (1992) laboratory common-pool resource.

Each round every player splits an endowment of ``e`` tokens between a private market that pays
``w`` per token and a common pool whose group return ``a X - b X^2`` (X = tokens in the pool) is
shared in proportion to what each player put in::

    U_i = w (e - x_i) + (x_i / X) (a X - b X^2) = w (e - x_i) + x_i (a - b X)

With the defaults (8 players, e = 10, w = 5, a = 23, b = 0.25, all in cents) the symmetric Nash
equilibrium is 8 tokens each (64 in total) and the group optimum is 36 tokens in total; both
come out of :func:`symmetric_nash` and :func:`group_optimum_total`, which maximise this module's
own payoff function over the token grid (not the closed forms).

==================  ==========================================================================
Agents              ``player_0`` ... ``player_{n-1}`` (n = ``num_agents``, default 8)
Action space        per player ``MultiDiscrete([e + 1, n, e + 1])``:
                    [0] tokens put in the pool, 0..e;
                    [1] sanction target: 0 = none, k = the k-th other player, i.e. player
                    (i + k) mod n (read only in the sanctioning treatments);
                    [2] pledge: tokens announced for the next round (cheap talk; read only in the
                    communication treatments, shown to everyone in the next observation)
Observation         per player ``Box(-inf, inf, (3n + 5,), float32)``, self first then the others
                    in the order i+1, i+2, ...: last round's tokens / e (n), last pledges / e (n),
                    fines received last round (n, count / (n-1)), last group total / (n e),
                    own last payoff / (w e), round / horizon, sanctioning on, communication on
Parameters          ``num_agents`` 8, ``endowment`` 10, ``wage`` 5, ``a`` 23, ``b`` 0.25,
                    ``horizon`` 20 rounds, ``treatment`` baseline | communication | sanctioning |
                    communication_sanctioning, ``fee`` 5 (paid by the sanctioner per sanction),
                    ``fine`` 10 (paid by the sanctioned player), ``binding_pledges`` False (True:
                    a player's tokens are capped at its last pledge, the commitment variant)
Reward terms        ``private_account`` = w (e - x_i); ``cpr_return`` = x_i (a - b X);
                    ``sanction_fee`` = -fee x (sanctions issued); ``fine`` = -fine x (sanctions
                    received). All in cents, signed as they enter the payoff.
Presets             ``private`` (U_i), ``cooperative`` (mean over players), ``inequity_averse``
                    (Fehr-Schmidt, alpha 5, beta 0.05)
Episode metrics     ``group_tokens`` (mean X per round), ``efficiency_pct`` (100 x realised net
                    return / maximum net return; net return = a X - b X^2 - w X minus fees and
                    fines), ``reward`` (mean per-player return under the reward spec)
==================  ==========================================================================

The game has no randomness: every seed gives the same trajectory (``seed_independent``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from rewardlab.core import params as check
from rewardlab.core.sim import BatchedSim, StepOutcome
from rewardlab.envs.commons._common import (
    PALETTE,
    bar_frame,
    others_index,
    rolled,
    standard_presets,
)

TREATMENTS = ("baseline", "communication", "sanctioning", "communication_sanctioning")


@dataclass(frozen=True)
class OstromParams:
    """Parameters of the lab CPR (money in cents, like the original experiments)."""

    num_agents: int = 8
    endowment: int = 10
    wage: float = 5.0
    a: float = 23.0
    b: float = 0.25
    horizon: int = 20
    treatment: str = "baseline"
    fee: float = 5.0
    fine: float = 10.0
    binding_pledges: bool = False

    def __post_init__(self) -> None:
        check.integers(
            self, num_agents=(2, check.MAX_AGENTS), endowment=(1, check.MAX_AGENTS), horizon=(1, check.MAX_STEPS)
        )
        check.choice(self, "treatment", TREATMENTS)
        check.flags(self, "binding_pledges")
        check.numbers(self, ("wage", "a", "b", "fee", "fine"), low=0.0)

    @property
    def sanctioning(self) -> bool:
        return "sanctioning" in self.treatment

    @property
    def communication(self) -> bool:
        return "communication" in self.treatment


def payoff(tokens: np.ndarray, params: OstromParams) -> np.ndarray:
    """U_i for token vectors ``tokens`` (..., n): the one payoff function the env and oracle use."""
    x = np.asarray(tokens, dtype=np.float64)
    total = x.sum(axis=-1, keepdims=True)
    return params.wage * (params.endowment - x) + x * (params.a - params.b * total)


def net_return(group_total: np.ndarray, params: OstromParams) -> np.ndarray:
    """The group's return over the private-market opportunity cost: a X - b X^2 - w X."""
    x = np.asarray(group_total, dtype=np.float64)
    return params.a * x - params.b * x**2 - params.wage * x


def best_response(others_total: int, params: OstromParams) -> int:
    """The integer tokens maximising a player's payoff when the others put in ``others_total``.

    Ties go to the smaller investment. Computed by evaluating :func:`payoff` on the whole grid.
    """
    n = params.num_agents
    grid = np.arange(params.endowment + 1)
    profiles = np.zeros((len(grid), n))
    profiles[:, 0] = grid
    profiles[:, 1] = others_total  # only the others' total matters to player 0
    return int(grid[np.argmax(payoff(profiles, params)[:, 0])])


def symmetric_nash(params: OstromParams) -> int:
    """Tokens x such that x is a best response when every other player puts in x."""
    n = params.num_agents
    fixed = [x for x in range(params.endowment + 1) if best_response((n - 1) * x, params) == x]
    if not fixed:
        raise RuntimeError("no symmetric pure-strategy equilibrium on the token grid")
    return fixed[0]


def group_optimum_total(params: OstromParams) -> int:
    """The group total X maximising the sum of payoffs, over every feasible total."""
    n = params.num_agents
    totals = np.arange(n * params.endowment + 1)
    # the sum of payoffs depends on the profile only through X: evaluate a profile per X
    profiles = np.zeros((len(totals), n))
    remaining = totals.copy()
    for i in range(n):
        profiles[:, i] = np.minimum(remaining, params.endowment)
        remaining = remaining - profiles[:, i]
    welfare = payoff(profiles, params).sum(axis=1)
    return int(totals[np.argmax(welfare)])


class OstromSim(BatchedSim):
    """The Ostrom-Walker-Gardner CPR (see the module docstring)."""

    Params = OstromParams
    reward_terms = ("private_account", "cpr_return", "sanction_fee", "fine")
    reward_presets = standard_presets(dict.fromkeys(reward_terms, 1.0))
    default_reward = "private"
    seed_independent = True

    def _setup(self) -> None:
        p = self.params
        n, e = p.num_agents, p.endowment
        self.agents = tuple(f"player_{i}" for i in range(n))
        self.action_spaces = tuple(spaces.MultiDiscrete([e + 1, n, e + 1]) for _ in range(n))
        self.observation_spaces = tuple(
            spaces.Box(-np.inf, np.inf, shape=(3 * n + 5,), dtype=np.float32) for _ in range(n)
        )
        self._others = others_index(n)
        self._max_net = float(net_return(group_optimum_total(p), p))
        b = self.num_envs
        self.t = np.zeros(b, dtype=np.int64)
        self.tokens = np.zeros((b, n), dtype=np.int64)
        self.pledges = np.zeros((b, n), dtype=np.int64)
        self.fines_received = np.zeros((b, n), dtype=np.int64)
        self.last_payoff = np.zeros((b, n))
        self.sum_tokens = np.zeros(b)
        self.sum_net = np.zeros(b)

    def _reset(self, rows: np.ndarray) -> None:
        e = self.params.endowment
        self.t[rows] = 0
        self.tokens[rows] = 0
        self.pledges[rows] = e  # no announcement yet: a pledge of e binds nothing
        self.fines_received[rows] = 0
        self.last_payoff[rows] = 0.0
        self.sum_tokens[rows] = 0.0
        self.sum_net[rows] = 0.0

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        p = self.params
        rows = slice(None) if rows is None else rows
        n, e = p.num_agents, p.endowment
        tokens = self.tokens[rows]
        b = tokens.shape[0]
        pledges = self.pledges[rows] if p.communication else np.zeros_like(tokens)
        obs = np.empty((b, n, 3 * n + 5), dtype=np.float32)
        obs[:, :, :n] = rolled(tokens / e)
        obs[:, :, n : 2 * n] = rolled(pledges / e)
        obs[:, :, 2 * n : 3 * n] = rolled(self.fines_received[rows] / (n - 1))
        obs[:, :, 3 * n] = (tokens.sum(axis=1) / (n * e))[:, None]
        obs[:, :, 3 * n + 1] = self.last_payoff[rows] / (p.wage * e if p.wage > 0 else 1.0)
        obs[:, :, 3 * n + 2] = (self.t[rows] / p.horizon)[:, None]
        obs[:, :, 3 * n + 3] = float(p.sanctioning)
        obs[:, :, 3 * n + 4] = float(p.communication)
        return obs

    def _step(self, actions: np.ndarray) -> StepOutcome:
        p = self.params
        n, b = p.num_agents, self.num_envs
        tokens = actions[:, :, 0]
        if p.binding_pledges and p.communication:
            tokens = np.minimum(tokens, self.pledges)
        group = tokens.sum(axis=1)
        private_account = p.wage * (p.endowment - tokens)
        cpr_return = payoff(tokens, p) - private_account
        sanctions = np.zeros((b, n), dtype=np.int64)
        received = np.zeros((b, n), dtype=np.int64)
        if p.sanctioning:
            issued = actions[:, :, 1] > 0
            target = self._others[np.arange(n)[None, :], np.maximum(actions[:, :, 1] - 1, 0)]
            sanctions = issued.astype(np.int64)
            # count sanctions landing on each player: one-hot of the targets, summed over issuers
            hits = (target[:, :, None] == np.arange(n)[None, None, :]) & issued[:, :, None]
            received = hits.sum(axis=1)
        fee = -p.fee * sanctions
        fine = -p.fine * received
        self.tokens = tokens.copy()
        if p.communication:
            self.pledges = actions[:, :, 2].copy()
        self.fines_received = received
        self.last_payoff = private_account + cpr_return + fee + fine
        self.sum_tokens += group
        self.sum_net += net_return(group, p) + fee.sum(axis=1) + fine.sum(axis=1)
        self.t += 1
        return StepOutcome(
            terms={
                "private_account": private_account.astype(np.float64),
                "cpr_return": cpr_return,
                "sanction_fee": fee.astype(np.float64),
                "fine": fine.astype(np.float64),
            },
            terminated=np.zeros(b, dtype=bool),
            truncated=self.t >= p.horizon,
            info={"group_tokens": group.astype(np.float64), "tokens": self.tokens.copy()},
        )

    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        rounds = np.maximum(self.t[rows], 1)
        return {
            "group_tokens": self.sum_tokens[rows] / rounds,
            "efficiency_pct": 100.0 * self.sum_net[rows] / (rounds * self._max_net),
            "reward": self.episode_return[rows].mean(axis=1),
        }

    def render_frame(self, index: int = 0) -> np.ndarray:
        """One bar per player, in ``self.agents`` order from the left: tokens it put in the
        common pool / its endowment. The black line is the symmetric Nash investment."""
        p = self.params
        nash = symmetric_nash(p) / p.endowment
        return bar_frame(self.tokens[index] / p.endowment, PALETTE, level=nash)
