"""Gradient saliency maps (Simonyan et al., 2014), optionally smoothed (SmoothGrad)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.interpret._common import as_batch, as_labels, input_grad, one_hot, scores
from autograd_cv.nn.module import Module


def saliency(model: Module, x: Any, target: Any = None, smoothgrad: int = 0,
             noise: float = 0.1, seed: int = 0) -> np.ndarray:  # fmt: skip
    """|d score_target / d x|: maxed over channels -> (N, H, W) for (N, C, H, W) images, of
    the input's shape for any other batch (N, ...) (flat features, one branch's input).

    `target` is a class per example (or one int); None takes the predicted class.
    `smoothgrad=n` averages the map over n copies with Gaussian noise of standard deviation
    `noise * (max - min)` of each image added.
    """
    images = as_batch(x, "saliency", model)
    count = len(images)
    if target is None:
        labels = scores(model, images).argmax(axis=1)
    else:
        labels = as_labels(target, count, "saliency")
    if smoothgrad < 0:
        raise ValueError(f"saliency: smoothgrad must be >= 0, got {smoothgrad}")

    def gradient(batch: np.ndarray) -> np.ndarray:
        def objective(leaf):
            out = model(leaf)
            return (out * one_hot(labels, out.shape[1], out.dtype)).sum()

        size = np.abs(input_grad(objective, batch))
        return size.max(axis=1) if size.ndim == 4 else size

    if smoothgrad == 0:
        return gradient(images)
    rng = np.random.default_rng(seed)
    spread = images.reshape(count, -1).max(axis=1) - images.reshape(count, -1).min(axis=1)
    sigma = (noise * spread).reshape((count,) + (1,) * (images.ndim - 1))
    total = np.zeros((count, *images.shape[2:]) if images.ndim == 4 else images.shape)
    for _ in range(smoothgrad):
        noisy = (images + sigma * rng.standard_normal(images.shape)).astype(images.dtype)
        total += gradient(noisy)
    return (total / smoothgrad).astype(images.dtype)
