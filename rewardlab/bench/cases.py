"""What `rewardlab bench` times, family by family, and which figures it compares.

Each family gives rewardlab's single env (``gym.make``), its native vector env
(``gym.make_vec``) at several sizes, and each peer as its own users run it. Random actions are
drawn from each env's own action space before the clock starts; episodes that end are reset
inside the timed loop (resets count). A peer whose package is not importable raises
:class:`PeerMissing` from its ``build``; its row then says "not installed".
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rewardlab.bench.timing import Case, PeerMissing, StepFunction

#: how a user installs each peer (the `bench` extra installs those on the package index)
INSTALL = {
    "Coopetition-Gym": "pip install git+https://github.com/vikpant/coopetition-gym",
    "Melting Pot": "see docs/performance.md: dm-meltingpot 2.4.1 from its source archive, with dmlab2d",
    "highway-env": "pip install highway-env  (or: pip install 'rewardlab[bench]')",
    "Gymnasium MuJoCo": "pip install 'gymnasium[mujoco]'",
    "Stable-Baselines3": "pip install stable-baselines3",
}

FAMILIES = ("coopetition", "commons", "driving", "locomotion", "training")

#: make_vec sizes per family: (quick, full)
VECTOR_SIZES = {
    "coopetition": ((64, 4096), (16, 256, 4096)),
    "commons": ((16, 256), (16, 256, 1024)),
    "driving": ((16, 256), (16, 256, 1024)),
    "locomotion": ((16, 256), (16, 64, 256)),
}

COOPETITION_GAMES = ("TrustDilemma", "SLCD", "TeamProduction")


@dataclass(frozen=True)
class Comparison:
    """A figure derived from two rows of the same run.

    ``kind="ratio"``: numerator's rate / denominator's rate, both counted ``per`` ("env-step",
    "agent-step", "simulated second" or "instance-step"). ``kind="overhead"``: raw physics rate /
    env rate - 1 (numerator is the env, denominator its own raw physics), the time an env step
    adds to the physics it runs.
    """

    label: str
    numerator: str
    denominator: str
    per: str = "env-step"
    kind: str = "ratio"


def _quiet_make(make: Callable, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make(*args, **kwargs)


def single_env_stepper(env, actions: list) -> StepFunction:
    """One step of a Gymnasium env per call, cycling through pre-drawn actions, resetting at the
    end of an episode."""
    env.reset(seed=0)
    index = [0]

    def step() -> int:
        _, _, terminated, truncated, _ = env.step(actions[index[0] % len(actions)])
        index[0] += 1
        if terminated or truncated:
            env.reset()
        return 1

    return step


def sampled_actions(space, count: int) -> list:
    space.seed(0)
    return [space.sample() for _ in range(count)]


def rewardlab_single(env_id: str, **kwargs) -> StepFunction:
    import gymnasium as gym

    import rewardlab  # noqa: F401  (registers the ids)

    env = _quiet_make(gym.make, env_id, **kwargs)
    return single_env_stepper(env, sampled_actions(env.action_space, 256))


def rewardlab_vector(env_id: str, num_envs: int, **kwargs) -> StepFunction:
    """``gym.make_vec`` with B instances (same-step autoreset); one call is one batched step."""
    import gymnasium as gym

    import rewardlab  # noqa: F401

    envs = _quiet_make(gym.make_vec, env_id, num_envs=num_envs, **kwargs)
    envs.reset(seed=0)
    actions = sampled_actions(envs.action_space, 8)
    index = [0]

    def step() -> int:
        envs.step(actions[index[0] % 8])
        index[0] += 1
        return num_envs

    return step


def _short(env_id: str) -> str:
    return env_id.split("/")[-1]


def _rewardlab_rows(family: str, env_id: str, quick: bool, agents: int = 1,
                    simulated_seconds: float | None = None) -> list[Case]:
    name = _short(env_id)
    rows = [Case(f"{family}:{name}:single", f"{name} single env", "rewardlab",
                 lambda: rewardlab_single(env_id), agents=agents, simulated_seconds=simulated_seconds)]
    for size in VECTOR_SIZES[family][0 if quick else 1]:
        rows.append(Case(f"{family}:{name}:vec{size}", f"{name} make_vec B={size}", "rewardlab",
                         lambda size=size: rewardlab_vector(env_id, size), instances=size, agents=agents,
                         simulated_seconds=simulated_seconds))
    return rows


# --- coopetition ---------------------------------------------------------------------------

def coopetition_gym_single(game: str) -> StepFunction:
    try:
        import coopetition_gym
    except ImportError as err:
        raise PeerMissing(INSTALL["Coopetition-Gym"]) from err
    env = _quiet_make(coopetition_gym.make, f"{game}-v0")
    return single_env_stepper(env, sampled_actions(env.action_space, 256))


def coopetition(quick: bool) -> tuple[list[Case], list[Comparison]]:
    import rewardlab

    cases, comparisons = [], []
    largest = VECTOR_SIZES["coopetition"][0 if quick else 1][-1]
    for game in COOPETITION_GAMES:
        env_id = f"rewardlab/Coop{game}-v0"
        agents = rewardlab.make_sim(env_id).num_agents
        rows = _rewardlab_rows("coopetition", env_id, quick, agents=agents)
        peer = Case(f"coopetition:{game}:peer", f"{game}-v0 single env", "Coopetition-Gym",
                    lambda game=game: coopetition_gym_single(game), agents=agents)
        cases += [*rows, peer]
        comparisons += [
            Comparison(f"{game}: rewardlab single env / Coopetition-Gym single env", rows[0].key, peer.key),
            Comparison(f"{game}: rewardlab make_vec B={largest} / Coopetition-Gym single env",
                       f"coopetition:Coop{game}-v0:vec{largest}", peer.key),
        ]
    return cases, comparisons


# --- commons -------------------------------------------------------------------------------

MELTING_POT_SUBSTRATE = "commons_harvest__open"


def melting_pot_single(substrate_name: str = MELTING_POT_SUBSTRATE) -> StepFunction:
    """A Melting Pot substrate as its users build it (``substrate.build`` with the default
    roles: 7 players for commons_harvest__open), stepped with random joint actions."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from meltingpot import substrate
    except ImportError as err:
        raise PeerMissing(INSTALL["Melting Pot"]) from err
    config = substrate.get_config(substrate_name)
    env = substrate.build(substrate_name, roles=config.default_player_roles)
    players = len(config.default_player_roles)
    num_actions = env.action_spec()[0].num_values
    actions = np.random.default_rng(0).integers(0, num_actions, size=(256, players)).tolist()
    env.reset()
    index = [0]

    def step() -> int:
        timestep = env.step(actions[index[0] % 256])
        index[0] += 1
        if timestep.last():
            env.reset()
        return 1

    return step


