"""Traffic behaviour: IDM longitudinal control, MOBIL lane changes and traffic lights, batched.

Intelligent Driver Model (Treiber, Hennecke & Helbing, 2000), with the ego's parameters named
as in highway-env::

    s*(v, dv) = s0 + max(0, v T + v dv / (2 sqrt(a b)))
    a_IDM     = a [1 - (v / v0)^delta - (s* / gap)^2]

``gap`` is bumper to bumper and ``dv = v - v_leader``. At a steady state behind a leader that
drives at the same speed v, a_IDM = 0 gives the equilibrium gap

    gap_eq(v) = (s0 + v T) / sqrt(1 - (v / v0)^delta).

MOBIL (Kesting, Treiber & Helbing, 2007) with politeness 0 (highway-env's default): change to
an adjacent lane when the acceleration there exceeds the current one by ``threshold`` and the new
follower would not have to brake harder than ``b_safe``.

Leaders and followers are found for all instances at once (:class:`RoadIndex`): entries are
sorted on a composite key (road, station) per row, and for every lane slot a cumulative min/max
over the sorted positions gives the next and previous entry in that slot, so an entry's leader
and follower in its own or an adjacent lane are single gathers. No Python loop runs over
instances or vehicles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rewardlab.envs.driving.road import HIDDEN

#: sort keys are road * LANE_STRIDE + station; stations stay well inside (-LANE_STRIDE/2, LANE_STRIDE/2)
LANE_STRIDE = 1.0e5
INACTIVE_KEY = 5.0e7

GREEN, YELLOW, RED = 0, 1, 2


@dataclass(frozen=True)
class IDMParams:
    """IDM and MOBIL constants: highway-env's defaults for its IDMVehicle (Treiber's IDM with
    a = 3, b = 5 m/s^2, T = 1.5 s, s0 = 5 m, delta = 4) and MOBIL (politeness 0, threshold
    0.2 m/s^2, b_safe = 2 m/s^2, one decision per second)."""

    a: float = 3.0  # comfortable acceleration, m/s^2
    b: float = 5.0  # comfortable deceleration, m/s^2
    a_max: float = 6.0  # physical acceleration limit, m/s^2
    b_max: float = 9.0  # physical braking limit, m/s^2
    time_gap: float = 1.5  # T, s
    jam_distance: float = 5.0  # s0, m, bumper to bumper
    delta: float = 4.0
    politeness: float = 0.0
    threshold: float = 0.2  # MOBIL acceleration gain threshold, m/s^2
    b_safe: float = 2.0  # MOBIL: the new follower may brake at most this hard, m/s^2
    lane_change_delay: float = 1.0  # s between lane-change decisions of one vehicle


def idm_acceleration(v, v0, gap, dv, p: IDMParams) -> np.ndarray:
    """IDM acceleration; ``gap`` may be ``inf`` (free road). Clipped to the physical limits."""
    s_star = p.jam_distance + np.maximum(0.0, v * (p.time_gap + dv * (0.5 / np.sqrt(p.a * p.b))))
    ratio = s_star / np.maximum(gap, 0.1)  # 0 for a free road (gap = inf)
    x = np.maximum(v, 0.0) / v0
    free = x * x * x * x if p.delta == 4.0 else x**p.delta
    return np.minimum(np.maximum(p.a * (1.0 - free - ratio * ratio), -p.b_max), p.a_max)


def idm_equilibrium_gap(v, v0, p: IDMParams) -> np.ndarray:
    """Bumper-to-bumper gap at which IDM holds speed ``v`` behind a leader at the same speed."""
    return (p.jam_distance + v * p.time_gap) / np.sqrt(1.0 - (v / v0) ** p.delta)


_ROW_BASE: dict[tuple[int, int], np.ndarray] = {}


def row_base(b: int, m: int) -> np.ndarray:
    """(b, 1) flat offsets 0, m, 2m, ... of the rows of a (b, m) array (read-only, cached)."""
    base = _ROW_BASE.get((b, m))
    if base is None:
        base = _ROW_BASE[(b, m)] = (np.arange(b, dtype=np.int64) * m)[:, None]
        base.flags.writeable = False
    return base


def take_rows(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[b, index[b, k]] for a 2-D ``values`` (``np.take_along_axis(values, index, axis=1)``)."""
    b, m = values.shape
    return np.ascontiguousarray(values).reshape(-1).take(row_base(b, m) + index)


