"""3x3 stride-1 convolution on small maps by Winograd's F(4x4, 3x3), channels innermost.

A tile of 4x4 outputs needs the 6x6 input patch under it; transformed, its 144 multiply-adds
per (input, output) channel pair (16 outputs x 9 taps) become 36 element-wise products:

    Y = A^T [ (G w G^T) (.) (B^T d B) ] A

Summed over input channels, each of the 36 positions of a transformed tile is one GEMM over
the tiles of a block: ``M[xi] = V[xi] @ U[xi]``, (tiles, in) x (in, out). That is 4x fewer
multiply-adds than im2col's GEMM. On a 7x7 map (the late convs of AlexNetSmall) four tiles
cover 8x8 outputs, so 3.1x fewer.

`winograd` (F(2x2, 3x3)) keeps the wide maps. On small ones its transforms run over a few
tiles a row and its tiles cover 80 outputs for 49, so it lost to im2col there. Here the
transforms run over the channels instead: the block is copied channels-last once, and every
loop is a whole channel vector, whatever the map's size.

The gradients: the input's is the forward of ``grad_output`` with the weight flipped and its
channels swapped, padded by ``2 - padding``. The weight's is the adjoint of the forward's
tiles: ``dU[xi] = V[xi]^T dM[xi]`` with ``dM = A dY A^T``, then ``dw = G^T dU G``.

F(4x4, 3x3) rounds more than F(2x2, 3x3): its transforms multiply by 4, 5 and 8 and its
filter transform divides by 6 and 24. The tests bound its float32 error against a float64
reference. An input, weight or output that is not finite, or a sum that overflows, sends the
call back to im2col, so infinities and NaNs come out as a direct convolution gives them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from autograd_cv.kernels._split import over_batch, scratch
from autograd_cv.kernels.winograd import flip_weight, plain_3x3

__all__ = ["eligible", "conv3x3", "input_grad3x3", "weight_grad3x3"]

#: Outputs at most this wide: wider maps go to `winograd`'s F(2x2, 3x3) or to im2col.
MAX_OUT_WIDTH = 23

#: Both channel counts at least this (the GEMMs' inner and outer sizes).
MIN_CHANNELS = 64

#: Tiles per block (whole samples, at least one): V and M for a block's tiles are made,
#: multiplied and transformed back before the next block. With batch 128 on two threads,
#: AlexNetSmall's 7x7 convs run each thread's 64 samples (256 tiles) as one block.
BLOCK_TILES = 256

# F(4x4, 3x3) on the points 0, 1, -1, 2, -2 and infinity. Its matrices, applied by the
# kernels below row by row:
#   B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
#          [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
#   G = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6],
#        [1/24, -1/12, 1/6], [0, 0, 1]]
#   A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]


def eligible(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    dtype,
) -> bool:
    """Whether conv2d of these shapes and arguments takes the F(4x4, 3x3) path."""
    if not plain_3x3(weight_shape, stride, padding, dilation, groups, dtype):
        return False
    out_channels, in_channels = weight_shape[:2]
    out_h = input_shape[2] + 2 * padding[0] - 2
    out_w = input_shape[3] + 2 * padding[1] - 2
    return (
        min(in_channels, out_channels) >= MIN_CHANNELS
        and 2 <= out_w <= MAX_OUT_WIDTH
        and out_h >= 2
        and input_shape[0] >= 2
    )


def transform_weight(weight: np.ndarray) -> np.ndarray:
    """U = G w G^T for every (out, in) pair, as (36, in, out), in the weight's dtype."""
    out_channels, in_channels = weight.shape[:2]
    taps = np.ascontiguousarray(weight.reshape(out_channels, in_channels * 9).T)
    u = np.empty((36, in_channels, out_channels), weight.dtype)
    _filter_tiles(taps.reshape(in_channels, 9, out_channels), u, _constants(weight.dtype))
    return u


def _finite(*arrays: np.ndarray) -> bool:
    # One number each: NaN or inf anywhere makes it so (an overflowing sum only falls back).
    return all(np.isfinite(array.sum()) for array in arrays)


