"""Shared timing helpers for the benchmarks: medians of repeats, environment notes."""

from __future__ import annotations

import ctypes
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

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


def openblas_kernels() -> str:
    """The kernel family and thread count NumPy's bundled OpenBLAS chose at load time."""
    libs = sorted(Path(np.__file__).parent.parent.glob("numpy.libs/libscipy_openblas*.so"))
    if not libs:
        return "unknown (no bundled scipy-openblas found)"
    lib = ctypes.CDLL(str(libs[0]))
    corename, threads = lib.scipy_openblas_get_corename64_, lib.scipy_openblas_get_num_threads64_
    corename.restype = ctypes.c_char_p
    return f"{corename().decode()} x {threads()} threads"


def environment() -> str:
    """One line saying what ran: Python, NumPy, the BLAS kernels that ran, PyTorch."""
    torch = try_torch()
    coretype = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    parts = [
        f"python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"OpenBLAS {openblas_kernels()} (OPENBLAS_CORETYPE={coretype})",
        f"torch {torch.__version__ if torch else 'not installed'}",
    ]
    return ", ".join(parts)
