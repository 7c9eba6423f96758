"""Resampling: `interpolate` (nearest, bilinear) and the RoI ops `roi_align`, `roi_pool`.

Each is a composition of recorded ops, so gradients of every order come from theirs:
nearest and bilinear resizing are separable linear maps, out = A_h @ x @ A_w.T with constant
(out, in) matrices, and so is RoIAlign's average of bilinear samples per bin (one pair of
matrices per RoI). RoI max pooling gathers the maximum of each bin at indices found on the
raw values (constants, as max pooling's argmax).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_cv.backend import CPU, array_module, backend_of, device_of, to_device
from autograd_cv.kernels.roi import roi_pool_argmax
from autograd_cv.ops.arguments import as_plain, as_tensor
from autograd_cv.ops.arguments import data_of as raw
from autograd_cv.tensor import Tensor

INTERPOLATE_MODES = ("nearest", "bilinear")


def _pair(value: Any, name: str, op: str) -> tuple[Any, Any]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be one value or two (h, w), got {value}")
        return tuple(value)
    return value, value


def _nearest_matrix(in_size: int, out_size: int, scale: float, like: Any) -> Any:
    """PyTorch's "nearest": output i reads input min(floor(i * scale), in_size - 1).

    Built on the device of `like`, as are the other constant matrices here."""
    xp = array_module(like)
    source = np.minimum(np.floor(xp.arange(out_size) * scale).astype(np.int64), in_size - 1)
    matrix = xp.zeros((out_size, in_size))
    matrix[xp.arange(out_size), source] = 1.0
    return matrix


def _linear_matrix(
    in_size: int, out_size: int, scale: float, align_corners: bool, like: Any
) -> Any:
    """Linear interpolation weights, with PyTorch's source-coordinate rule."""
    xp = array_module(like)
    index = xp.arange(out_size, dtype=np.float64)
    if align_corners:
        source = index * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    else:
        source = np.maximum((index + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    upper = source - low
    matrix = xp.zeros((out_size, in_size))
    add_at = backend_of(matrix).add_at
    add_at(matrix, (xp.arange(out_size), low), 1.0 - upper)
    add_at(matrix, (xp.arange(out_size), high), upper)
    return matrix


def interpolate(
    input: Any,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Resize (N, C, H, W) images to `size` or by `scale_factor` (torch.nn.functional's rules)."""
    input = as_tensor(input)
    if input.ndim != 4:
        raise ValueError(f"interpolate: expected (N, C, H, W) input, got shape {input.shape}")
    if mode not in INTERPOLATE_MODES:
        raise ValueError(f"interpolate: mode must be one of {INTERPOLATE_MODES}, got {mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to mode='bilinear'")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_h, in_w = input.shape[2:]
    if size is not None:
        out_h, out_w = (int(s) for s in _pair(size, "size", "interpolate"))
        scale_h, scale_w = in_h / max(out_h, 1), in_w / max(out_w, 1)
    else:
        factor_h, factor_w = (float(f) for f in _pair(scale_factor, "scale_factor", "interpolate"))
        if factor_h <= 0 or factor_w <= 0:
            raise ValueError(f"interpolate: scale_factor must be > 0, got {scale_factor}")
        out_h, out_w = math.floor(in_h * factor_h), math.floor(in_w * factor_w)
        scale_h, scale_w = 1.0 / factor_h, 1.0 / factor_w  # as PyTorch: the given factor
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"interpolate: output size ({out_h}, {out_w}) for input of shape {input.shape} "
            "must be positive"
        )
    like = input.data
    if mode == "nearest":
        rows = _nearest_matrix(in_h, out_h, scale_h, like)
        cols = _nearest_matrix(in_w, out_w, scale_w, like)
    else:
        corners = bool(align_corners)
        rows = _linear_matrix(in_h, out_h, scale_h, corners, like)
        cols = _linear_matrix(in_w, out_w, scale_w, corners, like)
    dtype = input.dtype
    return rows.astype(dtype) @ input @ cols.T.astype(dtype)


# ----- RoI ops ----------------------------------------------------------------------------
def rois_array(boxes: Any, op: str, like: Any) -> Any:
    """Boxes as a (K, 5) float64 array of (batch index, x1, y1, x2, y2) on `like`'s device.

    Accepts a (K, 5) array or a list with one (L_i, 4) array of boxes per image."""
    where, xp = device_of(like), array_module(like)

    def placed(value: Any) -> Any:
        return to_device(as_plain(raw(value), np.float64), where)

    if isinstance(boxes, (list, tuple)):
        parts = []
        for image, per_image in enumerate(boxes):
            per_image = placed(per_image).reshape(-1, 4)
            parts.append(xp.concatenate([xp.full((len(per_image), 1), image), per_image], 1))
        return xp.concatenate(parts) if parts else xp.zeros((0, 5))
    rois = placed(boxes)
    if rois.ndim != 2 or rois.shape[1] != 5:
        raise ValueError(
            f"{op}: boxes must be a (K, 5) array of (batch index, x1, y1, x2, y2) or a list of "
            f"(L, 4) arrays, got shape {rois.shape}"
        )
    return rois


def _check_rois(input: Tensor, rois: Any, op: str) -> None:
    if input.ndim != 4:
        raise ValueError(f"{op}: expected (N, C, H, W) input, got shape {input.shape}")
    if not len(rois):
        return
    index = rois[:, 0]
    low, high = float(index.min()), float(index.max())
    if low < 0 or high >= input.shape[0] or bool((index % 1).any()):
        raise ValueError(
            f"{op}: box batch indices must be integers in [0, {input.shape[0]}) for input of "
            f"shape {input.shape}, got values in [{low}, {high}]"
        )


def _align_weights(start: Any, length: Any, bins: int, size: int, sampling_ratio: int) -> Any:
    """(K, bins, size): per RoI and bin, the mean bilinear weight of its samples on one axis.

    RoIAlign samples a regular grid in each bin and averages bilinear reads; the grid and the
    bilinear weights factor into one axis times the other, so each axis gets a matrix."""
    xp = array_module(start)
    bin_size = length / bins
    if sampling_ratio > 0:
        grid = xp.full(len(start), sampling_ratio, dtype=np.int64)
    else:
        grid = np.ceil(length / bins).astype(np.int64)
    most = max(int(grid.max()) if grid.size else 0, 1)
    per = np.maximum(grid, 1)[:, None, None]
    sample = xp.arange(most)[None, None, :]
    position = (
        start[:, None, None]
        + xp.arange(bins)[None, :, None] * bin_size[:, None, None]
        + (sample + 0.5) * bin_size[:, None, None] / per
    )
    counted = (sample < grid[:, None, None]) & (position >= -1.0) & (position <= size)
    position = np.maximum(position, 0.0)
    low = np.floor(position).astype(np.int64)
    at_edge = low >= size - 1
    low = np.where(at_edge, size - 1, low)
    high = np.where(at_edge, size - 1, low + 1)
    upper = np.where(at_edge, 0.0, position - low)
    scale = counted / per
    weights = xp.zeros((len(start), bins, size))
    roi, cell = xp.arange(len(start))[:, None, None], xp.arange(bins)[None, :, None]
    k, b, _ = np.broadcast_arrays(roi, cell, low)
    add_at = backend_of(weights).add_at
    add_at(weights, (k, b, low), (1.0 - upper) * scale)
    add_at(weights, (k, b, high), upper * scale)
    return weights


def roi_align(
    input: Any,
    boxes: Any,
    output_size: int | Sequence[int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """Average of bilinear samples in each of output_size bins per box (torchvision's rules).

    `boxes`: (K, 5) rows (batch index, x1, y1, x2, y2) or a list of (L, 4) per image; returns
    (K, C, *output_size). `aligned=True` shifts by half a pixel so box edges fall on pixel
    edges; `sampling_ratio <= 0` takes ceil(box size / bins) samples per bin."""
    input = as_tensor(input)
    rois = rois_array(boxes, "roi_align", input.data)
    _check_rois(input, rois, "roi_align")
    pooled_h, pooled_w = (int(s) for s in _pair(output_size, "output_size", "roi_align"))
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (rois[:, i] * spatial_scale - offset for i in range(1, 5))
    width, height = x2 - x1, y2 - y1
    if not aligned:  # the legacy form makes degenerate boxes at least one pixel big
        width, height = np.maximum(width, 1.0), np.maximum(height, 1.0)
    rows = _align_weights(y1, height, pooled_h, input.shape[2], sampling_ratio)
    cols = _align_weights(x1, width, pooled_w, input.shape[3], sampling_ratio)
    dtype = input.dtype
    # Each RoI's feature map, picked by a one-hot product: its backward is one GEMM, where
    # an integer index would scatter-add every RoI's cotangent back one element at a time.
    n, channels, height, width = input.shape
    xp = array_module(input.data)
    pick = xp.zeros((len(rois), n), dtype=dtype)
    pick[xp.arange(len(rois)), rois[:, 0].astype(np.int64)] = 1
    features = (pick @ input.reshape(n, -1)).reshape(len(rois), channels, height, width)
    return rows[:, None].astype(dtype) @ features @ cols.transpose(0, 2, 1)[:, None].astype(dtype)


#: elements of input gathered at once by the array form of RoI max pooling (per RoI chunk)
ROI_POOL_GATHER_BUDGET = 1 << 24


def _round_half_away(value: Any) -> Any:
    return np.where(value >= 0, np.floor(value + 0.5), -np.floor(-value + 0.5)).astype(np.int64)


def _bin_edges(start: Any, end: Any, bins: int, size: int) -> tuple[Any, Any]:
    """(K, bins) first and one-past-last row (or column) of each RoI max pool bin."""
    step = np.maximum(end - start + 1, 1) / bins
    cell = array_module(start).arange(bins)[None, :]
    low = np.floor(cell * step[:, None]).astype(np.int64) + start[:, None]
    high = np.ceil((cell + 1) * step[:, None]).astype(np.int64) + start[:, None]
    return np.clip(low, 0, size), np.clip(high, 0, size)


def roi_pool_argmax_gathered(
    x: Any, rois: Any, output_size: tuple[int, int], spatial_scale: float
) -> Any:
    """`kernels.roi.roi_pool_argmax` with array operations, for devices without that kernel.

    Each bin's window is gathered whole, padded to the largest bin (padding and NaN read as
    -inf), and reduced with argmax: the first maximum in row-major order, as the kernel's
    scan; a bin with nothing above -inf is empty (-1). RoIs go in chunks so that at most
    `ROI_POOL_GATHER_BUDGET` elements are gathered at once."""
    xp = array_module(x)
    channels, height, width = x.shape[1:]
    pooled_h, pooled_w = output_size
    out = xp.full((len(rois), channels, pooled_h, pooled_w), -1, dtype=np.int64)
    if not len(rois):
        return out
    start_w, start_h, end_w, end_h = (
        _round_half_away(rois[:, i] * spatial_scale) for i in range(1, 5)
    )
    top, bottom = _bin_edges(start_h, end_h, pooled_h, height)
    left, right = _bin_edges(start_w, end_w, pooled_w, width)
    tall, wide = int((bottom - top).max()), int((right - left).max())
    if tall <= 0 or wide <= 0:
        return out
    rows = top[:, :, None] + xp.arange(tall)  # (K, pooled_h, tall)
    cols = left[:, :, None] + xp.arange(wide)  # (K, pooled_w, wide)
    inside = (rows < bottom[:, :, None])[:, None, :, None, :, None] & (cols < right[:, :, None])[
        :, None, None, :, None, :
    ]  # (K, 1, pooled_h, pooled_w, tall, wide)
    rows, cols = np.minimum(rows, height - 1), np.minimum(cols, width - 1)
    image = rois[:, 0].astype(np.int64)
    channel = xp.arange(channels)[None, :, None, None, None, None]
    chunk = max(ROI_POOL_GATHER_BUDGET // (channels * pooled_h * pooled_w * tall * wide), 1)
    for first in range(0, len(rois), chunk):
        part = slice(first, first + chunk)
        values = x[
            image[part, None, None, None, None, None],
            channel,
            rows[part, None, :, None, :, None],
            cols[part, None, None, :, None, :],
        ]
        values = np.where(inside[part] & ~np.isnan(values), values, -np.inf)
        values = values.reshape(*values.shape[:4], tall * wide)
        best = np.argmax(values, axis=-1)
        found = np.max(values, axis=-1) > -np.inf
        flat = (top[part, None, :, None] + best // wide) * width + left[part, None, None, :]
        out[part] = np.where(found, flat + best % wide, -1)
    return out


def roi_pool(
    input: Any, boxes: Any, output_size: int | Sequence[int], spatial_scale: float = 1.0
) -> Tensor:
    """Maximum over each of output_size bins per box (torchvision's Fast R-CNN RoIPool)."""
    input = as_tensor(input)
    rois = rois_array(boxes, "roi_pool", input.data)
    _check_rois(input, rois, "roi_pool")
    pooled = tuple(int(s) for s in _pair(output_size, "output_size", "roi_pool"))
    if backend_of(input.data) is CPU:  # the Numba kernel; other devices gather with arrays
        argmax = roi_pool_argmax(raw(input), rois, pooled, spatial_scale)
    else:
        argmax = roi_pool_argmax_gathered(raw(input), rois, pooled, spatial_scale)
    n, channels, height, width = input.shape
    xp = array_module(input.data)
    plane = rois[:, 0].astype(np.int64)[:, None] * channels + xp.arange(channels)[None]
    flat = plane[:, :, None, None] * (height * width) + np.maximum(argmax, 0)
    picked = input.reshape(-1)[flat]
    empty = argmax < 0
    return picked * (~empty).astype(input.dtype) if bool(empty.any()) else picked
