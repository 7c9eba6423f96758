"""The CUDA backend: CuPy arrays, cuBLAS GEMMs (cupy.matmul) and CUDA C kernels.

Loaded only when a program asks for a GPU (`backend.py`'s loader), never by `import
autograd_cv`. The kernel table has the same functions, arguments and results as the CPU one
(`autograd_cv.kernels`): im2col/col2im and pooling are the CUDA C kernels in `cuda_source.cu`,
one thread per output element, compiled by CuPy (NVRTC) on first use and cached on disk by
CuPy; convolution is im2col + one GEMM per group, as on the CPU; batch norm is written with
CuPy's reductions; SGD with momentum is one CuPy elementwise kernel; erf is CuPy's.

The kernels are CuPy raw kernels rather than Numba CUDA ones: numba-cuda 0.30.4 compiled none
under NumPy 2.5 on the GPU machine (it registers `np.row_stack`, which NumPy 2.5 removed), and
CuPy launches them without a second library's per-call argument conversion.
`tests/kernels/test_cuda_source.py` compiles the same source with the host's C++ compiler and
checks it against the CPU kernels, so the index arithmetic is tested without a GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from autograd_cv.backend import Backend
from autograd_cv.devices import device
from autograd_cv.kernels.optim import fusable

THREADS = 256
#: the CUDA C kernels (templates over the element type and the index type)
SOURCE = Path(__file__).with_name("cuda_source.cu")
#: NumPy dtype -> the C type the templates are instantiated with
C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
#: the index type, and the NumPy scalar the sizes are passed as: 32-bit where every array
#: holds under 2**31 elements (a GPU divides 32-bit integers several times faster)
INDEX_TYPES = {False: ("int", np.int32), True: ("long long", np.int64)}
NARROW_LIMIT = 2**31 - THREADS

_functions: dict[tuple[str, str, str], Any] = {}


def _function(cupy: Any, name: str, dtype: np.dtype, index: str) -> Any:
    """Kernel template `name` for `dtype` and `index`, compiled on first use (CuPy caches it)."""
    c_type = C_TYPES.get(np.dtype(dtype))
    if c_type is None:
        raise TypeError(f"{name}: the CUDA kernels take no {np.dtype(dtype)} arrays")
    key = (name, c_type, index)
    found = _functions.get(key)
    if found is None:
        expression = f"{name}<{c_type}, {index}>"
        module = cupy.RawModule(code=SOURCE.read_text(), name_expressions=[expression])
        found = _functions[key] = module.get_function(expression)
    return found


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def make_kernels(
    xp: Any, kernel: Callable[[str, np.dtype, str], Any] | None = None
) -> SimpleNamespace:
    """The kernel table on `xp`'s arrays: cupy's, with `cuda_source.cu` compiled by CuPy.

    `kernel(name, dtype, index)` gives a function called as CuPy's raw kernels are, `(grid,
    block, args)`; the tests pass the same source compiled for the host, with `xp` = numpy.
    """
    kernel = kernel or (lambda name, dtype, index: _function(xp, name, dtype, index))

    def launch(name, dtype, total, *args):
        """Kernel `name` on `total` threads; sizes go as the index type, arrays as pointers."""
        if total == 0:
            return
        largest = max([total, *(a.size for a in args if hasattr(a, "size"))])
        index, scalar = INDEX_TYPES[largest > NARROW_LIMIT]
        blocks = (total + THREADS - 1) // THREADS
        values = [scalar(a) if isinstance(a, (int, np.integer)) else a for a in args]
        kernel(name, dtype, index)((blocks,), (THREADS,), (*values, scalar(total)))

    def im2col_sized(x, kernel_size, stride, padding, dilation, out_h, out_w):
        x = xp.ascontiguousarray(x)
        batch, channels, height, width = x.shape
        columns = batch * out_h * out_w
        col = xp.empty((channels * kernel_size[0] * kernel_size[1], columns), dtype=x.dtype)
        geometry = (*kernel_size, *stride, *padding, *dilation)
        launch("im2col", x.dtype, col.size, x, channels, height, width, *geometry,
               out_h, out_w, columns, col)  # fmt: skip
        return col

    def col2im_sized(col, input_shape, kernel_size, stride, padding, dilation, out_h, out_w):
        batch, channels, height, width = input_shape
        x = xp.empty(tuple(input_shape), dtype=col.dtype)
        geometry = (*kernel_size, *stride, *padding, *dilation)
        launch("col2im", col.dtype, x.size, xp.ascontiguousarray(col), channels, height, width,
               *geometry, out_h, out_w, batch * out_h * out_w, x)  # fmt: skip
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
        geometry = (*kernel_size, *stride, *padding, *dilation)
        launch("max_pool", x.dtype, out.size, xp.ascontiguousarray(x), height, width, *geometry,
               out_h, out_w, out, indices)  # fmt: skip
        return out, indices

    def max_pool2d_backward(grad_output, indices, input_shape):
        batch, channels, height, width = input_shape
        planes = batch * channels
        grad_input = xp.zeros((planes, height * width), dtype=grad_output.dtype)
        size = grad_output.size // planes if planes else 0
        launch("max_unpool", grad_output.dtype, grad_output.size,
               xp.ascontiguousarray(grad_output), xp.ascontiguousarray(indices, dtype=np.int64),
               size, height * width, grad_input)  # fmt: skip
        return grad_input.reshape(tuple(input_shape))

    def avg_pool2d_forward(x, kernel_size, stride, padding=(0, 0), count_include_pad=True):
        batch, channels, height, width = x.shape
        out_h, out_w = _pool_out(x.shape, kernel_size, stride, padding)
        out = xp.empty((batch, channels, out_h, out_w), dtype=x.dtype)
        geometry = (*kernel_size, *stride, *padding)
        launch("avg_pool", x.dtype, out.size, xp.ascontiguousarray(x), height, width, *geometry,
               bool(count_include_pad), out_h, out_w, out)  # fmt: skip
        return out

    def avg_pool2d_backward(
        grad_output, input_shape, kernel_size, stride, padding=(0, 0), count_include_pad=True
    ):
        batch, channels, height, width = input_shape
        out_h, out_w = grad_output.shape[2:]
        grad_input = xp.empty(tuple(input_shape), dtype=grad_output.dtype)
        geometry = (*kernel_size, *stride, *padding)
        launch("avg_unpool", grad_output.dtype, grad_input.size,
               xp.ascontiguousarray(grad_output), height, width, *geometry,
               bool(count_include_pad), out_h, out_w, grad_input)  # fmt: skip
        return grad_input

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

    def erf(x):
        """The error function in x's floating dtype (float32 for integers, as on the CPU)."""
        from cupyx.scipy import special

        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        return special.erf(x).astype(x.dtype, copy=False)

    fused: dict[str, Any] = {}

    def sgd_momentum_update(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov):
        """One in-place SGD-momentum step in one kernel, in the CPU kernel's order of
        operations; False, doing nothing, unless the three arrays are alike and contiguous."""
        if not fusable(param, grad, buf):
            return False
        if "sgd" not in fused:
            fused["sgd"] = xp.ElementwiseKernel(
                "T grad, T lr, T momentum, T damping, T decay, bool nesterov",
                "T param, T buf",
                """
                T d = decay != 0 ? grad + decay * param : grad;
                T b = buf * momentum;
                b = damping == 1 ? b + d : b + damping * d;
                buf = b;
                param = param - lr * (nesterov ? d + momentum * b : b);
                """,
                "autograd_cv_sgd_momentum",
            )
        scalar = param.dtype.type
        fused["sgd"](grad, scalar(lr), scalar(momentum), scalar(1 - dampening),
                     scalar(weight_decay), bool(nesterov), param, buf)  # fmt: skip
        return True

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
        channel_sums=channel_sums, relu_backward=relu_backward, erf=erf,
        sgd_momentum_update=sgd_momentum_update,
    )  # fmt: skip


class CudaBackend(Backend):
    """CuPy arrays on NVIDIA GPUs."""

    name = "cuda"
    numpy_views = True

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
        at = getattr(self.cupy.add, "at", None)  # CuPy 14; cupyx.scatter_add is deprecated
        if at is not None:
            at(target, index, values)
            return
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
    return CudaBackend(cupy)
