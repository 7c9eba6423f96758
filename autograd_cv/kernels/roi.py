"""RoI max pooling's bin maxima on raw ndarrays (torchvision's `roi_pool` conventions)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["roi_pool_argmax"]


@njit(cache=True)
def _round_half_away(value: float) -> int:
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


@njit(cache=True)
def _roi_pool_argmax(x, rois, pooled_h, pooled_w, spatial_scale, out):
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    for k in range(rois.shape[0]):
        image = int(rois[k, 0])
        start_w = _round_half_away(rois[k, 1] * spatial_scale)
        start_h = _round_half_away(rois[k, 2] * spatial_scale)
        end_w = _round_half_away(rois[k, 3] * spatial_scale)
        end_h = _round_half_away(rois[k, 4] * spatial_scale)
        bin_h = max(end_h - start_h + 1, 1) / pooled_h
        bin_w = max(end_w - start_w + 1, 1) / pooled_w
        for i in range(pooled_h):
            top = min(max(int(math.floor(i * bin_h)) + start_h, 0), height)
            bottom = min(max(int(math.ceil((i + 1) * bin_h)) + start_h, 0), height)
            for j in range(pooled_w):
                left = min(max(int(math.floor(j * bin_w)) + start_w, 0), width)
                right = min(max(int(math.ceil((j + 1) * bin_w)) + start_w, 0), width)
                for c in range(channels):
                    best, best_index = -np.inf, -1
                    for h in range(top, bottom):
                        for w in range(left, right):
                            if x[image, c, h, w] > best:
                                best, best_index = x[image, c, h, w], h * width + w
                    out[k, c, i, j] = best_index


def roi_pool_argmax(
    x: np.ndarray, rois: np.ndarray, output_size: tuple[int, int], spatial_scale: float
) -> np.ndarray:
    """Per RoI, channel and bin: the flat index h * W + w of the maximum, -1 for empty bins.

    `rois` is (K, 5): batch index, x1, y1, x2, y2 in input coordinates; bins are laid out and
    rounded as in torchvision (coordinates rounded half away from zero, inclusive ends)."""
    out = np.full((rois.shape[0], x.shape[1], *output_size), -1, dtype=np.int64)
    if rois.shape[0]:
        _roi_pool_argmax(
            np.ascontiguousarray(x), np.asarray(rois, dtype=np.float64), output_size[0],
            output_size[1], float(spatial_scale), out,
        )  # fmt: skip
    return out
