"""The op layer's helpers: wrapping values and checking the arguments users pass.

User-facing checks live here and in the public op functions only; the kernels below
just assert what these checks already guarantee.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.autograd.values import as_array, same_device
from autograd_cv.backend import CPU, array_module, backend_of, device_of, is_array, to_device
from autograd_cv.tensor import Tensor


def data_of(value: Any) -> Any:
    """The ndarray behind a Tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value


def as_tensor(value: Any, dtype: Any = None) -> Tensor:
    """`value` as a Tensor (a Tensor is returned as it is unless `dtype` differs)."""
    if isinstance(value, Tensor):
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    return Tensor(as_plain(value, dtype))


def apply(node: Node, *args: Any) -> Tensor:
    """Apply `node` as a public function does: plain arguments give a Tensor back too.

    (A Node called directly on plain arrays returns an array; vjps rely on that.)
    """
    for value in args:
        if isinstance(value, Tensor):
            return node(*args)
    first = args[0] if is_array(args[0]) else as_array(args[0])
    return node(Tensor(first), *args[1:])


def as_plain(value: Any, dtype: Any = None) -> Any:
    """`value` as an array: arrays of any device stay where they are, the rest become ndarrays."""
    if is_array(value):
        return value if dtype is None else value.astype(dtype, copy=False)
    return np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)


def on_device_of(value: Any, like: Any, op: str) -> Any:
    """`value` (an array, list or number) as an array on `like`'s device: a host value is
    copied there; an array on another device is an error naming the op and both devices."""
    array = as_plain(data_of(value))
    if device_of(array) != device_of(like):
        if backend_of(array) is not CPU:
            same_device(op, [like, array])
        array = to_device(array, device_of(like))
    return array


def mask_like(condition: np.ndarray, like: Any) -> np.ndarray:
    """A 0/1 array in `like`'s dtype, to multiply a cotangent with."""
    return condition.astype(data_of(like).dtype)


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints; None means all of them.

    A 0-d array accepts axis 0 and -1 and has nothing to reduce (as PyTorch: dim 0 of a
    scalar is the scalar), so its axes come back as ().
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for an array of {ndim} dimensions")
        if ndim:
            out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def check_nonempty(op: str, x: np.ndarray, axes: tuple[int, ...]) -> None:
    """Refuse a max-like reduction over an empty axis (an empty result is fine)."""
    if x.size == 0 and any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: cannot reduce over an empty axis: axes {axes} of shape {x.shape}")


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """`shape` with each reduced axis set to 1 (the keepdims shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# ----- image ops: window geometry --------------------------------------------------------
Pair = tuple[int, int]


def pair(value: Any, argument: str, op: str) -> Pair:
    """An int or an (h, w) pair of ints, as a pair."""
    values = _ints(value, 2, argument, op, "an int or a pair of ints")
    return values[0], values[1]


def single(value: Any, argument: str, op: str) -> int:
    """An int or a 1-tuple of ints (the 1-d ops' kernel_size, stride, ...), as an int."""
    return _ints(value, 1, argument, op, "an int or a 1-tuple of ints")[0]


def _ints(value: Any, count: int, argument: str, op: str, expected: str) -> tuple[int, ...]:
    """An int repeated `count` times, or a sequence of `count` ints; else a ValueError that
    names the argument (a float 2.5 or a string is refused, not truncated)."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * count
    try:
        values = tuple(value)
    except TypeError:
        values = ()
    if len(values) != count or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{op}: {argument} must be {expected}, got {value!r}")
    return tuple(int(v) for v in values)


def check_4d(op: str, argument: str, value: Tensor, layout: str) -> None:
    """Refuse anything but a 4-D tensor, naming its layout."""
    if value.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D {layout} {argument}, got shape {value.shape}")


def constant_like(value: Any, dtype: Any, convert: Any = None) -> Any:
    """A Tensor as it is (it stays differentiable); any other value as a constant array of
    `dtype` (None: its own), or as `convert(value, dtype)` makes it."""
    if isinstance(value, Tensor):
        return value
    if convert is not None:
        return convert(value, dtype)
    return np.asarray(value, dtype=dtype)


def cast_like(value: Any, dtype: np.dtype) -> Any:
    """`value` in `dtype`: a Tensor through a recorded cast, anything else as an ndarray."""
    if isinstance(value, Tensor):
        return value if value.dtype == dtype else value.astype(dtype)
    return as_plain(value, dtype)


def check_float(op: str, argument: str, value: Tensor) -> None:
    """Refuse integer and boolean tensors where the kernels compute in floating point."""
    if value.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{op}: {argument} must be float32 or float64, got {value.dtype}; "
            "cast it with .astype(np.float32)"
        )


def match_dtype(op: str, input: Tensor, value: Any, argument: str) -> Tensor | None:
    """Constants take the input's dtype; Tensors must already share it (no silent upcast)."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        return Tensor(array_module(input.data).asarray(as_plain(value), dtype=input.dtype))
    if value.dtype != input.dtype:
        raise ValueError(
            f"{op}: {argument} has dtype {value.dtype} but input has dtype {input.dtype}; "
            "cast one of them with .astype"
        )
    return value


def check_arguments(
    op: str, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair
) -> None:
    """Positive kernel size, stride and dilation; non-negative padding."""
    for argument, value, low in (
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
        ("padding", padding, 0),
    ):
        if min(value) < low:
            kind = "positive" if low else "non-negative"
            raise ValueError(f"{op}: {argument} must be {kind}, got {value}")


def check_window(
    op: str,
    input_shape: tuple[int, ...],
    kernel_size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
) -> None:
    """Valid arguments, and a (dilated) window that fits inside the padded input."""
    check_arguments(op, kernel_size, stride, padding, dilation)
    for axis, size, k, p, d in zip("HW", input_shape[2:], kernel_size, padding, dilation):
        span = d * (k - 1) + 1
        if span > size + 2 * p:
            raise ValueError(
                f"{op}: kernel of size {kernel_size} (dilation {dilation}, spanning {span} "
                f"along {axis}) is larger than the padded input ({size} + 2 * {p}) for input "
                f"of shape {input_shape}"
            )


def floating(value: Any) -> Any:
    """Integer or bool input of a floating op as float32, so nothing wraps around in uint8."""
    if as_plain(data_of(value)).dtype.kind in "biu":
        return as_tensor(value, np.float32)
    return value


# ----- torch's spellings next to NumPy's -------------------------------------------------
def pick(op: str, numpy_name: str, numpy_value: Any, torch_name: str, torch_value: Any) -> Any:
    """One argument given under NumPy's name or torch's (`axis`/`dim`), never both."""
    if torch_value is None:
        return numpy_value
    if numpy_value is not None and numpy_value is not False:
        raise TypeError(
            f"{op}: got both {numpy_name}={numpy_value!r} and {torch_name}={torch_value!r}; "
            f"give one ({numpy_name} is NumPy's name, {torch_name} torch's)"
        )
    return torch_value


def axis_and_keep(
    op: str, axis: Any, keepdims: bool, dim: Any = None, keepdim: Any = None
) -> tuple[Any, bool]:
    """`axis`/`dim` and `keepdims`/`keepdim` resolved to one pair (both spellings accepted)."""
    return pick(op, "axis", axis, "dim", dim), bool(
        pick(op, "keepdims", keepdims, "keepdim", keepdim)
    )
