"""The weight gradient of a one-input-channel conv (LeNet-5's c1) as direct dot products.

With one input channel and a few output channels, im2col's weight gradient is a GEMM of
(O, N * OH * OW) by (N * OH * OW, kh * kw): a product with a tiny result and a huge inner
dimension, after kh * kw copies of the input have been written out. Here each weight entry
is one dot product per sample instead, of the output gradient with the padded input shifted
by the tap, with nothing copied but the padded input.

Both run over the rows of the padded width ``Wp``: the gradient is laid out OH x Wp with its
last Wp - OW columns zero, so tap (i, j) reads the padded input as one contiguous run from
``i * Wp + j``. Those columns meet input values (or padding) times zero: exact only when the
input is finite, so an input holding inf or NaN goes back to im2col (`eligible`'s caller
checks). The dot products may reassociate (LLVM vectorises them; no other fast-math flag,
so NaN in the gradient still propagates).

Measured in one process, alternating with im2col + GEMM (15 rounds): LeNet-5's c1 (64, 1,
28, 28) -> 6, 5x5, padding 2: 0.77x its time (0.80 -> 0.62 ms). Convs with three input
channels lost: CIFAR's 3 -> 32 3x3 1.19x, AlexNetSmall's 3 -> 64 5x5 1.92x; LeNet-5's c3 (6
-> 16) 1.85x. So `eligible` takes one input channel and at most 16 output channels.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from autograd_cv.kernels._split import over_batch, scratch

__all__ = ["eligible", "conv2d_weight_grad_direct"]

#: Convs with more output channels than this keep im2col (measured on 6).
MAX_OUT_CHANNELS = 16


def eligible(x_shape, weight_shape, stride, dilation, groups) -> bool:
    """Whether conv2d's weight gradient takes direct dot products (module docstring)."""
    return (
        weight_shape[1] == 1
        and groups == 1
        and weight_shape[0] <= MAX_OUT_CHANNELS
        and tuple(stride) == (1, 1)
        and tuple(dilation) == (1, 1)
        and x_shape[0] >= 2
    )


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "contract"})
def _weight_grad(  # pragma: no cover - compiled
    x, grad_output, kernel_w, pad_h, pad_w, padded, rows, out, zero
):
    # x (N, 1, H, W); grad_output (N, O, OH, OW); out (O, kh * kw), added to; `zero` of their
    # dtype, so the sums stay in it (0 * out[0, 0] would be float64).
    # padded: (Hp + 1) * Wp zeros (the spare row: the last taps' runs end past Hp rows);
    # rows: O * OH * Wp zeros. Only their interiors are written, so the rest stays zero.
    batch, _, height, width = x.shape
    out_channels, out_h, out_w = grad_output.shape[1:]
    padded_w = width + 2 * pad_w
    taps = out.shape[1]
    span = out_h * padded_w
    for n in range(batch):
        for h in range(height):
            start = (h + pad_h) * padded_w + pad_w
            for k in range(width):
                padded[start + k] = x[n, 0, h, k]
        for o in range(out_channels):
            for oh in range(out_h):
                start = (o * out_h + oh) * padded_w
                for k in range(out_w):
                    rows[start + k] = grad_output[n, o, oh, k]
        for o in range(out_channels):
            gradient = rows[o * span : (o + 1) * span]
            for tap in range(taps):
                shift = (tap // kernel_w) * padded_w + tap % kernel_w
                window = padded[shift : shift + span]
                total = zero
                for p in range(span):
                    total += gradient[p] * window[p]
                out[o, tap] += total


def conv2d_weight_grad_direct(
    x: np.ndarray, grad_output: np.ndarray, weight_shape: tuple[int, ...], padding: tuple[int, int]
) -> np.ndarray:
    """conv2d's weight gradient for one input channel: C-contiguous, finite ``x``."""
    batch, _, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = weight_shape
    out_h, out_w = grad_output.shape[2:]
    pad_h, pad_w = padding
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w

    def samples(low: int, high: int) -> np.ndarray:
        padded = scratch("direct_padded", (padded_h + 1) * padded_w, x.dtype)
        rows = scratch("direct_rows", out_channels * out_h * padded_w, x.dtype)
        padded[:] = 0
        rows[:] = 0
        total = np.zeros((out_channels, kernel_h * kernel_w), x.dtype)
        _weight_grad(x[low:high], grad_output[low:high], kernel_w, pad_h, pad_w, padded, rows,
                     total, x.dtype.type(0))  # fmt: skip
        return total

    parts = over_batch(samples, batch, grad_output.size * kernel_h * kernel_w)
    grad_weight = parts[0]
    for part in parts[1:]:
        grad_weight += part
    return grad_weight.reshape(weight_shape)
