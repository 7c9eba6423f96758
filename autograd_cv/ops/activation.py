"""Activations: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, logsumexp, gelu,
silu, elu, softplus, logsigmoid, hardtanh, relu6.

Every vjp is written with operators and Node calls that mean the same on ndarrays and on
Tensors, so a second derivative through an activation is recorded like any other op. Masks (where a
relu was active) are constants taken from the raw values. Forwards are written so that no
input overflows, even |x| = 1e4 in float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.backend import kernels_for
from autograd_cv.kernels import activation as activation_kernels
from autograd_cv.ops.arguments import (
    apply,
    axis_and_keep,
    check_nonempty,
    data_of,
    floating,
    kept_shape,
    mask_like,
    normalize_axis,
    pick,
)
from autograd_cv.ops.elementwise import Exp, Where
from autograd_cv.ops.math import Erf
from autograd_cv.tensor import Tensor


class ReLU(Node):
    name = "relu"
    saves_output = True

    def forward(self, x):
        if type(x) is np.ndarray:
            return activation_kernels.relu(x)  # split across threads when big
        return np.maximum(x, 0).astype(x.dtype, copy=False)  # another device's arrays

    def vjp(self, grad, out, x):
        # PyTorch's convention: the gradient at exactly 0 is 0.
        return (ReLUGrad(data_of(out))(grad),)


class ReLUGrad(Node):
    """The cotangent where relu's (constant) output is positive, else 0: relu's vjp."""

    name = "relu_grad"
    saves_inputs = False

    def __init__(self, relu_output: np.ndarray) -> None:
        self.relu_output = relu_output

    def forward(self, grad):
        return kernels_for(grad).relu_backward(grad, self.relu_output)

    def vjp(self, cotangent, out, grad):
        # Linear in grad with a constant mask, so its own vjp is the same mask.
        return (ReLUGrad(self.relu_output)(cotangent),)


class LeakyReLU(Node):
    name = "leaky_relu"

    def __init__(self, negative_slope: float) -> None:
        self.negative_slope = negative_slope

    def forward(self, x):
        return np.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def vjp(self, grad, out, x):
        positive = data_of(x) > 0
        slope = np.where(positive, 1.0, self.negative_slope).astype(data_of(grad).dtype)
        return (grad * slope,)


class Sigmoid(Node):
    name = "sigmoid"
    saves_output = True

    def forward(self, x):
        # exp of a non-positive number never overflows; both branches give the same value.
        e = np.exp(-np.abs(x))
        one = x.dtype.type(1)
        return np.where(x >= 0, one / (one + e), e / (one + e))

    def vjp(self, grad, out, x):
        return (grad * out * (1 - out),)


class Tanh(Node):
    name = "tanh"
    saves_output = True

    def forward(self, x):
        return np.tanh(x)

    def vjp(self, grad, out, x):
        return (grad * (1 - out * out),)


class Softmax(Node):
    name = "softmax"
    saves_output = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        shifted = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return shifted / shifted.sum(axis=self.axis, keepdims=True)

    def vjp(self, grad, out, x):
        weighted = grad * out
        return (weighted - out * weighted.sum(axis=self.axis, keepdims=True),)


class LogSoftmax(Node):
    name = "log_softmax"
    saves_output = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        # Shift first: x - max is exact near the top, so float32 keeps its digits there.
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def vjp(self, grad, out, x):
        return (grad - Exp()(out) * grad.sum(axis=self.axis, keepdims=True),)


class LogSumExp(Node):
    name = "logsumexp"

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return _logsumexp(x, self.axes, self.keepdims)

    def vjp(self, grad, out, x):
        kept = kept_shape(data_of(x).shape, self.axes)
        # Recomputed from x rather than saved, so that on Tensors it is differentiable in x.
        total = LogSumExp(self.axes, True)(x)
        return (grad.reshape(kept) * Exp()(x - total),)


# ----- more activations (issue 14) -------------------------------------------------------
class GELU(Node):
    """x Phi(x) (exact, through erf) or PyTorch's tanh approximation."""

    name = "gelu"

    def __init__(self, approximate: str) -> None:
        self.approximate = approximate

    def forward(self, x):
        if self.approximate == "tanh":
            inner = _GELU_C * (x + 0.044715 * x * x * x)
            return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
        cdf = 0.5 * (1 + kernels_for(x).erf(x * (1 / math.sqrt(2.0))))
        return (x * cdf).astype(x.dtype, copy=False)

    def vjp(self, grad, out, x):
        if self.approximate == "tanh":
            t = Tanh()(_GELU_C * (x + 0.044715 * x * x * x))
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)
            return (grad * slope,)
        cdf = 0.5 * (1 + Erf()(x * (1 / math.sqrt(2.0))))
        density = Exp()(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))
        return (grad * (cdf + x * density),)


_GELU_C = math.sqrt(2.0 / math.pi)


class SiLU(Node):
    """x sigmoid(x) (the swish)."""

    name = "silu"

    def forward(self, x):
        return x * Sigmoid().forward(x)

    def vjp(self, grad, out, x):
        s = Sigmoid()(x)
        return (grad * (s + x * s * (1 - s)),)