def commons(quick: bool) -> tuple[list[Case], list[Comparison]]:
    env_id = "rewardlab/CommonsHarvest-v0"
    rows = _rewardlab_rows("commons", env_id, quick, agents=7)
    peer = Case("commons:meltingpot:peer", f"{MELTING_POT_SUBSTRATE} single env", "Melting Pot",
                melting_pot_single, agents=7)
    largest = rows[-1]
    comparisons = [
        Comparison("rewardlab single env / Melting Pot single env", rows[0].key, peer.key, per="agent-step"),
        Comparison(f"rewardlab make_vec B={largest.instances} / Melting Pot single env", largest.key, peer.key,
                   per="agent-step"),
    ]
    return [*rows, peer], comparisons


# --- driving -------------------------------------------------------------------------------

HIGHWAY_ENV_ROWS = (
    ("highway-v0", "highway-v0 single env", {}),
    ("highway-fast-v0", "highway-fast-v0 single env", {}),
    ("highway-fast-v0", "highway-fast-v0 at 10 Hz single env",
     {"policy_frequency": 10, "simulation_frequency": 10}),
)


def highway_env_single(env_id: str, config: dict) -> tuple[StepFunction, float]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import gymnasium as gym
            import highway_env  # noqa: F401  (registers highway-v0)
    except ImportError as err:
        raise PeerMissing(INSTALL["highway-env"]) from err
    env = _quiet_make(gym.make, env_id, config=config) if config else _quiet_make(gym.make, env_id)
    seconds_per_step = 1.0 / env.unwrapped.config["policy_frequency"]
    step = single_env_stepper(env, sampled_actions(env.action_space, 256))

    def quiet_step() -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return step()

    return quiet_step, seconds_per_step


