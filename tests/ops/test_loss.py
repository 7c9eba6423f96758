"""Losses: hand-computed values, PyTorch's numbers, reductions, dtype, and argument errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from tests.ops._fixtures import torch_case


def test_cross_entropy_by_hand() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    target = np.array([2, 0])
    first = -(3 - math.log(math.exp(1) + math.exp(2) + math.exp(3)))
    second = math.log(3.0)
    losses = F.cross_entropy(logits, target, reduction="none").numpy()
    np.testing.assert_allclose(losses, [first, second])
    assert F.cross_entropy(logits, target).item() == pytest.approx((first + second) / 2)
    assert F.cross_entropy(logits, target, reduction="sum").item() == pytest.approx(first + second)
    # d/dlogits of the mean: (softmax - one_hot) / N
    x = ag.tensor(logits, requires_grad=True)
    F.cross_entropy(x, target).backward()
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), (softmax - np.eye(3)[target]) / 2)


def test_cross_entropy_with_weight_and_ignore_index_matches_torch() -> None:
    case = torch_case("ce_weighted")
    x = ag.tensor(case["x"], requires_grad=True)
    loss = F.cross_entropy(x, case["target"], weight=case["weight"], ignore_index=-1)
    loss.backward()
    np.testing.assert_allclose(loss.item(), case["loss"], rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), case["grad"], rtol=1e-10, atol=1e-14)


def test_nll_loss_over_spatial_targets_matches_torch() -> None:
    case = torch_case("nll_spatial")
    x = ag.tensor(case["x"], requires_grad=True)
    loss = F.nll_loss(x, ag.tensor(case["target"]))  # a Tensor of class indices works too
    loss.backward()
    np.testing.assert_allclose(loss.item(), case["loss"], rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), case["grad"], rtol=1e-12)


def test_multi_margin_loss_by_hand_and_against_torch() -> None:
    # PyTorch's documentation example: (0.3 + 0.4 + 0.6) / 4
    x = np.array([[0.1, 0.2, 0.4, 0.8]])
    assert F.multi_margin_loss(x, np.array([3])).item() == pytest.approx(0.325)
    # Squared hinge by hand: terms max(0, 1 - 0.4 + x_i) for i = 0, 1, 3
    squared = (0.7**2 + 0.8**2 + 1.4**2) / 4
    assert F.multi_margin_loss(x, np.array([2]), p=2).item() == pytest.approx(squared)
    case = torch_case("margin")
    xt = ag.tensor(case["x"], requires_grad=True)
    loss = F.multi_margin_loss(xt, case["target"], p=2, margin=0.7, weight=case["weight"])
    loss.backward()
    np.testing.assert_allclose(loss.item(), case["loss"], rtol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), case["grad"], rtol=1e-12)


def test_binary_cross_entropy_clamps_its_logs_like_torch() -> None:
    case = torch_case("bce")
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        losses = F.binary_cross_entropy(case["x"], case["target"], reduction="none")
    np.testing.assert_allclose(losses.numpy(), case["loss"], rtol=1e-12)
    assert losses.numpy()[0] == 100.0  # -log(0) clamped at 100


def test_binary_cross_entropy_with_logits_is_stable_and_matches_torch() -> None:
    case = torch_case("bce_logits")
    x = ag.tensor(case["x"], requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        losses = F.binary_cross_entropy_with_logits(x, case["target"], reduction="none")
        losses.sum().backward()
    np.testing.assert_allclose(losses.numpy(), case["loss"], rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), case["grad"], rtol=1e-12, atol=1e-300)
    x32 = ag.tensor(case["x"].astype(np.float32), requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        F.binary_cross_entropy_with_logits(x32, case["target"]).backward()
    assert x32.grad.dtype == np.float32


def test_mse_loss_reductions() -> None:
    x, t = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    np.testing.assert_allclose(F.mse_loss(x, t, reduction="none").numpy(), [[1, 0], [4, 16]])
    assert F.mse_loss(x, t).item() == 5.25
    assert F.mse_loss(x, t, reduction="sum").item() == 21.0


@pytest.mark.parametrize(
    "loss",
    [
        lambda x, t: F.cross_entropy(x, t),
        lambda x, t: F.nll_loss(F.log_softmax(x, axis=1), t),
        lambda x, t: F.multi_margin_loss(x, t),
        lambda x, t: F.mse_loss(x, np.eye(3)[t]),
        lambda x, t: F.binary_cross_entropy(F.sigmoid(x), np.eye(3)[t]),
        lambda x, t: F.binary_cross_entropy_with_logits(x, np.eye(3)[t]),
    ],
)
def test_losses_keep_float32_through_backward(loss) -> None:
    x = ag.tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32),
                  requires_grad=True)  # fmt: skip
    value = loss(x, np.array([0, 2, 1, 1]))
    assert value.dtype == np.float32
    value.backward()
    assert x.grad.dtype == np.float32


def test_class_target_errors() -> None:
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"cross_entropy: target values must lie in \[0, 4\).*"
                                         r"shape \(3, 4\), got 4"):  # fmt: skip
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"nll_loss: target values must lie in \[0, 4\).*got -2"):
        F.nll_loss(logits, np.array([0, -2, 1]))
    with pytest.raises(ValueError, match="cross_entropy: target must hold integer class indices"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"multi_margin_loss: target of shape \(2,\) does not "
                                         r"fit input of shape \(3, 4\)"):  # fmt: skip
        F.multi_margin_loss(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"mse_loss: target of shape \(3,\) does not match"):
        F.mse_loss(logits, np.zeros(3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="binary_cross_entropy: input must hold probabilities"):
        F.binary_cross_entropy(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="multi_margin_loss: p must be 1 or 2"):
        F.multi_margin_loss(logits, np.array([0, 1, 2]), p=3)


def test_cross_entropy_with_every_target_ignored_has_zero_gradient() -> None:
    # PyTorch: the loss is nan (0 / 0) but the gradient is 0, so an all-"ignore" batch
    # (a segmentation crop of void pixels) cannot poison the parameters.
    x = ag.tensor(np.random.default_rng(0).normal(size=(2, 3, 2)), requires_grad=True)
    target = np.full((2, 2), 255)
    loss = F.cross_entropy(x, target, ignore_index=255)
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3, 2)))


def test_binary_cross_entropy_gradient_at_0_and_1_matches_torch() -> None:
    # PyTorch 2.13, reduction="sum": x = [0, 1, 0, 1], t = [1, 0, 0, 1] gives
    # x.grad = [-1e12, 1e12, 0, 0] (its (x - t) / max(x (1 - x), 1e-12)) and
    # t.grad = [inf, -inf, inf, -inf] (log(1 - x) - log(x), unclamped).
    x = ag.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    t = ag.tensor([1.0, 0.0, 0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(x, t, reduction="sum")
    assert loss.item() == pytest.approx(200.0)  # two log clamps at -100
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1e12, 1e12, 0, 0])
    np.testing.assert_array_equal(t.grad.numpy(), [np.inf, -np.inf, np.inf, -np.inf])


def test_unbatched_class_inputs_match_a_batch_of_one() -> None:
    logits = np.array([0.5, -1.0, 2.0])
    single = F.cross_entropy(logits, 2, label_smoothing=0.1)
    batch = F.cross_entropy(logits[None], np.array([2]), label_smoothing=0.1)
    assert single.shape == () and single.item() == pytest.approx(batch.item())
    assert F.nll_loss(logits, np.int64(1)).item() == pytest.approx(1.0)
    soft = np.array([0.2, 0.3, 0.5])
    expected = -(soft * (logits - np.log(np.exp(logits).sum()))).sum()
    assert F.cross_entropy(logits, soft).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must lie in \[0, 1\]"):
        F.cross_entropy(logits[None], np.array([0]), label_smoothing=1.5)


def _composed_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean"):
    """cross_entropy as the two recorded ops it fuses: log_softmax, then nll_loss."""
    log_probabilities = F.log_softmax(x, axis=1)
    return F.nll_loss(log_probabilities, target, weight, ignore_index, reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 2, 3)])
def test_fused_cross_entropy_matches_log_softmax_then_nll(shape, weighted, reduction) -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=4.0, size=shape)
    target = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    target.flat[::4] = -1  # ignored
    weight = rng.uniform(0.5, 2.0, shape[1]) if weighted else None
    fused_x = ag.tensor(logits, requires_grad=True)
    composed_x = ag.tensor(logits, requires_grad=True)
    fused = F.cross_entropy(fused_x, target, weight, ignore_index=-1, reduction=reduction)
    composed = _composed_cross_entropy(composed_x, target, weight, -1, reduction)
    assert fused.node.name == "cross_entropy"
    assert [type(n).__name__ for n in ag.autograd.engine.topological_order([fused.node])] == [
        "CrossEntropy"
    ]
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12, atol=1e-14)
    cotangent = rng.normal(size=fused.shape)
    fused.backward(cotangent, retain_graph=True)
    composed.backward(cotangent)
    np.testing.assert_allclose(fused_x.grad.numpy(), composed_x.grad.numpy(), atol=1e-14)
    # A second backward reads the same saved exponentials: it must not have changed them.
    first = fused_x.grad.numpy().copy()
    fused.backward(cotangent)
    np.testing.assert_allclose(fused_x.grad.numpy(), 2 * first, atol=1e-14)


def test_fused_cross_entropy_float32_gradient_and_second_derivative() -> None:
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(6, 4))
    target = rng.integers(0, 4, 6)
    x32 = ag.tensor(logits.astype(np.float32), requires_grad=True)
    loss32 = F.cross_entropy(x32, target)
    loss32.backward()
    assert loss32.dtype == np.float32 and x32.grad.dtype == np.float32
    x = ag.tensor(logits, requires_grad=True)
    (grad,) = ag.grad(F.cross_entropy(x, target), [x], create_graph=True)
    np.testing.assert_allclose(x32.grad.numpy(), grad.numpy(), rtol=1e-5, atol=1e-7)
    # d/dx of sum(grad * v) is the softmax Hessian applied to v, row by row, over N.
    v = rng.normal(size=(6, 4))
    (hessian_v,) = ag.grad((grad * ag.tensor(v)).sum(), [x])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (p * v - p * (p * v).sum(axis=1, keepdims=True)) / 6
    np.testing.assert_allclose(hessian_v.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_fused_cross_entropy_refuses_stale_inputs_and_empty_classes() -> None:
    x = ag.tensor(np.zeros((2, 3)), requires_grad=True)
    y = x * 1.0
    loss = F.cross_entropy(y, np.array([0, 2]))
    with ag.no_grad():
        y.add_(5.0)  # the saved exponentials no longer match y
    with pytest.raises(RuntimeError, match=r"cross_entropy: its input 0 \(shape \(2, 3\)\)"):
        loss.backward()
    with pytest.raises(ValueError, match=r"cross_entropy: axis 1 .*shape \(2, 0\).* no classes"):
        F.cross_entropy(np.zeros((2, 0)), np.array([-100, -100]))  # targets ignored
