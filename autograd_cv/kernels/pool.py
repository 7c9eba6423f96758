"""2-D max and average pooling on raw NCHW ndarrays, with PyTorch's conventions.

Max pooling pads with -inf and returns, like ``return_indices=True``, the flat index
``h * W + w`` of each maximum within its input plane (the first maximum in window order; a NaN
wins over any number). Padding may be at most half the kernel size, as in PyTorch.

One deliberate difference: a dilated window whose taps all fall in the padding outputs -inf
with index -1, and the backward sends it no gradient. PyTorch reports the first tap clamped
into range there, which can name a pixel outside the window (even in the next row) and sends
that pixel a gradient although the -inf output does not depend on it.
"""

from __future__ import annotations

import threading
from functools import partial

import numba
import numpy as np
from numba import njit, prange

from autograd_cv.kernels._geometry import (
    Pair,
    as_pair,
    check_array,
    check_geometry,
    check_shape4,
)
from autograd_cv.kernels._split import over_pass

__all__ = [
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
]


# ---------------------------------------------------------------------------------------------
# Numba kernels. ``geometry`` is (kh, kw, sh, sw, ph, pw, dh, dw) ((kh, kw, sh, sw, ph, pw) for
# average pooling). Each ``_*_plane`` function does one (H, W) plane; a serial and a parallel
# driver loop over the N*C planes. Planes are independent, so the parallel scatter-adds of the
# backward passes never race. Small inputs take the serial driver: waking the thread pool
# costs more than it saves there, and on 2 cores a pool woken right after a BLAS call shares a
# core with OpenBLAS's busy-waiting workers.

# Window taps. Smaller pools ran slower in parallel inside a training step, stalling beside
# OpenBLAS's spinning threads (measured by benchmarks/train_step.py, LeNet-5 row).
PARALLEL_MIN_WORK = 1 << 22


@njit(cache=True, inline="always")
def _max_pool_plane(x, geometry, out, indices):
    kh, kw, sh, sw, ph, pw, dh, dw = geometry
    height, width = x.shape
    out_h, out_w = out.shape
    if ph == 0 and pw == 0 and dh == 1 and dw == 1:
        # Every tap is in bounds: no checks in the inner loop (LeNet/AlexNet pools).
        for oh in range(out_h):
            h0 = oh * sh
            for ow in range(out_w):
                w0 = ow * sw
                best = x[h0, w0]
                best_index = h0 * width + w0
                for i in range(kh):
                    for j in range(kw):
                        value = x[h0 + i, w0 + j]
                        if value > best or (value != value and best == best):
                            best = value
                            best_index = (h0 + i) * width + w0 + j
                out[oh, ow] = best
                indices[oh, ow] = best_index
        return
    for oh in range(out_h):
        h0 = oh * sh - ph
        for ow in range(out_w):
            w0 = ow * sw - pw
            # -1 marks a window with no in-bounds tap (possible with dilation); see module doc.
            best = -np.inf
            best_index = -1
            for i in range(kh):
                ih = h0 + i * dh
                if ih < 0 or ih >= height:
                    continue
                for j in range(kw):
                    iw = w0 + j * dw
                    if iw < 0 or iw >= width:
                        continue
                    value = x[ih, iw]
                    if value > best or np.isnan(value) or best_index < 0:
                        best = value
                        best_index = ih * width + iw
            out[oh, ow] = best
            indices[oh, ow] = best_index


@njit(cache=True, inline="always")
def _max_unpool_plane(grad_output, indices, grad_input):
    for k in range(grad_input.shape[0]):
        grad_input[k] = 0
    for k in range(grad_output.shape[0]):
        index = indices[k]
        # -1 marks a window wholly in the padding: its -inf output depends on no input.
        if 0 <= index < grad_input.shape[0]:
            grad_input[index] += grad_output[k]


@njit(cache=True, inline="always")
def _window(o, stride, padding, kernel, size):
    start = o * stride - padding
    return max(start, 0), min(start + kernel, size)


