"""`draw_graph`: the graph behind some tensors as a Graphviz diagram.

One box per recorded op (its name as users call it, output shape, dtype), one oval per
leaf (parameters, inputs and constants in different colours), one arrow per input an
op consumed. Optionally: gradient norms recorded during backward (`show_grads`), op
timings (`profile`), and the model's modules as clusters or collapsed to one box each.
Building the diagram never runs `dot`; rendering does (see `viz.render`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import graphviz

from autograd_cv.tensor import Tensor
from autograd_cv.viz.recorders import (
    GradRecorder,
    Profiler,
    format_bytes,
    grad_norm,
    latest_recorder,
)
from autograd_cv.viz.render import Diagram
from autograd_cv.viz.walk import CONSTANT, INPUT, PARAMETER, GraphView, Leaf, OpBox, collect

FONT = "Helvetica"

# Light fills so black text stays readable on every one of them.
OP_FILL, OP_LINE = "#e3ecf7", "#3d5a80"
LEAF_STYLE = {
    PARAMETER: {"shape": "ellipse", "style": "filled", "fillcolor": "#c9e8c1", "color": "#2f6b25"},
    INPUT: {"shape": "ellipse", "style": "filled", "fillcolor": "#fff0b3", "color": "#8a6d00"},
    CONSTANT: {
        "shape": "ellipse",
        "style": "filled,dashed",
        "fillcolor": "#f0f0f0",
        "color": "#808080",
    },
}
MODULE_FILL, MODULE_LINE = "#e6dcf2", "#5e3c99"
#: gradient norm, small to large on a log scale (red is kept for NaN/Inf)
GRAD_STOPS = ("#9ecae1", "#8fd19e", "#f2e35c", "#f5a65b")
NONFINITE_FILL, NONFINITE_LINE = "#e41a1c", "#7f0000"
EXPLODING_LINE, VANISHING_LINE = "#b30000", "#404040"
#: share of the profiled time, none to the hottest op
HEAT_STOPS = ("#ffffff", "#fde0c5", "#fb9a63", "#e8543a")


@dataclass
class _Style:
    """Options `draw_graph` passes to the pieces that draw."""

    recorder: GradRecorder | None
    show_grads: bool
    profile: Profiler | None
    vanishing: float
    exploding: float
    grad_range: tuple[int, int] = (0, 1)
    max_share: float = 0.0
    kinds: set[str] = field(default_factory=set)


def draw_graph(
    *outputs: Tensor,
    model: Any = None,
    show_grads: bool | GradRecorder = False,
    profile: Profiler | None = None,
    collapse: str | None = None,
    collapse_depth: int | None = None,
    rankdir: str = "TB",
    show_constants: bool = True,
    vanishing: float = 1e-8,
    exploding: float = 1e3,
    legend: bool = True,
) -> graphviz.Digraph:
    """Draw the graph that produced `outputs`; returns a `graphviz.Digraph` (never runs `dot`).

    Ops are boxes (name, output shape, dtype); parameters, inputs and constants are ovals
    in three colours; arrows run from each input to the op that consumed it. The walk
    follows `node.edges` like backward, so drawing after `backward()` works; inputs that
    needed no grad are only known while the graph is alive or if a recorder watched the
    backward (`show_constants=False` hides them). The same graph gives the same DOT text.

    - `model`: an `nn.Module`; names parameters (`c1.weight`) and draws each module as a
      labelled cluster (`Module._call_span`; a module called twice keeps its last call).
    - `show_grads`: a `viz.record_grads()` recorder (or True for the latest one) colours
      nodes and edges by gradient norm on a log scale; NaN/Inf red, norms below
      `vanishing` dashed, above `exploding` thick-bordered. Without a recorder only leaf
      `.grad` values are known.
    - `profile`: a `viz.profile()` recorder; writes times, bytes and share of time on the
      ops and fills the hottest darkest (with `show_grads`, the border width shows time).
    - `collapse="module"` (with `model`): one box per module with its op and parameter
      counts. Modules are the innermost ones (`collapse_depth=None`) or those
      `collapse_depth` levels below the model (1: its direct children).
    - `rankdir`: "TB" (top to bottom), "LR", "BT" or "RL".
    """
    if rankdir not in ("TB", "BT", "LR", "RL"):
        raise ValueError(f"draw_graph: rankdir must be TB, BT, LR or RL, got {rankdir!r}")
    if collapse not in (None, "module"):
        raise ValueError(f"draw_graph: collapse must be None or 'module', got {collapse!r}")
    if collapse is not None and model is None:
        raise ValueError("draw_graph: collapse='module' needs model= to know the modules")
    if collapse_depth is not None and collapse_depth < 1:
        raise ValueError(f"draw_graph: collapse_depth must be >= 1, got {collapse_depth}")
    if not outputs:
        raise ValueError("draw_graph: give at least one output tensor")

    view = collect(outputs, model=model, show_constants=show_constants)
    recorder = show_grads if isinstance(show_grads, GradRecorder) else None
    if show_grads is True:
        recorder = latest_recorder()
    style = _Style(recorder, bool(show_grads), profile, vanishing, exploding)

    graph = Diagram(name="autograd_graph")
    graph.attr(rankdir=rankdir, fontname=FONT, fontsize="12", nodesep="0.25", ranksep="0.35")
    graph.attr("node", fontname=FONT, fontsize="11", margin="0.12,0.05", height="0.3")
    graph.attr("edge", color="#555555", arrowsize="0.7", fontname=FONT, fontsize="9")

    if collapse == "module":
        drawable = _collapse(view, collapse_depth)
    else:
        drawable = _Drawable.from_view(view)
    _measure(drawable, style)
    _emit(graph, drawable, view, style)
    if legend:
        _legend(graph, style)
    return graph


# ----- what gets drawn: ops, leaves and module boxes ---------------------------------------
@dataclass
class _Group:
    """A collapsed module: one box standing for several ops."""

    id: str
    module: str
    type_name: str
    boxes: list[OpBox]
    parameter_count: int


@dataclass
class _Drawable:
    """Nodes in emission order and the edges between their ids."""

    items: list[OpBox | Leaf | _Group]
    #: (source id, target id, per merged edge (consumer, input position) -> later its norm, kind)
    edges: list[tuple[str, str, list[Any], str]]
    clusters: dict[str, str | None]  # module -> parent module, for un-collapsed drawing
    cluster_of: dict[str, str | None]  # node id -> module
    #: node id -> "name · Type" of a one-op module drawn as a caption instead of a cluster
    captions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_view(cls, view: GraphView) -> _Drawable:
        leaves = {leaf.id: leaf for leaf in view.leaves}
        ops = {box.id: box for box in view.ops}
        items: list[OpBox | Leaf | _Group] = []
        emitted: set[str] = set()
        inbound: dict[str, list] = {}
        for edge in view.edges:
            inbound.setdefault(edge.target.id, []).append(edge)
        for box in view.ops:
            for edge in inbound.get(box.id, ()):
                if edge.source in leaves and edge.source not in emitted:
                    emitted.add(edge.source)
                    items.append(leaves[edge.source])
            items.append(box)
        items += [leaf for leaf in view.leaves if leaf.id not in emitted]
        edges = [
            (e.source, e.target.id, [(e.target, e.position)], _edge_kind(e, leaves, ops))
            for e in view.edges
        ]
        cluster_of: dict[str, str | None] = {box.id: box.module for box in view.ops}
        cluster_of.update({leaf.id: leaf.module for leaf in view.leaves})
        parents = _parents(view.modules)
        # A module holding one op and nothing else (ReLU, pooling) gets a caption beside its
        # op rather than a cluster: the data path would run through a cluster's title.
        members: dict[str, int] = {}
        for module in cluster_of.values():
            if module is not None:
                members[module] = members.get(module, 0) + 1
        with_children = {parent for parent in parents.values() if parent is not None}
        captions = {}
        for box in view.ops:
            module = box.module
            if module is not None and members[module] == 1 and module not in with_children:
                captions[box.id] = f"{module} · {view.modules[module].type_name}"
                cluster_of[box.id] = parents.pop(module)
        return cls(items, edges, parents, cluster_of, captions)


def _edge_kind(edge: Any, leaves: dict[str, Leaf], ops: dict[str, OpBox]) -> str:
    """What flows along an edge: a leaf's kind, "data" from ops inputs flow through, or "op"."""
    leaf = leaves.get(edge.source)
    if leaf is not None:
        return leaf.kind
    return "data" if ops[edge.source].data_path else "op"


