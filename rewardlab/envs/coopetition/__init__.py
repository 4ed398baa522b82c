"""The coopetition family: twenty mixed-motive games of four mechanism classes, plus Cournot.

One batched engine per mechanism class (``interdependence``: TR-1, ``trust``: TR-2,
``collective``: TR-3, ``reciprocity``: TR-4, ``cournot``), parameterised by frozen dataclasses;
each id below is a row whose kwargs select the game and its calibrated parameters. The four
calibrated case studies are CoopSLCD, CoopRenaultNissan, CoopApacheProject and
CoopAppleAppStore (rubric: docs/case_studies.md, ``rewardlab validate``).
"""

from __future__ import annotations

from rewardlab.core.registry import EnvSpec

_M = "rewardlab.envs.coopetition."
TR1 = _M + "interdependence:InterdependenceSim"
TR1_RANDOM = _M + "interdependence:SynergySearchSim"
TR2 = _M + "trust:TrustSim"
TR3 = _M + "collective:TeamSim"
TR4 = _M + "reciprocity:ReciprocitySim"
TR4_RANDOM = _M + "reciprocity:RandomMatchingReciprocitySim"
COURNOT = _M + "cournot:CournotSim"


def uniform_interdependence(n: int, d: float) -> tuple[tuple[float, ...], ...]:
    """D with d everywhere off the diagonal."""
    return tuple(tuple(0.0 if i == j else d for j in range(n)) for i in range(n))


def _platform_d() -> tuple[tuple[float, ...], ...]:
    # hub values each developer's payoff 0.2; developers value the hub 0.6 and each other 0.05
    rows = [[0.0, 0.2, 0.2, 0.2, 0.2]]
    for i in range(1, 5):
        rows.append([0.6] + [0.0 if j == i else 0.05 for j in range(1, 5)])
    return tuple(tuple(r) for r in rows)


def _renault_nissan_phases() -> tuple:
    # (D[nissan, renault], D[renault, nissan]) = how much Nissan values Renault's payoff, and back
    pairs = ((0.78, 0.66), (0.51, 0.66), (0.35, 0.72), (0.28, 0.65))
    return tuple(((0.0, rn), (nr, 0.0)) for nr, rn in pairs)


#: Apple App Store, 66 quarters from 2008 Q3: launch (2008 Q3-2011 Q2), growth (2011 Q3-2016 Q2),
#: maturity (2016 Q3-2020 Q2: 15 % subscription rate after year one), regulation (2020 Q3-2024 Q4:
#: small business program). Shares of the ecosystem surplus: (apple, large developers, small developers).
APPLE_PHASE_STARTS = (0, 12, 32, 48)
APPLE_ALPHA = ((0.30, 0.42, 0.28), (0.30, 0.42, 0.28), (0.27, 0.45, 0.28), (0.22, 0.45, 0.33))
APPLE_D = ((0.0, 0.3, 0.2), (0.8, 0.0, 0.15), (0.85, 0.1, 0.0))

