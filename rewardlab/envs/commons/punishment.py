"""CommonsPunishment-v0: an iterated Prisoner's Dilemma population with punishment and reputation.

After Dasgupta & Musolesi's direct-punishment study: agents pick partners by public reputation,
play repeated Prisoner's Dilemma rounds, and partners (direct punishment, DP) and/or a random
bystander (third-party punishment, TPP) may punish what they saw.

**Structure.** An episode is ``games_per_episode`` games of ``rounds_per_game`` rounds. At the
first round of a game every agent i (the *focal* agent of its game) picks a partner p_i: by its
action when ``partner_selection`` is on, uniformly at random otherwise; p_i stays fixed for the
game. An agent may be the partner of several focal agents. Each round, every agent makes one
move (C or D) that it plays in every game it takes part in that round; each game pays both of
its players the PD payoff. When an institution is on, each round is two steps: a *play* step
(moves; partner choice at a game's first round) and a *punish* step in which every agent sees
the round's moves and decides, per other agent, whether to punish. A punishment only lands where
it is allowed: under DP the two players of a game may punish each other; under TPP the random
bystander b_i drawn for focal game i (not i, not p_i) may punish either player of that game.

==================  ==========================================================================
Agents              ``agent_0`` ... ``agent_{n-1}`` (n = ``num_agents``, default 5)
Action space        per agent ``MultiDiscrete([2, n-1] + [2] * (n-1))``:
                    [0] move: 0 = cooperate, 1 = defect (play steps);
                    [1] partner: relative index k picks agent (i + 1 + k) mod n (read at a game's
                    first play step when ``partner_selection``);
                    [2 + k] punish the k-th other agent, (i + 1 + k) mod n (punish steps, only
                    where allowed)
Observation         per agent ``Box(-inf, inf, (4n + 3,), float32)``, agents self first then
                    i+1, i+2, ...: phase one-hot (play, punish), game-start flag, episode
                    progress, reputations / 10 (n), latest moves (+1 C, -1 D, 0 none; n),
                    current partner one-hot (n-1), may-punish mask (n-1, punish steps), number
                    of focal agents that chose me / (n-1)
Parameters          ``num_agents`` 5, ``rounds_per_game`` 10, ``games_per_episode`` 10,
                    ``institution`` none | direct | third_party | both (default both),
                    ``partner_selection`` True, ``public_reputation`` True,
                    ``payoffs`` (R, S, T, P) = (3, 0, 4, 1), ``fine`` 3 (lost by the punished),
                    ``punish_just_payoff`` +2 (punisher, punishing a defector),
                    ``punish_unjust_payoff`` -10 (punisher, punishing a cooperator); the
                    authors' costly variant sets ``punish_just_payoff=-3`` (a just punishment
                    costs the punisher 3; the unjust one stays -10), reputation changes ``rep_cooperate`` +1,
                    ``rep_defect`` -1, ``rep_just`` +2, ``rep_unjust`` -3
Reward terms        ``pd_payoff`` (sum over the games played this round), ``fine`` (-fine x
                    punishments received), ``punish_payoff`` (punisher's +2 / -10 per act),
                    ``reputation`` (change of own reputation, weight 0 in the presets). Signed
                    as they enter the payoff.
Presets             ``private``, ``cooperative``, ``inequity_averse`` (alpha 5, beta 0.05)
Episode metrics     ``cooperation_pct`` (100 x C moves / moves), ``punishment_pct`` (100 x
                    punishments / allowed punishment opportunities), ``just_punishment_pct``
                    (100 x punishments of defectors / punishments; 0 when nobody punished),
                    ``mean_reputation`` (final, over agents), ``reward`` (mean per-agent return),
                    ``top_partner_pct`` (100 x partner choices that picked a highest-reputation
                    other agent)
==================  ==========================================================================

Reputation is public: it changes by +1 for each cooperative move, -1 for each defection, +2 for
each just and -3 for each unjust punishment the agent deals. The paper's 10-round episode is one
*game* here, so that reputation accumulates over the games of an episode.
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

INSTITUTIONS = ("none", "direct", "third_party", "both")
COOPERATE, DEFECT = 0, 1


@dataclass(frozen=True)
class PunishmentParams:
    num_agents: int = 5
    rounds_per_game: int = 10
    games_per_episode: int = 10
    institution: str = "both"
    partner_selection: bool = True
    public_reputation: bool = True
    payoffs: tuple[float, float, float, float] = (3.0, 0.0, 4.0, 1.0)
    fine: float = 3.0
    punish_just_payoff: float = 2.0
    punish_unjust_payoff: float = -10.0
    rep_cooperate: float = 1.0
    rep_defect: float = -1.0
    rep_just: float = 2.0
    rep_unjust: float = -3.0

    def __post_init__(self) -> None:
        # num_agents >= 3: third-party punishment needs a bystander
        # rounds x games is the horizon: each at most 1000 keeps it within check.MAX_STEPS
        check.integers(
            self, num_agents=(3, check.MAX_AGENTS), rounds_per_game=(1, 1000), games_per_episode=(1, 1000)
        )
        check.choice(self, "institution", INSTITUTIONS)
        check.flags(self, "partner_selection", "public_reputation")
        check.numbers(self, ("fine",), low=0.0)
        check.numbers(
            self,
            ("punish_just_payoff", "punish_unjust_payoff", "rep_cooperate", "rep_defect", "rep_just", "rep_unjust"),
        )
        check.sequence(self, "payoffs", length=4)  # (R, S, T, P)

    @property
    def direct(self) -> bool:
        return self.institution in ("direct", "both")

    @property
    def third_party(self) -> bool:
        return self.institution in ("third_party", "both")

    @property
    def steps_per_round(self) -> int:
        return 1 if self.institution == "none" else 2

    @property
    def horizon(self) -> int:
        return self.games_per_episode * self.rounds_per_game * self.steps_per_round


class PunishmentSim(BatchedSim):
    """The punishment/reputation IPD population (see the module docstring)."""

    Params = PunishmentParams
    reward_terms = ("pd_payoff", "fine", "punish_payoff", "reputation")
    reward_presets = standard_presets({"pd_payoff": 1.0, "fine": 1.0, "punish_payoff": 1.0, "reputation": 0.0})
    default_reward = "private"

    def _setup(self) -> None:
        p = self.params
        n, b = p.num_agents, self.num_envs
        self.agents = tuple(f"agent_{i}" for i in range(n))
        self.action_spaces = tuple(spaces.MultiDiscrete([2, n - 1] + [2] * (n - 1)) for _ in range(n))
        self.observation_spaces = tuple(
            spaces.Box(-np.inf, np.inf, shape=(4 * n + 3,), dtype=np.float32) for _ in range(n)
        )
        self._others = others_index(n)
        r, s, t, q = p.payoffs
        # PAYOFF[my move, other move]
        self._payoff = np.array([[r, s], [t, q]])
        self.t = np.zeros(b, dtype=np.int64)
        self.partner = np.zeros((b, n), dtype=np.int64)
        self.bystander = np.zeros((b, n), dtype=np.int64)
        self.moves = np.full((b, n), -1, dtype=np.int64)  # -1: no move yet
        self.allowed = np.zeros((b, n, n), dtype=bool)  # allowed[b, punisher, target]
        self.reputation = np.zeros((b, n))
        self.count_moves = np.zeros(b)
        self.count_cooperate = np.zeros(b)
        self.count_opportunities = np.zeros(b)
        self.count_punish = np.zeros(b)
        self.count_just = np.zeros(b)
        self.count_choices = np.zeros(b)
        self.count_top_choices = np.zeros(b)

    # --------------------------------------------------------------- phase bookkeeping
    def _phase(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(is_punish_step, is_game_start) for step counters ``t``."""
        p = self.params
        punish = (t % p.steps_per_round) == 1
        game_start = (t % (p.rounds_per_game * p.steps_per_round)) == 0
        return punish, game_start

    def _reset(self, rows: np.ndarray) -> None:
        self.t[rows] = 0
        self.partner[rows] = (np.arange(self.params.num_agents) + 1) % self.params.num_agents
        self.bystander[rows] = 0
        self.moves[rows] = -1
        self.allowed[rows] = False
        self.reputation[rows] = 0.0
        for counter in (
            self.count_moves,
            self.count_cooperate,
            self.count_opportunities,
            self.count_punish,
            self.count_just,
            self.count_choices,
            self.count_top_choices,
        ):
            counter[rows] = 0.0

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        p = self.params
        n = p.num_agents
        rows = np.arange(self.num_envs) if rows is None else rows
        b = len(rows)
        punish, game_start = self._phase(self.t[rows])
        obs = np.zeros((b, n, 4 * n + 3), dtype=np.float32)
        obs[:, :, 0] = (~punish)[:, None]
        obs[:, :, 1] = punish[:, None]
        obs[:, :, 2] = (game_start & ~punish)[:, None]
        obs[:, :, 3] = (self.t[rows] / p.horizon)[:, None]
        if p.public_reputation:
            obs[:, :, 4 : 4 + n] = rolled(self.reputation[rows] / 10.0)
        moves = self.moves[rows]
        signed = np.where(moves < 0, 0.0, np.where(moves == COOPERATE, 1.0, -1.0))
        obs[:, :, 4 + n : 4 + 2 * n] = rolled(signed)
        # partner one-hot in relative coordinates: relative index of p_i is (p_i - i - 1) mod n
        relative_partner = (self.partner[rows] - np.arange(n)[None, :] - 1) % n
        col = 4 + 2 * n
        obs[:, :, col : col + n - 1] = relative_partner[:, :, None] == np.arange(n - 1)[None, None, :]
        col += n - 1
        # may-punish mask, in relative coordinates, only while a punish step is due
        allowed_rel = np.take_along_axis(
            self.allowed[rows], np.broadcast_to(self._others[None], (b, n, n - 1)), axis=2
        )
        obs[:, :, col : col + n - 1] = allowed_rel & punish[:, None, None]
        chosen_by = (self.partner[rows][:, :, None] == np.arange(n)[None, None, :]).sum(axis=1)
        obs[:, :, col + n - 1] = chosen_by / (n - 1)
        return obs

    # --------------------------------------------------------------- dynamics
    def _step(self, actions: np.ndarray) -> StepOutcome:
        p = self.params
        n, b = p.num_agents, self.num_envs
        punish_step, game_start = self._phase(self.t)
        play_step = ~punish_step

        # ---- partner choice at the first play step of a game
        choose = play_step & game_start
        if choose.any():
            self._choose_partners(actions, np.flatnonzero(choose))

        pd = np.zeros((b, n))
        fine = np.zeros((b, n))
        punish_payoff = np.zeros((b, n))
        reputation_change = np.zeros((b, n))

        # ---- play steps: moves, payoffs, the round's punishment rights
        if play_step.any():
            self._play_round(actions, np.flatnonzero(play_step), pd, reputation_change)

        # ---- punish steps: punishments where allowed, judged by the target's move this round
        if punish_step.any():
            self._punish_round(actions, np.flatnonzero(punish_step), fine, punish_payoff, reputation_change)

        self.reputation += reputation_change
        self.t += 1
        return StepOutcome(
            terms={"pd_payoff": pd, "fine": fine, "punish_payoff": punish_payoff, "reputation": reputation_change},
            terminated=np.zeros(b, dtype=bool),
            truncated=self.t >= p.horizon,
            info={
                "reputation": self.reputation.copy(),
                "partner": self.partner.copy(),
                "bystander": self.bystander.copy(),
                "moves": self.moves.copy(),
                "punish_step": punish_step.copy(),
            },
        )

    def _choose_partners(self, actions: np.ndarray, rows: np.ndarray) -> None:
        """First play step of a game in ``rows``: each agent picks a partner (its choice, or at random)."""
        p = self.params
        n = p.num_agents
        agents = np.arange(n)[None, :]
        if p.partner_selection:
            choice = self._others[agents, actions[rows, :, 1]]
        else:
            draw = self.rng.integers(n - 1, (n,), rows)
            choice = self._others[agents, draw]
        # bookkeeping: did the choice go to a top-reputation other agent?
        rep = self.reputation[rows]
        rep_others = rep[:, self._others]  # (r, n, n-1)
        best = rep_others.max(axis=2)
        picked = np.take_along_axis(rep, choice, axis=1)
        self.count_choices[rows] += n
        self.count_top_choices[rows] += (picked >= best).sum(axis=1)
        self.partner[rows] = choice

    def _play_round(self, actions: np.ndarray, rows: np.ndarray, pd: np.ndarray, reputation_change: np.ndarray) -> None:
        """Play steps in ``rows``: the moves, the PD payoffs and who may punish whom after the round.

        Writes the payoffs into ``pd`` and the move's reputation change into ``reputation_change``.
        """
        p = self.params
        n = p.num_agents
        agents = np.arange(n)[None, :]
        moves = actions[rows, :, 0]
        partner = self.partner[rows]
        partner_move = np.take_along_axis(moves, partner, axis=1)
        focal_pay = self._payoff[moves, partner_move]
        # the partner side of focal game i pays p_i: scatter by a one-hot of partners
        chosen = partner[:, :, None] == np.arange(n)[None, None, :]  # chosen[r, i, j]: p_i == j
        partner_pay = (chosen * self._payoff[partner_move, moves][:, :, None]).sum(axis=1)
        pd[rows] = focal_pay + partner_pay
        reputation_change[rows] = np.where(moves == COOPERATE, p.rep_cooperate, p.rep_defect)
        self.moves[rows] = moves
        self.count_moves[rows] += n
        self.count_cooperate[rows] += (moves == COOPERATE).sum(axis=1)
        allowed = np.zeros((len(rows), n, n), dtype=bool)
        if p.direct:
            allowed |= chosen  # focal i may punish p_i
            allowed |= chosen.transpose(0, 2, 1)  # p_i may punish i
        if p.third_party:
            # bystander of focal game i: uniform over the n-2 agents other than i and p_i
            k = self.rng.integers(n - 2, (n,), rows)
            eligible = ~(np.eye(n, dtype=bool)[None] | chosen)  # eligible[r, i, j]
            rank = np.cumsum(eligible, axis=2) - 1
            bystander = np.argmax(eligible & (rank == k[:, :, None]), axis=2)
            self.bystander[rows] = bystander
            r_idx = np.arange(len(rows))[:, None]
            allowed[r_idx, bystander, agents] = True
            allowed[r_idx, bystander, partner] = True
        self.allowed[rows] = allowed

    def _punish_round(
        self,
        actions: np.ndarray,
        rows: np.ndarray,
        fine: np.ndarray,
        punish_payoff: np.ndarray,
        reputation_change: np.ndarray,
    ) -> None:
        """Punish steps in ``rows``: punishments where allowed, judged by the target's move this round.

        Writes into ``fine``, ``punish_payoff`` and ``reputation_change``.
        """
        p = self.params
        n = p.num_agents
        agents = np.arange(n)[None, :]
        wants = np.zeros((len(rows), n, n), dtype=bool)
        r_idx = np.arange(len(rows))[:, None, None]
        wants[r_idx, agents[:, :, None], self._others[None]] = actions[rows, :, 2:] == 1
        allowed = self.allowed[rows]
        acts = wants & allowed
        target_defected = (self.moves[rows] == DEFECT)[:, None, :]
        just = acts & target_defected
        unjust = acts & ~target_defected
        fine[rows] = -p.fine * acts.sum(axis=1)
        just_count = just.sum(axis=2)
        unjust_count = unjust.sum(axis=2)
        punish_payoff[rows] = p.punish_just_payoff * just_count + p.punish_unjust_payoff * unjust_count
        reputation_change[rows] = p.rep_just * just_count + p.rep_unjust * unjust_count
        self.count_opportunities[rows] += allowed.sum(axis=(1, 2))
        self.count_punish[rows] += acts.sum(axis=(1, 2))
        self.count_just[rows] += just.sum(axis=(1, 2))
        self.allowed[rows] = False

    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        def pct(num: np.ndarray, den: np.ndarray) -> np.ndarray:
            return np.where(den > 0, 100.0 * num / np.maximum(den, 1.0), 0.0)

        return {
            "cooperation_pct": pct(self.count_cooperate[rows], self.count_moves[rows]),
            "punishment_pct": pct(self.count_punish[rows], self.count_opportunities[rows]),
            "just_punishment_pct": pct(self.count_just[rows], self.count_punish[rows]),
            "mean_reputation": self.reputation[rows].mean(axis=1),
            "reward": self.episode_return[rows].mean(axis=1),
            "top_partner_pct": pct(self.count_top_choices[rows], self.count_choices[rows]),
        }

    def render_frame(self, index: int = 0) -> np.ndarray:
        """One bar per agent, in ``self.agents`` order from the left: its reputation.

        Reputations are rescaled from the possible range to [0, 1] (full height); the black line
        marks reputation 0, so bars above it are positive reputations.
        """
        p = self.params
        span = p.horizon * max(abs(p.rep_unjust) * (p.num_agents - 1), 1.0) / 4.0
        values = 0.5 + self.reputation[index] / (2.0 * span)
        frame = bar_frame(values, PALETTE, level=0.5)
        # a strip on top: green for cooperators, red for defectors in the latest round
        moves = self.moves[index]
        for i, move in enumerate(moves):
            left = 4 + i * 16
            color = (0, 160, 0) if move == COOPERATE else (200, 0, 0) if move == DEFECT else (160, 160, 160)
            frame[0:6, left : left + 12] = color
        return frame
