"""Parameters of the driving scenarios: every field can be passed to ``gym.make``.

:class:`DrivingParams` holds what every scenario shares; :class:`HighwayParams` and
:class:`GridParams` add the road and traffic of the highway and of the signalised grids
(intersection, town), whose crosswalk pedestrians are configured here too. Units: m, s, m/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral

from rewardlab.core import params as check
from rewardlab.core.errors import RewardlabError
from rewardlab.envs.driving import infractions as inf
from rewardlab.envs.driving.observation import RASTER_MARGIN
from rewardlab.envs.driving.traffic import IDMParams
from rewardlab.envs.driving.vehicle import V_MAX

#: Placement sites per lane in the traffic lattice (``Traffic.place``): a layout holds at most
#: (roads x lane slots x sites) vehicles.
SITES_PER_LANE = 40
#: Points (1 m apart) of a route: the highway's and the grids' route arrays, less 50 m of
#: look-ahead beyond the route's end.
MAX_ROUTE_LENGTH = {"highway": 700 - 50, "grid": 600 - 50}
#: Ceiling of the static bird's-eye raster of one instance, pixels (64 MiB as uint8).
MAX_RASTER_PIXELS = 2**26
#: Egos whose routes have a bit in the uint8 static raster (bits 8 << ego, after road, markings
#: and shoulder).
MAX_BEV_EGOS = 5


def _check_idm(idm: IDMParams) -> None:
    """The IDM/MOBIL constants of ``idm=``; messages name the field as ``idm.<name>``."""
    try:
        check.numbers(idm, ("a", "b", "a_max", "b_max", "b_safe"), low=0.0, low_open=True, high=100.0)
        check.numbers(idm, ("time_gap", "lane_change_delay"), low=0.0, high=100.0)
        check.numbers(idm, ("jam_distance",), low=0.0, high=1000.0)
        check.numbers(idm, ("delta",), low=0.0, low_open=True, high=100.0)
        check.numbers(idm, ("politeness",), low=0.0, high=1.0)
        check.numbers(idm, ("threshold",), low=0.0, high=100.0)
    except RewardlabError as err:
        raise RewardlabError(f"idm.{err}") from None


def _check_raster(params: DrivingParams, span_x: float, span_y: float) -> None:
    """A bird's-eye observation keeps a static raster of ``span_x x span_y`` m per instance."""
    if params.obs == "vector":
        return
    pixels = math.ceil(span_x / params.bev_resolution) * math.ceil(span_y / params.bev_resolution)
    if pixels > MAX_RASTER_PIXELS:
        raise RewardlabError(
            f"bev_resolution must be coarse enough for the static raster ({span_x:.0f} m x {span_y:.0f} m) "
            f"to fit {MAX_RASTER_PIXELS} pixels, got {params.bev_resolution!r} ({type(params.bev_resolution).__name__})"
        )


def _check_capacity(params: DrivingParams, roads: int, lane_slots: int) -> None:
    """``num_vehicles`` fits the layout's placement lattice."""
    capacity = roads * lane_slots * SITES_PER_LANE
    check.integers(params, num_vehicles=(1, capacity))


@dataclass(frozen=True)
class DrivingParams:
    """Parameters shared by the driving scenarios (units: m, s, m/s)."""

    obs: str = "vector"
    action: str = "continuous"
    num_vehicles: int = 28
    min_vehicles: int = 21
    num_egos: int = 1
    max_steps: int = 400
    dt: float = 0.1
    speed_limit_range: tuple[float, float] = (25.0, 33.0)
    route_length: float = 500.0
    reward_speed_range: tuple[float, float] = (20.0, 30.0)
    route_deviation_margin: float = 3.0
    blocked_time: float = 10.0
    off_road_fraction: float = 0.95
    ttc_window: int = 500
    comfort_window: int = 500
    comfort_bounds: str = "carla"
    roach_max_speed: float | None = None
    bev_size: int = 64
    bev_resolution: float = 1.0
    bev_dtype: str = "uint8"
    idm: IDMParams = field(default_factory=IDMParams)

    def __post_init__(self) -> None:
        check.choice(self, "obs", ("vector", "bev", "bev+vector"))
        check.choice(self, "action", ("continuous", "discrete"))
        check.choice(self, "bev_dtype", ("uint8", "float32"))
        check.choice(self, "comfort_bounds", tuple(inf.COMFORT_BOUNDS))
        # the scenario's layout caps num_vehicles (HighwayParams, GridParams)
        check.integers(self, num_vehicles=1, num_egos=(1, 16), max_steps=(1, check.MAX_STEPS))
        check.integers(self, min_vehicles=(1, self.num_vehicles))
        check.integers(self, ttc_window=(1, check.MAX_STEPS), comfort_window=(1, check.MAX_STEPS))
        check.integers(self, bev_size=(8, 512))
        check.numbers(self, ("dt",), low=0.0, low_open=True, high=1.0)
        check.ordered_pair(self, "speed_limit_range", low=0.0, high=V_MAX)
        if self.speed_limit_range[0] <= 0.0:
            raise RewardlabError(f"speed_limit_range must be a pair (low, high) with 0 < low <= high <= {V_MAX}, "
                                 f"got {self.speed_limit_range!r} (tuple)")
        check.ordered_pair(self, "reward_speed_range", low=0.0, high=V_MAX, strict=True)
        check.numbers(self, ("route_length",), low=20.0, low_open=True, high=max(MAX_ROUTE_LENGTH.values()))
        check.numbers(self, ("route_deviation_margin",), low=0.0, high=100.0)
        # a standstill shorter than one step would end every episode at its first step
        check.numbers(self, ("blocked_time",), low=0.0, low_open=True, high=1e6)
        check.numbers(self, ("off_road_fraction",), low=0.0, high=1.0)
        # None: the road's speed limit (CaRL's port of Roach); 6.0: Roach's original
        check.numbers(self, ("roach_max_speed",), low=0.0, low_open=True, high=V_MAX, optional=True)
        check.numbers(self, ("bev_resolution",), low=0.05, high=10.0)
        if self.obs != "vector" and self.num_egos > MAX_BEV_EGOS:
            raise RewardlabError(f"num_egos must be <= {MAX_BEV_EGOS} with obs={self.obs!r} (one raster bit per "
                                 f"ego's route), got {self.num_egos!r} ({type(self.num_egos).__name__})")
        check.instance(self, "idm", IDMParams)
        _check_idm(self.idm)


