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
    keep_run_files: false        # true: each run also writes its run directory (checkpoint.pt,
                                 # curve.json, TensorBoard events) to <out>/run_files/<run key>
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

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rewardlab.core.errors import RewardlabError, choices
from rewardlab.studies.model import (  # noqa: F401 (the study's types, re-exported: their public home)
    DEFAULT_RUNNER,
    RUN_DEFAULTS,
    RUN_KEYS,
    SPEC_FIELDS,
    Axis,
    MetricInfo,
    Run,
    Study,
    compile_expression,
    evaluate_expression,
    expand,
    normalise_env_id,
    run_key,
    set_dotted,
    setting_label,
    short_env,
)
from rewardlab.studies.validate import validate_study

# ---------------------------------------------------------------------------------------------
# Dotted keys


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
    validate_study(study)  # envs, presets, agents, metrics: before any run
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
    if profile is None:
        profile = raw.get("default_profile")
    spec = _with_profile(raw, profile, owner)
    runner = _parse_runner(spec, source, owner)
    base = dict(RUN_DEFAULTS)
    for key, value in (spec.get("base") or {}).items():
        set_dotted(base, str(key), value, owner)
    axes = _parse_envs_and_axes(spec, owner)
    seeds = _parse_seeds(spec.get("seeds", 1), owner)
    metrics, metric_info = parse_metrics(spec.get("metrics"), owner)
    derived = _parse_derived(spec.get("derived") or {}, metric_info, owner)
    report = dict(spec.get("report") or {})
    unknown = set(report) - {"reps", "seed", "confidence"}
    if unknown:
        raise RewardlabError(f"{owner}: unknown report option(s) {choices(unknown)}; expected reps, seed, confidence")
    study = Study(
        name=str(name),
        runner=runner,
        base=base,
        axes=axes,
        seeds=seeds,
        metrics=list(metrics),
        derived=derived,
        metric_info=metric_info,
        curve_metric=str(spec.get("curve_metric", "return")),
        report=report,
        description=str(spec.get("description", "")),
        claim=str(spec.get("claim", "")),
        keep_run_files=_parse_flag(spec, "keep_run_files", owner),
        profile=profile,
        source=source,
        raw=copy.deepcopy(dict(raw)),
    )
    study.runs()  # validate the expansion now (missing env, unknown keys), not in a worker
    return study


def _with_profile(raw: Mapping[str, Any], profile: str | None, owner: str) -> dict[str, Any]:
    profiles = raw.get("profiles") or {}
    if not isinstance(profiles, Mapping):
        raise RewardlabError(f"{owner}: profiles must be a mapping of name -> overrides")
    if profile is None:
        return dict(raw)
    if profile not in profiles:
        raise RewardlabError(f"{owner}: unknown profile {profile!r}; expected one of {choices(profiles)}")
    overrides = profiles[profile] or {}
    if not isinstance(overrides, Mapping):
        raise RewardlabError(f"{owner}: profile {profile!r} must be a mapping of overrides")
    return apply_profile(raw, overrides, profile)


def _parse_flag(spec: Mapping[str, Any], name: str, owner: str) -> bool:
    value = spec.get(name, False)
    if not isinstance(value, bool):
        raise RewardlabError(f"{owner}: {name} must be true or false, got {value!r}")
    return value


def _parse_runner(spec: Mapping[str, Any], source: str, owner: str) -> str:
    """``module:function``, or ``file.py:function`` resolved against the spec's folder."""
    runner = spec.get("runner") or DEFAULT_RUNNER
    if not isinstance(runner, str) or ":" not in runner:
        raise RewardlabError(f"{owner}: runner must be 'module:function' or 'file.py:function', got {runner!r}")
    if runner.split(":", 1)[0].endswith(".py") and source != "<spec>":
        file_part, _, func = runner.rpartition(":")
        runner = f"{(Path(source).parent / file_part).resolve()}:{func}"
    return runner


def _parse_envs_and_axes(spec: Mapping[str, Any], owner: str) -> list[Axis]:
    """The grid's axes, with ``envs`` (if given) as the first axis."""
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
    return axes


def _parse_seeds(seeds: Any, owner: str) -> list[int]:
    """A count (seeds 0 .. count - 1) or a list of distinct integers."""
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
    return list(seeds)


def _parse_derived(entries: Mapping[str, Any], metric_info: dict[str, MetricInfo], owner: str) -> dict[str, str]:
    """Derived metric -> its expression (checked now); a mapping entry also adds the metric's info."""
    derived = {}
    for metric, entry in entries.items():
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
    return derived


_METRIC_FIELDS = ("description", "higher_is_better")


def _metric_info(entry: Any, where: str, extra: tuple[str, ...] = ()) -> MetricInfo:
    if entry is None:
        return MetricInfo()
    if not isinstance(entry, Mapping):
        raise RewardlabError(f"{where} must be a mapping of {choices(_METRIC_FIELDS + extra)}, got {entry!r}")
    unknown = set(entry) - set(_METRIC_FIELDS)
    if unknown:
        valid = choices(_METRIC_FIELDS + extra)
        raise RewardlabError(f"{where}: unknown field(s) {choices(unknown)}; expected {valid}")
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
        raise RewardlabError(
            f"{owner}: metrics must be a list of names or a mapping name -> description, got {metrics!r}"
        )
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