def driving(quick: bool) -> tuple[list[Case], list[Comparison]]:
    import rewardlab

    env_id = "rewardlab/DrivingHighway-v0"
    dt = float(rewardlab.make_sim(env_id).params.dt)
    rows = _rewardlab_rows("driving", env_id, quick, simulated_seconds=dt)
    comparisons = []
    cases = list(rows)
    for index, (peer_id, label, config) in enumerate(HIGHWAY_ENV_ROWS):
        seconds = 1.0 / config.get("policy_frequency", 1)
        peer = Case(f"driving:highway-env:{index}", label, "highway-env",
                    lambda peer_id=peer_id, config=config: highway_env_single(peer_id, config)[0],
                    simulated_seconds=seconds, note=f"policy at {1 / seconds:g} Hz")
        cases.append(peer)
        for per in ("env-step", "simulated second"):
            comparisons.append(Comparison(f"rewardlab single env / {label}, per {per}", rows[0].key, peer.key, per=per))
    comparisons.append(Comparison(f"rewardlab make_vec B={rows[-1].instances} / highway-fast-v0 single env, "
                                  "per simulated second", rows[-1].key, "driving:highway-env:1",
                                  per="simulated second"))
    return cases, comparisons


# --- locomotion ----------------------------------------------------------------------------

def _small_actions(count: int, dim: int) -> np.ndarray:
    """Actions uniform in [-0.2, 0.2]: servo targets near standing for the quadruped, small
    torques for Ant, so that both walk rather than fall at every step."""
    return np.random.default_rng(1).uniform(-0.2, 0.2, size=(count, dim)).astype(np.float32)


def mj_step_replay(model, states: np.ndarray, controls: np.ndarray, spec: int, substeps: int) -> StepFunction:
    """Raw physics: ``mj_setState`` + ``ctrl`` + ``mj_step(model, data, substeps)`` on one MjData
    for each recorded (state, control) pair of an env's own trajectory, cycling."""
    import mujoco

    data = mujoco.MjData(model)
    index = [0]

    def step() -> int:
        k = index[0] % len(states)
        index[0] += 1
        mujoco.mj_setState(model, data, states[k], spec)
        data.ctrl[:] = controls[k]
        mujoco.mj_step(model, data, substeps)
        return 1

    return step


def rewardlab_locomotion_raw(env_id: str, steps: int = 2000) -> StepFunction:
    """Raw physics of the single env's own states: recorded in an untimed pass with the timed
    run's actions (falls and resets included), then replayed."""
    import gymnasium as gym

    import rewardlab  # noqa: F401

    env = _quiet_make(gym.make, env_id)
    env.reset(seed=0)
    sim = env.unwrapped.sim
    actions = _small_actions(256, 12)
    states, targets = [], []
    for t in range(steps):
        states.append(sim.state[0].copy())
        _, _, terminated, truncated, _ = env.step(actions[t % 256])
        targets.append(sim.joint_pos_target[0].copy())
        if terminated or truncated:
            env.reset()
    return mj_step_replay(sim.qm.model, np.array(states), np.array(targets), sim.qm.state_spec, sim.substeps)


