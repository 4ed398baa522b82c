"""Non-learning references for the commons family: oracles' policies and heuristic populations.

Every policy maps a batch of observations (B, n, ...) of the environment it is written for to a
batch of actions (B, n, ...), with array operations only, so it runs on a batched simulator::

    sim = rewardlab.make_sim("rewardlab/CommonsOstrom-v0", num_envs=64)
    obs = sim.reset(seed=0)
    for _ in range(sim.params.horizon):
        obs = sim.step(ostrom_best_response(obs, sim.params)).obs

Ostrom: :func:`ostrom_best_response` (myopic best reply to last round with partial adjustment:
the selfish population, which settles at the Nash equilibrium) and :func:`ostrom_efficient` (the group optimum split as
evenly as tokens allow). Punishment: :func:`punishment_policy` with kinds ``cooperator``,
``defector``, ``reciprocator`` (tit-for-tat on the partner's latest move), each choosing the
highest-reputation partner and punishing defectors it may punish when ``punish`` is set. Fishery:
:class:`FisheryPopulation` (altruistic or selfish agents that adapt to fines) and the 2 x 2
scenarios of the norm-formation study in :data:`FISHERY_SCENARIOS`.
"""

from __future__ import annotations

import numpy as np

from rewardlab.envs.commons.ostrom import OstromParams, best_response, group_optimum_total

# ------------------------------------------------------------------------------------ Ostrom


def ostrom_best_response(obs: np.ndarray, params: OstromParams, inertia: float = 0.3) -> np.ndarray:
    """Myopic best reply to the others' tokens of the last round, with partial adjustment.

    Every player moves from its last investment toward its best response by
    ``max(1, floor(inertia * gap))`` tokens. Simultaneous full best replies overshoot and cycle
    (the summed reaction slope is -(n - 1)/2); partial adjustment converges to the equilibrium.
    """
    n, e = params.num_agents, params.endowment
    tokens = np.rint(obs[:, :, :n].astype(np.float64) * e).astype(np.int64)
    own, others_total = tokens[:, :, 0], tokens[:, :, 1:].sum(axis=2)
    table = np.array([best_response(total, params) for total in range((n - 1) * e + 1)])
    gap = table[others_total] - own
    step = np.sign(gap) * np.maximum(1, np.floor(inertia * np.abs(gap)).astype(np.int64))
    actions = np.zeros((*obs.shape[:2], 3), dtype=np.int64)
    actions[:, :, 0] = np.clip(own + step, 0, e)
    actions[:, :, 2] = e
    return actions


