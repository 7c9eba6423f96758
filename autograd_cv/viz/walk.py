"""Collect what the drawer shows: the nodes reachable from the outputs, their leaves and
constants, the edges between them, and which module made each node.

The walk follows `node.edges`, exactly what backward follows, without recursion, and
numbers everything in creation order (`node.sequence`), so the same graph always gives
the same ids and the same DOT text.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autograd_cv.autograd.engine import topological_order
from autograd_cv.autograd.node import Node
from autograd_cv.tensor import Tensor
from autograd_cv.viz.recorders import ConstantInfo, constant_inputs

#: leaf kinds, each drawn in its own style: tensors that require grad (parameters), other
#: tensors (inputs: images, labels, masks) and single numbers lifted from Python (constants)
PARAMETER, INPUT, CONSTANT = "parameter", "input", "constant"


@dataclass
class Leaf:
    """A tensor no recorded op made: a parameter, an input or a constant."""

    id: str
    kind: str
    label: str
    shape: tuple[int, ...]
    dtype: str
    #: the Tensor while it is alive and known (for `.grad`), else None
    tensor: Tensor | None
    #: the number itself, for a single-number constant (drawn as plain text)
    value: str | None = None
    #: dotted name of the module that owns this parameter or internal constant, if any
    module: str | None = None
    #: True when the label is a name (from the model or Tensor.name), not a generic word
    named: bool = True


@dataclass
class OpBox:
    """One recorded node."""

    id: str
    node: Node
    module: str | None = None
    #: True when the op depends on an input (data flows through it), False when it only
    #: transforms parameters and constants (a Linear's weight.T); the layout straightens
    #: the data path
    data_path: bool = False


@dataclass
class Edge:
    """`source` (an op or leaf id) was input `position` of the op `target`."""

    source: str
    target: OpBox
    position: int


@dataclass
class ModuleInfo:
    """A module of the model that made some of the drawn nodes."""

    name: str
    type_name: str
    span: tuple[int, int]
    parameter_count: int


@dataclass
class GraphView:
    """Everything the drawer needs, in a deterministic order."""

    ops: list[OpBox] = field(default_factory=list)
    leaves: list[Leaf] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    modules: dict[str, ModuleInfo] = field(default_factory=dict)


def collect(outputs: Sequence[Tensor], model: Any = None, show_constants: bool = True) -> GraphView:
    """Walk the graph behind `outputs` the way backward does and describe it for drawing."""
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(f"draw_graph: outputs must be Tensors, got {type(out).__name__}")
    parameter_names: dict[Tensor, str] = {}
    if model is not None:
        for name, parameter in model.named_parameters():
            parameter_names.setdefault(parameter, name)

    view = GraphView()
    roots = [t.node for t in outputs if t.node is not None]
    nodes = topological_order(roots)[::-1]  # oldest first: stable ids
    box_of: dict[Node, OpBox] = {}
    for i, node in enumerate(nodes):
        box = OpBox(f"op{i}", node)
        box_of[node] = box
        view.ops.append(box)

    leaf_ids: dict[Tensor, str] = {}

    def leaf_id(tensor: Tensor) -> str:
        found = leaf_ids.get(tensor)
        if found is None:
            found = f"leaf{len(view.leaves)}"
            leaf_ids[tensor] = found
            view.leaves.append(_describe_leaf(found, tensor, parameter_names))
        return found

    for box in view.ops:
        node = box.node
        constants = dict(constant_inputs(node)) if show_constants else {}
        for position, edge in enumerate(node.edges):
            if edge is None:
                info = constants.get(position)
                if info is None:
                    # an input that needed no grad and is no longer known (freed by backward):
                    # most likely data, such as the images a model's first layer reads
                    box.data_path = True
                    continue
                source = _constant_id(view, info, leaf_ids)
            elif isinstance(edge, Node):
                source = box_of[edge].id
            else:
                source = leaf_id(edge)
            view.edges.append(Edge(source, box, position))

    _mark_data_path(view)
    for out in outputs:
        view.outputs.append(box_of[out.node].id if out.node is not None else leaf_id(out))

    if model is not None:
        _assign_modules(view, model)
    return view


def _mark_data_path(view: GraphView) -> None:
    """Flag the ops that an input (not only parameters and constants) flows into."""
    flagged = {leaf.id for leaf in view.leaves if leaf.kind == INPUT}
    flagged.update(box.id for box in view.ops if box.data_path)
    for edge in view.edges:  # grouped by target in creation order, sources come first
        if edge.source in flagged:
            edge.target.data_path = True
            flagged.add(edge.target.id)


def _describe_leaf(id_: str, tensor: Tensor, parameter_names: dict[Tensor, str]) -> Leaf:
    """Parameters require grad; inputs are other tensors; constants are unnamed numbers."""
    shape, dtype = tuple(tensor.shape), str(tensor.dtype)
    name = parameter_names.get(tensor)
    if name is not None:
        return Leaf(id_, PARAMETER, name, shape, dtype, tensor)
    if tensor.requires_grad:
        leaf = Leaf(id_, PARAMETER, tensor.name or PARAMETER, shape, dtype, tensor)
        leaf.named = bool(tensor.name)
        return leaf
    return _non_grad_leaf(id_, tensor.name, shape, dtype, tensor, _scalar_text(tensor))


def _non_grad_leaf(
    id_: str,
    name: str | None,
    shape: tuple[int, ...],
    dtype: str,
    tensor: Tensor | None,
    value: str | None,
) -> Leaf:
    if name:
        return Leaf(id_, INPUT, name, shape, dtype, tensor)
    if value is not None:
        return Leaf(id_, CONSTANT, CONSTANT, shape, dtype, tensor, value, named=False)
    return Leaf(id_, INPUT, INPUT, shape, dtype, tensor, named=False)


def _scalar_text(tensor: Tensor) -> str | None:
    if tensor.data.ndim != 0:
        return None
    item = tensor.data.item()
    return f"{item:.4g}" if isinstance(item, float) else str(item)


def _constant_id(view: GraphView, info: ConstantInfo, leaf_ids: dict[Tensor, str]) -> str:
    """The id of an input that needed no grad, shared when one live Tensor feeds several ops."""
    tensor = info.tensor()
    if tensor is not None and tensor in leaf_ids:
        return leaf_ids[tensor]
    id_ = f"leaf{len(view.leaves)}"
    view.leaves.append(_non_grad_leaf(id_, info.name, info.shape, info.dtype, tensor, info.value))
    if tensor is not None:
        leaf_ids[tensor] = id_
    return id_


def _assign_modules(view: GraphView, model: Any) -> None:
    """Give each node the innermost module whose call created it, and each parameter its owner.

    `Module.__call__` stores `_call_span = (first, last)`, two `next_sequence()` values taken
    around its forward; the nodes it created have first < sequence < last. A module called
    several times keeps only its last span.
    """
    modules: list[ModuleInfo] = []
    sizes: dict[str, int] = {}
    for name, parameter in model.named_parameters():
        parts = name.split(".")
        for depth in range(len(parts)):
            prefix = ".".join(parts[:depth])
            sizes[prefix] = sizes.get(prefix, 0) + int(parameter.data.size)
    for name, module in model.named_modules():
        span = getattr(module, "_call_span", None)
        if not name or span is None:
            continue  # the model itself would be one box around everything
        modules.append(ModuleInfo(name, type(module).__name__, tuple(span), sizes.get(name, 0)))

    sequences = [box.node.sequence for box in view.ops]  # ascending
    owners: list[str | None] = [None] * len(view.ops)
    # Outer spans first, so inner modules overwrite: each node ends with the innermost.
    for info in sorted(modules, key=lambda m: (m.span[0] - m.span[1], m.name)):
        first = bisect.bisect_right(sequences, info.span[0])
        last = bisect.bisect_left(sequences, info.span[1])
        if first < last:
            owners[first:last] = [info.name] * (last - first)
    known = {m.name: m for m in modules}
    used: set[str] = set()
    for box, owner in zip(view.ops, owners):
        box.module = owner
        if owner is not None:
            used.add(owner)
    for leaf in view.leaves:
        if leaf.kind == PARAMETER and "." in leaf.label:
            owner = leaf.label.rsplit(".", 1)[0]
            if owner in known:
                leaf.module = owner
                used.add(owner)
    _adopt_internal_leaves(view)
    # keep the modules that own something, and their ancestors so clusters nest
    for name in list(used):
        parts = name.split(".")
        for depth in range(1, len(parts)):
            prefix = ".".join(parts[:depth])
            if prefix in known:
                used.add(prefix)
    view.modules = {m.name: m for m in sorted(modules, key=lambda m: m.span) if m.name in used}


def _adopt_internal_leaves(view: GraphView) -> None:
    """Put unnamed constants a module makes for itself (LRN's scalars, a dropout mask) in it.

    Such a leaf feeds ops of one module only, and that module also takes data from an op
    outside it, so the leaf is not the model's input: it belongs inside the module's box.
    """
    consumers: dict[str, set[str | None]] = {}
    fed_by_op: set[str] = set()
    ops = {box.id: box for box in view.ops}
    for edge in view.edges:
        consumers.setdefault(edge.source, set()).add(edge.target.module)
        source = ops.get(edge.source)
        if source is not None and edge.target.module is not None:
            if source.module != edge.target.module:
                fed_by_op.add(edge.target.module)
    for leaf in view.leaves:
        if leaf.kind == PARAMETER or leaf.named:
            continue  # parameters have owners; named tensors are the user's own
        owners = consumers.get(leaf.id, set())
        if len(owners) == 1:
            (owner,) = owners
            if owner is not None and owner in fed_by_op:
                leaf.module = owner
                leaf.kind = leaf.label = CONSTANT  # the module's own, not the model's input
