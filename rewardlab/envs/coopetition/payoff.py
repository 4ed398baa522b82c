"""Closed-form payoff and dynamics pieces shared by the coopetition games.

Every function is pure NumPy and broadcasts over any leading axes, so that the simulators (B
instances, n agents) and the oracles in ``rewardlab.baselines.coopetition`` (grids of joint
actions) evaluate the very same formulas. The last axis is always the agent axis.

=========================  =====================================================================
TR-1 individual value      f(a) = theta * ln(1 + a)   or   f(a) = a ** beta
TR-1 synergy               g(a) = (prod_i a_i) ** (1/N)  (0 if any a_i = 0); surplus S = gamma * g
TR-1 private payoff        pi_i = (e_i - a_i) + f(a_i) + alpha_i * S
TR-2 trust signal          s_j = tanh(kappa * (a_j - b_j) / e_j)   (or raw units: signal_units)
TR-2 trust update          s > 0: dT = lambda+ * s * max(0, (1 - R) - T);  s < 0: dT = lambda- * s * T * (1 + xi D)
TR-2 reputation            s < 0: dR = mu_R * |s| * (1 - R);  else dR = -delta_R * R;  T clipped to [0, 1 - R_old]
TR-3 team output           Q = omega * (sum a) ** beta;  pi_i = e - c a_i + Q / n
TR-4 reciprocity           phi_j = tanh(kappa * (a_j - mean of j's last k) / e_j), rho_ij = rho0 * D_ij ** eta
=========================  =====================================================================
"""

from __future__ import annotations

import numpy as np

_SMALLEST_NORMAL = np.finfo(np.float64).tiny
_LARGEST = np.finfo(np.float64).max


def individual_value(a: np.ndarray, theta: float, kind: str, beta: float) -> np.ndarray:
    """f(a): ``theta * ln(1 + a)`` (kind "log") or ``a ** beta`` (kind "power")."""
    if kind == "log":
        return theta * np.log1p(a)
    return np.power(a, beta)


def geometric_synergy(a: np.ndarray) -> np.ndarray:
    """g(a) = (prod_i a_i) ** (1/N) over the last axis; exactly 0 when any a_i is 0."""
    n = a.shape[-1]
    if n == 2:
        return np.sqrt(a[..., 0] * a[..., 1])
    if n <= 8:  # bounds <= 1e9: no overflow; a product that underflows means g < 1e-38
        return np.power(np.prod(a, axis=-1), 1.0 / n)
    # With many agents the product leaves float64's range (100 ** 155 overflows, 0.1 ** 400
    # underflows to 0): those rows are recomputed as exp(mean_i log a_i), which is exactly 0
    # when an a_i is 0 (inf * 0 = NaN in a product); the others keep the product's value.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        product = np.prod(a, axis=-1)
    synergy = np.power(product, 1.0 / n)
    outside = ~((product >= _SMALLEST_NORMAL) & (product <= _LARGEST))
    if outside.any():
        with np.errstate(divide="ignore"):
            in_logs = np.exp(np.mean(np.log(a), axis=-1))
        synergy = np.where(outside, in_logs, synergy)
    return synergy


def pair_partners_sorted(order: np.ndarray) -> np.ndarray:
    """Partner index of each agent when agents are paired by consecutive positions of ``order``.

    ``order`` (..., n) lists agents; positions (0, 1), (2, 3), ... are pairs. Returns (..., n)
    with ``partner[order[2k]] = order[2k+1]`` and vice versa (n must be even).
    """
    n = order.shape[-1]
    swap = np.arange(n) ^ 1  # position 2k <-> 2k+1
    partner = np.empty_like(order)
    np.put_along_axis(partner, order, order[..., swap], axis=-1)
    return partner


