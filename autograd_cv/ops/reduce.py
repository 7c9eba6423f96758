"""Reductions: sum, mean, max, min (var and std built from them), prod, and the running
cumsum and cumprod, with NumPy's axis/keepdims."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.ops.arguments import (
    apply,
    as_tensor,
    check_nonempty,
    data_of,
    kept_shape,
    mask_like,
    normalize_axis,
)
from autograd_cv.ops.elementwise import Where, sqrt
from autograd_cv.ops.shape import BroadcastTo
from autograd_cv.tensor import Tensor


class Sum(Node):
    name = "sum"
    saves_inputs = False

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, grad, out, x):
        shape = data_of(x).shape
        return (BroadcastTo(shape)(grad.reshape(kept_shape(shape, self.axes))),)


class Mean(Node):
    name = "mean"
    saves_inputs = False

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.mean(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, grad, out, x):
        shape = data_of(x).shape
        count = int(np.prod([shape[a] for a in self.axes])) if self.axes else 1
        grad = grad.reshape(kept_shape(shape, self.axes)) / count
        return (BroadcastTo(shape)(grad),)


class Extreme(Node):
    """max or min over axes; ties share the gradient equally (as PyTorch's amax/amin)."""

    def __init__(self, name: str, axes: tuple[int, ...], keepdims: bool) -> None:
        self.name = name  # type: ignore[misc]
        self.reduce = np.max if name == "max" else np.min
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        check_nonempty(self.name, x, self.axes)
        return self.reduce(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, grad, out, x):
        x_raw = data_of(x)
        kept = kept_shape(x_raw.shape, self.axes)
        winners = x_raw == self.reduce(x_raw, axis=self.axes, keepdims=True)
        share = mask_like(winners, grad)
        share = share / share.sum(axis=self.axes, keepdims=True)
        return (BroadcastTo(x_raw.shape)(grad.reshape(kept)) * share,)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over `axis` (int, tuple, or None for all)."""
    return apply(Sum(normalize_axis(axis, np.ndim(data_of(x)), "sum"), keepdims), x)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over `axis`."""
    return apply(Mean(normalize_axis(axis, np.ndim(data_of(x)), "mean"), keepdims), x)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over `axis`; tied maxima share the gradient."""
    return apply(Extreme("max", normalize_axis(axis, np.ndim(data_of(x)), "max"), keepdims), x)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over `axis`; tied minima share the gradient."""
    return apply(Extreme("min", normalize_axis(axis, np.ndim(data_of(x)), "min"), keepdims), x)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over `axis` with NumPy's `ddof` (built from differentiable ops)."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "var")
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    centred = x - mean(x, axes, keepdims=True)
    return sum(centred * centred, axes, keepdims) / builtins.max(count - ddof, 0)


# ----- cumsum, cumprod, prod, std (issue 14) ------------------------------------------------
class Cumsum(Node):
    """Running sum along one axis; `reverse` sums from the end (the adjoint of cumsum)."""

    name = "cumsum"
    saves_inputs = False

    def __init__(self, axis: int, reverse: bool = False) -> None:
        self.axis, self.reverse = axis, reverse

    def forward(self, x):
        if not self.reverse:
            return np.cumsum(x, axis=self.axis)
        return np.flip(np.cumsum(np.flip(x, self.axis), axis=self.axis), self.axis)

    def vjp(self, grad, out, x):
        return (Cumsum(self.axis, not self.reverse)(grad),)


class Cumprod(Node):
    """Running product along one axis, with gradients exact at zeros too."""

    name = "cumprod"
    saves_output = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        return np.cumprod(x, axis=self.axis)

    def vjp(self, grad, out, x):
        axis, x_raw = self.axis, data_of(x)
        nonzero = x_raw != 0
        # Where x_i != 0: d/dx_i = sum_{j >= i} g_j out_j / x_i.
        divided = Cumsum(axis, reverse=True)(grad * out) / Where(nonzero)(x, 1.0)
        if nonzero.all():
            return (divided,)
        # At a zero x_i, out_j / x_i is undefined: there the gradient is
        # sum_{j >= i} g_j cumprod(x with that one zero set to 1)_j. Zeros are taken by their
        # rank in the line (first, second, ...), one vectorised pass per rank.
        rank = np.cumsum(~nonzero, axis=axis) * ~nonzero
        result = divided * mask_like(nonzero, grad)
        for r in range(1, int(rank.max()) + 1):
            this_zero = rank == r
            lifted = Cumprod(axis)(Where(this_zero)(1.0, x))
            result = Where(this_zero)(Cumsum(axis, reverse=True)(grad * lifted), result)
        return (result,)


def _one_axis(axis: Any, ndim: int, op: str) -> int | None:
    if axis is None:
        return None
    axes = normalize_axis(axis, ndim, op)
    return axes[0] if axes else None


def cumsum(x: Any, axis: int | None = None) -> Tensor:
    """Cumulative sum along `axis` (None: over the flattened array), as np.cumsum."""
    x = as_tensor(x)
    axis_ = _one_axis(axis, x.ndim, "cumsum")
    return Cumsum(0)(x.reshape(-1)) if axis_ is None else Cumsum(axis_)(x)


def cumprod(x: Any, axis: int | None = None) -> Tensor:
    """Cumulative product along `axis` (None: over the flattened array), as np.cumprod."""
    x = as_tensor(x)
    axis_ = _one_axis(axis, x.ndim, "cumprod")
    return Cumprod(0)(x.reshape(-1)) if axis_ is None else Cumprod(axis_)(x)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Product over `axis` (int, tuple or None for all); gradients exact at zeros."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "prod")
    rest = [a for a in range(x.ndim) if a not in axes]
    # The reduced axes last and flattened: the product is the last running product.
    moved = x.transpose(rest + list(axes)) if x.ndim else x
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    lines = moved.reshape(*[x.shape[a] for a in rest], count)
    if count == 0:
        out = lines.sum(axis=-1) * 0 + 1
    else:
        out = Cumprod(len(rest))(lines)[..., -1]
    return out.reshape(kept_shape(x.shape, axes)) if keepdims else out


def std(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation over `axis` with NumPy's `ddof` (sqrt of var)."""
    return sqrt(var(x, axis, keepdims, ddof))
