"""How the dispatch turns an op's arguments into arrays: weak scalars, the default float,
one device. `Node.__call__` (autograd/node.py) calls these; nothing here records anything.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from autograd_cv.backend import CPU, backend_of, is_array
from autograd_cv.tensor import Tensor


def default_float(out: np.ndarray, arrays: Any) -> np.ndarray:
    """A float64 result of inputs none of which is float64 becomes float32, as in PyTorch.

    NumPy promotes integers to float64 (`int64 + float32`, `exp(int64)`); PyTorch gives
    the default float, float32 (or the widest float among the inputs).
    """
    floats = []
    for array in arrays:
        dtype = getattr(array, "dtype", None)
        if dtype is not None and dtype.kind in "fc":
            if dtype == np.float64 or dtype.kind == "c":
                return out
            floats.append(dtype)
    return out.astype(np.result_type(*floats) if floats else np.float32, copy=False)


def lift(values: tuple[Any, ...]) -> tuple[Tensor, ...]:
    """Turn an op's non-Tensor arguments into constant Tensors (on the Tensors' device)."""
    first = next(v.data for v in values if isinstance(v, Tensor))
    backend = backend_of(first)
    lifted = []
    for value in values:
        if not isinstance(value, Tensor):
            if not is_array(value):
                value = as_array(value, first.dtype)
                if backend is not CPU:
                    value = backend.xp.asarray(value)
            value = Tensor(value)
        lifted.append(value)
    return tuple(lifted)


def plain_arrays(op: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A plain-array call's arguments: scalars as arrays of the arrays' dtype and device."""
    arrays = [v for v in values if is_array(v)]
    # NumPy ops on 0-d arrays give NumPy scalars; among themselves those keep their dtype.
    scalars = [v.dtype for v in values if isinstance(v, np.generic)]
    like = arrays[0].dtype if arrays else scalars[0] if scalars else None
    backend = same_device(op, arrays) if arrays else CPU
    out = []
    for value in values:
        if not is_array(value):
            value = as_array(value, like)
            if backend is not CPU:
                value = backend.xp.asarray(value)
        out.append(value)
    return tuple(out)


def one_kind(op: str, arrays: list[Any]) -> None:
    """Check that an op's arrays are of one array type (else ask `same_device` for the error)."""
    kind = type(arrays[0])
    for array in arrays:
        if type(array) is not kind:
            same_device(op, arrays)
            return


def same_device(op: str, arrays: list[Any]) -> Any:
    """The one backend all `arrays` live on; an op mixing devices is an error naming both."""
    first = backend_of(arrays[0])
    where = first.device_of(arrays[0])
    for array in arrays[1:]:
        other = backend_of(array).device_of(array)
        if other != where:
            raise RuntimeError(
                f"{op}: expected all tensors on one device, got {where} and {other}; "
                "move them with .to(device) first"
            )
    return first


def as_output(value: Any) -> Any:
    """A forward's result as an array: device arrays stay, NumPy scalars become 0-d arrays."""
    return value if is_array(value) else np.asarray(value)


def as_array(value: Any, like: np.dtype | None = None) -> np.ndarray:
    """An op's argument as an ndarray; a scalar takes its dtype from `like`.

    Python and NumPy scalars are weak, as in PyTorch and NEP 50: `x * 2.0` keeps a
    float32 `x` float32, and so does `x * np.float64(2.0)`.
    """
    if isinstance(value, (bool, int, float, np.generic)) and not isinstance(value, np.bool_):
        if like is not None and like.kind == "f":
            return np.asarray(value, dtype=like)
        if isinstance(value, (float, np.floating)):
            return np.asarray(value, dtype=np.float32)
        if like is not None and like.kind in "iu" and not isinstance(value, bool):
            return np.asarray(value, dtype=like)
    return np.asarray(value)


def exclusive(grad: Any) -> bool:
    """Whether nothing but the caller's variable references `grad` and its memory.

    Counted references (sys.getrefcount also counts its own argument): the caller's local
    and this parameter for `grad`; for a whole-array view (a reshaped sum), `grad`'s base
    pointer. Then no node, hook, user or other leaf holds the memory, and `.grad` may take
    it without a copy.
    """
    if not backend_of(grad).numpy_views or sys.getrefcount(grad) > 3:
        return False
    base = grad.base
    if base is None:
        return True
    return (
        type(base) is type(grad) and base.base is None and base.size == grad.size
        and sys.getrefcount(base) <= 3  # grad's base pointer, `base`, the argument
    )  # fmt: skip
