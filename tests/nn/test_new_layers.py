"""The torch.nn layers of issue 14: each runs its functional op, has PyTorch's parameter
names and shapes, and trains (gradients reach its parameters)."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import nn

rng = np.random.default_rng(0)
x4 = rng.normal(size=(2, 4, 6, 6)).astype(np.float32)
x3 = rng.normal(size=(2, 4, 7)).astype(np.float32)


@pytest.mark.parametrize(
    ("layer", "functional", "x"),
    [
        (nn.GELU(), F.gelu, x3),
        (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh"), x3),
        (nn.SiLU(), F.silu, x3),
        (nn.ELU(0.3), lambda x: F.elu(x, 0.3), x3),
        (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0), x3),
        (nn.LogSigmoid(), F.logsigmoid, x3),
        (nn.Hardtanh(-0.2, 0.4), lambda x: F.hardtanh(x, -0.2, 0.4), x3),
        (nn.ReLU6(), F.relu6, x3 * 5),
        (nn.MaxPool1d(3, 2, 1, ceil_mode=True),
         lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), x3),
        (nn.AvgPool1d(2), lambda x: F.avg_pool1d(x, 2), x3),
        (nn.MaxPool2d(3, 2, ceil_mode=True), lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True), x4),
        (nn.AvgPool2d(3, 2, 1, divisor_override=2),
         lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=2), x4),
        (nn.PixelShuffle(2), lambda x: F.pixel_shuffle(x, 2), x4),
        (nn.PixelUnshuffle(2), lambda x: F.pixel_unshuffle(x, 2), x4),
    ],
)  # fmt: skip
def test_parameter_free_layers_run_their_functional(layer, functional, x) -> None:
    np.testing.assert_array_equal(layer(ag.tensor(x)).numpy(), functional(x).numpy())


def test_parameterised_layers_have_torchs_names_and_shapes_and_train() -> None:
    layers = {
        nn.Conv1d(4, 6, 3, padding="same", groups=2): (x3, {"weight": (6, 2, 3), "bias": (6,)}),
        nn.Conv2d(4, 3, 3, padding="same"): (x4, {"weight": (3, 4, 3, 3), "bias": (3,)}),
        nn.LayerNorm((6, 6)): (x4, {"weight": (6, 6), "bias": (6, 6)}),
        nn.GroupNorm(2, 4): (x4, {"weight": (4,), "bias": (4,)}),
        nn.InstanceNorm2d(4, affine=True): (x4, {"weight": (4,), "bias": (4,)}),
    }
    for layer, (x, shapes) in layers.items():
        assert {k: tuple(v.shape) for k, v in layer.state_dict().items()} == shapes, layer
        out = layer(ag.tensor(x))
        assert out.dtype == np.float32
        (out * out).sum().backward()
        for name, parameter in layer.named_parameters():
            assert parameter.grad is not None and np.abs(parameter.grad.numpy()).sum() > 0, name
    assert nn.Conv1d(4, 6, 3)(ag.tensor(x3)).shape == (2, 6, 5)
    assert nn.Conv2d(4, 3, 3, padding="same")(ag.tensor(x4)).shape == (2, 3, 6, 6)


def test_embedding_keeps_the_padding_row_zero_and_untouched() -> None:
    ag.manual_seed(0)
    layer = nn.Embedding(5, 3, padding_idx=-1)
    assert layer.padding_idx == 4
    np.testing.assert_array_equal(layer.weight.numpy()[4], 0)
    out = layer(np.array([[0, 4], [4, 2]]))
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy()[4], 0)
    np.testing.assert_array_equal(layer.weight.grad.numpy()[0], 1)


def test_instance_norm_running_statistics_follow_torchs_rule() -> None:
    layer = nn.InstanceNorm1d(4, momentum=0.5, track_running_stats=True)
    layer(ag.tensor(x3))
    expected_mean = 0.5 * x3.mean(axis=2).mean(axis=0)
    expected_var = 0.5 + 0.5 * x3.var(axis=2, ddof=1).mean(axis=0)
    np.testing.assert_allclose(layer.running_mean.numpy(), expected_mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.numpy(), expected_var, rtol=1e-5)
    layer.eval()  # normalises with the running statistics now
    out = layer(ag.tensor(x3[0]))  # unbatched (C, L)
    want = (x3[0] - expected_mean[:, None]) / np.sqrt(expected_var[:, None] + 1e-5)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)


def test_distance_layers_and_unpool() -> None:
    a, b = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    np.testing.assert_allclose(
        nn.CosineSimilarity()(a, b).numpy(), F.cosine_similarity(a, b).numpy()
    )
    np.testing.assert_allclose(
        nn.PairwiseDistance()(a, b).numpy(), F.pairwise_distance(a, b).numpy()
    )
    pooled, indices = nn.MaxPool2d(2, return_indices=True)(ag.tensor(x4))
    restored = nn.MaxUnpool2d(2)(pooled, indices)
    assert restored.shape == x4.shape
    assert np.count_nonzero(restored.numpy()) == pooled.size
