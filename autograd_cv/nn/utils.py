"""Gradient clipping, as torch.nn.utils."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from autograd_cv.tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def _vector_norm(array: np.ndarray, norm_type: float) -> np.ndarray:
    flat = array.reshape(-1)
    if norm_type == math.inf:
        return np.abs(flat).max(initial=0).astype(array.dtype)
    if norm_type == 2.0:
        return np.sqrt(np.dot(flat, flat))
    if norm_type == 1.0:
        return np.abs(flat).sum()
    return (np.abs(flat) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so their joint norm is at most max_norm; return that norm.

    As torch: the norm of the per-parameter norms, and a scale factor
    min(1, max_norm / (total_norm + 1e-6)) applied to every gradient in place.
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.zeros((), dtype=np.float32))
    dtype = grads[0].dtype
    norms = np.array([_vector_norm(g, norm_type) for g in grads], dtype=dtype)
    total = np.asarray(_vector_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{float(total)}; set error_if_nonfinite=False to clip anyway"
        )
    scale = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    for grad in grads:
        np.multiply(grad, grad.dtype.type(scale), out=grad)
    return Tensor(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    for grad in _grads(parameters):
        np.clip(grad, -clip_value, clip_value, out=grad)
