"""TR-2 trust and reputation: the TR-1 payoff with trust T_ij and reputation damage R_ij.

=====================  ==========================================================================
Agents                 n partners
Action space (each)    Box(0, e_i, (1,))
Observation            TR-1 layout + [T_ij over j != i, R_ij over j != i, current share alpha_i]
Parameters             :class:`TrustParams`: TR-1 parameters + kappa, lambda_pos, lambda_neg, mu_r,
                       delta_r, xi, trust0, reputation0, trust_baseline, success_trust,
                       share_adjust, reputation_shares
Reward terms           TR-1 terms (their sum is pi_i) + ``trust_level`` (mean_j T_ij after the
                       step; weight 0 in every preset, for shaping)
Presets                ``private``, ``integrated``, ``cooperative``, ``trust_integrated``
                       (U_i = pi_i + sum_j T_eff_ij D_ij pi_j, T_eff = min(T, 1 - R))
Info                   ``trust`` (n, n), ``reputation`` (n, n), ``alpha`` (n,)
=====================  ==========================================================================

The trust signal of agent j is s_j = tanh(kappa * (a_j - b_j) / e_j): the deviation from the
baseline b_j measured in endowments, so that kappa = 3 makes a shortfall of 5 % of the
endowment a mild signal (-0.15) and outright defection from a baseline near 30 % a strong one
(about -0.7), instead of the reference's near-binary tanh of raw action units. The baseline is
``trust_baseline * e_j``, or by default (``"nash"``) agent j's action in the private-payoff Nash
equilibrium of the one-shot game (from ``rewardlab.envs.coopetition.equilibrium``): a partner gains
trust by investing more than a selfish partner would and loses it by investing less. ``trust_integrated`` uses the
T_eff the agents held when they acted (before this step's update).

``success_trust > 0`` ends an episode (terminated) once every T_ij >= success_trust
(RecoveryRace). ``share_adjust > 0`` renegotiates the surplus shares after each round toward the
contribution shares a_i / sum a (CooperativeNegotiation). ``reputation_shares`` makes each
agent's share proportional to alpha_i * (1 - mean_k R_ki), its public reputation (ReputationMarket).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.coopetition.base import MAX_SCALE, StageGame, check_given, coop_presets
from rewardlab.envs.coopetition.interdependence import InterdependenceParams, InterdependenceSim
from rewardlab.envs.coopetition.payoff import agent_sum, batched_matvec, row_sums, trust_signal, trust_update


def _trust_integrated(r: np.ndarray, sim, params) -> np.ndarray:
    """U_i = r_i + sum_j T_eff_ij D_ij r_j with the T_eff held at the step just taken."""
    weight = sim.trust_effective_step * sim.interdependence_full
    return r + batched_matvec(weight, r)


SIGNAL_UNITS = ("endowment", "action")


@dataclass(frozen=True)
class TrustParams(InterdependenceParams):
    """TR-2 trust dynamics (see the module docstring for the update rules).

    Attributes:
        kappa: signal steepness per endowment of deviation (per action unit with
            ``signal_units="action"``).
        signal_units: "endowment" (s = tanh(kappa (a - b) / e), rewardlab's default) or "action"
            (s = tanh(kappa (a - b)), the reference's raw units).
        lambda_pos, lambda_neg: trust build and erosion rates (3:1 negativity by default).
        mu_r: reputation damage rate; delta_r: reputation decay per step.
        xi: erosion amplification by interdependence, (1 + xi * D_ij).
        trust0, reputation0: initial T_ij and R_ij (off-diagonal).
        trust_baseline: b_j as a fraction of e_j, or "nash": j's private Nash action.
        success_trust: end the episode when every T_ij reaches it (0 disables).
        share_adjust: renegotiation rate of the shares toward contribution shares (0 disables).
        reputation_shares: shares weighted by public reputation.
    """

    kappa: float = 3.0
    signal_units: str = "endowment"
    lambda_pos: float = 0.10
    lambda_neg: float = 0.30
    mu_r: float = 0.60
    delta_r: float = 0.03
    xi: float = 0.5
    trust0: float = 0.5
    reputation0: float = 0.0
    trust_baseline: float | str = "nash"
    success_trust: float = 0.0
    share_adjust: float = 0.0
    reputation_shares: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check.numbers(self, "kappa", low=0.0, low_open=True, high=MAX_SCALE)
        check.choice(self, "signal_units", SIGNAL_UNITS)
        rates_and_levels = ("lambda_pos", "lambda_neg", "mu_r", "delta_r", "trust0", "reputation0")
        check.numbers(self, (*rates_and_levels, "success_trust", "share_adjust"), low=0.0, high=1.0)
        if not (isinstance(self.trust_baseline, str) and self.trust_baseline == "nash"):
            if isinstance(self.trust_baseline, str):
                raise RewardlabError(
                    f"trust_baseline must be a fraction in [0, 1] or 'nash', got {check_given(self.trust_baseline)}"
                )
            check.numbers(self, "trust_baseline", low=0.0, high=1.0)
        check.numbers(self, "xi", low=0.0, high=MAX_SCALE)
        check.flags(self, "reputation_shares")
        if self.trust0 > 1.0 - self.reputation0:
            raise RewardlabError(
                f"trust0 ({self.trust0}) must not exceed 1 - reputation0 ({1 - self.reputation0})"
            )


class TrustSim(InterdependenceSim):
    """TR-2: TR-1 payoffs, trust and reputation dynamics (see the module docstring)."""

    Params = TrustParams
    reward_terms = (*InterdependenceSim.payoff_terms, "trust_level")
    reward_presets = coop_presets(InterdependenceSim.payoff_terms, trust=True)
    social_modes = {"trust_integrated": _trust_integrated}

    def _setup_game(self) -> None:
        super()._setup_game()
        p = self.params
        b, n = self.num_envs, p.num_agents
        self.trust = np.zeros((b, n, n))
        self.reputation = np.zeros((b, n, n))
        self._trust_before = self.trust  # T and R when the agents last acted (for T_eff)
        self._reputation_before = self.reputation
        self.alpha_now = np.tile(self._alpha_table[0], (b, 1))
        self._dynamic_alpha = p.share_adjust > 0 or p.reputation_shares
        self.trust_baseline = self._baseline_actions()
        self._baseline_full = np.tile(self.trust_baseline, (b, 1))
        # deviations are divided by this: e_j (in endowments) or 1 (raw action units)
        self._signal_scale = self._bounds_full if p.signal_units == "endowment" else 1.0
        self._signal_index = np.tile(np.arange(n), n)  # s_full[b, i, j] = s[b, j]
        self._off_full = np.tile(self._off_diagonal, (b, 1, 1))
        self._d_tiles = np.repeat(self._d_table[:, None], b, axis=1)  # (P, B, n, n)
        self._amp_tiles = 1.0 + p.xi * self._d_tiles
        self.interdependence_full = self._d_tiles[0]
        names, low, high = self.extra_obs
        k = n - 1
        self.extra_obs = (
            (*names, *[f"trust_{j}" for j in range(k)], *[f"reputation_{j}" for j in range(k)], "alpha"),
            np.concatenate([low, np.zeros(2 * k + 1)]),
            np.concatenate([high, np.ones(2 * k + 1)]),
        )

    def _reset_game(self, rows: np.ndarray) -> None:
        super()._reset_game(rows)
        p = self.params
        self.trust, self.reputation, self.alpha_now = self.trust.copy(), self.reputation.copy(), self.alpha_now.copy()
        self.trust[rows] = p.trust0 * self._off_diagonal
        self.reputation[rows] = p.reputation0 * self._off_diagonal
        self._trust_before, self._reputation_before = self.trust, self.reputation
        self.alpha_now[rows] = self._alpha_table[0]
        self.interdependence_full = self._d_full(self._d_step, None)

    def _baseline_actions(self) -> np.ndarray:
        """b_j in action units, (n,)."""
        p = self.params
        if p.trust_baseline != "nash":
            return p.trust_baseline * self.bounds
        from rewardlab.envs.coopetition import base

        key = ("nash-baseline", type(self).__qualname__, p)
        if key not in base._OPTIMUM_CACHE:
            from rewardlab.envs.coopetition.equilibrium import nash_equilibrium

            base._OPTIMUM_CACHE[key] = nash_equilibrium(self.stage_game(0), "private").actions
        return base._OPTIMUM_CACHE[key].copy()

    @property
    def trust_effective_step(self) -> np.ndarray:
        """T_eff = min(T, 1 - R) that the agents held when they took the last step, (B, n, n)."""
        return np.minimum(self._trust_before, 1.0 - self._reputation_before)

    def _d_full(self, d: np.ndarray, phase: np.ndarray | None) -> np.ndarray:
        """D of this round as a (B, n, n) array."""
        if d.ndim == 3:
            return d
        if phase is None:
            return self._d_tiles[0]
        return self._d_tiles[phase[0]]  # (n, n) D means every instance is in the same phase

    def _shares(self, phase: np.ndarray | None) -> np.ndarray:
        alpha = self._alpha_now(phase)
        if self.params.reputation_shares:
            n = self.num_agents
            public = 1.0 - row_sums(self.reputation.transpose(0, 2, 1)) / (n - 1)  # 1 - mean_k R_kj
            weighted = alpha * public
            total = self._spread(agent_sum(weighted), n)
            alpha = np.where(total > 0, weighted / np.where(total > 0, total, 1.0), 1.0 / n)
        elif self.params.share_adjust > 0:
            alpha = self.alpha_now
        return alpha

    def _trust_round(self, a: np.ndarray, phase: np.ndarray | None) -> None:
        p = self.params
        d_full = self._d_full(self._d_step, phase)
        self.interdependence_full = d_full
        if self._d_step.ndim == 3:
            amplification = 1.0 + p.xi * d_full
        else:
            amplification = self._amp_tiles[0 if phase is None else phase[0]]
        self._trust_before, self._reputation_before = self.trust, self.reputation
        signal = trust_signal(a, self._baseline_full, self._signal_scale, p.kappa)
        signal_full = np.take(signal, self._signal_index, axis=1).reshape(self.trust.shape)
        self.trust, self.reputation = trust_update(
            self.trust, self.reputation, signal_full, amplification, self._off_full,
            p.lambda_pos, p.lambda_neg, p.mu_r, p.delta_r,
        )

    def _play(self, a):
        p = self.params
        n = self.num_agents
        phase = self.phase if self._phased else None
        if phase is not None:
            self._d_step = self._interdependence_for(phase)
        alpha = self._shares(phase)
        terms, pi = self._tr1(a, alpha)
        self._trust_round(a, phase)
        if self._dynamic_alpha:
            self.alpha_now = np.array(alpha)
            if p.share_adjust > 0:
                total = self._spread(agent_sum(a), n)
                target = np.where(total > 0, a / np.where(total > 0, total, 1.0), self.alpha_now)
                self.alpha_now += p.share_adjust * (target - self.alpha_now)
        terms["trust_level"] = row_sums(self.trust) * (1.0 / (n - 1))
        terminated = None
        if p.success_trust > 0:
            below = (self.trust < p.success_trust) & (self._off_full > 0)
            terminated = below.reshape(self.num_envs, n * n) @ np.ones(n * n) == 0
        info = {"trust": self.trust, "reputation": self.reputation, "alpha": self.alpha_now}
        return terms, pi, info, terminated

    def _fill_extra(self, obs, sel, m):
        super()._fill_extra(obs, sel, m)
        n = self.num_agents
        col = self._extra_col + 3
        self._put(obs, col, np.take(self.trust[sel].reshape(m, n * n), self._flat_others, axis=1))
        self._put(obs, col + n - 1, np.take(self.reputation[sel].reshape(m, n * n), self._flat_others, axis=1))
        obs[:, :, col + 2 * (n - 1)] = self.alpha_now[sel]

    def _game_metrics(self, rows):
        n = self.num_agents
        return {
            "final_mean_trust": self.trust[rows].sum(axis=(1, 2)) / (n * (n - 1)),
            "final_mean_reputation_damage": self.reputation[rows].sum(axis=(1, 2)) / (n * (n - 1)),
        }

    def stage_game(self, phase: int = 0, gamma: float | None = None) -> StageGame:
        game = super().stage_game(phase, gamma)
        p = self.params
        t_eff = min(p.trust0, 1.0 - p.reputation0) * self._off_diagonal
        inner = game.terms
        n = self.num_agents

        def terms(a):
            out = inner(a)
            out["trust_level"] = np.broadcast_to(t_eff.sum(axis=1) / (n - 1), a.shape)
            return out

        game.terms = terms
        game.trust_effective = t_eff
        return game
