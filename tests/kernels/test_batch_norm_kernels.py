"""The batch-norm kernels on raw ndarrays, against plain NumPy formulas written here."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv.kernels import batch_norm_backward, batch_norm_forward

SHAPES = [(4, 3), (2, 3, 5), (3, 2, 4, 5), (1, 1, 2, 2)]


def _reference_forward(x, weight, bias, eps):
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    normalised = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return normalised * weight.reshape(shape) + bias.reshape(shape), normalised, mean, var


def _reference_backward(grad, normalised, weight, inv_std):
    axes = (0, *range(2, grad.ndim))
    shape = (1, -1) + (1,) * (grad.ndim - 2)
    grad_bias = grad.sum(axis=axes)
    grad_weight = (grad * normalised).sum(axis=axes)
    g = grad * weight.reshape(shape)
    grad_x = (
        g
        - g.mean(axis=axes, keepdims=True)
        - normalised * (g * normalised).mean(axis=axes, keepdims=True)
    ) * inv_std.reshape(shape)
    return grad_x, grad_weight, grad_bias


def _inputs(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype) * 3 + 1
    weight = rng.standard_normal(shape[1]).astype(dtype)
    bias = rng.standard_normal(shape[1]).astype(dtype)
    return x, weight, bias


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_matches_numpy(shape):
    x, weight, bias = _inputs(shape)
    out, normalised, mean, var, inv_std = batch_norm_forward(x, weight, bias, 1e-5)
    want_out, want_normalised, want_mean, want_var = _reference_forward(x, weight, bias, 1e-5)
    np.testing.assert_allclose(out, want_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(normalised, want_normalised, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-12)
    np.testing.assert_allclose(var, want_var, rtol=1e-12)
    np.testing.assert_allclose(inv_std, 1 / np.sqrt(want_var + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_backward_matches_numpy(shape):
    x, weight, bias = _inputs(shape, seed=1)
    _, normalised, _, _, inv_std = batch_norm_forward(x, weight, bias, 1e-5)
    grad = np.random.default_rng(2).standard_normal(shape)
    got = batch_norm_backward(grad, normalised, weight, inv_std)
    want = _reference_backward(grad, normalised, weight, inv_std)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_float32_stays_float32_and_agrees_with_float64():
    x, weight, bias = _inputs((8, 4, 3, 3), np.float32)
    out32, normalised32, _, _, inv_std32 = batch_norm_forward(x, weight, bias, 1e-5)
    assert out32.dtype == normalised32.dtype == inv_std32.dtype == np.float32
    out64 = batch_norm_forward(
        x.astype(np.float64), weight.astype(np.float64), bias.astype(np.float64), 1e-5
    )[0]
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-5)
    grads = batch_norm_backward(np.ones_like(x), normalised32, weight, inv_std32)
    assert all(g.dtype == np.float32 for g in grads)


def test_non_contiguous_input_gives_the_same_result():
    x, weight, bias = _inputs((3, 4, 5, 6))
    strided = np.asfortranarray(x)
    np.testing.assert_array_equal(
        batch_norm_forward(strided, weight, bias, 1e-5)[0],
        batch_norm_forward(x, weight, bias, 1e-5)[0],
    )


def test_large_mean_loses_no_digits_to_cancellation():
    # E[x^2] - E[x]^2 would lose the variance entirely at a mean of 1e4 in float32.
    rng = np.random.default_rng(3)
    x = (1e4 + rng.standard_normal((64, 2, 4, 4))).astype(np.float32)
    _, normalised, _, var, _ = batch_norm_forward(x, np.ones(2, np.float32),
                                                  np.zeros(2, np.float32), 1e-5)  # fmt: skip
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=(0, 2, 3)), rtol=1e-3)
    np.testing.assert_allclose(normalised.std(axis=(0, 2, 3)), 1.0, rtol=1e-3)


def test_zero_gradient_gives_zero_gradients():
    x, weight, bias = _inputs((4, 3, 2, 2))
    _, normalised, _, _, inv_std = batch_norm_forward(x, weight, bias, 1e-5)
    for g in batch_norm_backward(np.zeros_like(x), normalised, weight, inv_std):
        assert not g.any()
