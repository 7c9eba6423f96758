"""Intermediate activations through forward hooks, and feature maps as one image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_cv.autograd.grad_mode import no_grad
from autograd_cv.interpret._common import as_images
from autograd_cv.interpret.images import image_grid
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor, tensor


def activations(model: Module, x: Any, layers: str | Sequence[str]) -> dict[str, np.ndarray]:
    """Outputs of the named submodules (dotted names from `named_modules`) for input `x`."""
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = dict(model.named_modules())
    unknown = [name for name in names if name not in modules]
    if unknown:
        known = ", ".join(name for name in modules if name)
        raise ValueError(f"activations: unknown layer(s) {unknown}; the model has: {known}")
    found: dict[str, np.ndarray] = {}

    def keeper(name: str):
        def hook(module: Module, inputs: tuple, output: Any) -> None:
            found[name] = np.array(output.data if isinstance(output, Tensor) else output)

        return hook

    handles = [modules[name].register_forward_hook(keeper(name)) for name in names]
    try:
        with no_grad():
            model(tensor(as_images(x, "activations", model)))
    finally:
        for handle in handles:
            handle.remove()
    return {name: found[name] for name in names if name in found}


def feature_map_grid(act: Any, index: int = 0, columns: int | None = None) -> np.ndarray:
    """One example's feature maps (C, H, W), or example `index` of (N, C, H, W), tiled in [0, 1]."""
    act = np.asarray(act.data if isinstance(act, Tensor) else act)
    if act.ndim == 4:
        act = act[index]
    if act.ndim != 3:
        raise ValueError(
            f"feature_map_grid: expected (C, H, W) or (N, C, H, W) maps, got shape {act.shape}"
        )
    return image_grid(act[:, None], columns=columns)
