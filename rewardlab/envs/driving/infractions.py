"""Infractions, comfort bounds and the CARLA-leaderboard Driving Score.

Infractions an ego can commit (each counted once per occurrence, on its first step):

==================  ==========================================================================
collision_vehicle   its box overlaps a traffic vehicle's or another ego's box (separating-axis
                    test), counted per new contact
collision_static    its box overlaps a static obstacle
collision_pedestrian  its box overlaps a pedestrian's 0.6 m square (grid scenarios)
red_light           its front crosses a stop line on its route while that signal is red
off_road            more than ``off_road_fraction`` of its box (15 sample points) is off every
                    lane and intersection box
route_deviation     its centre is more than ``route_deviation_margin`` beyond the outer edge of
                    the route's same-direction lanes
blocked             it stood still (< 0.1 m/s) for ``blocked_time`` seconds with no red light
                    and no vehicle within 15 m ahead on its route
speeding            its speed exceeds the limit (counted per episode of speeding)
ttc                 moving at 0.1 m/s or more, a constant-velocity projection 0.1, 0.3, 0.5, 0.7
                    or 0.9 s ahead overlaps another object (CaRL's time-to-collision check)
comfort             one of six bounds (``COMFORT_BOUNDS``) is exceeded by CaRL's filtered
                    quantities (``comfort_filters``), from the 8th step of an episode
==================  ==========================================================================

Driving Score of a route: DS = RC x P with the leaderboard's penalty factors

    P = 0.50^n_pedestrian x 0.60^n_vehicle x 0.65^n_static x 0.70^n_red_light
        x (1 - fraction of the route driven outside its lanes)

(the stop-sign (0.80) and scenario-timeout (0.70) factors exist in the table but no scenario
here has stop signs or scenario timeouts; n_pedestrian counts pedestrian collisions, in the
grid scenarios' crosswalks).
Route deviation and blocked end the route in the leaderboard; here they count as
infractions and, under the ``carl`` and ``roach`` presets, end the episode.
"""

from __future__ import annotations

import math

import numpy as np

PENALTY = {
    "collision_pedestrian": 0.50,
    "collision_vehicle": 0.60,
    "collision_static": 0.65,
    "red_light": 0.70,
    "stop_sign": 0.80,
    "scenario_timeout": 0.70,
}

#: Comfort bounds (m/s^2, m/s^3, rad/s, rad/s^2); the ``comfort_bounds`` parameter picks a set:
#: "carla", the loose bounds of CaRL's CARLA configuration (the default), or "nuplan", the tight
#: bounds of nuPlan's comfort metric.
COMFORT_BOUNDS = {
    "carla": {
        "lon_accel_min": -20.0,
        "lon_accel_max": 10.0,
        "lat_accel": 9.0,  # |.|
        "lon_jerk": 30.0,  # |.|
        "jerk": 30.0,  # |.|, magnitude of the jerk vector
        "yaw_rate": 1.0,  # |.|
        "yaw_accel": 3.0,  # |.|
    },
    "nuplan": {
        "lon_accel_min": -4.05,
        "lon_accel_max": 2.40,
        "lat_accel": 4.89,
        "lon_jerk": 4.13,
        "jerk": 8.37,
        "yaw_rate": 0.95,
        "yaw_accel": 1.93,
    },
}

TTC_HORIZONS = (0.1, 0.3, 0.5, 0.7, 0.9)
TTC_MIN_SPEED = 0.1  # m/s: a slower ego commits no TTC violation (CaRL, after nuPlan)

#: Events a step reports per instance (any of its egos); a preset's ``terminate_on`` picks from
#: these. The grid scenarios add ``collision_pedestrian`` while they have pedestrians.
EVENTS = (
    "collision",
    "collision_vehicle",
    "collision_static",
    "red_light",
    "off_road",
    "route_deviation",
    "blocked",
)


def comfort_violations(a_lon, a_lat, jerk_lon, jerk, yaw_rate, yaw_accel, bounds="carla") -> np.ndarray:
    """Which of the six comfort bounds of the set ``bounds`` are exceeded, (..., 6) bool."""
    b = COMFORT_BOUNDS[bounds]
    out = np.empty(np.shape(a_lon) + (6,), dtype=bool)  # filled by column: no np.stack
    out[..., 0] = (a_lon < b["lon_accel_min"]) | (a_lon > b["lon_accel_max"])
    out[..., 1] = np.abs(a_lat) > b["lat_accel"]
    out[..., 2] = np.abs(jerk_lon) > b["lon_jerk"]
    out[..., 3] = np.abs(jerk) > b["jerk"]
    out[..., 4] = np.abs(yaw_rate) > b["yaw_rate"]
    out[..., 5] = np.abs(yaw_accel) > b["yaw_accel"]
    return out


