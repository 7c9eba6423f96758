"""Argument checks and output-size arithmetic shared by the conv and pool kernels."""

from __future__ import annotations

import numpy as np

Pair = tuple[int, int]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_pair(value: int | tuple[int, int], name: str, op: str) -> Pair:
    """Return ``value`` as an ``(h, w)`` pair of Python ints; a single int is used for both."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    try:
        h, w = value
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be an int or an (h, w) pair, got {value!r}") from None
    if not isinstance(h, (int, np.integer)) or not isinstance(w, (int, np.integer)):
        raise ValueError(f"{op}: {name} must hold ints, got {value!r}")
    return int(h), int(w)


def check_positive(pair: Pair, name: str, op: str) -> None:
    """Raise unless both entries of ``pair`` are at least 1."""
    if pair[0] < 1 or pair[1] < 1:
        raise ValueError(f"{op}: {name} must be positive, got {pair}")


def check_non_negative(pair: Pair, name: str, op: str) -> None:
    """Raise unless both entries of ``pair`` are at least 0."""
    if pair[0] < 0 or pair[1] < 0:
        raise ValueError(f"{op}: {name} must be non-negative, got {pair}")


def check_array(array: np.ndarray, name: str, op: str, ndim: int = 4) -> None:
    """Raise unless ``array`` is a float32/float64 ndarray with ``ndim`` dimensions."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {array.dtype}")
    if array.ndim != ndim:
        layout = {4: " (NCHW)", 1: ""}.get(ndim, "")
        raise ValueError(f"{op}: {name} must be {ndim}-D{layout}, got shape {array.shape}")


def check_same_dtype(op: str, **arrays: np.ndarray) -> None:
    """Raise if the given arrays do not all share one dtype (we never upcast silently)."""
    dtypes = {name: array.dtype for name, array in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items())
        raise TypeError(f"{op}: dtypes differ ({listed}); cast them to one dtype first")


def check_shape4(
    op: str, name: str, shape, layout: str, empty_batch: bool = False
) -> tuple[int, int, int, int]:
    """Return ``shape`` as a tuple of 4 positive ints, or raise naming ``name`` and ``layout``.

    With ``empty_batch`` the first entry (a batch of inputs) may be 0.
    """
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be 4 positive ints {layout}, got {shape!r}") from None
    if len(shape) != 4 or min(shape[1:] if empty_batch else shape) < 1 or shape[0] < 0:
        raise ValueError(f"{op}: {name} must be 4 positive ints {layout}, got {shape}")
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
    """Validate a sliding-window geometry over ``spatial_shape`` and return ``(OH, OW)``."""
    check_positive(kernel_size, "kernel_size", op)
    check_positive(stride, "stride", op)
    check_positive(dilation, "dilation", op)
    check_non_negative(padding, "padding", op)
    out = tuple(
        output_size(spatial_shape[a], kernel_size[a], stride[a], padding[a], dilation[a])
        for a in (0, 1)
    )
    if out[0] < 1 or out[1] < 1:
        effective = tuple(dilation[a] * (kernel_size[a] - 1) + 1 for a in (0, 1))
        padded = tuple(spatial_shape[a] + 2 * padding[a] for a in (0, 1))
        raise ValueError(
            f"{op}: kernel_size {kernel_size} (dilated extent {effective}) is larger than the "
            f"padded input {padded} (input {tuple(spatial_shape)}, padding {padding})"
        )
    return out[0], out[1]
