"""Normalisation and regularisation: batch_norm, local_response_norm, dropout.

batch_norm in training mode is one Node whose forward is a one-pass Numba kernel
(kernels/batch_norm.py). Its vjp is written once, from three Nodes that close under
differentiation: `Normalise` and `InvStd` (the normalised input and 1 / std as functions of
x; on ndarrays they hand back what forward saved) and `NormaliseGrad` (the closed-form
input gradient, a one-pass kernel on ndarrays). On Tensors the same vjp is recorded and
can be differentiated again, to any order.
local_response_norm is composed from recorded ops around a channel-window sum whose
adjoint is the same window sum mirrored; dropout is a product with a constant mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv import creation
from autograd_cv.autograd.node import Node
from autograd_cv.backend import array_module, kernels_for
from autograd_cv.ops.arguments import as_tensor, data_of, floating
from autograd_cv.tensor import Tensor


class BatchNorm(Node):
    """(x - batch mean) / sqrt(batch var + eps) * weight + bias, per channel (axis 1)."""

    name = "batch_norm"

    def __init__(self, eps: float) -> None:
        self.eps = eps
        self.batch_mean: np.ndarray | None = None
        self.batch_var: np.ndarray | None = None

    def forward(self, x, weight, bias):
        kernels = kernels_for(x)
        out, normalised, mean, var, inv_std = kernels.batch_norm_forward(x, weight, bias, self.eps)
        # Kept after backward (they are per-channel and small) for the running-stat update.
        self.batch_mean, self.batch_var = mean.astype(x.dtype), var.astype(x.dtype)
        self.saved = (normalised, inv_std)
        return out

    def vjp(self, grad, out, x, weight, bias):
        need_x, need_weight, need_bias = self.needs_input_grad
        axes, shape = _stat_axes(x.ndim), _channel_shape(x)
        # On ndarrays these two hand back what forward saved; on Tensors they are recorded
        # functions of x, which is what makes this vjp differentiable again.
        normalised = Normalise(self.eps, self.saved)(x)
        grad_x = grad_weight = grad_bias = None
        if need_x:
            inv_std = InvStd(self.eps, self.saved)(x)
            grad_x = NormaliseGrad(axes)(grad * weight.reshape(shape), normalised, inv_std)
        if need_weight:
            grad_weight = (grad * normalised).sum(axis=axes)
        if need_bias:
            grad_bias = grad.sum(axis=axes)
        return grad_x, grad_weight, grad_bias


class Normalise(Node):
    """(x - mean) * inv_std with the batch statistics of x, per channel (axis 1)."""

    name = "normalise"
    saves_output = True

    def __init__(self, eps: float, saved: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.eps, self.from_forward = eps, saved

    def forward(self, x):
        if self.from_forward is not None:
            return self.from_forward[0]
        axes = _stat_axes(x.ndim)
        centred = x - x.mean(axis=axes, keepdims=True)
        return centred * _inv_std(x, self.eps)

    def vjp(self, grad, out, x):
        inv_std = InvStd(self.eps, self.from_forward)(x)
        return (NormaliseGrad(_stat_axes(x.ndim))(grad, out, inv_std),)


class InvStd(Node):
    """1 / sqrt(batch var + eps) per channel, in the keepdims shape (1, C, 1, ...)."""

    name = "inv_std"
    saves_output = True

    def __init__(self, eps: float, saved: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.eps, self.from_forward = eps, saved

    def forward(self, x):
        if self.from_forward is not None:
            return self.from_forward[1].reshape(_channel_shape(x))
        return _inv_std(x, self.eps)

    def vjp(self, grad, out, x):
        # d(var + eps)^(-1/2) / dx = -inv_std^3 (x - mean) / count = -inv_std^2 normalised / count
        count = x.size // x.shape[1]
        normalised = Normalise(self.eps, self.from_forward)(x)
        return (grad * out * out * normalised * (-1.0 / count),)


class NormaliseGrad(Node):
    """inv_std * (g - mean(g) - normalised * mean(g * normalised)): the input gradient of
    `Normalise` for a cotangent g, per channel over `axes`."""

    name = "normalise_grad"

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, grad, normalised, inv_std):
        ones = array_module(grad).ones(grad.shape[1], grad.dtype)
        return kernels_for(grad).batch_norm_backward(grad, normalised, ones, inv_std.reshape(-1))[0]

    def vjp(self, cotangent, out, grad, normalised, inv_std):
        axes = self.axes
        scaled = cotangent * inv_std
        mean_scaled_n = (scaled * normalised).mean(axis=axes, keepdims=True)
        mean_grad_n = (grad * normalised).mean(axis=axes, keepdims=True)
        grad_grad = scaled - scaled.mean(axis=axes, keepdims=True) - normalised * mean_scaled_n
        grad_normalised = -(scaled * mean_grad_n + grad * mean_scaled_n)
        bracket = grad - grad.mean(axis=axes, keepdims=True) - normalised * mean_grad_n
        grad_inv_std = (cotangent * bracket).sum(axis=axes, keepdims=True)
        return grad_grad, grad_normalised, grad_inv_std


def _inv_std(x: np.ndarray, eps: float) -> np.ndarray:
    """1 / sqrt(biased batch var + eps) per channel, keepdims shape, in x's dtype."""
    var = x.var(axis=_stat_axes(x.ndim), keepdims=True)
    return (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)


