"""Preconditions and output-size arithmetic shared by the conv and pool kernels.

The op layer (`autograd_cv/ops/`) checks every argument a user passes and says what is
wrong; the kernels only *assert* what those checks guarantee, so a bug in a caller stops
at the kernel boundary instead of writing out of bounds. (`python -O` removes them.)
"""

from __future__ import annotations

import numpy as np

Pair = tuple[int, int]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_pair(value: int | tuple[int, int], name: str, op: str) -> Pair:
    """``value`` as an ``(h, w)`` pair of Python ints; a single int is used for both."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    h, w = value
    return int(h), int(w)


def check_positive(pair: Pair, name: str, op: str) -> None:
    """Assert both entries of ``pair`` are at least 1."""
    assert pair[0] >= 1 and pair[1] >= 1, f"{op}: {name} {pair}"


def check_non_negative(pair: Pair, name: str, op: str) -> None:
    """Assert both entries of ``pair`` are at least 0."""
    assert pair[0] >= 0 and pair[1] >= 0, f"{op}: {name} {pair}"


def check_array(array: np.ndarray, name: str, op: str, ndim: int = 4) -> None:
    """Assert ``array`` is a float32/float64 ndarray with ``ndim`` dimensions."""
    assert isinstance(array, np.ndarray) and array.dtype in FLOAT_DTYPES, f"{op}: {name}"
    assert array.ndim == ndim, f"{op}: {name} shape {array.shape}, expected {ndim}-D"


def check_same_dtype(op: str, **arrays: np.ndarray) -> None:
    """Assert the given arrays share one dtype (the kernels never upcast)."""
    assert len({a.dtype for a in arrays.values()}) == 1, f"{op}: dtypes differ"


def check_shape4(op: str, name: str, shape, layout: str) -> tuple[int, int, int, int]:
    """``shape`` as a tuple of 4 positive ints (asserted)."""
    shape = tuple(int(s) for s in shape)
    assert len(shape) == 4 and min(shape) >= 1, f"{op}: {name} {shape} {layout}"
    return shape


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length along one axis: floor((size + 2p - d*(k-1) - 1) / s) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def check_geometry(
    op: str,
    spatial_shape: tuple[int, int],
    kernel_size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
) -> Pair:
    """``(OH, OW)`` of a sliding window over ``spatial_shape`` (a valid geometry, asserted)."""
    check_positive(kernel_size, "kernel_size", op)
    check_positive(stride, "stride", op)
    check_positive(dilation, "dilation", op)
    check_non_negative(padding, "padding", op)
    out = tuple(
        output_size(spatial_shape[a], kernel_size[a], stride[a], padding[a], dilation[a])
        for a in (0, 1)
    )
    assert out[0] >= 1 and out[1] >= 1, f"{op}: window {kernel_size} larger than the input"
    return out[0], out[1]
