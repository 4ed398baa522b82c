"""CommonsHarvest-v0: a gridworld commons harvest in the style of Melting Pot's commons_harvest.

Apples grow in patches. An eaten apple's cell regrows each step with probability
``regrowth_probs[min(k, 3)]``, where k counts the live apples within Euclidean distance 2 of the
cell (12 neighbours); with no live neighbour the cell never regrows, so a patch eaten bare is
lost for good. Agents move and turn on the grid and can fire a zapping beam that removes every
agent it hits for ``zap_timeout`` steps (the removed agent then respawns at a free spawn point).

The whole step is array operations over instances and agents (no Python loop over either):
movement conflicts are resolved with a fresh random priority per step (drawn from the
instance's own stream, so single and batched runs agree): a move succeeds when its target cell
is not a wall, not occupied at the start of the step, and no higher-priority agent moves there.

==================  ==========================================================================
Agents              ``player_0`` ... ``player_{n-1}`` (n = ``num_agents``, default 7)
Action space        per player ``Discrete(8)``: 0 noop, 1 forward, 2 backward, 3 step left,
                    4 step right, 5 turn left, 6 turn right, 7 zap
Observation         per player ``Box(0, 1, (3, view_ahead + view_behind + 1, 2 view_side + 1),
                    float32)``, default (3, 11, 11), channel-first: layers walls (and all
                    outside the map), apples, other players, over an egocentric window (9
                    ahead, 1 behind, 5 to each side; the player sits at row ``view_ahead``,
                    centre column, facing up); all zeros while the player is removed
Parameters          ``num_agents`` 7, ``map_name`` open | closed, ``ascii_map`` None (W wall,
                    A apple cell, P spawn point, space floor), ``regrowth_probs`` None (open:
                    (0, .0025, .005, .025), closed: (0, .001, .005, .025)), ``zap_timeout``
                    None (open 4, closed 100), ``beam_length`` 3, ``horizon`` 1000,
                    ``end_probability`` 0 (Melting Pot's random end: 0.15, checked every
                    ``end_check_every`` 100 steps once ``horizon`` is reached, up to
                    ``max_horizon`` 5000; with 0 the episode ends at ``horizon``),
                    ``view_ahead`` 9, ``view_behind`` 1, ``view_side`` 5
Reward terms        ``apples`` (1 when an apple is eaten), ``zap_fired`` (1 when firing),
                    ``zapped`` (1 when hit). Indicators; the presets weigh them.
Presets             ``private`` (apples 1, Melting Pot: zapping is free), ``ssd`` (the older
                    sequential-social-dilemma Harvest: apples 1, zap_fired -1, zapped -50),
                    ``cooperative`` (mean apples), ``inequity_averse`` (Fehr-Schmidt alpha 5,
                    beta 0.05, as Hughes et al. 2018)
Episode metrics     Perolat et al. (2017), over the apples eaten R_i and the episode length T:
                    ``efficiency`` sum_i R_i / T; ``equality`` 1 - sum_ij |R_i - R_j| /
                    (2 N sum_i R_i); ``sustainability`` mean over players of the mean step at
                    which each ate (0 for a player that ate nothing); ``peace`` (N T - removed
                    player-steps) / T; ``gini`` (= 1 - equality); ``apples_left`` at the end
==================  ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces
from numpy.lib.stride_tricks import sliding_window_view

from rewardlab.core import params as check
from rewardlab.core.reward import RewardSpec
from rewardlab.core.sim import BatchedSim, StepOutcome
from rewardlab.envs.commons._common import INEQUITY_PARAMS, PALETTE, gini

OPEN_MAP = """
WWWWWWWWWWWWWWWWWWWWWWWW
WPPPPPPPPPPPPPPPPPPPPPPW
W                      W
W   A       A      A   W
W  AAA     AAA    AAA  W
W AAAAA   AAAAA  AAAAA W
W  AAA     AAA    AAA  W
W   A       A      A   W
W                      W
W      A        A      W
W     AAA      AAA     W
W    AAAAA    AAAAA    W
W     AAA      AAA     W
W      A        A      W
W                      W
WWWWWWWWWWWWWWWWWWWWWWWW
"""

#: Patches walled into rooms with one-cell doors: a player who guards a door can keep a patch.
CLOSED_MAP = """
WWWWWWWWWWWWWWWWWWWWWWWW
WPPPPPPPPPPPPPPPPPPPPPPW
W                      W
W WWWWWWW      WWWWWWW W
W W  A  W      W  A  W W
W W AAA W      W AAA W W
W WAAAAAW      WAAAAAW W
W W AAA W      W AAA W W
W W  A  W      W  A  W W
W WWW WWW      WWW WWW W
W                      W
W       WWWWWWWW       W
W       W  AA  W       W
W       W AAAA W       W
W       W  AA  W       W
W       WWWW WWW       W
WPPPPPPPPPPPPPPPPPPPPPPW
WWWWWWWWWWWWWWWWWWWWWWWW
"""

MAPS = {"open": OPEN_MAP, "closed": CLOSED_MAP}
DEFAULT_REGROWTH = {"open": (0.0, 0.0025, 0.005, 0.025), "closed": (0.0, 0.001, 0.005, 0.025)}
DEFAULT_ZAP_TIMEOUT = {"open": 4, "closed": 100}

# orientation 0 north, 1 east, 2 south, 3 west: forward and right unit vectors as (row, col)
FORWARD = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])
RIGHT = np.array([[0, 1], [1, 0], [0, -1], [-1, 0]])
NOOP, FORWARD_MOVE, BACKWARD, STEP_LEFT, STEP_RIGHT, TURN_LEFT, TURN_RIGHT, ZAP = range(8)
#: cells within Euclidean distance 2 of a cell, itself excluded
NEIGHBOUR_OFFSETS = np.array(
    [(dr, dc) for dr in range(-2, 3) for dc in range(-2, 3) if 0 < dr * dr + dc * dc <= 4]
)


def parse_map(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(walls (H, W) bool, apple cells (H, W) bool, spawn points (S, 2)) from an ASCII map."""
    rows = text.strip("\n").split("\n")
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError("ascii_map must be a rectangle of equal-length rows")
    grid = np.array([list(r) for r in rows])
    unknown = set(np.unique(grid)) - set("WAP ")
    if unknown:
        raise ValueError(f"ascii_map may hold only 'W', 'A', 'P' and ' ', found {sorted(unknown)}")
    return grid == "W", grid == "A", np.argwhere(grid == "P")


