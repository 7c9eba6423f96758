"""Reductions: sum, mean, max, min (and var, built from them), with NumPy's axis/keepdims."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.ops.arguments import (
    apply,
    as_tensor,
    data_of,
    kept_shape,
    mask_like,
    normalize_axis,
)
from autograd_cv.ops.shape import BroadcastTo
from autograd_cv.tensor import Tensor


class Sum(Node):
    name = "sum"
    saves_inputs = False

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, grad, out, x):
        shape = data_of(x).shape
        return (BroadcastTo(shape)(grad.reshape(kept_shape(shape, self.axes))),)


class Mean(Node):
    name = "mean"
    saves_inputs = False

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.mean(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, grad, out, x):
        shape = data_of(x).shape
        count = int(np.prod([shape[a] for a in self.axes])) if self.axes else 1
        grad = grad.reshape(kept_shape(shape, self.axes)) / count
        return (BroadcastTo(shape)(grad),)


class Extreme(Node):
    """max or min over axes; ties share the gradient equally (as PyTorch's amax/amin)."""

    def __init__(self, name: str, axes: tuple[int, ...], keepdims: bool) -> None:
        self.name = name  # type: ignore[misc]
        self.reduce = np.max if name == "max" else np.min
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty array of shape {x.shape}")
        return self.reduce(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, grad, out, x):
        x_raw = data_of(x)
        kept = kept_shape(x_raw.shape, self.axes)
        winners = x_raw == self.reduce(x_raw, axis=self.axes, keepdims=True)
        share = mask_like(winners, grad)
        share = share / share.sum(axis=self.axes, keepdims=True)
        return (BroadcastTo(x_raw.shape)(grad.reshape(kept)) * share,)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over `axis` (int, tuple, or None for all)."""
    return apply(Sum(normalize_axis(axis, np.ndim(data_of(x)), "sum"), keepdims), x)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over `axis`."""
    return apply(Mean(normalize_axis(axis, np.ndim(data_of(x)), "mean"), keepdims), x)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over `axis`; tied maxima share the gradient."""
    return apply(Extreme("max", normalize_axis(axis, np.ndim(data_of(x)), "max"), keepdims), x)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over `axis`; tied minima share the gradient."""
    return apply(Extreme("min", normalize_axis(axis, np.ndim(data_of(x)), "min"), keepdims), x)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over `axis` with NumPy's `ddof` (built from differentiable ops)."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "var")
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    centred = x - mean(x, axes, keepdims=True)
    return sum(centred * centred, axes, keepdims) / builtins.max(count - ddof, 0)