def _gymnasium_ant():
    import gymnasium as gym

    try:
        return _quiet_make(gym.make, "Ant-v5")
    except (ImportError, gym.error.DependencyNotInstalled) as err:
        raise PeerMissing(INSTALL["Gymnasium MuJoCo"]) from err


def ant_single() -> StepFunction:
    env = _gymnasium_ant()
    return single_env_stepper(env, list(_small_actions(256, env.action_space.shape[0])))


def ant_raw(steps: int = 2000) -> StepFunction:
    """Ant-v5's raw physics over its own states: the full physics state before each step and the
    action (Ant writes it to ``ctrl``), replayed with ``mj_step(model, data, frame_skip)``."""
    import mujoco

    env = _gymnasium_ant()
    env.reset(seed=0)
    ant = env.unwrapped
    model, data = ant.model, ant.data
    spec = int(mujoco.mjtState.mjSTATE_FULLPHYSICS)
    size = mujoco.mj_stateSize(model, spec)
    actions = _small_actions(256, env.action_space.shape[0])
    states, controls = [], []
    for t in range(steps):
        state = np.empty(size)
        mujoco.mj_getState(model, data, state, spec)
        states.append(state)
        controls.append(actions[t % 256])
        _, _, terminated, truncated, _ = env.step(actions[t % 256])
        if terminated or truncated:
            env.reset()
    return mj_step_replay(model, np.array(states), np.array(controls), spec, ant.frame_skip)


def locomotion(quick: bool) -> tuple[list[Case], list[Comparison]]:
    env_id = "rewardlab/LocoImitation-v0"
    name = _short(env_id)
    single = Case(f"locomotion:{name}:single", f"{name} single env", "rewardlab",
                  lambda: single_env_stepper_of(env_id), simulated_seconds=0.02)
    raw = Case(f"locomotion:{name}:raw", f"{name} raw physics (mj_step replay)", "rewardlab",
               lambda: rewardlab_locomotion_raw(env_id), simulated_seconds=0.02)
    vectors = _rewardlab_rows("locomotion", env_id, quick, simulated_seconds=0.02)[1:]
    ant = Case("locomotion:ant:single", "Ant-v5 single env", "Gymnasium", ant_single, simulated_seconds=0.05)
    ant_physics = Case("locomotion:ant:raw", "Ant-v5 raw physics (mj_step replay)", "Gymnasium", ant_raw,
                       simulated_seconds=0.05)
    comparisons = [
        Comparison(f"{name} single env over its raw physics", single.key, raw.key, kind="overhead"),
        Comparison("Ant-v5 single env over its raw physics", ant.key, ant_physics.key, kind="overhead"),
        Comparison(f"{name} single env / Ant-v5 single env, per env-step", single.key, ant.key),
        Comparison(f"{name} raw physics / Ant-v5 raw physics, per env-step", raw.key, ant_physics.key),
    ]
    return [single, raw, *vectors, ant, ant_physics], comparisons


def single_env_stepper_of(env_id: str) -> StepFunction:
    """The quadruped single env with the same small actions as its raw-physics replay."""
    import gymnasium as gym

    import rewardlab  # noqa: F401

    env = _quiet_make(gym.make, env_id)
    return single_env_stepper(env, list(_small_actions(256, 12)))


# --- training ------------------------------------------------------------------------------

TRAINING_ENV = "rewardlab/CoopSLCD-v0"


def ppo_settings() -> dict:
    """rewardlab PPO's defaults (PPOConfig), with a constant learning rate as SB3 keeps it."""
    from dataclasses import asdict

    from rewardlab.agents.ppo import PPOConfig

    settings = asdict(PPOConfig())
    settings["anneal_lr"] = False
    settings["torch_threads"] = 1
    return settings


