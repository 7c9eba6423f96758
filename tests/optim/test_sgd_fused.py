"""SGD's fused one-pass momentum update gives bit for bit the NumPy sequence it replaces."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import optim


def numpy_sgd(param, grads, lr, momentum, dampening, weight_decay, nesterov):
    """torch.optim.SGD's rule, written out with NumPy in the parameter's dtype."""
    param, buf = param.copy(), None
    for grad in grads:
        d = grad + param.dtype.type(weight_decay) * param if weight_decay else grad
        if buf is None:
            buf = d.copy()
        else:
            buf = buf * param.dtype.type(momentum) + param.dtype.type(1 - dampening) * d
        d = d + param.dtype.type(momentum) * buf if nesterov else buf
        param = param - param.dtype.type(lr) * d
    return param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "options",
    [dict(momentum=0.9), dict(momentum=0.9, weight_decay=5e-4),
     dict(momentum=0.8, dampening=0.3), dict(momentum=0.9, nesterov=True, weight_decay=1e-2)],
)  # fmt: skip
def test_fused_momentum_update_equals_the_numpy_rule_bit_for_bit(dtype, options) -> None:
    rng = np.random.default_rng(0)
    start = rng.standard_normal((7, 5)).astype(dtype)
    grads = [rng.standard_normal((7, 5)).astype(dtype) for _ in range(4)]
    param = ag.tensor(start.copy(), requires_grad=True)
    optimizer = optim.SGD([param], lr=0.05, **options)
    version = param.version
    for grad in grads:
        param.grad = ag.tensor(grad.copy())
        optimizer.step()
    full = dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) | options
    expected = numpy_sgd(start, grads, 0.05, **full)
    assert param.dtype == dtype
    np.testing.assert_array_equal(param.numpy(), expected)
    assert param.version > version  # the in-place update is recorded


def test_non_contiguous_gradients_take_the_numpy_path_with_the_same_result() -> None:
    rng = np.random.default_rng(1)
    start = rng.standard_normal((4, 6)).astype(np.float32)
    grads = [rng.standard_normal((6, 4)).astype(np.float32).T for _ in range(3)]  # F-order
    param = ag.tensor(start.copy(), requires_grad=True)
    optimizer = optim.SGD([param], lr=0.1, momentum=0.9)
    for grad in grads:
        param.grad = ag.tensor(grad)
        optimizer.step()
    expected = numpy_sgd(start, grads, 0.1, 0.9, 0.0, 0.0, False)
    np.testing.assert_array_equal(param.numpy(), expected)
