"""What the egos perceive: the object table, the nearest objects, the route ahead and its signals.

:func:`objects` lists every object an ego can meet (traffic, the egos, static obstacles,
pedestrians) as (B, M) arrays; :func:`perceive` finds each ego's ``NEAREST`` objects, its place
on its route, the hazard distance along the route and the next stop line with its signal. The
simulator caches the result (``sim.cache``) for the observation, the checks and the reward's
measurements.
"""

from __future__ import annotations

import math

import numpy as np

from rewardlab.envs.driving.pedestrians import PEDESTRIAN_SIZE
from rewardlab.envs.driving.traffic import OBSTACLE_LENGTH, OBSTACLE_WIDTH, light_states, row_base
from rewardlab.envs.driving.vehicle import EGO_LENGTH, EGO_WIDTH, wrap_angle

NEAREST = 8  # objects in the vector observation and in the collision / TTC checks
HAZARD_SAMPLES, HAZARD_SPACING = 16, 2.5  # route samples ahead used for the hazard distance
HAZARD_OFFSETS = np.round(HAZARD_SPACING * np.arange(1, HAZARD_SAMPLES + 1)).astype(np.int64)  # route points
# object kinds in the object table
TRAFFIC, EGO, STATIC, PEDESTRIAN = range(4)

_TAKE_BASE: dict[tuple, np.ndarray] = {}


