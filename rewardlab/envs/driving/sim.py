"""The batched driving simulator: egos on routes among IDM/MOBIL traffic, at 10 Hz.

========================  ===================================================================
agents                    ``ego`` (``ego_0`` ... ``ego_{E-1}`` in the multi-ego scenario)
action                    Box([-1, 1]^2): steering (x 0.5 rad) and acceleration (x 4 m/s^2)
                          / braking (x 8 m/s^2); ``action="discrete"``: Discrete(5)
                          meta-actions (control.py)
observation ``vector``    Box (91,) float32: ego state (8), route ahead (10 points, 20), the 8
                          nearest objects (7 each, 56), next stop line (4), lanes beside the
                          route (2), hazard distance (1); see observation.py
observation ``bev``       Box (10, 64, 64) uint8 (or float32) bird's-eye view, 1 m/px
observation ``bev+vector``  Box (91 + 10*64*64,) float32: the vector, then the raster (0/1)
                          flattened, CaRL's BEV plus scalar measurements in one Box
reward terms              see rewards.py (``carl`` default, ``roach``, ``highway``)
events                    collision, collision_vehicle, collision_static, red_light, off_road,
                          route_deviation, blocked (any ego); collision_pedestrian in the grid
                          scenarios while pedestrians_per_crossing > 0
pedestrians               grid scenarios: pedestrians_per_crossing (default 1) per crosswalk,
                          one crosswalk across each arm of each intersection; they walk with the
                          parallel green at 1.2-1.5 m/s; traffic stops for them (GridSim)
episode end               truncation at ``max_steps`` or when every ego finished its route;
                          termination on the preset's ``terminate_on`` events
episode metrics           driving_score, route_completion, collisions (collisions_vehicle,
                          collisions_static, collisions_pedestrian), red_lights, off_road,
                          route_deviation, blocked, speeding, ttc_violations,
                          comfort_violations, infractions (means over egos)
========================  ===================================================================

Parameters common to every scenario are in :class:`DrivingParams`; the scenarios add theirs
(:class:`HighwayParams`, :class:`GridParams`). Every random choice (geometry, traffic, signal
timing, respawns) comes from ``self.rng``, one stream per instance, so instance i of a batch
seeded with s replays the single environment seeded with s + i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces

from rewardlab.core import params as check
from rewardlab.core.sim import BatchedSim, StepOutcome
from rewardlab.envs.driving import infractions as inf
from rewardlab.envs.driving import observation as obs_mod
from rewardlab.envs.driving import rewards as rw
from rewardlab.envs.driving.control import meta_action_command
from rewardlab.envs.driving.road import HIDDEN, GridLayout, HighwayLayout, Layout
from rewardlab.envs.driving.traffic import (
    GREEN,
    RED,
    YELLOW,
    IDMParams,
    RoadIndex,
    idm_acceleration,
    lane_leaders,
    light_states,
    row_base,
)
from rewardlab.envs.driving.vehicle import bicycle_step, boxes_overlap, clip, wrap_angle

EGO_LENGTH, EGO_WIDTH = 4.6, 1.9
LF = LR = 1.4
MAX_STEER = 0.5  # rad
MAX_ACCEL, MAX_BRAKE = 4.0, 8.0  # m/s^2
V_MAX = 40.0  # m/s
PEDESTRIAN_SIZE = 0.6  # side of a pedestrian's square box, m
CROSSWALK_SETBACK = 2.0  # crosswalk centre line: this far inside the intersection box's edge, m
CURB_STANDOFF = 1.5  # a waiting pedestrian stands this far beyond the carriageway's edge, m
LONG_AGO = 10**9  # steps since a violation that never happened
NEAREST = 8  # objects in the vector observation and in the collision / TTC checks
HAZARD_SAMPLES, HAZARD_SPACING = 16, 2.5  # route samples ahead used for the hazard distance
MOBIL_GRID = 5  # steps between lane-change decision instants
# 15 sample points of the ego's box (5 along x 3 across) for the off-road fraction
_BOX_LON = np.repeat(np.array([-0.5, -0.25, 0.0, 0.25, 0.5]) * EGO_LENGTH, 3)
_BOX_LAT = np.tile(np.array([-0.5, 0.0, 0.5]) * EGO_WIDTH, 5)
_any = np.logical_or.reduce
_all = np.logical_and.reduce


def _all_rows(a: np.ndarray) -> np.ndarray:
    """Rows of ``a`` for every instance: ``a`` itself (read only by the caller)."""
    return a  # ndarray.any(axis=...) without its Python-level wrapper


_TAKE_BASE: dict[tuple, np.ndarray] = {}


def take_last(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a`` gathered along its last axis by ``idx`` (same leading shape): take_along_axis, lean."""
    m = a.shape[-1]
    lead = idx.shape[:-1]
    base = _TAKE_BASE.get((lead, m))
    if base is None:  # flat offsets of the leading rows: a handful of shapes per simulator
        base = _TAKE_BASE[(lead, m)] = np.arange(math.prod(lead), dtype=np.int64).reshape(lead + (1,)) * m
    return np.ascontiguousarray(a).reshape(-1).take(base + idx)


@dataclass(frozen=True)
class DrivingParams:
    """Parameters shared by the driving scenarios (units: m, s, m/s)."""

    obs: str = "vector"
    action: str = "continuous"
    num_vehicles: int = 28
    min_vehicles: int = 21
    num_egos: int = 1
    max_steps: int = 400
    dt: float = 0.1
    speed_limit_range: tuple[float, float] = (25.0, 33.0)
    route_length: float = 500.0
    reward_speed_range: tuple[float, float] = (20.0, 30.0)
    route_deviation_margin: float = 3.0
    blocked_time: float = 10.0
    off_road_fraction: float = 0.95
    ttc_window: int = 500
    comfort_window: int = 500
    comfort_bounds: str = "carla"
    roach_max_speed: float | None = None
    bev_size: int = 64
    bev_resolution: float = 1.0
    bev_dtype: str = "uint8"
    idm: IDMParams = field(default_factory=IDMParams)

    def __post_init__(self) -> None:
        if self.obs not in ("vector", "bev", "bev+vector"):
            raise ValueError(f"obs must be 'vector', 'bev' or 'bev+vector', got {self.obs!r}")
        if self.action not in ("continuous", "discrete"):
            raise ValueError(f"action must be 'continuous' or 'discrete', got {self.action!r}")
        if self.bev_dtype not in ("uint8", "float32"):
            raise ValueError(f"bev_dtype must be 'uint8' or 'float32', got {self.bev_dtype!r}")
        if not 1 <= self.min_vehicles <= self.num_vehicles:
            raise ValueError(f"need 1 <= min_vehicles <= num_vehicles, got {self.min_vehicles}, {self.num_vehicles}")
        if self.num_egos < 1:
            raise ValueError(f"num_egos must be >= 1, got {self.num_egos}")
        if self.max_steps < 1 or self.dt <= 0:
            raise ValueError(f"max_steps must be >= 1 and dt > 0, got {self.max_steps}, {self.dt}")
        lo, hi = self.speed_limit_range
        if not 0 < lo <= hi <= V_MAX:
            raise ValueError(f"speed_limit_range must satisfy 0 < low <= high <= {V_MAX}, got {self.speed_limit_range}")
        if not 8 <= self.bev_size <= 512 or self.bev_resolution <= 0:
            raise ValueError(f"bev_size must be in [8, 512] and bev_resolution > 0, got {self.bev_size}, {self.bev_resolution}")
        if self.route_length <= 20:
            raise ValueError(f"route_length must be > 20 m, got {self.route_length}")
        check.integers(self, ttc_window=(1, check.MAX_STEPS), comfort_window=(1, check.MAX_STEPS))
        check.choice(self, "comfort_bounds", tuple(inf.COMFORT_BOUNDS))
        # None: the road's speed limit (CaRL's port of Roach); 6.0: Roach's original
        check.numbers(self, ("roach_max_speed",), low=0.0, low_open=True, high=V_MAX, optional=True)


@dataclass(frozen=True)
class HighwayParams(DrivingParams):
    num_lanes: int = 3
    min_radius: float = 300.0
    ramp_probability: float = 0.5
    static_obstacle_probability: float = 0.5
    ramp_spawn_probability: float = 0.15

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 2 <= self.num_lanes <= 5:
            raise ValueError(f"num_lanes must be in [2, 5], got {self.num_lanes}")
        if self.min_radius < 100:
            raise ValueError(f"min_radius must be >= 100 m, got {self.min_radius}")
        if self.num_egos > 4:
            raise ValueError(f"the highway takes at most 4 egos, got {self.num_egos}")


@dataclass(frozen=True)
class GridParams(DrivingParams):
    grid: tuple[int, int] = (1, 1)
    lanes_per_direction: int = 2
    block_range: tuple[float, float] = (90.0, 130.0)
    arm_range: tuple[float, float] = (110.0, 150.0)
    green_range: tuple[float, float] = (8.0, 14.0)
    right_turn_probability: float = 0.5
    start_distance: tuple[float, float] = (30.0, 70.0)
    speed_limit_range: tuple[float, float] = (11.0, 14.0)
    reward_speed_range: tuple[float, float] = (7.0, 11.0)
    route_length: float = 180.0
    pedestrians_per_crossing: int = 1
    pedestrian_speed_range: tuple[float, float] = (1.2, 1.5)
    pedestrian_max_wait: float = 20.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.pedestrians_per_crossing <= 4:
            raise ValueError(f"pedestrians_per_crossing must be in [0, 4], got {self.pedestrians_per_crossing}")
        lo, hi = self.pedestrian_speed_range
        if not 0 < lo <= hi <= 3.0:
            raise ValueError(f"pedestrian_speed_range must satisfy 0 < low <= high <= 3 m/s, got {self.pedestrian_speed_range}")
        if self.pedestrian_max_wait < 0:
            raise ValueError(f"pedestrian_max_wait must be >= 0 s, got {self.pedestrian_max_wait}")
        if len(self.grid) != 2 or min(self.grid) < 1 or max(self.grid) > 3:
            raise ValueError(f"grid must be (nx, ny) with 1 <= n <= 3, got {self.grid}")
        if not 1 <= self.lanes_per_direction <= 3:
            raise ValueError(f"lanes_per_direction must be in [1, 3], got {self.lanes_per_direction}")
        if self.arm_range[0] < 80:
            raise ValueError(f"arm_range must start at >= 80 m, got {self.arm_range}")


