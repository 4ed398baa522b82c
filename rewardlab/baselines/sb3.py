"""Stable-Baselines3 runners for every rewardlab environment, with RL-Zoo hyperparameters.

Every id trains through :func:`rewardlab.sb3_vec_env`, the simulator seen as an SB3 ``VecEnv``
with one slot per (instance, agent): single-agent ids get B slots stepped as one batch (no
per-environment Python loop), multi-agent ids get B x n slots of one shared policy (parameter
sharing, with a one-hot agent id appended to the observation).

Hyperparameters live in ``rewardlab/baselines/hyperparams/<algo>.yml`` in RL Baselines3 Zoo's
format (top-level keys are env ids; ``n_envs``, ``n_timesteps``, ``policy``, ``normalize``,
``policy_kwargs`` and the algorithm's keyword arguments), so the same files drive
``python -m rl_zoo3.train --algo ppo --env rewardlab/<id> --gym-packages rewardlab
-conf rewardlab/baselines/hyperparams/ppo.yml``. ``agent_kwargs`` override them.

    from rewardlab.baselines.sb3 import train_and_evaluate_sb3
    result = train_and_evaluate_sb3("rewardlab/DrivingHighway-v0", algo="sb3-ppo",
                                    total_steps=50_000, seed=0)

What loading a run unpickles: ``model.zip`` is read by SB3's own ``load`` (its parameters with
``torch.load(weights_only=True)``; its ``data`` entry holds cloudpickled objects such as
schedules, which SB3 deserialises: load only models you trust). ``vecnormalize.pkl`` is read by
:func:`load_vecnormalize` through an allow-list unpickler that builds only ``VecNormalize``,
``RunningMeanStd``, NumPy arrays and Gymnasium spaces, and refuses any other file cleanly.
"""

from __future__ import annotations

import inspect
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rewardlab.agents.envs import clone_sim, make_env_sim, resolve_device, run_episodes, summarize
from rewardlab.agents.runlog import RunLogger, RunResult, write_run_config
from rewardlab.core.errors import RewardlabError, choices

HYPERPARAMS_DIR = Path(__file__).parent / "hyperparams"
#: RL-Zoo keys that are not the algorithm's constructor arguments
ZOO_KEYS = ("n_envs", "n_timesteps", "policy", "normalize", "agent_id", "torch_threads")


def algorithm_classes() -> dict[str, type]:
    import stable_baselines3 as sb3

    return {
        "sb3-ppo": sb3.PPO,
        "sb3-a2c": sb3.A2C,
        "sb3-sac": sb3.SAC,
        "sb3-td3": sb3.TD3,
        "sb3-ddpg": sb3.DDPG,
        "sb3-dqn": sb3.DQN,
    }


def load_hyperparams(algo: str, env_id: str) -> dict[str, Any]:
    """The RL-Zoo entry for ``env_id`` in ``hyperparams/<algo>.yml`` (``default`` if it has none)."""
    name = algo.removeprefix("sb3-")
    path = HYPERPARAMS_DIR / f"{name}.yml"
    if not path.exists():
        return {}
    table = yaml.load(path.read_text(), Loader=yaml.SafeLoader) or {}
    entry = table.get(env_id, table.get("default", {}))
    return dict(entry or {})


def _policy_kwargs(value: Any) -> Any:
    """RL-Zoo writes policy_kwargs as a Python expression string, e.g. "dict(net_arch=[64, 64])"."""
    if not isinstance(value, str):
        return value
    import torch

    return eval(value, {"__builtins__": {}}, {"dict": dict, "nn": torch.nn})  # noqa: S307 - trusted package file


#: What a vecnormalize.pkl may hold besides NumPy arrays and Gymnasium spaces.
VECNORMALIZE_TYPES = (
    ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"),
    ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
)


def load_vecnormalize(path: str | Path, venv):
    """``VecNormalize.load`` without unpickling arbitrary objects: a foreign or crafted file is a
    RewardlabError naming it (see the module docstring for what is read)."""
    from stable_baselines3.common.vec_env import VecNormalize

    from rewardlab.core.safe_pickle import UnsafePickleError, safe_load

    path = Path(path)
    try:
        with open(path, "rb") as handle:
            normalizer = safe_load(handle, extra=VECNORMALIZE_TYPES)
    except OSError as err:
        raise RewardlabError(f"{path}: cannot read ({err.strerror})") from None
    except UnsafePickleError as err:
        raise RewardlabError(f"{path}: {err}") from None
    if not isinstance(normalizer, VecNormalize):
        raise RewardlabError(f"{path}: not SB3 VecNormalize statistics (found {type(normalizer).__name__})")
    try:
        normalizer.set_venv(venv)
    except (AssertionError, ValueError, AttributeError) as err:
        raise RewardlabError(f"{path}: the statistics do not fit this environment ({err})") from None
    return normalizer


