"""Recorders that watch a backward (and forward) pass for the graph drawer.

The engine keeps no intermediate gradients and no timings. These recorders are
observers in `autograd_cv.autograd.node.observers` for the length of a `with` block:

    with viz.record_grads() as rec:
        loss.backward()
    viz.draw_graph(loss, model=model, show_grads=rec)

    with viz.profile() as prof:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    viz.draw_graph(loss, profile=prof); print(prof.table())

They key what they record by the Node itself through weak references, so they never
keep a graph alive; the values they store are norms, seconds and byte counts.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd_cv.autograd import node as node_module
from autograd_cv.autograd.engine import unbroadcast
from autograd_cv.autograd.node import Node
from autograd_cv.tensor import Tensor


# ----- constants seen during backward ------------------------------------------------------
@dataclass(frozen=True)
class ConstantInfo:
    """What the drawer shows for an input that needed no gradient (a constant)."""

    name: str | None
    shape: tuple[int, ...]
    dtype: str
    #: the value's text when it is a single number (a lifted Python scalar), else None
    value: str | None
    tensor: weakref.ReferenceType[Tensor]


def describe_constant(tensor: Tensor) -> ConstantInfo:
    """Metadata of a constant input, kept weakly so drawing never holds its data."""
    data = tensor.data
    value = None
    if data.ndim == 0:
        item = data.item()
        value = f"{item:.4g}" if isinstance(item, float) else str(item)
    return ConstantInfo(tensor.name, data.shape, str(data.dtype), value, weakref.ref(tensor))


#: per node, its constant inputs (position, info), captured by any recorder during backward
#: before the driver releases the node's inputs, so a drawing after backward still shows them
_constants_seen: weakref.WeakKeyDictionary[Node, tuple[tuple[int, ConstantInfo], ...]] = (
    weakref.WeakKeyDictionary()
)


def _remember_constants(node: Node) -> None:
    inputs = node.inputs
    if inputs is None or node in _constants_seen or all(e is not None for e in node.edges):
        return
    _constants_seen[node] = constant_inputs(node)


def constant_inputs(node: Node) -> tuple[tuple[int, ConstantInfo], ...]:
    """A node's constant inputs: from its live inputs, or as a recorder saw them in backward."""
    inputs = node.inputs
    if inputs is not None:
        return tuple(
            (i, describe_constant(t))
            for i, (edge, t) in enumerate(zip(node.edges, inputs))
            if edge is None
        )
    return _constants_seen.get(node, ())


class _Observer:
    """Adds itself to the engine's observers inside a `with` block."""

    def __enter__(self) -> Any:
        node_module.observers.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        node_module.observers.remove(self)
        self._finish()

    def _finish(self) -> None:
        """Called when the block ends."""

    def on_forward(self, node: Node | None, seconds: float, result: Tensor) -> None:
        """Called after each op's forward (node is None when the op was not recorded)."""

    def on_backward(self, node: Node, seconds: float, input_grads: tuple[Any, ...]) -> None:
        """Called after each node's vjp with its input cotangents."""


class _TensorMap:
    """Values keyed weakly by Tensor identity.

    `weakref.WeakKeyDictionary` compares keys with `==`, which on Tensors is elementwise.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ReferenceType[Tensor], Any]] = {}

    def put(self, tensor: Tensor, value: Any) -> None:
        key = id(tensor)
        entries = self._entries

        def forget(_ref: Any, key: int = key) -> None:
            entries.pop(key, None)

        self._entries[key] = (weakref.ref(tensor, forget), value)

    def get(self, tensor: Tensor) -> Any:
        entry = self._entries.get(id(tensor))
        return entry[1] if entry is not None and entry[0]() is tensor else None


# ----- gradient norms ---------------------------------------------------------------------
def grad_norm(grad: Any) -> float:
    """The L2 norm of a cotangent (ndarray or Tensor), in float64; NaN/Inf propagate."""
    array = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
    if array.size == 0:
        return 0.0
    return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))


@dataclass(frozen=True)
class NodeGrads:
    """Gradient norms around one node: of its output, and of each input's cotangent."""

    #: norm of the cotangent of the node's output (None for a root: the seed was not seen)
    output: float | None
    #: per input position, the norm of the cotangent the vjp sent to it (None if none)
    inputs: tuple[float | None, ...]


# Held strongly, so `with viz.record_grads(): ...` works without naming the recorder; it
# keeps only norms (its keys are weak), so holding it keeps no graph alive.
_latest_recorder: GradRecorder | None = None


