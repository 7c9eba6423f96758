"""The backward driver: `backward` and `grad`, in three steps: seed, walk, finish.

- seed: one cotangent per output (ones for a scalar, the caller's otherwise);
- walk: order the reachable Nodes once (newest first is a topological order, found
  without recursion), then call each node's vjp once; cotangents wait in one dict keyed
  by Node (or by leaf Tensor) and are popped as each node is reached. The driver, not
  each op, reduces broadcast cotangents to the input's shape and checks it;
- finish: add what reached the leaves into their `.grad`, or hand it back (`grad`).
"""

from __future__ import annotations

import heapq
import operator
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_cv.autograd import hooks
from autograd_cv.autograd.grad_mode import set_grad_enabled
from autograd_cv.autograd.node import Node, observers
from autograd_cv.autograd.values import as_output, exclusive
from autograd_cv.backend import backend_of, is_array
from autograd_cv.tensor import Tensor


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate the gradients of `tensors` into the `.grad` of every leaf."""
    outputs = _as_list(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    pending = _seed(outputs, _as_list(grad_tensors), create_graph, "backward")
    try:
        _walk(pending, outputs, retain_graph, create_graph, finish_leaves=hooks.post_hooks_exist)
        for leaf in list(pending):
            _finish_leaf(leaf, pending, create_graph)
        hooks.run_final_callbacks()
    finally:
        hooks.final_callbacks.clear()


def _finish_leaf(leaf: Tensor, pending: dict, create_graph: bool) -> None:
    """Run a leaf's hooks on its finished cotangent, add it to `.grad`, then post hooks."""
    grad = pending.pop(leaf, None)
    if grad is None:
        return
    if leaf.hooks:
        grad = _call_hooks(leaf.hooks, grad, create_graph)
    owned = exclusive(grad)  # before the call below puts `grad` on the stack
    _accumulate(leaf, grad, create_graph, owned)
    if leaf.post_accumulate_hooks:
        for hook in list(leaf.post_accumulate_hooks.values()):
            hook(leaf)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return d(outputs)/d(inputs) without touching any `.grad` (PyTorch's `autograd.grad`)."""
    outs, ins = _as_list(outputs), _as_list(inputs)
    for i, tensor in enumerate(ins):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    pending = _seed(outs, _as_list(grad_outputs), create_graph, "grad")
    captured = _walk(pending, outs, retain_graph, create_graph, capture=ins)
    results: list[Tensor | None] = []
    for i, tensor in enumerate(ins):
        value = captured.get(tensor.node) if tensor.node is not None else pending.get(tensor)
        if value is not None and tensor.node is None and tensor.hooks:
            value = _call_hooks(tensor.hooks, value, create_graph)
        if value is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {tensor.shape}) was not used to compute the "
                "outputs; pass allow_unused=True to get None for it"
            )
        results.append(value if value is None or isinstance(value, Tensor) else Tensor(value))
    return tuple(results)


# ----- seed --------------------------------------------------------------------------------
def _as_list(values: Any) -> list:
    if values is None:
        return []
    if isinstance(values, Tensor) or is_array(values):
        return [values]
    return list(values)


def _seed(
    outputs: list[Tensor], grad_outputs: list[Any], create_graph: bool, where: str
) -> dict[Node | Tensor, Any]:
    """The pending cotangents to start from: ones for scalars, the caller's otherwise."""
    if grad_outputs and len(grad_outputs) != len(outputs):
        raise ValueError(
            f"{where}: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs"
        )
    pending: dict[Node | Tensor, Any] = {}
    for i, out in enumerate(outputs):
        if out.node is None and not out.requires_grad:
            raise RuntimeError(
                f"{where}: a tensor of shape {out.shape} does not require grad "
                "and has no graph; nothing to differentiate"
            )
        given = grad_outputs[i] if grad_outputs else None
        if given is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"{where}: grad can be implicitly created only for scalar outputs; "
                    f"output {i} has shape {out.shape}. Pass a gradient of that shape."
                )
            grad = np.ones_like(out.data)
        else:
            grad = given.data if isinstance(given, Tensor) else as_output(given)
            if grad.shape != out.shape:
                raise ValueError(
                    f"{where}: gradient of shape {grad.shape} does not match "
                    f"output {i} of shape {out.shape}"
                )
            grad = grad.astype(out.dtype, copy=False)
        if create_graph:
            grad = given if isinstance(given, Tensor) else Tensor(grad)
        key = out.node if out.node is not None else out
        previous = pending.get(key)
        pending[key] = grad if previous is None else previous + grad
    return pending


# ----- walk --------------------------------------------------------------------------------
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


_by_sequence = operator.attrgetter("sequence")  # a C-level key: one Python call less per node


