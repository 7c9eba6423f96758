"""record_grads and profile: the numbers they keep and how draw_graph shows them."""

from __future__ import annotations

import gc
import math
import re
import weakref

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import viz
from autograd_cv.autograd import node as node_module


def affine():
    x = ag.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), name="x")
    w = ag.tensor(np.full((2, 3), 0.5, dtype=np.float32), requires_grad=True, name="w")
    b = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="b")
    return x, w, b


def node_line(source: str, label_start: str) -> str:
    return next(line for line in source.splitlines() if f'[label="{label_start}' in line)


def test_recorded_norms_are_the_norms_of_the_true_gradients() -> None:
    x, w, b = affine()
    product = x * w
    total = product + b
    loss = total.sum()
    with viz.record_grads() as rec:
        loss.backward()
    # d loss / d total = ones(2, 3); b receives it summed over the batch: 2 * ones(3)
    assert rec.node(total.node).output == pytest.approx(math.sqrt(6))
    assert rec.node(product.node).output == pytest.approx(math.sqrt(6))
    assert rec.node(total.node).inputs == pytest.approx((math.sqrt(6), math.sqrt(12)))
    assert rec.leaf(b) == pytest.approx(float(np.linalg.norm(b.grad.numpy())))
    assert rec.leaf(w) == pytest.approx(float(np.linalg.norm(x.numpy())))
    assert rec.node(product.node).inputs == (None, pytest.approx(np.linalg.norm(x.numpy())))
    assert rec.node(loss.node).output is None  # the seed reaches the root without an edge
    assert rec not in node_module.observers


def test_recorder_sums_gradients_from_several_consumers() -> None:
    w = ag.tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    h = w * 3.0
    loss = (h * h).sum() + h.sum()
    with viz.record_grads() as rec:
        loss.backward()
    expected = 2 * 3.0 * np.array([1.0, 2.0]) + 1.0  # d/dh of h.h + sum(h)
    assert rec.node(h.node).output == pytest.approx(np.linalg.norm(expected))


def test_recorder_works_with_create_graph() -> None:
    w = ag.tensor(np.array([1.0, -2.0]), requires_grad=True, name="w")
    loss = (w * w * w).sum()
    with viz.record_grads() as rec:
        (grad,) = ag.grad(loss, [w], create_graph=True)
    assert rec.leaf(w) == pytest.approx(np.linalg.norm(3 * np.array([1.0, 4.0])))
    assert isinstance(grad, ag.Tensor)


def test_recorder_holds_no_graph_alive() -> None:
    x, w, b = affine()
    loss = (x * w + b).sum()
    with viz.record_grads() as rec:
        loss.backward()
    node_ref = weakref.ref(loss.node)
    assert len(rec) == 3
    del loss
    gc.collect()
    assert node_ref() is None and len(rec) == 0


def test_nan_gradient_is_red_on_nodes_and_edges() -> None:
    w = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True, name="w")
    scale = ag.tensor(np.array([1.0, np.nan, 1.0], dtype=np.float32), name="scale")
    loss = (w * scale).sum()
    with viz.record_grads() as rec:
        loss.backward()
    source = viz.draw_graph(loss, show_grads=rec).source
    line = node_line(source, "w\\n")
    assert "grad NaN" in line and 'fillcolor="#e41a1c"' in line
    assert re.search(r'leaf\d+ -> op0 \[color="#e41a1c"', source)
    assert "NaN / Inf" in source  # legend


def test_vanishing_and_exploding_gradients_are_marked() -> None:
    small = ag.tensor(np.ones(2, dtype=np.float32), requires_grad=True, name="small")
    big = ag.tensor(np.ones(2, dtype=np.float32), requires_grad=True, name="big")
    loss = (small * 1e-12).sum() + (big * 1e5).sum()
    with viz.record_grads() as rec:
        loss.backward()
    source = viz.draw_graph(loss, show_grads=rec).source
    small_line, big_line = node_line(source, "small\\n"), node_line(source, "big\\n")
    assert "(vanishing)" in small_line and "dashed" in small_line
    assert "(exploding)" in big_line and "penwidth=3" in big_line
    relaxed = viz.draw_graph(loss, show_grads=rec, exploding=1e6).source
    assert "(exploding)" not in node_line(relaxed, "big\\n")