class ChannelWindowSum(Node):
    """Sum over a window of `size` channels (axis 1), zero-padded by (before, after)."""

    name = "channel_window_sum"

    def __init__(self, size: int, before: int, after: int) -> None:
        self.size, self.before, self.after = size, before, after

    def forward(self, x):
        channels = x.shape[1]
        shape = (x.shape[0], channels + self.before + self.after, *x.shape[2:])
        padded = array_module(x).zeros(shape, x.dtype)
        padded[:, self.before : self.before + channels] = x
        out = padded[:, :channels].copy()
        for offset in range(1, self.size):  # a loop over window offsets, not channels
            out += padded[:, offset : offset + channels]
        return out

    def vjp(self, grad, out, x):
        # Channel c feeds the windows of c - after ... c + before: the mirrored window sum.
        adjoint = ChannelWindowSum(self.size, self.after, self.before)
        return (adjoint(grad),)


def _stat_axes(ndim: int) -> tuple[int, ...]:
    return (0, *range(2, ndim))


def _channel_shape(x: np.ndarray) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _check_channels(value: Any, channels: int, argument: str, input_shape) -> None:
    if value is not None and np.shape(data_of(value)) != (channels,):
        raise ValueError(
            f"batch_norm: {argument} must have shape ({channels},) for input of shape "
            f"{input_shape}, got {np.shape(data_of(value))}"
        )


def _update_in_place(buffer: Any, value: np.ndarray) -> None:
    """Overwrite a running statistic (a Tensor or an ndarray) without replacing its array."""
    statistic = as_tensor(buffer)  # an ndarray is wrapped, sharing its memory
    np.copyto(statistic.data, value, casting="same_kind")
    statistic.bump_version()


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
    input = as_tensor(floating(input))
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
    dtype, xp = input.dtype, array_module(input.data)
    if weight is None:
        weight = xp.ones(channels, dtype=dtype)
    if bias is None:
        bias = xp.zeros(channels, dtype=dtype)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
        mean = xp.asarray(data_of(running_mean), dtype=dtype)
        inv_std = ((xp.asarray(data_of(running_var), dtype=dtype) + eps) ** -0.5).astype(dtype)
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
            running_mean, (1 - momentum) * data_of(running_mean) + momentum * node.batch_mean
        )
    if running_var is not None:
        unbiased = node.batch_var * (count / (count - 1))
        _update_in_place(running_var, (1 - momentum) * data_of(running_var) + momentum * unbiased)
    return out


def local_response_norm(
    input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """x / (k + alpha / size * sum of x**2 over `size` neighbouring channels) ** beta.

    PyTorch's definition (AlexNet's with alpha averaged over the window): the window
    around channel c spans c - size // 2 ... c + (size - 1) // 2, zero-padded.
    """
    input = as_tensor(input)
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
    input = as_tensor(input)
    if not training or p == 0:
        return input
    rng = generator if generator is not None else creation.generator()
    # Drawn on the host from the package's generator, so a seed gives the same mask anywhere.
    keep = rng.random(input.shape, dtype=np.float32) >= p
    scale = array_module(input.data).asarray((keep.astype(input.dtype) / (1 - p)), input.dtype)
    return input * scale
