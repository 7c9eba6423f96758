"""Elementwise activation kernels on raw ndarrays, one pass each; nothing here knows Tensor."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["relu_backward"]


@njit(cache=True, nogil=True)
def _relu_backward(grad, out, result):  # pragma: no cover - compiled
    # One read of each input and one write: NumPy's grad * (out > 0) takes three passes
    # (compare, cast, multiply) and two temporaries.
    for k in range(result.shape[0]):
        result[k] = grad[k] if out[k] > 0 else 0


def relu_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad`` where relu's output ``out`` is positive, else 0, in ``grad``'s dtype."""
    if grad.shape != out.shape:
        raise ValueError(
            f"relu_backward: grad of shape {grad.shape} does not match out of shape {out.shape}"
        )
    result = np.empty(grad.shape, grad.dtype)
    _relu_backward(
        np.ascontiguousarray(grad).reshape(-1), np.ascontiguousarray(out).reshape(-1),
        result.reshape(-1),
    )  # fmt: skip
    return result
