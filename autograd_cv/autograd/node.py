"""`Node`: one application of an op, the one place that records the graph, and grad mode.

An op is a `Node` subclass with two methods that sit next to each other:

- `forward(*arrays) -> ndarray` computes on raw ndarrays;
- `vjp(grad_output, output, *inputs) -> tuple` maps the output's cotangent to one
  cotangent per input (None where no gradient is needed).

One dispatch serves both: a Node applied to plain ndarrays computes and records
nothing; applied to Tensors it records itself. A vjp that needs a differentiable op
calls that op's Node (`Exp()(x)`, `Where(mask)(a, b)`) or an operator the same way
whatever it is given, so each vjp has one code path: an ordinary backward runs it on
ndarrays (nothing is wrapped or recorded), and `create_graph=True` runs it on Tensors,
where every step is itself recorded and can be differentiated again.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, ClassVar

import numpy as np

from autograd_cv.autograd import values
from autograd_cv.autograd.grad_mode import _mode
from autograd_cv.backend import backend_of
from autograd_cv.tensor import Tensor, _ticks, tick

#: Objects with `on_forward(node, seconds, result)` and `on_backward(node, seconds, grads)`
#: (the profiler, anomaly mode). Empty in normal use, where the check costs one lookup.
observers: list[Any] = []


def next_sequence() -> int:
    """Advance and return the creation counter; nodes made after this call have larger ones.

    `nn.Module.__call__` takes one before and one after `forward`, so the nodes created
    inside a module's forward are exactly those whose `sequence` lies between the two.
    """
    return tick()


class Node:
    """One application of an op: `forward` on ndarrays, `vjp` on cotangents."""

    #: the op's name as users call it; the graph drawer and error messages use it
    name: ClassVar[str] = "op"
    #: False for ops with no gradient (comparisons); they never record a node
    differentiable: ClassVar[bool] = True
    #: True when `vjp` needs the forward output (exp, sigmoid, relu, ...)
    saves_output: ClassVar[bool] = False
    #: False when `vjp` never reads its inputs' values (add, reshape, sum, ...), so an
    #: in-place change to an input after the forward cannot make its gradient wrong
    saves_inputs: ClassVar[bool] = True
    #: True for a cast, whose float64 output is asked for, not NumPy's promotion
    casts: ClassVar[bool] = False

    # Filled in by __call__ when the application is recorded.
    inputs: tuple[Tensor, ...] | None = None
    #: per input: its producing Node, the leaf Tensor itself, or None (no grad needed)
    edges: tuple[Node | Tensor | None, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    output_ref: weakref.ReferenceType[Tensor] | None = None
    output_data: np.ndarray | None = None
    shape: tuple[int, ...] = ()
    dtype: np.dtype | None = None
    #: arrays an op keeps from forward for its vjp (masks, argmax indices, ...)
    saved: Any = None
    hooks: dict | None = None
    #: set by the backward driver once saved values are released
    freed: bool = False
    #: creation order; a node's inputs always come earlier, so it orders backward
    sequence: int = 0

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        """Compute the op on ndarrays."""
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def vjp(self, grad_output: Any, output: Any, *inputs: Any) -> tuple[Any, ...]:
        """Map the output's cotangent to one cotangent per input."""
        raise NotImplementedError(f"{self.name} has no vjp: it is not differentiable")

    def __call__(self, *args: Any) -> Any:
        """Apply the op: on ndarrays just compute; on Tensors compute and maybe record."""
        if len(args) == 2:  # most ops: the spelled-out path below
            return binary(self, args[0], args[1])
        return self._apply(args)

    def _apply(self, args: tuple[Any, ...]) -> Any:
        """`__call__` for any arguments: lift scalars, tell observers, compute, record."""
        inputs = args
        for value in args:
            if not isinstance(value, Tensor):
                if not any(isinstance(other, Tensor) for other in args):
                    return self._compute(args)
                inputs = values.lift(args)
                break
        if observers:
            return _observed_call(self, inputs)
        if len(inputs) == 1:
            first = inputs[0]
            out = self.forward(first.data)
            try:
                needs = _NEEDS_ONE[first.requires_grad]
            except (IndexError, TypeError):  # requires_grad set to something not a bool
                needs = (bool(first.requires_grad),)
        else:
            arrays = [t.data for t in inputs]
            values.one_kind(self.name, arrays)
            out = self.forward(*arrays)
            needs = tuple([bool(t.requires_grad) for t in inputs])
        if type(out) is not np.ndarray:
            out = values.as_output(out)
        if out.dtype.char == "d" and not self.casts:  # float64 only from a float64 input
            out = values.default_float(out, [t.data for t in inputs])
        return _output(self, inputs, out, needs)

    def _compute(self, arrays: tuple[Any, ...]) -> np.ndarray:
        """The plain-array path: forward only, with scalars as weak as beside Tensors."""
        for value in arrays:
            if type(value) is not np.ndarray:
                arrays = values.plain_arrays(self.name, arrays)
                break
        out = self.forward(*arrays)
        if type(out) is not np.ndarray:
            out = values.as_output(out)
        if out.dtype.char == "d" and not self.casts:
            out = values.default_float(out, arrays)
        return out

    def release(self) -> None:
        """Drop the inputs and arrays kept for the vjp (the graph's shape stays)."""
        self.inputs = None
        self.output_data = None
        self.saved = None
        self.freed = True

    def __repr__(self) -> str:
        return f"<{self.name} node {self.shape}>"