def test_gradient_colours_follow_the_log_scale() -> None:
    a = ag.tensor(np.ones(1), requires_grad=True, name="a")
    c = ag.tensor(np.ones(1), requires_grad=True, name="c")
    loss = (a * 1e-3).sum() + (c * 10.0).sum()
    with viz.record_grads() as rec:
        loss.backward()
    source = viz.draw_graph(loss, show_grads=rec).source
    fill = re.compile(r'fillcolor="(#[0-9a-f]{6})"')
    low, high = (fill.search(node_line(source, f"{n}\\n")).group(1) for n in "ac")
    from autograd_cv.viz.draw import GRAD_STOPS

    assert (low, high) == (GRAD_STOPS[0], GRAD_STOPS[-1])  # the ends of the scale
    assert "1e-3" in source and "1e1" in source  # legend decades


def test_show_grads_true_uses_the_latest_recorder_or_leaf_grads() -> None:
    x, w, b = affine()
    loss = (x * w + b).sum()
    plain = viz.draw_graph(loss, show_grads=True).source
    assert "grad " not in plain.split("legend")[0]  # nothing recorded, no .grad yet
    with viz.record_grads():
        loss.backward()
    latest = viz.draw_graph(loss, show_grads=True).source
    assert "mul\\n(2, 3) float32\\ngrad 2.45e+00" in latest

    y, v, c = affine()
    loss2 = (y * v + c).sum()
    loss2.backward()
    with viz.record_grads():
        pass  # a newer recorder that saw nothing: leaves still show their .grad
    leaf_only = viz.draw_graph(loss2, show_grads=True).source
    assert "b\\n(3,) float32\\ngrad 3.46e+00" in leaf_only
    assert "grad" not in node_line(leaf_only, "add\\n")  # no recorder saw this graph


def test_profile_times_forward_and_backward_and_counts_bytes() -> None:
    x, w, b = affine()
    with viz.profile() as prof:
        loss = (x * w + b).sum() * 2.0
        with ag.no_grad():
            _ = x * 3.0  # an op that records no node
        loss.backward()
    assert prof not in node_module.observers
    by_op = {row["op"]: row for row in prof.rows("op")}
    assert by_op["mul"]["calls"] == 2 and by_op["add"]["calls"] == 1
    assert by_op["add"]["bytes"] == 2 * 3 * 4
    assert by_op["(not recorded)"]["calls"] == 1
    assert by_op["(not recorded)"]["backward_ms"] == 0
    assert all(row["forward_ms"] > 0 and row["backward_ms"] > 0 for row in prof.rows("node"))
    assert sum(row["share"] for row in prof.rows("op")) == pytest.approx(1.0)
    times = [r["forward_ms"] + r["backward_ms"] for r in prof.rows("node")]
    assert times == sorted(times, reverse=True) and len(times) == 4

    table = prof.table()
    assert table.splitlines()[0].split()[:4] == ["per", "op", "type", "calls"]
    for name in ("mul", "add", "sum", "(not recorded)", "slowest 4 nodes"):
        assert name in table
    assert str(prof) == table


def test_profile_is_drawn_on_the_nodes_hottest_filled_darkest() -> None:
    x, w, b = affine()
    with viz.profile() as prof:
        loss = (x * w + b).sum()
        loss.backward()
    source = viz.draw_graph(loss, profile=prof).source
    for line in source.splitlines():
        if re.match(r"\s*op\d+ \[", line):
            assert re.search(r"fwd \d+\.\d+ ms · bwd \d+\.\d+ ms\\n\d+ B · \d+\.\d% of time", line)
    hottest = max(prof.rows("node"), key=lambda r: r["forward_ms"] + r["backward_ms"])
    from autograd_cv.viz.draw import HEAT_STOPS

    assert f'fillcolor="{HEAT_STOPS[-1]}"' in node_line(source, hottest["op"] + "\\n")
    assert "share of op time" in source


def test_profiler_rows_rejects_an_unknown_grouping() -> None:
    with pytest.raises(ValueError, match="by must be"):
        viz.profile().rows("layer")
