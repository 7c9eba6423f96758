"""Tiny Numba loops over 1-D views that the kernel modules share (inlined where used)."""

from __future__ import annotations

import numpy as np
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
def add(dst, src):  # pragma: no cover - compiled
    """dst[:] += src, as `copy`."""
    for k in range(dst.shape[0]):
        dst[k] += src[k]


@njit(cache=True, nogil=True, inline="always")
def copy_plus(dst, src, value):  # pragma: no cover - compiled
    """dst[:] = src + value, as `copy`; adds a bias while a result is copied out."""
    for k in range(dst.shape[0]):
        dst[k] = src[k] + value


# Runs at flat offsets, for rows too short to slice: a view per output row cost more than
# the copy itself (LeNet-5's c3 in the narrow layout: 12,000 runs of 10 values per 8
# samples, 168 us with two slices a run, 34 us this way). The offsets are made unsigned, so
# Numba drops its negative-index handling and LLVM vectorises the loops: callers pass
# offsets >= 0.


@njit(cache=True, nogil=True, inline="always")
def copy_run(dst, start, src, src_start, src_step, count):  # pragma: no cover - compiled
    """dst[start:start + count] = src[src_start::src_step][:count]."""
    d, s, step = np.uint64(start), np.uint64(src_start), np.uint64(src_step)
    if src_step == 1:  # a loop of its own: with a runtime step LLVM does not vectorise
        for k in range(np.uint64(count)):
            dst[d + k] = src[s + k]
    else:
        for k in range(np.uint64(count)):
            dst[d + k] = src[s + k * step]


@njit(cache=True, nogil=True, inline="always")
def add_run(dst, start, step, src, src_start, count):  # pragma: no cover - compiled
    """dst[start::step][:count] += src[src_start:src_start + count] (`copy_run`'s adjoint)."""
    d, s, stride = np.uint64(start), np.uint64(src_start), np.uint64(step)
    if step == 1:
        for k in range(np.uint64(count)):
            dst[d + k] += src[s + k]
    else:
        for k in range(np.uint64(count)):
            dst[d + k * stride] += src[s + k]


@njit(cache=True, nogil=True, inline="always")
def copy_rows(dst, start, src, src_start, src_pitch, rows, count):  # pragma: no cover - compiled
    """`rows` runs of `count` values, src's `src_pitch` apart, to dst back to back."""
    d, s, pitch, n = np.uint64(start), np.uint64(src_start), np.uint64(src_pitch), np.uint64(count)
    for _ in range(rows):
        for k in range(n):
            dst[d + k] = src[s + k]
        d += n
        s += pitch


@njit(cache=True, nogil=True, inline="always")
def add_rows(dst, start, pitch, src, src_start, rows, count):  # pragma: no cover - compiled
    """`copy_rows`'s adjoint: src's runs, back to back, added to dst `pitch` apart."""
    d, s, step, n = np.uint64(start), np.uint64(src_start), np.uint64(pitch), np.uint64(count)
    for _ in range(rows):
        for k in range(n):
            dst[d + k] += src[s + k]
        d += step
        s += n


@njit(cache=True, nogil=True, inline="always")
def zero_run(dst, start, count):  # pragma: no cover - compiled
    """dst[start:start + count] = 0."""
    d = np.uint64(start)
    for k in range(np.uint64(count)):
        dst[d + k] = 0
