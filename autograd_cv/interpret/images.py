"""Turning arrays into pictures: filter grids, image grids, prediction sheets, PNG files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autograd_cv.tensor import Tensor


def _array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def normalize_image(image: Any) -> np.ndarray:
    """Scale values to [0, 1] (a constant image becomes mid-grey)."""
    image = _array(image).astype(np.float64)
    low, high = image.min(), image.max()
    if high - low < 1e-12:
        return np.full_like(image, 0.5)
    return (image - low) / (high - low)


def image_grid(images: Any, columns: int | None = None, padding: int = 1,
               normalize_each: bool = True) -> np.ndarray:  # fmt: skip
    """Tile (N, C, H, W) images (C = 1 or 3) into one (H', W', C) array in [0, 1]."""
    images = _array(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"image_grid: expected (N, 1 or 3, H, W) images, got shape {images.shape}")
    count, channels, height, width = images.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    grid = np.ones((rows * (height + padding) + padding, columns * (width + padding) + padding,
                    channels))  # fmt: skip
    scaled = [normalize_image(im) for im in images] if normalize_each else normalize_image(images)
    for index in range(count):
        row, col = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + col * (width + padding)
        grid[top : top + height, left : left + width] = np.transpose(scaled[index], (1, 2, 0))
    return grid


def filter_grid(weight: Any, columns: int | None = None) -> np.ndarray:
    """First-layer conv filters (O, C, kh, kw) as one image; RGB when C is 3, else per channel."""
    weight = _array(weight)
    if weight.ndim != 4:
        raise ValueError(
            f"filter_grid: expected an (O, C, kh, kw) weight, got shape {weight.shape}"
        )
    if weight.shape[1] != 3:
        weight = weight.reshape(-1, 1, *weight.shape[2:])
    return image_grid(weight, columns=columns)


def save_image(image: Any, path: str | os.PathLike, scale: int = 1) -> Path:
    """Write an (H, W), (H, W, 1|3) or (1|3, H, W) array in [0, 1] (or uint8) as a PNG."""
    from PIL import Image

    array = _array(image)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = np.transpose(array, (1, 2, 0))
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.dtype != np.uint8:
        array = (np.clip(array, 0, 1) * 255).round().astype(np.uint8)
    picture = Image.fromarray(array)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    path = Path(path)
    picture.save(path)
    return path


def prediction_sheet(images: Any, labels: Sequence[int], predicted: Sequence[int],
                     confidence: Sequence[float], classes: Sequence[str],
                     path: str | os.PathLike, columns: int = 8) -> Path:  # fmt: skip
    """A sheet of test images titled with prediction and confidence; mistakes in red."""
    from matplotlib.figure import Figure

    images = _array(images)
    rows = int(np.ceil(len(images) / columns))
    figure = Figure(figsize=(columns * 1.2, rows * 1.45))
    axes = figure.subplots(rows, columns)
    for index, axis in enumerate(np.atleast_1d(axes).ravel()):
        axis.axis("off")
        if index >= len(images):
            continue
        picture = np.transpose(normalize_image(images[index]), (1, 2, 0))
        axis.imshow(picture[..., 0] if picture.shape[-1] == 1 else picture, cmap="gray")
        right = predicted[index] == labels[index]
        title = f"{classes[predicted[index]]} {confidence[index]:.0%}"
        if not right:
            title += f"\n(true {classes[labels[index]]})"
        axis.set_title(title, fontsize=7, color="black" if right else "red")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
