"""Activations: values by formula, stability far out in the tails, float32 kept."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F


@pytest.fixture
def strict_floats():
    """Turn every NumPy floating-point warning (overflow, invalid) into an error."""
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_sigmoid_and_tanh_saturate_without_overflow_in_float32(strict_floats) -> None:
    x = ag.tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float32), requires_grad=True)
    for fn, expected in ((F.sigmoid, [0, 0, 0.5, 1, 1]), (F.tanh, [-1, -1, 0, 1, 1])):
        y = fn(x)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y.numpy(), expected, atol=1e-7)
        (grad,) = ag.grad(y.sum(), x)
        assert grad.dtype == np.float32 and np.all(np.isfinite(grad.numpy()))


def test_softmax_family_is_stable_for_huge_logits(strict_floats) -> None:
    x = ag.tensor(np.array([[1e4, 1e4 - 1.0, -1e4]], dtype=np.float32), requires_grad=True)
    p = F.softmax(x, axis=1)
    e = np.exp(np.array([0.0, -1.0]))
    np.testing.assert_allclose(p.numpy(), [[e[0] / e.sum(), e[1] / e.sum(), 0.0]], rtol=1e-6)
    log_p = F.log_softmax(x, axis=-1)
    np.testing.assert_allclose(log_p.numpy()[0, :2], np.log(e / e.sum()), rtol=1e-5)
    assert log_p.numpy()[0, 2] == pytest.approx(-2e4 - np.log(e.sum()), rel=1e-6)
    lse = F.logsumexp(x, axis=1)
    assert lse.dtype == np.float32
    assert lse.item() == pytest.approx(1e4 + np.log(e.sum()), rel=1e-6)
    (grad,) = ag.grad(log_p[0, 0], x)
    assert np.all(np.isfinite(grad.numpy()))


def test_logsumexp_of_all_minus_infinity_is_minus_infinity() -> None:
    x = np.array([[-np.inf, -np.inf], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(F.logsumexp(x, axis=1).numpy(), [-np.inf, np.log(4.0)])


def test_softmax_matches_formula_and_sums_to_one_along_axis() -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    for axis in (0, 1, -1):
        p = F.softmax(x, axis=axis).numpy()
        np.testing.assert_allclose(p, np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True))
        np.testing.assert_allclose(p.sum(axis=axis), 1.0)
    with pytest.raises(ValueError, match="softmax: axis 3 is out of range"):
        F.softmax(x, axis=3)


def test_relu_gradient_at_zero_is_zero_and_leaky_slope_applies() -> None:
    x = ag.tensor(np.array([-2.0, 0.0, 3.0]), requires_grad=True)
    (grad,) = ag.grad(F.relu(x).sum(), x)
    np.testing.assert_array_equal(grad.numpy(), [0.0, 0.0, 1.0])
    y = F.leaky_relu(x, negative_slope=0.1)
    np.testing.assert_allclose(y.numpy(), [-0.2, 0.0, 3.0])
    (grad,) = ag.grad(y.sum(), x)
    np.testing.assert_allclose(grad.numpy(), [0.1, 0.1, 1.0])
    assert F.leaky_relu(np.array([-1.0], dtype=np.float32)).dtype == np.float32


def test_double_backward_through_sigmoid_matches_its_second_derivative() -> None:
    values = np.array([-1.5, 0.2, 2.0])
    x = ag.tensor(values, requires_grad=True)
    (first,) = ag.grad(F.sigmoid(x).sum(), x, create_graph=True)
    (second,) = ag.grad(first.sum(), x)
    s = 1 / (1 + np.exp(-values))
    np.testing.assert_allclose(second.numpy(), s * (1 - s) * (1 - 2 * s))


def test_relu_backward_kernel_matches_the_mask_product_on_any_layout() -> None:
    from autograd_cv.kernels.activation import relu_backward

    rng = np.random.default_rng(0)
    out = np.maximum(rng.standard_normal((3, 4, 5, 6)), 0).astype(np.float32)
    out[0, 0, 0, :3] = [0.0, -0.0, 1e-30]
    grad = rng.standard_normal((6, 5, 4, 3)).T  # non-contiguous, float64
    got = relu_backward(grad, out)
    assert got.dtype == np.float64 and got.shape == out.shape
    np.testing.assert_array_equal(got, grad * (out > 0))
    with pytest.raises(ValueError, match=r"relu_backward: grad of shape \(2,\)"):
        relu_backward(np.ones(2), out)


def test_relu_second_derivative_is_zero_and_grad_of_grad_keeps_the_mask() -> None:
    x = ag.tensor(np.array([-1.0, 0.0, 2.0, 3.0]), requires_grad=True)
    upstream = ag.tensor(np.array([5.0, 6.0, 7.0, 8.0]), requires_grad=True)
    (grad,) = ag.grad(F.relu(x), x, upstream, create_graph=True)
    np.testing.assert_array_equal(grad.numpy(), [0.0, 0.0, 7.0, 8.0])
    (grad_upstream,) = ag.grad(grad.sum(), upstream)  # d/d upstream of upstream * mask
    np.testing.assert_array_equal(grad_upstream.numpy(), [0.0, 0.0, 1.0, 1.0])
