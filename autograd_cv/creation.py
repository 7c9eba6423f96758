"""Tensor factories with NumPy's and torch's names: zeros, full, arange, randn, eye, ...

Floating results are float32 unless `dtype` says otherwise; every factory takes torch's
`device=` (only the CPU in this build) and `requires_grad=`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv import backend, devices
from autograd_cv.tensor import DEFAULT_FLOAT, Tensor

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind `randn`, `rand`, `randint` (and layer initialisation)."""
    global _rng
    _rng = np.random.default_rng(int(seed))
    return _rng


def seed() -> int:
    """Seed the generator from fresh entropy and return that seed."""
    fresh = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(fresh)
    return fresh


def generator() -> np.random.Generator:
    """The package's random generator (seeded by `manual_seed`)."""
    return _rng


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def _make(array: np.ndarray, device: Any, requires_grad: bool, op: str) -> Tensor:
    if device is not None:
        array = backend.to_device(array, devices.resolve(device, op))
    return Tensor(array, requires_grad=requires_grad)


def zeros(
    *shape: Any, dtype: Any = DEFAULT_FLOAT, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros."""
    return _make(np.zeros(_shape(shape), dtype=dtype), device, requires_grad, "zeros")


def ones(
    *shape: Any, dtype: Any = DEFAULT_FLOAT, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ones."""
    return _make(np.ones(_shape(shape), dtype=dtype), device, requires_grad, "ones")


def empty(
    *shape: Any, dtype: Any = DEFAULT_FLOAT, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor whose values are whatever the memory held (fill it before reading)."""
    return _make(np.empty(_shape(shape), dtype=dtype), device, requires_grad, "empty")


def full(
    shape: Any,
    fill_value: Any,
    dtype: Any = DEFAULT_FLOAT,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor filled with one value (float32 unless `dtype` says otherwise)."""
    array = np.full(_shape((shape,)), fill_value, dtype=dtype)
    return _make(array, device, requires_grad, "full")


def eye(
    n: int,
    m: int | None = None,
    dtype: Any = DEFAULT_FLOAT,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The n x m identity matrix (square when `m` is None)."""
    return _make(
        np.eye(int(n), None if m is None else int(m), dtype=dtype), device, requires_grad, "eye"
    )


def _like(x: Any, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    data = x.data if isinstance(x, Tensor) else x if backend.is_array(x) else np.asarray(x)
    return data.shape, data.dtype if dtype is None else np.dtype(dtype)


def zeros_like(
    x: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Zeros with `x`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like(x, dtype)
    return _make(np.zeros(shape, dtype), device, requires_grad, "zeros_like")


def ones_like(x: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with `x`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like(x, dtype)
    return _make(np.ones(shape, dtype), device, requires_grad, "ones_like")


def empty_like(
    x: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Uninitialised values with `x`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like(x, dtype)
    return _make(np.empty(shape, dtype), device, requires_grad, "empty_like")


def full_like(
    x: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """`fill_value` everywhere, with `x`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like(x, dtype)
    return _make(np.full(shape, fill_value, dtype), device, requires_grad, "full_like")


def rand_like(x: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) with `x`'s shape and (floating) dtype."""
    shape, dtype = _like(x, dtype)
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(
    x: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples with `x`'s shape and (floating) dtype."""
    shape, dtype = _like(x, dtype)
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    stop: float | None = None,
) -> Tensor:
    """Evenly spaced values in [start, end) (NumPy's `stop` or torch's `end`).

    Integer arguments give int64, as both NumPy and torch; floating ones float32.
    """
    if stop is not None and end is not None:
        raise TypeError("arange: got both end= and stop=; give one")
    end = stop if end is None else end
    array = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is not None:
        array = array.astype(dtype)
    elif array.dtype.kind == "f":
        array = array.astype(DEFAULT_FLOAT)
    return _make(array, device, requires_grad, "arange")


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = DEFAULT_FLOAT,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    array = np.linspace(start, end, int(steps), dtype=np.float64).astype(dtype)
    return _make(array, device, requires_grad, "linspace")


def randn(
    *shape: Any, dtype: Any = DEFAULT_FLOAT, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples."""
    data = _rng.standard_normal(_shape(shape)).astype(dtype)
    return _make(data, device, requires_grad, "randn")


def rand(
    *shape: Any, dtype: Any = DEFAULT_FLOAT, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples in [0, 1)."""
    data = _rng.random(_shape(shape)).astype(dtype)
    return _make(data, device, requires_grad, "rand")


def randint(
    low: int,
    high: int | None = None,
    size: Any = None,
    dtype: Any = np.int64,
    device: Any = None,
    *,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Integers drawn uniformly from [low, high); `randint(high, size)` starts at 0 (torch)."""
    if size is None:
        if isinstance(high, (tuple, list)):  # torch's randint(high, size)
            low, high, size = 0, low, high
        else:
            raise TypeError("randint: give size=, a tuple such as (3, 4)")
    if high is None:
        low, high = 0, low
    rng = _rng if generator is None else generator
    data = rng.integers(int(low), int(high), size=_shape((size,))).astype(dtype)
    return _make(data, device, False, "randint")


def randperm(n: int, dtype: Any = np.int64, device: Any = None) -> Tensor:
    """A random permutation of 0..n-1."""
    return _make(_rng.permutation(int(n)).astype(dtype), device, False, "randperm")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory and dtype (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    return Tensor(array)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """`data` as a tensor, sharing memory with an ndarray when the dtype already fits."""
    if isinstance(data, Tensor):
        if device is not None:
            data = data.to(device)
        return data if dtype is None or data.dtype == np.dtype(dtype) else data.astype(dtype)
    return _make(Tensor(data, dtype=dtype).data, device, False, "as_tensor")
