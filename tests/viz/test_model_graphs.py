"""The drawer on the package's own models, and the `autograd-cv graph` command."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import models, viz
from autograd_cv.viz.cli import graph_main

needs_conv = pytest.mark.skipif(
    not hasattr(F, "conv2d") or not hasattr(F, "max_pool2d"),
    reason="conv2d/max_pool2d are not merged into this branch yet (ops and kernels branches)",
)


def training_step(model, input_shape, num_classes=10, batch=2):
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((batch, *input_shape), dtype=np.float32), name="images")
    y = ag.tensor(rng.integers(0, num_classes, batch), name="labels")
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss


def node_labels(source: str) -> list[str]:
    return re.findall(r'^\s*(?:op|module)\d+ \[label="([^"]+)"', source, re.M)


def test_mlp_parameters_are_named_and_layers_are_clusters() -> None:
    ag.manual_seed(0)
    model = models.MLP([12, 8, 3])
    with viz.record_grads() as rec:
        loss = training_step(model, (12,), num_classes=3)
    source = viz.draw_graph(loss, model=model, show_grads=rec).source
    for name, parameter in model.named_parameters():
        assert f'label="{name}\\n{tuple(parameter.shape)} float32\\ngrad ' in source
    assert 'label="fc1 · Linear"' in source  # a cluster
    assert ">act1 · ReLU</font>>" in source  # a one-op module: a caption beside its op
    assert "cross_entropy" in source or "nll_loss" in source


def test_mlp_collapsed_has_one_box_per_layer() -> None:
    model = models.MLP([12, 8, 3])
    loss = training_step(model, (12,), num_classes=3)
    boxes = node_labels(viz.draw_graph(loss, model=model, collapse="module").source)
    modules = [b.split("\\n")[0] for b in boxes if " · " in b]
    assert modules == ["fc1 · Linear", "act1 · ReLU", "fc2 · Linear"]
    assert "1 op · 104 params" in boxes[0]  # 12*8 + 8: one linear op


@needs_conv
def test_lenet5_drawn_with_grads_and_profile_labels_every_module() -> None:
    model = models.LeNet5()
    with viz.record_grads() as rec, viz.profile() as prof:
        loss = training_step(model, (1, 28, 28))
    source = viz.draw_graph(loss, model=model, show_grads=rec, profile=prof).source
    for op in ("conv2d", "relu", "max_pool2d", "linear"):
        assert f'label="{op}\\n' in source
    for name, module in model.named_modules():
        if name and "." in name:  # every module is named: clusters, or captions of one-op ones
            cluster = f'label="{name} · {type(module).__name__}"'
            caption = f">{name} · {type(module).__name__}</font>>"
            assert (cluster in source) != (caption in source), name
    assert "features.c1.weight\\n(6, 1, 5, 5) float32\\ngrad " in source


@needs_conv
@pytest.mark.parametrize("depth", [None, 1])
def test_collapsed_alexnet_small_fits_on_a_screen(depth) -> None:
    model = models.AlexNetSmall()
    loss = training_step(model, (3, 32, 32), batch=1)
    full = node_labels(viz.draw_graph(loss, model=model).source)
    collapsed = node_labels(
        viz.draw_graph(loss, model=model, collapse="module", collapse_depth=depth).source
    )
    assert len(collapsed) <= 40 and len(collapsed) < len(full)
    params = sum(
        int(re.search(r"(\d[\d,]*) params", b).group(1).replace(",", ""))
        for b in collapsed
        if " params" in b
    )
    assert params == sum(p.size for p in model.parameters())


def test_graph_command_writes_the_file(tmp_path, capsys) -> None:
    out = tmp_path / "mlp.dot"
    assert graph_main(["--model", "mlp", "--grads", "--profile", "--out", str(out)]) == 0
    source = out.read_text()
    assert source.startswith("digraph") and "fc1.weight" in source and "\\ngrad " in source
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "per op type" in printed and "linear" in printed


def test_graph_command_collapses_modules(tmp_path) -> None:
    out = tmp_path / "p.dot"
    assert graph_main(["--model", "perceptron", "--collapse", "module", "--out", str(out)]) == 0
    assert "linear · Linear" in out.read_text()


def test_graph_command_without_dot_saves_the_dot_text(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert graph_main(["--model", "perceptron", "--out", str(tmp_path / "p.svg")]) == 1
    assert (tmp_path / "p.dot").read_text().startswith("digraph")
    assert "install" in capsys.readouterr().err


def test_graph_command_rejects_bad_arguments(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        graph_main(["--model", "resnet"])
    assert graph_main(["--model", "mlp", "--out", str(tmp_path / "g.bmpx")]) == 2
    assert graph_main(["--model", "mlp", "--batch", "0"]) == 2
