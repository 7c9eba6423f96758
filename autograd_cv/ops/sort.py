"""sort, argsort, topk: values are differentiable (a gather by the sorting permutation,
whose adjoint scatters the cotangent back); indices are int64 constants."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.backend import array_module
from autograd_cv.ops.arguments import as_tensor, normalize_axis
from autograd_cv.ops.indexing import take_along_axis
from autograd_cv.tensor import Tensor


def _order(values: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """A stable sorting permutation along `axis` (ties keep their order, both directions)."""
    if not descending:
        return np.argsort(values, axis=axis, kind="stable")
    # Stable descending: sort the reversed array ascending and reverse the result, so ties
    # come out in their original order (as PyTorch's stable sort).
    flipped = np.flip(values, axis)
    order = np.argsort(flipped, axis=axis, kind="stable")
    order = np.flip(order, axis)
    return (values.shape[axis] - 1 - order) if values.ndim else order


def _axis(x: Tensor, axis: int, op: str) -> int | None:
    axes = normalize_axis(axis, x.ndim, op)
    return axes[0] if axes else None


def argsort(x: Any, axis: int = -1, descending: bool = False) -> Tensor:
    """int64 indices that sort `x` along `axis` (stable)."""
    x = as_tensor(x)
    axis_ = _axis(x, axis, "argsort")
    if axis_ is None:
        return Tensor(array_module(x.data).zeros((), np.int64))
    return Tensor(_order(x.data, axis_, descending).astype(np.int64))


def sort(x: Any, axis: int = -1, descending: bool = False) -> Tensor:
    """The values of `x` sorted along `axis` (stable); differentiable."""
    x = as_tensor(x)
    axis_ = _axis(x, axis, "sort")
    if axis_ is None:
        return x + 0
    return take_along_axis(x, _order(x.data, axis_, descending), axis_)


def topk(
    x: Any, k: int, axis: int = -1, largest: bool = True, sorted: bool = True
) -> tuple[Tensor, Tensor]:
    """The k largest (or smallest) values along `axis` and their int64 indices, as PyTorch."""
    x = as_tensor(x)
    axis_ = _axis(x, axis, "topk")
    size = 1 if axis_ is None else x.shape[axis_]
    if not 0 <= int(k) <= size:
        raise ValueError(f"topk: k={k} is out of range for axis {axis} of shape {x.shape}")
    if axis_ is None:
        return x + 0, Tensor(array_module(x.data).zeros((), np.int64))
    order = _order(x.data, axis_, descending=largest)
    picked = order[(slice(None),) * axis_ + (slice(0, int(k)),)]
    return take_along_axis(x, picked, axis_), Tensor(picked.astype(np.int64))