class ELU(Node):
    """x for x > 0, alpha (exp(x) - 1) otherwise."""

    name = "elu"

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def forward(self, x):
        negative = self.alpha * np.expm1(np.minimum(x, 0))
        return np.where(x > 0, x, negative).astype(x.dtype, copy=False)

    def vjp(self, grad, out, x):
        positive = data_of(x) > 0
        # exp of min(x, 0) only, so the unused branch never overflows
        slope = Where(positive)(1.0, Exp()(Where(positive)(0.0, x)) * self.alpha)
        return (grad * slope,)


class Softplus(Node):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold (as PyTorch)."""

    name = "softplus"

    def __init__(self, beta: float, threshold: float) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        scaled = x * x.dtype.type(self.beta)
        smooth = (np.maximum(scaled, 0) + np.log1p(np.exp(-np.abs(scaled)))) / self.beta
        return np.where(scaled > self.threshold, x, smooth).astype(x.dtype, copy=False)

    def vjp(self, grad, out, x):
        linear = data_of(x) * self.beta > self.threshold
        return (grad * Where(linear)(1.0, Sigmoid()(x * self.beta)),)


class LogSigmoid(Node):
    """log(sigmoid(x)) = -softplus(-x), without overflow."""

    name = "logsigmoid"

    def forward(self, x):
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    def vjp(self, grad, out, x):
        return (grad * Sigmoid()(-x),)


class Hardtanh(Node):
    """x limited to [min_val, max_val]; the gradient passes strictly inside (PyTorch's)."""

    name = "hardtanh"

    def __init__(self, min_val: float, max_val: float, name: str = "hardtanh") -> None:
        self.min_val, self.max_val = min_val, max_val
        self.name = name  # type: ignore[misc]

    def forward(self, x):
        return np.clip(x, self.min_val, self.max_val).astype(x.dtype, copy=False)

    def vjp(self, grad, out, x):
        x_raw = data_of(x)
        inside = (x_raw > self.min_val) & (x_raw < self.max_val)
        return (grad * mask_like(inside, grad),)


def _logsumexp(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """log(sum(exp(x))) over `axes`, shifted by the maximum so nothing overflows."""
    check_nonempty("logsumexp", x, axes)
    peak = x.max(axis=axes, keepdims=True)
    # An all -inf slice would give nan from -inf - -inf; shifting by 0 there gives -inf.
    peak = np.where(np.isfinite(peak), peak, 0).astype(x.dtype, copy=False)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer there
        result = np.log(np.exp(x - peak).sum(axis=axes, keepdims=True)) + peak
    return result if keepdims else np.squeeze(result, axis=axes)


def _axis(axis: int, ndim: int, op: str) -> int | tuple[()]:
    """One axis as a non-negative int; () for a 0-d input (its axis 0 / -1 is itself)."""
    axes = normalize_axis(axis, ndim, op)
    return axes[0] if axes else ()


# ----- public functions -----------------------------------------------------------------
def relu(input: Any) -> Tensor:
    """max(x, 0) elementwise."""
    return apply(ReLU(), input)


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return apply(LeakyReLU(float(negative_slope)), input)


def sigmoid(input: Any) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow for any x."""
    return apply(Sigmoid(), floating(input))


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent."""
    return apply(Tanh(), floating(input))


def softmax(input: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis` or `dim` (default -1), shifted so it never overflows."""
    input = floating(input)
    axis = pick("softmax", "axis", axis, "dim", dim)
    axis = _axis(-1 if axis is None else axis, np.ndim(data_of(input)), "softmax")
    _check_classes(input, axis, "softmax")
    return apply(Softmax(axis), input)


def log_softmax(input: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """x - logsumexp(x) along `axis` or `dim` (default -1)."""
    input = floating(input)
    axis = pick("log_softmax", "axis", axis, "dim", dim)
    axis = _axis(-1 if axis is None else axis, np.ndim(data_of(input)), "log_softmax")
    _check_classes(input, axis, "log_softmax")
    return apply(LogSoftmax(axis), input)


def _check_classes(input: Any, axis: int, op: str) -> None:
    shape = np.shape(data_of(input))
    if shape and shape[axis] == 0:
        raise ValueError(f"{op}: axis {axis} of the input (shape {shape}) has no classes")


def logsumexp(
    input: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Tensor:
    """log(sum(exp(x))) over `axis`/`dim` (int, tuple or None for all), stable for large x."""
    input = floating(input)
    axis, keepdims = axis_and_keep("logsumexp", axis, keepdims, dim, keepdim)
    return apply(
        LogSumExp(normalize_axis(axis, np.ndim(data_of(input)), "logsumexp"), keepdims), input
    )


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal CDF; approximate="tanh" is PyTorch's tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(GELU(approximate), input)


def silu(input: Any) -> Tensor:
    """x sigmoid(x)."""
    return apply(SiLU(), input)


def elu(input: Any, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise."""
    return apply(ELU(float(alpha)), input)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta; x itself where beta x > threshold."""
    if beta <= 0:
        raise ValueError(f"softplus: beta must be positive, got {beta}")
    return apply(Softplus(float(beta), float(threshold)), input)


def logsigmoid(input: Any) -> Tensor:
    """log(sigmoid(x)), stable for any x."""
    return apply(LogSigmoid(), input)


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x limited to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} is above max_val {max_val}")
    return apply(Hardtanh(float(min_val), float(max_val)), input)


def relu6(input: Any) -> Tensor:
    """min(max(x, 0), 6)."""
    return apply(Hardtanh(0.0, 6.0, name="relu6"), input)
