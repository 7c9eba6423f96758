"""Losses with torch.nn.functional's names and `reduction="mean" | "sum" | "none"`.

Most losses are compositions of recorded ops (so their second derivatives come free);
`nll_loss`, `binary_cross_entropy` and its logits form are Nodes because their forwards
need care that plain ops cannot give (a gather by class index, PyTorch's log clamp at -100
with its clamped gradient, a softplus that never overflows). `cross_entropy` with class
targets is one Node too, for speed: every training step of a classifier ends in it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.backend import array_module, is_array, to_host
from autograd_cv.kernels import loss as loss_kernels
from autograd_cv.ops.activation import ReLU, Sigmoid, Softmax, Softplus, _check_classes, log_softmax
from autograd_cv.ops.arguments import (
    as_plain,
    as_tensor,
    cast_like,
    constant_like,
    data_of,
    floating,
    on_device_of,
)
from autograd_cv.ops.distance import pairwise_distance
from autograd_cv.ops.elementwise import Log, Where
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
    if labels.size and 0 <= labels.min() and labels.max() < classes:
        return labels.astype(np.int64, copy=False)  # all in range: two reductions, not four
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
        self._kept: tuple | None = None  # (dtype, index, weights) of the last _coefficients
        self._kernel_weight: np.ndarray | None = None

    def _coefficients(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Per target: the class index to pick (0 where ignored) and its weight."""
        if self._kept is not None and self._kept[0] == dtype:
            return self._kept[1], self._kept[2]
        kept = self.target != self.ignore_index
        index = np.where(kept, self.target, 0)
        weights = kept.astype(dtype)
        if self.weight is not None:
            weights = weights * self.weight.astype(dtype)[index]
        self._kept = (dtype, index, weights)
        return index, weights

    def _class_weight(self, dtype: np.dtype) -> np.ndarray:
        """The class weights in `dtype` for the kernels, empty for none (kept per dtype)."""
        kept = self._kernel_weight
        if kept is None or kept.dtype != dtype:
            kept = self._kernel_weight = (
                np.empty(0, dtype) if self.weight is None else self.weight.astype(dtype)
            )
        return kept

    def forward(self, x):
        index, weights = self._coefficients(x.dtype)
        return self._reduced(-_pick(x, index) * weights, weights)

    def _reduced(self, losses: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if self.reduction == "none":
            return losses
        if self.reduction == "sum":
            return losses.sum()
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as PyTorch
            return losses.sum() / weights.sum()

    def _scaled_weights(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """The class index per target and the weight its loss term has in the reduction."""
        index, weights = self._coefficients(dtype)
        if self.reduction == "mean":
            # All targets ignored: the loss is nan (0 / 0) but the gradient is 0, as PyTorch,
            # so one empty batch cannot poison the parameters.
            # Branch-free: `if total != 0` would wait for a GPU to finish everything queued.
            total = weights.sum()
            counted = total != 0
            weights = np.where(counted, weights / np.where(counted, total, 1), weights * 0)
        return index, weights

    def vjp(self, grad, out, x):
        shape = data_of(x).shape
        index, weights = self._scaled_weights(data_of(grad).dtype)
        # The cotangent is grad times a constant: -weight at each target, 0 elsewhere.
        scatter = _one_hot(shape, index, -weights, weights.dtype)
        if self.reduction == "none":
            grad = grad.reshape((shape[0], 1, *shape[2:]))
        return (grad * scatter,)


class CrossEntropy(NLLLoss):
    """nll_loss of log_softmax over the class axis, as one node: one pass each way.

    The gradient is weight * (softmax(x) - one_hot(target)), from the exponentials the
    forward kept; under create_graph it is built from recorded ops, so it differentiates again.
    """

    name = "cross_entropy"

    def forward(self, x):
        if _on_host_rows(x):  # (N, C) on the CPU: one Numba pass (kernels.loss)
            losses, probabilities, loss_sum, weight_sum = loss_kernels.cross_entropy_forward(
                x, self.target, self.ignore_index, self._class_weight(x.dtype)
            )
            self.saved = (probabilities, None)
            self._weight_sum = weight_sum
            if self.reduction == "none":
                return losses
            if self.reduction == "sum":
                return np.asarray(loss_sum, x.dtype)
            # all targets ignored: nan (0 / 0), as PyTorch
            return np.asarray(loss_sum / weight_sum if weight_sum else math.nan, x.dtype)
        index, weights = self._coefficients(x.dtype)
        # Shift first: x - max is exact near the top, so float32 keeps its digits there.
        shifted = x - x.max(axis=1, keepdims=True)
        exponentials = np.exp(shifted)
        totals = exponentials.sum(axis=1, keepdims=True)
        self.saved = (exponentials, totals)
        # -log_softmax(x)[target] = log(sum exp(shifted)) - shifted[target]
        return self._reduced((np.log(totals[:, 0]) - _pick(shifted, index)) * weights, weights)

    def vjp(self, grad, out, x):
        exponentials, totals = self.saved
        if totals is None and type(grad) is not Tensor:  # the kernel's softmax
            if self.reduction == "mean":  # all targets ignored: a zero gradient, as PyTorch
                factor = 1.0 / self._weight_sum if self._weight_sum else 0.0
            else:
                factor = 1.0
            return (loss_kernels.cross_entropy_backward(
                exponentials, self.target, self.ignore_index,
                self._class_weight(exponentials.dtype), grad.reshape(-1), factor),)  # fmt: skip
        shape = data_of(x).shape
        index, weights = self._scaled_weights(data_of(grad).dtype)
        per_row = (shape[0], 1, *shape[2:])
        if self.reduction == "none":
            scale = grad.reshape(per_row) * weights.reshape(per_row)
        else:
            scale = grad * weights.reshape(per_row)
        if type(grad) is Tensor:  # create_graph: recorded, so it can be differentiated again
            return ((Softmax(1)(x) - _one_hot(shape, index, 1, weights.dtype)) * scale,)
        gradient = exponentials / totals
        if len(shape) == 2:
            gradient[array_module(index).arange(shape[0]), index] -= 1
        else:
            at_target = index[:, None]
            np.put_along_axis(
                gradient, at_target, np.take_along_axis(gradient, at_target, axis=1) - 1, axis=1
            )
        gradient *= scale
        return (gradient,)


def _on_host_rows(x: Any) -> bool:
    """Whether x is (N, C) floating logits in a NumPy array (the cross-entropy kernel's)."""
    return type(x) is np.ndarray and x.ndim == 2 and x.dtype in (np.float32, np.float64)


def _pick(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """x[n, index[n], ...]: each target's entry along the class axis."""
    if x.ndim == 2:  # (N, C): one fancy index, several times faster than take_along_axis
        return x[array_module(index).arange(x.shape[0]), index]
    return np.take_along_axis(x, index[:, None], axis=1)[:, 0]


def _one_hot(shape: tuple[int, ...], index: np.ndarray, value: Any, dtype: np.dtype) -> Any:
    """Zeros of `shape` with `value` (a scalar, or one per target) at each target's class."""
    xp = array_module(index)
    scatter = xp.zeros(shape, dtype=dtype)
    if len(shape) == 2:
        scatter[xp.arange(shape[0]), index] = value
    else:
        value = xp.broadcast_to(xp.asarray(value, dtype=dtype), index.shape)
        np.put_along_axis(scatter, index[:, None], value[:, None], axis=1)
    return scatter


class BinaryCrossEntropy(Node):
    """Elementwise -(t log x + (1 - t) log(1 - x)) with the logs clamped at -100 (PyTorch's).

    Its gradients are PyTorch's too: (x - t) / max(x (1 - x), 1e-12) for x, so a
    probability of exactly 0 or 1 gets a large finite slope, and log(1 - x) - log(x) for t.
    """

    name = "binary_cross_entropy"

    def forward(self, x, t):
        floor = x.dtype.type(-100)
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), floor)
            log_not_x = np.maximum(np.log1p(-x), floor)
        return -(t * log_x + (1 - t) * log_not_x)

    def vjp(self, grad, out, x, t):
        need_x, need_t = self.needs_input_grad
        grad_x = grad_t = None
        if need_x:
            x_raw = data_of(x)
            wide = x_raw * (1 - x_raw) > _BCE_EPSILON
            grad_x = grad * (x - t) / Where(wide)(x * (1 - x), _BCE_EPSILON)
        if need_t:
            with np.errstate(divide="ignore"):
                grad_t = grad * (Log()(1 - x) - Log()(x))
        return grad_x, grad_t


_BCE_EPSILON = 1e-12


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
    if input.ndim == 1:  # unbatched: (C,) log-probabilities and one class index
        labels = np.reshape(as_plain(data_of(target)), (1,))  # a device target stays there
        out = nll_loss(input.reshape(1, -1), labels, weight, ignore_index, reduction)
        return out.reshape(()) if reduction == "none" else out
    labels = _class_targets(target, input.shape, ignore_index, "nll_loss")
    return _nll(input, labels, weight, ignore_index, reduction, "nll_loss")


def _nll(
    input: Tensor, labels: np.ndarray, weight: Any, ignore_index: int, reduction: str, op: str
) -> Tensor:
    """nll_loss of (N, C, ...) log-probabilities against labels _class_targets has checked."""
    labels = array_module(input.data).asarray(labels)
    class_weight = _class_weight(weight, input.shape[1], op, input)
    return NLLLoss(labels, class_weight, ignore_index, reduction)(input)


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits (N, C, ...) or unbatched (C,) against integer classes (N, ...)
    or class probabilities of the input's shape (log_softmax over the class axis, then the
    loss). label_smoothing mixes the target with the uniform distribution, as PyTorch."""
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must lie in [0, 1], got {label_smoothing}")
    input = as_tensor(floating(input))
    target_array = data_of(target)
    if input.ndim == 1:  # unbatched: (C,) logits, a class index or (C,) probabilities
        if np.ndim(target_array) == 0:
            batch_target = np.reshape(as_plain(target_array), (1,))
        else:
            batch_target = _batch1(target)
        out = cross_entropy(
            input.reshape(1, -1), batch_target, weight, ignore_index, reduction, label_smoothing
        )
        return out.reshape(()) if reduction == "none" else out
    probabilities = (
        np.shape(target_array) == input.shape
        and (target_array if is_array(target_array) else np.asarray(target_array)).dtype.kind == "f"
    )
    classes = input.shape[1] if input.ndim > 1 else 0
    # Check class targets before any work, so that errors name cross_entropy.
    labels = None if probabilities else _class_targets(target, input.shape, ignore_index, op)
    if labels is not None and not label_smoothing:
        _check_classes(input, 1, op)
        labels = array_module(input.data).asarray(labels)
        class_weight = _class_weight(weight, classes, op, input)
        return CrossEntropy(labels, class_weight, ignore_index, reduction)(input)
    log_probabilities = log_softmax(input, axis=1)
    if labels is not None:
        labels = array_module(input.data).asarray(labels)
        loss = _nll(log_probabilities, labels, weight, ignore_index, reduction, op)
        # PyTorch: (1 - e) nll + e * mean over classes of -weight_c log p_c, over kept targets
        class_weight = _class_weight(weight, classes, op, input)
        terms = log_probabilities
        if class_weight is not None:
            shape = (1, classes) + (1,) * (input.ndim - 2)
            terms = terms * class_weight.astype(input.dtype).reshape(shape)
        kept = labels != ignore_index
        smooth = -terms.sum(axis=1) * kept.astype(input.dtype) / classes
        if reduction == "none":
            pass
        elif reduction == "sum":
            smooth = smooth.sum()
        else:
            counted = (
                kept if class_weight is None else class_weight[np.where(kept, labels, 0)] * kept
            )
            smooth = smooth.sum() / float(np.sum(counted))
        return loss * (1.0 - label_smoothing) + smooth * label_smoothing
    target = _target_like(target, input, op)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = log_probabilities * target
    if weight is not None:
        class_weight = _class_weight(weight, classes, op, input)
        shape = (1, classes) + (1,) * (input.ndim - 2)
        terms = terms * class_weight.astype(input.dtype).reshape(shape)
    losses = -terms.sum(axis=1)
    return _reduce(losses, reduction)


def _batch1(target: Any) -> Any:
    """A (C,) probability target as a batch of one."""
    return constant_like(target, None).reshape(1, -1)


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
    losses = BinaryCrossEntropy()(input, target)
    if weight is not None:
        losses = losses * cast_like(weight, input.dtype)
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed from the logits without overflow.

    pos_weight (broadcast along the last axis, one per class) weighs the positive term:
    -(pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), as PyTorch.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input = as_tensor(floating(input))
    target = _target_like(target, input, "binary_cross_entropy_with_logits")
    losses = BCEWithLogits()(input, target)
    if pos_weight is not None:
        # -log sigmoid(x) = softplus(-x); the extra (pos_weight - 1) t of it
        losses = losses + (cast_like(pos_weight, input.dtype) - 1) * target * Softplus(1.0, np.inf)(
            -input
        )
    if weight is not None:
        losses = losses * cast_like(weight, input.dtype)
    return _reduce(losses, reduction)


# ----- regression, ranking and embedding losses -----------------------------------------
def smooth_l1_loss(input: Any, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    input = as_tensor(input)
    difference = input - _target_like(target, input, "smooth_l1_loss")
    size = abs(difference)
    if beta == 0:
        return _reduce(size, reduction)
    inside = np.abs(data_of(difference)) < beta  # a constant mask taken from the values
    losses = Where(inside)(difference * difference * (0.5 / beta), size - 0.5 * beta)
    return _reduce(losses, reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d**2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    input = as_tensor(input)
    difference = input - _target_like(target, input, "huber_loss")
    inside = np.abs(data_of(difference)) < delta
    losses = Where(inside)(difference * difference * 0.5, (abs(difference) - 0.5 * delta) * delta)
    return _reduce(losses, reduction)


def _sign_targets(target: Any, like: Tensor, shape: tuple[int, ...], op: str) -> Any:
    """Targets of 1 or -1 with the given shape, as an array on `like`'s device."""
    values = on_device_of(target, like.data, op)
    if values.shape != shape:
        raise ValueError(f"{op}: target of shape {values.shape} does not fit; expected {shape}")
    if not ((values == 1) | (values == -1)).all():
        raise ValueError(f"{op}: target values must be 1 or -1 (shape {values.shape})")
    return values


