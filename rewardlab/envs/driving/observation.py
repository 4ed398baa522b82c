"""Observations: a vector of ego state, route, neighbours and signal, or a bird's-eye raster.

Vector observation (91 float32, ego frame: x forward, y left; clipped to [-10, 10]):

=========  =====  =========================================================================
slice      size   content
=========  =====  =========================================================================
0:8        8      v / 30, (v - v_limit) / 10, last steering, last acceleration command,
                  d_lat / lane width, sin and cos of the heading error, route completion
8:28       20     route points 5, 10, ..., 40 m ahead (x, y) / 50, the last repeated to 10
28:84      56     8 nearest objects, nearest first: present (1; 0.5 for a pedestrian), dx / 50,
                  dy / 50, relative velocity (x, y) / 20, cos and sin of the relative heading
84:88      4      next stop line on the route: present, distance / 50 (clipped to 1), red,
                  yellow
88:90      2      same-direction lanes left and right of the route lane / 3
90         1      distance to the first hazard on the route (vehicle or non-green signal)
                  / 50, clipped to 1
=========  =====  =========================================================================

``obs="bev+vector"`` concatenates the vector and the flattened 0/1 raster in one float32 Box
(CaRL feeds its BEV and scalar measurements to the policy together).

Bird's-eye view (C x H x W, ego at 3/4 of the height facing up, ``bev_resolution`` m/px), with
CaRL's channel set where this simulator has the objects:

    0 road, 1 route, 2 lane markings, 3 vehicles, 4 pedestrians (grid scenarios),
    5 red lights, 6 yellow lights, 7 green lights, 8 static objects, 9 shoulder

Static layers (road, route, markings, shoulder) are rasterised once per episode into a
per-instance world-frame bit mask; each step samples it on the rotated pixel grid (nearest
neighbour) and scatters vehicles, obstacles and stop lines as sampled boxes. No Python loop
over instances or vehicles.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

VECTOR_SIZE = 91
# route points of the vector observation among the 16 hazard samples (2.5 m apart): every second
# one (5 ... 40 m), padded to 10 with the last
_ROUTE_POINTS = np.array([1, 3, 5, 7, 9, 11, 13, 15, 15, 15])
BEV_CHANNELS = ("road", "route", "lane_markings", "vehicles", "pedestrians", "red_lights",
                "yellow_lights", "green_lights", "static_objects", "shoulder")
STATIC_BITS = {"road": 1, "lane_markings": 2, "shoulder": 4}  # routes: route_bit(ego)
SHOULDER = 1.5  # m
RASTER_MARGIN = 60.0  # m around the routes in the static raster (beyond the 55 m view radius)


def observation_space(p) -> spaces.Box:
    if p.obs == "vector":
        return spaces.Box(-10.0, 10.0, shape=(VECTOR_SIZE,), dtype=np.float32)
    if p.obs == "bev+vector":
        raster = len(BEV_CHANNELS) * p.bev_size * p.bev_size
        low = np.concatenate([np.full(VECTOR_SIZE, -10.0), np.zeros(raster)]).astype(np.float32)
        high = np.concatenate([np.full(VECTOR_SIZE, 10.0), np.ones(raster)]).astype(np.float32)
        return spaces.Box(low, high, dtype=np.float32)
    if p.bev_dtype == "uint8":
        return spaces.Box(0, 255, shape=(len(BEV_CHANNELS), p.bev_size, p.bev_size), dtype=np.uint8)
    return spaces.Box(0.0, 1.0, shape=(len(BEV_CHANNELS), p.bev_size, p.bev_size), dtype=np.float32)


def bev_vector_observation(sim, r: np.ndarray) -> np.ndarray:
    """The vector observation followed by the flattened 0/1 raster, (len(r), E, 91 + C*H*W)."""
    vec = vector_observation(sim, r)
    bev = bev_observation(sim, r, dtype="float32")
    return np.concatenate([vec, bev.reshape(*bev.shape[:2], -1)], axis=-1)


def vector_observation(sim, r: np.ndarray) -> np.ndarray:
    # every instance (the per-step call): the cache as it is, without a gathered copy
    full = len(r) == sim.num_envs
    c = sim.cache if full else {k: v[r] for k, v in sim.cache.items()}
    sel = (lambda a: a) if r is sim.rows else (lambda a: a[r])  # no row copies of whole arrays
    lay = sim.layout
    e = sim.num_egos
    ex, ey, epsi, ev = sel(sim.ego_x), sel(sim.ego_y), sel(sim.ego_heading), sel(sim.ego_speed)
    limit = sel(lay.speed_limit)[:, None]
    w = sel(lay.width)[:, None]
    length = sel(sim.routes["length"])
    cos_e, sin_e = c["ego_cos"], c["ego_sin"]  # of epsi, from perception
    nb = len(r)
    # the 91 columns are written in place (no per-part stacking and concatenation)
    out = np.empty((nb, e, VECTOR_SIZE))
    out[..., 0] = ev / 30.0
    out[..., 1] = (ev - limit) / 10.0
    out[..., 2] = sel(sim.steer_prev)
    out[..., 3] = sel(sim.accel_cmd)
    out[..., 4] = c["d_lat"] / w
    out[..., 5] = c["head_sin"]
    out[..., 6] = c["head_cos"]
    out[..., 7] = sel(sim.progress) / length
    # route points every 5 m: the hazard samples are every 2.5 m; (x, y) pairs interleaved
    samples = c["samples"]
    # (b, e, 10, 2): the samples at 5..40 m, padded to 10 with the last sample
    pts = samples.take(_ROUTE_POINTS, axis=2)
    rx, ry = pts[..., 0] - ex[..., None], pts[..., 1] - ey[..., None]
    out[..., 8:28:2] = (rx * cos_e[..., None] + ry * sin_e[..., None]) / 50.0
    out[..., 9:28:2] = (-rx * sin_e[..., None] + ry * cos_e[..., None]) / 50.0
    ok = c["near_ok"]
    dx, dy = c["near_x"] - ex[..., None], c["near_y"] - ey[..., None]
    vx = c["near_v"] * c["near_cos"] - (ev * cos_e)[..., None]
    vy = c["near_v"] * c["near_sin"] - (ev * sin_e)[..., None]
    ce, se = cos_e[..., None], sin_e[..., None]
    rel_h = c["near_psi"] - epsi[..., None]
    k = dx.shape[2]
    objs = np.empty((nb, e, k, 7))
    # present: 1 for a vehicle or obstacle, 0.5 for a pedestrian (scenarios with pedestrians)
    objs[..., 0] = np.where(c["near"] >= sim.first_pedestrian, 0.5, 1.0) if sim.num_pedestrians else 1.0
    objs[..., 1] = (dx * ce + dy * se) / 50.0
    objs[..., 2] = (-dx * se + dy * ce) / 50.0
    objs[..., 3] = (vx * ce + vy * se) / 20.0
    objs[..., 4] = (-vx * se + vy * ce) / 20.0
    objs[..., 5] = np.cos(rel_h)
    objs[..., 6] = np.sin(rel_h)
    objs *= ok[..., None]
    out[..., 28:28 + 7 * k] = objs.reshape(nb, e, 7 * k)
    out[..., 28 + 7 * k:84] = 0.0
    state = c["light_state"]
    out[..., 84] = c["has_stop"]
    out[..., 85] = np.minimum(c["stop_dist"], 50.0) / 50.0
    out[..., 86] = state == 2
    out[..., 87] = state == 1
    idx = sel(sim.route_idx)
    rows_col, eidx = r[:, None], np.arange(e)[None, :]
    out[..., 88] = sim.routes["lanes_left"][rows_col, eidx, idx] / 3.0
    out[..., 89] = sim.routes["lanes_right"][rows_col, eidx, idx] / 3.0
    out[..., 90] = np.minimum(c["hazard"], 50.0) / 50.0
    return np.clip(out, -10.0, 10.0, out=out).astype(np.float32)


# ---------------------------------------------------------------------- bird's-eye view
def route_bit(ego: int) -> int:
    """Bit of ego ``ego``'s route in the static raster (after road, markings, shoulder)."""
    return 8 << ego


