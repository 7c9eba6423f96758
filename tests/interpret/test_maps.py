"""Saliency, occlusion and activations on a trained tiny CNN."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from autograd_cv.interpret import (
    activations,
    feature_map_grid,
    occlusion,
    occlusion_masks,
    saliency,
)
from autograd_cv.interpret._common import probabilities


def test_saliency_is_larger_on_the_digit(trained):
    model, x, y = trained
    x, y = x[:20], y[:20]
    for smooth in (0, 4):
        maps = saliency(model, x, y, smoothgrad=smooth, noise=0.1, seed=0)
        assert maps.shape == (20, 28, 28) and np.all(maps >= 0)
        digit, background = x[:, 0] > 0.5, x[:, 0] == 0
        assert maps[digit].mean() > 2 * maps[background].mean()


def test_saliency_matches_finite_differences(trained):
    model, x, y = trained
    model = copy.deepcopy(model).astype(np.float64)  # float64 for central differences
    # Noise breaks the ties that a flat background makes in max pooling (kinks there).
    image = x[:1] + 0.01 * np.random.default_rng(1).random(x[:1].shape)
    maps = saliency(model, image, y[:1])
    rng = np.random.default_rng(0)
    for row, col in rng.integers(0, 28, (8, 2)):
        up, down = image.copy(), image.copy()
        # The network is piecewise linear: a small step stays clear of ReLU kinks.
        up[0, 0, row, col] += 1e-7
        down[0, 0, row, col] -= 1e-7
        diff = (_score(model, up, y[0]) - _score(model, down, y[0])) / 2e-7
        assert maps[0, row, col] == pytest.approx(abs(diff), rel=1e-4, abs=1e-6)


def _score(model, image, label):
    from autograd_cv.interpret._common import scores

    return scores(model, image)[0, label]


def test_occlusion_of_the_digit_hurts_more_than_a_corner(trained):
    model, x, y = trained
    n = 30
    x, y = x[:n], y[:n]
    heat = occlusion(model, x, y, patch=8, stride=4, fill=0.5)
    assert heat.shape == (n, 6, 6)
    masks = occlusion_masks(28, 28, 8, 4)  # (6, 6, 28, 28)
    ink = np.einsum("ijhw,nhw->nij", masks, x[:, 0]).reshape(n, -1)
    drop = probabilities(model, x)[np.arange(n), y][:, None] - heat.reshape(n, -1)
    # The two inkiest patch positions of each digit against its ink-free corners.
    on_digit = np.take_along_axis(drop, np.argsort(-ink, axis=1)[:, :2], axis=1).mean()
    corners = np.zeros((6, 6), dtype=bool)
    corners[[0, 0, -1, -1], [0, -1, 0, -1]] = True
    empty_corners = corners.reshape(1, -1) & (ink == 0)
    assert empty_corners.any(axis=1).all()  # MNIST digits are centred
    background = drop[empty_corners].mean()
    assert on_digit > 0.05 and on_digit > 3 * background


def test_occlusion_matches_a_per_position_loop(trained):
    model, x, y = trained
    image = x[:1]
    fast = occlusion(model, image, y[:1], patch=10, stride=9, fill=None, batch_size=2)
    assert fast.shape == (1, 3, 3)
    for i, top in enumerate(range(0, 19, 9)):
        for j, left in enumerate(range(0, 19, 9)):
            copy = image.copy()
            copy[..., top : top + 10, left : left + 10] = image.mean()
            assert fast[0, i, j] == pytest.approx(probabilities(model, copy)[0, y[0]], abs=1e-6)


def test_activations_shapes_and_hooks_removed(trained):
    model, x, _ = trained
    layers = ["features.conv1", "features.pool1", "features.relu2", "head"]
    found = activations(model, x[:3], layers)
    assert list(found) == layers
    assert found["features.conv1"].shape == (3, 8, 28, 28)
    assert found["features.pool1"].shape == (3, 8, 14, 14)
    assert found["features.relu2"].shape == (3, 16, 14, 14)
    assert found["head"].shape == (3, 10)
    assert found["features.relu2"].min() >= 0
    assert not model.features.conv1._forward_hooks
    grid = feature_map_grid(found["features.conv1"])
    assert grid.ndim == 3 and grid.shape[-1] == 1 and 0 <= grid.min() and grid.max() <= 1
    with pytest.raises(ValueError, match="unknown layer"):
        activations(model, x[:1], "features.nope")


def test_inputs_are_cast_to_the_model_dtype(trained):
    # uint8 or float64 pixels meet float32 weights: cast, not refused by conv2d.
    model, x, y = trained
    as_uint8 = (x[:2] * 255).round().astype(np.uint8)
    assert saliency(model, as_uint8 / 255.0, y[:2]).dtype == np.float32
    assert np.allclose(
        occlusion(model, x[:2].astype(np.float64), y[:2]), occlusion(model, x[:2], y[:2])
    )
    assert activations(model, as_uint8, "head")["head"].dtype == np.float32
