"""Elementwise ops: arithmetic, exp/log/sqrt/abs, maximum/minimum/where/clip, casts, comparisons.

Each vjp is written with operators and Node calls that mean the same on ndarrays and on
Tensors, so it serves both the plain backward and `create_graph=True`. Masks (which input
won a maximum, where a clip was active) are constants computed from the raw values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.backend import array_module, is_array
from autograd_cv.ops.arguments import apply, data_of, mask_like
from autograd_cv.tensor import Tensor


class Add(Node):
    name = "add"
    saves_inputs = False

    def forward(self, a, b):
        return a + b

    def vjp(self, grad, out, a, b):
        return grad, grad


class Subtract(Node):
    name = "sub"
    saves_inputs = False

    def forward(self, a, b):
        return a - b

    def vjp(self, grad, out, a, b):
        return grad, -grad


class Multiply(Node):
    name = "mul"

    def forward(self, a, b):
        return a * b

    def vjp(self, grad, out, a, b):
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Divide(Node):
    name = "div"

    def forward(self, a, b):
        return a / b

    def vjp(self, grad, out, a, b):
        need_a, need_b = self.needs_input_grad
        grad_a = grad / b if need_a else None
        grad_b = -grad * a / (b * b) if need_b else None
        return grad_a, grad_b


class Negative(Node):
    name = "neg"
    saves_inputs = False

    def forward(self, x):
        return -x

    def vjp(self, grad, out, x):
        return (-grad,)


class PowerScalar(Node):
    """x ** p for a fixed number p (the common `x ** 2`)."""

    name = "pow"

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x):
        return x**self.exponent

    def vjp(self, grad, out, x):
        p = self.exponent
        if p == 0:
            return (grad * 0,)
        if p == 1:
            return (grad,)
        if p == 2:
            return (grad * x * 2,)
        return (grad * x ** (p - 1) * p,)


class Power(Node):
    """a ** b with both sides tensors."""

    name = "pow"
    saves_output = True

    def forward(self, a, b):
        return a**b

    def vjp(self, grad, out, a, b):
        need_a, need_b = self.needs_input_grad
        grad_a = grad * b * a ** (b - 1) if need_a else None
        grad_b = None
        if need_b:
            # d(a**b)/db = a**b log a, taken as 0 where a <= 0 (PyTorch's convention at a = 0).
            positive = data_of(a) > 0
            log_a = Log()(Where(positive)(a, 1))
            grad_b = grad * out * log_a * mask_like(positive, grad)
        return grad_a, grad_b


class Exp(Node):
    name = "exp"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.exp(x)

    def vjp(self, grad, out, x):
        return (grad * out,)


class Log(Node):
    name = "log"

    def forward(self, x):
        return np.log(x)

    def vjp(self, grad, out, x):
        return (grad / x,)


class Sqrt(Node):
    name = "sqrt"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.sqrt(x)

    def vjp(self, grad, out, x):
        return (grad / (out * 2),)


class Abs(Node):
    name = "abs"

    def forward(self, x):
        return np.abs(x)

    def vjp(self, grad, out, x):
        return (grad * np.sign(data_of(x)),)


class Maximum(Node):
    """Elementwise maximum; at ties each side gets half the gradient (PyTorch's rule)."""

    name = "maximum"

    def forward(self, a, b):
        return np.maximum(a, b)

    def vjp(self, grad, out, a, b):
        a_raw, b_raw = data_of(a), data_of(b)
        share_a = mask_like(a_raw > b_raw, grad) + mask_like(a_raw == b_raw, grad) * 0.5
        return grad * share_a, grad * (1 - share_a)


class Minimum(Node):
    """Elementwise minimum; at ties each side gets half the gradient (PyTorch's rule)."""

    name = "minimum"

    def forward(self, a, b):
        return np.minimum(a, b)

    def vjp(self, grad, out, a, b):
        a_raw, b_raw = data_of(a), data_of(b)
        share_a = mask_like(a_raw < b_raw, grad) + mask_like(a_raw == b_raw, grad) * 0.5
        return grad * share_a, grad * (1 - share_a)


class Where(Node):
    """Pick from `a` where the (constant) condition holds, else from `b`."""

    name = "where"
    saves_inputs = False

    def __init__(self, condition: np.ndarray) -> None:
        self.condition = condition

    def forward(self, a, b):
        return np.where(self.condition, a, b)

    def vjp(self, grad, out, a, b):
        take_a = mask_like(np.broadcast_to(self.condition, data_of(grad).shape), grad)
        return grad * take_a, grad * (1 - take_a)


class Clip(Node):
    """Limit to [low, high]; the gradient passes where low <= x <= high (PyTorch's clamp)."""

    name = "clip"

    def __init__(self, low: Any, high: Any) -> None:
        self.low, self.high = low, high

    def forward(self, x):
        return np.clip(x, self.low, self.high)

    def vjp(self, grad, out, x):
        x_raw = data_of(x)
        inside = array_module(x_raw).ones(x_raw.shape, dtype=bool)
        if self.low is not None:
            inside &= x_raw >= self.low
        if self.high is not None:
            inside &= x_raw <= self.high
        return (grad * mask_like(inside, grad),)


class Cast(Node):
    name = "astype"
    saves_inputs = False

    def __init__(self, dtype: np.dtype) -> None:
        self.to_dtype = dtype

    def forward(self, x):
        return x.astype(self.to_dtype)

    def vjp(self, grad, out, x):
        return (grad.astype(data_of(x).dtype),)


class Compare(Node):
    """A comparison: boolean result, no gradient."""

    differentiable = False

    def __init__(self, name: str, ufunc: np.ufunc) -> None:
        self.name = name  # type: ignore[misc]
        self.ufunc = ufunc

    def forward(self, a, b):
        return self.ufunc(a, b)


# ----- public functions -----------------------------------------------------------------
def add(a: Any, b: Any) -> Tensor:
    """a + b, broadcasting."""
    return apply(Add(), a, b)


def subtract(a: Any, b: Any) -> Tensor:
    """a - b, broadcasting."""
    return apply(Subtract(), a, b)


def multiply(a: Any, b: Any) -> Tensor:
    """a * b, broadcasting."""
    return apply(Multiply(), a, b)


def divide(a: Any, b: Any) -> Tensor:
    """a / b, broadcasting."""
    return apply(Divide(), a, b)


def negative(x: Any) -> Tensor:
    """-x."""
    return apply(Negative(), x)


def power(base: Any, exponent: Any) -> Tensor:
    """base ** exponent; a Python number as exponent is a fixed power."""
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        return apply(PowerScalar(exponent), base)
    return apply(Power(), base, exponent)


def exp(x: Any) -> Tensor:
    """Elementwise e**x."""
    return apply(Exp(), x)


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm."""
    return apply(Log(), x)


def sqrt(x: Any) -> Tensor:
    """Elementwise square root."""
    return apply(Sqrt(), x)


def abs(x: Any) -> Tensor:  # noqa: A001 - NumPy's name
    """Elementwise absolute value."""
    return apply(Abs(), x)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum of two arrays, broadcasting."""
    return apply(Maximum(), a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum of two arrays, broadcasting."""
    return apply(Minimum(), a, b)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """`a` where `condition` holds, else `b` (the condition gets no gradient)."""
    cond = data_of(condition)
    cond = cond.astype(bool, copy=False) if is_array(cond) else np.asarray(cond, dtype=bool)
    return apply(Where(cond), a, b)


def clip(x: Any, a_min: Any = None, a_max: Any = None) -> Tensor:
    """Limit values to [a_min, a_max] (either may be None)."""
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both")
    return apply(Clip(data_of(a_min), data_of(a_max)), x)


def astype(x: Any, dtype: Any) -> Tensor:
    """Cast to `dtype`; differentiable between floating types."""
    return apply(Cast(np.dtype(dtype)), x)


def less(a: Any, b: Any) -> Tensor:
    """a < b, as a boolean tensor."""
    return apply(Compare("less", np.less), a, b)


def less_equal(a: Any, b: Any) -> Tensor:
    """a <= b, as a boolean tensor."""
    return apply(Compare("less_equal", np.less_equal), a, b)


def greater(a: Any, b: Any) -> Tensor:
    """a > b, as a boolean tensor."""
    return apply(Compare("greater", np.greater), a, b)


def greater_equal(a: Any, b: Any) -> Tensor:
    """a >= b, as a boolean tensor."""
    return apply(Compare("greater_equal", np.greater_equal), a, b)


def equal(a: Any, b: Any) -> Tensor:
    """a == b, as a boolean tensor."""
    return apply(Compare("equal", np.equal), a, b)


def not_equal(a: Any, b: Any) -> Tensor:
    """a != b, as a boolean tensor."""
    return apply(Compare("not_equal", np.not_equal), a, b)
