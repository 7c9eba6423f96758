"""Hooks and the handle that takes one off again, shared by Tensor and Module hooks."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

_hook_ids = itertools.count()


class RemovableHandle:
    """Returned by `register_hook` and `register_forward_hook`; `remove()` takes the hook off."""

    def __init__(self, hooks: dict[int, Callable], key: int) -> None:
        self._hooks = hooks
        self._key = key

    def remove(self) -> None:
        """Take the hook off (again is harmless)."""
        self._hooks.pop(self._key, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def add_hook(hooks: dict[int, Callable], hook: Callable) -> RemovableHandle:
    """Add `hook` to `hooks` (kept in insertion order) and return its handle."""
    key = next(_hook_ids)
    hooks[key] = hook
    return RemovableHandle(hooks, key)
