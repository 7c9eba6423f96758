"""Grad mode: whether ops record the graph. Thread-local, as in PyTorch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager


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


def no_grad() -> AbstractContextManager[None]:
    """Context manager that stops ops from recording the graph (thread-local)."""
    return set_grad_enabled(False)


def enable_grad() -> AbstractContextManager[None]:
    """Context manager that turns graph recording back on (thread-local)."""
    return set_grad_enabled(True)
