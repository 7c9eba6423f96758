"""Tensor factories: zeros, ones, full, arange, randn, rand (float32 unless told)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.tensor import Tensor

_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind `randn` and `rand` (and layer initialisation)."""
    global _rng
    _rng = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The package's random generator (seeded by `manual_seed`)."""
    return _rng


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def full(
    shape: Any, fill_value: float, dtype: Any = np.float32, requires_grad: bool = False
) -> Tensor:
    """A tensor filled with one value."""
    return Tensor(np.full(_shape((shape,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x: Tensor | np.ndarray, requires_grad: bool = False) -> Tensor:
    """Zeros with `x`'s shape and dtype."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.zeros_like(data), requires_grad=requires_grad)


def ones_like(x: Tensor | np.ndarray, requires_grad: bool = False) -> Tensor:
    """Ones with `x`'s shape and dtype."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.ones_like(data), requires_grad=requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """Evenly spaced values in [start, stop) (NumPy's arange)."""
    return Tensor(
        np.arange(start, stop, step, dtype=dtype)
        if stop is not None
        else np.arange(start, dtype=dtype)
    )


def randn(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    data = _rng.standard_normal(_shape(shape)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    data = _rng.random(_shape(shape)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)
