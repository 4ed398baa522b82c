"""The commons family: common-pool resources with punishment, reputation and norms.

==============================  ===============================================================
``rewardlab/CommonsOstrom-v0``      Ostrom-Walker-Gardner lab CPR: tokens, quadratic group return,
                                    sanctioning and cheap-talk treatments (``ostrom.py``)
``rewardlab/CommonsFishery-v0``     Gordon-Schaefer fishery: effort game with norms, monitoring,
                                    sanctions, reputation and exclusion (``fishery.py``)
``rewardlab/CommonsHarvest-v0``     gridworld harvest: apples regrow by live neighbours, zapping,
                                    egocentric views, open and closed maps (``harvest.py``)
``rewardlab/CommonsPunishment-v0``  IPD population with partner selection by reputation, direct
                                    and third-party punishment (``punishment.py``)
==============================  ===============================================================

Registry rows are in ``ENVS``; docs/commons.md has the formulas and metrics.
"""

from rewardlab.core.registry import EnvSpec

ENVS = (
    EnvSpec(
        id="rewardlab/CommonsOstrom-v0",
        entry_point="rewardlab.envs.commons.ostrom:OstromSim",
        family="commons",
        summary="Ostrom-Walker-Gardner lab CPR, 8 players; Nash 8 tokens each, optimum 36 in total",
    ),
    EnvSpec(
        id="rewardlab/CommonsFishery-v0",
        entry_point="rewardlab.envs.commons.fishery:FisherySim",
        family="commons",
        summary="Gordon-Schaefer fishery: effort game with norms, monitoring, sanctions, reputation",
    ),
    EnvSpec(
        id="rewardlab/CommonsHarvest-v0",
        entry_point="rewardlab.envs.commons.harvest:HarvestSim",
        family="commons",
        summary="Gridworld commons harvest (Melting Pot style): regrowth by neighbours, zapping, 7 players",
    ),
    EnvSpec(
        id="rewardlab/CommonsPunishment-v0",
        entry_point="rewardlab.envs.commons.punishment:PunishmentSim",
        family="commons",
        summary="IPD population: partner selection by reputation, direct and third-party punishment",
    ),
)