@dataclass
class LoadedRun:
    """An SB3 run directory, loaded and checked by :func:`load_run`."""

    model: Any
    venv: Any  # the RewardlabSB3VecEnv (one instance) the model was checked against
    config: dict[str, Any]
    obs_rms: Any = None  # VecNormalize.normalize_obs where the run normalised observations


def _read_run_config(path: Path, config_path: Path) -> dict[str, Any]:
    """The run's config.json, with the fields that rebuild its environment and model checked."""
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RewardlabError(f"{path}: an SB3 model needs the config.json of its run directory beside it") from None
    except (OSError, ValueError) as err:
        raise RewardlabError(f"{config_path}: not a readable run config ({type(err).__name__}: {err})") from None
    fields = {"env_id": str, "algo": str, "seed": int, "agent": dict}
    for key, kind in fields.items():
        if not isinstance(config, dict) or not isinstance(config.get(key), kind) or isinstance(config.get(key), bool):
            found = config.get(key) if isinstance(config, dict) else config
            raise RewardlabError(f"{config_path}: {key!r} must be a {kind.__name__}, got {found!r}")
    if config["algo"] not in algorithm_classes():
        raise RewardlabError(f"{config_path}: algo {config['algo']!r} is not one of {choices(algorithm_classes())}")
    return config


def load_run(model_path: str | Path, device: str = "cpu") -> LoadedRun:
    """The model of an SB3 run with its ``config.json`` and ``vecnormalize.pkl``, checked.

    A missing or malformed config, an environment id that is not registered, a model whose
    spaces are not those of the environment the config names, and unreadable or foreign
    normaliser statistics are each a RewardlabError naming the file.
    """
    path = Path(model_path)
    config_path = path.parent / "config.json"
    config = _read_run_config(path, config_path)
    reward = config.get("reward")
    if isinstance(reward, dict):  # a RewardSpec saved with to_dict()
        reward = {k: v for k, v in reward.items() if k != "name"}
    agent_id = bool(config["agent"].get("agent_id", False))
    try:
        venv = make_vec_env(config["env_id"], 1, reward, config.get("env_kwargs"), agent_id=agent_id)
    except RewardlabError as err:
        raise RewardlabError(f"{config_path}: the run's environment cannot be built: {err}") from None
    try:
        model = algorithm_classes()[config["algo"]].load(str(path), device=str(resolve_device(device)))
    except RewardlabError:
        raise
    except Exception as err:  # a truncated or foreign zip
        raise RewardlabError(f"{path}: not a readable SB3 model ({type(err).__name__}: {err})") from None
    for what in ("observation_space", "action_space"):
        expected, found = getattr(venv, what), getattr(model, what)
        if expected != found:
            raise RewardlabError(
                f"{path}: the model's {what} {found} is not {config['env_id']}'s {expected} as {config_path} "
                "configures it (a model from another environment or settings)"
            )
    obs_rms = None
    stats = path.parent / "vecnormalize.pkl"
    if stats.exists():
        normalizer = load_vecnormalize(stats, venv)
        normalizer.training = False
        obs_rms = normalizer.normalize_obs
    return LoadedRun(model=model, venv=venv, config=config, obs_rms=obs_rms)


def make_vec_env(env_id: str, num_envs: int, reward: Any, env_kwargs: dict | None, agent_id: bool):
    """An SB3 VecEnv over a fresh simulator of ``env_id`` (registered id or "module:SimClass")."""
    from rewardlab.core.adapters.sb3_vec_env import RewardlabSB3VecEnv  # imports stable_baselines3

    sim = make_env_sim(env_id, num_envs, reward, env_kwargs)
    return RewardlabSB3VecEnv(sim, agent_id=agent_id)


def build_model(
    env_id: str,
    algo: str,
    venv,
    hyperparams: dict[str, Any],
    seed: int,
    device: str,
    tensorboard_log: str | None = None,
):
    cls = algorithm_classes()[algo]
    kwargs = _constructor_kwargs(env_id, algo, hyperparams)
    if "policy_kwargs" in kwargs:
        kwargs["policy_kwargs"] = _policy_kwargs(kwargs["policy_kwargs"])
    if tensorboard_log is not None:
        kwargs["tensorboard_log"] = tensorboard_log
    from stable_baselines3.common.utils import get_device

    try:
        return cls(
            hyperparams.get("policy", "MlpPolicy"),
            venv,
            seed=seed,
            device=get_device(device),
            verbose=0,
            **kwargs,
        )
    except AssertionError as err:  # SB3 asserts on unsupported action spaces
        raise RewardlabError(f"{env_id} ({algo}): {err or 'unsupported action or observation space'}") from err


