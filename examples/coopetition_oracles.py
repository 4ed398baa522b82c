"""Coopetition in five minutes: reward modes, PettingZoo, oracles and heuristic scores.

    python examples/coopetition_oracles.py            # SLCD walk-through + oracle table of all ids
    python examples/coopetition_oracles.py --quick    # SLCD walk-through only
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import rewardlab
from rewardlab.baselines import coopetition as oracles

ENV = "rewardlab/CoopSLCD-v0"


def reward_modes() -> None:
    """The same joint action, three reward modes: the mode is never silently ignored."""
    action = np.array([[40.0], [20.0]], dtype=np.float32)  # Samsung invests 40, Sony 20
    for mode in ("private", "integrated", "cooperative", "trust_integrated"):
        env = gym.make(ENV, reward=mode)
        env.reset(seed=0)
        _, _, _, _, info = env.step(action)
        print(f"  {mode:<17} rewards {np.round(info['agent_rewards'], 2)}")
    terms = info["reward_terms"]
    print("  raw terms:", {k: np.round(v, 2).tolist() for k, v in terms.items()})


def pettingzoo() -> None:
    env = rewardlab.parallel_env(ENV, reward="integrated")
    obs, _ = env.reset(seed=0)
    total = dict.fromkeys(env.possible_agents, 0.0)
    while env.agents:
        # tit-for-tat by hand: match the partner's last action (column 1 = the other's last a / e)
        actions = {a: np.array([100.0 * obs[a][1] if obs[a][2] > 0 else 30.0], dtype=np.float32) for a in env.agents}
        obs, rewards, _, _, infos = env.step(actions)
        for a, r in rewards.items():
            total[a] += r
    print("  integrated returns:", {a: round(r, 1) for a, r in total.items()},
          "final trust:", np.round(infos["samsung"]["trust"], 2).tolist())


def oracle_scores() -> None:
    sim = rewardlab.make_sim(ENV)
    game = sim.stage_game()
    optimum = oracles.social_optimum(game)
    nash = oracles.nash_equilibrium(game, "private")
    print(f"  social optimum {np.round(optimum.actions, 2)}  private Nash {np.round(nash.actions, 2)}")
    reference = oracles.evaluate(ENV, oracles.ProfilePolicy(optimum.actions, "optimum"), episodes=4)["welfare"]
    policies = [oracles.ProfilePolicy(nash.actions, "nash"), oracles.TitForTat(start=1.0), oracles.RandomPolicy(0),
                *[oracles.ConstantPolicy(f) for f in (0.0, 0.25, 0.5, 1.0)]]
    for policy in policies:
        result = oracles.evaluate(ENV, policy, episodes=4)
        score = oracles.score_vs_oracle(result["welfare"], reference)
        print(f"  {policy.name:<14} welfare {score['pct']:6.1f} % of the optimum (gap {score['gap_pct']:+6.1f} %),"
              f" cooperation {result['cooperation_level']:.2f}, final trust {result['final_mean_trust']:.2f}")


def oracle_table() -> None:
    """For every id, the one-shot equilibria of each reward mode (last phase)."""
    print(f"  {'environment':<26}{'mode':<13}{'cooperation':>12}{'welfare % opt':>15}{'value added % opt':>19}")
    for spec in rewardlab.all_specs():
        if not spec.id.startswith("rewardlab/Coop"):
            continue
        sim = rewardlab.make_sim(spec.id)
        game = sim.stage_game(sim.params.num_phases - 1)
        best = oracles.social_optimum(game).welfare
        active = np.ones(sim.num_agents, bool) if game.active is None else game.active
        # value added: welfare above the all-zero joint action's (the endowments kept)
        idle = float(game.payoff(np.zeros((1, sim.num_agents)))[0][active].sum())
        for mode in ("private", "integrated", "cooperative"):
            sol = oracles.nash_equilibrium(game, mode)
            coop = float(np.mean(sol.actions[active] / sim.bounds[active]))
            name = spec.id.split("/")[1][4:-3] if mode == "private" else ""
            added = 100 * (sol.welfare - idle) / (best - idle)
            print(f"  {name:<26}{mode:<13}{coop:>12.3f}{100 * sol.welfare / best:>15.2f}{added:>19.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print("1. reward modes on", ENV)
    reward_modes()
    print("2. PettingZoo Parallel, tit-for-tat players")
    pettingzoo()
    print("3. heuristics scored against the social optimum (batched, 4 episodes each)")
    oracle_scores()
    if not args.quick:
        print("4. one-shot equilibria of every environment")
        oracle_table()


if __name__ == "__main__":
    main()