def latest_recorder() -> GradRecorder | None:
    """The most recently started `record_grads()` recorder, if any."""
    return _latest_recorder


class GradRecorder(_Observer):
    """Records, during backward, the gradient norm at every node and along every edge.

    A node's output gradient is the sum of the cotangents its consumers send it, so the
    recorder adds them up (reduced to the node's shape, as the driver does) until the
    node's own vjp runs, then keeps only the norm. Use `record_grads()`.
    """

    def __init__(self) -> None:
        self._nodes: weakref.WeakKeyDictionary[Node, NodeGrads] = weakref.WeakKeyDictionary()
        self._leaves = _TensorMap()
        # cotangents still being summed: by Node, or by leaf Tensor until the block ends
        self._pending: dict[Node | Tensor, Any] = {}

    def __enter__(self) -> GradRecorder:
        global _latest_recorder
        _latest_recorder = self
        return super().__enter__()

    def on_backward(self, node: Node, seconds: float, input_grads: tuple[Any, ...]) -> None:
        """Store the norms of the node's output gradient and of each input cotangent."""
        _remember_constants(node)
        total = self._pending.pop(node, None)
        norms: list[float | None] = []
        for edge, grad in zip(node.edges, input_grads):
            if grad is None or edge is None:  # nothing flows to an input that needs no grad
                norms.append(None)
                continue
            array = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
            # reduced as the driver reduces it: the norm of what the input receives
            array = unbroadcast(array, tuple(edge.shape))
            norms.append(grad_norm(array))
            previous = self._pending.get(edge)
            self._pending[edge] = array if previous is None else previous + array
        output = None if total is None else grad_norm(total)
        self._nodes[node] = NodeGrads(output, tuple(norms))

    def _finish(self) -> None:
        for key, total in self._pending.items():
            if isinstance(key, Tensor):
                self._leaves.put(key, grad_norm(total))
        self._pending.clear()

    def node(self, node: Node) -> NodeGrads | None:
        """The norms recorded at `node`, or None if its backward was not recorded."""
        return self._nodes.get(node)

    def leaf(self, tensor: Tensor) -> float | None:
        """The norm of the gradient a leaf received while recording, or None."""
        pending = self._pending.get(tensor)
        if pending is not None:
            return grad_norm(pending)
        return self._leaves.get(tensor)

    def __len__(self) -> int:
        return len(self._nodes)


def record_grads() -> GradRecorder:
    """`with viz.record_grads() as rec: loss.backward()` records gradient norms for drawing."""
    return GradRecorder()


# ----- timing -----------------------------------------------------------------------------
@dataclass
class OpTiming:
    """Forward and backward wall time and output size of one recorded node."""

    name: str
    sequence: int
    shape: tuple[int, ...]
    forward_seconds: float = 0.0
    backward_seconds: float = 0.0
    nbytes: int = 0
    forward_calls: int = 0
    backward_calls: int = 0

    @property
    def seconds(self) -> float:
        """Forward plus backward time."""
        return self.forward_seconds + self.backward_seconds


@dataclass
class _Totals:
    calls: int = 0
    forward_seconds: float = 0.0
    backward_seconds: float = 0.0
    nbytes: int = 0
    nodes: list[OpTiming] = field(default_factory=list)


#: the row name for ops that ran without recording a node (no input needed grad)
UNRECORDED = "(not recorded)"


