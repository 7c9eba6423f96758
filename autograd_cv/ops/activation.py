"""Activations: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, logsumexp.

Every vjp is written with operators and Node calls that mean the same on ndarrays and on
Tensors, so a second derivative through an activation is recorded like any other op. Masks (where a
relu was active) are constants taken from the raw values. Forwards are written so that no
input overflows, even |x| = 1e4 in float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.kernels import activation as kernels
from autograd_cv.ops.arguments import apply, data_of, kept_shape, normalize_axis
from autograd_cv.ops.elementwise import Exp
from autograd_cv.tensor import Tensor


class ReLU(Node):
    name = "relu"
    saves_output = True

    def forward(self, x):
        return np.maximum(x, 0).astype(x.dtype, copy=False)

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
        return kernels.relu_backward(grad, self.relu_output)

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


def _logsumexp(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """log(sum(exp(x))) over `axes`, shifted by the maximum so nothing overflows."""
    if x.size == 0:
        raise ValueError(f"logsumexp: cannot reduce an empty array of shape {x.shape}")
    peak = x.max(axis=axes, keepdims=True)
    # An all -inf slice would give nan from -inf - -inf; shifting by 0 there gives -inf.
    peak = np.where(np.isfinite(peak), peak, 0).astype(x.dtype, copy=False)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer there
        result = np.log(np.exp(x - peak).sum(axis=axes, keepdims=True)) + peak
    return result if keepdims else np.squeeze(result, axis=axes)


def _axis(axis: int, ndim: int, op: str) -> int:
    return normalize_axis(axis, ndim, op)[0]


# ----- public functions -----------------------------------------------------------------
def relu(input: Any) -> Tensor:
    """max(x, 0) elementwise."""
    return apply(ReLU(), input)


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return apply(LeakyReLU(float(negative_slope)), input)


def sigmoid(input: Any) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow for any x."""
    return apply(Sigmoid(), input)


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent."""
    return apply(Tanh(), input)


def softmax(input: Any, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis` (shifted by the maximum, so it never overflows)."""
    return apply(Softmax(_axis(axis, np.ndim(data_of(input)), "softmax")), input)


def log_softmax(input: Any, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`."""
    return apply(LogSoftmax(_axis(axis, np.ndim(data_of(input)), "log_softmax")), input)


def logsumexp(input: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over `axis` (int, tuple or None for all), stable for large x."""
    return apply(
        LogSumExp(normalize_axis(axis, np.ndim(data_of(input)), "logsumexp"), keepdims), input
    )
