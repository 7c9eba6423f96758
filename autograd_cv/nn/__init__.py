"""Neural-network layers as torch.nn: `Module`, `Parameter`, layers, `init`, `utils`."""

import sys

from autograd_cv import functional
from autograd_cv.nn import init, utils
from autograd_cv.nn.activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from autograd_cv.nn.conv import Conv2d, ConvTranspose2d
from autograd_cv.nn.dropout import Dropout, Dropout2d
from autograd_cv.nn.linear import Flatten, Identity, Linear, Unflatten
from autograd_cv.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
)
from autograd_cv.nn.module import (
    LoadResult,
    Module,
    ModuleDict,
    ModuleList,
    ParameterList,
    RemovableHandle,
    Sequential,
)
from autograd_cv.nn.normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from autograd_cv.nn.parameter import Parameter
from autograd_cv.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout2d", "L1Loss", "MSELoss",
    "ModuleDict", "MultiMarginLoss", "NLLLoss", "ParameterList", "SmoothL1Loss", "Unflatten",
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d",
    "Dropout", "Flatten", "Identity", "LeakyReLU", "Linear", "LoadResult", "LocalResponseNorm",
    "LogSoftmax", "MaxPool2d", "Module", "ModuleList", "Parameter", "ReLU", "RemovableHandle",
    "Sequential", "Sigmoid", "Softmax", "Tanh", "init", "utils",
]  # fmt: skip

# `import autograd_cv.nn.functional as F` is torch's spelling: the same module object as
# autograd_cv.functional, registered under the second name rather than copied.
sys.modules[__name__ + ".functional"] = functional
__all__ += ["functional"]
