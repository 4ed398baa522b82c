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

import numpy as np

#: sort keys are road * LANE_STRIDE + station; stations stay well inside (-LANE_STRIDE/2, LANE_STRIDE/2)
LANE_STRIDE = 1.0e5
INACTIVE_KEY = 5.0e7

GREEN, YELLOW, RED = 0, 1, 2


@dataclass(frozen=True)
class IDMParams:
    """IDM and MOBIL constants (highway-env's defaults, facts.md section 3)."""

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
    """values[b, index[b, k]] for a 2-D ``values`` (a lean ``take_along_axis``)."""
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
        self.next_in = np.ascontiguousarray(np.minimum.accumulate(np.where(member, pos, m)[..., ::-1], axis=2)[..., ::-1])
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


def gather(values: np.ndarray, index: np.ndarray, fill: float) -> np.ndarray:
    """values[b, index[b, k]] with ``fill`` where index is -1."""
    return np.where(index >= 0, take_rows(values, np.maximum(index, 0)), fill)


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
