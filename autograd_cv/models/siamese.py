"""A siamese network (Zagoruyko and Komodakis, 2015; Zbontar and LeCun, 2015): one CNN branch
embeds every patch, so two patches compared go through the same weights, and their distance
in the embedding says whether they match."""

from __future__ import annotations

from collections import OrderedDict

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.nn.activation import ReLU
from autograd_cv.nn.conv import Conv2d
from autograd_cv.nn.linear import Flatten, Linear
from autograd_cv.nn.module import Module, Sequential
from autograd_cv.nn.normalization import BatchNorm2d
from autograd_cv.nn.pooling import MaxPool2d
from autograd_cv.tensor import Tensor


class SiameseNet(Module):
    """(N, C, S, S) patches -> (N, embedding) unit vectors; `pair(a, b)` -> (N,) distances."""

    def __init__(
        self, in_channels: int = 1, embedding: int = 32, input_size: int = 28, width: int = 16
    ) -> None:
        super().__init__()
        if input_size < 8:
            raise ValueError(f"SiameseNet: input_size must be at least 8, got {input_size}")
        layers = OrderedDict()
        channels, side = in_channels, input_size
        for i, out in enumerate((width, 2 * width, 4 * width), 1):
            layers[f"conv{i}"] = Conv2d(channels, out, 3, padding=1, bias=False)
            layers[f"bn{i}"] = BatchNorm2d(out)
            layers[f"relu{i}"] = ReLU()
            layers[f"pool{i}"] = MaxPool2d(2)
            channels, side = out, side // 2
        self.features = Sequential(layers)
        self.head = Sequential(
            OrderedDict(flatten=Flatten(), fc=Linear(channels * side * side, embedding))
        )
        self.in_channels, self.input_size = in_channels, input_size

    def forward(self, x: Tensor) -> Tensor:
        """The L2-normalised embedding of each patch."""
        shape = tuple(x.shape)
        if len(shape) != 4 or shape[1:] != (self.in_channels, self.input_size, self.input_size):
            raise ValueError(
                f"SiameseNet.forward: expected x of shape (N, {self.in_channels}, "
                f"{self.input_size}, {self.input_size}), got {shape}"
            )
        return F.normalize(self.head(self.features(x)), dim=1)

    def pair(self, a: Tensor, b: Tensor) -> Tensor:
        """Euclidean distances between the embeddings of a[i] and b[i], both through one branch."""
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(
                f"SiameseNet.pair: a and b must share one shape, got {tuple(a.shape)} and "
                f"{tuple(b.shape)}"
            )
        # One batch through the shared branch (batch norm sees both sides' statistics).
        embedded = self(ag.concatenate([ag.as_tensor(a), ag.as_tensor(b)], axis=0))
        count = a.shape[0]
        return F.pairwise_distance(embedded[:count], embedded[count:])
