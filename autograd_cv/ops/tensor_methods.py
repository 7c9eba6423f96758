"""The Tensor's operators and NumPy-named methods, installed on the class by `install()`.

`tensor.py` holds what a tensor *is*; everything a tensor *does* is an op, and lives
above it. This module is the one place that connects the two: `x + y` is `Add()(x, y)`,
`x.sum(axis)` is `ops.sum(x, axis)`, and so on. `autograd_cv/ops/__init__.py` calls
`install()` once, so the methods exist as soon as the package is imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.autograd.node import is_grad_enabled
from autograd_cv.ops import elementwise, indexing, linalg, reduce, shape, sort
from autograd_cv.ops import math as math_ops
from autograd_cv.ops.arguments import data_of
from autograd_cv.ops.elementwise import Add, Divide, Multiply, Negative, Subtract
from autograd_cv.ops.linalg import MatMul
from autograd_cv.tensor import Tensor


class TensorMethods:
    """The methods `install()` copies onto Tensor (a class only to keep them together)."""

    # ----- arithmetic: Nodes called directly, the hot path of every model ---------------
    def __add__(self, other: Any) -> Tensor:
        return Add()(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return Add()(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return Subtract()(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return Subtract()(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return Multiply()(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return Multiply()(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return Divide()(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return Divide()(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return elementwise.power(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return elementwise.power(base, self)

    def __neg__(self) -> Tensor:
        return Negative()(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return elementwise.abs(self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul()(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul()(other, self)

    def __lt__(self, other: Any) -> Tensor:
        return elementwise.less(self, other)

    def __le__(self, other: Any) -> Tensor:
        return elementwise.less_equal(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return elementwise.greater(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return elementwise.greater_equal(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return elementwise.equal(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return elementwise.not_equal(self, other)

    def __getitem__(self, index: Any) -> Tensor:
        return shape.getitem(self, index)

    # ----- NumPy-named methods ----------------------------------------------------------
    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return elementwise.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return elementwise.log(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return elementwise.sqrt(self)

    def abs(self) -> Tensor:
        """Elementwise absolute value."""
        return elementwise.abs(self)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Tensor:
        """Limit values to [a_min, a_max]."""
        return elementwise.clip(self, a_min, a_max)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Sum over `axis` (int, tuple or None for all)."""
        return reduce.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Mean over `axis`."""
        return reduce.mean(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance over `axis` (NumPy's `ddof`)."""
        return reduce.var(self, axis, keepdims, ddof)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Maximum over `axis`; ties share the gradient."""
        return reduce.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Minimum over `axis`; ties share the gradient."""
        return reduce.min(self, axis, keepdims)

    def argmax(self, axis: int | None = None) -> Tensor:
        """Indices of the maxima (not differentiable)."""
        return Tensor(np.argmax(self.data, axis=axis))

    def argmin(self, axis: int | None = None) -> Tensor:
        """Indices of the minima (not differentiable)."""
        return Tensor(np.argmin(self.data, axis=axis))

    def reshape(self, *new_shape: Any) -> Tensor:
        """Same data, new shape (one entry may be -1)."""
        if len(new_shape) == 1 and isinstance(new_shape[0], (tuple, list)):
            new_shape = tuple(new_shape[0])
        return shape.reshape(self, new_shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute axes (reverse them when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return shape.transpose(self, axes or None)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        return shape.swapaxes(self, axis1, axis2)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        """Axes reversed."""
        return shape.transpose(self, None)

    def flatten(self) -> Tensor:
        """A 1-D copy of the values (NumPy's flatten)."""
        return shape.flatten(self)

    def squeeze(self, axis: Any = None) -> Tensor:
        """Remove axes of length one."""
        return shape.squeeze(self, axis)

    def astype(self, dtype: Any) -> Tensor:
        """The values cast to `dtype` (differentiable between float types)."""
        return elementwise.astype(self, dtype)

    def dot(self, other: Any) -> Tensor:
        """Matrix product, as `self @ other`."""
        return linalg.matmul(self, other)

    # ----- methods for the ops of issue 14 (NumPy-style names and `axis`) ---------------
    def flip(self, axis: Any = None) -> Tensor:
        """Reverse the order of elements along `axis`."""
        return shape.flip(self, axis)

    def roll(self, shift: Any, axis: Any = None) -> Tensor:
        """Shift elements cyclically along `axis`."""
        return shape.roll(self, shift, axis)

    def tile(self, reps: Any) -> Tensor:
        """Repeat the whole tensor `reps` times along each axis."""
        return shape.tile(self, reps)

    def chunk(self, chunks: int, axis: int = 0) -> list[Tensor]:
        """Split into `chunks` pieces along `axis`."""
        return shape.chunk(self, chunks, axis)

    def tril(self, k: int = 0) -> Tensor:
        """Lower triangle of the last two axes."""
        return shape.tril(self, k)

    def triu(self, k: int = 0) -> Tensor:
        """Upper triangle of the last two axes."""
        return shape.triu(self, k)

    def gather(self, axis: int, index: Any) -> Tensor:
        """out[i][j] = self[index[i][j]][j] along `axis` (PyTorch's gather)."""
        return indexing.gather(self, axis, index)

    def take_along_axis(self, indices: Any, axis: int) -> Tensor:
        """NumPy's take_along_axis."""
        return indexing.take_along_axis(self, indices, axis)

    def scatter_add(self, axis: int, index: Any, src: Any) -> Tensor:
        """A copy with `src` added at `index` along `axis` (not in place)."""
        return indexing.scatter_add(self, axis, index, src)

    def index_add(self, axis: int, index: Any, source: Any, alpha: float = 1.0) -> Tensor:
        """A copy with `source` slices added at positions `index` along `axis`."""
        return indexing.index_add(self, axis, index, source, alpha)

    def cumsum(self, axis: int | None = None) -> Tensor:
        """Cumulative sum along `axis`."""
        return reduce.cumsum(self, axis)

    def cumprod(self, axis: int | None = None) -> Tensor:
        """Cumulative product along `axis`."""
        return reduce.cumprod(self, axis)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Product over `axis`."""
        return reduce.prod(self, axis, keepdims)

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Standard deviation over `axis` (NumPy's `ddof`)."""
        return reduce.std(self, axis, keepdims, ddof)

    def sort(self, axis: int = -1, descending: bool = False) -> Tensor:
        """The values sorted along `axis` (a new tensor; differentiable)."""
        return sort.sort(self, axis, descending)

    def argsort(self, axis: int = -1, descending: bool = False) -> Tensor:
        """Indices that sort along `axis`."""
        return sort.argsort(self, axis, descending)

    def topk(self, k: int, axis: int = -1, largest: bool = True) -> tuple[Tensor, Tensor]:
        """The k largest (or smallest) values along `axis` and their indices."""
        return sort.topk(self, k, axis, largest)

    def sin(self) -> Tensor:
        """Elementwise sine."""
        return math_ops.sin(self)

    def cos(self) -> Tensor:
        """Elementwise cosine."""
        return math_ops.cos(self)

    def log2(self) -> Tensor:
        """Elementwise base-2 logarithm."""
        return math_ops.log2(self)

    def sign(self) -> Tensor:
        """Elementwise sign."""
        return math_ops.sign(self)

    def erf(self) -> Tensor:
        """Elementwise error function."""
        return math_ops.erf(self)

    # ----- end of the issue 14 methods ---------------------------------------------------

    # ----- in place: on `.data`, each bumping the version counter -------------------------
    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        """In place: self += alpha * other."""
        return _write(self, "add_", self.data + alpha * data_of(other))

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        """In place: self -= alpha * other."""
        return _write(self, "sub_", self.data - alpha * data_of(other))

    def mul_(self, other: Any) -> Tensor:
        """In place: self *= other."""
        return _write(self, "mul_", self.data * data_of(other))

    def zero_(self) -> Tensor:
        """In place: fill with zeros."""
        return _write(self, "zero_", np.zeros_like(self.data))

    def fill_(self, value: float) -> Tensor:
        """In place: fill with one value."""
        return _write(self, "fill_", np.full_like(self.data, value))

    def copy_(self, source: Any) -> Tensor:
        """In place: copy values from `source` (broadcast to this shape)."""
        return _write(self, "copy_", np.broadcast_to(data_of(source), self.shape))

    def __setitem__(self, index: Any, value: Any) -> None:
        _check_inplace(self, "__setitem__")
        if self.node is not None:
            raise RuntimeError(
                "__setitem__: writing into a tensor made by a recorded op would corrupt the "
                f"graph of '{self.node.name}'; write into a detached copy instead"
            )
        parts = index if isinstance(index, tuple) else (index,)
        cleaned = tuple(data_of(part) for part in parts)
        self.data[cleaned if isinstance(index, tuple) else cleaned[0]] = data_of(value)
        self.bump_version()


def _check_inplace(tensor: Tensor, op: str) -> None:
    if tensor.requires_grad and tensor.node is None and is_grad_enabled():
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad is being changed in place while "
            "grad mode is on; wrap the update in `with ag.no_grad():`"
        )


def _write(tensor: Tensor, op: str, value: np.ndarray) -> Tensor:
    _check_inplace(tensor, op)
    np.copyto(tensor.data, value, casting="same_kind")
    tensor.bump_version()
    return tensor


def install() -> None:
    """Copy every method of `TensorMethods` onto `Tensor` (once, at package import)."""
    for name, member in vars(TensorMethods).items():
        if name not in _CLASS_MACHINERY:
            setattr(Tensor, name, member)
    Tensor.__hash__ = object.__hash__  # defining __eq__ must not make tensors unhashable


_CLASS_MACHINERY = {
    "__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__firstlineno__",
    "__static_attributes__",
}  # fmt: skip