def sb3_arguments(settings: dict, slots: int) -> dict:
    """Stable-Baselines3 PPO arguments for rewardlab PPO ``settings`` on ``slots`` env slots.

    ``settings`` holds PPOConfig fields; ``minibatch_size``, ``critic_hidden_sizes`` and
    ``norm_adv`` may be left out (then: batch / num_minibatches, the actor's sizes, True)."""
    import torch

    samples = slots * settings["num_steps"]
    minibatch = settings.get("minibatch_size") or samples // settings["num_minibatches"]
    critic = settings.get("critic_hidden_sizes") or settings["hidden_sizes"]
    return {
        "n_steps": settings["num_steps"],
        "batch_size": minibatch,
        "n_epochs": settings["update_epochs"],
        "learning_rate": settings["learning_rate"],
        "gamma": settings["gamma"],
        "gae_lambda": settings["gae_lambda"],
        "clip_range": settings["clip_coef"],
        "clip_range_vf": settings["clip_coef"] if settings["clip_vloss"] else None,
        "ent_coef": settings["ent_coef"],
        "vf_coef": settings["vf_coef"],
        "max_grad_norm": settings["max_grad_norm"],
        "normalize_advantage": settings.get("norm_adv", True),
        "policy_kwargs": {
            "log_std_init": settings["init_log_std"],
            "net_arch": {"pi": list(settings["hidden_sizes"]), "vf": list(critic)},
            "activation_fn": {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[settings["activation"]],
        },
    }


def rewardlab_ppo(env_id: str = TRAINING_ENV) -> StepFunction:
    """One PPO iteration (rollout + update) per call; returns the instance-steps collected."""
    import rewardlab
    from rewardlab.agents import PPO

    settings = ppo_settings()
    sim = rewardlab.make_sim(env_id, num_envs=settings["num_envs"])
    agent = PPO(sim, settings, seed=0, device="cpu")

    def step() -> int:
        agent.train_one_update(1)
        return settings["num_envs"] * settings["num_steps"]

    return step


def sb3_ppo(env_id: str = TRAINING_ENV) -> StepFunction:
    """SB3 PPO with the same settings on the same simulator (one slot per instance and agent,
    one-hot agent id, VecNormalize for the observation and reward normalisation)."""
    try:
        import stable_baselines3 as sb3
        import torch
        from stable_baselines3.common.vec_env import VecNormalize
    except ImportError as err:
        raise PeerMissing(INSTALL["Stable-Baselines3"]) from err
    import rewardlab

    settings = ppo_settings()
    torch.set_num_threads(1)  # as rewardlab PPO's torch_threads=1
    venv = rewardlab.sb3_vec_env(env_id, num_envs=settings["num_envs"], agent_id=True)
    if settings["normalize_obs"] or settings["normalize_reward"]:
        venv = VecNormalize(venv, norm_obs=settings["normalize_obs"], norm_reward=settings["normalize_reward"],
                            gamma=settings["gamma"])
    model = sb3.PPO("MlpPolicy", venv, **sb3_arguments(settings, venv.num_envs), seed=0, device="cpu", verbose=0)
    slot_steps = venv.num_envs * settings["num_steps"]

    def step() -> int:
        model.learn(slot_steps, reset_num_timesteps=False)
        return settings["num_envs"] * settings["num_steps"]

    return step


def training(quick: bool) -> tuple[list[Case], list[Comparison]]:
    name = _short(TRAINING_ENV)
    ours = Case(f"training:{name}:rewardlab-ppo", f"rewardlab PPO on {name}", "rewardlab", rewardlab_ppo,
                note="instance-steps of training (rollout + update)")
    theirs = Case(f"training:{name}:sb3-ppo", f"SB3 PPO on {name} (sb3_vec_env)", "Stable-Baselines3", sb3_ppo,
                  note="same settings, same simulator")
    return [ours, theirs], [Comparison("rewardlab PPO / SB3 PPO, training", ours.key, theirs.key,
                                       per="instance-step")]


BUILDERS = {
    "coopetition": coopetition,
    "commons": commons,
    "driving": driving,
    "locomotion": locomotion,
    "training": training,
}
