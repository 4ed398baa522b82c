"""The coopetition family: twenty mixed-motive games of four mechanism classes, plus Cournot.

One batched engine per mechanism class (``interdependence``: TR-1, ``trust``: TR-2,
``collective``: TR-3, ``reciprocity``: TR-4, ``cournot``), parameterised by frozen dataclasses;
each id below is a row whose kwargs select the game and its parameters. Every one of the twenty
reference games defaults to the parameters of Coopetition-Gym v1 (Pant and Yu, MIT; its
``envs/`` modules): value function, synergy gamma, shares alpha, D, endowments, trust settings,
fixed trust baselines, TR-3 and TR-4 parameters and horizons. :func:`sharp_calibration` gives
rewardlab's own sharper dilemmas (gamma 1.5-2.0) as a named alternative;
:func:`renault_nissan_phase` and :func:`apache_phase` give the reference's other case-study
phases (one phase per episode), :data:`RENAULT_NISSAN_LIFECYCLE`, :data:`APACHE_LIFECYCLE` and
:data:`APPLE_ERAS` rewardlab's multi-phase episodes that the case-study rubric scores
(docs/case_studies.md, ``rewardlab validate``).
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


def hub_interdependence(spokes: int, hub_on_spoke: float, spoke_on_hub: float) -> tuple[tuple[float, ...], ...]:
    """Hub-and-spoke D: agent 0 is the hub; spokes depend on the hub only, not on each other."""
    n = spokes + 1
    return tuple(
        tuple(0.0 if i == j else (hub_on_spoke if i == 0 else (spoke_on_hub if j == 0 else 0.0)) for j in range(n))
        for i in range(n)
    )


# ------------------------------------------------------------------------- case-study phases
#: Renault-Nissan phases of the reference (agents nissan, renault): D(nissan->renault),
#: D(renault->nissan), initial trust and reputation damage.
RENAULT_NISSAN_PHASES = {
    "formation": (0.78, 0.66, 0.45, 0.05),  # 1999-2002
    "mature": (0.51, 0.66, 0.70, 0.02),  # 2002-2018
    "crisis": (0.35, 0.72, 0.30, 0.45),  # 2018-2020
    "strained": (0.28, 0.65, 0.40, 0.35),  # 2020-2025
}


def renault_nissan_phase(phase: str) -> dict:
    """kwargs of CoopRenaultNissan-v0 for one phase of the reference (one phase per episode)."""
    if phase not in RENAULT_NISSAN_PHASES:
        raise ValueError(f"unknown Renault-Nissan phase {phase!r}; expected one of {tuple(RENAULT_NISSAN_PHASES)}")
    nissan_on_renault, renault_on_nissan, trust0, reputation0 = RENAULT_NISSAN_PHASES[phase]
    return dict(interdependence=((0.0, nissan_on_renault), (renault_on_nissan, 0.0)),
                trust0=trust0, reputation0=reputation0)


#: rewardlab's alternative: the four phases in one 100-round episode (25 rounds each), the trust
#: state carried across them (from the formation phase's start).
RENAULT_NISSAN_LIFECYCLE = dict(
    phase_starts=(0, 25, 50, 75),
    interdependence_phases=tuple(renault_nissan_phase(k)["interdependence"] for k in RENAULT_NISSAN_PHASES),
    trust0=0.45, reputation0=0.05,
)

#: Apache phases of the reference: active contributors, omega and the loyalty multiplier
#: (initial loyalty = 0.5 x multiplier).
APACHE_PHASES = {
    "emergence": (8, 20.0, 1.0),  # 1995-1999
    "growth": (15, 25.0, 0.85),  # 2000-2005
    "maturity": (40, 30.0, 0.70),  # 2006-2015
    "evolution": (35, 28.0, 0.60),  # 2016-2023
}


def apache_phase(phase: str) -> dict:
    """kwargs of CoopApacheProject-v0 for one phase of the reference (one phase per episode)."""
    if phase not in APACHE_PHASES:
        raise ValueError(f"unknown Apache phase {phase!r}; expected one of {tuple(APACHE_PHASES)}")
    members, omega, multiplier = APACHE_PHASES[phase]
    return dict(num_agents=members, agent_names=tuple(f"contributor_{i}" for i in range(members)),
                omega=omega, loyalty0=0.5 * multiplier, interdependence=uniform_interdependence(members, 0.55))


#: rewardlab's alternative: one 60-round episode through the four phases (15 rounds each) with a
#: fixed pool of 40 contributors of whom the first 8/15/40/35 are active, omega = 25.
APACHE_LIFECYCLE = dict(
    phase_starts=(0, 15, 30, 45), active_phases=(8, 15, 40, 35), omega=25.0, loyalty0=0.6, loyalty_rate=0.05,
    phi_b=0.8, phi_c=0.3, interdependence=uniform_interdependence(40, 0.3),
)

#: rewardlab's alternative for the Apple App Store: 66 quarters from 2008 Q3 in four eras,
#: launch (2008 Q3-2011 Q2), growth (2011 Q3-2016 Q2), maturity (2016 Q3-2020 Q2: 15 %
#: subscription rate after year one), regulation (2020 Q3-2024 Q4: small business program), each
#: with its own shares of the ecosystem surplus (apple, large developers, small developers).
#: The reference shares the surplus equally in every quarter.
APPLE_PHASE_STARTS = (0, 12, 32, 48)
APPLE_ALPHA = ((0.30, 0.42, 0.28), (0.30, 0.42, 0.28), (0.27, 0.45, 0.28), (0.22, 0.45, 0.33))
APPLE_D = ((0.0, 0.3, 0.2), (0.8, 0.0, 0.15), (0.85, 0.1, 0.0))
APPLE_ERAS = dict(phase_starts=APPLE_PHASE_STARTS, alpha_phases=APPLE_ALPHA)


def _trust(lambda_pos, lambda_neg, mu_r, delta_r, xi, trust0=0.5, baseline=0.3, reputation0=0.0):
    """A reference game's trust settings. Its signal steepness kappa is per action unit
    (:data:`REFERENCE_RAW_KAPPA`, for ``signal_units="action"``); rewardlab's default signal is
    per endowment with kappa = 3 (docs/coopetition.md, "Normalisation")."""
    return dict(lambda_pos=lambda_pos, lambda_neg=lambda_neg, mu_r=mu_r, delta_r=delta_r, xi=xi,
                trust0=trust0, reputation0=reputation0, trust_baseline=baseline)


#: The reference's signal steepness kappa per action unit (raw units) of each trust game, and
#: the TR-4 response steepness: what ``signal_units="action"`` needs to reproduce the reference.
REFERENCE_RAW_KAPPA = {
    "rewardlab/CoopRenaultNissan-v0": dict(kappa=1.0),
    "rewardlab/CoopTrustDilemma-v0": dict(kappa=1.5),
    "rewardlab/CoopRecoveryRace-v0": dict(kappa=1.0),
    "rewardlab/CoopSLCD-v0": dict(kappa=1.0),
    "rewardlab/CoopCooperativeNegotiation-v0": dict(kappa=1.2),
    "rewardlab/CoopReputationMarket-v0": dict(kappa=1.0),
    "rewardlab/CoopReciprocalDilemma-v0": dict(kappa=1.0, kappa_r=1.0),
    "rewardlab/CoopGiftExchange-v0": dict(kappa=1.0, kappa_r=1.0),
    "rewardlab/CoopIndirectReciprocity-v0": dict(kappa=1.0, kappa_r=1.0),
    "rewardlab/CoopGraduatedSanction-v0": dict(kappa=1.0, kappa_r=0.8),
    "rewardlab/CoopAppleAppStore-v0": dict(kappa=1.0, kappa_r=0.8),
}

_TR4_TRUST = _trust(0.10, 0.30, 0.60, 0.03, 0.50)

ENVS = (
    # ---------------------------------------------------------------- TR-1 interdependence
    EnvSpec("rewardlab/CoopPartnerHoldUp-v0", TR1, "coopetition",
            "TR-1: an anchor firm and a dependent supplier; the supplier is exposed to hold-up",
            dict(num_agents=2, bounds=(120.0, 80.0), agent_names=("anchor", "supplier"), theta=20.0, gamma=0.60,
                 alpha=(0.6, 0.4), interdependence=((0.0, 0.35), (0.85, 0.0)), movers_in_turn=True)),
    EnvSpec("rewardlab/CoopPlatformEcosystem-v0", TR1, "coopetition",
            "TR-1: a platform hub and four complementors sharing one ecosystem surplus",
            dict(num_agents=5, bounds=(150.0, 80.0, 80.0, 80.0, 80.0),
                 agent_names=("hub", "developer_0", "developer_1", "developer_2", "developer_3"),
                 theta=25.0, gamma=0.75, alpha=(0.30, 0.175, 0.175, 0.175, 0.175),
                 interdependence=hub_interdependence(4, 0.25, 0.75), movers_in_turn=True)),
    EnvSpec("rewardlab/CoopDynamicPartnerSelection-v0", TR1, "coopetition",
            "TR-1: six firms re-paired each round by rank of their last investment",
            dict(num_agents=6, horizon=50, bounds=(100.0,), theta=18.0, gamma=0.55, matching="assortative",
                 pair_interdependence=0.40, interdependence=uniform_interdependence(6, 0.40))),
    EnvSpec("rewardlab/CoopSynergySearch-v0", TR1_RANDOM, "coopetition",
            "TR-1: two partners facing a hidden synergy gamma ~ U(0.2, 0.9) drawn per episode",
            dict(num_agents=2, bounds=(100.0,), theta=20.0, gamma_range=(0.2, 0.9),
                 interdependence=uniform_interdependence(2, 0.5))),
    EnvSpec("rewardlab/CoopRenaultNissan-v0", TR2, "coopetition",
            "TR-2 case study: Renault-Nissan alliance, one phase per episode (default: mature, 2002-2018)",
            dict(num_agents=2, bounds=(90.0, 100.0), agent_names=("nissan", "renault"), theta=22.0, gamma=0.58,
                 alpha=(0.48, 0.52), **renault_nissan_phase("mature"),
                 **{k: v for k, v in _trust(0.08, 0.25, 0.55, 0.02, 0.50).items()
                    if k not in ("trust0", "reputation0")})),
    # ---------------------------------------------------------------- TR-2 trust
    EnvSpec("rewardlab/CoopTrustDilemma-v0", TR2, "coopetition",
            "TR-2: two partners whose trust builds slowly and collapses fast",
            dict(num_agents=2, bounds=(100.0,), theta=20.0, gamma=0.70,
                 interdependence=uniform_interdependence(2, 0.60),
                 **_trust(0.15, 0.45, 0.50, 0.02, 0.60, baseline=0.40))),
    EnvSpec("rewardlab/CoopRecoveryRace-v0", TR2, "coopetition",
            "TR-2: rebuild trust from T0 = 0.25, R0 = 0.5; success when every T_ij >= 0.9",
            dict(num_agents=2, horizon=150, bounds=(100.0,), theta=20.0, gamma=0.60, success_trust=0.9,
                 interdependence=uniform_interdependence(2, 0.55),
                 **_trust(0.08, 0.35, 0.70, 0.01, 0.40, trust0=0.25, reputation0=0.50, baseline=0.35))),
    EnvSpec("rewardlab/CoopSLCD-v0", TR2, "coopetition",
            "TR-2 case study: the Samsung-Sony S-LCD joint venture",
            dict(num_agents=2, bounds=(100.0,), agent_names=("samsung", "sony"), theta=20.0, gamma=0.65,
                 alpha=(0.55, 0.45), interdependence=((0.0, 0.64), (0.86, 0.0)),
                 **_trust(0.08, 0.28, 0.50, 0.02, 0.45, trust0=0.65))),
    EnvSpec("rewardlab/CoopCooperativeNegotiation-v0", TR2, "coopetition",
            "TR-2: surplus shares renegotiated each round toward contribution shares",
            dict(num_agents=2, bounds=(100.0,), theta=20.0, gamma=0.60, share_adjust=0.1,
                 interdependence=uniform_interdependence(2, 0.55),
                 **_trust(0.12, 0.40, 0.65, 0.02, 0.55, baseline=0.35))),
    EnvSpec("rewardlab/CoopReputationMarket-v0", TR2, "coopetition",
            "TR-2: five firms whose surplus shares follow their public reputation",
            dict(num_agents=5, bounds=(100.0,), theta=18.0, gamma=0.50, reputation_shares=True,
                 interdependence=uniform_interdependence(5, 0.35),
                 **_trust(0.10, 0.30, 0.55, 0.015, 0.45, baseline=0.35))),
    # ---------------------------------------------------------------- TR-3 collective action
    EnvSpec("rewardlab/CoopTeamProduction-v0", TR3, "coopetition",
            "TR-3: four members share team output omega * (sum a)^beta",
            dict(num_agents=4, bounds=(50.0,), omega=25.0, beta=0.7, cost=1.0, phi_b=0.0, phi_c=0.0,
                 interdependence=uniform_interdependence(4, 0.55))),
    EnvSpec("rewardlab/CoopLoyaltyTeam-v0", TR3, "coopetition",
            "TR-3: team production with loyalty that follows the team's commitment",
            dict(num_agents=4, bounds=(50.0,), omega=25.0, beta=0.7, cost=1.0, loyalty0=0.5, loyalty_rate=0.05,
                 phi_b=0.8, phi_c=0.3, interdependence=uniform_interdependence(4, 0.55))),
    EnvSpec("rewardlab/CoopCoalitionFormation-v0", TR3, "coopetition",
            "TR-3: six agents join the coalition by effort >= 20 % of the bound or produce alone",
            dict(num_agents=6, horizon=150, bounds=(50.0,), omega=25.0, beta=0.7, cost=1.0, loyalty0=0.5,
                 phi_b=0.7, phi_c=0.3, coalition_threshold=0.2, interdependence=uniform_interdependence(6, 0.55))),
    EnvSpec("rewardlab/CoopApacheProject-v0", TR3, "coopetition",
            "TR-3 case study: the Apache HTTP Server project, one phase per episode "
            "(default: maturity, 40 contributors)",
            dict(horizon=60, bounds=(50.0,), beta=0.7, cost=1.0, phi_b=0.75, phi_c=0.25, **apache_phase("maturity")),
            test_steps=200),
    EnvSpec("rewardlab/CoopPublicGoods-v0", TR3, "coopetition",
            "TR-3: linear public good, e = 50, m = 2, five contributors",
            dict(num_agents=5, bounds=(50.0,), endowment=50.0, production="linear", multiplier=2.0,
                 loyalty0=0.5, phi_b=0.6, phi_c=0.2, interdependence=uniform_interdependence(5, 0.55))),
    # ---------------------------------------------------------------- TR-4 reciprocity
    EnvSpec("rewardlab/CoopReciprocalDilemma-v0", TR4, "coopetition",
            "TR-4: two partners with reciprocity over a 5-round memory",
            dict(num_agents=2, bounds=(100.0,), theta=20.0, gamma=0.65, window=5, rho0=1.0, eta=1.0,
                 lambda_r=1.0, omega_r=0.6, interdependence=uniform_interdependence(2, 0.5), **_TR4_TRUST)),
    EnvSpec("rewardlab/CoopGiftExchange-v0", TR4, "coopetition",
            "TR-4: employer moves first (gift), worker answers with effort",
            dict(num_agents=2, bounds=(100.0, 80.0), agent_names=("employer", "worker"), theta=20.0, gamma=0.65,
                 window=3, rho0=1.2, eta=1.5, lambda_r=1.2, omega_r=0.8,
                 interdependence=((0.0, 0.4), (0.7, 0.0)), movers_in_turn=True, **_TR4_TRUST)),
    EnvSpec("rewardlab/CoopIndirectReciprocity-v0", TR4_RANDOM, "coopetition",
            "TR-4: four agents in random pairs each round; image scores travel (k = 7)",
            dict(num_agents=4, horizon=150, bounds=(100.0,), theta=20.0, gamma=0.65, window=7, rho0=0.8, eta=1.0,
                 lambda_r=1.5, omega_r=0.5, matching="random", interdependence_by_pair=False,
                 interdependence=uniform_interdependence(4, 0.4), **_TR4_TRUST)),
    EnvSpec("rewardlab/CoopGraduatedSanction-v0", TR4, "coopetition",
            "TR-4: six agents under escalating sanctions below 25 % of the bound (k = 10)",
            dict(num_agents=6, horizon=200, bounds=(100.0,), theta=20.0, gamma=0.65, window=10, rho0=0.6, eta=1.5,
                 lambda_r=1.8, omega_r=1.0, sanction_norm=0.25, interdependence=uniform_interdependence(6, 0.35),
                 **{**_TR4_TRUST, "trust_baseline": 0.40})),
    EnvSpec("rewardlab/CoopAppleAppStore-v0", TR4, "coopetition",
            "TR-4 case study: Apple and two developer groups, 66 quarters 2008-2024",
            dict(num_agents=3, horizon=66, bounds=(100.0, 80.0, 60.0),
                 agent_names=("apple", "developers_large", "developers_small"), theta=20.0, gamma=0.65,
                 interdependence=APPLE_D, window=4, rho0=1.0, eta=1.2, lambda_r=1.0, omega_r=0.8,
                 movers_in_turn=True, **{**_TR4_TRUST, "trust0": 0.6})),
    # ---------------------------------------------------------------- Cournot
    EnvSpec("rewardlab/CoopCournot-v0", COURNOT, "coopetition",
            "Cournot market: three firms, P = 100 - Q, c = 10; collusion can emerge",
            dict(num_agents=3, bounds=(100.0,))),
)

# ------------------------------------------------------------------------- sharp alternative
_NASH_TRUST = dict(trust_baseline="nash", lambda_pos=0.10, lambda_neg=0.30, mu_r=0.60, delta_r=0.03, xi=0.5,
                   trust0=0.5, reputation0=0.0)

#: rewardlab's sharper calibration (its defaults before it followed the reference): synergy
#: gamma 1.5-2.0 (the reference's value function rejects gamma > 1), D chosen by rewardlab,
#: TR-2's textbook trust rates with the private Nash action as the trust baseline, TR-4
#: lambda_R = 10. Not the reference's parameters.
SHARP_CALIBRATION = {
    "rewardlab/CoopPartnerHoldUp-v0": dict(gamma=1.5),
    "rewardlab/CoopPlatformEcosystem-v0": dict(
        gamma=2.0, theta=20.0, alpha=(0.4, 0.15, 0.15, 0.15, 0.15),
        interdependence=tuple(tuple(r) for r in (
            [0.0, 0.2, 0.2, 0.2, 0.2],
            *([0.6] + [0.0 if j == i else 0.05 for j in range(1, 5)] for i in range(1, 5))))),
    "rewardlab/CoopDynamicPartnerSelection-v0": dict(gamma=1.5, theta=20.0, pair_interdependence=0.5),
    "rewardlab/CoopSynergySearch-v0": dict(),
    "rewardlab/CoopRenaultNissan-v0": dict(gamma=0.65, theta=20.0, alpha=(0.5, 0.5), **RENAULT_NISSAN_LIFECYCLE),
    "rewardlab/CoopTrustDilemma-v0": dict(gamma=1.5, interdependence=uniform_interdependence(2, 0.5), **_NASH_TRUST),
    "rewardlab/CoopRecoveryRace-v0": dict(gamma=1.5, interdependence=uniform_interdependence(2, 0.5),
                                          **{**_NASH_TRUST, "trust0": 0.25, "reputation0": 0.5}),
    "rewardlab/CoopSLCD-v0": dict(**_NASH_TRUST),
    "rewardlab/CoopCooperativeNegotiation-v0": dict(gamma=1.5, interdependence=uniform_interdependence(2, 0.4),
                                                    **_NASH_TRUST),
    "rewardlab/CoopReputationMarket-v0": dict(gamma=2.0, theta=20.0, interdependence=uniform_interdependence(5, 0.2),
                                              **_NASH_TRUST),
    "rewardlab/CoopTeamProduction-v0": dict(interdependence=uniform_interdependence(4, 0.25)),
    "rewardlab/CoopLoyaltyTeam-v0": dict(interdependence=uniform_interdependence(4, 0.25)),
    "rewardlab/CoopCoalitionFormation-v0": dict(loyalty0=0.0, phi_b=0.8,
                                                interdependence=uniform_interdependence(6, 0.2)),
    "rewardlab/CoopApacheProject-v0": dict(num_agents=40, agent_names=tuple(f"contributor_{i}" for i in range(40)),
                                           **APACHE_LIFECYCLE),
    "rewardlab/CoopPublicGoods-v0": dict(loyalty0=0.0, phi_b=0.8, phi_c=0.3,
                                         interdependence=uniform_interdependence(5, 0.2)),
    "rewardlab/CoopReciprocalDilemma-v0": dict(gamma=1.5, lambda_r=10.0, omega_r=0.5, **_NASH_TRUST),
    "rewardlab/CoopGiftExchange-v0": dict(gamma=1.5, window=5, rho0=1.0, eta=1.0, lambda_r=10.0, omega_r=0.5,
                                          **_NASH_TRUST),
    "rewardlab/CoopIndirectReciprocity-v0": dict(gamma=1.5, rho0=1.0, lambda_r=10.0,
                                                 interdependence=uniform_interdependence(4, 0.3), **_NASH_TRUST),
    "rewardlab/CoopGraduatedSanction-v0": dict(gamma=2.0, rho0=1.0, eta=1.0, lambda_r=10.0, omega_r=0.5,
                                               interdependence=uniform_interdependence(6, 0.2), **_NASH_TRUST),
    "rewardlab/CoopAppleAppStore-v0": dict(gamma=1.5, rho0=1.0, eta=1.0, lambda_r=10.0, omega_r=0.5,
                                           **APPLE_ERAS, **_NASH_TRUST),
}


def sharp_calibration(env_id: str) -> dict:
    """kwargs that turn a reference game into rewardlab's sharper calibration, e.g.
    ``gym.make(id, **sharp_calibration(id))`` (see :data:`SHARP_CALIBRATION`)."""
    if env_id not in SHARP_CALIBRATION:
        raise ValueError(f"no sharp calibration for {env_id!r}; expected one of {tuple(SHARP_CALIBRATION)}")
    return dict(SHARP_CALIBRATION[env_id])
