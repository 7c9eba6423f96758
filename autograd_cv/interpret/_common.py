"""Shared helpers for the interpretation tools: arrays in, class scores and input gradients out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograd_cv import functional as F
from autograd_cv.autograd.engine import grad
from autograd_cv.autograd.grad_mode import no_grad
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor, tensor


def model_dtype(model: Module | None) -> np.dtype:
    """The dtype of the model's first floating parameter (float32 if it has none)."""
    for param in model.parameters() if model is not None else ():
        if param.data.dtype.kind == "f":
            return param.data.dtype
    return np.dtype(np.float32)


def as_images(x: Any, where: str, model: Module | None = None) -> np.ndarray:
    """A float (N, C, H, W) ndarray from a Tensor or array, in the model's parameter dtype
    (conv2d and linear refuse mixed dtypes, so float64 input meets float32 weights here)."""
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    if array.ndim != 4:
        raise ValueError(f"{where}: expected (N, C, H, W) images, got shape {array.shape}")
    dtype = model_dtype(model)
    if array.dtype != dtype:
        array = array.astype(dtype)
    return array


def as_batch(x: Any, where: str, model: Module | None = None) -> np.ndarray:
    """A float (N, ...) ndarray (images, flat features, a branch's input), in the model's
    parameter dtype: for the tools that only need a model's input gradient."""
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    if array.ndim < 1 or array.shape[0] == 0:
        raise ValueError(f"{where}: expected a batch (N, ...) of inputs, got shape {array.shape}")
    dtype = model_dtype(model)
    if array.dtype != dtype:
        array = array.astype(dtype)
    return array


def as_labels(y: Any, count: int, where: str, name: str = "target") -> np.ndarray:
    """Class indices (count,) from an int, a sequence, an ndarray or a Tensor."""
    labels = y.data if isinstance(y, Tensor) else np.asarray(y)
    if labels.ndim == 0:
        labels = np.full(count, int(labels))
    if labels.shape != (count,):
        raise ValueError(
            f"{where}: {name} must be an int or have shape ({count},), got {labels.shape}"
        )
    return labels.astype(np.int64)


def scores(model: Module, x: np.ndarray) -> np.ndarray:
    """Class scores (N, classes) as an ndarray, nothing recorded."""
    with no_grad():
        return model(tensor(x)).data


def probabilities(model: Module, x: np.ndarray) -> np.ndarray:
    """Softmax class probabilities (N, classes), nothing recorded."""
    with no_grad():
        return F.softmax(model(tensor(x)), axis=1).data


def input_grad(objective: Callable[[Tensor], Tensor], x: np.ndarray) -> np.ndarray:
    """d objective(x) / dx for a scalar objective; parameters' `.grad` are left untouched."""
    leaf = tensor(x, requires_grad=True)
    (gradient,) = grad(objective(leaf), leaf)
    return gradient.data


def one_hot(labels: np.ndarray, classes: int, dtype: Any) -> np.ndarray:
    """(N, classes) rows with a 1 at each label: picks one score per row with a product."""
    picked = np.zeros((len(labels), classes), dtype=dtype)
    picked[np.arange(len(labels)), labels] = 1
    return picked
