"""DigitScenes: deterministic scenes whose masks, boxes and labels agree with the pixels."""

from __future__ import annotations

import numpy as np
import pytest

from autograd_cv.vision.datasets import DigitScenes
from autograd_cv.vision.datasets.digit_scenes import BACKGROUND, IGNORE, INK


@pytest.fixture(scope="module")
def scenes() -> DigitScenes:
    return DigitScenes(source="mnist-mini", train=False, length=60, seed=3)


def test_scenes_are_deterministic_for_a_seed(scenes) -> None:
    again = DigitScenes(source="mnist-mini", train=False, length=60, seed=3)
    other = DigitScenes(source="mnist-mini", train=False, length=60, seed=4)
    for i in (0, 17, 59):
        assert all(np.array_equal(a, b) for a, b in zip(scenes[i], again[i]))
    assert not np.array_equal(scenes[0].image, other[0].image)


def test_train_and_test_scenes_come_from_their_own_split() -> None:
    train = DigitScenes(source="mnist-mini", train=True, length=5)
    test = DigitScenes(source="mnist-mini", train=False, length=5)
    assert len(train.images) == 10_000 and len(test.images) == 2_000
    assert not np.array_equal(train[0].image, test[0].image)


def test_masks_boxes_and_labels_agree_with_the_pixels(scenes) -> None:
    counts = []
    for i in range(len(scenes)):
        image, mask, boxes, labels = scenes[i]
        assert image.shape == (1, 64, 64) and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert mask.shape == (64, 64) and boxes.shape == (len(labels), 4)
        counts.append(len(labels))
        # Every labelled pixel is ink; background pixels are faint.
        ink = image[0] > INK
        assert np.array_equal(mask != BACKGROUND, ink)
        # Every digit class in the mask is a labelled digit, inside one of its boxes.
        for label in set(np.unique(mask)) - {BACKGROUND, IGNORE}:
            assert label in labels
            rows, cols = np.nonzero(mask == label)
            inside = [
                b[0] <= cols.min() and cols.max() < b[2] and b[1] <= rows.min() <= rows.max() < b[3]
                for b, lab in zip(boxes, labels)
                if lab == label
            ]
            # Two digits of one class may share a label: all pixels lie in their union.
            assert any(inside) or (labels == label).sum() > 1
        assert ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all()
        assert (boxes >= 0).all() and (boxes <= 64).all()
    assert min(counts) >= 1 and max(counts) <= 4 and len(set(counts)) > 1


def test_batch_stacks_scenes(scenes) -> None:
    images, masks, boxes, labels = scenes.batch([0, 5, 7])
    assert images.shape == (3, 1, 64, 64) and masks.shape == (3, 64, 64)
    assert np.array_equal(boxes[1], scenes[5].boxes) and np.array_equal(labels[2], scenes[7].labels)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"source": "cifar10"}, "source must be one of"),
        ({"digits": (0, 2)}, "digits must be"),
        ({"size": 32}, "does not fit a canvas of size 32"),
    ],
)
def test_bad_arguments_are_named(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        DigitScenes(**{"source": "mnist-mini", **kwargs})


def test_index_out_of_range(scenes) -> None:
    with pytest.raises(IndexError, match="DigitScenes: index 60"):
        scenes[60]
