"""Batch transforms: shapes, dtypes, statistics, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv.data import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToFloat


def random_batch(shape=(16, 3, 8, 8), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_to_float_scales_uint8_to_unit_interval():
    images = np.array([0, 51, 255], np.uint8).reshape(1, 1, 1, 3)
    out = ToFloat()(images)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.ravel(), [0.0, 0.2, 1.0], rtol=1e-6)


def test_normalize_gives_zero_mean_unit_std_per_channel():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(500, 3, 4, 4)) * [[[[2]], [[3]], [[0.5]]]] + [[[[1]], [[-4]], [[7]]]]
    images = images.astype(np.float32)
    mean = images.mean(axis=(0, 2, 3))
    std = images.std(axis=(0, 2, 3))
    out = Normalize(mean, std)(images)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_normalize_errors_name_the_problem():
    with pytest.raises(TypeError, match="ToFloat"):
        Normalize(0.5, 0.5)(random_batch())
    with pytest.raises(ValueError, match="2 values .* 3 channels"):
        Normalize([0.1, 0.2], [1, 1])(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="nonzero"):
        Normalize(0, 0)


def test_random_crop_shapes_and_content():
    images = random_batch((20, 3, 32, 32))
    out = RandomCrop(32, padding=4, seed=0)(images)
    assert out.shape == images.shape and out.dtype == images.dtype
    smaller = RandomCrop((24, 20), seed=0)(images)
    assert smaller.shape == (20, 3, 24, 20)
    # Each crop is a window of its own image (unpadded crop: no zeros added).
    for crop, image in zip(smaller, images, strict=True):
        windows = np.lib.stride_tricks.sliding_window_view(image, (24, 20), axis=(1, 2))
        assert np.any(np.all(windows == crop[:, None, None], axis=(0, 3, 4)))


def test_random_crop_with_padding_can_shift_content():
    images = np.ones((200, 1, 4, 4), np.uint8)
    out = RandomCrop(4, padding=2, seed=0)(images)
    assert out.min() == 0 and out.max() == 1  # some crops include the zero border
    assert (out.sum(axis=(1, 2, 3)) == 16).any()  # and some are the unshifted image


def test_random_crop_too_large():
    with pytest.raises(ValueError, match="larger than the padded images"):
        RandomCrop(10)(random_batch((2, 1, 8, 8)))


def test_flip_shapes_and_flip_is_its_own_inverse():
    images = random_batch()
    always = RandomHorizontalFlip(p=1.0)
    flipped = always(images)
    assert flipped.shape == images.shape
    np.testing.assert_array_equal(flipped, images[..., ::-1])
    np.testing.assert_array_equal(always(flipped), images)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(images), images)


def test_flip_flips_about_half():
    images = random_batch((1000, 1, 2, 2))
    out = RandomHorizontalFlip(seed=0)(images)
    flipped = np.all(out == images[..., ::-1], axis=(1, 2, 3)) & ~np.all(
        images == images[..., ::-1], axis=(1, 2, 3)
    )
    assert 400 < flipped.sum() < 600


def test_random_transforms_reproducible_from_seed_and_epoch():
    images = random_batch((50, 3, 8, 8))
    a, b = RandomCrop(6, padding=1, seed=7), RandomCrop(6, padding=1, seed=7)
    np.testing.assert_array_equal(a(images), b(images))
    first = a(images)
    a.set_epoch(1)
    b.set_epoch(1)
    np.testing.assert_array_equal(a(images), b(images))
    a.set_epoch(1)
    assert not np.array_equal(a(images), first)


def test_transforms_do_not_modify_their_input():
    images = random_batch()
    before = images.copy()
    pipeline = Compose([RandomCrop(8, padding=2, seed=0), RandomHorizontalFlip(seed=0), ToFloat()])
    out = pipeline(images)
    np.testing.assert_array_equal(images, before)
    assert out.dtype == np.float32 and out.shape == images.shape


def test_compose_applies_in_order_and_forwards_epochs():
    pipeline = Compose([ToFloat(), Normalize(0.5, 0.5)])
    out = pipeline(np.array([0, 255], np.uint8).reshape(1, 1, 1, 2))
    np.testing.assert_allclose(out.ravel(), [-1, 1])
    flip = RandomHorizontalFlip(seed=0)
    Compose([flip]).set_epoch(3)
    reference = RandomHorizontalFlip(seed=0)
    reference.set_epoch(3)
    assert flip.rng.random() == reference.rng.random()