_POSITIONS: dict[tuple[int, int], np.ndarray] = {}


def _positions(b: int, m: int) -> np.ndarray:
    """0, 1, ..., m - 1 repeated for b rows, flat (read-only, cached per shape)."""
    pos = _POSITIONS.get((b, m))
    if pos is None:
        pos = _POSITIONS[(b, m)] = np.tile(np.arange(m), b)
        pos.flags.writeable = False
    return pos


def lane_leaders(lane_id: np.ndarray, station: np.ndarray, active: np.ndarray, count: int) -> np.ndarray:
    """Entry index of the leader (next entry ahead in the same lane, -1 if none) of the first
    ``count`` entries, from one sort of (lane, station) keys per row."""
    b, m = lane_id.shape
    base = row_base(b, m)
    keys = np.where(active, lane_id * LANE_STRIDE + station, INACTIVE_KEY)
    order = keys.argsort(axis=1, kind="stable")
    order_flat = base + order
    sorted_lane = np.where(active, lane_id, -1).reshape(-1).take(order_flat).reshape(-1)
    rank = np.empty_like(order)
    rank.reshape(-1)[order_flat.reshape(-1)] = _positions(b, m)
    rank = rank[:, :count]
    nxt_flat = base + np.minimum(rank + 1, m - 1)
    own = sorted_lane.take(base + rank)
    ok = (rank + 1 < m) & (sorted_lane.take(nxt_flat) == own) & (own >= 0)
    return np.where(ok, order.reshape(-1).take(nxt_flat), -1)