def _output(node: Node, inputs: tuple[Tensor, ...], out: np.ndarray, needs: tuple) -> Tensor:
    """The output Tensor; records `node` when grad mode is on and an input needs grad."""
    result = _new_tensor(Tensor)
    result.data = out
    result.grad = result.name = result.hooks = None
    result.version = 0
    if True not in needs or not _mode.enabled or not node.differentiable:
        result.requires_grad = False
        result.node = None
        return result
    result.requires_grad = True
    result.node = node
    node.inputs = inputs
    node.needs_input_grad = needs
    if len(inputs) == 1:
        first = inputs[0]
        node.edges = (first.node or (first if needs[0] else None),)
    else:
        node.edges = tuple([t.node or (t if need else None) for t, need in zip(inputs, needs)])
    node.sequence = next(_ticks)  # tick(), without the call
    if node.saves_output:
        node.output_data = out
        node.output_ref = weakref.ref(result)
    node.shape = out.shape
    node.dtype = out.dtype
    return result


# Every op's output is one: a bare Tensor, its slots filled in by _output.
_new_tensor = Tensor.__new__

# `needs_input_grad` of one- and two-input ops, indexed by requires_grad: shared tuples,
# since a tuple built per op is an allocation the garbage collector then counts and scans.
_NEEDS_ONE = ((False,), (True,))
_NEEDS_TWO = (((False, False), (False, True)), ((True, False), (True, True)))


def binary(node: Node, first: Any, second: Any) -> Any:
    """`node(first, second)`: the path of every two-Tensor op, spelled out in one frame.

    The Tensor operators (`x * w`, `y + b`) call it directly. Two Tensors with nobody
    observing make the output and record it here, without `_apply`'s argument loops or
    `_output`'s call: 16% of a chained op's forward (benchmarks/overhead.py). Anything
    else (scalars, plain arrays, observers) takes the general path.
    """
    if observers or not (isinstance(first, Tensor) and isinstance(second, Tensor)):
        return node._apply((first, second))
    a, b = first.data, second.data
    if type(a) is not type(b):  # rare: only then ask which devices
        values.same_device(node.name, [a, b])
    out = node.forward(a, b)
    if type(out) is not np.ndarray:
        out = values.as_output(out)
    if out.dtype.char == "d" and not node.casts:  # float64 only from a float64 input
        out = values.default_float(out, [a, b])
    result = _new_tensor(Tensor)
    result.data = out
    result.grad = result.name = result.hooks = None
    result.version = 0
    try:
        needs = _NEEDS_TWO[first.requires_grad][second.requires_grad]
    except (IndexError, TypeError):  # requires_grad set to something not a bool
        needs = (bool(first.requires_grad), bool(second.requires_grad))
    if not (needs[0] or needs[1]) or not _mode.enabled or not node.differentiable:
        result.requires_grad = False
        result.node = None
        return result
    result.requires_grad = True
    result.node = node
    node.inputs = (first, second)
    node.needs_input_grad = needs
    node.edges = (
        first.node or (first if needs[0] else None),
        second.node or (second if needs[1] else None),
    )
    node.sequence = next(_ticks)  # tick(), without the call
    if node.saves_output:
        node.output_data = out
        node.output_ref = weakref.ref(result)
    node.shape = out.shape
    node.dtype = out.dtype
    return result


def _observed_call(node: Node, inputs: tuple[Tensor, ...]) -> Tensor:
    """__call__ with the forward timed and reported to every observer."""
    arrays = [t.data for t in inputs]
    values.one_kind(node.name, arrays)
    start = time.perf_counter()
    out = node.forward(*arrays)
    if type(out) is not np.ndarray:
        out = values.as_output(out)
    if out.dtype.char == "d" and not node.casts:
        out = values.default_float(out, arrays)
    # A GPU queues its work: wait for it, so the time is the op's and not its launch's.
    backend_of(out).synchronize()
    seconds = time.perf_counter() - start
    result = _output(node, inputs, out, tuple([t.requires_grad for t in inputs]))
    for observer in list(observers):
        observer.on_forward(node if result.node is node else None, seconds, result)
    return result
