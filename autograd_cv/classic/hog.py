"""Histograms of oriented gradients (Dalal & Triggs, 2005), vectorised over the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.tensor import Tensor


def hog_features(images: Any, cell: int = 7, bins: int = 9, block: int | None = 2,
                 eps: float = 1e-6) -> np.ndarray:  # fmt: skip
    """HOG descriptors (N, features) of (N, H, W) or (N, C, H, W) images (channels averaged).

    Central-difference gradients; unsigned orientations in [0, 180) split linearly between
    the two nearest of `bins` bins, weighted by magnitude and summed per `cell` x `cell`
    cell (a border that does not fill a cell is dropped). Each `block` x `block` group of
    cells is L2-normalised (overlapping, stride one cell); `block=None` normalises the whole
    histogram at once. Features: (Hc - block + 1) * (Wc - block + 1) * block^2 * bins.
    """
    array = np.asarray(images.data if isinstance(images, Tensor) else images, dtype=np.float64)
    if array.ndim == 4:
        array = array.mean(axis=1)
    if array.ndim != 3:
        raise ValueError(
            f"hog_features: expected (N, H, W) or (N, C, H, W) images, got {array.shape}"
        )
    count, height, width = array.shape
    rows, cols = height // cell, width // cell
    if cell < 1 or bins < 1 or rows < 1 or cols < 1:
        raise ValueError(
            f"hog_features: cell={cell} and bins={bins} do not fit images of size {height}x{width}"
        )
    gx, gy = np.zeros_like(array), np.zeros_like(array)
    gx[:, :, 1:-1] = array[:, :, 2:] - array[:, :, :-2]
    gy[:, 1:-1, :] = array[:, 2:, :] - array[:, :-2, :]
    magnitude = np.hypot(gx, gy)
    angle = np.rad2deg(np.arctan2(gy, gx)) % 180.0
    # Bin centres at (i + 0.5) * width: split each vote between the two nearest centres.
    position = angle / (180.0 / bins) - 0.5
    low = np.floor(position)
    upper_share = position - low
    low_bin = low.astype(np.int64) % bins
    high_bin = (low_bin + 1) % bins
    centres = np.arange(bins)
    votes = magnitude[..., None] * (
        (1 - upper_share)[..., None] * (low_bin[..., None] == centres)
        + upper_share[..., None] * (high_bin[..., None] == centres)
    )
    votes = votes[:, : rows * cell, : cols * cell]
    cells = votes.reshape(count, rows, cell, cols, cell, bins).sum(axis=(2, 4))
    if block is None:
        flat = cells.reshape(count, -1)
        return flat / np.sqrt((flat * flat).sum(axis=1, keepdims=True) + eps**2)
    if not 1 <= block <= min(rows, cols):
        raise ValueError(f"hog_features: block={block} needs 1 <= block <= {min(rows, cols)} cells")
    windows = np.lib.stride_tricks.sliding_window_view(cells, (block, block), axis=(1, 2))
    # windows: (N, rows - block + 1, cols - block + 1, bins, block, block)
    blocks = windows.transpose(0, 1, 2, 4, 5, 3).reshape(count, -1, block * block * bins)
    blocks = blocks / np.sqrt((blocks * blocks).sum(axis=2, keepdims=True) + eps**2)
    return blocks.reshape(count, -1)