def _parents(modules: dict[str, Any]) -> dict[str, str | None]:
    """Each module's nearest enclosing module among those drawn."""
    parents: dict[str, str | None] = {}
    for name in modules:
        parts = name.split(".")
        parent = None
        for depth in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:depth])
            if prefix in modules:
                parent = prefix
                break
        parents[name] = parent
    return parents


def _collapse(view: GraphView, depth: int | None) -> _Drawable:
    """Replace each module's ops (and its parameters) by one box."""

    def target(module: str | None) -> str | None:
        if module is None or depth is None:
            return module
        parts = module.split(".")
        return ".".join(parts[:depth]) if len(parts) > depth else module

    groups: dict[str, _Group] = {}
    where: dict[str, str] = {}  # op or absorbed leaf id -> group id
    for box in view.ops:
        name = target(box.module)
        if name is None:
            continue
        group = groups.get(name)
        if group is None:
            info = view.modules.get(name)
            group = _Group(
                f"module{len(groups)}",
                name,
                info.type_name if info else "Module",
                [],
                info.parameter_count if info else 0,
            )
            groups[name] = group
        group.boxes.append(box)
        where[box.id] = group.id
    for leaf in view.leaves:
        name = target(leaf.module)
        if name is not None and name in groups:
            where[leaf.id] = ""  # drawn as part of its module's box

    leaves = {leaf.id: leaf for leaf in view.leaves}
    ops = {box.id: box for box in view.ops}
    items: list[OpBox | Leaf | _Group] = []
    emitted: set[str] = set()
    merged: dict[tuple[str, str], tuple[list, str]] = {}
    for edge in view.edges:
        source = where.get(edge.source, edge.source)
        destination = where.get(edge.target.id, edge.target.id)
        if source == "" or source == destination:
            continue
        key = (source, destination)
        if key not in merged:
            merged[key] = ([], _edge_kind(edge, leaves, ops))
        merged[key][0].append((edge.target, edge.position))
    group_by_id = {g.id: g for g in groups.values()}
    sources_of: dict[str, list[str]] = {}
    for source, destination in merged:
        sources_of.setdefault(destination, []).append(source)
    for box in view.ops:
        own = where.get(box.id, box.id)
        for source in sources_of.get(own, ()):
            if source in leaves and source not in emitted:
                emitted.add(source)
                items.append(leaves[source])
        if own not in emitted:
            emitted.add(own)
            items.append(group_by_id[own] if own in group_by_id else box)
    items += [leaf for leaf in view.leaves if leaf.id not in emitted and where.get(leaf.id) != ""]
    edges = [(s, d, norms, kind) for (s, d), (norms, kind) in merged.items()]
    return _Drawable(items, edges, {}, {})


