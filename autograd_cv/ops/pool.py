"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d, max_pool1d, avg_pool1d,
max_unpool2d, and pixel_shuffle / pixel_unshuffle (pure reshapes).

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
from autograd_cv.backend import array_module, device_of, kernels_for, to_device
from autograd_cv.ops.arguments import (
    Pair,
    as_plain,
    as_tensor,
    check_float,
    check_window,
    data_of,
    mask_like,
    on_device_of,
    pair,
    single,
)
from autograd_cv.ops.shape import Pad
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
        flat_indices = self.indices.reshape(n * c, int(np.prod(self.indices.shape[2:])))
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


def _ceil_extra(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Rows (or columns) ceil_mode adds at the end: PyTorch rounds the output size up, but
    the last window must start inside the input or its left padding."""
    span = dilation * (kernel - 1) + 1
    out = -(-(size + 2 * padding - span) // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return max(0, (out - 1) * stride + span - (size + 2 * padding))


def _extras(shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair):
    return tuple(
        _ceil_extra(n, k, s, p, d)
        for n, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation)
    )


def _integer_max_pool(x, kernel, stride, padding, dilation, extra):
    """Max pooling of an integer array (no gradient): windows as a strided view, exactly."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else False
    widths = ((0, 0), (0, 0), (ph, ph + extra[0]), (pw, pw + extra[1]))
    padded = np.pad(x, widths, constant_values=low)
    spans = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, spans, axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]
    flat = windows.reshape(*windows.shape[:4], kh * kw)
    best = flat.argmax(axis=-1)
    values = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
    rows = np.arange(windows.shape[2])[:, None] * sh + (best // kw) * dh - ph
    cols = np.arange(windows.shape[3])[None, :] * sw + (best % kw) * dw - pw
    return values, rows * x.shape[3] + cols


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
    """Maximum over each window (padding counts as -inf); integer inputs work too (no grad).

    With return_indices, also the int64 Tensor of argmax positions, flat h * W + w in each
    plane (PyTorch's convention, as `max_unpool2d` reads them). ceil_mode rounds the output
    size up, as PyTorch.
    """
    op = "max_pool2d"
    batched, unbatched = _batched(op, input)
    geometry = _geometry(op, batched, kernel_size, stride, padding, dilation)
    extra = _extras(batched.shape, *geometry) if ceil_mode else (0, 0)
    if batched.dtype.kind not in "f":
        values, indices = _integer_max_pool(batched.data, *geometry, extra)
        out = Tensor(values)
    else:
        source = batched
        if any(extra):
            widths = ((0, 0), (0, 0), (0, extra[0]), (0, extra[1]))
            source = Pad(widths, -np.inf)(batched)
        node = MaxPool2d(*geometry)
        out = node(source)
        indices = node.saved
        if extra[1]:  # flat positions in the padded plane -> in the input plane
            width, padded_width = batched.shape[3], batched.shape[3] + extra[1]
            inside = indices >= 0
            indices = np.where(
                inside, indices // padded_width * width + indices % padded_width, indices
            )
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
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each window; padded zeros count in the mean when count_include_pad.

    ceil_mode rounds the output size up (the overhang never counts); divisor_override
    divides each window's sum by that number instead, as PyTorch.
    """
    op = "avg_pool2d"
    batched, unbatched = _batched(op, input)
    check_float(op, "input", batched)
    kernel_size, stride, padding, _ = _geometry(op, batched, kernel_size, stride, padding)
    extra = _extras(batched.shape, kernel_size, stride, padding, (1, 1)) if ceil_mode else (0, 0)
    if divisor_override is not None and (
        int(divisor_override) != divisor_override or divisor_override < 1
    ):
        raise ValueError(f"{op}: divisor_override must be a positive int, got {divisor_override}")
    if not any(extra) and divisor_override is None:
        out = AvgPool2d(kernel_size, stride, padding, bool(count_include_pad))(batched)
    else:
        # Window sums over the explicitly padded input, divided by PyTorch's divisor.
        (ph, pw), (kh, kw) = padding, kernel_size
        widths = ((0, 0), (0, 0), (ph, ph + extra[0]), (pw, pw + extra[1]))
        sums = AvgPool2d(kernel_size, stride, (0, 0), True)(Pad(widths, 0.0)(batched))
        sums = sums * float(kh * kw)
        if divisor_override is not None:
            out = sums / float(divisor_override)
        else:
            counts = [
                _window_counts(n, k, s, p, m, bool(count_include_pad))
                for n, k, s, p, m in zip(batched.shape[2:], kernel_size, stride, padding,
                                         sums.shape[2:])
            ]  # fmt: skip
            divisor = np.outer(*counts).astype(batched.dtype)
            out = sums / on_device_of(divisor, batched.data, op)
    return out.reshape(out.shape[1:]) if unbatched else out


def _window_counts(
    size: int, kernel: int, stride: int, padding: int, windows: int, count_include_pad: bool
) -> np.ndarray:
    """PyTorch's avg-pool divisor along one axis: the window clipped to the padded input
    (count_include_pad) or to the input itself; the ceil-mode overhang never counts."""
    start = np.arange(windows) * stride - padding
    end = np.minimum(start + kernel, size + padding)
    if not count_include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, size)
    return (end - start).astype(np.float64)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins: output i spans floor(i H / out) to
    ceil((i + 1) H / out); None in output_size keeps that input size."""
    op = "adaptive_avg_pool2d"
    batched, unbatched = _batched(op, input)
    check_float(op, "input", batched)
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


# ----- 1-d pools, max_unpool2d, pixel_shuffle (issue 14) ---------------------------------
class MaxUnpool2d(Node):
    """Put each value at its argmax position in a zero plane (the inverse of max_pool2d's
    gather, as PyTorch's max_unpool2d); its vjp gathers from those positions again."""

    name = "max_unpool2d"
    saves_inputs = False

    def __init__(self, indices: np.ndarray, output_size: Pair) -> None:
        self.indices, self.output_size = indices, tuple(output_size)

    def forward(self, x):
        n, c = x.shape[:2]
        h, w = self.output_size
        xp = array_module(x)
        out = xp.zeros((n * c, h * w), dtype=x.dtype)
        flat = self.indices.reshape(n * c, -1) if n * c else self.indices.reshape(0, 0)
        rows = np.broadcast_to(xp.arange(n * c)[:, None], flat.shape)
        keep = flat >= 0
        out[rows[keep], flat[keep]] = x.reshape(n * c, -1)[keep]
        return out.reshape(n, c, h, w)

    def vjp(self, grad, out, x):
        n, c, h, w = data_of(grad).shape
        flat = self.indices.reshape(n * c, -1)
        keep = flat >= 0
        rows = array_module(flat).arange(n * c)[:, None]
        gathered = grad.reshape(n * c, h * w)[rows, np.where(keep, flat, 0)]
        return ((gathered * mask_like(keep, grad)).reshape(self.indices.shape),)


def max_unpool2d(
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """Partial inverse of max_pool2d: each value goes back to its argmax (flat h * W + w in
    its plane), zeros elsewhere; (N, C, H, W) or unbatched (C, H, W)."""
    op = "max_unpool2d"
    batched, unbatched = _batched(op, input)
    # the indices go where the values are (a host array beside device values is moved over)
    index = to_device(as_plain(data_of(indices)), device_of(batched.data))
    index = index.reshape(batched.shape) if unbatched else index
    if index.shape != batched.shape or index.dtype.kind not in "iu":
        raise ValueError(
            f"{op}: indices must be integers of the input's shape {batched.shape}, got "
            f"{index.dtype} {index.shape}"
        )
    kernel_size = pair(kernel_size, "kernel_size", op)
    stride = kernel_size if stride is None else pair(stride, "stride", op)
    padding = pair(padding, "padding", op)
    if output_size is None:
        geometry = zip(batched.shape[2:], stride, padding, kernel_size)
        size = tuple((n - 1) * s - 2 * p + k for n, s, p, k in geometry)
    else:
        size = tuple(int(n) for n in tuple(output_size)[-2:])
    largest = int(index.max()) if index.size else -1
    if largest >= size[0] * size[1]:
        raise ValueError(f"{op}: index {largest} does not fit an output plane of size {size}")
    out = MaxUnpool2d(index.astype(np.int64), size)(batched)
    return out.reshape(out.shape[1:]) if unbatched else out


def _as_2d(op: str, input: Any) -> tuple[Tensor, bool]:
    """(N, C, L) or (C, L) as (N, C, 1, L); whether it was unbatched."""
    input = as_tensor(input)
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 3-D (N, C, L) or 2-D (C, L) input, got {input.shape}")
    unbatched = input.ndim == 2
    if unbatched:
        input = input.reshape(1, *input.shape)
    return input.reshape(input.shape[0], input.shape[1], 1, input.shape[2]), unbatched


def _from_2d(out: Tensor, unbatched: bool) -> Tensor:
    out = out.reshape(out.shape[0], out.shape[1], out.shape[3])
    return out.reshape(out.shape[1:]) if unbatched else out


def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over each window of an (N, C, L) or (C, L) input (max_pool2d over a height of 1)."""
    op = "max_pool1d"
    x, unbatched = _as_2d(op, input)
    k = single(kernel_size, "kernel_size", op)
    s = k if stride is None else single(stride, "stride", op)
    out = max_pool2d(x, (1, k), (1, s), (0, single(padding, "padding", op)),
                     (1, single(dilation, "dilation", op)), ceil_mode, True)  # fmt: skip
    values, indices = out
    values = _from_2d(values, unbatched)
    if not return_indices:
        return values
    index = indices.data.reshape(values.shape)  # on the input's device
    return values, Tensor(index)


def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over each window of an (N, C, L) or (C, L) input (avg_pool2d over a height of 1)."""
    op = "avg_pool1d"
    x, unbatched = _as_2d(op, input)
    k = single(kernel_size, "kernel_size", op)
    s = k if stride is None else single(stride, "stride", op)
    out = avg_pool2d(x, (1, k), (1, s), (0, single(padding, "padding", op)), ceil_mode,
                     count_include_pad)  # fmt: skip
    return _from_2d(out, unbatched)


def pixel_shuffle(input: Any, upscale_factor: int) -> Tensor:
    """(..., C r^2, H, W) -> (..., C, H r, W r), as PyTorch (sub-pixel convolution)."""
    input = as_tensor(input)
    r = int(upscale_factor)
    if input.ndim < 3 or r < 1 or input.shape[-3] % (r * r):
        raise ValueError(
            f"pixel_shuffle: input of shape {input.shape} needs (..., C * {r}**2, H, W)"
        )
    *lead, channels, h, w = input.shape
    c = channels // (r * r)
    x = input.reshape(-1, c, r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(*lead, c, h * r, w * r)


def pixel_unshuffle(input: Any, downscale_factor: int) -> Tensor:
    """(..., C, H r, W r) -> (..., C r^2, H, W): the inverse of pixel_shuffle."""
    input = as_tensor(input)
    r = int(downscale_factor)
    if input.ndim < 3 or r < 1 or input.shape[-2] % r or input.shape[-1] % r:
        raise ValueError(
            f"pixel_unshuffle: input of shape {input.shape} needs H and W divisible by {r}"
        )
    *lead, c, hr, wr = input.shape
    h, w = hr // r, wr // r
    x = input.reshape(-1, c, h, r, w, r).transpose(0, 1, 3, 5, 2, 4)
    return x.reshape(*lead, c * r * r, h, w)
