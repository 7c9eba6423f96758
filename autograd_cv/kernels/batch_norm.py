"""Batch normalisation in training mode on raw (N, C, L) ndarrays, one pass per step.

NumPy's version of the same formulas reduces over the non-contiguous axes (0, 2, 3) and
allocates a full-size temporary per operation (about ten per forward and backward); these
kernels walk each (n, c) plane contiguously, accumulate per-channel sums in float64, and
write each full-size result once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from autograd_cv.kernels._split import over_pass

__all__ = ["batch_norm_forward", "batch_norm_backward", "channel_sums"]


# The reductions may reassociate their sums (fastmath "reassoc" only: no other IEEE rule is
# relaxed, so NaN and infinity propagate as before): LLVM then vectorises them, 3-7x faster
# on AlexNetSmall's shapes, with float64 sums that differ only in their last bits.


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _channel_sums_of(x, shift):  # pragma: no cover - compiled
    # Per channel: the sum of x - shift[c] and of its square, over the batch and plane.
    batch, channels, plane = x.shape
    sums = np.zeros(channels)
    squares = np.zeros(channels)
    for n in range(batch):
        for c in range(channels):
            m = shift[c]
            total = 0.0
            square = 0.0
            for k in range(plane):
                d = x[n, c, k] - m
                total += d
                square += d * d
            sums[c] += total
            squares[c] += square
    return sums, squares


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


@njit(cache=True, nogil=True, fastmath={"reassoc"})
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


def _over_batch(run, planes: np.ndarray) -> list:
    """``run(low, high)`` over parts of the batch, split across the kernels' threads if big."""
    return over_pass(run, planes.shape[0], planes.size)


def _added(parts: list) -> tuple:
    """The parts' per-channel sums (tuples of arrays), added."""
    return tuple(sum(values[1:], values[0].copy()) for values in zip(*parts))


def batch_norm_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalise ``x`` (N, C, ...) by its batch statistics per channel, then scale and shift.

    Returns ``(out, normalised, mean, var, inv_std)``: ``mean`` and the biased ``var`` are
    float64 per channel, ``inv_std`` is in ``x``'s dtype.
    """
    planes = _planes(x)
    count = planes.shape[0] * planes.shape[2]
    # Two passes, the second about the first's mean, with the corrected two-pass formula:
    # no cancellation when the mean is large against the spread, unlike E[x^2] - E[x]^2.
    zero = np.zeros(planes.shape[1])
    (sums, _) = _added(_over_batch(lambda lo, hi: _channel_sums_of(planes[lo:hi], zero), planes))
    mean = sums / max(count, 1)
    deviations, squares = _added(
        _over_batch(lambda lo, hi: _channel_sums_of(planes[lo:hi], mean), planes)
    )
    var = (squares - deviations * deviations / max(count, 1)) / max(count, 1)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    normalised = np.empty(planes.shape, x.dtype)
    out = np.empty(planes.shape, x.dtype)
    weight, bias = weight.astype(x.dtype, copy=False), bias.astype(x.dtype, copy=False)

    def normalise(lo: int, hi: int) -> None:
        _normalise(planes[lo:hi], mean, inv_std, weight, bias, normalised[lo:hi], out[lo:hi])

    _over_batch(normalise, planes)
    return out.reshape(x.shape), normalised.reshape(x.shape), mean, var, inv_std


def _grad_sums_split(grad_planes: np.ndarray, normalised_planes: np.ndarray) -> tuple:
    def part(lo: int, hi: int) -> tuple:
        return _grad_sums(grad_planes[lo:hi], normalised_planes[lo:hi])

    return _added(_over_batch(part, grad_planes))


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
        sum_grad, sum_projection = _grad_sums_split(grad_planes, normalised_planes)
    else:
        sum_grad, sum_projection = sums[0].astype(np.float64), sums[1].astype(np.float64)
    count = grad_planes.shape[0] * grad_planes.shape[2]
    dtype = grad.dtype
    grad_input = np.empty(grad_planes.shape, dtype)
    scale = (weight * inv_std).astype(dtype)
    mean_grad = (sum_grad / count).astype(dtype)
    mean_projection = (sum_projection / count).astype(dtype)

    def input_grad(lo: int, hi: int) -> None:
        _input_grad(grad_planes[lo:hi], normalised_planes[lo:hi], scale, mean_grad,
                    mean_projection, grad_input[lo:hi])  # fmt: skip

    _over_batch(input_grad, grad_planes)
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
    sum_grad, sum_projection = _grad_sums_split(_planes(grad), _planes(normalised))
    return np.stack([sum_grad, sum_projection]).astype(grad.dtype)
