"""Low-level controllers: pure pursuit on the route and the discrete meta-actions.

With ``action="discrete"`` an ego takes highway-env's five meta-actions, ``Discrete(5)``:

=====  ===========  =====================================================================
0      LANE_LEFT    target one lane further left of the route lane (within the road)
1      IDLE         keep the targets
2      LANE_RIGHT   target one lane further right
3      FASTER       target speed + 5 m/s (at most the limit + 5 m/s)
4      SLOWER       target speed - 5 m/s (at least 0)
=====  ===========  =====================================================================

and a controller turns the targets into the continuous command every step: pure pursuit toward
the route point ``max(6 m, 0.8 s x v)`` ahead, shifted sideways by the target lane offset, and a
proportional speed loop (gain 1/s) saturated at the ego's acceleration and braking limits.
"""

from __future__ import annotations

import numpy as np

from rewardlab.envs.driving.vehicle import LF, LR, MAX_ACCEL, MAX_BRAKE, MAX_STEER

LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER = range(5)
SPEED_STEP = 5.0  # m/s per FASTER / SLOWER


def pure_pursuit(sim, lateral: np.ndarray | float = 0.0) -> np.ndarray:
    """Steering command in [-1, 1] (B, E) toward the route, offset ``lateral`` m to its left."""
    b, e = sim.num_envs, sim.num_egos
    rows, eidx = np.arange(b)[:, None], np.arange(e)[None, :]
    routes = sim.routes
    q = routes["xy"].shape[2]
    look = np.maximum(6.0, 0.8 * sim.ego_speed)
    target = np.minimum(sim.route_idx + np.round(look).astype(np.int64), q - 1)
    h = routes["hdg"][rows, eidx, target]
    tx = routes["xy"][rows, eidx, target, 0] - lateral * np.sin(h) - sim.ego_x
    ty = routes["xy"][rows, eidx, target, 1] + lateral * np.cos(h) - sim.ego_y
    alpha = np.arctan2(ty, tx) - sim.ego_heading
    dist = np.maximum(np.hypot(tx, ty), 1.0)
    kappa = 2.0 * np.sin(alpha) / dist
    beta = np.arcsin(np.clip(kappa * LR, -0.99, 0.99))
    delta = np.arctan(np.tan(beta) * (LF + LR) / LR)
    return np.clip(delta / MAX_STEER, -1.0, 1.0)


def meta_action_command(sim, meta: np.ndarray) -> np.ndarray:
    """Update the egos' lane and speed targets with meta-actions (B, E) and return (B, E, 2)."""
    b, e = sim.num_envs, sim.num_egos
    rows, eidx = np.arange(b)[:, None], np.arange(e)[None, :]
    left = sim.routes["lanes_left"][rows, eidx, sim.route_idx]
    right = sim.routes["lanes_right"][rows, eidx, sim.route_idx]
    lane = sim.meta_lane + (meta == LANE_LEFT) - (meta == LANE_RIGHT)
    sim.meta_lane = np.clip(lane, -right, left)
    limit = sim.layout.speed_limit[:, None]
    speed = sim.meta_speed + SPEED_STEP * ((meta == FASTER).astype(float) - (meta == SLOWER))
    sim.meta_speed = np.clip(speed, 0.0, limit + SPEED_STEP)
    steer = pure_pursuit(sim, sim.meta_lane * sim.layout.width[:, None])
    accel = np.clip(sim.meta_speed - sim.ego_speed, -MAX_BRAKE, MAX_ACCEL)
    cmd = np.where(accel >= 0.0, accel / MAX_ACCEL, accel / MAX_BRAKE)
    return np.stack([steer, cmd], axis=-1)
