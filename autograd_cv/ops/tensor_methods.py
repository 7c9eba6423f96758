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

from autograd_cv import backend, devices
from autograd_cv.autograd.grad_mode import is_grad_enabled
from autograd_cv.autograd.node import binary
from autograd_cv.ops import activation, elementwise, indexing, linalg, reduce, shape, sort
from autograd_cv.ops import math as math_ops
from autograd_cv.ops.arguments import data_of, pick
from autograd_cv.ops.device import to_device
from autograd_cv.ops.elementwise import Add, Divide, Multiply, Negative, Subtract
from autograd_cv.ops.linalg import MatMul
from autograd_cv.tensor import Tensor


class TensorMethods:
    """The methods `install()` copies onto Tensor (a class only to keep them together)."""

    # ----- Python conversions ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_host(self.data), separator=", ", prefix="tensor(")
        extras = []
        if self.device != devices.CPU:
            extras.append(f"device='{self.device}'")
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
        """The underlying ndarray (shares memory; no graph); a GPU tensor needs `.cpu()` first."""
        if type(self.data) is not np.ndarray and self.device != devices.CPU:
            raise TypeError(
                f"numpy: can't convert a tensor on device '{self.device}' to a NumPy array; "
                "call .cpu() first to copy it to host memory"
            )
        return self.data

    def tolist(self) -> Any:
        """The values as nested Python lists."""
        return backend.to_host(self.data).tolist()

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

    # ----- arithmetic: Nodes applied directly (autograd/node.py: binary), the hot path ----
    def __add__(self, other: Any) -> Tensor:
        return binary(Add(), self, other)

    def __radd__(self, other: Any) -> Tensor:
        return binary(Add(), other, self)

    def __sub__(self, other: Any) -> Tensor:
        return binary(Subtract(), self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return binary(Subtract(), other, self)

    def __mul__(self, other: Any) -> Tensor:
        return binary(Multiply(), self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return binary(Multiply(), other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return binary(Divide(), self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return binary(Divide(), other, self)

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
        return binary(MatMul(), self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return binary(MatMul(), other, self)

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

    def sum(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        """Sum over `axis`/`dim` (int, tuple or None for all)."""
        return reduce.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        """Mean over `axis`/`dim`."""
        return reduce.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, *args: Any, **kwargs: Any) -> Tensor:
        """Variance (NumPy's `ddof`, default 0; with torch's `dim=` torch's unbiased default)."""
        return reduce.var(self, *args, **kwargs)

    def std(self, *args: Any, **kwargs: Any) -> Tensor:
        """Standard deviation, with `var`'s arguments."""
        return reduce.std(self, *args, **kwargs)

    def max(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool = False
    ) -> Any:
        """Maximum over `axis` (NumPy), or torch's (values, indices) for an int `dim`."""
        return reduce.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool = False
    ) -> Any:
        """Minimum over `axis` (NumPy), or torch's (values, indices) for an int `dim`."""
        return reduce.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool = False
    ) -> Tensor:
        """Indices of the maxima (int64, not differentiable)."""
        return reduce.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool = False
    ) -> Tensor:
        """Indices of the minima (int64, not differentiable)."""
        return reduce.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def all(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        """Whether every element is true (over `axis`/`dim`)."""
        return Tensor(np.all(self.data, axis=pick("all", "axis", axis, "dim", dim)))

    def any(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        """Whether any element is true (over `axis`/`dim`)."""
        return Tensor(np.any(self.data, axis=pick("any", "axis", axis, "dim", dim)))

    # ----- shape: NumPy's and torch's names ---------------------------------------------
    def reshape(self, *new_shape: Any) -> Tensor:
        """Same data, new shape (one entry may be -1)."""
        return shape.reshape(self, _sizes(new_shape))

    def view(self, *new_shape: Any) -> Tensor:
        """torch's name for reshape (the result may share memory, as a view does)."""
        return shape.reshape(self, _sizes(new_shape))

    def view_as(self, other: Any) -> Tensor:
        """Reshaped to `other`'s shape."""
        return shape.reshape(self, np.shape(data_of(other)))

    reshape_as = view_as

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to `sizes` (-1 keeps an axis), as torch's expand."""
        sizes = _sizes(sizes)
        offset = len(sizes) - self.ndim
        target = [
            self.shape[i - offset] if n == -1 and i >= offset else n for i, n in enumerate(sizes)
        ]
        return shape.broadcast_to(self, target)

    def expand_as(self, other: Any) -> Tensor:
        """Broadcast to `other`'s shape."""
        return shape.broadcast_to(self, np.shape(data_of(other)))

    def transpose(self, *axes: Any) -> Tensor:
        """Two ints swap those axes (torch); otherwise permute them (NumPy; none: reverse)."""
        return shape.transpose(self, *axes)

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the axes as `dims`."""
        return shape.permute(self, *dims)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        return shape.swapaxes(self, axis1, axis2)

    swapdims = swapaxes

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        """Axes reversed."""
        return shape.transpose(self, None)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - torch's name
        """The last two axes swapped (a batch of matrices transposed)."""
        return shape.swapaxes(self, -2, -1)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes start_dim..end_dim as one; with no arguments 1-D, as NumPy's flatten."""
        return shape.flatten(self, start_dim, end_dim)

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        """Remove axes of length one."""
        return shape.squeeze(self, axis, dim=dim)

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert an axis of length one at `dim`."""
        return shape.unsqueeze(self, dim)

    @property
    def size(self) -> ElementCount:
        """NumPy's element count (an int) that, called, is torch's `size()` / `size(dim)`."""
        return ElementCount(self.data.shape)

    def numel(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    nelement = numel

    def dim(self) -> int:
        """Number of axes."""
        return self.data.ndim

    # ----- dtype and device ---------------------------------------------------------------
    def astype(self, dtype: Any) -> Tensor:
        """The values cast to `dtype` (differentiable between float types)."""
        return elementwise.astype(self, dtype)

    def float(self) -> Tensor:
        """As float32."""
        return self if self.dtype == np.float32 else elementwise.astype(self, np.float32)

    def double(self) -> Tensor:
        """As float64."""
        return self if self.dtype == np.float64 else elementwise.astype(self, np.float64)

    def half(self) -> Tensor:
        """As float16."""
        return self if self.dtype == np.float16 else elementwise.astype(self, np.float16)

    def long(self) -> Tensor:
        """As int64."""
        return self if self.dtype == np.int64 else elementwise.astype(self, np.int64)

    def int(self) -> Tensor:
        """As int32."""
        return self if self.dtype == np.int32 else elementwise.astype(self, np.int32)

    def bool(self) -> Tensor:
        """As bool."""
        return self if self.dtype == np.bool_ else elementwise.astype(self, np.bool_)

    def type_as(self, other: Any) -> Tensor:
        """Cast to `other`'s dtype."""
        dtype = data_of(other).dtype
        return self if self.dtype == dtype else elementwise.astype(self, dtype)

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to this tensor."""
        return elementwise.astype(self, self.dtype)

    @property
    def device(self) -> devices.device:
        """Where the array lives: `device('cpu')`, `device('cuda', 0)`, ..."""
        if type(self.data) is np.ndarray:
            return devices.CPU
        return backend.device_of(self.data)

    @property
    def is_cuda(self) -> bool:
        """True when the array lives on a CUDA GPU."""
        return self.device.type == "cuda"

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """`to(device)`, `to(dtype)`, `to(device, dtype)` or `to(other)`, as torch."""
        kwargs.pop("non_blocking", None)
        copy = bool(kwargs.pop("copy", False))
        target_device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                target_device, dtype = arg.device, arg.dtype
            elif devices.is_device(arg):
                target_device = arg
            elif arg is not None:
                dtype = arg
        moved = self if target_device is None else to_device(self, target_device)
        if dtype is not None and np.dtype(dtype) != moved.dtype:
            return elementwise.astype(moved, dtype)
        return moved.clone() if copy and moved is self else moved

    def cpu(self) -> Tensor:
        """This tensor on the CPU (itself when it is already there)."""
        return to_device(self, devices.CPU)

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        """This tensor on a CUDA GPU (`device` is its index; the current one when None)."""
        return self.to("cuda" if device is None else devices.device("cuda", device))

    # ----- torch's method spellings of the elementwise ops ------------------------------------
    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        """self + alpha * other."""
        return Add()(self, other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        """self - alpha * other."""
        return Subtract()(self, other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        """self * other."""
        return binary(Multiply(), self, other)

    def div(self, other: Any) -> Tensor:
        """self / other."""
        return binary(Divide(), self, other)

    def pow(self, exponent: Any) -> Tensor:
        """self ** exponent."""
        return elementwise.power(self, exponent)

    def neg(self) -> Tensor:
        """-self."""
        return Negative()(self)

    def matmul(self, other: Any) -> Tensor:
        """self @ other."""
        return binary(MatMul(), self, other)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
        """Limit values to [min, max] (torch's name for clip)."""
        return elementwise.clamp(self, min, max)

    def eq(self, other: Any) -> Tensor:
        """self == other, elementwise."""
        return elementwise.equal(self, other)

    def ne(self, other: Any) -> Tensor:
        """self != other, elementwise."""
        return elementwise.not_equal(self, other)

    def lt(self, other: Any) -> Tensor:
        """self < other, elementwise."""
        return elementwise.less(self, other)

    def le(self, other: Any) -> Tensor:
        """self <= other, elementwise."""
        return elementwise.less_equal(self, other)

    def gt(self, other: Any) -> Tensor:
        """self > other, elementwise."""
        return elementwise.greater(self, other)

    def ge(self, other: Any) -> Tensor:
        """self >= other, elementwise."""
        return elementwise.greater_equal(self, other)

    def equal(self, other: Any) -> bool:
        """True when `other` has this shape and the same values (torch.equal)."""
        return bool(np.array_equal(self.data, data_of(other)))

    def relu(self) -> Tensor:
        """max(x, 0)."""
        return activation.relu(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x))."""
        return activation.sigmoid(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent."""
        return activation.tanh(self)

    def softmax(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        """Softmax along `dim`/`axis` (default -1)."""
        return activation.softmax(self, axis, dim=dim)

    def log_softmax(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        """log(softmax) along `dim`/`axis` (default -1)."""
        return activation.log_softmax(self, axis, dim=dim)

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


class ElementCount(int):
    """NumPy's `x.size`, an int, that answers torch's `x.size()` (the shape) when called."""

    def __new__(cls, shape: tuple[int, ...]) -> ElementCount:
        count = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        count.shape = shape
        return count

    def __call__(self, dim: int | None = None) -> tuple[int, ...] | int:
        if dim is None:
            return self.shape
        try:
            return self.shape[dim]
        except IndexError:
            raise IndexError(
                f"size: dim {dim} is out of range for a tensor of shape {self.shape}"
            ) from None


def _sizes(sizes: tuple[Any, ...]) -> tuple[int, ...]:
    """A shape given as separate ints or as one tuple/list."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    return tuple(int(n) for n in sizes)


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
