"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d.

Each pool comes with its backward as a second Node, so that a vjp on Tensors is recorded:
max pooling's backward scatters the cotangent to the argmax positions (its own vjp
gathers from them again); average pooling is linear and its backward's vjp is the
average pool itself. Called on ndarrays (a plain backward) those Nodes just run their
kernels; on Tensors they are recorded, so pooling can be differentiated twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.backend import array_module, kernels_for
from autograd_cv.ops.arguments import (
    Pair,
    as_tensor,
    check_float,
    check_window,
    data_of,
    mask_like,
    pair,
)
from autograd_cv.tensor import Tensor


class MaxPool2d(Node):
    name = "max_pool2d"

    def __init__(self, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation = dilation

    def forward(self, x):
        out, indices = kernels_for(x).max_pool2d_forward(
            x, self.kernel_size, self.stride, self.padding, self.dilation
        )
        self.saved = indices
        return out

    def vjp(self, grad, out, x):
        return (MaxPool2dBackward(self.saved, data_of(x).shape)(grad),)


class MaxPool2dBackward(Node):
    """Scatter a pooled cotangent to the argmax positions (the adjoint of the gather)."""

    name = "max_pool2d_backward"

    def __init__(self, indices: np.ndarray, input_shape: tuple[int, ...]) -> None:
        self.indices, self.input_shape = indices, tuple(input_shape)

    def forward(self, grad_output):
        kernels = kernels_for(grad_output)
        return kernels.max_pool2d_backward(grad_output, self.indices, self.input_shape)

    def vjp(self, grad, out, grad_output):
        # Gather grad at the argmax of each window: plane by plane, flat index h * W + w.
        # A window lying wholly in the padding has index -1 and gathers nothing.
        n, c, h, w = self.input_shape
        flat_indices = self.indices.reshape(n * c, -1)
        empty = flat_indices < 0
        if empty.any():
            flat_indices = np.where(empty, 0, flat_indices)
        rows = array_module(self.indices).arange(n * c)[:, None]
        gathered = grad.reshape(n * c, h * w)[rows, flat_indices]
        if empty.any():
            gathered = gathered * mask_like(~empty, grad)
        return (gathered.reshape(self.indices.shape),)


class AvgPool2d(Node):
    name = "avg_pool2d"

    def __init__(
        self, kernel_size: Pair, stride: Pair, padding: Pair, count_include_pad: bool
    ) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return kernels_for(x).avg_pool2d_forward(
            x, self.kernel_size, self.stride, self.padding, self.count_include_pad
        )

    def vjp(self, grad, out, x):
        geometry = (self.kernel_size, self.stride, self.padding, self.count_include_pad)
        return (AvgPool2dBackward(data_of(x).shape, *geometry)(grad),)


class AvgPool2dBackward(Node):
    """Spread a pooled cotangent over its windows; linear, with avg_pool2d as its vjp."""

    name = "avg_pool2d_backward"

    def __init__(
        self,
        input_shape: tuple[int, ...],
        kernel_size: Pair,
        stride: Pair,
        padding: Pair,
        count_include_pad: bool,
    ) -> None:
        self.input_shape = tuple(input_shape)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad

    def forward(self, grad_output):
        return kernels_for(grad_output).avg_pool2d_backward(
            grad_output, self.input_shape, self.kernel_size, self.stride, self.padding,
            self.count_include_pad,
        )  # fmt: skip

    def vjp(self, grad, out, grad_output):
        geometry = (self.kernel_size, self.stride, self.padding, self.count_include_pad)
        return (AvgPool2d(*geometry)(grad),)


# ----- argument checks ------------------------------------------------------------------
def _batched(op: str, input: Any) -> tuple[Tensor, bool]:
    """A 4-D view of an (N, C, H, W) or unbatched (C, H, W) input, and whether it was 3-D."""
    input = as_tensor(input)
    check_float(op, "input", input)
    if input.ndim == 3:
        return input.reshape(1, *input.shape), True
    if input.ndim != 4:
        raise ValueError(
            f"{op}: expected a 4-D (N, C, H, W) or 3-D (C, H, W) input, got shape {input.shape}"
        )
    return input, False


def _geometry(
    op: str, input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1
) -> tuple[Pair, Pair, Pair, Pair]:
    kernel_size = pair(kernel_size, "kernel_size", op)
    # PyTorch's default: stride = kernel_size (non-overlapping windows).
    stride = kernel_size if stride is None else pair(stride, "stride", op)
    padding, dilation = pair(padding, "padding", op), pair(dilation, "dilation", op)
    check_window(op, input.shape, kernel_size, stride, padding, dilation)
    if any(2 * p > k for p, k in zip(padding, kernel_size)):
        raise ValueError(
            f"{op}: padding {padding} must be at most half of kernel_size {kernel_size}"
        )
    return kernel_size, stride, padding, dilation


def _check_ceil_mode(op: str, ceil_mode: bool) -> None:
    if ceil_mode:
        raise ValueError(f"{op}: ceil_mode=True is not supported; pad the input instead")


# ----- public functions -----------------------------------------------------------------
def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over each window (padding counts as -inf).

    With return_indices, also the int64 Tensor of argmax positions, flat h * W + w in each
    plane (PyTorch's convention, as `max_unpool2d` reads them).
    """
    op = "max_pool2d"
    _check_ceil_mode(op, ceil_mode)
    batched, unbatched = _batched(op, input)
    geometry = _geometry(op, batched, kernel_size, stride, padding, dilation)
    node = MaxPool2d(*geometry)
    out = node(batched)
    indices = node.saved
    if unbatched:
        out, indices = out.reshape(out.shape[1:]), indices.reshape(indices.shape[1:])
    return (out, Tensor(indices)) if return_indices else out


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over each window; padded zeros count in the mean when count_include_pad."""
    op = "avg_pool2d"
    _check_ceil_mode(op, ceil_mode)
    batched, unbatched = _batched(op, input)
    kernel_size, stride, padding, _ = _geometry(op, batched, kernel_size, stride, padding)
    out = AvgPool2d(kernel_size, stride, padding, bool(count_include_pad))(batched)
    return out.reshape(out.shape[1:]) if unbatched else out


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins: output i spans floor(i H / out) to
    ceil((i + 1) H / out); None in output_size keeps that input size."""
    op = "adaptive_avg_pool2d"
    batched, unbatched = _batched(op, input)
    sizes = (
        (output_size, output_size) if not isinstance(output_size, (tuple, list)) else output_size
    )
    if len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    spatial = batched.shape[2:]
    target = tuple(n if s is None else int(s) for s, n in zip(sizes, spatial))
    if min(target) < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if all(n % t == 0 for n, t in zip(spatial, target)):
        kernel = tuple(n // t for n, t in zip(spatial, target))
        out = AvgPool2d(kernel, kernel, (0, 0), True)(batched)
    else:
        # Bins are rectangles, so their mean is separable: average rows, then columns,
        # each a product with a constant (out, in) averaging matrix.
        xp = array_module(batched.data)
        rows, columns = (_bin_matrix(n, t, batched.dtype, xp) for n, t in zip(spatial, target))
        out = rows @ (batched @ columns.T)
    return out.reshape(out.shape[1:]) if unbatched else out


def _bin_matrix(size: int, bins: int, dtype: np.dtype, xp: Any = np) -> np.ndarray:
    """(bins, size) matrix whose row i averages PyTorch's adaptive bin i (built by `xp`)."""
    starts = (np.arange(bins) * size) // bins
    ends = -((-(np.arange(1, bins + 1)) * size) // bins)  # ceil((i + 1) * size / bins)
    positions = np.arange(size)
    inside = (positions >= starts[:, None]) & (positions < ends[:, None])
    return xp.asarray((inside / inside.sum(axis=1, keepdims=True)).astype(dtype))
