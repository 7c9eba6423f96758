"""3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3).

Each 2x2 block of outputs (a tile) needs the 4x4 input patch under it. Transformed, the 36
multiply-adds a direct convolution makes per tile, output and input channel (2x2 outputs x
3x3 taps) become 16 element-wise products:

    Y = A^T [ (G w G^T) (.) (B^T d B) ] A

with ``w`` a 3x3 filter, ``d`` a 4x4 patch and ``(.)`` the element-wise product. Summed over
input channels, each of the 16 positions of the transformed tile is one GEMM over a block's
tiles, ``M[xi] = U[xi] @ V[xi]``: (out, in) x (in, tiles). That is 2.25x fewer multiply-adds
than im2col's GEMM, and each patch is transformed once instead of copied nine times.

The gradients are convolutions of the same kind. The input's is ``grad_output`` convolved
with the weight flipped and its channels swapped, padded by ``2 - padding``. The weight's
is the adjoint of the forward's tiles: dU[xi] = sum over tiles of dM[xi] V[xi]^T with
dM = A dY A^T, then dw = G^T dU G.

It is exact in exact arithmetic. In float32 the tests bound its error by that of im2col's
GEMM on the same conv: on a 64-channel 32x32 conv the forward's error measured 0.6x the
GEMM's, the weight gradient's 1.2x (its sums run over every tile in the transformed domain).

Used only where it measured faster than im2col (see `eligible`). An input, gradient or
output that is not finite sends the call back to im2col, so infinities and NaNs come out
exactly as a direct convolution gives them (a transform subtracts neighbouring values, and
inf - inf would turn an output's inf into NaN).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from autograd_cv.kernels._loops import copy as _copy
from autograd_cv.kernels._loops import copy_plus as _copy_plus
from autograd_cv.kernels._split import one_blas_thread, over_batch, scratch

__all__ = ["eligible", "flip_weight", "winograd_conv3x3", "winograd_weight_grad3x3"]

#: Outputs at least this wide take the Winograd path: measured on 64-channel 3x3 convs, 32x32
#: maps ran 1.3-1.7x faster than im2col, 16x16 were level and 8x8 1.6x slower (short rows
#: make the transforms' loops short, and the GEMMs over a few tiles thin).
MIN_OUT_WIDTH = 24

#: Both channel counts at least this: with 3 input channels the 16 GEMMs have an inner
#: dimension of 3 and ran 2x slower than im2col's one GEMM with 27; 16 channels were slower
#: too and 32 level (forward and backward of 32x32 maps, alternating processes).
MIN_CHANNELS = 64

#: At least this many samples, and this many outputs per channel over the batch: with one
#: sample the conv runs without the batch split, and 64 channels on 32x32 maps took 1.51x
#: im2col's time (1.03x on 112x112); two such samples 1.26x, four 0.87x, and two 64x64 ones
#: 0.80x (forward + both gradients, one process, alternating).
MIN_SAMPLES = 2
MIN_OUTPUTS = 4096

#: Spacing added to the tile axis of V and M so that their 16 planes do not sit a power of
#: two apart (64 KB apart they collided in cache: the transforms ran 30% slower).
_PLANE_PAD = 16

#: A block of samples keeps its V (16 x channels x tiles) within this many bytes. Blocks
#: past L2 still paid, as the GEMMs get more tiles: with 4 MB rather than 1 MB (2 MB of L2
#: per core), forward + input gradient took 0.73-0.94 of the time on mid, 64x64 maps and
#: 128 channels on 32x32 (one process, alternating; 8 MB was level with 4).
BLOCK_BYTES = 4 << 20

#: The weight gradient's blocks: its GEMMs sum over the block's tiles into a small result,
#: so more tiles make fewer, better-shaped GEMMs. 4 MB against 2: 0.88-0.95 of the time on
#: the same convs; 16 MB was 6-24% slower than 4.
WEIGHT_BLOCK_BYTES = 4 << 20

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
# (G x G)[4a + b, 3i + j] = G[a, i] G[b, j]: U = G w G^T for all filters is one product
_GG = np.kron(_G, _G)


def eligible(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    dtype,
) -> bool:
    """Whether conv2d of these shapes and arguments takes the Winograd path."""
    out_channels, in_channels, kh, kw = weight_shape
    if (kh, kw) != (3, 3) or stride != (1, 1) or dilation != (1, 1) or groups != 1:
        return False
    if np.dtype(dtype) not in (np.float32, np.float64) or max(padding) > 2:
        return False
    out_w = input_shape[3] + 2 * padding[1] - 2
    out_h = input_shape[2] + 2 * padding[0] - 2
    batch = input_shape[0]
    return (
        min(in_channels, out_channels) >= MIN_CHANNELS
        and out_w >= MIN_OUT_WIDTH
        and out_h >= 2
        and batch >= MIN_SAMPLES
        and batch * out_h * out_w >= MIN_OUTPUTS
    )


def flip_weight(weight: np.ndarray) -> np.ndarray:
    """The weight whose conv is the input gradient's: taps reversed, in and out swapped."""
    return np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def transform_weight(weight: np.ndarray) -> np.ndarray:
    """U = G w G^T for every (out, in) pair, as (16, out, in), in the weight's dtype."""
    taps = weight.reshape(-1, 9).astype(np.float64)  # (out * in, 9)
    # One GEMM (a three-operand einsum took 50 ms for 384 x 192 weights), on one BLAS
    # thread: waking BLAS's pool here left it spinning against the conv's own threads (mid's
    # forward and backward measured 1.2-1.4x slower so).
    with one_blas_thread():
        u = _GG @ taps.T
    return np.ascontiguousarray(u.reshape(16, *weight.shape[:2]).astype(weight.dtype))


