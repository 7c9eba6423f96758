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
