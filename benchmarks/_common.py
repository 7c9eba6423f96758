"""Tiny timing helpers shared by the benchmark scripts (no third-party dependencies)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds, after ``warmup`` untimed calls (JIT, caches)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive numbers."""
    product = 1.0
    for value in values:
        product *= value
    return product ** (1.0 / len(values))
