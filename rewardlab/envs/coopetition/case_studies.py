"""Validation of the four calibrated case studies against a documented rubric.

Each case scores out of 60: six criteria of 10 points, each a qualitative pattern from the
documented history of the relationship that the environment must reproduce, computed here from
the environment itself (its one-shot games solved by the oracles, and short simulated
trajectories). The rubric and the historical basis of every criterion are in
docs/case_studies.md; ``rewardlab validate [CASE]`` prints the table.

A criterion scores its full points when the pattern holds, a fraction where it is graded (e.g.
the share of phases in which it holds), and 0 otherwise; ``detail`` shows the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rewardlab.core.errors import RewardlabError, choices
from rewardlab.core.registry import make_sim
from rewardlab.envs.coopetition import APACHE_LIFECYCLE, APPLE_ERAS, RENAULT_NISSAN_LIFECYCLE
from rewardlab.envs.coopetition.equilibrium import nash_equilibrium, social_optimum, team_nash_effort


@dataclass
class Criterion:
    """One rubric line: what is checked, the points it can earn, what it earned and why."""

    case: str
    key: str
    description: str
    points: float
    score: float
    detail: str


def _criterion(case: str, key: str, description: str, fraction: float, detail: str, points: float = 10.0) -> Criterion:
    fraction = float(np.clip(fraction, 0.0, 1.0))
    return Criterion(case, key, description, points, round(points * fraction, 2), detail)


def _solve(sim, phase: int, mode: str):
    return nash_equilibrium(sim.stage_game(phase), mode, presets=type(sim).reward_presets)


def _phase_equilibria(sim, case: str, key: str, phases_are: str):
    """The private and integrated Nash of every phase, and the criterion that they converged."""
    phases = range(sim.params.num_phases)
    priv = [_solve(sim, k, "private") for k in phases]
    integ = [_solve(sim, k, "integrated") for k in phases]
    conv = [s.converged for s in priv + integ]
    converged = _criterion(case, key, f"best-response dynamics converge in all four {phases_are} (private, integrated)",
                           np.mean(conv), f"{sum(conv)}/{len(conv)} converged")
    return priv, integ, converged


def _welfare_gain(priv, integ) -> np.ndarray:
    """Per phase: welfare per round at the integrated equilibrium minus at the private one."""
    return np.array([i.welfare - q.welfare for q, i in zip(priv, integ, strict=True)])


#: the Apache rubric scores rewardlab's 60-round lifecycle over a pool of 40 contributors
APACHE_40 = dict(num_agents=40, agent_names=tuple(f"contributor_{i}" for i in range(40)))


# --------------------------------------------------------------------------- Samsung-Sony S-LCD
def slcd(**overrides) -> list[Criterion]:
    env_id, case = "rewardlab/CoopSLCD-v0", "SLCD"
    sim = make_sim(env_id, **overrides)
    game = sim.stage_game(0)
    modes = ("private", "integrated", "trust_integrated")
    sols = {m: _solve(sim, 0, m) for m in modes}
    out = []
    conv = [sols[m].converged for m in modes]
    out.append(_criterion(case, "S1", "best-response dynamics converge (private, integrated, trust-integrated)",
                          np.mean(conv), f"converged: {dict(zip(modes, conv, strict=True))}"))
    priv, integ = sols["private"].actions, sols["integrated"].actions
    up = integ > priv
    out.append(_criterion(case, "S2", "interdependence raises both partners' investment (integrated > private)",
                          up.mean(), f"private {np.round(priv, 2)}, integrated {np.round(integ, 2)}"))
    uplift = integ / priv
    out.append(_criterion(case, "S3", "Sony, the more dependent partner (D=.86), raises its investment more",
                          float(uplift[1] > uplift[0]), f"uplift samsung {uplift[0]:.3f}, sony {uplift[1]:.3f}"))
    optimum = social_optimum(game)
    closed = (sols["integrated"].welfare - sols["private"].welfare) / (optimum.welfare - sols["private"].welfare)
    out.append(_criterion(case, "S4", "the joint venture creates value: integrated play closes >= 50 % of the "
                          "welfare gap to the optimum", closed / 0.5, f"gap closed {100 * closed:.1f} %"))
    share = sols["integrated"].payoffs[0] / sols["integrated"].payoffs.sum()
    out.append(_criterion(case, "S5", "Samsung (50 % + 1 share) takes 50-60 % of the joint payoff",
                          float(0.5 <= share <= 0.6), f"samsung share {100 * share:.1f} %"))
    # trust: 60 rounds at the integrated equilibrium, then Sony exits (invests 0)
    sim.reset(seed=0)
    trust_path = []
    for t in range(70):
        a = integ.copy() if t < 60 else np.array([integ[0], 0.0])
        sim.step(a[None, :, None])
        trust_path.append(sim.trust[0, 0, 1])
    built, collapsed = trust_path[59] >= 0.8, trust_path[69] < 0.1
    out.append(_criterion(case, "S6", "trust builds under cooperation (>= .8 after 60 rounds) and collapses "
                          "(< .1 within 10 rounds) when Sony exits", 0.5 * built + 0.5 * collapsed,
                          f"T(samsung->sony) {trust_path[59]:.2f} at round 60, {trust_path[69]:.3f} at 70"))
    return out


# --------------------------------------------------------------------------- Renault-Nissan
def renault_nissan(**overrides) -> list[Criterion]:
    env_id, case = "rewardlab/CoopRenaultNissan-v0", "RenaultNissan"
    sim = make_sim(env_id, **{**RENAULT_NISSAN_LIFECYCLE, **overrides})
    priv, integ, converged = _phase_equilibria(sim, case, "R1", "phases")
    out = [converged]
    up = np.array([i.actions > p.actions for p, i in zip(priv, integ, strict=True)])
    out.append(_criterion(case, "R2", "the alliance raises both partners' investment in every phase",
                          up.mean(), f"{int(up.sum())}/{up.size} partner-phases"))
    nissan = np.array([s.actions[0] for s in integ])
    out.append(_criterion(case, "R3", "Nissan's commitment declines from formation to the strained phase",
                          float(np.all(np.diff(nissan) < 0)), f"nissan {np.round(nissan, 2)}"))
    renault = np.array([s.actions[1] for s in integ])
    spread_pct = 100 * (renault.max() - renault.min()) / renault.mean()
    out.append(_criterion(case, "R4", "Renault's commitment stays steady (spread < 5 % across phases)",
                          float(spread_pct < 5.0), f"renault {np.round(renault, 2)}, spread {spread_pct:.1f} %"))
    gain = _welfare_gain(priv, integ)
    out.append(_criterion(case, "R5", "the alliance creates value in every phase (integrated welfare > private)",
                          (gain > 0).mean(), f"welfare gain per round {np.round(gain, 3)}"))
    last = integ[-1].actions / sim.bounds
    out.append(_criterion(case, "R6", "in the strained phase Nissan invests less than Renault (per unit of bound)",
                          float(last[0] < last[1]), f"nissan {last[0]:.3f}, renault {last[1]:.3f}"))
    return out


# --------------------------------------------------------------------------- Apache HTTP Server
def apache(**overrides) -> list[Criterion]:
    env_id, case = "rewardlab/CoopApacheProject-v0", "ApacheProject"
    sim = make_sim(env_id, **{**APACHE_40, **APACHE_LIFECYCLE, **overrides})
    p = sim.params
    phases = range(p.num_phases)
    priv = [_solve(sim, k, "private") for k in phases]
    loyal = [_solve(sim, k, "loyal") for k in phases]
    integ = [_solve(sim, k, "integrated") for k in phases]
    members = np.array(p.active_phases)
    out = []
    closed = np.array([team_nash_effort(p.omega, p.beta, p.cost, m, p.bounds[0]) * m for m in members])
    numeric = np.array([s.actions.sum() for s in priv])
    match = np.isclose(numeric, closed, rtol=1e-4, atol=1e-6)
    out.append(_criterion(case, "A1", "best response reproduces the closed-form Nash effort in every phase",
                          match.mean(), f"numeric {np.round(numeric, 4)} vs closed form {np.round(closed, 4)}"))
    per_member = numeric / members
    order = np.argsort(members)
    out.append(_criterion(case, "A2", "free-riding: private effort per contributor falls as the community grows",
                          float(np.all(np.diff(per_member[order]) < 0)),
                          f"per contributor {np.round(per_member, 4)} for {members.tolist()} contributors"))
    loyal_effort = np.array([s.actions.sum() for s in loyal])
    out.append(_criterion(case, "A3", "loyalty sustains contribution: loyal-utility effort > private in every phase",
                          (loyal_effort > numeric).mean(), f"loyal {np.round(loyal_effort, 3)}"))
    gain = _welfare_gain(priv, integ)
    out.append(_criterion(case, "A4", "community interdependence creates value in every phase (integrated > private)",
                          (gain > 0).mean(), f"welfare gain per round {np.round(gain, 1)}"))
    founding = integ[0].welfare / social_optimum(sim.stage_game(0)).welfare
    out.append(_criterion(case, "A5", "the founding group (8) reaches >= 90 % of the optimal welfare",
                          float(founding >= 0.9), f"{100 * founding:.1f} % of the optimum"))
    effort = np.array([s.actions.sum() for s in integ])
    resilience = effort[3] / effort[2]
    out.append(_criterion(case, "A6", "resilience: total effort after the peak (35 left of 40) stays within 10 %",
                          float(abs(resilience - 1.0) <= 0.1),
                          f"total effort peak {effort[2]:.1f}, after {effort[3]:.1f}"))
    return out


# --------------------------------------------------------------------------- Apple App Store
def apple(**overrides) -> list[Criterion]:
    env_id, case = "rewardlab/CoopAppleAppStore-v0", "AppleAppStore"
    overrides = {**APPLE_ERAS, **overrides}
    sim = make_sim(env_id, **overrides)
    priv, integ, converged = _phase_equilibria(sim, case, "P1", "eras")
    out = [converged]
    uplift = np.array([i.actions / q.actions for q, i in zip(priv, integ, strict=True)])
    devs_more = (uplift[:, 1] > uplift[:, 0]) & (uplift[:, 2] > uplift[:, 0])
    out.append(_criterion(case, "P2", "developers depend on Apple more than Apple on them: their uplift is larger",
                          devs_more.mean(), f"uplift per era (apple, large, small) {np.round(uplift, 3).tolist()}"))
    gain = _welfare_gain(priv, integ)
    out.append(_criterion(case, "P3", "the ecosystem creates value in every era (integrated welfare > private)",
                          (gain > 0).mean(), f"welfare gain per round {np.round(gain, 3)}"))
    shares = []
    for k, s in enumerate(integ):
        synergy = sim.stage_game(k).terms(s.actions[None])["synergy_share"][0]
        shares.append(synergy / synergy.sum())
    shares = np.array(shares)
    out.append(_criterion(case, "P4", "Apple's share of the ecosystem surplus falls from launch to the regulation era",
                          float(shares[-1, 0] < shares[0, 0]), f"apple share {np.round(shares[:, 0], 3)}"))
    out.append(_criterion(case, "P5",
                          "the small business program raises small developers' share (regulation > maturity)",
                          float(shares[3, 2] > shares[2, 2]), f"small developers' share {np.round(shares[:, 2], 3)}"))
    # reciprocity: Apple halves its investment for 4 quarters after 8 quarters of equilibrium play
    rec = make_sim(env_id, reward="reciprocal", **overrides)
    rec.reset(seed=0)
    base = integ[0].actions
    signals = []
    for t in range(12):
        a = base.copy()
        if t >= 8:
            a[0] *= 0.5
        step = rec.step(a[None, :, None])
        signals.append(step.terms["reciprocity_signal"][0, 1:])
    shock = np.array(signals[8])
    out.append(_criterion(case, "P6",
                          "an Apple policy shock (investment halved) turns developers' reciprocity negative",
                          float(np.all(shock < 0)),
                          f"developers' reciprocity signal at the shock {np.round(shock, 3)}"))
    return out


CASES: dict[str, Callable[..., list[Criterion]]] = {
    "SLCD": slcd,
    "RenaultNissan": renault_nissan,
    "ApacheProject": apache,
    "AppleAppStore": apple,
}


def validate(case: str, **overrides) -> list[Criterion]:
    """Score one case study (a key of CASES) against its rubric; ``overrides`` change the
    environment's parameters (to see how a re-calibration scores)."""
    if case not in CASES:
        raise RewardlabError(f"unknown case study {case!r}; expected one of {choices(CASES)}")
    return CASES[case](**overrides)
