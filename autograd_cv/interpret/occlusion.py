"""Occlusion sensitivity (Zeiler & Fergus, 2014): the class probability as a patch slides."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.interpret._common import as_images, as_labels, probabilities
from autograd_cv.nn.module import Module


def occlusion_masks(height: int, width: int, patch: int, stride: int) -> np.ndarray:
    """Boolean masks (H', W', H, W): True inside the patch at each position."""
    tops = np.arange(0, height - patch + 1, stride)
    lefts = np.arange(0, width - patch + 1, stride)
    rows, cols = np.arange(height), np.arange(width)
    row_in = (rows >= tops[:, None]) & (rows < tops[:, None] + patch)
    col_in = (cols >= lefts[:, None]) & (cols < lefts[:, None] + patch)
    return row_in[:, None, :, None] & col_in[None, :, None, :]


def occlusion(model: Module, x: Any, target: Any = None, patch: int = 8, stride: int = 4,
              fill: float | None = 0.5, batch_size: int = 256) -> np.ndarray:  # fmt: skip
    """Softmax probability of `target` with a `fill` patch at each position -> (N, H', W').

    H' = (H - patch) // stride + 1. `fill=None` fills with each image's mean. `target`
    None takes the predicted class. All occluded copies of an image are classified in
    batches of `batch_size`.
    """
    images = as_images(x, "occlusion", model)
    count, _, height, width = images.shape
    if not (1 <= patch <= min(height, width)) or stride < 1:
        raise ValueError(
            f"occlusion: need 1 <= patch <= {min(height, width)} and stride >= 1 for images "
            f"{images.shape}, got patch={patch}, stride={stride}"
        )
    if target is None:
        labels = probabilities(model, images).argmax(axis=1)
    else:
        labels = as_labels(target, count, "occlusion")
    masks = occlusion_masks(height, width, patch, stride)
    out_h, out_w = masks.shape[:2]
    masks = masks.reshape(-1, 1, height, width)
    heat = np.empty((count, out_h * out_w), dtype=np.float64)
    for index in range(count):
        image = images[index]
        value = image.mean() if fill is None else fill
        for start in range(0, len(masks), batch_size):
            chunk = masks[start : start + batch_size]
            occluded = np.where(chunk, np.asarray(value, dtype=image.dtype), image[None])
            probs = probabilities(model, occluded)
            heat[index, start : start + len(chunk)] = probs[:, labels[index]]
    return heat.reshape(count, out_h, out_w)
