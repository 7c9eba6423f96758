"""Reductions: sum, mean, max, min (and var, built from them), with NumPy's axis/keepdims."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.ops.elementwise import mask_like, raw
from autograd_cv.ops.shape import broadcast_to_like
from autograd_cv.tensor import Tensor


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints; None means all of them."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for an array of {ndim} dimensions")
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """`shape` with each reduced axis set to 1 (the keepdims shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Node):
    name = "sum"
    saves_inputs = False

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, grad, out, x):
        grad = grad.reshape(kept_shape(raw(x).shape, self.axes))
        return (broadcast_to_like(grad, raw(x).shape),)


class Mean(Node):
    name = "mean"
    saves_inputs = False

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.mean(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, grad, out, x):
        shape = raw(x).shape
        count = int(np.prod([shape[a] for a in self.axes])) if self.axes else 1
        grad = grad.reshape(kept_shape(shape, self.axes)) / count
        return (broadcast_to_like(grad, shape),)


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
        x_raw = raw(x)
        kept = kept_shape(x_raw.shape, self.axes)
        winners = x_raw == self.reduce(x_raw, axis=self.axes, keepdims=True)
        share = mask_like(winners, grad)
        share = share / share.sum(axis=self.axes, keepdims=True)
        return (broadcast_to_like(grad.reshape(kept), x_raw.shape) * share,)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over `axis` (int, tuple, or None for all)."""
    return Sum(normalize_axis(axis, np.ndim(raw(x)), "sum"), keepdims)(x)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over `axis`."""
    return Mean(normalize_axis(axis, np.ndim(raw(x)), "mean"), keepdims)(x)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over `axis`; tied maxima share the gradient."""
    return Extreme("max", normalize_axis(axis, np.ndim(raw(x)), "max"), keepdims)(x)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over `axis`; tied minima share the gradient."""
    return Extreme("min", normalize_axis(axis, np.ndim(raw(x)), "min"), keepdims)(x)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over `axis` with NumPy's `ddof` (built from differentiable ops)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    axes = normalize_axis(axis, x.ndim, "var")
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    centred = x - mean(x, axes, keepdims=True)
    return sum(centred * centred, axes, keepdims) / builtins.max(count - ddof, 0)
