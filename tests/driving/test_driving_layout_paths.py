"""The layouts' fast geometry paths against straightforward computations, bit for bit.

Straight roads keep no station table: their stations are computed from the road's origin and
direction with the table's arithmetic. The highway's table evaluates cos/sin only where the
heading changes. The off-road test samples only the instances with an ego near an edge. Each is
compared here with the plain computation it replaces (exact equality, not a tolerance).
"""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab
from rewardlab.core.rng import BatchedRNG
from rewardlab.envs.driving.checks import BOX_SAMPLES_LAT, BOX_SAMPLES_LON, off_road_fraction
from rewardlab.envs.driving.road import DS, smoothstep


def _dense_interpolation(table, rows, road, s):
    """Linear interpolation in a (B, R, P, 5) station table, as a sampled road would do it."""
    p = table.shape[2]
    u = s * (1.0 / DS)
    i0 = np.minimum(np.maximum(u.astype(np.int64) - (u < 0), 0), p - 2)
    g0 = table[rows, road, i0]
    g1 = table[rows, road, i0 + 1]
    return (g1 - g0) * (u - i0)[..., None] + g0


@pytest.mark.parametrize("env_id", ["rewardlab/DrivingTown-v0", "rewardlab/DrivingIntersection-v0"])
@pytest.mark.parametrize("count", [5, 400])  # the few-points and the column-wise paths
def test_straight_roads_match_a_sampled_station_table(env_id, count):
    sim = rewardlab.make_sim(env_id, num_envs=6)
    sim.reset(seed=11)
    lay = sim.layout
    g = lay.road_geo
    # the table a sampled road would hold: origin + station * direction, constant heading
    st = np.arange(lay.num_stations) * DS
    table = np.empty((sim.num_envs, lay.num_roads, lay.num_stations, 5))
    table[..., :2] = g[:, :, None, :2] + st[None, None, :, None] * np.stack(
        [np.cos(g[..., 2]), np.sin(g[..., 2])], axis=-1)[:, :, None, :]
    table[..., 2] = g[:, :, None, 2]
    table[..., 3] = np.cos(table[..., 2])
    table[..., 4] = np.sin(table[..., 2])
    rng = np.random.default_rng(3)
    rows = rng.integers(0, sim.num_envs, count)
    road = rng.integers(0, lay.num_roads, count)
    s = rng.uniform(-20.0, lay.num_stations + 20.0, count)  # both ends extended, too
    s[:3] = (0.0, 17.0, lay.num_stations - 1.0)  # exactly on stations
    d = rng.uniform(-8.0, 2.0, count)
    want = _dense_interpolation(table, rows, road, s)
    x, y, h = lay.frame(rows, road, s)
    assert np.array_equal(x, want[:, 0]) and np.array_equal(y, want[:, 1]) and np.array_equal(h, want[:, 2])
    wx, wy, wh = lay.to_world(rows, road, s, d)
    assert np.array_equal(wx, want[:, 0] - d * want[:, 4])
    assert np.array_equal(wy, want[:, 1] + d * want[:, 3])
    # extent: the end points bound every station
    lo, hi = lay.extent(np.arange(sim.num_envs))
    pts = table[..., :2].reshape(sim.num_envs, -1, 2)
    assert np.array_equal(lo, pts.min(axis=1)) and np.array_equal(hi, pts.max(axis=1))
    assert np.array_equal(lay.xy, table[..., :2])