@dataclass(frozen=True)
class HighwayParams(DrivingParams):
    num_lanes: int = 3
    min_radius: float = 300.0
    ramp_probability: float = 0.5
    static_obstacle_probability: float = 0.5
    ramp_spawn_probability: float = 0.15

    def __post_init__(self) -> None:
        super().__post_init__()
        check.integers(self, num_lanes=(2, 5), num_egos=(1, 4))
        _check_capacity(self, roads=1, lane_slots=self.num_lanes + 1)  # the main lanes and the on-ramp
        check.numbers(self, ("route_length",), low=20.0, low_open=True, high=MAX_ROUTE_LENGTH["highway"])
        check.numbers(self, ("min_radius",), low=100.0, high=1e5)
        check.numbers(self, ("ramp_probability", "static_obstacle_probability", "ramp_spawn_probability"),
                      low=0.0, high=1.0)
        # routes run <= route_length (+ 135 m between egos) and turn <= 0.6 rad
        _check_raster(self, self.route_length + 150.0 + 2 * RASTER_MARGIN,
                      0.6 * (self.route_length + 150.0) + 2 * RASTER_MARGIN)


@dataclass(frozen=True)
class GridParams(DrivingParams):
    grid: tuple[int, int] = (1, 1)
    lanes_per_direction: int = 2
    block_range: tuple[float, float] = (90.0, 130.0)
    arm_range: tuple[float, float] = (110.0, 150.0)
    green_range: tuple[float, float] = (8.0, 14.0)
    right_turn_probability: float = 0.5
    start_distance: tuple[float, float] = (30.0, 70.0)
    speed_limit_range: tuple[float, float] = (11.0, 14.0)
    reward_speed_range: tuple[float, float] = (7.0, 11.0)
    route_length: float = 180.0
    pedestrians_per_crossing: int = 1
    pedestrian_speed_range: tuple[float, float] = (1.2, 1.5)
    pedestrian_max_wait: float = 20.0

    def __post_init__(self) -> None:
        super().__post_init__()
        grid = self.grid
        if not (isinstance(grid, tuple | list) and len(grid) == 2
                and all(isinstance(n, Integral) and not isinstance(n, bool) and 1 <= n <= 3 for n in grid)):
            raise RewardlabError(f"grid must be a pair (nx, ny) of integers >= 1 and <= 3, "
                                 f"got {grid!r} ({type(grid).__name__})")
        object.__setattr__(self, "grid", tuple(int(n) for n in grid))
        check.integers(self, lanes_per_direction=(1, 3), pedestrians_per_crossing=(0, 4))
        _check_capacity(self, roads=2 * sum(self.grid), lane_slots=self.lanes_per_direction)
        check.numbers(self, ("route_length",), low=20.0, low_open=True, high=MAX_ROUTE_LENGTH["grid"])
        check.ordered_pair(self, "block_range", low=60.0, high=500.0)
        check.ordered_pair(self, "arm_range", low=80.0, high=500.0)
        check.ordered_pair(self, "green_range", low=1.0, high=300.0)
        check.ordered_pair(self, "start_distance", low=0.0, high=500.0)
        check.ordered_pair(self, "pedestrian_speed_range", low=0.0, high=3.0)
        if self.pedestrian_speed_range[0] <= 0.0:
            raise RewardlabError(f"pedestrian_speed_range must be a pair (low, high) with 0 < low <= high <= 3.0, "
                                 f"got {self.pedestrian_speed_range!r} (tuple)")
        check.numbers(self, ("right_turn_probability",), low=0.0, high=1.0)
        check.numbers(self, ("pedestrian_max_wait",), low=0.0, high=3600.0)
        span = (max(self.grid) - 1) * self.block_range[1] + 2 * self.arm_range[1] + 2 * RASTER_MARGIN
        _check_raster(self, span, span)
