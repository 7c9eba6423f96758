"""An up-convolutional generator (Dosovitskiy, Springenberg and Brox, 2015, "Learning to
Generate Chairs with Convolutional Networks"): it draws an image from what it shows (a
class), how it is seen (transformation parameters) and a style code.

    class (N, num_classes) -> fc 64 -+
    pose (N, 3): sin, cos of the angle, scale -> fc 64 -+-> concat -> fc hidden -> fc
    style (N, style_dim) -> fc 64 -+       (4 width, S/8, S/8) -> 3 x [up-conv 4x4 stride 2,
                                           BN, ReLU] -> conv 3x3 -> sigmoid (N, 1, S, S)

The class input is a vector of class weights, so a one-hot row draws one class and a blend
of two rows morphs between them.
"""

from __future__ import annotations

from collections import OrderedDict

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.nn.activation import ReLU
from autograd_cv.nn.conv import Conv2d, ConvTranspose2d
from autograd_cv.nn.linear import Linear
from autograd_cv.nn.module import Module, Sequential
from autograd_cv.nn.normalization import BatchNorm2d
from autograd_cv.tensor import Tensor

#: the pose input's columns: sin and cos of the angle, and the scale
POSE_DIM = 3


def _stream(inputs: int, outputs: int) -> Sequential:
    return Sequential(OrderedDict(fc=Linear(inputs, outputs), relu=ReLU()))


class UpConvGenerator(Module):
    """(class weights, pose, style) -> (N, 1, image_size, image_size) images in (0, 1)."""

    def __init__(
        self,
        num_classes: int = 10,
        style_dim: int = 8,
        image_size: int = 32,
        width: int = 16,
        hidden: int = 256,
    ) -> None:
        super().__init__()
        for name, value in (("num_classes", num_classes), ("style_dim", style_dim),
                            ("width", width), ("hidden", hidden)):  # fmt: skip
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"UpConvGenerator: {name} must be an integer >= 1, got {value!r}")
        if not isinstance(image_size, int) or image_size < 8 or image_size % 8:
            raise ValueError(
                f"UpConvGenerator: image_size must be a multiple of 8 (>= 8), got {image_size!r}"
            )
        self.num_classes, self.style_dim, self.image_size = num_classes, style_dim, image_size
        self.width, self.side = width, image_size // 8
        self.class_stream = _stream(num_classes, 64)
        self.pose_stream = _stream(POSE_DIM, 64)
        self.style_stream = _stream(style_dim, 64)
        self.joint = Sequential(
            OrderedDict(
                fc1=Linear(3 * 64, hidden),
                relu1=ReLU(),
                fc2=Linear(hidden, 4 * width * self.side * self.side),
                relu2=ReLU(),
            )
        )
        layers: OrderedDict = OrderedDict()
        channels = 4 * width
        for i, out in enumerate((2 * width, width, width // 2 or 1), 1):
            layers[f"up{i}"] = ConvTranspose2d(channels, out, 4, stride=2, padding=1, bias=False)
            layers[f"bn{i}"] = BatchNorm2d(out)
            layers[f"relu{i}"] = ReLU()
            channels = out
        layers["out"] = Conv2d(channels, 1, 3, padding=1)
        self.decoder = Sequential(layers)

    def forward(self, classes: Tensor, pose: Tensor, style: Tensor) -> Tensor:
        return F.sigmoid(self.logits(classes, pose, style))

    def logits(self, classes: Tensor, pose: Tensor, style: Tensor) -> Tensor:
        """The images before the sigmoid (for a loss computed from logits)."""
        count = classes.shape[0] if classes.ndim else None
        expected = ((classes, self.num_classes, "classes"), (pose, POSE_DIM, "pose"),
                    (style, self.style_dim, "style"))  # fmt: skip
        for value, columns, name in expected:
            if value.ndim != 2 or value.shape != (count, columns):
                raise ValueError(
                    f"UpConvGenerator: {name} must be ({count}, {columns}) to match classes "
                    f"{classes.shape}; got {name} {value.shape} (classes {classes.shape}, "
                    f"pose {pose.shape}, style {style.shape})"
                )
        features = ag.concatenate(
            [self.class_stream(classes), self.pose_stream(pose), self.style_stream(style)],
            axis=1,
        )
        maps = self.joint(features).reshape(count, 4 * self.width, self.side, self.side)
        return self.decoder(maps)
