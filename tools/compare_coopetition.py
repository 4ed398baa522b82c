"""Compare rewardlab's coopetition payoffs with Coopetition-Gym v1's own payoff functions.

For every one of the twenty reference games, random action profiles are played in rewardlab's
environment (its default, reference parameters) and the same actions are fed to the reference's
payoff functions:

* TR-1, TR-2, TR-4: ``compute_all_private_payoffs`` (pi_i, TR-1 Eq. 11) and
  ``compute_all_integrated_utilities`` without trust (U_i, TR-1 Eq. 13) on the reference
  environment's own ``payoff_params``;
* TR-3: the reference's TR-3 functions ``base_team_payoff`` / ``loyalty_modifier`` (and, for
  PublicGoods, its ``_compute_tr3_rewards``), which its environments define but never call;
* trust games: the trust matrix after each step, against the reference's ``TrustDynamicsModel``
  run from the same start, with rewardlab set to the reference's raw signal units
  (``signal_units="action"`` and the reference's kappa).

Each comparison is done twice where rewardlab adds a mechanism the reference's payoff lacks
(pairing, sanctions, renegotiated or reputation-weighted shares, coalitions): "default" is the
id as registered, "mechanism off" switches rewardlab's extra mechanism off. Rows are expected to
agree to 1e-9 except the differences listed in docs/coopetition.md.

Usage (needs the reference installed: ``pip install coopetition-gym`` from its repository)::

    python tools/compare_coopetition.py [--profiles 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import importlib
import sys

import numpy as np

import rewardlab
from rewardlab.envs.coopetition import REFERENCE_RAW_KAPPA

#: rewardlab id -> (reference id, reference constructor kwargs, the kwargs of rewardlab that turn
#: its extra mechanism off so that the payoffs are the reference's).
GAMES = {
    "rewardlab/CoopPartnerHoldUp-v0": ("PartnerHoldUp-v0", {}, None),
    "rewardlab/CoopPlatformEcosystem-v0": ("PlatformEcosystem-v0", {}, None),
    "rewardlab/CoopDynamicPartnerSelection-v0": ("DynamicPartnerSelection-v0", {}, dict(matching="group")),
    "rewardlab/CoopSynergySearch-v0": ("SynergySearch-v0", {}, None),
    "rewardlab/CoopRenaultNissan-v0": ("RenaultNissan-v0", {"phase": "mature"}, None),
    "rewardlab/CoopTrustDilemma-v0": ("TrustDilemma-v0", {}, None),
    "rewardlab/CoopRecoveryRace-v0": ("RecoveryRace-v0", {}, None),
    "rewardlab/CoopSLCD-v0": ("SLCD-v0", {}, None),
    "rewardlab/CoopCooperativeNegotiation-v0": ("CooperativeNegotiation-v0", {}, dict(share_adjust=0.0)),
    "rewardlab/CoopReputationMarket-v0": ("ReputationMarket-v0", {}, dict(reputation_shares=False)),
    "rewardlab/CoopTeamProduction-v0": ("TeamProduction-v0", {}, None),
    "rewardlab/CoopLoyaltyTeam-v0": ("LoyaltyTeam-v0", {}, dict(loyalty_rate=0.0)),
    "rewardlab/CoopCoalitionFormation-v0": ("CoalitionFormation-v0", {}, dict(coalition_threshold=0.0)),
    "rewardlab/CoopApacheProject-v0": ("ApacheProject-v0", {"phase": "maturity"}, dict(loyalty_rate=0.0)),
    "rewardlab/CoopPublicGoods-v0": ("PublicGoods-v0", {}, None),
    "rewardlab/CoopReciprocalDilemma-v0": ("ReciprocalDilemma-v0", {}, None),
    "rewardlab/CoopGiftExchange-v0": ("GiftExchange-v0", {}, None),
    "rewardlab/CoopIndirectReciprocity-v0": ("IndirectReciprocity-v0", {},
                                             dict(matching="group", interdependence_by_pair=False)),
    "rewardlab/CoopGraduatedSanction-v0": ("GraduatedSanction-v0", {}, dict(sanction_norm=0.0)),
    "rewardlab/CoopAppleAppStore-v0": ("AppleAppStore-v0", {}, None),
}
TR3 = {"TeamProduction-v0", "LoyaltyTeam-v0", "CoalitionFormation-v0", "ApacheProject-v0", "PublicGoods-v0"}
TOLERANCE = 1e-9


def import_reference():
    """The reference's modules, or None when it is not installed."""
    try:
        from coopetition_gym.envs import collective_action_envs as tr3
        from coopetition_gym.envs import make
    except ImportError:
        return None
    # The reference's environments import its core modules as top-level ``core.*`` (they put
    # their package directory on sys.path): take the payoff functions from there, so that its
    # enums and dataclasses are the ones its environments built.
    equilibrium = importlib.import_module("core.equilibrium")
    interdependence = importlib.import_module("core.interdependence")
    return dict(make=make, private=equilibrium.compute_all_private_payoffs,
                integrated=equilibrium.compute_all_integrated_utilities, tr3=tr3,
                payoff_params=equilibrium.PayoffParameters, matrix=interdependence.InterdependenceMatrix)


