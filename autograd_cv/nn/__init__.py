"""Neural-network layers as torch.nn: `Module`, `Parameter`, layers, `init`, `utils`."""

from autograd_cv.nn import init, utils
from autograd_cv.nn.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from autograd_cv.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from autograd_cv.nn.dropout import Dropout
from autograd_cv.nn.linear import Flatten, Identity, Linear
from autograd_cv.nn.module import LoadResult, Module, ModuleList, RemovableHandle, Sequential
from autograd_cv.nn.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
    LocalResponseNorm,
)
from autograd_cv.nn.parameter import Parameter
from autograd_cv.nn.pooling import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxUnpool2d,
    PixelShuffle,
    PixelUnshuffle,
)
from autograd_cv.nn.sparse import CosineSimilarity, Embedding, PairwiseDistance

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d",
    "Dropout", "Flatten", "Identity", "LeakyReLU", "Linear", "LoadResult", "LocalResponseNorm",
    "LogSoftmax", "MaxPool2d", "Module", "ModuleList", "Parameter", "ReLU", "RemovableHandle",
    "Sequential", "Sigmoid", "Softmax", "Tanh", "init", "utils",
]  # fmt: skip
__all__ += [
    "AvgPool1d", "Conv1d", "CosineSimilarity", "ELU", "Embedding", "GELU", "GroupNorm",
    "Hardtanh", "InstanceNorm1d", "InstanceNorm2d", "LayerNorm", "LogSigmoid", "MaxPool1d",
    "MaxUnpool2d", "PairwiseDistance", "PixelShuffle", "PixelUnshuffle", "ReLU6", "SiLU",
    "Softplus",
]  # fmt: skip
