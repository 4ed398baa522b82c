"""The machinery every coopetition game shares: parameters, spaces, observations, metrics.

A game subclasses :class:`CoopSim` and implements ``_setup_game`` (allocate its state and say
which extra observation columns it has), ``_reset_game(rows)``, ``_play(a)`` (one round: the
named reward terms, the private payoff pi (B, n) and the game's info) and ``stage_game`` (the
one-shot game the oracles solve). The base class owns everything else.

Observation of agent i (float32, every column in [0, 1] unless the game says otherwise)::

    [ own last action / e_i,
      the other agents' last actions / e_j (n - 1 columns, zeros if observe_others=False),
      t / horizon,
      (sequential games only) this round's earlier moves / e_j (n - 1) and moved flags (n - 1),
      game-specific columns (trust row, reputation row, loyalty, phase, ...) ]

Episode metrics (every game): ``cooperation_level`` (mean action / bound over the episode and
the active agents), ``welfare`` (sum over steps and agents of pi_i), ``welfare_pct_optimum``
(welfare as % of the social optimum's welfare over the same steps, from the oracle),
``value_added_pct_optimum`` (the welfare above what the agents get when nobody invests, as % of
the optimum's: 100 (W - W_0) / (W* - W_0), the sharper measure where endowments kept dominate W),
``private_return`` (= welfare) and ``integrated_return`` (sum over steps and agents of
U_i = pi_i + sum_j D_ij pi_j), whatever reward the agents were trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError
from rewardlab.core.reward import RewardSpec
from rewardlab.core.sim import BatchedSim, StepOutcome
from rewardlab.envs.coopetition.equilibrium import social_optimum
from rewardlab.envs.coopetition.payoff import agent_sum, batched_matvec
from rewardlab.envs.coopetition.stage_game import StageGame

#: The largest action bound e_i and payoff scale a parameter may take: far above any game's
#: units (endowments of about 100), and low enough that products of bounds and scales stay
#: finite in float64 and the bounds exact enough in the float32 action spaces.
MAX_SCALE = 1e9
#: The smallest action bound: with bounds in [MIN_BOUND, MAX_SCALE] every observation column
#: scaled by 1 / e_i (a synergy share of up to gamma * e_max) stays finite in float32.
MIN_BOUND = 1e-6
#: The most agents a game may have. The oracles behind the episode metrics (the social optimum,
#: and the Nash trust baseline) solve by best response over every agent, at a cost that grows
#: with the square of n: at 100 agents an episode's end still takes seconds, at the core's
#: ceiling of 1000 it would take many minutes. The largest reference game has 40 agents.
MAX_AGENTS = 100
#: The range of an interdependence weight D_ij (TR-1 defines D_ij in [0, 1]; negative weights,
#: spite, are admitted).
D_RANGE = (-1.0, 1.0)


def integer_tuple(params: object, name: str, low: int, high: int) -> tuple[int, ...]:
    """The field as a tuple of integers in [low, high] (a RewardlabError naming it otherwise)."""
    value = getattr(params, name)
    items = tuple(value) if isinstance(value, (tuple, list, np.ndarray)) else None
    if items is None or not all(
        isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) and low <= x <= high for x in items
    ):
        raise RewardlabError(
            f"{name} must be a sequence of integers >= {low} and <= {high}, got {check_given(value)}"
        )
    return tuple(int(x) for x in items)


def matrix(name: str, value: Any, n: int, low: float, high: float) -> tuple[tuple[float, ...], ...]:
    """An n x n matrix of finite numbers in [low, high] with a zero diagonal, as nested tuples."""
    what = f"{name} must be a {n}x{n} matrix of finite numbers >= {low} and <= {high} with a zero diagonal"
    try:
        array = np.asarray(value, dtype=float)  # a string or ragged rows raise here
    except (TypeError, ValueError):
        raise RewardlabError(f"{what}, got {check_given(value)}") from None
    if array.shape != (n, n):
        raise RewardlabError(f"{what}, got shape {array.shape}: {check_given(value)}")
    if not np.all(np.isfinite(array)) or np.any(array < low) or np.any(array > high) or np.any(np.diag(array) != 0.0):
        raise RewardlabError(f"{what}, got {array.tolist()}")
    return tuple(tuple(float(x) for x in row) for row in array)


def is_sequence(value: Any) -> bool:
    """A tuple, list or array (not a string, not a number)."""
    return isinstance(value, (tuple, list, np.ndarray))


def is_empty(value: Any) -> bool:
    """An empty tuple, list or array: an optional sequence parameter left unset."""
    return is_sequence(value) and len(value) == 0


def check_given(value: Any) -> str:
    """What the user passed, with its type (as the core validator shows it)."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