def winograd_conv3x3(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, padding: tuple[int, int]
) -> np.ndarray | None:
    """conv2d of NCHW ``x`` with 3x3 OIHW ``weight``, stride 1; None if a value is not finite.

    The caller checked the arguments and `eligible`; ``bias`` is (out,), zeros for none.
    """
    batch, channels, height, width = x.shape
    out_channels = weight.shape[0]
    out_h, out_w = height + 2 * padding[0] - 2, width + 2 * padding[1] - 2
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    tiles = tiles_h * tiles_w
    u = transform_weight(weight)
    if not np.isfinite(u).all():
        return None
    x = np.ascontiguousarray(x)
    bias = np.ascontiguousarray(bias, dtype=x.dtype)
    out = np.empty((batch, out_channels, out_h, out_w), x.dtype)
    x_bits, out_bits, exponent = *_as_bits(x, out), _exponent(x.dtype)
    per_tile = 16 * max(channels, out_channels) * x.itemsize

    def samples(low: int, high: int) -> bool:
        blocks = list(_blocks(low, high, tiles_h, tiles_w + 1, per_tile, BLOCK_BYTES))
        columns = max((b - a) * (hi - lo) * (tiles_w + 1) for a, b, lo, hi in blocks)
        v = _planes("winograd_v", channels, columns, x.dtype)
        m = _planes("winograd_m", out_channels, columns, x.dtype)
        for start, stop, ty_lo, ty_hi in blocks:
            used = (stop - start) * (ty_hi - ty_lo) * (tiles_w + 1)
            if not _input_tiles(
                x[start:stop], x_bits[start:stop], exponent, *padding, tiles_w, ty_lo, ty_hi, v
            ):
                return False
            # The 16 GEMMs in one call: NumPy loops over them without the GIL, where a
            # call each handed the GIL between the split's threads 16 times a block.
            np.matmul(u, v[:, :, :used], out=m[:, :, :used])
            if not _output_tiles(
                m, bias, tiles_w, ty_lo, ty_hi, out[start:stop], out_bits[start:stop], exponent
            ):
                return False
        return True

    work = batch * tiles * 16 * channels * out_channels
    return out if all(over_batch(samples, batch, work)) else None


