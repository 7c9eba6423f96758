"""Neural-network layers as torch.nn: `Module`, `Parameter`, layers, `init`, `utils`."""

from autograd_cv.nn import init, utils
from autograd_cv.nn.activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from autograd_cv.nn.conv import Conv2d, ConvTranspose2d
from autograd_cv.nn.dropout import Dropout
from autograd_cv.nn.linear import Flatten, Identity, Linear
from autograd_cv.nn.module import LoadResult, Module, ModuleList, RemovableHandle, Sequential
from autograd_cv.nn.normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from autograd_cv.nn.parameter import Parameter
from autograd_cv.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from autograd_cv.nn.upsampling import Upsample

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d",
    "Dropout", "Flatten", "Identity", "LeakyReLU", "Linear", "LoadResult", "LocalResponseNorm",
    "LogSoftmax", "MaxPool2d", "Module", "ModuleList", "Parameter", "ReLU", "RemovableHandle",
    "Sequential", "Sigmoid", "Softmax", "Tanh", "Upsample", "init", "utils",
]  # fmt: skip
