"""Shape ops: reshape, transpose, broadcast_to, expand_dims, squeeze, flatten, pad,
concatenate, stack, and indexing (with its scatter-add adjoint)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.backend import array_module, backend_of, is_array
from autograd_cv.ops.arguments import apply, data_of, normalize_axis, pick
from autograd_cv.tensor import Tensor


class Reshape(Node):
    saves_inputs = False

    def __init__(self, shape: tuple[int, ...], name: str = "reshape") -> None:
        self.new_shape = shape
        self.name = name  # type: ignore[misc]

    def forward(self, x):
        try:
            return np.reshape(x, self.new_shape)
        except ValueError:
            raise ValueError(
                f"{self.name}: cannot reshape an array of shape {x.shape} "
                f"({x.size} elements) into shape {self.new_shape}"
            ) from None

    def vjp(self, grad, out, x):
        return (grad.reshape(data_of(x).shape),)


class Transpose(Node):
    name = "transpose"
    saves_inputs = False

    def __init__(self, axes: tuple[int, ...] | None) -> None:
        self.axes = axes

    def forward(self, x):
        if self.axes is not None and sorted(a % max(x.ndim, 1) for a in self.axes) != list(
            range(x.ndim)
        ):
            raise ValueError(
                f"transpose: axes {self.axes} are not a permutation of an array of shape {x.shape}"
            )
        return np.transpose(x, self.axes)

    def vjp(self, grad, out, x):
        if self.axes is None:
            return (grad.transpose(),)
        inverse = tuple(np.argsort([a % grad.ndim for a in self.axes]))
        return (grad.transpose(inverse),)


class BroadcastTo(Node):
    name = "broadcast_to"
    saves_inputs = False

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.target = shape

    def forward(self, x):
        try:
            return np.broadcast_to(x, self.target)
        except ValueError:
            raise ValueError(
                f"broadcast_to: cannot broadcast shape {x.shape} to {self.target}"
            ) from None

    def vjp(self, grad, out, x):
        return (grad,)  # the driver sums the cotangent back to x's shape


class Pad(Node):
    name = "pad"
    saves_inputs = False

    def __init__(self, pad_width: tuple[tuple[int, int], ...], value: float) -> None:
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        return np.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def vjp(self, grad, out, x):
        index = tuple(slice(lo, lo + n) for (lo, _), n in zip(self.pad_width, data_of(x).shape))
        return (grad[index],)


class Concatenate(Node):
    name = "concatenate"
    saves_inputs = False

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *arrays):
        try:
            return np.concatenate(arrays, axis=self.axis)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(
                f"concatenate: shapes {shapes} do not match off axis {self.axis}"
            ) from None

    def vjp(self, grad, out, *inputs):
        axis = self.axis % grad.ndim
        grads, start = [], 0
        for x in inputs:
            size = data_of(x).shape[axis]
            grads.append(grad[(slice(None),) * axis + (slice(start, start + size),)])
            start += size
        return tuple(grads)


class Stack(Node):
    name = "stack"
    saves_inputs = False

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *arrays):
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            listed = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"stack: all inputs need one shape, got {listed}")
        return np.stack(arrays, axis=self.axis)

    def vjp(self, grad, out, *inputs):
        axis = self.axis % grad.ndim
        return tuple(grad[(slice(None),) * axis + (i,)] for i in range(len(inputs)))


def _has_advanced(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, list) or is_array(p) for p in parts)


class GetItem(Node):
    """x[index]: basic slices, integer arrays (repeats accumulate) and boolean masks."""

    name = "getitem"
    saves_inputs = False

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x):
        try:
            return x[self.index]
        except IndexError as error:
            raise IndexError(f"getitem: {error} (array shape {x.shape})") from None

    def vjp(self, grad, out, x):
        return (IndexAdd(self.index, data_of(x).shape)(grad),)


class IndexAdd(Node):
    """zeros(shape) with `values` added at `index`: the adjoint of x[index]."""

    name = "index_add"
    saves_inputs = False

    def __init__(self, index: Any, shape: tuple[int, ...]) -> None:
        self.index, self.target = index, shape

    def forward(self, values):
        return index_add(values, self.index, self.target)

    def vjp(self, grad, out, values):
        return (grad[self.index],)


def index_add(values: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """zeros(shape) with `values` scattered in at `index`, repeated indices summing."""
    result = array_module(values).zeros(shape, dtype=values.dtype)
    if _has_advanced(index):
        backend_of(values).add_at(result, index, values)
    else:
        result[index] = values
    return result


def _clean_index(index: Any) -> Any:
    """Indices as NumPy understands them: Tensors become arrays, lists become arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    cleaned = []
    for part in parts:
        part = data_of(part)
        if isinstance(part, list):
            part = np.asarray(part)
        cleaned.append(part)
    return tuple(cleaned) if isinstance(index, tuple) else cleaned[0]


