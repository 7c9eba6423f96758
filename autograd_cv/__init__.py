"""autograd_cv: a define-by-run autograd engine for computer vision, on NumPy and Numba."""

from autograd_cv.autograd.anomaly import AnomalyError, detect_anomaly
from autograd_cv.autograd.engine import backward, grad
from autograd_cv.autograd.node import (
    Node,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from autograd_cv.creation import (
    arange,
    full,
    manual_seed,
    ones,
    ones_like,
    rand,
    randn,
    zeros,
    zeros_like,
)
from autograd_cv.ops import (
    abs,
    broadcast_to,
    clip,
    concatenate,
    exp,
    expand_dims,
    log,
    matmul,
    maximum,
    mean,
    minimum,
    pad,
    reshape,
    sqrt,
    squeeze,
    stack,
    sum,
    transpose,
    where,
)
from autograd_cv.tensor import Tensor, tensor

__version__ = "0.1.0"

__all__ = [
    "AnomalyError", "Node", "Tensor", "abs", "arange", "backward", "broadcast_to", "clip",
    "concatenate", "detect_anomaly",
    "enable_grad", "exp", "expand_dims", "full", "grad", "is_grad_enabled", "log", "manual_seed",
    "matmul", "maximum", "mean", "minimum", "no_grad", "ones", "ones_like", "pad", "rand", "randn",
    "reshape", "set_grad_enabled", "sqrt", "squeeze", "stack", "sum", "tensor", "transpose",
    "where", "zeros", "zeros_like",
]  # fmt: skip

# nn, optim and checkpoints (the nn branch); imported last: they build on everything above.
from autograd_cv import nn, optim  # noqa: E402
from autograd_cv.serialization import load, save  # noqa: E402

__all__ += ["load", "nn", "optim", "save"]
