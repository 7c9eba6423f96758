"""HOG shapes and invariances against a loop reference; hill climbing versus gradient descent."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv import functional as F
from autograd_cv.classic import gradient_descent, hill_climb, hog_features


def _hog_reference(image, cell, bins):
    # One image, Python loops over pixels: the un-normalised cell histograms.
    height, width = image.shape
    hist = np.zeros((height // cell, width // cell, bins))
    for r in range((height // cell) * cell):
        for c in range((width // cell) * cell):
            gx = image[r, c + 1] - image[r, c - 1] if 0 < c < width - 1 else 0.0
            gy = image[r + 1, c] - image[r - 1, c] if 0 < r < height - 1 else 0.0
            mag, ang = np.hypot(gx, gy), np.degrees(np.arctan2(gy, gx)) % 180
            pos = ang / (180 / bins) - 0.5
            low = int(np.floor(pos))
            share = pos - low
            hist[r // cell, c // cell, low % bins] += mag * (1 - share)
            hist[r // cell, c // cell, (low + 1) % bins] += mag * share
    return hist


def test_hog_matches_a_loop_reference_and_shapes():
    rng = np.random.default_rng(0)
    images = rng.random((3, 1, 17, 15))
    cells = _hog_reference(images[1, 0], 4, 6)  # 4 x 3 cells, a border dropped
    flat = cells.reshape(-1)
    global_norm = hog_features(images, cell=4, bins=6, block=None)
    assert global_norm.shape == (3, 4 * 3 * 6)
    assert np.allclose(global_norm[1], flat / np.linalg.norm(flat))
    blocks = hog_features(images, cell=4, bins=6, block=2)
    assert blocks.shape == (3, 3 * 2 * 4 * 6)
    first = cells[:2, :2].reshape(-1)
    assert np.allclose(blocks[1, :24], first / np.linalg.norm(first))
    assert np.allclose(np.linalg.norm(blocks.reshape(3, 6, 24), axis=2), 1)
    with pytest.raises(ValueError, match="block"):
        hog_features(images, cell=4, bins=6, block=4)


def test_hog_is_invariant_to_brightness_scale():
    rng = np.random.default_rng(1)
    images = rng.random((4, 28, 28))
    for block in (2, None):
        base = hog_features(images, block=block)
        assert np.allclose(hog_features(3.0 * images, block=block), base, atol=1e-6)
        assert np.allclose(hog_features(0.2 * images, block=block), base, atol=1e-6)
        # An added constant has no gradient either.
        assert np.allclose(hog_features(images + 0.5, block=block), base, atol=1e-9)
    # Colour images are averaged to grey first.
    colour = np.repeat(images[:, None], 3, axis=1)
    assert np.allclose(hog_features(colour), hog_features(images))


def test_hog_in_chunks_matches_one_pass_and_takes_uint8():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (7, 1, 28, 28), dtype=np.uint8)
    for block in (2, None):
        whole = hog_features(images, block=block, chunk_size=len(images))
        assert np.array_equal(hog_features(images, block=block, chunk_size=3), whole)
        assert np.allclose(whole, hog_features(images.astype(np.float64) / 255, block=block))
    assert hog_features(images[:0]).shape == (0, 324)  # 3 x 3 blocks of 2 x 2 cells x 9 bins
    for bad in ({"cell": 0}, {"bins": 0}, {"chunk_size": 0}):
        with pytest.raises(ValueError, match="hog_features"):
            hog_features(images, **bad)


def test_hill_climbing_and_gradient_descent_both_learn_gd_faster():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 2, (3, 6))
    y = rng.integers(0, 3, 200)
    x = centres[y] + rng.normal(0, 1, (200, 6))

    def loss_fn(w):
        return F.multi_margin_loss(x @ w, y) + 1e-3 * (w * w).sum()

    w0 = 0.01 * rng.standard_normal((6, 3))
    _, climb = hill_climb(loss_fn, w0, steps=100, step_size=0.05, seed=0)
    _, descent = gradient_descent(loss_fn, w0, steps=100, lr=0.1)
    assert len(climb) == len(descent) == 101
    assert climb[0] == pytest.approx(descent[0])
    assert np.all(np.diff(climb) <= 0)  # only improvements are kept
    assert climb[-1] < 0.8 * climb[0] and descent[-1] < 0.3 * descent[0]
    assert descent[-1] < climb[-1]
    assert descent[20] < climb[20]  # faster, not only further
