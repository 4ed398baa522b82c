"""Study specs: a YAML file that names environments, a grid of settings, seeds and a budget.

A study expands into independent runs, one per (setting, seed). A spec looks like::

    name: coopetition_modes
    description: reward mode x learner on one environment per mechanism class
    runner: rewardlab.agents.run:train_and_evaluate   # optional; "module:function" or "file.py:function"
                                 # (imported and executed by ablate: use only specs you trust)
    envs: [rewardlab/CoopSLCD-v0, rewardlab/CoopTeamProduction-v0]   # the tasks (grid axis "env")
    base:                        # the run configuration every run starts from
      algo: ippo
      total_steps: 200000
      eval_episodes: 10
      agent_kwargs: {num_envs: 16}
    grid:                        # the axes; their Cartesian product is the set of settings
      reward.social: [private, integrated, cooperative]   # a dotted key into the run config
      algo: [ippo, mappo]
      regulariser:               # an axis of named variants, each a set of dotted overrides
        none: {}
        jacobian: {agent_kwargs.jacobian_penalty: 0.1}
    seeds: 5                     # or an explicit list [0, 3, 7]
    metrics:                     # a list of names, or name -> {description, higher_is_better}
      cooperation_level: {description: mean action as a share of its bound, higher_is_better: true}
      welfare_pct_optimum: {description: team welfare as % of the social optimum, higher_is_better: true}
    derived:                     # per-run metrics computed from the runner's metrics
      gain: integrated_return - private_return        # an expression, or
      share:                                          # {expression, description, higher_is_better}
        expression: (integrated_return - private_return) / integrated_return
        description: share of the integrated utility that comes from partners
    curve_metric: return         # the learning-curve field that the report plots
    report: {reps: 2000, seed: 0}   # bootstrap replications and the seed of the bootstrap
    default_profile: quick       # used when --profile is not given (optional)
    profiles:
      quick: {seeds: 3, base.total_steps: 20000, grid.algo: [ippo]}
      full: {seeds: 10}

The run configuration has the keys of :data:`RUN_KEYS`, the keyword arguments of the runner
(``rewardlab.agents.run.train_and_evaluate`` by default). A dotted key ``a.b.c`` sets
``config["a"]["b"]["c"]``; setting a sub-key of a reward given as a preset name turns it into
``{"preset": name, ...}``, the dict form that ``reward=`` accepts.

A profile is a mapping of overrides of the spec, applied before expansion: ``base.<dotted>`` sets a
run-config value, ``grid.<axis>`` replaces the values of one axis (the axis name may contain dots),
``grid`` replaces the whole grid, and any other field (``seeds``, ``envs``, ``metrics``, ``runner``,
``report``, ...) is replaced.

A metric's ``description`` says what it measures (with its unit) and ``higher_is_better`` which
direction is better (omit it for a metric reported for context that has no better direction);
the report prints both above the metric's table.
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
from pathlib import Path
from typing import Any

import yaml

from rewardlab.core.errors import RewardlabError, choices

DEFAULT_RUNNER = "rewardlab.agents.run:train_and_evaluate"

#: The keys of a run configuration (keyword arguments of the runner, besides ``seed``).
RUN_KEYS = ("env", "algo", "reward", "env_kwargs", "agent_kwargs", "total_steps", "eval_episodes", "device")

#: Spec fields (top-level YAML keys).
SPEC_FIELDS = (
    "name", "description", "runner", "envs", "base", "grid", "seeds", "metrics", "derived",
    "curve_metric", "report", "profiles", "default_profile", "claim",
)

_RUN_DEFAULTS: dict[str, Any] = {
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


# ---------------------------------------------------------------------------------------------
# Dotted keys


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


def apply_profile(raw: Mapping[str, Any], profile: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The spec ``raw`` with profile ``name``'s overrides applied (see the module docstring)."""
    owner = f"study profile {name!r}"
    spec = copy.deepcopy(dict(raw))
    for key, value in profile.items():
        head, _, rest = str(key).partition(".")
        if head not in SPEC_FIELDS or head in ("profiles", "default_profile", "name"):
            raise RewardlabError(
                f"{owner}: cannot override {key!r}; expected a dotted key starting with one of "
                f"{choices(f for f in SPEC_FIELDS if f not in ('profiles', 'default_profile', 'name'))}"
            )
        if head == "base":
            base = dict(spec.get("base") or {})
            if rest:
                set_dotted(base, rest, value, owner)
            else:
                if not isinstance(value, Mapping):
                    raise RewardlabError(f"{owner}: base must be a mapping, got {value!r}")
                for sub, sub_value in value.items():
                    set_dotted(base, str(sub), sub_value, owner)
            spec["base"] = base
        elif head == "grid" and rest:
            grid = dict(spec.get("grid") or {})
            grid[rest] = copy.deepcopy(value)
            spec["grid"] = grid
        elif rest:
            raise RewardlabError(f"{owner}: {head!r} takes no dotted sub-key (got {key!r})")
        else:
            spec[head] = copy.deepcopy(value)
    return spec


