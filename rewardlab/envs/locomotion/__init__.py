"""The locomotion family: a MuJoCo quadruped of the Go1 class (registry rows in ENVS).

=================================  =========================================================
id                                 what it is
=================================  =========================================================
``rewardlab/LocoImitation-v0``     imitate a procedural gait or jump (``motion=``, ``speed=``)
``rewardlab/LocoJoystick-v0``      follow a commanded body velocity
=================================  =========================================================

See :mod:`rewardlab.envs.locomotion.sim` for spaces, :mod:`rewardlab.envs.locomotion.params` for parameters, and
:mod:`rewardlab.envs.locomotion.rewards` for every reward term, constant and preset.
"""

import os
import sys

from rewardlab.core.registry import EnvSpec


def _default_headless_gl() -> None:
    """Pick MuJoCo's offscreen GL backend on a machine without a display.

    MuJoCo chooses its GL backend when it is first imported, from ``MUJOCO_GL``; its default
    (GLFW) needs a display. Where none is set and MuJoCo is not imported yet, use EGL on a
    machine with an NVIDIA device and OSMesa otherwise. An explicit ``MUJOCO_GL`` always wins.
    """
    if "MUJOCO_GL" in os.environ or "mujoco" in sys.modules:
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("darwin", "win32"):
        return
    os.environ["MUJOCO_GL"] = "egl" if os.path.exists("/dev/nvidia0") else "osmesa"


_default_headless_gl()

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
        entry_point="rewardlab.envs.locomotion.joystick:LocoJoystickSim",
        family="locomotion",
        summary="Go1-class quadruped tracking a commanded body velocity",
        multi_agent=False,
    ),
)
