"""Normalisation and regularisation: batch_norm, local_response_norm, dropout.

batch_norm in training mode is one Node with the closed-form vjp: on ndarrays forward and
vjp are one-pass Numba kernels (kernels/norm.py) and the vjp reuses the normalised input
saved by forward; on Tensors the vjp recomputes the batch statistics with recorded ops, so
the same formula is differentiable again.
local_response_norm is composed from recorded ops around a channel-window sum whose
adjoint is the same window sum mirrored; dropout is a product with a constant mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv import creation, kernels
from autograd_cv.autograd.node import Node
from autograd_cv.ops.elementwise import raw
from autograd_cv.tensor import Tensor


class BatchNorm(Node):
    """(x - batch mean) / sqrt(batch var + eps) * weight + bias, per channel (axis 1)."""

    name = "batch_norm"

    def __init__(self, eps: float) -> None:
        self.eps = eps
        self.batch_mean: np.ndarray | None = None
        self.batch_var: np.ndarray | None = None

    def forward(self, x, weight, bias):
        out, normalised, mean, var, inv_std = kernels.batch_norm_forward(x, weight, bias, self.eps)
        # Kept after backward (they are per-channel and small) for the running-stat update.
        self.batch_mean, self.batch_var = mean.astype(x.dtype), var.astype(x.dtype)
        self.saved = (normalised, inv_std)
        return out

    def vjp(self, grad, out, x, weight, bias):
        need_x, need_weight, need_bias = self.needs_input_grad
        if not isinstance(grad, Tensor):
            normalised, inv_std = self.saved
            grad_x, grad_weight, grad_bias = kernels.batch_norm_backward(
                grad, normalised, weight, inv_std
            )
            return (grad_x if need_x else None, grad_weight if need_weight else None,
                    grad_bias if need_bias else None)  # fmt: skip
        # Recorded recomputation of the statistics: this is what makes the vjp
        # differentiable in x as well as in grad and weight.
        axes, shape = _stat_axes(x.ndim), _channel_shape(x)
        centred = x - x.mean(axis=axes, keepdims=True)
        inv_std = ((centred * centred).mean(axis=axes, keepdims=True) + self.eps) ** -0.5
        normalised = centred * inv_std
        grad_x = grad_weight = grad_bias = None
        if need_bias:
            grad_bias = grad.sum(axis=axes)
        if need_weight:
            grad_weight = (grad * normalised).sum(axis=axes)
        if need_x:
            grad_normalised = grad * weight.reshape(shape)
            projection = (grad_normalised * normalised).mean(axis=axes, keepdims=True)
            grad_x = (
                grad_normalised
                - grad_normalised.mean(axis=axes, keepdims=True)
                - normalised * projection
            ) * inv_std
        return grad_x, grad_weight, grad_bias


class ChannelWindowSum(Node):
    """Sum over a window of `size` channels (axis 1), zero-padded by (before, after)."""

    name = "channel_window_sum"

    def __init__(self, size: int, before: int, after: int) -> None:
        self.size, self.before, self.after = size, before, after

    def forward(self, x):
        channels = x.shape[1]
        padded = np.zeros((x.shape[0], channels + self.before + self.after, *x.shape[2:]), x.dtype)
        padded[:, self.before : self.before + channels] = x
        out = padded[:, :channels].copy()
        for offset in range(1, self.size):  # a loop over window offsets, not channels
            out += padded[:, offset : offset + channels]
        return out

    def vjp(self, grad, out, x):
        # Channel c feeds the windows of c - after ... c + before: the mirrored window sum.
        adjoint = ChannelWindowSum(self.size, self.after, self.before)
        return (adjoint(grad) if isinstance(grad, Tensor) else adjoint.forward(grad),)


def _stat_axes(ndim: int) -> tuple[int, ...]:
    return (0, *range(2, ndim))


def _channel_shape(x: np.ndarray) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _check_channels(value: Any, channels: int, argument: str, input_shape) -> None:
    if value is not None and np.shape(raw(value)) != (channels,):
        raise ValueError(
            f"batch_norm: {argument} must have shape ({channels},) for input of shape "
            f"{input_shape}, got {np.shape(raw(value))}"
        )


def _update_in_place(buffer: Any, value: np.ndarray) -> None:
    """Overwrite a running statistic (a Tensor or an ndarray) without replacing its array."""
    if isinstance(buffer, Tensor):
        np.copyto(buffer.data, value, casting="same_kind")
        buffer.bump_version()
    else:
        np.copyto(buffer, value, casting="same_kind")


# ----- public functions -----------------------------------------------------------------
def batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over axis 1 of an (N, C) or (N, C, H, W) input.

    In training the batch's (biased) statistics normalise the input and the running
    statistics are updated in place with the unbiased variance, as PyTorch does; in
    evaluation the running statistics normalise.
    """
    input = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if input.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an (N, C) or (N, C, H, W) input, got shape {input.shape}"
        )
    channels = input.shape[1]
    for value, argument in (
        (running_mean, "running_mean"),
        (running_var, "running_var"),
        (weight, "weight"),
        (bias, "bias"),
    ):
        _check_channels(value, channels, argument, input.shape)
    shape = _channel_shape(input.data)
    dtype = input.dtype
    if weight is None:
        weight = np.ones(channels, dtype=dtype)
    if bias is None:
        bias = np.zeros(channels, dtype=dtype)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
        mean = np.asarray(raw(running_mean), dtype=dtype)
        inv_std = ((np.asarray(raw(running_var), dtype=dtype) + eps) ** -0.5).astype(dtype)
        # (x - mean) * inv_std * weight + bias, as one scale and one shift of x.
        scale = weight * inv_std
        shift = bias - scale * mean
        return input * scale.reshape(shape) + shift.reshape(shape)
    count = input.size // channels
    if count < 2:
        raise ValueError(
            f"batch_norm: training needs more than one value per channel, got input of shape "
            f"{input.shape}"
        )
    node = BatchNorm(float(eps))
    out = node(input, weight, bias)
    if running_mean is not None:
        _update_in_place(
            running_mean, (1 - momentum) * raw(running_mean) + momentum * node.batch_mean
        )
    if running_var is not None:
        unbiased = node.batch_var * (count / (count - 1))
        _update_in_place(running_var, (1 - momentum) * raw(running_var) + momentum * unbiased)
    return out


def local_response_norm(
    input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """x / (k + alpha / size * sum of x**2 over `size` neighbouring channels) ** beta.

    PyTorch's definition (AlexNet's with alpha averaged over the window): the window
    around channel c spans c - size // 2 ... c + (size - 1) // 2, zero-padded.
    """
    input = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if input.ndim < 3:
        raise ValueError(
            "local_response_norm: expected an input of 3 or more dimensions (N, C, ...), "
            f"got shape {input.shape}"
        )
    if int(size) != size or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive integer, got {size}")
    size = int(size)
    window = ChannelWindowSum(size, size // 2, (size - 1) // 2)(input * input)
    return input / (window * (alpha / size) + k) ** beta


def dropout(
    input: Any,
    p: float = 0.5,
    training: bool = True,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Inverted dropout: zero each value with probability p, scale the rest by 1 / (1 - p).

    The mask comes from `generator`, or from the package's generator (seeded by
    `ag.manual_seed`), so runs are reproducible. Identity when not training or p = 0.
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must lie in [0, 1), got {p}")
    input = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    if not training or p == 0:
        return input
    rng = generator if generator is not None else creation.generator()
    keep = rng.random(input.shape, dtype=np.float32) >= p
    return input * (keep.astype(input.dtype) / (1 - p)).astype(input.dtype, copy=False)
