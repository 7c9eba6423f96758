"""Dropout: zero elements with probability p in training mode, scale the rest by 1/(1-p)."""

from __future__ import annotations

import numpy as np

from autograd_cv import creation
from autograd_cv import functional as F
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor


class Dropout(Module):
    """Inverted dropout; the identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
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


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) (or (C, H, W)) input with probability p in training
    mode, scaling the kept ones by 1/(1-p); the identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return input
        if input.ndim not in (3, 4):
            raise ValueError(
                f"Dropout2d: expected (N, C, H, W) or (C, H, W) input, got shape {input.shape}"
            )
        mask_shape = input.shape[:-2] + (1, 1)
        keep = creation.generator().random(mask_shape, dtype=np.float32) >= self.p
        return input * (keep.astype(input.dtype) / input.dtype.type(1 - self.p))
