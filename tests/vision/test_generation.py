"""Generation by up-convolution: the digit warp against PIL, the generator's shapes and
errors, GLO style codes and their gradients, a few training steps that lower the loss."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import autograd_cv as ag
from autograd_cv.models import UpConvGenerator
from autograd_cv.nn.module import Module
from autograd_cv.vision.datasets.digit_scenes import load_digits
from autograd_cv.vision.tasks import generation as G


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits("mnist-mini", train=True)
    return images[:96], labels[:96].astype(np.int64)


@pytest.fixture(scope="module")
def trained(digits):
    images, labels = digits
    ag.manual_seed(0)
    generator = UpConvGenerator(style_dim=4, image_size=32, width=8, hidden=64)
    codes = G.StyleCodes(len(images), 4, start=G.pca_codes(images, labels, 4))
    history = G.train_generator(
        generator, codes, images, labels, epochs=8, batch_size=16, lr=5e-3, log=None
    )
    return generator, codes, history


def _pil_affine(digit: np.ndarray, angle: float, scale: float, size: int) -> np.ndarray:
    # PIL's own inverse affine map (output pixel -> input pixel), centres matched.
    theta = np.deg2rad(angle)
    a, b = np.cos(theta) / scale, -np.sin(theta) / scale
    d, e = np.sin(theta) / scale, np.cos(theta) / scale
    c, f = 14 - (a + b) * size / 2, 14 - (d + e) * size / 2
    image = Image.fromarray(digit).transform(
        (size, size), Image.AFFINE, (a, b, c, d, e, f), resample=Image.BILINEAR
    )
    return np.asarray(image, np.float32) / 255


@pytest.mark.parametrize("angle, scale, size", [(30, 1.0, 28), (-35, 0.8, 32), (17, 1.15, 32)])
def test_transform_digits_matches_pil(digits, angle, scale, size) -> None:
    images = digits[0][:8]
    ours = G.transform_digits(images, angle, scale, size)
    assert ours.shape == (8, 1, size, size) and ours.dtype == np.float32
    reference = np.stack([_pil_affine(d, angle, scale, size) for d in images])
    np.testing.assert_allclose(ours[:, 0], reference, atol=1.5 / 255)


def test_transform_digits_turns_counter_clockwise_like_pil_rotate(digits) -> None:
    images = digits[0][:4]
    rotated = np.stack([np.asarray(Image.fromarray(d).rotate(25, resample=Image.BILINEAR))
                        for d in images]) / 255  # fmt: skip
    ours = G.transform_digits(images, 25, 1.0, 28)[:, 0]
    np.testing.assert_allclose(ours, rotated, atol=1.5 / 255)
    # Per-image angles: each digit gets its own.
    both = G.transform_digits(images[:2], np.array([0.0, 25.0]), 1.0, 28)[:, 0]
    np.testing.assert_allclose(both[0], images[0] / 255, atol=1e-6)
    np.testing.assert_allclose(both[1], rotated[1], atol=1.5 / 255)


def test_training_angles_avoid_the_held_out_band() -> None:
    rng = np.random.default_rng(0)
    angles = G.training_angles(rng, 20_000)
    low, high = G.HELD_OUT
    assert not np.any((np.abs(angles) > low) & (np.abs(angles) < high))
    assert angles.min() < G.ANGLES[0] + 1 and angles.max() > G.ANGLES[1] - 1
    assert abs(angles.mean()) < 1
    held = np.abs(G.held_out_angles(rng, 1_000))
    assert held.min() >= low and held.max() <= high


def test_generator_shapes_and_range() -> None:
    for size in (16, 32):
        generator = UpConvGenerator(num_classes=10, style_dim=3, image_size=size, width=4)
        classes = ag.tensor(np.eye(10, dtype=np.float32)[[1, 7]])
        pose = ag.tensor(G.pose_vector([0.0, 30.0], [1.0, 0.9]))
        style = ag.tensor(np.zeros((2, 3), np.float32))
        image = generator(classes, pose, style)
        assert image.shape == (2, 1, size, size)
        assert 0 < image.numpy().min() and image.numpy().max() < 1
        np.testing.assert_allclose(
            image.numpy(),
            1 / (1 + np.exp(-generator.logits(classes, pose, style).numpy())),
            rtol=1e-5,
        )


def test_generator_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="UpConvGenerator: image_size must be a multiple of 8"):
        UpConvGenerator(image_size=28)
    with pytest.raises(ValueError, match="UpConvGenerator: style_dim must be an integer >= 1"):
        UpConvGenerator(style_dim=0)
    generator = UpConvGenerator(style_dim=4, width=4)
    classes = ag.tensor(np.eye(10, dtype=np.float32)[:2])
    pose = ag.tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"UpConvGenerator: style must be \(2, 4\).*\(2, 5\)"):
        generator(classes, pose, ag.tensor(np.zeros((2, 5), np.float32)))
    with pytest.raises(ValueError, match=r"UpConvGenerator: pose must be \(2, 3\).*\(3, 3\)"):
        generator(classes, ag.tensor(np.zeros((3, 3), np.float32)), ag.zeros(2, 4))


def test_task_functions_reject_bad_arguments(digits) -> None:
    images, labels = digits
    with pytest.raises(ValueError, match=r"class_weights: labels must be in \[0, 10\)"):
        G.class_weights(np.array([3, 10]))
    with pytest.raises(ValueError, match=r"class_weights: .*got shape \(2, 9\)"):
        G.class_weights(np.zeros((2, 9), np.float32))
    with pytest.raises(ValueError, match=r"transform_digits: digits must be \(N, H, W\)"):
        G.transform_digits(images[0], 0, 1)
    with pytest.raises(ValueError, match="transform_digits: scales must be above 0"):
        G.transform_digits(images[:2], 0, 0.0)
    generator = UpConvGenerator(style_dim=4, width=4)
    with pytest.raises(ValueError, match=r"train_generator: codes must be \(96, 4\).*\(10, 4\)"):
        G.train_generator(generator, G.StyleCodes(10, 4), images, labels, log=None)
    with pytest.raises(ValueError, match="train_generator: loss must be 'bce' or 'mse'"):
        G.train_generator(generator, G.StyleCodes(96, 4), images, labels, loss="l1", log=None)
    with pytest.raises(ValueError, match=r"fit_codes: expected digits \(N, 28, 28\)"):
        G.fit_codes(generator, images, labels[:5])
    with pytest.raises(ValueError, match=r"StyleCodes: start must be \(5, 4\)"):
        G.StyleCodes(5, 4, start=np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"plot_generation: images must be \(rows, columns"):
        G.plot_generation(np.zeros((3, 1, 32, 32)))


def test_style_codes_receive_gradients_only_where_used() -> None:
    codes = G.StyleCodes(6, 3, seed=1)
    generator = UpConvGenerator(style_dim=3, image_size=16, width=4, hidden=16)
    index = np.array([1, 4])
    image = generator(
        ag.tensor(np.eye(10, dtype=np.float32)[[2, 5]]),
        ag.tensor(G.pose_vector([0.0, 10.0], [1.0, 1.0])),
        codes(index),
    )
    image.sum().backward()
    grad = codes.weight.grad.numpy()
    assert np.all(np.abs(grad[index]).sum(axis=1) > 0)
    assert np.all(grad[[0, 2, 3, 5]] == 0)


def test_style_codes_stay_in_the_unit_ball() -> None:
    start = np.array([[3.0, 4.0], [0.3, 0.4]], np.float32)
    codes = G.StyleCodes(2, 2, start=start)
    np.testing.assert_allclose(codes.codes(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)


def test_pca_codes_describe_what_the_class_does_not(digits) -> None:
    images, labels = digits
    codes = G.pca_codes(images, labels, 5)
    assert codes.shape == (96, 5) and codes.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1).mean(), 0.5, rtol=1e-5)
    # Two copies of a digit differing only by its class's mean get the same code.
    twins = np.concatenate([images[:1], images[:1]])
    assert np.allclose(*G.pca_codes(twins, np.array([0, 1]), 1), atol=1e-6)


def test_a_few_steps_lower_the_loss(trained) -> None:
    _, _, history = trained
    assert [h["epoch"] for h in history] == list(range(1, 9))
    assert history[-1]["bce"] < 0.6 * history[0]["bce"]


def test_generate_and_the_grids(trained) -> None:
    generator, codes, _ = trained
    style = codes.codes()[0]
    grid = G.class_grid(generator, style, np.array([-30.0, 0.0, 30.0]))
    assert grid.shape == (10, 3, 1, 32, 32)
    morph = G.class_morph(generator, [(1, 7), (3, 8)], 5, style)
    assert morph.shape == (2, 5, 1, 32, 32)
    # The ends of a class morph are the classes themselves.
    np.testing.assert_allclose(morph[0, 0], grid[1, 1], atol=1e-6)
    np.testing.assert_allclose(morph[1, -1], grid[8, 1], atol=1e-6)
    styles = G.style_morph(generator, [2, 5], codes.codes()[1], codes.codes()[2], 4)
    assert styles.shape == (2, 4, 1, 32, 32)
    figure = G.plot_generation(grid, row_labels=[str(c) for c in range(10)], title="grid")
    assert len(figure.axes) == 30


def test_fit_codes_leaves_the_generator_alone_and_beats_the_centre(trained, digits) -> None:
    generator, _, _ = trained
    images, labels = digits[0][:24], digits[1][:24]
    before = [p.data.copy() for p in generator.parameters()]
    fitted = G.fit_codes(generator, images, labels, steps=15, lr=0.05)
    assert fitted.shape == (24, 4)
    assert all(np.array_equal(b, p.data) for b, p in zip(before, generator.parameters()))
    assert all(p.requires_grad for p in generator.parameters())
    upright = (0.0, 1.0)
    fitted_error = G.reconstruction_error(generator, images, labels, fitted, *upright)
    centre_error = G.reconstruction_error(generator, images, labels, np.zeros(4), *upright)
    assert fitted_error < centre_error


class _Fixed(Module):
    """A stand-in classifier whose logits pick class (pixel sum > 1)."""

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        ink = x.numpy().reshape(len(x.numpy()), -1).sum(axis=1)
        return ag.tensor(np.stack([ink <= 1, ink > 1], axis=1).astype(np.float32))


def test_classifier_accuracy_per_class() -> None:
    images = np.zeros((4, 1, 2, 2), np.float32)
    images[2:] = 1  # ink 4: classified as 1
    labels = np.array([0, 1, 1, 1])
    result = G.classifier_accuracy(_Fixed(), images, labels, num_classes=3)
    assert result["accuracy"] == 0.75
    assert result["per_class"] == [1.0, 2 / 3, None]


def test_ink_extremes_pick_thin_and_thick_relative_to_the_class() -> None:
    digits = np.zeros((6, 28, 28), np.uint8)
    # Class 0 has much more ink than class 1; within each class one thin and one thick digit.
    for i, rows in enumerate([10, 14, 12, 2, 1, 3]):
        digits[i, :rows] = 255
    labels = np.array([0, 0, 0, 1, 1, 1])
    # Relative ink: 10/12, 14/12, 1, 1, 1/2, 3/2: the thinnest is digit 4, the thickest 5.
    assert G.ink_extremes(digits, labels, quantile=0.0) == (4, 5)
    with pytest.raises(ValueError, match=r"ink_extremes: quantile must be in \[0, 0.5\)"):
        G.ink_extremes(digits, labels, quantile=0.5)