class DrivingSim(BatchedSim):
    """Shared driving simulator; subclasses pick the layout and parameters."""

    Params = DrivingParams
    layout_class: type[Layout] = HighwayLayout
    reward_terms = rw.TERMS
    reward_presets = rw.PRESETS
    default_reward = "carl"
    events = inf.EVENTS
    num_static = 0
    num_pedestrians = 0  # GridSim: 4 crosswalks per intersection x pedestrians_per_crossing
    route_points = 700

    # ----------------------------------------------------------------- set-up
    def _setup(self) -> None:
        p = self.params
        b, e, n = self.num_envs, p.num_egos, p.num_vehicles
        self.layout = self.layout_class(b, p)
        e_names = ("ego",) if e == 1 else tuple(f"ego_{i}" for i in range(e))
        self.agents = e_names
        if p.action == "discrete":
            self.action_spaces = tuple(spaces.Discrete(5) for _ in range(e))
        else:
            self.action_spaces = tuple(spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32) for _ in range(e))
        self.meta_lane, self.meta_speed = np.zeros((b, e)), np.zeros((b, e))
        self.observation_spaces = tuple(obs_mod.observation_space(p) for _ in range(e))
        self.num_egos = e
        self.num_objects = n + e + self.num_static + self.num_pedestrians
        self._taus = np.array((0.0, *inf.TTC_HORIZONS))[:, None]  # (T, 1) against (..., T, K)
        self._not_self = np.ones((1, e, self.num_objects), dtype=bool)
        self._not_self[0, np.arange(e), n + np.arange(e)] = False
        self.rows = np.arange(b)
        # constant index arrays of the step, built once
        self._rows_col = self.rows[:, None]
        self._rows_col3 = self.rows[:, None, None]
        self._ego_idx = np.arange(e)[None, :]
        self._route_window = np.arange(-4, 16)
        self._hazard_offsets = np.round(HAZARD_SPACING * np.arange(1, HAZARD_SAMPLES + 1)).astype(np.int64)
        self._lane_exists = None
        self._route_base = (np.arange(b * e, dtype=np.int64) * self.route_points).reshape(b, e, 1)
        self._entries = None  # traffic entry buffers of _step_traffic
        self._object_base = (np.arange(b * e, dtype=np.int64) * self.num_objects).reshape(b, e, 1)
        npd = self.num_pedestrians
        self._kind_int = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(e, dtype=np.int64),
                                         np.full(self.num_static, 2, dtype=np.int64), np.full(npd, 3, dtype=np.int64)])
        self._kind = self._kind_int.astype(float)[None, None, :]
        self._is_static = self._kind == 2
        self._is_moving = self._kind < 2  # vehicles: traffic and egos
        self._is_pedestrian = self._kind == 3
        z = lambda *shape, dtype=float: np.zeros((b, *shape), dtype=dtype)  # noqa: E731
        # egos
        self.ex, self.ey, self.epsi, self.ev = z(e), z(e), z(e), z(e)
        self.steer_prev, self.accel_cmd = z(e), z(e)
        # CaRL's comfort history: longitudinal, lateral acceleration, its magnitude, unwrapped yaw
        # over the last COMFORT_HISTORY steps (newest last), and how many steps it holds
        self.comfort_history = z(e, inf.COMFORT_HISTORY, 4)
        self.comfort_samples = z(e, dtype=np.int64)
        self._comfort_filters = inf.comfort_filters(p.dt)
        self.route_idx = z(e, dtype=np.int64)
        self.progress, self.road_hint = z(e), z(e)
        self.ego_active = z(e, dtype=bool)
        self.stopped_time = z(e)
        # steps since the last TTC violation and since each comfort bound's last violation
        # (the reward's penalty windows read them); "long ago" at reset
        self.steps_since_ttc, self.steps_since_comfort = z(e, dtype=np.int64), z(e, 6, dtype=np.int64)
        self.contact_prev = z(e, self.num_objects, dtype=bool)
        self.speeding_prev, self.ttc_prev, self.comfort_prev = z(e, dtype=bool), z(e, dtype=bool), z(e, dtype=bool)
        self.off_prev, self.dev_prev = z(e, dtype=bool), z(e, dtype=bool)
        self.counts = {k: z(e) for k in (
            "collision_vehicle", "collision_static", "red_light", "off_road", "route_deviation",
            "blocked", "speeding", "ttc", "comfort")}
        if npd:  # only where pedestrians exist: without them the outputs keep their old keys
            self.counts["collision_pedestrian"] = z(e)
        self.outside_dist = z(e)
        # traffic
        self.t_road, self.t_lane = z(n, dtype=np.int64), z(n, dtype=np.int64)
        self.t_s, self.t_v, self.t_lat, self.t_latv = z(n), z(n), z(n), z(n)
        self.t_v0, self.t_len, self.t_wid = z(n), np.full((b, n), 4.5), np.full((b, n), 1.9)
        self.t_active = z(n, dtype=bool)
        self.t_timer = z(n)
        # static obstacles
        s = self.num_static
        self.o_road, self.o_lane, self.o_s = z(s, dtype=np.int64), z(s, dtype=np.int64), z(s)
        self.o_active = z(s, dtype=bool)
        self.o_x, self.o_y, self.o_h = z(s), z(s), z(s)
        # pedestrians (GridSim): position q along their crosswalk (m from the street's centre
        # line, positive to the left of the crosswalk's reference road), walking direction
        # (+1 / -1), speed, waiting time left, and whether they are crossing
        self.p_q, self.p_dir, self.p_speed, self.p_wait = z(npd), np.ones((b, npd)), z(npd), z(npd)
        self.p_crossing = z(npd, dtype=bool)
        self.p_step = z(npd)  # direction x speed x dt: the distance walked in one step
        self.p_x, self.p_y, self.p_psi = z(npd), z(npd), z(npd)
        self.time = z()
        self.steps = z(dtype=np.int64)
        self.routes: dict[str, np.ndarray] = {}
        self.cache: dict[str, np.ndarray] = {}
        self.bev_static = None

    # ----------------------------------------------------------------- reset
    def _reset(self, rows: np.ndarray) -> None:
        p, lay = self.params, self.layout
        lay.generate(rows, self.rng)
        routes = lay.routes(rows, self.rng, self.num_egos, self.route_points)
        if not self.routes:
            self.routes = {k: np.zeros((self.num_envs, *v.shape[1:]), dtype=v.dtype) for k, v in routes.items()}
            self.routes["x"] = np.zeros(self.routes["hdg"].shape)
            self.routes["y"] = np.zeros(self.routes["hdg"].shape)
        for k, v in routes.items():
            self.routes[k][rows] = v
        self.routes["x"][rows] = routes["xy"][..., 0]
        self.routes["y"][rows] = routes["xy"][..., 1]
        r = self.routes
        self.ex[rows] = r["xy"][rows, :, 0, 0]
        self.ey[rows] = r["xy"][rows, :, 0, 1]
        self.epsi[rows] = r["hdg"][rows, :, 0]
        u = self.rng.uniform((self.num_egos,), rows)
        self.ev[rows] = lay.speed_limit[rows, None] * (0.5 + 0.2 * u)
        self.meta_lane[rows] = 0.0
        self.meta_speed[rows] = self.ev[rows]
        for arr in (self.steer_prev, self.accel_cmd, self.comfort_history, self.comfort_samples, self.progress,
                    self.stopped_time, self.outside_dist):
            arr[rows] = 0
        self.steps_since_ttc[rows] = LONG_AGO
        self.steps_since_comfort[rows] = LONG_AGO
        self.route_idx[rows] = 0
        self.road_hint[rows] = r["start_s"][rows]
        self.ego_active[rows] = True
        for arr in (self.contact_prev, self.speeding_prev, self.ttc_prev, self.comfort_prev, self.off_prev, self.dev_prev):
            arr[rows] = False
        for arr in self.counts.values():
            arr[rows] = 0.0
        self.time[rows] = 0.0
        self.steps[rows] = 0
        self._update_frenet(rows)
        self._place_traffic(rows)
        if self.num_pedestrians:
            self._place_pedestrians(rows)
        if p.obs != "vector":
            obs_mod.build_static_raster(self, rows)
        self._perceive_rows(rows)

    def _update_frenet(self, rows: np.ndarray) -> None:
        """Station, offset and road heading (B, E, R) of every ego on every road."""
        every = rows is self.rows  # the per-step call: whole arrays, no row gathers / scatters
        sel = _all_rows if every else (lambda a: a[rows])
        s, d, h = self.layout.project(rows, sel(self.ex), sel(self.ey), sel(self.road_hint))
        if not hasattr(self, "ego_s"):
            shape = (self.num_envs, self.num_egos, self.layout.num_roads)
            self.ego_s, self.ego_d, self.ego_h = np.zeros(shape), np.zeros(shape), np.zeros(shape)
            self.ego_cos_rel, self.ego_half_lat, self.ego_half_lon = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        at = Ellipsis if every else rows
        self.ego_s[at], self.ego_d[at], self.ego_h[at] = s, d, h
        if not self.layout.straight:
            self.road_hint[at] = s[..., 0]
        # the ego's box relative to each road: half extents along and across it, and the cosine of
        # the heading difference (the off-road test now, the traffic's view of the ego next step)
        rel = wrap_angle(sel(self.epsi)[..., None] - h)
        cos_rel = np.cos(rel)
        abs_cos, abs_sin = np.abs(cos_rel), np.abs(np.sin(rel))
        self.ego_cos_rel[at] = cos_rel
        self.ego_half_lat[at] = 0.5 * (EGO_LENGTH * abs_sin + EGO_WIDTH * abs_cos)
        self.ego_half_lon[at] = 0.5 * (EGO_LENGTH * abs_cos + EGO_WIDTH * abs_sin)

    def _place_traffic(self, rows: np.ndarray) -> None:
        """Traffic on a per-lane lattice of random spacing, a random subset of sites occupied."""
        p, lay = self.params, self.layout
        nb, n = len(rows), p.num_vehicles
        slots = lay.lane_slots
        num_lanes = lay.num_roads * slots
        sites = 40
        u = self.rng.uniform((num_lanes + 2 * n + 4 + sites * num_lanes,), rows)
        spacing = 30.0 + 25.0 * u[:, :1]  # (nb, 1)
        lane_ids = np.arange(num_lanes)
        road = lane_ids // slots
        lane = lane_ids % slots
        offset = u[:, :num_lanes] * spacing  # (nb, L)
        k = np.arange(sites)
        site_s = -HIDDEN * 0.5 + offset[:, :, None] + k[None, None, :] * spacing[:, :, None]  # (nb, L, K)
        length = lay.length[rows][:, road]  # (nb, L)
        valid = site_s < length[:, :, None] - 10.0
        exists = lane[None, :] < lay.lanes[road][None, :]
        if lay.has_ramp:
            ramp = lane == slots - 1
            exists = exists | (ramp[None, :] & np.ones((nb, 1), dtype=bool))
            ramp_ok = site_s < lay.merge_start[rows, None, None] - 20.0
            valid &= np.where(ramp[None, :, None], ramp_ok, True)
        valid &= exists[:, :, None]
        # keep clear of the egos' start positions (same lane id within 25 m)
        ego_lane = self.routes["start_road"][rows] * slots + self.routes["start_lane"][rows]  # (nb, E)
        ego_s = self.routes["start_s"][rows]
        for e in range(self.num_egos):
            near = (lane_ids[None, :, None] == ego_lane[:, e, None, None]) & (np.abs(site_s - ego_s[:, e, None, None]) < 25.0)
            valid &= ~near
        priority = np.where(valid, u[:, num_lanes + 2 * n + 4 :].reshape(nb, num_lanes, sites), -1.0)
        flat = priority.reshape(nb, -1)
        chosen = np.argpartition(-flat, n - 1, axis=1)[:, :n]  # the n highest priorities (per row)
        ok = np.take_along_axis(flat, chosen, axis=1) >= 0.0
        chosen_lane = chosen // sites
        self.t_road[rows] = road[chosen_lane]
        self.t_lane[rows] = lane[chosen_lane]
        self.t_s[rows] = np.take_along_axis(site_s.reshape(nb, -1), chosen, axis=1)
        count = p.min_vehicles + np.floor(u[:, num_lanes + n] * (n - p.min_vehicles + 1)).astype(np.int64)
        self.t_active[rows] = ok & (np.arange(n)[None, :] < count[:, None])
        limit = lay.speed_limit[rows, None]
        self.t_v0[rows] = limit * (0.8 + 0.25 * u[:, num_lanes : num_lanes + n])
        self.t_v[rows] = self.t_v0[rows] * 0.9
        self.t_lat[rows] = 0.0
        self.t_latv[rows] = 0.0
        # lane-change decisions at random phases of the decision period
        self.t_timer[rows] = p.idm.lane_change_delay * u[:, num_lanes + n + 4 : num_lanes + 2 * n + 4]
        self.t_len[rows] = 4.2 + 0.8 * u[:, num_lanes + n + 1 : num_lanes + n + 2]
        if self.num_static:
            self._place_static(rows)

    def _place_static(self, rows: np.ndarray) -> None:
        """A broken-down car in a main lane that is not the first ego's route lane."""
        lay, p = self.layout, self.params
        u = self.rng.uniform((self.num_static, 3), rows)
        nl = int(lay.lanes[0])
        ego_lane = np.minimum(self.routes["start_lane"][rows, 0], nl - 1)
        shift = 1 + np.floor(u[..., 0] * (nl - 1)).astype(np.int64)
        self.o_road[rows] = 0
        self.o_lane[rows] = (ego_lane[:, None] + shift) % nl
        self.o_s[rows] = self.routes["start_s"][rows, :1] + 150.0 + 250.0 * u[..., 1]
        self.o_active[rows] = u[..., 2] < p.static_obstacle_probability
        # traffic parked on the obstacle would be stuck inside it: move it behind
        same = (self.t_road[rows][:, :, None] == self.o_road[rows][:, None, :]) & (
            self.t_lane[rows][:, :, None] == self.o_lane[rows][:, None, :]) & self.o_active[rows][:, None, :]
        close = same & (np.abs(self.t_s[rows][:, :, None] - self.o_s[rows][:, None, :]) < 30.0)
        self.t_s[rows] = np.where(close.any(axis=2), self.t_s[rows] - 400.0, self.t_s[rows])
        self._update_static_pose(rows)

    # ----------------------------------------------------------------- world queries
    def traffic_pose(self, rows=None):
        """World pose (x, y, heading) of traffic vehicles of ``rows`` (all by default)."""
        r = self.rows if rows is None else rows
        sel = _all_rows if r is self.rows else (lambda a: a[r])  # every instance: no copy
        rr = r[:, None]
        road, lane, s = sel(self.t_road), sel(self.t_lane), sel(self.t_s)
        d = self.layout.lane_offset(rr, road, lane, s) + sel(self.t_lat)
        x, y, h = self.layout.to_world(rr, road, s, d)
        h = h + np.arctan2(sel(self.t_latv), np.maximum(sel(self.t_v), 1.0))
        return x, y, h

    def static_pose(self, rows=None):
        """World pose of the static obstacles (they never move: computed at reset)."""
        r = self.rows if rows is None else rows
        return self.o_x[r], self.o_y[r], self.o_h[r]

    def _update_static_pose(self, rows: np.ndarray) -> None:
        rr = rows[:, None]
        d = self.layout.lane_offset(rr, self.o_road[rows], self.o_lane[rows], self.o_s[rows])
        self.o_x[rows], self.o_y[rows], self.o_h[rows] = self.layout.to_world(rr, self.o_road[rows], self.o_s[rows], d)

    def objects(self, rows=None) -> dict[str, np.ndarray]:
        """Every object an ego can meet, (B, M): traffic, then egos, then static obstacles."""
        r = self.rows if rows is None else rows
        sel = _all_rows if r is self.rows else (lambda a: a[r])  # every instance: no copy
        lay = self.layout
        tx, ty, th = self.traffic_pose(r)
        s = sel(self.t_s)
        length = lay.length[r[:, None], sel(self.t_road)]
        on_map = (s >= 0.0) & (s <= length)
        if lay.has_ramp:
            on_map &= (sel(self.t_lane) < lay.lanes[sel(self.t_road)]) | (s <= lay.merge_end[r, None] + 5.0)
        # fresh (len(r), M) arrays filled by column blocks: traffic [0, n), egos [n, n + E),
        # static obstacles [n + E, M); the egos' and obstacles' sizes are constants
        n, e, nb = self.params.num_vehicles, self.num_egos, len(r)
        shape = (nb, self.num_objects)
        out = {k: np.empty(shape) for k in ("x", "y", "psi", "v", "length", "width")}
        out["visible"] = np.empty(shape, dtype=bool)
        for k, traffic, ego in (("x", tx, self.ex), ("y", ty, self.ey), ("psi", th, self.epsi), ("v", self.t_v, self.ev),
                                ("visible", None, self.ego_active)):
            if traffic is not None:
                out[k][:, :n] = traffic if k != "v" else sel(traffic)
            out[k][:, n:n + e] = sel(ego)
        out["visible"][:, :n] = sel(self.t_active) & on_map
        out["length"][:, :n], out["width"][:, :n] = sel(self.t_len), sel(self.t_wid)
        out["length"][:, n:n + e], out["width"][:, n:n + e] = EGO_LENGTH, EGO_WIDTH
        if self.num_static:
            ox, oy, oh = self.static_pose(r)
            out["x"][:, n + e:], out["y"][:, n + e:], out["psi"][:, n + e:] = ox, oy, oh
            out["v"][:, n + e:], out["length"][:, n + e:], out["width"][:, n + e:] = 0.0, 4.5, 1.9
            out["visible"][:, n + e:] = sel(self.o_active)
        if self.num_pedestrians:  # the last block: pedestrians, a small square each, always there
            at = n + e + self.num_static
            out["x"][:, at:], out["y"][:, at:], out["psi"][:, at:] = sel(self.p_x), sel(self.p_y), sel(self.p_psi)
            out["v"][:, at:] = sel(self.p_speed) * sel(self.p_crossing)
            out["length"][:, at:] = out["width"][:, at:] = PEDESTRIAN_SIZE
            out["visible"][:, at:] = True
        out["kind"] = self._kind_int.copy()
        return out

    # ----------------------------------------------------------------- perception (obs + checks)
    def _perceive_rows(self, rows: np.ndarray) -> None:
        """Compute and cache what observations and checks need, for instances ``rows``."""
        data = self._perceive(rows)
        if len(rows) == self.num_envs and self.cache:
            self.cache = data  # every instance: take the fresh arrays, no copy
            return
        if not self.cache:
            self.cache = {k: np.zeros((self.num_envs, *v.shape[1:]), dtype=v.dtype) for k, v in data.items()}
        for k, v in data.items():
            self.cache[k][rows] = v

    def _perceive(self, r: np.ndarray) -> dict[str, np.ndarray]:
        sel = _all_rows if r is self.rows else (lambda a: a[r])  # every instance: no copy
        lay, routes = self.layout, self.routes
        e = self.num_egos
        nb = len(r)
        objs = self.objects(r)
        m = objs["x"].shape[1]
        ex, ey, epsi = sel(self.ex), sel(self.ey), sel(self.epsi)
        dx = objs["x"][:, None, :] - ex[:, :, None]
        dy = objs["y"][:, None, :] - ey[:, :, None]
        dist2 = dx * dx + dy * dy
        visible = objs["visible"][:, None, :] & self._not_self
        dist2 = np.where(visible, dist2, np.inf)
        k = min(NEAREST, m)
        near = dist2.argpartition(k - 1, axis=2)[:, :, :k]
        near = take_last(near, take_last(dist2, near).argsort(axis=2))
        near_d2 = take_last(dist2, near)
        near_ok = near_d2 < np.inf
        flat = row_base(nb, m)[:, :, None] + near  # objects are per instance, shared by egos

        def pick(name):
            return objs[name].reshape(-1).take(flat)

        nx_, ny_, nw_ = pick("x"), pick("y"), pick("width")
        near_psi, near_v = pick("psi"), pick("v")
        # route location
        idx = sel(self.route_idx)
        q = self.route_points
        rflat = (r[:, None] * e + np.arange(e)[None, :]) * q
        rx_flat, ry_flat = routes["x"].reshape(-1), routes["y"].reshape(-1)
        rh = routes["hdg"].reshape(-1).take(rflat + idx)
        c, s = np.cos(rh), np.sin(rh)
        ox, oy = ex - rx_flat.take(rflat + idx), ey - ry_flat.take(rflat + idx)
        d_lat = -ox * s + oy * c
        route_station = routes["s"].reshape(-1).take(rflat + idx) + ox * c + oy * s
        head_err = wrap_angle(epsi - rh)
        # route samples ahead every 2.5 m (route points are ~1 m apart)
        offs = self._hazard_offsets
        sidx = np.minimum(idx[..., None] + offs, q - 1) + rflat[..., None]
        samples = np.empty(sidx.shape + (2,))  # (b, e, H, 2)
        sx = samples[..., 0] = rx_flat.take(sidx)
        sy = samples[..., 1] = ry_flat.take(sidx)
        # hazards: nearest objects within half a lane of a route sample
        # laid out (b, e, objects, samples): the first hit per object is a contiguous argmax
        hx = sx[:, :, None, :] - nx_[..., None]
        hy = sy[:, :, None, :] - ny_[..., None]
        radius = 0.5 * sel(lay.width)[:, None, None] + 0.5 * nw_ - 0.3
        hx *= hx
        hy *= hy
        hx += hy
        hit = hx < (radius * radius)[..., None]
        hit &= near_ok[..., None]
        first_hit = hit.argmax(axis=3)  # 0 also when there is no hit: test that sample
        obj_first = np.where(take_last(hit, first_hit[..., None])[..., 0], first_hit + 1, HAZARD_SAMPLES + 8)
        hazard_obj = obj_first.argmin(axis=2)[..., None]
        first = take_last(obj_first, hazard_obj)[..., 0]
        hazard_vehicle = first * HAZARD_SPACING - 0.5 * EGO_LENGTH
        hz_psi = take_last(near_psi, hazard_obj)[..., 0]
        hazard_speed = take_last(near_v, hazard_obj)[..., 0] * np.cos(hz_psi - epsi)
        front = route_station + 0.5 * EGO_LENGTH
        if lay.num_intersections:
            # next stop line on the route and its signal
            lights = light_states(sel(self.time), sel(lay.green), sel(lay.yellow), sel(lay.all_red), sel(lay.light_offset))
            stop_s = routes["stop_s"][r]
            ahead = stop_s >= front[..., None] - 0.5
            next_m = ahead.argmax(axis=2)[..., None]
            has_stop = _any(ahead, 2)
            stop_dist = np.where(has_stop, take_last(stop_s, next_m)[..., 0] - front, np.inf)
            k_light = take_last(routes["stop_light"][r], next_m)[..., 0]
            g_light = take_last(routes["stop_group"][r], next_m)[..., 0]
            state = lights[np.arange(nb)[:, None], k_light, g_light]
            state = np.where(has_stop, state, 0)
            hazard = np.minimum(hazard_vehicle, np.where(has_stop & (state != 0), stop_dist + 0.5 * EGO_LENGTH, np.inf))
        else:
            lights = np.zeros((nb, 1, 2), dtype=np.int64)
            has_stop = np.zeros((nb, e), dtype=bool)
            stop_dist = np.full((nb, e), np.inf)
            state = np.zeros((nb, e), dtype=np.int64)
            hazard = hazard_vehicle
        return {
            "near": near, "near_ok": near_ok,
            "near_x": nx_, "near_y": ny_,
            "near_psi": near_psi, "near_v": near_v, "hazard_speed": hazard_speed,
            "near_len": pick("length"), "near_wid": nw_,
            "d_lat": d_lat, "route_station": route_station, "head_err": head_err,
            # cosines and sines the checks and the observation share (computed once here)
            "ego_cos": np.cos(epsi), "ego_sin": np.sin(epsi),
            "near_cos": np.cos(near_psi), "near_sin": np.sin(near_psi),
            "head_cos": np.cos(head_err), "head_sin": np.sin(head_err),
            "samples": samples,
            "hazard_vehicle": hazard_vehicle, "hazard": hazard,
            "stop_dist": stop_dist, "light_state": state, "has_stop": has_stop,
            "lights": lights,
        }

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        r = self.rows if rows is None else rows
        if self.params.obs == "bev":
            return obs_mod.bev_observation(self, r)
        if self.params.obs == "bev+vector":
            return obs_mod.bev_vector_observation(self, r)
        return obs_mod.vector_observation(self, r)

    # ----------------------------------------------------------------- step
    def _step(self, actions: np.ndarray) -> StepOutcome:
        p, lay = self.params, self.layout
        dt = p.dt
        b, e = self.num_envs, self.num_egos
        active = self.ego_active
        if p.action == "discrete":
            actions = meta_action_command(self, actions)
        steer_cmd, accel_cmd = actions[..., 0], actions[..., 1]
        accel = np.where(accel_cmd >= 0.0, accel_cmd * MAX_ACCEL, accel_cmd * MAX_BRAKE)
        self.accel_cmd = np.array(accel_cmd, dtype=float)
        accel = np.where(active, accel, -MAX_BRAKE)
        # pedestrians walk on the signals of the start of the step; traffic reacts to them and to
        # the egos' poses at the start of the step (simultaneous update)
        if self.num_pedestrians:
            self._step_pedestrians(dt)
        self._step_traffic(dt)
        v_before, psi_before = self.ev.copy(), self.epsi.copy()
        x, y, psi, v, yaw_rate = bicycle_step(self.ex, self.ey, self.epsi, self.ev, accel, steer_cmd * MAX_STEER,
                                              dt, LF, LR, V_MAX)
        # every ego still driving (the usual case): the masked updates below reduce to the new
        # values, so they are skipped (the same numbers, fewer calls)
        all_active = bool(_all(active, None))
        if all_active:
            self.ex, self.ey, self.epsi, self.ev = x, y, psi, v
        else:
            self.ex = np.where(active, x, self.ex)
            self.ey = np.where(active, y, self.ey)
            self.epsi = np.where(active, psi, self.epsi)
            self.ev = np.where(active, v, 0.0)
            yaw_rate = np.where(active, yaw_rate, 0.0)
        self.time += dt
        self.steps += 1
        self._update_frenet(self.rows)
        # route location: local search from the previous index (-4 .. +15 points)
        window = self._route_window
        cand = np.minimum(np.maximum(self.route_idx[..., None] + window, 0), self.route_points - 1)
        flat = self._route_base + cand  # routes["x"], ["y"] are copies of routes["xy"]'s columns
        px, py = self.routes["x"].reshape(-1).take(flat), self.routes["y"].reshape(-1).take(flat)
        d2 = (px - self.ex[..., None]) ** 2 + (py - self.ey[..., None]) ** 2
        self.route_idx = take_last(cand, d2.argmin(axis=2)[..., None])[..., 0]
        prev_front = self.cache["route_station"] + 0.5 * EGO_LENGTH
        self._perceive_rows(self.rows)
        c = self.cache
        # ---------------------------------------------------------------- checks
        length = self.routes["length"]
        station = clip(c["route_station"], 0.0, length)
        new_progress = np.maximum(self.progress, station)
        delta_progress = np.where(active, new_progress - self.progress, 0.0)
        self.progress = new_progress
        w = lay.width[:, None]
        ridx = self.route_idx
        eidx = self._ego_idx
        left = self.routes["lanes_left"][self._rows_col, eidx, ridx]
        right = self.routes["lanes_right"][self._rows_col, eidx, ridx]
        upper, lower = (left + 0.5) * w, -(right + 0.5) * w
        d_lat = c["d_lat"]
        outside_lanes = (d_lat > upper) | (d_lat < lower)
        self.outside_dist += np.where(outside_lanes, delta_progress, 0.0)
        deviation = (d_lat > upper + p.route_deviation_margin) | (d_lat < lower - p.route_deviation_margin)
        # collisions and time-to-collision with the nearest objects
        near_ok = c["near_ok"] & active[..., None]
        # contact now and at the constant-velocity projections (tau = 0, 0.1, ..., 0.9 s) in one test
        tau = self._taus
        ce, se = c["ego_cos"][..., None, None], c["ego_sin"][..., None, None]
        co, so = c["near_cos"][..., None, :], c["near_sin"][..., None, :]
        ve = self.ev[..., None, None] * tau
        vo = c["near_v"][..., None, :] * tau
        hit = boxes_overlap(
            self.ex[..., None, None] + ve * ce, self.ey[..., None, None] + ve * se, self.epsi[..., None, None],
            EGO_LENGTH, EGO_WIDTH,
            c["near_x"][..., None, :] + vo * co, c["near_y"][..., None, :] + vo * so, c["near_psi"][..., None, :],
            c["near_len"][..., None, :], c["near_wid"][..., None, :], trig=(ce, se, co, so)) & near_ok[..., None, :]
        contact = hit[..., 0, :]
        ttc = _any(hit[..., 1:, :], 2)
        ttc_active = _any(ttc & near_ok, 2)
        contact_full = np.zeros((b, e, self.num_objects), dtype=bool)
        contact_full.reshape(-1)[self._object_base + c["near"]] = contact  # put_along_axis, flat
        new_contact = contact_full & ~self.contact_prev
        self.contact_prev = contact_full
        coll_vehicle = _any(new_contact & self._is_moving, 2)
        coll_static = _any(new_contact & self._is_static, 2)
        collision = coll_vehicle | coll_static
        if self.num_pedestrians:
            coll_pedestrian = _any(new_contact & self._is_pedestrian, 2)
            collision = collision | coll_pedestrian
        # red light: the front crosses a stop line while its signal is red
        front = c["route_station"] + 0.5 * EGO_LENGTH
        if lay.num_intersections:
            stops = self.routes["stop_s"]
            crossed = (prev_front[..., None] < stops) & (front[..., None] >= stops)
            lights = c["lights"]
            stop_state = lights[self._rows_col3, self.routes["stop_light"], self.routes["stop_group"]]
            red_light = (crossed & (stop_state == RED)).any(axis=2) & active
        else:  # no stop lines: every stop station is +inf, nothing is ever crossed
            red_light = np.zeros((b, e), dtype=bool)
        # off-road: sample points of the box against lanes and intersection boxes
        off_frac = self._off_road_fraction()
        off_road = (off_frac > p.off_road_fraction) & active
        center_on = off_frac < 1.0
        # blocked: standing still without a reason
        excuse = (c["hazard_vehicle"] < 15.0) | ((c["stop_dist"] < 20.0) & (c["light_state"] != 0))
        still = (self.ev < 0.1) & ~excuse & active
        self.stopped_time = np.where(still, self.stopped_time + dt, 0.0)
        blocked = self.stopped_time >= p.blocked_time - 1e-9
        self.stopped_time = np.where(blocked, 0.0, self.stopped_time)
        # comfort bounds on CaRL's filtered quantities (see infractions.comfort_filters)
        violated = self._comfort_violations(v_before, psi_before, yaw_rate) & active[..., None]
        self.steps_since_comfort = np.where(violated, 0, self.steps_since_comfort + 1)
        # time to collision: only while the ego moves (CaRL, after nuPlan)
        ttc_now = ttc_active & (self.ev >= inf.TTC_MIN_SPEED) & active
        self.steps_since_ttc = np.where(ttc_now, 0, self.steps_since_ttc + 1)
        limit = lay.speed_limit[:, None]
        speeding = (self.ev > limit) & active
        # ---------------------------------------------------------------- counters
        def rising(now, prev_name):
            prev = getattr(self, prev_name)
            setattr(self, prev_name, now)
            return now & ~prev

        counts = self.counts
        counts["collision_vehicle"] += coll_vehicle
        counts["collision_static"] += coll_static
        counts["red_light"] += red_light
        counts["off_road"] += rising(off_road, "off_prev")
        counts["route_deviation"] += rising(deviation & active, "dev_prev")
        counts["blocked"] += blocked
        counts["speeding"] += rising(speeding, "speeding_prev")
        counts["ttc"] += rising(ttc_now, "ttc_prev")
        counts["comfort"] += rising(_any(violated, 2), "comfort_prev")
        if self.num_pedestrians:
            counts["collision_pedestrian"] += coll_pedestrian
        events = {
            "collision": _any(collision, 1),
            "collision_vehicle": _any(coll_vehicle, 1),
            "collision_static": _any(coll_static, 1),
            "red_light": _any(red_light, 1),
            "off_road": _any(off_road, 1),
            "route_deviation": _any(deviation & active, 1),
            "blocked": _any(blocked, 1),
        }
        if self.num_pedestrians:
            events["collision_pedestrian"] = _any(coll_pedestrian, 1)
        # ---------------------------------------------------------------- measurements
        steer_change = np.abs(steer_cmd - self.steer_prev)
        self.steer_prev = steer_cmd.copy()
        route_road = self.routes["road"][self._rows_col, eidx, ridx]
        road_offset = self._road_offset(route_road)
        # the objects around each ego in its frame (Roach's hazards are picked from these)
        ce, se = c["ego_cos"][..., None], c["ego_sin"][..., None]
        rel_x, rel_y = c["near_x"] - self.ex[..., None], c["near_y"] - self.ey[..., None]
        near_kind = self._kind_int.take(c["near"])
        pedestrian = near_kind == 3
        if self.num_pedestrians:  # a pedestrian on the carriageway (not waiting at the curb)
            ped_on = np.abs(self.p_q) < self.p_road_half
            slot = np.maximum(c["near"] - self._ped_from, 0)
            on_road = ~pedestrian | ped_on.reshape(-1).take(self._rows_col3 * self.num_pedestrians + slot)
        else:
            on_road = np.ones(pedestrian.shape, dtype=bool)
        signal = c["has_stop"] & (c["light_state"] != GREEN)
        measured = rw.Measurements(
            active=active, all_active=all_active, speed=self.ev, speed_limit=limit,
            route_progress=100.0 * delta_progress / length, outside_route_lanes=outside_lanes,
            lane_centre_distance=self._lane_centre_distance(route_road, road_offset), lane_width=w,
            in_junction=route_road < 0,
            steps_since_ttc=self.steps_since_ttc, steps_since_comfort=self.steps_since_comfort,
            collision=collision, red_light=red_light, route_deviation=deviation & active, blocked=blocked,
            route_offset=d_lat, heading_error=c["head_err"], steer_change=steer_change,
            objects_x=rel_x * ce + rel_y * se, objects_y=-rel_x * se + rel_y * ce,
            objects_cos_heading=c["near_cos"] * ce + c["near_sin"] * se,
            objects_pedestrian=pedestrian, objects_on_road=on_road, objects_present=c["near_ok"],
            light_distance=np.where(signal, c["stop_dist"] + 0.5 * EGO_LENGTH, np.inf),
            lane_index=np.maximum(np.floor(-road_offset / w), 0), lanes_here=self._lanes_here(route_road),
            forward_speed=self.ev * c["head_cos"], on_road=center_on,
        )
        terms = rw.reward_terms(measured, p)
        # egos that finished their route leave the road (multi-ego); the episode truncates
        # when all have finished or at the time limit
        finished = self.progress >= length - 1.0
        self.ego_active &= ~finished
        truncated = (self.steps >= p.max_steps) | ~_any(self.ego_active, 1)
        info = {
            "route_completion": np.add.reduce(100.0 * self.progress / length, axis=1) / e,  # mean over egos
            "speed": np.add.reduce(self.ev, axis=1) / e,
        }
        return StepOutcome(terms=terms, terminated=np.zeros(b, dtype=bool), truncated=truncated, info=info, events=events)

    def cache_kind(self) -> np.ndarray:
        """Kind of every object (0 traffic, 1 ego, 2 static), (1, 1, M); built in _setup."""
        return self._kind

    def _route_road(self) -> np.ndarray:
        """Road of each ego's current route point (-1 inside intersection boxes), (B, E)."""
        return self.routes["road"][self._rows_col, self._ego_idx, self.route_idx]

    def _road_offset(self, road: np.ndarray | None = None) -> np.ndarray:
        """Lateral offset of each ego on the road its route point lies on (0 inside boxes)."""
        lay = self.layout
        road = self._route_road() if road is None else road
        off = take_last(self.ego_d, np.maximum(road, 0)[..., None])[..., 0]
        return np.where(road >= 0, off, -0.5 * lay.width[:, None])

    def _comfort_violations(self, v_before: np.ndarray, psi_before: np.ndarray, yaw_rate: np.ndarray) -> np.ndarray:
        """Which comfort bounds each ego violates this step, (B, E, 6): the step's accelerations
        (a_lon = dv/dt, a_lat = v x yaw rate) and yaw enter the history, CaRL's Savitzky-Golay
        filters give the quantities, checked once COMFORT_MIN_HISTORY steps are in."""
        hist = self.comfort_history
        yaw = hist[..., -1, 3] + wrap_angle(self.epsi - psi_before)  # unwrapped
        a_lon = (self.ev - v_before) / self.params.dt
        a_lat = self.ev * yaw_rate
        hist[..., :-1, :] = hist[..., 1:, :]
        hist[..., -1, 0], hist[..., -1, 1], hist[..., -1, 2], hist[..., -1, 3] = a_lon, a_lat, np.hypot(a_lon, a_lat), yaw
        self.comfort_samples = np.minimum(self.comfort_samples + 1, inf.COMFORT_HISTORY)
        samples = self.comfort_samples
        six, flat = self._comfort_filters["six"], hist.reshape(hist.shape[:2] + (-1,))
        if samples.min() == inf.COMFORT_HISTORY:  # the usual case: one weight matrix for every ego
            q = flat @ six[inf.COMFORT_HISTORY]
        else:  # the jerk weights depend on the samples held (zero below the minimum)
            q = np.einsum("bef,befq->beq", flat, six.take(samples, axis=0))
        violated = inf.comfort_violations(q[..., 0], q[..., 1], q[..., 2], q[..., 3], q[..., 4], q[..., 5],
                                          self.params.comfort_bounds)
        return violated & (samples >= inf.COMFORT_MIN_HISTORY)[..., None]

    def _lane_centre_distance(self, road: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Distance (B, E) from each ego to the closest lane centre of the road its route point
        lies on, ``offset`` its lateral offset there (0 inside intersection boxes)."""
        lay = self.layout
        w = lay.width[:, None]
        lane = np.minimum(np.maximum(np.floor(-offset / w), 0.0), self._lanes_here(road) - 1)
        dist = np.abs(offset + (lane + 0.5) * w)
        if lay.has_ramp:  # the on-ramp's lane while it exists (its centre follows the taper)
            s = self.ego_s[..., 0]
            ramp = lay.lane_offset(self._rows_col, 0, lay.lanes[0], s)
            dist = np.where(s <= lay.merge_end[:, None], np.minimum(dist, np.abs(offset - ramp)), dist)
        return np.where(road >= 0, dist, 0.0)

    def _lanes_here(self, road: np.ndarray | None = None) -> np.ndarray:
        road = self._route_road() if road is None else road
        return np.where(road >= 0, self.layout.lanes[np.maximum(road, 0)], 1)

    def _off_road_fraction(self) -> np.ndarray:
        """Fraction of 15 sample points of each ego's box that are off the drivable area."""
        lay = self.layout
        es, ed, eh = self.ego_s, self.ego_d, self.ego_h  # (B, E, R)
        # the samples are tested in the road frame at the ego's projection, where every sample of
        # the box lies within the box's half extents along and across the road (half_lon,
        # half_lat); a box that deep inside some road's lanes (1 cm to spare for rounding) has
        # every sample on that road's lanes and needs no sampling (the common case)
        half_lat, half_lon = self.ego_half_lat + 0.01, self.ego_half_lon + 0.01
        w = lay.width[:, None, None]
        deep = (es >= half_lon) & (es <= lay.length[:, None, :] - half_lon) & (ed <= -half_lat) & (
            ed >= -lay.lanes * w + half_lat)
        shallow = ~_any(deep, 2)
        if not shallow.any():
            return np.zeros(self.ex.shape)
        # sample only the instances with an ego near an edge (a deep ego's fraction is 0 either way)
        rows = np.flatnonzero(_any(shallow, 1))
        if len(rows) == self.num_envs:
            rows = self.rows
            ex, ey, epsi = self.ex, self.ey, self.epsi
        else:
            ex, ey, epsi = self.ex[rows], self.ey[rows], self.epsi[rows]
            es, ed, eh = es[rows], ed[rows], eh[rows]
        bl, bw = _BOX_LON, _BOX_LAT
        c, s = np.cos(epsi)[..., None], np.sin(epsi)[..., None]
        px = ex[..., None] + bl * c - bw * s
        py = ey[..., None] + bl * s + bw * c
        ddx = (px - ex[..., None])[..., None]
        ddy = (py - ey[..., None])[..., None]
        ch, sh = np.cos(eh)[:, :, None, :], np.sin(eh)[:, :, None, :]
        ps = es[:, :, None, :] + ddx * ch + ddy * sh
        pd = ed[:, :, None, :] - ddx * sh + ddy * ch
        ok = lay.drivable(rows, ps, pd, px, py)
        if rows is self.rows:
            return 1.0 - ok.mean(axis=2)
        out = np.zeros(self.ex.shape)
        out[rows] = 1.0 - ok.mean(axis=2)
        return out

    # ----------------------------------------------------------------- traffic
    def _step_traffic(self, dt: float) -> None:
        p, lay = self.params, self.layout
        ip = p.idm
        b, n = self.num_envs, p.num_vehicles
        slots = lay.lane_slots
        rows = self.rows
        rr = rows[:, None]
        # entries: traffic, the egos' footprints on every road lane, static obstacles
        es, ed = self.ego_s, self.ego_d  # (B, E, R), from the end of the last step
        # the egos' box extents on each road, from _update_frenet at the end of the last step
        cos_rel, half_lat, half_lon = self.ego_cos_rel, self.ego_half_lat, self.ego_half_lon
        roads = np.arange(lay.num_roads)
        lanes = np.arange(slots)
        # lane_offset is elementwise: broadcasting (B, 1, 1, 1) rows, (slots,) lanes and
        # (B, E, R, 1) stations gives the (B, E, R, slots) offsets without materialised inputs
        lane_d = lay.lane_offset(rr[..., None, None], roads[None, None, :, None], lanes, es[..., None])
        w = lay.width[:, None, None, None]
        overlap = np.minimum(ed[..., None] + half_lat[..., None], lane_d + 0.5 * w) - np.maximum(
            ed[..., None] - half_lat[..., None], lane_d - 0.5 * w)
        exists = self._lane_exists
        if exists is None:  # the lane counts per road are fixed by the layout class
            exists = lanes[None, :] < lay.lanes[:, None]  # (R, slots)
            if lay.has_ramp:
                exists = exists | (lanes[None, :] == slots - 1)
            self._lane_exists = exists
        length = lay.length[:, None, :, None]
        occ = (overlap > 0.3) & exists[None, None] & (es[..., None] > -10.0) & (es[..., None] < length + 10.0)
        occ &= self.ego_active[..., None, None]
        # entries (B, M): traffic [0, n), the egos' footprints, one per (ego, road, lane slot) in
        # that order [n, n + k), static obstacles [n + k, M), written into buffers kept across
        # steps (they do not outlive the step); the egos' lane ids and the obstacles' speed and
        # half length are constants, filled when the buffers are made
        k = occ[0].size
        buffers = self._entries
        if buffers is None or buffers[0].shape[0] != b:
            m = n + k + self.num_static + self.num_pedestrians
            ego_lane_id = np.broadcast_to((roads[:, None] * slots + lanes[None, :])[None, None], occ.shape)
            buffers = self._entries = (np.empty((b, m), dtype=np.int64), np.empty((b, m)), np.empty((b, m)),
                                       np.empty((b, m)), np.empty((b, m), dtype=bool))
            buffers[0][:, n:n + k] = ego_lane_id.reshape(b, -1)
            buffers[2][:, n + k:] = 0.0
            buffers[3][:, n + k:] = 2.25
            # a pedestrian holds traffic like a stopped obstacle 1 m long (half length 0.5 m)
            buffers[3][:, n + k + self.num_static:] = 0.5
        ent_id, ent_s, ent_v, ent_hl, ent_act = buffers
        t_id = ent_id[:, :n]
        np.multiply(self.t_road, slots, out=t_id)
        t_id += self.t_lane
        ent_s[:, :n] = self.t_s
        ent_s[:, n:n + k] = np.repeat(es, slots, axis=2).reshape(b, -1)
        ent_v[:, :n] = self.t_v
        ent_v[:, n:n + k] = np.repeat(self.ev[..., None] * cos_rel, slots, axis=2).reshape(b, -1)
        hl = ent_hl[:, :n]
        np.multiply(self.t_len, 0.5, out=hl)
        ent_hl[:, n:n + k] = np.repeat(half_lon, slots, axis=2).reshape(b, -1)
        ent_act[:, :n] = self.t_active
        ent_act[:, n:n + k] = occ.reshape(b, -1)
        if self.num_static:
            o_id = ent_id[:, n + k:n + k + self.num_static]
            np.multiply(self.o_road, slots, out=o_id)
            o_id += self.o_lane
            ent_s[:, n + k:n + k + self.num_static] = self.o_s
            ent_act[:, n + k:n + k + self.num_static] = self.o_active
        if self.num_pedestrians:
            at = n + k + self.num_static
            ent_id[:, at:], ent_s[:, at:], ent_act[:, at:] = self._pedestrian_entries()
        leader = lane_leaders(ent_id, ent_s, ent_act, n)
        v, s, v0 = self.t_v, self.t_s, self.t_v0

        # the leader's station, half length and speed (fills where there is none); one index
        has_leader = leader >= 0
        lead_flat = row_base(*ent_s.shape) + np.maximum(leader, 0)
        lead_s = np.where(has_leader, ent_s.reshape(-1).take(lead_flat), np.inf)
        lead_hl = np.where(has_leader, ent_hl.reshape(-1).take(lead_flat), 0.0)
        lead_v = np.where(has_leader, ent_v.reshape(-1).take(lead_flat), 0.0)
        acc = idm_acceleration(v, v0, lead_s - s - hl - lead_hl, v - lead_v, ip)
        # stop lines hold for every lane of a road: computed once for the current and target lanes
        a_stop = self._stop_line_acc()
        acc = np.minimum(acc, a_stop)
        if lay.has_ramp:
            acc = np.minimum(acc, self._lane_end_acc())
        # MOBIL, politeness 0: best adjacent lane whose gain exceeds the threshold, if safe.
        # Like highway-env, a vehicle decides once per lane_change_delay (timers start at random
        # phases), so only the vehicles due this step are evaluated, as flat arrays.
        # Decisions fall on a 0.5 s grid of each instance's clock (at least lane_change_delay apart).
        due = self.t_active & (self.t_timer <= 0.0) & (self.steps % MOBIL_GRID == 0)[:, None]
        if due.any():
            # neighbours in every lane, indexed only for the instances that decide this step
            due_rows = np.flatnonzero(_any(due, 1))
            index = RoadIndex(ent_id[due_rows] // slots, ent_id[due_rows] % slots, ent_s[due_rows],
                              ent_act[due_rows], slots)
            self._mobil(index, due_rows, np.nonzero(due), acc, a_stop, ent_s, ent_v, ent_hl)
        self.t_timer -= dt
        # integrate (exact for constant acceleration, stopping at zero speed)
        v_end = v + acc * dt
        stop = v_end < 0.0
        dist = np.where(stop, v * v / (2.0 * np.maximum(-acc, 1e-9)), 0.5 * (v + np.maximum(v_end, 0.0)) * dt)
        self.t_s = np.where(self.t_active, s + dist, s)
        self.t_v = np.where(self.t_active, np.maximum(v_end, 0.0), v)
        lat_rate = 1.2  # m/s toward the lane centre during a lane change
        new_lat = self.t_lat - clip(self.t_lat, -lat_rate * dt, lat_rate * dt)
        self.t_latv = (new_lat - self.t_lat) / dt
        self.t_lat = new_lat
        self._respawn()

    def _mobil(self, index, due_rows, due, acc, a_stop, ent_s, ent_v, ent_hl) -> None:
        """Lane changes of the vehicles ``due`` = (rows, vehicles) to decide this step; ``index``
        covers the instances ``due_rows``."""
        p, lay = self.params, self.layout
        ip = p.idm
        n, e, slots = p.num_vehicles, self.num_egos, lay.lane_slots
        bi, vi = due
        s, v, v0 = self.t_s[due], self.t_v[due], self.t_v0[due]
        hl = 0.5 * self.t_len[due]
        lane, road = self.t_lane[due], self.t_road[due]
        a_cur = acc[due]
        a_stop = a_stop[due] if np.ndim(a_stop) else a_stop
        nl_road = lay.lanes[road]
        on_ramp = lane >= nl_road
        best_gain = np.full(len(bi), -np.inf)
        best_lane = lane.copy()
        static_from = n + e * lay.num_roads * slots
        v0_ent = np.concatenate([self.t_v0, np.full_like(ent_v[:, n:], 30.0)], axis=1)

        m_ent = ent_s.shape[1]
        row_flat = bi * m_ent
        index_rows = np.searchsorted(due_rows, bi)

        def at(values, ok, flat, fill):
            return np.where(ok, values.reshape(-1).take(flat), fill)

        for step in (-1, 1):
            target = lane + step
            valid = (target >= 0) & (target < nl_road)
            if lay.has_ramp:
                valid &= ~on_ramp | ((step == -1) & (s >= lay.merge_start[bi]))
            if not valid.any():
                continue
            q, f = index.neighbours_of(index_rows, vi, target)
            # the new leader q and follower f: flat indices into the (B, M) entry arrays
            q_ok, f_ok = q >= 0, f >= 0
            q_flat, f_flat = row_flat + np.maximum(q, 0), row_flat + np.maximum(f, 0)
            gap_q = at(ent_s, q_ok, q_flat, np.inf) - s - hl - at(ent_hl, q_ok, q_flat, 0.0)
            a_new = np.minimum(idm_acceleration(v, v0, gap_q, v - at(ent_v, q_ok, q_flat, 0.0), ip), a_stop)
            v_f = at(ent_v, f_ok, f_flat, 0.0)
            gap_f = s - hl - at(ent_s, f_ok, f_flat, -np.inf) - at(ent_hl, f_ok, f_flat, 0.0)
            a_f = idm_acceleration(v_f, np.maximum(at(v0_ent, f_ok, f_flat, 30.0), 1.0), gap_f, v_f - v, ip)
            safe = (gap_q > 1.0) & (gap_f > 1.0) & ((f < 0) | (f >= static_from) | (a_f >= -ip.b_safe))
            gain = a_new - a_cur + np.where(on_ramp, 2.0, 0.0)
            take = valid & safe & (gain > ip.threshold) & (gain > best_gain)
            best_gain = np.where(take, gain, best_gain)
            best_lane = np.where(take, target, best_lane)
        changed = best_lane != lane
        if changed.any():
            old_d = lay.lane_offset(bi, road, lane, s)
            new_d = lay.lane_offset(bi, road, best_lane, s)
            self.t_lat[due] = np.where(changed, self.t_lat[due] + old_d - new_d, self.t_lat[due])
            self.t_lane[due] = best_lane
        self.t_timer[due] = ip.lane_change_delay

    def _stop_line_acc(self) -> np.ndarray | float:
        """IDM acceleration toward the next stop line at a red (or stoppable yellow) signal."""
        p, lay = self.params, self.layout
        if not lay.num_intersections:
            return np.inf
        ip = p.idm
        v, v0 = self.t_v, self.t_v0
        front = self.t_s + 0.5 * self.t_len
        m_max = lay.stop_s.shape[2]
        road_flat = self._rows_col * lay.num_roads + self.t_road
        stops = lay.stop_s.reshape(-1, m_max).take(road_flat, axis=0)  # (B, N, M)
        ahead = stops >= front[..., None]
        m = ahead.argmax(axis=2)  # the first stop line ahead (or 0 when none is)
        stop_s = take_last(stops, m[..., None])[..., 0]
        has = stop_s >= front  # = ahead.any(axis=2): argmax picks a line ahead whenever one is
        k = lay.stop_light.reshape(-1).take(self.t_road * m_max + m)
        g = lay.road_group.take(self.t_road)
        # the signal states at this instant: perceived at the end of the previous step (or at
        # reset) for the same time and layout
        lights = self.cache["lights"]
        state = lights.reshape(-1).take((self._rows_col * lights.shape[1] + k) * 2 + g)
        gap = stop_s - front
        must_stop = has & ((state == RED) | ((state == YELLOW) & (gap > v * v / (2.0 * ip.b))))
        a_stop = idm_acceleration(v, v0, gap + ip.jam_distance - 1.0, v, ip)
        return np.where(must_stop, a_stop, np.inf)

    def _lane_end_acc(self) -> np.ndarray:
        """IDM acceleration of vehicles on the on-ramp toward the end of its acceleration lane."""
        lay, ip = self.layout, self.params.idm
        v = self.t_v
        gap = lay.merge_end[:, None] - self.t_s - 0.5 * self.t_len
        a_end = idm_acceleration(v, self.t_v0, gap + ip.jam_distance - 1.0, v, ip)
        return np.where(self.t_lane >= lay.lanes[self.t_road], a_end, np.inf)

    def _respawn(self) -> None:
        """Vehicles that left their road re-enter it upstream, behind the last vehicle of a lane."""
        lay, p = self.layout, self.params
        road_end = lay.length.reshape(-1).take(self._rows_col * lay.num_roads + self.t_road)
        leaving = self.t_active & (self.t_s - 0.5 * self.t_len > road_end)
        if not _any(leaving, None):
            return
        rows = np.flatnonzero(_any(leaving, 1))
        n = p.num_vehicles
        u = self.rng.uniform((n, 4), rows)
        leave = leaving[rows]
        road = self.t_road[rows]
        nl = lay.lanes[road]
        lane = np.minimum(np.floor(u[..., 0] * nl).astype(np.int64), nl - 1)
        if lay.has_ramp:
            lane = np.where(u[..., 2] < p.ramp_spawn_probability, nl, lane)
        slots = lay.lane_slots
        new_id = road * slots + lane
        cur_id = self.t_road[rows] * slots + self.t_lane[rows]
        # the tail (smallest station) of every lane among the vehicles that stay, (rows, lanes)
        lanes = np.arange(lay.num_roads * slots)
        stay = (self.t_active[rows] & ~leave)[..., None] & (cur_id[..., None] == lanes)
        s_in_lane = np.where(stay, self.t_s[rows][..., None], np.inf)  # (rows, N, lanes)
        tail_i = s_in_lane.argmin(axis=1)  # (rows, lanes)
        tail_s = take_last(np.moveaxis(s_in_lane, 1, 2), tail_i[..., None])[..., 0]
        tail_v = take_last(self.t_v[rows], tail_i)
        tail_s, tail_v = take_last(tail_s, new_id), take_last(tail_v, new_id)
        # several vehicles entering one lane in one step queue up behind each other
        entering = leave[..., None] & (new_id[..., None] == lanes)
        rank = take_last(np.cumsum(entering, axis=1), new_id[..., None])[..., 0] - 1
        gap = 25.0 + 20.0 * u[..., 1]
        start = np.where(np.isfinite(tail_s), np.minimum(tail_s, 0.0), 0.0) - gap * (1 + np.maximum(rank, 0))
        v0 = lay.speed_limit[rows, None] * (0.8 + 0.25 * u[..., 3])
        v_new = np.where(np.isfinite(tail_s), np.minimum(v0, tail_v), 0.9 * v0)
        sel = (rows[:, None], np.arange(n)[None, :])
        self.t_lane[sel] = np.where(leave, lane, self.t_lane[rows])
        self.t_s[sel] = np.where(leave, start, self.t_s[rows])
        self.t_v[sel] = np.where(leave, v_new, self.t_v[rows])
        self.t_v0[sel] = np.where(leave, v0, self.t_v0[rows])
        self.t_lat[sel] = np.where(leave, 0.0, self.t_lat[rows])
        self.t_latv[sel] = np.where(leave, 0.0, self.t_latv[rows])

    # ----------------------------------------------------------------- metrics, render
    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        cnt = {k: v[rows] for k, v in self.counts.items()}
        length = self.routes["length"][rows]
        rc = 100.0 * np.clip(self.progress[rows] / length, 0.0, 1.0)
        outside = np.clip(self.outside_dist[rows] / length, 0.0, 1.0)
        ds = inf.driving_score(rc, cnt, outside)
        collisions = cnt["collision_vehicle"] + cnt["collision_static"]
        if self.num_pedestrians:
            collisions = collisions + cnt["collision_pedestrian"]
        infractions = collisions + cnt["red_light"] + cnt["off_road"] + cnt["route_deviation"] + cnt["blocked"] + cnt["speeding"]
        out = {
            "driving_score": ds, "route_completion": rc, "collisions": collisions,
            "collisions_vehicle": cnt["collision_vehicle"], "collisions_static": cnt["collision_static"],
            "red_lights": cnt["red_light"], "off_road": cnt["off_road"], "route_deviation": cnt["route_deviation"],
            "blocked": cnt["blocked"], "speeding": cnt["speeding"], "ttc_violations": cnt["ttc"],
            "comfort_violations": cnt["comfort"], "infractions": infractions, "outside_lanes": 100.0 * outside,
            "route_completed": (self.progress[rows] >= length - 1.0).astype(float),
        }
        if self.num_pedestrians:
            out["collisions_pedestrian"] = cnt["collision_pedestrian"]
        return {k: np.asarray(v, dtype=float).mean(axis=1) for k, v in out.items()}

    def render_frame(self, index: int = 0) -> np.ndarray:
        from rewardlab.envs.driving.render import render_scene

        return render_scene(self, index)


class HighwaySim(DrivingSim):
    """Multi-lane highway with an on-ramp merge and a possible broken-down car."""

    Params = HighwayParams
    layout_class = HighwayLayout
    num_static = 1
    route_points = 700


class GridSim(DrivingSim):
    """Signalised intersection (1 x 1 grid) or town (2 x 2 grid)."""

    Params = GridParams
    layout_class = GridLayout
    events = inf.EVENTS + ("collision_pedestrian",)  # reported while pedestrians_per_crossing > 0
    route_points = 600

    def _setup(self) -> None:
        if self.params.route_length > self.route_points - 50:
            from rewardlab.core.errors import RewardlabError

            raise RewardlabError(f"{self.env_id}: route_length must be <= {self.route_points - 50} m")
        nx, ny = self.params.grid
        k_count, per = nx * ny, self.params.pedestrians_per_crossing
        self.num_pedestrians = 4 * k_count * per
        super()._setup()
        if not self.num_pedestrians:
            return
        # crosswalks, 4 per intersection k = j * nx + i: across its east, west, north and south
        # arms. Each crosses one street (two one-way roads): r_pos, the eastbound / northbound
        # road, whose left normal is the crosswalk's q axis, and r_neg, the opposite road
        # (q < 0: r_pos's lanes, q > 0: r_neg's). Pedestrian j walks crosswalk j // per.
        k_of, arm, r_pos, group = [], [], [], []
        for k in range(k_count):
            j, i = divmod(k, nx)
            for a, (ux, uy) in enumerate(((1, 0), (-1, 0), (0, 1), (0, -1))):
                k_of.append(k)
                arm.append((ux, uy))
                r_pos.append(2 * j if a < 2 else 2 * ny + 2 * i)
                group.append(1 if a < 2 else 0)  # the signal group of the street it crosses
        rep = lambda v: np.repeat(np.asarray(v), per, axis=0)  # noqa: E731
        self._ped_k = rep(k_of)
        self._ped_arm = rep(arm).astype(float)  # (P, 2) unit vector from the centre along the arm
        self._ped_r_pos = rep(r_pos)
        self._ped_r_neg = self._ped_r_pos + 1
        # walk with the parallel green: the other group's signal at the same intersection
        self._ped_light = self._ped_k * 2 + (1 - rep(group))
        ew = rep(group) == 1
        self._ped_nx = np.where(ew, 0.0, -1.0)  # left normal of r_pos: north (E-W), west (N-S)
        self._ped_ny = np.where(ew, 1.0, 0.0)
        self._ped_psi = np.where(ew, 0.5 * np.pi, np.pi)  # heading when walking toward +q
        b, npd = self.num_envs, self.num_pedestrians
        self.p_cx, self.p_cy = np.zeros((b, npd)), np.zeros((b, npd))  # crosswalk centre on the centre line
        self.p_s_pos, self.p_s_neg = np.zeros((b, npd)), np.zeros((b, npd))  # its station on r_pos, r_neg
        # per instance: the carriageway's half width (+ half a pedestrian: on it, a pedestrian
        # holds traffic) and |q| of a waiting pedestrian (the far curb of a crossing one)
        self.p_road_half, self.p_curb = np.zeros((b, 1)), np.zeros((b, 1))
        slots = self.layout.lane_slots
        self._ped_id_pos, self._ped_id_neg = self._ped_r_pos * slots, self._ped_r_neg * slots
        self._ped_from = self.params.num_vehicles + self.num_egos + self.num_static

    def _place_pedestrians(self, rows: np.ndarray) -> None:
        """Crosswalk geometry of the new layouts and every pedestrian waiting at a curb."""
        lay = self.layout
        rr = rows[:, None]
        centre = lay.centers[rr, self._ped_k]  # (nb, P, 2)
        setback = (lay.half_box[rows] - CROSSWALK_SETBACK)[:, None]
        cx = centre[..., 0] + self._ped_arm[:, 0] * setback
        cy = centre[..., 1] + self._ped_arm[:, 1] * setback
        geo = lay.road_geo[rr, self._ped_r_pos]  # origin x, y, heading, cos, sin
        s_pos = (cx - geo[..., 0]) * geo[..., 3] + (cy - geo[..., 1]) * geo[..., 4]
        self.p_cx[rows], self.p_cy[rows] = cx, cy
        self.p_s_pos[rows] = s_pos
        self.p_s_neg[rows] = lay.length[rr, self._ped_r_pos] - s_pos
        half = self.params.lanes_per_direction * lay.width[rows]
        self.p_road_half[rows, 0] = half + 0.5 * PEDESTRIAN_SIZE
        self.p_curb[rows, 0] = half + CURB_STANDOFF
        u = self.rng.uniform((self.num_pedestrians, 3), rows)
        self._respawn_pedestrians(rows, u, np.ones(u.shape[:2], dtype=bool))

    def _respawn_pedestrians(self, rows: np.ndarray, u: np.ndarray, which: np.ndarray) -> None:
        """Pedestrians ``which`` (of instances ``rows``) wait at a random end of their crosswalk
        with a new speed and a random delay before they may start; u: (rows, P, 3) uniforms."""
        p = self.params
        lo, hi = p.pedestrian_speed_range
        direction = np.where(u[..., 0] < 0.5, 1.0, -1.0)
        q_end = self.p_curb[rows]
        sel = (rows[:, None], np.arange(self.num_pedestrians)[None, :])
        self.p_dir[sel] = np.where(which, direction, self.p_dir[rows])
        self.p_q[sel] = np.where(which, -direction * q_end, self.p_q[rows])
        self.p_speed[sel] = np.where(which, lo + (hi - lo) * u[..., 1], self.p_speed[rows])
        self.p_step[sel] = self.p_dir[rows] * self.p_speed[rows] * p.dt
        self.p_wait[sel] = np.where(which, p.pedestrian_max_wait * u[..., 2], self.p_wait[rows])
        self.p_crossing[sel] &= ~which
        self.p_psi[sel] = np.where(which, self._ped_psi + np.where(direction < 0, np.pi, 0.0), self.p_psi[rows])
        self._pedestrian_pose(rows)

    def _pedestrian_pose(self, rows: np.ndarray) -> None:
        q = self.p_q[rows]
        self.p_x[rows] = self.p_cx[rows] + q * self._ped_nx
        self.p_y[rows] = self.p_cy[rows] + q * self._ped_ny

    def _step_pedestrians(self, dt: float) -> None:
        """Waiting pedestrians start on their walk phase once their delay is over; crossing ones
        walk on (whatever the signal) and respawn at a crosswalk end when they reach the far curb."""
        lights = self.cache["lights"]  # the signals at the start of the step (as the traffic sees them)
        walk = lights.reshape(self.num_envs, -1).take(self._ped_light, axis=1) == GREEN
        self.p_wait -= dt
        crossing = self.p_crossing | (walk & (self.p_wait <= 0.0))
        self.p_crossing = crossing
        self.p_q = self.p_q + crossing * self.p_step
        self.p_x = self.p_cx + self.p_q * self._ped_nx
        self.p_y = self.p_cy + self.p_q * self._ped_ny
        done = crossing & (self.p_dir * self.p_q >= self.p_curb)
        if _any(done, None):
            rows = np.flatnonzero(_any(done, 1))
            u = self.rng.uniform((self.num_pedestrians, 3), rows)
            self._respawn_pedestrians(rows, u, done[rows])

    def _pedestrian_entries(self):
        """Lane id, station and activity of every pedestrian as a traffic entry (a stopped
        obstacle in the lane it stands in, while it is on the carriageway)."""
        q = self.p_q
        left = q > 0.0
        lane_id = np.where(left, self._ped_id_neg, self._ped_id_pos)
        abs_q = np.abs(q)
        if self.params.lanes_per_direction > 1:  # the lane it stands in (one lane: lane 0)
            lane = np.minimum(abs_q / self.layout.width[:, None], self.params.lanes_per_direction - 1)
            lane_id = lane_id + lane.astype(np.int64)  # truncation = floor: lane >= 0
        station = np.where(left, self.p_s_neg, self.p_s_pos)
        on_road = self.p_crossing & (abs_q < self.p_road_half)
        return lane_id, station, on_road

