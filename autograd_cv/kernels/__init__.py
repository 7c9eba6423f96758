"""Numba kernels on raw ndarrays for convolution, pooling, batch norm and special functions;
nothing here knows Tensor.

Importing this package compiles nothing: every kernel is compiled lazily on first call and
cached on disk.
"""

from autograd_cv.kernels.activation import relu_backward
from autograd_cv.kernels.batch_norm import batch_norm_backward, batch_norm_forward, channel_sums
from autograd_cv.kernels.conv import (
    col2im,
    conv2d_backward,
    conv2d_backward_input,
    conv2d_backward_weight,
    conv2d_forward,
    im2col,
)
from autograd_cv.kernels.optim import sgd_momentum_update
from autograd_cv.kernels.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from autograd_cv.kernels.special import erf

__all__ = [
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "batch_norm_backward",
    "batch_norm_forward",
    "channel_sums",
    "col2im",
    "conv2d_backward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "conv2d_forward",
    "erf",
    "im2col",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "relu_backward",
    "sgd_momentum_update",
]
