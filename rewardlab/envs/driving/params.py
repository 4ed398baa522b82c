"""Parameters of the driving scenarios: every field can be passed to ``gym.make``.

:class:`DrivingParams` holds what every scenario shares; :class:`HighwayParams` and
:class:`GridParams` add the road and traffic of the highway and of the signalised grids
(intersection, town), whose crosswalk pedestrians are configured here too. Units: m, s, m/s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rewardlab.core import params as check
from rewardlab.envs.driving import infractions as inf
from rewardlab.envs.driving.traffic import IDMParams
from rewardlab.envs.driving.vehicle import V_MAX


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
        if self.obs not in ("vector", "bev", "bev+vector"):
            raise ValueError(f"obs must be 'vector', 'bev' or 'bev+vector', got {self.obs!r}")
        if self.action not in ("continuous", "discrete"):
            raise ValueError(f"action must be 'continuous' or 'discrete', got {self.action!r}")
        if self.bev_dtype not in ("uint8", "float32"):
            raise ValueError(f"bev_dtype must be 'uint8' or 'float32', got {self.bev_dtype!r}")
        if not 1 <= self.min_vehicles <= self.num_vehicles:
            raise ValueError(f"need 1 <= min_vehicles <= num_vehicles, got {self.min_vehicles}, "
                             f"{self.num_vehicles}")
        if self.num_egos < 1:
            raise ValueError(f"num_egos must be >= 1, got {self.num_egos}")
        if self.max_steps < 1 or self.dt <= 0:
            raise ValueError(f"max_steps must be >= 1 and dt > 0, got {self.max_steps}, {self.dt}")
        lo, hi = self.speed_limit_range
        if not 0 < lo <= hi <= V_MAX:
            raise ValueError(f"speed_limit_range must satisfy 0 < low <= high <= {V_MAX}, "
                             f"got {self.speed_limit_range}")
        if not 8 <= self.bev_size <= 512 or self.bev_resolution <= 0:
            raise ValueError(f"bev_size must be in [8, 512] and bev_resolution > 0, got {self.bev_size}, "
                             f"{self.bev_resolution}")
        if self.route_length <= 20:
            raise ValueError(f"route_length must be > 20 m, got {self.route_length}")
        check.integers(self, ttc_window=(1, check.MAX_STEPS), comfort_window=(1, check.MAX_STEPS))
        check.choice(self, "comfort_bounds", tuple(inf.COMFORT_BOUNDS))
        # None: the road's speed limit (CaRL's port of Roach); 6.0: Roach's original
        check.numbers(self, ("roach_max_speed",), low=0.0, low_open=True, high=V_MAX, optional=True)


@dataclass(frozen=True)
class HighwayParams(DrivingParams):
    num_lanes: int = 3
    min_radius: float = 300.0
    ramp_probability: float = 0.5
    static_obstacle_probability: float = 0.5
    ramp_spawn_probability: float = 0.15

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 2 <= self.num_lanes <= 5:
            raise ValueError(f"num_lanes must be in [2, 5], got {self.num_lanes}")
        if self.min_radius < 100:
            raise ValueError(f"min_radius must be >= 100 m, got {self.min_radius}")
        if self.num_egos > 4:
            raise ValueError(f"the highway takes at most 4 egos, got {self.num_egos}")


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
        if not 0 <= self.pedestrians_per_crossing <= 4:
            raise ValueError(f"pedestrians_per_crossing must be in [0, 4], "
                             f"got {self.pedestrians_per_crossing}")
        lo, hi = self.pedestrian_speed_range
        if not 0 < lo <= hi <= 3.0:
            raise ValueError(f"pedestrian_speed_range must satisfy 0 < low <= high <= 3 m/s, "
                             f"got {self.pedestrian_speed_range}")
        if self.pedestrian_max_wait < 0:
            raise ValueError(f"pedestrian_max_wait must be >= 0 s, got {self.pedestrian_max_wait}")
        if len(self.grid) != 2 or min(self.grid) < 1 or max(self.grid) > 3:
            raise ValueError(f"grid must be (nx, ny) with 1 <= n <= 3, got {self.grid}")
        if not 1 <= self.lanes_per_direction <= 3:
            raise ValueError(f"lanes_per_direction must be in [1, 3], got {self.lanes_per_direction}")
        if self.arm_range[0] < 80:
            raise ValueError(f"arm_range must start at >= 80 m, got {self.arm_range}")
