"""Shared timing helpers for the benchmarks: medians of repeats, environment notes."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import numpy as np


def median_seconds(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of `fn()` over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive numbers."""
    return float(np.exp(np.mean(np.log(values))))


def try_torch():
    """PyTorch with 2 threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    return torch


def environment() -> str:
    """One line saying what ran: Python, NumPy, BLAS kernels, PyTorch."""
    torch = try_torch()
    coretype = os.environ.get("OPENBLAS_CORETYPE", "(unset: OpenBLAS picks by CPU)")
    parts = [
        f"python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"OPENBLAS_CORETYPE={coretype}",
        f"torch {torch.__version__ if torch else 'not installed'}",
    ]
    return ", ".join(parts)
