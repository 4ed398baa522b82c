"""One reproducible random stream per simulator instance, drawn for all instances at once.

A batched simulator must give instance ``i`` of a B-wide batch seeded with ``s`` exactly the
trajectory that a single environment seeded with ``s + i`` gives (Gymnasium's convention for
vector environments). A NumPy ``Generator`` per instance would need a Python loop per draw, so
each instance instead owns a SplitMix64 stream: a 64-bit key and a counter. Output ``k`` of a
stream is ``mix(key + k * golden)``, which is computed for every instance with array arithmetic.
Every instance advances its own counter by exactly what it drew, so streams never interleave.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_SEED_SALT = np.uint64(0x5851F42D4C957F2D)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on uint64 with good avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


def fresh_entropy() -> int:
    """A random 63-bit seed from the operating system, for ``reset(seed=None)`` on first use."""
    return int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)


class BatchedRNG:
    """Independent SplitMix64 streams, one per instance.

    Every draw method takes ``rows``: the instances that draw (all by default). The result has
    shape ``(len(rows), *shape)`` and only those instances' counters advance.
    """

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.keys = np.zeros(num_envs, dtype=np.uint64)
        self.counters = np.zeros(num_envs, dtype=np.uint64)

    def seed(self, seeds: np.ndarray | int, rows: np.ndarray | None = None) -> None:
        """Key the streams of ``rows`` (all instances by default) from integer seeds."""
        rows = self._rows(rows)
        seeds = np.asarray(seeds)
        if seeds.dtype != np.uint64:  # int64 seeds as their two's complement, as before
            seeds = seeds.astype(np.int64).astype(np.uint64)
        seeds = np.broadcast_to(seeds, rows.shape)
        with np.errstate(over="ignore"):
            self.keys[rows] = _mix(seeds + _SEED_SALT)
        self.counters[rows] = 0

    def bits(self, shape: tuple[int, ...] = (), rows: np.ndarray | None = None) -> np.ndarray:
        """Raw uint64 draws of shape ``(len(rows), *shape)``."""
        rows = self._rows(rows)
        count = int(np.prod(shape, dtype=np.int64))
        offsets = np.arange(count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            state = self.keys[rows, None] + (self.counters[rows, None] + offsets) * _GOLDEN
            out = _mix(state)
        self.counters[rows] += np.uint64(count)
        return out.reshape((len(rows), *shape))

    def uniform(
        self,
        shape: tuple[int, ...] = (),
        rows: np.ndarray | None = None,
        low: float | np.ndarray = 0.0,
        high: float | np.ndarray = 1.0,
    ) -> np.ndarray:
        """Uniform floats in ``[low, high)``, 53 bits of precision."""
        unit = (self.bits(shape, rows) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
        return low + (high - low) * unit

    def normal(
        self,
        shape: tuple[int, ...] = (),
        rows: np.ndarray | None = None,
        mean: float | np.ndarray = 0.0,
        std: float | np.ndarray = 1.0,
    ) -> np.ndarray:
        """Gaussian draws by the Box-Muller transform (two uniforms per draw)."""
        u = self.uniform((2, *shape), rows)
        radius = np.sqrt(-2.0 * np.log1p(-u[:, 0]))  # 1 - u lies in (0, 1]: the log is finite
        return mean + std * radius * np.cos(2.0 * np.pi * u[:, 1])

    def integers(
        self, high: int | np.ndarray, shape: tuple[int, ...] = (), rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Integers in ``[0, high)``."""
        return np.floor(self.uniform(shape, rows) * high).astype(np.int64)

    def bernoulli(
        self, p: float | np.ndarray, shape: tuple[int, ...] = (), rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Booleans that are True with probability ``p``."""
        return self.uniform(shape, rows) < p

    def permutation(self, n: int, rows: np.ndarray | None = None) -> np.ndarray:
        """A random permutation of ``range(n)`` per instance, shape ``(len(rows), n)``."""
        return np.argsort(self.uniform((n,), rows), axis=1, kind="stable")

    def _rows(self, rows: np.ndarray | None) -> np.ndarray:
        if rows is None:
            return np.arange(self.num_envs)
        rows = np.asarray(rows)
        if rows.dtype == bool:
            return np.flatnonzero(rows)
        return rows
