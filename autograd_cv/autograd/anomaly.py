"""`detect_anomaly()`: stop at the first op whose forward or backward makes NaN or Inf.

It joins the observers only while active, so the normal path pays nothing: in this mode
each recorded node also remembers the line of user code that created it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from autograd_cv.autograd import node as node_module
from autograd_cv.autograd.node import Node

_PACKAGE = str(Path(__file__).resolve().parents[1])


class AnomalyError(RuntimeError):
    """An op produced NaN or Inf while anomaly detection was on."""


def _user_line() -> str:
    """'file:line: code' of the innermost caller outside autograd_cv."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    import linecache

    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


def _bad(value: Any) -> bool:
    array = value.data if hasattr(value, "data") and not isinstance(value, np.ndarray) else value
    return array is not None and array.dtype.kind in "fc" and not np.isfinite(array).all()


class _AnomalyObserver:
    def on_forward(self, node: Node | None, seconds: float, result: Any) -> None:
        where = _user_line()
        if node is not None:
            node.created_at = where
        if _bad(result):
            name = node.name if node is not None else "an op"
            raise AnomalyError(f"{name} produced NaN or Inf in its forward, created at {where}")

    def on_backward(self, node: Node, seconds: float, input_grads: Any) -> None:
        for position, grad in enumerate(input_grads):
            if grad is not None and _bad(grad):
                where = getattr(node, "created_at", "<created before detect_anomaly()>")
                raise AnomalyError(
                    f"{node.name} produced NaN or Inf in the gradient of its input {position} "
                    f"during backward; the op was created at {where}"
                )


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise at the first op whose forward or backward produces NaN or Inf, naming its line."""
    observer = _AnomalyObserver()
    node_module.observers.append(observer)
    try:
        yield
    finally:
        node_module.observers.remove(observer)
