"""Histograms of oriented gradients (Dalal & Triggs, 2005), vectorised over the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.tensor import Tensor


def hog_features(images: Any, cell: int = 7, bins: int = 9, block: int | None = 2,
                 eps: float = 1e-6, chunk_size: int = 2048) -> np.ndarray:  # fmt: skip
    """HOG descriptors (N, features) of (N, H, W) or (N, C, H, W) images (channels averaged).

    Central-difference gradients; unsigned orientations in [0, 180) split linearly between
    the two nearest of `bins` bins, weighted by magnitude and summed per `cell` x `cell`
    cell (a border that does not fill a cell is dropped). Each `block` x `block` group of
    cells is L2-normalised (overlapping, stride one cell); `block=None` normalises the whole
    histogram at once. Features: (Hc - block + 1) * (Wc - block + 1) * block^2 * bins.
    Images are processed `chunk_size` at a time, so memory stays bounded for any N.
    """
    array = np.asarray(images.data if isinstance(images, Tensor) else images)
    if array.ndim not in (3, 4):
        raise ValueError(
            f"hog_features: expected (N, H, W) or (N, C, H, W) images, got {array.shape}"
        )
    height, width = array.shape[-2:]
    rows, cols = (height // cell, width // cell) if cell >= 1 else (0, 0)
    if cell < 1 or bins < 1 or rows < 1 or cols < 1:
        raise ValueError(
            f"hog_features: cell={cell} and bins={bins} do not fit images of size {height}x{width}"
        )
    if block is not None and not 1 <= block <= min(rows, cols):
        raise ValueError(f"hog_features: block={block} needs 1 <= block <= {min(rows, cols)} cells")
    if chunk_size < 1:
        raise ValueError(f"hog_features: chunk_size must be >= 1, got {chunk_size}")
    parts = [
        _normalise(_cell_histograms(array[start : start + chunk_size], cell, bins), block, eps)
        for start in range(0, len(array), chunk_size)
    ]
    if not parts:  # no images: an empty (0, features) array, as NumPy would give
        return _normalise(np.zeros((0, rows, cols, bins)), block, eps)
    return np.concatenate(parts)


def _cell_histograms(chunk: np.ndarray, cell: int, bins: int) -> np.ndarray:
    """Un-normalised histograms (n, rows, cols, bins) of a chunk of images."""
    array = chunk.astype(np.float64)
    if array.ndim == 4:
        array = array.mean(axis=1)
    count, height, width = array.shape
    rows, cols = height // cell, width // cell
    gx, gy = np.zeros_like(array), np.zeros_like(array)
    gx[:, :, 1:-1] = array[:, :, 2:] - array[:, :, :-2]
    gy[:, 1:-1, :] = array[:, 2:, :] - array[:, :-2, :]
    # Only pixels inside whole cells vote.
    gx, gy = gx[:, : rows * cell, : cols * cell], gy[:, : rows * cell, : cols * cell]
    magnitude = np.hypot(gx, gy)
    angle = np.rad2deg(np.arctan2(gy, gx)) % 180.0
    # Bin centres at (i + 0.5) * width: split each vote between the two nearest centres.
    position = angle / (180.0 / bins) - 0.5
    low = np.floor(position)
    upper_share = position - low
    low_bin = low.astype(np.int64) % bins
    high_bin = (low_bin + 1) % bins
    # Each pixel's cell, as a flat index into (count, rows, cols); two weighted bincounts.
    image = np.arange(count)[:, None, None]
    row = (np.arange(rows * cell) // cell)[None, :, None]
    col = (np.arange(cols * cell) // cell)[None, None, :]
    slot = ((image * rows + row) * cols + col) * bins
    size = count * rows * cols * bins
    cells = np.bincount((slot + low_bin).ravel(), (magnitude * (1 - upper_share)).ravel(), size)
    cells += np.bincount((slot + high_bin).ravel(), (magnitude * upper_share).ravel(), size)
    return cells.reshape(count, rows, cols, bins)


def _normalise(cells: np.ndarray, block: int | None, eps: float) -> np.ndarray:
    """L2-normalise overlapping blocks of cells (or the whole histogram) -> (n, features)."""
    count, rows, cols, bins = cells.shape
    if block is None:
        flat = cells.reshape(count, rows * cols * bins)
        return flat / np.sqrt((flat * flat).sum(axis=1, keepdims=True) + eps**2)
    windows = np.lib.stride_tricks.sliding_window_view(cells, (block, block), axis=(1, 2))
    # windows: (N, rows - block + 1, cols - block + 1, bins, block, block)
    positions = (rows - block + 1) * (cols - block + 1)
    blocks = windows.transpose(0, 1, 2, 4, 5, 3).reshape(count, positions, block * block * bins)
    blocks = blocks / np.sqrt((blocks * blocks).sum(axis=2, keepdims=True) + eps**2)
    return blocks.reshape(count, positions * block * block * bins)