@njit(cache=True, inline="always")
def _avg_pool_plane(x, geometry, count_include_pad, out):
    kh, kw, sh, sw, ph, pw = geometry
    height, width = x.shape
    out_h, out_w = out.shape
    for oh in range(out_h):
        h_lo, h_hi = _window(oh, sh, ph, kh, height)
        for ow in range(out_w):
            w_lo, w_hi = _window(ow, sw, pw, kw, width)
            total = 0.0
            for ih in range(h_lo, h_hi):
                for iw in range(w_lo, w_hi):
                    total += x[ih, iw]
            # Padding <= kernel/2 keeps every window inside the padded input, so the padded
            # count is always kh * kw.
            count = kh * kw if count_include_pad else (h_hi - h_lo) * (w_hi - w_lo)
            out[oh, ow] = total / count


@njit(cache=True, inline="always")
def _avg_unpool_plane(grad_output, geometry, count_include_pad, grad_input):
    kh, kw, sh, sw, ph, pw = geometry
    height, width = grad_input.shape
    out_h, out_w = grad_output.shape
    grad_input[:, :] = 0
    for oh in range(out_h):
        h_lo, h_hi = _window(oh, sh, ph, kh, height)
        for ow in range(out_w):
            w_lo, w_hi = _window(ow, sw, pw, kw, width)
            count = kh * kw if count_include_pad else (h_hi - h_lo) * (w_hi - w_lo)
            share = grad_output[oh, ow] / count
            for ih in range(h_lo, h_hi):
                for iw in range(w_lo, w_hi):
                    grad_input[ih, iw] += share


@njit(cache=True, nogil=True, inline="always")
def _beats(value, best):  # pragma: no cover - compiled
    # Whether a later tap's value replaces the best so far: when greater, or a NaN over a
    # number; a tie keeps the earlier tap. Written as one expression so LLVM makes a select.
    return not (value <= best or best != best)


@njit(cache=True, nogil=True, inline="always")
def _max_pool_rows(x, offsets, out, indices, first, end):  # pragma: no cover - compiled
    # An unpadded stride-2 pool whose window taps lie at flat `offsets` from the window's
    # top-left pixel (in window order), over output rows first..end of all planes (row r is
    # row r % out_h of plane r // out_h). The comparisons are written so that LLVM emits
    # selects rather than data-dependent branches (random activations mispredict about half
    # of those), and the offsets are a tuple the compiler unrolls: the generic plane loop
    # measured 3-5x slower on LeNet-5's and AlexNetSmall's shapes.
    planes, height, width = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    x_flat, out_flat, index_flat = x.reshape(-1), out.reshape(-1), indices.reshape(-1)
    plane, row = first // out_h, first % out_h  # then stepped: no division per row
    for r in range(first, end):
        local = row * 2 * width
        start = plane * height * width + local
        row += 1
        if row == out_h:
            plane, row = plane + 1, 0
        o = r * out_w
        for ow in range(out_w):
            s = start + 2 * ow
            best, tap = x_flat[s], 0
            for offset in offsets:  # a NaN wins over any number
                value = x_flat[s + offset]
                wins = _beats(value, best)
                best = value if wins else best
                tap = offset if wins else tap
            out_flat[o + ow] = best
            index_flat[o + ow] = local + 2 * ow + tap


@njit(cache=True, nogil=True)
def _max_pool_2x2(x, out, indices, first, end):  # pragma: no cover - compiled
    # LeNet's 2x2 stride-2 pool.
    w = x.shape[2]
    _max_pool_rows(x, (1, w, w + 1), out, indices, first, end)


#: Pair maxima per chunk of `_max_pool_2x2_even`: they stay in L1 (16 KB with their flags).
PAIR_CHUNK_VALUES = 2048


@njit(cache=True, nogil=True)
def _pair_max(x, best, right):  # pragma: no cover - compiled
    # best[k], right[k] = the winner of x[2k] and x[2k + 1] (a NaN wins; a tie goes left), and
    # 1 where it is the right one. One flat loop: it vectorises.
    for k in range(best.shape[0]):
        a, b = x[2 * k], x[2 * k + 1]
        wins = _beats(b, a)
        best[k] = b if wins else a
        right[k] = 1 if wins else 0


