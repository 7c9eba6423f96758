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
did one sample (1.45x, one GEMM per output row).

The gradients (`conv2d_backward_rows`) lower the other way round, channel and tap column
first, so that a tap row's window is a run of columns instead of a run of rows:

    Z[(c, j), h, n, ow] = x[n, c, h - ph, ow + j]

The weight gradient of tap row ``i`` is then one GEMM, of Z's columns for rows ``i .. i + OH
- 1`` with the output gradient laid out as G[o, oh, n, ow]: kh GEMMs of inner size OH * N *
OW, where im2col needs kh * kw copies of the input first. The input gradient is one GEMM of
the weight (as ``(i, c, j) x o``) with G; its kh row blocks are summed into Z's layout
(contiguous runs) and Z's kw columns into the input. LeNet-5's c3 at batch 64 (AMD EPYC
Zen 4, in one process, alternating with im2col + col2im): 0.72x its time on one thread,
0.83-0.91x on two (the GEMMs take most of both, at 80-100 GFLOP/s a core).

Both directions run a thread's part as one Numba call that calls BLAS's GEMM itself
(`_blas.gemm`), so a part takes the GIL once instead of after every kernel and matmul; where
that GEMM is not found they keep the same steps as Python between Numba calls and np.matmul.
c3 at batch 64 on two threads, against that path (in one process, alternating): forward
0.83-0.90x its time, both gradients 0.81-0.82x.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import as_strided

from autograd_cv.kernels._blas import gemm, gemm_table
from autograd_cv.kernels._loops import add_rows, add_run, copy_rows, zero_run
from autograd_cv.kernels._split import equal_block, over_batch, scratch

__all__ = ["eligible", "backward_eligible", "conv2d_rows", "conv2d_backward_rows"]

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


#: Backward passes (both gradients) take row lowering up to this many input channels. Both
#: gradients against im2col's one pass, 2 threads: LeNet-5's c3 0.79-0.97 from batch 8 to
#: 256, 16 -> 32 and 16 -> 16 channels 3x3 on 12x12 and 18x18 maps 0.90-0.95, 3 -> 8 5x5
#: 1.00; 32 -> 64 5x5 on 16x16 1.12 and 64 -> 64 3x3 padded by a row 1.27.
MAX_BACKWARD_CHANNELS = 16


