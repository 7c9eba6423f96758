"""linear: (out, in) weights, any leading batch axes, dtype kept, clear shape errors."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.testing import gradcheck


def test_linear_with_leading_batch_axes_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    y = F.linear(x, w, b).numpy()
    assert y.shape == (2, 3, 5)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(y[i, j], w @ x[i, j] + b)
    inputs = [ag.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert gradcheck(F.linear, inputs)


def test_linear_keeps_float32_with_an_ndarray_bias() -> None:
    x = ag.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    w = ag.tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    y = F.linear(x, w, np.zeros(4))  # a float64 constant bias must not upcast
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_linear_shape_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) does not match weight"):
        F.linear(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(4,\), got \(3,\)"):
        F.linear(np.ones((2, 3)), np.ones((4, 3)), np.ones(3))


@pytest.mark.parametrize("bias", [True, False])
def test_a_float_layer_is_one_linear_node_with_the_composed_gradients(bias) -> None:
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((6, 4), dtype=np.float32), rng.standard_normal((3, 4), np.float32)
    b = rng.standard_normal(3, dtype=np.float32) if bias else None
    leaves = [ag.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    y = F.linear(*leaves)
    assert y.node.name == "linear" and y.dtype == np.float32
    cotangent = rng.standard_normal((6, 3), dtype=np.float32)
    (y * cotangent).sum().backward()
    np.testing.assert_allclose(y.numpy(), x @ w.T + (b if bias else 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(leaves[0].grad.numpy(), cotangent @ w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(leaves[1].grad.numpy(), cotangent.T @ x, rtol=1e-5, atol=1e-5)
    assert leaves[1].grad.numpy().flags.c_contiguous  # the weight's own layout
    if bias:
        np.testing.assert_allclose(leaves[2].grad.numpy(), cotangent.sum(0), rtol=1e-5)


def test_mixed_dtypes_keep_the_composition() -> None:
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)  # float64 beside float32 weights
    w = ag.tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    y = F.linear(x, w)
    assert y.node.name == "matmul" and y.dtype == np.float64


def test_the_linear_node_without_a_bias_has_first_and_second_derivatives() -> None:
    from autograd_cv.testing import gradgradcheck

    rng = np.random.default_rng(2)
    inputs = [ag.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 4), (2, 4))]
    assert F.linear(*inputs).node.name == "linear"  # float64 throughout: the node
    assert gradcheck(F.linear, inputs)
    assert gradgradcheck(F.linear, inputs)
