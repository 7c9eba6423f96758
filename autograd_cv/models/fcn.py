"""FCN (Long, Shelhamer and Darrell, 2015): a fully convolutional network for per-pixel classes.

A small conv backbone downsamples by 16; 1x1 convolutions score strides 16, 8, 4 and 1;
learned up-convolutions (conv_transpose2d, initialised to bilinear upsampling as in the
paper) bring the coarse scores up, each added to a finer stride's scores (the skip
connections of FCN-8s), and a full-resolution skip sharpens the digits' thin strokes.

    input (C, H, W) -> block1 (w, H) -> block2 (2w, H/4) -> block3 (4w, H/8) -> block4
    (deep*w, H/8) -> block5 (two convs, deep*w, H/16: the context of a whole digit)
    score16 = 1x1(block5); up to H/8, + score8 = 1x1(block4); up to H/4, + score4 = 1x1(block2);
    up to H/2, up to H, + score1 = 1x1(block1): (num_classes, H, W) logits

The class of a digit is decided in the deep, wide layers at strides 8 and 16 (cheap: 8x8
and 4x4 maps for 64x64 scenes), the stroke boundaries by the full-resolution skip.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from autograd_cv.nn.activation import ReLU
from autograd_cv.nn.conv import Conv2d, ConvTranspose2d
from autograd_cv.nn.module import Module, Sequential
from autograd_cv.nn.normalization import BatchNorm2d
from autograd_cv.nn.pooling import MaxPool2d
from autograd_cv.tensor import Tensor


def _block(in_channels: int, out_channels: int, pool: bool) -> Sequential:
    layers = OrderedDict(
        conv=Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        bn=BatchNorm2d(out_channels),
        relu=ReLU(),
    )
    if pool:
        layers["pool"] = MaxPool2d(2)
    return Sequential(layers)


def bilinear_kernel(channels: int, kernel_size: int) -> np.ndarray:
    """(channels, channels, k, k) conv_transpose2d weights that upsample each channel
    bilinearly by k // 2 (the FCN paper's initialisation)."""
    factor = (kernel_size + 1) // 2
    centre = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    ramp = 1 - np.abs(np.arange(kernel_size) - centre) / factor
    weight = np.zeros((channels, channels, kernel_size, kernel_size), dtype=np.float32)
    weight[np.arange(channels), np.arange(channels)] = np.outer(ramp, ramp)
    return weight


class FCN(Module):
    """FCN-8s-style segmentation net: (N, C, H, W) images -> (N, num_classes, H, W) logits.

    H and W must be multiples of 16."""

    def __init__(
        self, in_channels: int = 1, num_classes: int = 11, width: int = 16, deep: int = 8
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.block1 = _block(in_channels, width, pool=False)
        self.block2 = Sequential(
            OrderedDict(pool=MaxPool2d(2), block=_block(width, 2 * width, pool=True))
        )
        self.block3 = _block(2 * width, 4 * width, pool=True)
        self.block4 = _block(4 * width, deep * width, pool=False)
        self.block5 = Sequential(
            OrderedDict(
                pool=MaxPool2d(2),
                block=_block(deep * width, deep * width, pool=False),
                block2=_block(deep * width, deep * width, pool=False),
            )
        )
        self.score16 = Conv2d(deep * width, num_classes, 1)
        self.score8 = Conv2d(deep * width, num_classes, 1)
        self.score4 = Conv2d(2 * width, num_classes, 1)
        self.score1 = Conv2d(width, num_classes, 1)
        self.up16 = ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1, bias=False)
        self.up8 = ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1, bias=False)
        self.up4 = ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1, bias=False)
        self.up2 = ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1, bias=False)
        for up in (self.up16, self.up8, self.up4, self.up2):
            up.weight.data[...] = bilinear_kernel(num_classes, 4)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[2] % 16 or x.shape[3] % 16:
            raise ValueError(
                f"FCN: expected (N, C, H, W) images with H and W multiples of 16, got {x.shape}"
            )
        stride1 = self.block1(x)
        stride4 = self.block2(stride1)
        stride8 = self.block4(self.block3(stride4))
        scores = self.up16(self.score16(self.block5(stride8))) + self.score8(stride8)
        scores = self.up4(self.up8(scores) + self.score4(stride4))
        return self.up2(scores) + self.score1(stride1)
