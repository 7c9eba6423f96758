"""Elementwise ops: edge cases found against PyTorch 2.13 (issue 14), as regression tests."""

from __future__ import annotations

import numpy as np

import autograd_cv as ag
from autograd_cv.testing import gradcheck


def test_clip_with_tensor_bounds_gives_the_bounds_their_gradient() -> None:
    # torch.clamp(x, lo) with x = [-1, .5, 2], lo = 0: lo.grad = 1 (one clipped value).
    x = ag.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    low = ag.tensor(0.0, requires_grad=True)
    x.clip(low, None).sum().backward()
    assert low.grad.item() == 1.0
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1])
    # Both bounds as tensors, elementwise: x < low sends to low, x > high to high.
    x = ag.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    low = ag.tensor([0.0, 0.5, 0.0], requires_grad=True)
    high = ag.tensor([1.0, 1.0, 1.0], requires_grad=True)
    ag.clip(x, low, high).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 0])  # x == low counts as inside
    np.testing.assert_array_equal(low.grad.numpy(), [1, 0, 0])
    np.testing.assert_array_equal(high.grad.numpy(), [0, 0, 1])


def test_clip_with_crossed_bounds_gives_high_everything_as_torch() -> None:
    x = ag.tensor([0.0, 3.0], requires_grad=True)
    low = ag.tensor([2.0, 2.0], requires_grad=True)
    high = ag.tensor([1.0, 1.0], requires_grad=True)
    out = ag.clip(x, low, high)
    np.testing.assert_array_equal(out.numpy(), [1, 1])
    out.sum().backward()
    np.testing.assert_array_equal(low.grad.numpy(), [0, 0])
    np.testing.assert_array_equal(high.grad.numpy(), [1, 1])


def test_clip_tensor_bounds_gradcheck_with_broadcasting() -> None:
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.uniform(-2, 2, (3, 4)), requires_grad=True)
    low = ag.tensor(rng.uniform(-1.5, -0.5, (4,)), requires_grad=True)
    high = ag.tensor(rng.uniform(0.5, 1.5, (3, 1)), requires_grad=True)
    gradcheck(lambda a, b, c: ag.clip(a, b, c), [x, low, high])


def test_pow_gradients_at_the_edges_match_torch() -> None:
    # PyTorch 2.13: x = [0, -2, 0], y = [0, 1.5, -1]; x.grad = [0, nan, -inf], y.grad the same.
    x = ag.tensor([0.0, -2.0, 0.0], requires_grad=True)
    y = ag.tensor([0.0, 1.5, -1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (x**y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, np.nan, -np.inf])
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, np.nan, -np.inf])
    # 0 ** y with y > 0: d/dy = 0 (y log 0 -> 0), not nan.
    x = ag.tensor([0.0], requires_grad=True)
    y = ag.tensor([2.0], requires_grad=True)
    (x**y).sum().backward()
    assert y.grad.numpy()[0] == 0 and x.grad.numpy()[0] == 0


def test_integer_to_negative_integer_power_follows_torch() -> None:
    # PyTorch: [2, 3, 1, -1, -1, -2, 0] ** [-2, -3, -5, -2, -3, -1, 2] = [0, 0, 1, 1, -1, 0, 0]
    base = ag.tensor([2, 3, 1, -1, -1, -2, 0])
    exponent = ag.tensor([-2, -3, -5, -2, -3, -1, 2])
    out = base**exponent
    assert out.dtype.kind == "i"
    np.testing.assert_array_equal(out.numpy(), [0, 0, 1, 1, -1, 0, 0])
    np.testing.assert_array_equal((ag.tensor([2, 3]) ** ag.tensor([-2, -3])).numpy(), [0, 0])
    np.testing.assert_array_equal((ag.tensor([2, -1, 1]) ** -3).numpy(), [0, -1, 1])


def test_integer_tensors_promoted_by_a_float_op_become_float32() -> None:
    assert (ag.tensor(1) + 0.5).dtype == np.float32
    assert (ag.tensor(1) + 0.5).item() == 1.5
    assert ag.tensor(2).exp().dtype == np.float32
    assert ag.tensor([1, 2]).mean().dtype == np.float32
    assert ag.sqrt(ag.tensor([4])).dtype == np.float32
    # float32 mixed with an integer tensor stays float32; float64 stays float64.
    x32 = ag.tensor(np.ones(2, np.float32))
    assert (x32 * ag.tensor([1, 2])).dtype == np.float32
    assert (ag.tensor(np.ones(2)) * ag.tensor([1, 2])).dtype == np.float64
    assert (ag.tensor([1, 2]) + ag.tensor([3, 4])).dtype.kind == "i"
