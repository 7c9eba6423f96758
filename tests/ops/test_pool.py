"""Pooling: PyTorch's values, indices and gradients; adaptive bins by a loop; double
backward through max pooling; float32; argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.testing import gradgradcheck
from tests.ops._fixtures import torch_case


def test_max_pool2d_values_indices_and_gradient_match_torch() -> None:
    case = torch_case("maxpool")
    x = ag.tensor(case["x"], requires_grad=True)
    out, indices = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), case["out"])
    assert isinstance(indices, ag.Tensor) and indices.dtype == np.int64
    np.testing.assert_array_equal(indices.numpy(), case["indices"])
    out.backward(case["cot"])
    np.testing.assert_allclose(x.grad.numpy(), case["grad"], rtol=1e-12)


def test_avg_pool2d_without_counting_padding_matches_torch() -> None:
    case = torch_case("avgpool")
    x = ag.tensor(case["x"], requires_grad=True)
    out = F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1), count_include_pad=False)
    np.testing.assert_allclose(out.numpy(), case["out"], rtol=1e-12)
    out.backward(case["cot"])
    np.testing.assert_allclose(x.grad.numpy(), case["grad"], rtol=1e-12)


def test_adaptive_avg_pool2d_uneven_bins_match_torch() -> None:
    case = torch_case("adaptive")
    x = ag.tensor(case["x"], requires_grad=True)
    out = F.adaptive_avg_pool2d(x, (3, 2))
    np.testing.assert_allclose(out.numpy(), case["out"], rtol=1e-12)
    out.backward(case["cot"])
    np.testing.assert_allclose(x.grad.numpy(), case["grad"], rtol=1e-12)


def test_adaptive_avg_pool2d_divisible_sizes_use_avg_pool_and_none_keeps_a_size() -> None:
    x = np.arange(2 * 4 * 6, dtype=np.float64).reshape(1, 2, 4, 6)
    out = F.adaptive_avg_pool2d(ag.tensor(x, requires_grad=True), (2, 3))
    assert out.node.name == "avg_pool2d"
    np.testing.assert_allclose(out.numpy(), x.reshape(1, 2, 2, 2, 3, 2).mean(axis=(3, 5)))
    kept = F.adaptive_avg_pool2d(x, (None, 1))
    np.testing.assert_allclose(kept.numpy(), x.mean(axis=3, keepdims=True))
    assert F.adaptive_avg_pool2d(x, 1).shape == (1, 2, 1, 1)


def test_double_backward_through_max_pool2d() -> None:
    # ||d(sum(max_pool(x)**2))/dx||**2 has a gradient in x: scatter, then gather again.
    rng = np.random.default_rng(0)
    x = rng.permutation(32).reshape(1, 2, 4, 4) / 8.0  # distinct values: no ties

    def penalty(x):
        with ag.enable_grad():
            inner = (F.max_pool2d(x, 2, stride=1) ** 2).sum()
            (grad_x,) = ag.grad(inner, x, create_graph=True)
        return (grad_x * grad_x).sum()

    x_tensor = ag.tensor(x, requires_grad=True)
    (grad,) = ag.grad(penalty(x_tensor), x_tensor)
    # Each winner w appears in k windows: the penalty is sum k_w**2 * 4 x_w**2.
    wins = np.zeros(x.size)
    out, indices = F.max_pool2d(x, 2, stride=1, return_indices=True)
    planes = indices.numpy().reshape(2, -1) + np.arange(2)[:, None] * 16
    np.add.at(wins, planes.ravel(), 1)
    np.testing.assert_allclose(grad.numpy().ravel(), 8 * wins**2 * x.ravel())
    assert gradgradcheck(lambda t: F.max_pool2d(t, 2, stride=1) ** 2,
                         [ag.tensor(x, requires_grad=True)])  # fmt: skip


def test_pools_keep_float32_and_accept_unbatched_input() -> None:
    x = ag.tensor(np.random.default_rng(0).standard_normal((3, 6, 6)).astype(np.float32),
                  requires_grad=True)  # fmt: skip
    for out in (
        F.max_pool2d(x, 2),
        F.avg_pool2d(x, 3, stride=2, padding=1),
        F.adaptive_avg_pool2d(x, 4),
    ):
        assert out.dtype == np.float32 and out.ndim == 3
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_pool_errors() -> None:
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D \(N, C, H, W\) or 3-D"):
        F.max_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match=r"max_pool2d: stride must be positive, got \(0, 0\)"):
        F.max_pool2d(x, 2, stride=0)
    with pytest.raises(ValueError, match=r"avg_pool2d: padding \(2, 2\) must be at most half"):
        F.avg_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel of size \(5, 5\).*larger than"):
        F.max_pool2d(x, 5)
    with pytest.raises(ValueError, match="avg_pool2d: divisor_override must be a positive int"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be positive"):
        F.adaptive_avg_pool2d(x, 0)


def test_max_pool2d_window_wholly_in_padding_passes_no_gradient_either_way() -> None:
    # Width 1, kernel 2 dilated by 2, padding 1: the window sees columns -1 and 1, both padding.
    x = ag.tensor(np.array([[[[1.0], [2.0]]]]), requires_grad=True)
    out, indices = F.max_pool2d(x, (1, 2), stride=1, padding=(0, 1), dilation=(1, 2),
                                return_indices=True)  # fmt: skip
    assert np.all(np.isneginf(out.numpy())) and np.all(indices.numpy() == -1)
    cotangent = ag.tensor(np.ones(out.shape), requires_grad=True)
    (grad_x,) = ag.grad(out, x, grad_outputs=cotangent, create_graph=True)
    np.testing.assert_array_equal(grad_x.numpy(), 0.0)
    (grad_cotangent,) = ag.grad((grad_x * np.array([[[[3.0], [5.0]]]])).sum(), cotangent)
    np.testing.assert_array_equal(grad_cotangent.numpy(), 0.0)


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pools_with_an_empty_batch_run_backward(pool) -> None:
    x = ag.tensor(np.zeros((0, 2, 5, 5)), requires_grad=True)
    out = pool(x, 2)
    assert out.shape == (0, 2, 2, 2)
    out.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5)
    (grad,) = ag.grad(pool(x, 2).sum(), x, create_graph=True)
    assert grad.shape == (0, 2, 5, 5)


def test_max_pool2d_of_integers_matches_the_float_result() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 3, 7, 6)).astype(np.uint8)
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                   dict(kernel_size=2, dilation=2, stride=1)):  # fmt: skip
        out, indices = F.max_pool2d(images, return_indices=True, **kwargs)
        want, want_indices = F.max_pool2d(images.astype(np.float64), return_indices=True, **kwargs)
        assert out.dtype == np.uint8 and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), want.numpy())
        np.testing.assert_array_equal(indices.numpy(), want_indices.numpy())


def test_ceil_mode_output_sizes_follow_torch() -> None:
    # PyTorch 2.13's shapes: (6, 7), kernel 3, stride 2, padding 1 -> (4, 4) with ceil_mode,
    # (3, 4) without; (4, 4), kernel 2, stride 2, padding 1 -> (3, 3); (5, 5), 2, 3 -> (2, 2).
    x = np.zeros((1, 1, 6, 7))
    assert F.max_pool2d(x, 3, 2, 1, ceil_mode=True).shape == (1, 1, 4, 4)
    assert F.max_pool2d(x, 3, 2, 1).shape == (1, 1, 3, 4)
    assert F.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.max_pool2d(np.zeros((1, 1, 5, 5)), 2, 3, 0, ceil_mode=True).shape == (1, 1, 2, 2)
