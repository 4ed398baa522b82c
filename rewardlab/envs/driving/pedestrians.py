"""Pedestrians on the crosswalks of the grid scenarios (intersection, town).

Every intersection has four crosswalks, one across each arm, ``CROSSWALK_SETBACK`` inside the
box's edge. A pedestrian waits at a crosswalk end, ``CURB_STANDOFF`` beyond the carriageway, and
starts once its waiting time is over and its walk signal is on: it walks with the parallel
green (a crosswalk across the east-west street walks while the north-south group is green and
vice versa). Once started it walks on whatever the signal, and at the far curb it respawns at a
random end of the same crosswalk with a new speed and waiting time. Traffic sees a pedestrian
on the carriageway as a standing entry in the lane it stands in; egos meet it as an object.
"""

from __future__ import annotations

import numpy as np

from rewardlab.envs.driving.traffic import GREEN, RoadUsers

PEDESTRIAN_SIZE = 0.6  # side of a pedestrian's square box, m
CROSSWALK_SETBACK = 2.0  # crosswalk centre line: this far inside the intersection box's edge, m
CURB_STANDOFF = 1.5  # a waiting pedestrian stands this far beyond the carriageway's edge, m
STANDING_HALF_LENGTH = 0.5  # m: traffic holds for a pedestrian as for a 1 m long standing obstacle


