"""Modules as clusters, or collapsed to one box each, from `Module._call_span`.

A tiny stand-in for nn.Module keeps the contract visible: `named_modules()`,
`named_parameters()` and a `_call_span` of two `next_sequence()` values around forward.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import viz
from autograd_cv.autograd.node import next_sequence

from .test_draw import check_golden, labels


class Tiny:
    """Just enough of nn.Module's contract for the drawer."""

    def __init__(self, **children: Tiny) -> None:
        self.children = children
        self.params: dict[str, ag.Tensor] = {}

    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, child in self.children.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = ""):
        for name, parameter in self.params.items():
            yield (f"{prefix}.{name}" if prefix else name), parameter
        for name, child in self.children.items():
            yield from child.named_parameters(f"{prefix}.{name}" if prefix else name)

    def __call__(self, x: ag.Tensor) -> ag.Tensor:
        first = next_sequence()
        out = self.forward(x)
        self._call_span = (first, next_sequence())
        return out

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        for child in self.children.values():
            x = child(x)
        return x


class Linear(Tiny):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        rng = np.random.default_rng(n_in * 10 + n_out)
        self.params = {
            "weight": ag.tensor(rng.standard_normal((n_out, n_in), dtype=np.float32), True),
            "bias": ag.tensor(np.zeros(n_out, dtype=np.float32), requires_grad=True),
        }

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return x @ self.params["weight"].T + self.params["bias"]


class ReLU(Tiny):
    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.maximum(x, 0.0)


class Sequential(Tiny):
    pass


def model_and_loss():
    model = Sequential(body=Sequential(fc1=Linear(4, 3), act=ReLU()), fc2=Linear(3, 2))
    x = ag.tensor(np.ones((2, 4), dtype=np.float32), name="images")
    loss = model(x).mean()
    return model, loss


def test_parameters_are_named_from_the_model() -> None:
    model, loss = model_and_loss()
    names = {v.split("\\n")[0] for k, v in labels(viz.draw_graph(loss, model=model)).items()}
    assert {"body.fc1.weight", "body.fc1.bias", "fc2.weight", "fc2.bias", "images"} <= names


def test_modules_are_nested_clusters_holding_their_ops_and_parameters() -> None:
    model, loss = model_and_loss()
    source = viz.draw_graph(loss, model=model).source
    check_golden("tiny_model_clusters.dot", source)
    # which cluster each node statement sits in, read back from the nesting of braces
    stack, member = [], {}
    for line in source.splitlines():
        cluster = re.match(r"\s*subgraph (cluster_\d+) \{", line)
        if cluster:
            stack.append(None)
            continue
        title = re.search(r'label="([^"]+) · \w+"', line)
        if title and stack and stack[-1] is None:
            stack[-1] = title.group(1)
        if line.strip() == "}" and stack:
            stack.pop()
        node = re.match(r'\s*(\w+) \[label="([^"\\]+)', line)
        if node and node.group(1) != "legend":
            member.setdefault(node.group(2), []).append(tuple(stack))
    assert member["body.fc1.weight"] == [("body", "body.fc1")]
    assert member["maximum"] == [("body", "body.act")]
    assert member["fc2.bias"] == [("fc2",)]
    assert sorted(member["add"]) == [("body", "body.fc1"), ("fc2",)]
    assert member["mean"] == [()] and member["images"] == [()]


def test_collapsed_modules_are_one_box_each_with_counts() -> None:
    model, loss = model_and_loss()
    source = viz.draw_graph(loss, model=model, collapse="module").source
    text = labels(viz.draw_graph(loss, model=model, collapse="module"))
    assert sorted(v for k, v in text.items() if k.startswith("module")) == [
        "body.act · ReLU\\n(2, 3) float32\\n1 op · 0 params",
        "body.fc1 · Linear\\n(2, 3) float32\\n3 ops · 15 params",
        "fc2 · Linear\\n(2, 2) float32\\n3 ops · 8 params",
    ]
    assert not re.search(r'label="[\w.]*(weight|bias)', source)  # absorbed into their modules
    edges = re.findall(r"^\s*(\w+) -> (\w+)", source, re.M)
    assert edges == [
        ("leaf1", "module0"),  # images
        ("module0", "module1"),  # maximum's lifted 0.0 is drawn inside its module
        ("module1", "module2"),
        ("module2", "op7"),
    ]
    assert "subgraph" not in source


def test_collapse_depth_groups_at_that_level() -> None:
    model, loss = model_and_loss()
    text = labels(viz.draw_graph(loss, model=model, collapse="module", collapse_depth=1))
    assert sorted(v.split("\\n")[0] for k, v in text.items() if k.startswith("module")) == [
        "body · Sequential",
        "fc2 · Linear",
    ]
    assert "4 ops · 15 params" in text["module0"]


def test_collapsed_drawing_shows_grads_and_profile() -> None:
    model, _ = model_and_loss()
    x = ag.tensor(np.ones((2, 4), dtype=np.float32))
    with viz.record_grads() as rec, viz.profile() as prof:
        loss = model(x).mean()
        loss.backward()
    source = viz.draw_graph(
        loss, model=model, collapse="module", show_grads=rec, profile=prof
    ).source
    for line in source.splitlines():
        if re.match(r"\s*module\d+ \[", line):
            assert "\\ngrad " in line and "fwd " in line


def test_collapse_needs_a_positive_depth() -> None:
    model, loss = model_and_loss()
    with pytest.raises(ValueError, match="collapse_depth"):
        viz.draw_graph(loss, model=model, collapse="module", collapse_depth=0)
