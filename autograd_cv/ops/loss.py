"""Losses with torch.nn.functional's names and `reduction="mean" | "sum" | "none"`.

Most losses are compositions of recorded ops (so their second derivatives come free);
`nll_loss`, the clamped log inside `binary_cross_entropy` and the logits form of binary
cross-entropy are Nodes because their forwards need care that plain ops cannot give
(a gather by class index, PyTorch's log clamp at -100, a softplus that never overflows).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.backend import array_module, is_array, to_host
from autograd_cv.ops.activation import ReLU, Sigmoid, log_softmax
from autograd_cv.ops.arguments import as_tensor, cast_like, data_of, floating, mask_like
from autograd_cv.ops.elementwise import Where
from autograd_cv.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _target_like(target: Any, input: Tensor, op: str) -> Any:
    """A real-valued target in the input's dtype (a Tensor target stays differentiable)."""
    shape = np.shape(data_of(target))
    if shape != input.shape:
        raise ValueError(
            f"{op}: target of shape {tuple(shape)} does not match input of shape {input.shape}"
        )
    return cast_like(target, input.dtype)


def _class_targets(target: Any, input_shape: tuple[int, ...], ignore_index: int, op: str):
    """Integer class indices of shape (N, d1, ...) for an (N, C, d1, ...) input, checked."""
    if len(input_shape) < 2:
        raise ValueError(
            f"{op}: expected an input of shape (N, C) or (N, C, d1, ...), got shape {input_shape}"
        )
    labels = to_host(data_of(target))  # checked on the host; callers place it
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"{op}: target must hold integer class indices, got dtype {labels.dtype} "
            f"(shape {labels.shape})"
        )
    expected = (input_shape[0], *input_shape[2:])
    if labels.shape != expected:
        raise ValueError(
            f"{op}: target of shape {labels.shape} does not fit input of shape {input_shape}; "
            f"expected target shape {expected}"
        )
    classes = input_shape[1]
    bad = ((labels < 0) | (labels >= classes)) & (labels != ignore_index)
    if bad.any():
        raise ValueError(
            f"{op}: target values must lie in [0, {classes}) for input of shape {input_shape}, "
            f"got {labels[bad].ravel()[0]}"
        )
    return labels.astype(np.int64, copy=False)


def _class_weight(weight: Any, classes: int, op: str, like: Any = None) -> np.ndarray | None:
    if weight is None:
        return None
    weight = data_of(weight)
    weight = weight if is_array(weight) else np.asarray(weight)
    # the caller's weights, on the device of the input they weigh
    weight = array_module(data_of(like)).asarray(weight) if like is not None else weight
    if weight.shape != (classes,):
        raise ValueError(
            f"{op}: weight must have shape ({classes},), one value per class, got {weight.shape}"
        )
    return weight


class NLLLoss(Node):
    """-input[n, target[n], ...], weighted, ignoring `ignore_index`, then reduced."""

    name = "nll_loss"

    def __init__(
        self, target: np.ndarray, weight: np.ndarray | None, ignore_index: int, reduction: str
    ) -> None:
        self.target, self.weight = target, weight
        self.ignore_index, self.reduction = ignore_index, reduction

    def _coefficients(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Per target: the class index to pick (0 where ignored) and its weight."""
        kept = self.target != self.ignore_index
        index = np.where(kept, self.target, 0)
        weights = kept.astype(dtype)
        if self.weight is not None:
            weights = weights * self.weight.astype(dtype)[index]
        return index, weights

    def forward(self, x):
        index, weights = self._coefficients(x.dtype)
        picked = np.take_along_axis(x, index[:, None], axis=1)[:, 0]
        losses = -picked * weights
        if self.reduction == "none":
            return losses
        if self.reduction == "sum":
            return losses.sum()
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as PyTorch
            return losses.sum() / weights.sum()

    def vjp(self, grad, out, x):
        shape, dtype = data_of(x).shape, data_of(grad).dtype
        index, weights = self._coefficients(dtype)
        if self.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                weights = weights / weights.sum()
        # The cotangent is grad times a constant: -weight at each target, 0 elsewhere.
        scatter = array_module(index).zeros(shape, dtype=dtype)
        np.put_along_axis(scatter, index[:, None], -weights[:, None], axis=1)
        if self.reduction == "none":
            grad = grad.reshape((shape[0], 1, *shape[2:]))
        return (grad * scatter,)


class ClampedLog(Node):
    """log(x) clamped below at -100, as PyTorch's binary_cross_entropy (so log 0 is finite)."""

    name = "clamped_log"

    def forward(self, x):
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(x), x.dtype.type(-100))

    def vjp(self, grad, out, x):
        active = data_of(x) > np.exp(-100.0)
        safe = Where(active)(x, 1.0)
        return (grad / safe * mask_like(active, grad),)


