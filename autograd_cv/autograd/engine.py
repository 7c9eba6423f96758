"""The backward driver: one iterative topological sort, then one walk in that order.

Cotangents live in a dict keyed by node and are popped as each node is reached, so
memory for a cotangent is released as soon as its node has used it. The driver, not
each op, reduces broadcast cotangents and checks every cotangent's shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_cv.autograd.grad_mode import set_grad_enabled
from autograd_cv.autograd.node import Node, observers
from autograd_cv.tensor import Tensor

#: how many post-accumulate-grad hooks exist; while 0, backward skips looking for them
_post_hook_count = 0
#: functions to call once the running backward has finished (see `queue_callback`)
_final_callbacks: list[Callable[[], None]] = []


def post_hooks_registered(change: int) -> None:
    """Count post-accumulate-grad hooks as they are added (+1) and removed (-1)."""
    global _post_hook_count
    _post_hook_count += change


def queue_callback(callback: Callable[[], None]) -> None:
    """Call `callback()` once, when the backward now running has accumulated every gradient."""
    _final_callbacks.append(callback)


def topological_order(roots: Sequence[Node]) -> list[Node]:
    """Nodes reachable from `roots`, each before every node it depends on (no recursion).

    A node's inputs are always created before it, so newest-first by creation order is
    a topological order (PyTorch orders its ready queue the same way).
    """
    seen = set(roots)
    stack = list(seen)
    while stack:
        for edge in stack.pop().edges:
            if edge is not None and edge.__class__ is not Tensor and edge not in seen:
                if isinstance(edge, Node):
                    seen.add(edge)
                    stack.append(edge)
    return sorted(seen, key=_by_sequence, reverse=True)


def _by_sequence(node: Node) -> int:
    return node.sequence


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum a cotangent over the axes along which an input of `shape` was broadcast."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        return grad
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if grad.shape != shape and grad.size == int(np.prod(shape)):
        grad = grad.reshape(shape)
    return grad  # still the wrong shape when the vjp was wrong; the caller says so


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a + b


def _call_hooks(hooks: list, grad: Any, create_graph: bool) -> Any:
    """Run tensor hooks on a finished cotangent; a hook may return a replacement."""
    for hook in hooks:
        wrapped = grad if create_graph else Tensor(grad)
        replaced = hook(wrapped)
        if replaced is not None:
            if not isinstance(replaced, Tensor):
                replaced = Tensor(np.asarray(replaced))
            grad = replaced if create_graph else replaced.data
    return grad


def _freed_error(node: Node) -> RuntimeError:
    return RuntimeError(
        f"Trying to backward through the graph a second time at '{node.name}' "
        f"(output shape {node.shape}): its saved values were freed after the first "
        "backward. Pass retain_graph=True to the first backward() or ag.grad() call "
        "if you need to backward through the graph again."
    )


def run_backward(
    outputs: Sequence[Tensor],
    grad_outputs: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] | None = None,
) -> list[Any] | None:
    """Propagate cotangents from `outputs` to the leaves.

    With `capture`, the cotangents of those tensors are returned (as for `ag.grad`)
    and no leaf's `.grad` is touched; otherwise leaf `.grad` accumulates.
    """
    # One dict of pending cotangents, keyed by Node for intermediate values and by the
    # Tensor itself for leaves; by the end of the walk only the leaves' entries remain.
    pending: dict[Node | Tensor, Any] = {}
    roots: list[Node] = []
    for out, grad in zip(outputs, grad_outputs):
        key = out.node if out.node is not None else out
        if out.node is None and not out.requires_grad:
            raise RuntimeError(
                f"backward: a tensor of shape {out.shape} does not require grad "
                "and has no graph; nothing to differentiate"
            )
        pending[key] = _add(pending.get(key), grad)
        if out.node is not None:
            roots.append(out.node)
    captured = {t.node: i for i, t in enumerate(capture or ()) if t.node is not None}
    results: list[Any] = [None] * len(capture or ())
    release = not retain_graph

    order = topological_order(roots)
    # Leaves with post-accumulate hooks are finished as soon as their last consumer has run.
    finish_after = _finishing_nodes(order) if _post_hook_count and capture is None else None
    try:
        with set_grad_enabled(create_graph):
            _walk(order, pending, captured, results, finish_after, release, create_graph)
        if capture is not None:
            for i, tensor in enumerate(capture):
                if tensor.node is None and tensor in pending:
                    grad = pending[tensor]
                    hooks = tensor.hooks
                    results[i] = _call_hooks(hooks, grad, create_graph) if hooks else grad
            return results
        for leaf in list(pending):
            _finish_leaf(leaf, pending, create_graph)
        callbacks = list(_final_callbacks)
        _final_callbacks.clear()
        for callback in callbacks:
            callback()
        return None
    finally:
        _final_callbacks.clear()


def _walk(order: list[Node], pending: dict, captured: dict, results: list,
          finish_after: dict | None, release: bool, create_graph: bool) -> None:  # fmt: skip
    """Run every node's vjp in `order`, moving cotangents from each node to its inputs."""
    for node in order:
        grad = pending.pop(node, None)
        if grad is None:
            if finish_after and node in finish_after:
                for leaf in finish_after[node]:
                    _finish_leaf(leaf, pending, create_graph)
            continue
        if node.freed:
            raise _freed_error(node)
        if node.hooks:
            grad = _call_hooks(node.hooks, grad, create_graph)
        if captured and node in captured:
            results[captured[node]] = grad
        inputs = node.inputs
        _check_versions(node, inputs)
        if observers:
            started = time.perf_counter()
        if create_graph:
            output = node.output_ref() if node.output_ref is not None else None
            input_grads = node.vjp(grad, output, *inputs)
        elif len(inputs) == 2:
            input_grads = node.vjp(grad, node.output_data, inputs[0].data, inputs[1].data)
        else:
            input_grads = node.vjp(grad, node.output_data, *[t.data for t in inputs])
        if observers:
            seconds = time.perf_counter() - started
            for observer in list(observers):
                observer.on_backward(node, seconds, input_grads)
        if len(input_grads) != len(inputs):
            raise RuntimeError(
                f"{node.name}: vjp returned {len(input_grads)} gradients for {len(inputs)} inputs"
            )
        for edge, tensor, input_grad in zip(node.edges, inputs, input_grads):
            if edge is None or input_grad is None:
                continue
            data = tensor.data
            if input_grad.shape != data.shape or input_grad.dtype != data.dtype:
                input_grad = _conform(node, data, input_grad)
            previous = pending.get(edge)
            pending[edge] = input_grad if previous is None else previous + input_grad
        if release and not create_graph:
            node.release()
        if finish_after and node in finish_after:
            for leaf in finish_after[node]:
                _finish_leaf(leaf, pending, create_graph)
    if release and create_graph:
        # Released only now: later vjps need earlier outputs as live Tensors.
        for node in order:
            node.release()