def take_last(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a`` gathered along its last axis by ``idx`` (same leading shape), as
    ``np.take_along_axis(a, idx, axis=-1)`` computes it, on flat indices."""
    m = a.shape[-1]
    lead = idx.shape[:-1]
    base = _TAKE_BASE.get((lead, m))
    if base is None:  # flat offsets of the leading rows: a handful of shapes per simulator
        base = _TAKE_BASE[(lead, m)] = np.arange(math.prod(lead), dtype=np.int64).reshape(lead + (1,)) * m
    return np.ascontiguousarray(a).reshape(-1).take(base + idx)


def _selector(sim, rows: np.ndarray):
    """Rows ``rows`` of a (B, ...) array: the array itself when they are every instance."""
    return (lambda a: a) if rows is sim.rows else (lambda a: a[rows])


def objects(sim, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Every object an ego can meet, (len(rows), M) arrays: traffic [0, N), egos [N, N + E),
    static obstacles, then pedestrians; ``kind`` (M,) says which."""
    sel = _selector(sim, rows)
    traffic = sim.traffic
    tx, ty, th = traffic.pose(rows)
    n, e = traffic.num_vehicles, sim.num_egos
    shape = (len(rows), sim.num_objects)
    out = {k: np.empty(shape) for k in ("x", "y", "psi", "v", "length", "width")}
    out["visible"] = np.empty(shape, dtype=bool)
    out["x"][:, :n], out["y"][:, :n], out["psi"][:, :n], out["v"][:, :n] = tx, ty, th, sel(traffic.speed)
    out["visible"][:, :n] = sel(traffic.active) & traffic.on_map(rows, sel)
    out["length"][:, :n], out["width"][:, :n] = sel(traffic.length), sel(traffic.width)
    out["x"][:, n:n + e], out["y"][:, n:n + e] = sel(sim.ego_x), sel(sim.ego_y)
    out["psi"][:, n:n + e], out["v"][:, n:n + e] = sel(sim.ego_heading), sel(sim.ego_speed)
    out["visible"][:, n:n + e] = sel(sim.ego_active)
    out["length"][:, n:n + e], out["width"][:, n:n + e] = EGO_LENGTH, EGO_WIDTH
    if sim.obstacles.count:  # fixed for the episode: their pose was computed at placement
        ob, at = sim.obstacles, n + e
        end = at + ob.count
        out["x"][:, at:end], out["y"][:, at:end] = sel(ob.x), sel(ob.y)
        out["psi"][:, at:end], out["v"][:, at:end] = sel(ob.heading), 0.0
        out["length"][:, at:end], out["width"][:, at:end] = OBSTACLE_LENGTH, OBSTACLE_WIDTH
        out["visible"][:, at:end] = sel(ob.active)
    if sim.pedestrians is not None:  # the last block: a small square each, always there
        ped, at = sim.pedestrians, sim.first_pedestrian
        out["x"][:, at:], out["y"][:, at:], out["psi"][:, at:] = sel(ped.x), sel(ped.y), sel(ped.heading)
        out["v"][:, at:] = sel(ped.speed) * sel(ped.crossing)
        out["length"][:, at:] = out["width"][:, at:] = PEDESTRIAN_SIZE
        out["visible"][:, at:] = True
    out["kind"] = sim.object_kind.copy()
    return out


def perceive(sim, rows: np.ndarray) -> dict[str, np.ndarray]:
    """What the observation and the checks need, for the instances ``rows``."""
    sel = _selector(sim, rows)
    ego = sel(sim.ego_x), sel(sim.ego_y), sel(sim.ego_heading)
    near = nearest_objects(sim, objects(sim, rows), ego)
    place = route_place(sim, rows, sel, ego)
    hazard_vehicle, hazard_speed = route_hazards(sim, sel, near, place["samples"], ego[2])
    front = place["route_station"] + 0.5 * EGO_LENGTH
    stop = next_stop_line(sim, rows, sel, front)
    # the first hazard on the route: a vehicle on it, or the stop line of a non-green signal
    signal_ahead = stop["has_stop"] & (stop["light_state"] != 0)
    stop_hazard = np.where(signal_ahead, stop["stop_dist"] + 0.5 * EGO_LENGTH, np.inf)
    return {
        **near, **place, **stop,
        "hazard_speed": hazard_speed, "hazard_vehicle": hazard_vehicle,
        "hazard": np.minimum(hazard_vehicle, stop_hazard) if sim.layout.num_intersections else hazard_vehicle,
        # cosines and sines the checks and the observation share
        "ego_cos": np.cos(ego[2]), "ego_sin": np.sin(ego[2]),
        "near_cos": np.cos(near["near_psi"]), "near_sin": np.sin(near["near_psi"]),
        "head_cos": np.cos(place["head_err"]), "head_sin": np.sin(place["head_err"]),
    }


def nearest_objects(sim, objs: dict[str, np.ndarray], ego) -> dict[str, np.ndarray]:
    """The ``NEAREST`` visible objects of each ego (itself excluded), nearest first: their index
    in the object table, whether there is one, and their pose, speed and size."""
    ex, ey, _ = ego
    nb, m = objs["x"].shape
    dx = objs["x"][:, None, :] - ex[:, :, None]
    dy = objs["y"][:, None, :] - ey[:, :, None]
    dist2 = dx * dx + dy * dy
    visible = objs["visible"][:, None, :] & sim.not_self
    dist2 = np.where(visible, dist2, np.inf)
    k = min(NEAREST, m)
    near = dist2.argpartition(k - 1, axis=2)[:, :, :k]
    near = take_last(near, take_last(dist2, near).argsort(axis=2))
    flat = row_base(nb, m)[:, :, None] + near  # objects are per instance, shared by egos

    def pick(name):
        return objs[name].reshape(-1).take(flat)

    return {"near": near, "near_ok": take_last(dist2, near) < np.inf,
            "near_x": pick("x"), "near_y": pick("y"), "near_psi": pick("psi"), "near_v": pick("v"),
            "near_len": pick("length"), "near_wid": pick("width")}


def route_place(sim, rows: np.ndarray, sel, ego) -> dict[str, np.ndarray]:
    """Each ego's lateral offset, station and heading error at its route point, and the route
    samples every ``HAZARD_SPACING`` m ahead, (b, e, HAZARD_SAMPLES, 2)."""
    routes, e, q = sim.routes, sim.num_egos, sim.route_points
    ex, ey, epsi = ego
    idx = sel(sim.route_idx)
    rflat = (rows[:, None] * e + np.arange(e)[None, :]) * q
    rx_flat, ry_flat = routes["x"].reshape(-1), routes["y"].reshape(-1)
    rh = routes["hdg"].reshape(-1).take(rflat + idx)
    c, s = np.cos(rh), np.sin(rh)
    ox, oy = ex - rx_flat.take(rflat + idx), ey - ry_flat.take(rflat + idx)
    # route points are ~1 m apart
    sidx = np.minimum(idx[..., None] + HAZARD_OFFSETS, q - 1) + rflat[..., None]
    samples = np.empty(sidx.shape + (2,))
    samples[..., 0] = rx_flat.take(sidx)
    samples[..., 1] = ry_flat.take(sidx)
    station = routes["s"].reshape(-1).take(rflat + idx) + ox * c + oy * s
    return {"d_lat": -ox * s + oy * c, "route_station": station, "head_err": wrap_angle(epsi - rh),
            "samples": samples}


def route_hazards(sim, sel, near: dict[str, np.ndarray], samples: np.ndarray, epsi: np.ndarray):
    """Distance along the route to the first nearest object within half a lane of a route sample
    (from the ego's front; ``HAZARD_SAMPLES`` + 8 samples away when there is none), and that
    object's speed along the ego's heading."""
    near_ok = near["near_ok"]
    # laid out (b, e, objects, samples): the first hit per object is a contiguous argmax
    hx = samples[:, :, None, :, 0] - near["near_x"][..., None]
    hy = samples[:, :, None, :, 1] - near["near_y"][..., None]
    radius = 0.5 * sel(sim.layout.width)[:, None, None] + 0.5 * near["near_wid"] - 0.3
    hx *= hx
    hy *= hy
    hx += hy
    hit = hx < (radius * radius)[..., None]
    hit &= near_ok[..., None]
    first_hit = hit.argmax(axis=3)  # 0 also when there is no hit: test that sample
    obj_first = np.where(take_last(hit, first_hit[..., None])[..., 0], first_hit + 1, HAZARD_SAMPLES + 8)
    hazard_obj = obj_first.argmin(axis=2)[..., None]
    first = take_last(obj_first, hazard_obj)[..., 0]
    hz_psi = take_last(near["near_psi"], hazard_obj)[..., 0]
    hazard_speed = take_last(near["near_v"], hazard_obj)[..., 0] * np.cos(hz_psi - epsi)
    return first * HAZARD_SPACING - 0.5 * EGO_LENGTH, hazard_speed


def next_stop_line(sim, rows: np.ndarray, sel, front: np.ndarray) -> dict[str, np.ndarray]:
    """The signals (b, K, 2) and, per ego, the next stop line on its route ahead of its front:
    whether there is one, its distance and its signal's state (GREEN where there is none)."""
    lay, routes = sim.layout, sim.routes
    nb, e = front.shape
    if not lay.num_intersections:
        return {"stop_dist": np.full((nb, e), np.inf), "light_state": np.zeros((nb, e), dtype=np.int64),
                "has_stop": np.zeros((nb, e), dtype=bool), "lights": np.zeros((nb, 1, 2), dtype=np.int64)}
    lights = light_states(sel(sim.time), sel(lay.green), sel(lay.yellow), sel(lay.all_red),
                          sel(lay.light_offset))
    stop_s = routes["stop_s"][rows]
    ahead = stop_s >= front[..., None] - 0.5
    next_m = ahead.argmax(axis=2)[..., None]
    has_stop = np.any(ahead, axis=2)
    stop_dist = np.where(has_stop, take_last(stop_s, next_m)[..., 0] - front, np.inf)
    k_light = take_last(routes["stop_light"][rows], next_m)[..., 0]
    g_light = take_last(routes["stop_group"][rows], next_m)[..., 0]
    state = lights[np.arange(nb)[:, None], k_light, g_light]
    return {"stop_dist": stop_dist, "light_state": np.where(has_stop, state, 0), "has_stop": has_stop,
            "lights": lights}