@dataclass(frozen=True)
class CoopParams:
    """Parameters every coopetition game has.

    Attributes:
        num_agents: n, the number of agents (fixed; games with phases mask inactive agents).
        horizon: steps per episode (truncation).
        bounds: action upper bound e_i per agent (its endowment); one value applies to all.
        agent_names: PettingZoo agent names; empty means ``agent_0 ... agent_{n-1}``.
        observe_others: whether agents see the others' last actions (else those columns are 0).
        interdependence: D (n x n, zero diagonal); empty means no interdependence.
        interdependence_phases: one D per phase (overrides ``interdependence``).
        phase_starts: the step at which each phase starts (first is 0), for phased games.
        movers_in_turn: the game is sequential: in AEC play later movers see earlier moves.
    """

    num_agents: int = 2
    horizon: int = 100
    bounds: tuple[float, ...] = (100.0,)
    agent_names: tuple[str, ...] = ()
    observe_others: bool = True
    interdependence: tuple[tuple[float, ...], ...] = ()
    interdependence_phases: tuple[tuple[tuple[float, ...], ...], ...] = ()
    phase_starts: tuple[int, ...] = (0,)
    movers_in_turn: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check.integers(self, num_agents=(2, MAX_AGENTS), horizon=(1, check.MAX_STEPS))
        check.flags(self, "observe_others", "movers_in_turn")
        n = self.num_agents
        given = self.bounds
        if isinstance(given, Real) and not isinstance(given, (bool, np.bool_)):
            given = (given,)  # one number: the bound of every agent
        if not (is_sequence(given) and len(given) in (1, n) and all(
            isinstance(x, Real) and not isinstance(x, (bool, np.bool_)) and MIN_BOUND <= x <= MAX_SCALE for x in given
        )):  # NaN and inf fail the comparisons
            raise RewardlabError(
                f"bounds must be one number or {n} numbers (one per agent), each finite, >= {MIN_BOUND} and "
                f"<= {MAX_SCALE}, got {check_given(self.bounds)}"
            )
        bounds = tuple(float(x) for x in given) * (n if len(given) == 1 else 1)
        set_(self, "bounds", bounds)
        names = self.agent_names
        if isinstance(names, (str, bytes)) or not isinstance(names, (tuple, list)):
            raise RewardlabError(f"agent_names must be a sequence of {n} distinct names, got {check_given(names)}")
        if len(names) and (len(names) != n or len({str(x) for x in names}) != n):
            raise RewardlabError(f"agent_names must be a sequence of {n} distinct names, got {check_given(names)}")
        set_(self, "agent_names", tuple(str(x) for x in names) or tuple(f"agent_{i}" for i in range(n)))
        if not is_empty(self.interdependence):
            set_(self, "interdependence", matrix("interdependence", self.interdependence, n, *D_RANGE))
        starts = integer_tuple(self, "phase_starts", 0, self.horizon - 1)
        if not starts or starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise RewardlabError(
                f"phase_starts must be increasing steps from 0 to below the horizon {self.horizon}, "
                f"got {check_given(self.phase_starts)}"
            )
        set_(self, "phase_starts", starts)
        phases = self.interdependence_phases
        if not is_empty(phases):
            if not is_sequence(phases) or len(phases) != len(starts):
                raise RewardlabError(
                    f"interdependence_phases must be one {n}x{n} matrix for each of the {len(starts)} phases "
                    f"(phase_starts), got {check_given(phases)}"
                )
            set_(self, "interdependence_phases",
                 tuple(matrix(f"interdependence_phases[{k}]", m, n, *D_RANGE) for k, m in enumerate(phases)))

    @property
    def num_phases(self) -> int:
        return len(self.phase_starts)

    def interdependence_table(self) -> np.ndarray:
        """D per phase, (num_phases, n, n)."""
        n = self.num_agents
        if len(self.interdependence_phases):
            return np.asarray(self.interdependence_phases, dtype=float)
        d = np.asarray(self.interdependence, dtype=float) if len(self.interdependence) else np.zeros((n, n))
        return np.repeat(d[None], self.num_phases, axis=0)


