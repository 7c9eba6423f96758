"""Adversarial examples: FGSM (Goodfellow et al., 2015) and PGD (Madry et al., 2018)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv import functional as F
from autograd_cv.interpret._common import as_batch, as_labels, input_grad
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor, tensor


def _check(eps: float, clip: tuple[float, float], where: str) -> None:
    if eps < 0:
        raise ValueError(f"{where}: eps must be >= 0, got {eps}")
    if clip[0] >= clip[1]:
        raise ValueError(f"{where}: clip must be (low, high) with low < high, got {clip}")


def project(candidate: np.ndarray, x: np.ndarray, eps: float,
            clip: tuple[float, float]) -> np.ndarray:  # fmt: skip
    """Nearest point of the eps-ball around x (infinity norm) inside `clip`, in x's dtype.

    The bounds are exact: float64 |result - x| <= eps and low <= result <= high hold after
    rounding to x's dtype (a value rounded past a bound is stepped back by one ulp).
    """
    x64 = x.astype(np.float64)
    lower = np.maximum(x64 - eps, clip[0])
    upper = np.minimum(x64 + eps, clip[1])
    # x itself slightly outside clip (e.g. float32-normalised data): stay at the clipped x.
    empty = lower > upper
    if empty.any():
        lower = np.where(empty, np.clip(x64, *clip), lower)
        upper = np.where(empty, np.clip(x64, *clip), upper)
    result = np.clip(candidate.astype(np.float64), lower, upper).astype(x.dtype)
    result = np.where(result.astype(np.float64) > upper, np.nextafter(result, -np.inf), result)
    result = np.where(result.astype(np.float64) < lower, np.nextafter(result, np.inf), result)
    return result.astype(x.dtype)


def _loss_gradient(model: Module, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return input_grad(lambda leaf: F.cross_entropy(model(leaf), labels, reduction="sum"), x)


def _step_direction(model: Module, x: np.ndarray, y: np.ndarray,
                    target: np.ndarray | None) -> np.ndarray:  # fmt: skip
    # Untargeted: climb the true class's loss; targeted: descend the target class's loss.
    if target is None:
        return np.sign(_loss_gradient(model, x, y))
    return -np.sign(_loss_gradient(model, x, target))


def fgsm(model: Module, x: Any, y: Any, eps: float, target: Any = None,
         clip: tuple[float, float] = (0.0, 1.0)) -> Tensor:  # fmt: skip
    """Fast gradient sign method: x + eps * sign(grad of the loss), clipped -> Tensor.

    `x` is any batch (N, ...) the model takes: images, flat features, one branch's input.
    With `target` (a class per example or one int) it steps toward that class instead.
    `clip` is the valid pixel range (pass the normalised range for normalised inputs).
    """
    _check(eps, clip, "fgsm")
    images = as_batch(x, "fgsm", model)
    labels = as_labels(y, len(images), "fgsm", "y")
    goal = None if target is None else as_labels(target, len(images), "fgsm")
    step = _step_direction(model, images, labels, goal)
    return tensor(project(images.astype(np.float64) + eps * step, images, eps, clip))


def pgd(model: Module, x: Any, y: Any, eps: float, alpha: float, steps: int,
        target: Any = None, clip: tuple[float, float] = (0.0, 1.0), seed: int = 0,
        random_start: bool = True) -> Tensor:  # fmt: skip
    """Projected gradient descent: `steps` signed steps of size `alpha`, each projected back
    into the eps-ball around x and the `clip` range, from a random start in the ball."""
    _check(eps, clip, "pgd")
    if steps < 0 or alpha < 0:
        raise ValueError(f"pgd: steps and alpha must be >= 0, got steps={steps}, alpha={alpha}")
    images = as_batch(x, "pgd", model)
    labels = as_labels(y, len(images), "pgd", "y")
    goal = None if target is None else as_labels(target, len(images), "pgd")
    current = images
    if random_start:
        rng = np.random.default_rng(seed)
        start = images.astype(np.float64) + rng.uniform(-eps, eps, images.shape)
        current = project(start, images, eps, clip)
    for _ in range(steps):
        step = _step_direction(model, current, labels, goal)
        current = project(current.astype(np.float64) + alpha * step, images, eps, clip)
    return tensor(current)
