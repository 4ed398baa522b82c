"""``rgb_array`` rendering: a top-down view around the first ego, rasterised with NumPy.

The static layers come from the same sample points as the bird's-eye observation (no world
raster needed), the dynamic layers from the same scatter code, then each channel gets a colour.
"""

from __future__ import annotations

import numpy as np

from rewardlab.envs.driving.observation import (
    BEV_CHANNELS,
    STATIC_BITS,
    dynamic_layers,
    route_bit,
    static_points,
)

SIZE, RESOLUTION = 256, 0.4  # pixels, m per pixel: a 102 m wide view

COLOURS = {  # painted in this order, later layers on top
    "shoulder": (120, 120, 110),
    "road": (70, 70, 75),
    "lane_markings": (230, 230, 230),
    "route": (60, 110, 170),
    "green_lights": (40, 200, 60),
    "yellow_lights": (240, 200, 30),
    "red_lights": (230, 40, 40),
    "static_objects": (250, 140, 20),
    "vehicles": (80, 200, 230),
    "pedestrians": (250, 60, 200),
}
BACKGROUND = (34, 120, 50)
EGO_COLOUR = (240, 240, 60)


def render_scene(sim, index: int = 0, size: int = SIZE, resolution: float = RESOLUTION) -> np.ndarray:
    rows = np.array([index])
    layers = np.zeros((1, sim.num_egos, len(BEV_CHANNELS), size, size), dtype=np.uint8)
    ex, ey, epsi = sim.ego_x[index, 0], sim.ego_y[index, 0], sim.ego_heading[index, 0]
    c, s = np.cos(epsi), np.sin(epsi)
    for bit, _, x, y in static_points(sim.layout, rows, sim.routes, 0.5 * resolution):
        dx, dy = x - ex, y - ey
        near = (np.abs(dx) < size * resolution) & (np.abs(dy) < size * resolution)
        dx, dy = dx[near], dy[near]
        pr = np.floor(0.75 * size - (dx * c + dy * s) / resolution).astype(np.int64)
        pc = np.floor(0.5 * size - (-dx * s + dy * c) / resolution).astype(np.int64)
        ok = (pr >= 0) & (pr < size) & (pc >= 0) & (pc < size)
        if bit >= route_bit(0) and bit != route_bit(0):
            continue  # other egos' routes
        name = "route" if bit == route_bit(0) else next(k for k, v in STATIC_BITS.items() if v == bit)
        layers[0, 0, BEV_CHANNELS.index(name), pr[ok], pc[ok]] = 1
    dynamic_layers(sim, rows, layers, size, resolution)
    frame = np.empty((size, size, 3), dtype=np.uint8)
    frame[:] = BACKGROUND
    road = layers[0, 0, BEV_CHANNELS.index("road")] > 0
    layers[0, 0, BEV_CHANNELS.index("shoulder")] &= ~road
    for name, colour in COLOURS.items():
        frame[layers[0, 0, BEV_CHANNELS.index(name)] > 0] = colour
    # the ego itself, a filled box at its fixed place in the view
    half_l, half_w = 2.3 / resolution, 0.95 / resolution
    r0, c0 = int(0.75 * size), int(0.5 * size)
    frame[int(r0 - half_l): int(r0 + half_l), int(c0 - half_w): int(c0 + half_w)] = EGO_COLOUR
    return frame
