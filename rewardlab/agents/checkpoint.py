"""Reading a PPO checkpoint safely: nothing in the file can run code.

The top level is read with ``torch.load(weights_only=True)`` (tensors, numbers, strings, bytes);
the state (the simulator, NumPy arrays and generator state, the config, the curve) with the
allow-list unpickler of :mod:`rewardlab.core.safe_pickle`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rewardlab.core.errors import RewardlabError
from rewardlab.core.safe_pickle import UnsafePickleError, safe_loads
from rewardlab.core.sim import BatchedSim

#: 2: tensors read with torch.load(weights_only=True), the rest through an allow-list unpickler
CHECKPOINT_FORMAT = 2


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The top level of a checkpoint and its safely unpickled state, or a RewardlabError naming the file."""
    try:
        top = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RewardlabError(f"{path}: no such checkpoint") from None
    except Exception as err:  # truncated zip, not a torch file, a pickle naming unsafe globals
        raise RewardlabError(
            f"{path}: not a readable rewardlab checkpoint ({type(err).__name__}: {first_line(err)})"
        ) from None
    if not isinstance(top, dict) or top.get("format") != CHECKPOINT_FORMAT or "state" not in top:
        found = top.get("format") if isinstance(top, dict) else type(top).__name__
        raise RewardlabError(
            f"{path}: not a rewardlab PPO checkpoint of format {CHECKPOINT_FORMAT} (found {found!r}); "
            "checkpoints of format 1 (before safe loading) must be retrained"
        )
    try:
        state = safe_loads(top["state"])
    except UnsafePickleError as err:
        raise RewardlabError(f"{path}: {err}") from None
    if not isinstance(state, dict) or not isinstance(state.get("sim"), BatchedSim):
        raise RewardlabError(f"{path}: not a rewardlab PPO checkpoint (no simulator in its state)")
    return top, state
