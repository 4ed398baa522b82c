"""The locomotion family: a MuJoCo quadruped of the Go1 class (registry rows in ENVS).

=================================  =========================================================
id                                 what it is
=================================  =========================================================
``rewardlab/LocoImitation-v0``     imitate a procedural gait or jump (``motion=``, ``speed=``)
``rewardlab/LocoJoystick-v0``      follow a commanded body velocity
=================================  =========================================================

See :mod:`rewardlab.envs.locomotion.sim` for spaces, terms, presets and parameters.
"""

from rewardlab.core.registry import EnvSpec

ENVS = (
    EnvSpec(
        id="rewardlab/LocoImitation-v0",
        entry_point="rewardlab.envs.locomotion.sim:LocoImitationSim",
        family="locomotion",
        summary="Go1-class quadruped imitating a procedural trot (or walk, pace, bound, pronk, jump)",
        multi_agent=False,
    ),
    EnvSpec(
        id="rewardlab/LocoJoystick-v0",
        entry_point="rewardlab.envs.locomotion.sim:LocoJoystickSim",
        family="locomotion",
        summary="Go1-class quadruped tracking a commanded body velocity",
        multi_agent=False,
    ),
)
