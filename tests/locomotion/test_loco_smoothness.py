"""Smoothness metrics and terms: Sm against a hand-written DFT, action rate, spectral share."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rewardlab.core.registry import make_sim
from rewardlab.envs.locomotion.smoothness import action_rate, high_freq_energy, smoothness_sm

FS = 50.0


def _sm_by_hand(signal, fs):
    """CAPS's Sm with an explicit O(N^2) DFT sum, one dimension."""
    n = len(signal)
    half = n // 2
    freqs = [i * (fs / 2) / (half - 1) for i in range(half)]  # linspace(0, fs/2, N/2)
    total = 0.0
    for i in range(half):
        re = sum(signal[k] * math.cos(2 * math.pi * i * k / n) for k in range(n))
        im = -sum(signal[k] * math.sin(2 * math.pi * i * k / n) for k in range(n))
        total += (2.0 / n) * math.hypot(re, im) * freqs[i] / (fs / 2)
    return total / half


def _sine(freq, n=200, amplitude=1.0, phase=0.0):
    t = np.arange(n) / FS
    return amplitude * np.sin(2 * np.pi * freq * t + phase)


@pytest.mark.parametrize("freq", [1.0, 3.0, 12.5])
def test_sm_matches_a_hand_computed_dft(freq):
    rng = np.random.default_rng(int(freq * 10))
    signal = _sine(freq, n=120) + 0.1 * rng.normal(size=120)
    assert smoothness_sm(signal, FS) == pytest.approx(_sm_by_hand(list(signal), FS), rel=1e-10)


def test_sm_of_multiple_dimensions_is_their_mean():
    a = np.stack([_sine(2.0), _sine(8.0), 0.5 * _sine(20.0)], axis=1)
    per_dim = [smoothness_sm(a[:, j], FS) for j in range(3)]
    assert smoothness_sm(a, FS) == pytest.approx(np.mean(per_dim), rel=1e-12)


def test_higher_frequency_ranks_less_smooth():
    slow, fast, faster = (smoothness_sm(_sine(f), FS) for f in (1.0, 6.0, 20.0))
    assert slow < fast < faster
    assert smoothness_sm(np.full(200, 0.7), FS) == pytest.approx(0.0, abs=1e-15)
    # a pure sine's Sm ~ (amplitude) x f / (fs/2) / (N/2), its single spectral line
    n = 200
    expected = 1.0 * (10.0 / (FS / 2)) * (n / 2) / (n / 2 - 1) / (n / 2)
    assert smoothness_sm(_sine(10.0, n=n), FS) == pytest.approx(expected, rel=1e-2)


def test_action_rate_formula():
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, size=(30, 12))
    expected = sum(np.sum((a[t] - a[t - 1]) ** 2) for t in range(1, 30)) / 29
    assert action_rate(a) == pytest.approx(expected, rel=1e-12)
    assert action_rate(a[:1]) == 0.0


def test_high_frequency_energy_share():
    assert high_freq_energy(_sine(10.0), FS, cutoff=5.0) == pytest.approx(1.0, abs=1e-9)
    assert high_freq_energy(_sine(2.0), FS, cutoff=5.0) == pytest.approx(0.0, abs=1e-9)
    mix = _sine(2.0) + _sine(10.0)  # equal amplitudes: half the energy above the cut-off
    assert high_freq_energy(mix, FS, cutoff=5.0) == pytest.approx(0.5, abs=1e-9)
    assert high_freq_energy(np.full(50, 3.0), FS, cutoff=5.0) == 0.0


def test_env_action_terms_equal_the_formulas():
    sim = make_sim("rewardlab/LocoImitation-v0", num_envs=2, reward="imitation+action_rate")
    obs = sim.reset(seed=3)
    rng = np.random.default_rng(0)
    # the action that holds the initial pose is in the observation (previous-action block)
    prev2 = prev = sim.actions_prev.copy()
    np.testing.assert_allclose(obs[:, 0, 34:46], prev, atol=1e-6)
    assert np.abs(prev).max() > 0  # not trivially zero: the start pose differs from standing
    for _ in range(20):
        a = rng.uniform(-1, 1, size=(2, 1, 12))
        step = sim.step(a)
        now = a[:, 0]
        np.testing.assert_allclose(step.terms["action_rate"][:, 0], np.sum((now - prev) ** 2, axis=1), rtol=1e-12)
        np.testing.assert_allclose(
            step.terms["action_acc"][:, 0], np.sum((now - 2 * prev + prev2) ** 2, axis=1), rtol=1e-12
        )
        imitation = sum(w * step.terms[k][:, 0] for k, w in
                        {"pose": 0.5, "joint_velocity": 0.05, "end_effector": 0.2, "root_pose": 0.15,
                         "root_velocity": 0.1}.items())
        np.testing.assert_allclose(step.reward[:, 0], imitation - 0.01 * step.terms["action_rate"][:, 0], rtol=1e-12)
        prev2, prev = prev, now
        if step.done.any():
            break


def test_episode_metrics_report_the_smoothness_of_the_played_actions():
    steps = 100
    sim = make_sim("rewardlab/LocoJoystick-v0", num_envs=1, episode_seconds=steps * 0.02)
    sim.reset(seed=0)
    t = np.arange(steps) * 0.02
    actions = 0.2 * np.sin(2 * np.pi * 12.0 * t)[:, None] * np.ones(12)  # a 12 Hz wobble
    for k in range(steps):
        step = sim.step(actions[k][None, None, :])
        if step.done[0]:
            break
    assert step.truncated[0] and not step.terminated[0]
    m = {k: v[0] for k, v in step.episode_metrics.items()}
    assert m["smoothness_sm"] == pytest.approx(smoothness_sm(actions, 50.0), rel=1e-12)
    assert m["action_rate"] == pytest.approx(action_rate(actions), rel=1e-12)
    assert m["high_freq_energy"] == pytest.approx(high_freq_energy(actions, 50.0, 5.0), rel=1e-12)
    assert m["high_freq_energy"] > 0.95
    assert m["mean_torque"] > 0 and m["mechanical_power"] > 0
    for name in ("tracking_return", "smoothness_sm", "action_rate", "high_freq_energy", "mean_torque",
                 "mechanical_power", "distance", "return", "length"):
        assert np.isfinite(m[name])