def static_points(lay, rows: np.ndarray, routes: dict, spacing: float, station_range=None):
    """World points of the static layers of instances ``rows``: list of (bit, rows, x, y).

    ``station_range`` (lo, hi) (B,) limits the stations sampled on the highway to the routes'
    surroundings.
    """
    out = []
    nb = len(rows)
    rr = rows[:, None, None, None]
    w = lay.width[rows][:, None, None, None]
    nl = lay.lanes[None, :, None, None]
    span = lay.num_stations * 1.0 - 1.0
    if station_range is None:
        st = np.broadcast_to(np.arange(0.0, span, spacing)[None, None, :, None],
                             (nb, 1, int(np.ceil(span / spacing)), 1))
    else:
        lo, hi = station_range
        count = int(np.ceil((hi - lo).max() / spacing)) + 1
        st = np.minimum(lo[:, None] + spacing * np.arange(count)[None, :], span)[:, None, :, None]
    lat = np.arange(-(int(lay.lanes.max()) * 3.8 + SHOULDER), SHOULDER + 1e-9, spacing)
    shape = (nb, lay.num_roads, st.shape[2], len(lat))
    s = np.broadcast_to(st, shape)
    road = np.broadcast_to(np.arange(lay.num_roads)[None, :, None, None], shape)
    d = np.broadcast_to(lat[None, None, None, :], shape)
    length = lay.length[rows][:, :, None, None]
    inside = (s <= length) & (d >= -nl * w - SHOULDER)
    # the reference frame depends on the station only: interpolate once per station
    fx, fy, fh = lay.frame(rr, road[..., :1], s[..., :1])
    x = fx - d * np.sin(fh)
    y = fy + d * np.cos(fh)
    on_road = inside & (d <= 0.0) & (d >= -nl * w)
    shoulder = inside & ~on_road
    marking = on_road & (np.abs(np.mod(-d + 0.5 * spacing, w) - 0.5 * spacing) < 0.5 * spacing) & (d < -0.5)
    rows_b = np.broadcast_to(rows[:, None, None, None], shape)
    for bit, mask in ((STATIC_BITS["road"], on_road), (STATIC_BITS["shoulder"], shoulder),
                      (STATIC_BITS["lane_markings"], marking)):
        out.append((bit, rows_b[mask], x[mask], y[mask]))
    if lay.has_ramp:  # the on-ramp: a lane-wide band around its tapering centre line
        out += _ramp_points(lay, rows, st[:, 0], spacing)
    if lay.num_intersections:
        out += _box_points(lay, rows, spacing)
    # routes: each ego's polyline widened to 3 m, one bit per ego
    e = routes["xy"].shape[1]
    q = routes["xy"].shape[2]
    within = np.arange(q)[None, :] < (routes["length"][rows][:, :, None] + 1.0)
    offs = np.arange(-1.5, 1.5 + 1e-9, spacing)
    h = routes["hdg"][rows]
    for k in range(e):
        rx = routes["xy"][rows, k, :, 0][..., None] - np.sin(h[:, k])[..., None] * offs
        ry = routes["xy"][rows, k, :, 1][..., None] + np.cos(h[:, k])[..., None] * offs
        mask = np.broadcast_to(within[:, k, :, None], rx.shape)
        rb = np.broadcast_to(rows[:, None, None], rx.shape)
        out.append((route_bit(k), rb[mask], rx[mask], ry[mask]))
    return out


