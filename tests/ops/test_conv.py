"""conv2d and conv_transpose2d: a definition-level loop, PyTorch's numbers, a gradient
penalty (second derivative) against finite differences, float32, and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.testing import gradcheck
from tests.ops._fixtures import torch_case


def _conv2d_by_definition(x, w, b, stride, padding, dilation, groups):
    """y[n, o, i, j] = b[o] + sum over c, a, e of
    x[n, g(o) c, i s + a d - p, j s + e d - p] w[o, c, a, e], zero outside x."""
    n, channels, h, width = x.shape
    out_channels, per_group, kh, kw = w.shape
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (width + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, out_channels, oh, ow))
    for m, o, i, j in np.ndindex(n, out_channels, oh, ow):
        group = o // (out_channels // groups)
        total = b[o]
        for c, a, e in np.ndindex(per_group, kh, kw):
            r = i * stride[0] + a * dilation[0] - padding[0]
            s = j * stride[1] + e * dilation[1] - padding[1]
            if 0 <= r < h and 0 <= s < width:
                total += x[m, group * per_group + c, r, s] * w[o, c, a, e]
        y[m, o, i, j] = total
    return y


def test_conv2d_matches_its_definition_and_torch() -> None:
    case = torch_case("conv")
    x, w, b = (ag.tensor(case[k], requires_grad=True) for k in ("x", "w", "b"))
    args = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    y = F.conv2d(x, w, b, **args)
    expected = _conv2d_by_definition(case["x"], case["w"], case["b"], (2, 1), (1, 2), (1, 2), 2)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), case["out"], rtol=1e-12, atol=1e-12)
    y.backward(case["cot"])
    for tensor, key in ((x, "grad_x"), (w, "grad_w"), (b, "grad_b")):
        np.testing.assert_allclose(tensor.grad.numpy(), case[key], rtol=1e-10, atol=1e-12)


def test_conv_transpose2d_matches_torch() -> None:
    case = torch_case("convt")
    x, w, b = (ag.tensor(case[k], requires_grad=True) for k in ("x", "w", "b"))
    y = F.conv_transpose2d(
        x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2)
    )
    np.testing.assert_allclose(y.numpy(), case["out"], rtol=1e-12, atol=1e-12)
    y.backward(case["cot"])
    for tensor, key in ((x, "grad_x"), (w, "grad_w"), (b, "grad_b")):
        np.testing.assert_allclose(tensor.grad.numpy(), case[key], rtol=1e-10, atol=1e-12)


def test_conv_transpose2d_is_the_adjoint_of_conv2d() -> None:
    # <conv2d(x, w), y> = <x, conv_transpose2d(y, w)> for every x, y.
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))
    # (7 + 2 - 4 - 1) // 2 + 1 = 3 rows and 4 columns come back to exactly 7 and 6.
    args = dict(stride=2, padding=1, dilation=(2, 1), groups=2)
    y_shape = F.conv2d(x, w, **args).shape
    y = rng.standard_normal(y_shape)
    back = F.conv_transpose2d(y, w, **args)
    assert back.shape == x.shape
    left = np.sum(F.conv2d(x, w, **args).numpy() * y)
    assert left == pytest.approx(np.sum(x * back.numpy()), rel=1e-12)


def _penalty(x, w):
    """||d(sum(conv2d(x, w)**2))/dx||**2: a gradient penalty, differentiable in w."""
    inner = (F.conv2d(x, w, stride=2, padding=1) ** 2).sum()
    (grad_x,) = ag.grad(inner, x, create_graph=True)
    return (grad_x * grad_x).sum()


def test_gradient_penalty_through_conv2d_matches_finite_differences_and_torch() -> None:
    case = torch_case("penalty")
    x = ag.tensor(case["x"], requires_grad=True)
    w = ag.tensor(case["w"], requires_grad=True)
    penalty = _penalty(x, w)
    (grad_w,) = ag.grad(penalty, w)
    np.testing.assert_allclose(penalty.item(), case["penalty"], rtol=1e-12)
    np.testing.assert_allclose(grad_w.numpy(), case["grad_w"], rtol=1e-10)
    # Central differences of the penalty itself along random directions in w.
    rng, eps = np.random.default_rng(0), 1e-6
    for _ in range(4):
        direction = rng.standard_normal(case["w"].shape)
        values = [
            _penalty(ag.tensor(case["x"], requires_grad=True), ag.tensor(case["w"] + sign * eps
                     * direction)).item()
            for sign in (1, -1)
        ]  # fmt: skip
        numeric = (values[0] - values[1]) / (2 * eps)
        assert np.sum(grad_w.numpy() * direction) == pytest.approx(numeric, rel=1e-6)


def test_third_derivative_through_conv2d() -> None:
    # The penalty's gradient in w is itself differentiable (the three conv Nodes close).
    rng = np.random.default_rng(1)
    x = ag.tensor(rng.standard_normal((1, 1, 4, 4)), requires_grad=True)

    def penalty_grad(w):
        with ag.enable_grad():  # gradcheck's finite differences run under no_grad
            (grad_w,) = ag.grad(_penalty(x, w), w, create_graph=True)
        return grad_w

    assert gradcheck(penalty_grad, [ag.tensor(rng.standard_normal((2, 1, 2, 2)),
                                              requires_grad=True)])  # fmt: skip


def test_conv_keeps_float32_forward_and_backward() -> None:
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    w = ag.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = ag.tensor(np.zeros(4, np.float32), requires_grad=True)
    y = F.conv2d(x, w, b, padding=1)
    z = F.conv_transpose2d(y, w, stride=1, padding=1)
    assert y.dtype == z.dtype == np.float32
    (z * z).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    # A float64 ndarray weight is a constant: it takes the input's dtype.
    assert F.conv2d(x, rng.standard_normal((4, 3, 3, 3))).dtype == np.float32


def test_conv2d_errors_name_the_argument_and_shapes() -> None:
    x, w = np.zeros((1, 4, 5, 5)), np.zeros((2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D \(N, C, H, W\) or 3-D "
                                         r"\(C, H, W\) input, got shape \(5, 5\)"):  # fmt: skip
        F.conv2d(np.zeros((5, 5)), w)
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(1, 4, 5, 5\) has 4 channels, "
                                         r"but weight of shape \(2, 3, 3, 3\) with groups=1 "
                                         r"expects 3"):  # fmt: skip
        F.conv2d(x, np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"weight of shape \(2, 4, 3, 3\) with groups=2 "
                                         r"expects 8"):  # fmt: skip
        F.conv2d(x, w, groups=2)
    with pytest.raises(ValueError, match=r"conv2d: kernel of size \(3, 3\).*larger than the "
                                         r"padded input \(2 \+ 2 \* 0\)"):  # fmt: skip
        F.conv2d(np.zeros((1, 4, 2, 5)), w)
    with pytest.raises(ValueError, match=r"conv2d: stride must be positive, got \(0, 1\)"):
        F.conv2d(x, w, stride=(0, 1))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(2,\)"):
        F.conv2d(x, w, np.zeros(3))
    with pytest.raises(ValueError, match="conv2d: weight has dtype float64 but input has dtype"):
        F.conv2d(ag.tensor(x.astype(np.float32)), ag.tensor(w))
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding \(2, 0\) must be "
                                         r"smaller than stride \(2, 2\)"):  # fmt: skip
        F.conv_transpose2d(x, np.zeros((4, 2, 3, 3)), stride=2, output_padding=(2, 0))
    with pytest.raises(
        ValueError,
        match=r"conv_transpose2d: input of shape \(1, 4, 5, 5\) has 4 "
        r"channels, but weight of shape \(3, 2, 3, 3\) expects 3",
    ):
        F.conv_transpose2d(x, np.zeros((3, 2, 3, 3)))


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: F.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), padding=(-1, 0)),
         ValueError, ["conv2d", "padding", "non-negative", "(-1, 0)"]),
        (lambda: F.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), dilation=0),
         ValueError, ["conv2d", "dilation", "positive"]),
        (lambda: F.conv2d(np.zeros((1, 1, 3, 3), np.int64), np.zeros((1, 1, 2, 2), np.int64)),
         TypeError, ["conv2d", "input", "float32 or float64", "int64"]),
        (lambda: F.avg_pool2d(np.zeros((1, 1, 4, 4), np.int64), 2),
         TypeError, ["avg_pool2d", "input", "float32 or float64", "int64"]),
        (lambda: F.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), stride=(2, "a")),
         ValueError, ["conv2d", "stride", "pair of ints"]),
        (lambda: F.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), stride=1.5),
         ValueError, ["conv2d", "stride", "pair of ints", "1.5"]),
        (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2.5),
         ValueError, ["max_pool2d", "kernel_size", "pair of ints", "2.5"]),
        (lambda: F.max_pool1d(np.zeros((1, 1, 4)), 2.5),
         ValueError, ["max_pool1d", "kernel_size", "1-tuple of ints", "2.5"]),
        (lambda: F.conv1d(np.zeros((1, 1, 4)), np.zeros((1, 1, 2)), stride=None),
         ValueError, ["conv1d", "stride", "1-tuple of ints", "None"]),
    ],
)  # fmt: skip
def test_op_layer_explains_what_the_kernels_only_assert(call, error, words) -> None:
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_conv_transpose2d_accepts_output_padding_below_dilation() -> None:
    from autograd_cv.testing.registry.vision import _conv_transpose2d_reference

    rng = np.random.default_rng(0)
    x = ag.tensor(rng.normal(size=(1, 2, 4, 4)), requires_grad=True)
    w = ag.tensor(rng.normal(size=(2, 2, 3, 3)), requires_grad=True)
    out = F.conv_transpose2d(x, w, stride=2, dilation=3, output_padding=2)
    assert out.shape == (1, 2, 15, 15)  # PyTorch's shape: output_padding < max(stride, dilation)
    expected = _conv_transpose2d_reference(
        x.numpy(), w.numpy(), None, (2, 2), (0, 0), (2, 2), 1, (3, 3)
    )
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    gradcheck(lambda a, b: F.conv_transpose2d(a, b, stride=2, dilation=3, output_padding=2), [x, w])
    with pytest.raises(ValueError, match="smaller than stride .* or dilation"):
        F.conv_transpose2d(x, w, stride=2, dilation=3, output_padding=3)


def test_conv2d_with_an_empty_batch_runs_backward() -> None:
    x = ag.tensor(np.zeros((0, 2, 5, 5), np.float32), requires_grad=True)
    w = ag.tensor(np.ones((3, 2, 3, 3), np.float32), requires_grad=True)
    b = ag.tensor(np.ones(3, np.float32), requires_grad=True)
    out = F.conv2d(x, w, b, padding=1)
    assert out.shape == (0, 3, 5, 5)
    out.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((3, 2, 3, 3)))
    np.testing.assert_array_equal(b.grad.numpy(), np.zeros(3))
