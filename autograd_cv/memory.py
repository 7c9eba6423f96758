"""Let a training process reuse the memory of freed arrays instead of faulting in fresh pages.

A training step allocates and frees the same multi-megabyte arrays (activations, gradients,
im2col buffers) over and over. glibc serves big allocations with fresh ``mmap`` pages and hands
freed heap memory back to the OS, so, depending on the order of allocations, a step can touch
new pages every time, and each first touch is a page fault that also zeroes the page
(benchmarks/train_step.py measures the steps with and without it; tests/test_memory.py counts
the faults). `retain_freed_memory` raises glibc's two thresholds so arrays up to 32 MB come from
the heap and freed memory stays there for the next step. The cost: the process keeps up to
``limit_bytes`` of freed memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["retain_freed_memory"]

# mallopt parameters from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's ceiling for M_MMAP_THRESHOLD on 64-bit systems (HEAP_MAX_SIZE / 2).
MMAP_THRESHOLD_MAX = 32 * 2**20

_applied: int | None = None


def retain_freed_memory(limit_bytes: int = 2**30) -> bool:
    """Keep up to `limit_bytes` of freed memory for reuse (glibc only); True if it took effect.

    Process-wide and idempotent; `autograd_cv.training.train` calls it. On other C libraries
    (macOS, musl) it does nothing and returns False.
    """
    global _applied
    if not isinstance(limit_bytes, int) or limit_bytes < 0:
        raise ValueError(
            f"retain_freed_memory: limit_bytes must be an int >= 0, got {limit_bytes!r}"
        )
    if _applied == limit_bytes:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    trim = min(limit_bytes, 2**31 - 1)
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, trim) == 1 and ok
    if ok:
        _applied = limit_bytes
    return ok
