"""AlexNet (Krizhevsky et al., 2012) for 224x224 images, and AlexNetSmall for 32x32 (CIFAR-10)."""

from __future__ import annotations

from collections import OrderedDict

from autograd_cv.nn.activation import ReLU
from autograd_cv.nn.conv import Conv2d
from autograd_cv.nn.dropout import Dropout
from autograd_cv.nn.linear import Flatten, Linear
from autograd_cv.nn.module import Module, Sequential
from autograd_cv.nn.normalization import BatchNorm2d, LocalResponseNorm
from autograd_cv.nn.pooling import AdaptiveAvgPool2d, MaxPool2d
from autograd_cv.tensor import Tensor


def paper_lrn() -> LocalResponseNorm:
    """The paper's local response normalisation: size 5, alpha 1e-4, beta 0.75, k 2."""
    return LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)


class AlexNet(Module):
    """torchvision's AlexNet layout, with the paper's LRN after conv1 and conv2 (lrn=True).

    features (Sequential, indexed as torchvision), avgpool AdaptiveAvgPool2d(6), flatten,
    classifier Dropout, 9216->4096, ReLU, Dropout, 4096->4096, ReLU, 4096->num_classes.
    With lrn=False the indices match torchvision's exactly, so its weights load as they are.
    61,100,840 parameters for 1000 classes.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, lrn: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        block1: list[Module] = [Conv2d(3, 64, 11, stride=4, padding=2), ReLU()]
        block2: list[Module] = [Conv2d(64, 192, 5, padding=2), ReLU()]
        if lrn:
            block1.append(paper_lrn())
            block2.append(paper_lrn())
        self.features = Sequential(
            *block1,
            MaxPool2d(3, stride=2),
            *block2,
            MaxPool2d(3, stride=2),
            Conv2d(192, 384, 3, padding=1),
            ReLU(),
            Conv2d(384, 256, 3, padding=1),
            ReLU(),
            Conv2d(256, 256, 3, padding=1),
            ReLU(),
            MaxPool2d(3, stride=2),
        )
        self.avgpool = AdaptiveAvgPool2d((6, 6))
        self.flatten = Flatten()
        self.classifier = Sequential(
            Dropout(dropout),
            Linear(256 * 6 * 6, 4096),
            ReLU(),
            Dropout(dropout),
            Linear(4096, 4096),
            ReLU(),
            Linear(4096, num_classes),
        )

    def forward(self, input: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(input))))


class AlexNetSmall(Module):
    """AlexNet's structure scaled to 3x32x32 (CIFAR-10).

    conv1 64 k5 -> relu -> norm -> pool k3 s2 (15x15) -> conv2 192 k5 -> relu -> norm ->
    pool (7x7) -> conv3 384, conv4 256, conv5 256 (3x3, each + relu) -> pool (3x3) ->
    flatten -> classifier: dropout, fc1 2304->1024, relu, dropout, fc2 1024->512, relu,
    fc3 512->num_classes. `norm` is the paper's LRN, or with batch_norm=True a BatchNorm2d
    after every convolution (before its ReLU), which trains faster.
    """

    def __init__(
        self, num_classes: int = 10, batch_norm: bool = False, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.batch_norm = batch_norm
        layers: OrderedDict[str, Module] = OrderedDict()

        def conv(index: int, fan_in: int, fan_out: int, kernel: int) -> None:
            layers[f"conv{index}"] = Conv2d(
                fan_in, fan_out, kernel, padding=kernel // 2, bias=not batch_norm
            )
            if batch_norm:
                layers[f"bn{index}"] = BatchNorm2d(fan_out)
            layers[f"relu{index}"] = ReLU()
            if not batch_norm and index <= 2:
                layers[f"norm{index}"] = paper_lrn()

        conv(1, 3, 64, 5)
        layers["pool1"] = MaxPool2d(3, stride=2)
        conv(2, 64, 192, 5)
        layers["pool2"] = MaxPool2d(3, stride=2)
        conv(3, 192, 384, 3)
        conv(4, 384, 256, 3)
        conv(5, 256, 256, 3)
        layers["pool5"] = MaxPool2d(3, stride=2)
        self.features = Sequential(layers)
        self.flatten = Flatten()
        self.classifier = Sequential(
            OrderedDict(
                drop1=Dropout(dropout),
                fc1=Linear(256 * 3 * 3, 1024),
                relu1=ReLU(),
                drop2=Dropout(dropout),
                fc2=Linear(1024, 512),
                relu2=ReLU(),
                fc3=Linear(512, num_classes),
            )
        )

    def forward(self, input: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.features(input)))
