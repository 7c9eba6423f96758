"""Batch normalisation in training mode on raw (N, C, L) ndarrays, one pass per step.

NumPy's version of the same formulas reduces over the non-contiguous axes (0, 2, 3) and
allocates a full-size temporary per operation (about ten per forward and backward); these
kernels walk each (n, c) plane contiguously, accumulate per-channel sums in float64, and
write each full-size result once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["batch_norm_forward", "batch_norm_backward", "channel_sums"]


@njit(cache=True, nogil=True)
def _channel_mean_var(x):  # pragma: no cover - compiled
    # Two passes (mean, then the mean of squared deviations): no cancellation when the
    # mean is large against the spread, unlike E[x^2] - E[x]^2.
    batch, channels, plane = x.shape
    mean = np.zeros(channels)
    var = np.zeros(channels)
    for n in range(batch):
        for c in range(channels):
            total = 0.0
            for k in range(plane):
                total += x[n, c, k]
            mean[c] += total
    mean /= batch * plane
    for n in range(batch):
        for c in range(channels):
            m = mean[c]
            total = 0.0
            for k in range(plane):
                d = x[n, c, k] - m
                total += d * d
            var[c] += total
    var /= batch * plane
    return mean, var


@njit(cache=True, nogil=True)
def _normalise(x, mean, inv_std, weight, bias, normalised, out):  # pragma: no cover
    # mean stays float64, so x - mean keeps its digits when the values sit far from zero.
    batch, channels, plane = x.shape
    for n in range(batch):
        for c in range(channels):
            m, s, w, b = mean[c], inv_std[c], weight[c], bias[c]
            for k in range(plane):
                value = (x[n, c, k] - m) * s
                normalised[n, c, k] = value
                out[n, c, k] = value * w + b


@njit(cache=True, nogil=True)
def _grad_sums(grad, normalised):  # pragma: no cover - compiled
    batch, channels, plane = grad.shape
    sum_grad = np.zeros(channels)
    sum_grad_normalised = np.zeros(channels)
    for n in range(batch):
        for c in range(channels):
            total = 0.0
            projected = 0.0
            for k in range(plane):
                g = grad[n, c, k]
                total += g
                projected += g * normalised[n, c, k]
            sum_grad[c] += total
            sum_grad_normalised[c] += projected
    return sum_grad, sum_grad_normalised


@njit(cache=True, nogil=True)
def _input_grad(grad, normalised, scale, mean_grad, mean_projection, out):  # pragma: no cover
    batch, channels, plane = grad.shape
    for n in range(batch):
        for c in range(channels):
            s, mg, mp = scale[c], mean_grad[c], mean_projection[c]
            for k in range(plane):
                out[n, c, k] = s * (grad[n, c, k] - mg - normalised[n, c, k] * mp)


def _planes(x: np.ndarray) -> np.ndarray:
    """(N, C, ...) as a C-contiguous (N, C, L) view or copy."""
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)


def batch_norm_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalise ``x`` (N, C, ...) by its batch statistics per channel, then scale and shift.

    Returns ``(out, normalised, mean, var, inv_std)``: ``mean`` and the biased ``var`` are
    float64 per channel, ``inv_std`` is in ``x``'s dtype.
    """
    planes = _planes(x)
    mean, var = _channel_mean_var(planes)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    normalised = np.empty(planes.shape, x.dtype)
    out = np.empty(planes.shape, x.dtype)
    _normalise(planes, mean, inv_std, weight.astype(x.dtype, copy=False),
               bias.astype(x.dtype, copy=False), normalised, out)  # fmt: skip
    return out.reshape(x.shape), normalised.reshape(x.shape), mean, var, inv_std


def batch_norm_backward(
    grad: np.ndarray,
    normalised: np.ndarray,
    weight: np.ndarray,
    inv_std: np.ndarray,
    sums: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`batch_norm_forward` for input, weight and bias, from ``grad``.

    ``sums``: :func:`channel_sums` of the same ``grad`` and ``normalised`` when the caller
    has them already (saves a pass).
    """
    grad_planes, normalised_planes = _planes(grad), _planes(normalised)
    if sums is None:
        sum_grad, sum_projection = _grad_sums(grad_planes, normalised_planes)
    else:
        sum_grad, sum_projection = sums[0].astype(np.float64), sums[1].astype(np.float64)
    count = grad_planes.shape[0] * grad_planes.shape[2]
    dtype = grad.dtype
    grad_input = np.empty(grad_planes.shape, dtype)
    _input_grad(grad_planes, normalised_planes, (weight * inv_std).astype(dtype),
                (sum_grad / count).astype(dtype), (sum_projection / count).astype(dtype),
                grad_input)  # fmt: skip
    return grad_input.reshape(grad.shape), sum_projection.astype(dtype), sum_grad.astype(dtype)


def channel_sums(grad: np.ndarray, normalised: np.ndarray) -> np.ndarray:
    """Per-channel sums of ``grad`` and of ``grad * normalised`` (N, C, ...), one pass.

    Returns a (2, C) array in ``grad``'s dtype: the bias and weight gradients of batch norm.
    """
    if grad.shape != normalised.shape or grad.ndim < 2:
        raise ValueError(
            f"channel_sums: grad of shape {grad.shape} and normalised of shape "
            f"{normalised.shape} must be equal and (N, C, ...)"
        )
    sum_grad, sum_projection = _grad_sums(_planes(grad), _planes(normalised))
    return np.stack([sum_grad, sum_projection]).astype(grad.dtype)
