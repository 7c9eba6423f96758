"""Images made by gradient ascent on a class: fooling images and class model visualisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv import functional as F
from autograd_cv.interpret._common import input_grad, model_dtype, probabilities
from autograd_cv.nn.module import Module


def _shape(shape: tuple[int, ...], where: str) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4 or shape[0] != 1:
        raise ValueError(f"{where}: shape must be (C, H, W) or (1, C, H, W), got {shape}")
    return shape


def fooling_image(model: Module, target_class: int, shape: tuple[int, ...], steps: int = 200,
                  lr: float = 0.1, seed: int = 0, confidence: float = 0.99,
                  clip: tuple[float, float] | None = (0.0, 1.0),
                  noise: float = 0.1) -> tuple[np.ndarray, float]:  # fmt: skip
    """Grow an image from noise until the model gives `target_class` at least `confidence`.

    Signed-gradient steps of size `lr` on the class's cross-entropy, clipped to `clip`;
    stops early once confident. Returns the (1, C, H, W) image and the final probability.
    """
    shape = _shape(shape, "fooling_image")
    rng = np.random.default_rng(seed)
    low, high = clip if clip is not None else (-np.inf, np.inf)
    centre = 0.5 * (low + high) if clip is not None else 0.0
    dtype = model_dtype(model)
    image = np.clip(centre + noise * rng.standard_normal(shape), low, high).astype(dtype)
    label = np.array([target_class])
    prob = float(probabilities(model, image)[0, target_class])
    for _ in range(steps):
        if prob >= confidence:
            break
        gradient = input_grad(lambda leaf: F.cross_entropy(model(leaf), label), image)
        image = np.clip(image - lr * np.sign(gradient), low, high).astype(dtype)
        prob = float(probabilities(model, image)[0, target_class])
    return image, prob


def class_model(model: Module, target_class: int, shape: tuple[int, ...], steps: int = 200,
                lr: float = 0.1, l2: float = 1e-3, seed: int = 0,
                clip: tuple[float, float] | None = None) -> np.ndarray:  # fmt: skip
    """Gradient ascent on score_c(x) - l2 * ||x||^2 from near zero (Simonyan et al., 2014).

    Returns the (1, C, H, W) image; `clip` optionally keeps it in a pixel range.
    """
    shape = _shape(shape, "class_model")
    rng = np.random.default_rng(seed)
    dtype = model_dtype(model)
    image = (0.01 * rng.standard_normal(shape)).astype(dtype)

    def objective(leaf: Any) -> Any:
        return model(leaf)[:, target_class].sum() - l2 * (leaf * leaf).sum()

    for _ in range(steps):
        image = image + lr * input_grad(objective, image)
        if clip is not None:
            image = np.clip(image, *clip)
        image = image.astype(dtype)
    return image
