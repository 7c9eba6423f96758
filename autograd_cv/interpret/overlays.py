"""Heat maps over images, and the adversarial triplet sheet, as PNG files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autograd_cv.interpret._common import as_images, probabilities
from autograd_cv.interpret.images import normalize_image, save_image
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor


def _colormap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def _resize_nearest(heat: np.ndarray, height: int, width: int) -> np.ndarray:
    # Occlusion maps are coarser than the image: each cell covers a block of pixels.
    rows = (np.arange(height) * heat.shape[0]) // height
    cols = (np.arange(width) * heat.shape[1]) // width
    return heat[rows[:, None], cols[None, :]]


def overlay(image: Any, heat: Any, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """A grey (C, H, W) or (H, W) image under a coloured (h, w) heat map -> (H, W, 3) in [0, 1].

    Both are scaled to [0, 1] first; a coarser heat map is stretched to the image size.
    """
    image = np.asarray(image.data if isinstance(image, Tensor) else image, dtype=np.float64)
    heat = np.asarray(heat.data if isinstance(heat, Tensor) else heat, dtype=np.float64)
    if image.ndim == 3:
        image = image.mean(axis=0) if image.shape[0] in (1, 3) else image.mean(axis=-1)
    if image.ndim != 2 or heat.ndim != 2:
        raise ValueError(
            f"overlay: expected an (H, W) or (C, H, W) image and an (h, w) heat map, got "
            f"{image.shape} and {heat.shape}"
        )
    grey = np.repeat(normalize_image(image)[..., None], 3, axis=2)
    heat = _resize_nearest(normalize_image(heat), *image.shape)
    coloured = _colormap(cmap)(heat)[..., :3]
    return (1 - alpha) * grey + alpha * coloured


def save_overlay(image: Any, heat: Any, path: str | os.PathLike, alpha: float = 0.5,
                 scale: int = 4) -> Path:  # fmt: skip
    """`overlay(image, heat)` written as a PNG, `scale` times larger."""
    return save_image(overlay(image, heat, alpha), path, scale=scale)


def adversarial_sheet(model: Module, x: Any, x_adv: Any, path: str | os.PathLike,
                      classes: Sequence[str] | None = None, magnify: float = 10.0,
                      count: int = 8) -> Path:  # fmt: skip
    """Rows of (image, perturbation x`magnify` around grey, adversarial image), each titled
    with the model's prediction and confidence; a changed prediction is written in red."""
    from matplotlib.figure import Figure

    images = as_images(x, "adversarial_sheet", model)
    adversarial = as_images(x_adv, "adversarial_sheet", model)
    if images.shape != adversarial.shape:
        raise ValueError(
            f"adversarial_sheet: x {images.shape} and x_adv {adversarial.shape} differ in shape"
        )
    images, adversarial = images[:count], adversarial[:count]
    before, after = probabilities(model, images), probabilities(model, adversarial)
    names = classes or [str(c) for c in range(before.shape[1])]
    low, high = float(images.min()), float(images.max())
    span = max(high - low, 1e-12)
    rows = len(images)
    figure = Figure(figsize=(4.2, 1.5 * rows))
    axes = figure.subplots(rows, 3, squeeze=False)
    for row in range(rows):
        clean = (images[row] - low) / span
        perturbation = 0.5 + magnify * (adversarial[row] - images[row]) / span
        attacked = (adversarial[row] - low) / span
        label_before, label_after = before[row].argmax(), after[row].argmax()
        titles = [
            f"{names[label_before]} {before[row, label_before]:.0%}",
            f"perturbation x{magnify:g}",
            f"{names[label_after]} {after[row, label_after]:.0%}",
        ]
        colours = ["black", "black", "red" if label_after != label_before else "black"]
        for axis, picture, title, colour in zip(
            axes[row], (clean, perturbation, attacked), titles, colours
        ):
            picture = np.clip(np.transpose(picture, (1, 2, 0)), 0, 1)
            axis.imshow(picture[..., 0] if picture.shape[-1] == 1 else picture, cmap="gray",
                        vmin=0, vmax=1)  # fmt: skip
            axis.set_title(title, fontsize=7, color=colour)
            axis.axis("off")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
