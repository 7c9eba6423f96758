"""2-D convolution on raw ndarrays: im2col/col2im in Numba, the products in NumPy's BLAS.

An ungrouped conv runs each thread's share of the batch as one Numba call that calls BLAS's
GEMM itself (`_blas.gemm`), so the share takes the GIL once (LeNet-5's c1 forward and both
gradients 0.80 of the time through np.matmul, the CIFAR benchmark's conv 0.87, AlexNet's
conv1 0.97); grouped convs, and NumPy builds whose GEMM `_blas` does not find, call
np.matmul between the kernels.

Layouts follow torch.nn.functional: inputs NCHW, weights OIHW (``I = C // groups``).
The 3x3 stride-1 convs that `winograd.eligible` takes (many channels, wide maps, batches of
two or more) run there instead, forward and both gradients, and the 3x3 and 5x5 ones that
`winograd6.eligible` takes (many channels, maps under 24 wide) by F(4x4, 3x3) and F(2x2, 5x5);
the forwards that `conv_rows.eligible` takes (narrow, unpadded across, such as LeNet-5's c3)
and the backward passes of those with few input channels (`conv_rows.backward_eligible`) by
row lowering, and the weight gradients that `conv_direct.eligible` takes (one input channel:
LeNet-5's c1) by direct dot products.

Column layout: ``col`` has shape ``(C * kh * kw, N * OH * OW)``. Row ``(c * kh + i) * kw + j``
is input channel ``c`` seen through kernel tap ``(i, j)``; column ``n * OH * OW + oh * OW + ow``
is output pixel ``(oh, ow)`` of sample ``n``. With this layout each group's forward product,
input-gradient product and weight-gradient product is one large GEMM over the whole batch
(the rows of a group are contiguous), and im2col/col2im write and read whole contiguous output
rows, so the copies vectorise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from autograd_cv.kernels import conv_direct, conv_rows, winograd, winograd6
from autograd_cv.kernels._blas import gemm, gemm_table
from autograd_cv.kernels._geometry import (
    Pair,
    as_pair,
    check_array,
    check_geometry,
    check_non_negative,
    check_positive,
    check_same_dtype,
    check_shape4,
)
from autograd_cv.kernels._loops import add as _add
from autograd_cv.kernels._loops import add_rows, add_run, copy_rows, copy_run, zero_run
from autograd_cv.kernels._loops import copy as _copy
from autograd_cv.kernels._loops import copy_plus as _copy_plus
from autograd_cv.kernels._split import equal_block, over_batch, product, scratch

__all__ = [
    "im2col",
    "col2im",
    "conv2d_forward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "conv2d_backward",
]


# ---------------------------------------------------------------------------------------------
# Numba kernels. ``geometry`` is (kh, kw, sh, sw, ph, pw, dh, dw).
#
# They run on one thread on purpose. Each sits between two OpenBLAS GEMMs, and OpenBLAS's
# worker threads busy-wait (no yield) for tens of milliseconds after every GEMM; a Numba
# parallel region started then shares a core with that spinner and stalls for scheduler ticks.
# Measured on the 2-core target, parallel=True made whole conv steps 2-5x slower. Instead
# the wrappers split the batch across threads (see _split.over_batch), each running these kernels
# and single-threaded GEMMs on its own part, and the copies stay cache-sized (BLOCK_BYTES).


@njit(cache=True, inline="always")
def _valid_range(offset: int, stride: int, size: int, out_size: int) -> tuple[int, int]:
    # Output positions o with 0 <= o * stride + offset < size, as [lo, hi); precomputing it
    # leaves the inner copy loop without a bounds branch, so LLVM can vectorise it.
    lo = -(offset // stride) if offset < 0 else 0
    hi = -((offset - size) // stride)
    return min(max(lo, 0), out_size), min(max(hi, 0), out_size)


@njit(cache=True, nogil=True, inline="always")
def _valid_ranges(geometry, height, width, out_h, out_w):
    # _valid_range of every kernel row and column, computed once per call rather than once
    # per tap and sample (two floor divisions each).
    kh, kw, sh, sw, ph, pw, dh, dw = geometry
    rows_lo, rows_hi = np.empty(kh, np.int64), np.empty(kh, np.int64)
    cols_lo, cols_hi = np.empty(kw, np.int64), np.empty(kw, np.int64)
    for i in range(kh):
        rows_lo[i], rows_hi[i] = _valid_range(i * dh - ph, sh, height, out_h)
    for j in range(kw):
        cols_lo[j], cols_hi[j] = _valid_range(j * dw - pw, sw, width, out_w)
    return rows_lo, rows_hi, cols_lo, cols_hi


@njit(cache=True, nogil=True, inline="always")
def _zero(dst):
    for k in range(dst.shape[0]):
        dst[k] = 0


@njit(cache=True, nogil=True, inline="always")
def _zero_margins(col_flat, start, oh_lo, oh_hi, ow_lo, ow_hi, out_w):
    # Zero columns [0, ow_lo) and [ow_hi, out_w) of rows oh_lo..oh_hi of the tap block at
    # `start`: a few single stores per row, written without slices (two slices per row cost
    # more than the stores: im2col of one 32x32 sample with padding 1 went from 0.21 to
    # 0.15 ms; on 7x7 maps it was level).
    if ow_lo == 0 and ow_hi == out_w:
        return
    for oh in range(oh_lo, oh_hi):
        row = start + oh * out_w
        for k in range(ow_lo):
            col_flat[row + k] = 0
        for k in range(ow_hi, out_w):
            col_flat[row + k] = 0


@njit(cache=True, nogil=True)
def _im2col_whole_rows(x, geometry, out_h, out_w, col):  # pragma: no cover - compiled
    # _im2col_kernel's case of stride 1 and no padding across (LeNet-5's c3): each output
    # row of a tap is a whole run of the input, out_w long. A kernel of its own: inside the
    # general one, with its other cases beside it, the same loop took 51 us a block of 8 c3
    # samples instead of 35.
    kh, kw, sh, sw, ph, pw, dh, dw = geometry
    batch, channels, height, width = x.shape
    plane, columns = out_h * out_w, col.shape[1]
    x_flat, col_flat = x.reshape(-1), col.reshape(-1)
    rows_lo, rows_hi, _, _ = _valid_ranges(geometry, height, width, out_h, out_w)
    for c in range(channels):
        for i in range(kh):
            oh_lo, oh_hi = rows_lo[i], rows_hi[i]
            for j in range(kw):
                row = ((c * kh + i) * kw + j) * columns
                for n in range(batch):
                    dst = row + n * plane
                    if oh_lo >= oh_hi:
                        zero_run(col_flat, dst, plane)
                        continue
                    zero_run(col_flat, dst, oh_lo * out_w)
                    zero_run(col_flat, dst + oh_hi * out_w, (out_h - oh_hi) * out_w)
                    src = (n * channels + c) * height * width + (oh_lo * sh + i * dh - ph) * width
                    copy_rows(col_flat, dst + oh_lo * out_w, x_flat, src + j * dw, sh * width,
                               oh_hi - oh_lo, out_w)  # fmt: skip


@njit(cache=True, nogil=True)
def _col2im_whole_rows(col, geometry, out_h, out_w, x):  # pragma: no cover - compiled
    # The adjoint of _im2col_whole_rows, into a zeroed x.
    kh, kw, sh, sw, ph, pw, dh, dw = geometry
    batch, channels, height, width = x.shape
    plane, columns = out_h * out_w, col.shape[1]
    x_flat, col_flat = x.reshape(-1), col.reshape(-1)
    rows_lo, rows_hi, _, _ = _valid_ranges(geometry, height, width, out_h, out_w)
    for c in range(channels):
        for i in range(kh):
            oh_lo, oh_hi = rows_lo[i], rows_hi[i]
            if oh_lo >= oh_hi:
                continue
            for j in range(kw):
                row = ((c * kh + i) * kw + j) * columns
                for n in range(batch):
                    dst = (n * channels + c) * height * width + (oh_lo * sh + i * dh - ph) * width
                    add_rows(x_flat, dst + j * dw, sh * width, col_flat,
                              row + n * plane + oh_lo * out_w, oh_hi - oh_lo, out_w)  # fmt: skip


@njit(cache=True, nogil=True)
def _im2col_kernel(x, geometry, out_h, out_w, col):  # pragma: no cover - compiled
    kh, kw, sh, sw, ph, pw, dh, dw = geometry
    batch, channels, height, width = x.shape
    plane, columns = out_h * out_w, col.shape[1]
    x_flat, col_flat = x.reshape(-1), col.reshape(-1)
    if sw == 1 and pw == 0:
        _im2col_whole_rows(x, geometry, out_h, out_w, col)
        return
    # Stride 1 with out_w == width ("same" padding): consecutive output rows read consecutive
    # input rows of the same pitch, so all valid output rows of one tap are one contiguous
    # shifted copy; only the few padding columns of each row need zeroing afterwards.
    one_span = sh == 1 and sw == 1 and out_w == width
    rows_lo, rows_hi, cols_lo, cols_hi = _valid_ranges(geometry, height, width, out_h, out_w)
    # Tap-major: the samples of one tap are adjacent in its col row, so the row is written
    # front to back (sample-major jumped to another row every few dozen values: one block of
    # AlexNetSmall's conv4 took 8.4 ms that way, 3.4 ms this way).
    for c in range(channels):
        for i in range(kh):
            oh_lo, oh_hi = rows_lo[i], rows_hi[i]
            for j in range(kw):
                for n in range(batch):
                    x_plane = (n * channels + c) * height * width
                    col_offset = j * dw - pw
                    ow_lo, ow_hi = cols_lo[j], cols_hi[j]
                    dst = ((c * kh + i) * kw + j) * columns + n * plane
                    if oh_lo >= oh_hi or ow_lo >= ow_hi:
                        _zero(col_flat[dst : dst + plane])
                        continue
                    # Only slices that hold something: a thousand taps a sample make even
                    # an empty slice's bounds arithmetic show (LeNet's c3: 84 -> 50 us).
                    if oh_lo > 0:
                        _zero(col_flat[dst : dst + oh_lo * out_w])
                    if oh_hi < out_h:
                        _zero(col_flat[dst + oh_hi * out_w : dst + plane])
                    src = x_plane + (oh_lo * sh + i * dh - ph) * width + col_offset
                    if one_span:
                        first = dst + oh_lo * out_w
                        count = (oh_hi - oh_lo) * out_w - ow_lo - (out_w - ow_hi)
                        _copy(
                            col_flat[first + ow_lo : first + ow_lo + count],
                            x_flat[src + ow_lo : src + ow_lo + count],
                        )
                        _zero_margins(col_flat, dst, oh_lo, oh_hi, ow_lo, ow_hi, out_w)
                        continue
                    # One short run per output row: offsets, not slices (see _loops.copy_run).
                    for oh in range(oh_lo, oh_hi):
                        row = dst + oh * out_w
                        zero_run(col_flat, row, ow_lo)
                        copy_run(col_flat, row + ow_lo, x_flat, src + ow_lo * sw, sw,
                                  ow_hi - ow_lo)  # fmt: skip
                        zero_run(col_flat, row + ow_hi, out_w - ow_hi)
                        src += sh * width


@njit(cache=True, nogil=True)
def _col2im_kernel(col, geometry, out_h, out_w, x):  # pragma: no cover - compiled
    kh, kw, sh, sw, ph, pw, dh, dw = geometry
    batch, channels, height, width = x.shape
    plane, columns = out_h * out_w, col.shape[1]
    x_flat, col_flat = x.reshape(-1), col.reshape(-1)
    one_span = sh == 1 and sw == 1 and out_w == width
    _zero(x_flat)
    if sw == 1 and pw == 0:
        _col2im_whole_rows(col, geometry, out_h, out_w, x)
        return
    rows_lo, rows_hi, cols_lo, cols_hi = _valid_ranges(geometry, height, width, out_h, out_w)
    for c in range(channels):  # tap-major, as im2col: each col row is read front to back
        for i in range(kh):
            oh_lo, oh_hi = rows_lo[i], rows_hi[i]
            for j in range(kw):
                for n in range(batch):
                    x_plane = (n * channels + c) * height * width
                    col_offset = j * dw - pw
                    ow_lo, ow_hi = cols_lo[j], cols_hi[j]
                    if ow_lo >= ow_hi or oh_lo >= oh_hi:
                        continue
                    src = ((c * kh + i) * kw + j) * columns + n * plane
                    dst = x_plane + (oh_lo * sh + i * dh - ph) * width + col_offset
                    if one_span:
                        # As im2col's: the tap's rows are one run of x; the columns that
                        # fall in the padding are zeroed in col (a scratch buffer) so that
                        # the run adds nothing to the neighbouring row's pixels there.
                        _zero_margins(col_flat, src, oh_lo, oh_hi, ow_lo, ow_hi, out_w)
                        first = src + oh_lo * out_w + ow_lo
                        count = (oh_hi - oh_lo) * out_w - ow_lo - (out_w - ow_hi)
                        _add(x_flat[dst + ow_lo : dst + ow_lo + count],
                             col_flat[first : first + count])  # fmt: skip
                        continue
                    for oh in range(oh_lo, oh_hi):
                        row = src + oh * out_w
                        add_run(x_flat, dst + ow_lo * sw, sw, col_flat, row + ow_lo,
                                 ow_hi - ow_lo)  # fmt: skip
                        dst += sh * width


@njit(cache=True, nogil=True)
def _rows_to_nchw(rows, bias, out):  # pragma: no cover - compiled
    # rows is the GEMM result (O, N * OH * OW); out is (N, O, OH * OW). Adding the bias here
    # saves a pass.
    batch, channels, plane = out.shape
    columns = rows.shape[1]
    rows_flat, out_flat = rows.reshape(-1), out.reshape(-1)
    for n in range(batch):
        for o in range(channels):
            src = o * columns + n * plane
            dst = (n * channels + o) * plane
            _copy_plus(out_flat[dst : dst + plane], rows_flat[src : src + plane], bias[o])


@njit(cache=True, nogil=True)
def _nchw_to_rows(grad_output, rows):  # pragma: no cover - compiled
    # grad_output (N, O, OH * OW) -> rows (O, N * OH * OW), the layout the backward GEMMs want.
    batch, channels, plane = grad_output.shape
    columns = rows.shape[1]
    rows_flat, grad_flat = rows.reshape(-1), grad_output.reshape(-1)
    for n in range(batch):
        for o in range(channels):
            dst = o * columns + n * plane
            src = (n * channels + o) * plane
            _copy(rows_flat[dst : dst + plane], grad_flat[src : src + plane])


@njit(cache=True, nogil=True, inline="always")
def _block_views(col, rows, col_rows, out_channels, samples, plane):  # pragma: no cover
    # A block's col (col_rows, samples * plane) and GEMM rows (out_channels, ...) at the front
    # of the flat buffers, as _Blocks.buffers gives them.
    columns = samples * plane
    return (col[: col_rows * columns].reshape(col_rows, columns),
            rows[: out_channels * columns].reshape(out_channels, columns))  # fmt: skip


@njit(cache=True, nogil=True)
def _forward_part(table, x, weight, bias, geometry, out_h, out_w, block, col, rows,
                  out):  # fmt: skip  # pragma: no cover - compiled
    # One group's forward over a part's samples, `block` at a time, in one call: im2col, the
    # GEMM (by BLAS from here, see _blas), then into NCHW with the bias. out: (N, O, OH * OW).
    batch, plane = x.shape[0], out_h * out_w
    col_rows, out_channels = weight.shape[1], weight.shape[0]
    for start in range(0, batch, block):
        stop = min(start + block, batch)
        block_col, block_rows = _block_views(col, rows, col_rows, out_channels, stop - start, plane)
        _im2col_kernel(x[start:stop], geometry, out_h, out_w, block_col)
        gemm(table, weight, block_col, block_rows, 0.0)
        _rows_to_nchw(block_rows, bias, out[start:stop])


@njit(cache=True, nogil=True)
def _backward_part(table, x, grad_planes, weight_t, geometry, out_h, out_w, block, col, rows,
                   total, transposed, grad_input):  # fmt: skip  # pragma: no cover - compiled
    # One group's gradients over a part's samples, `block` at a time, in one call: the
    # weight's summed into `total` ((taps, O) when `transposed`, else (O, taps)); with
    # weight_t (taps, O) not empty, the input's into grad_input.
    batch, out_channels, plane = grad_planes.shape
    col_rows = total.shape[0] if transposed else total.shape[1]
    for start in range(0, batch, block):
        stop = min(start + block, batch)
        block_col, block_rows = _block_views(col, rows, col_rows, out_channels, stop - start, plane)
        _im2col_kernel(x[start:stop], geometry, out_h, out_w, block_col)
        _nchw_to_rows(grad_planes[start:stop], block_rows)
        beta = 0.0 if start == 0 else 1.0  # the blocks' gradients add up in place
        if transposed:
            gemm(table, block_col, block_rows.T, total, beta)
        else:
            gemm(table, block_rows, block_col.T, total, beta)
        if weight_t.shape[0] > 0:  # col has been read: it takes the input gradient's columns
            gemm(table, weight_t, block_rows, block_col, 0.0)
            _col2im_kernel(block_col, geometry, out_h, out_w, grad_input[start:stop])


# A sample whose col is several times L2 (AlexNet's conv1: 363 x 3025 floats, 4.4 MB) is
# lowered a band of output rows at a time instead (see row_band): the band's input rows are
# copied into a small contiguous slab, lowered by the kernels above with the band's own top
# padding, and multiplied while col is still in cache (the backward writes and reads a
# sample's col four times); the GEMMs write into (and read) the output planes' columns in
# place, so the NCHW copies go too. A band is a conv of its own: output rows oh0 .. oh1 - 1
# read input rows from oh0 * sh - ph on, so with the slab starting at row max(that, 0) the
# band's top padding is max(-(oh0 * sh - ph), 0), and rows past the input are padding alike.


@njit(cache=True, nogil=True, inline="always")
def _lower_band(x, n, geometry, oh0, oh1, out_w, slab, col, col_rows):  # pragma: no cover
    # Lower sample n's output rows oh0 .. oh1 - 1 into col's front, (col_rows, columns), from
    # a copy of their input rows in slab. Returns that col, the slab as (1, C, rows, W), the
    # band's geometry and the slab's first input row.
    kh, kw, sh, sw, ph, pw, dh, dw = geometry
    _, channels, height, width = x.shape
    first = oh0 * sh - ph
    low = max(first, 0)
    high = min((oh1 - 1) * sh - ph + (kh - 1) * dh + 1, height)
    rows = max(high - low, 0)
    run = rows * width  # a channel's rows are one run in x and in the slab
    x_flat = x.reshape(-1)
    for c in range(channels):
        start = ((n * channels + c) * height + low) * width
        _copy(slab[c * run : (c + 1) * run], x_flat[start : start + run])
    band = slab[: channels * run].reshape(1, channels, rows, width)
    band_geometry = (kh, kw, sh, sw, max(-first, 0), pw, dh, dw)
    columns = (oh1 - oh0) * out_w
    band_col = col[: col_rows * columns].reshape(col_rows, columns)
    _im2col_kernel(band, band_geometry, oh1 - oh0, out_w, band_col)
    return band_col, band, band_geometry, low


@njit(cache=True, nogil=True)
def _forward_bands(table, x, weight, bias, geometry, out_h, out_w, band_rows, col, slab,
                   out):  # fmt: skip  # pragma: no cover - compiled
    # The forward of a part's samples a band of output rows at a time. out: (N, O, OH * OW).
    col_rows, out_channels = weight.shape[1], weight.shape[0]
    for n in range(x.shape[0]):
        for oh0 in range(0, out_h, band_rows):
            oh1 = min(oh0 + band_rows, out_h)
            band_col, _, _, _ = _lower_band(x, n, geometry, oh0, oh1, out_w, slab, col, col_rows)
            planes = out[n, :, oh0 * out_w : oh1 * out_w]
            gemm(table, weight, band_col, planes, 0.0)
            for o in range(out_channels):
                planes[o] += bias[o]


@njit(cache=True, nogil=True)
def _backward_bands(table, x, grad_planes, weight_t, geometry, out_h, out_w, band_rows, col,
                    slab, total, transposed, grad_input):  # fmt: skip  # pragma: no cover
    # Both gradients of a part's samples a band of output rows at a time: the weight's summed
    # into `total` as _backward_part does; with weight_t not empty, the input's into
    # grad_input (each band's slab of it added, bands' rows overlapping).
    batch, channels, height, width = x.shape
    col_rows = total.shape[0] if transposed else total.shape[1]
    grad_flat = grad_input.reshape(-1)
    beta = 0.0
    for n in range(batch):
        if weight_t.shape[0] > 0:
            grad_input[n] = 0
        for oh0 in range(0, out_h, band_rows):
            oh1 = min(oh0 + band_rows, out_h)
            band_col, band, band_geometry, low = _lower_band(
                x, n, geometry, oh0, oh1, out_w, slab, col, col_rows
            )
            rows = grad_planes[n, :, oh0 * out_w : oh1 * out_w]
            if transposed:
                gemm(table, band_col, rows.T, total, beta)
            else:
                gemm(table, rows, band_col.T, total, beta)
            beta = 1.0  # the bands' gradients add up in place
            if weight_t.shape[0] > 0:  # col has been read: it takes the input gradient's
                gemm(table, weight_t, rows, band_col, 0.0)
                _col2im_kernel(band_col, band_geometry, oh1 - oh0, out_w, band)
                run = band.shape[2] * width
                band_flat = band.reshape(-1)
                for c in range(channels):
                    start = ((n * channels + c) * height + low) * width
                    _add(grad_flat[start : start + run], band_flat[c * run : (c + 1) * run])


# ---------------------------------------------------------------------------------------------
# Python wrappers: assert what the op layer checked, allocate, call the kernels and the GEMMs.


def _normalise(op: str, kernel_size, stride, padding, dilation) -> tuple[Pair, Pair, Pair, Pair]:
    kernel_size = as_pair(kernel_size, "kernel_size", op)
    stride = as_pair(stride, "stride", op)
    padding = as_pair(padding, "padding", op)
    dilation = as_pair(dilation, "dilation", op)
    check_positive(kernel_size, "kernel_size", op)
    check_positive(stride, "stride", op)
    check_positive(dilation, "dilation", op)
    check_non_negative(padding, "padding", op)
    return kernel_size, stride, padding, dilation


def _pack(kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair) -> tuple[int, ...]:
    return (*kernel_size, *stride, *padding, *dilation)


def _check_groups(op: str, groups: int, in_channels: int, weight_shape: tuple[int, ...]) -> None:
    out_channels, in_per_group = weight_shape[0], weight_shape[1]
    assert groups >= 1 and out_channels % groups == 0, f"{op}: groups={groups}"
    assert in_per_group * groups == in_channels, f"{op}: weight {weight_shape}, {in_channels} in"


def _check_grad_output_fits(
    op: str,
    grad_output_shape: tuple[int, ...],
    input_shape: tuple[int, ...],
    kernel_size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
) -> None:
    # grad_output must be the conv output of input_shape, except that, as conv_transpose2d's
    # output_padding allows, the input may have up to max(stride, dilation) - 1 rows/cols more
    # than grad_output's windows need (they get a zero gradient, or what the math gives).
    natural = check_geometry(op, input_shape[2:], kernel_size, stride, padding, dilation)
    given = tuple(grad_output_shape[2:])
    for a in (0, 1):
        extent = dilation[a] * (kernel_size[a] - 1) + 1
        slack = input_shape[2 + a] + 2 * padding[a] - extent - (given[a] - 1) * stride[a]
        assert given[a] >= 1 and 0 <= slack < max(stride[a], dilation[a]), (
            f"{op}: grad_output {given} does not fit input {input_shape}: expected {natural}"
        )


def im2col(
    x: np.ndarray,
    kernel_size: Pair,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> np.ndarray:
    """Unfold NCHW ``x`` into ``col`` of shape ``(C * kh * kw, N * OH * OW)`` (see module doc)."""
    op = "im2col"
    check_array(x, "x", op)
    kernel_size, stride, padding, dilation = _normalise(op, kernel_size, stride, padding, dilation)
    out_h, out_w = check_geometry(op, x.shape[2:], kernel_size, stride, padding, dilation)
    batch, channels = x.shape[:2]
    kh, kw = kernel_size
    col = np.empty((channels * kh * kw, batch * out_h * out_w), dtype=x.dtype)
    geometry = _pack(kernel_size, stride, padding, dilation)
    _im2col_kernel(np.ascontiguousarray(x), geometry, out_h, out_w, col)
    return col


def col2im(
    col: np.ndarray,
    input_shape: tuple[int, int, int, int],
    kernel_size: Pair,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> np.ndarray:
    """Fold ``col`` back into an NCHW array of ``input_shape``, summing overlapping taps."""
    op = "col2im"
    check_array(col, "col", op, ndim=2)
    kernel_size, stride, padding, dilation = _normalise(op, kernel_size, stride, padding, dilation)
    input_shape = check_shape4(op, "input_shape", input_shape, "(N, C, H, W)", empty_batch=True)
    out_h, out_w = check_geometry(op, input_shape[2:], kernel_size, stride, padding, dilation)
    batch, channels = input_shape[:2]
    expected = (channels * kernel_size[0] * kernel_size[1], batch * out_h * out_w)
    assert col.shape == expected, f"{op}: col shape {col.shape}, expected {expected}"
    x = np.empty(input_shape, dtype=col.dtype)
    geometry = _pack(kernel_size, stride, padding, dilation)
    # a copy: the kernel zeroes col's padding columns as it goes (its callers pass scratch)
    _col2im_kernel(np.array(col, order="C"), geometry, out_h, out_w, x)
    return x


def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """Cross-correlate NCHW ``x`` with OIHW ``weight`` (+ ``bias``), as torch's conv2d."""
    op = "conv2d_forward"
    check_array(x, "input", op)
    check_array(weight, "weight", op)
    check_same_dtype(op, input=x, weight=weight)
    out_channels = weight.shape[0]
    if bias is not None:
        check_array(bias, "bias", op, ndim=1)
        check_same_dtype(op, input=x, bias=bias)
        assert bias.shape == (out_channels,), f"{op}: bias shape {bias.shape}"
    _check_groups(op, groups, x.shape[1], weight.shape)
    kernel_size = weight.shape[2:]
    _, stride, padding, dilation = _normalise(op, kernel_size, stride, padding, dilation)
    out_h, out_w = check_geometry(op, x.shape[2:], kernel_size, stride, padding, dilation)

    if winograd.eligible(x.shape, weight.shape, stride, padding, dilation, groups, x.dtype):
        zeros = np.zeros(out_channels, x.dtype) if bias is None else bias
        out = winograd.winograd_conv3x3(x, weight, zeros, padding)
        if out is not None:  # None: a value was not finite, so im2col answers
            return out
    if winograd6.eligible(x.shape, weight.shape, stride, padding, dilation, groups, x.dtype):
        zeros = np.zeros(out_channels, x.dtype) if bias is None else bias
        out = winograd6.conv(x, weight, zeros, padding)
        if out is not None:  # None: a value was not finite, so im2col answers
            return out
    x = np.ascontiguousarray(x)
    bias = np.zeros(out_channels, x.dtype) if bias is None else np.ascontiguousarray(bias)
    if conv_rows.eligible(x.shape, weight.shape, stride, padding, dilation, groups):
        return conv_rows.conv2d_rows(x, np.ascontiguousarray(weight), bias, padding)
    batch = x.shape[0]
    geometry = _pack(kernel_size, stride, padding, dilation)
    weight_groups = np.ascontiguousarray(weight).reshape(groups, out_channels // groups, -1)
    out = np.empty((batch, out_channels, out_h, out_w), dtype=x.dtype)
    out_planes = out.reshape(batch, out_channels, out_h * out_w)

    col_rows = weight_groups.shape[0] * weight_groups.shape[2]
    table = gemm_table() if groups == 1 else None

    band = row_band(col_rows, out_h, out_w, x.itemsize) if table is not None else 0

    def samples(low: int, high: int) -> None:
        if band:  # samples too big for L2, a band of output rows at a time
            col, slab = _band_buffers(x, geometry, band, col_rows, out_w)
            _forward_bands(table, x[low:high], weight_groups[0], bias, geometry, out_h, out_w,
                           band, col, slab, out_planes[low:high])  # fmt: skip
            return
        blocks = _Blocks(high - low, out_h * out_w, x.dtype, col_rows, out_channels)
        if table is not None:  # the whole part in one call, without the GIL
            col, rows = blocks.buffers(blocks.size)
            _forward_part(table, x[low:high], weight_groups[0], bias, geometry, out_h, out_w,
                          blocks.size, col.reshape(-1), rows.reshape(-1),
                          out_planes[low:high])  # fmt: skip
            return
        for start, stop in blocks:
            col, rows = blocks.buffers(stop - start)
            _im2col_kernel(x[low + start : low + stop], geometry, out_h, out_w, col)
            _grouped_matmul(weight_groups, col, rows, groups)
            _rows_to_nchw(rows, bias, out_planes[low + start : low + stop])

    over_batch(samples, batch, out.size * col_rows // groups)
    return out


def conv2d_backward_input(
    grad_output: np.ndarray,
    weight: np.ndarray,
    input_shape: tuple[int, int, int, int],
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """Gradient of conv2d with respect to its input (also conv_transpose2d's forward).

    ``grad_output`` may be smaller than the conv of ``input_shape`` would give (the
    ``output_padding`` case of conv_transpose2d); input pixels no window reaches get zero.
    """
    op = "conv2d_backward_input"
    check_array(grad_output, "grad_output", op)
    check_array(weight, "weight", op)
    check_same_dtype(op, grad_output=grad_output, weight=weight)
    input_shape = check_shape4(op, "input_shape", input_shape, "(N, C, H, W)", empty_batch=True)
    kernel_size, stride, padding, dilation = _check_backward(
        op, grad_output, input_shape, weight.shape, stride, padding, dilation, groups, "input_shape"
    )
    out_channels = weight.shape[0]
    if winograd.eligible(input_shape, weight.shape, stride, padding, dilation, groups,
                         grad_output.dtype):  # fmt: skip
        grad_input = _winograd_input_grad(grad_output, weight, padding)
        if grad_input is not None:  # None: a value was not finite, so im2col answers
            return grad_input
    if winograd6.eligible(input_shape, weight.shape, stride, padding, dilation, groups,
                          grad_output.dtype):  # fmt: skip
        grad_input = winograd6.input_grad(grad_output, weight, padding)
        if grad_input is not None:
            return grad_input

    out_h, out_w = grad_output.shape[2:]
    batch = input_shape[0]
    grad_planes = np.ascontiguousarray(grad_output).reshape(batch, out_channels, out_h * out_w)
    geometry = _pack(kernel_size, stride, padding, dilation)
    weight_groups = np.ascontiguousarray(weight).reshape(groups, out_channels // groups, -1)
    weight_t = weight_groups.transpose(0, 2, 1)  # a BLAS transpose flag, not a copy
    grad_input = np.empty(input_shape, dtype=grad_output.dtype)

    col_rows = weight_groups.shape[0] * weight_groups.shape[2]

    def samples(low: int, high: int) -> None:
        blocks = _Blocks(high - low, out_h * out_w, grad_output.dtype, col_rows, out_channels)
        for start, stop in blocks:
            col, rows = blocks.buffers(stop - start)
            _nchw_to_rows(grad_planes[low + start : low + stop], rows)
            _grouped_matmul(weight_t, rows, col, groups)
            _col2im_kernel(col, geometry, out_h, out_w, grad_input[low + start : low + stop])

    over_batch(samples, batch, grad_output.size * col_rows // groups)
    return grad_input


def conv2d_backward_weight(
    x: np.ndarray,
    grad_output: np.ndarray,
    weight_shape: tuple[int, int, int, int],
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """Gradient of conv2d with respect to its weight: GEMMs over the whole batch."""
    op = "conv2d_backward_weight"
    check_array(x, "input", op)
    check_array(grad_output, "grad_output", op)
    check_same_dtype(op, input=x, grad_output=grad_output)
    weight_shape = check_shape4(op, "weight_shape", weight_shape, "(O, I, kh, kw)")
    kernel_size, stride, padding, dilation = _check_backward(
        op, grad_output, x.shape, weight_shape, stride, padding, dilation, groups, "input shape"
    )
    out_channels = weight_shape[0]
    if winograd.eligible(x.shape, weight_shape, stride, padding, dilation, groups, x.dtype):
        grad_weight = winograd.winograd_weight_grad3x3(x, grad_output, padding)
        if grad_weight is not None:  # None: a value was not finite, so im2col answers
            return grad_weight
    if winograd6.eligible(x.shape, weight_shape, stride, padding, dilation, groups, x.dtype):
        grad_weight = winograd6.weight_grad(x, grad_output, padding, weight_shape[2])
        if grad_weight is not None:
            return grad_weight

    x = np.ascontiguousarray(x)
    if conv_direct.eligible(x.shape, weight_shape, stride, dilation, groups) and np.isfinite(
        x.sum()  # one number: NaN or inf anywhere makes it so (an overflow only falls back)
    ):
        grad_output = np.ascontiguousarray(grad_output)
        return conv_direct.conv2d_weight_grad_direct(x, grad_output, weight_shape, padding)
    # im2col over exactly grad_output's windows (fewer than the natural ones in the
    # output_padding case), so col's columns line up with grad_output's pixels.
    out_h, out_w = grad_output.shape[2:]
    batch = x.shape[0]
    grad_planes = np.ascontiguousarray(grad_output).reshape(batch, out_channels, out_h * out_w)
    geometry = _pack(kernel_size, stride, padding, dilation)
    gradient = _WeightGradient(weight_shape, groups, x.dtype)
    return _backward_pass(x, grad_planes, (out_h, out_w), geometry, gradient)


def conv2d_backward(
    x: np.ndarray,
    grad_output: np.ndarray,
    weight: np.ndarray,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Both gradients of conv2d, (input, weight), in one pass over the batch.

    The same values as `conv2d_backward_input` and `conv2d_backward_weight` (up to the order
    in which the threads' weight gradients are summed), but each block of samples is laid
    out as GEMM rows once and serves both products while it is in cache, and col's buffer
    takes the input gradient's columns once the weight's product has read it: LeNet-5's c3
    backward 2.58 -> 2.11 ms, 3x3 convs on 7x7 and 16x16 maps 6% faster than the two calls.
    """
    op = "conv2d_backward"
    check_array(x, "input", op)
    check_array(grad_output, "grad_output", op)
    check_array(weight, "weight", op)
    check_same_dtype(op, input=x, grad_output=grad_output, weight=weight)
    kernel_size, stride, padding, dilation = _check_backward(
        op, grad_output, x.shape, weight.shape, stride, padding, dilation, groups, "input shape"
    )
    if winograd.eligible(x.shape, weight.shape, stride, padding, dilation, groups, x.dtype) or (
        winograd6.eligible(x.shape, weight.shape, stride, padding, dilation, groups, x.dtype)
    ):
        # Both by Winograd, each falling back to im2col on its own (see the two kernels).
        return (
            conv2d_backward_input(grad_output, weight, x.shape, stride, padding),
            conv2d_backward_weight(x, grad_output, weight.shape, stride, padding),
        )
    x = np.ascontiguousarray(x)
    if conv_rows.backward_eligible(x.shape, weight.shape, stride, padding, dilation, groups):
        grad_output, weight = np.ascontiguousarray(grad_output), np.ascontiguousarray(weight)
        return conv_rows.conv2d_backward_rows(x, grad_output, weight.shape, padding, weight)
    out_channels = weight.shape[0]
    out_h, out_w = grad_output.shape[2:]
    batch = x.shape[0]
    grad_planes = np.ascontiguousarray(grad_output).reshape(batch, out_channels, out_h * out_w)
    geometry = _pack(kernel_size, stride, padding, dilation)
    weight_groups = np.ascontiguousarray(weight).reshape(groups, out_channels // groups, -1)
    weight_t = weight_groups.transpose(0, 2, 1)
    gradient = _WeightGradient(weight.shape, groups, x.dtype)
    grad_input = np.empty(x.shape, dtype=x.dtype)
    grad_weight = _backward_pass(
        x, grad_planes, (out_h, out_w), geometry, gradient, weight_t, grad_input
    )
    return grad_input, grad_weight


def _backward_pass(
    x: np.ndarray,
    grad_planes: np.ndarray,
    out_size: tuple[int, int],
    geometry: tuple[int, ...],
    gradient: _WeightGradient,
    weight_t: np.ndarray | None = None,
    grad_input: np.ndarray | None = None,
) -> np.ndarray:
    """The weight gradient over the batch split; with `weight_t` (the grouped weight,
    transposed), each block's input gradient is written into `grad_input` too."""
    out_h, out_w = out_size
    batch, out_channels, groups = x.shape[0], grad_planes.shape[1], gradient.groups
    col_rows = x.shape[1] * geometry[0] * geometry[1]

    table = gemm_table() if groups == 1 else None

    band = row_band(col_rows, out_h, out_w, x.itemsize) if table is not None else 0

    def samples(low: int, high: int) -> np.ndarray:
        # zeros, not empty: a part with no block has a zero weight gradient
        total = gradient.zeros()
        partial = None
        if band:  # samples too big for L2, a band of output rows at a time
            col, slab = _band_buffers(x, geometry, band, col_rows, out_w)
            taps = weight_t[0] if weight_t is not None else np.empty((0, 0), x.dtype)
            _backward_bands(table, x[low:high], grad_planes[low:high], taps, geometry, out_h,
                            out_w, band, col, slab, total[0], gradient.transposed,
                            grad_input[low:high] if grad_input is not None else x[:0])  # fmt: skip
            return total
        blocks = _Blocks(high - low, out_h * out_w, x.dtype, col_rows, out_channels)
        if table is not None and high > low:  # the whole part in one call, without the GIL
            col, rows = blocks.buffers(blocks.size)
            taps = weight_t[0] if weight_t is not None else np.empty((0, 0), x.dtype)
            _backward_part(table, x[low:high], grad_planes[low:high], taps, geometry, out_h,
                           out_w, blocks.size, col.reshape(-1), rows.reshape(-1), total[0],
                           gradient.transposed,
                           grad_input[low:high] if grad_input is not None else x[:0])  # fmt: skip
            return total
        for start, stop in blocks:
            col, rows = blocks.buffers(stop - start)
            part = slice(low + start, low + stop)
            _im2col_kernel(x[part], geometry, out_h, out_w, col)
            _nchw_to_rows(grad_planes[part], rows)
            if start == 0:
                gradient.product(col, rows, out=total)
            else:
                partial = np.empty_like(total) if partial is None else partial
                gradient.product(col, rows, out=partial)
                total += partial
            if grad_input is not None:
                _grouped_matmul(weight_t, rows, col, groups)  # col has been read: reuse it
                _col2im_kernel(col, geometry, out_h, out_w, grad_input[part])
        return total

    passes = 1 if grad_input is None else 2
    work = passes * grad_planes.size * col_rows // groups
    return gradient.finish(over_batch(samples, batch, work))


class _WeightGradient:
    """The weight gradient's GEMMs, block by block, and the sum of the threads' parts.

    Few output channels (LeNet's 6 and 16) make a GEMM with a tiny result and a huge inner
    dimension; OpenBLAS runs the (taps, O) orientation of it about twice as fast as (O, taps)
    (benchmarks/conv.py, LeNet c1 row), so those accumulate the transposed gradient.
    """

    def __init__(self, weight_shape: tuple[int, ...], groups: int, dtype) -> None:
        out_channels, in_per_group, kh, kw = weight_shape
        self.weight_shape, self.groups, self.dtype = tuple(weight_shape), groups, dtype
        self.transposed = out_channels // groups < SMALL_OUT_CHANNELS
        shape = (in_per_group * kh * kw, out_channels // groups)
        self.layout = (groups, *(shape if self.transposed else shape[::-1]))

    def zeros(self) -> np.ndarray:
        """A zero gradient in the accumulation layout."""
        return np.zeros(self.layout, self.dtype)

    def product(self, col: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
        """One block's gradient (col and GEMM rows of the same samples) into `out`."""
        col_groups = col.reshape(self.groups, -1, col.shape[1])
        rows_groups = rows.reshape(self.groups, -1, rows.shape[1])
        # One 2-D GEMM per group: NumPy passes the transposed view to BLAS as a flag,
        # where a 3-D matmul with a transposed operand falls back to a loop ~100x slower.
        for g in range(self.groups):
            if self.transposed:
                product(col_groups[g], rows_groups[g].T, out[g])
            else:
                product(rows_groups[g], col_groups[g].T, out[g])

    def finish(self, parts: list[np.ndarray]) -> np.ndarray:
        """The threads' totals summed, in OIHW."""
        grad_weight = parts[0]
        for part in parts[1:]:
            grad_weight += part
        if self.transposed:
            grad_weight = np.ascontiguousarray(grad_weight.transpose(0, 2, 1))
        return grad_weight.reshape(self.weight_shape)


# ---------------------------------------------------------------------------------------------
# Helpers for the wrappers.


def l2_cache_bytes(cpu_dir: str = "/sys/devices/system/cpu/cpu0/cache") -> int:
    """The size of one core's L2 cache as Linux reports it; 2 MiB where it is not reported."""
    try:
        for index in sorted(Path(cpu_dir).glob("index*")):
            if (index / "level").read_text().strip() != "2":
                continue
            if (index / "type").read_text().strip() not in ("Unified", "Data"):
                continue
            size = (index / "size").read_text().strip().upper()
            scale = {"K": 2**10, "M": 2**20}.get(size[-1:], 1)
            value = int(size.rstrip("KM")) * scale
            if value > 0:
                return value
    except (OSError, ValueError):
        pass
    return 2 * 2**20


# The batch is processed in blocks whose col fits in a core's L2 cache: im2col writes a
# block, the GEMM reads it back while it is still there, and the same buffers serve every
# block, so big batches neither stream col through DRAM nor page-fault a fresh
# multi-hundred-MB array on every call. Blocks hold whole samples (at least one, whatever its
# size). 3/8 of L2, because OpenBLAS packs its own copy of col while it multiplies, so both
# must fit. Measured on LeNet-5's c1 (Intel Xeon, 2 MB of L2 per core; forward, weight
# gradient): 0.5 MB blocks 0.80 and 1.11 ms, 0.75 MB 0.64 and 0.94, 1.5 MB 0.94 and 1.65
# (past L2; in session 6, 8 MB took 1.24 and 1.69). LeNet's c3 and the CIFAR conv were
# level from 0.5 to 1 MB, and the larger convs' blocks are set by MIN_BLOCK_COLUMNS instead.
# An L2 reported above 4 MB counts as 4 MB: more likely a shared cache misreported (in a
# VM) than one core's own. One below 2 MB counts as 2 MB: each block hands the GIL between
# the split's threads a few times, and on a 2-vCPU guest a hand-over that finds the other
# core idle costs 30-50 us. With AMD Zen 4's 1 MB L2, 0.375 MB blocks made LeNet-5's split
# c1 forward 371 us at batch 32 against 200 with 0.75 MB (215 on one thread either way);
# the LeNet-5 and AlexNetSmall-BN steps took 0.965 and 0.968 of their time with 0.75 MB.
BLOCK_BYTES = min(max(l2_cache_bytes(), 2 * 2**20), 4 * 2**20) * 3 // 8

#: A sample whose col takes more than this is lowered in bands of output rows (see
#: _forward_bands), each band's col within BAND_BYTES. AlexNet's conv1 at batch 16 (4.4 MB
#: of col a sample; AMD EPYC Zen 3, 512 KB of L2 a core, 2 threads; in one process,
#: alternating with whole samples), forward and both gradients, by rows a band: 2 rows
#: 1.05 and 0.89 of the time, 4 rows 0.88 and 0.82, 8 0.85 and 0.81, 14 0.81 and 0.76; in a
#: faster phase of the machine 8-28 rows all 0.96-0.98 and 0.93-0.95, and one band of all 55
#: rows 1.11 and 1.05 (the band's own copies, without the gain).
BAND_MIN_SAMPLE_BYTES = 4 * BLOCK_BYTES
BAND_BYTES = min(l2_cache_bytes(), 4 * 2**20) * 2


def row_band(col_rows: int, out_h: int, out_w: int, itemsize: int) -> int:
    """Output rows per band for a sample's col, or 0 where the sample is lowered whole."""
    per_row = col_rows * out_w * itemsize
    if per_row * out_h <= BAND_MIN_SAMPLE_BYTES:
        return 0
    return max(1, min(out_h, BAND_BYTES // max(per_row, 1)))


def _band_buffers(x: np.ndarray, geometry: tuple[int, ...], band: int, col_rows: int,
                  out_w: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The col and input-slab buffers of `band` output rows (flat, this thread's)."""
    kh, _, sh, _, _, _, dh, _ = geometry
    slab_rows = (band - 1) * sh + (kh - 1) * dh + 1
    return (scratch("col", col_rows * band * out_w, x.dtype),
            scratch("band_slab", x.shape[1] * slab_rows * x.shape[3], x.dtype))  # fmt: skip


#: Blocks span at least this many GEMM columns, whatever their size: at one 7x7 sample
#: (49 columns) per block the CIFAR net's late convs ran 20-30% slower than with ~20.
MIN_BLOCK_COLUMNS = 1024

#: Weight gradients of convs with fewer output channels per group are computed transposed.
SMALL_OUT_CHANNELS = 32


class _Blocks:
    """Batch ranges of a conv call, with the col and GEMM-rows buffers they share."""

    def __init__(self, batch: int, plane: int, dtype, col_rows: int, out_channels: int) -> None:
        per_sample = (col_rows + out_channels) * plane * np.dtype(dtype).itemsize
        fits = BLOCK_BYTES // max(per_sample, 1)
        wide_enough = -(-MIN_BLOCK_COLUMNS // max(plane, 1))
        self.size = equal_block(batch, max(fits, wide_enough))
        self.batch, self.plane = batch, plane
        self.col_rows, self.out_channels = col_rows, out_channels
        columns = self.size * plane
        self._col = scratch("col", col_rows * columns, dtype)
        self._rows = scratch("rows", out_channels * columns, dtype)

    def __iter__(self):
        for start in range(0, self.batch, self.size):
            yield start, min(start + self.size, self.batch)

    def buffers(self, samples: int) -> tuple[np.ndarray, np.ndarray]:
        """C-contiguous (col_rows, samples * plane) and (out_channels, samples * plane) views."""
        columns = samples * self.plane
        col = self._col[: self.col_rows * columns].reshape(self.col_rows, columns)
        rows = self._rows[: self.out_channels * columns].reshape(self.out_channels, columns)
        return col, rows


def _winograd_input_grad(
    grad_output: np.ndarray, weight: np.ndarray, padding: Pair
) -> np.ndarray | None:
    """conv2d's input gradient by Winograd (None if a value is not finite).

    It is the conv of ``grad_output`` with the flipped, channel-swapped weight, padded by
    ``2 - padding`` (stride 1, so ``grad_output`` is exactly the conv's output size).
    """
    flipped = winograd.flip_weight(weight)
    zeros = np.zeros(flipped.shape[0], grad_output.dtype)
    return winograd.winograd_conv3x3(grad_output, flipped, zeros, (2 - padding[0], 2 - padding[1]))


def _grouped_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray, groups: int) -> None:
    """``out = a @ b`` group by group: ``a`` is (G, M, K), ``b`` (G*K, N), ``out`` (G*M, N).

    With one group this is a single 2-D matmul, so NumPy hands the whole block to one BLAS
    GEMM (transposed views go in as BLAS flags, without a copy).
    """
    b_groups = b.reshape(groups, -1, b.shape[1])
    out_groups = out.reshape(groups, -1, out.shape[1])
    for g in range(groups):  # 2-D GEMMs: each goes to BLAS whole
        product(a[g], b_groups[g], out_groups[g])


def _check_backward(
    op: str,
    grad_output,
    input_shape,
    weight_shape,
    stride,
    padding,
    dilation,
    groups: int,
    input_name: str,
) -> tuple:
    """Checks shared by both conv gradients; returns (kernel_size, stride, padding, dilation)."""
    _check_groups(op, groups, input_shape[1], weight_shape)
    kernel_size = tuple(weight_shape[2:])
    _, stride, padding, dilation = _normalise(op, kernel_size, stride, padding, dilation)
    _check_grad_output(op, grad_output, input_shape, weight_shape[0], input_name)
    _check_grad_output_fits(
        op, grad_output.shape, input_shape, kernel_size, stride, padding, dilation
    )
    return kernel_size, stride, padding, dilation


def _check_grad_output(
    op: str, grad_output: np.ndarray, input_shape, out_channels: int, input_name: str
) -> None:
    assert grad_output.shape[:2] == (input_shape[0], out_channels), (
        f"{op}: grad_output shape {grad_output.shape}, {input_name} {tuple(input_shape)}"
    )