def backward_eligible(x_shape, weight_shape, stride, padding, dilation, groups) -> bool:
    """Whether conv2d's backward (both gradients) takes row lowering (module docstring)."""
    return x_shape[1] <= MAX_BACKWARD_CHANNELS and eligible(
        x_shape, weight_shape, stride, padding, dilation, groups
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


@njit(cache=True, nogil=True)
def _forward_part(table, x, weight_rows, bias, pad_h, block, lowered, rows,
                  out):  # fmt: skip  # pragma: no cover - compiled
    # A part's samples, `block` at a time, in one call: lower, one GEMM per output row
    # (row oh reads Y's slabs oh .. oh + kh - 1), then into NCHW with the bias.
    batch, channels, height, width = x.shape
    out_channels, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    depth = weight_rows.shape[1]
    kernel_w = width - out_w + 1
    lowered_rows = channels * kernel_w
    for start in range(0, batch, block):
        stop = min(start + block, batch)
        columns = (stop - start) * out_w
        _lower(x[start:stop], kernel_w, pad_h, out_w, lowered)
        products = rows[: out_channels * out_h * columns].reshape(out_channels, out_h * columns)
        for oh in range(out_h):
            window = lowered[oh * lowered_rows * columns : (oh * lowered_rows + depth) * columns]
            gemm(table, weight_rows, window.reshape(depth, columns),
                 products[:, oh * columns : (oh + 1) * columns], 0.0)  # fmt: skip
        _rows_to_nchw(rows, bias, out[start:stop])


def _blocks(low: int, high: int, size: int):
    """(start, stop) of equal blocks of at most `size` samples (at least one) over low..high."""
    size = equal_block(high - low, size)
    for start in range(low, high, size):
        yield start, min(start + size, high)


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
    item = x.itemsize

    table = gemm_table()

    def samples(low: int, high: int) -> None:
        size = max(BLOCK_BYTES // per_sample, -(-MIN_COLUMNS // out_w))
        if table is not None:  # the whole part in one call, without the GIL
            size = equal_block(high - low, size)
            lowered = scratch("rows_lowered", height_padded * lowered_rows * size * out_w, x.dtype)
            rows = scratch("rows_out", out_channels * out_h * size * out_w, x.dtype)
            _forward_part(table, x[low:high], weight_rows, bias, pad_h, size, lowered, rows,
                          out[low:high])  # fmt: skip
            return
        for start, stop in _blocks(low, high, size):
            columns = (stop - start) * out_w
            lowered = scratch("rows_lowered", height_padded * lowered_rows * columns, x.dtype)
            rows = scratch("rows_out", out_channels * out_h * columns, x.dtype)
            _lower(x[start:stop], kernel_w, pad_h, out_w, lowered)
            # Output row oh reads Y's slabs oh .. oh + kh - 1, (kh * C * kw, columns) from
            # flat offset oh * C * kw * columns: all rows as one stacked matmul, whose loop
            # runs without the GIL. One call per row took the GIL between GEMMs, and on a
            # 2-vCPU guest each hand-over to the other thread woke an idle core (30-50 us):
            # c3 at batch 32 took 362 us split against 213 on one thread.
            windows = as_strided(lowered, (out_h, depth, columns),
                                 (lowered_rows * columns * item, columns * item, item),
                                 writeable=False)  # fmt: skip
            products = as_strided(rows, (out_h, out_channels, columns),
                                  (columns * item, out_h * columns * item, item))  # fmt: skip
            np.matmul(weight_rows, windows, out=products)
            _rows_to_nchw(rows, bias, out[start:stop])

    over_batch(samples, batch, out.size * depth)
    return out


#: The gradients' blocks: Z, G and the input gradient's product of a block fit this. LeNet-5's
#: c3 (1 MB of L2 a core), both gradients on two threads against im2col's: 8 samples a block
#: 1.06, 11 0.91, 16 0.84, 32 0.99 (there the weight GEMMs' inner size is 3,200 and OpenBLAS
#: slows down: 19.2 us a sample on one thread, 14.4 at 16).
BACKWARD_BLOCK_BYTES = 3 << 19


@njit(cache=True, nogil=True)
def _lower_by_channel(x, kernel_w, pad_h, out_w, z):  # pragma: no cover - compiled
    # z, flat: (C * kernel_w, H + 2 * pad_h, N, out_w), as in the module's docstring.
    batch, channels, height, width = x.shape
    x_flat = x.reshape(-1)
    run = batch * out_w
    height_padded = height + 2 * pad_h
    for c in range(channels):
        for j in range(kernel_w):
            base = (c * kernel_w + j) * height_padded * run
            zero_run(z, base, pad_h * run)
            zero_run(z, base + (pad_h + height) * run, pad_h * run)
            for h in range(height):  # one run per sample, a plane of channels apart in x
                src = (c * height + h) * width + j
                copy_rows(z, base + (h + pad_h) * run, x_flat, src, channels * height * width,
                          batch, out_w)  # fmt: skip


@njit(cache=True, nogil=True)
def _grad_to_rows(grad_output, rows):  # pragma: no cover - compiled
    # grad_output (N, O, OH, OW) -> rows, flat: (O, OH, N, OW).
    batch, channels, out_h, out_w = grad_output.shape
    grad_flat = grad_output.reshape(-1)
    run = batch * out_w
    for o in range(channels):
        for oh in range(out_h):
            copy_rows(rows, (o * out_h + oh) * run, grad_flat, (o * out_h + oh) * out_w,
                      channels * out_h * out_w, batch, out_w)  # fmt: skip


@njit(cache=True, nogil=True)
def _fold_rows(products, kernel_h, height_padded, run, z):  # pragma: no cover - compiled
    # products, flat: (kh, C * kw, OH, N, OW) -> z (C * kw, Hp, N, OW): tap row i's block
    # lands i rows down. Each is one contiguous run of OH * N * OW values.
    lowered_rows = z.shape[0] // (height_padded * run)
    span = products.shape[0] // (kernel_h * lowered_rows)
    for r in range(lowered_rows):
        base = r * height_padded * run
        zero_run(z, base, height_padded * run)
        for i in range(kernel_h):
            add_run(z, base + i * run, 1, products, (i * lowered_rows + r) * span, span)


@njit(cache=True, nogil=True)
def _unlower(z, kernel_w, pad_h, out_w, grad_input):  # pragma: no cover - compiled
    # The adjoint of _lower_by_channel: z's padding rows are dropped, its runs added back.
    batch, channels, height, width = grad_input.shape
    grad_flat = grad_input.reshape(-1)
    zero_run(grad_flat, 0, grad_flat.shape[0])
    run = batch * out_w
    height_padded = height + 2 * pad_h
    for c in range(channels):
        for j in range(kernel_w):
            base = (c * kernel_w + j) * height_padded * run
            for h in range(height):
                dst = (c * height + h) * width + j
                add_rows(grad_flat, dst, channels * height * width, z,
                         base + (h + pad_h) * run, batch, out_w)  # fmt: skip


@njit(cache=True, nogil=True)
def _lower_both(x, grad_output, kernel_w, pad_h, z, rows):  # pragma: no cover - compiled
    # Both operands of a block's products in one call.
    _lower_by_channel(x, kernel_w, pad_h, grad_output.shape[3], z)
    _grad_to_rows(grad_output, rows)


@njit(cache=True, nogil=True)
def _fold_unlower(products, kernel_h, kernel_w, pad_h, out_w, z, grad_input):  # pragma: no cover
    # The input gradient from its product: into Z's layout, then into the input's.
    height_padded = grad_input.shape[2] + 2 * pad_h
    run = grad_input.shape[0] * out_w
    _fold_rows(products, kernel_h, height_padded, run, z)
    _unlower(z, kernel_w, pad_h, out_w, grad_input)


@njit(cache=True, nogil=True)
def _backward_part(table, x, grad_output, weight_taps, pad_h, block, z, rows, products,
                   grad_weight, grad_input):  # fmt: skip  # pragma: no cover - compiled
    # A part's samples, `block` at a time, in one call. grad_weight (kh, C * kw, O) gets the
    # part's sum; with weight_taps (not empty), grad_input gets the input gradient.
    batch, channels, height, width = x.shape
    out_channels, out_h, out_w = grad_output.shape[1], grad_output.shape[2], grad_output.shape[3]
    kernel_h, lowered_rows = grad_weight.shape[0], grad_weight.shape[1]
    kernel_w = width - out_w + 1
    height_padded = height + 2 * pad_h
    depth = kernel_h * lowered_rows
    for start in range(0, batch, block):
        stop = min(start + block, batch)
        run = (stop - start) * out_w
        block_z = z[: lowered_rows * height_padded * run]  # the last block may be shorter
        _lower_both(x[start:stop], grad_output[start:stop], kernel_w, pad_h, block_z, rows)
        lowered = block_z.reshape(lowered_rows, height_padded * run)
        grad_rows = rows[: out_channels * out_h * run].reshape(out_channels, out_h * run)
        beta = 0.0 if start == 0 else 1.0  # the blocks' weight gradients add up in place
        for i in range(kernel_h):  # tap row i sees Z's rows i .. i + OH - 1
            gemm(table, lowered[:, i * run : (i + out_h) * run], grad_rows.T, grad_weight[i],
                 beta)  # fmt: skip
        if weight_taps.shape[0] > 0:
            product = products[: depth * out_h * run]
            gemm(table, weight_taps, grad_rows, product.reshape(depth, out_h * run), 0.0)
            _fold_unlower(product, kernel_h, kernel_w, pad_h, out_w, block_z,
                          grad_input[start:stop])  # fmt: skip


def conv2d_backward_rows(
    x: np.ndarray,
    grad_output: np.ndarray,
    weight_shape: tuple[int, ...],
    padding: tuple[int, int],
    weight: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray]:
    """conv2d's gradients by row lowering: (input gradient or None, weight gradient).

    C-contiguous NCHW ``x`` and ``grad_output``; with ``weight`` (OIHW, C-contiguous) the
    input gradient is computed too. Only for the convs `eligible` takes (`backward_eligible`
    where conv2d_backward measured it faster).
    """
    batch, channels, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = weight_shape
    out_h, out_w = grad_output.shape[2:]
    pad_h = padding[0]
    height_padded, lowered_rows = height + 2 * pad_h, channels * kernel_w
    depth = kernel_h * lowered_rows
    # (kh, C, kw) x O: the input gradient's product is one GEMM with G
    weight_taps = None
    if weight is not None:
        weight_taps = np.ascontiguousarray(weight.transpose(2, 1, 3, 0)).reshape(depth, -1)
    grad_input = np.empty(x.shape, x.dtype) if weight is not None else None
    per_sample = (lowered_rows * height_padded + out_channels * out_h) * out_w
    if weight is not None:
        per_sample += depth * out_h * out_w
    per_sample *= x.itemsize

    table = gemm_table()

    # The fewer times a part takes the GIL back, the fewer times it waits for the other
    # thread's Python (see _split): one Numba call a part, or (NumPy's path) two Numba calls
    # and two matmuls a block.
    def samples(low: int, high: int) -> np.ndarray:
        if table is not None:  # the whole part in one call, without the GIL
            size = equal_block(high - low, BACKWARD_BLOCK_BYTES // per_sample)
            run = size * out_w
            z = scratch("rows_lowered", lowered_rows * height_padded * run, x.dtype)
            rows = scratch("rows_out", out_channels * out_h * run, x.dtype)
            products = scratch("rows_products", depth * out_h * run if weight_taps is not None
                               else 0, x.dtype)  # fmt: skip
            partial = np.empty((kernel_h, lowered_rows, out_channels), x.dtype)
            taps = weight_taps if weight_taps is not None else np.empty((0, 0), x.dtype)
            _backward_part(table, x[low:high], grad_output[low:high], taps, pad_h, size, z,
                           rows, products, partial,
                           grad_input[low:high] if grad_input is not None else x[:0])  # fmt: skip
            return partial
        blocks = list(_blocks(low, high, BACKWARD_BLOCK_BYTES // per_sample))
        partials = np.empty((len(blocks), kernel_h, lowered_rows, out_channels), x.dtype)
        for block, (start, stop) in enumerate(blocks):
            run = (stop - start) * out_w
            z = scratch("rows_lowered", lowered_rows * height_padded * run, x.dtype)
            rows = scratch("rows_out", out_channels * out_h * run, x.dtype)
            _lower_both(x[start:stop], grad_output[start:stop], kernel_w, pad_h, z, rows)
            lowered = z.reshape(lowered_rows, height_padded * run)
            grad_rows = rows.reshape(out_channels, out_h * run)
            # Tap row i sees Z's rows i .. i + OH - 1: the kh windows as one stacked
            # product. One 2-D matmul per window would hold the GIL (NumPy 2.4 releases it
            # only for 512 results or more, _split.MATMUL_GIL_RESULTS; c3's are 30 x 16), so
            # the two threads' GEMMs would take turns.
            windows = as_strided(lowered, (kernel_h, lowered_rows, out_h * run),
                                 (run * x.itemsize, *lowered.strides), writeable=False)  # fmt: skip
            np.matmul(windows, grad_rows.T, out=partials[block])
            if weight_taps is not None:
                products = scratch("rows_products", depth * out_h * run, x.dtype)
                np.matmul(weight_taps, grad_rows, out=products.reshape(depth, out_h * run))
                # Z has been read: it takes the input gradient's rows
                _fold_unlower(products, kernel_h, kernel_w, pad_h, out_w, z,
                              grad_input[start:stop])  # fmt: skip
        return partials.sum(axis=0)

    passes = 1 if weight is None else 2
    parts = over_batch(samples, batch, passes * grad_output.size * depth)
    grad_weight = parts[0]
    for part in parts[1:]:
        grad_weight += part
    # (kh, C, kw, O) -> OIHW
    grad_weight = grad_weight.reshape(kernel_h, channels, kernel_w, out_channels)
    return grad_input, np.ascontiguousarray(grad_weight.transpose(3, 1, 0, 2))
