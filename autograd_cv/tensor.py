"""`Tensor`: one ndarray, whether it requires grad, its `.grad`, and the Node that made it.

This is the bottom of the engine: it imports nothing else from the package. The ops sit
above it, in `autograd_cv/ops/`; their NumPy- and torch-named methods and operators
(`x + y`, `x.sum(axis)`, `x.exp()`, `x.add_(y)`, ...) are installed on the class by
`autograd_cv/ops/tensor_methods.py`, so this file holds only what a tensor *is*.

Follow `loss.backward()`: `Tensor.backward` (here) -> `engine.backward`, which seeds the
cotangent, walks the `Node`s that `Node.__call__` recorded (autograd/node.py), and adds
the results into each leaf's `.grad` (autograd/engine.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd_cv.autograd.hooks import RemovableHandle, add_hook, note_post_hooks
from autograd_cv.backend import is_array, to_device
from autograd_cv.devices import resolve

if TYPE_CHECKING:
    from autograd_cv.autograd.node import Node

DEFAULT_FLOAT = np.float32

# One clock for the graph: creating a Node and writing a tensor in place both take a
# tick. A node created at tick t saw its inputs as they were then; an input whose last
# in-place write has a later tick was changed under it, and backward refuses to use it.
_ticks = itertools.count(1)


def tick() -> int:
    """Advance the graph's clock and return the new time."""
    return next(_ticks)


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
        self.hooks: dict[int, Callable] | None = None
        #: called with the leaf once its `.grad` is final in a backward (see the method below)
        self.post_accumulate_hooks: dict[int, Callable] | None = None
        #: clock tick of the last in-place write (0: never written); it only grows
        self.version: int = 0

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
    def is_leaf(self) -> bool:
        """True for tensors no recorded op produced (inputs and parameters)."""
        return self.node is None

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

    def backward(
        self,
        grad: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (PyTorch's semantics)."""
        # The driver sits above Tensor (it walks Nodes, which build on Tensor), so it is
        # looked up when called rather than imported with this module.
        from autograd_cv.autograd.engine import backward

        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call `hook(grad)` when this tensor's gradient is computed; it may return a new one."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        owner = self.node if self.node is not None else self
        if owner.hooks is None:
            owner.hooks = {}
        return add_hook(owner.hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call `hook(leaf)` as soon as this leaf's `.grad` is final, during the backward walk.

        The driver calls it right after the last op that feeds the leaf has run, while the
        rest of the graph is still being differentiated (data-parallel training starts its
        gradient communication from here). `ag.grad` does not call it.
        """

        if self.node is not None or not self.requires_grad:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: only a leaf tensor that requires grad "
                f"has an accumulated gradient (shape {self.shape})"
            )
        if self.post_accumulate_hooks is None:
            self.post_accumulate_hooks = {}
        note_post_hooks()
        return add_hook(self.post_accumulate_hooks, hook)

    def bump_version(self) -> None:
        """Record an in-place change of `.data` (done by every in-place method and optimizer).

        A backward that needs this tensor's values as they were when an op used them then
        raises instead of computing a wrong gradient.
        """
        self.version = tick()


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """ndarrays keep their dtype; Python floats become float32; ints stay integers."""
    if isinstance(data, Tensor):
        data = data.data
    if is_array(data):  # an ndarray, or an array of a device backend (cupy.ndarray)
        return data if dtype is None else data.astype(dtype, copy=False)
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype == np.float64 and not isinstance(data, np.generic):
        array = array.astype(DEFAULT_FLOAT)
    elif array.dtype.kind == "O":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}")
    return array


def tensor(
    data: Any,
    requires_grad: bool = False,
    dtype: Any = None,
    name: str | None = None,
    device: Any = None,
) -> Tensor:
    """Make a tensor: ndarrays keep their dtype, Python floats become float32."""
    if device is None:
        return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)
    array = to_device(_to_array(data, dtype), resolve(device, "tensor"))
    return Tensor(array, requires_grad=requires_grad, name=name)
