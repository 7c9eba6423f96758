"""autograd_cv: a define-by-run autograd engine for computer vision, on NumPy and Numba.

NumPy's names and torch's both work: `import autograd_cv as torch` runs PyTorch programs
(see the README's table for what still differs).
"""

from autograd_cv.autograd.anomaly import AnomalyError, detect_anomaly
from autograd_cv.autograd.engine import backward, grad
from autograd_cv.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from autograd_cv.autograd.node import Node
from autograd_cv.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    seed,
    zeros,
    zeros_like,
)
from autograd_cv.devices import accelerator, backends, cuda, device
from autograd_cv.ops import (
    abs,
    argmax,
    argmin,
    broadcast_to,
    cat,
    clamp,
    clip,
    concatenate,
    equal,
    exp,
    expand_dims,
    flatten,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    not_equal,
    pad,
    permute,
    reshape,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    swapaxes,
    transpose,
    unsqueeze,
    var,
    where,
)
from autograd_cv.ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from autograd_cv.ops.einsum import einsum
from autograd_cv.ops.indexing import gather, index_add, scatter_add, take_along_axis
from autograd_cv.ops.math import cos, erf, log2, sign, sin
from autograd_cv.ops.reduce import cumprod, cumsum, prod
from autograd_cv.ops.shape import chunk, flip, roll, split, tile, tril, triu
from autograd_cv.ops.sort import argsort, sort, topk
from autograd_cv.tensor import Tensor, tensor

__version__ = "0.1.0"

# torch's names for the same functions
concat = cat
eq, ne, lt, le, gt, ge = equal, not_equal, less, less_equal, greater, greater_equal
mm = matmul


def numel(input: Tensor) -> int:
    """Number of elements of `input`."""
    return input.numel()


def is_tensor(obj: object) -> bool:
    """True for a Tensor."""
    return isinstance(obj, Tensor)


__all__ = [
    "AnomalyError", "Node", "Tensor", "abs", "accelerator", "arange", "argmax", "argmin",
    "as_tensor", "backends", "backward", "broadcast_to", "cat", "clamp", "clip", "concat",
    "concatenate", "cuda", "detect_anomaly", "device", "empty", "empty_like", "enable_grad",
    "eq", "equal", "exp", "expand_dims", "eye", "flatten", "from_numpy", "full", "full_like",
    "ge", "grad", "greater", "greater_equal", "gt", "inference_mode", "is_grad_enabled",
    "is_tensor", "le", "less", "less_equal", "linspace", "log", "log_softmax", "lt",
    "manual_seed", "matmul", "max", "maximum", "mean", "min", "minimum", "mm", "ne",
    "no_grad", "not_equal", "numel", "ones", "ones_like", "pad", "permute", "rand",
    "rand_like", "randint", "randn", "randn_like", "randperm", "relu", "reshape", "seed",
    "set_grad_enabled", "sigmoid", "softmax", "sqrt", "squeeze", "stack", "std", "sum",
    "swapaxes", "tanh", "tensor", "transpose", "unsqueeze", "var", "where", "zeros",
    "zeros_like",
]  # fmt: skip
__all__ += [
    "argsort", "chunk", "cos", "cumprod", "cumsum", "einsum", "erf", "flip", "gather",
    "index_add", "log2", "prod", "roll", "scatter_add", "sign", "sin", "sort", "split",
    "take_along_axis", "tile", "topk", "tril", "triu",
]  # fmt: skip

# dtypes under torch's names (NumPy's scalar types: `x.dtype == ag.float32` holds).
from autograd_cv.dtypes import (  # noqa: E402
    bool,
    double,
    float,
    float16,
    float32,
    float64,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    uint8,
)

__all__ += [
    "bool", "double", "float", "float16", "float32", "float64", "half", "int", "int8", "int16",
    "int32", "int64", "long", "uint8",
]  # fmt: skip

# nn, optim, data and checkpoints; imported last: they build on everything above.
from autograd_cv import nn, optim, utils  # noqa: E402
from autograd_cv.serialization import load, save  # noqa: E402

__all__ += ["load", "nn", "optim", "save", "utils"]
