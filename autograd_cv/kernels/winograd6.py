"""3x3 and 5x5 stride-1 convolution by Winograd on 6x6 tiles, channels innermost.

F(4x4, 3x3) and F(2x2, 5x5) both transform 6x6 input patches (the same B, on the points 0, 1,
-1, 2, -2 and infinity). A tile of m x m outputs (m = 4 for 3x3 filters, 2 for 5x5) needs the
6x6 patch under it; transformed, its m^2 r^2 multiply-adds per (input, output) channel pair
become 36 element-wise products:

    Y = A^T [ (G w G^T) (.) (B^T d B) ] A

Summed over input channels, each of the 36 positions of a transformed tile is one GEMM over
the tiles of a block: ``M[xi] = V[xi] @ U[xi]``, (tiles, in) x (in, out). For 3x3 that is 4x
fewer multiply-adds than im2col's GEMM (3.1x on a 7x7 map, whose four tiles cover 8x8
outputs); for 5x5, 2.8x (2.4x on AlexNetSmall's 15x15 conv2).

`winograd` (F(2x2, 3x3)) keeps the wide 3x3 maps. On small ones its transforms run over a
few tiles a row and its tiles cover 80 outputs for 49, so it lost to im2col there. Here the
transforms run over the channels instead: each block is copied channels-last once, and every
loop is a whole channel vector, whatever the map's size.

The gradients: the input's is the forward of ``grad_output`` with the weight flipped and its
channels swapped, padded by ``r - 1 - padding``. The weight's is the adjoint of the forward's
tiles: ``dU[xi] = V[xi]^T dM[xi]`` with ``dM = A dY A^T``, then ``dw = G^T dU G``.

These transforms multiply by up to 8 (5x5: 16/24) and divide by 24, so they round more than
F(2x2, 3x3) or a GEMM. The tests bound the float32 error against a float64 reference. An
input, weight or output that is not finite (the kernels count them as they copy or write
each value), or a transform that overflows, sends the call back to im2col, so infinities
and NaNs come out as a direct convolution gives them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from autograd_cv.kernels._loops import add as _add
from autograd_cv.kernels._loops import copy as _copy
from autograd_cv.kernels._split import over_batch, scratch
from autograd_cv.kernels.winograd import flip_weight

__all__ = ["eligible", "conv", "input_grad", "weight_grad"]

#: Outputs at most this wide: wider 3x3 maps go to `winograd`'s F(2x2, 3x3), 5x5 to im2col.
MAX_OUT_WIDTH = 23

#: Both channel counts at least this (the GEMMs' inner and outer sizes). At batch 128, 32
#: channels ran 0.72-0.91x im2col's time (3x3 on 8x8 and 16x16 maps, 5x5 on 14x14), 16
#: channels 1.38-1.50x (forward and both gradients, one process, alternating).
MIN_CHANNELS = 32

#: At least this many outputs per channel over the batch, counted as the tiles cover them:
#: a call pays fixed costs (U = G w G^T and the weight gradient's G^T dU G, 36 values per
#: filter pair) that only enough tiles repay. 3x3, 256 channels on 7x7 maps (64 covered a
#: sample): 16 samples took 1.10x im2col's forward and 1.30x its gradients, 32 samples 0.67x
#: and 0.88x. 5x5, 64 -> 192 channels on 15x15 (256 covered): 4 samples 1.00x and 1.15x,
#: 8 samples 0.83x and 0.94x.
MIN_COVERED = 2048

#: Tiles per block (whole samples, at least one): V and M for a block's tiles are made,
#: multiplied and transformed back before the next block. With batch 128 on two threads,
#: AlexNetSmall's 7x7 convs run each thread's 64 samples (256 tiles) as one block.
BLOCK_TILES = 256

# The points 0, 1, -1, 2, -2 and infinity. The kernels below apply B^T and A^T row by row:
#   B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
#          [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
#   A^T (m = 4) = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
#                  [0, 1, -1, 8, -8, 1]];  A^T (m = 2) = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 1]]
# G's row for a point p is s [1, p, p^2, ...] (r entries) with s = 1/4, -1/6, -1/6, 1/24, 1/24;
# infinity's row is [0, ..., 0, 1].
_SCALES = (1 / 4, -1 / 6, -1 / 6, 1 / 24, 1 / 24)
_G = {
    r: np.array(
        [[s * p**j for j in range(r)] for s, p in zip(_SCALES, (0, 1, -1, 2, -2))]
        + [[0] * (r - 1) + [1]]
    )
    for r in (3, 5)
}


def eligible(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    dtype,
) -> bool:
    """Whether conv2d of these shapes and arguments takes this path."""
    out_channels, in_channels, kh, kw = weight_shape
    if kh != kw or kh not in _G or stride != (1, 1) or dilation != (1, 1) or groups != 1:
        return False
    if np.dtype(dtype) not in (np.float32, np.float64) or max(padding) > kh - 1:
        return False
    out_h = input_shape[2] + 2 * padding[0] - kh + 1
    out_w = input_shape[3] + 2 * padding[1] - kw + 1
    m = 7 - kh  # the tile's side
    covered = input_shape[0] * (-(-out_h // m) * m) * (-(-out_w // m) * m)
    return (
        min(in_channels, out_channels) >= MIN_CHANNELS
        and 2 <= out_w <= MAX_OUT_WIDTH
        and out_h >= 2
        and covered >= MIN_COVERED
    )


def transform_weight(weight: np.ndarray) -> np.ndarray | None:
    """U = G w G^T for every (out, in) pair, as (36, in, out), in the weight's dtype; None if
    a value of it is not finite."""
    out_channels, in_channels, r = weight.shape[:3]
    taps = np.ascontiguousarray(weight.reshape(out_channels, in_channels * r * r).T)
    u = np.empty((36, in_channels, out_channels), weight.dtype)
    bad = _filter_tiles(
        taps.reshape(in_channels, r * r, out_channels), _G[r].astype(weight.dtype), u
    )
    return u if bad == 0 else None


class _Tiles:
    """The tiling of a conv's output: m x m tiles, and the channels-last buffers of a block."""

    def __init__(self, r: int, out_h: int, out_w: int, dtype) -> None:
        self.m = 7 - r
        self.tiles_h, self.tiles_w = -(-out_h // self.m), -(-out_w // self.m)
        self.per_sample = self.tiles_h * self.tiles_w
        self.dtype = dtype
        self.k = _constants(dtype)

    def blocks(self, low: int, high: int):
        """(start, stop) sample ranges of one block each."""
        size = max(1, BLOCK_TILES // self.per_sample)
        for start in range(low, high, size):
            yield start, min(start + size, high)

    def padded(self, name: str, samples: int, margin: int, channels: int) -> np.ndarray:
        """A (samples, m tiles_h + margin, m tiles_w + margin, channels) work array."""
        rows, columns = self.m * self.tiles_h + margin, self.m * self.tiles_w + margin
        flat = scratch(name, samples * rows * columns * channels, self.dtype)
        return flat.reshape(samples, rows, columns, channels)

    def planes(self, name: str, samples: int, channels: int) -> np.ndarray:
        """A (36, samples' tiles, channels) work array: V, M or dM of a block."""
        tiles = samples * self.per_sample
        return scratch(name, 36 * tiles * channels, self.dtype).reshape(36, tiles, channels)


def conv(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, padding: tuple[int, int]
) -> np.ndarray | None:
    """conv2d of NCHW ``x`` with an OIHW ``weight`` this path takes, stride 1; None if a value
    is not finite. The caller checked the arguments and `eligible`; ``bias`` is (out,), zeros
    for none."""
    batch, channels, height, width = x.shape
    out_channels, r = weight.shape[0], weight.shape[2]
    out_h, out_w = height + 2 * padding[0] - r + 1, width + 2 * padding[1] - r + 1
    tiles = _Tiles(r, out_h, out_w, x.dtype)
    u = transform_weight(weight)
    if u is None:
        return None
    x = np.ascontiguousarray(x)
    bias = np.ascontiguousarray(bias, dtype=x.dtype)
    out = np.empty((batch, out_channels, out_h, out_w), x.dtype)

    def samples(low: int, high: int) -> bool:
        tmp = scratch("winograd6_t", 36 * max(channels, out_channels), x.dtype)
        for start, stop in tiles.blocks(low, high):
            block = tiles.padded("winograd6_x", stop - start, r - 1, channels)
            if _to_channels_last(x[start:stop], padding[0], padding[1], block):
                return False  # a value of x is not finite
            v = tiles.planes("winograd6_v", stop - start, channels)
            m = tiles.planes("winograd6_m", stop - start, out_channels)
            _input_tiles(block, tiles.m, tiles.tiles_h, tiles.tiles_w, v, tmp, tiles.k)
            np.matmul(v, u, out=m)  # the 36 GEMMs, looped over inside NumPy
            if _output_tiles(m, bias, tiles.m, tiles.tiles_h, tiles.tiles_w, out[start:stop],
                             tmp, tiles.k):  # fmt: skip
                return False  # an output is not finite (or a transform overflowed)
        return True

    work = batch * tiles.per_sample * 36 * channels * out_channels
    return out if all(over_batch(samples, batch, work)) else None


def input_grad(
    grad_output: np.ndarray, weight: np.ndarray, padding: tuple[int, int]
) -> np.ndarray | None:
    """conv2d's input gradient: the forward of ``grad_output`` with the flipped weight."""
    flipped = flip_weight(weight)
    zeros = np.zeros(flipped.shape[0], grad_output.dtype)
    r = weight.shape[2]
    return conv(grad_output, flipped, zeros, (r - 1 - padding[0], r - 1 - padding[1]))


def weight_grad(
    x: np.ndarray, grad_output: np.ndarray, padding: tuple[int, int], kernel: int
) -> np.ndarray | None:
    """conv2d's weight gradient, (out, in, kernel, kernel); None if a value is not finite."""
    batch, channels = x.shape[:2]
    out_channels, out_h, out_w = grad_output.shape[1:]
    tiles = _Tiles(kernel, out_h, out_w, x.dtype)
    x = np.ascontiguousarray(x)
    grad_output = np.ascontiguousarray(grad_output)

    def samples(low: int, high: int) -> np.ndarray | None:
        tmp = scratch("winograd6_t", 36 * max(channels, out_channels), x.dtype)
        total = partial = None
        for start, stop in tiles.blocks(low, high):
            block = tiles.padded("winograd6_x", stop - start, kernel - 1, channels)
            grads = tiles.padded("winograd6_g", stop - start, 0, out_channels)
            if _to_channels_last(x[start:stop], padding[0], padding[1], block) or (
                _to_channels_last(grad_output[start:stop], 0, 0, grads)
            ):
                return None  # a value of x or grad_output is not finite
            v = tiles.planes("winograd6_v", stop - start, channels)
            dm = tiles.planes("winograd6_m", stop - start, out_channels)
            _input_tiles(block, tiles.m, tiles.tiles_h, tiles.tiles_w, v, tmp, tiles.k)
            _grad_tiles(grads, tiles.m, tiles.tiles_h, tiles.tiles_w, dm, tmp, tiles.k)
            # The 36 GEMMs in one call; V's transposed views go to BLAS as a flag.
            if total is None:
                total = np.matmul(v.transpose(0, 2, 1), dm)
            else:
                partial = np.matmul(v.transpose(0, 2, 1), dm, out=partial)
                total += partial
        return total

    work = batch * tiles.per_sample * 36 * channels * out_channels
    parts = over_batch(samples, batch, work)
    if any(part is None for part in parts):
        return None
    grad_u = parts[0]
    for part in parts[1:]:
        grad_u += part
    taps = np.empty((channels, kernel * kernel, out_channels), x.dtype)
    _filter_grads(grad_u, _G[kernel].astype(x.dtype), taps)
    grad_weight = taps.reshape(-1, out_channels).T.reshape(out_channels, channels, kernel, kernel)
    grad_weight = np.ascontiguousarray(grad_weight)
    return grad_weight if np.isfinite(grad_weight).all() else None


# ---------------------------------------------------------------------------------------------
# Numba kernels. A block is held channels-last, (samples, rows, columns, channels), so that
# every transform is a handful of loops over whole channel vectors. Tile (ty, tx) of a
# block's sample n is row (n * tiles_h + ty) * tiles_w + tx of V, M and dM; its patch starts
# at (m ty, m tx). Each loop writes one array (LLVM left a loop writing several scalar).

# The transforms' constants come in as an array of the data's dtype (see `_constants`): a
# Python int times a float32 is a float64 in Numba, which would run the loops in float64.
TWO, FOUR, FIVE, EIGHT, PLUS, MINUS = range(6)


def _constants(dtype) -> np.ndarray:
    return np.array([2, 4, 5, 8, 1, -1], dtype)


@njit(cache=True, nogil=True)
def _to_channels_last(x, pad_h, pad_w, dst):  # pragma: no cover - compiled
    # dst[n, h + pad_h, w + pad_w, c] = x[n, c, h, w]; dst's other entries are zero. Returns
    # how many of the values copied are not finite (v - v is NaN for inf and NaN, else 0).
    batch, channels, height, width = x.shape
    rows, columns = dst.shape[1], dst.shape[2]
    h_hi, w_hi = min(height, rows - pad_h), min(width, columns - pad_w)
    bad = 0
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
                        value = x[n, c, h, w]
                        line[c] = value
                        bad += (value - value) != 0
    return bad


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
def _input_tiles(padded, m, tiles_h, tiles_w, v, tmp, k):  # pragma: no cover - compiled
    # V[6a + b, tile] = (B^T d B)[a, b] for the 6x6 patch d at padded (m ty, m tx): B
    # across each of the patch's rows (into across[b, row]), then B^T down each column b.
    batch, channels = padded.shape[0], padded.shape[3]
    across = tmp[: 36 * channels].reshape(6, 6, channels)
    for n in range(batch):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                t = (n * tiles_h + ty) * tiles_w + tx
                for i in range(6):
                    r = padded[n, m * ty + i]
                    c0 = m * tx
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
    # (m1 + sign m2) + scale (m3 + sign m4): A^T's rows without their m0 and m5 terms
    for c in range(dst.shape[0]):
        dst[c] = (m1[c] + sign * m2[c]) + scale * (m3[c] + sign * m4[c])


@njit(cache=True, nogil=True, inline="always")
def _a_transpose(out, m0, m1, m2, m3, m4, m5, k):
    # out[i] = (A^T m)_i for six channel vectors m_0..m_5 (out has m = 4 or 2 rows)
    _at(out[0], m1, m2, m3, m4, k[PLUS], k[PLUS])
    _at(out[1], m1, m2, m3, m4, k[TWO], k[MINUS])
    _add(out[0], m0)
    if out.shape[0] == 4:
        _at(out[2], m1, m2, m3, m4, k[FOUR], k[PLUS])
        _at(out[3], m1, m2, m3, m4, k[EIGHT], k[MINUS])
    _add(out[out.shape[0] - 1], m5)


@njit(cache=True, nogil=True)
def _output_tiles(mm, bias, m, tiles_h, tiles_w, out, tmp, k):  # pragma: no cover - compiled
    # out[n, o] = A^T M A + bias, tile by tile: A^T down each of the tile's six columns
    # (into down[b, row]), then across each of its m rows, written out channel by channel.
    # Returns how many outputs are not finite.
    batch, out_channels, out_h, out_w = out.shape
    bad = 0
    down = tmp[: 6 * m * out_channels].reshape(6, m, out_channels)
    row = tmp[6 * m * out_channels : 6 * (m + 1) * out_channels].reshape(6, out_channels)
    values = tmp[6 * (m + 1) * out_channels : (7 * m + 6) * out_channels].reshape(m, out_channels)
    for n in range(batch):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                t = (n * tiles_h + ty) * tiles_w + tx
                for b in range(6):
                    _a_transpose(down[b], mm[b, t], mm[6 + b, t], mm[12 + b, t], mm[18 + b, t],
                                 mm[24 + b, t], mm[30 + b, t], k)  # fmt: skip
                for i in range(min(m, out_h - m * ty)):
                    for b in range(6):
                        _copy(row[b], down[b, i])
                    _a_transpose(values, row[0], row[1], row[2], row[3], row[4], row[5], k)
                    h = m * ty + i
                    for j in range(min(m, out_w - m * tx)):
                        line, w = values[j], m * tx + j
                        for o in range(out_channels):
                            value = line[o] + bias[o]
                            out[n, o, h, w] = value
                            bad += (value - value) != 0
    return bad


@njit(cache=True, nogil=True, inline="always")
def _a_mid(dst, d0, d1, d2, d3, s1, s2, s3):
    for c in range(dst.shape[0]):
        dst[c] = d0[c] + s1 * d1[c] + s2 * d2[c] + s3 * d3[c]


@njit(cache=True, nogil=True, inline="always")
def _a_mid2(dst, d0, d1, s1):
    for c in range(dst.shape[0]):
        dst[c] = d0[c] + s1 * d1[c]


@njit(cache=True, nogil=True, inline="always")
def _a(o0, o1, o2, o3, o4, o5, d, k):
    # o_k = (A d)_k for m = 4 or 2 channel vectors d[0..m-1], A = (A^T)^T (6 x m)
    _copy(o0, d[0])
    if d.shape[0] == 4:
        _a_mid(o1, d[0], d[1], d[2], d[3], k[PLUS], k[PLUS], k[PLUS])
        _a_mid(o2, d[0], d[1], d[2], d[3], k[MINUS], k[PLUS], k[MINUS])
        _a_mid(o3, d[0], d[1], d[2], d[3], k[TWO], k[FOUR], k[EIGHT])
        _a_mid(o4, d[0], d[1], d[2], d[3], -k[TWO], k[FOUR], -k[EIGHT])
    else:
        _a_mid2(o1, d[0], d[1], k[PLUS])
        _a_mid2(o2, d[0], d[1], k[MINUS])
        _a_mid2(o3, d[0], d[1], k[TWO])
        _a_mid2(o4, d[0], d[1], -k[TWO])
    _copy(o5, d[d.shape[0] - 1])


@njit(cache=True, nogil=True)
def _grad_tiles(grad, m, tiles_h, tiles_w, dm, tmp, k):  # pragma: no cover - compiled
    # dM[6a + b, tile] = (A dY A^T)[a, b] for the m x m tile dY of grad (channels-last, its
    # outputs past the map's edge zero): A across each of the tile's rows (into across[b,
    # row]), then A down each column b.
    batch, out_channels = grad.shape[0], grad.shape[3]
    across = tmp[: 6 * m * out_channels].reshape(6, m, out_channels)
    for n in range(batch):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                t = (n * tiles_h + ty) * tiles_w + tx
                for i in range(m):
                    r = grad[n, m * ty + i]
                    c0 = m * tx
                    _a(across[0, i], across[1, i], across[2, i], across[3, i], across[4, i],
                       across[5, i], r[c0 : c0 + m], k)  # fmt: skip
                for b in range(6):
                    _a(dm[b, t], dm[6 + b, t], dm[12 + b, t], dm[18 + b, t], dm[24 + b, t],
                       dm[30 + b, t], across[b], k)  # fmt: skip
    return 0


@njit(cache=True, nogil=True, inline="always")
def _scaled(dst, src, g):
    for o in range(dst.shape[0]):
        dst[o] = g * src[o]


@njit(cache=True, nogil=True, inline="always")
def _plus_scaled(dst, src, g):
    for o in range(dst.shape[0]):
        dst[o] += g * src[o]


@njit(cache=True, nogil=True, inline="always")
def _combination(dst, g, rows):
    # dst = sum_j g[j] rows[j] over channel vectors, skipping G's zeros
    _scaled(dst, rows[0], g[0])
    for j in range(1, g.shape[0]):
        if g[j] != 0:
            _plus_scaled(dst, rows[j], g[j])


@njit(cache=True, nogil=True)
def _filter_tiles(taps, g, u):  # pragma: no cover - compiled
    # U[6a + b, c] = (G w G^T)[a, b] for taps[c, r i + j] = w[:, c, i, j] (vectors over out).
    # Returns how many values of U are not finite.
    channels, r, out_channels = taps.shape[0], g.shape[1], taps.shape[2]
    bad = 0
    across = np.empty((6, r, out_channels), taps.dtype)  # [b, tap row]
    for c in range(channels):
        w = taps[c]
        for b in range(6):
            for i in range(r):
                _combination(across[b, i], g[b], w[r * i : r * i + r])
        for a in range(6):
            for b in range(6):
                row = u[6 * a + b, c]
                _combination(row, g[a], across[b])
                for o in range(out_channels):
                    bad += (row[o] - row[o]) != 0
    return bad


@njit(cache=True, nogil=True)
def _filter_grads(grad_u, g, taps):  # pragma: no cover - compiled
    # taps[c, r i + j] = (G^T dU G)[i, j] for dU[6a + b] = grad_u[6a + b, c] (vectors over out):
    # G across each row a of dU (into across[j, a]), then G^T down each column j.
    channels, r, out_channels = grad_u.shape[1], g.shape[1], grad_u.shape[2]
    across = np.empty((r, 6, out_channels), grad_u.dtype)
    g_t = np.ascontiguousarray(g.T)
    for c in range(channels):
        for j in range(r):
            for a in range(6):
                dst = across[j, a]
                _scaled(dst, grad_u[6 * a, c], g[0, j])
                for b in range(1, 6):
                    if g[b, j] != 0:
                        _plus_scaled(dst, grad_u[6 * a + b, c], g[b, j])
        w = taps[c]
        for i in range(r):
            for j in range(r):
                _combination(w[r * i + j], g_t[i], across[j])
    return 0
