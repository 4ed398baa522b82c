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
        summary="3-lane curved highway with an on-ramp merge, IDM/MOBIL traffic; carl/roach/highway rewards",
        multi_agent=False,
    ),
)
