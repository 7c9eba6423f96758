"""Conv2d, ConvTranspose2d and pooling layers against naive loop references written here."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn

RNG = np.random.default_rng(7)


def array(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def naive_conv2d(x, w, b, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    out_h = (x.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (x.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, out_h, out_w))
    per_group = o // groups
    for oc in range(o):
        g = oc // per_group
        for i in range(out_h):
            for j in range(out_w):
                rows = i * stride[0] + dilation[0] * np.arange(kh)
                cols = j * stride[1] + dilation[1] * np.arange(kw)
                patch = x[:, g * cg : (g + 1) * cg][:, :, rows][:, :, :, cols]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    return out + (0 if b is None else b[None, :, None, None])


def naive_conv_transpose2d(x, w, b, stride, padding):
    """Scatter each input pixel's weighted kernel into the output, then crop the padding."""
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros((n, o, (h - 1) * stride + kh, (wd - 1) * stride + kw))
    for i in range(h):
        for j in range(wd):
            contribution = np.einsum("nc,cokl->nokl", x[:, :, i, j], w)
            full[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw] += contribution
    out = full[:, :, padding : full.shape[2] - padding, padding : full.shape[3] - padding]
    return out + b[None, :, None, None]


@pytest.mark.parametrize(
    "stride, padding, dilation, groups",
    [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), ((2, 1), (0, 1), 1, 2)],
)
def test_conv2d_layer_matches_naive_reference(stride, padding, dilation, groups):
    layer = nn.Conv2d(4, 6, 3, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert layer.weight.shape == (6, 4 // groups, 3, 3) and layer.bias.shape == (6,)
    x = array(2, 4, 7, 8)
    out = layer(ag.tensor(x))
    expected = naive_conv2d(
        x, layer.weight.data, layer.bias.data, layer.stride, layer.padding, layer.dilation, groups
    )
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-5)
    out.sum().backward()
    assert layer.weight.grad.shape == layer.weight.shape
    np.testing.assert_allclose(
        layer.bias.grad.data, np.full(6, out.shape[0] * np.prod(out.shape[2:]))
    )


def test_conv2d_repr_and_validation():
    layer = nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, bias=False)
    assert repr(layer) == (
        "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), bias=False)"
    )
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)


def test_conv_transpose2d_layer_matches_naive_reference():
    layer = nn.ConvTranspose2d(3, 5, 3, stride=2, padding=1)
    assert layer.weight.shape == (3, 5, 3, 3)
    x = array(2, 3, 4, 4)
    out = layer(ag.tensor(x))
    expected = naive_conv_transpose2d(x, layer.weight.data, layer.bias.data, 2, 1)
    assert out.shape == (2, 5, 7, 7)
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-5)


def windows(x, k, s):
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    return np.stack(
        [
            np.stack([x[:, :, i * s : i * s + k, j * s : j * s + k] for j in range(ow)], axis=2)
            for i in range(oh)
        ],
        axis=2,
    )  # (n, c, oh, ow, k, k)


def test_pooling_layers_match_references():
    x = array(2, 3, 7, 7)
    t = ag.tensor(x)
    np.testing.assert_allclose(nn.MaxPool2d(3, 2)(t).data, windows(x, 3, 2).max(axis=(4, 5)))
    np.testing.assert_allclose(nn.MaxPool2d(2)(t).data, windows(x, 2, 2).max(axis=(4, 5)))
    np.testing.assert_allclose(
        nn.AvgPool2d(2)(t).data, windows(x, 2, 2).mean(axis=(4, 5)), rtol=1e-6, atol=1e-7
    )
    x8 = array(2, 3, 8, 8)
    pooled = nn.AdaptiveAvgPool2d(4)(ag.tensor(x8)).data
    np.testing.assert_allclose(pooled, windows(x8, 2, 2).mean(axis=(4, 5)), rtol=1e-6, atol=1e-7)
    assert nn.AdaptiveAvgPool2d((1, 1))(ag.tensor(x8)).shape == (2, 3, 1, 1)
    assert repr(nn.MaxPool2d(3, 2)) == "MaxPool2d(kernel_size=3, stride=2, padding=0)"
