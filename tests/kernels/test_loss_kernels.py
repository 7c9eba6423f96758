"""The cross-entropy kernels against a float64 log-softmax written out here."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.kernels import loss


def _reference(x, index, weights):
    x = x.astype(np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(x)), index] * weights, np.exp(log_softmax)


def _row_weights(index, ignore_index, class_weight):
    weights = (
        np.ones(len(index))
        if class_weight.size == 0
        else class_weight[np.where(index == ignore_index, 0, index)]
    )
    return np.where(index == ignore_index, 0.0, weights)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [0, 1, 9])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_kernels_match_a_log_softmax(dtype, rows, weighted):
    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, 7)) * 30).astype(dtype)  # large logits: the shift matters
    index = rng.integers(0, 7, rows)
    index[::4] = -3  # ignored rows weigh 0
    class_weight = rng.uniform(0, 2, 7).astype(dtype) if weighted else np.empty(0, dtype)
    weights = _row_weights(index, -3, class_weight)
    losses, probabilities, loss_sum, weight_sum = loss.cross_entropy_forward(
        x, index, -3, class_weight
    )
    want_losses, want_probabilities = _reference(x, np.where(index == -3, 0, index), weights)
    assert losses.dtype == probabilities.dtype == dtype
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(losses, want_losses, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(probabilities, want_probabilities, rtol=tolerance, atol=1e-30)
    np.testing.assert_allclose(loss_sum, want_losses.sum(), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(weight_sum, weights.sum(), rtol=1e-6)
    one_hot = np.eye(7)[np.where(index == -3, 0, index)]
    for grad in (rng.standard_normal(1), rng.standard_normal(rows)):
        grad = grad.astype(dtype)
        gradient = loss.cross_entropy_backward(probabilities, index, -3, class_weight, grad, 0.5)
        scale = (grad if grad.size == rows else grad[0]) * weights * 0.5
        want = (want_probabilities - one_hot) * np.reshape(scale, (-1, 1))
        np.testing.assert_allclose(gradient, want, rtol=tolerance, atol=tolerance)


def test_non_finite_logits_reach_only_their_own_row():
    x = np.random.default_rng(0).standard_normal((4, 5))
    x[1, 2], x[2, 0], x[3, 4] = np.nan, np.inf, -np.inf
    index = np.array([0, 1, 2, 3])
    losses, probabilities, _, _ = loss.cross_entropy_forward(x, index, -100, np.empty(0))
    want_losses, want_probabilities = _reference(x, index, np.ones(4))
    np.testing.assert_array_equal(np.isnan(losses), [False, True, True, False])
    np.testing.assert_allclose(losses[[0, 3]], want_losses[[0, 3]], rtol=1e-12)
    np.testing.assert_allclose(probabilities[3], want_probabilities[3], rtol=1e-12)
    assert np.isnan(probabilities[1]).all() and np.isfinite(probabilities[[0, 3]]).all()


def test_cross_entropy_takes_the_kernel_for_cpu_rows(monkeypatch):
    # (N, C) NumPy logits go through kernels.loss, forward and backward; (N, C, H, W) do not.
    calls = []
    for name in ("cross_entropy_forward", "cross_entropy_backward"):
        real = getattr(loss, name)
        monkeypatch.setattr(loss, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    x = ag.tensor(np.random.default_rng(1).standard_normal((6, 3)), requires_grad=True)
    F.cross_entropy(x, np.array([0, 1, 2, 0, 1, 2])).backward()
    assert calls == ["cross_entropy_forward", "cross_entropy_backward"]
    images = ag.tensor(np.zeros((2, 3, 2, 2)), requires_grad=True)
    F.cross_entropy(images, np.zeros((2, 2, 2), dtype=np.int64)).backward()
    assert len(calls) == 2
