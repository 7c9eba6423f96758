"""`backward` and `grad`: the user-facing entry points to the backward driver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_cv.autograd.engine import run_backward
from autograd_cv.tensor import Tensor


def _as_list(values: Any) -> list:
    if values is None:
        return []
    if isinstance(values, (Tensor, np.ndarray)):
        return [values]
    return list(values)


def _root_grads(
    outputs: list[Tensor], grad_outputs: list[Any], create_graph: bool, where: str
) -> list[Any]:
    """Cotangents to start from: ones for scalars, the user's grads otherwise."""
    if grad_outputs and len(grad_outputs) != len(outputs):
        raise ValueError(
            f"{where}: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs"
        )
    roots = []
    for i, out in enumerate(outputs):
        given = grad_outputs[i] if grad_outputs else None
        if given is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"{where}: grad can be implicitly created only for scalar outputs; "
                    f"output {i} has shape {out.shape}. Pass a gradient of that shape."
                )
            grad = np.ones_like(out.data)
        else:
            grad = given.data if isinstance(given, Tensor) else np.asarray(given)
            if grad.shape != out.shape:
                raise ValueError(
                    f"{where}: gradient of shape {grad.shape} does not match "
                    f"output {i} of shape {out.shape}"
                )
            grad = grad.astype(out.dtype, copy=False)
        if create_graph:
            roots.append(given if isinstance(given, Tensor) else Tensor(grad))
        else:
            roots.append(grad)
    return roots


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate the gradients of `tensors` into the `.grad` of every leaf."""
    outputs = _as_list(tensors)
    grads = _as_list(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(outputs, grads, create_graph, "backward")
    run_backward(outputs, roots, retain_graph=retain_graph, create_graph=create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return d(outputs)/d(inputs) without touching any `.grad` (PyTorch's `autograd.grad`)."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    for i, tensor in enumerate(ins):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(outs, _as_list(grad_outputs), create_graph, "grad")
    found = run_backward(outs, roots, retain_graph, create_graph, capture=ins)
    results: list[Tensor | None] = []
    for i, value in enumerate(found or []):
        if value is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {ins[i].shape}) was not used to compute the "
                    "outputs; pass allow_unused=True to get None for it"
                )
            results.append(None)
        else:
            results.append(value if isinstance(value, Tensor) else Tensor(value))
    return tuple(results)
