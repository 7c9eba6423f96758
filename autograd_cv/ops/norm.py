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
from autograd_cv.ops.arguments import as_plain, as_tensor, data_of, floating
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
        grad_x = grad_weight = grad_bias = sums = None
        if need_weight or need_bias:
            sums = ChannelSums()(grad, normalised)  # one pass for both
            grad_bias, grad_weight = sums[0], sums[1]
        if need_x:
            # The weight is constant per channel, so it folds into the per-channel scale:
            # no full-size grad * weight pass. The sums are the ones NormaliseGrad's kernel
            # would compute from the same values; handing them over saves it a pass.
            scale = InvStd(self.eps, self.saved)(x) * weight.reshape(shape)
            known = None if sums is None else data_of(sums)
            grad_x = NormaliseGrad(axes, known)(grad, normalised, scale)
        return grad_x, grad_weight if need_weight else None, grad_bias if need_bias else None


class ChannelSums(Node):
    """Per-channel sums of g and of g * normalised, stacked as (2, C): batch norm's bias and
    weight gradients for a cotangent g."""

    name = "channel_sums"

    def forward(self, grad, normalised):
        return kernels_for(grad).channel_sums(grad, normalised)

    def vjp(self, cotangent, out, grad, normalised):
        shape = _channel_shape(grad)
        per_grad, per_projection = cotangent[0].reshape(shape), cotangent[1].reshape(shape)
        return per_grad + per_projection * normalised, per_projection * grad


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

    def __init__(self, axes: tuple[int, ...], sums: np.ndarray | None = None) -> None:
        # sums: ChannelSums of this node's grad and normalised, when already computed
        self.axes, self.sums = axes, sums

    def forward(self, grad, normalised, inv_std):
        ones = array_module(grad).ones(grad.shape[1], grad.dtype)
        scale = inv_std.reshape(-1)
        return kernels_for(grad).batch_norm_backward(grad, normalised, ones, scale, self.sums)[0]

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


# ----- layer, group and instance norm (issue 14) ----------------------------------------
# Composed from recorded reductions, so their second derivatives come free.
def _standardise(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    """(x - mean) / sqrt(biased var + eps) over `axes`."""
    centred = x - x.mean(axis=axes, keepdims=True)
    variance = (centred * centred).mean(axis=axes, keepdims=True)
    return centred / (variance + eps) ** 0.5


def _affine(out: Tensor, weight: Any, bias: Any, shape: tuple[int, ...]) -> Tensor:
    if weight is not None:
        out = out * as_tensor(weight, out.dtype).reshape(shape)
    if bias is not None:
        out = out + as_tensor(bias, out.dtype).reshape(shape)
    return out


def layer_norm(
    input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    """Normalise over the last len(normalized_shape) axes, then scale and shift elementwise."""
    input = as_tensor(input)
    shape = (
        (int(normalized_shape),)
        if np.ndim(normalized_shape) == 0
        else tuple(int(n) for n in normalized_shape)
    )
    if input.shape[input.ndim - len(shape) :] != shape or len(shape) > input.ndim:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} does not match the last axes of input of "
            f"shape {input.shape}"
        )
    for value, argument in ((weight, "weight"), (bias, "bias")):
        if value is not None and np.shape(data_of(value)) != shape:
            raise ValueError(
                f"layer_norm: {argument} must have shape {shape}, got {np.shape(data_of(value))}"
            )
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    return _affine(_standardise(input, axes, eps), weight, bias, shape)


def group_norm(
    input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    """Normalise each of num_groups channel groups of an (N, C, ...) input, then scale and
    shift per channel."""
    input = as_tensor(input)
    if input.ndim < 2 or num_groups < 1 or input.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: input of shape {input.shape} needs (N, C, ...) with C divisible by "
            f"num_groups={num_groups}"
        )
    channels = input.shape[1]
    for value, argument in ((weight, "weight"), (bias, "bias")):
        if value is not None and np.shape(data_of(value)) != (channels,):
            raise ValueError(
                f"group_norm: {argument} must have shape ({channels},), got "
                f"{np.shape(data_of(value))}"
            )
    grouped = input.reshape(input.shape[0], num_groups, -1)
    out = _standardise(grouped, (2,), eps).reshape(input.shape)
    return _affine(out, weight, bias, (1, channels) + (1,) * (input.ndim - 2))


def instance_norm(
    input: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample of an (N, C, ...) input over its spatial axes.

    With running statistics and use_input_stats, they are updated in place (mean over the
    batch of each instance's mean and unbiased variance, as PyTorch); without
    use_input_stats they normalise instead.
    """
    input = as_tensor(input)
    if input.ndim < 3:
        raise ValueError(
            f"instance_norm: expected an (N, C, L) or (N, C, H, W) input, got shape {input.shape}"
        )
    channels = input.shape[1]
    for value, argument in ((running_mean, "running_mean"), (running_var, "running_var"),
                            (weight, "weight"), (bias, "bias")):  # fmt: skip
        if value is not None and np.shape(data_of(value)) != (channels,):
            raise ValueError(
                f"instance_norm: {argument} must have shape ({channels},) for input of shape "
                f"{input.shape}, got {np.shape(data_of(value))}"
            )
    axes = tuple(range(2, input.ndim))
    shape = (1, channels) + (1,) * (input.ndim - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running statistics")
        mean = as_plain(data_of(running_mean), input.dtype).reshape(shape)
        var = as_plain(data_of(running_var), input.dtype).reshape(shape)
        return _affine((input - mean) / np.sqrt(var + eps), weight, bias, shape)
    count = int(np.prod(input.shape[2:]))
    if count < 2:
        raise ValueError(
            f"instance_norm: needs more than one spatial value per channel, got {input.shape}"
        )
    if running_mean is not None or running_var is not None:
        values = input.data
        means = values.mean(axis=axes)
        if running_mean is not None:
            update = (1 - momentum) * data_of(running_mean) + momentum * means.mean(axis=0)
            _update_in_place(running_mean, update)
        if running_var is not None:
            unbiased = values.var(axis=axes, ddof=1).mean(axis=0)
            _update_in_place(
                running_var, (1 - momentum) * data_of(running_var) + momentum * unbiased
            )
    return _affine(_standardise(input, axes, eps), weight, bias, shape)
