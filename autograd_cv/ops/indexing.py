"""Gather and scatter along an axis: take_along_axis / gather, scatter_add, index_add,
embedding, one_hot.

All are built on indexing (`GetItem`, whose adjoint `IndexAdd` adds repeated positions), so
their gradients and second derivatives come from those two Nodes: a gather's vjp is a
scatter-add and a scatter-add's vjp is a gather.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.backend import array_module, is_array
from autograd_cv.ops.arguments import as_plain, as_tensor, data_of, normalize_axis, on_device_of
from autograd_cv.ops.elementwise import Where
from autograd_cv.ops.shape import IndexAdd, broadcast_to
from autograd_cv.tensor import Tensor


def _integer_index(index: Any, op: str, argument: str = "index", like: Any = None) -> Any:
    """`index` as an intp array; with `like` (an array), on like's device: a host index
    (list, ndarray) is copied there, an index on another device is an error naming both."""
    array = as_plain(data_of(index))
    if array.dtype.kind not in "iu":
        raise ValueError(f"{op}: {argument} must hold integers, got dtype {array.dtype}")
    if like is not None:
        array = on_device_of(array, like, op)
    return array.astype(np.intp, copy=False)


def _along(index: Any, axis: int) -> tuple[Any, ...]:
    """The full integer index that picks index[i, j, ...] along `axis` and i, j, ... elsewhere."""
    xp = array_module(index)
    ndim = index.ndim
    # np.indices(index.shape, sparse=True), on index's device: one broadcastable arange per axis
    grids = [
        index if a == axis else xp.arange(n).reshape((1,) * a + (n,) + (1,) * (ndim - a - 1))
        for a, n in enumerate(index.shape)
    ]
    return tuple(grids)


def _constant_beside(value: Any, input: Tensor) -> Tensor:
    """`value` as a Tensor to combine with `input`: a Tensor as it is (it stays
    differentiable), an array in input's dtype where it lives, anything else (lists,
    numbers) as an array of input's dtype on input's device."""
    if isinstance(value, Tensor):
        return value
    if is_array(value):
        return Tensor(value.astype(input.dtype, copy=False))
    return Tensor(array_module(input.data).asarray(value, dtype=input.dtype))


def _check_along(op: str, shape: tuple[int, ...], index: np.ndarray, axis: int, exact: bool):
    if index.ndim != len(shape):
        raise ValueError(
            f"{op}: index of shape {index.shape} needs as many dimensions as input of shape {shape}"
        )
    for a, (n, m) in enumerate(zip(shape, index.shape)):
        if a != axis and (m != n if exact else m > n):
            raise ValueError(
                f"{op}: index of shape {index.shape} does not fit input of shape {shape} "
                f"off axis {axis}"
            )
    if index.size and (index.min() < -shape[axis] or index.max() >= shape[axis]):
        raise IndexError(
            f"{op}: index values must lie in [{-shape[axis]}, {shape[axis]}) for axis {axis} of "
            f"shape {shape}"
        )


def take_along_axis(arr: Any, indices: Any, axis: int) -> Tensor:
    """NumPy's take_along_axis: out[..., i, ...] = arr[..., indices[..., i, ...], ...]
    (arr and indices broadcast against each other off `axis`)."""
    op = "take_along_axis"
    arr = as_tensor(arr)
    index = _integer_index(indices, op, "indices", like=arr.data)
    axis = normalize_axis(axis, arr.ndim, op)[0]
    if index.ndim != arr.ndim:
        raise ValueError(
            f"{op}: indices of shape {index.shape} need as many dimensions as arr of shape "
            f"{arr.shape}"
        )
    try:
        off_axis = np.broadcast_shapes(
            tuple(1 if a == axis else n for a, n in enumerate(arr.shape)),
            tuple(1 if a == axis else n for a, n in enumerate(index.shape)),
        )
    except ValueError:
        raise ValueError(
            f"{op}: indices of shape {index.shape} do not broadcast with arr of shape {arr.shape}"
        ) from None

    def with_axis(length: int) -> tuple[int, ...]:
        return off_axis[:axis] + (length,) + off_axis[axis + 1 :]

    if arr.shape != with_axis(arr.shape[axis]):
        arr = broadcast_to(arr, with_axis(arr.shape[axis]))
    index = np.broadcast_to(index, with_axis(index.shape[axis]))
    _check_along(op, arr.shape, index, axis, exact=False)
    return arr[_along(index, axis)]


def gather(input: Any, dim: int, index: Any) -> Tensor:
    """PyTorch's gather: out[i][j] = input[index[i][j]][j] along `dim` (index may be smaller
    than input off `dim`)."""
    op = "gather"
    input = as_tensor(input)
    index = _integer_index(index, op, like=input.data)
    axis = normalize_axis(dim, input.ndim, op)[0]
    _check_along(op, input.shape, index, axis, exact=False)
    return input[_along(index, axis)]


def scatter_add(input: Any, dim: int, index: Any, src: Any) -> Tensor:
    """PyTorch's scatter_add: a copy of input with src[i][j] added at [index[i][j]][j] along
    `dim`; repeated positions add up."""
    op = "scatter_add"
    input = as_tensor(input)
    src = _constant_beside(src, input)
    index = _integer_index(index, op, like=input.data)
    axis = normalize_axis(dim, input.ndim, op)[0]
    _check_along(op, input.shape, index, axis, exact=False)
    if src.ndim != index.ndim or any(m > n for m, n in zip(index.shape, src.shape)):
        raise ValueError(
            f"{op}: index of shape {index.shape} must not be larger than src of shape {src.shape}"
        )
    picked = src[tuple(slice(0, m) for m in index.shape)]
    return input + IndexAdd(_along(index, axis), input.shape)(picked)


def index_add(input: Any, dim: int, index: Any, source: Any, alpha: float = 1.0) -> Tensor:
    """PyTorch's index_add: a copy of input with alpha * source[..., i, ...] added at
    position index[i] along `dim` (repeated indices add up)."""
    op = "index_add"
    input = as_tensor(input)
    source = _constant_beside(source, input)
    index = _integer_index(index, op, like=input.data)
    axis = normalize_axis(dim, input.ndim, op)[0]
    expected = input.shape[:axis] + (len(index),) + input.shape[axis + 1 :]
    if index.ndim != 1 or source.shape != expected:
        raise ValueError(
            f"{op}: expected a 1-D index and source of shape {expected} for input of shape "
            f"{input.shape}, got index {index.shape} and source {source.shape}"
        )
    if index.size and (index.min() < -input.shape[axis] or index.max() >= input.shape[axis]):
        raise IndexError(f"{op}: index out of range for axis {axis} of shape {input.shape}")
    where = (slice(None),) * axis + (index,)
    return input + IndexAdd(where, input.shape)(source * alpha if alpha != 1 else source)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last axis of num_classes (default: max + 1)."""
    labels = _integer_index(tensor, "one_hot", "tensor")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {labels.min()}")
    largest = int(labels.max()) if labels.size else -1
    classes = int(num_classes) if num_classes >= 0 else largest + 1
    if largest >= classes:
        raise ValueError(f"one_hot: class {largest} does not fit num_classes={classes}")
    classes_range = array_module(labels).arange(classes)
    return Tensor((labels[..., None] == classes_range).astype(np.int64))


def embedding(input: Any, weight: Any, padding_idx: int | None = None) -> Tensor:
    """Rows of `weight` (num_embeddings, dim) picked by integer `input`; the row at
    padding_idx gets no gradient, as PyTorch."""
    op = "embedding"
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"{op}: weight must be 2-D (num_embeddings, dim), got {weight.shape}")
    index = _integer_index(input, op, "input", like=weight.data)
    rows = weight.shape[0]
    if index.size and (index.min() < -rows or index.max() >= rows):
        raise IndexError(
            f"{op}: input values must lie in [0, {rows}) for weight of shape {weight.shape}"
        )
    out = weight[index]
    if padding_idx is None:
        return out
    padding_idx = int(padding_idx) % rows
    is_padding = (index % rows == padding_idx)[..., None]
    return Where(is_padding)(weight.data[index], out)
