"""Hooks: the handle that takes one off again (Tensor and Module hooks), and the
post-accumulate-grad hooks and end-of-backward callbacks the driver runs (for DDP)."""

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


#: set once any leaf gets a post-accumulate-grad hook; until then backward never looks for them
post_hooks_exist = False
#: functions to call once the running backward has accumulated every gradient
final_callbacks: list[Callable[[], None]] = []


def note_post_hooks() -> None:
    """Note that post-accumulate-grad hooks exist, so backward finishes leaves during the walk."""
    global post_hooks_exist
    post_hooks_exist = True


def queue_callback(callback: Callable[[], None]) -> None:
    """Call `callback()` once, when the running backward has accumulated every gradient."""
    final_callbacks.append(callback)


def finishing_nodes(order: list[Any]) -> dict[Any, list[Any]]:
    """For each node, the leaves with post-accumulate hooks that no later node feeds."""
    last_consumer: dict[Any, Any] = {}
    for node in order:
        for edge in node.edges:
            if getattr(edge, "post_accumulate_hooks", None):  # a leaf Tensor with such hooks
                last_consumer[edge] = node
    finishing: dict[Any, list[Any]] = {}
    for leaf, node in last_consumer.items():
        finishing.setdefault(node, []).append(leaf)
    return finishing


def run_final_callbacks() -> None:
    """Call (once) every function `queue_callback` queued during the finished backward."""
    callbacks = list(final_callbacks)
    final_callbacks.clear()
    for callback in callbacks:
        callback()