def _ramp_points(lay, rows: np.ndarray, st: np.ndarray, spacing: float) -> list:
    """Road and shoulder points of the highway's on-ramp at stations ``st`` (nb, S, 1)."""
    nb = len(rows)
    u = np.arange(-(1.9 + SHOULDER), 1.9 + SHOULDER + 1e-9, spacing)
    s_r = np.broadcast_to(st, (nb, st.shape[1], len(u)))
    idx = np.minimum(np.round(s_r).astype(np.int64), lay.num_stations - 1)
    w_r = lay.width[rows][:, None, None]
    center = -(lay.lanes[0] + 0.5) * w_r - lay.ramp_offset[rows[:, None, None], idx]
    d_r = center + u
    fx, fy, fh = lay.frame(rows[:, None, None], np.zeros_like(idx[..., :1]), s_r[..., :1])
    x_r, y_r = fx - d_r * np.sin(fh), fy + d_r * np.cos(fh)
    exists = s_r <= lay.merge_end[rows][:, None, None]
    lane_r = exists & (np.abs(u) <= 0.5 * w_r)
    rb = np.broadcast_to(rows[:, None, None], s_r.shape)
    sh = exists & ~lane_r
    return [(STATIC_BITS["road"], rb[lane_r], x_r[lane_r], y_r[lane_r]),
            (STATIC_BITS["shoulder"], rb[sh], x_r[sh], y_r[sh])]


