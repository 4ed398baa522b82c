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