def winograd_weight_grad3x3(
    x: np.ndarray, grad_output: np.ndarray, padding: tuple[int, int]
) -> np.ndarray | None:
    """conv2d's weight gradient, (out, in, 3, 3), by Winograd; None if a value is not finite.

    The adjoint of the forward's tiles: dU[xi] = sum over tiles of dM[xi] V[xi]^T, with
    dM = A dY A^T the output tiles' gradient, then dw = G^T dU G.
    """
    batch, channels, height, width = x.shape
    out_channels, out_h, out_w = grad_output.shape[1:]
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    x = np.ascontiguousarray(x)
    grad_output = np.ascontiguousarray(grad_output)
    x_bits, grad_bits, exponent = *_as_bits(x, grad_output), _exponent(x.dtype)
    per_tile = 16 * max(channels, out_channels) * x.itemsize

    def samples(low: int, high: int) -> np.ndarray | None:
        blocks = list(_blocks(low, high, tiles_h, tiles_w + 1, per_tile, WEIGHT_BLOCK_BYTES))
        columns = max((b - a) * (hi - lo) * (tiles_w + 1) for a, b, lo, hi in blocks)
        v = _planes("winograd_v", channels, columns, x.dtype)
        dm = _planes("winograd_m", out_channels, columns, x.dtype)
        total = np.zeros((16, out_channels, channels), x.dtype)
        partial = np.empty_like(total)
        for start, stop, ty_lo, ty_hi in blocks:
            used = (stop - start) * (ty_hi - ty_lo) * (tiles_w + 1)
            if not _input_tiles(
                x[start:stop], x_bits[start:stop], exponent, *padding, tiles_w, ty_lo, ty_hi, v
            ):
                return None
            if not _grad_tiles(
                grad_output[start:stop], grad_bits[start:stop], exponent, tiles_w, ty_lo, ty_hi, dm
            ):
                return None
            # The 16 GEMMs in one call, as in the forward (V's transposed views go to BLAS
            # as a flag).
            np.matmul(dm[:, :, :used], v[:, :, :used].transpose(0, 2, 1), out=partial)
            total += partial
        return total

    work = batch * tiles_h * tiles_w * 16 * channels * out_channels
    parts = over_batch(samples, batch, work)
    if any(part is None for part in parts):
        return None
    grad_u = parts[0]
    for part in parts[1:]:
        grad_u += part
    grad_u = grad_u.reshape(16, -1).astype(np.float64)
    with one_blas_thread():  # as in transform_weight
        grad_weight = (grad_u.T @ _GG).reshape(out_channels, channels, 3, 3)
    return np.ascontiguousarray(grad_weight.astype(x.dtype))


def _planes(name: str, rows: int, columns: int, dtype) -> np.ndarray:
    """A (16, rows, columns + _PLANE_PAD) work array from this thread's scratch buffers."""
    size = 16 * rows * (columns + _PLANE_PAD)
    return scratch(name, size, dtype).reshape(16, rows, columns + _PLANE_PAD)