def _constructor_kwargs(env_id: str, algo: str, hyperparams: dict[str, Any]) -> dict[str, Any]:
    """The algorithm's constructor arguments among ``hyperparams``; unknown keys raise."""
    cls = algorithm_classes()[algo]
    skip = ("self", "env", "policy", "seed", "device", "_init_setup_model")
    valid = [p for p in inspect.signature(cls.__init__).parameters if p not in skip]
    kwargs = {k: v for k, v in hyperparams.items() if k not in ZOO_KEYS}
    unknown = set(kwargs) - set(valid)
    if unknown:
        raise RewardlabError(
            f"{env_id} ({algo}): unknown setting(s) {choices(unknown)}; valid settings are "
            f"{choices([*valid, 'num_envs', 'n_envs', 'policy', 'normalize', 'agent_id'])}"
        )
    return kwargs


def check_sb3_settings(env_id: str, algo: str, agent_kwargs: dict | None) -> None:
    """Raise a RewardlabError for an unknown SB3 algorithm or setting, without building anything."""
    if algo not in algorithm_classes():
        raise RewardlabError(f"{env_id}: unknown SB3 algo {algo!r}; expected one of {choices(algorithm_classes())}")
    _constructor_kwargs(env_id, algo, sb3_settings(env_id, algo, agent_kwargs))


def sb3_settings(env_id: str, algo: str, agent_kwargs: dict | None) -> dict[str, Any]:
    hyperparams = load_hyperparams(algo, env_id)
    overrides = dict(agent_kwargs or {})
    if "num_envs" in overrides:
        overrides["n_envs"] = overrides.pop("num_envs")
    hyperparams.update(overrides)
    return hyperparams


def sb3_actor(model, sim, agent_id: bool, obs_rms=None):
    """``act(obs (B, n, ...)) -> actions (B, n, ...)`` of a trained SB3 model, deterministic."""
    from rewardlab.core.adapters.sb3_vec_env import RewardlabSB3VecEnv

    view = RewardlabSB3VecEnv(sim, agent_id=agent_id)

    def act(obs: np.ndarray) -> np.ndarray:
        slots = view.observation_slots(obs)
        if obs_rms is not None:
            slots = obs_rms(slots)
        actions, _ = model.predict(slots, deterministic=True)
        return view.sim_actions(actions)

    return act