# ----- numbers: gradient norms and timings ------------------------------------------------
def _op_norm(box: OpBox, style: _Style) -> float | None:
    if style.recorder is None:
        return None
    grads = style.recorder.node(box.node)
    return grads.output if grads is not None else None


def _leaf_norm(leaf: Leaf, style: _Style) -> float | None:
    if leaf.tensor is None:
        return None
    if style.recorder is not None:
        recorded = style.recorder.leaf(leaf.tensor)
        if recorded is not None:
            return recorded
    grad = leaf.tensor.grad
    return grad_norm(grad) if grad is not None else None


def _edge_value(ref: Any, style: _Style) -> float | None:
    box, position = ref
    if style.recorder is None:
        return None
    grads = style.recorder.node(box.node)
    if grads is None or position >= len(grads.inputs):
        return None
    return grads.inputs[position]


def _item_norm(item: Any, style: _Style) -> float | None:
    if isinstance(item, OpBox):
        return _op_norm(item, style)
    if isinstance(item, Leaf):
        return _leaf_norm(item, style)
    return _op_norm(item.boxes[-1], style)


def _item_seconds(item: Any, style: _Style) -> tuple[float, float, int] | None:
    """Forward seconds, backward seconds and output bytes measured for an op or module."""
    if style.profile is None or isinstance(item, Leaf):
        return None
    boxes = item.boxes if isinstance(item, _Group) else [item]
    timings = [style.profile.timing(box.node) for box in boxes]
    timings = [t for t in timings if t is not None]
    if not timings:
        return None
    forward = sum(t.forward_seconds for t in timings)
    backward = sum(t.backward_seconds for t in timings)
    return forward, backward, timings[-1].nbytes