# ----- public functions -----------------------------------------------------------------
def reshape(x: Any, shape: Any) -> Tensor:
    """Same data, new shape (one entry may be -1)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    return apply(Reshape(shape), x)


def transpose(x: Any, *dims: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes, in NumPy's or torch's form.

    `transpose(x)` reverses the axes and `transpose(x, (2, 0, 1))` (or `axes=`, or three or
    more ints) permutes them, as NumPy; exactly two ints `transpose(x, d0, d1)` swap those two
    axes, as torch (on a 2-D tensor NumPy's `(1, 0)` means the same; NumPy's identity `(0, 1)`
    is the one spelling that now swaps).
    """
    if len(dims) == 1 and (dims[0] is None or isinstance(dims[0], (tuple, list))):
        dims = () if dims[0] is None else tuple(dims[0])
    elif len(dims) == 2 and all(isinstance(d, (int, np.integer)) for d in dims):
        return swapaxes(x, dims[0], dims[1])
    if dims and axes is not None:
        raise TypeError(f"transpose: got axes {tuple(dims)} and axes={axes!r}; give one")
    order = tuple(dims) if dims else axes
    return apply(Transpose(None if order is None else tuple(int(a) for a in order)), x)


def permute(x: Any, *dims: Any) -> Tensor:
    """Reorder the axes as `dims` (torch's permute; a tuple or the ints themselves)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return apply(Transpose(tuple(int(a) for a in dims)), x)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes (torch's transpose(d0, d1), swapdims)."""
    ndim = np.ndim(data_of(x))
    axis1, axis2 = (normalize_axis(a, ndim, "transpose")[0] for a in (axis1, axis2))
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return apply(Transpose(tuple(axes)), x)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """View `x` broadcast to `shape` (the gradient sums back)."""
    return apply(BroadcastTo(tuple(int(n) for n in shape)), x)


def expand_dims(x: Any, axis: int | Sequence[int]) -> Tensor:
    """Insert axes of length one at `axis`."""
    shape = np.expand_dims(np.empty(np.shape(data_of(x)), dtype=bool), axis).shape
    return apply(Reshape(shape, name="expand_dims"), x)


def unsqueeze(x: Any, dim: int) -> Tensor:
    """Insert one axis of length one at `dim` (torch's name; negative dims count from the end)."""
    ndim = np.ndim(data_of(x))
    if not -ndim - 1 <= dim <= ndim:
        raise ValueError(f"unsqueeze: dim {dim} is out of range for a tensor of {ndim} dimensions")
    return expand_dims(x, dim % (ndim + 1))


def squeeze(
    x: Any, axis: int | Sequence[int] | None = None, *, dim: int | Sequence[int] | None = None
) -> Tensor:
    """Remove axes of length one (all of them, or those in `axis`/`dim`).

    As NumPy, naming an axis that is not of length one is an error (torch leaves it).
    """
    axis = pick("squeeze", "axis", axis, "dim", dim)
    current = np.shape(data_of(x))
    try:
        shape = np.squeeze(np.empty(current, dtype=bool), axis).shape
    except ValueError:
        raise ValueError(f"squeeze: axis {axis} of shape {current} is not of length one") from None
    return apply(Reshape(shape, name="squeeze"), x)


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Axes `start_dim`..`end_dim` as one (all of them by default, as NumPy's flatten)."""
    shape = np.shape(data_of(x))
    if not shape:
        return apply(Reshape((1,), name="flatten"), x)
    start, end = (normalize_axis(d, len(shape), "flatten")[0] for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}"
        )
    merged = int(np.prod(shape[start : end + 1]))
    return apply(Reshape((*shape[:start], merged, *shape[end + 1 :]), name="flatten"), x)


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """Pad with a constant (NumPy's `pad_width` forms: int, (before, after), or per axis)."""
    ndim = np.ndim(data_of(x))
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: pad_width must be non-negative, got {pad_width}")
    return apply(Pad(tuple((int(a), int(b)) for a, b in widths), value), x)


def concatenate(
    tensors: Sequence[Any], axis: int | None = None, *, dim: int | None = None
) -> Tensor:
    """Join tensors along an existing axis (`axis` or torch's `dim`, default 0); also `cat`."""
    if len(tensors) == 0:
        raise ValueError("concatenate: need at least one tensor")
    axis = pick("concatenate", "axis", axis, "dim", dim)
    return apply(Concatenate(0 if axis is None else axis), *tensors)


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """torch's name for `concatenate`."""
    return concatenate(tensors, axis, dim=dim if axis is None else None)


def stack(tensors: Sequence[Any], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join tensors of one shape along a new axis (`axis` or `dim`, default 0)."""
    if len(tensors) == 0:
        raise ValueError("stack: need at least one tensor")
    axis = pick("stack", "axis", axis, "dim", dim)
    return apply(Stack(0 if axis is None else axis), *tensors)


def getitem(x: Any, index: Any) -> Tensor:
    """x[index] (slices, integer arrays, boolean masks, None, Ellipsis)."""
    return apply(GetItem(_clean_index(index)), x)
