"""Convolution forward by row lowering, for narrow stride-1 convs such as LeNet-5's c3.

im2col copies every input value once per kernel tap, kh * kw times, and for a narrow
unpadded conv (c3: 14x14 -> 10x10) it copies it in runs only out_w long. Lowering across the
width alone copies it kw times:

    Y[h, (c, j), n, ow] = x[n, c, h - ph, ow + j]        (zero where h - ph is outside x)

Output row ``oh`` reads input rows ``oh .. oh + kh - 1``, which are kh consecutive slabs of Y,
so with the weight reordered to (O, kh, C, kw) each output row is one GEMM on a slice of Y,
without a copy. This is MEC (Cho and Brand, "MEC: Memory-efficient Convolution for Deep
Neural Network", ICML 2017), written here from the paper's idea.

It is used only where it measured faster than im2col + GEMM (forward, in one process,
alternating; see `eligible`): LeNet-5's c3 at batch 64 0.60x im2col's time, at batch 256
0.75x, 32 -> 64 channels 5x5 on 16x16 maps 0.71x, 128 channels 3x3 on 9x9 0.84x. Wider
outputs lost (3x3 on 30x30 with 64 channels: 1.26x) because im2col's runs are long there; so
did one sample (1.45x, one GEMM per output row). The gradients stay with im2col: a lowered
backward measured level with it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from autograd_cv.kernels._loops import copy_rows, zero_run
from autograd_cv.kernels._split import over_batch, scratch

__all__ = ["eligible", "conv2d_rows"]

#: Outputs at most this wide take row lowering; at 28 wide it measured 1.26x im2col's time.
MAX_OUT_W = 16

#: Batches smaller than this keep im2col (one sample: 1.45x its time).
MIN_BATCH = 4

#: Samples per block: Y and the GEMM results of a block fit this (3/8 of a 2 MB L2), and a
#: block's GEMMs span at least MIN_COLUMNS columns.
BLOCK_BYTES = 3 << 18
MIN_COLUMNS = 256


def eligible(x_shape, weight_shape, stride, padding, dilation, groups) -> bool:
    """Whether conv2d's forward takes row lowering (see the module's docstring)."""
    batch, _, _, width = x_shape
    kernel_w = weight_shape[3]
    out_w = width - kernel_w + 1
    return (
        tuple(stride) == (1, 1)
        and tuple(dilation) == (1, 1)
        and groups == 1
        and padding[1] == 0  # im2col's runs are short only without padding across
        and weight_shape[2] > 1
        and 0 < out_w <= MAX_OUT_W
        and batch >= MIN_BATCH
    )


@njit(cache=True, nogil=True)
def _lower(x, kernel_w, pad_h, out_w, y):  # pragma: no cover - compiled
    # y, flat: (H + 2 * pad_h, C * kernel_w, N, out_w), as in the module's docstring.
    batch, channels, height, width = x.shape
    x_flat = x.reshape(-1)
    run = batch * out_w
    for h_padded in range(height + 2 * pad_h):
        h = h_padded - pad_h
        for c in range(channels):
            for j in range(kernel_w):
                dst = ((h_padded * channels + c) * kernel_w + j) * run
                if h < 0 or h >= height:
                    zero_run(y, dst, run)
                else:  # one run per sample, a plane of channels apart in x
                    src = (c * height + h) * width + j
                    copy_rows(y, dst, x_flat, src, channels * height * width, batch, out_w)


@njit(cache=True, nogil=True)
def _rows_to_nchw(rows, bias, out):  # pragma: no cover - compiled
    # rows, flat: (O, OH, N, OW), the GEMMs' results; out: (N, O, OH, OW), plus the bias.
    batch, channels, out_h, out_w = out.shape
    out_flat = out.reshape(-1)
    run = np.uint64(out_w)
    for n in range(batch):
        for o in range(channels):
            value = bias[o]
            dst = np.uint64((n * channels + o) * out_h * out_w)
            for oh in range(out_h):
                src = np.uint64(((o * out_h + oh) * batch + n) * out_w)
                for k in range(run):
                    out_flat[dst + k] = rows[src + k] + value
                dst += run


def conv2d_rows(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, padding: tuple[int, int]
) -> np.ndarray:
    """conv2d's forward by row lowering: C-contiguous NCHW ``x``, OIHW ``weight``, a bias."""
    batch, channels, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    pad_h = padding[0]
    out_h, out_w = height + 2 * pad_h - kernel_h + 1, width - kernel_w + 1
    height_padded, lowered_rows = height + 2 * pad_h, channels * kernel_w
    depth = kernel_h * lowered_rows
    # (O, kh, C, kw): row oh's GEMM reads Y's slabs oh .. oh + kh - 1 as (kh * C * kw, cols)
    weight_rows = np.ascontiguousarray(weight.transpose(0, 2, 1, 3)).reshape(out_channels, depth)
    out = np.empty((batch, out_channels, out_h, out_w), dtype=x.dtype)
    per_sample = (height_padded * lowered_rows + out_channels * out_h) * out_w * x.itemsize

    def samples(low: int, high: int) -> None:
        count = high - low
        size = max(1, min(count, max(BLOCK_BYTES // per_sample, -(-MIN_COLUMNS // out_w))))
        size = -(-count // -(-count // size))  # equal blocks
        for start in range(low, high, size):
            stop = min(start + size, high)
            columns = (stop - start) * out_w
            lowered = scratch("rows_lowered", height_padded * lowered_rows * columns, x.dtype)
            rows = scratch("rows_out", out_channels * out_h * columns, x.dtype)
            _lower(x[start:stop], kernel_w, pad_h, out_w, lowered)
            slabs = lowered.reshape(height_padded, lowered_rows * columns)
            products = rows.reshape(out_channels, out_h, columns)
            for oh in range(out_h):
                np.matmul(weight_rows, slabs[oh : oh + kernel_h].reshape(depth, columns),
                          out=products[:, oh])  # fmt: skip
            _rows_to_nchw(rows, bias, out[start:stop])

    over_batch(samples, batch, out.size * depth)
    return out
