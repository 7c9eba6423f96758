"""Dropout: zero elements with probability p in training mode, scale the rest by 1/(1-p)."""

from __future__ import annotations

from autograd_cv import functional as F
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor


class Dropout(Module):
    """Inverted dropout; the identity in eval mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return input
        return F.dropout(input, self.p, True)

    def extra_repr(self) -> str:
        return f"p={self.p}"
