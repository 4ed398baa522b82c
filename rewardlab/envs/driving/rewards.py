"""The driving family's reward, all of it: raw terms, their constants and the three presets.

The simulator (``sim.py``) only measures (speeds, distances, offsets, the objects around each
ego, infractions); :func:`reward_terms` turns one step's :class:`Measurements` into the named
raw terms below, which carry no weight of their own, and a preset (:data:`PRESETS`) holds every
coefficient. To change a reward, change one number in its preset; to change what a term means,
change one function here. Every raw term is reported in ``info["reward_terms"]``.

==================  ============================================================================
term                raw value per ego and step
==================  ============================================================================
route_progress      dRC: gain in route completion, percent of the route (RC in [0, 100]); 0 while
                    the ego is outside the route's lanes (CaRL)
f_speed             max(0, 1 - (v - v_limit) / 2.23) over the limit, else 1 (CaRL)
f_ttc               0.5 while a time-to-collision violation happened within the last
                    ``ttc_window`` steps (the violating step included), else 1 (CaRL)
f_comfort           1 - 0.5 k / 6, k of the 6 comfort bounds violated within the last
                    ``comfort_window`` steps (CaRL)
f_lane              1 - clip(d / (w / 2), 0, 1), d: distance to the closest lane centre, w: lane
                    width; 1 inside an intersection box (CaRL)
terminal_carl       1 on the ego's collision or red-light infraction (CaRL's terminal hint)
r_speed             1 - |v - v_des| / v_max, v_des = v_max min_h clip(d_h - d0_h, 0, 5) / 5 over
                    the hazards h (Roach; see below)
r_position          |d_lat|: distance from the route's centre line, m (Roach)
r_rotation          |heading error| to the route, rad (Roach)
r_action            1 when the steering command changed by more than 0.01 (Roach)
terminal_roach      on a step where any ego of the instance commits one of Roach's episode-ending
                    events (collision, red light, route deviation, blocked): 1, plus the ego's speed
                    where the event is its own collision or red light (Roach)
hw_collision        1 on a collision step (highway-env)
hw_right_lane       lane index / (lanes - 1), 1 in the rightmost lane (highway-env)
hw_high_speed       clip((v_forward - v_lo) / (v_hi - v_lo), 0, 1) (highway-env)
hw_bias             1 (the constant of highway-env's normalisation)
hw_on_road          1 while the ego's centre is on a lane, else 0 (highway-env)
==================  ============================================================================

Presets (weights multiply the raw terms above; factors multiply the weighted sum; bonus terms are
added after the factors):

* ``carl``: r = 1 x route_progress x f_speed x f_ttc x f_comfort x f_lane - 1 x terminal_carl;
  ends on collision, red light, blocked, route deviation and off-road (CaRL).
* ``roach``: r = r_speed - 0.5 r_position - r_rotation - 0.1 r_action - terminal_roach; ends on
  collision, red light, route deviation and blocked (Roach).
* ``highway``: highway-env's reward normalised to [0, 1],
  (-1 collision + 0.1 right_lane + 0.4 high_speed + 1) / 1.5 x on_road; ends on collision.

Roach's speed term. One maximum speed v_max caps the desired speed and divides the error. Each
hazard lowers the desired speed to v_max clip(d - d0, 0, 5) / 5 at distance d (ego centre to
hazard centre): d0 = 8 m for a vehicle, 6 m for a pedestrian, 5 m for a red or yellow signal's stop
line. A vehicle is a hazard within 9.5 m, less than 45 degrees off the ego's heading and heading
within 150 degrees of it; a pedestrian on the carriageway within 9.5 m and 162 / (clip(d, 1.5,
10.5) + 0.3) degrees (Roach's ``lbc_hazard_vehicle`` / ``lbc_hazard_walker``). v_max is the
road's speed limit by default (the ``use_speed_limit_as_max_speed`` option of CaRL's Roach port);
``roach_max_speed=6.0`` gives Roach's original fixed 6 m/s (its CARLA town speed), under which the
desired speed never exceeds 6 m/s, whatever the road.

The simulator parameters that shape the reward (``DrivingParams``): ``ttc_window``,
``comfort_window``, ``comfort_bounds`` (infractions.py), ``roach_max_speed`` and
``reward_speed_range``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardlab.core.reward import RewardSpec


@dataclass(frozen=True)
class RewardConfig:
    """The reward's constants, each written once (units: m, s, rad)."""

    # CaRL (its CARLA configuration)
    speed_tolerance: float = 2.23  # m/s over the limit at which f_speed reaches 0 (nuPlan's 5 mph)
    ttc_factor: float = 0.5  # f_ttc inside the TTC window
    comfort_penalty: float = 0.5  # f_comfort with all six bounds violated
    lane_grace: float = 0.0  # m from the lane centre before f_lane falls (CaRL's threshold, 0)
    lane_softener: float = 1.0  # f_lane's depth at the lane edge (CaRL's softener, 1)
    # Roach
    hazard_ramp: float = 5.0  # m past the standoff over which v_des rises from 0 to v_max
    standoff_vehicle: float = 8.0  # m, v_des = 0 this close to a hazard vehicle's centre
    standoff_pedestrian: float = 6.0  # m
    standoff_light: float = 5.0  # m, from a red or yellow signal's stop line
    hazard_range: float = 9.5  # m, vehicles and pedestrians farther away are no hazard
    hazard_cone_vehicle: float = 45.0  # degrees off the ego's heading
    hazard_heading_vehicle: float = 150.0  # degrees: a vehicle heading more against the ego is none
    hazard_cone_pedestrian: float = 162.0  # degree m: the cone is this / (clip(d, 1.5, 10.5) + 0.3)
    steer_change: float = 0.01  # steering command change that counts for r_action