def _measure(drawable: _Drawable, style: _Style) -> None:
    """Resolve edge norms and find the ranges the colour scales span."""
    norms: list[float] = []
    for i, (source, target, refs, kind) in enumerate(drawable.edges):
        values = [_edge_value(ref, style) for ref in refs]
        known = [v for v in values if v is not None]
        value = None
        if known:
            value = math.nan if any(not math.isfinite(v) for v in known) else max(known)
        drawable.edges[i] = (source, target, [value], kind)
        if value is not None:
            norms.append(value)
    for item in drawable.items:
        if isinstance(item, Leaf):
            style.kinds.add(item.kind)
        else:
            style.kinds.add("module" if isinstance(item, _Group) else "op")
        if style.show_grads:
            value = _item_norm(item, style)
            if value is not None:
                norms.append(value)
        seconds = _item_seconds(item, style)
        if seconds is not None:
            style.max_share = max(style.max_share, style.profile.share(seconds[0] + seconds[1]))
    finite = [v for v in norms if math.isfinite(v) and v >= style.vanishing and v > 0]
    if finite:
        low = math.floor(math.log10(min(finite)))
        high = math.ceil(math.log10(max(finite)))
        style.grad_range = (low, max(high, low + 1))


def _ramp(t: float, stops: Sequence[str]) -> str:
    """The colour at `t` in [0, 1] along evenly spaced hex `stops`."""
    t = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    frac = t - i
    a = [int(stops[i][k : k + 2], 16) for k in (1, 3, 5)]
    b = [int(stops[i + 1][k : k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * frac):02x}" for x, y in zip(a, b))


def _grad_colour(value: float, style: _Style) -> str:
    low, high = style.grad_range
    if value <= 0:
        return GRAD_STOPS[0]
    return _ramp((math.log10(value) - low) / (high - low), GRAD_STOPS)


def _grad_text(value: float, style: _Style) -> str:
    if math.isnan(value):
        return "grad NaN"
    if math.isinf(value):
        return "grad Inf"
    text = f"grad {value:.2e}"
    if value < style.vanishing:
        return text + " (vanishing)"
    if value > style.exploding:
        return text + " (exploding)"
    return text


def _grad_attrs(value: float, style: _Style) -> dict[str, str]:
    """Fill and border for a node whose gradient norm is `value`."""
    if not math.isfinite(value):
        return {
            "fillcolor": NONFINITE_FILL,
            "color": NONFINITE_LINE,
            "fontcolor": "white",
            "penwidth": "2.5",
        }
    attrs = {"fillcolor": _grad_colour(value, style)}
    if value < style.vanishing:
        attrs.update(color=VANISHING_LINE, penwidth="2")
        attrs["style"] = "dashed"
    elif value > style.exploding:
        attrs.update(color=EXPLODING_LINE, penwidth="3")
    return attrs


def _format_ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


# ----- emitting DOT ---------------------------------------------------------------------------
def _shape_text(shape: tuple[int, ...], dtype: Any) -> str:
    return f"{tuple(shape)} {dtype}"


def _node_attrs(item: Any, style: _Style) -> tuple[list[str], dict[str, str]]:
    """Label lines and attributes of one drawn node."""
    if isinstance(item, Leaf):
        attrs = dict(LEAF_STYLE[item.kind])
        if item.value is not None:
            lines = [item.value]
            attrs.update(shape="plaintext", style="", fontcolor="#555555")
            attrs.pop("fillcolor")
            attrs.pop("color")
        else:
            lines = [item.label, _shape_text(item.shape, item.dtype)]
    elif isinstance(item, _Group):
        last = item.boxes[-1].node
        count = len(item.boxes)
        lines = [
            f"{item.module} · {item.type_name}",
            _shape_text(last.shape, last.dtype),
            f"{count} op{'s' if count != 1 else ''} · {item.parameter_count:,} params",
        ]
        attrs = {
            "shape": "box",
            "style": "filled",
            "fillcolor": MODULE_FILL,
            "color": MODULE_LINE,
            "penwidth": "1.5",
        }
    else:
        node = item.node
        lines = [node.name, _shape_text(node.shape, node.dtype)]
        attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": OP_FILL, "color": OP_LINE}

    if style.show_grads and not (isinstance(item, Leaf) and item.value is not None):
        value = _item_norm(item, style)
        if value is not None:
            lines.append(_grad_text(value, style))
            grad_attrs = _grad_attrs(value, style)
            if "style" in grad_attrs:
                grad_attrs["style"] = attrs.get("style", "filled") + ",dashed"
            attrs.update(grad_attrs)
    seconds = _item_seconds(item, style)
    if seconds is not None:
        forward, backward, nbytes = seconds
        share = style.profile.share(forward + backward)
        lines.append(f"fwd {_format_ms(forward)} ms · bwd {_format_ms(backward)} ms")
        lines.append(f"{format_bytes(nbytes)} · {share:.1%} of time")
        relative = share / style.max_share if style.max_share > 0 else 0.0
        if style.show_grads:
            # the fill shows the gradient, so the time goes to the border's width
            attrs.setdefault("penwidth", f"{1 + 3 * relative:.1f}")
        else:
            attrs["fillcolor"] = _ramp(relative, HEAT_STOPS)
            attrs["penwidth"] = f"{1 + 2 * relative:.1f}"
    return lines, attrs


def _emit(graph: graphviz.Digraph, drawable: _Drawable, view: GraphView, style: _Style) -> None:
    """Write nodes (inside their module clusters, if any), then edges."""
    outputs = set(view.outputs)
    clusters: dict[str, graphviz.Digraph] = {}
    for k, name in enumerate(drawable.clusters):
        info = view.modules[name]
        sub = graphviz.Digraph(name=f"cluster_{k}")
        sub.attr(
            label=f"{name} · {info.type_name}",
            style="rounded,dashed",
            color=MODULE_LINE,
            fontcolor=MODULE_LINE,
            fontsize="11",
            labeljust="l",
            margin="8",
        )
        clusters[name] = sub
    for item in drawable.items:
        lines, attrs = _node_attrs(item, style)
        member = item.boxes[-1].id if isinstance(item, _Group) else item.id
        if member in outputs or (isinstance(item, _Group) and _group_has_output(item, outputs)):
            attrs["peripheries"] = "2"
        caption = drawable.captions.get(item.id)
        if caption is not None:
            attrs["xlabel"] = (
                f'<<font color="{MODULE_LINE}" point-size="10">{html.escape(caption)}</font>>'
            )
        owner = drawable.cluster_of.get(item.id)
        target = clusters[owner] if owner is not None and owner in clusters else graph
        target.node(item.id, "\\n".join(lines), **attrs)
    # Attach the deepest clusters first: `subgraph()` copies a cluster's body as it is now.
    order = {name: k for k, name in enumerate(drawable.clusters)}
    for name in sorted(drawable.clusters, key=lambda n: (-n.count("."), order[n])):
        parent = drawable.clusters[name]
        (clusters[parent] if parent is not None else graph).subgraph(clusters[name])
    # With a data path, parameters (and ops on parameters only, like a Linear's weight.T)
    # may sit beside the op they feed (minlen=0) rather than a row above it, so modules do
    # not overlap in rows and the data path stays a straight column.
    beside = any(kind == "data" for *_, kind in drawable.edges)
    beside_count: dict[str, int] = {}
    for source, target, (value,), kind in drawable.edges:
        attrs: dict[str, str] = {}
        flip = False
        if beside and kind in (PARAMETER, CONSTANT, "op"):
            attrs["minlen"] = "0"
            if kind != "op":
                # A second leaf beside the same op (a conv's bias) goes to its right: the edge
                # is written op -> leaf and drawn backwards, as dot lays flat edges left to right.
                beside_count[target] = beside_count.get(target, 0) + 1
                flip = beside_count[target] % 2 == 0
        if kind == CONSTANT or kind == INPUT:
            attrs["color"] = "#999999"
        if kind == CONSTANT:
            attrs["style"] = "dashed"
        if style.show_grads and value is not None:
            if not math.isfinite(value):
                attrs.update(color=NONFINITE_FILL, penwidth="2.5")
            else:
                attrs.update(color=_grad_colour(value, style), penwidth="2")
                if value < style.vanishing:
                    attrs["style"] = "dashed"
            attrs["tooltip"] = _grad_text(value, style)
        if kind == "data":
            attrs["weight"] = "4"  # keeps the data path straight; parameters sit to the side
        if flip:
            graph.edge(target, source, dir="back", **attrs)
        else:
            graph.edge(source, target, **attrs)


def _group_has_output(group: _Group, outputs: set[str]) -> bool:
    return any(box.id in outputs for box in group.boxes)


def _cell(text: str, fill: str = "white", border: str = "1", font: str = "black") -> str:
    return (
        f'<td bgcolor="{fill}" border="{border}"><font color="{font}">{html.escape(text)}'
        "</font></td>"
    )


def _legend(graph: graphviz.Digraph, style: _Style) -> None:
    """One table node explaining the colours used in this drawing."""
    rows: list[list[str]] = []
    kinds = [
        ("op", "op", OP_FILL),
        ("module", "module (collapsed)", MODULE_FILL),
        (PARAMETER, "parameter (requires grad)", LEAF_STYLE[PARAMETER]["fillcolor"]),
        (INPUT, "input (no grad)", LEAF_STYLE[INPUT]["fillcolor"]),
        (CONSTANT, "constant", LEAF_STYLE[CONSTANT]["fillcolor"]),
    ]
    rows.append([_cell(text, fill) for kind, text, fill in kinds if kind in style.kinds])
    if style.show_grads:
        low, high = style.grad_range
        step = max(1, math.ceil((high - low) / 6))
        scale = [_cell("grad norm", border="0")]
        for exponent in range(low, high + 1, step):
            value = 10.0**exponent
            scale.append(_cell(f"1e{exponent}", _grad_colour(value, style)))
        rows.append(scale)
        rows.append(
            [
                _cell("NaN / Inf", NONFINITE_FILL, font="white"),
                _cell(f"vanishing < {style.vanishing:.0e} (dashed)"),
                _cell(f"exploding > {style.exploding:.0e} (thick border)"),
            ]
        )
    if style.profile is not None and style.show_grads:
        rows.append(
            [_cell(f"share of op time: border width, thickest = {style.max_share:.0%}", border="0")]
        )
    elif style.profile is not None:
        heat = [_cell("share of op time", border="0")]
        for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
            heat.append(_cell(f"{fraction * style.max_share:.0%}", _ramp(fraction, HEAT_STOPS)))
        rows.append(heat)
    body = "".join(
        '<tr><td border="0"><table border="0" cellspacing="2" cellpadding="3"><tr>'
        + "".join(cells)
        + "</tr></table></td></tr>"
        for cells in rows
        if cells
    )
    graph.node(
        "legend",
        f'<<table border="0" cellspacing="0" cellpadding="0">{body}</table>>',
        shape="plaintext",
        fontsize="10",
    )