def coop_presets(payoff_terms: tuple[str, ...], trust: bool = False, **extra: RewardSpec) -> dict[str, RewardSpec]:
    """The family's presets: the private payoff pi_i as the sum of ``payoff_terms``, mixed by the
    private, integrated and cooperative social modes (and trust_integrated where trust exists)."""
    weights = dict.fromkeys(payoff_terms, 1.0)
    presets = {
        "private": RewardSpec(weights, social="private", name="private"),
        "integrated": RewardSpec(weights, social="integrated", name="integrated"),
        "cooperative": RewardSpec(weights, social="cooperative", name="cooperative"),
    }
    if trust:
        presets["trust_integrated"] = RewardSpec(weights, social="trust_integrated", name="trust_integrated")
    presets.update(extra)
    return presets


_OPTIMUM_CACHE: dict[Any, np.ndarray] = {}


class CoopSim(BatchedSim):
    """Base class of the coopetition games (see the module docstring)."""

    Params = CoopParams
    payoff_terms: ClassVar[tuple[str, ...]] = ()
    default_reward = "private"
    render_fps = 4
    #: the games are deterministic given the actions unless they draw something (a hidden
    #: parameter, a random matching); those subclasses set this to False.
    seed_independent: ClassVar[bool] = True
    #: extra observation columns of the game: (names, low, high), set by ``_setup_game``.
    extra_obs: tuple[tuple[str, ...], np.ndarray, np.ndarray]

    # ----------------------------------------------------------------- set-up
    def _setup(self) -> None:
        p = self.params
        n, b = p.num_agents, self.num_envs
        self.agents = tuple(p.agent_names)
        self.num_agents = n  # BatchedSim sets it after _setup; the stage games need it earlier
        self.bounds = np.asarray(p.bounds, dtype=float)
        self.sequential = bool(p.movers_in_turn)
        self.action_spaces = tuple(
            spaces.Box(0.0, np.float32(e), shape=(1,), dtype=np.float32) for e in p.bounds
        )
        self._others = np.array([[j for j in range(n) if j != i] for i in range(n)], dtype=np.int64)
        self._flat_others = np.arange(n)[:, None] * n + self._others  # (i, j) -> i * n + j
        self._off_diagonal = 1.0 - np.eye(n)
        self._ones = np.ones(n)
        # Constants pre-tiled to (B, n): NumPy is slow at broadcasting an (n,) vector over a
        # (B, n) array when n is small (one inner loop per instance), fast on equal shapes.
        self._inv_bounds = 1.0 / self.bounds
        self._inv_bounds_full = np.tile(self._inv_bounds, (b, 1))
        self._bounds_full = np.tile(self.bounds, (b, 1))
        self._d_table = p.interdependence_table()
        self._static_d = p.num_phases == 1 or bool(np.all(self._d_table == self._d_table[0]))
        self._d_step: np.ndarray = self._d_table[0]
        self._phase_of_t = np.searchsorted(np.asarray(p.phase_starts), np.arange(p.horizon + 1), side="right") - 1
        self.t = np.zeros(b, dtype=np.int64)
        self._truncated = np.zeros(b, dtype=bool)  # the instances that reached the horizon
        self.last = np.zeros((b, n))
        self.active = np.ones((b, n), dtype=bool)
        self._coop_sum = np.zeros(b)
        self._welfare = np.zeros(b)
        self._integrated = np.zeros(b)
        self.extra_obs = ((), np.zeros(0), np.zeros(0))
        self._setup_game()
        names, low, high = self.extra_obs
        seq = 2 * (n - 1) if self.sequential else 0
        self._seq_col = n + 1
        self._extra_col = n + 1 + seq
        dim = self._extra_col + len(names)
        lo = np.zeros(dim, dtype=np.float32)
        hi = np.ones(dim, dtype=np.float32)
        lo[self._extra_col :] = low
        hi[self._extra_col :] = high
        self.obs_dim = dim
        self.observation_spaces = tuple(spaces.Box(lo, hi, dtype=np.float32) for _ in range(n))
        self._mean_weight = np.full(n, 1.0 / n)

    def _setup_game(self) -> None:
        raise NotImplementedError

    def _reset_game(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _play(
        self, a: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
        """One round with actions a (B, n): (terms, pi, info, terminated or None)."""
        raise NotImplementedError

    def stage_game(self, phase: int = 0) -> StageGame:
        """The one-shot game at the start of an episode in ``phase`` (what the oracles solve)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- hooks of BatchedSim
    def _reset(self, rows: np.ndarray) -> None:
        # State arrays handed out in a step's info (or aliasing its actions) are copied before
        # rows are reset, so that an autoreset does not rewrite the ended episode's last info.
        self.t[rows] = 0
        self._truncated = self._truncated.copy()
        self._truncated[rows] = False
        self.last = self.last.copy()
        self.last[rows] = 0.0
        self._coop_sum[rows] = 0.0
        self._welfare[rows] = 0.0
        self._integrated[rows] = 0.0
        self._reset_game(rows)

    @property
    def phase(self) -> np.ndarray:
        """(B,) the phase each instance is in now (the phase of its next step)."""
        return self._phase_of_t[np.minimum(self.t, self.params.horizon)]

    def _interdependence_for(self, phase: np.ndarray) -> np.ndarray:
        if self._static_d:
            return self._d_table[0]
        first = phase[0]
        if np.all(phase == first):
            return self._d_table[first]
        return self._d_table[phase]

    @property
    def interdependence(self) -> np.ndarray:
        """D used at the step just taken (before any step: the D of the first step)."""
        return self._d_step

    def _step(self, actions: np.ndarray) -> StepOutcome:
        if np.count_nonzero(self._truncated):
            self._refuse_step_past_horizon()
        a = actions[:, :, 0]
        terms, pi, info, terminated = self._play(a)
        # Sums over agents go through agent_sum, never a matrix product: BLAS rounds a row's
        # sum differently with the number of rows, and a batch must equal single environments.
        integrated = pi + batched_matvec(self._d_step, pi)
        frac = a * self._inv_bounds_full
        if self._masked:
            act = self.active
            self._coop_sum += agent_sum(frac * act) / np.maximum(agent_sum(act), 1)
        else:
            self._coop_sum += agent_sum(frac * self._mean_weight)
        self._welfare += agent_sum(pi)
        self._integrated += agent_sum(integrated)
        self.last = a
        self.t += 1
        truncated = self.t >= self.params.horizon
        self._truncated = truncated
        if terminated is None:
            terminated = np.zeros(self.num_envs, dtype=bool)
        return StepOutcome(terms=terms, terminated=terminated, truncated=truncated, info=info)

    def _refuse_step_past_horizon(self) -> None:
        """A game's tables are indexed by the step t < horizon: an instance that reached its
        horizon cannot step on until it is reset (nothing has changed when this raises)."""
        rows = np.flatnonzero(self._truncated)
        shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        raise RewardlabError(
            f"{self.env_id}: step() past the end of the episode (horizon {self.params.horizon}) for "
            f"instance(s) {shown} of {self.num_envs}; reset them first (reset(mask=...)) or step with "
            f"autoreset=True"
        )

    _masked: bool = False

    def _full(self, tiled: np.ndarray, m: int) -> np.ndarray:
        """A pre-tiled (B, ...) constant for m rows: itself when m == B, else its first m rows."""
        return tiled if m == self.num_envs else tiled[:m]

    @staticmethod
    def _spread(values: np.ndarray, n: int) -> np.ndarray:
        """(m,) -> (m, n), each value repeated for every agent (faster than broadcasting)."""
        return np.repeat(values, n).reshape(values.shape[0], n)

    @staticmethod
    def _put(obs: np.ndarray, col: int, values: np.ndarray) -> None:
        """Write (m, n, k) values into obs columns col..col+k (the k == 1 case stays contiguous)."""
        if values.shape[2] == 1:
            obs[:, :, col] = values[:, :, 0]
        else:
            obs[:, :, col : col + values.shape[2]] = values

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        sel = slice(None) if rows is None else rows
        n = self.num_agents
        t = self.t[sel]
        m = t.shape[0]
        last = self.last[sel] * self._full(self._inv_bounds_full, m)
        obs = np.empty((m, n, self.obs_dim), dtype=np.float32)
        obs[:, :, 0] = last
        if self.params.observe_others:
            self._put(obs, 1, np.take(last, self._others, axis=1))
        else:
            obs[:, :, 1:n] = 0.0
        obs[:, :, n] = self._spread(t * (1.0 / self.params.horizon), n)
        if self.sequential:
            obs[:, :, self._seq_col : self._extra_col] = 0.0
        if self.obs_dim > self._extra_col:
            self._fill_extra(obs, sel, m)
        return obs

    def _fill_extra(self, obs: np.ndarray, sel: np.ndarray | slice, m: int) -> None:
        """Write the game's extra columns (from ``self._extra_col``) for instances ``sel``."""
        raise NotImplementedError

    def aec_observation(self, obs: np.ndarray, agent: int, actions: np.ndarray, acted: np.ndarray) -> np.ndarray:
        if not self.sequential:
            return obs
        n = self.num_agents
        others = self._others[agent]
        obs = obs.copy()
        moved = acted[others]
        col = self._seq_col
        obs[col : col + n - 1] = np.where(moved, actions[others, 0] * self._inv_bounds[others], 0.0)
        obs[col + n - 1 : col + 2 * (n - 1)] = moved
        return obs

    # ----------------------------------------------------------------- metrics
    def optimum_welfare_per_phase(self) -> np.ndarray:
        """The social optimum's welfare sum_i pi_i of one step in each phase (from the oracle)."""
        key = (type(self).__qualname__, self.params)
        if key not in _OPTIMUM_CACHE:
            _OPTIMUM_CACHE[key] = np.array(
                [social_optimum(self.stage_game(k)).welfare for k in range(self.params.num_phases)]
            )
        return _OPTIMUM_CACHE[key]

    def idle_welfare_per_phase(self) -> np.ndarray:
        """The welfare sum_i pi_i of one step in each phase when nobody invests (all actions 0)."""
        key = ("idle", type(self).__qualname__, self.params)
        if key not in _OPTIMUM_CACHE:
            welfare = []
            for k in range(self.params.num_phases):
                game = self.stage_game(k)
                active = np.ones(game.num_agents, bool) if game.active is None else game.active
                welfare.append(float(game.payoff(np.zeros((1, game.num_agents)))[0][active].sum()))
            _OPTIMUM_CACHE[key] = np.array(welfare)
        return _OPTIMUM_CACHE[key]

    def _over_steps(self, per_phase: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Sum of a per-step, per-phase quantity over the first ``lengths`` steps of an episode."""
        cumulative = np.concatenate([[0.0], np.cumsum(per_phase[self._phase_of_t[:-1]])])
        return cumulative[lengths]

    def _optimum_welfare(self, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self._over_steps(self.optimum_welfare_per_phase(), lengths)

    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        lengths = np.maximum(self.t[rows], 1)
        optimum = self._optimum_welfare(rows, self.t[rows])
        welfare = self._welfare[rows]
        idle = self._over_steps(self.idle_welfare_per_phase(), self.t[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(np.abs(optimum) > 0, 100.0 * welfare / np.abs(optimum), np.nan)
            gain = optimum - idle
            value_pct = np.where(np.abs(gain) > 1e-12, 100.0 * (welfare - idle) / gain, np.nan)
        metrics = {
            "cooperation_level": self._coop_sum[rows] / lengths,
            "welfare": welfare.copy(),
            "welfare_pct_optimum": pct,
            "value_added_pct_optimum": value_pct,
            "private_return": welfare.copy(),
            "integrated_return": self._integrated[rows].copy(),
        }
        metrics.update(self._game_metrics(rows))
        return metrics

    def _game_metrics(self, rows: np.ndarray) -> Mapping[str, np.ndarray]:
        return {}

    # ----------------------------------------------------------------- rendering
    def render_frame(self, index: int = 0) -> np.ndarray:
        """One bar per agent, in ``self.agents`` order from the left: its last action / its bound.

        Blue bars are active agents, grey ones inactive (not in this phase or round); a full bar
        is the bound, the white line under the bars is zero. The yellow strip at the
        bottom is the episode's progress t / horizon. Games with trust add a heat map at the top
        right: row i, column j is agent i's trust in agent j (green 1, red 0).
        """
        n = self.num_agents
        width = max(96, 8 * n)
        frame = np.full((96, width, 3), 24, dtype=np.uint8)
        bar = max(1, width // n)
        frac = np.clip(self.last[index] * self._inv_bounds, 0.0, 1.0)
        for i in range(n):
            height = int(round(60 * frac[i]))
            color = (70, 160, 230) if self.active[index, i] else (110, 110, 110)
            frame[70 - height : 70, i * bar + 1 : (i + 1) * bar - 1] = color
        progress = int(round((width - 1) * self.t[index] / self.params.horizon))
        frame[90:94, : progress + 1] = (230, 200, 60)
        frame[72:74, :] = (200, 200, 200)
        trust = getattr(self, "trust", None)
        if trust is not None and n <= 12:
            cell = max(1, min(14 // n, 14))
            for i in range(n):
                for j in range(n):
                    level = int(255 * trust[index, i, j])
                    rows = slice(2 + i * cell, 2 + (i + 1) * cell)
                    cols = slice(width - 2 - (n - j) * cell, width - 2 - (n - j - 1) * cell)
                    frame[rows, cols] = (
                        255 - level,
                        level,
                        60,
                    )
        return frame
