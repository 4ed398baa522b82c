"""TR-4 sequential interaction and reciprocity: TR-2 trust plus reciprocity and sanctions.

=====================  ==========================================================================
Agents                 n (GiftExchange: employer, worker; AppleAppStore: apple, 2 developer groups)
Action space (each)    Box(0, e_i, (1,))
Observation            TR-2 layout + [phi_j over j != i (reciprocity signals, in [-1, 1]),
                       own sanction level / max level]
Parameters             :class:`ReciprocityParams`: TR-2 parameters + window, lambda_r, rho0, eta,
                       omega_r, sanction_norm, sanction_fine, sanction_max_level, sanction_forgive
Reward terms           TR-1 terms, ``sanction`` (-fine; their sum is pi_i), ``trust_level``,
                       ``reciprocity_signal`` (the reference's U_recip), ``reciprocity``
                       (kindness-weighted U_recip, see below)
Presets                ``private``, ``integrated``, ``cooperative``, ``trust_integrated``,
                       ``reciprocal`` (pi_i + reciprocity)
Info                   TR-2's (trust, reputation, alpha) + ``kindness`` phi (n,)
=====================  ==========================================================================

Reciprocity signals: s_j = (a_j - abar_j) / e_j with abar_j the mean of j's last ``window``
actions (this one excluded), phi_j = tanh(kappa * s_j) (0 in the first round: no history yet), weights
w_ij = T_ij (1 + omega_r D_ij) rho0 D_ij ** eta (T before this step's update).

* ``reciprocity_signal``  lambda_r * sum_j w_ij phi_j -- the reference's U_recip. It does not
  depend on agent i's own action this round, so as a reward it cannot teach i to reciprocate.
* ``reciprocity``  lambda_r * sum_j w_ij phi_j * sigma_i, sigma_i = tanh(kappa * s_i): i's own
  kindness. It pays i for answering kindness with kindness and unkindness with unkindness (the
  Falk-Fischbacher form); this is the term the ``reciprocal`` preset uses.

Graduated sanctions (``sanction_norm > 0``): an agent playing below sanction_norm * e_i is a
violator; its level rises by 1 (up to sanction_max_level) and it pays level * sanction_fine;
a compliant round lowers the level by sanction_forgive. Fines are destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.core import params as check
from rewardlab.core.reward import RewardSpec
from rewardlab.envs.coopetition.base import MAX_SCALE, StageGame, coop_presets
from rewardlab.envs.coopetition.interdependence import InterdependenceSim
from rewardlab.envs.coopetition.payoff import batched_matvec, reciprocity_weights
from rewardlab.envs.coopetition.trust import TrustParams, TrustSim

PAYOFF_TERMS = (*InterdependenceSim.payoff_terms, "sanction")
#: The longest reciprocity memory k: the ring buffer holds k x B x n actions.
MAX_WINDOW = 10_000


@dataclass(frozen=True)
class ReciprocityParams(TrustParams):
    """TR-4 reciprocity and sanction parameters.

    Attributes:
        window: k, how many past actions make the reference abar_j.
        kappa_r: steepness of the reciprocity response phi = tanh(kappa_r s), in the units of
            ``signal_units``; None: the trust signal's ``kappa``.
        lambda_r: weight of reciprocity in U_recip.
        rho0, eta: sensitivity rho_ij = rho0 * D_ij ** eta.
        omega_r: amplification (1 + omega_r D_ij).
        sanction_norm: violation threshold as a fraction of e_i (0 disables sanctions).
        sanction_fine: fine per sanction level (payoff units).
        sanction_max_level: highest sanction level.
        sanction_forgive: level decrease after a compliant round.
    """

    window: int = 5
    kappa_r: float | None = None
    lambda_r: float = 10.0
    rho0: float = 1.0
    eta: float = 1.0
    omega_r: float = 0.5
    sanction_norm: float = 0.0
    sanction_fine: float = 5.0
    sanction_max_level: int = 4
    sanction_forgive: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check.integers(self, window=(1, MAX_WINDOW), sanction_max_level=1)
        check.numbers(
            self, ("lambda_r", "rho0", "omega_r", "sanction_fine", "sanction_forgive"), low=0.0, high=MAX_SCALE
        )
        check.numbers(self, "eta", low=0.0, low_open=True, high=MAX_SCALE)
        check.numbers(self, "kappa_r", low=0.0, low_open=True, high=MAX_SCALE, optional=True)
        check.numbers(self, "sanction_norm", low=0.0, high=1.0)


class ReciprocitySim(TrustSim):
    """TR-4: reciprocity and graduated sanctions on top of TR-2 (see the module docstring)."""

    Params = ReciprocityParams
    payoff_terms = PAYOFF_TERMS
    reward_terms = (*PAYOFF_TERMS, "trust_level", "reciprocity_signal", "reciprocity")
    reward_presets = coop_presets(
        PAYOFF_TERMS,
        trust=True,
        reciprocal=RewardSpec({**dict.fromkeys(PAYOFF_TERMS, 1.0), "reciprocity": 1.0}, name="reciprocal"),
    )

    def _setup_game(self) -> None:
        super()._setup_game()
        p = self.params
        b, n = self.num_envs, p.num_agents
        self.history = np.zeros((p.window, b, n))  # slot-major: one contiguous plane per slot
        self._history_sum = np.zeros((b, n))
        self._history_count = np.zeros(b, dtype=np.int64)
        self.phi = np.zeros((b, n))
        self.sanction_level = np.zeros((b, n))
        self._setup_reciprocity_constants()
        names, low, high = self.extra_obs
        k = n - 1
        self.extra_obs = (
            (*names, *[f"reciprocity_{j}" for j in range(k)], "sanction_level"),
            np.concatenate([low, -np.ones(k), [0.0]]),
            np.concatenate([high, np.ones(k), [1.0]]),
        )

    def _reset_game(self, rows):
        super()._reset_game(rows)
        self.history[:, rows] = 0.0
        self._history_sum[rows] = 0.0
        self._history_count[rows] = 0
        self.phi, self.sanction_level = self.phi.copy(), self.sanction_level.copy()
        self.phi[rows] = 0.0
        self.sanction_level[rows] = 0.0

    def _setup_reciprocity_constants(self) -> None:
        p = self.params
        d = self._d_tiles  # (P, B, n, n)
        self._recip_tiles = reciprocity_weights(np.ones_like(d), d, p.rho0, p.eta, p.omega_r)
        self._norm_full = p.sanction_norm * self._bounds_full
        self._rows = np.arange(self.num_envs)

    def _play(self, a):
        p = self.params
        n = self.num_agents
        # reciprocity signals against each agent's own recent mean (before this round enters it)
        count = self._history_count
        has_history = self._spread((count > 0).astype(float), n)
        mean = self._history_sum / self._spread(np.maximum(count, 1).astype(float), n)
        kappa = p.kappa if p.kappa_r is None else p.kappa_r
        phi = np.tanh(kappa * (a - mean) / self._signal_scale * has_history)
        trust_before = self.trust
        phase = self.phase if self._phased else None
        terms, pi, info, terminated = super()._play(a)
        if self._d_step.ndim == 3:
            constants = reciprocity_weights(np.ones_like(self._d_step), self._d_step, p.rho0, p.eta, p.omega_r)
        else:
            constants = self._recip_tiles[0 if phase is None else phase[0]]
        signal = p.lambda_r * batched_matvec(trust_before * constants, phi)
        terms["reciprocity_signal"] = signal
        terms["reciprocity"] = signal * phi
        self.phi = phi
        # graduated sanctions
        if p.sanction_norm > 0:
            violate = a < self._norm_full
            level = np.where(violate, np.minimum(self.sanction_level + 1.0, p.sanction_max_level),
                             np.maximum(self.sanction_level - p.sanction_forgive, 0.0))
            fine = np.where(violate, level * p.sanction_fine, 0.0)
            self.sanction_level = level
            pi = pi - fine
            terms["sanction"] = -fine
        else:
            terms["sanction"] = np.zeros_like(a)
        # push this round into the ring buffer of the last `window` actions
        slot = self.t % p.window
        full = self._spread((count >= p.window).astype(float), n)
        first = slot[0]
        if np.all(slot == first):  # instances in step: one plane of the ring buffer
            oldest = self.history[first]
            self._history_sum = self._history_sum + a - full * oldest
            self.history[first] = a
        else:
            self._history_sum = self._history_sum + a - full * self.history[slot, self._rows]
            self.history[slot, self._rows] = a
        self._history_count = np.minimum(count + 1, p.window)
        info["kindness"] = phi  # phi_j, each agent's deviation signal against its own recent mean
        return terms, pi, info, terminated

    def _fill_extra(self, obs, sel, m):
        super()._fill_extra(obs, sel, m)
        n = self.num_agents
        col = self._extra_col + 3 + 2 * (n - 1) + 1
        self._put(obs, col, np.take(self.phi[sel], self._others, axis=1))
        obs[:, :, col + n - 1] = self.sanction_level[sel] * (1.0 / self.params.sanction_max_level)

    def _game_metrics(self, rows):
        metrics = dict(super()._game_metrics(rows))
        metrics["final_mean_sanction_level"] = self.sanction_level[rows].mean(axis=1)
        return metrics

    def stage_game(self, phase: int = 0, gamma: float | None = None) -> StageGame:
        """The one-shot game with no reciprocity signal (each agent at its own recent mean) and
        sanction level 0 before the round (a violation costs one fine)."""
        game = super().stage_game(phase, gamma)
        p = self.params
        inner = game.terms
        norm = p.sanction_norm * self.bounds

        def terms(a):
            out = inner(a)
            zero = np.zeros(np.shape(a))
            out["reciprocity_signal"] = zero
            out["reciprocity"] = zero
            out["sanction"] = np.where(a < norm, -p.sanction_fine, 0.0) if p.sanction_norm > 0 else zero
            return out

        game.terms = terms
        return game


class RandomMatchingReciprocitySim(ReciprocitySim):
    """TR-4 with random pairs each round (IndirectReciprocity): the seed matters."""

    seed_independent = False