def train_and_evaluate_sb3(
    env_id: str,
    *,
    algo: str = "sb3-ppo",
    reward=None,
    env_kwargs: dict | None = None,
    agent_kwargs: dict | None = None,
    total_steps: int,
    seed: int,
    eval_episodes: int = 10,
    device: str = "cpu",
    log_dir=None,
    progress: bool = False,
):
    """Train an SB3 algorithm on ``env_id``; same contract as ``rewardlab.agents.train_and_evaluate``.

    ``total_steps`` counts instance-steps, as for rewardlab's agents: SB3 is asked for
    ``total_steps * n_agents`` slot-steps.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    if algo not in algorithm_classes():
        raise RewardlabError(f"{env_id}: unknown SB3 algo {algo!r}; expected one of {choices(algorithm_classes())}")
    hyperparams = sb3_settings(env_id, algo, agent_kwargs)
    torch_threads = hyperparams.pop("torch_threads", 1)
    device = str(resolve_device(device))
    if torch_threads is not None and device == "cpu":
        import torch

        torch.set_num_threads(int(torch_threads))  # as rewardlab's PPO: small networks run fastest on one
    venv, agent_id = _training_env(env_id, reward, env_kwargs, hyperparams)
    sim = venv.sim if not isinstance(venv, VecNormalize) else venv.venv.sim
    n_agents = sim.num_agents
    log_path = Path(log_dir) if log_dir is not None else None
    if log_path is not None:
        write_run_config(
            log_path,
            {
                "env_id": env_id,
                "algo": algo,
                "reward": reward if not hasattr(reward, "to_dict") else reward.to_dict(),
                "reward_spec": sim.reward_spec.to_dict(),
                "env_kwargs": env_kwargs or {},
                "agent": hyperparams,
                "total_steps": int(total_steps),
                "seed": int(seed),
                "device": device,
            },
        )
    model = build_model(env_id, algo, venv, hyperparams, seed, device)
    logger = RunLogger(log_path, total_steps, progress, title=f"{algo} {env_id}")
    curve: list[dict[str, float]] = []
    recorder = _curve_recorder(n_agents, max(1, int(total_steps) // 100), curve, logger)
    start = time.perf_counter()
    try:
        model.learn(total_timesteps=int(total_steps) * n_agents, callback=recorder)
    finally:
        logger.close()
    train_time = time.perf_counter() - start
    obs_rms = venv.normalize_obs if isinstance(venv, VecNormalize) else None
    if isinstance(venv, VecNormalize):
        venv.training = False
    eval_sim = clone_sim(sim, int(eval_episodes))
    act = sb3_actor(model, eval_sim, bool(agent_id), obs_rms)
    metrics = summarize(run_episodes(eval_sim, act, int(eval_episodes), seed + 1_000_000))
    metrics["train_time_s"] = train_time
    metrics["update_time_s"] = float(np.mean(recorder.update_times)) if recorder.update_times else float("nan")
    checkpoint = _save_run(log_path, model, venv, curve, metrics) if log_path is not None else None
    venv.close()
    return RunResult(metrics=metrics, curve=curve, checkpoint=checkpoint)


def _training_env(env_id: str, reward: Any, env_kwargs: dict | None, hyperparams: dict[str, Any]):
    """The training VecEnv (in VecNormalize where the settings ask for it) and whether slots carry
    one-hot agent ids (by default where observations are flat: the adapter needs that)."""
    from stable_baselines3.common.vec_env import VecNormalize

    num_envs = int(hyperparams.get("n_envs", 8))
    agent_id = hyperparams.get("agent_id")
    if agent_id is None:
        probe = make_vec_env(env_id, 1, reward, env_kwargs, agent_id=False)
        agent_id = len(probe.sim.obs_shape) == 1
        probe.close()
    hyperparams["agent_id"] = bool(agent_id)
    venv = make_vec_env(env_id, num_envs, reward, env_kwargs, agent_id=bool(agent_id))
    normalize = hyperparams.get("normalize", False)
    if normalize:
        norm_kwargs = normalize if isinstance(normalize, dict) else {}
        if isinstance(normalize, str):
            norm_kwargs = _policy_kwargs(normalize)
        venv = VecNormalize(venv, **{"gamma": hyperparams.get("gamma", 0.99), **norm_kwargs})
    return venv, bool(agent_id)


def _save_run(log_path: Path, model, venv, curve: list[dict[str, float]], metrics: dict[str, float]) -> str:
    from stable_baselines3.common.vec_env import VecNormalize

    model.save(log_path / "model.zip")
    if isinstance(venv, VecNormalize):
        venv.save(str(log_path / "vecnormalize.pkl"))
    (log_path / "curve.json").write_text(json.dumps(curve, default=float))
    (log_path / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
    return str(log_path / "model.zip")


def _curve_recorder(n_agents: int, every: int, curve: list[dict[str, float]], logger: RunLogger):
    """An SB3 callback that appends a curve point (and logs it) at most every ``every``
    instance-steps (off-policy algorithms "roll out" each step), with the episodes' metrics and
    the time between rollouts (the update)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Recorder(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.update_times: list[float] = []
            self.rollout_end = None
            self.episodes: dict[str, list[float]] = {}
            self.last_point = -every
            self.last_return = float("nan")
            self.last_time = time.perf_counter()
            self.last_step = 0

        def _on_step(self) -> bool:
            dones = self.locals.get("dones")
            infos = self.locals.get("infos")
            if dones is not None and infos is not None:
                for slot in np.flatnonzero(np.asarray(dones)[::n_agents]) * n_agents:
                    for name, value in infos[slot].get("episode_metrics", {}).items():
                        self.episodes.setdefault(name, []).append(value)
            return True

        def _on_rollout_start(self) -> None:
            if self.rollout_end is not None:
                self.update_times.append(time.perf_counter() - self.rollout_end)

        def _on_rollout_end(self) -> None:
            self.rollout_end = time.perf_counter()
            step = self.num_timesteps // n_agents
            if step - self.last_point < every:
                return
            stats: dict[str, float] = {"step": step}
            for name, values in self.episodes.items():
                key = name if name in ("return", "length") else f"metric/{name}"
                stats[key] = float(np.mean(values))
            self.episodes = {}
            if "return" in stats:
                self.last_return = stats["return"]
            stats["return"] = self.last_return
            now = time.perf_counter()
            stats["sps"] = (step - self.last_step) / max(now - self.last_time, 1e-9)
            stats["update_time_s"] = self.update_times[-1] if self.update_times else float("nan")
            self.last_time, self.last_step, self.last_point = now, step, step
            curve.append(stats)
            logger.log(stats)

    return Recorder()
