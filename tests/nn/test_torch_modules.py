"""Loss modules, Dropout2d, Unflatten, ModuleDict and ParameterList, against small
independent references."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_cv as ag
import autograd_cv.nn as nn
import autograd_cv.nn.functional as F
from autograd_cv.testing.gradcheck import gradcheck

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(5, 4))
CLASSES = np.array([0, 3, 1, 1, 2])
TARGET = RNG.normal(size=(5, 4))


def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_their_formulas(reduction):
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    x, t = ag.tensor(LOGITS, requires_grad=True), ag.tensor(TARGET)
    d = LOGITS - TARGET
    huber = np.where(np.abs(d) < 0.5, 0.5 * d * d / 0.5, np.abs(d) - 0.25)
    cases = [
        (nn.MSELoss(reduction=reduction), d * d),
        (nn.L1Loss(reduction=reduction), np.abs(d)),
        (nn.SmoothL1Loss(reduction=reduction, beta=0.5), huber),
    ]
    for module, expected in cases:
        np.testing.assert_allclose(module(x, t).numpy(), reduce(expected), rtol=1e-12)
        gradcheck(lambda value, m=module: m(value, t), [x])


def test_classification_losses_equal_the_functional_ones():
    x, y = ag.tensor(LOGITS, requires_grad=True), ag.tensor(CLASSES)
    expected = -log_softmax(LOGITS)[np.arange(5), CLASSES].mean()
    np.testing.assert_allclose(nn.CrossEntropyLoss()(x, y).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(nn.NLLLoss()(F.log_softmax(x, dim=1), y).item(), expected)
    total = nn.CrossEntropyLoss(reduction="sum")(x, y).item()
    np.testing.assert_allclose(total, 5 * expected, rtol=1e-12)
    np.testing.assert_allclose(
        nn.MultiMarginLoss(margin=0.5)(x, y).item(),
        F.multi_margin_loss(x, y, margin=0.5).item(),
    )
    probabilities = 1 / (1 + np.exp(-LOGITS))
    labels = (TARGET > 0).astype(np.float64)
    bce = -(labels * np.log(probabilities) + (1 - labels) * np.log(1 - probabilities)).mean()
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(x, ag.tensor(labels)).item(), bce)
    np.testing.assert_allclose(nn.BCELoss()(x.sigmoid(), ag.tensor(labels)).item(), bce)
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="CrossEntropyLoss: label_smoothing must lie in"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    log_p = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    smoothed = 0.9 * -log_p[np.arange(5), CLASSES].mean() + 0.1 * -log_p.mean()
    np.testing.assert_allclose(
        nn.CrossEntropyLoss(label_smoothing=0.1)(x, ag.tensor(CLASSES)).item(), smoothed
    )


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    ag.manual_seed(0)
    layer = nn.Dropout2d(0.5)
    out = layer(ag.ones(8, 16, 3, 3)).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # whole channels
    assert 0.3 < (per_channel[:, :, 0] == 0).mean() < 0.7
    layer.eval()
    x = ag.ones(2, 3, 2, 2)
    assert layer(x) is x


def test_unflatten_module_dict_and_parameter_list():
    assert nn.Unflatten(1, (2, 3))(ag.zeros(4, 6, 5)).shape == (4, 2, 3, 5)
    heads = nn.ModuleDict({"a": nn.Linear(2, 3)})
    heads["b"] = nn.Linear(3, 1)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert [name for name, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight",
                                                              "b.bias"]  # fmt: skip
    weights = nn.ParameterList([np.ones(2), ag.zeros(3)])
    weights.append(nn.Parameter(np.zeros(1)))
    assert len(weights) == 3 and all(p.requires_grad for p in weights)
    assert list(weights.state_dict()) == ["0", "1", "2"]
    shown = repr(weights).splitlines()
    assert shown[1:3] == ["  (0): Parameter of shape (2,), float64",
                          "  (1): Parameter of shape (3,), float32"]  # fmt: skip
    model = nn.Module()
    model.heads, model.extra = heads, weights
    assert [name for name, _ in model.named_modules()] == ["", "heads", "heads.a", "heads.b",
                                                           "extra"]  # fmt: skip
    assert len(list(model.children())) == 2