CONFIG = RewardConfig()

TERMS = (
    "route_progress",
    "f_speed",
    "f_ttc",
    "f_comfort",
    "f_lane",
    "terminal_carl",
    "r_speed",
    "r_position",
    "r_rotation",
    "r_action",
    "terminal_roach",
    "hw_collision",
    "hw_right_lane",
    "hw_high_speed",
    "hw_bias",
    "hw_on_road",
)

CARL_ENDS = ("collision", "red_light", "blocked", "route_deviation", "off_road")
ROACH_ENDS = ("collision", "red_light", "route_deviation", "blocked")
_HW_SCALE = 1.0 / 1.5  # highway-env: lmap(r, [collision, high_speed + right_lane], [0, 1])

PRESETS = {
    "carl": RewardSpec(
        weights={"route_progress": 1.0},
        factors=("f_speed", "f_ttc", "f_comfort", "f_lane"),
        bonus_weights={"terminal_carl": -1.0},
        terminate_on=CARL_ENDS,
    ),
    "roach": RewardSpec(
        weights={"r_speed": 1.0, "r_position": -0.5, "r_rotation": -1.0, "r_action": -0.1,
                 "terminal_roach": -1.0},
        terminate_on=ROACH_ENDS,
    ),
    "highway": RewardSpec(
        weights={
            "hw_collision": -1.0 * _HW_SCALE,
            "hw_right_lane": 0.1 * _HW_SCALE,
            "hw_high_speed": 0.4 * _HW_SCALE,
            "hw_bias": 1.0 * _HW_SCALE,
        },
        factors=("hw_on_road",),
        terminate_on=("collision",),
    ),
}


