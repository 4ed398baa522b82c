"""The commons family in a few minutes: oracles, heuristic populations, PettingZoo, reward presets.

    python examples/commons_quickstart.py            # prints four small tables (about 20 s)
    python examples/commons_quickstart.py --frame harvest.png   # also saves a Harvest frame

1. Ostrom lab CPR: the oracle's Nash and optimum, and what best-responders and an efficient group
   earn. 2. The fishery's 2 x 2 grid (resource-rich/scarce x altruistic/selfish start) under each
   sanctioning institution. 3. The punishment IPD with heuristic agents. 4. Harvest through the
   PettingZoo Parallel API with the inequity-averse reward preset and random players.
"""

from __future__ import annotations

import argparse

import numpy as np

import rewardlab
from rewardlab.baselines.commons import (
    FISHERY_SCENARIOS,
    ostrom_best_response,
    ostrom_efficient,
    punishment_policy,
    run_fishery_scenario,
)
from rewardlab.envs.commons.ostrom import group_optimum_total, symmetric_nash


def ostrom() -> None:
    sim = rewardlab.make_sim("rewardlab/CommonsOstrom-v0", num_envs=8)
    p = sim.params
    print(
        f"Ostrom CPR: symmetric Nash {symmetric_nash(p)} tokens each, "
        f"group optimum {group_optimum_total(p)} in total"
    )
    for name in ("best response", "efficient"):
        obs = sim.reset(seed=0)
        for _ in range(p.horizon):
            actions = ostrom_best_response(obs, p) if name == "best response" else ostrom_efficient(8, p)
            step = sim.step(actions)
            obs = step.obs
        m = step.episode_metrics
        print(
            f"  {name:14s} last-round tokens {step.info['group_tokens'].mean():5.1f}  "
            f"mean tokens {m['group_tokens'].mean():5.1f}  efficiency {m['efficiency_pct'].mean():5.1f} %"
        )


def fishery() -> None:
    print("Fishery 2 x 2 grid (16 seeds each): survival time / efficiency vs MSY / cooperation %")
    institutions = ("none", "direct", "third_party", "both")
    print(f"  {'scenario':18s}" + "".join(f"{i:>22s}" for i in institutions))
    for name in FISHERY_SCENARIOS:
        cells = []
        for institution in institutions:
            m = run_fishery_scenario(name, institution, num_envs=16, seed=0)
            cells.append(
                f"{m['survival_time'].mean():6.0f} / {m['efficiency_msy'].mean():4.2f} / "
                f"{m['cooperation_pct'].mean():3.0f}"
            )
        print(f"  {name:18s}" + "".join(f"{c:>22s}" for c in cells))


def punishment() -> None:
    kinds = ["cooperator", "cooperator", "reciprocator", "reciprocator", "defector"]
    print(f"Punishment IPD, agents {kinds}: mean return per agent (random partners)")
    for institution in ("none", "direct", "third_party", "both"):
        sim = rewardlab.make_sim(
            "rewardlab/CommonsPunishment-v0", num_envs=16, institution=institution, partner_selection=False
        )
        obs = sim.reset(seed=0)
        total = np.zeros((16, 5))
        for _ in range(sim.params.horizon):
            step = sim.step(punishment_policy(obs, kinds))
            obs = step.obs
            total += step.reward
        m = step.episode_metrics
        print(
            f"  {institution:12s} returns {np.round(total.mean(axis=0)).astype(int)}  "
            f"cooperation {m['cooperation_pct'].mean():4.1f} %  punishment {m['punishment_pct'].mean():4.1f} %"
        )


def harvest(frame_path: str | None) -> None:
    env = rewardlab.parallel_env(
        "rewardlab/CommonsHarvest-v0", reward="inequity_averse", horizon=300, render_mode="rgb_array"
    )
    observations, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    while env.agents:
        actions = {agent: int(rng.integers(8)) for agent in env.agents}
        observations, rewards, terminations, truncations, infos = env.step(actions)
    metrics = infos["player_0"]["episode_metrics"]
    print("Harvest, 7 random players, 300 steps, inequity-averse reward:")
    print("  " + "  ".join(f"{k} {metrics[k]:.3f}" for k in ("efficiency", "equality", "sustainability", "peace")))
    if frame_path:
        import imageio.v3 as iio

        iio.imwrite(frame_path, env.render())
        print(f"  frame saved to {frame_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frame", help="save a Harvest rgb_array frame to this PNG path")
    args = parser.parse_args()
    ostrom()
    fishery()
    punishment()
    harvest(args.frame)


if __name__ == "__main__":
    main()
