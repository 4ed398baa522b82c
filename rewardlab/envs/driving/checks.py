"""The infraction checks of a step: what each ego did, as a named tuple, and the memory they need.

:class:`InfractionMonitor` keeps, per ego, what the checks remember from one step to the next
(contacts, standing time, CaRL's comfort history, steps since the last TTC and comfort
violation, which conditions held on the previous step) and the episode's counts;
:meth:`InfractionMonitor.check` returns the step's :class:`Infractions`. The definitions are in
``infractions.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rewardlab.envs.driving import infractions as inf
from rewardlab.envs.driving.traffic import RED
from rewardlab.envs.driving.vehicle import EGO_LENGTH, EGO_WIDTH, boxes_overlap, wrap_angle

LONG_AGO = 10**9  # steps since a violation that never happened
# 15 sample points of the ego's box (5 along x 3 across) for the off-road fraction
BOX_SAMPLES_LON = np.repeat(np.array([-0.5, -0.25, 0.0, 0.25, 0.5]) * EGO_LENGTH, 3)
BOX_SAMPLES_LAT = np.tile(np.array([-0.5, 0.0, 0.5]) * EGO_WIDTH, 5)
TTC_TIMES = np.array((0.0, *inf.TTC_HORIZONS))[:, None]  # now and the TTC projections, (T, 1)
COUNTED = ("collision_vehicle", "collision_static", "red_light", "off_road", "route_deviation", "blocked",
           "speeding", "ttc", "comfort")


class EgoMotion(NamedTuple):
    """What the comfort check needs from the egos' physics step, (B, E)."""

    speed_before: np.ndarray
    heading_before: np.ndarray
    yaw_rate: np.ndarray


class Infractions(NamedTuple):
    """What each ego (B, E) did on one step (inactive egos commit nothing)."""

    collision_vehicle: np.ndarray  # a new contact with a traffic vehicle or another ego
    collision_static: np.ndarray
    collision_pedestrian: np.ndarray | None  # None in scenarios without pedestrians
    collision: np.ndarray  # any of the three
    red_light: np.ndarray
    off_road: np.ndarray
    on_road: np.ndarray  # the box's centre sample lies on a lane or intersection box
    route_deviation: np.ndarray
    outside_route_lanes: np.ndarray  # the centre is outside the route's same-direction lanes
    blocked: np.ndarray
    speeding: np.ndarray
    ttc: np.ndarray  # a time-to-collision violation while moving
    comfort: np.ndarray  # (B, E, 6): the comfort bounds violated


