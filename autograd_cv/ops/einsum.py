"""einsum: one Node, linear in each operand, so its vjp is einsum again (to any order).

The cotangent of operand k is einsum(grad, the other operands -> operand k's indices);
an index that only operand k has (summed away alone) is broadcast back.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.ops.arguments import as_tensor, data_of
from autograd_cv.ops.shape import BroadcastTo
from autograd_cv.tensor import Tensor

_ELLIPSIS = "..."


def _tokens(subscript: str) -> list[str]:
    """Indices of one operand, with '...' as one token."""
    out, i = [], 0
    while i < len(subscript):
        if subscript.startswith(_ELLIPSIS, i):
            out.append(_ELLIPSIS)
            i += 3
        else:
            out.append(subscript[i])
            i += 1
    return out


class Einsum(Node):
    name = "einsum"

    def __init__(self, inputs: list[str], output: str) -> None:
        self.operand_subscripts, self.output = inputs, output

    @property
    def equation(self) -> str:
        return ",".join(self.operand_subscripts) + "->" + self.output

    def forward(self, *operands):
        return np.einsum(self.equation, *operands, optimize=len(operands) > 2)

    def vjp(self, grad, out, *operands):
        return tuple(
            self._operand_grad(k, grad, operands) if need else None
            for k, need in enumerate(self.needs_input_grad)
        )

    def _operand_grad(self, k: int, grad: Any, operands: tuple[Any, ...]) -> Any:
        others = [
            (s, op) for j, (s, op) in enumerate(zip(self.operand_subscripts, operands)) if j != k
        ]
        present = set(self.output).union(*[set(s) for s, _ in others])
        mine = self.operand_subscripts[k]
        kept = "".join(t for t in mine if t in present)
        partial = Einsum([self.output, *[s for s, _ in others]], kept)(
            grad, *[op for _, op in others]
        )
        if kept == mine:
            return partial
        # Indices only this operand had were summed away alone: broadcast the result back.
        shape = data_of(operands[k]).shape
        kept_shape = tuple(n if t in present else 1 for t, n in zip(mine, shape))
        return BroadcastTo(shape)(partial.reshape(kept_shape))


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation, as np.einsum (explicit '->' or implicit output, '...' allowed);
    differentiable in every operand."""
    op = "einsum"
    equation = subscripts.replace(" ", "")
    if "->" in equation:
        inputs_part, output = equation.split("->")
    else:
        inputs_part = equation
        counts: dict[str, int] = {}
        for s in inputs_part.split(","):
            for t in _tokens(s):
                counts[t] = counts.get(t, 0) + 1
        letters = sorted(t for t, n in counts.items() if n == 1 and t != _ELLIPSIS)
        output = (_ELLIPSIS if _ELLIPSIS in counts else "") + "".join(letters)
    inputs = inputs_part.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"{op}: {subscripts!r} names {len(inputs)} operands, got {len(operands)}")
    shapes = [np.shape(data_of(o)) for o in operands]
    # '...' becomes explicit letters (right-aligned, as NumPy broadcasts it), so the Node
    # and its vjp deal in letters only.
    spare = [c for c in string.ascii_letters if c not in equation]
    widths = []
    for s, shape in zip(inputs, shapes):
        tokens = _tokens(s)
        letters = [t for t in tokens if t != _ELLIPSIS]
        if any(t not in string.ascii_letters for t in letters):
            raise ValueError(f"{op}: bad subscripts {subscripts!r}")
        if len(set(letters)) != len(letters):
            raise ValueError(
                f"{op}: a repeated index within one operand ({s!r}, a diagonal) is not supported"
            )
        if (_ELLIPSIS not in tokens and len(shape) != len(letters)) or len(shape) < len(letters):
            raise ValueError(f"{op}: subscripts {s!r} do not fit an operand of shape {shape}")
        widths.append(len(shape) - len(letters) if _ELLIPSIS in tokens else 0)
    width = max(widths, default=0)
    if width > len(spare):
        raise ValueError(f"{op}: too many dimensions under '...'")
    broadcast = "".join(spare[:width])
    inputs = [s.replace(_ELLIPSIS, broadcast[width - w :]) for s, w in zip(inputs, widths)]
    output = output.replace(_ELLIPSIS, broadcast)
    tensors = [as_tensor(o) for o in operands]
    return Einsum(inputs, output)(*tensors)
