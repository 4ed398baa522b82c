"""Vehicle kinematics and geometry: the kinematic bicycle model and oriented-box collision tests.

Kinematic bicycle model referenced at the centre of mass (as in highway-env and Kong et al.,
2015). With steering angle ``delta``, axle distances ``lf`` and ``lr`` from the centre of mass:

    beta     = atan(lr / (lf + lr) * tan(delta))      slip angle of the centre of mass
    d(x)/dt  = v cos(psi + beta)
    d(y)/dt  = v sin(psi + beta)
    d(psi)/dt = v sin(beta) / lr
    d(v)/dt  = a

Over one step the inputs are held constant and the pose is advanced along the exact arc that
this ODE traces for constant speed (radius ``lr / sin(beta)``), with the distance travelled
taken from the exact constant-acceleration speed profile (clamped at a stop, no reversing).
So a straight line and a constant-curvature circle are reproduced without integration error,
which ``tests/driving/test_driving_physics.py`` checks against the closed forms.

Boxes are (centre x, y, heading, length, width); ``boxes_overlap`` is the separating-axis test
on two oriented rectangles, broadcast over any leading shape.
"""

from __future__ import annotations

import numpy as np

# The ego vehicle: a 4.6 m x 1.9 m box, axles 1.4 m ahead of and behind its centre of mass, and
# the limits that scale the action Box([-1, 1]^2) (steering, acceleration / braking).
EGO_LENGTH, EGO_WIDTH = 4.6, 1.9  # m
LF = LR = 1.4  # m, centre of mass to the front / rear axle
MAX_STEER = 0.5  # rad
MAX_ACCEL, MAX_BRAKE = 4.0, 8.0  # m/s^2
V_MAX = 40.0  # m/s

_EPS = float(np.finfo(np.float64).eps)


def bicycle_step(
    x: np.ndarray,
    y: np.ndarray,
    psi: np.ndarray,
    v: np.ndarray,
    accel: np.ndarray,
    delta: np.ndarray,
    dt: float,
    lf: float,
    lr: float,
    v_max: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Advance the kinematic bicycle by ``dt`` with constant acceleration and steering.

    Returns ``(x, y, psi, v, yaw_rate)`` after the step; ``yaw_rate`` is the mean over the step.
    """
    v_end = v + accel * dt
    # distance along the path: exact for constant acceleration, clamped at standstill / v_max
    stop = v_end < 0.0
    # the divisor is >= 2e-12: no division by zero
    stop_dist = np.where(stop, v * v / (2.0 * np.maximum(-accel, 1e-12)), 0.0)
    dist = np.where(stop, stop_dist, 0.5 * (v + np.maximum(v_end, 0.0)) * dt)
    over = v_end > v_max
    if over.any():
        # accelerate to v_max, then cruise: time to reach it t1, distance v t1 + a t1^2/2 + v_max (dt - t1)
        t1 = np.where(over, (v_max - v) / np.where(accel > 0, accel, 1.0), dt)
        dist = np.where(over, v * t1 + 0.5 * accel * t1 * t1 + v_max * (dt - t1), dist)
    v_new = np.clip(v_end, 0.0, v_max)
    beta = np.arctan(lr / (lf + lr) * np.tan(delta))
    # the centre of mass moves on a circle of curvature sin(beta) / lr; heading change = kappa * dist
    kappa = np.sin(beta) / lr
    dpsi = kappa * dist
    # chord of the arc, the exact integral of (cos, sin)(course + kappa * l) over l in [0, dist]:
    # length dist * sin(dpsi/2)/(dpsi/2) along the mid-course: np.sinc(dpsi / 2 pi) written out
    # (the same arithmetic as np.sinc); at 0 it takes sin(eps)/eps = 1 as np.sinc does
    half = np.pi * (dpsi / (2.0 * np.pi))
    half = np.where(half == 0.0, _EPS, half)
    chord = dist * (np.sin(half) / half)
    mid_course = psi + beta + 0.5 * dpsi
    dx = chord * np.cos(mid_course)
    dy = chord * np.sin(mid_course)
    psi_new = wrap_angle(psi + dpsi)
    return x + dx, y + dy, psi_new, v_new, dpsi / dt


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles wrapped to [-pi, pi)."""
    return (a + np.pi) % (2.0 * np.pi) - np.pi


def box_corners(x, y, psi, length, width) -> np.ndarray:
    """Corners (..., 4, 2) of oriented boxes, counter-clockwise from front-left."""
    c, s = np.cos(psi), np.sin(psi)
    hl, hw = 0.5 * np.asarray(length), 0.5 * np.asarray(width)
    sign_l = np.array([1.0, -1.0, -1.0, 1.0])
    sign_w = np.array([1.0, 1.0, -1.0, -1.0])
    lx = hl[..., None] * sign_l if np.ndim(hl) else hl * sign_l
    wy = hw[..., None] * sign_w if np.ndim(hw) else hw * sign_w
    cx = np.asarray(x)[..., None] + lx * np.asarray(c)[..., None] - wy * np.asarray(s)[..., None]
    cy = np.asarray(y)[..., None] + lx * np.asarray(s)[..., None] + wy * np.asarray(c)[..., None]
    return np.stack([cx, cy], axis=-1)


def boxes_overlap(ax, ay, apsi, alen, awid, bx, by, bpsi, blen, bwid, trig=None) -> np.ndarray:
    """Separating-axis test of two oriented rectangles, broadcast over the inputs' shapes.

    Two convex rectangles are disjoint exactly when the projections on one of the four edge
    normals (two per box) do not overlap. ``trig``: (cos apsi, sin apsi, cos bpsi, sin bpsi) when
    the caller has them already.
    """
    dx, dy = bx - ax, by - ay
    if trig is None:
        ca, sa, cb, sb = np.cos(apsi), np.sin(apsi), np.cos(bpsi), np.sin(bpsi)
    else:
        ca, sa, cb, sb = trig
    hal, haw, hbl, hbw = 0.5 * alen, 0.5 * awid, 0.5 * blen, 0.5 * bwid
    # cosines between the axes of the two boxes
    c_ll = np.abs(ca * cb + sa * sb)  # |a_long . b_long| = |a_lat . b_lat|
    c_lw = np.abs(-ca * sb + sa * cb)  # |a_long . b_lat| = |a_lat . b_long|
    # axis a_long
    sep = np.abs(dx * ca + dy * sa) > hal + hbl * c_ll + hbw * c_lw
    # axis a_lat
    sep |= np.abs(-dx * sa + dy * ca) > haw + hbl * c_lw + hbw * c_ll
    # axis b_long
    sep |= np.abs(dx * cb + dy * sb) > hbl + hal * c_ll + haw * c_lw
    # axis b_lat
    sep |= np.abs(-dx * sb + dy * cb) > hbw + hal * c_lw + haw * c_ll
    return ~sep