class Pedestrians:
    """The pedestrians of B instances, (B, P) arrays, P = 4 crosswalks x intersections x per.

    ``position`` is along the crosswalk (m from the street's centre line, positive to the left of
    the crosswalk's reference road), ``direction`` +1 / -1, ``speed``, ``wait`` (s left before it
    may start) and ``crossing``; ``x``, ``y``, ``heading`` its world pose.
    """

    def __init__(self, num_envs: int, params, layout) -> None:
        nx, ny = params.grid
        per = params.pedestrians_per_crossing
        self.params, self.layout = params, layout
        self.count = 4 * nx * ny * per
        # crosswalks, 4 per intersection k = j * nx + i: across its east, west, north and south
        # arms. Each crosses one street (two one-way roads): the eastbound / northbound road,
        # whose left normal is the crosswalk's position axis, and the opposite road (position
        # < 0: the first road's lanes, > 0: the opposite road's). Pedestrian j walks crosswalk j // per.
        intersection, arm, road_pos, group = [], [], [], []
        for k in range(nx * ny):
            j, i = divmod(k, nx)
            for a, (ux, uy) in enumerate(((1, 0), (-1, 0), (0, 1), (0, -1))):
                intersection.append(k)
                arm.append((ux, uy))
                road_pos.append(2 * j if a < 2 else 2 * ny + 2 * i)
                group.append(1 if a < 2 else 0)  # the signal group of the street it crosses
        rep = lambda v: np.repeat(np.asarray(v), per, axis=0)  # noqa: E731
        self.intersection = rep(intersection)
        self.arm = rep(arm).astype(float)  # (P, 2) unit vector from the centre along the arm
        self.road_pos = rep(road_pos)
        self.road_neg = self.road_pos + 1
        # walk with the parallel green: the other group's signal at the same intersection
        self.walk_light = self.intersection * 2 + (1 - rep(group))
        east_west = rep(group) == 1
        self.normal_x = np.where(east_west, 0.0, -1.0)  # left normal of road_pos: north (E-W), west (N-S)
        self.normal_y = np.where(east_west, 1.0, 0.0)
        self.heading_pos = np.where(east_west, 0.5 * np.pi, np.pi)  # heading when walking toward +position
        slots = layout.lane_slots
        self.lane_id_pos, self.lane_id_neg = self.road_pos * slots, self.road_neg * slots
        b, npd = num_envs, self.count
        self.centre_x, self.centre_y = np.zeros((b, npd)), np.zeros((b, npd))  # on the street's centre line
        self.station_pos, self.station_neg = np.zeros((b, npd)), np.zeros((b, npd))  # on road_pos, road_neg
        # per instance: the carriageway's half width plus half a pedestrian (on it, a pedestrian
        # holds traffic) and the |position| of a waiting pedestrian (the far curb of a crossing one)
        self.road_half, self.curb = np.zeros((b, 1)), np.zeros((b, 1))
        self.position, self.direction = np.zeros((b, npd)), np.ones((b, npd))
        self.speed, self.wait = np.zeros((b, npd)), np.zeros((b, npd))
        self.crossing = np.zeros((b, npd), dtype=bool)
        self.step_distance = np.zeros((b, npd))  # direction x speed x dt
        self.x, self.y, self.heading = np.zeros((b, npd)), np.zeros((b, npd)), np.zeros((b, npd))

    def place(self, rows: np.ndarray, rng) -> None:
        """Crosswalk geometry of the new layouts and every pedestrian waiting at a curb."""
        lay = self.layout
        rr = rows[:, None]
        centre = lay.centers[rr, self.intersection]  # (nb, P, 2)
        setback = (lay.half_box[rows] - CROSSWALK_SETBACK)[:, None]
        cx = centre[..., 0] + self.arm[:, 0] * setback
        cy = centre[..., 1] + self.arm[:, 1] * setback
        geo = lay.road_geo[rr, self.road_pos]  # origin x, y, heading, cos, sin
        s_pos = (cx - geo[..., 0]) * geo[..., 3] + (cy - geo[..., 1]) * geo[..., 4]
        self.centre_x[rows], self.centre_y[rows] = cx, cy
        self.station_pos[rows] = s_pos
        self.station_neg[rows] = lay.length[rr, self.road_pos] - s_pos
        half = self.params.lanes_per_direction * lay.width[rows]
        self.road_half[rows, 0] = half + 0.5 * PEDESTRIAN_SIZE
        self.curb[rows, 0] = half + CURB_STANDOFF
        u = rng.uniform((self.count, 3), rows)
        self._respawn(rows, u, np.ones(u.shape[:2], dtype=bool))

    def _respawn(self, rows: np.ndarray, u: np.ndarray, which: np.ndarray) -> None:
        """Pedestrians ``which`` (of instances ``rows``) wait at a random end of their crosswalk
        with a new speed and a random delay before they may start; u: (rows, P, 3) uniforms."""
        p = self.params
        lo, hi = p.pedestrian_speed_range
        direction = np.where(u[..., 0] < 0.5, 1.0, -1.0)
        at = (rows[:, None], np.arange(self.count)[None, :])
        self.direction[at] = np.where(which, direction, self.direction[rows])
        self.position[at] = np.where(which, -direction * self.curb[rows], self.position[rows])
        self.speed[at] = np.where(which, lo + (hi - lo) * u[..., 1], self.speed[rows])
        self.step_distance[at] = self.direction[rows] * self.speed[rows] * p.dt
        self.wait[at] = np.where(which, p.pedestrian_max_wait * u[..., 2], self.wait[rows])
        self.crossing[at] &= ~which
        heading = self.heading_pos + np.where(direction < 0, np.pi, 0.0)
        self.heading[at] = np.where(which, heading, self.heading[rows])
        self.update_pose(rows)

    def update_pose(self, rows: np.ndarray) -> None:
        """World position of the pedestrians of ``rows`` from their crosswalk position."""
        q = self.position[rows]
        self.x[rows] = self.centre_x[rows] + q * self.normal_x
        self.y[rows] = self.centre_y[rows] + q * self.normal_y

    def step(self, dt: float, lights: np.ndarray, rng) -> None:
        """Waiting pedestrians start on their walk phase once their delay is over; crossing ones
        walk on and respawn at a crosswalk end when they reach the far curb. ``lights``: the
        signals (B, K, 2) at the start of the step, as the traffic sees them."""
        walk = lights.reshape(lights.shape[0], -1).take(self.walk_light, axis=1) == GREEN
        self.wait -= dt
        crossing = self.crossing | (walk & (self.wait <= 0.0))
        self.crossing = crossing
        self.position = self.position + crossing * self.step_distance
        self.x = self.centre_x + self.position * self.normal_x
        self.y = self.centre_y + self.position * self.normal_y
        done = crossing & (self.direction * self.position >= self.curb)
        if done.any():
            rows = np.flatnonzero(done.any(axis=1))
            u = rng.uniform((self.count, 3), rows)
            self._respawn(rows, u, done[rows])

    def on_carriageway(self) -> np.ndarray:
        """(B, P): the pedestrian stands on the carriageway (not waiting at a curb)."""
        return np.abs(self.position) < self.road_half

    def entries(self) -> RoadUsers:
        """The pedestrians as standing entries of the lane index: in the lane they stand in,
        while they cross on the carriageway."""
        q = self.position
        left = q > 0.0
        lane_id = np.where(left, self.lane_id_neg, self.lane_id_pos)
        abs_q = np.abs(q)
        lanes = self.params.lanes_per_direction
        if lanes > 1:  # the lane it stands in (one lane: lane 0)
            lane = np.minimum(abs_q / self.layout.width[:, None], lanes - 1)
            lane_id = lane_id + lane.astype(np.int64)  # truncation = floor: lane >= 0
        station = np.where(left, self.station_neg, self.station_pos)
        on_road = self.crossing & (abs_q < self.road_half)
        return RoadUsers(lane_id, station, np.zeros(q.shape), np.full(q.shape, STANDING_HALF_LENGTH), on_road)
