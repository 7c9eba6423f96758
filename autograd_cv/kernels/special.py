"""Special functions NumPy lacks, as Numba loops over libm (compiled on first call, cached)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _erf_loop(flat, out):  # pragma: no cover - compiled
    for i in range(flat.size):
        out[i] = math.erf(flat[i])


def erf(x: np.ndarray) -> np.ndarray:
    """The error function elementwise, in x's (floating) dtype."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    _erf_loop(flat, out)
    return out.reshape(x.shape)