# CaRL's comfort quantities: Savitzky-Golay filters over the last 15 steps of each ego's
# longitudinal and lateral acceleration, acceleration magnitude and (unwrapped) yaw, checked once
# 8 steps are in. Every filtered value is linear in that history, so each is one weight vector.
COMFORT_HISTORY = 15
COMFORT_MIN_HISTORY = 8
_ACCEL_WINDOW, _YAW_WINDOW = 8, 5


def polynomial_fit_weights(window: int, order: int, deriv: int, at: float, dt: float) -> np.ndarray:
    """w (window,) such that w @ y is the deriv-th time derivative, at sample position ``at``, of
    the least-squares polynomial of ``order`` through samples y taken ``dt`` apart."""
    t = np.arange(window, dtype=float)
    coefficients = np.linalg.pinv(np.vander(t, order + 1, increasing=True))  # (order + 1, window)
    k = np.arange(order + 1)
    falling = np.array([math.perm(int(i), deriv) for i in k], dtype=float)  # k! / (k - deriv)!
    basis = np.where(k >= deriv, falling * float(at) ** np.maximum(k - deriv, 0), 0.0)
    return basis @ coefficients / dt**deriv


def smoothing_matrix(n: int, window: int, order: int) -> np.ndarray:
    """(n, n): the smoothing CaRL applies to a history of n samples (scipy's ``savgol_filter``,
    mode "interp"): the first and last window // 2 outputs from the fits through the first and
    last ``window`` samples; output i between them from the fit through samples i - h + 1 ...
    i + h (h = window // 2; an even window) evaluated at that window's middle."""
    out = np.zeros((n, n))
    half = window // 2
    for i in range(n):
        if i < half:
            out[i, :window] = polynomial_fit_weights(window, order, 0, i, 1.0)
        elif i >= n - half:
            out[i, n - window:] = polynomial_fit_weights(window, order, 0, i - (n - window), 1.0)
        else:
            start = i - half + 1
            out[i, start:start + window] = polynomial_fit_weights(window, order, 0, (window - 1) / 2, 1.0)
    return out


def comfort_filters(dt: float) -> dict[str, np.ndarray]:
    """Weights over a history of ``COMFORT_HISTORY`` samples (oldest first, the newest last):
    ``accel`` (H,), the smoothed acceleration now; ``jerk`` (H + 1, H), by the number of samples
    held, the derivative now of the quadratic through the whole smoothed history; ``yaw_rate``
    and ``yaw_accel`` (H,), the first derivative of a quadratic and the second of a cubic through
    the last 5 yaws."""
    h = COMFORT_HISTORY
    accel, yaw_rate, yaw_accel = np.zeros(h), np.zeros(h), np.zeros(h)
    accel[h - _ACCEL_WINDOW:] = polynomial_fit_weights(_ACCEL_WINDOW, 2, 0, _ACCEL_WINDOW - 1, dt)
    yaw_rate[h - _YAW_WINDOW:] = polynomial_fit_weights(_YAW_WINDOW, 2, 1, _YAW_WINDOW - 1, dt)
    yaw_accel[h - _YAW_WINDOW:] = polynomial_fit_weights(_YAW_WINDOW, 3, 2, _YAW_WINDOW - 1, dt)
    jerk = np.zeros((h + 1, h))
    for n in range(COMFORT_MIN_HISTORY, h + 1):
        jerk[n, h - n:] = polynomial_fit_weights(n, 2, 1, n - 1, dt) @ smoothing_matrix(n, _ACCEL_WINDOW, 2)
    # all six at once: (samples held, history x channel, quantity) for a history of H x 4 channels
    # (a_lon, a_lat, |a|, yaw) -> (a_lon, a_lat, longitudinal jerk, jerk, yaw rate, yaw acceleration)
    six = np.zeros((h + 1, h, 4, 6))
    six[:, :, 0, 0] = six[:, :, 1, 1] = accel
    six[:, :, 0, 2] = six[:, :, 2, 3] = jerk
    six[:, :, 3, 4], six[:, :, 3, 5] = yaw_rate, yaw_accel
    return {"accel": accel, "jerk": jerk, "yaw_rate": yaw_rate, "yaw_accel": yaw_accel,
            "six": six.reshape(h + 1, 4 * h, 6)}


def penalty_product(counts: dict[str, np.ndarray], outside_fraction: np.ndarray) -> np.ndarray:
    """The leaderboard's multiplicative penalty P from infraction counts."""
    p = np.ones_like(np.asarray(outside_fraction, dtype=float))
    for name, factor in PENALTY.items():
        if name in counts:
            p = p * factor ** counts[name]
    return p * (1.0 - np.clip(outside_fraction, 0.0, 1.0))


def driving_score(route_completion: np.ndarray, counts: dict[str, np.ndarray],
                  outside_fraction: np.ndarray) -> np.ndarray:
    """DS = RC x P, RC in percent."""
    return route_completion * penalty_product(counts, outside_fraction)