def exact(values) -> np.ndarray:
    """A reference parameter array in float64. The reference stores endowments, shares, D and
    baselines as float32 (0.55 becomes 0.550000011920929); every one of its parameters has at
    most three decimals, so rounding to six recovers the value it was written with."""
    return np.round(np.asarray(values, dtype=np.float64), 6)


def reference_payoff_params(ref, ref_env):
    """The reference environment's payoff parameters, read back in float64 (see :func:`exact`)."""
    p = ref_env.payoff_params
    n = len(p.alpha)
    equal_shares = np.allclose(p.alpha, 1.0 / n, atol=1e-6)  # 1/n (1/3, 1/6) has no short decimal form
    alpha = np.full(n, 1.0 / n) if equal_shares else exact(p.alpha)
    return ref["payoff_params"](value_params=p.value_params, endowments=exact(p.endowments), alpha=alpha,
                                interdependence=ref["matrix"](exact(p.interdependence.matrix)))


def _rewardlab_rounds(env_id: str, actions: np.ndarray, **kwargs):
    """Play the rows of ``actions`` (steps, n) in one rewardlab instance: (pi, U, trust) per step."""
    sim = rewardlab.make_sim(env_id, num_envs=1, **kwargs)
    sim.reset(seed=0)
    pis, utilities, trusts = [], [], []
    for k, a in enumerate(actions):
        if k % sim.params.horizon == 0:  # a fresh episode every horizon steps
            sim.reset(seed=0)
        step = sim.step(a[None, :, None])
        pi = sum(step.terms[k][0] for k in sim.payoff_terms)
        d = sim.interdependence
        d = d[0] if d.ndim == 3 else d
        pis.append(pi)
        utilities.append(pi + d @ pi)
        trust = getattr(sim, "trust", None)
        trusts.append(None if trust is None else trust[0].copy())
    return sim, np.array(pis), np.array(utilities), trusts


def _reference_tr3(ref, ref_env, actions: np.ndarray, loyalty: np.ndarray):
    """The reference's TR-3 payoff pi_i and loyalty-augmented utility for one profile."""
    tr3, p = ref["tr3"], ref_env.tr3_params
    n = len(actions)
    if type(ref_env).__name__ == "PublicGoodsEnv":
        pi = ref_env._endowment - actions + p.omega * actions.sum() / n
        extra = np.array([tr3.loyalty_modifier(i, actions, loyalty[i], p.omega, 1.0, p.c, p.phi_B, p.phi_C)
                          for i in range(n)])
        return pi, pi + extra
    pi = np.array([tr3.base_team_payoff(i, actions, p.omega, p.beta, p.c) for i in range(n)])
    loyal = np.array([tr3.loyalty_augmented_utility(i, actions, loyalty[i], p) for i in range(n)])
    return pi, loyal


