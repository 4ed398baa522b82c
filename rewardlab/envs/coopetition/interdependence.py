"""TR-1 interdependence and complementarity: value creation with a shared synergy surplus.

=====================  ==========================================================================
Agents                 n partners (names per id, e.g. ``renault``, ``nissan``)
Action space (each)    Box(0, e_i, (1,)): investment a_i out of endowment e_i
Observation            base layout (see ``base``) + [phase / (P-1), last synergy share / e_i,
                       partner's last action / e_partner]
Parameters             :class:`InterdependenceParams` (theta, value_kind, value_beta, gamma,
                       gamma_range, alpha, alpha_phases, matching, pair_interdependence + base)
Reward terms           ``endowment_kept`` e_i - a_i, ``individual_value`` f(a_i),
                       ``synergy_share`` alpha_i * gamma * g(a)
Presets                ``private`` (pi_i), ``integrated`` (pi_i + sum_j D_ij pi_j),
                       ``cooperative`` (mean_j U_j)
=====================  ==========================================================================

``matching="group"`` shares one surplus gamma * (prod a)^(1/n) by alpha. ``"assortative"`` pairs
agents each round by rank of their previous action (highest with second highest, ...);
``"random"`` pairs them uniformly at random each round. A pair's surplus gamma * sqrt(a_i a_j)
is split evenly, and D is ``pair_interdependence`` between partners and 0 otherwise (so the
integrated reward changes with the pairing: ``interdependence`` is then (B, n, n)).
``gamma_range=(lo, hi)`` draws a hidden gamma ~ U(lo, hi) per episode (SynergySearch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.coopetition.base import (
    D_RANGE,
    MAX_SCALE,
    CoopParams,
    CoopSim,
    StageGame,
    check_given,
    coop_presets,
    is_empty,
    is_sequence,
)
from rewardlab.envs.coopetition.payoff import pair_partners_sorted, tr1_terms

MATCHINGS = ("group", "assortative", "random")


@dataclass(frozen=True)
class InterdependenceParams(CoopParams):
    """TR-1 payoff parameters (units: payoff units per action unit; actions in endowment units).

    Attributes:
        theta: scale of the log individual value f(a) = theta * ln(1 + a).
        value_kind: "log" (theta * ln(1 + a)) or "power" (a ** value_beta).
        value_beta: exponent of the power individual value.
        gamma: synergy scale, S = gamma * g(a).
        gamma_range: (lo, hi) to draw a hidden gamma ~ U(lo, hi) per episode; empty: fixed gamma.
        alpha: surplus shares alpha_i (sum to 1); empty means equal shares.
        alpha_phases: one alpha per phase (overrides ``alpha``), e.g. a platform's commission.
        matching: "group", "assortative" or "random" (see the module docstring).
        pair_interdependence: D between partners when agents are paired.
        interdependence_by_pair: with pairing, D is pair_interdependence between partners and 0
            otherwise (True), or the static ``interdependence`` (False).
    """

    theta: float = 20.0
    value_kind: str = "log"
    value_beta: float = 0.75
    gamma: float = 0.65
    gamma_range: tuple[float, ...] = ()
    alpha: tuple[float, ...] = ()
    alpha_phases: tuple[tuple[float, ...], ...] = ()
    matching: str = "group"
    pair_interdependence: float = 0.4
    interdependence_by_pair: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        n = self.num_agents
        check.numbers(self, ("theta", "gamma"), low=0.0, high=MAX_SCALE)
        check.choice(self, "value_kind", ("log", "power"))
        check.numbers(self, "value_beta", low=0.0, high=1.0)
        check.flags(self, "interdependence_by_pair")
        if not is_empty(self.gamma_range):
            check.ordered_pair(self, "gamma_range", low=0.0, high=MAX_SCALE, strict=True)
        else:
            object.__setattr__(self, "gamma_range", ())
        if not is_empty(self.alpha):
            self._check_shares("alpha", self.alpha)
        else:
            object.__setattr__(self, "alpha", (1.0 / n,) * n)
        phases = self.alpha_phases
        if not is_empty(phases):
            if not is_sequence(phases) or len(phases) != self.num_phases:
                raise RewardlabError(
                    f"alpha_phases must be one row of {n} shares for each of the {self.num_phases} phases "
                    f"(phase_starts), got {check_given(phases)}"
                )
            object.__setattr__(
                self, "alpha_phases", tuple(self._check_shares(f"alpha_phases[{k}]", x) for k, x in enumerate(phases))
            )
        check.choice(self, "matching", MATCHINGS)
        if self.matching != "group" and n % 2:
            raise RewardlabError(f"matching={self.matching!r} pairs agents: num_agents must be even, got {n}")
        check.numbers(self, "pair_interdependence", low=D_RANGE[0], high=D_RANGE[1])

    def _check_shares(self, name: str, value) -> tuple[float, ...]:
        """``value`` as n non-negative shares summing to 1 (stored back when it is ``alpha``)."""
        n = self.num_agents
        what = f"{name} must be {n} non-negative finite shares summing to 1"
        if not is_sequence(value):
            raise RewardlabError(f"{what}, got {check_given(value)}")
        try:
            shares = tuple(float(x) for x in value)
        except (TypeError, ValueError):
            raise RewardlabError(f"{what}, got {check_given(value)}") from None
        if (len(shares) != n or not all(np.isfinite(x) and x >= 0.0 for x in shares)
                or any(isinstance(x, (bool, np.bool_, str)) for x in value) or abs(sum(shares) - 1.0) > 1e-9):
            raise RewardlabError(f"{what}, got {check_given(value)}")
        if name == "alpha":
            object.__setattr__(self, "alpha", shares)
        return shares

    def alpha_table(self) -> np.ndarray:
        if len(self.alpha_phases):
            return np.asarray(self.alpha_phases, dtype=float)
        return np.repeat(np.asarray(self.alpha, dtype=float)[None], self.num_phases, axis=0)


class InterdependenceSim(CoopSim):
    """TR-1: pi_i = e_i - a_i + f(a_i) + alpha_i * gamma * g(a) (see the module docstring)."""

    Params = InterdependenceParams
    payoff_terms = ("endowment_kept", "individual_value", "synergy_share")
    reward_terms = payoff_terms
    reward_presets = coop_presets(payoff_terms)

    def _setup_game(self) -> None:
        p = self.params
        b, n = self.num_envs, p.num_agents
        self.endowment = self._bounds_full
        self._alpha_table = p.alpha_table()
        self._alpha_tiles = np.repeat(self._alpha_table[:, None, :], b, axis=1)  # (P, B, n)
        self._static_alpha = bool(np.all(self._alpha_table == self._alpha_table[0]))
        self.gamma = np.full(b, p.gamma)
        self._hidden_gamma = bool(p.gamma_range)
        self._paired = p.matching != "group"
        self._pair_d = self._paired and p.interdependence_by_pair
        self.partner = np.tile(np.arange(n) ^ 1, (b, 1)) if self._paired else None
        self._last_share = np.zeros((b, n))
        self._phased = p.num_phases > 1
        gamma_max = max(p.gamma_range) if p.gamma_range else p.gamma
        share_high = float(gamma_max * self.bounds.max() / self.bounds.min()) + 1.0
        self.extra_obs = (
            ("phase", "last_synergy_share", "partner_last_action"),
            np.zeros(3),
            np.array([1.0, share_high, 1.0]),
        )

    def _reset_game(self, rows: np.ndarray) -> None:
        p = self.params
        if self._hidden_gamma:
            lo, hi = p.gamma_range
            self.gamma[rows] = self.rng.uniform((), rows, lo, hi)
        if self._paired:
            self.partner[rows] = np.arange(p.num_agents) ^ 1
        self._last_share = self._last_share.copy()  # it aliases the last step's synergy_share term
        self._last_share[rows] = 0.0
        self._d_step = self._pair_interdependence(self.partner) if self._pair_d else self._d_table[0]

    # the pieces of one round, shared with the subclasses
    def _alpha_now(self, phase: np.ndarray | None) -> np.ndarray:
        """alpha for this round, (B, n)."""
        if self._static_alpha:
            return self._alpha_tiles[0]
        first = phase[0]
        if np.all(phase == first):
            return self._alpha_tiles[first]
        return self._alpha_table[phase]

    def _pair_interdependence(self, partner: np.ndarray) -> np.ndarray:
        d = np.zeros((partner.shape[0], self.num_agents, self.num_agents))
        np.put_along_axis(d, partner[:, :, None], self.params.pair_interdependence, axis=2)
        return d

    def _match(self) -> np.ndarray | None:
        if not self._paired:
            return None
        if self.params.matching == "assortative":
            order = np.argsort(-self.last, axis=1, kind="stable")
        else:
            order = self.rng.permutation(self.num_agents)
        self.partner = pair_partners_sorted(order)
        return self.partner

    def _tr1(self, a: np.ndarray, alpha: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        p = self.params
        partner = self._match()
        gamma = self.gamma if self._hidden_gamma else p.gamma
        kept, value, share = tr1_terms(a, self.endowment, p.theta, p.value_kind, p.value_beta, gamma, alpha, partner)
        if self._pair_d:
            self._d_step = self._pair_interdependence(partner)
        self._last_share = share
        pi = kept + value + share
        return {"endowment_kept": kept, "individual_value": value, "synergy_share": share}, pi

    def _play(self, a):
        phase = self.phase if self._phased else None
        if phase is not None:
            self._d_step = self._interdependence_for(phase)
        terms, pi = self._tr1(a, self._alpha_now(phase))
        return terms, pi, {}, None

    def _fill_extra(self, obs, sel, m):
        col = self._extra_col
        n = self.num_agents
        if self._phased:
            phase = self._phase_of_t[np.minimum(self.t[sel], self.params.horizon)]
            obs[:, :, col] = self._spread(phase / (self.params.num_phases - 1), n)
        else:
            obs[:, :, col] = 0.0
        inv = self._full(self._inv_bounds_full, m)
        obs[:, :, col + 1] = self._last_share[sel] * inv
        if self._paired:
            obs[:, :, col + 2] = np.take_along_axis(self.last[sel] * inv, self.partner[sel], axis=1)
        else:
            obs[:, :, col + 2] = 0.0

    # ----------------------------------------------------------------- oracles
    def _stage_alpha_gamma(self, phase: int, gamma: float | None) -> tuple[np.ndarray, float]:
        p = self.params
        if gamma is None:
            gamma = float(np.mean(p.gamma_range)) if p.gamma_range else p.gamma
        return self._alpha_table[phase], gamma

    def stage_game(self, phase: int = 0, gamma: float | None = None) -> StageGame:
        p = self.params
        alpha, gamma = self._stage_alpha_gamma(phase, gamma)
        n = p.num_agents
        partner = np.arange(n) ^ 1 if self._paired else None
        endowment = self.bounds.copy()
        alpha = alpha.copy()

        def terms(a: np.ndarray) -> dict[str, np.ndarray]:
            pa = None if partner is None else np.broadcast_to(partner, a.shape)
            kept, value, share = tr1_terms(a, endowment, p.theta, p.value_kind, p.value_beta, gamma, alpha, pa)
            return {"endowment_kept": kept, "individual_value": value, "synergy_share": share}

        d = self._pair_interdependence(partner[None])[0] if self._pair_d else self._d_table[phase]
        return StageGame(self.env_id, self.bounds.copy(), terms, self.payoff_terms, d)

    def _optimum_welfare(self, rows, lengths):
        if not self._hidden_gamma:
            return super()._optimum_welfare(rows, lengths)
        from rewardlab.envs.coopetition.equilibrium import social_optimum

        key = ("gamma-grid", type(self).__qualname__, self.params)
        from rewardlab.envs.coopetition import base

        if key not in base._OPTIMUM_CACHE:
            grid = np.linspace(*self.params.gamma_range, 17)
            base._OPTIMUM_CACHE[key] = np.stack(
                [grid, [social_optimum(self.stage_game(0, gamma=g)).welfare for g in grid]]
            )
        grid, welfare = base._OPTIMUM_CACHE[key]
        return np.interp(self.gamma[rows], grid, welfare) * lengths


class SynergySearchSim(InterdependenceSim):
    """TR-1 with a hidden gamma drawn per episode: the seed matters."""

    seed_independent = False