@dataclass(frozen=True)
class HarvestParams:
    num_agents: int = 7
    map_name: str = "open"
    ascii_map: str | None = None
    regrowth_probs: tuple[float, float, float, float] | None = None
    zap_timeout: int | None = None
    beam_length: int = 3
    horizon: int = 1000
    end_probability: float = 0.0
    end_check_every: int = 100
    max_horizon: int = 5000
    view_ahead: int = 9
    view_behind: int = 1
    view_side: int = 5

    def __post_init__(self) -> None:
        check.choice(self, "map_name", tuple(MAPS))
        check.instance(self, "ascii_map", str, optional=True)
        if self.regrowth_probs is None:
            object.__setattr__(self, "regrowth_probs", DEFAULT_REGROWTH[self.map_name])
        check.sequence(self, "regrowth_probs", length=4, low=0.0, high=1.0)
        if self.zap_timeout is None:
            object.__setattr__(self, "zap_timeout", DEFAULT_ZAP_TIMEOUT[self.map_name])
        check.integers(
            self, num_agents=(1, check.MAX_AGENTS), zap_timeout=(1, check.MAX_STEPS), beam_length=(1, 100),
            horizon=(1, check.MAX_STEPS), end_check_every=(1, check.MAX_STEPS), max_horizon=(1, check.MAX_STEPS),
            view_ahead=(0, 100), view_behind=(0, 100), view_side=(0, 100),
        )
        check.numbers(self, ("end_probability",), low=0.0, high=1.0)
        if self.max_horizon < self.horizon:
            raise ValueError(f"max_horizon must be >= horizon ({self.horizon}), got {self.max_horizon!r}")
        _, _, spawns = parse_map(self.map_text)
        if len(spawns) < self.num_agents:
            raise ValueError(f"num_agents={self.num_agents} exceeds the map's {len(spawns)} spawn points")

    @property
    def map_text(self) -> str:
        return self.ascii_map if self.ascii_map is not None else MAPS[self.map_name]


