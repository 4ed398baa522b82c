"""Hand-built scenes for the driving tests: an empty road, the ego placed on its route."""

from __future__ import annotations

import numpy as np

import rewardlab


def make_scene(env_id="rewardlab/DrivingHighway-v0", seed=0, **kwargs):
    """One instance with no traffic (and, unless asked for, no pedestrians at the crossings)."""
    if "Highway" not in env_id and "MultiEgo" not in env_id:
        kwargs.setdefault("pedestrians_per_crossing", 0)
    sim = rewardlab.make_sim(env_id, num_envs=1, **kwargs)
    sim.reset(seed=seed)
    sim.traffic.active[:] = False  # an empty road unless a test adds traffic
    if sim.num_static:
        sim.obstacles.active[:] = False
    sim._perceive_rows(sim.rows)
    return sim


def place_ego(sim, route_index, lateral=0.0, speed=None, heading_offset=0.0):
    """Put ego 0 on its route point ``route_index``, ``lateral`` m to the left of it."""
    xy = sim.routes["xy"][0, 0, route_index]
    h = sim.routes["hdg"][0, 0, route_index]
    sim.ego_x[0, 0] = xy[0] - lateral * np.sin(h)
    sim.ego_y[0, 0] = xy[1] + lateral * np.cos(h)
    sim.ego_heading[0, 0] = h + heading_offset
    if speed is not None:
        sim.ego_speed[0, 0] = speed
    sim.route_idx[0, 0] = route_index
    if not sim.layout.straight:  # the highway locates the ego by a local search from this hint
        road = sim.layout.xy[0, 0]
        dist2 = (road[:, 0] - sim.ego_x[0, 0]) ** 2 + (road[:, 1] - sim.ego_y[0, 0]) ** 2
        sim.road_hint[0, 0] = np.argmin(dist2)
    sim._update_frenet(sim.rows)
    sim._perceive_rows(sim.rows)


def put_vehicle(sim, i, ds=0.0, speed=0.0, lane=None):
    """Traffic vehicle i on the ego's road and lane, ``ds`` m ahead of the ego's station."""
    s, d, _ = sim.layout.project(sim.rows, sim.ego_x, sim.ego_y, sim.road_hint)
    road = 0
    w = sim.layout.width[0]
    lane = int(np.floor(-d[0, 0, road] / w)) if lane is None else lane
    sim.traffic.active[0, i] = True
    sim.traffic.road[0, i], sim.traffic.lane[0, i] = road, lane
    sim.traffic.station[0, i] = s[0, 0, road] + ds
    sim.traffic.speed[0, i] = sim.traffic.desired_speed[0, i] = speed
    sim.traffic.desired_speed[0, i] = max(speed, 1.0)
    sim.traffic.lateral[0, i] = 0.0
    sim._perceive_rows(sim.rows)
