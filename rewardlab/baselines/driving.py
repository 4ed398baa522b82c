"""A heuristic ego driver for the driving family: pure pursuit on the route, IDM for speed.

It reads the simulator's own state (route, hazard distance, next stop line), so it acts for
every instance and ego at once::

    sim = rewardlab.make_sim("rewardlab/DrivingHighway-v0", num_envs=64)
    driver = RouteDriver(sim)
    sim.reset(seed=0)
    for _ in range(400):
        step = sim.step(driver.act(), autoreset=True)

Steering: pure pursuit toward the route point ``max(6 m, 0.8 s x v)`` ahead, converted to the
bicycle model's steering angle. Speed: IDM toward 95 % of the limit (lower where the route
curves, for at most 2.5 m/s^2 lateral acceleration), behind the first vehicle on the route and
before a stop line whose signal is red, or yellow when it can still stop comfortably. The
acceleration command changes by at most 0.4 m/s^2 per step (jerk <= 4 m/s^3) unless braking
hard. ``evaluate`` rolls it over seeds and returns the Driving Score figures in docs/driving.md;
``episode_returns`` the return of each episode under a reward preset, for this driver or any
other policy (``QUITTING``: policies that end their episodes early). The returns table of
docs/driving.md::

    python -m rewardlab.baselines.driving --episodes 32 --seed 100 --quitting
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rewardlab.envs.driving.control import pure_pursuit
from rewardlab.envs.driving.sim import MAX_ACCEL, MAX_BRAKE, DrivingSim
from rewardlab.envs.driving.traffic import IDMParams, idm_acceleration

LATERAL_COMFORT = 2.5  # m/s^2
JERK_STEP = 0.4  # m/s^2 per step


class RouteDriver:
    """IDM + pure-pursuit route follower for all instances and egos of a driving simulator."""

    def __init__(self, sim: DrivingSim, speed_fraction: float = 0.95, idm: IDMParams | None = None) -> None:
        self.sim = sim
        self.speed_fraction = speed_fraction
        self.idm = idm or IDMParams(a=2.0, b=3.0, time_gap=1.2, jam_distance=3.0)
        self.last_accel = np.zeros((sim.num_envs, sim.num_egos))

    def act(self) -> np.ndarray:
        sim = self.sim
        c = sim.cache
        b, e = sim.num_envs, sim.num_egos
        rows = np.arange(b)[:, None]
        eidx = np.arange(e)[None, :]
        v = sim.ego_speed
        routes = sim.routes
        q = routes["xy"].shape[2]
        steer = pure_pursuit(sim)
        # speed target: the limit, lower where the route ahead curves
        ahead = np.clip(sim.route_idx[..., None] + np.arange(0, 40, 4), 0, q - 1)
        h = routes["hdg"][rows[..., None], eidx[..., None], ahead]
        dh = np.abs(np.angle(np.exp(1j * np.diff(h, axis=2)))) / 4.0
        curv = dh.max(axis=2)
        limit = sim.layout.speed_limit[:, None]
        v_target = np.minimum(self.speed_fraction * limit, np.sqrt(LATERAL_COMFORT / np.maximum(curv, 1e-4)))
        gap = c["hazard_vehicle"]
        acc = idm_acceleration(v, v_target, np.where(gap < 60.0, gap, np.inf), v - c["hazard_speed"], self.idm)
        stop_gap = c["stop_dist"]
        state = c["light_state"]
        must_stop = c["has_stop"] & ((state == 2) | ((state == 1) & (stop_gap > v * v / (2.0 * self.idm.b))))
        a_stop = idm_acceleration(v, v_target, np.maximum(stop_gap - 1.0, 0.1) + self.idm.jam_distance, v, self.idm)
        acc = np.where(must_stop, np.minimum(acc, a_stop), acc)
        # IDM approaches a standstill only asymptotically: hold the brake once nearly stopped
        hold = (must_stop & (stop_gap < 3.0) & (v < 1.0)) | ((gap < 4.0) & (v < 1.0))
        acc = np.where(hold, -MAX_BRAKE, acc)
        # smooth unless braking hard
        smooth = np.clip(acc, self.last_accel - JERK_STEP, self.last_accel + JERK_STEP)
        acc = np.where(acc < -3.0, acc, smooth)
        self.last_accel = acc
        cmd = np.where(acc >= 0.0, acc / MAX_ACCEL, acc / MAX_BRAKE)
        return np.stack([steer, np.clip(cmd, -1.0, 1.0)], axis=-1)

    def reset_rows(self, rows: np.ndarray) -> None:
        self.last_accel[rows] = 0.0


def evaluate(env_id: str, episodes: int = 32, seed: int = 0, **kwargs) -> dict[str, float]:
    """Mean episode metrics of the route driver over ``episodes`` instances (one episode each)."""
    import rewardlab

    sim = rewardlab.make_sim(env_id, num_envs=episodes, **kwargs)
    driver = RouteDriver(sim)
    sim.reset(seed=seed)
    done = np.zeros(episodes, dtype=bool)
    metrics: dict[str, np.ndarray] = {}
    while not done.all():
        step = sim.step(driver.act())
        if step.episode_metrics is not None:
            new = step.done & ~done
            for k, values in step.episode_metrics.items():
                metrics.setdefault(k, np.full(episodes, np.nan))[new] = values[new]
            done |= step.done
            # finished instances keep stepping (their results are recorded); freeze them in place
            sim.ego_active[done] = False
    return {k: float(np.nanmean(v)) for k, v in metrics.items()}


def episode_returns(env_id: str, reward="roach", episodes: int = 32, seed: int = 0,
                    policy: Callable[[DrivingSim], np.ndarray] | None = None, **kwargs) -> np.ndarray:
    """The return of one episode per instance, (episodes,) (the mean over egos), under ``reward``.

    ``policy`` maps the simulator to its actions (B, E, 2); by default the route driver. The
    episode ends as the reward preset says (its ``terminate_on`` events, the time limit, routes
    finished); a finished instance is frozen (its egos inactive) until every one has finished.
    """
    import rewardlab

    sim = rewardlab.make_sim(env_id, num_envs=episodes, reward=reward, **kwargs)
    if policy is None:
        driver = RouteDriver(sim)

        def policy(_sim: DrivingSim) -> np.ndarray:
            return driver.act()
    sim.reset(seed=seed)
    done = np.zeros(episodes, dtype=bool)
    returns = np.full(episodes, np.nan)
    while not done.all():
        step = sim.step(policy(sim))
        if step.episode_returns is not None:
            new = step.done & ~done
            returns[new] = step.episode_returns[new].mean(axis=1)
            done |= step.done
            sim.ego_active[done] = False
    return returns


# Policies that quit their episode, for comparison with the driver: each ends it early or earns
# little (standing still until ``blocked``, leaving the route, racing into traffic).
def brake(sim: DrivingSim) -> np.ndarray:
    """Full brake, wheel straight: stands still until ``blocked`` ends the episode."""
    actions = np.zeros((sim.num_envs, sim.num_egos, 2))
    actions[..., 1] = -1.0
    return actions


def off_route(sim: DrivingSim) -> np.ndarray:
    """Full left lock at a light throttle: leaves the route within seconds."""
    actions = np.zeros((sim.num_envs, sim.num_egos, 2))
    actions[..., 0], actions[..., 1] = 1.0, 0.2
    return actions


def full_throttle(sim: DrivingSim) -> np.ndarray:
    """Pure pursuit on the route at full throttle, blind to traffic and signals."""
    return np.stack([pure_pursuit(sim), np.ones((sim.num_envs, sim.num_egos))], axis=-1)


QUITTING = {"brake": brake, "off_route": off_route, "full_throttle": full_throttle}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Mean episode return of the route driver (and of policies "
                                                 "that quit) per scenario and reward preset")
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--rewards", nargs="+", default=["carl", "roach"])
    parser.add_argument("--quitting", action="store_true", help="also the policies of QUITTING")
    args = parser.parse_args()
    scenarios = ("DrivingHighway-v0", "DrivingIntersection-v0", "DrivingTown-v0", "DrivingMultiEgo-v0")
    policies = {"route driver": None, **(QUITTING if args.quitting else {})}
    columns = [(p, r) for r in args.rewards for p in policies]
    print("| scenario | " + " | ".join(f"{r}: {p}" for p, r in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name in scenarios:
        means = [episode_returns(f"rewardlab/{name}", r, args.episodes, args.seed, policies[p]).mean()
                 for p, r in columns]
        print(f"| {name} | " + " | ".join(f"{m:.2f}" for m in means) + " |")


if __name__ == "__main__":
    main()
