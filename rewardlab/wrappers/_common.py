"""Helpers shared by the wrappers: argument validation and ``info["reward_terms"]`` bookkeeping."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from rewardlab.core.errors import RewardlabError, choices


def check_number(
    owner: str,
    argument: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float, or raise a RewardlabError naming ``owner`` and ``argument``.

    ``low``/``high`` bound the value (inclusive unless ``low_open``/``high_open``).
    """
    expected = "a finite real number"
    if low is not None or high is not None:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        expected += f" in {left}{lo}, {hi}{right}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise RewardlabError(f"{owner}: {argument} must be {expected}, got {value!r}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        raise RewardlabError(f"{owner}: {argument} must be {expected}, got {value!r}")
    return value


def check_callable(owner: str, argument: str, value: Any) -> None:
    if not callable(value):
        raise RewardlabError(f"{owner}: {argument} must be callable, got {type(value).__name__}")


def finite_scalar(owner: str, what: str, value: Any) -> float:
    """A user callable's result as a float; anything else (arrays of size > 1, NaN) is an error."""
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        raise RewardlabError(f"{owner}: {what} must return a scalar, got an array of shape {array.shape}")
    scalar = float(array.reshape(()))
    if not math.isfinite(scalar):
        raise RewardlabError(f"{owner}: {what} must return a finite number, got {scalar}")
    return scalar


def with_terms(info: Mapping[str, Any] | None, new_terms: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``info`` whose ``reward_terms`` dict (created if absent) also holds ``new_terms``.

    The env's own dicts are copied, not modified, so a wrapper never changes what the inner
    environment (or another agent's info) holds.
    """
    out = dict(info or {})
    terms = out.get("reward_terms")
    out["reward_terms"] = {**(terms if isinstance(terms, Mapping) else {}), **new_terms}
    return out


def check_agent_keys(owner: str, argument: str, given: Mapping[str, Any], agents: list[str]) -> None:
    """Every possible agent must have an entry in ``given`` and nothing else may."""
    missing = set(agents) - set(given)
    unknown = set(given) - set(agents)
    if missing or unknown:
        raise RewardlabError(
            f"{owner}: {argument} must have one entry per agent {choices(agents)}; "
            f"missing {choices(missing)}, unknown {choices(unknown)}"
        )