class RoadIndex:
    """Entries (B, M) sorted by (road, station), with next/previous entry of every lane slot.

    For each lane slot l, ``np.minimum.accumulate`` over the reversed sorted order gives the
    first position at or after each position whose entry is in slot l (and
    ``np.maximum.accumulate`` the last one at or before). An entry's leader in any slot of its
    road is then one gather away, so MOBIL's queries into the adjacent lanes need no search.
    Entries at exactly the same station in two lanes are ordered arbitrarily.
    """

    def __init__(self, road: np.ndarray, slot: np.ndarray, station: np.ndarray, active: np.ndarray,
                 num_slots: int) -> None:
        self.num_rows, self.num_entries = road.shape
        b, m = road.shape
        keys = np.where(active, road * LANE_STRIDE + station, INACTIVE_KEY)
        self.order = np.argsort(keys, axis=1, kind="stable")
        self.sorted_road = take_rows(np.where(active, road, -1), self.order)
        sorted_slot = take_rows(slot, self.order)
        self.rank = np.empty_like(self.order)
        self.rank.reshape(-1)[(row_base(b, m) + self.order).reshape(-1)] = _positions(b, m)
        pos = np.arange(m)
        # every lane slot at once, (slots, B, M): membership, then running min / max positions
        member = (sorted_slot == np.arange(num_slots)[:, None, None]) & (self.sorted_road >= 0)
        next_in = np.minimum.accumulate(np.where(member, pos, m)[..., ::-1], axis=2)[..., ::-1]
        self.next_in = np.ascontiguousarray(next_in)
        self.prev_in = np.maximum.accumulate(np.where(member, pos, -1), axis=2)
        self.road = road

    def neighbours(self, target_slot: np.ndarray, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Leader and follower (entry indices, -1 if none) of the first ``count`` entries in
        slot ``target_slot`` (B, count) of their own road."""
        b, m = self.num_rows, self.num_entries
        count = m if count is None else count
        rank = self.rank[:, :count]
        road = self.road[:, :count]
        rows = np.arange(b)[:, None]
        slot = np.minimum(np.maximum(target_slot, 0), self.next_in.shape[0] - 1)
        after = np.minimum(rank + 1, m - 1)
        before = np.maximum(rank - 1, 0)
        lead_pos = self.next_in.reshape(-1).take((slot * b + rows) * m + after)
        foll_pos = self.prev_in.reshape(-1).take((slot * b + rows) * m + before)
        lead_ok = (rank + 1 < m) & (lead_pos < m)
        foll_ok = (rank >= 1) & (foll_pos >= 0)
        lead_c = np.minimum(lead_pos, m - 1)
        foll_c = np.maximum(foll_pos, 0)
        lead_ok &= take_rows(self.sorted_road, lead_c) == road
        foll_ok &= take_rows(self.sorted_road, foll_c) == road
        leader = np.where(lead_ok, take_rows(self.order, lead_c), -1)
        follower = np.where(foll_ok, take_rows(self.order, foll_c), -1)
        return leader, follower


    def neighbours_of(self, rows: np.ndarray, entries: np.ndarray, target_slot: np.ndarray):
        """Leader and follower in slot ``target_slot`` of the listed (row, entry) pairs (1-D)."""
        m = self.num_entries
        rank = self.rank[rows, entries]
        road = self.road[rows, entries]
        slot = np.minimum(np.maximum(target_slot, 0), self.next_in.shape[0] - 1)
        lead_pos = self.next_in[slot, rows, np.minimum(rank + 1, m - 1)]
        foll_pos = self.prev_in[slot, rows, np.maximum(rank - 1, 0)]
        lead_c, foll_c = np.minimum(lead_pos, m - 1), np.maximum(foll_pos, 0)
        lead_ok = (rank + 1 < m) & (lead_pos < m) & (self.sorted_road[rows, lead_c] == road)
        foll_ok = (rank >= 1) & (foll_pos >= 0) & (self.sorted_road[rows, foll_c] == road)
        return (np.where(lead_ok, self.order[rows, lead_c], -1),
                np.where(foll_ok, self.order[rows, foll_c], -1))


def light_states(time: np.ndarray, green: np.ndarray, yellow: np.ndarray, all_red: np.ndarray,
                 offset: np.ndarray) -> np.ndarray:
    """Signal state (GREEN, YELLOW or RED) of both groups, (B, K, 2), at ``time`` (B,).

    The cycle is: group 0 green, yellow, all red, group 1 green, yellow, all red.
    """
    g0, g1 = green[..., 0], green[..., 1]
    cycle = g0 + g1 + 2.0 * (yellow + all_red)
    t = np.mod(time[:, None] + offset, cycle)
    s0 = np.where(t < g0, GREEN, np.where(t < g0 + yellow, YELLOW, RED))
    start1 = g0 + yellow + all_red
    s1 = np.where(
        (t >= start1) & (t < start1 + g1),
        GREEN,
        np.where((t >= start1 + g1) & (t < start1 + g1 + yellow), YELLOW, RED),
    )
    out = np.empty(s0.shape + (2,), dtype=s0.dtype)
    out[..., 0], out[..., 1] = s0, s1
    return out


MOBIL_GRID = 5  # steps between lane-change decision instants (0.5 s at 10 Hz)
LANE_CHANGE_RATE = 1.2  # m/s: a vehicle changing lanes moves sideways toward its new lane centre
OBSTACLE_LENGTH, OBSTACLE_WIDTH = 4.5, 1.9  # a broken-down car, m


class RoadUsers(NamedTuple):
    """Entries (B, M) of the lane index that traffic reacts to: the lane id (road * slots +
    lane), station, speed along the road, half length, and whether the entry is there."""

    lane_id: np.ndarray
    station: np.ndarray
    speed: np.ndarray
    half_length: np.ndarray
    active: np.ndarray


class Traffic:
    """The IDM/MOBIL vehicles of B instances, (B, N) arrays in road coordinates.

    A vehicle drives on lane ``lane`` of road ``road`` at station ``station`` (m along the road)
    with ``speed`` toward its ``desired_speed``; during a lane change it sits ``lateral`` m off
    its new lane's centre and closes that offset at ``LANE_CHANGE_RATE``. ``active`` vehicles
    take part; a vehicle leaving its road re-enters it upstream (:meth:`_respawn`).
    """

    def __init__(self, num_envs: int, params, layout) -> None:
        b, n = num_envs, params.num_vehicles
        self.params, self.layout, self.num_vehicles = params, layout, n
        self.rows = np.arange(b)
        self.road, self.lane = np.zeros((b, n), dtype=np.int64), np.zeros((b, n), dtype=np.int64)
        self.station, self.speed, self.desired_speed = np.zeros((b, n)), np.zeros((b, n)), np.zeros((b, n))
        self.lateral, self.lateral_speed = np.zeros((b, n)), np.zeros((b, n))
        self.length, self.width = np.full((b, n), 4.5), np.full((b, n), 1.9)
        self.active = np.zeros((b, n), dtype=bool)
        self.decision_timer = np.zeros((b, n))  # s until the next lane-change decision

    # ----------------------------------------------------------------- placement
    def place(self, rows: np.ndarray, rng, routes: dict[str, np.ndarray], num_egos: int) -> None:
        """Vehicles on a per-lane lattice of random spacing, a random subset of sites occupied,
        clear of the egos' start positions."""
        p, lay = self.params, self.layout
        nb, n = len(rows), self.num_vehicles
        slots = lay.lane_slots
        num_lanes = lay.num_roads * slots
        sites = 40
        u = rng.uniform((num_lanes + 2 * n + 4 + sites * num_lanes,), rows)
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
        ego_lane = routes["start_road"][rows] * slots + routes["start_lane"][rows]  # (nb, E)
        ego_s = routes["start_s"][rows]
        for e in range(num_egos):
            same_lane = lane_ids[None, :, None] == ego_lane[:, e, None, None]
            near = same_lane & (np.abs(site_s - ego_s[:, e, None, None]) < 25.0)
            valid &= ~near
        priority = np.where(valid, u[:, num_lanes + 2 * n + 4 :].reshape(nb, num_lanes, sites), -1.0)
        flat = priority.reshape(nb, -1)
        chosen = np.argpartition(-flat, n - 1, axis=1)[:, :n]  # the n highest priorities (per row)
        ok = np.take_along_axis(flat, chosen, axis=1) >= 0.0
        chosen_lane = chosen // sites
        self.road[rows] = road[chosen_lane]
        self.lane[rows] = lane[chosen_lane]
        self.station[rows] = np.take_along_axis(site_s.reshape(nb, -1), chosen, axis=1)
        count = p.min_vehicles + np.floor(u[:, num_lanes + n] * (n - p.min_vehicles + 1)).astype(np.int64)
        self.active[rows] = ok & (np.arange(n)[None, :] < count[:, None])
        limit = lay.speed_limit[rows, None]
        self.desired_speed[rows] = limit * (0.8 + 0.25 * u[:, num_lanes : num_lanes + n])
        self.speed[rows] = self.desired_speed[rows] * 0.9
        self.lateral[rows] = 0.0
        self.lateral_speed[rows] = 0.0
        # lane-change decisions at random phases of the decision period
        self.decision_timer[rows] = p.idm.lane_change_delay * u[:, num_lanes + n + 4 : num_lanes + 2 * n + 4]
        self.length[rows] = 4.2 + 0.8 * u[:, num_lanes + n + 1 : num_lanes + n + 2]

    # ----------------------------------------------------------------- world view
    def pose(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World pose (x, y, heading) of the vehicles of ``rows`` (all by default)."""
        every = rows is None or rows is self.rows
        r = self.rows if every else rows
        sel = (lambda a: a) if every else (lambda a: a[r])
        rr = r[:, None]
        road, lane, s = sel(self.road), sel(self.lane), sel(self.station)
        d = self.layout.lane_offset(rr, road, lane, s) + sel(self.lateral)
        x, y, h = self.layout.to_world(rr, road, s, d)
        # a lane change turns the vehicle toward its new lane
        h = h + np.arctan2(sel(self.lateral_speed), np.maximum(sel(self.speed), 1.0))
        return x, y, h

    def on_map(self, rows: np.ndarray, sel) -> np.ndarray:
        """Vehicles on the visible part of their road (not upstream of it, not past its end, not
        on the highway ramp beyond its end), (len(rows), N); ``sel`` picks rows of an array."""
        lay = self.layout
        s = sel(self.station)
        length = lay.length[rows[:, None], sel(self.road)]
        visible = (s >= 0.0) & (s <= length)
        if lay.has_ramp:
            visible &= (sel(self.lane) < lay.lanes[sel(self.road)]) | (s <= lay.merge_end[rows, None] + 5.0)
        return visible

    def entries(self) -> RoadUsers:
        """The vehicles as entries of the lane index."""
        slots = self.layout.lane_slots
        lane_id = self.road * slots + self.lane
        return RoadUsers(lane_id, self.station, self.speed, 0.5 * self.length, self.active)

    # ----------------------------------------------------------------- step
    def step(self, dt: float, others: list[RoadUsers], num_vehicle_entries: int, lights: np.ndarray,
             steps: np.ndarray, rng) -> None:
        """Advance every vehicle by ``dt``: IDM behind its leader (a vehicle, an ego's footprint
        or a standing entry in ``others``), stop lines and the ramp end, MOBIL for the vehicles
        due, exact constant-acceleration integration, then respawns.

        ``others``: the groups of entries after the traffic's own, the first
        ``num_vehicle_entries`` of them vehicles (egos), the rest standing objects (obstacles,
        pedestrians) that MOBIL's safety criterion does not ask to brake. ``lights``: the signal states (B, K, 2) the
        vehicles see; ``steps``: each instance's step count (the MOBIL decision grid).
        """
        p, lay = self.params, self.layout
        ip = p.idm
        n = self.num_vehicles
        own = self.entries()
        everyone = RoadUsers(*(np.concatenate(field, axis=1) for field in zip(own, *others, strict=True)))
        leader = lane_leaders(everyone.lane_id, everyone.station, everyone.active, n)
        v, s, v0, half_length = self.speed, self.station, self.desired_speed, own.half_length
        has_leader = leader >= 0
        lead_flat = row_base(*everyone.station.shape) + np.maximum(leader, 0)
        lead_s = np.where(has_leader, everyone.station.reshape(-1).take(lead_flat), np.inf)
        lead_hl = np.where(has_leader, everyone.half_length.reshape(-1).take(lead_flat), 0.0)
        lead_v = np.where(has_leader, everyone.speed.reshape(-1).take(lead_flat), 0.0)
        acc = idm_acceleration(v, v0, lead_s - s - half_length - lead_hl, v - lead_v, ip)
        # stop lines hold for every lane of a road: one value per vehicle serves its current and
        # its target lanes
        a_stop = self._stop_line_acceleration(lights)
        acc = np.minimum(acc, a_stop)
        if lay.has_ramp:
            acc = np.minimum(acc, self._lane_end_acceleration())
        # MOBIL: like highway-env, a vehicle decides once per lane_change_delay (timers start at
        # random phases), on a 0.5 s grid of each instance's clock; only the vehicles due decide
        due = self.active & (self.decision_timer <= 0.0) & (steps % MOBIL_GRID == 0)[:, None]
        if due.any():
            self._change_lanes(due, everyone, n + num_vehicle_entries, acc, a_stop)
        self.decision_timer -= dt
        # integrate (exact for constant acceleration, stopping at zero speed)
        v_end = v + acc * dt
        stop = v_end < 0.0
        dist = np.where(stop, v * v / (2.0 * np.maximum(-acc, 1e-9)), 0.5 * (v + np.maximum(v_end, 0.0)) * dt)
        self.station = np.where(self.active, s + dist, s)
        self.speed = np.where(self.active, np.maximum(v_end, 0.0), v)
        new_lat = self.lateral - np.clip(self.lateral, -LANE_CHANGE_RATE * dt, LANE_CHANGE_RATE * dt)
        self.lateral_speed = (new_lat - self.lateral) / dt
        self.lateral = new_lat
        self._respawn(rng)

    def _change_lanes(self, due_mask, everyone: RoadUsers, standing_from: int, acc, a_stop) -> None:
        """MOBIL with politeness 0 for the vehicles ``due_mask`` (B, N): the adjacent lane
        with the best gain above the threshold, if the new follower need not brake harder than
        b_safe. Entries from ``standing_from`` on are standing objects."""
        lay, ip = self.layout, self.params.idm
        slots = lay.lane_slots
        due = bi, vi = np.nonzero(due_mask)
        # neighbours in every lane, indexed only for the instances that decide this step
        due_rows = np.flatnonzero(due_mask.any(axis=1))
        ids = everyone.lane_id[due_rows]
        index = RoadIndex(ids // slots, ids % slots, everyone.station[due_rows], everyone.active[due_rows],
                          slots)
        s, v, v0 = self.station[due], self.speed[due], self.desired_speed[due]
        hl = 0.5 * self.length[due]
        lane, road = self.lane[due], self.road[due]
        a_cur = acc[due]
        a_stop = a_stop[due] if np.ndim(a_stop) else a_stop
        nl_road = lay.lanes[road]
        on_ramp = lane >= nl_road
        best_gain = np.full(len(bi), -np.inf)
        best_lane = lane.copy()
        ent_s, ent_v, ent_hl = everyone.station, everyone.speed, everyone.half_length
        # desired speeds of the entries: 30 m/s for those that are not traffic
        v0_ent = np.concatenate([self.desired_speed, np.full_like(ent_v[:, self.num_vehicles:], 30.0)],
                                axis=1)
        row_flat = bi * ent_s.shape[1]
        index_rows = np.searchsorted(due_rows, bi)

        def at(values, ok, flat, fill):
            return np.where(ok, values.reshape(-1).take(flat), fill)

        for step in (-1, 1):
            target = lane + step
            valid = (target >= 0) & (target < nl_road)
            if lay.has_ramp:  # from the ramp only into the rightmost lane, once the merge zone starts
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
            safe = (gap_q > 1.0) & (gap_f > 1.0) & ((f < 0) | (f >= standing_from) | (a_f >= -ip.b_safe))
            # a vehicle on the ending ramp lane has an extra incentive to leave it
            gain = a_new - a_cur + np.where(on_ramp, 2.0, 0.0)
            take = valid & safe & (gain > ip.threshold) & (gain > best_gain)
            best_gain = np.where(take, gain, best_gain)
            best_lane = np.where(take, target, best_lane)
        changed = best_lane != lane
        if changed.any():
            # the vehicle keeps its world position: its offset from the new lane's centre
            old_d = lay.lane_offset(bi, road, lane, s)
            new_d = lay.lane_offset(bi, road, best_lane, s)
            self.lateral[due] = np.where(changed, self.lateral[due] + old_d - new_d, self.lateral[due])
            self.lane[due] = best_lane
        self.decision_timer[due] = ip.lane_change_delay

    def _stop_line_acceleration(self, lights: np.ndarray) -> np.ndarray | float:
        """IDM acceleration toward the next stop line at a red (or stoppable yellow) signal."""
        lay, ip = self.layout, self.params.idm
        if not lay.num_intersections:
            return np.inf
        v, v0 = self.speed, self.desired_speed
        front = self.station + 0.5 * self.length
        m_max = lay.stop_s.shape[2]
        road_flat = self.rows[:, None] * lay.num_roads + self.road
        stops = lay.stop_s.reshape(-1, m_max).take(road_flat, axis=0)  # (B, N, M)
        ahead = stops >= front[..., None]
        m = ahead.argmax(axis=2)  # the first stop line ahead (or 0 when none is)
        stop_s = take_rows(stops.reshape(-1, m_max), m.reshape(-1, 1)).reshape(m.shape)
        has = stop_s >= front  # = ahead.any(axis=2): argmax picks a line ahead whenever one is
        k = lay.stop_light.reshape(-1).take(self.road * m_max + m)
        g = lay.road_group.take(self.road)
        state = lights.reshape(-1).take((self.rows[:, None] * lights.shape[1] + k) * 2 + g)
        gap = stop_s - front
        must_stop = has & ((state == RED) | ((state == YELLOW) & (gap > v * v / (2.0 * ip.b))))
        # the stop line acts as a standing leader 1 m beyond the line
        a_stop = idm_acceleration(v, v0, gap + ip.jam_distance - 1.0, v, ip)
        return np.where(must_stop, a_stop, np.inf)

    def _lane_end_acceleration(self) -> np.ndarray:
        """IDM acceleration of vehicles on the on-ramp toward the end of its acceleration lane."""
        lay, ip = self.layout, self.params.idm
        v = self.speed
        gap = lay.merge_end[:, None] - self.station - 0.5 * self.length
        a_end = idm_acceleration(v, self.desired_speed, gap + ip.jam_distance - 1.0, v, ip)
        return np.where(self.lane >= lay.lanes[self.road], a_end, np.inf)

    def _respawn(self, rng) -> None:
        """Vehicles that left their road re-enter it upstream (in the unseen stretch before
        station 0), behind the last vehicle of a random lane, so the density stays constant."""
        lay, p = self.layout, self.params
        road_end = lay.length.reshape(-1).take(self.rows[:, None] * lay.num_roads + self.road)
        leaving = self.active & (self.station - 0.5 * self.length > road_end)
        if not leaving.any():
            return
        rows = np.flatnonzero(leaving.any(axis=1))
        n = self.num_vehicles
        u = rng.uniform((n, 4), rows)
        leave = leaving[rows]
        road = self.road[rows]
        nl = lay.lanes[road]
        lane = np.minimum(np.floor(u[..., 0] * nl).astype(np.int64), nl - 1)
        if lay.has_ramp:
            lane = np.where(u[..., 2] < p.ramp_spawn_probability, nl, lane)
        slots = lay.lane_slots
        new_id = road * slots + lane
        cur_id = self.road[rows] * slots + self.lane[rows]
        # the tail (smallest station) of every lane among the vehicles that stay, (rows, lanes)
        lanes = np.arange(lay.num_roads * slots)
        stay = (self.active[rows] & ~leave)[..., None] & (cur_id[..., None] == lanes)
        s_in_lane = np.where(stay, self.station[rows][..., None], np.inf)  # (rows, N, lanes)
        tail_i = s_in_lane.argmin(axis=1)  # (rows, lanes)
        tail_s = np.take_along_axis(s_in_lane, tail_i[:, None, :], axis=1)[:, 0, :]
        tail_v = take_rows(self.speed[rows], tail_i)
        tail_s, tail_v = take_rows(tail_s, new_id), take_rows(tail_v, new_id)
        # several vehicles entering one lane in one step queue up behind each other
        entering = leave[..., None] & (new_id[..., None] == lanes)
        rank = np.take_along_axis(np.cumsum(entering, axis=1), new_id[..., None], axis=2)[..., 0] - 1
        gap = 25.0 + 20.0 * u[..., 1]
        start = np.where(np.isfinite(tail_s), np.minimum(tail_s, 0.0), 0.0) - gap * (1 + np.maximum(rank, 0))
        v0 = lay.speed_limit[rows, None] * (0.8 + 0.25 * u[..., 3])
        v_new = np.where(np.isfinite(tail_s), np.minimum(v0, tail_v), 0.9 * v0)
        at = (rows[:, None], np.arange(n)[None, :])
        self.lane[at] = np.where(leave, lane, self.lane[rows])
        self.station[at] = np.where(leave, start, self.station[rows])
        self.speed[at] = np.where(leave, v_new, self.speed[rows])
        self.desired_speed[at] = np.where(leave, v0, self.desired_speed[rows])
        self.lateral[at] = np.where(leave, 0.0, self.lateral[rows])
        self.lateral_speed[at] = np.where(leave, 0.0, self.lateral_speed[rows])


class Obstacles:
    """Static obstacles (the highway's broken-down car), (B, S) arrays: road, lane, station,
    whether it is there, and its world pose (fixed for the episode, computed at placement)."""

    def __init__(self, num_envs: int, count: int, layout) -> None:
        b, s = num_envs, count
        self.layout, self.count = layout, count
        self.road, self.lane = np.zeros((b, s), dtype=np.int64), np.zeros((b, s), dtype=np.int64)
        self.station = np.zeros((b, s))
        self.active = np.zeros((b, s), dtype=bool)
        self.x, self.y, self.heading = np.zeros((b, s)), np.zeros((b, s)), np.zeros((b, s))

    def place(self, rows: np.ndarray, rng, routes: dict[str, np.ndarray], probability: float,
              traffic: Traffic) -> None:
        """A broken-down car 150-400 m ahead of the first ego, in a main lane other than its
        start lane, with the given probability; traffic placed on it is moved 400 m back."""
        lay = self.layout
        u = rng.uniform((self.count, 3), rows)
        nl = int(lay.lanes[0])
        ego_lane = np.minimum(routes["start_lane"][rows, 0], nl - 1)
        shift = 1 + np.floor(u[..., 0] * (nl - 1)).astype(np.int64)
        self.road[rows] = 0
        self.lane[rows] = (ego_lane[:, None] + shift) % nl
        self.station[rows] = routes["start_s"][rows, :1] + 150.0 + 250.0 * u[..., 1]
        self.active[rows] = u[..., 2] < probability
        same = (traffic.road[rows][:, :, None] == self.road[rows][:, None, :]) & (
            traffic.lane[rows][:, :, None] == self.lane[rows][:, None, :]) & self.active[rows][:, None, :]
        close = same & (np.abs(traffic.station[rows][:, :, None] - self.station[rows][:, None, :]) < 30.0)
        station = traffic.station[rows]
        traffic.station[rows] = np.where(close.any(axis=2), station - 400.0, station)
        self.update_pose(rows)

    def update_pose(self, rows: np.ndarray) -> None:
        """World pose of the obstacles of ``rows`` from their road coordinates."""
        lay, rr = self.layout, rows[:, None]
        d = lay.lane_offset(rr, self.road[rows], self.lane[rows], self.station[rows])
        x, y, heading = lay.to_world(rr, self.road[rows], self.station[rows], d)
        self.x[rows], self.y[rows], self.heading[rows] = x, y, heading

    def entries(self) -> RoadUsers:
        """The obstacles as standing entries of the lane index (half length 2.25 m)."""
        slots = self.layout.lane_slots
        return RoadUsers(self.road * slots + self.lane, self.station, np.zeros(self.station.shape),
                         np.full(self.station.shape, 0.5 * OBSTACLE_LENGTH), self.active)
