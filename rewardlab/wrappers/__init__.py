"""Reward-shaping wrappers usable on any Gymnasium or PettingZoo environment, not only rewardlab's.

==================================  ========================================================
Gymnasium ``Env``                   PettingZoo ``ParallelEnv``
==================================  ========================================================
:class:`PotentialShaping`           :class:`ParallelPotentialShaping`  (and :class:`VectorPotentialShaping`)
:class:`ActionRatePenalty`          :class:`ParallelActionRatePenalty`  (and :class:`VectorActionRatePenalty`)
:class:`TermReweighting`            :class:`ParallelTermReweighting`  (and :class:`VectorTermReweighting`)
--                                  :class:`SocialReward` (private / cooperative / integrated)
--                                  :class:`InequityAversion` (Fehr-Schmidt, Hughes et al. smoothing)
==================================  ========================================================

Every wrapper validates its arguments and raises :class:`rewardlab.RewardlabError` naming itself,
the argument and what was expected, and adds what it computed to ``info["reward_terms"]`` so that
loggers (and a :class:`TermReweighting` further out) see it. See docs/wrappers.md.
"""

from rewardlab.wrappers.action_penalty import (
    ActionRatePenalty,
    ParallelActionRatePenalty,
    VectorActionRatePenalty,
)
from rewardlab.wrappers.potential import ParallelPotentialShaping, PotentialShaping, VectorPotentialShaping
from rewardlab.wrappers.reweight import ParallelTermReweighting, TermReweighting, VectorTermReweighting
from rewardlab.wrappers.social import SOCIAL_MODES, InequityAversion, SocialReward

__all__ = [
    "SOCIAL_MODES",
    "ActionRatePenalty",
    "InequityAversion",
    "ParallelActionRatePenalty",
    "ParallelPotentialShaping",
    "ParallelTermReweighting",
    "PotentialShaping",
    "SocialReward",
    "TermReweighting",
    "VectorActionRatePenalty",
    "VectorPotentialShaping",
    "VectorTermReweighting",
]
