"""The ops, one module per family; each op's forward and vjp sit together."""

from autograd_cv.ops.elementwise import (
    abs,
    add,
    astype,
    clip,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    sqrt,
    subtract,
    where,
)
from autograd_cv.ops.linalg import matmul
from autograd_cv.ops.reduce import ValuesIndices, argmax, argmin, max, mean, min, std, sum, var
from autograd_cv.ops.shape import (
    broadcast_to,
    cat,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
)

__all__ = [
    "ValuesIndices", "argmax", "argmin", "cat", "permute", "std", "unsqueeze",
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "divide", "equal", "exp",
    "expand_dims", "flatten", "getitem", "greater", "greater_equal", "less", "less_equal", "log",
    "matmul", "max", "maximum", "mean", "min", "minimum", "multiply", "negative", "not_equal",
    "pad", "power", "reshape", "sqrt", "squeeze", "stack", "subtract", "sum", "swapaxes",
    "transpose", "var", "where",
]  # fmt: skip

# Last, once every op exists: give Tensor its operators and methods.
from autograd_cv.ops import tensor_methods as _tensor_methods  # noqa: E402

_tensor_methods.install()