# ---------------------------------------------------------------------------------------------
# Parsing


def load_study(path: str | Path, profile: str | None = None) -> Study:
    """Read a YAML spec and apply ``profile`` (or the spec's ``default_profile``)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise RewardlabError(f"study: cannot read spec {str(path)!r}: {err.strerror}") from err
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RewardlabError(f"study {str(path)!r}: not valid YAML: {err}") from err
    study = parse_study(raw, profile=profile, source=str(path))
    from rewardlab.studies.validate import validate_study  # envs, presets, agents, metrics: before any run

    validate_study(study)
    return study


def parse_study(raw: Any, profile: str | None = None, source: str = "<spec>") -> Study:
    """Validate a spec mapping and apply ``profile``."""
    if not isinstance(raw, Mapping):
        raise RewardlabError(f"study {source!r}: the spec must be a mapping, got {type(raw).__name__}")
    unknown = set(raw) - set(SPEC_FIELDS)
    if unknown:
        raise RewardlabError(
            f"study {source!r}: unknown field(s) {choices(unknown)}; expected any of {choices(SPEC_FIELDS)}"
        )
    name = raw.get("name") or Path(source).stem
    owner = f"study {name!r}"
    profiles = raw.get("profiles") or {}
    if not isinstance(profiles, Mapping):
        raise RewardlabError(f"{owner}: profiles must be a mapping of name -> overrides")
    if profile is None:
        profile = raw.get("default_profile")
    spec = dict(raw)
    if profile is not None:
        if profile not in profiles:
            raise RewardlabError(f"{owner}: unknown profile {profile!r}; expected one of {choices(profiles)}")
        overrides = profiles[profile] or {}
        if not isinstance(overrides, Mapping):
            raise RewardlabError(f"{owner}: profile {profile!r} must be a mapping of overrides")
        spec = apply_profile(raw, overrides, profile)

    runner = spec.get("runner") or DEFAULT_RUNNER
    if not isinstance(runner, str) or ":" not in runner:
        raise RewardlabError(f"{owner}: runner must be 'module:function' or 'file.py:function', got {runner!r}")
    if runner.split(":", 1)[0].endswith(".py") and source != "<spec>":
        file_part, _, func = runner.rpartition(":")
        runner = f"{(Path(source).parent / file_part).resolve()}:{func}"

    base = dict(_RUN_DEFAULTS)
    for key, value in (spec.get("base") or {}).items():
        set_dotted(base, str(key), value, owner)

    axes = _parse_axes(spec.get("grid") or {}, owner)
    envs = spec.get("envs")
    if envs is not None:
        if isinstance(envs, str):
            envs = [envs]
        if not isinstance(envs, list) or not envs:
            raise RewardlabError(f"{owner}: envs must be a non-empty list of environment ids")
        if any(axis.name == "env" for axis in axes):
            raise RewardlabError(f"{owner}: give the environments either as envs or as a grid axis 'env', not both")
        ids = [normalise_env_id(e) for e in envs]
        axes.insert(0, Axis("env", tuple((short_env(i), {"env": i}) for i in ids)))
    axis_names = [a.name for a in axes]
    if len(set(axis_names)) != len(axis_names):
        raise RewardlabError(f"{owner}: duplicate grid axes in {axis_names}")

    seeds = spec.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, (int, list)):
        raise RewardlabError(f"{owner}: seeds must be a count or a list of integers, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise RewardlabError(f"{owner}: seeds must be at least 1, got {seeds}")
        seeds = list(range(seeds))
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise RewardlabError(f"{owner}: seeds must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise RewardlabError(f"{owner}: duplicate seeds in {seeds}")

    metrics, metric_info = parse_metrics(spec.get("metrics"), owner)
    derived = {}
    for metric, entry in (spec.get("derived") or {}).items():
        where = f"{owner}: derived metric {metric!r}"
        if isinstance(entry, Mapping):
            expression = entry.get("expression")
            if not isinstance(expression, str):
                raise RewardlabError(f"{where} needs an expression (a string), got {expression!r}")
            metric_info[str(metric)] = _metric_info(
                {k: v for k, v in entry.items() if k != "expression"}, where, extra=("expression",))
        else:
            expression = str(entry)
        compile_expression(expression, where)
        derived[str(metric)] = expression

    report = dict(spec.get("report") or {})
    unknown = set(report) - {"reps", "seed", "confidence"}
    if unknown:
        raise RewardlabError(f"{owner}: unknown report option(s) {choices(unknown)}; expected reps, seed, confidence")

    study = Study(
        name=str(name),
        runner=runner,
        base=base,
        axes=axes,
        seeds=list(seeds),
        metrics=list(metrics),
        derived=derived,
        metric_info=metric_info,
        curve_metric=str(spec.get("curve_metric", "return")),
        report=report,
        description=str(spec.get("description", "")),
        claim=str(spec.get("claim", "")),
        profile=profile,
        source=source,
        raw=copy.deepcopy(dict(raw)),
    )
    study.runs()  # validate the expansion now (missing env, unknown keys), not in a worker
    return study


_METRIC_FIELDS = ("description", "higher_is_better")


def _metric_info(entry: Any, where: str, extra: tuple[str, ...] = ()) -> MetricInfo:
    if entry is None:
        return MetricInfo()
    if not isinstance(entry, Mapping):
        raise RewardlabError(f"{where} must be a mapping of {choices(_METRIC_FIELDS + extra)}, got {entry!r}")
    unknown = set(entry) - set(_METRIC_FIELDS)
    if unknown:
        raise RewardlabError(f"{where}: unknown field(s) {choices(unknown)}; expected {choices(_METRIC_FIELDS + extra)}")
    description = entry.get("description", "")
    higher = entry.get("higher_is_better")
    if not isinstance(description, str):
        raise RewardlabError(f"{where}: description must be a string, got {description!r}")
    if higher is not None and not isinstance(higher, bool):
        raise RewardlabError(f"{where}: higher_is_better must be true, false or absent, got {higher!r}")
    return MetricInfo(" ".join(description.split()), higher)


def parse_metrics(metrics: Any, owner: str) -> tuple[list[str], dict[str, MetricInfo]]:
    """The metric names and their descriptions from a spec's ``metrics`` field.

    Accepted forms: a list of names; a mapping name -> {description, higher_is_better}; a list
    whose items are names or one-key mappings of that kind.
    """
    if metrics is None:
        return [], {}
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
    elif isinstance(metrics, list):
        items = []
        for item in metrics:
            if isinstance(item, str):
                items.append((item, None))
            elif isinstance(item, Mapping) and len(item) == 1:
                items.extend(item.items())
            else:
                raise RewardlabError(
                    f"{owner}: each item of metrics must be a name or {{name: {{description, higher_is_better}}}}, "
                    f"got {item!r}"
                )
    else:
        raise RewardlabError(f"{owner}: metrics must be a list of names or a mapping name -> description, "
                             f"got {metrics!r}")
    names, info = [], {}
    for name, entry in items:
        if not isinstance(name, str) or not name:
            raise RewardlabError(f"{owner}: a metric name must be a non-empty string, got {name!r}")
        if name in info:
            raise RewardlabError(f"{owner}: metric {name!r} is listed twice")
        names.append(name)
        info[name] = _metric_info(entry, f"{owner}: metric {name!r}")
    return names, info


def _parse_axes(grid: Any, owner: str) -> list[Axis]:
    if not isinstance(grid, Mapping):
        raise RewardlabError(f"{owner}: grid must be a mapping of axis -> values or named variants")
    axes = []
    for name, values in grid.items():
        name = str(name)
        if isinstance(values, Mapping):
            if not values:
                raise RewardlabError(f"{owner}: grid axis {name!r} has no variants")
            variants = []
            for label, overrides in values.items():
                overrides = overrides or {}
                if not isinstance(overrides, Mapping):
                    raise RewardlabError(
                        f"{owner}: variant {label!r} of axis {name!r} must be a mapping of dotted keys -> values"
                    )
                variants.append((str(label), dict(overrides)))
        elif isinstance(values, list):
            if not values:
                raise RewardlabError(f"{owner}: grid axis {name!r} has no values")
            if name.split(".")[0] not in RUN_KEYS:
                raise RewardlabError(
                    f"{owner}: grid axis {name!r} is a list, so it must be a dotted run setting starting "
                    f"with one of {choices(RUN_KEYS)} (use named variants for other axes)"
                )
            variants = [(_label(v), {name: v}) for v in values]
        else:
            raise RewardlabError(f"{owner}: grid axis {name!r} must be a list of values or a mapping of variants")
        labels = [label for label, _ in variants]
        if len(set(labels)) != len(labels):
            raise RewardlabError(f"{owner}: grid axis {name!r} has duplicate labels {labels}")
        axes.append(Axis(name, tuple(variants)))
    return axes


def _label(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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
