"""Smoothness metrics of an action sequence: CAPS's Sm, action rate, high-frequency energy share.

For an action sequence a (N steps x d dimensions) sampled at f_s (the control rate):

* ``smoothness_sm`` (Mysore et al. 2021, CAPS): per dimension, M_i = (2/N) |FFT(a)_i| for
  i < N/2 at frequencies f_i = linspace(0, f_s/2, N/2); Sm = mean_i M_i f_i / (f_s/2), then the
  mean over dimensions. Lower is smoother; a constant scores 0.
* ``action_rate``: mean over steps of ||a_t - a_{t-1}||^2 (the first step has no predecessor).
* ``high_freq_energy``: share of the spectral energy of the mean-removed sequence at
  frequencies above ``cutoff`` Hz: sum_{f_k > cutoff} |A_k|^2 / sum_{k >= 1} |A_k|^2 over the
  one-sided spectrum (``numpy.fft.rfft``, f_k = k f_s / N), pooled over dimensions; 0 for a
  constant sequence. The locomotion environments use cutoff = 5 Hz at f_s = 50 Hz.
"""

from __future__ import annotations

import numpy as np


def smoothness_sm(actions: np.ndarray, sample_rate: float) -> float:
    """CAPS's Sm of ``actions`` (N,) or (N, d) sampled at ``sample_rate`` Hz."""
    a = np.asarray(actions, dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    n = a.shape[0]
    half = n // 2
    if half < 1:
        return 0.0
    magnitude = (2.0 / n) * np.abs(np.fft.fft(a, axis=0))[:half]
    freqs = np.linspace(0.0, sample_rate / 2.0, half)
    return float(np.mean(magnitude * (freqs / (sample_rate / 2.0))[:, None]))


def action_rate(actions: np.ndarray) -> float:
    """Mean over steps of ||a_t - a_{t-1}||^2; 0 for fewer than two steps."""
    a = np.asarray(actions, dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    if len(a) < 2:
        return 0.0
    return float(np.mean(np.sum(np.diff(a, axis=0) ** 2, axis=1)))


def high_freq_energy(actions: np.ndarray, sample_rate: float, cutoff: float) -> float:
    """Share of the (mean-removed) action spectral energy above ``cutoff`` Hz, in [0, 1]."""
    a = np.asarray(actions, dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    if len(a) < 2:
        return 0.0
    power = np.abs(np.fft.rfft(a - a.mean(axis=0), axis=0)) ** 2
    freqs = np.fft.rfftfreq(len(a), d=1.0 / sample_rate)
    total = power[1:].sum()
    if total <= 0.0:
        return 0.0
    return float(power[freqs > cutoff].sum() / total)