class Profiler(_Observer):
    """Times every op's forward and backward and notes its output bytes. Use `profile()`."""

    def __init__(self) -> None:
        self.timings: list[OpTiming] = []
        self._by_node: weakref.WeakKeyDictionary[Node, OpTiming] = weakref.WeakKeyDictionary()
        self.unrecorded = _Totals()
        self.wall_seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> Profiler:
        self._started = time.perf_counter()
        return super().__enter__()

    def _finish(self) -> None:
        self.wall_seconds += time.perf_counter() - self._started

    def on_forward(self, node: Node | None, seconds: float, result: Tensor) -> None:
        """Time one forward; ops that recorded no node are pooled in one row."""
        if node is None:
            self.unrecorded.calls += 1
            self.unrecorded.forward_seconds += seconds
            self.unrecorded.nbytes += result.data.nbytes
            return
        timing = OpTiming(node.name, node.sequence, tuple(node.shape), seconds, 0.0)
        timing.nbytes = result.data.nbytes
        timing.forward_calls = 1
        self.timings.append(timing)
        self._by_node[node] = timing

    def on_backward(self, node: Node, seconds: float, input_grads: tuple[Any, ...]) -> None:
        """Add one vjp's time to its node (a node made before profiling gets a row here)."""
        _remember_constants(node)
        timing = self._by_node.get(node)
        if timing is None:
            timing = OpTiming(node.name, node.sequence, tuple(node.shape))
            if node.dtype is not None:
                timing.nbytes = int(np.prod(node.shape)) * np.dtype(node.dtype).itemsize
            self.timings.append(timing)
            self._by_node[node] = timing
        timing.backward_seconds += seconds
        timing.backward_calls += 1

    def timing(self, node: Node) -> OpTiming | None:
        """What was measured for `node`, or None."""
        return self._by_node.get(node)

    @property
    def total_seconds(self) -> float:
        """Sum of all measured forward and backward op times."""
        return (
            sum(t.seconds for t in self.timings)
            + self.unrecorded.forward_seconds
            + self.unrecorded.backward_seconds
        )

    def share(self, seconds: float) -> float:
        """`seconds` as a fraction of the total measured op time."""
        total = self.total_seconds
        return seconds / total if total > 0 else 0.0

    def rows(self, by: str = "op") -> list[dict[str, Any]]:
        """Measurements as dicts sorted by total time, per op type (`by="op"`) or per node."""
        if by == "node":
            rows = [
                {
                    "op": t.name,
                    "node": f"#{t.sequence}",
                    "shape": t.shape,
                    "calls": max(t.forward_calls, t.backward_calls),
                    "forward_ms": t.forward_seconds * 1e3,
                    "backward_ms": t.backward_seconds * 1e3,
                    "bytes": t.nbytes,
                    "share": self.share(t.seconds),
                }
                for t in self.timings
            ]
        elif by == "op":
            groups: dict[str, _Totals] = {}
            for t in self.timings:
                group = groups.setdefault(t.name, _Totals())
                group.calls += max(t.forward_calls, t.backward_calls)
                group.forward_seconds += t.forward_seconds
                group.backward_seconds += t.backward_seconds
                group.nbytes += t.nbytes
            if self.unrecorded.calls:
                groups[UNRECORDED] = self.unrecorded
            rows = [
                {
                    "op": name,
                    "calls": g.calls,
                    "forward_ms": g.forward_seconds * 1e3,
                    "backward_ms": g.backward_seconds * 1e3,
                    "bytes": g.nbytes,
                    "share": self.share(g.forward_seconds + g.backward_seconds),
                }
                for name, g in groups.items()
            ]
        else:
            raise ValueError(f"Profiler.rows: by must be 'op' or 'node', got {by!r}")
        rows.sort(key=lambda r: (-(r["forward_ms"] + r["backward_ms"]), r["op"]))
        return rows

    def table(self, top: int = 15) -> str:
        """The measurements as text: per op type, then the `top` slowest nodes."""
        header = f"{'calls':>6} {'forward ms':>11} {'backward ms':>12} {'output':>10} {'share':>7}"

        def numbers(row: dict[str, Any]) -> str:
            return (
                f"{row['calls']:>6} {row['forward_ms']:>11.3f} {row['backward_ms']:>12.3f} "
                f"{format_bytes(row['bytes']):>10} {row['share']:>7.1%}"
            )

        by_op = self.rows("op")
        width = max([len("per op type"), *(len(r["op"]) for r in by_op)]) + 2
        lines = [f"{'per op type':<{width}}{header}"]
        lines += [f"{r['op']:<{width}}{numbers(r)}" for r in by_op]
        total = {
            "calls": sum(r["calls"] for r in by_op),
            "forward_ms": sum(r["forward_ms"] for r in by_op),
            "backward_ms": sum(r["backward_ms"] for r in by_op),
            "bytes": sum(r["bytes"] for r in by_op),
            "share": 1.0 if by_op else 0.0,
        }
        lines.append(f"{'total':<{width}}{numbers(total)}")
        by_node = self.rows("node")[:top]
        if by_node:
            labels = [f"{r['node']} {r['op']} {r['shape']}" for r in by_node]
            width = max(len(f"slowest {len(by_node)} nodes"), *map(len, labels)) + 2
            lines += ["", f"{f'slowest {len(by_node)} nodes':<{width}}{header}"]
            lines += [f"{label:<{width}}{numbers(r)}" for label, r in zip(labels, by_node)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def profile() -> Profiler:
    """`with viz.profile() as p:` times each op's forward and backward; see `p.table()`."""
    return Profiler()


def format_bytes(nbytes: int) -> str:
    """A byte count for people: 512 B, 12.5 KB, 3.1 MB."""
    value = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