class BCEWithLogits(Node):
    """Elementwise max(x, 0) - x t + log(1 + exp(-|x|)): binary cross-entropy of sigmoid(x)."""

    name = "binary_cross_entropy_with_logits"

    def forward(self, x, t):
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    def vjp(self, grad, out, x, t):
        need_x, need_t = self.needs_input_grad
        grad_x = grad_t = None
        if need_x:
            probability = Sigmoid()(x)
            grad_x = grad * (probability - t)
        if need_t:
            grad_t = -grad * x
        return grad_x, grad_t


# ----- public functions -----------------------------------------------------------------
def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)**2, reduced."""
    _check_reduction(reduction, "mse_loss")
    input = as_tensor(floating(input))
    difference = input - _target_like(target, input, "mse_loss")
    return _reduce(difference * difference, reduction)


def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of integer class targets, given log-probabilities (N, C, ...).

    With reduction="mean" the sum is divided by the total weight of the counted targets
    (the number of non-ignored targets when `weight` is None), as in PyTorch.
    """
    _check_reduction(reduction, "nll_loss")
    input = as_tensor(input)
    labels = _class_targets(target, input.shape, ignore_index, "nll_loss")
    labels = array_module(input.data).asarray(labels)
    class_weight = _class_weight(weight, input.shape[1], "nll_loss", input)
    return NLLLoss(labels, class_weight, ignore_index, reduction)(input)


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of logits (N, C, ...) against integer classes (N, ...) or class
    probabilities of the input's shape (log_softmax over axis 1, then the loss)."""
    _check_reduction(reduction, "cross_entropy")
    input = as_tensor(floating(input))
    target_array = data_of(target)
    probabilities = (
        np.shape(target_array) == input.shape
        and (target_array if is_array(target_array) else np.asarray(target_array)).dtype.kind == "f"
    )
    if not probabilities:
        # Check the targets before any work, so that errors name cross_entropy.
        _class_targets(target, input.shape, ignore_index, "cross_entropy")
        return nll_loss(log_softmax(input, axis=1), target, weight, ignore_index, reduction)
    log_probabilities = log_softmax(input, axis=1)
    terms = log_probabilities * _target_like(target, input, "cross_entropy")
    if weight is not None:
        class_weight = _class_weight(weight, input.shape[1], "cross_entropy", input)
        shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
        terms = terms * class_weight.astype(input.dtype).reshape(shape)
    losses = -terms.sum(axis=1)
    return _reduce(losses, reduction)


def multi_margin_loss(
    input: Any,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: sum over i != y of max(0, margin - x[y] + x[i])**p, over C."""
    _check_reduction(reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    input = as_tensor(input)
    if input.ndim != 2:
        raise ValueError(
            f"multi_margin_loss: expected an input of shape (N, C), got shape {input.shape}"
        )
    labels = _class_targets(target, input.shape, -100, "multi_margin_loss")
    n, classes = input.shape
    # A one-hot product picks x[y] with a cheaper backward than an integer-array index.
    xp = array_module(input.data)
    one_hot = xp.zeros(input.shape, dtype=input.dtype)
    one_hot[xp.arange(n), xp.asarray(labels)] = 1
    correct = (input * one_hot).sum(axis=1, keepdims=True)
    others = 1 - one_hot
    hinge = ReLU()(float(margin) - correct + input) * others
    if p == 2:
        hinge = hinge * hinge
    losses = hinge.sum(axis=1) / classes
    if weight is not None:
        class_weight = _class_weight(weight, classes, "multi_margin_loss", input)
        losses = losses * class_weight.astype(input.dtype)[labels]
    return _reduce(losses, reduction)


def binary_cross_entropy(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """-(t log x + (1 - t) log(1 - x)) for probabilities x, logs clamped at -100 (PyTorch)."""
    _check_reduction(reduction, "binary_cross_entropy")
    input = as_tensor(input)
    target = _target_like(target, input, "binary_cross_entropy")
    values = input.data
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError(
            "binary_cross_entropy: input must hold probabilities in [0, 1], got values in "
            f"[{values.min()}, {values.max()}] (shape {input.shape}); "
            "for logits use binary_cross_entropy_with_logits"
        )
    losses = -(target * ClampedLog()(input) + (1 - target) * ClampedLog()(1 - input))
    if weight is not None:
        losses = losses * cast_like(weight, input.dtype)
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed from the logits without overflow."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input = as_tensor(floating(input))
    target = _target_like(target, input, "binary_cross_entropy_with_logits")
    losses = BCEWithLogits()(input, target)
    if weight is not None:
        losses = losses * cast_like(weight, input.dtype)
    return _reduce(losses, reduction)
