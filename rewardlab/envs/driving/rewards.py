"""Reward terms and the three presets of the driving family (facts.md section 3).

Every term is reported raw in ``info["reward_terms"]``; a preset is only weights, factors and
the events that end an episode.

=================  ===========================================================================
term               raw value per ego and step
=================  ===========================================================================
route_progress     dRC: increase of route completion in percent (RC in [0, 100]), 0 while the
                   ego is outside the route's lanes
f_speed            max(0, 1 - (v - v_limit) / 2.23) over the limit, else 1
f_ttc              0.5 while a time-to-collision violation is active, else 1
f_comfort          1 - 0.5 k / 6, k of the 6 comfort bounds violated within the last second
f_lane             1 - clip(|d_lat| / (w / 2), 0, 1), d_lat: offset from the route centre line
terminal_carl      -1 on the ego's collision or red-light infraction
r_speed            1 - |v - v_des| / 6, v_des = clip((hazard distance - 5 m) / 1.5 s, 0, v_limit)
r_position         -|d_lat| / 2
r_rotation         -|heading error| (rad)
r_action           -0.1 when the steering command changed by more than 0.01
terminal_roach     -1 when the episode ends on an event of the preset's ``terminate_on``;
                   minus the ego's speed as well when that event is its collision or red light
hw_collision       1 on a collision step
hw_right_lane      lane index / (lanes - 1), 1 in the rightmost lane
hw_high_speed      clip((v_forward - v_lo) / (v_hi - v_lo), 0, 1)
hw_bias            1 (the constant of highway-env's normalisation)
hw_on_road         1 while the ego's centre is on a lane, else 0
=================  ===========================================================================

Presets:

* ``carl``: r = route_progress x f_speed x f_ttc x f_comfort x f_lane + terminal_carl;
  terminates on collision, red light, blocked, route deviation and off-road (CaRL). The -1
  terminal term is a RewardSpec bonus term, added after the factors, so it is exactly -1.
* ``roach``: r = r_speed + r_position + r_rotation + r_action + terminal_roach; terminates on
  collision, red light, route deviation and blocked.
* ``highway``: highway-env's reward normalised to [0, 1],
  r = (-1 collision + 0.1 right_lane + 0.4 high_speed + 1) / 1.5 x on_road; terminates on
  collision.
"""

from __future__ import annotations

import numpy as np

from rewardlab.core.reward import RewardSpec
from rewardlab.envs.driving.vehicle import clip

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

EVENTS = (
    "collision",
    "collision_vehicle",
    "collision_static",
    "red_light",
    "off_road",
    "route_deviation",
    "blocked",
)

_HW_SCALE = 1.0 / 1.5  # highway-env: lmap(r, [collision, high_speed + right_lane], [0, 1])

PRESETS = {
    "carl": RewardSpec(
        weights={"route_progress": 1.0},
        factors=("f_speed", "f_ttc", "f_comfort", "f_lane"),
        bonus_weights={"terminal_carl": 1.0},
        terminate_on=("collision", "red_light", "blocked", "route_deviation", "off_road"),
    ),
    "roach": RewardSpec(
        weights={"r_speed": 1.0, "r_position": 1.0, "r_rotation": 1.0, "r_action": 1.0, "terminal_roach": 1.0},
        terminate_on=("collision", "red_light", "route_deviation", "blocked"),
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

SPEED_TOLERANCE = 2.23  # m/s (5 mph): CaRL's speed factor reaches 0 this far over the limit
ROACH_SPEED_SCALE = 6.0  # m/s
HAZARD_JAM = 5.0  # m: Roach's desired speed is 0 this close to a hazard
HAZARD_HEADWAY = 1.5  # s: and rises linearly with distance at this headway


def speed_factor(v: np.ndarray, limit: np.ndarray) -> np.ndarray:
    return np.where(v > limit, np.maximum(0.0, 1.0 - (v - limit) / SPEED_TOLERANCE), 1.0)


def comfort_factor(violated_bounds: np.ndarray) -> np.ndarray:
    return 1.0 - 0.5 * violated_bounds / 6.0


def lane_factor(d_lat: np.ndarray, lane_width: np.ndarray) -> np.ndarray:
    return 1.0 - clip(np.abs(d_lat) / (0.5 * lane_width), 0.0, 1.0)


def roach_desired_speed(hazard_distance: np.ndarray, limit: np.ndarray) -> np.ndarray:
    return clip((hazard_distance - HAZARD_JAM) / HAZARD_HEADWAY, 0.0, limit)


def roach_speed(v: np.ndarray, v_des: np.ndarray) -> np.ndarray:
    return 1.0 - np.abs(v - v_des) / ROACH_SPEED_SCALE


def high_speed(v_forward: np.ndarray, low: float, high: float) -> np.ndarray:
    return clip((v_forward - low) / (high - low), 0.0, 1.0)
