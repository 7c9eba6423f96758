"""A DeepPose-style regressor (Toshev and Szegedy, 2014): a CNN whose last layer outputs the
numbers themselves (here a digit's centre, scale and angle), trained with a robust loss."""

from __future__ import annotations

from collections import OrderedDict

from autograd_cv.nn.activation import ReLU
from autograd_cv.nn.conv import Conv2d
from autograd_cv.nn.linear import Flatten, Linear
from autograd_cv.nn.module import Module, Sequential
from autograd_cv.nn.normalization import BatchNorm2d
from autograd_cv.nn.pooling import MaxPool2d
from autograd_cv.tensor import Tensor


class PoseRegressor(Module):
    """(N, C, S, S) images -> (N, outputs) numbers; S a multiple of 8."""

    def __init__(
        self, in_channels: int = 1, outputs: int = 4, input_size: int = 48, width: int = 16
    ) -> None:
        super().__init__()
        if input_size % 8:
            raise ValueError(f"PoseRegressor: input_size must be a multiple of 8, got {input_size}")
        layers = OrderedDict()
        channels = in_channels
        for i, out in enumerate((width, 2 * width, 4 * width), 1):
            layers[f"conv{i}"] = Conv2d(channels, out, 3, padding=1, bias=False)
            layers[f"bn{i}"] = BatchNorm2d(out)
            layers[f"relu{i}"] = ReLU()
            layers[f"pool{i}"] = MaxPool2d(2)
            channels = out
        self.features = Sequential(layers)
        side = input_size // 8
        self.head = Sequential(
            OrderedDict(
                flatten=Flatten(),
                fc=Linear(channels * side * side, 128),
                relu=ReLU(),
                out=Linear(128, outputs),
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
