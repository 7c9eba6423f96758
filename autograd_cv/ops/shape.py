"""Shape ops: reshape, transpose, broadcast_to, expand_dims, squeeze, flatten, pad,
concatenate, stack, indexing (with its scatter-add adjoint), flip, roll, tile, split, chunk,
tril and triu."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.backend import array_module, backend_of, is_array
from autograd_cv.ops.arguments import apply, as_tensor, data_of, normalize_axis, pick
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
    """Indices as NumPy understands them: Tensors, lists and tuples inside a tuple become
    arrays (so repeated entries accumulate in the gradient), an empty list an empty int array.
    """
    parts = index if isinstance(index, tuple) else (index,)
    cleaned = []
    for part in parts:
        part = data_of(part)
        if isinstance(part, (list, tuple)):
            part = np.asarray(part) if len(part) else np.zeros(0, dtype=np.intp)
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


PAD_MODES = ("constant", "reflect", "replicate", "circular")
_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(x: Any, pad_width: Any, value: float = 0.0, mode: str = "constant") -> Tensor:
    """Pad (NumPy's `pad_width` forms: int, (before, after), or per axis) with a constant, or
    by `mode` "reflect", "replicate" or "circular" (PyTorch's names); negative widths crop."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    shape = np.shape(data_of(x))
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape), 2)).tolist()
    except ValueError:
        raise ValueError(
            f"pad: pad_width {pad_width} does not fit an array of shape {shape}"
        ) from None
    for axis, ((before, after), size) in enumerate(zip(widths, shape)):
        n = size + min(before, 0) + min(after, 0)  # what is left after cropping
        if n < (1 if mode != "constant" else 0):
            raise ValueError(
                f"pad: widths {(before, after)} crop axis {axis} of shape {shape} away"
            )
        if mode == "reflect" and max(before, after) >= n:
            raise ValueError(
                f"pad: reflect widths {(before, after)} must be smaller than axis {axis} of "
                f"shape {shape}"
            )
        if mode == "circular" and max(before, after) > n:
            raise ValueError(
                f"pad: circular widths {(before, after)} must be at most axis {axis} of "
                f"shape {shape}"
            )
    if mode == "constant":
        if any(min(w) < 0 for w in widths):  # crop first, then pad what is left
            x = getitem(
                x, tuple(slice(-min(a, 0), n + min(b, 0)) for (a, b), n in zip(widths, shape))
            )
        return apply(Pad(tuple((max(a, 0), max(b, 0)) for a, b in widths), value), x)
    # The other modes read each output position from one input position: a gather along
    # each axis by the source indices that np.pad gives for arange(n) (its adjoint adds).
    out = as_tensor(x)
    for axis, ((before, after), n) in enumerate(zip(widths, shape)):
        if before == 0 and after == 0:
            continue
        kept = np.arange(n)[-min(before, 0) : n + min(after, 0)]  # crop first, as PyTorch
        source = np.pad(kept, (max(before, 0), max(after, 0)), mode=_NUMPY_MODE[mode])
        out = getitem(out, (slice(None),) * axis + (source,))
    return out


_pad_axes = pad


