"""The driving family: a vectorised route-following simulator for the CaRL reward study.

Registry rows (``ENVS``); see docs/driving.md and the module docstring of ``sim.py``.
"""

from rewardlab.core.registry import EnvSpec

_SIM = "rewardlab.envs.driving.sim"

ENVS = (
    EnvSpec(
        id="rewardlab/DrivingHighway-v0",
        entry_point=f"{_SIM}:HighwaySim",
        family="driving",
        summary="3-lane curved highway with an on-ramp merge and IDM/MOBIL traffic; carl, roach, highway "
                "rewards",
        multi_agent=False,
    ),
    EnvSpec(
        id="rewardlab/DrivingIntersection-v0",
        entry_point=f"{_SIM}:GridSim",
        family="driving",
        summary="signalised four-way intersection, two lanes per direction, per-seed signal timing",
        kwargs={"grid": (1, 1), "lanes_per_direction": 2, "route_length": 180.0, "max_steps": 400},
        multi_agent=False,
    ),
    EnvSpec(
        id="rewardlab/DrivingTown-v0",
        entry_point=f"{_SIM}:GridSim",
        family="driving",
        summary="2 x 2 town grid of signalised crossings, one lane per direction",
        kwargs={"grid": (2, 2), "lanes_per_direction": 1, "route_length": 250.0, "max_steps": 500,
                "block_range": (90.0, 130.0), "arm_range": (90.0, 120.0)},
        multi_agent=False,
    ),
    EnvSpec(
        id="rewardlab/DrivingMultiEgo-v0",
        entry_point=f"{_SIM}:HighwaySim",
        family="driving",
        summary="three egos sharing the highway with its traffic (PettingZoo Parallel)",
        kwargs={"num_egos": 3},
        multi_agent=True,
    ),
)
