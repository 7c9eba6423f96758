"""Finite-difference gradient checks, shipped to users.

`gradcheck` compares the engine's vector-Jacobian products with central differences
computed in float64. Small inputs get the full Jacobian, column by column; large ones
get Chainer's directional check (one random direction per input), which costs two
forward passes instead of two per element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_cv.autograd.engine import grad as autograd_grad
from autograd_cv.autograd.grad_mode import enable_grad, no_grad
from autograd_cv.tensor import Tensor

#: inputs with more elements than this in total are checked along a random direction
FULL_JACOBIAN_LIMIT = 4096


class GradcheckError(AssertionError):
    """A gradient disagreed with finite differences (or was not repeatable)."""


def _outputs(result: Any) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    return [r for r in result if isinstance(r, Tensor)]


def _prepare(inputs: Sequence[Any]) -> list[Any]:
    """float64 copies of the floating inputs, keeping which ones require grad."""
    prepared = []
    for value in inputs:
        if isinstance(value, Tensor) and value.dtype.kind == "f":
            copy = Tensor(value.data.astype(np.float64), requires_grad=value.requires_grad)
            copy.name = value.name
            prepared.append(copy)
        else:
            prepared.append(value)
    return prepared


def _projected(fn: Callable, inputs: list[Any], cotangents: list[np.ndarray]) -> float:
    """<cotangents, fn(inputs)> without recording a graph."""
    with no_grad():
        outs = _outputs(fn(*inputs))
    return float(sum(np.sum(c * o.data) for c, o in zip(cotangents, outs)))


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    check_repeatable: bool = True,
    raise_exception: bool = True,
) -> bool:
    """Check `fn`'s gradients for every input that requires grad against central differences.

    Returns True, or raises `GradcheckError` naming the input, the element and both values.
    """
    rng = np.random.default_rng(seed)
    inputs = _prepare(inputs)
    wrt = [i for i, v in enumerate(inputs) if isinstance(v, Tensor) and v.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad")
    outs = _outputs(fn(*inputs))
    differentiable = [o for o in outs if o.requires_grad]
    cotangents = [rng.standard_normal(o.shape) for o in outs]
    used = [c for o, c in zip(outs, cotangents) if o.requires_grad]
    targets = [inputs[i] for i in wrt]
    if differentiable:
        analytic = autograd_grad(
            differentiable, targets, grad_outputs=used, retain_graph=True, allow_unused=True
        )
    else:
        analytic = (None,) * len(targets)
    analytic_arrays = [
        np.zeros(t.shape) if g is None else np.asarray(g.data, dtype=np.float64)
        for g, t in zip(analytic, targets)
    ]

    try:
        if check_repeatable and differentiable:
            again = autograd_grad(
                differentiable, targets, grad_outputs=used, retain_graph=True, allow_unused=True
            )
            for k, (g1, g2) in enumerate(zip(analytic, again)):
                if (g1 is None) != (g2 is None) or (
                    g1 is not None and not np.array_equal(g1.data, g2.data)
                ):
                    raise GradcheckError(
                        f"gradcheck: backward is not repeatable for input {wrt[k]}"
                    )
            zero = autograd_grad(
                differentiable,
                targets,
                grad_outputs=[np.zeros(o.shape) for o in differentiable],
                retain_graph=True,
                allow_unused=True,
            )
            for k, g in enumerate(zero):
                if g is not None and np.any(g.data != 0):
                    raise GradcheckError(
                        f"gradcheck: a zero cotangent gave a non-zero gradient for input {wrt[k]}"
                    )
        total = sum(inputs[i].data.size for i in wrt)
        if total <= FULL_JACOBIAN_LIMIT:
            _check_full(fn, inputs, wrt, analytic_arrays, cotangents, eps, atol, rtol)
        else:
            _check_directional(fn, inputs, wrt, analytic_arrays, cotangents, eps, atol, rtol, rng)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _check_full(fn, inputs, wrt, analytic, cotangents, eps, atol, rtol) -> None:
    for k, i in enumerate(wrt):
        data = inputs[i].data
        flat = data.reshape(-1)
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = _projected(fn, inputs, cotangents)
            flat[j] = original - eps
            minus = _projected(fn, inputs, cotangents)
            flat[j] = original
            numeric = (plus - minus) / (2 * eps)
            value = analytic[k].reshape(-1)[j]
            if not np.isclose(value, numeric, atol=atol, rtol=rtol):
                index = np.unravel_index(j, data.shape)
                raise GradcheckError(
                    f"gradcheck: input {i} (shape {data.shape}) at index {tuple(map(int, index))}: "
                    f"analytic {value!r} vs numeric {numeric!r} (atol={atol}, rtol={rtol})"
                )


def _check_directional(fn, inputs, wrt, analytic, cotangents, eps, atol, rtol, rng) -> None:
    for k, i in enumerate(wrt):
        data = inputs[i].data
        direction = rng.standard_normal(data.shape)
        direction /= np.linalg.norm(direction) or 1.0
        original = data.copy()
        data += eps * direction
        plus = _projected(fn, inputs, cotangents)
        data[...] = original - eps * direction
        minus = _projected(fn, inputs, cotangents)
        data[...] = original
        numeric = (plus - minus) / (2 * eps)
        value = float(np.sum(analytic[k] * direction))
        if not np.isclose(value, numeric, atol=atol, rtol=rtol):
            raise GradcheckError(
                f"gradcheck: input {i} (shape {data.shape}) along a random direction: "
                f"analytic {value!r} vs numeric {numeric!r} (atol={atol}, rtol={rtol})"
            )


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck of (inputs -> vjp of fn with a fixed cotangent)."""
    inputs = _prepare(inputs)
    rng = np.random.default_rng(seed + 1)
    outs = _outputs(fn(*inputs))
    cotangents = [rng.standard_normal(o.shape) for o in outs if o.requires_grad]
    wrt = [i for i, v in enumerate(inputs) if isinstance(v, Tensor) and v.requires_grad]

    def first_derivative(*args: Any) -> tuple[Tensor, ...]:
        # Finite differences call this under no_grad; the inner derivative needs a graph.
        with enable_grad():
            outputs = [o for o in _outputs(fn(*args)) if o.requires_grad]
            grads = autograd_grad(
                outputs,
                [args[i] for i in wrt],
                grad_outputs=cotangents,
                create_graph=True,
                allow_unused=True,
            )
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
