"""One validator for every environment's parameters: type, finiteness, range, pairs, size.

A family's parameters are a frozen dataclass (``BatchedSim.Params``). Its ``__post_init__``
calls the checks below, one line per group of fields; each raises a :class:`RewardlabError`
that names the argument, what was given (value and type) and what is valid. When the
dataclass is built through ``gym.make`` / ``make_sim``, :func:`rewardlab.core.sim.build_params`
prefixes the message with the environment id::

    rewardlab/CommonsFishery-v0: horizon must be an integer >= 1 and <= 1000000, got 1000000000000.0 (float)

Adopting it in a family takes a few lines in the Params dataclass::

    from rewardlab.core import params as check

    @dataclass(frozen=True)
    class MyParams:
        num_agents: int = 4
        horizon: int = 200
        dt: float = 0.1
        green_range: tuple[float, float] = (10.0, 30.0)
        payoffs: tuple[float, float, float, float] = (3.0, 0.0, 4.0, 1.0)
        mode: str = "a"
        noisy: bool = False
        idm: IDMParams = IDMParams()

        def __post_init__(self):
            check.integers(self, num_agents=(2, check.MAX_AGENTS), horizon=(1, check.MAX_STEPS))
            check.numbers(self, ("dt",), low=0.0, low_open=True, high=1.0)
            check.ordered_pair(self, "green_range", low=0.0)
            check.sequence(self, "payoffs", length=4)
            check.choice(self, "mode", ("a", "b"))
            check.flags(self, "noisy")
            check.instance(self, "idm", IDMParams)

The API:

``integers(params, bounds=None, /, **bounds)``
    Each field an ``int`` (NumPy integers too, never ``bool`` or ``float``) in ``[low, high]``.
    A bound is ``low`` or ``(low, high)``; ``high`` defaults to :data:`MAX_INTEGER`, the size
    ceiling that keeps ``10**12`` from reaching an array allocation or a loop bound. Give
    counts that size arrays a tighter ceiling (:data:`MAX_AGENTS`, :data:`MAX_STEPS`).
``numbers(params, names, low=None, high=None, low_open=False, high_open=False, optional=False)``
    Each field a finite real number (not ``bool``, not a string) in the range; ``optional``
    also accepts ``None``.
``ordered_pair(params, name, low=None, high=None, strict=False)``
    A pair ``(a, b)`` of finite numbers with ``a <= b`` (``a < b`` if ``strict``), both in the
    range; stored back as a tuple of floats.
``sequence(params, name, length=None, low=None, high=None, optional=False)``
    A sequence of finite numbers (of ``length`` if given) in the range; stored back as a tuple
    of floats.
``flags(params, *names)``
    Each field ``True`` or ``False`` (a string such as ``"no"`` would be truthy).
``choice(params, name, valid)``
    The field is one of ``valid`` (strings, typically).
``instance(params, name, cls, optional=False)``
    The field is an instance of ``cls`` (a nested parameter dataclass, for example).

Every check reads the field with ``getattr``, so it works on any object, and the stored-back
forms use ``object.__setattr__`` (frozen dataclasses).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

from rewardlab.core.errors import RewardlabError, choices

#: Default ceiling of every integer parameter: far above any sensible count, and below the
#: sizes that hang a loop or exhaust memory before the first step.
MAX_INTEGER = 10**9
#: A ceiling for agent counts (per-agent arrays are often n x n).
MAX_AGENTS = 1000
#: A ceiling for episode lengths and other step counts that size buffers.
MAX_STEPS = 10**6

Bound = int | tuple[int, int | None]


def _given(value: Any) -> str:
    """What the user passed, with its type: ``'abc' (str)``, ``nan (float)``."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and not _is_bool_like(value)


def _is_bool_like(value: Any) -> bool:
    return type(value).__name__ == "bool_"  # NumPy's bool scalar (not a subclass of bool)


def _range_text(low: float | None, high: float | None, low_open: bool = False, high_open: bool = False) -> str:
    """`` >= 0.0 and <= 1.0``, `` > 0.0``, or nothing for an unbounded range."""
    lower = "" if low is None else (f"> {low}" if low_open else f">= {low}")
    upper = "" if high is None else (f"< {high}" if high_open else f"<= {high}")
    text = " and ".join(x for x in (lower, upper) if x)
    return f" {text}" if text else ""


