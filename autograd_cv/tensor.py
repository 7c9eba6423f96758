"""`Tensor`: one ndarray, whether it requires grad, its `.grad`, and the Node that made it.

Methods and operators use NumPy's names and delegate to the ops in `autograd_cv.ops`;
the class itself holds no maths.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd_cv.autograd.clock import tick

if TYPE_CHECKING:
    from autograd_cv.autograd.node import Node

_FLOAT_DEFAULT = np.float32


class Tensor:
    """An n-dimensional array that records the ops applied to it when it requires grad."""

    __slots__ = (
        "data", "requires_grad", "grad", "node", "name", "hooks", "post_accumulate_hooks",
        "version", "__weakref__",
    )  # fmt: skip
    # NumPy's binary operators return NotImplemented, so `ndarray * Tensor` reaches __rmul__.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        array = _to_array(data, dtype)
        if requires_grad and array.dtype.kind not in "fc":
            raise TypeError(
                f"tensor: only floating-point tensors can require grad, got dtype {array.dtype}"
            )
        self.data: np.ndarray = array
        self.requires_grad: bool = bool(requires_grad)
        self.grad: Tensor | None = None
        self.node: Node | None = None
        self.name: str | None = name
        self.hooks: list[Callable] | None = None
        #: called with the leaf once its `.grad` is final in a backward (see the method below)
        self.post_accumulate_hooks: list[Callable] | None = None
        #: clock tick of the last in-place write (0: never written); it only grows
        self.version: int = 0

    # ----- what it is -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors no recorded op produced (inputs and parameters)."""
        return self.node is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != _FLOAT_DEFAULT:
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

    # Comparisons return boolean tensors, so identity is the hash, as in PyTorch.
    __hash__ = object.__hash__

    # ----- leaving the graph ----------------------------------------------------------------
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

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut off from the graph."""
        return Tensor(self.data, name=self.name)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set `requires_grad` on a leaf in place and return it."""
        if self.node is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad_: a tensor made by an op always requires grad; use detach()"
            )
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"requires_grad_: only floating-point tensors can require grad, got {self.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    # ----- differentiation ----------------------------------------------------------------
    def backward(
        self,
        grad: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (PyTorch's semantics)."""
        from autograd_cv.autograd.functional import backward

        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call `hook(grad)` when this tensor's gradient is computed; it may return a new one."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        owner = self.node if self.node is not None else self
        if owner.hooks is None:
            owner.hooks = []
        owner.hooks.append(hook)
        return RemovableHandle(owner.hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call `hook(leaf)` as soon as this leaf's `.grad` is final, during the backward walk.

        The backward driver calls it right after the last op that feeds the leaf has run,
        while the rest of the graph is still being differentiated (data-parallel training
        starts its gradient communication from here). `ag.grad` does not call it.
        """
        from autograd_cv.autograd import engine

        if self.node is not None or not self.requires_grad:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: only a leaf tensor that requires grad "
                f"has an accumulated gradient (shape {self.shape})"
            )
        if self.post_accumulate_hooks is None:
            self.post_accumulate_hooks = []
        self.post_accumulate_hooks.append(hook)
        engine.post_hooks_registered(+1)
        return RemovableHandle(
            self.post_accumulate_hooks, hook, functools.partial(engine.post_hooks_registered, -1)
        )

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

    # ----- in place (on data; bumps the version counter) ----------------------------------
    def _check_inplace(self, op: str) -> None:
        from autograd_cv.autograd.grad_mode import is_grad_enabled

        if self.requires_grad and self.node is None and is_grad_enabled():
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being changed in place while "
                "grad mode is on; wrap the update in `with ag.no_grad():`"
            )

    def _write(self, op: str, value: np.ndarray) -> Tensor:
        self._check_inplace(op)
        np.copyto(self.data, value, casting="same_kind")
        self.bump_version()
        return self

    def bump_version(self) -> None:
        """Record an in-place change of `.data` (done by every in-place method and optimizer).

        A backward that needs this tensor's values as they were when an op used them then
        raises instead of computing a wrong gradient.
        """
        self.version = tick()

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        """In place: self += alpha * other."""
        return self._write("add_", self.data + alpha * _data(other))

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        """In place: self -= alpha * other."""
        return self._write("sub_", self.data - alpha * _data(other))

    def mul_(self, other: Any) -> Tensor:
        """In place: self *= other."""
        return self._write("mul_", self.data * _data(other))

    def zero_(self) -> Tensor:
        """In place: fill with zeros."""
        return self._write("zero_", np.zeros_like(self.data))

    def fill_(self, value: float) -> Tensor:
        """In place: fill with one value."""
        return self._write("fill_", np.full_like(self.data, value))

    def copy_(self, source: Any) -> Tensor:
        """In place: copy values from `source` (broadcast to this shape)."""
        return self._write("copy_", np.broadcast_to(_data(source), self.shape))

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace("__setitem__")
        if self.node is not None:
            raise RuntimeError(
                "__setitem__: writing into a tensor made by a recorded op would corrupt the "
                f"graph of '{self.node.name}'; write into a detached copy instead"
            )
        self.data[_index(index)] = _data(value)
        self.bump_version()

    # ----- arithmetic -------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.subtract(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.subtract(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.multiply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.multiply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.divide(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return _ops.power(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return _ops.power(base, self)

    def __neg__(self) -> Tensor:
        return _ops.negative(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __lt__(self, other: Any) -> Tensor:
        return _ops.less(self, other)

    def __le__(self, other: Any) -> Tensor:
        return _ops.less_equal(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _ops.greater(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _ops.greater_equal(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _ops.equal(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _ops.not_equal(self, other)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    # ----- NumPy-named methods ----------------------------------------------------------
    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return _ops.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        """Elementwise absolute value."""
        return _ops.abs(self)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Tensor:
        """Limit values to [a_min, a_max]."""
        return _ops.clip(self, a_min, a_max)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Sum over `axis` (int, tuple or None for all)."""
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Mean over `axis`."""
        return _ops.mean(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance over `axis` (NumPy's `ddof`)."""
        return _ops.var(self, axis, keepdims, ddof)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Maximum over `axis`; ties share the gradient."""
        return _ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Minimum over `axis`; ties share the gradient."""
        return _ops.min(self, axis, keepdims)

    def argmax(self, axis: int | None = None) -> Tensor:
        """Indices of the maxima (not differentiable)."""
        return Tensor(np.argmax(self.data, axis=axis))

    def argmin(self, axis: int | None = None) -> Tensor:
        """Indices of the minima (not differentiable)."""
        return Tensor(np.argmin(self.data, axis=axis))

    def reshape(self, *shape: Any) -> Tensor:
        """Same data, new shape (one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute axes (reverse them when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        return _ops.swapaxes(self, axis1, axis2)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        """Axes reversed."""
        return _ops.transpose(self, None)

    def flatten(self) -> Tensor:
        """A 1-D copy of the values (NumPy's flatten)."""
        return _ops.flatten(self)

    def squeeze(self, axis: Any = None) -> Tensor:
        """Remove axes of length one."""
        return _ops.squeeze(self, axis)

    def astype(self, dtype: Any) -> Tensor:
        """The values cast to `dtype` (differentiable between float types)."""
        return _ops.astype(self, dtype)

    def dot(self, other: Any) -> Tensor:
        """Matrix product, as `self @ other`."""
        return _ops.matmul(self, other)


class RemovableHandle:
    """Returned by `register_hook`; `remove()` takes the hook off again."""

    def __init__(self, hooks: list, hook: Callable, on_remove: Callable | None = None) -> None:
        self._hooks = hooks
        self._hook = hook
        self._on_remove = on_remove

    def remove(self) -> None:
        """Take the hook off."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
            if self._on_remove is not None:
                self._on_remove()


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """ndarrays keep their dtype; Python floats become float32; ints stay integers."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype == np.float64 and not isinstance(data, np.generic):
        array = array.astype(_FLOAT_DEFAULT)
    elif array.dtype.kind == "O":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}")
    return array


def _data(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_data(i) for i in index)
    return _data(index)


def tensor(
    data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
) -> Tensor:
    """Make a tensor: ndarrays keep their dtype, Python floats become float32."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensors(values: Sequence[Any]) -> list[Tensor]:
    """Wrap each value that is not yet a Tensor."""
    return [v if isinstance(v, Tensor) else Tensor(v) for v in values]


# Imported last: the ops build on Tensor, and Tensor's methods call the ops.
from autograd_cv import ops as _ops  # noqa: E402
