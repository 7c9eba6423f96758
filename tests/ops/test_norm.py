"""batch_norm (running statistics by hand, PyTorch's gradients), local_response_norm
(naive loop, PyTorch), dropout (reproducible, scaled)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.testing import gradgradcheck
from tests.ops._fixtures import torch_case


def test_batch_norm_training_updates_running_stats_in_place_by_hand() -> None:
    # Channel 0 sees 1, 3, 5, 7 (mean 4, biased var 5, unbiased 20/3); channel 1 sees 0, 0, 2, 2.
    x = np.array([[[[1.0, 3.0]], [[0.0, 0.0]]], [[[5.0, 7.0]], [[2.0, 2.0]]]])
    running_mean = np.array([1.0, -1.0])
    running_var = ag.tensor(np.array([2.0, 0.5]))
    mean_buffer, var_buffer = running_mean, running_var.data
    out = F.batch_norm(x, running_mean, running_var, training=True, momentum=0.25)
    np.testing.assert_allclose(running_mean, [0.75 * 1 + 0.25 * 4, 0.75 * -1 + 0.25 * 1])
    np.testing.assert_allclose(running_var.numpy(), [0.75 * 2 + 0.25 * 20 / 3,
                                                     0.75 * 0.5 + 0.25 * 4 / 3])  # fmt: skip
    assert running_mean is mean_buffer and running_var.data is var_buffer  # really in place
    expected_0 = (np.array([1.0, 3.0, 5.0, 7.0]) - 4) / np.sqrt(5 + 1e-5)
    np.testing.assert_allclose(out.numpy()[:, 0].ravel(), expected_0)


def test_batch_norm_float32_statistics_survive_a_large_mean() -> None:
    # Values 1000 + N(0, 0.01): E[x^2] - E[x]^2 in float32 would lose the variance entirely.
    rng = np.random.default_rng(1)
    x = (1000 + 0.01 * rng.normal(size=(16, 3, 5, 5))).astype(np.float32)
    out = F.batch_norm(x, None, None, training=True, eps=0.0).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-3)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, rtol=1e-3)


def test_batch_norm_training_matches_torch_values_gradients_and_running_stats() -> None:
    case = torch_case("bn")
    x, w, b = (ag.tensor(case[k], requires_grad=True) for k in ("x", "w", "b"))
    running_mean, running_var = np.zeros(2), np.ones(2)
    out = F.batch_norm(x, running_mean, running_var, w, b, training=True, momentum=0.3)
    out.backward(case["cot"])
    np.testing.assert_allclose(out.numpy(), case["out"], rtol=1e-12)
    for tensor, key in ((x, "grad_x"), (w, "grad_w"), (b, "grad_b")):
        np.testing.assert_allclose(tensor.grad.numpy(), case[key], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(running_mean, case["running_mean"], rtol=1e-12)
    np.testing.assert_allclose(running_var, case["running_var"], rtol=1e-12)


def test_batch_norm_eval_uses_running_stats_and_keeps_float32() -> None:
    x = ag.tensor(np.arange(12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    mean, var = np.array([1, 2, 3, 4], np.float32), np.array([1, 4, 9, 16], np.float32)
    w = ag.tensor(np.full(4, 2.0, np.float32), requires_grad=True)
    out = F.batch_norm(x, mean, var, w, np.zeros(4, np.float32), training=False)
    expected = (x.numpy() - mean) / np.sqrt(var + 1e-5) * 2
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == w.grad.dtype == np.float32
    np.testing.assert_array_equal(mean, [1, 2, 3, 4])  # evaluation never updates


def test_batch_norm_training_keeps_float32_and_double_backward_works() -> None:
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((4, 3, 2, 2)).astype(np.float32), requires_grad=True)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    out = F.batch_norm(x, rm, rv, training=True)
    (out * out * out).sum().backward()
    assert out.dtype == x.grad.dtype == rm.dtype == rv.dtype == np.float32
    inputs = [ag.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True),
              ag.tensor(rng.standard_normal(2) + 2, requires_grad=True)]  # fmt: skip
    assert gradgradcheck(
        lambda x, w: F.batch_norm(x, None, None, w, None, training=True) ** 3, inputs, atol=1e-4
    )


def test_batch_norm_errors() -> None:
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have shape \(3,\) "
                                         r"for input of shape \(2, 3\), got \(4,\)"):  # fmt: skip
        F.batch_norm(np.ones((2, 3)), np.zeros(4), np.ones(3))
    with pytest.raises(ValueError, match="more than one value per channel"):
        F.batch_norm(np.ones((1, 3)), None, None, training=True)


def _lrn_loop(x: np.ndarray, size: int, alpha: float, beta: float, k: float) -> np.ndarray:
    n, channels, h, w = x.shape
    out = np.empty_like(x)
    for i, c, r, s in np.ndindex(n, channels, h, w):
        total = 0.0
        for j in range(c - size // 2, c + (size - 1) // 2 + 1):
            if 0 <= j < channels:
                total += x[i, j, r, s] ** 2
        out[i, c, r, s] = x[i, c, r, s] / (k + alpha / size * total) ** beta
    return out


def test_local_response_norm_matches_a_loop_and_torch() -> None:
    case = torch_case("lrn")
    x = ag.tensor(case["x"], requires_grad=True)
    out = F.local_response_norm(x, 4, alpha=0.3, beta=0.75, k=2.0)
    np.testing.assert_allclose(out.numpy(), _lrn_loop(case["x"], 4, 0.3, 0.75, 2.0), rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), case["out"], rtol=1e-12)
    out.backward(case["cot"])
    np.testing.assert_allclose(x.grad.numpy(), case["grad"], rtol=1e-10)
    x32 = ag.tensor(case["x"].astype(np.float32), requires_grad=True)
    F.local_response_norm(x32, 5).sum().backward()
    assert x32.grad.dtype == np.float32


def test_dropout_is_reproducible_and_scaled() -> None:
    x = ag.tensor(np.ones((200, 100), dtype=np.float32), requires_grad=True)
    ag.manual_seed(7)
    first = F.dropout(x, 0.3)
    ag.manual_seed(7)
    second = F.dropout(x, 0.3)
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    third = F.dropout(x, 0.3)
    assert not np.array_equal(first.numpy(), third.numpy())
    values = first.numpy()
    assert first.dtype == np.float32
    assert set(np.unique(values)) == {np.float32(0), np.float32(1 / 0.7)}
    assert abs((values == 0).mean() - 0.3) < 0.02  # 20,000 draws: 5 standard deviations
    first.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # gradient uses the same mask
    a = F.dropout(x, 0.5, generator=np.random.default_rng(3)).numpy()
    b = F.dropout(x, 0.5, generator=np.random.default_rng(3)).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_off_in_eval_and_p_checked() -> None:
    x = ag.tensor(np.ones(5))
    assert F.dropout(x, 0.5, training=False) is x
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"dropout: p must lie in \[0, 1\)"):
            F.dropout(x, p)


def test_channel_sums_kernel_and_batch_norm_grads_match_numpy() -> None:
    from autograd_cv.kernels import channel_sums

    rng = np.random.default_rng(3)
    grad = rng.standard_normal((4, 3, 5, 6)).astype(np.float32)
    normalised = rng.standard_normal((6, 5, 3, 4)).astype(np.float32).T  # non-contiguous
    sums = channel_sums(grad, normalised)
    assert sums.dtype == np.float32 and sums.shape == (2, 3)
    np.testing.assert_allclose(sums[0], grad.sum(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(sums[1], (grad * normalised).sum(axis=(0, 2, 3)), rtol=1e-5)
    with pytest.raises(ValueError, match="channel_sums"):
        channel_sums(grad, normalised[:2])
    # Through the engine, against the closed form written out in float64.
    x = ag.tensor(rng.standard_normal((4, 3, 5, 6)), requires_grad=True)
    w = ag.tensor(rng.standard_normal(3), requires_grad=True)
    b = ag.tensor(rng.standard_normal(3), requires_grad=True)
    g = rng.standard_normal(x.shape)
    F.batch_norm(x, None, None, w, b, training=True).backward(g)
    axes = (0, 2, 3)
    mean, var = x.numpy().mean(axes, keepdims=True), x.numpy().var(axes, keepdims=True)
    inv_std = 1 / np.sqrt(var + 1e-5)
    n = (x.numpy() - mean) * inv_std
    expected_x = (w.numpy().reshape(1, 3, 1, 1) * inv_std) * (
        g - g.mean(axes, keepdims=True) - n * (g * n).mean(axes, keepdims=True)
    )
    np.testing.assert_allclose(x.grad.numpy(), expected_x, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(w.grad.numpy(), (g * n).sum(axes), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), g.sum(axes), rtol=1e-6)


def test_batch_norm_input_gradient_is_the_same_with_and_without_weight_gradients() -> None:
    rng = np.random.default_rng(4)
    data, weight = rng.standard_normal((3, 2, 4, 4)), rng.standard_normal(2)
    g = rng.standard_normal(data.shape)
    grads = []
    for weight_requires_grad in (True, False):  # sums shared with ChannelSums, or computed
        x = ag.tensor(data, requires_grad=True)
        w = ag.tensor(weight, requires_grad=weight_requires_grad)
        F.batch_norm(x, None, None, w, ag.tensor(np.zeros(2)), training=True).backward(g)
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-14)
