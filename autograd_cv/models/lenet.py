"""LeNet-5 (LeCun et al., 1998): ReLU + max pooling by default, tanh + average pooling if classic.

Layout (names as in the paper, grouped for the graph drawer):

    features:   c1 Conv2d(in, 6, 5, padding=2 for 28x28 input) -> act1 -> s2 pool 2
                c3 Conv2d(6, 16, 5) -> act3 -> s4 pool 2
    flatten
    classifier: f5 Linear(16*5*5, 120) -> act5 -> f6 Linear(120, 84) -> act6
                -> f7 Linear(84, num_classes)

Parameters are named `features.c1.weight`, ..., `classifier.f7.bias`: 61,706 of them for
the default (1 channel, 28x28, 10 classes). The paper's sparse C3 connections, trainable
subsampling and RBF output layer are replaced by their common modern equivalents.
"""

from __future__ import annotations

from collections import OrderedDict

from autograd_cv.nn.activation import ReLU, Tanh
from autograd_cv.nn.conv import Conv2d
from autograd_cv.nn.linear import Flatten, Linear
from autograd_cv.nn.module import Module, Sequential
from autograd_cv.nn.pooling import AvgPool2d, MaxPool2d
from autograd_cv.tensor import Tensor


class LeNet5(Module):
    """LeNet-5 for in_channels x input_size x input_size images."""

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        input_size: int = 28,
        classic: bool = False,
    ) -> None:
        super().__init__()
        # 28x28 digits are padded to the paper's 32x32 by the first convolution.
        padding = 2 if input_size == 28 else 0
        side = ((input_size + 2 * padding - 4) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet5: input_size {input_size} is too small (needs >= 16)")
        activation = Tanh if classic else ReLU
        pool = AvgPool2d if classic else MaxPool2d
        self.num_classes = num_classes
        self.classic = classic
        self.features = Sequential(
            OrderedDict(
                c1=Conv2d(in_channels, 6, 5, padding=padding),
                act1=activation(),
                s2=pool(2),
                c3=Conv2d(6, 16, 5),
                act3=activation(),
                s4=pool(2),
            )
        )
        self.flatten = Flatten()
        self.classifier = Sequential(
            OrderedDict(
                f5=Linear(16 * side * side, 120),
                act5=activation(),
                f6=Linear(120, 84),
                act6=activation(),
                f7=Linear(84, num_classes),
            )
        )

    def forward(self, input: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.features(input)))
