"""The grid layouts: signalised intersections of straight two-way streets.

An ``nx`` x ``ny`` grid of straight two-way streets (two one-way roads each) crossing at
signalised intersections: 1 x 1 with two lanes per direction is the four-way intersection, 2 x 2
with one lane per direction is the town. Roads, stop lines, signal timing and routes are drawn
per instance; see ``road.py`` for the road and route model.
"""

from __future__ import annotations

import numpy as np

from rewardlab.envs.driving.road import DS, Layout, RoutePiece, empty_routes, finish_route


class GridLayout(Layout):
    """Straight two-way streets on an nx x ny grid with a two-phase signal at every crossing."""

    straight = True

    def __init__(self, num_envs: int, params) -> None:
        self.nx, self.ny = params.grid
        nl = params.lanes_per_direction
        self.num_roads = 2 * (self.nx + self.ny)
        self.num_intersections = self.nx * self.ny
        self.stops_per_road = max(self.nx, self.ny)
        max_span = (max(self.nx, self.ny) - 1) * params.block_range[1] + 2 * params.arm_range[1]
        self.num_stations = int(np.ceil(max_span / DS)) + 2
        self.lanes = np.full(self.num_roads, nl)
        self.lane_slots = nl
        super().__init__(num_envs, params)
        # roads: per east-west street j: eastbound 2j, westbound 2j+1; per north-south street i:
        # northbound 2ny+2i, southbound 2ny+2i+1. Signal group 0 = north-south, 1 = east-west.
        self.road_group[: 2 * self.ny] = 1
        for j in range(self.ny):
            for m in range(self.nx):
                self.stop_light[2 * j, m] = j * self.nx + m
                self.stop_light[2 * j + 1, m] = j * self.nx + (self.nx - 1 - m)
        for i in range(self.nx):
            for m in range(self.ny):
                self.stop_light[2 * self.ny + 2 * i, m] = m * self.nx + i
                self.stop_light[2 * self.ny + 2 * i + 1, m] = (self.ny - 1 - m) * self.nx + i

    def generate(self, rows, rng):
        n, p = len(rows), self.params
        nx, ny, nl = self.nx, self.ny, p.lanes_per_direction
        k = self.num_intersections
        u = rng.uniform((8 + 4 * k,), rows)
        w = 3.2 + 0.6 * u[:, 0]
        dx = p.block_range[0] + (p.block_range[1] - p.block_range[0]) * u[:, 1]
        dy = p.block_range[0] + (p.block_range[1] - p.block_range[0]) * u[:, 2]
        arm = p.arm_range[0] + (p.arm_range[1] - p.arm_range[0]) * u[:, 3]
        hb = nl * w + 5.0 + 2.0 * u[:, 4]
        self.width[rows] = w
        self.half_box[rows] = hb
        lo, hi = p.speed_limit_range
        self.speed_limit[rows] = lo + (hi - lo) * u[:, 5]
        xs = np.arange(nx)[None, :] * dx[:, None]
        ys = np.arange(ny)[None, :] * dy[:, None]
        x_min, x_max = -arm, xs[:, -1] + arm
        y_min, y_max = -arm, ys[:, -1] + arm
        origin = np.zeros((n, self.num_roads, 2))
        heading = np.zeros((n, self.num_roads))
        length = np.zeros((n, self.num_roads))
        stop_s = np.full((n, self.num_roads, self.stops_per_road), np.inf)
        for j in range(ny):
            origin[:, 2 * j] = np.stack([x_min, ys[:, j]], axis=1)
            origin[:, 2 * j + 1] = np.stack([x_max, ys[:, j]], axis=1)
            heading[:, 2 * j + 1] = np.pi
            length[:, 2 * j] = length[:, 2 * j + 1] = x_max - x_min
            stop_s[:, 2 * j, :nx] = xs - x_min[:, None] - hb[:, None] - 1.0
            stop_s[:, 2 * j + 1, :nx] = x_max[:, None] - xs[:, ::-1] - hb[:, None] - 1.0
        for i in range(nx):
            r = 2 * ny + 2 * i
            origin[:, r] = np.stack([xs[:, i], y_min], axis=1)
            origin[:, r + 1] = np.stack([xs[:, i], y_max], axis=1)
            heading[:, r] = 0.5 * np.pi
            heading[:, r + 1] = -0.5 * np.pi
            length[:, r] = length[:, r + 1] = y_max - y_min
            stop_s[:, r, :ny] = ys - y_min[:, None] - hb[:, None] - 1.0
            stop_s[:, r + 1, :ny] = y_max[:, None] - ys[:, ::-1] - hb[:, None] - 1.0
        table = np.zeros((n, self.num_roads, 8))
        table[..., :2] = origin
        table[..., 2] = heading
        table[..., 3] = np.cos(heading)
        table[..., 4] = np.sin(heading)
        self.road_geo[rows] = table
        self.length[rows] = length
        self.stop_s[rows] = stop_s
        cx = np.tile(xs, (1, ny))  # intersection k = j * nx + i
        cy = np.repeat(ys, nx, axis=1)
        self.centers[rows] = np.stack([cx, cy], axis=-1)
        g_lo, g_hi = p.green_range
        self.green[rows] = g_lo + (g_hi - g_lo) * u[:, 8 : 8 + 2 * k].reshape(n, k, 2)
        self.yellow[rows] = 3.0
        self.all_red[rows] = 2.0
        cycle = self.green[rows].sum(axis=-1) + 2 * (self.yellow[rows] + self.all_red[rows])
        self.light_offset[rows] = cycle * u[:, 8 + 2 * k : 8 + 3 * k]

    def _turn_road(self, road: int, k: int) -> int:
        """The road a right turn at intersection k leads onto from ``road``."""
        ny = self.ny
        if road < 2 * ny:  # east-west road; intersection k = j * nx + i
            i = k % self.nx
            east = road % 2 == 0
            return 2 * ny + 2 * i + (1 if east else 0)  # east turns right to south, west to north
        j = k // self.nx
        north = (road - 2 * ny) % 2 == 0
        return 2 * j + (0 if north else 1)  # north turns right to east, south to west

    def routes(self, rows, rng, num_egos, max_points):
        m_max = 4  # stop lines kept per route
        out = empty_routes(len(rows), num_egos, max_points, m_max)
        u = rng.uniform((num_egos, 4 + m_max), rows)
        for i, row in enumerate(rows):
            for e in range(num_egos):
                pieces, stops, s_start = self._plan_route(row, e, u[i, e], m_max)
                xy, road_of, left, right = self._piece_points(row, pieces)
                pts, hdg, s_arc, npts = finish_route(np.concatenate(xy), max_points)
                out["xy"][i, e], out["hdg"][i, e], out["s"][i, e] = pts, hdg, s_arc
                out["length"][i, e] = s_arc[npts - 1]
                for name, values in (("road", road_of), ("lanes_left", left), ("lanes_right", right)):
                    v = np.concatenate(values)[:max_points]
                    out[name][i, e, : len(v)] = v
                    out[name][i, e, len(v) :] = v[-1]
                for j, (sx, sy, k, g) in enumerate(stops[:m_max]):
                    # the stop line's station on the route: its closest route point
                    nearest = np.argmin((pts[:npts, 0] - sx) ** 2 + (pts[:npts, 1] - sy) ** 2)
                    out["stop_s"][i, e, j] = s_arc[nearest]
                    out["stop_light"][i, e, j] = k
                    out["stop_group"][i, e, j] = g
                out["start_road"][i, e] = pieces[0].road
                out["start_lane"][i, e] = self.params.lanes_per_direction - 1
                out["start_s"][i, e] = s_start
        return out

    def _plan_route(self, row: int, ego: int, u: np.ndarray, m_max: int):
        """The pieces of ego ``ego``'s route in instance ``row`` (straights along its road's
        rightmost lane, quarter arcs where it turns right), the stop lines it crosses (x, y,
        intersection, signal group) and its start station; ``u``: the route's uniforms."""
        p = self.params
        w, hb = self.width[row], self.half_box[row]
        road = int(u[0] * self.num_roads) % self.num_roads
        lane = p.lanes_per_direction - 1
        first_stop = self.stop_s[row, road, 0]
        near, far = p.start_distance
        s_start = max(5.0, first_stop - near - (far - near) * u[1])
        s_start += 12.0 * ego  # several egos on one road keep apart
        pieces, stops = [], []
        s_cur, length, m, remaining = s_start, 0.0, 0, p.route_length
        while True:
            stop_here = self.stop_s[row, road, m] if m < self.stops_per_road else np.inf
            if not np.isfinite(stop_here) or length + (stop_here - s_cur) > remaining:
                s_end = min(self.length[row, road] - 10.0, s_cur + remaining - length)
                pieces.append(RoutePiece("straight", road, lane, s_cur, max(s_end, s_cur + 1.0)))
                return pieces, stops, s_start
            k = int(self.stop_light[road, m])
            box_in = stop_here + 1.0
            pieces.append(RoutePiece("straight", road, lane, s_cur, box_in))
            sx, sy, _ = self.to_world(row, road, stop_here, -(lane + 0.5) * w)
            stops.append((sx, sy, k, int(self.road_group[road])))
            length += box_in - s_cur
            turn_right = u[4 + min(len(stops) - 1, m_max - 1)] < p.right_turn_probability
            if turn_right:
                new_road = self._turn_road(road, k)
                x0, y0, h0 = self.to_world(row, road, box_in, -(lane + 0.5) * w)
                radius = hb - (lane + 0.5) * w
                cx, cy = x0 + radius * np.sin(h0), y0 - radius * np.cos(h0)
                a0 = h0 + 0.5 * np.pi
                pieces.append(RoutePiece("arc", cx=cx, cy=cy, radius=radius, a0=a0, a1=a0 - 0.5 * np.pi))
                length += 0.5 * np.pi * radius
                # station of the box exit on the new road
                new_m = int(np.flatnonzero(self.stop_light[new_road] == k)[0])
                s_cur = self.stop_s[row, new_road, new_m] + 1.0 + 2.0 * hb
                road, m = new_road, new_m + 1
            else:
                pieces.append(RoutePiece("straight", road, lane, box_in, box_in + 2.0 * hb))
                length += 2.0 * hb
                s_cur = box_in + 2.0 * hb
                m += 1
            if len(stops) >= m_max:
                remaining = min(remaining, length + 40.0)

    def _piece_points(self, row: int, pieces):
        """Per piece: route points ~1 m apart (x, y), the road of each point (-1 inside an
        intersection box), and the same-direction lanes left and right of it."""
        nl = self.params.lanes_per_direction
        w, hb = self.width[row], self.half_box[row]
        xy, road_of, left, right = [], [], [], []
        for piece in pieces:
            if piece.kind == "straight":
                st = np.arange(piece.s0, piece.s1, DS)
                x, y, _ = self.to_world(row, piece.road, st, -(piece.lane + 0.5) * w)
                xy.append(np.stack([x, y], axis=1))
                in_box = np.zeros(len(st), dtype=bool)
                for mm in range(self.stops_per_road):
                    c0 = self.stop_s[row, piece.road, mm] + 1.0
                    in_box |= (st > c0) & (st < c0 + 2.0 * hb)
                road_of.append(np.where(in_box, -1, piece.road))
                left.append(np.full(len(st), piece.lane, dtype=float))
                right.append(np.full(len(st), nl - 1 - piece.lane, dtype=float))
            else:
                count = max(2, int(np.ceil(0.5 * np.pi * piece.radius / DS)))
                a = np.linspace(piece.a0, piece.a1, count, endpoint=False)
                xy.append(np.stack([piece.cx + piece.radius * np.cos(a), piece.cy + piece.radius * np.sin(a)],
                                   axis=1))
                road_of.append(np.full(count, -1))
                left.append(np.zeros(count))
                right.append(np.zeros(count))
        return xy, road_of, left, right
