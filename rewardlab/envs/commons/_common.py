"""Helpers shared by the commons environments: presets, Gini, relative indexing, plot frames.

Parameters are validated with :mod:`rewardlab.core.params`."""

from __future__ import annotations

import numpy as np

from rewardlab.core.reward import RewardSpec

#: Fehr-Schmidt parameters of the inequity-averse preset (Hughes et al. 2018 used alpha = 5,
#: beta = 0.05 in sequential social dilemmas).
INEQUITY_PARAMS = {"alpha": 5.0, "beta": 0.05}


def standard_presets(weights: dict[str, float]) -> dict[str, RewardSpec]:
    """The family's three presets over one set of term weights."""
    return {
        "private": RewardSpec(weights=weights),
        "cooperative": RewardSpec(weights=weights, social="cooperative"),
        "inequity_averse": RewardSpec(
            weights=weights, social="inequity_averse", social_params=INEQUITY_PARAMS
        ),
    }


def gini(values: np.ndarray) -> np.ndarray:
    """Gini coefficient along the last axis: sum_ij |x_i - x_j| / (2 n sum_i x_i).

    Returns 0 where the total is 0 (nobody earned anything: no inequality to measure). Values
    are shifted to be non-negative first when some are negative (returns can be).
    """
    x = np.asarray(values, dtype=np.float64)
    low = np.minimum(x.min(axis=-1, keepdims=True), 0.0)
    x = x - low
    n = x.shape[-1]
    total = x.sum(axis=-1)
    pair = np.abs(x[..., :, None] - x[..., None, :]).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pair / (2.0 * n * total)
    return np.where(total > 0, out, 0.0)


def others_index(n: int) -> np.ndarray:
    """(n, n-1): row i lists the other agents in the order i+1, i+2, ... (mod n).

    Relative index k of agent i's per-other actions and observations means agent
    ``others_index(n)[i, k] = (i + 1 + k) mod n``.
    """
    i = np.arange(n)[:, None]
    k = np.arange(n - 1)[None, :]
    return (i + 1 + k) % n


def rolled(values: np.ndarray) -> np.ndarray:
    """(B, n) per-agent values to (B, n, n): row i is the values seen from agent i (self first)."""
    n = values.shape[1]
    index = (np.arange(n)[:, None] + np.arange(n)[None, :]) % n
    return values[:, index]


def bar_frame(
    values: np.ndarray, colors: np.ndarray, level: float | None = None, height: int = 96, bar: int = 12
) -> np.ndarray:
    """A plot-style RGB frame: one bar per value in [0, 1] on a white ground.

    ``level`` draws a horizontal black line (a norm, an equilibrium) at that fraction of the height.
    """
    values = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    count = len(values)
    width = max(64, count * (bar + 4) + 4)
    frame = np.full((height, width, 3), 255, dtype=np.uint8)
    frame[height - 2 :, :] = 0  # axis
    for k, v in enumerate(values):
        top = height - 2 - int(round(v * (height - 8)))
        left = 4 + k * (bar + 4)
        frame[top : height - 2, left : left + bar] = colors[k % len(colors)]
    if level is not None:
        y = height - 2 - int(round(np.clip(level, 0.0, 1.0) * (height - 8)))
        frame[max(y - 1, 0) : y + 1, :] = 0
    return frame


PALETTE = np.array(
    [
        [230, 25, 75],
        [60, 180, 75],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [128, 128, 0],
        [0, 128, 128],
        [170, 110, 40],
    ],
    dtype=np.uint8,
)
