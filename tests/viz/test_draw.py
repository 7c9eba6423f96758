"""draw_graph: exact DOT for small graphs, stable across runs, every registered op drawable."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_cv as ag
from autograd_cv import viz
from autograd_cv.autograd.engine import topological_order
from autograd_cv.testing.registry import OPS

GOLDEN = Path(__file__).parent / "golden"
#: set to regenerate the golden files after an intended change to the drawing
UPDATE = bool(os.environ.get("AUTOGRAD_CV_UPDATE_GOLDEN"))


def check_golden(name: str, source: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(source, encoding="utf-8")
    assert source == path.read_text(encoding="utf-8"), f"DOT differs from {path}"


def affine_sum():
    """(x * w + b).sum() with a named input, two named parameters and a lifted scalar."""
    x = ag.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), name="x")
    w = ag.tensor(np.full((2, 3), 0.5, dtype=np.float32), requires_grad=True, name="w")
    b = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="b")
    return (x * w + b).sum() * 2.0, (x, w, b)


def labels(graph) -> dict[str, str]:
    """node id -> label text, read back from the DOT source."""
    found = {}
    for line in graph.source.splitlines():
        match = re.match(r'\s*(\w+) \[label=(?:"([^"]*)"|([^ <]\S*))', line)
        if match:
            found[match.group(1)] = match.group(2) if match.group(2) is not None else match.group(3)
    return found


def test_small_graph_matches_golden_dot() -> None:
    loss, _ = affine_sum()
    check_golden("affine_sum.dot", viz.draw_graph(loss).source)


def test_same_graph_gives_same_text_twice_and_across_rebuilds() -> None:
    first, _ = affine_sum()
    second, _ = affine_sum()
    assert viz.draw_graph(first).source == viz.draw_graph(first).source
    assert viz.draw_graph(first).source == viz.draw_graph(second).source


def test_labels_name_ops_shapes_dtypes_and_leaves() -> None:
    loss, _ = affine_sum()
    text = labels(viz.draw_graph(loss))
    assert text["op0"] == "mul\\n(2, 3) float32"
    assert text["op1"] == "add\\n(2, 3) float32"
    assert text["op2"] == "sum\\n() float32"
    leaves = sorted(v for k, v in text.items() if k.startswith("leaf"))
    assert leaves == ["2", "b\\n(3,) float32", "w\\n(2, 3) float32", "x\\n(2, 3) float32"]


def test_leaf_kinds_are_styled_apart_and_unnamed_leaves_get_generic_labels() -> None:
    x = ag.tensor(np.ones((2, 2), dtype=np.float32))  # no grad, no name: an input
    w = ag.tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    source = viz.draw_graph((x @ w) * 3.0).source
    text = labels(viz.draw_graph((x @ w) * 3.0))
    assert sorted(text.values())[:3] == ["3", "input\\n(2, 2) float32", "matmul\\n(2, 2) float32"]
    assert "parameter\\n(2, 2) float32" in text.values()
    fills = set(re.findall(r'leaf\d+ \[label="[^"]*" color="[^"]*" fillcolor="([^"]+)"', source))
    assert len(fills) == 2  # parameter and input differ; the scalar is plain text
    assert "shape=plaintext" in source
    # the legend names exactly the kinds drawn
    assert "parameter (requires grad)" in source and "input (no grad)" in source


def test_edges_follow_node_edges_in_input_order() -> None:
    loss, _ = affine_sum()
    edges = re.findall(r"^\s*(\w+) -> (\w+)", viz.draw_graph(loss).source, re.M)
    assert edges == [
        ("leaf0", "op0"),
        ("leaf1", "op0"),
        ("op0", "op1"),
        ("leaf2", "op1"),
        ("op1", "op2"),
        ("op2", "op3"),
        ("leaf3", "op3"),
    ]


def test_a_tensor_used_twice_gives_one_leaf_with_two_edges() -> None:
    w = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="w")
    source = viz.draw_graph((w * w).sum()).source
    assert source.count('[label="w\\n') == 1
    assert len(re.findall(r"leaf0 -> op0", source)) == 2


def test_drawing_after_backward_matches_drawing_before_when_recorded() -> None:
    loss, _ = affine_sum()
    before = viz.draw_graph(loss).source
    with viz.record_grads():
        loss.backward()
    assert loss.node.freed and loss.node.inputs is None
    assert viz.draw_graph(loss).source == before


def test_after_unrecorded_backward_constants_are_gone_but_the_rest_stays() -> None:
    loss, _ = affine_sum()
    before = labels(viz.draw_graph(loss))
    loss.backward()
    after = labels(viz.draw_graph(loss))
    assert set(after.values()) == set(before.values()) - {"x\\n(2, 3) float32", "2"}


def test_show_constants_false_hides_inputs_that_need_no_grad() -> None:
    loss, _ = affine_sum()
    text = labels(viz.draw_graph(loss, show_constants=False))
    assert "x\\n(2, 3) float32" not in text.values() and "2" not in text.values()


def test_outputs_are_double_bordered_and_several_outputs_share_one_graph() -> None:
    w = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="w")
    h = ag.exp(w)
    source = viz.draw_graph(h.sum(), h.mean()).source
    assert source.count("peripheries=2") == 2
    assert source.count("exp\\n") == 1


def test_a_leaf_output_draws_as_its_leaf() -> None:
    w = ag.tensor(np.ones(3), requires_grad=True, name="w")
    text = labels(viz.draw_graph(w))
    assert list(text.values()) == ["w\\n(3,) float64"]


def test_bad_arguments_say_what_is_wrong() -> None:
    loss, _ = affine_sum()
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_graph(loss, rankdir="sideways")
    with pytest.raises(ValueError, match="model="):
        viz.draw_graph(loss, collapse="module")
    with pytest.raises(ValueError, match="collapse"):
        viz.draw_graph(loss, collapse="layer")
    with pytest.raises(TypeError, match="Tensors"):
        viz.draw_graph(np.ones(3))
    with pytest.raises(ValueError, match="at least one"):
        viz.draw_graph()


def test_rankdir_is_passed_to_graphviz() -> None:
    loss, _ = affine_sum()
    assert "rankdir=LR" in viz.draw_graph(loss, rankdir="LR").source


def test_ten_thousand_op_chain_draws_without_recursion() -> None:
    x = ag.tensor(np.ones(4, dtype=np.float32), requires_grad=True, name="x")
    y = x
    for _ in range(10_000):
        y = -y
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # a recursive walk of 10,000 nodes would fail
    try:
        graph = viz.draw_graph(y.sum())
    finally:
        sys.setrecursionlimit(limit)
    source = graph.source
    assert source.count("neg\\n(4,) float32") == 10_000
    assert "op9999 -> op10000" in source and len(re.findall(r" -> ", source)) == 10_001


def _registry_inputs(spec, values):
    inputs = []
    for i, value in enumerate(values):
        if i in spec.wrt:
            inputs.append(ag.tensor(np.asarray(value, dtype=np.float64), requires_grad=True))
        else:
            inputs.append(value)
    return inputs


@pytest.mark.parametrize("spec", OPS, ids=[spec.name for spec in OPS])
def test_every_registered_op_can_be_drawn(spec) -> None:
    @settings(max_examples=1, derandomize=True, database=None)
    @given(st.data())
    def check(data):
        values = data.draw(spec.inputs(), label="inputs")
        result = spec.fn(*_registry_inputs(spec, values))
        outputs = [result] if isinstance(result, ag.Tensor) else list(result)
        nodes = topological_order([o.node for o in outputs if o.node is not None])
        text = labels(viz.draw_graph(*outputs))
        drawn = [v.split("\\n")[0] for k, v in text.items() if k.startswith("op")]
        assert sorted(drawn) == sorted(node.name for node in nodes)
        assert "op" not in drawn, f"{spec.name}: a node has no name of its own"
        live = [o for o in outputs if o.node is not None]
        if spec.differentiable and live:
            assert not spec.nodes or {type(node) for node in nodes} & set(spec.nodes), spec.name
            with viz.record_grads() as rec:
                ag.backward(live, [ag.ones_like(o) for o in live])
            after = viz.draw_graph(*outputs, show_grads=rec).source
            assert "grad norm" in after and "\\ngrad " in after

    check()
