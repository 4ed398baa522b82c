"""Road networks and routes, generated per instance from its random stream.

A layout is a set of R one-way *roads*. Road r has a reference line sampled every ``DS`` = 1 m
(positions ``xy`` (B, R, P, 2) and headings ``hdg`` (B, R, P)) and ``lanes[r]`` lanes to its
right: lane l's centre is at lateral offset d = -(l + 1/2) w (d > 0 is left of the road). A
point is described on a road by its station s (distance along the reference line) and d.
The curved highway stores its stations in a packed table (x, y, heading, cos, sin per station);
the grid's roads are straight, so only their origin and direction are stored and a station is
computed on demand with the same arithmetic a table would hold (``origin + station * (cos,
sin)``), which keeps a reset from writing ~30,000 floats per instance.

Two layouts build every scenario:

* :class:`HighwayLayout` - one curved carriageway (straights and constant-curvature arcs with
  per-seed lengths and curvatures) with ``num_lanes`` lanes and an on-ramp: an extra lane
  (slot ``num_lanes``) that runs beside the carriageway behind a gore, tapers in, becomes an
  acceleration lane at ``merge_start`` and ends at ``merge_end``.
* :class:`~rewardlab.envs.driving.grid.GridLayout` (``grid.py``) - an ``nx`` x ``ny`` grid of
  straight two-way streets (two one-way roads each) crossing at signalised intersections. 1 x 1
  with two lanes per direction is the four-way intersection; 2 x 2 with one lane per direction
  is the town.

A *route* is a dense polyline (every ~1 m) that follows lane centres: ``route_xy`` (B, E, Q, 2),
``route_hdg``, cumulative arc length ``route_s``, its length, which road each point lies on
(-1 inside an intersection box), how many same-direction lanes lie left and right of it, and
the stop lines it crosses. The ego is located on it by a local search around its previous
index (``locate_on_route``), never by a full scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.core.rng import BatchedRNG

DS = 1.0  # station spacing of road reference lines, m
HIDDEN = 150.0  # traffic upstream of station 0 drives on, unseen, before entering the map


def smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


class Layout:
    """Arrays shared by both layouts; subclasses fill them in ``generate``."""

    num_roads: int
    num_stations: int
    lanes: np.ndarray  # (R,) lanes per road (the on-ramp slot excluded)
    lane_slots: int  # lane ids per road: max lanes (+1 for the on-ramp)
    straight: bool
    num_intersections: int = 0
    stops_per_road: int = 0
    has_ramp: bool = False

    def __init__(self, num_envs: int, params) -> None:
        b, r, p = num_envs, self.num_roads, self.num_stations
        self.num_envs = num_envs
        self.params = params
        if self.straight:
            # straight roads: origin (x, y), heading, cos, sin per road; stations are computed
            # from them exactly as a sampled table would hold them (see ``_stations``)
            self.road_geo = np.zeros((b, r, 8))
        else:
            # packed table, eight floats per station (one 64-byte cache line): x, y, heading, cos,
            # sin; a station and its successor are two cache lines, and ``to_world`` needs no
            # trigonometry
            self.geo = np.zeros((b, r, p, 8))
        self.length = np.ones((b, r))
        self.width = np.full(b, 3.5)
        self.speed_limit = np.full(b, 10.0)
        m, k = max(self.stops_per_road, 1), max(self.num_intersections, 1)
        self.stop_s = np.full((b, r, m), np.inf)
        self.stop_light = np.zeros((r, m), dtype=np.int64)
        self.road_group = np.zeros(r, dtype=np.int64)
        self.centers = np.zeros((b, k, 2))
        self.half_box = np.zeros(b)
        self.green = np.full((b, k, 2), 10.0)
        self.yellow = np.full((b, k), 3.0)
        self.all_red = np.full((b, k), 2.0)
        self.light_offset = np.zeros((b, k))
        self.ramp_offset = np.zeros((b, p))
        self.merge_start = np.zeros(b)
        self.merge_end = np.zeros(b)

    # ----------------------------------------------------------------- geometry queries
    @property
    def xy(self) -> np.ndarray:
        """Reference-line points (B, R, P, 2) (a view of the table; computed for straight roads)."""
        if not self.straight:
            return self.geo[..., :2]
        st = np.arange(self.num_stations) * DS
        g = self.road_geo
        return g[:, :, None, :2] + st[None, None, :, None] * g[:, :, None, 3:5]

    @property
    def hdg(self) -> np.ndarray:
        """Reference-line headings (B, R, P)."""
        if not self.straight:
            return self.geo[..., 2]
        shape = (self.num_envs, self.num_roads, self.num_stations)
        return np.broadcast_to(self.road_geo[:, :, None, 2], shape)

    def extent(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest x, y (len(rows), 2) over the reference-line points of ``rows``."""
        if not self.straight:
            pts = self.geo[rows, ..., :2].reshape(len(rows), -1, 2)
            return pts.min(axis=1), pts.max(axis=1)
        # a straight road's sampled coordinates are monotone in the station: the two end points
        g = self.road_geo[rows]
        far_end = g[:, :, :2] + ((self.num_stations - 1) * DS) * g[:, :, 3:5]
        ends = np.concatenate([g[:, :, :2], far_end], axis=1)
        return ends.min(axis=1), ends.max(axis=1)

    def _interpolate(self, rows, road, s, columns: int = 5) -> list[np.ndarray]:
        """The first ``columns`` of x, y, heading, cos, sin interpolated linearly between stations
        (headings are continuous along a road; outside [0, length] the end segment is extended).

        Column by column: the arithmetic runs over long strided vectors, not over (..., 5) blocks.
        """
        p = self.num_stations
        u = s * (1.0 / DS)
        i0 = np.minimum(np.maximum(u.astype(np.int64) - (u < 0), 0), p - 2)
        flat = (rows * self.num_roads + road) * p + i0
        table = self.geo.reshape(-1, 8)
        g0 = table.take(flat, axis=0)
        g1 = table.take(flat + 1, axis=0)
        frac = u - i0
        if flat.size <= 64:  # a few points: fewer, (..., 5)-wide operations cost less
            g0, g1 = g0[..., :columns], g1[..., :columns]
            g1 -= g0
            g1 *= frac[..., None]
            g1 += g0
            return [g1[..., k] for k in range(columns)]
        out = []
        for k in range(columns):
            a = g0[..., k]
            v = g1[..., k] - a
            v *= frac
            v += a
            out.append(v)
        return out

    def _straight_point(self, rows, road, s):
        """x, y, heading, cos, sin of stations ``s`` on straight roads, bit for bit what linear
        interpolation in a 1 m table of ``origin + station * (cos, sin)`` gives: the two stations
        are computed with the table's arithmetic, heading, cos and sin are constant per road."""
        p = self.num_stations
        u = s * (1.0 / DS)
        i0 = np.minimum(np.maximum(u.astype(np.int64) - (u < 0), 0), p - 2)
        g = self.road_geo.reshape(-1, 8).take(rows * self.num_roads + road, axis=0)
        ox, oy, h, c, sn = g[..., 0], g[..., 1], g[..., 2], g[..., 3], g[..., 4]
        s0 = i0 * DS
        s1 = (i0 + 1) * DS
        frac = u - i0
        if frac.size <= 64:  # a few points: x and y together in (..., 2) operations
            pair = g[..., 3:5] * s1[..., None]
            pair += g[..., 0:2]
            p0 = g[..., 3:5] * s0[..., None]
            p0 += g[..., 0:2]
            pair -= p0
            pair *= frac[..., None]
            pair += p0
            x, y = pair[..., 0], pair[..., 1]
            if h.shape != x.shape:
                h, c, sn = (np.broadcast_to(a, x.shape) for a in (h, c, sn))
            return x, y, h, c, sn
        x0, y0 = ox + s0 * c, oy + s0 * sn
        x = ox + s1 * c
        x -= x0
        x *= frac
        x += x0
        y = oy + s1 * sn
        y -= y0
        y *= frac
        y += y0
        if h.shape != x.shape:
            h, c, sn = (np.broadcast_to(a, x.shape) for a in (h, c, sn))
        return x, y, h, c, sn

    def frame(self, rows: np.ndarray, road: np.ndarray, s: np.ndarray):
        """Reference-line point (x, y) and heading at stations ``s`` of roads ``road``.

        ``rows`` broadcasts against ``road`` and ``s`` (e.g. (B, 1) against (B, N)).
        """
        if self.straight:
            return self._straight_point(rows, road, s)[:3]
        return tuple(self._interpolate(rows, road, s, 3))

    def lane_offset(self, rows: np.ndarray, road: np.ndarray, lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Lateral offset d of lane centres (the on-ramp slot follows its taper)."""
        d = -(lane + 0.5) * self.width.take(rows)
        if self.has_ramp:  # the highway: one road, the ramp is slot lanes[0]
            p = self.num_stations
            idx = np.minimum(np.maximum((s * (1.0 / DS) + 0.5).astype(np.int64), 0), p - 1)
            extra = self.ramp_offset.reshape(-1).take(rows * p + idx)
            d = d - np.where(lane >= self.lanes[0], extra, 0.0)
        return d

    def to_world(self, rows, road, s, d):
        """World position of Frenet points and the road heading there."""
        if self.straight:
            x, y, h, c, sn = self._straight_point(rows, road, s)
            return x - d * sn, y + d * c, h
        x, y, h, c, sn = self._interpolate(rows, road, s)
        return x - d * sn, y + d * c, h

    def project(self, rows: np.ndarray, x: np.ndarray, y: np.ndarray, hint: np.ndarray | None = None):
        """Station and offset (B, E, R) of points (B, E) on every road; also the road heading there.

        Straight roads are exact; the curved highway searches ``hint`` +- 8 stations.
        """
        if self.straight:
            lead = (-1,) + (1,) * (x.ndim - 1) + (self.num_roads,)
            g = self.road_geo[rows]
            ox, oy, h = g[..., 0].reshape(lead), g[..., 1].reshape(lead), g[..., 2].reshape(lead)
            c, sn = np.cos(h), np.sin(h)
            dx, dy = x[..., None] - ox, y[..., None] - oy
            return dx * c + dy * sn, -dx * sn + dy * c, np.broadcast_to(h, dx.shape)
        window = np.arange(-8, 9)
        p = self.num_stations
        base = (rows * self.num_roads * p).reshape((-1,) + (1,) * (x.ndim - 1))
        raw0 = (hint * (1.0 / DS) + 0.5).astype(np.int64) - 8
        idx = np.minimum(np.maximum(raw0[..., None] + window + 8, 0), p - 1)
        flat = base[..., None] + idx
        table = self.geo.reshape(-1, 8)
        cand = table.take(flat, axis=0)
        dist2 = (cand[..., 0] - x[..., None]) ** 2 + (cand[..., 1] - y[..., None]) ** 2
        best = raw0 + np.argmin(dist2, axis=-1)  # first minimum: right even where clipped
        best = np.minimum(np.maximum(best, 0), p - 1)
        g = table.take(base + best, axis=0)
        bx, by, h = g[..., 0], g[..., 1], g[..., 2]
        c, sn = np.cos(h), np.sin(h)
        dx, dy = x - bx, y - by
        s = best * DS + dx * c + dy * sn
        d = -dx * sn + dy * c
        return s[..., None], d[..., None], h[..., None]

    def drivable(self, rows, s, d, px, py) -> np.ndarray:
        """Whether points are on a lane or inside an intersection box.

        ``s``, ``d``: Frenet coordinates (B, ..., R) of the points on every road; ``px``, ``py``:
        their world coordinates (B, ...).
        """
        lead = (-1,) + (1,) * (s.ndim - 1)
        w = self.width[rows].reshape(lead)
        length = self.length[rows].reshape((-1,) + (1,) * (s.ndim - 2) + (self.num_roads,))
        on = (s >= 0.0) & (s <= length) & (d <= 0.0) & (d >= -self.lanes * w)
        ok = on.any(axis=-1)
        if self.has_ramp:
            s0, d0 = s[..., 0], d[..., 0]
            lead0 = (-1,) + (1,) * (s0.ndim - 1)
            idx = np.clip(np.round(s0 / DS).astype(np.int64), 0, self.num_stations - 1)
            w0 = self.width[rows].reshape(lead0)
            center = -(self.lanes[0] + 0.5) * w0 - self.ramp_offset[rows.reshape(lead0), idx]
            on_ramp = (s0 >= 0.0) & (s0 <= self.merge_end[rows].reshape(lead0))
            ok |= on_ramp & (np.abs(d0 - center) <= 0.5 * w0)
        if self.num_intersections:
            c = self.centers[rows].reshape((-1,) + (1,) * (px.ndim - 1) + (self.num_intersections, 2))
            hb = self.half_box[rows].reshape((-1,) + (1,) * px.ndim)
            inside = (np.abs(px[..., None] - c[..., 0]) <= hb) & (np.abs(py[..., None] - c[..., 1]) <= hb)
            ok |= inside.any(axis=-1)
        return ok

    # ----------------------------------------------------------------- generation
    def generate(self, rows: np.ndarray, rng: BatchedRNG) -> None:
        raise NotImplementedError

    def routes(self, rows: np.ndarray, rng: BatchedRNG, num_egos: int,
               max_points: int) -> dict[str, np.ndarray]:
        raise NotImplementedError


@dataclass
class RoutePiece:
    """A straight run along a lane, or an arc through an intersection box (used in generation)."""

    kind: str
    road: int = -1
    lane: int = 0
    s0: float = 0.0
    s1: float = 0.0
    cx: float = 0.0
    cy: float = 0.0
    radius: float = 0.0
    a0: float = 0.0
    a1: float = 0.0


def empty_routes(n: int, num_egos: int, q: int, m: int) -> dict[str, np.ndarray]:
    return {
        "xy": np.zeros((n, num_egos, q, 2)),
        "hdg": np.zeros((n, num_egos, q)),
        "s": np.zeros((n, num_egos, q)),
        "length": np.zeros((n, num_egos)),
        "road": np.full((n, num_egos, q), -1, dtype=np.int64),
        "lanes_left": np.zeros((n, num_egos, q)),
        "lanes_right": np.zeros((n, num_egos, q)),
        "stop_s": np.full((n, num_egos, m), np.inf),
        "stop_light": np.zeros((n, num_egos, m), dtype=np.int64),
        "stop_group": np.zeros((n, num_egos, m), dtype=np.int64),
        "start_road": np.zeros((n, num_egos), dtype=np.int64),
        "start_lane": np.zeros((n, num_egos), dtype=np.int64),
        "start_s": np.zeros((n, num_egos)),
    }


def finish_route(xy: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Pad a polyline to ``q`` points; headings from differences, cumulative arc length."""
    xy = xy[:q]
    n = len(xy)
    seg = np.diff(xy, axis=0)
    hdg = np.arctan2(seg[:, 1], seg[:, 0])
    hdg = np.concatenate([hdg, hdg[-1:]])
    s = np.concatenate([[0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])
    pad = q - n
    if pad > 0:
        # beyond the end the route continues straight, so projections past the end stay smooth
        ext = xy[-1] + np.arange(1, pad + 1)[:, None] * DS * np.array([np.cos(hdg[-1]), np.sin(hdg[-1])])
        xy = np.concatenate([xy, ext])
        hdg = np.concatenate([hdg, np.full(pad, hdg[-1])])
        s = np.concatenate([s, s[-1] + np.arange(1, pad + 1) * DS])
    return xy, hdg, s, n


class HighwayLayout(Layout):
    """A curved multi-lane carriageway with an on-ramp merging from the right."""

    num_roads = 1
    num_stations = 1000
    straight = False
    has_ramp = True

    def __init__(self, num_envs: int, params) -> None:
        self.lanes = np.array([params.num_lanes])
        self.lane_slots = params.num_lanes + 1
        super().__init__(num_envs, params)

    def generate(self, rows: np.ndarray, rng: BatchedRNG) -> None:
        n = len(rows)
        u = rng.uniform((12,), rows)
        p = self.params
        length = 820.0 + 160.0 * u[:, 0]
        # piecewise-constant curvature: straight, arc, straight, arc, straight (per-seed lengths)
        a1 = 80.0 + 120.0 * u[:, 1]
        gap = 60.0 + 120.0 * u[:, 3]
        radius1 = p.min_radius + (3 * p.min_radius) * u[:, 5]
        radius2 = p.min_radius + (3 * p.min_radius) * u[:, 6]
        # each arc turns by 0.08 - 0.3 rad, so the road stays within a compact band
        arc1 = (0.08 + 0.22 * u[:, 2]) * radius1
        arc2 = (0.08 + 0.22 * u[:, 4]) * radius2
        sign1 = np.where(u[:, 7] < 0.5, -1.0, 1.0)
        s = np.arange(self.num_stations) * DS
        b1, b2 = a1 + arc1, a1 + arc1 + gap
        kappa = np.where((s >= a1[:, None]) & (s < b1[:, None]), (sign1 / radius1)[:, None], 0.0)
        kappa += np.where((s >= b2[:, None]) & (s < (b2 + arc2)[:, None]), (-sign1 / radius2)[:, None], 0.0)
        # headings and positions are written straight into the packed station table
        hdg = np.empty((n, self.num_stations))
        hdg[:, 0] = 0.0
        np.cumsum(kappa[:, :-1] * DS, axis=1, out=hdg[:, 1:])
        # cos and sin of the headings are evaluated only where the heading changes (on the arcs;
        # elsewhere it repeats the previous station's value exactly, as it adds 0.0) and copied
        # forward: the straights make up most of the road
        k_step = kappa[:, :-1]
        turning = k_step != 0.0
        fresh = np.empty((n, self.num_stations), dtype=bool)
        fresh[:, 0] = True
        fresh[:, 1:] = turning
        src = np.where(fresh, np.arange(self.num_stations), 0)
        np.maximum.accumulate(src, axis=1, out=src)
        src += (np.arange(n) * self.num_stations)[:, None]
        h_fresh = hdg[fresh]
        cos_h, sin_h = np.empty(hdg.shape), np.empty(hdg.shape)
        cos_h[fresh], sin_h[fresh] = np.cos(h_fresh), np.sin(h_fresh)
        cos_h, sin_h = cos_h.reshape(-1).take(src), sin_h.reshape(-1).take(src)
        # positions: exact for piecewise-constant curvature up to the sampling (midpoint heading;
        # it equals the station's heading on the straights)
        mid = hdg[:, :-1][turning] + 0.5 * k_step[turning] * DS
        cos_mid, sin_mid = cos_h[:, :-1] * DS, sin_h[:, :-1] * DS
        cos_mid[turning], sin_mid[turning] = np.cos(mid) * DS, np.sin(mid) * DS
        table = np.zeros((n, self.num_stations, 8))
        np.cumsum(cos_mid, axis=1, out=table[:, 1:, 0])
        np.cumsum(sin_mid, axis=1, out=table[:, 1:, 1])
        table[:, :, 2] = hdg
        table[:, :, 3] = cos_h
        table[:, :, 4] = sin_h
        self.geo[rows, 0] = table
        self.length[rows, 0] = length
        self.width[rows] = 3.3 + 0.5 * u[:, 8]
        lo, hi = p.speed_limit_range
        self.speed_limit[rows] = lo + (hi - lo) * u[:, 9]
        self.merge_start[rows] = 220.0 + 80.0 * u[:, 10]
        self.merge_end[rows] = self.merge_start[rows] + 100.0 + 60.0 * u[:, 11]
        taper = 120.0
        self.ramp_offset[rows] = 12.0 * smoothstep((self.merge_start[rows, None] - s) / taper)

    def _ramp_route_offset(self, rows, st, idx, w, lane_change):
        """Lateral offset of a route that starts on the ramp at stations ``st`` (station indices
        ``idx``): the ramp lane's centre, then a change into the rightmost main lane over 60 m from
        station ``lane_change`` (a cosine blend; 0 before the window, 1 after it)."""
        nl = int(self.lanes[0])
        ramp_d = -(nl + 0.5) * w - self.ramp_offset[rows[:, None], idx]
        t = np.clip((st - lane_change) / 60.0, 0.0, 1.0)
        blend = (t >= 1.0).astype(float)
        turn = (t > 0.0) & (t < 1.0)
        blend[turn] = 0.5 - 0.5 * np.cos(np.pi * t[turn])
        right_d = -(nl - 0.5) * w
        return ramp_d + (right_d - ramp_d) * blend

    def routes(self, rows, rng, num_egos, max_points):
        n = len(rows)
        out = empty_routes(n, num_egos, max_points, 1)
        u = rng.uniform((num_egos, 4), rows)
        nl = int(self.lanes[0])
        w = self.width[rows][:, None]
        ms, me = self.merge_start[rows][:, None], self.merge_end[rows][:, None]
        # ego 0 starts on the ramp half of the time; the others on main lanes, 45 m apart
        on_ramp = np.zeros((n, num_egos), dtype=bool)
        on_ramp[:, 0] = u[:, 0, 0] < self.params.ramp_probability
        lane = np.minimum((u[:, :, 1] * nl).astype(np.int64), nl - 1)
        lane = np.where(on_ramp, nl, lane)
        main_s = 60.0 + 45.0 * np.arange(num_egos)[None, :] + 15.0 * u[:, :, 2]
        ramp_s = ms - 100.0 + 40.0 * u[:, :, 2]
        start = np.floor(np.where(on_ramp, ramp_s, main_s))  # whole stations: no interpolation
        target = self.params.route_length
        q = np.arange(max_points) * DS
        st = start[..., None] + q  # stations of route points (B, E, Q)
        end = np.minimum(start + target, self.length[rows, 0][:, None] - 20.0)
        npts = np.minimum(np.floor((end - start) / DS).astype(np.int64) + 1, max_points)
        st = np.minimum(st, (start + (npts - 1) * DS)[..., None])
        rr = rows[:, None, None]
        idx = np.clip(np.round(st / DS).astype(np.int64), 0, self.num_stations - 1)
        main_d = -(np.minimum(lane, nl - 1) + 0.5)[..., None] * w[..., None]
        d = np.empty(st.shape)
        d[:] = main_d
        ramp = np.flatnonzero(on_ramp[:, 0])  # only ego 0 starts on the ramp
        if len(ramp):
            lane_change = ms[ramp] + 20.0 + 30.0 * u[ramp, 0, 3:4]
            d[ramp, 0] = self._ramp_route_offset(rows[ramp], st[ramp, 0], idx[ramp, 0], w[ramp], lane_change)
        g = self.geo.reshape(-1, 8).take(rr * self.num_stations + idx, axis=0)  # one road
        x = g[..., 0] - d * g[..., 4]
        y = g[..., 1] + d * g[..., 3]
        # headings from differences, cumulative arc length; past the end the route continues
        # straight along its last heading (as finish_route does for the grid's routes)
        seg_x, seg_y = np.diff(x, axis=2), np.diff(y, axis=2)
        hdg = np.arctan2(seg_y, seg_x)
        last = npts[..., None] - 1  # index of the last route point
        hdg_last = np.take_along_axis(hdg, np.maximum(last - 1, 0), axis=2)
        j = np.arange(max_points)[None, None, :]
        hdg = np.concatenate([hdg, hdg_last], axis=2)
        hdg = np.where(j >= last, hdg_last, hdg)
        s_arc = np.concatenate([np.zeros((n, num_egos, 1)), np.cumsum(np.hypot(seg_x, seg_y), axis=2)],
                               axis=2)
        s_end = np.take_along_axis(s_arc, last, axis=2)
        beyond = np.maximum(j - last, 0) * DS
        x_end, y_end = np.take_along_axis(x, last, axis=2), np.take_along_axis(y, last, axis=2)
        out["xy"][..., 0] = np.where(j > last, x_end + beyond * np.cos(hdg_last), x)
        out["xy"][..., 1] = np.where(j > last, y_end + beyond * np.sin(hdg_last), y)
        out["hdg"][:] = hdg
        out["s"][:] = np.where(j > last, s_end + beyond, s_arc)
        out["length"][:] = s_end[..., 0]
        out["road"][:] = 0
        lane_est = np.clip(np.floor(-d / w[..., None]), 0, nl).astype(np.int64)
        ramp_zone = (st >= ms[..., None]) & (st <= me[..., None])
        main = lane_est < nl
        out["lanes_left"][:] = np.where(main, lane_est, np.where(ramp_zone, nl, 0))
        out["lanes_right"][:] = np.where(main, nl - 1 - lane_est + (ramp_zone & (lane_est == nl - 1)), 0)
        out["start_road"][:] = 0
        out["start_lane"][:] = lane
        out["start_s"][:] = start
        return out