def _in_range(value: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    if low is not None and (value <= low if low_open else value < low):
        return False
    return not (high is not None and (value >= high if high_open else value > high))


def _finite_real(value: Any) -> bool:
    if not _is_real(value):
        return False
    try:
        return math.isfinite(value)
    except (OverflowError, TypeError, ValueError):  # a huge integer is finite
        return isinstance(value, Integral)


def integers(params: object, bounds: Mapping[str, Bound] | None = None, /, **more: Bound) -> None:
    """Raise unless each named field is an integer in ``[low, high]`` (see the module docstring)."""
    for name, bound in {**(bounds or {}), **more}.items():
        low, high = bound if isinstance(bound, tuple) else (bound, MAX_INTEGER)
        high = MAX_INTEGER if high is None else high
        value = getattr(params, name)
        ok = isinstance(value, Integral) and not isinstance(value, bool) and not _is_bool_like(value)
        if not ok or not low <= value <= high:
            raise RewardlabError(f"{name} must be an integer >= {low} and <= {high}, got {_given(value)}")


def numbers(
    params: object,
    names: Iterable[str],
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    optional: bool = False,
) -> None:
    """Raise unless each named field is a finite real number in the range."""
    if isinstance(names, str):
        names = (names,)
    for name in names:
        value = getattr(params, name)
        if optional and value is None:
            continue
        if not (_finite_real(value) and _in_range(value, low, high, low_open, high_open)):
            none = " or None" if optional else ""
            raise RewardlabError(
                f"{name} must be a finite number{_range_text(low, high, low_open, high_open)}{none}, "
                f"got {_given(value)}"
            )


def _as_floats(name: str, value: Any, what: str) -> tuple[float, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise RewardlabError(f"{name} must be {what}, got {_given(value)}")
    items = tuple(value)
    if not all(_finite_real(v) for v in items):
        raise RewardlabError(f"{name} must be {what}, got {_given(value)}")
    return tuple(float(v) for v in items)


def ordered_pair(
    params: object, name: str, low: float | None = None, high: float | None = None, strict: bool = False
) -> None:
    """Raise unless the field is ``(a, b)``, finite, ``a <= b`` (``<`` if strict), in the range."""
    value = getattr(params, name)
    what = f"a pair (low, high) of finite numbers with low {'<' if strict else '<='} high"
    if low is not None or high is not None:
        what += f", each{_range_text(low, high)}"
    pair = _as_floats(name, value, what)
    if len(pair) != 2 or not (pair[0] < pair[1] if strict else pair[0] <= pair[1]):
        raise RewardlabError(f"{name} must be {what}, got {_given(value)}")
    if not all(_in_range(v, low, high, False, False) for v in pair):
        raise RewardlabError(f"{name} must be {what}, got {_given(value)}")
    object.__setattr__(params, name, pair)


def sequence(
    params: object,
    name: str,
    length: int | None = None,
    low: float | None = None,
    high: float | None = None,
    optional: bool = False,
) -> None:
    """Raise unless the field is a sequence of finite numbers (of ``length``) in the range."""
    value = getattr(params, name)
    if optional and value is None:
        return
    count = "a sequence" if length is None else f"{length}"
    what = f"{count} finite numbers{_range_text(low, high)}"
    if length is None:
        what = f"a sequence of finite numbers{_range_text(low, high)}"
    items = _as_floats(name, value, what)
    if (length is not None and len(items) != length) or not all(_in_range(v, low, high, False, False) for v in items):
        raise RewardlabError(f"{name} must be {what}, got {_given(value)}")
    object.__setattr__(params, name, items)


def flags(params: object, *names: str) -> None:
    """Raise unless each named field is True or False."""
    for name in names:
        value = getattr(params, name)
        if not isinstance(value, bool) and not _is_bool_like(value):
            raise RewardlabError(f"{name} must be True or False, got {_given(value)}")


def choice(params: object, name: str, valid: Iterable[Any]) -> None:
    """Raise unless the field is one of ``valid``."""
    valid = tuple(valid)
    value = getattr(params, name)
    try:
        ok = value in valid
    except TypeError:  # an unhashable value compared with a set-like choice
        ok = False
    if not ok:
        raise RewardlabError(f"{name} must be one of {choices(map(str, valid))}, got {_given(value)}")


def instance(params: object, name: str, cls: type | tuple[type, ...], optional: bool = False) -> None:
    """Raise unless the field is an instance of ``cls`` (or None where ``optional``)."""
    value = getattr(params, name)
    if optional and value is None:
        return
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise RewardlabError(f"{name} must be a {names}{' or None' if optional else ''}, got {_given(value)}")