class InfractionMonitor:
    """Per-ego memory of the checks and the episode's infraction counts, (B, E) arrays."""

    def __init__(self, num_envs: int, num_egos: int, num_objects: int, params, has_pedestrians: bool) -> None:
        b, e = num_envs, num_egos
        self.params = params
        self.contact = np.zeros((b, e, num_objects), dtype=bool)
        self.stopped_time = np.zeros((b, e))
        # CaRL's comfort history: longitudinal, lateral acceleration, its magnitude, unwrapped yaw
        # over the last COMFORT_HISTORY steps (newest last), and how many steps it holds
        self.comfort_history = np.zeros((b, e, inf.COMFORT_HISTORY, 4))
        self.comfort_samples = np.zeros((b, e), dtype=np.int64)
        self.comfort_filters = inf.comfort_filters(params.dt)
        # steps since the last TTC violation and since each comfort bound's last violation (the
        # reward's penalty windows read them)
        self.steps_since_ttc = np.zeros((b, e), dtype=np.int64)
        self.steps_since_comfort = np.zeros((b, e, 6), dtype=np.int64)
        # conditions counted once per occurrence: whether they held on the previous step
        self.previous = {name: np.zeros((b, e), dtype=bool)
                         for name in ("off_road", "route_deviation", "speeding", "ttc", "comfort")}
        names = COUNTED + ("collision_pedestrian",) if has_pedestrians else COUNTED
        self.counts = {name: np.zeros((b, e)) for name in names}

    def reset(self, rows: np.ndarray) -> None:
        for arr in (self.contact, self.stopped_time, self.comfort_history, self.comfort_samples,
                    *self.previous.values(), *self.counts.values()):
            arr[rows] = 0
        self.steps_since_ttc[rows] = LONG_AGO
        self.steps_since_comfort[rows] = LONG_AGO

    def check(self, sim, prev_front: np.ndarray, motion: EgoMotion) -> Infractions:
        """The step's infractions, from the simulator after its physics and perception."""
        p, lay, c, routes = self.params, sim.layout, sim.cache, sim.routes
        active = sim.ego_active
        speed = sim.ego_speed
        # route deviation: the centre beyond the outer edge of the route's same-direction lanes
        w = lay.width[:, None]
        at = (sim.rows[:, None], np.arange(sim.num_egos)[None, :], sim.route_idx)
        upper, lower = (routes["lanes_left"][at] + 0.5) * w, -(routes["lanes_right"][at] + 0.5) * w
        d_lat = c["d_lat"]
        outside_lanes = (d_lat > upper) | (d_lat < lower)
        margin = p.route_deviation_margin
        deviation = ((d_lat > upper + margin) | (d_lat < lower - margin)) & active
        contact, ttc = self._contacts(sim)
        new_contact = contact & ~self.contact
        self.contact = contact
        coll_vehicle = np.any(new_contact & sim.object_is_vehicle, axis=2)
        coll_static = np.any(new_contact & sim.object_is_static, axis=2)
        collision = coll_vehicle | coll_static
        coll_pedestrian = None
        if sim.pedestrians is not None:
            coll_pedestrian = np.any(new_contact & sim.object_is_pedestrian, axis=2)
            collision = collision | coll_pedestrian
        # red light: the front crosses a stop line on the route while its signal is red
        front = c["route_station"] + 0.5 * EGO_LENGTH
        if lay.num_intersections:
            stops = routes["stop_s"]
            crossed = (prev_front[..., None] < stops) & (front[..., None] >= stops)
            stop_state = c["lights"][sim.rows[:, None, None], routes["stop_light"], routes["stop_group"]]
            red_light = (crossed & (stop_state == RED)).any(axis=2) & active
        else:  # no stop lines: every stop station is +inf, nothing is ever crossed
            red_light = np.zeros(active.shape, dtype=bool)
        off_fraction = off_road_fraction(sim)
        # blocked: standing still without a reason (a vehicle or a non-green signal close ahead)
        excuse = (c["hazard_vehicle"] < 15.0) | ((c["stop_dist"] < 20.0) & (c["light_state"] != 0))
        still = (speed < 0.1) & ~excuse & active
        self.stopped_time = np.where(still, self.stopped_time + p.dt, 0.0)
        blocked = self.stopped_time >= p.blocked_time - 1e-9
        self.stopped_time = np.where(blocked, 0.0, self.stopped_time)
        comfort = self._comfort_violations(sim, motion) & active[..., None]
        self.steps_since_comfort = np.where(comfort, 0, self.steps_since_comfort + 1)
        # time to collision counts only while the ego moves (CaRL, after nuPlan)
        ttc = ttc & (speed >= inf.TTC_MIN_SPEED) & active
        self.steps_since_ttc = np.where(ttc, 0, self.steps_since_ttc + 1)
        return Infractions(
            collision_vehicle=coll_vehicle, collision_static=coll_static,
            collision_pedestrian=coll_pedestrian, collision=collision, red_light=red_light,
            off_road=(off_fraction > p.off_road_fraction) & active,
            on_road=off_fraction < 1.0, route_deviation=deviation, outside_route_lanes=outside_lanes,
            blocked=blocked, speeding=(speed > lay.speed_limit[:, None]) & active, ttc=ttc, comfort=comfort)

    def count(self, found: Infractions) -> dict[str, np.ndarray]:
        """Add the step's infractions to the counts and return the events (B,): any ego's."""
        counts, previous = self.counts, self.previous

        def rising(name, now):  # counted on the first step of an occurrence
            before, previous[name] = previous[name], now
            return now & ~before

        counts["collision_vehicle"] += found.collision_vehicle
        counts["collision_static"] += found.collision_static
        counts["red_light"] += found.red_light
        counts["off_road"] += rising("off_road", found.off_road)
        counts["route_deviation"] += rising("route_deviation", found.route_deviation)
        counts["blocked"] += found.blocked
        counts["speeding"] += rising("speeding", found.speeding)
        counts["ttc"] += rising("ttc", found.ttc)
        counts["comfort"] += rising("comfort", np.any(found.comfort, axis=2))
        events = {name: np.any(getattr(found, name), axis=1) for name in (
            "collision", "collision_vehicle", "collision_static", "red_light", "off_road", "route_deviation",
            "blocked")}
        if found.collision_pedestrian is not None:
            counts["collision_pedestrian"] += found.collision_pedestrian
            events["collision_pedestrian"] = np.any(found.collision_pedestrian, axis=1)
        return events

    def _contacts(self, sim) -> tuple[np.ndarray, np.ndarray]:
        """Contact of each ego with every object (B, E, M) now, and whether a constant-velocity
        projection 0.1-0.9 s ahead overlaps one of its nearest objects (B, E), in one box test."""
        c = sim.cache
        near_ok = c["near_ok"] & sim.ego_active[..., None]
        tau = TTC_TIMES  # (T, 1) against (..., T, K)
        ce, se = c["ego_cos"][..., None, None], c["ego_sin"][..., None, None]
        co, so = c["near_cos"][..., None, :], c["near_sin"][..., None, :]
        ve = sim.ego_speed[..., None, None] * tau
        vo = c["near_v"][..., None, :] * tau
        ego = (sim.ego_x[..., None, None] + ve * ce, sim.ego_y[..., None, None] + ve * se,
               sim.ego_heading[..., None, None], EGO_LENGTH, EGO_WIDTH)
        other = (c["near_x"][..., None, :] + vo * co, c["near_y"][..., None, :] + vo * so,
                 c["near_psi"][..., None, :], c["near_len"][..., None, :], c["near_wid"][..., None, :])
        hit = boxes_overlap(*ego, *other, trig=(ce, se, co, so)) & near_ok[..., None, :]
        ttc = np.any(np.any(hit[..., 1:, :], axis=2) & near_ok, axis=2)
        contact = np.zeros(self.contact.shape, dtype=bool)
        np.put_along_axis(contact, c["near"], hit[..., 0, :], axis=2)
        return contact, ttc

    def _comfort_violations(self, sim, motion: EgoMotion) -> np.ndarray:
        """Which comfort bounds each ego violates this step, (B, E, 6): the step's accelerations
        (a_lon = dv/dt, a_lat = v x yaw rate) and yaw enter the history, CaRL's Savitzky-Golay
        filters give the quantities, checked once COMFORT_MIN_HISTORY steps are in."""
        hist = self.comfort_history
        yaw = hist[..., -1, 3] + wrap_angle(sim.ego_heading - motion.heading_before)  # unwrapped
        a_lon = (sim.ego_speed - motion.speed_before) / self.params.dt
        a_lat = sim.ego_speed * motion.yaw_rate
        hist[..., :-1, :] = hist[..., 1:, :]
        hist[..., -1, 0], hist[..., -1, 1] = a_lon, a_lat
        hist[..., -1, 2], hist[..., -1, 3] = np.hypot(a_lon, a_lat), yaw
        self.comfort_samples = np.minimum(self.comfort_samples + 1, inf.COMFORT_HISTORY)
        samples = self.comfort_samples
        six, flat = self.comfort_filters["six"], hist.reshape(hist.shape[:2] + (-1,))
        if samples.min() == inf.COMFORT_HISTORY:  # every ego has a full history: one weight matrix
            q = flat @ six[inf.COMFORT_HISTORY]
        else:  # the jerk weights depend on the samples held (zero below the minimum)
            q = np.einsum("bef,befq->beq", flat, six.take(samples, axis=0))
        violated = inf.comfort_violations(q[..., 0], q[..., 1], q[..., 2], q[..., 3], q[..., 4], q[..., 5],
                                          self.params.comfort_bounds)
        return violated & (samples >= inf.COMFORT_MIN_HISTORY)[..., None]