def ostrom_efficient(num_envs: int, params: OstromParams) -> np.ndarray:
    """Every player invests its share of the group optimum (remainder to the first players)."""
    n, e = params.num_agents, params.endowment
    total = group_optimum_total(params)
    share = np.full(n, total // n)
    share[: total % n] += 1
    actions = np.zeros((num_envs, n, 3), dtype=np.int64)
    actions[:, :, 0] = np.minimum(share, e)
    actions[:, :, 2] = e
    return actions


# ------------------------------------------------------------------------------------ Punishment

PUNISHMENT_KINDS = ("cooperator", "defector", "reciprocator")


def punishment_policy(obs: np.ndarray, kinds: np.ndarray | list[str], punish: bool = True) -> np.ndarray:
    """Heuristic agents for CommonsPunishment-v0 (observation layout of that module).

    ``kinds`` names one kind per agent. Everyone picks the highest-reputation other agent (ties
    to the nearest in relative order) and, with ``punish``, punishes every agent it may punish
    whose latest move was a defection.
    """
    b, n = obs.shape[:2]
    kinds = np.asarray(kinds)
    if kinds.shape != (n,) or not np.isin(kinds, PUNISHMENT_KINDS).all():
        raise ValueError(f"kinds must name one of {PUNISHMENT_KINDS} per agent, got {kinds!r}")
    reputation = obs[:, :, 4 : 4 + n]
    moves = obs[:, :, 4 + n : 4 + 2 * n]
    partner_onehot = obs[:, :, 4 + 2 * n : 3 * n + 3]
    may_punish = obs[:, :, 3 * n + 3 : 4 * n + 2] > 0.5
    partner_move = (partner_onehot * moves[:, :, 1:]).sum(axis=2)  # +1 C, -1 D, 0 none
    actions = np.zeros((b, n, 2 + (n - 1)), dtype=np.int64)
    defect = np.zeros((b, n), dtype=bool)
    defect |= (kinds == "defector")[None, :]
    defect |= (kinds == "reciprocator")[None, :] & (partner_move < 0)
    actions[:, :, 0] = defect
    actions[:, :, 1] = np.argmax(reputation[:, :, 1:], axis=2)
    if punish:
        actions[:, :, 2:] = may_punish & (moves[:, :, 1:] < 0)
    return actions


# ------------------------------------------------------------------------------------ Fishery

FISHERY_KINDS = ("altruistic", "selfish")


class FisheryPopulation:
    """Heuristic fishers for CommonsFishery-v0 (observation layout of that module).

    * ``altruistic``: fishes at the norm, votes for the norm, and sanctions observed violators.
    * ``selfish``: fishes at the maximum effort and votes for it; after being fined it complies
      with the norm for ``deterrence_steps`` steps, then goes back to the maximum. It sanctions
      only when ``selfish_sanction`` is set.

    The policy is stateful (deterrence counters), so call :meth:`reset` with the environment.
    """

    def __init__(
        self,
        kinds: list[str] | np.ndarray,
        params,
        num_envs: int,
        deterrence_steps: int = 10,
        selfish_sanction: bool = False,
    ) -> None:
        kinds = np.asarray(kinds)
        if kinds.shape != (params.num_agents,) or not np.isin(kinds, FISHERY_KINDS).all():
            raise ValueError(f"kinds must name one of {FISHERY_KINDS} per fisher, got {kinds!r}")
        self.selfish = kinds == "selfish"
        self.params = params
        self.deterrence_steps = deterrence_steps
        self.selfish_sanction = selfish_sanction
        self.deterred = np.zeros((num_envs, params.num_agents), dtype=np.int64)

    def reset(self, rows: np.ndarray | None = None) -> None:
        if rows is None:
            self.deterred[:] = 0
        else:
            self.deterred[rows] = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        p = self.params
        top = p.effort_levels - 1
        step = p.max_effort / top
        norm_level = np.floor(obs[:, :, 1].astype(np.float64) * p.max_effort / step + 1e-6).astype(np.int64)
        fined = obs[:, :, 3] > 0
        self.deterred = np.where(fined, self.deterrence_steps, np.maximum(self.deterred - 1, 0))
        greedy = self.selfish[None, :] & (self.deterred == 0)
        actions = np.zeros((*obs.shape[:2], 3), dtype=np.int64)
        actions[:, :, 0] = np.where(greedy, top, np.minimum(norm_level, top))
        sanctions = ~self.selfish[None, :] | self.selfish_sanction
        actions[:, :, 1] = np.broadcast_to(sanctions, obs.shape[:2])
        default_norm_level = int(np.floor(p.default_norm / step + 1e-6))
        actions[:, :, 2] = np.where(self.selfish[None, :], top, default_norm_level)
        return actions


#: The norm-formation study's 2 x 2 grid: resource-rich vs scarce x altruistic vs selfish start.
#: ``params`` are CommonsFishery-v0 overrides, ``kinds`` the heuristic population.
FISHERY_SCENARIOS: dict[str, dict] = {
    "rich_altruistic": {
        "params": {"initial_stock": 1.0},
        "kinds": ["altruistic"] * 4 + ["selfish"],
    },
    "rich_selfish": {
        "params": {"initial_stock": 1.0},
        "kinds": ["selfish"] * 4 + ["altruistic"],
    },
    "scarce_altruistic": {
        "params": {"initial_stock": 0.3, "growth_rate": 0.3},
        "kinds": ["altruistic"] * 4 + ["selfish"],
    },
    "scarce_selfish": {
        "params": {"initial_stock": 0.3, "growth_rate": 0.3},
        "kinds": ["selfish"] * 4 + ["altruistic"],
    },
}


def run_fishery_population(
    kinds: list[str],
    num_envs: int = 16,
    seed: int = 0,
    deterrence_steps: int = 10,
    selfish_sanction: bool = False,
    **params,
) -> dict[str, np.ndarray]:
    """Roll one episode of a heuristic population per instance; returns the episode metrics (B,)."""
    from rewardlab.core.registry import make_sim

    sim = make_sim("rewardlab/CommonsFishery-v0", num_envs=num_envs, **params)
    policy = FisheryPopulation(kinds, sim.params, num_envs, deterrence_steps, selfish_sanction)
    obs = sim.reset(seed=seed)
    done = np.zeros(num_envs, dtype=bool)
    metrics: dict[str, np.ndarray] = {}
    while not done.all():
        step = sim.step(policy(obs))
        obs = step.obs
        if step.episode_metrics is not None:
            newly = step.done & ~done
            for name, values in step.episode_metrics.items():
                metrics.setdefault(name, np.full(num_envs, np.nan))[newly] = values[newly]
            done |= step.done
    return metrics


def run_fishery_scenario(name: str, institution: str = "direct", **kwargs) -> dict[str, np.ndarray]:
    """One cell of the 2 x 2 grid under an institution (``none``, ``direct``, ...)."""
    if name not in FISHERY_SCENARIOS:
        raise ValueError(f"unknown fishery scenario {name!r}; expected one of {sorted(FISHERY_SCENARIOS)}")
    scenario = FISHERY_SCENARIOS[name]
    params = {**scenario["params"], "institution": institution, **kwargs.pop("params", {})}
    return run_fishery_population(scenario["kinds"], **kwargs, **params)
