"""What a study is made of: its runs, metrics and axes, and the derived-metric expressions.

The data types that the parser (:mod:`rewardlab.studies.spec`) builds and the validator, the
executors, the store and the report read.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import itertools
import json
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rewardlab.core.errors import RewardlabError, choices

DEFAULT_RUNNER = "rewardlab.agents.run:train_and_evaluate"

#: The keys of a run configuration (keyword arguments of the runner, besides ``seed``).
RUN_KEYS = ("env", "algo", "reward", "env_kwargs", "agent_kwargs", "total_steps", "eval_episodes", "device")

#: Spec fields (top-level YAML keys).
SPEC_FIELDS = (
    "name", "description", "runner", "envs", "base", "grid", "seeds", "metrics", "derived",
    "curve_metric", "report", "profiles", "default_profile", "claim", "keep_run_files",
)

RUN_DEFAULTS: dict[str, Any] = {
    "algo": "ppo",
    "reward": None,
    "env_kwargs": {},
    "agent_kwargs": {},
    "eval_episodes": 10,
    "device": "cpu",
}


@dataclass(frozen=True)
class Axis:
    """One grid axis: an ordered list of (label, overrides) variants.

    A list-valued axis ``key: [v1, v2]`` becomes variants ``(str(v1), {key: v1})``, ...
    """

    name: str
    variants: tuple[tuple[str, Mapping[str, Any]], ...]


@dataclass(frozen=True)
class Run:
    """One independent run: a setting of the grid, an environment (the task) and a seed."""

    key: str
    setting: tuple[tuple[str, str], ...]
    env: str
    seed: int
    config: Mapping[str, Any]

    @property
    def setting_label(self) -> str:
        return setting_label(self.setting)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "setting": [list(pair) for pair in self.setting],
            "setting_label": self.setting_label,
            "env": self.env,
            "seed": self.seed,
            "config": copy.deepcopy(dict(self.config)),
        }


@dataclass(frozen=True)
class MetricInfo:
    """What a metric means: a one-line ``description`` and which direction is better (None: not stated)."""

    description: str = ""
    higher_is_better: bool | None = None

    def direction(self) -> str:
        if self.higher_is_better is None:
            return "direction not stated"
        return "higher is better" if self.higher_is_better else "lower is better"


@dataclass
class Study:
    """A parsed spec with a profile applied (``profile`` is None when none was)."""

    name: str
    runner: str
    base: dict[str, Any]
    axes: list[Axis]
    seeds: list[int]
    metrics: list[str]
    derived: dict[str, str] = field(default_factory=dict)
    metric_info: dict[str, MetricInfo] = field(default_factory=dict)
    curve_metric: str = "return"
    report: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    claim: str = ""
    keep_run_files: bool = False  #: each run writes its files (checkpoint, curve, events) to run_files/<key>
    profile: str | None = None
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def runs(self) -> list[Run]:
        """Every (setting, seed) run, in a stable order: settings in grid order, then seeds."""
        return expand(self)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "profile": self.profile, "source": self.source, "spec": self.raw}


def setting_label(setting: tuple[tuple[str, str], ...]) -> str:
    """``axis=label, axis=label`` over the axes other than ``env`` ("default" when there are none)."""
    parts = [f"{axis}={label}" for axis, label in setting if axis != "env"]
    return ", ".join(parts) or "default"


def short_env(env_id: str) -> str:
    return env_id.split("/", 1)[1] if env_id.startswith("rewardlab/") else env_id


def normalise_env_id(env_id: str) -> str:
    """``CoopSLCD-v0`` -> ``rewardlab/CoopSLCD-v0`` (ids with a namespace are kept)."""
    if not isinstance(env_id, str) or not env_id:
        raise RewardlabError(f"study: an environment id must be a non-empty string, got {env_id!r}")
    return env_id if "/" in env_id else f"rewardlab/{env_id}"


def set_dotted(config: dict[str, Any], dotted: str, value: Any, owner: str = "study") -> None:
    """Set ``config[a][b][c] = value`` for ``dotted = "a.b.c"``, creating mappings on the way."""
    parts = dotted.split(".")
    if not all(parts):
        raise RewardlabError(f"{owner}: malformed dotted key {dotted!r}")
    if parts[0] not in RUN_KEYS:
        raise RewardlabError(
            f"{owner}: unknown run setting {parts[0]!r} in {dotted!r}; expected one of {choices(RUN_KEYS)}"
        )
    node = config
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = {}
        elif isinstance(child, str) and depth == 0 and part == "reward":
            child = {"preset": child}  # a preset name refined by overrides
        elif not isinstance(child, Mapping):
            raise RewardlabError(
                f"{owner}: cannot set {dotted!r}: {'.'.join(parts[: depth + 1])} is {child!r}, not a mapping"
            )
        else:
            child = dict(child)
        node[part] = child
        node = child
    node[parts[-1]] = copy.deepcopy(value)


# ---------------------------------------------------------------------------------------------
# Expansion


def run_key(runner: str, config: Mapping[str, Any], seed: int) -> str:
    """A stable 16-hex-digit hash of what determines a run's result: runner, config and seed."""
    payload = json.dumps({"runner": runner, "config": config, "seed": seed}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def expand(study: Study) -> list[Run]:
    owner = f"study {study.name!r}"
    runs = []
    for combo in itertools.product(*(axis.variants for axis in study.axes)):
        config = copy.deepcopy(study.base)
        setting = []
        for axis, (label, overrides) in zip(study.axes, combo, strict=True):
            for dotted, value in overrides.items():
                set_dotted(config, str(dotted), value, f"{owner}, axis {axis.name!r}")
            setting.append((axis.name, label))
        if not config.get("env"):
            raise RewardlabError(f"{owner}: no environment: give envs, base.env or an axis that sets env")
        config["env"] = normalise_env_id(config["env"])
        total = config.get("total_steps")
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise RewardlabError(f"{owner}: total_steps must be a positive integer, got {total!r}")
        for seed in study.seeds:
            runs.append(
                Run(
                    key=run_key(study.runner, config, seed),
                    setting=tuple(setting),
                    env=config["env"],
                    seed=seed,
                    config=config,
                )
            )
    keys = [r.key for r in runs]
    if len(set(keys)) != len(keys):
        raise RewardlabError(f"{owner}: two grid points give the same run configuration; remove the duplicate")
    return runs


# ---------------------------------------------------------------------------------------------
# Derived metrics: arithmetic over metric names, parsed with ast (no eval)

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCS = {"abs": abs, "min": min, "max": max, "log": math.log, "sqrt": math.sqrt}


def compile_expression(expression: str, owner: str) -> ast.Expression:
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise RewardlabError(f"{owner}: cannot parse {expression!r}: {err.msg}") from err
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Load, ast.Call,
                   *_BINARY, *_UNARY)
        if not isinstance(node, allowed):
            raise RewardlabError(
                f"{owner}: {expression!r} may use only metric names, numbers, + - * / **, abs, min, max, log, sqrt"
            )
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise RewardlabError(f"{owner}: unknown function in {expression!r}; expected one of {choices(_FUNCS)}")
    return tree


def evaluate_expression(expression: str, metrics: Mapping[str, float]) -> float:
    """The value of a derived metric for one run; NaN when a name is missing or it divides by zero."""
    tree = compile_expression(expression, "derived metric")

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id in _FUNCS:
                raise RewardlabError(f"derived metric: {node.id!r} is a function")
            return float(metrics.get(node.id, math.nan))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BinOp):
            value = _BINARY[type(node.op)](ev(node.left), ev(node.right))
            return math.nan if isinstance(value, complex) else value  # (-1) ** 0.5: NaN, like sqrt(-1)
        if isinstance(node, ast.Call):
            return float(_FUNCS[node.func.id](*(ev(a) for a in node.args)))
        raise RewardlabError(f"derived metric: unsupported expression {expression!r}")

    try:
        return float(ev(tree))
    except (ZeroDivisionError, ValueError, OverflowError):
        return math.nan