def off_road_fraction(sim) -> np.ndarray:
    """Fraction (B, E) of 15 sample points of each ego's box that are off the drivable area."""
    lay = sim.layout
    es, ed, eh = sim.ego_s, sim.ego_d, sim.ego_road_heading  # (B, E, R)
    # the samples are tested in the road frame at the ego's projection, where every sample of the
    # box lies within the box's half extents along and across the road; a box that deep inside
    # some road's lanes (1 cm to spare for rounding) has every sample on that road's lanes and
    # needs no sampling (the common case)
    half_lat, half_lon = sim.ego_half_lat + 0.01, sim.ego_half_lon + 0.01
    w = lay.width[:, None, None]
    deep = (es >= half_lon) & (es <= lay.length[:, None, :] - half_lon) & (ed <= -half_lat) & (
        ed >= -lay.lanes * w + half_lat)
    shallow = ~np.any(deep, axis=2)
    if not shallow.any():
        return np.zeros(sim.ego_x.shape)
    # sample only the instances with an ego near an edge (a deep ego's fraction is 0 either way)
    rows = np.flatnonzero(np.any(shallow, axis=1))
    ex, ey, epsi = sim.ego_x[rows], sim.ego_y[rows], sim.ego_heading[rows]
    es, ed, eh = es[rows], ed[rows], eh[rows]
    c, s = np.cos(epsi)[..., None], np.sin(epsi)[..., None]
    px = ex[..., None] + BOX_SAMPLES_LON * c - BOX_SAMPLES_LAT * s
    py = ey[..., None] + BOX_SAMPLES_LON * s + BOX_SAMPLES_LAT * c
    ddx = (px - ex[..., None])[..., None]
    ddy = (py - ey[..., None])[..., None]
    ch, sh = np.cos(eh)[:, :, None, :], np.sin(eh)[:, :, None, :]
    ps = es[:, :, None, :] + ddx * ch + ddy * sh
    pd = ed[:, :, None, :] - ddx * sh + ddy * ch
    ok = lay.drivable(rows, ps, pd, px, py)
    out = np.zeros(sim.ego_x.shape)
    out[rows] = 1.0 - ok.mean(axis=2)
    return out
