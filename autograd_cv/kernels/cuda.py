"""The CUDA backend: CuPy arrays, cuBLAS GEMMs (cupy.matmul) and Numba CUDA kernels.

Loaded only when a program asks for a GPU (`backend.py`'s loader), never by `import
autograd_cv`. The kernel table has the same functions, arguments and results as the CPU one
(`autograd_cv.kernels`): im2col/col2im and pooling are `numba.cuda` kernels, one thread per
output element; convolution is im2col + one GEMM per group, as on the CPU; batch norm is
written with the array module's reductions. `make_kernels(xp)` builds the table for any
array module, so the same code runs under Numba's CUDA simulator on NumPy arrays
(tests/kernels/test_cuda_kernels.py) where there is no GPU.

NOT YET RUN ON A GPU: see the README's CUDA section.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from autograd_cv.backend import Backend
from autograd_cv.devices import device

THREADS = 256

cuda: Any = None  # numba.cuda, imported by _jit() on first use

_compiled: dict[str, Any] = {}


def _jit() -> dict[str, Any]:
    """Compile (lazily, once) the Numba CUDA kernels; importing this module compiles nothing."""
    if _compiled:
        return _compiled
    # A module global, not a local: Numba's CUDA simulator swaps the kernels' global `cuda`.
    global cuda
    from numba import cuda

    @cuda.jit(cache=True)
    def im2col(x, geometry, out_h, out_w, col):  # pragma: no cover - device code
        kh, kw, sh, sw, ph, pw, dh, dw = geometry
        batch, channels, height, width = x.shape
        columns = batch * out_h * out_w
        k = cuda.grid(1)
        if k >= col.shape[0] * columns:
            return
        row, column = k // columns, k % columns
        c, i, j = row // (kh * kw), (row // kw) % kh, row % kw
        n, oh, ow = column // (out_h * out_w), (column // out_w) % out_h, column % out_w
        h, w = oh * sh - ph + i * dh, ow * sw - pw + j * dw
        if 0 <= h < height and 0 <= w < width:
            col[row, column] = x[n, c, h, w]
        else:
            col[row, column] = 0

    @cuda.jit(cache=True)
    def col2im(col, geometry, out_h, out_w, x):  # pragma: no cover - device code
        # One thread per input pixel gathers every tap that saw it: no atomics, deterministic.
        kh, kw, sh, sw, ph, pw, dh, dw = geometry
        batch, channels, height, width = x.shape
        k = cuda.grid(1)
        if k >= batch * channels * height * width:
            return
        n, c = k // (channels * height * width), (k // (height * width)) % channels
        h, w = (k // width) % height, k % width
        total = 0.0
        for i in range(kh):
            top = h + ph - i * dh
            if top < 0 or top % sh != 0 or top // sh >= out_h:
                continue
            oh = top // sh
            for j in range(kw):
                left = w + pw - j * dw
                if left < 0 or left % sw != 0 or left // sw >= out_w:
                    continue
                ow = left // sw
                total += col[(c * kh + i) * kw + j, (n * out_h + oh) * out_w + ow]
        x[n, c, h, w] = total

    @cuda.jit(cache=True)
    def max_pool(x, geometry, out, indices):  # pragma: no cover - device code
        kh, kw, sh, sw, ph, pw, dh, dw = geometry
        planes, height, width = x.shape
        out_h, out_w = out.shape[1], out.shape[2]
        k = cuda.grid(1)
        if k >= planes * out_h * out_w:
            return
        p, oh, ow = k // (out_h * out_w), (k // out_w) % out_h, k % out_w
        h0, w0 = oh * sh - ph, ow * sw - pw
        best = -math.inf
        best_index = -1
        plain = ph == 0 and pw == 0 and dh == 1 and dw == 1
        for i in range(kh):
            ih = h0 + i * dh
            if ih < 0 or ih >= height:
                continue
            for j in range(kw):
                iw = w0 + j * dw
                if iw < 0 or iw >= width:
                    continue
                value = x[p, ih, iw]
                # The CPU kernels' rules: the first maximum in window order; a NaN wins
                # (the first NaN unpadded, the last one padded).
                if plain:
                    wins = best_index < 0 or value > best or (value != value and best == best)
                else:
                    wins = best_index < 0 or value > best or value != value
                if wins:
                    best = value
                    best_index = ih * width + iw
        out[p, oh, ow] = best
        indices[p, oh, ow] = best_index

    @cuda.jit(cache=True)
    def max_unpool(grad_output, indices, grad_input):  # pragma: no cover - device code
        planes, size = grad_output.shape
        k = cuda.grid(1)
        if k >= planes * size:
            return
        p, o = k // size, k % size
        index = indices[p, o]
        if 0 <= index < grad_input.shape[1]:
            cuda.atomic.add(grad_input, (p, index), grad_output[p, o])

    @cuda.jit(cache=True)
    def avg_pool(x, geometry, count_include_pad, out):  # pragma: no cover - device code
        kh, kw, sh, sw, ph, pw = geometry
        planes, height, width = x.shape
        out_h, out_w = out.shape[1], out.shape[2]
        k = cuda.grid(1)
        if k >= planes * out_h * out_w:
            return
        p, oh, ow = k // (out_h * out_w), (k // out_w) % out_h, k % out_w
        h_lo, h_hi = max(oh * sh - ph, 0), min(oh * sh - ph + kh, height)
        w_lo, w_hi = max(ow * sw - pw, 0), min(ow * sw - pw + kw, width)
        total = 0.0
        for ih in range(h_lo, h_hi):
            for iw in range(w_lo, w_hi):
                total += x[p, ih, iw]
        count = kh * kw if count_include_pad else (h_hi - h_lo) * (w_hi - w_lo)
        out[p, oh, ow] = total / count

    @cuda.jit(cache=True)
    def avg_unpool(grad_output, geometry, count_include_pad, grad_input):  # pragma: no cover
        # One thread per input pixel gathers the share of every window holding it.
        kh, kw, sh, sw, ph, pw = geometry
        planes, height, width = grad_input.shape
        out_h, out_w = grad_output.shape[1], grad_output.shape[2]
        k = cuda.grid(1)
        if k >= planes * height * width:
            return
        p, ih, iw = k // (height * width), (k // width) % height, k % width
        total = 0.0
        for oh in range(out_h):
            h_lo, h_hi = max(oh * sh - ph, 0), min(oh * sh - ph + kh, height)
            if ih < h_lo or ih >= h_hi:
                continue
            for ow in range(out_w):
                w_lo, w_hi = max(ow * sw - pw, 0), min(ow * sw - pw + kw, width)
                if iw < w_lo or iw >= w_hi:
                    continue
                count = kh * kw if count_include_pad else (h_hi - h_lo) * (w_hi - w_lo)
                total += grad_output[p, oh, ow] / count
        grad_input[p, ih, iw] = total

    _compiled.update(
        im2col=im2col, col2im=col2im, max_pool=max_pool, max_unpool=max_unpool,
        avg_pool=avg_pool, avg_unpool=avg_unpool,
    )  # fmt: skip
    return _compiled


def _launch(name: str, total: int, *args: Any) -> None:
    kernel = _jit()[name]
    blocks = max(1, (total + THREADS - 1) // THREADS)
    kernel[blocks, THREADS](*[_device_view(a) for a in args])


def _device_view(value: Any) -> Any:
    """A CuPy array as Numba sees it, without the stream sync Numba would add by default."""
    if hasattr(value, "__cuda_array_interface__"):
        from numba import cuda

        return cuda.as_cuda_array(value, sync=False)
    return value


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def make_kernels(xp: Any) -> SimpleNamespace:
    """The kernel table on `xp`'s arrays (cupy on a GPU; numpy under the CUDA simulator)."""

    def im2col_sized(x, kernel_size, stride, padding, dilation, out_h, out_w):
        x = xp.ascontiguousarray(x)
        batch, channels = x.shape[:2]
        rows = channels * kernel_size[0] * kernel_size[1]
        col = xp.empty((rows, batch * out_h * out_w), dtype=x.dtype)
        geometry = (*kernel_size, *stride, *padding, *dilation)
        _launch("im2col", col.size, x, geometry, out_h, out_w, col)
        return col

    def col2im_sized(col, input_shape, kernel_size, stride, padding, dilation, out_h, out_w):
        x = xp.empty(tuple(input_shape), dtype=col.dtype)
        geometry = (*kernel_size, *stride, *padding, *dilation)
        _launch("col2im", x.size, xp.ascontiguousarray(col), geometry, out_h, out_w, x)
        return x

    def im2col(x, kernel_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        out_h, out_w = (
            _out_size(n, k, s, p, d)
            for n, k, s, p, d in zip(x.shape[2:], kernel_size, stride, padding, dilation)
        )
        return im2col_sized(x, kernel_size, stride, padding, dilation, out_h, out_w)

    def col2im(col, input_shape, kernel_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        out_h, out_w = (
            _out_size(n, k, s, p, d)
            for n, k, s, p, d in zip(input_shape[2:], kernel_size, stride, padding, dilation)
        )
        return col2im_sized(col, input_shape, kernel_size, stride, padding, dilation, out_h, out_w)

    def conv2d_forward(x, weight, bias, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        out_channels, kernel_size = weight.shape[0], tuple(weight.shape[2:])
        out_h, out_w = (
            _out_size(n, k, s, p, d)
            for n, k, s, p, d in zip(x.shape[2:], kernel_size, stride, padding, dilation)
        )
        col = im2col_sized(x, kernel_size, stride, padding, dilation, out_h, out_w)
        weight_groups = xp.ascontiguousarray(weight).reshape(groups, out_channels // groups, -1)
        rows = xp.matmul(weight_groups, col.reshape(groups, -1, col.shape[1]))  # cuBLAS
        rows = rows.reshape(out_channels, x.shape[0], out_h, out_w)
        if bias is not None:
            rows = rows + bias.reshape(-1, 1, 1, 1)
        return xp.ascontiguousarray(rows.transpose(1, 0, 2, 3))

    def _rows(grad_output):
        """(N, O, OH, OW) as the (O, N * OH * OW) GEMM operand."""
        batch, out_channels = grad_output.shape[:2]
        return xp.ascontiguousarray(grad_output.transpose(1, 0, 2, 3)).reshape(out_channels, -1)

    def conv2d_backward_input(
        grad_output, weight, input_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
        groups=1,
    ):  # fmt: skip
        out_channels, kernel_size = weight.shape[0], tuple(weight.shape[2:])
        out_h, out_w = grad_output.shape[2:]
        weight_groups = xp.ascontiguousarray(weight).reshape(groups, out_channels // groups, -1)
        rows = _rows(grad_output).reshape(groups, out_channels // groups, -1)
        col = xp.matmul(weight_groups.transpose(0, 2, 1), rows)
        col = col.reshape(-1, col.shape[2])
        return col2im_sized(col, input_shape, kernel_size, stride, padding, dilation, out_h, out_w)

    def conv2d_backward_weight(
        x, grad_output, weight_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1
    ):
        out_channels, kernel_size = weight_shape[0], tuple(weight_shape[2:])
        out_h, out_w = grad_output.shape[2:]
        col = im2col_sized(x, kernel_size, stride, padding, dilation, out_h, out_w)
        rows = _rows(grad_output).reshape(groups, out_channels // groups, -1)
        col_groups = col.reshape(groups, -1, col.shape[1])
        grad_weight = xp.matmul(rows, col_groups.transpose(0, 2, 1))
        return grad_weight.reshape(tuple(weight_shape))

    def _pool_out(shape, kernel_size, stride, padding, dilation=(1, 1)):
        return tuple(
            _out_size(n, k, s, p, d)
            for n, k, s, p, d in zip(shape[2:], kernel_size, stride, padding, dilation)
        )

    def max_pool2d_forward(x, kernel_size, stride, padding=(0, 0), dilation=(1, 1)):
        batch, channels, height, width = x.shape
        out_h, out_w = _pool_out(x.shape, kernel_size, stride, padding, dilation)
        out = xp.empty((batch, channels, out_h, out_w), dtype=x.dtype)
        indices = xp.empty((batch, channels, out_h, out_w), dtype=np.int64)
        planes = xp.ascontiguousarray(x).reshape(batch * channels, height, width)
        geometry = (*kernel_size, *stride, *padding, *dilation)
        _launch(
            "max_pool", out.size, planes, geometry,
            out.reshape(batch * channels, out_h, out_w),
            indices.reshape(batch * channels, out_h, out_w),
        )  # fmt: skip
        return out, indices

    def max_pool2d_backward(grad_output, indices, input_shape):
        batch, channels, height, width = input_shape
        planes = batch * channels
        grad_input = xp.zeros((planes, height * width), dtype=grad_output.dtype)
        _launch(
            "max_unpool", grad_output.size,
            xp.ascontiguousarray(grad_output).reshape(planes, -1),
            xp.ascontiguousarray(indices).reshape(planes, -1), grad_input,
        )  # fmt: skip
        return grad_input.reshape(tuple(input_shape))

    def avg_pool2d_forward(x, kernel_size, stride, padding=(0, 0), count_include_pad=True):
        batch, channels, height, width = x.shape
        out_h, out_w = _pool_out(x.shape, kernel_size, stride, padding)
        out = xp.empty((batch * channels, out_h, out_w), dtype=x.dtype)
        planes = xp.ascontiguousarray(x).reshape(batch * channels, height, width)
        geometry = (*kernel_size, *stride, *padding)
        _launch("avg_pool", out.size, planes, geometry, bool(count_include_pad), out)
        return out.reshape(batch, channels, out_h, out_w)

    def avg_pool2d_backward(
        grad_output, input_shape, kernel_size, stride, padding=(0, 0), count_include_pad=True
    ):
        batch, channels, height, width = input_shape
        grad_input = xp.empty((batch * channels, height, width), dtype=grad_output.dtype)
        planes = xp.ascontiguousarray(grad_output).reshape(batch * channels, *grad_output.shape[2:])
        geometry = (*kernel_size, *stride, *padding)
        _launch(
            "avg_unpool", grad_input.size, planes, geometry, bool(count_include_pad), grad_input
        )
        return grad_input.reshape(tuple(input_shape))

    def batch_norm_forward(x, weight, bias, eps):
        # As the CPU kernel: statistics in float64 by two passes, results in x's dtype.
        planes = xp.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)
        mean = planes.mean(axis=(0, 2), dtype=np.float64)
        centred = planes - mean[None, :, None]
        var = (centred * centred).mean(axis=(0, 2))
        inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype)
        normalised = (centred * inv_std[None, :, None]).astype(x.dtype)
        out = (
            normalised * weight.astype(x.dtype)[None, :, None] + bias.astype(x.dtype)[None, :, None]
        )
        return out.reshape(x.shape), normalised.reshape(x.shape), mean, var, inv_std

    def batch_norm_backward(grad, normalised, weight, inv_std, sums=None):
        grad_planes = xp.ascontiguousarray(grad).reshape(grad.shape[0], grad.shape[1], -1)
        normalised_planes = xp.ascontiguousarray(normalised).reshape(grad_planes.shape)
        sum_grad = grad_planes.sum(axis=(0, 2), dtype=np.float64)
        sum_projection = (grad_planes * normalised_planes).sum(axis=(0, 2), dtype=np.float64)
        count = grad_planes.shape[0] * grad_planes.shape[2]
        dtype = grad.dtype
        scale = (weight * inv_std).astype(dtype)[None, :, None]
        mean_grad = (sum_grad / count).astype(dtype)[None, :, None]
        mean_projection = (sum_projection / count).astype(dtype)[None, :, None]
        grad_input = scale * (grad_planes - mean_grad - normalised_planes * mean_projection)
        return grad_input.reshape(grad.shape), sum_projection.astype(dtype), sum_grad.astype(dtype)

    def relu_backward(grad, out):
        return grad * (out > 0).astype(grad.dtype)

    def channel_sums(grad, normalised):
        grad_planes = xp.ascontiguousarray(grad).reshape(grad.shape[0], grad.shape[1], -1)
        normalised_planes = xp.ascontiguousarray(normalised).reshape(grad_planes.shape)
        sum_grad = grad_planes.sum(axis=(0, 2), dtype=np.float64)
        sum_projection = (grad_planes * normalised_planes).sum(axis=(0, 2), dtype=np.float64)
        return xp.stack([sum_grad, sum_projection]).astype(grad.dtype)

    return SimpleNamespace(
        im2col=im2col, col2im=col2im, conv2d_forward=conv2d_forward,
        conv2d_backward_input=conv2d_backward_input,
        conv2d_backward_weight=conv2d_backward_weight,
        max_pool2d_forward=max_pool2d_forward, max_pool2d_backward=max_pool2d_backward,
        avg_pool2d_forward=avg_pool2d_forward, avg_pool2d_backward=avg_pool2d_backward,
        batch_norm_forward=batch_norm_forward, batch_norm_backward=batch_norm_backward,
        channel_sums=channel_sums, relu_backward=relu_backward,
    )  # fmt: skip


class CudaBackend(Backend):
    """CuPy arrays on NVIDIA GPUs."""

    name = "cuda"

    def __init__(self, cupy: Any) -> None:
        super().__init__(cupy, make_kernels(cupy))
        self.array_type = cupy.ndarray
        self.cupy = cupy

    def device_of(self, array: Any) -> device:
        return device("cuda", array.device.id)

    def to_host(self, array: Any) -> np.ndarray:
        return self.cupy.asnumpy(array)

    def from_host(self, array: np.ndarray, index: int | None = None) -> Any:
        if index is None:
            return self.cupy.asarray(array)
        with self.cupy.cuda.Device(index):
            return self.cupy.asarray(array)

    def add_at(self, target: Any, index: Any, values: Any) -> None:
        import cupyx

        cupyx.scatter_add(target, index, values)

    def synchronize(self) -> None:
        self.cupy.cuda.get_current_stream().synchronize()

    def device_count(self) -> int:
        return self.cupy.cuda.runtime.getDeviceCount()


def load_backend() -> CudaBackend:
    """The CUDA backend, or an ImportError/RuntimeError saying in one line what is missing."""
    try:
        import cupy
    except ImportError as error:
        raise ImportError(
            f"CuPy is not installed ({error}); install autograd-cv[cuda12] or autograd-cv[cuda13]"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CuPy raises its own CUDARuntimeError without a driver
        raise RuntimeError(f"CuPy found no usable GPU ({error})") from None
    if count < 1:
        raise RuntimeError("CuPy found no GPU")
    try:
        from numba import cuda
    except ImportError as error:
        raise ImportError(f"numba-cuda is not installed ({error})") from None
    if not cuda.is_available():
        raise RuntimeError("Numba's CUDA support finds no GPU (is numba-cuda installed?)")
    return CudaBackend(cupy)
