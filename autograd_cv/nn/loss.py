"""Loss modules, as torch.nn: each holds its options and calls the functional loss."""

from __future__ import annotations

from typing import Any

from autograd_cv import functional as F
from autograd_cv.nn.module import Module
from autograd_cv.ops.elementwise import where
from autograd_cv.ops.reduce import mean
from autograd_cv.ops.reduce import sum as reduce_sum
from autograd_cv.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
            )
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    def _reduce(self, loss: Tensor) -> Tensor:
        if self.reduction == "mean":
            return mean(loss)
        return reduce_sum(loss) if self.reduction == "sum" else loss


class CrossEntropyLoss(_Loss):
    """log_softmax + negative log likelihood of class-index targets (F.cross_entropy)."""

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must lie in [0, 1], got {label_smoothing}"
            )
        self.weight, self.ignore_index = weight, ignore_index
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class NLLLoss(_Loss):
    """Negative log likelihood of class-index targets, from log-probabilities (F.nll_loss)."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error (F.mse_loss)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Absolute error |input - target|, reduced."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return self._reduce((input - target).abs())


class SmoothL1Loss(_Loss):
    """Huber-like: 0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be non-negative, got {beta}")
        self.beta = float(beta)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        size = (input - target).abs()
        if self.beta == 0:
            return self._reduce(size)
        inside = (size < self.beta).data  # on the input's device
        return self._reduce(where(inside, 0.5 * size * size / self.beta, size - 0.5 * self.beta))


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (F.binary_cross_entropy)."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits, computed stably (F.binary_cross_entropy_with_logits)."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction)


class MultiMarginLoss(_Loss):
    """The multi-class hinge loss (F.multi_margin_loss)."""

    def __init__(
        self, p: int = 1, margin: float = 1.0, weight: Any = None, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.p, self.margin, self.weight = p, margin, weight

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, self.reduction)
