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
(:class:`HighwayParams`, :class:`GridParams`; ``params.py``). Every random choice (geometry,
traffic, signal timing, respawns) comes from ``self.rng``, one stream per instance, so instance
i of a batch seeded with s replays the single environment seeded with s + i.

The simulator owns the egos' state and composes the parts: the road layout (``road.py``), the
traffic and static obstacles (``traffic.py``), the pedestrians (``pedestrians.py``), perception
(``perception.py``), the infraction checks (``checks.py``) and the reward terms (``rewards.py``).
A step is: control, physics (pedestrians, traffic, egos), perception, checks, reward terms,
outcome.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rewardlab.core.errors import RewardlabError
from rewardlab.core.sim import BatchedSim, StepOutcome
from rewardlab.envs.driving import infractions as inf
from rewardlab.envs.driving import observation as obs_mod
from rewardlab.envs.driving import rewards as rw
from rewardlab.envs.driving.checks import EgoMotion, InfractionMonitor, Infractions
from rewardlab.envs.driving.control import meta_action_command
from rewardlab.envs.driving.grid import GridLayout
from rewardlab.envs.driving.params import DrivingParams, GridParams, HighwayParams
from rewardlab.envs.driving.pedestrians import Pedestrians
from rewardlab.envs.driving.perception import EGO, PEDESTRIAN, STATIC, TRAFFIC, objects, perceive, take_last
from rewardlab.envs.driving.render import render_scene
from rewardlab.envs.driving.road import HighwayLayout, Layout
from rewardlab.envs.driving.traffic import GREEN, Obstacles, RoadUsers, Traffic
from rewardlab.envs.driving.vehicle import (
    EGO_LENGTH,
    EGO_WIDTH,
    LF,
    LR,
    MAX_ACCEL,
    MAX_BRAKE,
    MAX_STEER,
    V_MAX,
    bicycle_step,
    wrap_angle,
)

__all__ = ["DrivingParams", "DrivingSim", "GridParams", "GridSim", "HighwayParams", "HighwaySim"]

ROUTE_SEARCH = np.arange(-4, 16)  # route points around the previous one searched for the ego's place

#: Roach's exploration priors (rewardlab.agents.exploration) on the Beta's (0, 1) axis of each
#: action (0: steering, 1: acceleration), later entries winning: blocked -> "go", route deviation
#: -> "turn" (uniform steering), collision or red light -> "stop" (Zhang et al. 2021's code).
EXPLORATION_PRIORS = (
    ("blocked", {1: (2.5, 1.0)}),
    ("route_deviation", {0: (1.0, 1.0)}),
    ("collision", {1: (1.0, 1.5)}),
    ("red_light", {1: (1.0, 1.5)}),
)


