"""Upsample: `functional.interpolate` as a layer."""

from __future__ import annotations

from collections.abc import Sequence

from autograd_cv import functional as F
from autograd_cv.nn.module import Module
from autograd_cv.tensor import Tensor


class Upsample(Module):
    """Resize (N, C, H, W) inputs to `size` or by `scale_factor` ("nearest" or "bilinear")."""

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
    ) -> None:
        super().__init__()
        self.size, self.scale_factor = size, scale_factor
        self.mode, self.align_corners = mode, align_corners

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"
