"""TR-3 collective action and loyalty: team production, public goods, coalitions, phased projects.

=====================  ==========================================================================
Agents                 n team members (ApacheProject: 40 contributors, a phase activates a prefix)
Action space (each)    Box(0, e_i, (1,)): effort
Observation            base layout + [loyalty theta_i, active_i, active fraction, phase / (P-1),
                       coalition member_i]
Parameters             :class:`TeamParams`: omega, beta, cost, endowment, production, multiplier,
                       loyalty0, loyalty_rate, phi_b, phi_c, active_phases, coalition_threshold,
                       solo_productivity (+ base)
Reward terms           ``endowment`` e, ``effort_cost`` -c a_i, ``team_share`` Q / m (their sum
                       is pi_i), ``loyalty_benefit`` theta_i phi_B mean_{j != i} pi_j,
                       ``loyalty_cost_relief`` theta_i phi_C c a_i
Presets                ``private``, ``integrated``, ``cooperative``, ``loyal`` (pi_i + L_i)
=====================  ==========================================================================

Team output Q = omega * X ** beta (``production="power"``) or m * X (``"linear"``, public goods)
with X the effort of the m active members, shared equally. Closed forms (derived in
docs/coopetition.md and checked against the numeric oracles in the tests), power production,
n members, bound e per member:

* Nash (private): each member's marginal omega beta X^(beta-1) / n = c, so
  X_N = (omega beta / (n c)) ** (1 / (1 - beta)); symmetric a_N = min(X_N / n, e).
* Nash with loyalty theta: omega beta X^(beta-1) (1 + theta phi_B) / n = c (1 - theta phi_C).
* Social optimum: max omega X^beta - c X, so X_O = (omega beta / c) ** (1 / (1 - beta)), capped at n e.

Loyalty dynamics (``loyalty_rate`` eta > 0): theta_i <- theta_i + eta (coop_-i - theta_i), with
coop_-i the mean effort / bound of the other active members: loyalty follows the team's commitment.

Phases (``active_phases``): phase k has its first ``active_phases[k]`` agents active; inactive
agents' actions are ignored (set to 0), all their terms are 0, and D_ij is 0 unless both are active.
Coalitions (``coalition_threshold`` tau > 0): members are agents with a_i >= tau e_i; members share
Q of the members' effort, a non-member produces alone, solo_productivity * omega * a_i ** beta;
D_ij applies between members only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError
from rewardlab.core.reward import RewardSpec
from rewardlab.envs.coopetition.base import (
    MAX_SCALE,
    CoopParams,
    CoopSim,
    StageGame,
    check_given,
    coop_presets,
    integer_tuple,
)
from rewardlab.envs.coopetition.payoff import agent_sum, spread, team_output

PAYOFF_TERMS = ("endowment", "effort_cost", "team_share")
LOYALTY_TERMS = ("loyalty_benefit", "loyalty_cost_relief")


@dataclass(frozen=True)
class TeamParams(CoopParams):
    """TR-3 parameters.

    Attributes:
        omega, beta: team output Q = omega * X ** beta.
        cost: c, cost per unit of effort.
        endowment: e kept by every member each round (0 for team production, 50 for public goods).
        production: "power" or "linear" (Q = multiplier * X).
        multiplier: m of the linear public good.
        loyalty0: initial loyalty theta_i.
        loyalty_rate: eta of the loyalty dynamics (0: constant loyalty).
        phi_b, phi_c: loyalty weights on the others' mean payoff and on the own effort cost.
        active_phases: active member count per phase (empty: everyone always).
        coalition_threshold: tau (0: everyone is in the team).
        solo_productivity: a non-member's output scale relative to omega.
    """

    omega: float = 25.0
    beta: float = 0.7
    cost: float = 1.0
    endowment: float = 0.0
    production: str = "power"
    multiplier: float = 2.0
    loyalty0: float = 0.0
    loyalty_rate: float = 0.0
    phi_b: float = 0.8
    phi_c: float = 0.3
    active_phases: tuple[int, ...] = ()
    coalition_threshold: float = 0.0
    solo_productivity: float = 0.35

    def __post_init__(self) -> None:
        super().__post_init__()
        check.numbers(self, ("omega", "cost", "multiplier"), low=0.0, low_open=True, high=MAX_SCALE)
        check.numbers(self, "endowment", low=0.0, high=MAX_SCALE)
        check.numbers(self, "beta", low=0.0, high=0.999)
        check.choice(self, "production", ("power", "linear"))
        check.numbers(
            self, ("loyalty0", "loyalty_rate", "phi_b", "phi_c", "coalition_threshold", "solo_productivity"),
            low=0.0, high=1.0,
        )
        counts = integer_tuple(self, "active_phases", 1, self.num_agents)
        if counts and len(counts) != self.num_phases:
            raise RewardlabError(
                f"active_phases must give 1..{self.num_agents} active agents for each of the "
                f"{self.num_phases} phases (phase_starts), got {check_given(self.active_phases)}"
            )
        object.__setattr__(self, "active_phases", counts)

    def active_table(self) -> np.ndarray:
        """(num_phases, n) bool: who is active in each phase."""
        counts = self.active_phases or (self.num_agents,) * self.num_phases
        return np.arange(self.num_agents)[None, :] < np.asarray(counts)[:, None]


class TeamSim(CoopSim):
    """TR-3 team production with loyalty (see the module docstring)."""

    Params = TeamParams
    payoff_terms = PAYOFF_TERMS
    reward_terms = (*PAYOFF_TERMS, *LOYALTY_TERMS)
    reward_presets = coop_presets(
        PAYOFF_TERMS,
        loyal=RewardSpec(dict.fromkeys((*PAYOFF_TERMS, *LOYALTY_TERMS), 1.0), name="loyal"),
    )

    def _setup_game(self) -> None:
        p = self.params
        b, n = self.num_envs, p.num_agents
        self._active_table = p.active_table()
        self._active_tiles = np.repeat(self._active_table[:, None, :], b, axis=1)  # (P, B, n)
        self._masked = bool(p.active_phases)
        # D only between agents active in the same phase
        self._d_table = self._d_table * self._active_table[:, :, None] * self._active_table[:, None, :]
        self._static_d = bool(np.all(self._d_table == self._d_table[0]))
        self._d_step = self._d_table[0]
        self._base_d = self._d_table[0].copy()
        self.loyalty = np.zeros((b, n))
        self.member = np.ones((b, n), dtype=bool)
        self._coalitions = p.coalition_threshold > 0
        self.extra_obs = (
            ("loyalty", "active", "active_fraction", "phase", "member"),
            np.zeros(5),
            np.ones(5),
        )

    def _reset_game(self, rows):
        self.loyalty, self.active, self.member = self.loyalty.copy(), self.active.copy(), self.member.copy()
        self.loyalty[rows] = self.params.loyalty0
        self.active[rows] = self._active_table[0]
        self.member[rows] = True
        if not self._coalitions:
            self._d_step = self._d_table[0]

    def _team_terms(self, a: np.ndarray, active: np.ndarray, member: np.ndarray | None, loyalty: np.ndarray):
        """Terms and pi for actions a (..., n); shared by the step and the stage game."""
        p = self.params
        n = a.shape[-1]
        act = active.astype(float)
        if act.shape != a.shape:
            act = np.broadcast_to(act, a.shape)
        a = a * act
        in_team = act if member is None else act * member
        count = np.maximum(agent_sum(in_team), 1.0)
        effort = agent_sum(a * in_team)
        share = spread(team_output(effort, p.omega, p.beta, p.production, p.multiplier) / count, n) * in_team
        if member is not None:
            solo = p.solo_productivity * team_output(a, p.omega, p.beta, p.production, p.multiplier)
            share = share + solo * (act - in_team)
        cost = -p.cost * a
        endowment = p.endowment * act
        pi = endowment + cost + share
        others = spread(np.maximum(agent_sum(act) - 1.0, 1.0), n)
        mean_others = (spread(agent_sum(pi * act), n) - pi) / others * act
        terms = {
            "endowment": endowment,
            "effort_cost": cost,
            "team_share": share,
            "loyalty_benefit": loyalty * p.phi_b * mean_others,
            "loyalty_cost_relief": loyalty * p.phi_c * p.cost * a,
        }
        return terms, pi

    def _play(self, a):
        p = self.params
        n = self.num_agents
        if self._masked:
            phase = self.phase
            first = phase[0]
            self.active = self._active_tiles[first] if np.all(phase == first) else self._active_table[phase]
            self._d_step = self._interdependence_for(phase)
        member = None
        if self._coalitions:
            member = a >= p.coalition_threshold * self._bounds_full
            self.member = member
            self._d_step = self._base_d * (member[:, :, None] & member[:, None, :])
        terms, pi = self._team_terms(a, self.active, member, self.loyalty)
        if p.loyalty_rate > 0:
            act = self.active
            frac = a * self._inv_bounds_full * act
            others = self._spread(np.maximum(agent_sum(act) - 1, 1), n)
            coop_others = (self._spread(agent_sum(frac), n) - frac) / others
            self.loyalty = np.where(act, self.loyalty + p.loyalty_rate * (coop_others - self.loyalty), self.loyalty)
        return terms, pi, {"loyalty": self.loyalty, "active": self.active}, None

    def _fill_extra(self, obs, sel, m):
        n = self.num_agents
        col = self._extra_col
        phase = self._phase_of_t[np.minimum(self.t[sel], self.params.horizon)]
        nxt = self._active_table[phase]  # who plays the coming round
        obs[:, :, col] = self.loyalty[sel]
        obs[:, :, col + 1] = nxt
        obs[:, :, col + 2] = self._spread(agent_sum(nxt) / n, n)
        obs[:, :, col + 3] = self._spread(phase / max(self.params.num_phases - 1, 1), n)
        obs[:, :, col + 4] = self.member[sel]

    def _game_metrics(self, rows):
        return {"final_mean_loyalty": self.loyalty[rows].mean(axis=1)}

    def stage_game(self, phase: int = 0, loyalty: float | None = None) -> StageGame:
        """The one-shot game of ``phase`` with every member's loyalty at ``loyalty`` (default loyalty0)."""
        p = self.params
        active = self._active_table[phase]
        theta = np.full(self.num_agents, p.loyalty0 if loyalty is None else loyalty)
        coalitions = self._coalitions
        bounds = self.bounds.copy()

        def terms(a):
            member = (a >= p.coalition_threshold * bounds) if coalitions else None
            return self._team_terms(a, active, member, theta)[0]

        base_d = self._d_table[phase]

        def interdependence_of(a):
            member = a >= p.coalition_threshold * bounds
            return base_d * (member[..., :, None] & member[..., None, :])

        return StageGame(
            self.env_id, bounds, terms, PAYOFF_TERMS, base_d, active=active,
            interdependence_of=interdependence_of if coalitions else None, meta={"loyalty": theta},
        )