def compare_game(ref, env_id: str, profiles: int, rng: np.random.Generator) -> list[dict]:
    ref_id, ref_kwargs, mechanism_off = GAMES[env_id]
    ref_env = ref["make"](ref_id, **ref_kwargs)
    ref_env.reset(seed=0)
    bounds = exact(ref_env.endowments)
    actions = rng.uniform(0.0, 1.0, (profiles, len(bounds))) * bounds
    actions[rng.uniform(size=profiles) < 0.1, 0] = 0.0  # some profiles where the synergy collapses
    rows = []
    variants = [("default", {})] + ([("mechanism off", mechanism_off)] if mechanism_off else [])
    for label, kwargs in variants:
        if ref_id == "SynergySearch-v0":  # the hidden gamma: fix rewardlab's at the reference's draw
            kwargs = dict(kwargs, gamma_range=(), gamma=float(ref_env._true_gamma))
        sim, pi, utility, _ = _rewardlab_rounds(env_id, actions, **kwargs)
        if ref_id in TR3:
            theta = sim.params.loyalty0
            ref_pi, ref_loyal = zip(*(_reference_tr3(ref, ref_env, a, np.full(len(a), theta)) for a in actions),
                                    strict=True)
            ref_pi, ref_second = np.array(ref_pi), np.array(ref_loyal)
            second_name = "loyal U"
            rl = rewardlab.make_sim(env_id, num_envs=1, reward="loyal", loyalty_rate=0.0,
                                    **{k: v for k, v in kwargs.items() if k != "loyalty_rate"})
            ours_second = []
            for k, a in enumerate(actions):
                if k % rl.params.horizon == 0:
                    rl.reset(seed=0)
                ours_second.append(rl.step(a[None, :, None]).reward[0])
            ours_second = np.array(ours_second)
        else:
            params = reference_payoff_params(ref, ref_env)
            ref_pi = np.array([ref["private"](a, params) for a in actions])
            ref_second = np.array([ref["integrated"](a, params, None) for a in actions])
            second_name = "integrated U"
            ours_second = utility
        rows.append(dict(game=ref_id, variant=label, quantity="private pi",
                         max_abs=float(np.max(np.abs(pi - ref_pi)))))
        rows.append(dict(game=ref_id, variant=label, quantity=second_name,
                         max_abs=float(np.max(np.abs(ours_second - ref_second)))))
    if env_id in REFERENCE_RAW_KAPPA and ref_env.trust_model is not None:
        rows.append(_compare_trust(ref_env, env_id, actions))
    return rows


def _compare_trust(ref_env, env_id: str, actions: np.ndarray) -> dict:
    """Trust after each step: the reference's model against rewardlab in raw signal units."""
    model = ref_env.trust_model
    state = model.create_initial_state(ref_env.n_agents)
    baselines = exact(ref_env.baselines)
    d = exact(ref_env.D)
    _, _, _, trusts = _rewardlab_rounds(env_id, actions, signal_units="action", **REFERENCE_RAW_KAPPA[env_id])
    worst = 0.0
    off = ~np.eye(ref_env.n_agents, dtype=bool)
    horizon = rewardlab.make_sim(env_id).params.horizon
    for k, (a, ours) in enumerate(zip(actions, trusts, strict=True)):
        if k % horizon == 0:
            state = model.create_initial_state(ref_env.n_agents)
        state = model.update(state, a, baselines, d)
        worst = max(worst, float(np.max(np.abs(ours[off] - state.trust_matrix[off]))))
    return dict(game=ref_env.metadata["name"], variant="signal_units=action", quantity="trust T_ij", max_abs=worst)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=200, help="random action profiles per game (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the action profiles (default 0)")
    args = parser.parse_args(argv)
    ref = import_reference()
    if ref is None:
        print("compare_coopetition: the reference, Coopetition-Gym v1 (package coopetition_gym), is not "
              "importable; install it from its repository (pip install coopetition-gym) and run again.",
              file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    rows = []
    for env_id in GAMES:
        rows.extend(compare_game(ref, env_id, args.profiles, rng))
    print(f"{'reference game':<28} {'rewardlab variant':<22} {'quantity':<14} {'max |diff|':>11}  verdict")
    for row in rows:
        verdict = "equal" if row["max_abs"] <= TOLERANCE else "DIFFERS (docs/coopetition.md)"
        print(f"{row['game']:<28} {row['variant']:<22} {row['quantity']:<14} {row['max_abs']:>11.3g}  {verdict}")
    equal = sum(r["max_abs"] <= TOLERANCE for r in rows)
    print(f"\n{equal} of {len(rows)} comparisons equal to {TOLERANCE:g}; {args.profiles} random profiles per game, "
          f"seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