@dataclass
class Measurements:
    """One step's measurements, (B, E) per instance and ego unless noted; bools are numpy bool.

    ``objects_*`` describe the K nearest objects of each ego, (B, E, K), in the ego's frame.
    """

    active: np.ndarray  # the ego still drives (it has not finished its route)
    all_active: bool  # every ego of every instance is active (the usual case)
    speed: np.ndarray  # m/s
    speed_limit: np.ndarray  # (B, 1) m/s
    route_progress: np.ndarray  # route completion gained this step, percent of the route
    outside_route_lanes: np.ndarray  # the centre is beyond the route's same-direction lanes
    lane_centre_distance: np.ndarray  # m to the closest lane centre of the road the ego is on
    lane_width: np.ndarray  # (B, 1) m
    in_junction: np.ndarray  # the ego's route point lies inside an intersection box
    steps_since_ttc: np.ndarray  # steps since the last TTC violation (0 on a violating step)
    steps_since_comfort: np.ndarray  # (B, E, 6) steps since each comfort bound was last violated
    collision: np.ndarray  # the ego's new contact with a vehicle, obstacle or pedestrian
    red_light: np.ndarray  # the ego crossed a stop line on red
    route_deviation: np.ndarray
    blocked: np.ndarray
    route_offset: np.ndarray  # m, signed lateral offset from the route's centre line
    heading_error: np.ndarray  # rad, the ego's heading minus the route's
    steer_change: np.ndarray  # |steering command - last step's|
    objects_x: np.ndarray  # m ahead of the ego's centre
    objects_y: np.ndarray  # m to its left
    objects_cos_heading: np.ndarray  # cosine of the object's heading minus the ego's
    objects_pedestrian: np.ndarray  # the object is a pedestrian
    objects_on_road: np.ndarray  # a vehicle, or a pedestrian on the carriageway
    objects_present: np.ndarray  # the slot holds an object
    light_distance: np.ndarray  # m, ego centre to the next stop line on red or yellow; inf if none
    lane_index: np.ndarray  # same-direction lane the ego is in, 0 leftmost
    lanes_here: np.ndarray  # same-direction lanes of its road
    forward_speed: np.ndarray  # m/s along the route
    on_road: np.ndarray  # the ego's centre is on a lane or in an intersection box


# ----------------------------------------------------------------- CaRL
def speed_factor(v: np.ndarray, limit: np.ndarray) -> np.ndarray:
    return np.where(v > limit, np.maximum(0.0, 1.0 - (v - limit) / CONFIG.speed_tolerance), 1.0)


def window_factor(steps_since: np.ndarray, window: int) -> np.ndarray:
    """CaRL's TTC factor: applied on the violating step and the ``window - 1`` steps after it."""
    return np.where(steps_since < window, CONFIG.ttc_factor, 1.0)


def comfort_factor(steps_since: np.ndarray, window: int) -> np.ndarray:
    """1 - 0.5 k / 6 with k the bounds (last axis) violated within the last ``window`` steps."""
    k = np.add.reduce(steps_since < window, axis=-1)
    return 1.0 - CONFIG.comfort_penalty * k / 6.0


def lane_factor(distance: np.ndarray, lane_width: np.ndarray, in_junction: np.ndarray) -> np.ndarray:
    grace = CONFIG.lane_grace
    span = np.maximum(0.5 * lane_width - grace, 1e-6)
    inside = 1.0 - np.clip((distance - grace) / span, 0.0, 1.0) * CONFIG.lane_softener
    return np.where(in_junction, 1.0, inside)


# ----------------------------------------------------------------- Roach
def roach_hazard_distances(m: Measurements) -> tuple[np.ndarray, np.ndarray]:
    """Distance (B, E) to the nearest hazard vehicle and hazard pedestrian (inf where none)."""
    c = CONFIG
    x, y = m.objects_x, m.objects_y
    dist = np.sqrt(x * x + y * y)
    near = m.objects_present & (dist <= c.hazard_range)
    # the angle off the heading, |atan2(y, x)|, below the cone's half angle
    ahead_vehicle = (dist < 0.001) | (np.abs(y) < x * np.tan(np.radians(c.hazard_cone_vehicle)))
    same_way = m.objects_cos_heading >= np.cos(np.radians(c.hazard_heading_vehicle))
    vehicle = near & ~m.objects_pedestrian & ahead_vehicle & same_way
    d_vehicle = np.where(vehicle, dist, np.inf).min(axis=-1)
    pedestrian = near & m.objects_pedestrian & m.objects_on_road
    if pedestrian.any():  # most steps have none near: skip the trigonometry
        cone = c.hazard_cone_pedestrian / (np.clip(dist, 1.5, 10.5) + 0.3)
        pedestrian &= (dist < 0.001) | (np.degrees(np.abs(np.arctan2(y, x))) < cone)
    d_pedestrian = np.where(pedestrian, dist, np.inf).min(axis=-1)
    return d_vehicle, d_pedestrian


