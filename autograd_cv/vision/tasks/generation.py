"""Generation by up-convolution on real digits: a digit drawn from its class, its rotation and
scale, and a learned per-digit style code (stroke thickness, slant, shape).

The training images are real MNIST digits turned and scaled by `transform_digits` with known
parameters; the generator is told the class and the parameters and must learn the rest. The
rest lives in one trainable code per training digit, optimised jointly with the generator
(GLO: Bojanowski et al., 2018, "Optimizing the Latent Space of Generative Networks"). We chose
free codes over an encoder because a code then holds only what class and pose do not
explain (an encoder reading the image could pass the class through and let the generator
ignore its class input, which would break morphing); a new digit's code is found by fitting
it with the generator frozen (`fit_codes`). The loss is the mean squared pixel error, as in
Dosovitskiy et al.'s chairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_cv as ag
from autograd_cv import functional as F
from autograd_cv.models.generator import UpConvGenerator
from autograd_cv.nn.module import Module, ModuleDict
from autograd_cv.nn.parameter import Parameter
from autograd_cv.tensor import Tensor
from autograd_cv.vision.tasks._common import Log, batches, fit

#: training angles (degrees, counter-clockwise) span this range ...
ANGLES = (-40.0, 40.0)
#: ... except |angle| in this band, kept for testing the generator on unseen transforms
HELD_OUT = (15.0, 25.0)
#: scales of the digit's 28x28 square
SCALES = (0.8, 1.15)


def transform_digits(
    digits: np.ndarray, angles: np.ndarray, scales: np.ndarray, size: int = 32
) -> np.ndarray:
    """(N, 28, 28) digits (uint8 or [0, 1] floats) turned by `angles` degrees (counter-clockwise)
    and scaled about their centre, bilinear, into (N, 1, size, size) float32 canvases."""
    digits = np.asarray(digits)
    if digits.ndim != 3:
        raise ValueError(f"transform_digits: digits must be (N, H, W), got shape {digits.shape}")
    count, height, width = digits.shape
    angles = np.broadcast_to(np.asarray(angles, np.float64), (count,))
    scales = np.broadcast_to(np.asarray(scales, np.float64), (count,))
    if np.any(scales <= 0):
        raise ValueError(f"transform_digits: scales must be above 0, got min {scales.min()}")
    pixels = digits.astype(np.float32) / (255.0 if digits.dtype == np.uint8 else 1.0)
    theta = np.deg2rad(angles)[:, None, None]
    cos, sin = np.cos(theta) / scales[:, None, None], np.sin(theta) / scales[:, None, None]
    # The inverse map: each output pixel's centre, relative to the canvas centre, turned back
    # and unscaled, lands at these (fractional) pixel indices of the digit.
    offset = np.arange(size) + 0.5 - size / 2
    dx, dy = offset[None, None, :], offset[None, :, None]
    x = cos * dx - sin * dy + width / 2 - 0.5
    y = sin * dx + cos * dy + height / 2 - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    # A zero border; indices outside it are clipped onto it, so they read 0.
    padded = np.pad(pixels, ((0, 0), (1, 1), (1, 1)))
    xs = [np.clip(x0 + k + 1, 0, width + 1).astype(np.intp) for k in (0, 1)]
    ys = [np.clip(y0 + k + 1, 0, height + 1).astype(np.intp) for k in (0, 1)]
    n = np.arange(count)[:, None, None]
    out = (
        padded[n, ys[0], xs[0]] * (1 - fx) * (1 - fy)
        + padded[n, ys[0], xs[1]] * fx * (1 - fy)
        + padded[n, ys[1], xs[0]] * (1 - fx) * fy
        + padded[n, ys[1], xs[1]] * fx * fy
    )
    return out[:, None].astype(np.float32)


def training_angles(rng: np.random.Generator, count: int) -> np.ndarray:
    """Uniform angles in ANGLES outside the HELD_OUT band of |angle|."""
    low, high = HELD_OUT
    kept = ANGLES[1] - (high - low)  # the length of each side's allowed range
    u = rng.uniform(-kept, kept, count)
    return np.where(np.abs(u) < low, u, u + np.sign(u) * (high - low))


def held_out_angles(rng: np.random.Generator, count: int) -> np.ndarray:
    """Uniform angles with |angle| in the HELD_OUT band, either sign."""
    return rng.uniform(*HELD_OUT, count) * rng.choice([-1.0, 1.0], count)


def pose_vector(angles: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """(N, 3) float32 generator input: sin and cos of the angle, and the scale."""
    theta = np.deg2rad(np.asarray(angles, np.float64))
    scales = np.broadcast_to(np.asarray(scales, np.float64), theta.shape)
    return np.stack([np.sin(theta), np.cos(theta), scales], axis=1).astype(np.float32)


def class_weights(classes: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """(N,) integer labels as one-hot rows, or (N, num_classes) weights passed through."""
    classes = np.asarray(classes)
    if classes.ndim == 1 and classes.dtype.kind in "iu":
        if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
            raise ValueError(
                f"class_weights: labels must be in [0, {num_classes}), got "
                f"{classes.min()}..{classes.max()}"
            )
        return np.eye(num_classes, dtype=np.float32)[classes]
    if classes.ndim != 2 or classes.shape[1] != num_classes:
        raise ValueError(
            f"class_weights: classes must be (N,) integer labels or (N, {num_classes}) "
            f"weights, got shape {classes.shape} dtype {classes.dtype}"
        )
    return classes.astype(np.float32)


def pca_codes(digits: np.ndarray, labels: np.ndarray, style_dim: int = 8) -> np.ndarray:
    """(N, style_dim) starting codes (GLO starts from PCA): each digit's projection on the
    top principal components of the digits minus their class's mean image, i.e. of what
    the class does not explain (thickness, slant, width); scaled to a mean length of 0.5."""
    _check_digits("pca_codes", digits, labels)
    pixels = digits.reshape(len(digits), -1).astype(np.float32)
    pixels /= 255.0 if digits.dtype == np.uint8 else 1.0
    residual = pixels.copy()
    for c in np.unique(labels):
        residual[labels == c] -= pixels[labels == c].mean(axis=0)
    # The components from (at most) 5,000 digits, spread over the set; projections for all.
    sample = residual[:: max(1, len(residual) // 5000)]
    _, _, components = np.linalg.svd(sample, full_matrices=False)
    codes = residual @ components[:style_dim].T
    if codes.shape[1] < style_dim:  # fewer digits than dimensions: pad with zeros
        codes = np.pad(codes, ((0, 0), (0, style_dim - codes.shape[1])))
    length = np.linalg.norm(codes, axis=1).mean()
    return (0.5 * codes / max(length, 1e-12)).astype(np.float32)


class StyleCodes(Module):
    """One trainable style code per training digit (GLO), read through the unit ball:
    a code longer than 1 is divided by its length, so codes stay comparable. `start`
    gives the initial codes (e.g. `pca_codes`); otherwise small random ones."""

    def __init__(
        self, count: int, style_dim: int = 8, seed: int = 0, start: np.ndarray | None = None
    ) -> None:
        super().__init__()
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"StyleCodes: count must be an integer >= 1, got {count!r}")
        if not isinstance(style_dim, int) or style_dim < 1:
            raise ValueError(f"StyleCodes: style_dim must be an integer >= 1, got {style_dim!r}")
        if start is None:
            rng = np.random.default_rng(seed)
            start = rng.normal(0, 0.5 / np.sqrt(style_dim), (count, style_dim))
        elif np.shape(start) != (count, style_dim):
            raise ValueError(
                f"StyleCodes: start must be ({count}, {style_dim}), got {np.shape(start)}"
            )
        self.weight = Parameter(np.array(start, dtype=np.float32))

    def forward(self, index: np.ndarray) -> Tensor:
        codes = F.embedding(np.asarray(index), self.weight)
        length = ((codes * codes).sum(axis=1, keepdims=True) + 1e-12) ** 0.5
        return codes / ag.maximum(length, 1.0)

    def codes(self) -> np.ndarray:
        """All codes as the generator sees them, (count, style_dim)."""
        with ag.no_grad():
            return self(np.arange(self.weight.shape[0])).numpy()


def _check_digits(function: str, digits: np.ndarray, labels: np.ndarray) -> None:
    if digits.ndim != 3 or labels.shape != (len(digits),):
        raise ValueError(
            f"{function}: expected digits (N, 28, 28) and labels (N,), got digits "
            f"{digits.shape} and labels {labels.shape}"
        )


def train_generator(
    generator: UpConvGenerator, codes: StyleCodes, digits: np.ndarray, labels: np.ndarray,
    epochs: int = 5, batch_size: int = 64, lr: float = 2e-3, loss: str = "bce", seed: int = 0,
    log: Log | None = print,
) -> list[dict]:  # fmt: skip
    """Adam on a pixel loss ("bce": binary cross-entropy against the grey levels, from the
    logits; "mse": squared error of the sigmoid images), generator and codes together; each
    time a digit is drawn it is shown at a fresh random training angle (outside HELD_OUT)
    and scale."""
    if loss not in ("bce", "mse"):
        raise ValueError(f"train_generator: loss must be 'bce' or 'mse', got {loss!r}")
    _check_digits("train_generator", digits, labels)
    if codes.weight.shape != (len(digits), generator.style_dim):
        raise ValueError(
            f"train_generator: codes must be ({len(digits)}, {generator.style_dim}) for "
            f"{len(digits)} digits and style_dim {generator.style_dim}, got {codes.weight.shape}"
        )
    onehot = class_weights(labels, generator.num_classes)
    both = ModuleDict({"generator": generator, "codes": codes})

    def loss_terms(index: np.ndarray, rng: np.random.Generator) -> dict[str, Tensor]:
        angles, scales = training_angles(rng, len(index)), rng.uniform(*SCALES, len(index))
        targets = transform_digits(digits[index], angles, scales, generator.image_size)
        logits = generator.logits(
            ag.tensor(onehot[index]), ag.tensor(pose_vector(angles, scales)), codes(index)
        )
        if loss == "mse":
            return {"mse": F.mse_loss(F.sigmoid(logits), targets)}
        return {"bce": F.binary_cross_entropy_with_logits(logits, targets)}

    return fit(both, len(digits), loss_terms, epochs, batch_size, lr, seed, log)


def generate(
    generator: UpConvGenerator, classes: np.ndarray, angles: np.ndarray, scales: np.ndarray,
    style: np.ndarray, batch_size: int = 256,
) -> np.ndarray:  # fmt: skip
    """(N, 1, S, S) images for labels or class weights, angles (degrees), scales and style
    codes (each broadcast to N), in eval mode without a graph."""
    weights = class_weights(classes, generator.num_classes)
    count = len(weights)
    pose = pose_vector(np.broadcast_to(angles, (count,)), np.broadcast_to(scales, (count,)))
    style = np.broadcast_to(np.asarray(style, np.float32), (count, generator.style_dim))
    generator.eval()
    with ag.no_grad():
        return np.concatenate([
            generator(ag.tensor(weights[i]), ag.tensor(pose[i]), ag.tensor(style[i])).numpy()
            for i in batches(count, batch_size, None)
        ])  # fmt: skip


def fit_codes(
    generator: UpConvGenerator, digits: np.ndarray, labels: np.ndarray, steps: int = 100,
    lr: float = 0.05, seed: int = 0, log: Log | None = None,
) -> np.ndarray:  # fmt: skip
    """Style codes for new digits: each code fitted to its digit's upright view (angle 0,
    scale 1) by Adam on the pixel error, the generator frozen (in eval mode)."""
    _check_digits("fit_codes", digits, labels)
    codes = StyleCodes(len(digits), generator.style_dim, seed)
    codes.weight.data[...] = 0  # start from the centre of the style space
    targets = transform_digits(digits, 0.0, 1.0, generator.image_size)
    onehot, pose = class_weights(labels, generator.num_classes), pose_vector([0.0], [1.0])

    def loss_terms(index: np.ndarray, rng: np.random.Generator) -> dict[str, Tensor]:
        drawn = generator(
            ag.tensor(onehot[index]), ag.tensor(np.repeat(pose, len(index), 0)), codes(index)
        )
        return {"mse": F.mse_loss(drawn, targets[index])}

    generator.eval()
    frozen = [p.requires_grad for p in generator.parameters()]
    generator.requires_grad_(False)
    try:
        # One batch of all the digits per epoch, so `steps` epochs are `steps` Adam steps.
        fit(codes, len(digits), loss_terms, steps, len(digits), lr, seed, log)
    finally:
        for parameter, was in zip(generator.parameters(), frozen):
            parameter.requires_grad = was
    return codes.codes()


def reconstruction_error(
    generator: UpConvGenerator, digits: np.ndarray, labels: np.ndarray, style: np.ndarray,
    angles: np.ndarray, scales: np.ndarray,
) -> float:  # fmt: skip
    """Mean squared pixel error between the generated and the true transformed digits."""
    _check_digits("reconstruction_error", digits, labels)
    truth = transform_digits(digits, angles, scales, generator.image_size)
    drawn = generate(generator, labels, angles, scales, style)
    return float(np.mean((drawn - truth) ** 2))


def class_grid(
    generator: UpConvGenerator, style: np.ndarray, angles: np.ndarray, scale: float = 1.0
) -> np.ndarray:
    """(num_classes, len(angles), 1, S, S): every class at every angle, one style."""
    rows, columns = generator.num_classes, len(angles)
    labels = np.repeat(np.arange(rows), columns)
    drawn = generate(generator, labels, np.tile(angles, rows), scale, style)
    return drawn.reshape(rows, columns, *drawn.shape[1:])


def class_morph(
    generator: UpConvGenerator, pairs: list[tuple[int, int]], steps: int, style: np.ndarray,
    angle: float = 0.0, scale: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """(len(pairs), steps, 1, S, S): the class input slid from one one-hot row to another."""
    eye = np.eye(generator.num_classes, dtype=np.float32)
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    weights = np.concatenate([(1 - t) * eye[a] + t * eye[b] for a, b in pairs])
    drawn = generate(generator, weights, angle, scale, style)
    return drawn.reshape(len(pairs), steps, *drawn.shape[1:])


def style_morph(
    generator: UpConvGenerator, classes: list[int], style_a: np.ndarray, style_b: np.ndarray,
    steps: int, angle: float = 0.0, scale: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """(len(classes), steps, 1, S, S): each class drawn along the line from style_a to style_b."""
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    line = (1 - t) * np.asarray(style_a, np.float32) + t * np.asarray(style_b, np.float32)
    labels = np.repeat(np.asarray(classes), steps)
    drawn = generate(generator, labels, angle, scale, np.tile(line, (len(classes), 1)))
    return drawn.reshape(len(classes), steps, *drawn.shape[1:])


def ink_extremes(digits: np.ndarray, labels: np.ndarray, quantile: float = 0.05) -> tuple[int, int]:
    """Indices of a thin and a thick digit: those at the `quantile` and 1 - `quantile`
    quantiles of ink relative to the mean ink of their class (a proxy for stroke thickness;
    the very extremes are oddities rather than styles)."""
    _check_digits("ink_extremes", digits, labels)
    if not 0 <= quantile < 0.5:
        raise ValueError(f"ink_extremes: quantile must be in [0, 0.5), got {quantile}")
    ink = digits.reshape(len(digits), -1).sum(axis=1, dtype=np.float64)
    mean = np.array([ink[labels == c].mean() if np.any(labels == c) else 1.0
                     for c in range(int(labels.max()) + 1)])  # fmt: skip
    order = np.argsort(ink / mean[labels], kind="stable")
    last = len(order) - 1
    return int(order[round(quantile * last)]), int(order[round((1 - quantile) * last)])


def train_classifier(
    model: Module, images: np.ndarray, labels: np.ndarray, epochs: int = 1,
    batch_size: int = 64, lr: float = 2e-3, seed: int = 0, log: Log | None = print,
) -> list[dict]:  # fmt: skip
    """A judge for the generated digits: Adam on cross-entropy over (N, 1, S, S) images."""

    def loss_terms(index: np.ndarray, rng: np.random.Generator) -> dict[str, Tensor]:
        return {"loss": F.cross_entropy(model(ag.tensor(images[index])), labels[index])}

    return fit(model, len(images), loss_terms, epochs, batch_size, lr, seed, log)


def classifier_accuracy(
    model: Module, images: np.ndarray, labels: np.ndarray, num_classes: int = 10
) -> dict:
    """Accuracy of `model` on (images, labels) overall and per class (None if absent)."""
    model.eval()
    with ag.no_grad():
        predicted = np.concatenate([
            model(ag.tensor(images[i])).numpy().argmax(axis=1)
            for i in batches(len(images), 256, None)
        ])  # fmt: skip
    right = predicted == labels
    per_class = [float(right[labels == c].mean()) if np.any(labels == c) else None
                 for c in range(num_classes)]  # fmt: skip
    return {"accuracy": float(right.mean()), "per_class": per_class}


def plot_generation(
    images: np.ndarray, path: str | Path | None = None, row_labels: list[str] | None = None,
    column_labels: list[str] | None = None, title: str | None = None,
):  # fmt: skip
    """A (rows, columns, 1, S, S) array of images as a grid; saved as a PNG when `path` is
    given. Draws on a bare Figure (no pyplot) and returns it."""
    from matplotlib.figure import Figure

    if images.ndim != 5:
        raise ValueError(
            f"plot_generation: images must be (rows, columns, 1, S, S), got {images.shape}"
        )
    rows, columns = images.shape[:2]
    figure = Figure(figsize=(0.75 * columns + 0.5, 0.75 * rows + (0.5 if title else 0.3)))
    axes = figure.subplots(rows, columns, squeeze=False)
    for r in range(rows):
        for c in range(columns):
            axis = axes[r, c]
            axis.imshow(images[r, c, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if c == 0 and row_labels is not None:
                axis.set_ylabel(row_labels[r], fontsize=8)
            if r == 0 and column_labels is not None:
                axis.set_title(column_labels[c], fontsize=8)
    top = 1.0
    if title:
        figure.suptitle(title, fontsize=9)
        top = 1 - 0.3 / figure.get_figheight()  # room for the title above the column labels
    figure.tight_layout(pad=0.3, rect=(0, 0, 1, top))
    if path is not None:
        figure.savefig(path, dpi=80)
    return figure