class HarvestSim(BatchedSim):
    """The commons harvest gridworld (see the module docstring)."""

    Params = HarvestParams
    reward_terms = ("apples", "zap_fired", "zapped")
    reward_presets = {
        "private": RewardSpec(weights={"apples": 1.0, "zap_fired": 0.0, "zapped": 0.0}),
        "ssd": RewardSpec(weights={"apples": 1.0, "zap_fired": -1.0, "zapped": -50.0}),
        "cooperative": RewardSpec(weights={"apples": 1.0, "zap_fired": 0.0, "zapped": 0.0}, social="cooperative"),
        "inequity_averse": RewardSpec(
            weights={"apples": 1.0, "zap_fired": 0.0, "zapped": 0.0},
            social="inequity_averse",
            social_params=INEQUITY_PARAMS,
        ),
    }
    default_reward = "private"
    render_fps = 15

    def _setup(self) -> None:
        p = self.params
        n, b = p.num_agents, self.num_envs
        walls, apple_cells, spawns = parse_map(p.map_text)
        self.height, self.width = walls.shape
        self.walls = walls
        self.apple_rc = np.argwhere(apple_cells)  # (A, 2)
        self.spawns = spawns
        hw = self.height * self.width
        self.wall_flat = walls.ravel()
        self.apple_flat = self.apple_rc[:, 0] * self.width + self.apple_rc[:, 1]
        num_apples = len(self.apple_rc)
        self.cell_to_apple = np.full(hw, num_apples, dtype=np.int64)  # num_apples: "no apple cell"
        self.cell_to_apple[self.apple_flat] = np.arange(num_apples)
        # neighbour table among apple cells only (apples live nowhere else); A is a dead sentinel
        nb_r = self.apple_rc[:, None, 0] + NEIGHBOUR_OFFSETS[None, :, 0]
        nb_c = self.apple_rc[:, None, 1] + NEIGHBOUR_OFFSETS[None, :, 1]
        inside = (nb_r >= 0) & (nb_r < self.height) & (nb_c >= 0) & (nb_c < self.width)
        flat = np.where(inside, nb_r * self.width + nb_c, 0)
        self.apple_neighbours = np.where(inside, self.cell_to_apple[flat], num_apples)
        self.regrowth = np.asarray(p.regrowth_probs)

        # observation window: the rectangle's top-left corner relative to the player, per orientation
        self.pad = max(p.view_ahead, p.view_behind, p.view_side, p.beam_length) + 1
        self.padded_width = self.width + 2 * self.pad
        ahead, side, behind = p.view_ahead, p.view_side, p.view_behind
        self.view_corner = np.array(
            [[-ahead, -side], [-side, -behind], [-behind, -side], [-side, -ahead]]  # N, E, S, W
        )
        self.view_shape = (ahead + behind + 1, 2 * side + 1)
        self.self_cell = ahead * (2 * side + 1) + side  # where the player sits in its flattened view
        padded = np.ones((self.height + 2 * self.pad, self.padded_width), dtype=np.uint8)
        padded[self.pad : self.pad + self.height, self.pad : self.pad + self.width] = walls
        self.padded_walls = padded.ravel()
        self.padded_apple = (self.apple_rc[:, 0] + self.pad) * self.padded_width + self.apple_rc[:, 1] + self.pad
        self.beam_steps = np.arange(1, p.beam_length + 1)

        self.agents = tuple(f"player_{i}" for i in range(n))
        self.action_spaces = tuple(spaces.Discrete(8) for _ in range(n))
        obs_shape = (3, *self.view_shape)
        self.observation_spaces = tuple(spaces.Box(0.0, 1.0, shape=obs_shape, dtype=np.float32) for _ in range(n))

        self.t = np.zeros(b, dtype=np.int64)
        self.apples = np.zeros((b, num_apples), dtype=bool)
        self.pos = np.zeros((b, n, 2), dtype=np.int64)
        self.ori = np.zeros((b, n), dtype=np.int64)
        self.removed = np.zeros((b, n), dtype=np.int64)  # steps left out of play; 0 = on the map
        self.eaten = np.zeros((b, n))
        self.eat_time_sum = np.zeros((b, n))
        self.removed_steps = np.zeros(b)

    # ------------------------------------------------------------------ reset / observe
    def _reset(self, rows: np.ndarray) -> None:
        n = self.params.num_agents
        self.t[rows] = 0
        self.apples[rows] = True
        spawn = self.rng.permutation(len(self.spawns), rows)[:, :n]
        self.pos[rows] = self.spawns[spawn]
        self.ori[rows] = self.rng.integers(4, (n,), rows)
        self.removed[rows] = 0
        self.eaten[rows] = 0.0
        self.eat_time_sum[rows] = 0.0
        self.removed_steps[rows] = 0.0

    def _padded_codes(self, rows) -> np.ndarray:
        """(b, padded rows, padded cols) uint8: 0 floor, 1 wall, 2 apple, 3 player."""
        apples = self.apples[rows]
        codes = np.repeat(self.padded_walls[None], apples.shape[0], axis=0)
        codes[:, self.padded_apple] = np.where(apples, 2, 0)
        flat = self._padded_flat(self.pos[rows])
        present = self.removed[rows] == 0
        r_idx = np.broadcast_to(np.arange(apples.shape[0])[:, None], flat.shape)
        codes[r_idx[present], flat[present]] = 3
        return codes.reshape(apples.shape[0], -1, self.padded_width)

    def _padded_flat(self, pos: np.ndarray) -> np.ndarray:
        return (pos[..., 0] + self.pad) * self.padded_width + pos[..., 1] + self.pad

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        rows = np.arange(self.num_envs) if rows is None else rows
        b, n = len(rows), self.params.num_agents
        codes = self._padded_codes(rows)
        # every view is a rectangle of the padded map, rotated so that "ahead" is up: cut the
        # rectangles out of sliding-window views (no index arithmetic per cell), then rotate
        # each orientation's group at once (four groups, not a loop over players)
        height, width = self.view_shape
        upright = sliding_window_view(codes, (height, width), axis=(1, 2))
        sideways = sliding_window_view(codes, (width, height), axis=(1, 2))
        ori = self.ori[rows]
        corner = self.pos[rows] + self.pad + self.view_corner[ori]
        owner = np.broadcast_to(np.arange(b)[:, None], (b, n))
        window = np.empty((b, n, height, width), dtype=np.uint8)
        for k in range(4):
            group = ori == k
            source = upright if k % 2 == 0 else sideways
            cut = source[owner[group], corner[..., 0][group], corner[..., 1][group]]
            window[group] = np.rot90(cut, k, axes=(1, 2))
        window = window.reshape(b, n, -1)
        window[:, :, self.self_cell] = 0  # the player itself is not an "other player"
        window[self.removed[rows] > 0] = 0  # out of play: nothing to see
        # channel-first one-hot layers: each layer is one contiguous comparison
        obs = np.empty((b, n, 3, window.shape[2]), dtype=np.float32)
        for layer in range(3):
            obs[:, :, layer] = window == layer + 1
        return obs.reshape(b, n, 3, height, width)

    # ------------------------------------------------------------------ dynamics
    def _step(self, actions: np.ndarray) -> StepOutcome:
        p = self.params
        b, n = self.num_envs, p.num_agents
        present = self.removed == 0
        act = np.where(present, actions, NOOP)
        priority = self.rng.uniform((n,))
        respawn_draw = self.rng.uniform((n,))
        regrow_draw = self.rng.uniform((self.apples.shape[1],))

        current_flat = self._turn_and_move(act, present, priority)
        fired, zapped = self._zap(act, present)
        present = present & ~zapped
        ate = self._eat(current_flat, present)
        self._regrow(current_flat, present, regrow_draw)
        self._respawn(zapped, current_flat, respawn_draw)

        self.t += 1
        truncated = self._truncation()
        self.eaten += ate
        self.eat_time_sum += ate * self.t[:, None]
        return StepOutcome(
            terms={
                "apples": ate.astype(np.float64),
                "zap_fired": fired.astype(np.float64),
                "zapped": zapped.astype(np.float64),
            },
            terminated=np.zeros(b, dtype=bool),
            truncated=truncated,
            info={"apples_left": self.apples.sum(axis=1), "removed": self.removed > 0},
        )

    def _turn_and_move(self, act: np.ndarray, present: np.ndarray, priority: np.ndarray) -> np.ndarray:
        """Turn, then move where the target cell is free; returns each player's flat cell after moving."""
        turn = (act == TURN_RIGHT).astype(np.int64) - (act == TURN_LEFT)
        self.ori = (self.ori + turn) % 4

        # moving: forward/backward along the heading, sideways along its right
        fwd, right = FORWARD[self.ori], RIGHT[self.ori]  # (b, n, 2)
        delta = (
            fwd * ((act == FORWARD_MOVE) - (act == BACKWARD).astype(np.int64))[..., None]
            + right * ((act == STEP_RIGHT) - (act == STEP_LEFT).astype(np.int64))[..., None]
        )
        moving = delta.any(axis=2)
        target = self.pos + delta
        target_flat = target[..., 0] * self.width + target[..., 1]
        current_flat = self.pos[..., 0] * self.width + self.pos[..., 1]
        # cells held by players in play at the start of the step (removed players hold none)
        held = np.where(present, current_flat, -1)
        occupied = (target_flat[:, :, None] == held[:, None, :]).any(axis=2)
        ok = moving & ~self.wall_flat[target_flat] & ~occupied
        # among players moving to the same cell, the lowest priority draw wins
        same = (target_flat[:, :, None] == target_flat[:, None, :]) & ok[:, None, :] & ok[:, :, None]
        beaten = (same & (priority[:, None, :] < priority[:, :, None])).any(axis=2)
        ok &= ~beaten
        self.pos = np.where(ok[..., None], target, self.pos)
        current_flat = np.where(ok, target_flat, current_flat)
        return current_flat

    def _zap(self, act: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The beam runs beam_length cells ahead, stopped by walls, and hits every player on it.

        Returns (fired, zapped); zapped players are out of play for ``zap_timeout`` steps.
        """
        p = self.params
        fired = act == ZAP
        beam = self.pos[:, :, None, :] + FORWARD[self.ori][:, :, None, :] * self.beam_steps[None, None, :, None]
        beam_flat = self._padded_flat(beam)  # (b, n, L) in padded coordinates (never out of range)
        clear = np.cumsum(self.padded_walls[beam_flat], axis=2) == 0
        on_map_flat = np.where(present, self._padded_flat(self.pos), -1)  # (b, n)
        hits = (beam_flat[:, :, :, None] == on_map_flat[:, None, None, :]) & clear[..., None] & fired[:, :, None, None]
        zapped = hits.any(axis=(1, 2)) & present
        self.removed = np.where(zapped, p.zap_timeout, self.removed)
        return fired, zapped

    def _eat(self, current_flat: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Players in play on an apple eat it; returns who ate (b, n)."""
        b = self.num_envs
        rows = np.arange(b)[:, None]
        apple_index = self.cell_to_apple[current_flat]  # A (sentinel) where not an apple cell
        padded_state = np.concatenate([self.apples, np.zeros((b, 1), dtype=bool)], axis=1)
        ate = padded_state[rows, apple_index] & present
        padded_state[rows, np.where(ate, apple_index, self.apples.shape[1])] = False
        self.apples = padded_state[:, :-1]
        return ate

    def _regrow(self, current_flat: np.ndarray, present: np.ndarray, regrow_draw: np.ndarray) -> None:
        """Apples regrow with a probability set by their neighbours, not under players in play."""
        b = self.num_envs
        rows = np.arange(b)[:, None]
        padded_state = np.concatenate([self.apples, np.zeros((b, 1), dtype=bool)], axis=1)
        neighbours = padded_state[:, self.apple_neighbours].sum(axis=2)
        prob = self.regrowth[np.minimum(neighbours, 3)]
        under = np.zeros((b, self.apples.shape[1] + 1), dtype=bool)
        under[rows, np.where(present, self.cell_to_apple[current_flat], self.apples.shape[1])] = True
        self.apples |= (regrow_draw < prob) & ~under[:, :-1]

    def _respawn(self, zapped: np.ndarray, current_flat: np.ndarray, respawn_draw: np.ndarray) -> None:
        """Removed players count down, then respawn at a random free spawn point."""
        waiting = (self.removed > 0) & ~zapped
        self.removed = np.where(waiting, self.removed - 1, self.removed)
        due = waiting & (self.removed == 0)
        if due.any():
            spawn = np.minimum((respawn_draw * len(self.spawns)).astype(np.int64), len(self.spawns) - 1)
            spawn_flat = self.spawns[spawn, 0] * self.width + self.spawns[spawn, 1]
            in_play = np.where((self.removed == 0) & ~due, current_flat, -1)
            taken = (spawn_flat[:, :, None] == in_play[:, None, :]).any(axis=2)
            clash = (spawn_flat[:, :, None] == spawn_flat[:, None, :]) & due[:, None, :] & due[:, :, None]
            first = ~np.tril(clash, k=-1).any(axis=2)  # lowest index wins a contested spawn point
            placed = due & ~taken & first
            self.pos = np.where(placed[..., None], self.spawns[spawn], self.pos)
            self.ori = np.where(placed, 0, self.ori)
            self.removed = np.where(due & ~placed, 1, self.removed)  # try again next step
        self.removed_steps += (self.removed > 0).sum(axis=1)  # out of play at the end of this step

    def _truncation(self) -> np.ndarray:
        """The episode's end: the horizon, or (Melting Pot style) a random end past it."""
        p = self.params
        b = self.num_envs
        if p.end_probability > 0:
            # Melting Pot style: past the horizon, the episode ends at random at each check
            check = (self.t >= p.horizon) & ((self.t - p.horizon) % p.end_check_every == 0)
            ends = np.zeros(b, dtype=bool)
            if check.any():
                rows_due = np.flatnonzero(check)
                ends[rows_due] = self.rng.bernoulli(p.end_probability, (), rows_due)
            truncated = ends | (self.t >= p.max_horizon)
        else:
            truncated = self.t >= p.horizon
        return truncated

    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        n = self.params.num_agents
        steps = np.maximum(self.t[rows], 1).astype(np.float64)
        eaten = self.eaten[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_time = np.where(eaten > 0, self.eat_time_sum[rows] / np.maximum(eaten, 1), 0.0)
        inequality = gini(eaten)
        return {
            "efficiency": eaten.sum(axis=1) / steps,
            "equality": 1.0 - inequality,
            "sustainability": mean_time.mean(axis=1),
            "peace": (n * steps - self.removed_steps[rows]) / steps,
            "gini": inequality,
            "apples_left": self.apples[rows].sum(axis=1).astype(np.float64),
        }

    # ------------------------------------------------------------------ rendering
    def render_frame(self, index: int = 0, cell: int = 8) -> np.ndarray:
        """The grid seen from above, ``cell`` px per cell.

        Grey cells are walls, green cells apples, dark cells empty ground. Each player is a
        square in its palette colour (agent i: colour i of the commons palette: red, green,
        blue, orange, purple, ...), with a white dot on the side it faces; removed (zapped) players are
        not drawn.
        """
        image = np.full((self.height, self.width, 3), 20, dtype=np.uint8)
        image[self.walls] = (120, 120, 120)
        live = self.apple_rc[self.apples[index]]
        image[live[:, 0], live[:, 1]] = (40, 200, 60)
        frame = np.repeat(np.repeat(image, cell, axis=0), cell, axis=1)
        half = cell // 2
        for i in np.flatnonzero(self.removed[index] == 0):  # rendering only: a loop is fine here
            r, c = self.pos[index, i]
            frame[r * cell + 1 : (r + 1) * cell - 1, c * cell + 1 : (c + 1) * cell - 1] = PALETTE[i % len(PALETTE)]
            fr, fc = FORWARD[self.ori[index, i]]
            y, x = r * cell + half + fr * (half - 2), c * cell + half + fc * (half - 2)
            frame[y - 1 : y + 1, x - 1 : x + 1] = 255
        return frame
