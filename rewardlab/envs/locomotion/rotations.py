"""Batched rotations written with elementwise operations only.

A matrix product or a reduction over a short axis may use kernels that round differently with
the batch size; these helpers perform the same operations whatever the batch, so that a batch of
instances equals the same instances stepped one by one, bit for bit.
"""

from __future__ import annotations

import numpy as np


def rotation_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gather indices, signs and scales that turn the 16 products q_i q_j into R row by row.

    Entry e of R = scale_e * sum_k sign_ek (q q^T)[index_ek], summed left to right: for
    q = (w, x, y, z), R_00 = ((ww + xx) - yy) - zz and R_01 = 2 (xy - wz) (two zero terms pad the
    off-diagonal entries). a scalar version performs the same operations on Python floats.
    """
    w, x, y, z = range(4)

    def pair(i: int, j: int) -> int:
        return 4 * i + j

    ww, xx, yy, zz = pair(w, w), pair(x, x), pair(y, y), pair(z, z)
    xy, xz, yz, wx, wy, wz = pair(x, y), pair(x, z), pair(y, z), pair(w, x), pair(w, y), pair(w, z)
    rows = [  # (index, sign) x 4 and the scale of each entry
        ([(ww, 1), (xx, 1), (yy, -1), (zz, -1)], 1), ([(xy, 1), (wz, -1)], 2), ([(xz, 1), (wy, 1)], 2),
        ([(xy, 1), (wz, 1)], 2), ([(ww, 1), (xx, -1), (yy, 1), (zz, -1)], 1), ([(yz, 1), (wx, -1)], 2),
        ([(xz, 1), (wy, -1)], 2), ([(yz, 1), (wx, 1)], 2), ([(ww, 1), (xx, -1), (yy, -1), (zz, 1)], 1),
    ]
    index = np.zeros((9, 4), dtype=np.int64)
    sign = np.zeros((9, 4))
    for e, (terms, _) in enumerate(rows):
        for k, (i, sgn) in enumerate(terms):
            index[e, k], sign[e, k] = i, sgn
    return index, sign, np.array([scale for _, scale in rows], dtype=np.float64)


_ROT_INDEX, _ROT_SIGN, _ROT_SCALE = rotation_table()
_ROT_INDEX_T, _ROT_SIGN_T = np.ascontiguousarray(_ROT_INDEX.T), np.ascontiguousarray(_ROT_SIGN.T)


def rotation(quat: np.ndarray) -> np.ndarray:
    """Rotation matrices (B, 3, 3) of unit quaternions (B, 4), (w, x, y, z), by elementwise
    operations only (no matrix product, whose kernel may fuse multiply-adds and round
    differently with the batch size). Equal to ``quat_to_matrix`` to 1e-15."""
    outer = (quat[:, :, None] * quat[:, None, :]).reshape(len(quat), 16)
    terms = outer[:, _ROT_INDEX_T] * _ROT_SIGN_T  # (B, 4, 9): the k-th term of every entry
    total = ((terms[:, 0] + terms[:, 1]) + terms[:, 2]) + terms[:, 3]
    return (total * _ROT_SCALE).reshape(len(quat), 3, 3)


def rotate(rot: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """R v for rotations (B, 3, 3) and vectors (B, ..., 3): each entry (R_i0 v_0 + R_i1 v_1) + R_i2 v_2.

    One product and two additions (no matrix product, no reduction over a short axis): the same
    operations for any batch size, and fast for small batches.
    """
    products = rot.reshape(len(rot), *(1,) * (vec.ndim - 2), 3, 3) * vec[..., None, :]  # R_ij v_j
    return (products[..., 0] + products[..., 1]) + products[..., 2]


_NEXT, _AFTER_NEXT = np.array([1, 2, 0]), np.array([2, 0, 1])


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b over the last axis (broadcast), elementwise: (a_{i+1} b_{i+2} - a_{i+2} b_{i+1})_i
    (``np.cross`` costs more at small B)."""
    return a[..., _NEXT] * b[..., _AFTER_NEXT] - a[..., _AFTER_NEXT] * b[..., _NEXT]


def rotate_back(rot: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """R^T v (a world vector in the body frame), (B, 3): each entry (R_0j v_0 + R_1j v_1) + R_2j v_2."""
    products = rot * vec[:, :, None]  # R_ij v_i
    return (products[:, 0] + products[:, 1]) + products[:, 2]