def _walk(
    pending: dict[Node | Tensor, Any],
    outputs: list[Tensor],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] = (),
    finish_leaves: bool = False,
) -> dict[Node, Any]:
    """Run the vjp of every node a cotangent reaches once, newest first; leaves' stay in `pending`.

    The nodes wait in a heap keyed by creation order (PyTorch's ready queue): a node is
    pushed when its first cotangent arrives and popped, newest first, once every node
    that can feed it has run, since those are all newer. Nothing is sorted up front.
    Returns the cotangents that reached the nodes of the `capture` tensors (for `grad`).
    With `finish_leaves`, a leaf with post-accumulate hooks is finished (its `.grad`
    accumulated, its hooks run) right after the last node that feeds it.
    """
    wanted = {t.node for t in capture if t.node is not None}
    captured: dict[Node, Any] = {}
    roots = {out.node for out in outputs if out.node is not None}
    heap = [(-node.sequence, node) for node in roots]
    heapq.heapify(heap)
    push, pop = heapq.heappush, heapq.heappop
    release = not retain_graph
    finishing = hooks.finishing_nodes(topological_order(list(roots))) if finish_leaves else None
    ran: list[Node] = []  # released only at the end under create_graph
    # A plain backward with nobody observing calls each vjp right here (a function call
    # less per node: small graphs are all overhead).
    plain = not create_graph and not observers
    with set_grad_enabled(create_graph):
        while heap:
            node = pop(heap)[1]
            grad = pending.pop(node)
            if node.freed:
                raise _freed_error(node)
            if node.hooks:
                grad = _call_hooks(node.hooks, grad, create_graph)
            if wanted and node in wanted:
                captured[node] = grad
            inputs = node.inputs
            if node.saves_inputs:  # spelled out: a call per node is most of a small graph
                sequence = node.sequence
                for tensor in inputs:
                    if tensor.version > sequence:
                        _check_versions(node, inputs)  # raises, naming the input
            if node.saves_output:
                _check_versions(node, inputs)
            if not plain:
                input_grads = _call_vjp(node, grad, inputs, create_graph)
            else:
                if len(inputs) == 2:
                    input_grads = node.vjp(grad, node.output_data, inputs[0].data, inputs[1].data)
                else:
                    input_grads = node.vjp(grad, node.output_data, *[t.data for t in inputs])
                if len(input_grads) != len(inputs):
                    raise _count_error(node, input_grads, inputs)
            for edge, tensor, input_grad in zip(node.edges, inputs, input_grads):
                if edge is None or input_grad is None:
                    continue
                data = tensor.data
                # `is` first: NumPy's dtype objects are shared, and == between them is slow
                dtype, wanted_dtype = input_grad.dtype, data.dtype
                if input_grad.shape != data.shape or (
                    dtype is not wanted_dtype and dtype != wanted_dtype
                ):
                    input_grad = _conform(node, data, input_grad)
                previous = pending.get(edge)
                if previous is not None:
                    pending[edge] = previous + input_grad
                    continue
                pending[edge] = input_grad
                if edge.__class__ is not Tensor and isinstance(edge, Node):
                    push(heap, (-edge.sequence, edge))  # its first cotangent: now it waits
            if release:
                if create_graph:
                    ran.append(node)
                else:  # node.release(), without the call
                    node.inputs = node.output_data = node.saved = None
                    node.freed = True
            if finishing and node in finishing:
                for leaf in finishing[node]:
                    _finish_leaf(leaf, pending, create_graph)
        # Released only now: later vjps need earlier outputs as live Tensors.
        for node in ran:
            node.release()
    return captured


def _call_vjp(node: Node, grad: Any, inputs: tuple[Tensor, ...], create_graph: bool) -> tuple:
    """One vjp: on ndarrays for a plain backward, on Tensors (recorded) for create_graph."""
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
        backend_of(inputs[0].data).synchronize()  # a GPU's queued work belongs to this vjp
        seconds = time.perf_counter() - started
        for observer in list(observers):
            observer.on_backward(node, seconds, input_grads)
    if len(input_grads) != len(inputs):
        raise _count_error(node, input_grads, inputs)
    return input_grads


def _count_error(node: Node, input_grads: tuple, inputs: tuple) -> RuntimeError:
    return RuntimeError(
        f"{node.name}: vjp returned {len(input_grads)} gradients for {len(inputs)} inputs"
    )


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


def _freed_error(node: Node) -> RuntimeError:
    return RuntimeError(
        f"Trying to backward through the graph a second time at '{node.name}' "
        f"(output shape {node.shape}): its saved values were freed after the first "
        "backward. Pass retain_graph=True to the first backward() or ag.grad() call "
        "if you need to backward through the graph again."
    )


# ----- finish ------------------------------------------------------------------------------
def _call_hooks(hooks: dict, grad: Any, create_graph: bool) -> Any:
    """Run tensor hooks on a finished cotangent; a hook may return a replacement."""
    for hook in list(hooks.values()):
        wrapped = grad if create_graph else Tensor(grad)
        replaced = hook(wrapped)
        if replaced is not None:
            if not isinstance(replaced, Tensor):
                replaced = Tensor(np.asarray(replaced))
            grad = replaced if create_graph else replaced.data
    return grad


def _accumulate(leaf: Tensor, grad: Any, create_graph: bool, owned: bool = False) -> None:
    """Add a finished cotangent into a leaf's `.grad` (a Tensor).

    `owned`: nothing else references `grad`, so a fresh `.grad` may use it as it is when it
    owns its memory, is contiguous, writeable and of the leaf's dtype (no copy).
    """
    if create_graph:
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad
    elif leaf.grad is None:
        flags = grad.flags if owned else None
        if (
            flags is not None
            and flags.c_contiguous
            and getattr(flags, "writeable", True)  # CuPy's arrays are always writeable
            and (grad.dtype == leaf.data.dtype and grad.shape == leaf.data.shape)
        ):
            leaf.grad = Tensor(grad)
        else:
            leaf.grad = Tensor(as_output(grad).astype(leaf.data.dtype, copy=True))
    else:
        leaf.grad.data = leaf.grad.data + grad