def _box_points(lay, rows: np.ndarray, spacing: float) -> list:
    """Road points filling the intersection boxes."""
    grid = np.arange(-30.0, 30.0 + 1e-9, spacing)
    gx, gy = np.meshgrid(grid, grid, indexing="ij")
    hb = lay.half_box[rows][:, None, None, None]
    cx = lay.centers[rows][:, :, 0][:, :, None, None] + gx
    cy = lay.centers[rows][:, :, 1][:, :, None, None] + gy
    box = np.broadcast_to((np.abs(gx) <= hb) & (np.abs(gy) <= hb), cx.shape)
    rb = np.broadcast_to(rows[:, None, None, None], box.shape)
    return [(STATIC_BITS["road"], rb[box], cx[box], cy[box])]


def raster_extent(sim) -> tuple[int, int]:
    """(height, width) in pixels of the per-instance static raster: the routes' surroundings."""
    p, lay = sim.params, sim.layout
    res = p.bev_resolution
    if lay.straight:
        span = (max(lay.nx, lay.ny) - 1) * p.block_range[1] + 2 * p.arm_range[1] + 2 * RASTER_MARGIN
        return int(np.ceil(span / res)), int(np.ceil(span / res))
    # highway: routes run <= route_length (+ 135 m between egos); headings turn <= 0.6 rad
    width = p.route_length + 150.0 + 2 * RASTER_MARGIN
    height = 0.6 * (p.route_length + 150.0) + 2 * RASTER_MARGIN
    return int(np.ceil(height / res)), int(np.ceil(width / res))


def build_static_raster(sim, rows: np.ndarray) -> None:
    """Rasterise road, route, markings and shoulder of instances ``rows`` in a world-frame bit mask
    centred on their routes."""
    lay, p = sim.layout, sim.params
    res = p.bev_resolution
    if sim.bev_static is None:
        sim.bev_static = np.zeros((sim.num_envs, *raster_extent(sim)), dtype=np.uint8)
        sim.bev_origin = np.zeros((sim.num_envs, 2))
    raster = sim.bev_static
    h, w = raster.shape[1:]
    raster[rows] = 0
    pts = sim.routes["xy"][rows]
    within = np.arange(pts.shape[2])[None, None, :] <= sim.routes["length"][rows][:, :, None]
    lo = np.where(within[..., None], pts, np.inf).min(axis=(1, 2))
    hi = np.where(within[..., None], pts, -np.inf).max(axis=(1, 2))
    if lay.straight:
        road_lo, road_hi = lay.extent(rows)
        lo, hi = np.minimum(lo, road_lo), np.maximum(hi, road_hi)
    center = 0.5 * (lo + hi)
    sim.bev_origin[rows, 0] = center[:, 0] - 0.5 * w * res
    sim.bev_origin[rows, 1] = center[:, 1] - 0.5 * h * res
    station_range = None
    if not lay.straight:
        start = sim.routes["start_s"][rows]
        station_range = (start.min(axis=1) - RASTER_MARGIN,
                         start.max(axis=1) + p.route_length + RASTER_MARGIN)
    for bit, rb, x, y in static_points(lay, rows, sim.routes, 0.7 * res, station_range):
        ix = np.floor((x - sim.bev_origin[rb, 0]) * (1.0 / res)).astype(np.int64)
        iy = np.floor((y - sim.bev_origin[rb, 1]) * (1.0 / res)).astype(np.int64)
        ok = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        raster[rb[ok], iy[ok], ix[ok]] |= np.uint8(bit)
    # the shoulder is what borders the road, never the road itself (e.g. the opposite carriageway)
    sub = raster[rows]
    sub[(sub & STATIC_BITS["road"]) > 0] &= np.uint8(~STATIC_BITS["shoulder"] & 0xFF)
    raster[rows] = sub