def _as_bits(*arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays' values seen as integers of the same width (views, no copies)."""
    return [array.view(f"i{array.itemsize}") for array in arrays]


def _exponent(dtype) -> np.integer:
    """The exponent bits of a float dtype, as its integer: all set for inf and NaN."""
    info = np.finfo(dtype)
    bits = np.dtype(f"i{np.dtype(dtype).itemsize}").type
    return bits(((1 << info.iexp) - 1) << info.nmant)


def _blocks(low: int, high: int, tiles_h: int, tiles_w: int, per_tile: int, budget: int):
    """(start, stop, ty_lo, ty_hi): samples and tile rows whose V fits in `budget` bytes.

    Whole samples while one fits; else each sample in runs of tile rows, of equal size.
    """
    per_sample = per_tile * tiles_h * tiles_w
    if per_sample <= budget:
        size = budget // per_sample
        for start in range(low, high, size):
            yield start, min(start + size, high), 0, tiles_h
        return
    rows = max(1, budget // (per_tile * tiles_w))
    count = -(-tiles_h // rows)
    rows = -(-tiles_h // count)
    for n in range(low, high):
        for ty in range(0, tiles_h, rows):
            yield n, n + 1, ty, min(ty + rows, tiles_h)


# ---------------------------------------------------------------------------------------------
# Numba kernels. Tile (ty, tx) of a block's sample n sits at column
# n * rows * pitch + (ty - ty_lo) * pitch + tx of V, M and dM, with pitch = tiles_w + 1: one
# spare tile per row of tiles, so that every transform is a few long loops over whole planes
# (a plane's padded rows are 2 * pitch wide, and tile tx starts at column 2 tx). The spare
# tiles' V holds the next row's values (finite when the input is), the GEMM's M for them is
# never read, and their dM is zero, so they add nothing to the weight gradient. Each loop
# reads one or two arrays and writes one: LLVM vectorises that (a loop writing four arrays
# was left scalar), and loops of a dozen values ran several times slower per value.


@njit(cache=True, nogil=True, inline="always")
def _sub(dst, a, b):
    for k in range(dst.shape[0]):
        dst[k] = a[k] - b[k]


@njit(cache=True, nogil=True, inline="always")
def _plus(dst, a, b):
    for k in range(dst.shape[0]):
        dst[k] = a[k] + b[k]


@njit(cache=True, nogil=True, inline="always")
def _pairs_sub(dst, src, a, b):
    # dst[k] = src[2k + a] - src[2k + b]: B across a padded row, one value per tile
    for k in range(dst.shape[0]):
        dst[k] = src[2 * k + a] - src[2 * k + b]


@njit(cache=True, nogil=True, inline="always")
def _pairs_plus(dst, src, a, b):
    for k in range(dst.shape[0]):
        dst[k] = src[2 * k + a] + src[2 * k + b]


@njit(cache=True, nogil=True, inline="always")
def _count_non_finite(bits, exponent):
    # Values whose exponent bits are all set (inf, NaN), read as integers: an integer sum
    # vectorises, where a float check (a sum of x * 0) kept the loop scalar.
    count = 0
    for k in range(bits.shape[0]):
        count += (bits[k] & exponent) == exponent
    return count


@njit(cache=True, nogil=True)
def _input_tiles(x, bits, exponent, pad_h, pad_w, tiles_w, ty_lo, ty_hi, v):  # pragma: no cover
    # V[4a + b, c, tile] = (B^T d B)[a, b] of the 4x4 patch d at padded (2 ty, 2 tx). The
    # padded rows a block needs are copied into two planes, even and odd rows (so rows
    # 2ty and 2ty + 2 are a plane row apart); B is applied across them, then B^T down.
    # Returns False if x holds a non-finite value (``bits`` is x seen as integers).
    batch, channels, height, width = x.shape
    rows, pitch = ty_hi - ty_lo, tiles_w + 1
    tiles, wide = rows * pitch, 2 * pitch
    padded = np.zeros((2, (rows + 1) * wide + 4), x.dtype)  # the padding stays zero
    across = np.empty((4, 2, (rows + 1) * pitch), x.dtype)  # [b, row parity, tile]
    top = 2 * ty_lo
    h_lo, h_hi = max(0, top - pad_h), min(height, 2 * ty_hi + 2 - pad_h)
    w_lo, w_hi = max(0, -pad_w), min(width, wide - pad_w)
    bad = 0
    for n in range(batch):
        for c in range(channels):
            plane = x[n, c]
            for h in range(h_lo, h_hi):
                r = h + pad_h - top
                at = (r >> 1) * wide + w_lo + pad_w
                _copy(padded[r & 1, at : at + w_hi - w_lo], plane[h, w_lo:w_hi])
                bad += _count_non_finite(bits[n, c, h, w_lo:w_hi], exponent)
            for p in range(2):
                row = padded[p]
                _pairs_sub(across[0, p], row, 0, 2)
                _pairs_plus(across[1, p], row, 1, 2)
                _pairs_sub(across[2, p], row, 2, 1)
                _pairs_sub(across[3, p], row, 1, 3)
            d = n * tiles
            for b in range(4):
                even, odd = across[b, 0], across[b, 1]
                e0, e1 = even[:tiles], even[pitch : pitch + tiles]
                o0, o1 = odd[:tiles], odd[pitch : pitch + tiles]
                _sub(v[b, c, d : d + tiles], e0, e1)
                _plus(v[4 + b, c, d : d + tiles], o0, e1)
                _sub(v[8 + b, c, d : d + tiles], e1, o0)
                _sub(v[12 + b, c, d : d + tiles], o0, o1)
    return bad == 0


@njit(cache=True, nogil=True, inline="always")
def _sum3(dst, a, b, c):
    for k in range(dst.shape[0]):
        dst[k] = a[k] + b[k] + c[k]


@njit(cache=True, nogil=True, inline="always")
def _diff3(dst, a, b, c):
    for k in range(dst.shape[0]):
        dst[k] = a[k] - b[k] - c[k]


@njit(cache=True, nogil=True, inline="always")
def _interleave(dst, even, odd):
    for k in range(even.shape[0]):
        dst[2 * k] = even[k]
        dst[2 * k + 1] = odd[k]


@njit(cache=True, nogil=True)
def _output_tiles(m, bias, tiles_w, ty_lo, ty_hi, out, bits, exponent):  # pragma: no cover
    # out[n, o] = A^T M A (+ bias) for the tile rows ty_lo <= ty < ty_hi: A^T down, over
    # whole planes of tiles, then A across into two padded planes of output rows (even and
    # odd), copied out row by row. Returns False if an output is not finite (``bits`` is out
    # seen as integers).
    batch, out_channels, out_h, out_w = out.shape
    rows, pitch = ty_hi - ty_lo, tiles_w + 1
    tiles = rows * pitch
    down = np.empty((2, 4, tiles), m.dtype)  # [output row parity, b, tile]
    left, right = np.empty(tiles, m.dtype), np.empty(tiles, m.dtype)
    padded = np.empty((2, 2 * tiles), m.dtype)
    bad = 0
    for n in range(batch):
        t0 = n * tiles
        for o in range(out_channels):
            for b in range(4):
                m0, m1 = m[b, o, t0 : t0 + tiles], m[4 + b, o, t0 : t0 + tiles]
                m2, m3 = m[8 + b, o, t0 : t0 + tiles], m[12 + b, o, t0 : t0 + tiles]
                _sum3(down[0, b], m0, m1, m2)
                _diff3(down[1, b], m1, m2, m3)
            for i in range(2):
                _sum3(left, down[i, 0], down[i, 1], down[i, 2])
                _diff3(right, down[i, 1], down[i, 2], down[i, 3])
                _interleave(padded[i], left, right)
            plane, value = out[n, o], bias[o]
            for ty in range(rows):
                for i in range(2):
                    h = 2 * (ty_lo + ty) + i
                    if h < out_h:
                        at = ty * 2 * pitch
                        _copy_plus(plane[h], padded[i, at : at + out_w], value)
                        bad += _count_non_finite(bits[n, o, h], exponent)
    return bad == 0


@njit(cache=True, nogil=True, inline="always")
def _axpby(dst, a, x, b, y):
    for k in range(dst.shape[0]):
        dst[k] = a * x[k] + b * y[k]


@njit(cache=True, nogil=True, inline="always")
def _deal(even, odd, src):
    # even[k] = src[2k], odd[k] = src[2k + 1] (and the last even one when src is odd)
    pairs = src.shape[0] // 2
    for k in range(pairs):
        even[k] = src[2 * k]
        odd[k] = src[2 * k + 1]
    if src.shape[0] & 1:
        even[pairs] = src[2 * pairs]


@njit(cache=True, nogil=True)
def _grad_tiles(grad, bits, exponent, tiles_w, ty_lo, ty_hi, dm):  # pragma: no cover
    # dM[4a + b, o, tile] = (A dY A^T)[a, b] of the tile's 2x2 outputs (those past the edge,
    # and the spare tiles, count as zero), with A = [[1, 0], [1, 1], [1, -1], [0, -1]]. The
    # outputs are dealt into four parity planes, one value per tile each, so every dM plane
    # is a sum of whole planes. Returns False if a value of grad (``bits`` as integers) is
    # not finite.
    batch, out_channels, out_h, out_w = grad.shape
    rows, pitch = ty_hi - ty_lo, tiles_w + 1
    tiles = rows * pitch
    parity = np.zeros((2, 2, tiles), grad.dtype)  # [row parity, column parity]; spares zero
    down = np.empty((2, 2, tiles), grad.dtype)  # rows 1 and 2 of A dY, [column parity]
    one, zero = grad.dtype.type(1), grad.dtype.type(0)  # in grad's dtype: the sums stay in it
    bad = 0
    for n in range(batch):
        for o in range(out_channels):
            plane = grad[n, o]
            for ty in range(rows):
                for i in range(2):
                    h = 2 * (ty_lo + ty) + i
                    if h < out_h:
                        at = ty * pitch
                        _deal(
                            parity[i, 0, at : at + tiles_w],
                            parity[i, 1, at : at + tiles_w],
                            plane[h],
                        )
                        bad += _count_non_finite(bits[n, o, h], exponent)
            # A down (over the row parity), then A across (over the column parity): rows
            # a = 0..3 of A dY are P0, P0 + P1, P0 - P1 and -P1, each in both parities.
            for q in range(2):
                _plus(down[0, q], parity[0, q], parity[1, q])
                _sub(down[1, q], parity[0, q], parity[1, q])
            t0 = n * tiles
            for a in range(4):
                if a == 0 or a == 3:
                    x, y, sign = parity[a // 3, 0], parity[a // 3, 1], one if a == 0 else -one
                else:
                    x, y, sign = down[a - 1, 0], down[a - 1, 1], one
                _axpby(dm[4 * a, o, t0 : t0 + tiles], sign, x, zero, x)
                _axpby(dm[4 * a + 1, o, t0 : t0 + tiles], sign, x, sign, y)
                _axpby(dm[4 * a + 2, o, t0 : t0 + tiles], sign, x, -sign, y)
                _axpby(dm[4 * a + 3, o, t0 : t0 + tiles], zero, x, -sign, y)
    return bad == 0
