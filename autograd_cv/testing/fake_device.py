"""A fake device backed by NumPy, strict the way CuPy is, to test device plumbing without a GPU.

`FakeArray` wraps an ndarray and behaves as a `cupy.ndarray` does towards NumPy: NumPy's
functions and ufuncs dispatch to it (`__array_function__`, `__array_ufunc__`), but it refuses
to be converted implicitly (`np.asarray(fake)` raises) and refuses NumPy arrays as operands
(`fake + ndarray` raises). Code that creates arrays with `np.zeros` instead of
`array_module(x).zeros`, or mixes host constants into device math, fails on it as it would
on a GPU. Its kernels are the CPU kernels behind the same strict wrapper.

    with fake_device("cuda"):          # registered as that device type for the block
        x = ag.tensor(values, device="cuda")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from autograd_cv import backend as backends
from autograd_cv.devices import device


class FakeArray(np.lib.mixins.NDArrayOperatorsMixin):
    """An ndarray on the fake device (see the module docstring)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "fake device: implicit conversion to a NumPy array is not allowed; use .get()"
        )

    def get(self) -> np.ndarray:
        """A host copy (CuPy's name)."""
        return self.array.copy()

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o, strict=True) for o in kwargs["out"])
        args = [_unwrap(v, strict=True) for v in inputs]
        return _wrap(getattr(ufunc, method)(*args, **kwargs))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _wrap(func(*_unwrap(args, strict=True), **_unwrap(kwargs, strict=True)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # no __array_interface__ & co: NumPy must not see through
            raise AttributeError(name)
        value = getattr(self.array, name)
        if callable(value):
            return _wrapped_call(value)
        return _wrap(value)

    def __getitem__(self, key: Any) -> Any:
        return _wrap(self.array[_unwrap(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        self.array[_unwrap(key)] = _unwrap(value)

    def __len__(self) -> int:
        return len(self.array)

    def __iter__(self) -> Iterator[Any]:
        return (_wrap(v) for v in self.array)

    def __bool__(self) -> bool:
        return bool(self.array)

    def __float__(self) -> float:
        return float(self.array)

    def __int__(self) -> int:
        return int(self.array)

    def __index__(self) -> int:
        return self.array.__index__()

    def __repr__(self) -> str:
        return f"FakeArray({self.array!r})"


def _unwrap(value: Any, strict: bool = False) -> Any:
    if isinstance(value, FakeArray):
        return value.array
    if isinstance(value, np.ndarray):
        if strict:
            raise TypeError(
                f"fake device: unsupported operand of type numpy.ndarray (shape {value.shape}) "
                "beside fake-device arrays; move it with the backend's asarray first"
            )
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, strict) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, strict) for k, v in value.items()}
    return value


def _wrap(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return FakeArray(value)
    if isinstance(value, np.generic):  # CuPy reductions give 0-d device arrays, not scalars
        return FakeArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _wrapped_call(function: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return _wrap(function(*_unwrap(args), **_unwrap(kwargs)))

    return call


class _Namespace:
    """A module whose functions take and return fake arrays (NumPy's API; the kernels)."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if isinstance(value, type) or not callable(value):
            return value
        return _wrapped_call(value)


class FakeBackend(backends.Backend):
    """NumPy arrays dressed as another device's, with the CPU kernels behind them."""

    array_type = FakeArray

    def __init__(self, name: str) -> None:
        from autograd_cv import kernels

        super().__init__(_Namespace(np), _Namespace(kernels))
        self.name = name
        #: host <-> device copies made so far (tests count them)
        self.transfers = 0

    def device_of(self, array: Any) -> device:
        return device(self.name, 0)

    def to_host(self, array: Any) -> np.ndarray:
        self.transfers += 1
        return array.array.copy()

    def from_host(self, array: np.ndarray, index: int | None = None) -> Any:
        self.transfers += 1
        return FakeArray(np.array(array, copy=True))

    def add_at(self, target: Any, index: Any, values: Any) -> None:
        np.add.at(target.array, _unwrap(index), _unwrap(values))


@contextmanager
def fake_device(name: str = "cuda") -> Iterator[FakeBackend]:
    """Register a fake backend as device type `name` for the body of a `with` block."""
    saved_type = dict(backends._by_type)
    saved_name = dict(backends._by_name)
    saved_reasons = dict(backends._unavailable)
    fake = FakeBackend(name)
    backends.register(fake)
    try:
        yield fake
    finally:
        backends._by_type.clear()
        backends._by_type.update(saved_type)
        backends._by_name.clear()
        backends._by_name.update(saved_name)
        backends._unavailable.clear()
        backends._unavailable.update(saved_reasons)
