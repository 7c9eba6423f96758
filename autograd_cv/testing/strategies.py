"""Hypothesis strategies for property-testing ops: shapes, broadcasting, values, axes,
indices, and conv geometries. Needs `pip install autograd-cv[testing]` (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "autograd_cv.testing.strategies needs hypothesis: pip install 'autograd-cv[testing]'"
    ) from error


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    """Array shapes."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 4
):
    """Tuples of `num_shapes` shapes that broadcast together."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda result: result.input_shapes)


def arrays(shape: Any, dtype: Any = np.float64, low: float = -2.0, high: float = 2.0):
    """Arrays of `shape` (a shape or a strategy of shapes) with values in [low, high]."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        elements = st.floats(
            low, high, width=dtype.itemsize * 8, allow_nan=False, allow_infinity=False
        )
    else:
        elements = st.integers(int(low), int(high))
    return hnp.arrays(dtype, shape, elements=elements)


def away_from(values: Any, points: tuple[float, ...], margin: float = 1e-2):
    """Nudge array values at least `margin` away from kinks (0 for abs, ties for max)."""

    def nudge(array: np.ndarray) -> np.ndarray:
        array = np.array(array, copy=True)
        for p in points:
            close = np.abs(array - p) < margin
            array[close] = p + np.where(array[close] >= p, margin, -margin) * 2
        return array

    return values.map(nudge)


def distinct(values: Any, gap: float = 1e-3):
    """Arrays whose values are pairwise at least `gap` apart (no ties for max/min/sort)."""

    def spread(array: np.ndarray) -> np.ndarray:
        if array.size == 0:
            return array
        order = np.argsort(array, axis=None, kind="stable")
        ranks = np.empty(array.size)
        ranks[order] = np.arange(array.size)
        return (array + ranks.reshape(array.shape) * gap * 3).astype(array.dtype)

    return values.map(spread)


def reduction_axes(ndim: int):
    """None, one axis (maybe negative), or a tuple of distinct axes for an ndim-array."""
    if ndim == 0:
        return st.none()
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    return st.one_of(st.none(), one, several)


def basic_indices(shape: tuple[int, ...]):
    """Basic indices (ints, slices, None, Ellipsis) valid for `shape`."""
    return hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True)


def integer_array_indices(shape: tuple[int, ...]):
    """An integer-array index into the first axis, repeats allowed (they must accumulate)."""
    return hnp.arrays(np.int64, st.integers(1, 6), elements=st.integers(-shape[0], shape[0] - 1))


def boolean_masks(shape: tuple[int, ...]):
    """A boolean mask of `shape`."""
    return hnp.arrays(np.bool_, shape)


@dataclass(frozen=True)
class ConvGeometry:
    """A valid conv2d configuration (torch.nn.functional argument names)."""

    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    @property
    def output_size(self) -> tuple[int, int]:
        size = []
        for n, k, s, p, d in zip(
            (self.height, self.width), self.kernel_size, self.stride, self.padding, self.dilation
        ):
            size.append((n + 2 * p - d * (k - 1) - 1) // s + 1)
        return tuple(size)  # type: ignore[return-value]


@st.composite
def conv_geometries(
    draw, max_batch: int = 2, max_channels: int = 4, max_size: int = 7, max_kernel: int = 3
):
    """Valid (input, weight, stride, padding, dilation, groups) combinations for conv2d."""
    groups = draw(st.integers(1, 2))
    in_channels = groups * draw(st.integers(1, max(1, max_channels // groups)))
    out_channels = groups * draw(st.integers(1, max(1, max_channels // groups)))
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, kernel[0] // 2 + 1)), draw(st.integers(0, kernel[1] // 2 + 1)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    sizes = []
    for k, p, d in zip(kernel, padding, dilation):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        sizes.append(draw(st.integers(smallest, max(smallest, max_size))))
    return ConvGeometry(
        draw(st.integers(1, max_batch)), in_channels, out_channels, sizes[0], sizes[1],
        kernel, stride, padding, dilation, groups,
    )  # fmt: skip
