"""Reductions: sum, mean, max, min (var and std built from them), prod, and the running
cumsum and cumprod, with NumPy's axis/keepdims."""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.ops.arguments import (
    apply,
    as_plain,
    as_tensor,
    axis_and_keep,
    check_nonempty,
    data_of,
    kept_shape,
    mask_like,
    normalize_axis,
    pick,
)
from autograd_cv.ops.elementwise import Where, maximum, minimum, sqrt
from autograd_cv.ops.shape import BroadcastTo, getitem, squeeze
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


def sum(  # noqa: A001
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Sum over `axis` or `dim` (int, tuple, or None for all)."""
    axis, keepdims = axis_and_keep("sum", axis, keepdims, dim, keepdim)
    return apply(Sum(normalize_axis(axis, np.ndim(data_of(x)), "sum"), keepdims), x)


def mean(
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Mean over `axis` or `dim`."""
    axis, keepdims = axis_and_keep("mean", axis, keepdims, dim, keepdim)
    return apply(Mean(normalize_axis(axis, np.ndim(data_of(x)), "mean"), keepdims), x)


class ValuesIndices(NamedTuple):
    """What torch's `max(dim)`/`min(dim)` return: the values and where they are."""

    values: Tensor
    indices: Tensor


def _extreme(
    name: str, x: Any, dim: Any, keepdim: bool, axis: Any, keepdims: bool
) -> Tensor | ValuesIndices:
    """NumPy's max/min over `axis`, or torch's (values, indices) along one int `dim`."""
    if isinstance(dim, (Tensor, np.ndarray)):  # torch.max(a, b): the elementwise maximum
        return (maximum if name == "max" else minimum)(x, dim)
    if dim is None or not isinstance(dim, (int, np.integer)):
        axis = pick(name, "axis", axis, "dim", dim)
        keepdims = bool(pick(name, "keepdims", keepdims, "keepdim", keepdim or None))
        return apply(Extreme(name, normalize_axis(axis, np.ndim(data_of(x)), name), keepdims), x)
    if axis is not None:
        raise TypeError(f"{name}: got both axis={axis!r} and dim={dim!r}; give one")
    raw = data_of(x)
    axes = normalize_axis(dim, np.ndim(raw), name)
    if not axes:  # dim 0 or -1 of a scalar is the scalar, as in torch
        return ValuesIndices(as_tensor(x), Tensor(np.zeros((), np.int64)))
    (dim,) = axes
    check_nonempty(name, raw, (dim,))
    where = (np.argmax if name == "max" else np.argmin)(raw, axis=dim, keepdims=True)
    # The gradient goes to the one element picked, as torch's max(dim) does.
    index = list(np.ogrid[tuple(slice(n) for n in raw.shape)])
    index[dim] = where
    values = getitem(x, tuple(index))
    keep = keepdim or keepdims
    if not keep:
        values, where = squeeze(values, dim), np.squeeze(where, dim)
    return ValuesIndices(values, Tensor(where.astype(np.int64)))


def max(  # noqa: A001
    x: Any,
    dim: Any = None,
    keepdim: bool = False,
    *,
    axis: Any = None,
    keepdims: bool = False,
) -> Tensor | ValuesIndices:
    """Maximum: over `axis` (NumPy; tied maxima share the gradient) or, for an int `dim`,
    torch's `(values, indices)`; `max(a, b)` with a tensor `b` is `maximum(a, b)`."""
    return _extreme("max", x, dim, keepdim, axis, keepdims)


def min(  # noqa: A001
    x: Any,
    dim: Any = None,
    keepdim: bool = False,
    *,
    axis: Any = None,
    keepdims: bool = False,
) -> Tensor | ValuesIndices:
    """Minimum, as `max`: `axis` gives the values, an int `dim` gives (values, indices)."""
    return _extreme("min", x, dim, keepdim, axis, keepdims)


def _arg(name: str, x: Any, axis: Any, keepdims: bool) -> Tensor:
    raw = data_of(x)
    if raw.size == 0:
        raise ValueError(f"{name}: cannot reduce an empty array of shape {raw.shape}")
    if axis is not None:
        (axis,) = normalize_axis(axis, np.ndim(raw), name)
    found = (np.argmax if name == "argmax" else np.argmin)(raw, axis=axis, keepdims=keepdims)
    return Tensor(as_plain(found, np.int64))  # on raw's device (CuPy gives 0-d arrays)


def argmax(
    x: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    axis: int | None = None,
    keepdims: bool = False,
) -> Tensor:
    """Indices (int64) of the maxima along `dim`/`axis`, or into the flattened array."""
    axis, keepdims = axis_and_keep("argmax", axis, keepdims, dim, keepdim or None)
    return _arg("argmax", x, axis, keepdims)


def argmin(
    x: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    axis: int | None = None,
    keepdims: bool = False,
) -> Tensor:
    """Indices (int64) of the minima along `dim`/`axis`, or into the flattened array."""
    axis, keepdims = axis_and_keep("argmin", axis, keepdims, dim, keepdim or None)
    return _arg("argmin", x, axis, keepdims)


def var(
    x: Any,
    axis: Any = None,
    keepdims: bool = False,
    ddof: int | None = None,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
    unbiased: bool | None = None,
    correction: int | None = None,
) -> Tensor:
    """Variance over `axis` with NumPy's `ddof` (default 0), or torch's spelling: with `dim=`,
    `unbiased=` or `correction=` the default is torch's unbiased estimate (correction 1)."""
    torch_spelling = dim is not None or unbiased is not None or correction is not None
    axis, keepdims = axis_and_keep("var", axis, keepdims, dim, keepdim)
    if unbiased is not None:
        if correction is not None:
            raise TypeError("var: got both unbiased= and correction=; give one")
        correction = int(unbiased)
    ddof = pick("var", "ddof", ddof, "correction", correction)
    if ddof is None:
        ddof = 1 if torch_spelling else 0
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim, "var")
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    centred = x - mean(x, axes, keepdims=True)
    return sum(centred * centred, axes, keepdims) / builtins.max(count - ddof, 0)


def std(x: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Standard deviation: the square root of `var` (same arguments and defaults)."""
    return sqrt(var(x, *args, **kwargs))


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
