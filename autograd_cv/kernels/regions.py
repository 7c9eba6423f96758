"""Bounding boxes of connected components in binary masks (8-neighbour flood fill)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["component_boxes"]


@njit(cache=True)
def _component_boxes(masks, min_pixels, out, counts):
    n, h, w = masks.shape
    seen = np.zeros((h, w), dtype=np.bool_)
    stack = np.empty((h * w, 2), dtype=np.int64)
    for i in range(n):
        seen[:, :] = False
        found = 0
        for y0 in range(h):
            for x0 in range(w):
                if not masks[i, y0, x0] or seen[y0, x0]:
                    continue
                seen[y0, x0] = True
                stack[0, 0], stack[0, 1] = y0, x0
                top, pixels = 1, 0
                x1, y1, x2, y2 = x0, y0, x0, y0
                while top > 0:
                    top -= 1
                    y, x = stack[top, 0], stack[top, 1]
                    pixels += 1
                    x1, y1, x2, y2 = min(x1, x), min(y1, y), max(x2, x), max(y2, y)
                    for dy in range(-1, 2):
                        for dx in range(-1, 2):
                            yy, xx = y + dy, x + dx
                            if (
                                0 <= yy < h
                                and 0 <= xx < w
                                and masks[i, yy, xx]
                                and not seen[yy, xx]
                            ):
                                seen[yy, xx] = True
                                stack[top, 0], stack[top, 1] = yy, xx
                                top += 1
                if pixels >= min_pixels and found < out.shape[1]:
                    out[i, found, 0], out[i, found, 1] = x1, y1
                    out[i, found, 2], out[i, found, 3] = x2 + 1, y2 + 1
                    found += 1
        counts[i] = found


def component_boxes(masks: np.ndarray, min_pixels: int = 6, most: int = 64) -> list[np.ndarray]:
    """Per (H, W) mask of an (N, H, W) batch, the (x1, y1, x2, y2) pixel-edge boxes of its
    8-connected components of at least `min_pixels` pixels (at most `most` per mask)."""
    masks = np.ascontiguousarray(masks, dtype=np.bool_)
    out = np.zeros((len(masks), most, 4), dtype=np.float32)
    counts = np.zeros(len(masks), dtype=np.int64)
    if masks.size:
        _component_boxes(masks, min_pixels, out, counts)
    return [out[i, : counts[i]] for i in range(len(masks))]
