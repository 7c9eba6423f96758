"""Classic models: layouts, parameter counts, forward/backward, torch parity, transfer helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import models, optim

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TORCH = np.load(FIXTURES / "lenet_torch.npz")


def torch_state(prefix):
    start = f"{prefix}/"
    return {k[len(start) :]: TORCH[k] for k in TORCH.files if k.startswith(start)}


def images(n, c, size, seed=0):
    return ag.tensor(np.random.default_rng(seed).normal(size=(n, c, size, size)).astype(np.float32))


# ----- MLP ----------------------------------------------------------------------------------
def test_mlp_layout_and_parameter_count():
    mlp = models.MLP([784, 256, 256, 10])
    assert [n for n, _ in mlp.named_parameters()] == [
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"
    ]  # fmt: skip
    assert mlp.num_parameters() == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    out = mlp(images(3, 1, 28))
    assert out.shape == (3, 10) and out.dtype == np.float32
    F.cross_entropy(out, np.array([1, 2, 3])).backward()
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in mlp.parameters())
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        models.MLP([4, 2], activation="swish")


def test_mlp_matches_torch_with_copied_weights():
    mlp = models.MLP([20, 16, 3], activation="tanh")
    mlp.load_state_dict(torch_state("mlp/state"))
    out = mlp(ag.tensor(TORCH["mlp/input"]))
    np.testing.assert_allclose(out.data, TORCH["mlp/output"], rtol=1e-5, atol=1e-6)


# ----- Perceptron ---------------------------------------------------------------------------
def separable_blobs(classes, n=60, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 5.0]])[:classes]
    y = rng.integers(0, classes, size=n)
    x = (centres[y] + rng.normal(scale=0.7, size=(n, 2))).astype(np.float32)
    return x, y


def test_binary_perceptron_rule_converges_on_separable_data():
    ag.manual_seed(0)
    x, y01 = separable_blobs(2)
    y = np.where(y01 == 1, 1, -1)
    model = models.Perceptron(2)
    history = model.fit_perceptron(x, y, epochs=50)
    assert history[-1] == 0 and len(history) < 50
    np.testing.assert_array_equal(model.predict(x), y)
    assert set(np.unique(model.predict(x))) <= {-1, 1}
    assert model(ag.tensor(x)).shape == (60,)
    # 0/1 labels mean the same thing.
    assert models.Perceptron(2).fit_perceptron(x, y01, epochs=50)[-1] == 0


def test_multiclass_perceptron_rule_converges():
    ag.manual_seed(0)
    x, y = separable_blobs(3)
    model = models.Perceptron(2, num_classes=3)
    assert model.fit_perceptron(x, y, epochs=100)[-1] == 0
    np.testing.assert_array_equal(model.predict(x), y)


def test_perceptron_step_on_a_batch_adds_every_mistake():
    model = models.Perceptron(3)
    model.linear.weight.data[...] = [[1.0, 0.0, 0.0]]
    model.linear.bias.data[...] = 0.0
    x = np.array([[1, 1, 0], [-1, 2, 0], [2, 0, 1]], np.float32)
    y = np.array([1, 1, -1])  # the 2nd and 3rd are mistakes
    assert model.perceptron_step(x, y, lr=0.5) == 2
    np.testing.assert_allclose(model.linear.weight.data, [[1 + 0.5 * (-1 - 2), 0.5 * 2, -0.5]])
    np.testing.assert_allclose(model.linear.bias.data, [0.0])


@pytest.mark.parametrize("classes", [2, 3])
def test_perceptron_trains_by_gradient_descent_on_the_hinge_loss(classes):
    ag.manual_seed(0)
    x, y = separable_blobs(classes)
    target = np.where(y == 1, 1, -1) if classes == 2 else y
    model = models.Perceptron(2, num_classes=classes)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = model.hinge_loss(model(ag.tensor(x)), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert (model.predict(x) == target).mean() > 0.95


# ----- transfer helpers ---------------------------------------------------------------------
def test_load_backbone_reports_the_head_and_replace_classifier_freeze():
    source = models.MLP([20, 16, 3])
    target = models.MLP([20, 16, 5])
    result = models.load_backbone(target, source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert result.mismatched_keys == [("fc2.weight", (5, 16), (3, 16)), ("fc2.bias", (5,), (3,))]
    np.testing.assert_array_equal(target.fc1.weight.data, source.fc1.weight.data)

    head = models.replace_classifier(source, 7)
    assert source.fc2 is head and head.weight.shape == (7, 16)
    assert [n for n, _ in source.named_children()][-1] == "fc2"
    models.freeze(source)
    head.requires_grad_(True)
    before = source.fc1.weight.data.copy()
    optimizer = optim.SGD(source.parameters(), lr=0.5)
    F.cross_entropy(source(ag.ones(2, 20)), np.array([0, 6])).backward()
    optimizer.step()
    np.testing.assert_array_equal(source.fc1.weight.data, before)
    assert source.fc1.weight.grad is None and head.weight.grad is not None
    models.unfreeze(source)
    assert all(p.requires_grad for p in source.parameters())