def torch_pad(input: Any, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """torch.nn.functional.pad: `pad` lists (before, after) pairs from the last axis back."""
    shape = np.shape(data_of(input))
    if len(pad) % 2 or len(pad) // 2 > len(shape):
        raise ValueError(
            f"pad: pad {tuple(pad)} must hold (before, after) pairs for at most {len(shape)} "
            f"axes of input shape {shape}"
        )
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    widths = [(0, 0)] * (len(shape) - len(pairs)) + pairs[::-1]
    return _pad_axes(input, widths, value=value, mode=mode)


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


# ----- flip, roll, tile, split, chunk, tril, triu (issue 14) --------------------------------
class Flip(Node):
    name = "flip"
    saves_inputs = False

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        return np.flip(x, self.axes).copy()

    def vjp(self, grad, out, x):
        return (Flip(self.axes)(grad),)


class Roll(Node):
    name = "roll"
    saves_inputs = False

    def __init__(self, shifts: tuple[int, ...], axes: tuple[int, ...] | None) -> None:
        self.shifts, self.axes = shifts, axes

    def forward(self, x):
        return np.roll(x, self.shifts, self.axes)

    def vjp(self, grad, out, x):
        return (Roll(tuple(-s for s in self.shifts), self.axes)(grad),)


class Tile(Node):
    name = "tile"
    saves_inputs = False

    def __init__(self, reps: tuple[int, ...]) -> None:
        self.reps = reps

    def forward(self, x):
        return np.tile(x, self.reps)

    def vjp(self, grad, out, x):
        shape = data_of(x).shape
        ndim = max(len(shape), len(self.reps))
        full = (1,) * (ndim - len(shape)) + tuple(shape)
        reps = (1,) * (ndim - len(self.reps)) + tuple(self.reps)
        # The output axis of length r * n is (r, n) in C order: sum the r copies away.
        split = tuple(size for pair in zip(reps, full) for size in pair)
        summed = grad.reshape(split).sum(axis=tuple(range(0, 2 * ndim, 2)))
        return (summed.reshape(shape),)


class Triangle(Node):
    """The lower (tril) or upper (triu) triangle of the last two axes, from diagonal k."""

    saves_inputs = False

    def __init__(self, k: int, lower: bool) -> None:
        self.k, self.lower = k, lower
        self.name = "tril" if lower else "triu"  # type: ignore[misc]

    def forward(self, x):
        return np.tril(x, self.k) if self.lower else np.triu(x, self.k)

    def vjp(self, grad, out, x):
        return (Triangle(self.k, self.lower)(grad),)


def _axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    return normalize_axis(axis, ndim, op)


def flip(x: Any, axis: Any = None) -> Tensor:
    """Reverse the order of elements along `axis` (int, tuple, or None for all)."""
    return apply(Flip(_axes(axis, np.ndim(data_of(x)), "flip")), x)


def roll(x: Any, shift: Any, axis: Any = None) -> Tensor:
    """Shift elements cyclically along `axis` (None: over the flattened array), as np.roll."""
    shifts = (int(shift),) if np.ndim(shift) == 0 else tuple(int(s) for s in shift)
    if axis is not None:
        axis = (int(axis),) if np.ndim(axis) == 0 else tuple(int(a) for a in axis)
        ndim = np.ndim(data_of(x))
        for a in axis:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"roll: axis {a} is out of range for an array of {ndim} dimensions"
                )
        if len(shifts) == 1 and len(axis) > 1:
            shifts = shifts * len(axis)
        if len(shifts) != len(axis):
            raise ValueError(f"roll: {len(shifts)} shifts for {len(axis)} axes")
    elif len(shifts) != 1:
        raise ValueError("roll: several shifts need as many axes")
    return apply(Roll(shifts, axis), x)


def tile(x: Any, reps: Any) -> Tensor:
    """Repeat the whole array `reps` times along each axis, as np.tile."""
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    if min(reps, default=1) < 0:
        raise ValueError(f"tile: reps must be non-negative, got {reps}")
    return apply(Tile(reps), x)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Split into equal sections (an int) or at the given indices, as np.split."""
    x = as_tensor(x)
    axis_ = _axes(axis, x.ndim, "split")[0]
    size = x.shape[axis_]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections < 1 or size % sections:
            raise ValueError(
                f"split: axis {axis} of shape {x.shape} does not divide into {sections} sections"
            )
        bounds = list(range(0, size + 1, size // sections)) if size else [0] * (sections + 1)
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], size]
    lead = (slice(None),) * axis_
    return [x[lead + (slice(start, max(start, stop)),)] for start, stop in zip(bounds, bounds[1:])]


def chunk(x: Any, chunks: int, axis: int = 0) -> list[Tensor]:
    """Split into `chunks` pieces of ceil(n / chunks) (the last may be smaller), as PyTorch."""
    x = as_tensor(x)
    if int(chunks) < 1:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    axis_ = _axes(axis, x.ndim, "chunk")[0]
    size = x.shape[axis_]
    step = max(1, -(-size // int(chunks)))
    return split(x, list(range(step, size, step)), axis_)


def tril(x: Any, k: int = 0) -> Tensor:
    """Zero everything above diagonal k of the last two axes."""
    _check_matrix(x, "tril")
    return apply(Triangle(int(k), True), x)


def triu(x: Any, k: int = 0) -> Tensor:
    """Zero everything below diagonal k of the last two axes."""
    _check_matrix(x, "triu")
    return apply(Triangle(int(k), False), x)


def _check_matrix(x: Any, op: str) -> None:
    if np.ndim(data_of(x)) < 2:
        raise ValueError(f"{op}: expected at least 2 dimensions, got shape {np.shape(data_of(x))}")
