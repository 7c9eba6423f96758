"""Random local search versus gradient descent on the same objective (for the course)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograd_cv.autograd.engine import grad
from autograd_cv.autograd.grad_mode import no_grad
from autograd_cv.tensor import Tensor, tensor

Objective = Callable[[Tensor], Tensor]


def hill_climb(loss_fn: Objective, w0: Any, steps: int, step_size: float,
               seed: int = 0) -> tuple[np.ndarray, list[float]]:  # fmt: skip
    """Try w + step_size * N(0, 1) each step, keep it if the loss drops.

    `loss_fn` maps a Tensor of parameters to a scalar Tensor. Returns the final parameters
    and the loss history (steps + 1 values, the start included).
    """
    rng = np.random.default_rng(seed)
    w = np.array(w0.data if isinstance(w0, Tensor) else w0, dtype=np.float64)
    with no_grad():
        best = float(loss_fn(tensor(w)).data)
        history = [best]
        for _ in range(steps):
            trial = w + step_size * rng.standard_normal(w.shape)
            value = float(loss_fn(tensor(trial)).data)
            if value < best:
                w, best = trial, value
            history.append(best)
    return w, history


def gradient_descent(loss_fn: Objective, w0: Any, steps: int,
                     lr: float) -> tuple[np.ndarray, list[float]]:  # fmt: skip
    """w -= lr * dloss/dw through the engine; returns the final parameters and loss history."""
    w = np.array(w0.data if isinstance(w0, Tensor) else w0, dtype=np.float64)
    history = []
    for _ in range(steps):
        leaf = tensor(w, requires_grad=True)
        loss = loss_fn(leaf)
        history.append(float(loss.data))
        (gradient,) = grad(loss, leaf)
        w = w - lr * gradient.data
    with no_grad():
        history.append(float(loss_fn(tensor(w)).data))
    return w, history
