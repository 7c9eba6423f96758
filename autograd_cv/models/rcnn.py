"""R-CNN (Girshick et al., 2014) and Fast R-CNN (Girshick, 2015) for small grey scenes.

Both take images (N, C, H, W) and region proposals as (K, 5) rows (image index, x1, y1, x2,
y2) and return per region 11 class scores (10 digits and background) and 4 box deltas.

- `RCNN` warps each region (with a little context around it) to a fixed 28x28 crop of the
  *image* and runs a small CNN on every crop: one forward per region.
- `FastRCNN` runs a conv backbone once per image and pools each region's features from the
  shared map with `roi_align`: the per-region work is only the small head.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from autograd_cv.nn.activation import ReLU
from autograd_cv.nn.conv import Conv2d
from autograd_cv.nn.linear import Flatten, Linear
from autograd_cv.nn.module import Module, Sequential
from autograd_cv.nn.normalization import BatchNorm2d
from autograd_cv.nn.pooling import MaxPool2d
from autograd_cv.tensor import Tensor
from autograd_cv.vision.ops import roi_align


def _conv(in_channels: int, out_channels: int, pool: bool, padding: int = 1) -> Sequential:
    layers = OrderedDict(
        conv=Conv2d(in_channels, out_channels, 3, padding=padding, bias=False),
        bn=BatchNorm2d(out_channels),
        relu=ReLU(),
    )
    if pool:
        layers["pool"] = MaxPool2d(2)
    return Sequential(layers)


def _check(images: Tensor, rois: np.ndarray, model: str) -> np.ndarray:
    rois = np.asarray(rois, dtype=np.float32)
    if images.ndim != 4 or rois.ndim != 2 or rois.shape[1] != 5:
        raise ValueError(
            f"{model}: expected images (N, C, H, W) and rois (K, 5), got {images.shape} and "
            f"{rois.shape}"
        )
    return rois


class _Heads(Module):
    """A hidden layer, then class scores and class-agnostic box deltas."""

    def __init__(self, features: int, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.flatten = Flatten()
        self.hidden = Sequential(OrderedDict(fc=Linear(features, hidden), relu=ReLU()))
        self.cls_score = Linear(hidden, num_classes)
        self.bbox_pred = Linear(hidden, 4)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        hidden = self.hidden(self.flatten(x))
        return self.cls_score(hidden), self.bbox_pred(hidden)


class RCNN(Module):
    """R-CNN: warp each region to crop_size x crop_size, classify and regress it with a CNN."""

    def __init__(
        self, in_channels: int = 1, num_classes: int = 11, crop_size: int = 28,
        context: float = 0.1, width: int = 16,
    ) -> None:  # fmt: skip
        super().__init__()
        self.crop_size, self.context = crop_size, context
        self.features = Sequential(
            OrderedDict(
                block1=_conv(in_channels, width, pool=True),
                block2=_conv(width, 2 * width, pool=True),
                block3=_conv(2 * width, 4 * width, pool=False, padding=0),
            )
        )
        side = crop_size // 4 - 2
        self.heads = _Heads(4 * width * side * side, 128, num_classes)

    def crops(self, images: Tensor, rois: np.ndarray) -> Tensor:
        """Each region grown by `context` on every side, warped to a fixed square."""
        rois = _check(images, rois, "RCNN")
        grown = rois.copy()
        margin_w = (rois[:, 3] - rois[:, 1]) * self.context
        margin_h = (rois[:, 4] - rois[:, 2]) * self.context
        grown[:, 1] -= margin_w
        grown[:, 3] += margin_w
        grown[:, 2] -= margin_h
        grown[:, 4] += margin_h
        return roi_align(images, grown, self.crop_size, sampling_ratio=2, aligned=True)

    def forward(self, images: Tensor, rois: np.ndarray) -> tuple[Tensor, Tensor]:
        return self.heads(self.features(self.crops(images, rois)))


class FastRCNN(Module):
    """Fast R-CNN: one backbone pass per image (stride 4), RoIAlign per region, shared heads."""

    def __init__(
        self, in_channels: int = 1, num_classes: int = 11, pooled: int = 7, width: int = 16
    ) -> None:
        super().__init__()
        self.pooled = pooled
        self.backbone = Sequential(
            OrderedDict(
                block1=_conv(in_channels, width, pool=True),
                block2=_conv(width, 2 * width, pool=True),
                block3=_conv(2 * width, 4 * width, pool=False),
                block4=_conv(4 * width, 4 * width, pool=False),
            )
        )
        self.spatial_scale = 0.25
        self.heads = _Heads(4 * width * pooled * pooled, 128, num_classes)

    def forward(self, images: Tensor, rois: np.ndarray) -> tuple[Tensor, Tensor]:
        rois = _check(images, rois, "FastRCNN")
        features = self.backbone(images)
        pooled = roi_align(
            features, rois, self.pooled, self.spatial_scale, sampling_ratio=2, aligned=True
        )
        return self.heads(pooled)