def roach_desired_speed(v_max, d_vehicle, d_pedestrian, d_light) -> np.ndarray:
    """v_des = v_max x the smallest ramp clip(d - d0, 0, 5) / 5 over the hazards (1 with none)."""
    c = CONFIG
    ramp = np.minimum(np.minimum(np.clip(d_vehicle - c.standoff_vehicle, 0.0, c.hazard_ramp),
                                 np.clip(d_pedestrian - c.standoff_pedestrian, 0.0, c.hazard_ramp)),
                      np.clip(d_light - c.standoff_light, 0.0, c.hazard_ramp))
    return v_max * ramp / c.hazard_ramp


def roach_speed(v: np.ndarray, v_des: np.ndarray, v_max) -> np.ndarray:
    return 1.0 - np.abs(v - v_des) / v_max


def roach_max_speed(m: Measurements, fixed: float | None):
    """Roach's v_max: the road's speed limit (CaRL's port), or a fixed speed (Roach: 6 m/s)."""
    return m.speed_limit if fixed is None else fixed


# ----------------------------------------------------------------- highway-env
def high_speed(v_forward: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((v_forward - low) / (high - low), 0.0, 1.0)


# ----------------------------------------------------------------- all terms
def reward_terms(m: Measurements, params) -> dict[str, np.ndarray]:
    """Every raw term of :data:`TERMS`, (B, E) each, from one step's measurements.

    ``params``: the simulator's ``DrivingParams`` (windows, Roach's v_max, highway-env's speed
    range). Inactive egos (finished routes) get neutral terms: factors 1, everything else 0.
    """
    active = m.active
    if m.all_active:  # with every ego active the masks below change nothing: leave them out
        def gate(x, fill):
            return x

        def scale(x):
            return x
    else:
        act = active.astype(float)

        def gate(x, fill):
            return np.where(active, x, fill)

        def scale(x):
            return act * x
    v = m.speed
    # Roach: the episode ends for every ego of an instance when one of them ends it
    own_hard = m.collision | m.red_light
    roach_end = np.logical_or.reduce(own_hard | m.route_deviation | m.blocked, axis=1, keepdims=True)
    v_max = roach_max_speed(m, params.roach_max_speed)
    d_vehicle, d_pedestrian = roach_hazard_distances(m)
    v_des = roach_desired_speed(v_max, d_vehicle, d_pedestrian, m.light_distance)
    nl = m.lanes_here
    lo, hi = params.reward_speed_range
    return {
        "route_progress": m.route_progress * ~m.outside_route_lanes,
        "f_speed": gate(speed_factor(v, m.speed_limit), 1.0),
        "f_ttc": gate(window_factor(m.steps_since_ttc, params.ttc_window), 1.0),
        "f_comfort": gate(comfort_factor(m.steps_since_comfort, params.comfort_window), 1.0),
        "f_lane": gate(lane_factor(m.lane_centre_distance, m.lane_width, m.in_junction), 1.0),
        "terminal_carl": own_hard.astype(float),
        "r_speed": scale(roach_speed(v, v_des, v_max)),
        "r_position": scale(np.abs(m.route_offset)),
        "r_rotation": scale(np.abs(m.heading_error)),
        "r_action": (m.steer_change > CONFIG.steer_change) * active.astype(float),
        "terminal_roach": scale(np.where(roach_end, 1.0 + v * own_hard, 0.0)),
        "hw_collision": m.collision.astype(float),
        "hw_right_lane": scale(np.where(nl > 1, np.minimum(m.lane_index, nl - 1) / np.maximum(nl - 1, 1),
                                        1.0)),
        "hw_high_speed": scale(high_speed(m.forward_speed, lo, hi)),
        "hw_bias": active.astype(float),
        "hw_on_road": gate(m.on_road.astype(float), 1.0),
    }
