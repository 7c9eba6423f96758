"""The Tensor's operators and NumPy-named methods, installed on the class by `install()`.

`tensor.py` holds what a tensor *is*; everything a tensor *does* (Python conversions,
arithmetic, NumPy-named methods, in-place writes) lives here, above the ops it calls: `x + y`
is `Add()(x, y)`, `x.sum(axis)` is `ops.sum(x, axis)`, and so on. This module is the one
place that connects the two; `autograd_cv/ops/__init__.py` calls `install()` once, so the
methods exist as soon as the package is imported.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from autograd_cv.autograd.node import is_grad_enabled
from autograd_cv.ops import elementwise, linalg, reduce, shape
from autograd_cv.ops.arguments import data_of
from autograd_cv.ops.elementwise import Add, Divide, Multiply, Negative, Subtract
from autograd_cv.ops.linalg import MatMul
from autograd_cv.tensor import Tensor


class TensorMethods:
    """The methods `install()` copies onto Tensor (a class only to keep them together)."""

    # ----- Python conversions ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != np.float32:
            extras.append(f"dtype={self.data.dtype}")
        if self.node is not None:
            extras.append(f"grad_fn=<{self.node.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all() on its .numpy()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        return int(self.data.__index__())

    def item(self) -> Any:
        """The single value of a one-element tensor, as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert, got shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shares memory; no graph)."""
        return self.data

    def tolist(self) -> Any:
        """The values as nested Python lists."""
        return self.data.tolist()

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` after backward."""
        if self.node is None:
            return
        ref = weakref.ref(self)

        def store_grad(grad: Tensor) -> None:
            tensor = ref()
            if tensor is not None:
                tensor.grad = grad.detach() if tensor.grad is None else tensor.grad + grad.detach()

        self.register_hook(store_grad)

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
    # Comparisons return boolean tensors, so identity is the hash, as in PyTorch.
    Tensor.__hash__ = object.__hash__


_CLASS_MACHINERY = {
    "__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__firstlineno__",
    "__static_attributes__",
}  # fmt: skip
