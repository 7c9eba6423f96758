"""Matrix product: 1-D, 2-D and batched with broadcasting, as `numpy.matmul`."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_cv.autograd.node import Node
from autograd_cv.kernels import _split
from autograd_cv.ops.arguments import apply, data_of
from autograd_cv.tensor import Tensor


class MatMul(Node):
    name = "matmul"

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: scalars are not allowed, got {a.shape} @ {b.shape}")
        inner_a = a.shape[-1]
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if inner_a != inner_b:
            raise ValueError(f"matmul: {a.shape} @ {b.shape} (inner sizes {inner_a} != {inner_b})")
        try:
            return _split.matmul(a, b)
        except ValueError:
            raise ValueError(
                f"matmul: batch shapes do not broadcast in {a.shape} @ {b.shape}"
            ) from None

    def vjp(self, grad, out, a, b):
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (grad * b if need_a else None), (grad * a if need_b else None)
        # Treat vectors as 1-row / 1-column matrices, then drop that axis again.
        a_vector, b_vector = a.ndim == 1, b.ndim == 1
        if a_vector:
            a = a.reshape(1, a.shape[0])
            grad = grad.reshape(grad.shape[:-1] + (1, grad.shape[-1]))
        if b_vector:
            b = b.reshape(b.shape[0], 1)
            grad = grad.reshape(grad.shape + (1,))
        grad_a = grad_b = None
        if need_a:
            grad_a = _product(grad, b.swapaxes(-1, -2))
            if a_vector:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if need_b and a.ndim == 2 and b.ndim == 2 and _transposed(b):
            # b is a transposed view (linear's weight.T): the same GEMM, computed as
            # (grad^T a)^T so that the gradient comes back in b's layout and the weight's
            # own gradient is C-contiguous, as the weight is (no copy into .grad).
            grad_b = _product(grad.swapaxes(-1, -2), a).swapaxes(-1, -2)
        elif need_b:
            grad_b = _product(a.swapaxes(-1, -2), grad)
            if b_vector:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b


def _product(a: Any, b: Any) -> Any:
    """a @ b: on ndarrays split over the kernels' thread pool, on Tensors a recorded op."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return _split.matmul(a, b)
    return a @ b


def _transposed(b: Any) -> bool:
    flags = data_of(b).flags
    return flags.f_contiguous and not flags.c_contiguous


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product `a @ b` (NumPy's rules for 1-D and batched operands)."""
    return apply(MatMul(), a, b)
