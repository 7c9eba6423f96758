"""Optimizer updates on raw ndarrays, one pass over each parameter; nothing here knows Tensor."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["sgd_momentum_update"]


@njit(cache=True, nogil=True)
def _sgd_momentum(param, grad, buf, lr, momentum, damping, decay, nesterov):  # pragma: no cover
    # The operations of torch.optim.SGD, in its order and in the arrays' precision (the
    # scalars arrive in that dtype), so the result is the same as the NumPy sequence
    # d = g + wd * p; buf = buf * m + (1 - dampening) * d; p -= lr * (d + m * buf or buf)
    # without its temporaries and four passes.
    for k in range(param.shape[0]):
        d = grad[k]
        if decay != 0:
            d = d + decay * param[k]
        b = buf[k] * momentum
        b = b + d if damping == 1 else b + damping * d
        buf[k] = b
        d = d + momentum * b if nesterov else b
        param[k] = param[k] - lr * d


def fusable(param: Any, grad: Any, buf: Any) -> bool:
    """Whether one pass may update these in place: one floating dtype, one shape, all
    C-contiguous, `param` writeable (CuPy's arrays always are). The CUDA table asks it too."""
    dtype = param.dtype
    return (
        dtype.kind == "f" and grad.dtype == dtype and buf.dtype == dtype
        and param.shape == grad.shape == buf.shape and param.flags.c_contiguous
        and grad.flags.c_contiguous and buf.flags.c_contiguous
        and getattr(param.flags, "writeable", True)
    )  # fmt: skip


def sgd_momentum_update(
    param: np.ndarray,
    grad: np.ndarray,
    buf: np.ndarray,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
) -> bool:
    """One in-place SGD-momentum step (after the first); False, doing nothing, unless all
    three arrays are C-contiguous, of one floating dtype and one shape."""
    if not all(type(a) is np.ndarray for a in (param, grad, buf)):
        return False  # another backend's arrays: the caller's array expressions
    if not fusable(param, grad, buf):
        return False
    scalar = param.dtype.type
    _sgd_momentum(param.reshape(-1), grad.reshape(-1), buf.reshape(-1), scalar(lr),
                  scalar(momentum), scalar(1 - dampening), scalar(weight_decay),
                  bool(nesterov))  # fmt: skip
    return True
