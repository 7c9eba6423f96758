"""Grad mode: whether ops record the graph (thread-local, as in PyTorch).

`no_grad`, `enable_grad`, `set_grad_enabled` and `inference_mode`; `Node.__call__`
(autograd/node.py) reads `_mode.enabled` before it records anything.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any


class _GradMode(threading.local):
    enabled: bool = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Return True when ops record the graph in this thread."""
    return _mode.enabled


@contextmanager
def set_grad_enabled(enabled: bool) -> Iterator[None]:
    """Turn graph recording on or off in this thread for the body of a `with` block."""
    previous = _mode.enabled
    _mode.enabled = bool(enabled)
    try:
        yield
    finally:
        _mode.enabled = previous


def _mode_switch(enabled: bool, func: Callable | None) -> Any:
    """A context manager, or `func` wrapped to run in that grad mode (a bare decorator)."""
    if func is None:
        return set_grad_enabled(enabled)
    if not callable(func):
        raise TypeError(f"expected a function to decorate, got {type(func).__name__}")

    @functools.wraps(func)
    def in_mode(*args: Any, **kwargs: Any) -> Any:
        with set_grad_enabled(enabled):
            return func(*args, **kwargs)

    return in_mode


def no_grad(func: Callable | None = None) -> AbstractContextManager[None] | Callable:
    """Stop ops from recording the graph (thread-local): `with no_grad():`, `@no_grad()`
    or the bare decorator `@no_grad`."""
    return _mode_switch(False, func)


def enable_grad(func: Callable | None = None) -> AbstractContextManager[None] | Callable:
    """Turn graph recording back on (thread-local); a context manager or decorator."""
    return _mode_switch(True, func)


def inference_mode(mode: Any = True) -> AbstractContextManager[None] | Callable:
    """torch's inference_mode: no graph recording (here the same as `no_grad`)."""
    if callable(mode):
        return _mode_switch(False, mode)
    return set_grad_enabled(not mode)