def conv3x3(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, padding: tuple[int, int]
) -> np.ndarray | None:
    """conv2d of NCHW ``x`` with 3x3 OIHW ``weight``, stride 1; None if a value is not finite.

    The caller checked the arguments and `eligible`; ``bias`` is (out,), zeros for none.
    """
    if not _finite(x, weight):
        return None
    batch, channels, height, width = x.shape
    out_channels = weight.shape[0]
    out_h, out_w = height + 2 * padding[0] - 2, width + 2 * padding[1] - 2
    tiles_h, tiles_w = -(-out_h // 4), -(-out_w // 4)
    u = transform_weight(weight)
    x = np.ascontiguousarray(x)
    bias = np.ascontiguousarray(bias, dtype=x.dtype)
    out = np.empty((batch, out_channels, out_h, out_w), x.dtype)
    per_sample = tiles_h * tiles_w
    k = _constants(x.dtype)

    def samples(low: int, high: int) -> None:
        size = max(1, BLOCK_TILES // per_sample)
        rows = min(size, high - low) * per_sample
        padded = scratch("winograd4_x", size * (4 * tiles_h + 2) * (4 * tiles_w + 2) * channels,
                         x.dtype)  # fmt: skip
        v = scratch("winograd4_v", 36 * rows * channels, x.dtype)
        m = scratch("winograd4_m", 36 * rows * out_channels, x.dtype)
        tmp = scratch("winograd4_t", 36 * max(channels, out_channels), x.dtype)
        for start in range(low, high, size):
            stop = min(start + size, high)
            used = (stop - start) * per_sample
            block = padded[: (stop - start) * (4 * tiles_h + 2) * (4 * tiles_w + 2) * channels]
            block = block.reshape(stop - start, 4 * tiles_h + 2, 4 * tiles_w + 2, channels)
            _to_channels_last(x[start:stop], padding[0], padding[1], block)
            vb = v[: 36 * used * channels].reshape(36, used, channels)
            mb = m[: 36 * used * out_channels].reshape(36, used, out_channels)
            _input_tiles(block, tiles_h, tiles_w, vb, tmp, k)
            for xi in range(36):
                np.matmul(vb[xi], u[xi], out=mb[xi])
            _output_tiles(mb, bias, tiles_h, tiles_w, out[start:stop], tmp, k)

    over_batch(samples, batch, batch * per_sample * 36 * channels * out_channels)
    return out if _finite(out) else None


def input_grad3x3(
    grad_output: np.ndarray, weight: np.ndarray, padding: tuple[int, int]
) -> np.ndarray | None:
    """conv2d's input gradient: the forward of ``grad_output`` with the flipped weight."""
    flipped = flip_weight(weight)
    zeros = np.zeros(flipped.shape[0], grad_output.dtype)
    return conv3x3(grad_output, flipped, zeros, (2 - padding[0], 2 - padding[1]))


def weight_grad3x3(
    x: np.ndarray, grad_output: np.ndarray, padding: tuple[int, int]
) -> np.ndarray | None:
    """conv2d's weight gradient, (out, in, 3, 3); None if a value is not finite."""
    if not _finite(x, grad_output):
        return None
    batch, channels = x.shape[:2]
    out_channels, out_h, out_w = grad_output.shape[1:]
    tiles_h, tiles_w = -(-out_h // 4), -(-out_w // 4)
    x = np.ascontiguousarray(x)
    grad_output = np.ascontiguousarray(grad_output)
    per_sample = tiles_h * tiles_w
    k = _constants(x.dtype)

    def samples(low: int, high: int) -> np.ndarray:
        size = max(1, BLOCK_TILES // per_sample)
        rows = min(size, high - low) * per_sample
        padded = scratch("winograd4_x", size * (4 * tiles_h + 2) * (4 * tiles_w + 2) * channels,
                         x.dtype)  # fmt: skip
        grads = scratch("winograd4_g", size * 16 * per_sample * out_channels, x.dtype)
        v = scratch("winograd4_v", 36 * rows * channels, x.dtype)
        dm = scratch("winograd4_m", 36 * rows * out_channels, x.dtype)
        tmp = scratch("winograd4_t", 36 * max(channels, out_channels), x.dtype)
        total = np.zeros((36, channels, out_channels), x.dtype)
        partial = np.empty_like(total[0])
        for start in range(low, high, size):
            stop = min(start + size, high)
            count, used = stop - start, (stop - start) * per_sample
            block = padded[: count * (4 * tiles_h + 2) * (4 * tiles_w + 2) * channels]
            block = block.reshape(count, 4 * tiles_h + 2, 4 * tiles_w + 2, channels)
            _to_channels_last(x[start:stop], padding[0], padding[1], block)
            g = grads[: count * 16 * per_sample * out_channels]
            g = g.reshape(count, 4 * tiles_h, 4 * tiles_w, out_channels)
            _to_channels_last(grad_output[start:stop], 0, 0, g)
            vb = v[: 36 * used * channels].reshape(36, used, channels)
            dmb = dm[: 36 * used * out_channels].reshape(36, used, out_channels)
            _input_tiles(block, tiles_h, tiles_w, vb, tmp, k)
            _grad_tiles(g, tiles_h, tiles_w, dmb, tmp, k)
            for xi in range(36):  # V's transposed view goes to BLAS as a flag
                np.matmul(vb[xi].T, dmb[xi], out=partial)
                total[xi] += partial
        return total

    parts = over_batch(samples, batch, batch * per_sample * 36 * channels * out_channels)
    grad_u = parts[0]
    for part in parts[1:]:
        grad_u += part
    taps = np.empty((channels, 9, out_channels), x.dtype)
    _filter_grads(grad_u, taps, _constants(x.dtype))
    grad_weight = taps.reshape(channels * 9, out_channels).T.reshape(out_channels, channels, 3, 3)
    grad_weight = np.ascontiguousarray(grad_weight)
    return grad_weight if _finite(grad_weight) else None


# ---------------------------------------------------------------------------------------------
# Numba kernels. A block is held channels-last, (samples, rows, columns, channels), so that
# every transform is a handful of loops over whole channel vectors. Tile (ty, tx) of a
# block's sample n is row (n * tiles_h + ty) * tiles_w + tx of V, M and dM. Each loop writes
# one array (LLVM left a loop writing several scalar).


@njit(cache=True, nogil=True)
def _to_channels_last(x, pad_h, pad_w, dst):  # pragma: no cover - compiled
    # dst[n, h + pad_h, w + pad_w, c] = x[n, c, h, w]; dst's other entries are zero
    batch, channels, height, width = x.shape
    rows, columns = dst.shape[1], dst.shape[2]
    h_hi, w_hi = min(height, rows - pad_h), min(width, columns - pad_w)
    for n in range(batch):
        for r in range(rows):
            h = r - pad_h
            for col in range(columns):
                w = col - pad_w
                line = dst[n, r, col]
                if h < 0 or h >= h_hi or w < 0 or w >= w_hi:
                    for c in range(channels):
                        line[c] = 0
                else:
                    for c in range(channels):
                        line[c] = x[n, c, h, w]


# The transforms' constants come in as an array of the data's dtype (see `_constants`): a
# Python int times a float32 is a float64 in Numba, which would run the loops in float64.
TWO, FOUR, FIVE, EIGHT, PLUS, MINUS, QUARTER, SIXTH, TWELFTH, TWENTY_FOURTH = range(10)


def _constants(dtype) -> np.ndarray:
    return np.array([2, 4, 5, 8, 1, -1, 1 / 4, 1 / 6, 1 / 12, 1 / 24], dtype)


@njit(cache=True, nogil=True, inline="always")
def _bt0(dst, d0, d2, d4, four, five):
    for c in range(dst.shape[0]):
        dst[c] = four * d0[c] - five * d2[c] + d4[c]


@njit(cache=True, nogil=True, inline="always")
def _bt12(dst, d1, d2, d3, d4, four, sign):
    # rows 1 (sign -1) and 2 (sign 1) of B^T: sign (4 d1 - d3) - 4 d2 + d4
    for c in range(dst.shape[0]):
        dst[c] = sign * (four * d1[c] - d3[c]) - four * d2[c] + d4[c]


@njit(cache=True, nogil=True, inline="always")
def _bt34(dst, d1, d2, d3, d4, two, sign):
    # rows 3 (sign 1) and 4 (sign -1) of B^T: sign 2 (d3 - d1) - d2 + d4
    for c in range(dst.shape[0]):
        dst[c] = sign * two * (d3[c] - d1[c]) - d2[c] + d4[c]


@njit(cache=True, nogil=True, inline="always")
def _bt(o0, o1, o2, o3, o4, o5, d0, d1, d2, d3, d4, d5, k):
    # o_k = (B^T d)_k for six channel vectors d_0..d_5 (row 5 is row 0 shifted by one)
    _bt0(o0, d0, d2, d4, k[FOUR], k[FIVE])
    _bt12(o1, d1, d2, d3, d4, k[FOUR], k[MINUS])
    _bt12(o2, d1, d2, d3, d4, k[FOUR], k[PLUS])
    _bt34(o3, d1, d2, d3, d4, k[TWO], k[PLUS])
    _bt34(o4, d1, d2, d3, d4, k[TWO], k[MINUS])
    _bt0(o5, d1, d3, d5, k[FOUR], k[FIVE])


@njit(cache=True, nogil=True)
def _input_tiles(padded, tiles_h, tiles_w, v, tmp, k):  # pragma: no cover - compiled
    # V[6a + b, tile] = (B^T d B)[a, b] for the 6x6 patch d at padded (4 ty, 4 tx): B
    # across each of the patch's rows (into across[b, row]), then B^T down each column b.
    batch, channels = padded.shape[0], padded.shape[3]
    across = tmp[: 36 * channels].reshape(6, 6, channels)
    for n in range(batch):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                t = (n * tiles_h + ty) * tiles_w + tx
                for i in range(6):
                    r = padded[n, 4 * ty + i]
                    c0 = 4 * tx
                    _bt(across[0, i], across[1, i], across[2, i], across[3, i], across[4, i],
                        across[5, i], r[c0], r[c0 + 1], r[c0 + 2], r[c0 + 3], r[c0 + 4],
                        r[c0 + 5], k)  # fmt: skip
                for b in range(6):
                    e = across[b]
                    _bt(v[b, t], v[6 + b, t], v[12 + b, t], v[18 + b, t], v[24 + b, t],
                        v[30 + b, t], e[0], e[1], e[2], e[3], e[4], e[5], k)  # fmt: skip
    return 0


@njit(cache=True, nogil=True, inline="always")
def _at(dst, m1, m2, m3, m4, scale, sign):
    # (m1 + sign m2) + scale (m3 + sign m4): rows 0-3 of A^T without their m0 and m5 terms
    for c in range(dst.shape[0]):
        dst[c] = (m1[c] + sign * m2[c]) + scale * (m3[c] + sign * m4[c])


@njit(cache=True, nogil=True, inline="always")
def _add(dst, src):
    for c in range(dst.shape[0]):
        dst[c] += src[c]


@njit(cache=True, nogil=True, inline="always")
def _a_transpose(o0, o1, o2, o3, m0, m1, m2, m3, m4, m5, k):
    # o_k = (A^T m)_k for six channel vectors m_0..m_5
    _at(o0, m1, m2, m3, m4, k[PLUS], k[PLUS])
    _at(o1, m1, m2, m3, m4, k[TWO], k[MINUS])
    _at(o2, m1, m2, m3, m4, k[FOUR], k[PLUS])
    _at(o3, m1, m2, m3, m4, k[EIGHT], k[MINUS])
    _add(o0, m0)
    _add(o3, m5)


@njit(cache=True, nogil=True)
def _output_tiles(m, bias, tiles_h, tiles_w, out, tmp, k):  # pragma: no cover - compiled
    # out[n, o] = A^T M A + bias, tile by tile: A^T down each of the tile's six columns
    # (into down[row, b]), then across each of its four rows, written out channel by channel.
    batch, out_channels, out_h, out_w = out.shape
    down = tmp[: 24 * out_channels].reshape(4, 6, out_channels)
    values = tmp[24 * out_channels : 28 * out_channels].reshape(4, out_channels)
    for n in range(batch):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                t = (n * tiles_h + ty) * tiles_w + tx
                for b in range(6):
                    _a_transpose(down[0, b], down[1, b], down[2, b], down[3, b], m[b, t],
                                 m[6 + b, t], m[12 + b, t], m[18 + b, t], m[24 + b, t],
                                 m[30 + b, t], k)  # fmt: skip
                for i in range(min(4, out_h - 4 * ty)):
                    d = down[i]
                    _a_transpose(values[0], values[1], values[2], values[3], d[0], d[1], d[2],
                                 d[3], d[4], d[5], k)  # fmt: skip
                    h = 4 * ty + i
                    for j in range(min(4, out_w - 4 * tx)):
                        line, w = values[j], 4 * tx + j
                        for o in range(out_channels):
                            out[n, o, h, w] = line[o] + bias[o]
    return 0


@njit(cache=True, nogil=True, inline="always")
def _copy_row(dst, src):
    for c in range(dst.shape[0]):
        dst[c] = src[c]


@njit(cache=True, nogil=True, inline="always")
def _a_mid(dst, d0, d1, d2, d3, s1, s2, s3):
    for c in range(dst.shape[0]):
        dst[c] = d0[c] + s1 * d1[c] + s2 * d2[c] + s3 * d3[c]


@njit(cache=True, nogil=True, inline="always")
def _a(o0, o1, o2, o3, o4, o5, d0, d1, d2, d3, k):
    # o_k = (A d)_k for four channel vectors d_0..d_3, A = (A^T)^T (6 x 4)
    _copy_row(o0, d0)
    _a_mid(o1, d0, d1, d2, d3, k[PLUS], k[PLUS], k[PLUS])
    _a_mid(o2, d0, d1, d2, d3, k[MINUS], k[PLUS], k[MINUS])
    _a_mid(o3, d0, d1, d2, d3, k[TWO], k[FOUR], k[EIGHT])
    _a_mid(o4, d0, d1, d2, d3, -k[TWO], k[FOUR], -k[EIGHT])
    _copy_row(o5, d3)


@njit(cache=True, nogil=True)
def _grad_tiles(grad, tiles_h, tiles_w, dm, tmp, k):  # pragma: no cover - compiled
    # dM[6a + b, tile] = (A dY A^T)[a, b] for the 4x4 tile dY of grad (channels-last, its
    # outputs past the map's edge zero): A across each of the tile's rows (into across[b,
    # row]), then A down each column b.
    batch, out_channels = grad.shape[0], grad.shape[3]
    across = tmp[: 24 * out_channels].reshape(6, 4, out_channels)
    for n in range(batch):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                t = (n * tiles_h + ty) * tiles_w + tx
                for i in range(4):
                    r = grad[n, 4 * ty + i]
                    c0 = 4 * tx
                    _a(across[0, i], across[1, i], across[2, i], across[3, i], across[4, i],
                       across[5, i], r[c0], r[c0 + 1], r[c0 + 2], r[c0 + 3], k)  # fmt: skip
                for b in range(6):
                    e = across[b]
                    _a(dm[b, t], dm[6 + b, t], dm[12 + b, t], dm[18 + b, t], dm[24 + b, t],
                       dm[30 + b, t], e[0], e[1], e[2], e[3], k)  # fmt: skip
    return 0


@njit(cache=True, nogil=True, inline="always")
def _g_row(dst, w0, w1, w2, s0, s1, s2):
    for o in range(dst.shape[0]):
        dst[o] = s0 * w0[o] + s1 * w1[o] + s2 * w2[o]


@njit(cache=True, nogil=True, inline="always")
def _g(o0, o1, o2, o3, o4, o5, w0, w1, w2, k):
    # o_a = (G w)_a for three vectors w_0..w_2
    zero = k[PLUS] - k[PLUS]
    _g_row(o0, w0, w1, w2, k[QUARTER], zero, zero)
    _g_row(o1, w0, w1, w2, -k[SIXTH], -k[SIXTH], -k[SIXTH])
    _g_row(o2, w0, w1, w2, -k[SIXTH], k[SIXTH], -k[SIXTH])
    _g_row(o3, w0, w1, w2, k[TWENTY_FOURTH], k[TWELFTH], k[SIXTH])
    _g_row(o4, w0, w1, w2, k[TWENTY_FOURTH], -k[TWELFTH], k[SIXTH])
    _copy_row(o5, w2)


@njit(cache=True, nogil=True)
def _filter_tiles(taps, u, k):  # pragma: no cover - compiled
    # U[6a + b, c] = (G w G^T)[a, b] for taps[c, 3i + j] = w[:, c, i, j] (vectors over out)
    channels, out_channels = taps.shape[0], taps.shape[2]
    across = np.empty((6, 3, out_channels), taps.dtype)  # [b, tap row]
    for c in range(channels):
        w = taps[c]
        for i in range(3):
            _g(across[0, i], across[1, i], across[2, i], across[3, i], across[4, i],
               across[5, i], w[3 * i], w[3 * i + 1], w[3 * i + 2], k)  # fmt: skip
        for b in range(6):
            e = across[b]
            _g(u[b, c], u[6 + b, c], u[12 + b, c], u[18 + b, c], u[24 + b, c], u[30 + b, c],
               e[0], e[1], e[2], k)  # fmt: skip
    return 0


@njit(cache=True, nogil=True, inline="always")
def _gt_row(dst, u0, u1, u2, u3, u4, s0, s1, s2, s3, s4):
    for o in range(dst.shape[0]):
        dst[o] = s0 * u0[o] + s1 * u1[o] + s2 * u2[o] + s3 * u3[o] + s4 * u4[o]


@njit(cache=True, nogil=True, inline="always")
def _gt(o0, o1, o2, u0, u1, u2, u3, u4, u5, k):
    # o_i = (G^T u)_i for six vectors u_0..u_5 (u_5 enters row 2 only)
    zero = k[PLUS] - k[PLUS]
    q, s, t, f = k[QUARTER], k[SIXTH], k[TWELFTH], k[TWENTY_FOURTH]
    _gt_row(o0, u0, u1, u2, u3, u4, q, -s, -s, f, f)
    _gt_row(o1, u0, u1, u2, u3, u4, zero, -s, s, t, -t)
    _gt_row(o2, u0, u1, u2, u3, u4, zero, -s, -s, s, s)
    _add(o2, u5)


@njit(cache=True, nogil=True)
def _filter_grads(grad_u, taps, k):  # pragma: no cover - compiled
    # taps[c, 3i + j] = (G^T dU G)[i, j] for dU[6a + b] = grad_u[6a + b, c] (vectors over out)
    channels, out_channels = grad_u.shape[1], grad_u.shape[2]
    across = np.empty((6, 3, out_channels), grad_u.dtype)  # [a, tap column]
    for c in range(channels):
        for a in range(6):
            _gt(across[a, 0], across[a, 1], across[a, 2], grad_u[6 * a, c],
                grad_u[6 * a + 1, c], grad_u[6 * a + 2, c], grad_u[6 * a + 3, c],
                grad_u[6 * a + 4, c], grad_u[6 * a + 5, c], k)  # fmt: skip
        w = taps[c]
        for j in range(3):
            _gt(w[j], w[3 + j], w[6 + j], across[0, j], across[1, j], across[2, j],
                across[3, j], across[4, j], across[5, j], k)  # fmt: skip
    return 0
