"""normalize, cosine_similarity, pairwise_distance: compositions of recorded ops.

Norms are taken through a guarded square root (sqrt of 1 where the sum is 0, times 0), so
an all-zero vector has a zero (not nan) gradient, as PyTorch gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.ops.arguments import as_tensor, data_of, mask_like, normalize_axis
from autograd_cv.ops.elementwise import Maximum, Where
from autograd_cv.tensor import Tensor


def _norm(x: Tensor, p: float, axis: int, keepdims: bool) -> Tensor:
    """The p-norm along `axis` (p >= 1), with gradient 0 at an all-zero vector."""
    powered = x * x if p == 2 else x.abs() ** float(p)
    total = powered.sum(axis=axis, keepdims=keepdims)
    positive = data_of(total) > 0
    root = Where(positive)(total, 1.0) ** (1.0 / p)
    return root * mask_like(positive, root)


def _check_p(op: str, p: float) -> None:
    if not p >= 1 or p == np.inf:
        raise ValueError(f"{op}: p must be a finite number >= 1, got {p}")


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along `dim`, as PyTorch."""
    _check_p("normalize", p)
    input = as_tensor(input)
    axis = normalize_axis(dim, input.ndim, "normalize")
    norm = _norm(input, p, axis, keepdims=True)
    return input / Maximum()(norm, eps)


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum((x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps))) along `dim` (inputs broadcast).

    As PyTorch, each norm is raised to eps by a constant shift, so the gradient still flows
    through the norm where it was clamped.
    """
    x1, x2 = as_tensor(x1), as_tensor(x2)
    try:
        ndim = len(np.broadcast_shapes(x1.shape, x2.shape))
    except ValueError:
        raise ValueError(
            f"cosine_similarity: shapes {x1.shape} and {x2.shape} do not broadcast"
        ) from None
    axis = normalize_axis(dim, ndim, "cosine_similarity")
    units = []
    for x in (x1, x2):
        norm = _norm(x, 2, axis, keepdims=True)
        units.append(x / (norm + (np.maximum(norm.data, eps) - norm.data)))
    return (units[0] * units[1]).sum(axis=axis)


def pairwise_distance(
    x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last axis, as PyTorch."""
    _check_p("pairwise_distance", p)
    difference = as_tensor(x1) - x2 + eps
    return _norm(difference, p, difference.ndim - 1, keepdim)
