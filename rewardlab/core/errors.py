"""The one exception type that rewardlab raises for bad user input."""

from __future__ import annotations

from collections.abc import Iterable


class RewardlabError(ValueError):
    """Bad input to a rewardlab environment, reward specification, agent or study.

    Messages name the environment (or component), the argument and what was expected.
    """


def choices(names: Iterable[str]) -> str:
    """Format a list of valid names for an error message."""
    return ", ".join(repr(n) for n in sorted(names)) or "(none)"


def check_choice(owner: str, argument: str, value: str, valid: Iterable[str]) -> None:
    """Raise a RewardlabError unless ``value`` is one of ``valid``."""
    valid = list(valid)
    if value not in valid:
        raise RewardlabError(
            f"{owner}: unknown {argument} {value!r}; expected one of {choices(valid)}"
        )