@njit(cache=True, nogil=True)
def _max_pool_2x2_even(x, out, indices, first, end, chunk_values):  # pragma: no cover
    # LeNet's 2x2 stride-2 pool over even H and W, output rows first..end of all planes, a chunk
    # of rows at a time in two passes: the pair maxima of the chunk's input rows in one flat
    # loop (with W even no pair straddles two rows, with H even the planes abut, so output row
    # r reads input rows 2r and 2r + 1 of the flat array), then each output row's top against
    # its bottom, by zero-based loops over 1-D views. Both vectorise; `_max_pool_rows` does not
    # (a row of 14 or 5 outputs is shorter than its vector loop): LeNet-5's first pool at
    # batch 64 took 298 us that way and 125 this way. The window order is kept: the first of
    # equal maxima wins, and a NaN over any number.
    planes, height, width = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    x_flat, out_flat, index_flat = x.reshape(-1), out.reshape(-1), indices.reshape(-1)
    chunk = max(1, chunk_values // (2 * out_w))
    best = np.empty(2 * chunk * out_w, x.dtype)
    right = np.empty(2 * chunk * out_w, np.int32)  # int32, so the row loop vectorises
    for low in range(first, end, chunk):
        high = min(low + chunk, end)
        pairs = (high - low) * 2 * out_w
        _pair_max(x_flat[low * 2 * width : high * 2 * width], best[:pairs], right[:pairs])
        for r in range(low, high):
            t = (r - low) * 2 * out_w
            local = (r % out_h) * 2 * width  # the window row's first pixel in its plane
            top, bottom = best[t : t + out_w], best[t + out_w : t + 2 * out_w]
            top_right, bottom_right = right[t : t + out_w], right[t + out_w : t + 2 * out_w]
            values = out_flat[r * out_w : (r + 1) * out_w]
            where = index_flat[r * out_w : (r + 1) * out_w]
            for ow in range(out_w):
                a, b = top[ow], bottom[ow]
                up, down = np.int64(top_right[ow]), np.int64(bottom_right[ow]) + width
                wins = _beats(b, a)
                values[ow] = b if wins else a
                where[ow] = local + 2 * ow + (down if wins else up)


@njit(cache=True, nogil=True)
def _max_pool_3x3s2(x, out, indices, first, end):  # pragma: no cover - compiled
    # AlexNet's overlapping 3x3 stride-2 pool ((128,64,32,32): 26 ms on one thread against
    # 83 for the generic plane loop).
    w = x.shape[2]
    taps = (1, 2, w, w + 1, w + 2, 2 * w, 2 * w + 1, 2 * w + 2)
    _max_pool_rows(x, taps, out, indices, first, end)


@njit(cache=True)
def _max_pool_serial(x, geometry, out, indices):  # pragma: no cover - compiled
    for p in range(x.shape[0]):
        _max_pool_plane(x[p], geometry, out[p], indices[p])


@njit(cache=True, parallel=True)
def _max_pool_parallel(x, geometry, out, indices):  # pragma: no cover - compiled
    for p in prange(x.shape[0]):
        _max_pool_plane(x[p], geometry, out[p], indices[p])


@njit(cache=True)
def _max_unpool_serial(grad_output, indices, grad_input):  # pragma: no cover - compiled
    for p in range(grad_input.shape[0]):
        _max_unpool_plane(grad_output[p], indices[p], grad_input[p])


@njit(cache=True, parallel=True)
def _max_unpool_parallel(grad_output, indices, grad_input):  # pragma: no cover - compiled
    for p in prange(grad_input.shape[0]):
        _max_unpool_plane(grad_output[p], indices[p], grad_input[p])


@njit(cache=True)
def _avg_pool_serial(x, geometry, count_include_pad, out):  # pragma: no cover - compiled
    for p in range(x.shape[0]):
        _avg_pool_plane(x[p], geometry, count_include_pad, out[p])


@njit(cache=True, parallel=True)
def _avg_pool_parallel(x, geometry, count_include_pad, out):  # pragma: no cover - compiled
    for p in prange(x.shape[0]):
        _avg_pool_plane(x[p], geometry, count_include_pad, out[p])


@njit(cache=True)
def _avg_unpool_serial(grad_output, geometry, count_include_pad, grad_input):  # pragma: no cover
    for p in range(grad_input.shape[0]):
        _avg_unpool_plane(grad_output[p], geometry, count_include_pad, grad_input[p])


@njit(cache=True, parallel=True)
def _avg_unpool_parallel(grad_output, geometry, count_include_pad, grad_input):  # pragma: no cover
    for p in prange(grad_input.shape[0]):
        _avg_unpool_plane(grad_output[p], geometry, count_include_pad, grad_input[p])


def _driver(serial, parallel, out_shape: tuple[int, ...], kernel_size: Pair):
    """The parallel driver when the window taps to visit make waking the pool pay."""
    work = int(np.prod(out_shape)) * kernel_size[0] * kernel_size[1]
    return partial(_run_parallel, parallel) if work >= PARALLEL_MIN_WORK else serial


# Numba's workqueue threading layer (its fallback where neither OpenMP nor TBB loads, e.g.
# macOS without libomp) aborts the process when two threads enter parallel regions at once,
# so there parallel kernels run one at a time. The layer is known after the first launch.
_PARALLEL_LOCK = threading.Lock()
_threading_layer: str | None = None


def _run_parallel(kernel, *args) -> None:
    global _threading_layer
    if _threading_layer is not None and _threading_layer != "workqueue":
        kernel(*args)
        return
    with _PARALLEL_LOCK:
        kernel(*args)
        _threading_layer = numba.threading_layer()


# ---------------------------------------------------------------------------------------------
# Python wrappers: assert what the op layer checked (see _geometry.py), then run.


def _pool_geometry(
    op: str,
    input_shape: tuple[int, ...],
    kernel_size,
    stride,
    padding,
    dilation=(1, 1),
) -> tuple[Pair, Pair, Pair, Pair, Pair]:
    kernel_size = as_pair(kernel_size, "kernel_size", op)
    stride = as_pair(stride, "stride", op)
    padding = as_pair(padding, "padding", op)
    dilation = as_pair(dilation, "dilation", op)
    out_size = check_geometry(op, input_shape[2:], kernel_size, stride, padding, dilation)
    assert 2 * padding[0] <= kernel_size[0] and 2 * padding[1] <= kernel_size[1], (
        f"{op}: padding {padding} over half of kernel_size {kernel_size}"
    )
    return kernel_size, stride, padding, dilation, out_size


def _check_grad_output(op: str, grad_output: np.ndarray, input_shape, out_size: Pair) -> None:
    expected = (*input_shape[:2], *out_size)
    assert grad_output.shape == expected, f"{op}: grad_output {grad_output.shape} != {expected}"


def max_pool2d_forward(
    x: np.ndarray,
    kernel_size: Pair,
    stride: Pair,
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> tuple[np.ndarray, np.ndarray]:
    """Max-pool NCHW ``x``; return the output and int64 flat indices ``h * W + w`` per plane."""
    op = "max_pool2d_forward"
    check_array(x, "input", op)
    kernel_size, stride, padding, dilation, (out_h, out_w) = _pool_geometry(
        op, x.shape, kernel_size, stride, padding, dilation
    )
    batch, channels, height, width = x.shape
    out = np.empty((batch, channels, out_h, out_w), dtype=x.dtype)
    indices = np.empty((batch, channels, out_h, out_w), dtype=np.int64)
    planes = np.ascontiguousarray(x).reshape(batch * channels, height, width)
    out_planes = out.reshape(batch * channels, out_h, out_w)
    index_planes = indices.reshape(batch * channels, out_h, out_w)
    unrolled = {(2, 2): _max_pool_2x2, (3, 3): _max_pool_3x3s2}.get(kernel_size)
    if unrolled is not None and stride == (2, 2) and padding == (0, 0) and dilation == (1, 1):
        rows = planes.shape[0] * out_h
        even = unrolled is _max_pool_2x2 and height % 2 == 0 and width % 2 == 0
        chunk = PAIR_CHUNK_VALUES

        def part(first: int, end: int) -> None:
            if even:
                _max_pool_2x2_even(planes, out_planes, index_planes, first, end, chunk)
            else:
                unrolled(planes, out_planes, index_planes, first, end)

        taps = rows * out_w * kernel_size[0] * kernel_size[1]
        # A tap (a compare-and-select chain) costs about two elements of an elementwise pass:
        # LeNet's second pool (102,400 taps) took 325 us on one thread and 212 split.
        over_pass(part, rows, 2 * taps)  # split by rows
        return out, indices
    geometry = (*kernel_size, *stride, *padding, *dilation)
    run = _driver(_max_pool_serial, _max_pool_parallel, out.shape, kernel_size)
    run(planes, geometry, out_planes, index_planes)
    return out, indices


def max_pool2d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: tuple[int, int, int, int]
) -> np.ndarray:
    """Scatter-add ``grad_output`` to the argmax positions in ``indices`` (windows may overlap).

    Indices outside ``[0, H*W)`` contribute nothing (the forward gives -1 to a window that lies
    wholly in the padding, whose -inf output depends on no input).
    """
    op = "max_pool2d_backward"
    check_array(grad_output, "grad_output", op)
    input_shape = check_shape4(op, "input_shape", input_shape, "(N, C, H, W)", empty_batch=True)
    assert indices.shape == grad_output.shape, f"{op}: indices {indices.shape}"
    assert grad_output.shape[:2] == input_shape[:2], f"{op}: (N, C) of {grad_output.shape}"
    batch, channels, height, width = input_shape
    planes = batch * channels
    grad_input = np.empty(input_shape, dtype=grad_output.dtype)
    run = _driver(_max_unpool_serial, _max_unpool_parallel, grad_output.shape, (1, 1))
    windows = grad_output.shape[2] * grad_output.shape[3]
    run(
        np.ascontiguousarray(grad_output).reshape(planes, windows),
        np.ascontiguousarray(indices, dtype=np.int64).reshape(planes, windows),
        grad_input.reshape(planes, height * width),
    )
    return grad_input


def avg_pool2d_forward(
    x: np.ndarray,
    kernel_size: Pair,
    stride: Pair,
    padding: Pair = (0, 0),
    count_include_pad: bool = True,
) -> np.ndarray:
    """Average-pool NCHW ``x`` (zero padding; ``count_include_pad`` as in PyTorch)."""
    op = "avg_pool2d_forward"
    check_array(x, "input", op)
    kernel_size, stride, padding, _, (out_h, out_w) = _pool_geometry(
        op, x.shape, kernel_size, stride, padding
    )
    batch, channels, height, width = x.shape
    out = np.empty((batch, channels, out_h, out_w), dtype=x.dtype)
    run = _driver(_avg_pool_serial, _avg_pool_parallel, out.shape, kernel_size)
    run(
        np.ascontiguousarray(x).reshape(batch * channels, height, width),
        (*kernel_size, *stride, *padding),
        bool(count_include_pad),
        out.reshape(batch * channels, out_h, out_w),
    )
    return out


def avg_pool2d_backward(
    grad_output: np.ndarray,
    input_shape: tuple[int, int, int, int],
    kernel_size: Pair,
    stride: Pair,
    padding: Pair = (0, 0),
    count_include_pad: bool = True,
) -> np.ndarray:
    """Spread each ``grad_output`` value evenly over its window (overlaps accumulate)."""
    op = "avg_pool2d_backward"
    check_array(grad_output, "grad_output", op)
    input_shape = check_shape4(op, "input_shape", input_shape, "(N, C, H, W)", empty_batch=True)
    kernel_size, stride, padding, _, out_size = _pool_geometry(
        op, input_shape, kernel_size, stride, padding
    )
    _check_grad_output(op, grad_output, input_shape, out_size)
    batch, channels, height, width = input_shape
    grad_input = np.empty(input_shape, dtype=grad_output.dtype)
    run = _driver(_avg_unpool_serial, _avg_unpool_parallel, grad_output.shape, kernel_size)
    run(
        np.ascontiguousarray(grad_output).reshape(batch * channels, *out_size),
        (*kernel_size, *stride, *padding),
        bool(count_include_pad),
        grad_input.reshape(batch * channels, height, width),
    )
    return grad_input
