"""Writing a drawn graph to a file, and the error people see when Graphviz's `dot` is missing.

Drawing (`draw_graph`) only builds DOT text and never needs `dot`; rendering to SVG, PNG
or PDF runs `dot` through the `graphviz` package, which calls it as a list of arguments
(no shell).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import graphviz

#: file extensions `render` understands; ".dot"/".gv" write the DOT text without running dot
FORMATS = ("svg", "png", "pdf", "dot", "gv")


def install_hint(platform: str | None = None) -> str:
    """How to install Graphviz's `dot` program on this platform (one line per way)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        ways = ["sudo apt-get install graphviz   (Debian/Ubuntu)", "sudo dnf install graphviz"]
    elif platform == "darwin":
        ways = ["brew install graphviz"]
    elif platform.startswith(("win32", "cygwin")):
        ways = ["winget install graphviz   (then reopen the terminal)", "choco install graphviz"]
    else:
        ways = ["your system's package manager: the package is called graphviz"]
    ways.append("conda install -c conda-forge graphviz")
    return "\n".join("  " + way for way in ways)


class DotNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's `dot` program and it is not on PATH."""

    def __init__(self, args: Any = ("dot",)) -> None:
        RuntimeError.__init__(
            self,
            "rendering the graph needs Graphviz's `dot` program, which was not found on PATH.\n"
            "Install it with one of:\n"
            f"{install_hint()}\n"
            "The graph itself is fine: `g.source` holds its DOT text, and "
            "`viz.render(g, 'graph.dot')` saves it without `dot`.",
        )
        self.dot_args = args


class Diagram(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering explains how to install `dot` when it is missing.

    Everything else is graphviz's: `.source`, `.render(...)`, `.pipe(...)`, and inline
    display in Jupyter (which renders through `pipe`).
    """

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        """Render with `dot` and return the bytes (or text, given an encoding)."""
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            if isinstance(error, DotNotFoundError):
                raise
            raise DotNotFoundError(error.args) from error

    def render(self, *args: Any, **kwargs: Any) -> str:
        """graphviz's `render` (writes the DOT file and the rendered file next to each other)."""
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            if isinstance(error, DotNotFoundError):
                raise
            raise DotNotFoundError(error.args) from error


def render(
    graph: graphviz.Digraph,
    path: str | os.PathLike[str],
    format: str | None = None,
    dpi: int | None = None,
) -> Path:
    """Write `graph` to exactly `path`, in the format its extension names (svg, png, pdf, dot).

    Only that one file is written (no DOT file beside it, nothing in other folders).
    `dpi` sets the resolution of PNG output (Graphviz's default is 96).
    Raises `DotNotFoundError` with install instructions when `dot` is needed and missing.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(
            f"render: cannot tell the format of {str(path)!r}; use one of the extensions "
            f"{', '.join('.' + f for f in FORMATS)} or pass format="
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"render: the folder {str(path.parent)!r} does not exist")
    if fmt in ("dot", "gv"):
        path.write_text(graph.source, encoding="utf-8")
        return path
    if dpi is not None:
        graph = graph.copy()
        graph.attr(dpi=str(dpi))
    try:
        data = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound as error:
        if isinstance(error, DotNotFoundError):
            raise
        raise DotNotFoundError(error.args) from error
    path.write_bytes(data)
    return path
