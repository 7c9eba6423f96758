"""DigitScenes: canvases with real MNIST / Fashion-MNIST digits pasted at random places and
scales, with per-pixel class masks and boxes, for segmentation and detection.

Every scene is a function of (seed, split, index) alone, so scenes are built on the fly,
in any order, and the same every time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from autograd_cv.data.mnist import MNIST, FashionMNIST, MNISTMini

SOURCES = ("mnist", "fashion-mnist", "mnist-mini")
BACKGROUND = 10
IGNORE = 255
#: ink above this fraction of full intensity counts as the digit (mask and box)
INK = 0.5


@dataclass(frozen=True)
class Scene:
    """One canvas: image (1, size, size) float32 in [0, 1], mask (size, size) int64 with
    classes 0-9, 10 for background and 255 where digits overlap, boxes (k, 4) float32
    (x1, y1, x2, y2, pixel edges) and labels (k,) int64."""

    image: np.ndarray
    mask: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray

    def __iter__(self):
        return iter((self.image, self.mask, self.boxes, self.labels))


def load_digits(
    source: str, train: bool, root: str | os.PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 digits and (N,) labels of one split of a source."""
    if source not in SOURCES:
        raise ValueError(f"DigitScenes: source must be one of {SOURCES}, got {source!r}")
    if source == "mnist-mini":
        data = MNISTMini(train=train)
    else:
        kind = MNIST if source == "mnist" else FashionMNIST
        data = kind(root=root, train=train, download=download)
    return data.images[:, 0], data.labels


class DigitScenes:
    """Scenes of `digits` = (fewest, most) digits from the train split (train=True) or the
    test split; each item is a `Scene` (image, mask, boxes, labels)."""

    num_classes = 11  # ten digit classes and the background

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        size: int = 64,
        digits: tuple[int, int] = (1, 4),
        source: str = "mnist",
        seed: int = 0,
        length: int | None = None,
        scale: tuple[float, float] = (0.75, 1.5),
        download: bool = True,
    ) -> None:
        fewest, most = digits
        if not 1 <= fewest <= most:
            raise ValueError(f"DigitScenes: digits must be (fewest, most) with 1 <= fewest <= "
                             f"most, got {digits}")  # fmt: skip
        if round(28 * scale[1]) > size:
            raise ValueError(
                f"DigitScenes: a digit scaled by {scale[1]} ({round(28 * scale[1])} px) does "
                f"not fit a canvas of size {size}"
            )
        self.images, self.labels = load_digits(source, train, root, download)
        self.classes = (FashionMNIST if source == "fashion-mnist" else MNIST).classes
        self.train, self.size, self.digits, self.source = train, size, (fewest, most), source
        self.seed, self.scale = seed, scale
        self.length = len(self.images) if length is None else int(length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Scene:
        if not -self.length <= index < self.length:
            raise IndexError(f"DigitScenes: index {index} out of range for {self.length} scenes")
        index %= self.length
        rng = np.random.default_rng((self.seed, int(self.train), index))
        count = int(rng.integers(self.digits[0], self.digits[1] + 1))
        canvas = np.zeros((self.size, self.size), dtype=np.float32)
        owners = np.zeros((self.size, self.size), dtype=np.int64)  # digits whose ink is here
        mask = np.full((self.size, self.size), BACKGROUND, dtype=np.int64)
        boxes, labels = [], []
        for _ in range(count):
            pick = int(rng.integers(len(self.images)))
            side = int(round(28 * rng.uniform(*self.scale)))
            digit = Image.fromarray(self.images[pick]).resize((side, side), Image.BILINEAR)
            ink = np.asarray(digit, dtype=np.float32) / 255.0
            top, left = (int(v) for v in rng.integers(0, self.size - side + 1, size=2))
            window = (slice(top, top + side), slice(left, left + side))
            canvas[window] = np.maximum(canvas[window], ink)
            solid = ink > INK
            owners[window] += solid
            mask[window][solid] = self.labels[pick]
            rows, cols = np.flatnonzero(solid.any(1)), np.flatnonzero(solid.any(0))
            if not len(rows):  # an all-faint digit: no ink, no box
                continue
            boxes.append([left + cols[0], top + rows[0], left + cols[-1] + 1, top + rows[-1] + 1])
            labels.append(int(self.labels[pick]))
        mask[owners > 1] = IGNORE
        return Scene(
            canvas[None],
            mask,
            np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            np.asarray(labels, dtype=np.int64),
        )

    def batch(self, indices) -> tuple[np.ndarray, np.ndarray, list, list]:
        """Images (B, 1, S, S), masks (B, S, S), and per scene its boxes and labels."""
        scenes = [self[int(i)] for i in indices]
        return (
            np.stack([s.image for s in scenes]),
            np.stack([s.mask for s in scenes]),
            [s.boxes for s in scenes],
            [s.labels for s in scenes],
        )

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        fewest, most = self.digits
        return (
            f"DigitScenes({self.source}, {split}, {self.length} scenes of {self.size}x"
            f"{self.size}, {fewest}-{most} digits, seed={self.seed})"
        )
