"""Rendering to files, and what happens when Graphviz's `dot` is missing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import viz

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed (CI installs it)"
)


def small_graph():
    w = ag.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True, name="w")
    return viz.draw_graph(ag.exp(w).sum())


@needs_dot
@pytest.mark.parametrize(
    ("name", "magic"),
    [("graph.svg", b"<?xml"), ("graph.png", b"\x89PNG"), ("graph.pdf", b"%PDF")],
)
def test_render_writes_exactly_the_named_file(tmp_path, name, magic) -> None:
    out = viz.render(small_graph(), tmp_path / name)
    assert out == tmp_path / name
    assert out.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@needs_dot
def test_svg_contains_the_labels(tmp_path) -> None:
    text = viz.render(small_graph(), tmp_path / "g.svg").read_text()
    assert ">exp<" in text and ">(2, 3) float32<" in text and ">w<" in text


@needs_dot
def test_png_dpi_sets_the_resolution(tmp_path) -> None:
    from PIL import Image

    low = Image.open(viz.render(small_graph(), tmp_path / "low.png")).size
    high = Image.open(viz.render(small_graph(), tmp_path / "high.png", dpi=192)).size
    assert high[0] == pytest.approx(2 * low[0], rel=0.05)


@needs_dot
def test_digraph_render_and_jupyter_display_work(tmp_path) -> None:
    graph = small_graph()
    assert graph._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")
    path = graph.render(tmp_path / "g", format="svg")
    assert path.endswith("g.svg")


def test_dot_text_needs_no_dot_program(tmp_path) -> None:
    graph = small_graph()
    assert viz.render(graph, tmp_path / "g.dot").read_text() == graph.source


def test_unknown_extension_and_missing_folder_are_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="extension"):
        viz.render(small_graph(), tmp_path / "graph.bmpx")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        viz.render(small_graph(), tmp_path / "nowhere" / "graph.svg")


def test_missing_dot_explains_how_to_install_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no dot on it
    graph = small_graph()  # drawing never needs dot
    assert "exp\\n" in graph.source
    with pytest.raises(viz.DotNotFoundError) as caught:
        viz.render(graph, tmp_path / "graph.svg")
    message = str(caught.value)
    assert "install" in message and "graphviz" in message and "g.source" in message
    assert "conda install -c conda-forge graphviz" in message
    assert not (tmp_path / "graph.svg").exists()
    for attempt in (lambda: graph.pipe(format="png"), graph._repr_mimebundle_):
        with pytest.raises(viz.DotNotFoundError):
            attempt()
    with pytest.raises(viz.DotNotFoundError):
        graph.render(tmp_path / "g", format="svg")
    # still a graphviz error, so code that catches graphviz's own exception keeps working
    assert issubclass(viz.DotNotFoundError, __import__("graphviz").ExecutableNotFound)
    assert viz.render(graph, tmp_path / "graph.dot").read_text() == graph.source


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", "apt-get install graphviz"),
        ("darwin", "brew install graphviz"),
        ("win32", "winget install graphviz"),
    ],
)
def test_install_hint_fits_the_platform(platform, expected) -> None:
    hint = viz.install_hint(platform)
    assert expected in hint and "conda install" in hint
