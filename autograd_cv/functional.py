"""torch.nn.functional's names for the neural-network ops (NCHW, OIHW, (out, in) weights).

`import autograd_cv.functional as F`; arguments follow PyTorch's order and meaning, except
that reductions over an axis name it `axis`, as NumPy does.
"""

from autograd_cv.ops.activation import (
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    logsumexp,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from autograd_cv.ops.conv import conv1d, conv2d, conv_transpose2d
from autograd_cv.ops.distance import cosine_similarity, normalize, pairwise_distance
from autograd_cv.ops.indexing import embedding, one_hot
from autograd_cv.ops.linear import linear
from autograd_cv.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cross_entropy,
    huber_loss,
    margin_ranking_loss,
    mse_loss,
    multi_margin_loss,
    nll_loss,
    smooth_l1_loss,
    triplet_margin_loss,
)
from autograd_cv.ops.norm import (
    batch_norm,
    dropout,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
)
from autograd_cv.ops.pool import (
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
    pixel_shuffle,
    pixel_unshuffle,
)
from autograd_cv.ops.sampling import interpolate
from autograd_cv.ops.shape import torch_pad as pad

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv2d", "conv_transpose2d", "cosine_embedding_loss",
    "cross_entropy", "dropout", "huber_loss", "interpolate", "leaky_relu", "linear",
    "local_response_norm", "log_softmax", "logsumexp", "margin_ranking_loss", "max_pool2d",
    "mse_loss", "multi_margin_loss", "nll_loss", "pairwise_distance", "relu", "sigmoid",
    "smooth_l1_loss", "softmax", "tanh", "triplet_margin_loss",
]  # fmt: skip
__all__ += [
    "avg_pool1d", "conv1d", "cosine_similarity", "elu", "embedding", "gelu", "group_norm",
    "hardtanh", "instance_norm", "layer_norm", "logsigmoid", "max_pool1d", "max_unpool2d",
    "normalize", "one_hot", "pad", "pairwise_distance", "pixel_shuffle", "pixel_unshuffle",
    "relu6", "silu", "softplus",
]  # fmt: skip