def _box_samples(length, width, spacing: float):
    """Body-frame sample offsets covering a box of the largest size, and a validity mask."""
    n_lon, n_lat = int(3.0 // spacing), int(1.2 // spacing)
    lon = np.arange(-n_lon, n_lon + 1) * spacing  # symmetric lattices through the centre
    lat = np.arange(-n_lat, n_lat + 1) * spacing
    gl, gw = np.meshgrid(lon, lat, indexing="ij")
    gl, gw = gl.ravel(), gw.ravel()
    inside = (np.abs(gl) <= 0.5 * length[..., None]) & (np.abs(gw) <= 0.5 * width[..., None])
    return gl, gw, inside


def _static_bits(ego: int) -> tuple[int, int, int, int]:
    """Raster bits of (road, route of ``ego``, lane markings, shoulder)."""
    return (STATIC_BITS["road"], route_bit(ego), STATIC_BITS["lane_markings"], STATIC_BITS["shoulder"])


_STATIC_CHANNELS = [BEV_CHANNELS.index(n) for n in ("road", "route", "lane_markings", "shoulder")]


def bev_observation(sim, r: np.ndarray, dtype: str | None = None) -> np.ndarray:
    """Bird's-eye view (len(r), E, C, H, W) (uint8 0/255 or float32 0/1)."""
    p = sim.params
    size, res = p.bev_size, p.bev_resolution
    nb, e = len(r), sim.num_egos
    # pixel grid in the ego frame: rows go forward (up), ego at 3/4 of the height
    idx = np.arange(size, dtype=np.float32)
    fwd = ((0.75 * size - idx - 0.5) * res)[:, None]
    left = ((0.5 * size - idx - 0.5) * res)[None, :]
    raster = sim.bev_static
    hh, ww = raster.shape[1:]
    inv = 1.0 / res
    # pixel centres in raster pixels, float32 (exact enough for maps of a few thousand pixels);
    # the raster leaves RASTER_MARGIN around the routes, pixels beyond it take its edge value
    c = (np.cos(sim.ego_heading[r]) * inv).astype(np.float32)[..., None, None]
    s = (np.sin(sim.ego_heading[r]) * inv).astype(np.float32)[..., None, None]
    ox = ((sim.ego_x[r] - sim.bev_origin[r, 0][:, None]) * inv).astype(np.float32)[..., None, None]
    oy = ((sim.ego_y[r] - sim.bev_origin[r, 1][:, None]) * inv).astype(np.float32)[..., None, None]
    ix = (ox + fwd * c - left * s).astype(np.int32)
    iy = (oy + fwd * s + left * c).astype(np.int32)
    np.clip(ix, 0, ww - 1, out=ix)
    np.clip(iy, 0, hh - 1, out=iy)
    iy *= ww
    iy += ix
    base = (r.astype(np.int64) * (hh * ww))[:, None, None, None]
    bits = raster.reshape(-1).take(base + iy)
    out = np.zeros((nb, e, len(BEV_CHANNELS), size, size), dtype=np.uint8)
    for k in range(e):
        for channel, bit in zip(_STATIC_CHANNELS, _static_bits(k), strict=True):
            out[:, k, channel] = (bits[:, k] & bit) != 0
    dynamic_layers(sim, r, out, size, res)
    if (dtype or p.bev_dtype) == "uint8":
        out *= 255
        return out
    return out.astype(np.float32)


def dynamic_layers(sim, r: np.ndarray, out: np.ndarray, size: int, res: float) -> None:
    """Scatter vehicles, static obstacles and stop lines into ``out`` (nb, E, C, size, size)."""
    nb, e = len(r), sim.num_egos
    ex, ey, epsi = sim.ego_x[r], sim.ego_y[r], sim.ego_heading[r]
    objs = sim.objects(r)
    gl, gw, inside = _box_samples(objs["length"], objs["width"], 0.7 * res)
    oc, os_ = np.cos(objs["psi"])[..., None], np.sin(objs["psi"])[..., None]
    px = objs["x"][..., None] + gl * oc - gw * os_
    py = objs["y"][..., None] + gl * os_ + gw * oc
    valid = inside & objs["visible"][..., None]
    channel = np.select([objs["kind"] == 2, objs["kind"] == 3],
                        [BEV_CHANNELS.index("static_objects"), BEV_CHANNELS.index("pedestrians")],
                        BEV_CHANNELS.index("vehicles"))
    for k in range(e):
        dx = px - ex[:, k, None, None]
        dy = py - ey[:, k, None, None]
        ck, sk = np.cos(epsi[:, k])[:, None, None], np.sin(epsi[:, k])[:, None, None]
        fx = dx * ck + dy * sk
        ly = -dx * sk + dy * ck
        pr = np.floor(0.75 * size - fx / res).astype(np.int64)
        pc = np.floor(0.5 * size - ly / res).astype(np.int64)
        not_self = ~((objs["kind"] == 1) & (np.arange(objs["x"].shape[1]) == sim.params.num_vehicles + k))
        m = valid & (pr >= 0) & (pr < size) & (pc >= 0) & (pc < size) & not_self[None, :, None]
        rb = np.broadcast_to(np.arange(nb)[:, None, None], m.shape)[m]
        ch = np.broadcast_to(channel[None, :, None], m.shape)[m]
        out[rb, k, ch, pr[m], pc[m]] = 1
    _draw_stop_lines(sim, r, out, size, res)


def _draw_stop_lines(sim, r, out, size, res) -> None:
    lay = sim.layout
    if not lay.num_intersections:
        return
    nb, e = len(r), sim.num_egos
    lights = sim.cache["lights"][r]  # (nb, K, 2)
    slots = lay.lane_slots
    m = lay.stops_per_road
    stop_s = lay.stop_s[r][:, :, :m]  # (nb, R, M)
    k = lay.stop_light[:, :m]  # (R, M)
    g = lay.road_group[:, None]
    state = lights[np.arange(nb)[:, None, None], k[None], np.broadcast_to(g, k.shape)[None]]  # (nb, R, M)
    lat = -np.arange(0.25, slots * 4.0, 0.5 * res)  # sample the stop line across the lanes
    w = lay.width[r][:, None, None, None]
    nl = lay.lanes[None, :, None, None]
    d = np.broadcast_to(lat, stop_s.shape + lat.shape)
    valid = np.isfinite(stop_s)[..., None] & (d >= -nl * w)
    s_b = np.broadcast_to(np.where(np.isfinite(stop_s), stop_s, 0.0)[..., None], d.shape)
    road = np.broadcast_to(np.arange(lay.num_roads)[None, :, None, None], d.shape)
    x, y, _ = lay.to_world(r[:, None, None, None], road, s_b, d)
    ch = (5 + np.broadcast_to(np.array([2, 1, 0])[state][..., None], d.shape))  # green->7, yellow->6, red->5
    for k_e in range(e):
        dx = x - sim.ego_x[r, k_e][:, None, None, None]
        dy = y - sim.ego_y[r, k_e][:, None, None, None]
        ck = np.cos(sim.ego_heading[r, k_e])[:, None, None, None]
        sk = np.sin(sim.ego_heading[r, k_e])[:, None, None, None]
        pr = np.floor(0.75 * size - (dx * ck + dy * sk) / res).astype(np.int64)
        pc = np.floor(0.5 * size - (-dx * sk + dy * ck) / res).astype(np.int64)
        mm = valid & (pr >= 0) & (pr < size) & (pc >= 0) & (pc < size)
        rb = np.broadcast_to(np.arange(nb)[:, None, None, None], mm.shape)[mm]
        out[rb, k_e, ch[mm], pr[mm], pc[mm]] = 1