def pair_synergy(a: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """g_i = sqrt(a_i * a_partner(i)): each agent's pairwise synergy, (..., n)."""
    return np.sqrt(a * np.take_along_axis(a, partner, axis=-1))


def spread(values: np.ndarray, n: int) -> np.ndarray:
    """(...,) -> (..., n): each value repeated over a new last axis of n agents.

    Equivalent to ``values[..., None]`` broadcast, but materialised with ``np.repeat``, which is
    several times faster than NumPy's broadcasting when n is small and the batch is large.
    """
    values = np.asarray(values)
    return np.repeat(values.reshape(-1), n).reshape(*values.shape, n)


def agent_sum(x: np.ndarray) -> np.ndarray:
    """(..., n) -> (...,): the sum over the last (agent) axis, rounded the same in any batch.

    A matrix product with a vector of ones (BLAS) rounds a row's sum differently depending on
    how many rows share the product, so a batch of B instances would not reproduce B single
    environments bit for bit. Here each row is summed in a fixed order, whatever the leading
    axes: ``((x_0 + x_1) + x_2) + ...`` for up to 8 agents (column additions, fast for any
    batch), NumPy's pairwise sum of each contiguous row beyond.
    """
    if x.dtype != np.float64:
        x = x.astype(np.float64)
    n = x.shape[-1]
    if n > 8:
        return np.add.reduce(np.ascontiguousarray(x), axis=-1)
    if n == 1:
        return x[..., 0].copy()
    total = x[..., 0] + x[..., 1]
    for j in range(2, n):
        total += x[..., j]
    return total


def row_sums(m: np.ndarray) -> np.ndarray:
    """(B, n, n) -> (B, n), sum over j of m[b, i, j] (see :func:`agent_sum`)."""
    return agent_sum(m)


def batched_matvec(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(B, n, n) or (n, n), (B, n) -> (B, n): sum_j m[b, i, j] v[b, j]."""
    b, n = v.shape
    spread_v = np.take(v, np.tile(np.arange(n), n), axis=1).reshape(b, n, n)  # [b, i, j] = v[b, j]
    return agent_sum(m * spread_v)


def tr1_terms(
    a: np.ndarray,
    endowment: np.ndarray,
    theta: float,
    value_kind: str,
    value_beta: float,
    gamma: np.ndarray | float,
    alpha: np.ndarray,
    partner: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three TR-1 payoff terms (endowment kept, individual value, synergy share), (..., n).

    With ``partner`` the synergy is pairwise and each partner gets half of the pair's surplus.
    ``gamma`` is a number or has the leading axes of ``a`` (a per-instance hidden gamma).
    ``endowment`` and ``alpha`` broadcast against ``a`` (the simulators pass them pre-tiled).
    """
    n = a.shape[-1]
    kept = endowment - a
    value = individual_value(a, theta, value_kind, value_beta)
    if partner is None:
        surplus = np.multiply(gamma, geometric_synergy(a))
        share = alpha * spread(surplus, n)
    else:
        pair = pair_synergy(a, partner)
        share = 0.5 * (gamma * pair if np.ndim(gamma) == 0 else spread(gamma, n) * pair)
    return kept, value, share


def trust_signal(a: np.ndarray, baseline: np.ndarray, scale: np.ndarray | float, kappa: float) -> np.ndarray:
    """s_j = tanh(kappa * (a_j - b_j) / scale_j), (..., n).

    ``scale`` is the endowment e_j (the deviation measured in endowments, rewardlab's default)
    or 1 (raw action units, as the reference computes it).
    """
    return np.tanh(kappa * (a - baseline) / scale)


def trust_update(
    trust: np.ndarray,
    reputation: np.ndarray,
    signal: np.ndarray,
    amplification: np.ndarray,
    off_diagonal: np.ndarray,
    lambda_pos: float,
    lambda_neg: float,
    mu_r: float,
    delta_r: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One TR-2 step of trust T_ij and reputation damage R_ij (i's view of j), (..., n, n).

    ``signal[..., i, j]`` is s_j (every observer reads the same signal of j); ``amplification``
    is 1 + xi * D_ij. Every right-hand side is at time t, as in TR-2's equations: the gain
    lambda+ s (Theta^t - T^t) uses the ceiling Theta^t = 1 - R^t before this step's damage, and T
    is clipped to [0, Theta^t] (the reference's order; the utilities apply the current ceiling
    through T_eff = min(T, 1 - R)). The diagonal is zeroed by ``off_diagonal``. All arrays share one shape (the
    simulators pre-tile them; NumPy broadcasting over small trailing axes is slow).
    """
    # Branch-free: the positive and negative parts of s select the build and erosion rules
    # (boolean-masked selection is several times slower than this arithmetic in NumPy).
    positive = np.maximum(signal, 0.0)
    negative = np.minimum(signal, 0.0)
    room = 1.0 - reputation
    headroom = room - trust
    np.maximum(headroom, 0.0, out=headroom)
    change = positive * headroom
    change *= lambda_pos  # s > 0: build toward 1 - R
    loss = negative * trust
    loss *= amplification
    loss *= lambda_neg  # s < 0: erode, amplified by interdependence
    change += loss
    trust = trust + change
    damage = negative * room
    damage *= -mu_r  # s < 0: mu_R |s| (1 - R)
    new_reputation = reputation - delta_r * (reputation * (signal >= 0.0))  # s >= 0: decay
    new_reputation += damage
    new_reputation *= off_diagonal
    np.maximum(trust, 0.0, out=trust)
    np.minimum(trust, room, out=trust)
    trust *= off_diagonal
    return trust, new_reputation


def team_output(total_effort: np.ndarray, omega: float, beta: float, kind: str, multiplier: float) -> np.ndarray:
    """Q: ``omega * X ** beta`` (kind "power") or ``multiplier * X`` (kind "linear")."""
    if kind == "linear":
        return multiplier * total_effort
    return omega * np.power(total_effort, beta)


def reciprocity_weights(
    trust: np.ndarray, interdependence: np.ndarray, rho0: float, eta: float, omega: float
) -> np.ndarray:
    """w_ij = T_ij * (1 + omega * D_ij) * rho0 * D_ij ** eta (zero where D_ij = 0), (..., n, n)."""
    rho = rho0 * np.power(np.maximum(interdependence, 0.0), eta)
    return trust * (1.0 + omega * interdependence) * rho