def _finishing_nodes(order: list[Node]) -> dict[Node, list[Tensor]]:
    """For each node, the leaves with post-accumulate hooks that no later node feeds."""
    last_consumer: dict[Tensor, Node] = {}
    for node in order:
        for edge in node.edges:
            if isinstance(edge, Tensor) and edge.post_accumulate_hooks:
                last_consumer[edge] = node
    finishing: dict[Node, list[Tensor]] = {}
    for leaf, node in last_consumer.items():
        finishing.setdefault(node, []).append(leaf)
    return finishing


def _finish_leaf(leaf: Tensor, pending: dict, create_graph: bool) -> None:
    """Run a leaf's hooks on its finished cotangent, add it to `.grad`, then post hooks."""
    grad = pending.pop(leaf, None)
    if grad is None:
        return
    if leaf.hooks:
        grad = _call_hooks(leaf.hooks, grad, create_graph)
    _accumulate(leaf, grad, create_graph)
    if leaf.post_accumulate_hooks:
        for hook in list(leaf.post_accumulate_hooks):
            hook(leaf)


def _check_versions(node: Node, inputs: tuple[Tensor, ...]) -> None:
    """Refuse to run a vjp on values that were changed in place after the forward."""
    if node.saves_inputs:
        for position, tensor in enumerate(inputs):
            if tensor.version > node.sequence:
                raise _modified_error(node, f"input {position}", tensor)
    if node.saves_output and node.output_ref is not None:
        output = node.output_ref()
        if output is not None and output.version > node.sequence:
            raise _modified_error(node, "output", output)


def _modified_error(node: Node, which: str, tensor: Tensor) -> RuntimeError:
    return RuntimeError(
        f"{node.name}: its {which} (shape {tensor.shape}) was modified by an in-place "
        "operation after the forward pass used it, so its gradient would be wrong. "
        "Make the in-place change after backward(), or apply it to a copy."
    )


def _conform(node: Node, data: np.ndarray, grad: Any) -> Any:
    """Reduce a cotangent to its input's shape and dtype, or say which op got it wrong."""
    shape = data.shape
    if grad.shape != shape:
        grad = unbroadcast(grad, shape)
        if grad.shape != shape:
            raise RuntimeError(
                f"{node.name}: vjp returned a gradient of shape {tuple(grad.shape)} "
                f"for an input of shape {shape}"
            )
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)
    return grad


def _accumulate(leaf: Tensor, grad: Any, create_graph: bool) -> None:
    """Add a finished cotangent into a leaf's `.grad` (a Tensor)."""
    if create_graph:
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad
    elif leaf.grad is None:
        leaf.grad = Tensor(np.array(grad, dtype=leaf.data.dtype, copy=True))
    else:
        leaf.grad.data = leaf.grad.data + grad