class DrivingSim(BatchedSim):
    """Shared driving simulator; subclasses pick the layout and parameters."""

    Params = DrivingParams
    layout_class: type[Layout] = HighwayLayout
    reward_terms = rw.TERMS
    reward_presets = rw.PRESETS
    default_reward = "carl"
    events = inf.EVENTS
    num_static = 0
    route_points = 700

    @property
    def exploration_priors(self):
        """Roach's exploration priors for PPO's ``exploration_coef``; None with discrete actions."""
        return None if self.params.action == "discrete" else EXPLORATION_PRIORS

    # ----------------------------------------------------------------- set-up
    def _setup(self) -> None:
        p = self.params
        b, e, n = self.num_envs, p.num_egos, p.num_vehicles
        self.layout = self.layout_class(b, p)
        self.agents = ("ego",) if e == 1 else tuple(f"ego_{i}" for i in range(e))
        if p.action == "discrete":
            self.action_spaces = tuple(spaces.Discrete(5) for _ in range(e))
        else:
            self.action_spaces = tuple(spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32) for _ in range(e))
        self.meta_lane, self.meta_speed = np.zeros((b, e)), np.zeros((b, e))  # discrete actions' targets
        self.observation_spaces = tuple(obs_mod.observation_space(p) for _ in range(e))
        self.num_egos = e
        self.rows = np.arange(b)
        # the other road users
        self.traffic = Traffic(b, p, self.layout)
        self.obstacles = Obstacles(b, self.num_static, self.layout)
        self.pedestrians = self._make_pedestrians()
        self.num_pedestrians = 0 if self.pedestrians is None else self.pedestrians.count
        # the object table (perception.objects): traffic, egos, static obstacles, pedestrians
        self.num_objects = n + e + self.num_static + self.num_pedestrians
        self.first_pedestrian = n + e + self.num_static
        self.object_kind = np.repeat(np.array([TRAFFIC, EGO, STATIC, PEDESTRIAN]),
                                     [n, e, self.num_static, self.num_pedestrians])
        kind = self.object_kind[None, None, :]
        self.object_is_vehicle = (kind == TRAFFIC) | (kind == EGO)
        self.object_is_static, self.object_is_pedestrian = kind == STATIC, kind == PEDESTRIAN
        self.not_self = np.ones((1, e, self.num_objects), dtype=bool)
        self.not_self[0, np.arange(e), n + np.arange(e)] = False
        # egos
        self.ego_x, self.ego_y, self.ego_heading, self.ego_speed = (np.zeros((b, e)) for _ in range(4))
        self.steer_prev, self.accel_cmd = np.zeros((b, e)), np.zeros((b, e))  # the last commands
        self.route_idx = np.zeros((b, e), dtype=np.int64)  # the ego's route point
        # (B, E, 1) flat offsets of each ego's route in the (B, E, route_points) route arrays
        self.route_base = (np.arange(b * e, dtype=np.int64) * self.route_points).reshape(b, e, 1)
        self.progress = np.zeros((b, e))  # furthest station reached on the route, m
        self.outside_dist = np.zeros((b, e))  # of it, driven outside the route's lanes, m
        self.road_hint = np.zeros((b, e))  # station guess for the projection on curved roads
        self.ego_active = np.zeros((b, e), dtype=bool)
        self.infractions = InfractionMonitor(b, e, self.num_objects, p, self.pedestrians is not None)
        self.time = np.zeros(b)
        self.steps = np.zeros(b, dtype=np.int64)
        self.routes: dict[str, np.ndarray] = {}
        self.cache: dict[str, np.ndarray] = {}
        self.bev_static = None
        # each ego's footprint is an entry in every lane slot of every road (traffic reacts to the
        # slots it overlaps): constant lane ids, (B, E * R * slots)
        lay = self.layout
        slots = lay.lane_slots
        lanes = np.arange(slots)
        lane_ids = np.arange(lay.num_roads)[:, None] * slots + lanes[None, :]
        self.footprint_lane_id = np.broadcast_to(lane_ids, (b, e, lay.num_roads, slots)).reshape(b, -1)
        # (R, slots): the lane counts are fixed by the layout class
        exists = lanes[None, :] < lay.lanes[:, None]
        self.lane_exists = exists | (lanes[None, :] == slots - 1) if lay.has_ramp else exists

    def _make_pedestrians(self) -> Pedestrians | None:
        return None

    # ----------------------------------------------------------------- reset
    def _reset(self, rows: np.ndarray) -> None:
        p, lay = self.params, self.layout
        lay.generate(rows, self.rng)
        routes = lay.routes(rows, self.rng, self.num_egos, self.route_points)
        if not self.routes:
            self.routes = {k: np.zeros((self.num_envs, *v.shape[1:]), dtype=v.dtype)
                           for k, v in routes.items()}
            self.routes["x"] = np.zeros(self.routes["hdg"].shape)
            self.routes["y"] = np.zeros(self.routes["hdg"].shape)
        for k, v in routes.items():
            self.routes[k][rows] = v
        # the route's x and y as contiguous arrays: the per-step gathers read them
        self.routes["x"][rows] = routes["xy"][..., 0]
        self.routes["y"][rows] = routes["xy"][..., 1]
        r = self.routes
        self.ego_x[rows] = r["xy"][rows, :, 0, 0]
        self.ego_y[rows] = r["xy"][rows, :, 0, 1]
        self.ego_heading[rows] = r["hdg"][rows, :, 0]
        u = self.rng.uniform((self.num_egos,), rows)
        self.ego_speed[rows] = lay.speed_limit[rows, None] * (0.5 + 0.2 * u)
        self.meta_lane[rows] = 0.0
        self.meta_speed[rows] = self.ego_speed[rows]
        for arr in (self.steer_prev, self.accel_cmd, self.progress, self.outside_dist, self.route_idx):
            arr[rows] = 0
        self.road_hint[rows] = r["start_s"][rows]
        self.ego_active[rows] = True
        self.infractions.reset(rows)
        self.time[rows] = 0.0
        self.steps[rows] = 0
        self._update_frenet(rows)
        self.traffic.place(rows, self.rng, self.routes, self.num_egos)
        if self.num_static:
            self.obstacles.place(rows, self.rng, self.routes, p.static_obstacle_probability, self.traffic)
        if self.pedestrians is not None:
            self.pedestrians.place(rows, self.rng)
        if p.obs != "vector":
            obs_mod.build_static_raster(self, rows)
        self._perceive_rows(rows)

    def _update_frenet(self, rows: np.ndarray) -> None:
        """Station, offset and road heading (B, E, R) of every ego on every road, and its box's
        half extents along and across each road."""
        every = rows is self.rows  # the per-step call: whole arrays, no row gathers / scatters
        sel = (lambda a: a) if every else (lambda a: a[rows])
        s, d, h = self.layout.project(rows, sel(self.ego_x), sel(self.ego_y), sel(self.road_hint))
        if not hasattr(self, "ego_s"):
            shape = (self.num_envs, self.num_egos, self.layout.num_roads)
            self.ego_s, self.ego_d, self.ego_road_heading = (np.zeros(shape) for _ in range(3))
            self.ego_cos_rel, self.ego_half_lat, self.ego_half_lon = (np.zeros(shape) for _ in range(3))
        at = Ellipsis if every else rows
        self.ego_s[at], self.ego_d[at], self.ego_road_heading[at] = s, d, h
        if not self.layout.straight:
            self.road_hint[at] = s[..., 0]
        # the ego's box relative to each road: half extents along and across it, and the cosine of
        # the heading difference (the off-road check now, the traffic's view of the ego next step)
        rel = wrap_angle(sel(self.ego_heading)[..., None] - h)
        cos_rel = np.cos(rel)
        abs_cos, abs_sin = np.abs(cos_rel), np.abs(np.sin(rel))
        self.ego_cos_rel[at] = cos_rel
        self.ego_half_lat[at] = 0.5 * (EGO_LENGTH * abs_sin + EGO_WIDTH * abs_cos)
        self.ego_half_lon[at] = 0.5 * (EGO_LENGTH * abs_cos + EGO_WIDTH * abs_sin)

    # ----------------------------------------------------------------- world queries
    def objects(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every object an ego can meet, (B, M): traffic, egos, static obstacles, pedestrians."""
        return objects(self, self.rows if rows is None else rows)

    def _perceive_rows(self, rows: np.ndarray) -> None:
        """Compute and cache what observations and checks need, for instances ``rows``."""
        data = perceive(self, rows)
        if len(rows) == self.num_envs and self.cache:
            self.cache = data  # every instance: take the fresh arrays, no copy
            return
        if not self.cache:
            self.cache = {k: np.zeros((self.num_envs, *v.shape[1:]), dtype=v.dtype) for k, v in data.items()}
        for k, v in data.items():
            self.cache[k][rows] = v

    def _observe(self, rows: np.ndarray | None = None) -> np.ndarray:
        r = self.rows if rows is None else rows
        if self.params.obs == "bev":
            return obs_mod.bev_observation(self, r)
        if self.params.obs == "bev+vector":
            return obs_mod.bev_vector_observation(self, r)
        return obs_mod.vector_observation(self, r)

    # ----------------------------------------------------------------- step
    def _step(self, actions: np.ndarray) -> StepOutcome:
        steer, accel = self._control(actions)
        self._move_road_users()
        motion = self._move_egos(steer, accel)
        prev_front = self.cache["route_station"] + 0.5 * EGO_LENGTH  # perceived on the last step
        self._perceive_rows(self.rows)
        delta_progress = self._advance_progress()
        found = self.infractions.check(self, prev_front, motion)
        self.outside_dist += np.where(found.outside_route_lanes, delta_progress, 0.0)
        events = self.infractions.count(found)
        measured = self._measure(found, delta_progress, steer)
        terms = rw.reward_terms(measured, self.params)
        return self._outcome(terms, events)

    def _control(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steering command in [-1, 1] and acceleration (m/s^2) of every ego; an inactive ego
        (finished its route) brakes fully."""
        if self.params.action == "discrete":
            actions = meta_action_command(self, actions)
        steer_cmd, accel_cmd = actions[..., 0], actions[..., 1]
        accel = np.where(accel_cmd >= 0.0, accel_cmd * MAX_ACCEL, accel_cmd * MAX_BRAKE)
        self.accel_cmd = np.array(accel_cmd, dtype=float)
        return steer_cmd, np.where(self.ego_active, accel, -MAX_BRAKE)

    def _move_road_users(self) -> None:
        """Pedestrians walk on the signals of the start of the step; traffic reacts to them and
        to the egos' poses at the start of the step (a simultaneous update)."""
        lights = self.cache["lights"]
        entries = [self._ego_footprints()]
        if self.num_static:
            entries.append(self.obstacles.entries())
        if self.pedestrians is not None:
            self.pedestrians.step(self.params.dt, lights, self.rng)
            entries.append(self.pedestrians.entries())
        self.traffic.step(self.params.dt, entries, entries[0].lane_id.shape[1], lights, self.steps, self.rng)

    def _ego_footprints(self) -> RoadUsers:
        """Each ego as an entry of every road lane its box overlaps by more than 0.3 m (from the
        Frenet update at the end of the last step), (B, E * R * slots)."""
        lay = self.layout
        b, slots = self.num_envs, lay.lane_slots
        es, ed = self.ego_s, self.ego_d
        half_lat = self.ego_half_lat[..., None]
        # lane_offset is elementwise: broadcasting (B, 1, 1, 1) rows, (R, 1) roads, (slots,) lanes
        # and (B, E, R, 1) stations gives the (B, E, R, slots) lane centres
        roads = np.arange(lay.num_roads)[None, None, :, None]
        lane_d = lay.lane_offset(self.rows[:, None, None, None], roads, np.arange(slots), es[..., None])
        w = lay.width[:, None, None, None]
        overlap = (np.minimum(ed[..., None] + half_lat, lane_d + 0.5 * w)
                   - np.maximum(ed[..., None] - half_lat, lane_d - 0.5 * w))
        length = lay.length[:, None, :, None]
        near_road = (es[..., None] > -10.0) & (es[..., None] < length + 10.0)
        occupied = (overlap > 0.3) & self.lane_exists[None, None] & near_road
        occupied &= self.ego_active[..., None, None]
        speed = self.ego_speed[..., None] * self.ego_cos_rel  # along each road
        per_slot = lambda a: np.repeat(a, slots, axis=2).reshape(b, -1)  # noqa: E731
        return RoadUsers(self.footprint_lane_id, per_slot(es), per_slot(speed), per_slot(self.ego_half_lon),
                         occupied.reshape(b, -1))

    def _move_egos(self, steer: np.ndarray, accel: np.ndarray) -> EgoMotion:
        """Advance the egos' bicycle models, the clock, and the egos' places on the roads and routes."""
        p = self.params
        active = self.ego_active
        motion = EgoMotion(self.ego_speed.copy(), self.ego_heading.copy(), None)
        x, y, psi, v, yaw_rate = bicycle_step(self.ego_x, self.ego_y, self.ego_heading, self.ego_speed, accel,
                                              steer * MAX_STEER, p.dt, LF, LR, V_MAX)
        if active.all():  # the masked updates below would return the new values
            self.ego_x, self.ego_y, self.ego_heading, self.ego_speed = x, y, psi, v
        else:  # an inactive ego stays where it finished
            self.ego_x = np.where(active, x, self.ego_x)
            self.ego_y = np.where(active, y, self.ego_y)
            self.ego_heading = np.where(active, psi, self.ego_heading)
            self.ego_speed = np.where(active, v, 0.0)
            yaw_rate = np.where(active, yaw_rate, 0.0)
        self.time += p.dt
        self.steps += 1
        self._update_frenet(self.rows)
        # the ego's route point: the closest among -4 .. +15 points around the previous one
        cand = np.minimum(np.maximum(self.route_idx[..., None] + ROUTE_SEARCH, 0), self.route_points - 1)
        flat = self.route_base + cand
        px, py = self.routes["x"].reshape(-1).take(flat), self.routes["y"].reshape(-1).take(flat)
        d2 = (px - self.ego_x[..., None]) ** 2 + (py - self.ego_y[..., None]) ** 2
        self.route_idx = take_last(cand, d2.argmin(axis=2)[..., None])[..., 0]
        return motion._replace(yaw_rate=yaw_rate)

    def _advance_progress(self) -> np.ndarray:
        """Move each active ego's furthest station on its route; return the gain (m, B x E)."""
        station = np.clip(self.cache["route_station"], 0.0, self.routes["length"])
        new_progress = np.maximum(self.progress, station)
        delta = np.where(self.ego_active, new_progress - self.progress, 0.0)
        self.progress = new_progress
        return delta

    def _measure(self, found: Infractions, delta_progress: np.ndarray, steer: np.ndarray) -> rw.Measurements:
        """What the reward terms are computed from (rewards.py)."""
        c, lay = self.cache, self.layout
        steer_change = np.abs(steer - self.steer_prev)
        self.steer_prev = steer.copy()
        route_road = self._route_road()
        road_offset = self._road_offset(route_road)
        w = lay.width[:, None]
        # the objects around each ego in its frame (Roach's hazards are picked from these)
        ce, se = c["ego_cos"][..., None], c["ego_sin"][..., None]
        rel_x, rel_y = c["near_x"] - self.ego_x[..., None], c["near_y"] - self.ego_y[..., None]
        pedestrian = self.object_kind.take(c["near"]) == PEDESTRIAN
        if self.pedestrians is not None:  # a pedestrian on the carriageway (not waiting at the curb)
            slot = np.maximum(c["near"] - self.first_pedestrian, 0)
            on_carriageway = np.take_along_axis(self.pedestrians.on_carriageway(),
                                                slot.reshape(self.num_envs, -1), axis=1).reshape(slot.shape)
            on_road = ~pedestrian | on_carriageway
        else:
            on_road = np.ones(pedestrian.shape, dtype=bool)
        signal = c["has_stop"] & (c["light_state"] != GREEN)
        length = self.routes["length"]
        return rw.Measurements(
            active=self.ego_active, all_active=bool(self.ego_active.all()), speed=self.ego_speed,
            speed_limit=lay.speed_limit[:, None],
            route_progress=100.0 * delta_progress / length, outside_route_lanes=found.outside_route_lanes,
            lane_centre_distance=self._lane_centre_distance(route_road, road_offset), lane_width=w,
            in_junction=route_road < 0,
            steps_since_ttc=self.infractions.steps_since_ttc,
            steps_since_comfort=self.infractions.steps_since_comfort,
            collision=found.collision, red_light=found.red_light, route_deviation=found.route_deviation,
            blocked=found.blocked, route_offset=c["d_lat"], heading_error=c["head_err"],
            steer_change=steer_change,
            objects_x=rel_x * ce + rel_y * se, objects_y=-rel_x * se + rel_y * ce,
            objects_cos_heading=c["near_cos"] * ce + c["near_sin"] * se,
            objects_pedestrian=pedestrian, objects_on_road=on_road, objects_present=c["near_ok"],
            light_distance=np.where(signal, c["stop_dist"] + 0.5 * EGO_LENGTH, np.inf),
            lane_index=np.maximum(np.floor(-road_offset / w), 0), lanes_here=self._lanes_here(route_road),
            forward_speed=self.ego_speed * c["head_cos"], on_road=found.on_road,
        )

    def _outcome(self, terms: dict[str, np.ndarray], events: dict[str, np.ndarray]) -> StepOutcome:
        """Egos that finished their route leave the road (multi-ego); the episode truncates when
        all have finished or at the time limit. Terminations come from the preset's events."""
        e, length = self.num_egos, self.routes["length"]
        finished = self.progress >= length - 1.0
        self.ego_active &= ~finished
        truncated = (self.steps >= self.params.max_steps) | ~self.ego_active.any(axis=1)
        info = {
            "route_completion": np.add.reduce(100.0 * self.progress / length, axis=1) / e,  # mean over egos
            "speed": np.add.reduce(self.ego_speed, axis=1) / e,
        }
        return StepOutcome(terms=terms, terminated=np.zeros(self.num_envs, dtype=bool), truncated=truncated,
                           info=info, events=events)

    # ----------------------------------------------------------------- the egos on their roads
    def _route_road(self) -> np.ndarray:
        """Road of each ego's current route point (-1 inside intersection boxes), (B, E)."""
        return self.routes["road"][self.rows[:, None], np.arange(self.num_egos)[None, :], self.route_idx]

    def _road_offset(self, road: np.ndarray) -> np.ndarray:
        """Lateral offset of each ego on the road its route point lies on (0 inside boxes)."""
        off = take_last(self.ego_d, np.maximum(road, 0)[..., None])[..., 0]
        return np.where(road >= 0, off, -0.5 * self.layout.width[:, None])

    def _lane_centre_distance(self, road: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Distance (B, E) from each ego to the closest lane centre of the road its route point
        lies on, ``offset`` its lateral offset there (0 inside intersection boxes)."""
        lay = self.layout
        w = lay.width[:, None]
        lane = np.minimum(np.maximum(np.floor(-offset / w), 0.0), self._lanes_here(road) - 1)
        dist = np.abs(offset + (lane + 0.5) * w)
        if lay.has_ramp:  # the on-ramp's lane while it exists (its centre follows the taper)
            s = self.ego_s[..., 0]
            ramp = lay.lane_offset(self.rows[:, None], 0, lay.lanes[0], s)
            dist = np.where(s <= lay.merge_end[:, None], np.minimum(dist, np.abs(offset - ramp)), dist)
        return np.where(road >= 0, dist, 0.0)

    def _lanes_here(self, road: np.ndarray) -> np.ndarray:
        return np.where(road >= 0, self.layout.lanes[np.maximum(road, 0)], 1)

    # ----------------------------------------------------------------- metrics, render
    def _episode_metrics(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        cnt = {k: v[rows] for k, v in self.infractions.counts.items()}
        length = self.routes["length"][rows]
        rc = 100.0 * np.clip(self.progress[rows] / length, 0.0, 1.0)
        outside = np.clip(self.outside_dist[rows] / length, 0.0, 1.0)
        ds = inf.driving_score(rc, cnt, outside)
        collisions = cnt["collision_vehicle"] + cnt["collision_static"]
        if self.pedestrians is not None:
            collisions = collisions + cnt["collision_pedestrian"]
        infractions = (collisions + cnt["red_light"] + cnt["off_road"] + cnt["route_deviation"]
                       + cnt["blocked"] + cnt["speeding"])
        out = {
            "driving_score": ds, "route_completion": rc, "collisions": collisions,
            "collisions_vehicle": cnt["collision_vehicle"], "collisions_static": cnt["collision_static"],
            "red_lights": cnt["red_light"], "off_road": cnt["off_road"],
            "route_deviation": cnt["route_deviation"], "blocked": cnt["blocked"], "speeding": cnt["speeding"],
            "ttc_violations": cnt["ttc"], "comfort_violations": cnt["comfort"], "infractions": infractions,
            "outside_lanes": 100.0 * outside,
            "route_completed": (self.progress[rows] >= length - 1.0).astype(float),
        }
        if self.pedestrians is not None:
            out["collisions_pedestrian"] = cnt["collision_pedestrian"]
        return {k: np.asarray(v, dtype=float).mean(axis=1) for k, v in out.items()}

    def render_frame(self, index: int = 0) -> np.ndarray:
        return render_scene(self, index)


class HighwaySim(DrivingSim):
    """Multi-lane highway with an on-ramp merge and a possible broken-down car."""

    Params = HighwayParams
    layout_class = HighwayLayout
    num_static = 1
    route_points = 700


class GridSim(DrivingSim):
    """Signalised intersection (1 x 1 grid) or town (2 x 2 grid), with crosswalk pedestrians."""

    Params = GridParams
    layout_class = GridLayout
    events = inf.EVENTS + ("collision_pedestrian",)  # reported while pedestrians_per_crossing > 0
    route_points = 600

    def _setup(self) -> None:
        if self.params.route_length > self.route_points - 50:
            raise RewardlabError(f"{self.env_id}: route_length must be <= {self.route_points - 50} m")
        super()._setup()

    def _make_pedestrians(self) -> Pedestrians | None:
        if not self.params.pedestrians_per_crossing:
            return None
        return Pedestrians(self.num_envs, self.params, self.layout)
