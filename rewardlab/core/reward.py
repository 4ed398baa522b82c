"""RewardSpec: how an environment's named reward terms become one reward per agent.

    r_i = (sum_k w_k * term_k,i) * prod_m factor_m,i + sum_l b_l * term_l,i
                                                          then a social mode mixes the agents.

The bonus terms b_l are added after the factors, unscaled by them: CaRL's -1 terminal penalty must
stay -1 whatever the speed or comfort factors of that step.

Built-in social modes (a family may add its own through ``BatchedSim.social_modes``):

==================  ====================================================================
``private``         r_i
``integrated``      U_i = r_i + sum_j D_ij r_j, with the environment's interdependence D
``cooperative``     mean_j U_j to every agent (the mean of r when D = 0)
``inequity_averse`` Fehr-Schmidt: r_i - a/(n-1) sum_j max(r_j - r_i, 0)
                    - b/(n-1) sum_j max(r_i - r_j, 0); ``social_params`` alpha (a), beta (b)
==================  ====================================================================

A spec is given to ``gym.make(id, reward=...)`` as a preset name, a dict, or a RewardSpec. A dict
may name a ``preset`` to start from and override ``weights`` and ``bonus_weights`` (merged term by
term), ``factors``, ``social``, ``social_params`` and ``terminate_on``. Anything unknown is an error that lists the
valid choices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from rewardlab.core.errors import RewardlabError, check_choice, choices

if TYPE_CHECKING:
    from rewardlab.core.sim import BatchedSim

SocialMode = Callable[[np.ndarray, "BatchedSim", Mapping[str, float]], np.ndarray]


@dataclass(frozen=True)
class RewardSpec:
    """Weighted terms times multiplicative factors, then a social mode.

    Attributes:
        weights: term name -> weight in the weighted sum; unlisted terms weigh 0.
        factors: term names multiplied onto the weighted sum (each a per-agent factor).
        bonus_weights: term name -> weight of terms added after the factors (not scaled by them).
        social: social mode name.
        social_params: parameters of the social mode (e.g. alpha and beta of inequity aversion).
        terminate_on: event names that end the episode under this design (CaRL ends on
            infractions); the environment lists its events in ``BatchedSim.events``.
        name: the preset this spec came from, or "custom".
    """

    weights: Mapping[str, float]
    factors: tuple[str, ...] = ()
    bonus_weights: Mapping[str, float] = field(default_factory=dict)
    social: str = "private"
    social_params: Mapping[str, float] = field(default_factory=dict)
    terminate_on: tuple[str, ...] = ()
    name: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        object.__setattr__(self, "bonus_weights", MappingProxyType(dict(self.bonus_weights)))
        object.__setattr__(self, "social_params", MappingProxyType(dict(self.social_params)))
        object.__setattr__(self, "factors", tuple(self.factors))
        object.__setattr__(self, "terminate_on", tuple(self.terminate_on))

    def __reduce__(self):  # MappingProxyType does not pickle; rebuild from plain dicts
        return (
            RewardSpec,
            (
                dict(self.weights),
                self.factors,
                dict(self.bonus_weights),
                self.social,
                dict(self.social_params),
                self.terminate_on,
                self.name,
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weights": dict(self.weights),
            "factors": list(self.factors),
            "bonus_weights": dict(self.bonus_weights),
            "social": self.social,
            "social_params": dict(self.social_params),
            "terminate_on": list(self.terminate_on),
        }


def _private(r: np.ndarray, sim: BatchedSim, params: Mapping[str, float]) -> np.ndarray:
    return r


def _integrated(r: np.ndarray, sim: BatchedSim, params: Mapping[str, float]) -> np.ndarray:
    d = sim.interdependence  # (n, n) or (B, n, n), zero diagonal
    if d.ndim == 2:
        return r + r @ d.T
    n = r.shape[1]
    if n > 8:
        return r + np.einsum("bij,bj->bi", d, r)
    # For few agents, n column updates beat einsum's batched small products several times over.
    out = r.copy()
    for j in range(n):
        out += d[:, :, j] * r[:, j, None]
    return out


def _cooperative(r: np.ndarray, sim: BatchedSim, params: Mapping[str, float]) -> np.ndarray:
    u = _integrated(r, sim, params)
    n = r.shape[1]
    team_mean = u @ np.full(n, 1.0 / n)  # a matrix-vector product: far faster than mean(axis=1)
    return np.broadcast_to(team_mean[:, None], u.shape).copy()


def _inequity_averse(r: np.ndarray, sim: BatchedSim, params: Mapping[str, float]) -> np.ndarray:
    n = r.shape[1]
    if n < 2:
        return r
    alpha = params.get("alpha", 5.0)
    beta = params.get("beta", 0.05)
    diff = r[:, None, :] - r[:, :, None]  # diff[b, i, j] = r_j - r_i
    envy = np.maximum(diff, 0.0).sum(axis=2)
    guilt = np.maximum(-diff, 0.0).sum(axis=2)
    return r - (alpha * envy + beta * guilt) / (n - 1)


BUILTIN_SOCIAL_MODES: dict[str, SocialMode] = {
    "private": _private,
    "integrated": _integrated,
    "cooperative": _cooperative,
    "inequity_averse": _inequity_averse,
}
SOCIAL_PARAMS = {"inequity_averse": ("alpha", "beta")}
_SPEC_KEYS = ("preset", "weights", "factors", "bonus_weights", "social", "social_params", "terminate_on")


def social_modes_of(sim: BatchedSim) -> dict[str, SocialMode]:
    modes = dict(BUILTIN_SOCIAL_MODES)
    modes.update(sim.social_modes)
    return modes


def resolve_reward(reward: str | Mapping[str, Any] | RewardSpec | None, sim: BatchedSim) -> RewardSpec:
    """Turn what a user passed as ``reward=`` into a validated RewardSpec for ``sim``."""
    owner = sim.env_id
    presets = {name: as_spec(p, name) for name, p in sim.reward_presets.items()}
    if reward is None:
        spec = presets[sim.default_reward]
    elif isinstance(reward, str):
        check_choice(owner, "reward preset", reward, presets)
        spec = presets[reward]
    elif isinstance(reward, RewardSpec):
        _check_spec_types(owner, reward.to_dict())
        spec = reward
    elif isinstance(reward, Mapping):
        unknown = set(reward) - set(_SPEC_KEYS)
        if unknown:
            raise RewardlabError(
                f"{owner}: unknown key(s) {choices(unknown)} in reward=; "
                f"expected any of {choices(_SPEC_KEYS)}"
            )
        _check_spec_types(owner, reward)
        base_name = reward.get("preset", sim.default_reward if "weights" not in reward else None)
        if base_name is not None:
            check_choice(owner, "reward preset", base_name, presets)
            base = presets[base_name]
        else:
            base = RewardSpec(weights={})
        spec = replace(
            base,
            weights={**base.weights, **reward.get("weights", {})},
            factors=tuple(reward.get("factors", base.factors)),
            bonus_weights={**base.bonus_weights, **reward.get("bonus_weights", {})},
            social=reward.get("social", base.social),
            social_params=reward.get("social_params", base.social_params),
            terminate_on=tuple(reward.get("terminate_on", base.terminate_on)),
            name="custom" if set(reward) - {"preset"} else base.name,
        )
    else:
        raise RewardlabError(
            f"{owner}: reward= takes a preset name, a dict or a RewardSpec, "
            f"got {type(reward).__name__}; presets are {choices(presets)}"
        )
    validate_spec(spec, sim)
    return spec


def _is_weight(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _check_spec_types(owner: str, reward: Mapping[str, Any]) -> None:
    """Raise a RewardlabError unless every entry of a reward dict has the type it must have.

    ``weights``/``bonus_weights``/``social_params``: a dict of term (or parameter) name to a
    real number; ``factors``/``terminate_on``: a list of names; ``preset``/``social``: a name.
    """
    for key in ("preset", "social"):
        if key in reward and not isinstance(reward[key], str):
            raise RewardlabError(f"{owner}: reward {key!r} must be a name (str), got {reward[key]!r}")
    for key in ("weights", "bonus_weights", "social_params"):
        if key not in reward:
            continue
        table = reward[key]
        if not isinstance(table, Mapping):
            raise RewardlabError(
                f"{owner}: reward {key!r} must be a dict of name -> number, got "
                f"{type(table).__name__} {table!r}"
            )
        for name, value in table.items():
            if not isinstance(name, str):
                raise RewardlabError(f"{owner}: reward {key!r} keys must be names (str), got {name!r}")
            if not _is_weight(value):
                raise RewardlabError(
                    f"{owner}: reward {key}[{name!r}] must be a real number, got {type(value).__name__} {value!r}"
                )
    for key in ("factors", "terminate_on"):
        if key not in reward:
            continue
        names = reward[key]
        if isinstance(names, (str, bytes, Mapping)) or not isinstance(names, (list, tuple)) or not all(
            isinstance(v, str) for v in names
        ):
            raise RewardlabError(f"{owner}: reward {key!r} must be a list of names, got {names!r}")


def as_spec(preset: RewardSpec | Mapping[str, Any], name: str) -> RewardSpec:
    if isinstance(preset, RewardSpec):
        return preset if preset.name != "custom" else replace(preset, name=name)
    return RewardSpec(**{**preset, "name": name})


def validate_spec(spec: RewardSpec, sim: BatchedSim) -> None:
    owner = sim.env_id
    for term in (*spec.weights, *spec.factors, *spec.bonus_weights):
        check_choice(owner, "reward term", term, sim.reward_terms)
    for term, weight in (*spec.weights.items(), *spec.bonus_weights.items()):
        if not _is_weight(weight) or not np.isfinite(weight):
            raise RewardlabError(f"{owner}: reward weight of {term!r} must be finite, got {weight}")
    check_choice(owner, "social mode", spec.social, social_modes_of(sim))
    allowed = SOCIAL_PARAMS.get(spec.social, sim.social_mode_params.get(spec.social, ()))
    for key, value in spec.social_params.items():
        check_choice(owner, f"parameter of social mode {spec.social!r}", key, allowed)
        if not _is_weight(value) or not np.isfinite(value):
            raise RewardlabError(f"{owner}: social parameter {key!r} must be a finite number, got {value!r}")
    for event in spec.terminate_on:
        check_choice(owner, "terminate_on event", event, sim.events)


def combine(spec: RewardSpec, terms: Mapping[str, np.ndarray], sim: BatchedSim) -> np.ndarray:
    """The reward per instance and agent, shape (B, n), from the raw terms: the weighted sum
    (terms of weight 0 skipped), times each factor, plus each weighted bonus term, then the
    social mode."""
    reward = np.zeros((sim.num_envs, sim.num_agents), dtype=np.float64)
    for term, weight in spec.weights.items():
        if weight != 0.0:
            reward += weight * terms[term]
    for term in spec.factors:
        reward *= terms[term]
    for term, weight in spec.bonus_weights.items():
        if weight != 0.0:
            reward += weight * terms[term]
    return social_modes_of(sim)[spec.social](reward, sim, spec.social_params)