def test_highway_table_matches_trigonometry_at_every_station():
    n = 7
    sim = rewardlab.make_sim("rewardlab/DrivingHighway-v0", num_envs=n)
    sim.reset(seed=5)
    lay, p = sim.layout, sim.params
    # the geometry again from the same uniforms, with cos/sin evaluated at every station
    rng = BatchedRNG(n)
    rows = np.arange(n)
    rng.seed(5 + rows, rows)
    u = rng.uniform((12,), rows)
    a1 = 80.0 + 120.0 * u[:, 1]
    gap = 60.0 + 120.0 * u[:, 3]
    radius1 = p.min_radius + (3 * p.min_radius) * u[:, 5]
    radius2 = p.min_radius + (3 * p.min_radius) * u[:, 6]
    arc1 = (0.08 + 0.22 * u[:, 2]) * radius1
    arc2 = (0.08 + 0.22 * u[:, 4]) * radius2
    sign1 = np.where(u[:, 7] < 0.5, -1.0, 1.0)
    s = np.arange(lay.num_stations) * DS
    b1, b2 = a1 + arc1, a1 + arc1 + gap
    kappa = np.where((s >= a1[:, None]) & (s < b1[:, None]), (sign1 / radius1)[:, None], 0.0)
    kappa += np.where((s >= b2[:, None]) & (s < (b2 + arc2)[:, None]), (-sign1 / radius2)[:, None], 0.0)
    hdg = np.concatenate([np.zeros((n, 1)), np.cumsum(kappa[:, :-1] * DS, axis=1)], axis=1)
    mid = hdg[:, :-1] + 0.5 * kappa[:, :-1] * DS
    steps = np.stack([np.cos(mid), np.sin(mid)], axis=-1) * DS
    xy = np.concatenate([np.zeros((n, 1, 2)), np.cumsum(steps, axis=1)], axis=1)
    assert np.array_equal(lay.hdg[:, 0], hdg)
    assert np.array_equal(lay.xy[:, 0], xy)
    assert np.array_equal(lay.geo[:, 0, :, 3], np.cos(hdg))
    assert np.array_equal(lay.geo[:, 0, :, 4], np.sin(hdg))
    merge_start = 220.0 + 80.0 * u[:, 10]
    assert np.array_equal(lay.ramp_offset, 12.0 * smoothstep((merge_start[:, None] - s) / 120.0))
    # the curvature really varies: both arcs are present on every road
    assert (np.abs(np.diff(hdg, axis=1)) > 0).sum(axis=1).min() > 40


@pytest.mark.parametrize("env_id", ["rewardlab/DrivingHighway-v0", "rewardlab/DrivingTown-v0"])
def test_off_road_sampling_of_some_instances_matches_sampling_all(env_id):
    sim = rewardlab.make_sim(env_id, num_envs=8)
    sim.reset(seed=2)
    lay = sim.layout
    # push half of the egos toward or beyond the road's edge, leave the others in their lane
    shift = np.array([0.0, 2.2, 0.0, 6.0, 0.0, 30.0, 0.0, 1.6])[:, None]
    h = sim.ego_heading
    sim.ego_x = sim.ego_x - shift * np.sin(h)
    sim.ego_y = sim.ego_y + shift * np.cos(h)
    sim._update_frenet(sim.rows)
    frac = off_road_fraction(sim)
    # brute force: all 15 box samples of every ego, every instance
    c, s = np.cos(sim.ego_heading)[..., None], np.sin(sim.ego_heading)[..., None]
    px = sim.ego_x[..., None] + BOX_SAMPLES_LON * c - BOX_SAMPLES_LAT * s
    py = sim.ego_y[..., None] + BOX_SAMPLES_LON * s + BOX_SAMPLES_LAT * c
    ddx, ddy = (px - sim.ego_x[..., None])[..., None], (py - sim.ego_y[..., None])[..., None]
    ch, sh = np.cos(sim.ego_road_heading)[:, :, None, :], np.sin(sim.ego_road_heading)[:, :, None, :]
    ps = sim.ego_s[:, :, None, :] + ddx * ch + ddy * sh
    pd = sim.ego_d[:, :, None, :] - ddx * sh + ddy * ch
    want = 1.0 - lay.drivable(sim.rows, ps, pd, px, py).mean(axis=2)
    assert np.array_equal(frac, want)
    assert want[5, 0] == 1.0  # far off the road
    # the fast path ran on a partial subset: some egos' boxes lie well inside their lane
    # (across the road at most half_lat from the centre), others do not
    rel = sim.ego_heading[..., None] - sim.ego_road_heading
    half_lat = 0.5 * (4.6 * np.abs(np.sin(rel)) + 1.9 * np.abs(np.cos(rel)))
    inner_edge = -lay.lanes * lay.width[:, None, None] + half_lat + 0.01
    inside = (sim.ego_d <= -half_lat - 0.01) & (sim.ego_d >= inner_edge)
    assert 0 < inside.any(axis=2).sum() < sim.num_envs
