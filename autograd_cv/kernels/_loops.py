"""Tiny Numba loops over 1-D views that the kernel modules share (inlined where used)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, inline="always")
def copy(dst, src):  # pragma: no cover - compiled
    """dst[:] = src, as a zero-based loop that LLVM vectorises.

    Zero-based loops over 1-D views: Numba then drops its negative-index handling, and the
    copy measured 4x faster than indexing the whole array with offsets.
    """
    for k in range(dst.shape[0]):
        dst[k] = src[k]


@njit(cache=True, nogil=True, inline="always")
def copy_plus(dst, src, value):  # pragma: no cover - compiled
    """dst[:] = src + value, as `copy`; adds a bias while a result is copied out."""
    for k in range(dst.shape[0]):
        dst[k] = src[k] + value
