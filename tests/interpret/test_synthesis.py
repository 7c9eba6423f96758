"""Fooling images, class models, overlays, the adversarial sheet, and a frozen backbone."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv import optim
from autograd_cv.interpret import (
    adversarial_sheet,
    class_model,
    fgsm,
    fooling_image,
    overlay,
    saliency,
    save_overlay,
)
from autograd_cv.interpret._common import probabilities, scores
from autograd_cv.models.transfer import freeze, replace_classifier


def test_fooling_image_reaches_confidence_for_two_classes(trained):
    model = trained[0]
    for target in (3, 8):  # noise cannot start out confident of both
        image, confidence = fooling_image(model, target, (1, 28, 28), steps=200, lr=0.02, seed=0)
        assert image.shape == (1, 1, 28, 28) and 0 <= image.min() and image.max() <= 1
        assert confidence >= 0.99
        assert probabilities(model, image)[0, target] == confidence
        assert probabilities(model, image).argmax() == target


def test_class_model_raises_the_class_score(trained):
    model = trained[0]
    start = class_model(model, 5, (1, 28, 28), steps=0, seed=0)
    image = class_model(model, 5, (1, 28, 28), steps=30, lr=0.05, l2=1e-2, seed=0)
    assert scores(model, image)[0, 5] > scores(model, start)[0, 5] + 5
    assert scores(model, image).argmax() == 5
    # The L2 term keeps the image bounded: a stronger penalty gives a smaller image.
    strong = class_model(model, 5, (1, 28, 28), steps=30, lr=0.05, l2=1.0, seed=0)
    assert np.linalg.norm(strong) < np.linalg.norm(image)


def test_overlay_and_pngs(trained, tmp_path):
    model, x, y = trained
    heat = saliency(model, x[:1], y[:1])[0]
    picture = overlay(x[0], heat, alpha=0.5)
    assert picture.shape == (28, 28, 3) and 0 <= picture.min() and picture.max() <= 1
    coarse = overlay(x[0], np.arange(36.0).reshape(6, 6))  # stretched to 28x28
    assert coarse.shape == (28, 28, 3)
    assert np.allclose(overlay(x[0], heat, alpha=0.0)[..., 0], x[0, 0] / x[0, 0].max())
    path = save_overlay(x[0], heat, tmp_path / "saliency.png", scale=2)
    assert Image.open(path).size == (56, 56)
    adv = fgsm(model, x[:4], y[:4], 0.2)
    sheet = adversarial_sheet(model, x[:4], adv, tmp_path / "sheet.png")
    assert Image.open(sheet).size[0] > 100


def test_frozen_feature_extractor_does_not_change(trained, mnist_subset):
    model = copy.deepcopy(trained[0])
    x_train, y_train = mnist_subset[0], mnist_subset[1]
    freeze(model.features)
    head = replace_classifier(model, 10)
    before = {name: p.data.copy() for name, p in model.features.named_parameters()}
    head_before = head.weight.data.copy()
    optimizer = optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
    for step in range(20):
        batch = slice(step * 32, step * 32 + 32)
        loss = F.cross_entropy(model(ag.tensor(x_train[batch])), y_train[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, p in model.features.named_parameters():
        assert np.array_equal(p.data, before[name]), name
        assert p.grad is None
    assert not np.array_equal(head.weight.data, head_before)


def test_overlay_shared_colour_scale():
    image = np.zeros((4, 4))
    weak, strong = np.full((2, 2), 0.01), np.full((2, 2), 0.9)
    weak.flat[0] = strong.flat[0] = 0.0
    cold = overlay(image, np.zeros((2, 2)), alpha=1.0, vmin=0, vmax=1)
    # Scaled by its own range, a weak map is as red as a strong one; on a shared scale it is not.
    assert np.allclose(overlay(image, weak, alpha=1.0), overlay(image, strong, alpha=1.0))
    assert np.abs(overlay(image, weak, alpha=1.0, vmin=0, vmax=1) - cold).max() < 0.05
    assert np.abs(overlay(image, strong, alpha=1.0, vmin=0, vmax=1) - cold).max() > 0.5
    # Values outside [vmin, vmax] are clipped, not wrapped.
    clipped = overlay(image, np.full((2, 2), 5.0), alpha=1.0, vmin=0, vmax=1)
    assert np.allclose(clipped, overlay(image, np.ones((2, 2)), alpha=1.0, vmin=0, vmax=1))
    for bad in ({"vmin": 0}, {"vmax": 1}, {"vmin": 1, "vmax": 1}):
        with pytest.raises(ValueError, match="vmin"):
            overlay(image, weak, **bad)
