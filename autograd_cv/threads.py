"""Fit the BLAS and Numba thread pools to the cores that other processes leave free.

OpenBLAS's worker threads busy-wait for the next GEMM. Alone on the machine that costs
nothing; with other CPU-bound processes on the same cores, a worker spins on a core another
process wants while the GEMM's other half waits for a time slice. Measured on the 2-core
target with other processes runnable (load average about 9), a LeNet-5 training step took
228-248 ms with 2 BLAS threads and 30 ms with 1, an MLP step 173-178 ms against 8 ms.

`ThreadBudget` counts the runnable threads of other processes (Linux's /proc) at most every
`interval` seconds, smooths the count, and sets the pools to the cores left free, at least
one. `autograd_cv.training.train` calls it once per step; a hand-written loop can do the same.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

from autograd_cv.kernels._split import blas_pools

__all__ = ["ThreadBudget", "other_runnable_threads"]


def other_runnable_threads() -> int | None:
    """Threads of other processes that are running or ready to run now (None off Linux)."""
    try:
        stat = Path("/proc/stat").read_text()
    except OSError:
        return None
    running = next((int(line.split()[1]) for line in stat.splitlines()
                    if line.startswith("procs_running")), None)  # fmt: skip
    if running is None:
        return None
    own = 0
    try:
        for task in os.scandir("/proc/self/task"):
            try:
                # state is the field after the parenthesised command name
                text = Path(task.path, "stat").read_text()
            except OSError:
                continue
            if text[text.rindex(")") + 2] == "R":
                own += 1
    except OSError:
        return None
    return max(0, running - own)


class ThreadBudget:
    """Keeps BLAS's and Numba's thread counts at the number of cores others leave free.

    Call `update()` often (every training step); it samples at most every `interval` seconds
    and changes the pools only when the smoothed free-core count changes. `threads` is the
    count in force. Does nothing where /proc is missing or `cores` is 1.
    """

    def __init__(self, cores: int | None = None, interval: float = 0.2) -> None:
        if cores is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        if cores < 1 or interval < 0:
            raise ValueError(
                f"ThreadBudget: cores must be >= 1 and interval >= 0, got {cores}, {interval}"
            )
        self.cores, self.interval = cores, interval
        self.threads = cores
        self._others = 0.0
        self._last = -math.inf
        self._blas = blas_pools()

    def update(self) -> int:
        """Sample the load if `interval` has passed; set and return the thread count."""
        now = time.monotonic()
        if self.cores == 1 or now - self._last < self.interval:
            return self.threads
        self._last = now
        others = other_runnable_threads()
        if others is None:
            return self.threads
        # Smoothed over about five samples (a second), so one busy instant does not flip it.
        self._others += 0.3 * (others - self._others)
        threads = max(1, min(self.cores, round(self.cores - self._others)))
        if threads != self.threads:
            self.set(threads)
        return self.threads

    def set(self, threads: int) -> None:
        """Set every BLAS pool and Numba's pool (for this thread) to `threads`."""
        for pool in self._blas:
            pool.set_num_threads(threads)
        numba = sys.modules.get("numba")
        if numba is not None:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        self.threads = threads

    def restore(self) -> None:
        """Give the pools all `cores` threads again."""
        self.set(self.cores)
