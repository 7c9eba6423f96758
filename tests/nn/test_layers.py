"""Layers: weight layouts, default initialisation, and forwards against small NumPy references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import nn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RNG = np.random.default_rng(3)


def array(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def test_linear_layout_forward_and_backward():
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    x = array(4, 5)
    out = layer(ag.tensor(x))
    np.testing.assert_allclose(out.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, np.tile(x.sum(0), (3, 1)), rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad.data, np.full(3, 4.0))
    no_bias = nn.Linear(5, 3, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert repr(no_bias) == "Linear(in_features=5, out_features=3, bias=False)"


def test_default_init_matches_torch_statistics():
    """max |w| and std of large default-initialised layers equal torch's (recorded once)."""
    stats = np.load(FIXTURES / "init_stats.npz")
    ag.manual_seed(0)
    layers = {
        "linear": nn.Linear(500, 300),
        "conv": nn.Conv2d(64, 32, 3),
        "conv_grouped": nn.Conv2d(64, 128, 5, groups=4),
        "conv_transpose": nn.ConvTranspose2d(32, 48, 4),
    }
    for name, layer in layers.items():
        w, b = layer.weight.data, layer.bias.data
        assert w.shape == tuple(stats[f"{name}/weight_shape"]), name
        torch_max = float(stats[f"{name}/weight_max"])
        # Enough samples that both maxima sit within 0.1% of the common bound.
        assert abs(np.abs(w).max() - torch_max) < 1e-3 * torch_max, name
        np.testing.assert_allclose(w.std(), stats[f"{name}/weight_std"], rtol=0.02, err_msg=name)
        # With a = sqrt(5) the weight and bias bounds coincide (1 / sqrt(fan_in)).
        assert np.abs(b).max() <= torch_max * 1.001 and np.abs(b).max() > 0.5 * torch_max, name


def test_init_functions():
    ag.manual_seed(1)
    w = nn.Parameter(np.empty((200, 100), np.float32))
    nn.init.xavier_uniform_(w)
    assert np.abs(w.data).max() <= np.sqrt(6 / 300) and w.dtype == np.float32
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    np.testing.assert_allclose(w.data.std(), np.sqrt(2 / 100), rtol=0.03)
    nn.init.normal_(w, 1.0, 0.5)
    np.testing.assert_allclose([w.data.mean(), w.data.std()], [1.0, 0.5], rtol=0.03)
    nn.init.zeros_(w)
    assert not w.data.any()
    nn.init.ones_(w)
    assert (w.data == 1).all()
    version = w.version
    nn.init.uniform_(w, -2, -1)
    assert w.data.min() >= -2 and w.data.max() < -1 and w.version > version
    ag.manual_seed(5)
    first = nn.Linear(4, 4).weight.data.copy()
    ag.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.data, first)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3, np.float32)))


def test_activation_layers_match_numpy():
    x = array(3, 4)
    t = ag.tensor(x)
    np.testing.assert_allclose(nn.ReLU()(t).data, np.maximum(x, 0))
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(t).data, np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(t).data, 1 / (1 + np.exp(-x)), rtol=1e-5)
    np.testing.assert_allclose(nn.Tanh()(t).data, np.tanh(x), rtol=1e-5)
    e = np.exp(x - x.max(axis=0))
    np.testing.assert_allclose(nn.Softmax(dim=0)(t).data, e / e.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(nn.Softmax(axis=0)(t).data, e / e.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(
        nn.LogSoftmax(dim=1)(t).data, np.log(np.exp(x) / np.exp(x).sum(1, keepdims=True)),
        rtol=1e-5, atol=1e-6,
    )  # fmt: skip
    assert nn.Identity(54, unused=1)(t) is t


def test_flatten():
    t = ag.tensor(array(2, 3, 4, 5))
    assert nn.Flatten()(t).shape == (2, 60)
    assert nn.Flatten(0, 1)(t).shape == (6, 4, 5)
    flat = ag.tensor(array(2, 3))
    assert nn.Flatten()(flat) is flat


def test_dropout_train_and_eval():
    ag.manual_seed(0)
    layer = nn.Dropout(0.25)
    x = ag.ones(400, 50)
    out = layer(x).data
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_2d_statistics_and_running_update(momentum):
    bn = nn.BatchNorm2d(3, momentum=momentum)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    np.testing.assert_array_equal(bn.weight.data, 1.0)
    np.testing.assert_array_equal(bn.running_var.data, 1.0)
    batches = [array(4, 3, 5, 5) * 2 + 1 for _ in range(2)]
    mean, var = np.zeros(3), np.ones(3)
    for i, x in enumerate(batches, start=1):
        out = bn(ag.tensor(x)).data
        batch_mean = x.mean(axis=(0, 2, 3))
        batch_var = x.var(axis=(0, 2, 3))
        expected = (x - batch_mean[None, :, None, None]) / np.sqrt(
            batch_var[None, :, None, None] + 1e-5
        )
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
        factor = 1.0 / i if momentum is None else momentum
        unbiased = batch_var * x[:, 0].size / (x[:, 0].size - 1)
        mean = (1 - factor) * mean + factor * batch_mean
        var = (1 - factor) * var + factor * unbiased
    assert bn.num_batches_tracked.item() == 2
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-5)
    bn.eval()
    x = batches[0]
    expected = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(bn(ag.tensor(x)).data, expected, rtol=1e-4, atol=1e-5)
    assert bn.num_batches_tracked.item() == 2
    with pytest.raises(ValueError, match="BatchNorm2d: expected a 4-D input"):
        bn(ag.ones(2, 3))


def test_batch_norm_1d_and_no_running_stats():
    bn = nn.BatchNorm1d(4, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    x = array(6, 4)
    out = bn(ag.tensor(x)).data
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    bn.eval()  # still batch statistics: there are no running ones
    np.testing.assert_allclose(bn(ag.tensor(x)).data, expected, rtol=1e-4, atol=1e-5)
    assert nn.BatchNorm1d(4)(ag.tensor(array(2, 4, 7))).shape == (2, 4, 7)


def test_local_response_norm_matches_the_formula():
    x = array(2, 7, 3, 3)
    layer = nn.LocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0)
    squares = np.pad(x**2, ((0, 0), (2, 2), (0, 0), (0, 0)))
    window = np.stack([squares[:, c : c + 5].sum(axis=1) for c in range(7)], axis=1)
    expected = x / (2.0 + 1e-2 / 5 * window) ** 0.75
    np.testing.assert_allclose(layer(ag.tensor(x)).data, expected, rtol=1e-5)
    assert repr(layer) == "LocalResponseNorm(5, alpha=0.01, beta=0.75, k=2.0)"
