"""CommonsFishery-v0: a Gordon-Schaefer fishery with norms, monitoring, sanctions and reputation.

A fish stock B regrows logistically and N fishers choose their effort each step (the discrete
Schaefer model)::

    catch_i = q E_i B,    B' = B + r B (1 - B/K) - q (sum_i E_i) B        (total catch <= B)

At a constant total effort E the stock settles at B* = K (1 - q E / r) with sustainable yield
Y(E) = q E K (1 - q E / r); the maximum sustainable yield is MSY = r K / 4 at E = r / (2q). With
price p and cost c per unit of effort, open access drives effort to E_BE = (r/q)(1 - c/(p q K))
(zero rent) and the rent-maximising effort is E_MEY = E_BE / 2. The stock *collapses* (the
episode terminates) when it falls below ``collapse_fraction`` K.

**Institutions.** A group norm caps each fisher's effort (``norm_effort``; by default the MSY
share r / (2 q N)). Each step every fisher's effort is publicly observed with probability
``monitor_prob``. Under *direct* punishment, every fisher whose sanction action is 1 fines each
observed fisher above the norm (2: each observed fisher, whatever its effort) at a personal
cost ``punish_cost`` per fine; under *third-party* punishment an enforcer fines every observed
violator (and, with probability ``third_party_error``, an observed compliant fisher), paid for by
a tax on everyone; *both* combines them. A fine is *just* when its target was above the norm.
With ``public_reputation``, an observed fisher gains 1 reputation when compliant and loses 1
when above the norm; with ``exclusion_threshold`` set, fishers whose reputation is below it are
excluded from fishing (group selection). The norm is ``fixed``, ``voted`` (the median of the
fishers' votes, applied from the next step) or ``learned`` (every ``learning_interval`` steps
it moves by ``learning_rate`` toward the effort of the best-paid fisher of the interval:
payoff-biased social learning).

==================  ==========================================================================
Agents              ``fisher_0`` ... ``fisher_{N-1}`` (N = ``num_agents``, default 5)
Action space        per fisher ``MultiDiscrete([L, 3, L])`` with L = ``effort_levels``:
                    [0] effort level k, effort = k max_effort / (L - 1);
                    [1] sanction: 0 none, 1 fine observed violators, 2 fine everyone observed;
                    [2] norm vote, a level like [0] (read when ``norm_mode`` is voted)
Observation         per fisher ``Box(-inf, inf, (2N + 4,), float32)``: stock / K, norm /
                    max_effort, episode progress, fines received last step / N, last efforts /
                    max_effort (N, self first then i+1, i+2, ...), reputations / 10 (N, zero
                    unless ``public_reputation``)
Parameters          ``num_agents`` 5, ``carrying_capacity`` K 100, ``growth_rate`` r 0.4,
                    ``catchability`` q 0.01, ``price`` p 1, ``effort_cost`` c 0.25,
                    ``max_effort`` 10, ``effort_levels`` 11, ``initial_stock`` 1.0 (x K),
                    ``stock_noise`` 0 (sd of log-normal noise on regrowth),
                    ``collapse_fraction`` 0.05, ``horizon`` 200, ``institution`` none | direct |
                    third_party | both (default direct), ``monitor_prob`` 0.5, ``fine`` 5,
                    ``punish_cost`` 1, ``third_party_tax`` 0.1, ``third_party_error`` 0,
                    ``norm_mode`` fixed | voted | learned, ``norm_effort`` None (MSY share),
                    ``learning_interval`` 10, ``learning_rate`` 0.5, ``public_reputation`` True,
                    ``exclusion_threshold`` None
Reward terms        ``catch_value`` p catch_i; ``effort_cost`` -c E_i; ``fine`` -fines received;
                    ``sanction_cost`` -punish_cost x fines issued; ``tax`` -third_party_tax.
                    Signed as they enter the payoff.
Presets             ``private``, ``cooperative``, ``inequity_averse`` (alpha 5, beta 0.05)
Episode metrics     ``survival_time`` (steps until the stock collapsed, else the episode length),
                    ``efficiency_msy`` (mean catch per step / MSY), ``gini`` (of the fishers'
                    payoffs, the sum of all terms), ``above_norm_share`` (agent-steps above the
                    norm / agent-steps), ``cooperation_pct`` (100 x agent-steps at or below the
                    norm / agent-steps), ``punishments_just``, ``punishments_unjust`` (counts),
                    ``reward`` (mean per-fisher return under the reward spec), ``final_stock``
==================  ==========================================================================

The defaults give E_MSY = 20 (4 per fisher), MSY = 10 per step, E_BE = 30, E_MEY = 15, and a
stock that cannot survive a total effort above r / q = 40 (8 per fisher).
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
    gini,
    rolled,
    standard_presets,
)

INSTITUTIONS = ("none", "direct", "third_party", "both")
NORM_MODES = ("fixed", "voted", "learned")


@dataclass(frozen=True)
class FisheryParams:
    num_agents: int = 5
    carrying_capacity: float = 100.0
    growth_rate: float = 0.4
    catchability: float = 0.01
    price: float = 1.0
    effort_cost: float = 0.25
    max_effort: float = 10.0
    effort_levels: int = 11
    initial_stock: float = 1.0
    stock_noise: float = 0.0
    collapse_fraction: float = 0.05
    horizon: int = 200
    institution: str = "direct"
    monitor_prob: float = 0.5
    fine: float = 5.0
    punish_cost: float = 1.0
    third_party_tax: float = 0.1
    third_party_error: float = 0.0
    norm_mode: str = "fixed"
    norm_effort: float | None = None
    learning_interval: int = 10
    learning_rate: float = 0.5
    public_reputation: bool = True
    exclusion_threshold: float | None = None

    def __post_init__(self) -> None:
        check.integers(
            self, num_agents=(2, check.MAX_AGENTS), effort_levels=(2, check.MAX_AGENTS),
            horizon=(1, check.MAX_STEPS), learning_interval=(1, check.MAX_STEPS),
        )
        check.flags(self, "public_reputation")
        check.numbers(self, ("carrying_capacity", "growth_rate", "catchability", "max_effort"), low=0.0, low_open=True)
        check.numbers(self, ("price", "effort_cost", "stock_noise", "fine", "punish_cost", "third_party_tax"), low=0.0)
        check.numbers(
            self, ("initial_stock", "collapse_fraction", "monitor_prob", "third_party_error", "learning_rate"),
            low=0.0, high=1.0,
        )
        check.numbers(self, ("exclusion_threshold",), optional=True)
        check.choice(self, "institution", INSTITUTIONS)
        check.choice(self, "norm_mode", NORM_MODES)
        check.numbers(self, ("norm_effort",), low=0.0, high=self.max_effort, optional=True)

    # closed forms (used for metrics and the docs; the tests check them against the dynamics)
    @property
    def msy(self) -> float:
        return self.growth_rate * self.carrying_capacity / 4.0

    @property
    def msy_effort(self) -> float:
        return self.growth_rate / (2.0 * self.catchability)

    @property
    def default_norm(self) -> float:
        return self.msy_effort / self.num_agents if self.norm_effort is None else self.norm_effort

    def equilibrium_stock(self, total_effort: float | np.ndarray) -> np.ndarray:
        share_left = 1.0 - self.catchability * np.asarray(total_effort) / self.growth_rate
        return np.maximum(self.carrying_capacity * share_left, 0.0)

    def sustainable_yield(self, total_effort: float | np.ndarray) -> np.ndarray:
        return self.catchability * np.asarray(total_effort) * self.equilibrium_stock(total_effort)

    @property
    def open_access_effort(self) -> float:
        q, k = self.catchability, self.carrying_capacity
        return (self.growth_rate / q) * (1.0 - self.effort_cost / (self.price * q * k))


class FisherySim(BatchedSim):
    """The Gordon-Schaefer fishery with institutions (see the module docstring)."""

    Params = FisheryParams
    reward_terms = ("catch_value", "effort_cost", "fine", "sanction_cost", "tax")
    reward_presets = standard_presets(dict.fromkeys(reward_terms, 1.0))
    default_reward = "private"
    events = ("collapse",)

    def _setup(self) -> None:
        p = self.params
        n, b, levels = p.num_agents, self.num_envs, p.effort_levels
        self.agents = tuple(f"fisher_{i}" for i in range(n))
        self.action_spaces = tuple(spaces.MultiDiscrete([levels, 3, levels]) for _ in range(n))
        self.observation_spaces = tuple(
            spaces.Box(-np.inf, np.inf, shape=(2 * n + 4,), dtype=np.float32) for _ in range(n)
        )
        self._effort_step = p.max_effort / (levels - 1)
        self.t = np.zeros(b, dtype=np.int64)
        self.stock = np.zeros(b)
        self.norm = np.zeros(b)
        self.effort = np.zeros((b, n))
        self.reputation = np.zeros((b, n))
        self.fines_received = np.zeros((b, n))
        self.interval_payoff = np.zeros((b, n))
        self.payoff_total = np.zeros((b, n))
        self.total_catch = np.zeros(b)
        self.above_norm = np.zeros(b)
        self.just = np.zeros(b)
        self.unjust = np.zeros(b)

    def _reset(self, rows: np.ndarray) -> None:
        p = self.params
        self.t[rows] = 0
        self.stock[rows] = p.initial_stock * p.carrying_capacity
        self.norm[rows] = p.default_norm
        for array in (
            self.effort,
            self.reputation,
            self.fines_received,
            self.interval_payoff,
            self.payoff_total,
            self.total_catch,
            self.above_norm,
            self.just,
            self.unjust,
        ):
            array[rows] = 0.0

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        p = self.params
        n = p.num_agents
        rows = slice(None) if rows is None else rows
        stock = self.stock[rows]
        b = stock.shape[0]
        obs = np.zeros((b, n, 2 * n + 4), dtype=np.float32)
        obs[:, :, 0] = (stock / p.carrying_capacity)[:, None]
        obs[:, :, 1] = (self.norm[rows] / p.max_effort)[:, None]
        obs[:, :, 2] = (self.t[rows] / p.horizon)[:, None]
        obs[:, :, 3] = self.fines_received[rows] / (p.fine * n if p.fine > 0 else 1.0)
        obs[:, :, 4 : 4 + n] = rolled(self.effort[rows] / p.max_effort)
        if p.public_reputation:
            obs[:, :, 4 + n :] = rolled(self.reputation[rows] / 10.0)
        return obs

    def _step(self, actions: np.ndarray) -> StepOutcome:
        p = self.params
        n, b = p.num_agents, self.num_envs
        effort = actions[:, :, 0] * self._effort_step
        if p.exclusion_threshold is not None and p.public_reputation:
            effort = np.where(self.reputation < p.exclusion_threshold, 0.0, effort)

        # ---- Schaefer harvest and logistic regrowth (both on the stock at the start of the step)
        stock = self.stock
        wanted = p.catchability * effort * stock[:, None]
        total_wanted = wanted.sum(axis=1)
        scale = np.where(total_wanted > stock, stock / np.maximum(total_wanted, 1e-300), 1.0)
        catch = wanted * scale[:, None]
        growth = p.growth_rate * stock * (1.0 - stock / p.carrying_capacity)
        noise = self.rng.normal((), None) if p.stock_noise > 0 else None
        if noise is not None:
            growth = growth * np.exp(p.stock_noise * noise - 0.5 * p.stock_noise**2)
        self.stock = np.maximum(stock + growth - catch.sum(axis=1), 0.0)

        # ---- observation, norms and sanctions
        visible = self.rng.bernoulli(p.monitor_prob, (n,))
        violator = effort > self.norm[:, None] + 1e-9
        fines_count, issued, just, unjust = self._sanctions(actions, visible, violator)
        tax = np.full((b, n), -p.third_party_tax if p.institution in ("third_party", "both") else 0.0)

        if p.public_reputation:
            self.reputation += visible * np.where(violator, -1.0, 1.0)

        terms = {
            "catch_value": p.price * catch,
            "effort_cost": -p.effort_cost * effort,
            "fine": -p.fine * fines_count,
            "sanction_cost": -p.punish_cost * issued,
            "tax": tax,
        }
        payoff = sum(terms.values())

        # ---- bookkeeping for the metrics (before the norm moves)
        self.t += 1
        self.effort = effort
        self.fines_received = p.fine * fines_count
        self.payoff_total += payoff
        self.interval_payoff += payoff
        self.total_catch += catch.sum(axis=1)
        self.above_norm += violator.sum(axis=1)
        self.just += just
        self.unjust += unjust
        collapsed = self.stock < p.collapse_fraction * p.carrying_capacity

        self._update_norm(actions, effort)

        return StepOutcome(
            terms=terms,
            terminated=collapsed,
            truncated=self.t >= p.horizon,
            info={
                "stock": self.stock.copy(),
                "norm": self.norm.copy(),
                "catch": catch,
                "reputation": self.reputation.copy(),
                "fines": fines_count,
                "visible": visible,
            },
            events={"collapse": collapsed},
        )

    def _sanctions(
        self, actions: np.ndarray, visible: np.ndarray, violator: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The step's fines under the institution: (fines received, fines issued, just, unjust) counts."""
        p = self.params
        n, b = p.num_agents, self.num_envs
        fines_count = np.zeros((b, n))
        issued = np.zeros((b, n))
        just = np.zeros(b)
        unjust = np.zeros(b)
        if p.institution in ("direct", "third_party", "both"):
            fined = np.zeros((b, n, n), dtype=bool)  # fined[b, punisher, target] (direct)
            if p.institution in ("direct", "both"):
                mode = actions[:, :, 1][:, :, None]
                targets = visible[:, None, :] & ((mode == 2) | ((mode == 1) & violator[:, None, :]))
                fined = targets & ~np.eye(n, dtype=bool)[None]
                issued = fined.sum(axis=2).astype(np.float64)
                fines_count += fined.sum(axis=1)
                just += (fined & violator[:, None, :]).sum(axis=(1, 2))
                unjust += (fined & ~violator[:, None, :]).sum(axis=(1, 2))
            if p.institution in ("third_party", "both"):
                error = self.rng.bernoulli(p.third_party_error, (n,))
                enforced = visible & (violator | error)
                fines_count += enforced
                just += (enforced & violator).sum(axis=1)
                unjust += (enforced & ~violator).sum(axis=1)
        return fines_count, issued, just, unjust

    def _update_norm(self, actions: np.ndarray, effort: np.ndarray) -> None:
        """The norm for the next step: the median vote, or a step towards the best earner's effort."""
        p = self.params
        b = self.num_envs
        if p.norm_mode == "voted":
            self.norm = np.median(actions[:, :, 2] * self._effort_step, axis=1)
        elif p.norm_mode == "learned":
            learn = (self.t % p.learning_interval) == 0
            if learn.any():
                best = np.argmax(self.interval_payoff, axis=1)
                best_effort = effort[np.arange(b), best]
                self.norm = np.where(learn, self.norm + p.learning_rate * (best_effort - self.norm), self.norm)
                self.interval_payoff[learn] = 0.0

    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        p = self.params
        steps = np.maximum(self.t[rows], 1).astype(np.float64)
        agent_steps = steps * p.num_agents
        above = self.above_norm[rows] / agent_steps
        return {
            "survival_time": self.t[rows].astype(np.float64),
            "efficiency_msy": self.total_catch[rows] / (steps * p.msy),
            "gini": gini(self.payoff_total[rows]),
            "above_norm_share": above,
            "cooperation_pct": 100.0 * (1.0 - above),
            "punishments_just": self.just[rows],
            "punishments_unjust": self.unjust[rows],
            "reward": self.episode_return[rows].mean(axis=1),
            "final_stock": self.stock[rows],
        }

    def render_frame(self, index: int = 0) -> np.ndarray:
        """One bar per fisher, in ``self.agents`` order from the left: its effort / max_effort.

        The last, grey bar is the fish stock / carrying capacity K; the black line is the current
        norm (effort / max_effort). White ground, full height = 1.
        """
        p = self.params
        values = np.append(self.effort[index] / p.max_effort, self.stock[index] / p.carrying_capacity)
        colors = np.vstack([PALETTE[np.arange(p.num_agents) % len(PALETTE)], [[90, 90, 90]]])
        return bar_frame(values, colors, level=self.norm[index] / p.max_effort)
