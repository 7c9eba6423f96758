"""make_grid and save_image with torchvision.utils' arguments."""

from __future__ import annotations

import math
import os
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from autograd_cv.tensor import Tensor


def _batch(tensor: Any) -> np.ndarray:
    """(B, C, H, W) float array from a tensor, an array, or a list of (C, H, W) images."""
    if isinstance(tensor, (list, tuple)):
        array = np.stack([t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensor])
    else:
        array = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[None] if array.shape[0] in (1, 3) else array[:, None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected (B, C, H, W) images, got shape {array.shape}")
    if array.shape[1] == 1:
        array = np.repeat(array, 3, axis=1)
    return array.astype(np.float32, copy=True)


def _rescale(images: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    low, high = value_range if value_range is not None else (images.min(), images.max())
    np.clip(images, low, high, out=images)
    return (images - low) / max(float(high - low), 1e-5)


def make_grid(
    tensor: Any,
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> Tensor:
    """Tile a batch (B, C, H, W) into one (3, H', W') image, `nrow` images per row.

    `normalize` shifts the values to [0, 1] using `value_range` (default: the min and max;
    per image with `scale_each`). One-channel images are repeated into three, as torchvision.
    """
    images = _batch(tensor)
    if normalize:
        if scale_each:
            images = np.stack([_rescale(image, value_range) for image in images])
        else:
            images = _rescale(images, value_range)
    count, channels, height, width = images.shape
    if count == 1:
        return Tensor(images[0])
    columns = min(nrow, count)
    rows = int(math.ceil(count / columns))
    cell_h, cell_w = height + padding, width + padding
    grid = np.full((channels, rows * cell_h + padding, columns * cell_w + padding), pad_value,
                   dtype=np.float32)  # fmt: skip
    for k, image in enumerate(images):
        y, x = divmod(k, columns)
        top, left = y * cell_h + padding, x * cell_w + padding
        grid[:, top : top + height, left : left + width] = image
    return Tensor(grid)


def save_image(
    tensor: Any,
    fp: str | os.PathLike | BinaryIO,
    format: str | None = None,
    **grid_options: Any,
) -> None:
    """Write a tensor (one image or a batch, tiled by make_grid) as an image file."""
    grid = make_grid(tensor, **grid_options).data
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(pixels).save(fp, format=format)


__all__ = ["make_grid", "save_image"]