ENVS = (
    # ---------------------------------------------------------------- TR-1 interdependence
    EnvSpec("rewardlab/CoopPartnerHoldUp-v0", TR1, "coopetition",
            "TR-1: an anchor firm and a dependent supplier; the supplier is exposed to hold-up",
            dict(num_agents=2, bounds=(120.0, 80.0), agent_names=("anchor", "supplier"), gamma=1.5,
                 alpha=(0.6, 0.4), interdependence=((0.0, 0.35), (0.85, 0.0)), movers_in_turn=True)),
    EnvSpec("rewardlab/CoopPlatformEcosystem-v0", TR1, "coopetition",
            "TR-1: a platform hub and four complementors sharing one ecosystem surplus",
            dict(num_agents=5, bounds=(150.0, 80.0, 80.0, 80.0, 80.0),
                 agent_names=("hub", "developer_0", "developer_1", "developer_2", "developer_3"),
                 gamma=2.0, alpha=(0.4, 0.15, 0.15, 0.15, 0.15), interdependence=_platform_d(),
                 movers_in_turn=True)),
    EnvSpec("rewardlab/CoopDynamicPartnerSelection-v0", TR1, "coopetition",
            "TR-1: six firms re-paired each round by rank of their last investment",
            dict(num_agents=6, horizon=50, bounds=(100.0,), gamma=1.5, matching="assortative",
                 pair_interdependence=0.5)),
    EnvSpec("rewardlab/CoopSynergySearch-v0", TR1_RANDOM, "coopetition",
            "TR-1: two partners facing a hidden synergy gamma ~ U(0.2, 0.9) drawn per episode",
            dict(num_agents=2, bounds=(100.0,), gamma_range=(0.2, 0.9),
                 interdependence=uniform_interdependence(2, 0.5))),
    EnvSpec("rewardlab/CoopRenaultNissan-v0", TR1, "coopetition",
            "TR-1 case study: Renault-Nissan alliance, four phases of interdependence",
            dict(num_agents=2, bounds=(90.0, 100.0), agent_names=("renault", "nissan"), gamma=0.65,
                 alpha=(0.5, 0.5), phase_starts=(0, 25, 50, 75),
                 interdependence_phases=_renault_nissan_phases())),
    # ---------------------------------------------------------------- TR-2 trust
    EnvSpec("rewardlab/CoopTrustDilemma-v0", TR2, "coopetition",
            "TR-2: two partners whose trust builds slowly and collapses fast",
            dict(num_agents=2, bounds=(100.0,), gamma=1.5, interdependence=uniform_interdependence(2, 0.5))),
    EnvSpec("rewardlab/CoopRecoveryRace-v0", TR2, "coopetition",
            "TR-2: rebuild trust from T0 = 0.25, R0 = 0.5; success when every T_ij >= 0.9",
            dict(num_agents=2, horizon=150, bounds=(100.0,), gamma=1.5, trust0=0.25, reputation0=0.5,
                 success_trust=0.9, interdependence=uniform_interdependence(2, 0.5))),
    EnvSpec("rewardlab/CoopSLCD-v0", TR2, "coopetition",
            "TR-2 case study: the Samsung-Sony S-LCD joint venture",
            dict(num_agents=2, bounds=(100.0,), agent_names=("samsung", "sony"), theta=20.0, gamma=0.65,
                 alpha=(0.55, 0.45), interdependence=((0.0, 0.64), (0.86, 0.0)))),
    EnvSpec("rewardlab/CoopCooperativeNegotiation-v0", TR2, "coopetition",
            "TR-2: surplus shares renegotiated each round toward contribution shares",
            dict(num_agents=2, bounds=(100.0,), gamma=1.5, share_adjust=0.1,
                 interdependence=uniform_interdependence(2, 0.4))),
    EnvSpec("rewardlab/CoopReputationMarket-v0", TR2, "coopetition",
            "TR-2: five firms whose surplus shares follow their public reputation",
            dict(num_agents=5, bounds=(100.0,), gamma=2.0, reputation_shares=True,
                 interdependence=uniform_interdependence(5, 0.2))),
    # ---------------------------------------------------------------- TR-3 collective action
    EnvSpec("rewardlab/CoopTeamProduction-v0", TR3, "coopetition",
            "TR-3: four members share team output omega * (sum a)^beta",
            dict(num_agents=4, bounds=(50.0,), interdependence=uniform_interdependence(4, 0.25))),
    EnvSpec("rewardlab/CoopLoyaltyTeam-v0", TR3, "coopetition",
            "TR-3: team production with loyalty that follows the team's commitment",
            dict(num_agents=4, bounds=(50.0,), loyalty0=0.5, loyalty_rate=0.05, phi_b=0.8, phi_c=0.3,
                 interdependence=uniform_interdependence(4, 0.25))),
    EnvSpec("rewardlab/CoopCoalitionFormation-v0", TR3, "coopetition",
            "TR-3: six agents join the coalition by effort >= 20 % of the bound or produce alone",
            dict(num_agents=6, horizon=150, bounds=(50.0,), coalition_threshold=0.2,
                 interdependence=uniform_interdependence(6, 0.2))),
    EnvSpec("rewardlab/CoopApacheProject-v0", TR3, "coopetition",
            "TR-3 case study: the Apache HTTP Server project, 8/15/40/35 active contributors by phase",
            dict(num_agents=40, horizon=60, bounds=(50.0,), agent_names=tuple(f"contributor_{i}" for i in range(40)),
                 phase_starts=(0, 15, 30, 45), active_phases=(8, 15, 40, 35), loyalty0=0.6,
                 loyalty_rate=0.05, phi_b=0.8, phi_c=0.3, interdependence=uniform_interdependence(40, 0.3)),
            test_steps=200),
    EnvSpec("rewardlab/CoopPublicGoods-v0", TR3, "coopetition",
            "TR-3: linear public good, e = 50, m = 2, five contributors",
            dict(num_agents=5, bounds=(50.0,), endowment=50.0, production="linear", multiplier=2.0,
                 interdependence=uniform_interdependence(5, 0.2))),
    # ---------------------------------------------------------------- TR-4 reciprocity
    EnvSpec("rewardlab/CoopReciprocalDilemma-v0", TR4, "coopetition",
            "TR-4: two partners with reciprocity over a 5-round memory",
            dict(num_agents=2, bounds=(100.0,), gamma=1.5, window=5,
                 interdependence=uniform_interdependence(2, 0.5))),
    EnvSpec("rewardlab/CoopGiftExchange-v0", TR4, "coopetition",
            "TR-4: employer moves first (gift), worker answers with effort",
            dict(num_agents=2, bounds=(100.0, 80.0), agent_names=("employer", "worker"), gamma=1.5,
                 window=5, interdependence=((0.0, 0.4), (0.7, 0.0)), movers_in_turn=True)),
    EnvSpec("rewardlab/CoopIndirectReciprocity-v0", TR4_RANDOM, "coopetition",
            "TR-4: four agents in random pairs each round; image scores travel (k = 7)",
            dict(num_agents=4, horizon=150, bounds=(100.0,), gamma=1.5, window=7, matching="random",
                 interdependence_by_pair=False, interdependence=uniform_interdependence(4, 0.3))),
    EnvSpec("rewardlab/CoopGraduatedSanction-v0", TR4, "coopetition",
            "TR-4: six agents under escalating sanctions below 25 % of the bound (k = 10)",
            dict(num_agents=6, horizon=200, bounds=(100.0,), gamma=2.0, window=10, sanction_norm=0.25,
                 interdependence=uniform_interdependence(6, 0.2))),
    EnvSpec("rewardlab/CoopAppleAppStore-v0", TR4, "coopetition",
            "TR-4 case study: Apple and two developer groups, 66 quarters 2008-2024",
            dict(num_agents=3, horizon=66, bounds=(100.0, 80.0, 60.0),
                 agent_names=("apple", "developers_large", "developers_small"), gamma=1.5,
                 phase_starts=APPLE_PHASE_STARTS, alpha_phases=APPLE_ALPHA, interdependence=APPLE_D,
                 window=4, movers_in_turn=True)),
    # ---------------------------------------------------------------- Cournot
    EnvSpec("rewardlab/CoopCournot-v0", COURNOT, "coopetition",
            "Cournot market: three firms, P = 100 - Q, c = 10; collusion can emerge",
            dict(num_agents=3, bounds=(100.0,))),
)