def margin_ranking_loss(
    input1: Any, input2: Any, target: Any, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """max(0, -target (input1 - input2) + margin), target in {1, -1}."""
    _check_reduction(reduction, "margin_ranking_loss")
    input1, input2 = as_tensor(input1), as_tensor(input2)
    if input1.shape != input2.shape:
        raise ValueError(
            f"margin_ranking_loss: input1 of shape {input1.shape} and input2 of shape "
            f"{input2.shape} differ"
        )
    sign = _sign_targets(target, input1, input1.shape, "margin_ranking_loss").astype(input1.dtype)
    return _reduce(ReLU()((input2 - input1) * sign + float(margin)), reduction)


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with pairwise p-norm distances over the last axis.

    `swap=True` uses min(d(a, n), d(p, n)) as the negative distance (Balntas et al.)."""
    _check_reduction(reduction, "triplet_margin_loss")
    anchor, positive, negative = as_tensor(anchor), as_tensor(positive), as_tensor(negative)
    shapes = (anchor.shape, positive.shape, negative.shape)
    if len(set(shapes)) != 1 or anchor.ndim not in (1, 2):
        raise ValueError(
            "triplet_margin_loss: anchor, positive and negative must share one shape (N, D) or "
            f"(D,), got {shapes[0]}, {shapes[1]} and {shapes[2]}"
        )
    positive_distance = pairwise_distance(anchor, positive, p, eps)
    negative_distance = pairwise_distance(anchor, negative, p, eps)
    if swap:
        swapped = pairwise_distance(positive, negative, p, eps)
        closer = data_of(swapped) < data_of(negative_distance)
        negative_distance = Where(closer)(swapped, negative_distance)
    return _reduce(ReLU()(positive_distance - negative_distance + float(margin)), reduction)


def cosine_embedding_loss(
    input1: Any, input2: Any, target: Any, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1."""
    _check_reduction(reduction, "cosine_embedding_loss")
    input1, input2 = as_tensor(input1), as_tensor(input2)
    if input1.shape != input2.shape or input1.ndim not in (1, 2):
        raise ValueError(
            "cosine_embedding_loss: input1 and input2 must share one shape (N, D) or (D,), "
            f"got {input1.shape} and {input2.shape}"
        )
    sign = _sign_targets(target, input1, input1.shape[:-1], "cosine_embedding_loss")
    epsilon = 1e-12  # as PyTorch: keeps a zero vector's cosine finite
    product = (input1 * input2).sum(axis=-1)
    squares1 = (input1 * input1).sum(axis=-1) + epsilon
    squares2 = (input2 * input2).sum(axis=-1) + epsilon
    cosine = product / (squares1 * squares2) ** 0.5
    losses = Where(sign == 1)(1 - cosine, ReLU()(cosine - float(margin)))
    return _reduce(losses, reduction)
