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
from autograd_cv.ops.arguments import apply, constant_like, data_of, mask_like
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
        return _power(x, self.exponent)

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
    """a ** b with both sides tensors; at the edges the gradients are PyTorch's."""

    name = "pow"
    saves_output = True

    def forward(self, a, b):
        return _power(a, b)

    def vjp(self, grad, out, a, b):
        need_a, need_b = self.needs_input_grad
        a_raw, b_raw = data_of(a), data_of(b)
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_a:
                # The slope of a ** 0 is 0, even at a = 0 (not 0 * inf); the mask is only
                # where it must be, so that elsewhere b a ** (b - 1) stays differentiable in b.
                grad_a = Where((b_raw == 0) & (a_raw == 0))(0, grad * b * a ** (b - 1))
            if need_b:
                # a ** b log a; 0 at a = 0 with b >= 0 (where a ** b log a -> 0), nan for
                # a < 0 and -inf for 0 ** (b < 0), as PyTorch.
                zero_base = (a_raw == 0) & (b_raw >= 0)
                grad_b = Where(zero_base)(0, grad * out * Log()(a))
        return grad_a, grad_b


def _power(a: np.ndarray, b: Any) -> np.ndarray:
    """a ** b; integers to negative integer powers follow PyTorch (1, -1 or 0), not an error."""
    exponent = b if is_array(b) else np.asarray(b)
    if a.dtype.kind not in "iu" or exponent.dtype.kind not in "iu" or not (exponent < 0).any():
        return a**b
    exponent = array_module(a).asarray(exponent)  # a scalar exponent joins a's device
    result = a ** np.maximum(exponent, 0)
    odd = (exponent % 2) == 1
    reciprocal = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(exponent < 0, reciprocal, result).astype(result.dtype, copy=False)


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
    """Limit x to [low, high] (bounds are inputs, either may be absent), as PyTorch's clamp.

    The gradient goes to x where low <= x <= high, to low where x < low (and low < high),
    to high where x > high (or high < low, where the result is high).
    """

    name = "clip"

    def __init__(self, has_low: bool, has_high: bool) -> None:
        self.has_low, self.has_high = has_low, has_high

    def _bounds(self, bounds):
        low = bounds[0] if self.has_low else None
        high = bounds[-1] if self.has_high else None
        return low, high

    def forward(self, x, *bounds):
        low, high = self._bounds(bounds)
        return np.clip(x, low, high)

    def vjp(self, grad, out, x, *bounds):
        x_raw, shape = data_of(x), data_of(grad).shape
        low, high = self._bounds([data_of(b) for b in bounds])
        inside = array_module(x_raw).ones(shape, dtype=bool)
        if low is not None:
            inside &= x_raw >= low
        if high is not None:
            inside &= x_raw <= high
        grads = [grad * mask_like(inside, grad)]
        if low is not None:
            below = x_raw < low
            if high is not None:
                below &= low < high
            grads.append(grad * mask_like(below, grad))
        if high is not None:
            above = x_raw > high
            if low is not None:
                above |= high < low
            grads.append(grad * mask_like(np.broadcast_to(above, shape), grad))
        return tuple(grads)


class Cast(Node):
    name = "astype"
    saves_inputs = False
    casts = True

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
    dtype = np.result_type(data_of(x))
    bounds = [constant_like(b, dtype, convert=_weak) for b in (a_min, a_max)]
    present = [b for b in bounds if b is not None]
    return apply(Clip(a_min is not None, a_max is not None), x, *present)


def _weak(value: Any, dtype: np.dtype) -> Any:
    """A constant bound in x's dtype when x is floating (a float64 array must not upcast)."""
    if value is None or isinstance(value, (int, float)) or dtype.kind != "f":
        return value
    return np.asarray(value, dtype=dtype)


def clamp(input: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """torch's name and arguments for `clip`: limit values to [min, max]."""
    return clip(input, min, max)


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
