"""Degenerate layer arguments are refused when the layer is built, naming it and the argument."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv import nn


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: nn.Linear(0, 3), "Linear: in_features"),
        (lambda: nn.Linear(3, 0), "Linear: out_features"),
        (lambda: nn.Linear(2.5, 3), "Linear: in_features"),
        (lambda: nn.Conv2d(3, 4, 0), "Conv2d: kernel_size"),
        (lambda: nn.Conv2d(0, 4, 3), "Conv2d: in_channels"),
        (lambda: nn.Conv2d(3, 4, 3, groups=0), "Conv2d: groups"),
        (lambda: nn.Conv2d(3, 4, 3, stride=1.5), "Conv2d: stride"),
        (lambda: nn.Conv2d(3, 4, 3, stride=0), "Conv2d: stride"),
        (lambda: nn.Conv2d(3, 4, 3, padding=-1), "Conv2d: padding"),
        (lambda: nn.Conv2d(3, 4, 3, dilation=(1, 0)), "Conv2d: dilation"),
        (lambda: nn.ConvTranspose2d(3, 4, 0), "ConvTranspose2d: kernel_size"),
        (lambda: nn.ConvTranspose2d(3, 4, 3, output_padding=-1), "ConvTranspose2d: output_padding"),
        (lambda: nn.MaxPool2d(0), "MaxPool2d: kernel_size"),
        (lambda: nn.MaxPool2d(2, stride=1.5), "MaxPool2d: stride"),
        (lambda: nn.AvgPool2d(2, padding=-1), "AvgPool2d: padding"),
        (lambda: nn.AdaptiveAvgPool2d(0), "AdaptiveAvgPool2d: output_size"),
        (lambda: nn.BatchNorm2d(0), "BatchNorm2d: num_features"),
        (lambda: nn.LocalResponseNorm(0), "LocalResponseNorm: size"),
    ],
)
def test_degenerate_layer_arguments_are_refused(build, message) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_sound_arguments_of_every_kind_still_build() -> None:
    assert nn.Conv2d(np.int64(3), 4, (3, 1), stride=(1, 2), padding=(0, 1)).weight.shape == (
        4, 3, 3, 1,
    )  # fmt: skip
    assert nn.MaxPool2d((2, 2), padding=1).padding == 1
    assert nn.Linear(np.int32(4), 2).weight.shape == (2, 4)
